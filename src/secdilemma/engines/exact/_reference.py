"""The numpy engine of the exact filter (private): the reference the numba kernels are held to.

The same quantities as :mod:`._kernels`, vectorised over scenarios with a Python loop over
periods for a switching type. Results are logs; the status codes are recomputed from them
(:func:`numpy_status`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "lse",
    "normalise",
    "numpy_status",
    "smooth_numpy",
    "static_numpy",
    "switching_numpy",
]

FloatArray = npt.NDArray[np.float64]

#: Below this a predicted probability is recomputed exactly in log space (see the kernels).
_TINY = 1e-280


def lse(a: FloatArray, axis: int = -1) -> FloatArray:
    """Log-sum-exp along ``axis`` (keepdims); ``-inf`` where every entry is ``-inf``."""
    m = np.max(a, axis=axis, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.asarray(m_safe + np.log(np.sum(np.exp(a - m_safe), axis=axis, keepdims=True)))


def normalise(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(a - lse(a), lse(a))`` over the last axis, computed as ``(a - max) - log(sum)``: when
    the entries are huge (1e9) the differences to the maximum stay exact, so the result
    still sums to 1."""
    m = np.max(a, axis=-1, keepdims=True)
    d = a - np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        ltot = np.log(np.sum(np.exp(d), axis=-1, keepdims=True))
    with np.errstate(invalid="ignore"):
        return d - ltot, np.where(np.isfinite(m), m, 0.0) + ltot


def _ratios_numpy(ll: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each period's log-likelihood *ratios* to its best type, and that best value ``(S, T)``.

    The filters add the ratios (exact, and small next to the prior even when the
    log-likelihoods are 1e300) and carry the best values to the evidence separately.
    """
    mll = np.max(ll, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):  # a period that is -inf for every type: status 2
        return ll - mll, mll[..., 0]


def static_numpy(ll: FloatArray, lp0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The static filter, period by period as the kernel runs it (the same additions, so the
    two engines round alike even for log-likelihoods of 1e300): each period adds the
    log-likelihood ratios and re-centres on the best type."""
    d, mll = _ratios_numpy(ll)
    out = np.empty_like(ll)
    acc = lp0
    logz = np.sum(mll, axis=1)
    for t in range(ll.shape[1]):
        a = acc + d[:, t, :]
        m = np.max(a, axis=-1, keepdims=True)
        acc = a - m
        out[:, t, :] = acc
        logz += m[:, 0]
    z = lse(out)
    return out - z, logz + z[:, -1, 0]


def _predict_numpy(lp: FloatArray, trans: FloatArray, log_trans: FloatArray) -> FloatArray:
    """``log(p @ A)`` with the exact log-space sum where the probability space one underflows."""
    pred = np.exp(lp) @ trans
    with np.errstate(divide="ignore"):
        out = np.log(pred)
    small = pred <= _TINY
    if np.any(small):
        exact = lse(lp[:, :, None] + log_trans[None, :, :], axis=1)[:, 0, :]
        out = np.where(small, exact, out)
    return np.asarray(out)


def switching_numpy(
    ll: FloatArray, lp0: FloatArray, trans: FloatArray, log_trans: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The switching filter: predict in log space (exactly where probabilities underflow),
    add the log-likelihood ratios, normalise; returns the log posterior and the evidence."""
    d, mll = _ratios_numpy(ll)
    out = np.empty_like(ll)
    evidence = np.sum(mll, axis=1)
    lp = lp0
    for t in range(ll.shape[1]):
        a = lp0 if t == 0 else _predict_numpy(lp, trans, log_trans)
        lp, norm = normalise(a + d[:, t, :])
        out[:, t, :] = lp
        evidence += norm[:, 0]
    return out, evidence


def smooth_numpy(
    ll: FloatArray, log_filt: FloatArray, trans: FloatArray, log_trans: FloatArray
) -> FloatArray:
    """The backward pass and the smoothed log posterior of a switching type."""
    S, T, K = ll.shape
    d, _ = _ratios_numpy(ll)
    out = np.empty_like(ll)
    out[:, -1, :] = log_filt[:, -1, :]
    lb = np.zeros((S, K))
    for t in range(T - 2, -1, -1):
        # log of the backward message up to a constant: ratios to the best type, so the
        # O(1) information survives log-likelihoods of any size
        b = d[:, t + 1, :] + lb
        m = np.max(b, axis=-1, keepdims=True)
        bm = b - np.where(np.isfinite(m), m, 0.0)
        r = np.exp(bm) @ trans.T
        with np.errstate(divide="ignore"):
            lb = np.log(r)
        small = r <= _TINY
        if np.any(small):
            exact = lse(log_trans[None, :, :] + bm[:, None, :], axis=2)[:, :, 0]
            lb = np.where(small, exact, lb)
        lb = lb - np.max(lb, axis=-1, keepdims=True)
        out[:, t, :] = normalise(log_filt[:, t, :] + lb)[0]
    return out


def numpy_status(
    ll: FloatArray, log_filt: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Status codes of the kernels, computed from the numpy results."""
    S = ll.shape[0]
    bad1 = ~np.all(ll < np.inf, axis=-1)  # NaN or +inf
    bad2 = np.all(ll == -np.inf, axis=-1)
    bad3 = ~np.all(log_filt < np.inf, axis=-1) | np.all(log_filt == -np.inf, axis=-1)
    code = np.where(bad1, 1, np.where(bad2, 2, np.where(bad3, 3, 0)))  # (S, T)
    first = np.argmax(code > 0, axis=1)
    status = code[np.arange(S), first].astype(np.int64)
    return status, first.astype(np.int64)
