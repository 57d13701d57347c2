"""Numba kernels of the exact observer (private; imported lazily by :mod:`.filtering`).

Every kernel loops ``(scenario, period, type)`` in C order over contiguous ``(S, T, K)``
arrays and writes into preallocated outputs. The numpy implementations in
:mod:`.filtering` compute the same quantities and are the reference the tests hold these
kernels to.

Status codes written per scenario (``status[s]``, with the period in ``bad_t[s]``):

0. fine;
1. ``log_lik`` holds NaN or ``+inf``;
2. every type has ``log_lik = -inf`` in one period (the data are impossible under every type);
3. every type has probability zero after the update (impossible given the prior or the
   transition matrix).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["filter_static", "filter_switching", "smooth_switching"]

#: Below this a predicted probability is recomputed exactly in log space, so that types whose
#: probability underflowed (``< 1e-308``) still count when the data later favour them.
TINY = 1e-280

#: Terms below ``exp(NEGLIGIBLE)`` (2e-22) next to a term equal to 1 cannot change a sum of up to
#: 10**5 types in double precision; their ``exp`` is skipped in normalisations.
NEGLIGIBLE = -50.0


@njit(cache=True, nogil=True, error_model="numpy")
def filter_static(ll, log_prior, out, evidence, status, bad_t):
    """Static type: running sum of log-likelihood ratios, re-centred on the best type each period.

    Two passes per scenario: the sequential one carries only additions and maxima; the
    ``exp``/``log`` of each period's normalisation run in a second, independent pass that the
    CPU pipelines.
    """
    S, T, K = ll.shape
    acc = np.empty(K)
    inf = np.inf
    for s in range(S):
        for k in range(K):
            acc[k] = log_prior[s, k]
        logz = 0.0
        st = 0
        for t in range(T):
            mll = -inf
            for k in range(K):
                v = ll[s, t, k]
                if not v < inf:  # NaN or +inf
                    st = 1
                if v > mll:
                    mll = v
            if st == 0 and mll == -inf:
                st = 2
            m = -inf
            if st == 0:
                # add the ratio to the period's best type: exact, and small next to the prior
                # even when the log-likelihoods themselves are huge
                for k in range(K):
                    a = acc[k] + (ll[s, t, k] - mll)
                    acc[k] = a
                    if a > m:
                        m = a
                if m == -inf:
                    st = 3
            if st != 0:
                bad_t[s] = t
                break
            for k in range(K):
                a = acc[k] - m
                acc[k] = a
                out[s, t, k] = a
            logz += m + mll
        status[s] = st
        if st != 0:
            evidence[s] = np.nan
            continue
        lse = 0.0
        for t in range(T):
            tot = 0.0
            for k in range(K):
                a = out[s, t, k]
                if a == 0.0:  # the best type: exp(0) = 1
                    tot += 1.0
                elif a > NEGLIGIBLE:
                    tot += math.exp(a)
            lse = math.log(tot)
            for k in range(K):
                out[s, t, k] -= lse
        evidence[s] = logz + lse


# ---------------------------------------------------------------------------------------------
# Pieces of the switching kernels. ``inline="always"`` makes numba paste them into the kernels
# at compile time, so splitting the loops into named steps costs no call per period.
# ---------------------------------------------------------------------------------------------
_piece = njit(inline="always", nogil=True, error_model="numpy")


@_piece
def _ratios(ll, s, t0, e, mlls):
    """``e[t, k] = exp(ll - max_k ll)`` and ``mlls[t] = max_k ll`` for periods ``t0..T-1``.

    Returns ``(status, period)``: status 1 (NaN or ``+inf``) or 2 (``-inf`` for every type) at
    the first bad period, ``(0, 0)`` when every period is fine.
    """
    T, K = e.shape
    inf = np.inf
    for t in range(t0, T):
        st = 0
        mll = -inf
        for k in range(K):
            v = ll[s, t, k]
            if not v < inf:  # NaN or +inf
                st = 1
            if v > mll:
                mll = v
        if st == 0 and mll == -inf:
            st = 2
        if st != 0:
            return st, t
        mlls[t] = mll
        for k in range(K):
            v = ll[s, t, k]
            e[t, k] = 1.0 if v == mll else math.exp(v - mll)
    return 0, 0


@_piece
def _predict(p, trans, a):
    """``a = p @ trans``; whether some predicted probability is at most ``TINY``."""
    K = a.shape[0]
    small = False
    for j in range(K):
        acc = 0.0
        for i in range(K):
            acc += p[i] * trans[i, j]
        a[j] = acc
        if not acc > TINY:
            small = True
    return small


@_piece
def _prob_update(ll, out, s, t, e, mlls, p, a, prod, logz):
    """Update in probability space: ``p ∝ a * e[t]``; returns the new ``(prod, logz)``.

    ``out[s, t]`` gets the probabilities, or for one that underflowed its log assembled from
    exact pieces (a negative number, which the log pass leaves alone).
    """
    K = a.shape[0]
    n = 0.0
    for k in range(K):
        w = a[k] * e[t, k]
        p[k] = w
        n += w
    inv = 1.0 / n
    prod *= n  # log normalisers accumulate as a product, logged when small
    if prod < 1e-200:
        logz += math.log(prod)
        prod = 1.0
    logz += mlls[t]
    ln = 0.0
    for k in range(K):
        x = p[k] * inv
        p[k] = x
        if x > 1e-290:
            out[s, t, k] = x  # a probability; logged in the log pass
        else:  # underflowed: its log from exact pieces (a negative number)
            if ln == 0.0:
                ln = math.log(n)
            out[s, t, k] = math.log(a[k]) + (ll[s, t, k] - mlls[t]) - ln
    return prod, logz


@_piece
def _lse_into(lp, log_trans, j):
    """``log sum_i exp(lp[i] + log_trans[i, j])`` (``-inf`` when every term is)."""
    K = lp.shape[0]
    mx = -np.inf
    for i in range(K):
        v = lp[i] + log_trans[i, j]
        if v > mx:
            mx = v
    if mx == -np.inf:
        return -np.inf
    tot = 0.0
    for i in range(K):
        tot += math.exp(lp[i] + log_trans[i, j] - mx)
    return mx + math.log(tot)


@_piece
def _log_update(ll, log_prior, log_trans, out, s, t, mlls, lp, p, a, lp_ok):
    """One period exactly in log space; returns ``(ok, lse)`` (``ok`` False: status 3), with
    ``lse`` the log normaliser less the period's best log-likelihood ``mlls[t]``.

    On entry ``a`` holds the predicted probabilities (period ``t > 0``); those at most
    ``TINY`` are recomputed from the exact logs ``lp`` of the previous period (taken from
    ``out`` unless ``lp_ok``). On exit ``lp`` and ``p`` hold the new log and probabilities.
    """
    K = a.shape[0]
    if t > 0 and not lp_ok:
        for i in range(K):
            x = out[s, t - 1, i]
            lp[i] = math.log(x) if x > 0.0 else x
    for j in range(K):
        if t == 0:
            a[j] = log_prior[s, j]
        elif a[j] > TINY:
            a[j] = math.log(a[j])
        else:
            a[j] = _lse_into(lp, log_trans, j)
    m = -np.inf
    mll = mlls[t]
    for k in range(K):
        b = a[k] + (ll[s, t, k] - mll)  # the ratio to the best type: the prior's part survives
        a[k] = b
        if b > m:
            m = b
    if m == -np.inf:
        return False, 0.0
    tot = 0.0
    for k in range(K):
        w = math.exp(a[k] - m)
        p[k] = w
        tot += w
    ltot = math.log(tot)
    inv = 1.0 / tot
    for k in range(K):
        b = (a[k] - m) - ltot  # not a[k] - (m + ltot): m may be huge, a[k] - m is exact
        lp[k] = b
        p[k] *= inv
        out[s, t, k] = b if b < 0.0 else -0.0  # a log (<= 0): the log pass leaves it
    return True, m + ltot


@_piece
def _forward(ll, log_prior, trans, log_trans, out, s, e, mlls, lp, p, a):
    """The sequential predict-update of scenario ``s``: ``(status, period, log evidence)``."""
    T = e.shape[0]
    logz = 0.0
    prod = 1.0
    lp_ok = False  # lp holds the exact log of p (after a log-space period)
    for t in range(T):
        use_log = t == 0
        if t > 0:
            use_log = _predict(p, trans, a)
        if not use_log:
            prod, logz = _prob_update(ll, out, s, t, e, mlls, p, a, prod, logz)
            lp_ok = False
            continue
        ok, lse = _log_update(ll, log_prior, log_trans, out, s, t, mlls, lp, p, a, lp_ok)
        if not ok:
            return 3, t, 0.0
        lp_ok = True
        logz += lse + mlls[t]
    return 0, 0, logz + math.log(prod)


@_piece
def _log_pass(out, s):
    """Logs of the probabilities of scenario ``s`` (entries <= 0 are logs already)."""
    T, K = out.shape[1], out.shape[2]
    for t in range(T):
        for k in range(K):
            x = out[s, t, k]
            if x > 0.0:
                out[s, t, k] = math.log(x)


@njit(cache=True, nogil=True, error_model="numpy")
def filter_switching(ll, log_prior, trans, log_trans, out, evidence, status, bad_t):
    """Sticky Markov type: predict ``p_{t-1} @ A`` and update in probability space.

    Three passes per scenario: ``exp(ll - max ll)`` per period (independent), the sequential
    predict-update in probability space (multiplications and one division), then the logs
    (independent). A probability that underflows gets its log assembled from exact pieces
    (stored as a negative number, which the log pass leaves alone), and a period where some
    predicted probability falls below ``TINY`` (only when ``A`` has (near-)zero entries) is
    done exactly in log space.
    """
    S, T, K = ll.shape
    lp = np.empty(K)
    p = np.empty(K)
    a = np.empty(K)
    e = np.empty((T, K))
    mlls = np.empty(T)
    for s in range(S):
        st, t_bad = _ratios(ll, s, 0, e, mlls)  # pass 1: checks and likelihood ratios
        logz = 0.0
        if st == 0:  # pass 2: sequential predict-update
            st, t_bad, logz = _forward(ll, log_prior, trans, log_trans, out, s, e, mlls, lp, p, a)
        status[s] = st
        if st != 0:
            bad_t[s] = t_bad
            evidence[s] = np.nan
            continue
        evidence[s] = logz
        _log_pass(out, s)  # pass 3


@_piece
def _backward_prob(trans, e, t, bp, w, r):
    """``r = A @ (e[t + 1] * bp)``; returns ``max r``, or 0 when some entry is at most ``TINY``."""
    K = bp.shape[0]
    for j in range(K):
        w[j] = e[t + 1, j] * bp[j]
    rmax = 0.0
    small = False
    for i in range(K):
        x = 0.0
        for j in range(K):
            x += trans[i, j] * w[j]
        r[i] = x
        if x > rmax:
            rmax = x
        if not x > TINY:
            small = True
    return 0.0 if small else rmax


@_piece
def _lse_from(log_trans, i, w):
    """``log sum_j exp(log_trans[i, j] + w[j])`` (``-inf`` when every term is)."""
    K = w.shape[0]
    mx = -np.inf
    for j in range(K):
        y = log_trans[i, j] + w[j]
        if y > mx:
            mx = y
    if mx == -np.inf:
        return -np.inf
    tot = 0.0
    for j in range(K):
        tot += math.exp(log_trans[i, j] + w[j] - mx)
    return mx + math.log(tot)


@_piece
def _backward_log(ll, log_trans, mlls, t, r, lb, bp, w, g, out, s, lb_ok):
    """One backward period exactly in log space (``r`` from :func:`_backward_prob`)."""
    K = bp.shape[0]
    if not lb_ok:
        for j in range(K):
            lb[j] = math.log(bp[j])
    wmax = -np.inf
    for j in range(K):  # w: the exact log of the backward message
        x = ll[s, t + 1, j] - mlls[t + 1] + lb[j]
        w[j] = x
        if x > wmax:
            wmax = x
    if wmax == -np.inf:  # pragma: no cover - not after a forward pass that succeeded
        wmax = 0.0
    for j in range(K):  # less its maximum (exactly), so the logs below stay small and precise
        w[j] -= wmax
    mb = -np.inf
    for i in range(K):
        x = math.log(r[i]) - wmax if r[i] > TINY else _lse_from(log_trans, i, w)
        g[i] = x
        if x > mb:
            mb = x
    for i in range(K):
        x = g[i] - mb
        lb[i] = x
        bp[i] = math.exp(x)
        out[s, t, i] = x if x < 0.0 else -0.0


@_piece
def _combine(out, log_filt, s, g):
    """``out[s] = log_filt[s] + log beta``, normalised over types in every period."""
    T, K = out.shape[1], out.shape[2]
    for t in range(T):
        mg = -np.inf
        for k in range(K):
            x = out[s, t, k]
            y = log_filt[s, t, k] + (math.log(x) if x > 0.0 else x)
            g[k] = y
            if y > mg:
                mg = y
        tot = 0.0
        for k in range(K):
            x = g[k] - mg
            if x == 0.0:
                tot += 1.0
            elif x > NEGLIGIBLE:
                tot += math.exp(x)
        ltot = math.log(tot)
        for k in range(K):
            out[s, t, k] = (g[k] - mg) - ltot


@njit(cache=True, nogil=True, error_model="numpy")
def smooth_switching(ll, log_filt, trans, log_trans, out):
    """Backward pass: ``beta_t(i) ∝ sum_j A_ij exp(ll_{t+1,j}) beta_{t+1}(j)``.

    ``beta`` is carried in probability space (scaled to a maximum of 1) and stored in ``out``;
    a period where some ``beta`` would fall below ``TINY`` is done in log space (and its log,
    a number <= 0, stored instead). A last, independent pass turns ``log_filt + log beta``
    into the normalised smoothed log probabilities. Assumes a forward pass that succeeded.
    """
    S, T, K = ll.shape
    lb = np.empty(K)
    bp = np.empty(K)
    w = np.empty(K)
    r = np.empty(K)
    g = np.empty(K)
    e = np.empty((T, K))
    mlls = np.empty(T)
    for s in range(S):
        _ratios(ll, s, 1, e, mlls)
        for k in range(K):
            bp[k] = 1.0
            lb[k] = 0.0
            out[s, T - 1, k] = 1.0
        lb_ok = True
        for t in range(T - 2, -1, -1):
            rmax = _backward_prob(trans, e, t, bp, w, r)
            if rmax > 0.0:
                inv = 1.0 / rmax
                for i in range(K):
                    x = r[i] * inv
                    bp[i] = x
                    out[s, t, i] = x
                lb_ok = False
                continue
            _backward_log(ll, log_trans, mlls, t, r, lb, bp, w, g, out, s, lb_ok)
            lb_ok = True
        _combine(out, log_filt, s, g)
