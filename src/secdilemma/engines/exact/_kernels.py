"""Numba kernels of the exact observer (private; imported lazily by :mod:`.filtering`).

Every kernel loops over scenarios, runs the steps of :mod:`._pieces` on that scenario's
``(T, K)`` block (so the block stays in cache from the first pass to the last) and writes into
preallocated outputs: the filtered and (when ``smooth``) smoothed posterior as logs or, when
``probs``, as probabilities, and the log evidence. The numpy implementations in
:mod:`._reference` compute the same quantities and are the reference the tests hold these
kernels to.

Each kernel returns ``(first bad scenario or -1, its status, its period, scenarios bad)``
with the status codes of :mod:`._pieces`; a bad scenario's evidence is NaN and its outputs are
left unfinished.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from secdilemma.engines.exact._pieces import (
    backward,
    combine_log,
    combine_prob,
    forward,
    log_pass,
    prob_pass,
    ratios,
    static_forward,
    static_normalise,
)

__all__ = ["check_log_prior", "check_transition", "run_static", "run_switching"]

_kernel = njit(cache=True, nogil=True, error_model="numpy")
_piece = njit(inline="always", nogil=True, error_model="numpy")
#: One scenario's work is a function of its own, called once per scenario (not pasted into
#: each kernel): the call costs nothing next to the work, and each is compiled once.
_scenario = njit(nogil=True, error_model="numpy")

#: numba keys its on-disk cache of these kernels on this file alone, not on the modules whose
#: code they inline. This digest of those modules (``sha256`` of their bytes, in this order,
#: first 16 hex digits) changes this file whenever they change, so that no stale kernel is
#: loaded; ``tests/test_exact_kernels.py`` checks it and prints the new value.
BUILT_FROM = ("_pieces.py", "_vmath.py", "399c4e17115439de")


@_piece
def _repeat_last(filt, smoothed):
    """A static type's smoothed posterior: the last filtered one in every period."""
    T, K = filt.shape
    for t in range(T):
        for k in range(K):
            smoothed[t, k] = filt[T - 1, k]


@_scenario
def static_scenario(ll, lp, filt, smoothed, acc, w, probs, smooth):
    """One scenario of a static type: ``(status, period, log evidence)``."""
    st, t_bad, logz = static_forward(ll, lp, filt, acc)
    if st != 0:
        return st, t_bad, np.nan
    lse = static_normalise(filt, w, probs)
    if smooth:
        _repeat_last(filt, smoothed)
    return 0, 0, logz + lse


@_scenario
def switching_scenario(ll, lp0, trans, log_trans, filt, smoothed, probs, smooth, sc):
    """One scenario of a switching type: ``(status, period, log evidence)``.

    ``sc`` is the scratch tuple of :func:`switching_scratch`.
    """
    e, w, lf, mlls, lp, p, a, r, g = sc
    st, t_bad = ratios(ll, e, mlls, w)  # pass 1: checks and likelihood ratios
    if st != 0:
        return st, t_bad, np.nan
    st, t_bad, logz = forward(ll, lp0, trans, log_trans, filt, e, mlls, lp, p, a)
    if st != 0:
        return st, t_bad, np.nan
    if smooth:  # the backward pass reuses the ratios in e; a, lp, p are free again
        backward(ll, trans, log_trans, e, mlls, smoothed, lp, p, a, r, g)
        if probs:
            combine_prob(filt, smoothed, g)
        else:
            combine_log(filt, smoothed, lf, w, g)
    if probs:
        prob_pass(filt)
    else:
        log_pass(filt, w)
    return 0, 0, logz


@_piece
def switching_scratch(T, K):
    """Work arrays of :func:`switching_scenario`, allocated once per kernel call."""
    return (
        np.empty((T, K)),
        np.empty((T, K)),
        np.empty((T, K)),
        np.empty(T),
        np.empty(K),
        np.empty(K),
        np.empty(K),
        np.empty(K),
        np.empty(K),
    )


@_piece
def record(s, st, t_bad, bad):
    """Keep the first bad scenario in ``bad`` = [scenario, status, period, count]."""
    if st != 0:
        if bad[3] == 0:
            bad[0] = s
            bad[1] = st
            bad[2] = t_bad
        bad[3] += 1


@_kernel
def run_static(ll, log_prior, filt, smoothed, evidence, probs, smooth):
    """Static type over ``ll`` ``(S, T, K)``; ``log_prior`` ``(S, K)`` or ``(1, K)``."""
    S, T, K = ll.shape
    acc = np.empty(K)
    w = np.empty((T, K))
    bad = np.zeros(4, dtype=np.int64)
    one = log_prior.shape[0] == 1
    for s in range(S):
        lp = log_prior[0] if one else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        st, t_bad, ev = static_scenario(ll[s], lp, filt[s], sm, acc, w, probs, smooth)
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]


@_kernel
def run_switching(ll, log_prior, trans, log_trans, filt, smoothed, evidence, probs, smooth):
    """Switching type over ``ll`` ``(S, T, K)``: the forward pass and, when ``smooth``, the
    backward pass and the smoothed posterior, scenario by scenario."""
    S, T, K = ll.shape
    sc = switching_scratch(T, K)
    bad = np.zeros(4, dtype=np.int64)
    one = log_prior.shape[0] == 1
    for s in range(S):
        lp0 = log_prior[0] if one else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        st, t_bad, ev = switching_scenario(
            ll[s], lp0, trans, log_trans, filt[s], sm, probs, smooth, sc
        )
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]


# ---------------------------------------------------------------------------------------------
# Fast checks of the arguments (the numpy checks in .filtering word the errors)
# ---------------------------------------------------------------------------------------------
@_kernel
def check_log_prior(lp):
    """0 when every row of ``lp`` ``(R, K)`` holds log probabilities (``<= 1e-12``, no NaN
    or ``+inf``) whose ``exp`` sums to 1 within 1e-9; 1 otherwise."""
    R, K = lp.shape
    for s in range(R):
        mx = -np.inf
        for k in range(K):
            v = lp[s, k]
            if not v <= 1e-12:  # NaN, +inf, or a positive log probability
                return 1
            if v > mx:
                mx = v
        if mx == -np.inf:
            return 1
        tot = 0.0
        for k in range(K):
            tot += math.exp(lp[s, k] - mx)
        if not abs(mx + math.log(tot)) <= 1e-9:
            return 1
    return 0


@_kernel
def check_transition(trans, log_trans):
    """0 when ``trans`` ``(K, K)`` is finite, non-negative and its rows sum to 1 within 1e-9
    (then ``log_trans`` holds its logs); 1 otherwise."""
    K = trans.shape[0]
    for i in range(K):
        tot = 0.0
        for j in range(K):
            v = trans[i, j]
            if not (v >= 0.0 and v < np.inf):
                return 1
            tot += v
            log_trans[i, j] = math.log(v) if v > 0.0 else -np.inf
        if not abs(tot - 1.0) <= 1e-9:
            return 1
    return 0
