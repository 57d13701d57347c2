"""Numba kernels that filter straight from the moves (private; loaded by :mod:`.fused`).

The per-type log-likelihood of the rival's buildups is computed for one scenario at a time
into a ``(T, K)`` block that stays in cache, and the filter of :mod:`._kernels` runs on it at
once: no ``(S, T, K)`` log-likelihood array is written or read back.

:func:`scenario_rows` computes it: :func:`_period_terms` and :func:`_type_rows` are a
compiled copy of :func:`secdilemma.model.equations.loglik_components`' buildup term (the
split reaction function, Normal or Student-t noise, missing data contributing nothing, the
threat-blind observer, a weight on the evidence). They perform the same floating-point
operations in the same order as the numpy equations, so the two agree to the last bit or so;
``tests/test_exact_fused.py`` holds them to them within 1e-12.

The signal channels' log-likelihood (:func:`._signals.signal_rows`) is computed for a chunk
of scenarios at once into ``(K, n * T)`` rows, and each scenario's rows are added to its
buildup rows as they are written (:func:`_signal_type_rows`; no pass of their own).
``tests/test_exact_fused.py`` and ``tests/test_signal_likelihood.py`` hold it to the
equations and to an enumeration.

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
from secdilemma.engines.exact._signals import GROUP, chunks, signal_rows
from secdilemma.model.equations import LOG_2PI

__all__ = ["GROUP", "loglik", "observe"]

_kernel = njit(cache=True, nogil=True, error_model="numpy")
_piece = njit(inline="always", nogil=True, error_model="numpy")

#: The digest of the modules these kernels inline (see ``_kernels.BUILT_FROM``).
BUILT_FROM = ("_kernels.py", "_pieces.py", "_signals.py", "_vmath.py", "fc5e18e3f8715a29")


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
def _weighted(y, wb):
    """``wb * y``, a weight of 0 giving exactly 0 (even where ``y`` is infinite)."""
    return y if wb == 1.0 else (0.0 if wb == 0.0 else wb * y)


@_piece
def _signal_type_rows(dx, v, greed, fear, noise, terms, wb, acc, tmp):
    """:func:`_type_rows` weighted ``wb`` and plus the signal rows ``acc`` ``(K, T)`` (the
    signals added as the buildup rows are written: no pass of their own)."""
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
        a = acc[k]
        if student:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = _weighted(off - coef * math.log1p(z * z / nu), wb) + a[t]
        else:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = _weighted(-0.5 * (LOG_2PI + z * z) - off, wb) + a[t]


@_piece
def _merge(tmp, wb, out):
    """``out`` ``(T, K)``: the buildup rows ``tmp`` ``(K, T)`` (0 where missing: a period
    where some type's value is NaN) times the weight ``wb`` (0 gives exactly 0)."""
    T, K = out.shape
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
def _merge_signals(tmp, acc, out):
    """``out`` ``(T, K)``: the rows of :func:`_signal_type_rows` ``tmp`` ``(K, T)``; where
    some type's is NaN (the buildup missing) the signal rows ``acc`` alone."""
    T, K = out.shape
    for k in range(K):
        out[0, k] = acc[k, 0]  # no reaction to observe in period 0
    for t in range(1, T):
        nan = False
        for k in range(K):
            y = tmp[k, t]
            out[t, k] = y
            if y != y:
                nan = True
        if nan:
            for k in range(K):
                out[t, k] = acc[k, t]


@_piece
def scenario_rows(moves, s, wb, signals, acc, scratch, out):
    """Scenario ``s``'s log-likelihood into ``out`` ``(T, K)``: the buildups (weighted
    ``wb``) and, when ``signals``, the signal rows ``acc`` ``(K, T)`` (:func:`signal_rows`),
    added as the buildup rows are written. ``moves`` = the kernels' first eight arguments;
    ``scratch`` = ``(terms, tmp)``."""
    dx, u, x, prm, h, noise, greed, fear = moves
    terms, tmp = scratch
    v, hs, sx = _rows(prm, h, x, s)
    _period_terms(u[s], x, sx, v, hs, noise[3], terms)
    if signals:
        _signal_type_rows(dx[s], v, greed, fear, noise, terms, wb, acc, tmp)
        _merge_signals(tmp, acc, out)
    else:
        _type_rows(dx[s], v, greed, fear, noise, terms, tmp)
        _merge(tmp, wb, out)


@_piece
def _rows(prm, h, x, s):
    """Scenario ``s``'s parameters, threat multipliers and row of levels (shared when one)."""
    v = prm[0] if prm.shape[0] == 1 else prm[s]
    hs = h[0] if h.shape[0] == 1 else h[s]
    sx = 0 if x.shape[0] == 1 else s
    return v, hs, sx


@_kernel
def loglik(dx, u, x, prm, h, noise, greed, fear, wb, chan, out):
    """The log-likelihood ``out`` ``(S, T, K)`` of moves ``dx``, ``u`` ``(S, T)`` (and
    signals: ``chan`` as for :func:`observe`), as :func:`observe` computes it."""
    S, T = dx.shape
    K = greed.shape[0]
    signals, sig, flags = chan
    moves = (dx, u, x, prm, h, noise, greed, fear)
    scratch = (np.empty((4, T)), np.empty((K, T)))
    J = sig[0].shape[0]
    flat = signals.reshape(signals.size)
    C, full, last = chunks(S, T, sig)
    if J == 0:  # the loop without the signal passes (LLVM compiles it as before them)
        for s in range(S):
            scenario_rows(moves, s, wb, False, full[2], scratch, out[s])
        return
    for c0 in range(0, S, C):
        sscr = full if c0 + C <= S else last
        signal_rows(flat, u, h, c0, sig, sscr, flags)
        for i in range(sscr[1].shape[0] // T):
            acc = sscr[2][:, i * T : (i + 1) * T]
            scenario_rows(moves, c0 + i, wb, True, acc, scratch, out[c0 + i])


@_kernel
def observe(dx, u, x, prm, h, noise, greed, fear, wb, prior, trans, chan, filt, smoothed, evidence):
    """The posterior probabilities straight from the moves (and signals), scenario by scenario.

    ``prior`` = ``(log_prior (1 or S, K), smooth, probs)``; ``trans`` = ``(switching, A,
    log A)``; ``chan`` = ``(signals (S, T, J), sig, flags)`` with ``sig`` as for
    :func:`signal_rows` (``J`` = 0: no signals) and ``flags[0]`` the count of signal values
    neither 0, 1 nor NaN. ``probs`` (True: probabilities out) comes as an argument, not a
    constant, so that the scenario functions are compiled once for every kernel (a constant
    would be a new type). Returns the status of
    :func:`secdilemma.engines.exact._kernels.run_static`.
    """
    log_prior, smooth, probs = prior
    switching, A, log_A = trans
    signals, sig, flags = chan
    S, T = dx.shape
    K = greed.shape[0]
    moves = (dx, u, x, prm, h, noise, greed, fear)
    ll = np.empty((T, K))
    acc = np.empty(K)
    scratch = (np.empty((4, T)), np.empty((K, T)))
    J = sig[0].shape[0]
    flat = signals.reshape(signals.size)
    C, full, last = chunks(S, T, sig)
    sc = _switching_scratch(T, K)
    bad = np.zeros(4, dtype=np.int64)
    for s in range(S):
        i = s % C
        sscr = full if s - i + C <= S else last
        if J > 0 and i == 0:
            signal_rows(flat, u, h, s, sig, sscr, flags)
        scenario_rows(moves, s, wb, J > 0, sscr[2][:, i * T : (i + 1) * T], scratch, ll)
        lp = log_prior[0] if log_prior.shape[0] == 1 else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        if switching:
            st, t_bad, ev = switching_scenario(ll, lp, A, log_A, filt[s], sm, probs, smooth, sc)
        else:
            st, t_bad, ev = static_scenario(ll, lp, filt[s], sm, acc, sc[0], probs, smooth)
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]
