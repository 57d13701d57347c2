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
    """Static type: running sum of log-likelihoods, re-centred on the best type each period.

    Two passes per scenario: the sequential one carries only additions and a max; the
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
            m = -inf
            mll = -inf
            for k in range(K):
                v = ll[s, t, k]
                if not v < inf:  # NaN or +inf
                    st = 1
                if v > mll:
                    mll = v
                a = acc[k] + v
                acc[k] = a
                if a > m:
                    m = a
            if st == 0 and mll == -inf:
                st = 2
            elif st == 0 and m == -inf:
                st = 3
            if st != 0:
                bad_t[s] = t
                break
            for k in range(K):
                a = acc[k] - m
                acc[k] = a
                out[s, t, k] = a
            logz += m
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
    inf = np.inf
    for s in range(S):
        # pass 1: checks and likelihood ratios to the best type
        st = 0
        for t in range(T):
            mll = -inf
            for k in range(K):
                v = ll[s, t, k]
                if not v < inf:
                    st = 1
                if v > mll:
                    mll = v
            if st == 0 and mll == -inf:
                st = 2
            if st != 0:
                bad_t[s] = t
                break
            mlls[t] = mll
            for k in range(K):
                v = ll[s, t, k]
                e[t, k] = 1.0 if v == mll else math.exp(v - mll)
        if st != 0:
            status[s] = st
            evidence[s] = np.nan
            continue
        # pass 2: sequential predict-update
        logz = 0.0
        prod = 1.0
        lp_ok = False  # lp holds the exact log of p (after a log-space period)
        for t in range(T):
            use_log = t == 0
            if t > 0:
                for j in range(K):
                    acc = 0.0
                    for i in range(K):
                        acc += p[i] * trans[i, j]
                    a[j] = acc
                    if not acc > TINY:
                        use_log = True
            if not use_log:
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
                        out[s, t, k] = x  # a probability; logged in pass 3
                    else:  # underflowed: its log from exact pieces (a negative number)
                        if ln == 0.0:
                            ln = math.log(n)
                        out[s, t, k] = math.log(a[k]) + (ll[s, t, k] - mlls[t]) - ln
                lp_ok = False
                continue
            # exact log-space period
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
                    mx = -inf
                    for i in range(K):
                        v = lp[i] + log_trans[i, j]
                        if v > mx:
                            mx = v
                    if mx == -inf:
                        a[j] = -inf
                    else:
                        tot = 0.0
                        for i in range(K):
                            tot += math.exp(lp[i] + log_trans[i, j] - mx)
                        a[j] = mx + math.log(tot)
            m = -inf
            for k in range(K):
                b = a[k] + ll[s, t, k]
                a[k] = b
                if b > m:
                    m = b
            if m == -inf:
                st = 3
                bad_t[s] = t
                break
            tot = 0.0
            for k in range(K):
                w = math.exp(a[k] - m)
                p[k] = w
                tot += w
            lse = m + math.log(tot)
            inv = 1.0 / tot
            for k in range(K):
                b = a[k] - lse
                lp[k] = b
                p[k] *= inv
                out[s, t, k] = b if b < 0.0 else -0.0  # a log (<= 0): pass 3 leaves it
            lp_ok = True
            logz += lse
        status[s] = st
        if st != 0:
            evidence[s] = np.nan
            continue
        evidence[s] = logz + math.log(prod)
        # pass 3: logs of the probabilities (entries <= 0 are logs already)
        for t in range(T):
            for k in range(K):
                x = out[s, t, k]
                if x > 0.0:
                    out[s, t, k] = math.log(x)


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
    inf = np.inf
    for s in range(S):
        for t in range(1, T):
            mll = -inf
            for k in range(K):
                v = ll[s, t, k]
                if v > mll:
                    mll = v
            mlls[t] = mll
            for k in range(K):
                v = ll[s, t, k]
                e[t, k] = 1.0 if v == mll else math.exp(v - mll)
        for k in range(K):
            bp[k] = 1.0
            lb[k] = 0.0
            out[s, T - 1, k] = 1.0
        lb_ok = True
        for t in range(T - 2, -1, -1):
            for j in range(K):
                w[j] = e[t + 1, j] * bp[j]
            rmax = 0.0
            ok = True
            for i in range(K):
                x = 0.0
                for j in range(K):
                    x += trans[i, j] * w[j]
                r[i] = x
                if x > rmax:
                    rmax = x
                if not x > TINY:
                    ok = False
            if ok:
                inv = 1.0 / rmax
                for i in range(K):
                    x = r[i] * inv
                    bp[i] = x
                    out[s, t, i] = x
                lb_ok = False
                continue
            if not lb_ok:
                for j in range(K):
                    lb[j] = math.log(bp[j])
            for j in range(K):  # w: the exact log of the backward message
                w[j] = ll[s, t + 1, j] - mlls[t + 1] + lb[j]
            mb = -inf
            for i in range(K):
                if r[i] > TINY:
                    x = math.log(r[i])
                else:
                    mx = -inf
                    for j in range(K):
                        y = log_trans[i, j] + w[j]
                        if y > mx:
                            mx = y
                    if mx == -inf:
                        x = -inf
                    else:
                        tot = 0.0
                        for j in range(K):
                            tot += math.exp(log_trans[i, j] + w[j] - mx)
                        x = mx + math.log(tot)
                g[i] = x
                if x > mb:
                    mb = x
            for i in range(K):
                x = g[i] - mb
                lb[i] = x
                bp[i] = math.exp(x)
                out[s, t, i] = x if x < 0.0 else -0.0
            lb_ok = True
        # combine: log gamma = log_filt + log beta, normalised
        for t in range(T):
            mg = -inf
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
            lse = mg + math.log(tot)
            for k in range(K):
                out[s, t, k] = g[k] - lse
