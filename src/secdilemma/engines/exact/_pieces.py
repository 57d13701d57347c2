"""Steps of the exact filter's numba kernels (private; compiled into :mod:`._kernels` and
:mod:`._fused`).

Every piece works on one scenario: ``(T, K)`` views of the log-likelihoods and outputs, a
``(K,)`` row of the log prior. ``inline="always"`` makes numba paste the pieces into the
kernels at compile time, so splitting the loops into named steps costs no call per period.

The outputs hold, between steps, a *mixed* representation: a positive number is a
probability, a number ``<= 0`` is a log probability (written where a probability would
underflow or was computed in log space; ``-0.0`` is a log of 0, a probability of 1). The last
step of a kernel turns every entry into a log (:func:`log_pass`) or a probability
(:func:`prob_pass`).

Status codes (returned per scenario with the first bad period):

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

from secdilemma.engines.exact._vmath import exp_block, log_block

__all__ = [
    "NEGLIGIBLE",
    "TINY",
    "backward",
    "combine_log",
    "combine_prob",
    "forward",
    "log_pass",
    "prob_pass",
    "ratios",
    "static_forward",
    "static_normalise",
]

#: Below this a predicted probability is recomputed exactly in log space, so that types whose
#: probability underflowed (``< 1e-308``) still count when the data later favour them.
TINY = 1e-280

#: Terms below ``exp(NEGLIGIBLE)`` (2e-22) next to a term equal to 1 cannot change a sum of up to
#: 10**5 types in double precision; they are left out of normalisations.
NEGLIGIBLE = -50.0

#: A probability-space product below this is recomputed in log space when smoothing.
_SAFE_TOTAL = 1e-200

#: Unnormalised forward weights summing to less than this are normalised at once, so that no
#: product in the next prediction falls into the subnormal range (their errors, times at
#: most 1/_SMALL_WEIGHTS, stay far below TINY).
_SMALL_WEIGHTS = 1e-9

_piece = njit(inline="always", nogil=True, error_model="numpy")


# ---------------------------------------------------------------------------------------------
# Static type
# ---------------------------------------------------------------------------------------------
@_piece
def static_forward(ll, lp, out, acc):
    """Running sum of log-likelihood ratios, re-centred on the best type each period.

    Writes the unnormalised log posterior (maximum 0 in every period) into ``out`` and
    returns ``(status, period, log evidence less the last period's normaliser)``. Only
    additions and maxima: the ``exp``/``log`` of the normalisation run afterwards in
    :func:`static_normalise`, a pass the CPU pipelines.
    """
    T, K = ll.shape
    inf = np.inf
    for k in range(K):
        acc[k] = lp[k]
    logz = 0.0
    for t in range(T):
        mll = -inf
        st = 0
        for k in range(K):
            v = ll[t, k]
            if not v < inf:  # NaN or +inf
                st = 1
            if v > mll:
                mll = v
        if st == 0 and mll == -inf:
            st = 2
        if st != 0:
            return st, t, 0.0
        m = -inf
        # add the ratio to the period's best type: exact, and small next to the prior even
        # when the log-likelihoods themselves are huge
        for k in range(K):
            a = acc[k] + (ll[t, k] - mll)
            acc[k] = a
            if a > m:
                m = a
        if m == -inf:
            return 3, t, 0.0
        for k in range(K):
            a = acc[k] - m
            acc[k] = a
            out[t, k] = a
        logz += m + mll
    return 0, 0, logz


@_piece
def static_normalise(out, w, probs):
    """Normalise the log posterior of :func:`static_forward` in every period, in place, into
    logs (``probs`` False) or probabilities; returns the last period's log normaliser.

    Terms below ``exp(NEGLIGIBLE)`` stay out of the sums (they cannot change them); ``w`` is
    ``(T, K)`` scratch for the ``exp`` of the whole block at once.
    """
    T, K = out.shape
    exp_block(out, w)
    lse = 0.0
    for t in range(T):
        tot = 0.0
        for k in range(K):
            if out[t, k] > NEGLIGIBLE:
                tot += w[t, k]
        if probs:
            inv = 1.0 / tot
            for k in range(K):
                out[t, k] = w[t, k] * inv
            if t == T - 1:
                lse = math.log(tot)
        else:
            lse = math.log(tot)
            for k in range(K):
                out[t, k] -= lse
    return lse


# ---------------------------------------------------------------------------------------------
# Switching type: forward pass
# ---------------------------------------------------------------------------------------------
@_piece
def ratios(ll, e, mlls, d):
    """``e[t, k] = exp(ll - max_k ll)`` and ``mlls[t] = max_k ll`` for every period (``d`` is
    ``(T, K)`` scratch: the ``exp`` of a whole block vectorises only between two arrays).

    Returns ``(status, period)``: status 1 (NaN or ``+inf``) or 2 (``-inf`` for every type) at
    the first bad period, ``(0, 0)`` when every period is fine.
    """
    T, K = e.shape
    inf = np.inf
    for t in range(T):
        st = 0
        mll = -inf
        for k in range(K):
            v = ll[t, k]
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
            d[t, k] = ll[t, k] - mll
    exp_block(d, e)
    return 0, 0


@_piece
def _predict(p, scale, trans, a):
    """``a = (p @ trans) * scale``; whether some predicted probability is at most ``TINY``.

    ``p`` is the last posterior up to the factor ``scale``: the division that normalises it
    runs alongside these sums instead of before them.
    """
    K = a.shape[0]
    small = False
    for j in range(K):
        acc = 0.0
        for i in range(K):
            acc += p[i] * trans[i, j]
        acc *= scale
        a[j] = acc
        if not acc > TINY:
            small = True
    return small


@_piece
def _prob_update(ll, out, t, e, mlls, p, a, prod, logz):
    """Update in probability space: ``p ∝ a * e[t]``; returns ``(prod, logz, scale)``.

    ``out[t]`` gets the probabilities, or for one that underflowed its log assembled from
    exact pieces (a negative number). ``p`` keeps the unnormalised weights and ``scale`` the
    factor that normalises them (1 after normalising ``p`` itself when the weights are small).
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
        if x > 1e-290:
            out[t, k] = x
        else:  # underflowed: its log from exact pieces (a negative number)
            if ln == 0.0:
                ln = math.log(n)
            out[t, k] = math.log(a[k]) + (ll[t, k] - mlls[t]) - ln
    if n < _SMALL_WEIGHTS:  # keep p @ A clear of subnormal products
        for k in range(K):
            p[k] *= inv
        return prod, logz, 1.0
    return prod, logz, inv


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
def _log_update(ll, lp0, log_trans, out, t, mlls, lp, p, a, lp_ok):
    """One period exactly in log space; returns ``(ok, lse)`` (``ok`` False: status 3), with
    ``lse`` the log normaliser less the period's best log-likelihood ``mlls[t]``.

    On entry ``a`` holds the predicted probabilities (period ``t > 0``); those at most
    ``TINY`` are recomputed from the exact logs ``lp`` of the previous period (taken from
    ``out`` unless ``lp_ok``). On exit ``lp`` and ``p`` hold the new log and probabilities.
    """
    K = a.shape[0]
    if t > 0 and not lp_ok:
        for i in range(K):
            x = out[t - 1, i]
            lp[i] = math.log(x) if x > 0.0 else x
    for j in range(K):
        if t == 0:
            a[j] = lp0[j]
        elif a[j] > TINY:
            a[j] = math.log(a[j])
        else:
            a[j] = _lse_into(lp, log_trans, j)
    m = -np.inf
    mll = mlls[t]
    for k in range(K):
        b = a[k] + (ll[t, k] - mll)  # the ratio to the best type: the prior's part survives
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
        out[t, k] = b if b < 0.0 else -0.0  # a log (<= 0)
    return True, m + ltot


@_piece
def forward(ll, lp0, trans, log_trans, out, e, mlls, lp, p, a):
    """The sequential predict-update of one scenario: ``(status, period, log evidence)``.

    Predicts ``p_{t-1} @ A`` and updates in probability space (multiplications and one
    division); a period where some predicted probability falls below ``TINY`` (only when
    ``A`` has (near-)zero entries) is done exactly in log space. ``e`` and ``mlls`` come from
    :func:`ratios`; ``out`` gets the mixed representation.
    """
    T = e.shape[0]
    logz = 0.0
    prod = 1.0
    scale = 1.0  # p times scale is the posterior
    lp_ok = False  # lp holds the exact log of p (after a log-space period)
    for t in range(T):
        use_log = t == 0
        if t > 0:
            use_log = _predict(p, scale, trans, a)
        if not use_log:
            prod, logz, scale = _prob_update(ll, out, t, e, mlls, p, a, prod, logz)
            lp_ok = False
            continue
        ok, lse = _log_update(ll, lp0, log_trans, out, t, mlls, lp, p, a, lp_ok)
        if not ok:
            return 3, t, 0.0
        scale = 1.0
        lp_ok = True
        logz += lse + mlls[t]
    return 0, 0, logz + math.log(prod)


# ---------------------------------------------------------------------------------------------
# Switching type: backward pass and the smoothed posterior
# ---------------------------------------------------------------------------------------------
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
def _backward_log(ll, log_trans, mlls, t, r, lb, bp, w, g, out, lb_ok):
    """One backward period exactly in log space (``r`` from :func:`_backward_prob`)."""
    K = bp.shape[0]
    if not lb_ok:
        for j in range(K):
            lb[j] = math.log(bp[j])
    wmax = -np.inf
    for j in range(K):  # w: the exact log of the backward message
        x = ll[t + 1, j] - mlls[t + 1] + lb[j]
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
        out[t, i] = x if x < 0.0 else -0.0


@_piece
def backward(ll, trans, log_trans, e, mlls, out, lb, bp, w, r, g):
    """``beta_t(i) ∝ sum_j A_ij exp(ll_{t+1,j}) beta_{t+1}(j)`` into ``out`` (mixed).

    ``beta`` is carried in probability space, scaled to a maximum of 1; a period where some
    ``beta`` would fall below ``TINY`` is done in log space (and its log stored). ``e`` and
    ``mlls`` are those of :func:`ratios`. Assumes a forward pass that succeeded.
    """
    T, K = out.shape
    for k in range(K):
        bp[k] = 1.0
        lb[k] = 0.0
        out[T - 1, k] = 1.0
    lb_ok = True
    for t in range(T - 2, -1, -1):
        rmax = _backward_prob(trans, e, t, bp, w, r)
        if rmax > 0.0:
            inv = 1.0 / rmax
            for i in range(K):
                x = r[i] * inv
                bp[i] = x
                out[t, i] = x
            lb_ok = False
            continue
        _backward_log(ll, log_trans, mlls, t, r, lb, bp, w, g, out, lb_ok)
        lb_ok = True


@_piece
def _combine_period(filt, out, t, g):
    """``out[t] = log filt[t] + log beta[t]`` normalised (both read in the mixed form)."""
    K = out.shape[1]
    mg = -np.inf
    for k in range(K):
        x = out[t, k]
        f = filt[t, k]
        y = (math.log(f) if f > 0.0 else f) + (math.log(x) if x > 0.0 else x)
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
        out[t, k] = (g[k] - mg) - ltot


@_piece
def combine_log(filt, out, lf, lb, g):
    """The smoothed log posterior from the filtered (``filt``) and backward (``out``) messages,
    both mixed, into ``out``; ``lf``, ``lb`` are ``(T, K)`` scratch.

    Logs of the whole blocks first (independent, so pipelined), then each period
    normalised; the ``exp`` of the normalisation runs over the whole block at once.
    """
    T, K = out.shape
    log_block(filt, lf)
    log_block(out, lb)
    for t in range(T):
        mg = -np.inf
        for k in range(K):
            y = lf[t, k] + lb[t, k]
            g[k] = y
            if y > mg:
                mg = y
        for k in range(K):
            lb[t, k] = g[k] - mg
    exp_block(lb, lf)
    for t in range(T):
        tot = 0.0
        for k in range(K):
            if lb[t, k] > NEGLIGIBLE:
                tot += lf[t, k]
        ltot = math.log(tot)
        for k in range(K):
            out[t, k] = lb[t, k] - ltot


@_piece
def combine_prob(filt, out, g):
    """The smoothed probabilities from ``filt`` and ``out`` (both mixed), into ``out``.

    A period where both messages are probabilities is multiplied and normalised in
    probability space; any other (a log entry, or a product too small to keep its
    precision) goes through the exact log-space step and its ``exp``.
    """
    T, K = out.shape
    for t in range(T):
        tot = 0.0
        ok = True
        for k in range(K):
            f = filt[t, k]
            b = out[t, k]
            if f > 0.0 and b > 0.0:
                tot += f * b
            else:
                ok = False
        if ok and tot > _SAFE_TOTAL:
            inv = 1.0 / tot
            for k in range(K):
                out[t, k] = filt[t, k] * out[t, k] * inv
            continue
        _combine_period(filt, out, t, g)
        for k in range(K):
            out[t, k] = math.exp(out[t, k])


# ---------------------------------------------------------------------------------------------
# The last pass
# ---------------------------------------------------------------------------------------------
@_piece
def log_pass(out, scratch):
    """Every entry of the mixed ``out`` as a log (entries <= 0 are logs already)."""
    log_block(out, scratch)
    T, K = out.shape
    for t in range(T):
        for k in range(K):
            out[t, k] = scratch[t, k]


@_piece
def prob_pass(out):
    """Every entry of the mixed ``out`` as a probability (entries <= 0 are logs)."""
    T, K = out.shape
    for t in range(T):
        for k in range(K):
            x = out[t, k]
            if not x > 0.0:
                out[t, k] = math.exp(x)
