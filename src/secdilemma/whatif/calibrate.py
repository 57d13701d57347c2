"""The curated channels' intercepts, calibrated for many settings at once.

A hand-sourced channel read with a stand-in's loadings has its intercept ``eta0``
calibrated on the study's window (:func:`secdilemma.study.signals.calibrated_intercept`):
the root of ``gap(e0) = mean_t sum_k prior_k sigmoid(e0 + eta_g g_k + eta_f f_k thr_t) -
rate``, found by scipy's ``brentq`` on ``[-40, 40]``. The threat ``thr`` depends on the world
(``h = 1 + omega - delta``) and the weights on the observer's prior, so a sweep over
``omega``, ``delta`` or the prior needs one root per distinct (``h``, prior) setting.

:func:`calibrated_intercepts` finds all of them at once: the same Brent iteration as scipy's
(``scipy/optimize/Zeros/brentq.c``: the same bracket, tolerances, steps and stopping rule),
run in lockstep on arrays, one row per setting, each row stopping where scipy's would. The
roots therefore agree with ``calibrated_intercept`` to rounding (tests/test_whatif_calibrate.py
holds them to 1e-12 on random cases), which keeps every sweep cell equal to the study's.
A row scipy would refuse (no sign change on the bracket, a NaN, no convergence in 100
iterations) is handed to ``calibrated_intercept`` itself, which raises scipy's error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model.types import TypeSpace
from secdilemma.study.signals import calibrated_intercept

__all__ = ["calibrated_intercepts"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: scipy's brentq as ``calibrated_intercept`` calls it: bracket, ``xtol``, default ``rtol``
#: (4 machine epsilons) and ``maxiter``.
BRACKET = (-40.0, 40.0)
XTOL = 1e-12
RTOL = 4.0 * float(np.finfo(float).eps)
MAXITER = 100
#: Up to this many settings, ``calibrated_intercept`` itself (scipy's compiled loop) is
#: quicker than the array iteration's fixed cost; the roots are the same.
SCALAR_ROWS = 4


def calibrated_intercepts(
    events: npt.ArrayLike,
    threat: npt.ArrayLike,
    eta_g: float,
    eta_f: float,
    types: TypeSpace,
    priors: npt.ArrayLike,
) -> FloatArray:
    """:func:`~secdilemma.study.signals.calibrated_intercept` for ``G`` settings at once.

    Parameters
    ----------
    events
        The channel's events per period ``(T,)``: 0, 1 or NaN (unobserved).
    threat
        ``h * u⁺`` of the previous period per setting ``(G, T)`` (or ``(T,)``, shared): NaN
        where unknown (read as 0 when ``eta_f == 0``).
    eta_g, eta_f
        The channel's loadings on greed and on fear.
    types
        The type space (``K`` types).
    priors
        The observer's prior per setting ``(G, K)`` (or ``(K,)``, shared).

    Returns
    -------
    numpy.ndarray
        ``(G,)`` intercepts, row ``g`` equal (to rounding) to
        ``calibrated_intercept(events, threat[g], eta_g, eta_f, types, priors[g])``; NaN for
        a setting with no observed period.

    Raises
    ------
    ParameterError
        ``events``, ``threat`` or ``priors`` of shapes that do not fit together.
    ValueError
        Where scipy's ``brentq`` would (from ``calibrated_intercept`` on that row).
    """
    ev = np.asarray(events, dtype=float)
    thr, pri = _as_rows(ev, threat, priors, types.n_types)
    if eta_f == 0.0:
        thr = np.where(np.isfinite(thr), thr, 0.0)
    out = np.full(thr.shape[0], np.nan)
    ok = np.isfinite(ev)[None, :] & np.isfinite(thr)
    patterns, which = np.unique(ok, axis=0, return_inverse=True)
    for p, mask in enumerate(patterns):
        rows = np.flatnonzero(which.reshape(-1) == p)
        n = int(mask.sum())
        if n == 0:
            continue
        rate = (float(np.sum(ev[mask])) + 0.5) / (n + 1.0)
        shift = eta_g * types.greed[None, None, :] + (
            eta_f * types.fear[None, None, :] * thr[rows][:, mask][:, :, None]
        )  # (G', n, K), as calibrated_intercept's (n, K)
        if rows.size <= SCALAR_ROWS:  # a few settings: scipy's own loop is quicker
            failed = np.ones(rows.size, dtype=bool)
        else:
            root, failed = _brentq(shift, pri[rows], rate)
            out[rows] = root
        for r in rows[failed]:  # (and scipy's own error for a row it refuses)
            out[r] = calibrated_intercept(ev, thr[r], eta_g, eta_f, types, pri[r])
    return out


def _as_rows(
    events: FloatArray, threat: npt.ArrayLike, priors: npt.ArrayLike, k: int
) -> tuple[FloatArray, FloatArray]:
    """``threat`` ``(G, T)`` and ``priors`` ``(G, K)``, broadcast against each other."""
    thr = np.atleast_2d(np.asarray(threat, dtype=float))
    pri = np.atleast_2d(np.asarray(priors, dtype=float))
    if events.ndim != 1 or thr.ndim != 2 or thr.shape[1] != events.size:
        raise ParameterError(
            f"calibrated_intercepts: `threat` has shape {np.shape(threat)} and `events` "
            f"{events.shape}; give events (T,) and threat (G, T) or (T,)."
        )
    if pri.ndim != 2 or pri.shape[1] != k:
        raise ParameterError(
            f"calibrated_intercepts: `priors` has shape {np.shape(priors)}; give (G, {k}) or "
            f"({k},), one probability per type."
        )
    g = max(thr.shape[0], pri.shape[0])
    if {thr.shape[0], pri.shape[0]} - {1, g}:
        raise ParameterError(
            f"calibrated_intercepts: {thr.shape[0]} threat rows and {pri.shape[0]} priors; "
            "give as many of each (or one of either)."
        )
    return (
        np.ascontiguousarray(np.broadcast_to(thr, (g, thr.shape[1]))),
        np.ascontiguousarray(np.broadcast_to(pri, (g, k))),
    )


def _gap(e0: FloatArray, shift: FloatArray, prior: FloatArray, rate: float) -> FloatArray:
    """``calibrated_intercept``'s ``gap`` per row: ``e0`` ``(G,)``, ``shift`` ``(G, n, K)``,
    ``prior`` ``(G, K)``."""
    p = 1.0 / (1.0 + np.exp(-(e0[:, None, None] + shift)))
    return np.asarray(np.mean(np.matmul(p, prior[:, :, None])[..., 0], axis=1) - rate)


def _brentq(
    shift: FloatArray, prior: FloatArray, rate: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """scipy's Brent iteration on every row at once: ``(roots, failed)``, ``failed`` where
    scipy would raise (the root is then NaN)."""
    g = shift.shape[0]
    root = np.full(g, np.nan)
    xpre, xcur = np.full(g, BRACKET[0]), np.full(g, BRACKET[1])
    fpre = _gap(xpre, shift, prior, rate)
    fcur = _gap(xcur, shift, prior, rate)
    failed = np.isnan(fpre) | np.isnan(fcur)
    failed |= (fpre != 0) & (fcur != 0) & (np.signbit(fpre) == np.signbit(fcur))
    at_a, at_b = (fpre == 0) & ~failed, (fcur == 0) & ~failed & (fpre != 0)
    root[at_a], root[at_b] = xpre[at_a], xcur[at_b]
    act = np.flatnonzero(~(failed | at_a | at_b))
    st = {"xpre": xpre[act], "xcur": xcur[act], "fpre": fpre[act], "fcur": fcur[act]}
    z = np.zeros(act.size)
    st.update(xblk=z.copy(), fblk=z.copy(), spre=z.copy(), scur=z.copy())
    for _ in range(MAXITER):
        if act.size == 0:
            break
        done, st = _step(st)
        root[act[done]] = st["xcur"][done]
        keep = ~done
        act = act[keep]
        st = {k: v[keep] for k, v in st.items()}
        st["fcur"] = _gap(st["xcur"], shift[act], prior[act], rate)
        bad = np.isnan(st["fcur"])
        if np.any(bad):
            failed[act[bad]] = True
            act = act[~bad]
            st = {k: v[~bad] for k, v in st.items()}
    failed[act] = True  # no convergence in MAXITER iterations
    root[failed] = np.nan
    return root, failed


def _step(st: dict[str, FloatArray]) -> tuple[npt.NDArray[np.bool_], dict[str, FloatArray]]:
    """One pass of brentq.c's loop body up to the next evaluation: ``(converged, state)``
    with ``xcur`` the root where converged, else the next point to evaluate."""
    xpre, xcur, xblk = st["xpre"], st["xcur"], st["xblk"]
    fpre, fcur, fblk = st["fpre"], st["fcur"], st["fblk"]
    spre, scur = st["spre"], st["scur"]
    change = (fpre != 0) & (fcur != 0) & (np.signbit(fpre) != np.signbit(fcur))
    xblk, fblk = np.where(change, xpre, xblk), np.where(change, fpre, fblk)
    spre, scur = np.where(change, xcur - xpre, spre), np.where(change, xcur - xpre, scur)
    swap = np.abs(fblk) < np.abs(fcur)
    xpre, xcur, xblk = (
        np.where(swap, xcur, xpre),
        np.where(swap, xblk, xcur),
        np.where(swap, xcur, xblk),
    )
    fpre, fcur, fblk = (
        np.where(swap, fcur, fpre),
        np.where(swap, fblk, fcur),
        np.where(swap, fcur, fblk),
    )
    delta = (XTOL + RTOL * np.abs(xcur)) / 2
    sbis = (xblk - xcur) / 2
    done = (fcur == 0) | (np.abs(sbis) < delta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        interp = -fcur * (xcur - xpre) / (fcur - fpre)
        dpre = (fpre - fcur) / (xpre - xcur)
        dblk = (fblk - fcur) / (xblk - xcur)
        extrap = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
    stry = np.where(xpre == xblk, interp, extrap)
    try_step = (np.abs(spre) > delta) & (np.abs(fcur) < np.abs(fpre))
    a, b = np.abs(spre), 3 * np.abs(sbis) - delta
    good = try_step & (2 * np.abs(stry) < np.where(a < b, a, b))  # C's MIN(a, b)
    spre, scur = np.where(good, scur, sbis), np.where(good, stry, sbis)
    nxt = np.where(np.abs(scur) > delta, xcur + scur, xcur + np.where(sbis > 0, delta, -delta))
    out = {"xpre": xcur, "fpre": fcur, "xblk": xblk, "fblk": fblk, "spre": spre, "scur": scur,
           "xcur": np.where(done, xcur, nxt)}  # fmt: skip
    return done, out
