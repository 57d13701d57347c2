"""Numba kernels that filter straight from the moves (private; loaded by :mod:`.fused`).

The per-type log-likelihood of the rival's buildups is computed for one scenario at a time
into a ``(T, K)`` block that stays in cache, and the filter of :mod:`._kernels` runs on it at
once: no ``(S, T, K)`` log-likelihood array is written or read back.

:func:`buildup_rows` is a compiled copy of
:func:`secdilemma.model.equations.loglik_components`' buildup term (the split reaction
function, Normal or Student-t noise, missing data contributing nothing, the threat-blind
observer, a weight on the evidence). It performs the same floating-point operations in the
same order as the numpy equations, so the two agree to the last bit or so;
``tests/test_exact_fused.py`` holds it to them within 1e-12.

Scenario parameters come as the rows of ``prm`` ``(P, 9)`` (``P`` is 1 when shared, else
``S``): ``mu, alpha, beta, gamma, kappa, lam, anchor, sigma`` and the noise density's
``offset`` (:func:`secdilemma.model.equations.noise_offset`). The threat multiplier of each
period comes as ``h`` ``(1 or S, 1 or T)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from secdilemma.engines.exact._kernels import record, static_scenario, switching_scenario
from secdilemma.engines.exact._kernels import switching_scratch as _switching_scratch
from secdilemma.model.equations import LOG_2PI

__all__ = ["buildup_loglik", "observe"]

_kernel = njit(cache=True, nogil=True, error_model="numpy")
_piece = njit(inline="always", nogil=True, error_model="numpy")

#: The digest of the modules these kernels inline (see ``_kernels.BUILT_FROM``).
BUILT_FROM = ("_kernels.py", "_pieces.py", "_vmath.py", "7ffc0c2cc45e4f36")


@_piece
def _period_terms(u, x, sx, v, h, use_lam, terms):
    """Per period ``t >= 1``: the threat multiplier of ``t - 1``, the observer's increase and
    cut in ``t - 1`` (``np.maximum(u, 0)`` and ``np.minimum(u, 0)``, NaN and the sign of zero
    included) and the mean reversion (exactly 0 without it: the equations leave it out, and
    ``m - 0.0`` is ``m`` bit for bit) into the rows of ``terms`` ``(4, T)``."""
    T = terms.shape[1]
    c = h.shape[0]
    for t in range(1, T):
        um = u[t - 1]
        terms[0, t] = h[t - 1] if c > 1 else h[0]
        terms[1, t] = um if (um >= 0.0 or um != um) else 0.0
        terms[2, t] = um if (um <= 0.0 or um != um) else 0.0
        terms[3, t] = v[5] * (x[sx, t - 1] - v[6]) if use_lam else 0.0


@_piece
def _type_rows(dx, v, greed, fear, noise, terms, tmp):
    """``tmp[k, t]``: the log density of ``dx[t]`` under type ``k`` (``t >= 1``), in the
    order of operations of :func:`secdilemma.model.equations.reaction_mean` and
    :func:`~secdilemma.model.equations.noise_logpdf`. The loop over periods has no branch,
    so it vectorises (the Student-t one calls ``log1p``)."""
    student, nu, coef, _ = noise
    mu, alpha, beta, gamma, kappa = v[0], v[1], v[2], v[3], v[4]
    sd, off = v[7], v[8]
    K, T = tmp.shape
    hp, up_move, down_move, rev = terms[0], terms[1], terms[2], terms[3]
    for k in range(K):
        g = greed[k]
        f = fear[k]
        auto = mu + g * alpha
        fb = f * beta
        gk = g * (1.0 - f) * kappa
        down = f * (1.0 - g) * beta - g * gamma
        row = tmp[k]
        if student:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = off - coef * math.log1p(z * z / nu)
        else:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = -0.5 * (LOG_2PI + z * z) - off


@_piece
def buildup_rows(dx, u, x, sx, v, h, noise, greed, fear, wb, out, terms, tmp):
    """The buildup log-likelihood of one scenario into ``out`` ``(T, K)`` (0 where missing:
    a period where some type's value is NaN), times the weight ``wb`` (0 gives exactly 0).

    ``h`` is the scenario's row of threat multipliers (length 1 or T), ``x[sx]`` its levels
    (read only with mean reversion); ``terms`` ``(4, T)`` and ``tmp`` ``(K, T)`` are scratch.
    """
    T, K = out.shape
    _period_terms(u, x, sx, v, h, noise[3], terms)
    _type_rows(dx, v, greed, fear, noise, terms, tmp)
    for k in range(K):
        out[0, k] = 0.0  # no reaction to observe in period 0
    for t in range(1, T):
        nan = False
        for k in range(K):
            y = tmp[k, t]
            out[t, k] = y
            if y != y:
                nan = True
        if nan:
            for k in range(K):
                out[t, k] = 0.0
        elif wb != 1.0:
            for k in range(K):
                out[t, k] = 0.0 if wb == 0.0 else wb * out[t, k]


@_piece
def _rows(prm, h, x, s):
    """Scenario ``s``'s parameters, threat multipliers and row of levels (shared when one)."""
    v = prm[0] if prm.shape[0] == 1 else prm[s]
    hs = h[0] if h.shape[0] == 1 else h[s]
    sx = 0 if x.shape[0] == 1 else s
    return v, hs, sx


@_kernel
def buildup_loglik(dx, u, x, prm, h, noise, greed, fear, wb, out):
    """The buildup log-likelihood ``out`` ``(S, T, K)`` of moves ``dx``, ``u`` ``(S, T)``."""
    S, T = dx.shape
    terms = np.empty((4, T))
    tmp = np.empty((greed.shape[0], T))
    for s in range(S):
        v, hs, sx = _rows(prm, h, x, s)
        buildup_rows(dx[s], u[s], x, sx, v, hs, noise, greed, fear, wb, out[s], terms, tmp)


@_kernel
def observe(dx, u, x, prm, h, noise, greed, fear, wb, prior, trans, filt, smoothed, evidence):
    """The posterior probabilities straight from the moves, scenario by scenario.

    ``prior`` = ``(log_prior (1 or S, K), smooth, probs)``; ``trans`` = ``(switching, A,
    log A)``. ``probs`` (True: probabilities out) comes as an argument, not a constant, so that
    the scenario functions are compiled once for every kernel (a constant would be a new type).
    Returns the status of :func:`secdilemma.engines.exact._kernels.run_static`.
    """
    log_prior, smooth, probs = prior
    switching, A, log_A = trans
    S, T = dx.shape
    K = greed.shape[0]
    ll = np.empty((T, K))
    acc = np.empty(K)
    terms = np.empty((4, T))
    tmp = np.empty((K, T))
    sc = _switching_scratch(T, K)
    bad = np.zeros(4, dtype=np.int64)
    for s in range(S):
        v, hs, sx = _rows(prm, h, x, s)
        buildup_rows(dx[s], u[s], x, sx, v, hs, noise, greed, fear, wb, ll, terms, tmp)
        lp = log_prior[0] if log_prior.shape[0] == 1 else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        if switching:
            st, t_bad, ev = switching_scenario(ll, lp, A, log_A, filt[s], sm, probs, smooth, sc)
        else:
            st, t_bad, ev = static_scenario(ll, lp, filt[s], sm, acc, sc[0], probs, smooth)
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]
