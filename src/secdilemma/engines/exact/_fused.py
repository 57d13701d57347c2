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

:func:`signal_rows` adds the signal channels' log-likelihood to the same block: the channels
without a fear term from a table of the equations' zero-threat values, those with one from
their logistic per period (vectorised: :func:`._vmath.vexp` and an fdlibm ``log1p``, within a
few 1e-16 of numpy's ``logaddexp``), the periods with a non-finite threat or logit with the
equations' operations one by one. ``tests/test_exact_fused.py`` and
``tests/test_signal_likelihood.py`` hold it to the equations and to an enumeration.

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
from secdilemma.engines.exact._vmath import (
    _LG1,
    _LG2,
    _LG3,
    _LG4,
    _LG5,
    _LG6,
    _LG7,
    _LN2_HI,
    _LN2_LO,
    vexp,
)
from secdilemma.model.equations import LOG_2PI

__all__ = ["loglik", "observe"]

_kernel = njit(cache=True, nogil=True, error_model="numpy")
_piece = njit(inline="always", nogil=True, error_model="numpy")

#: A loop that should vectorise is a function of its own, called once per block: inlined
#: into a large kernel, LLVM may give up on it.
_block = njit(nogil=True, error_model="numpy")

_LOG2 = math.log(2.0)  # numpy's NPY_LOGE2

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
def _softplus(y):
    """``np.logaddexp(0.0, y)`` in numpy's order of operations (``npy_logaddexp``)."""
    if y == 0.0:
        return _LOG2
    tmp = -y
    if tmp > 0.0:
        return math.log1p(math.exp(y))
    if tmp <= 0.0:
        return y + math.log1p(math.exp(tmp))
    return tmp  # NaN


@_piece
def _log_prob(s, logit):
    """``-(s*logaddexp(0, -l) + (1-s)*logaddexp(0, l))`` for ``s`` 0 or 1, as the equations
    write it: NaN where the other term is infinite (``0 * inf``)."""
    if s == 1.0:
        return -_softplus(-logit) if logit != math.inf else math.nan
    return -_softplus(logit) if logit != -math.inf else math.nan


@_piece
def _log1p_small(z):
    """``log1p(z)`` for ``z`` in ``[0, 1]`` without a branch (vectorisable): fdlibm's
    polynomial for ``log(1 + f)``, with ``1 + z = 2 (1 + (z - 1) / 2)`` above ``sqrt(2) - 1``
    (the coefficients of :mod:`._vmath`); within a few units of 1e-16."""
    hi = z > 0.41421356237309503
    f = 0.5 * (z - 1.0) if hi else z
    kf = 1.0 if hi else 0.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    zz = s * s
    w = zz * zz
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = zz * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + kf * _LN2_LO)) - f)


@_block
def _fear_type(col, thr, b, e, t0, t1, w, acc, bad):
    """Add one type's weighted log probability of the signals ``col`` ``(T,)`` of a channel
    with a fear term to ``acc`` ``(T,)``, in periods ``t >= 1`` where the signal is 0 or 1:
    the zero-threat value ``t0``/``t1`` where the fear term ``e * thr`` is exactly 0, else
    from the logit ``l = b + e * thr`` (``-log(1 + exp(-l))`` for 1, ``-log(1 + exp(l))``
    for 0). Where ``l`` is not finite nothing is added and ``bad[t]`` is set (the exact path
    of :func:`_fix_periods` redoes the period). No branch: the loop vectorises."""
    if e == 0.0:  # no fear: the zero-threat value (bad where the threat is not finite)
        for t in range(1, col.shape[0]):
            s = col[t]
            ok = abs(thr[t]) < math.inf
            v = t1 if s == 1.0 else t0
            acc[t] += w * v if (ok and (s == 0.0 or s == 1.0)) else 0.0
            bad[t] = bad[t] | (not ok)
        return
    for t in range(1, col.shape[0]):
        s = col[t]
        term = e * thr[t]
        logit = b + term
        ok = abs(logit) < math.inf
        z = _log1p_small(vexp(-abs(logit) if ok else 0.0))
        pos = logit if logit > 0.0 else 0.0
        v = -((pos - logit) + z) if s == 1.0 else -(pos + z)
        v = (t1 if s == 1.0 else t0) if term == 0.0 else v
        acc[t] += w * v if (ok and (s == 0.0 or s == 1.0)) else 0.0
        bad[t] = bad[t] | (not ok)


@_piece
def _fix_periods(col, thr, f, fear, out_t, bad):
    """The channel ``fear[0][f]``'s term in the periods ``bad`` marks (a threat or logit that
    is not finite), with the equations' operations one by one: added to ``out_t`` ``(K, T)``
    unless some type's term is NaN (then it is missing, for every type)."""
    _, fbase, fef, ftable, fw = fear
    K = out_t.shape[0]
    for t in range(1, col.shape[0]):
        s = col[t]
        if not bad[t] or not (s == 0.0 or s == 1.0):
            continue
        missing = False
        for k in range(K):
            term = fef[f, k] * thr[t]
            y = ftable[1 if s == 1.0 else 0, f, k]
            y = y if term == 0.0 else _log_prob(s, fbase[f, k] + term)
            missing = missing or y != y
        if missing:
            continue
        for k in range(K):
            term = fef[f, k] * thr[t]
            y = ftable[1 if s == 1.0 else 0, f, k]
            y = y if term == 0.0 else _log_prob(s, fbase[f, k] + term)
            out_t[k, t] += fw[f] * y


@_block
def _columns(signals, cols):
    """The signals ``(T, J)`` as columns ``cols`` ``(J, T)``; returns how many are neither 0,
    1 nor NaN."""
    T, J = signals.shape
    n_bad = 0
    for t in range(T):
        for j in range(J):
            s = signals[t, j]
            cols[j, t] = s
            n_bad += (s == s) & (s != 0.0) & (s != 1.0)
    return n_bad


@_block
def _plain_channels(cols, plain, wtable, acc_t):
    """The channels ``plain`` (without a fear term) into ``acc_t`` ``(K, T)``: per type, the
    sum over them of ``wtable[1, j, k]`` where the signal in ``cols[j]`` is 1,
    ``wtable[0, j, k]`` where it is 0 (the weighted zero-threat values), nothing where it is
    missing."""
    K, T = acc_t.shape
    for k in range(K):
        for t in range(T):
            acc_t[k, t] = 0.0
        for j in plain:
            zero, one = wtable[0, j, k], wtable[1, j, k]
            for t in range(T):
                s = cols[j, t]
                acc_t[k, t] += one if s == 1.0 else (zero if s == 0.0 else 0.0)


@_piece
def signal_rows(signals, terms, sig, out, scratch, flags):
    """Add the weighted signal log-likelihood of one scenario (``signals`` ``(T, J)``, 0, 1
    or NaN) to ``out`` ``(T, K)``: per period, the sum over channels of ``w_j`` times each
    channel's log probability, 0 where missing (the signal is NaN; or, on a channel with a
    fear term, the threat ``h_{t-1} * max(u_{t-1}, 0)`` from ``terms`` is NaN, as in period 0,
    or makes some type's term NaN). ``flags[0]`` counts signals neither 0, 1 nor NaN.

    ``sig`` = ``(plain, wtable, fear)``: the channels without a fear term (and a weight other
    than 0) are looked up in ``wtable`` ``(2, J, K)``, the weighted log probabilities of 0 and
    1 at zero threat. ``fear`` = ``(fch (F,), base (F, K), ef (F, K), table (2, F, K), w
    (F,))``: for each channel with a fear term (and a weight other than 0) its index, the logit
    at zero threat, ``eta_f * f``, the log probabilities of 0 and 1 at zero threat and the
    weight. ``scratch`` = ``(cols (J, T), thr (T,), acc_t (K, T), bad (T,) bool)``.
    """
    cols, thr, acc_t, bad = scratch
    plain, wtable, fear = sig
    fch, fbase, fef, ftable, fw = fear
    T, K = out.shape
    flags[0] += _columns(signals, cols)
    _plain_channels(cols, plain, wtable, acc_t)
    if fch.shape[0] > 0:
        thr[0] = math.nan
        for t in range(1, T):
            thr[t] = terms[0, t] * terms[1, t]
    for f in range(fch.shape[0]):
        col = cols[fch[f]]
        for t in range(T):
            bad[t] = False
        for k in range(K):
            t0, t1 = ftable[0, f, k], ftable[1, f, k]
            _fear_type(col, thr, fbase[f, k], fef[f, k], t0, t1, fw[f], acc_t[k], bad)
        _fix_periods(col, thr, f, fear, acc_t, bad)
    for t in range(T):
        for k in range(K):
            out[t, k] += acc_t[k, t]


@_piece
def signal_scratch(T, K, J):
    """Work arrays of :func:`signal_rows`, allocated once per kernel call."""
    return np.empty((J, T)), np.empty(T), np.empty((K, T)), np.zeros(T, dtype=np.bool_)


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
    terms = np.empty((4, T))
    tmp = np.empty((K, T))
    scratch = signal_scratch(T, K, signals.shape[2])
    for s in range(S):
        v, hs, sx = _rows(prm, h, x, s)
        buildup_rows(dx[s], u[s], x, sx, v, hs, noise, greed, fear, wb, out[s], terms, tmp)
        if signals.shape[2] > 0:
            signal_rows(signals[s], terms, sig, out[s], scratch, flags)


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
    with_signals = signals.shape[2] > 0
    ll = np.empty((T, K))
    acc = np.empty(K)
    scratch = signal_scratch(T, K, signals.shape[2])
    terms = np.empty((4, T))
    tmp = np.empty((K, T))
    sc = _switching_scratch(T, K)
    bad = np.zeros(4, dtype=np.int64)
    for s in range(S):
        v, hs, sx = _rows(prm, h, x, s)
        buildup_rows(dx[s], u[s], x, sx, v, hs, noise, greed, fear, wb, ll, terms, tmp)
        if with_signals:
            signal_rows(signals[s], terms, sig, ll, scratch, flags)
        lp = log_prior[0] if log_prior.shape[0] == 1 else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        if switching:
            st, t_bad, ev = switching_scenario(ll, lp, A, log_A, filt[s], sm, probs, smooth, sc)
        else:
            st, t_bad, ev = static_scenario(ll, lp, filt[s], sm, acc, sc[0], probs, smooth)
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]
