"""Posteriors straight from the moves: the buildup likelihood computed inside the filter.

:func:`moves_posterior` returns what :func:`secdilemma.model.loglik_components` (its buildup
term) followed by :func:`~secdilemma.engines.exact.filtering.filter_probabilities` returns,
with the log-likelihood of each scenario computed into a block that stays in cache while the
filter runs over it (:mod:`._fused`): no ``(..., T, K)`` log-likelihood array is built, and
the numpy passes that build one (broadcasting, two lags, the density, the missing-data mask)
are gone. The signal channels' log-likelihood is added in the same block
(``_fused.signal_rows``): every observer kind whose only hooks are the prior and the weights
takes this path, signals or not.

:func:`buildup_loglik` is the compiled log-likelihood on its own, ``(..., T, K)``: the same
numbers as ``loglik_components(...)[0]`` (to within 1e-12; the tests compare them).
:func:`signal_loglik` is the compiled signal log-likelihood, ``(..., T, K, J)``: the numbers
the fused filter adds, compared with ``loglik_components(...)[1]`` and with a brute-force
enumeration in the tests.

Both need numba (:func:`fused_available`); the errors for bad input are those of
``loglik_components`` and ``filter_probabilities``, raised by them.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from secdilemma.engines.exact.filtering import (
    FilterProbabilities,
    check_log_prior,
    check_transition,
    filter_probabilities,
    raise_status,
)
from secdilemma.errors import ParameterError
from secdilemma.model.equations import (
    ModelParams,
    SignalParams,
    loglik_components,
    noise_offset,
    signal_greed_loading,
    threat_multiplier,
)
from secdilemma.model.types import TypeSpace

__all__ = ["buildup_loglik", "fused_available", "moves_posterior", "signal_loglik"]

FloatArray = npt.NDArray[np.float64]

#: The scenario parameters in the order of the kernel's ``prm`` columns (then the offset).
_FIELDS = ("mu", "alpha", "beta", "gamma", "kappa", "lam", "anchor", "sigma")

_FUSED: Any = None


def _fused() -> Any:
    global _FUSED
    if _FUSED is None:
        try:
            _FUSED = importlib.import_module("secdilemma.engines.exact._fused")
        except ImportError:  # pragma: no cover - numba is a declared dependency
            _FUSED = False
    return _FUSED or None


def fused_available() -> bool:
    """Whether the compiled, fused path can run (numba imports).

    Examples
    --------
    >>> isinstance(fused_available(), bool)
    True
    """
    return _fused() is not None


def _kernel_inputs(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    x: npt.ArrayLike | None,
    threat_blind: bool,
) -> tuple[tuple[Any, ...], tuple[int, ...]]:
    """The kernel's moves, parameters and threat rows, and the leading shape.

    Anything ``loglik_components`` would reject is handed to it, so that its error (worded
    once, there) is the one raised.
    """
    dx_a = np.asarray(dx, dtype=float)
    u_a = np.asarray(u, dtype=float)
    need_x = bool(np.any(np.asarray(params.lam) != 0))
    try:
        if dx_a.shape != u_a.shape or dx_a.ndim < 1 or dx_a.shape[-1] < 1:
            raise ValueError
        if need_x and x is None:
            raise ValueError
        lead = dx_a.shape[:-1]
        x_a = np.broadcast_to(np.asarray(x, dtype=float), dx_a.shape) if need_x else None
        prm = _scenario_params(params, lead)
        h = _threat_rows(params, lead, dx_a.shape[-1], threat_blind)
    except ValueError:
        loglik_components(dx_a, u_a, params, types, x=x, threat_blind=threat_blind)
        raise ParameterError(
            f"loglik: the parameters' shapes do not fit moves of shape {dx_a.shape}: give "
            "scalars or one value per scenario (omega/delta: a (T,) series or (S, 1)), and "
            "`x` of the moves' shape."
        ) from None
    S, T = math.prod(lead), dx_a.shape[-1]
    x2 = _NO_X if x_a is None else np.ascontiguousarray(x_a.reshape(S, T))
    noise = (
        params.nu is not None,
        float(params.nu) if params.nu is not None else 1.0,
        0.5 * (params.nu + 1.0) if params.nu is not None else 0.0,
        need_x,
    )
    moves = (
        np.ascontiguousarray(dx_a.reshape(S, T)),
        np.ascontiguousarray(u_a.reshape(S, T)),
        x2,
        prm,
        h,
        noise,
        np.array(types.greed, dtype=float),  # writable copies: one type for the kernel
        np.array(types.fear, dtype=float),
    )
    return moves, lead


_NO_X = np.zeros((1, 1))


def _scenario_params(params: ModelParams, lead: tuple[int, ...]) -> FloatArray:
    """``(P, 9)``: the scenario parameters and the noise offset, one row (shared) or one per
    scenario. ``ValueError`` when a field does not broadcast to ``lead``."""
    arrs = [np.asarray(getattr(params, f), dtype=float) for f in _FIELDS]
    arrs.append(np.asarray(noise_offset(arrs[-1], params.nu), dtype=float))
    for a in arrs:
        if np.broadcast_shapes(a.shape, lead) != lead:
            raise ValueError
    if all(a.size == 1 for a in arrs):
        return np.array([[float(a.reshape(-1)[0]) for a in arrs]])
    S = math.prod(lead)
    return np.ascontiguousarray(np.stack([np.broadcast_to(a, lead).reshape(S) for a in arrs], 1))


def _threat_rows(
    params: ModelParams, lead: tuple[int, ...], T: int, threat_blind: bool
) -> FloatArray:
    """``(1 or S, 1 or T)``: the threat multiplier by scenario and period (0 when blind).
    ``ValueError`` when ``omega``/``delta`` do not broadcast to ``(..., T)``."""
    h = threat_multiplier(params.omega, params.delta)
    full = (*lead, T)
    if np.broadcast_shapes(h.shape, full) != full:
        raise ValueError
    if threat_blind:
        return np.zeros((1, 1))
    if h.size == 1:
        return h.reshape(1, 1)
    cols = T if h.shape[-1] > 1 else 1
    if h.ndim == 1 or math.prod(h.shape[:-1]) == 1:  # the same in every scenario
        return np.ascontiguousarray(h.reshape(1, cols))
    rows = math.prod(lead)
    return np.ascontiguousarray(np.broadcast_to(h, (*lead, cols)).reshape(rows, cols))


_NO_SIGNALS = np.zeros((1, 0))


def _channels(
    sp: SignalParams | None,
    types: TypeSpace,
    weights: npt.ArrayLike | None,
    delta: float | None = None,
) -> Any:
    """The kernels' ``sig`` tuple (see ``_signals.signal_rows``) for channels ``sp`` with
    ``weights`` ``(J,)`` (default 1); ``delta`` the one value of ``params.delta`` when some
    channel is a posture channel (its greed loading scaled by ``2 delta``), else ``None``.

    The log probabilities at zero threat are the equations' own numbers
    (``loglik_components`` at ``h = 0``); each group of ``_signals.GROUP`` channels gets a
    table per type of their weighted sums over every combination of digits (0, 1, missing;
    on a channel with a fear term also 0 and 1 under threat). Only the channels with a fear
    term compute a logistic per period, in the kernel, where the threat is not 0.
    """
    K = types.n_types
    if sp is None:  # the kernel reads none of these
        return _no_channels(K)
    J = sp.n_channels
    w = np.ones(J) if weights is None else np.array(weights, dtype=float).reshape(J)
    eta_g = sp.eta_g if delta is None else signal_greed_loading(sp, delta)
    logit = sp.eta0 + eta_g * types.greed[:, None]  # (K, J), as the equations add
    table = _zero_threat(logit)
    fch = np.flatnonzero((sp.eta_f != 0.0) & (w != 0.0))
    fch = fch[np.argsort(w[fch], kind="stable")]  # one log per run of equal weights
    base = logit.T
    ef = (sp.eta_f * types.fear[:, None]).T
    isf = np.zeros(J, dtype=bool)
    isf[fch] = True
    tab, mult = _tables(table, base, ef, w, isf)
    lim = np.array([_fear_limits(base[fch], ef[fch]).min(initial=1e300)])
    with np.errstate(over="ignore"):
        cexp = np.exp(base[fch])
    cexp[~np.isfinite(cexp)] = 0.0  # such a type's channel never enters a product (lim = 0)
    jobs, flush = _product_jobs(ef[fch], w[fch])
    inv = 1.0 / mult[fch]
    fear = (fch, base[fch], ef[fch], table[:, fch], w[fch], lim, cexp, jobs, flush, inv)
    return mult, isf, tab, tuple(np.ascontiguousarray(a) for a in fear)


def _zero_threat(logit: FloatArray) -> FloatArray:
    """``(2, J, K)``: the log probabilities of a signal 0 and 1 at zero threat, logits ``(K,
    J)``, in the operations of ``loglik_components`` (its signal term at ``threat = 0``: the
    fear term is a zero that changes no bit), a channel missing (0) where some type's is
    NaN."""
    with np.errstate(invalid="ignore"):
        pos, neg = np.logaddexp(0.0, -logit), np.logaddexp(0.0, logit)
        ll = np.stack([-(0.0 * pos + 1.0 * neg), -(1.0 * pos + 0.0 * neg)])  # s = 0, 1
    ll = np.where(np.isnan(ll).any(axis=1, keepdims=True), 0.0, ll)
    return np.ascontiguousarray(np.swapaxes(ll, 1, 2))


def _product_jobs(ef: FloatArray, w: FloatArray) -> tuple[npt.NDArray[np.int64], Any]:
    """The kernel's product passes ``(f, k1, k2 or -1)``: per fear channel, the types with
    a fear term paired by equal ``e`` (one ``exp`` for both); ``flush`` ``(F, K)``: at the
    last channel of each run of equal weights, the types whose products it ends."""
    F, K = ef.shape
    jobs: list[tuple[int, int, int]] = []
    for f in range(F):
        left = [k for k in range(K) if ef[f, k] != 0.0]
        while left:
            k1 = left.pop(0)
            k2 = next((k for k in left if ef[f, k] == ef[f, k1]), -1)
            if k2 >= 0:
                left.remove(k2)
            jobs.append((f, k1, k2))
    flush = np.zeros((F, K), dtype=bool)
    f0 = 0
    for f in range(F):
        if f == F - 1 or w[f + 1] != w[f]:
            flush[f] = np.any(ef[f0 : f + 1] != 0.0, axis=0)
            f0 = f + 1
    return np.array(jobs, dtype=np.int64).reshape(-1, 3), flush


def _tables(
    table: FloatArray, base: FloatArray, ef: FloatArray, w: FloatArray, isf: Any
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """``tab`` ``(G, K, R)`` and ``mult`` ``(J,)``: for each group of channels and type, at
    every index ``sum_i digit_i mult_i``, the sum of the channels' weighted terms (``table``
    ``(2, J, K)``: the log probabilities of 0 and 1 at zero threat; digits 0, 1, missing, and
    on a fear channel 0 and 1 under threat: there, for a type with ``e != 0``, ``w s b``, the
    rest coming from the kernel's products)."""
    group = _fused().GROUP
    J, K = base.shape
    radix = np.where(isf, 5, 3)
    G = -(-J // group)
    R = max([1] + [int(np.prod(radix[g * group : (g + 1) * group])) for g in range(G)])
    tab = np.zeros((G, K, R))
    mult = np.ones(J, dtype=np.int64)
    wt = w[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        lp = [np.where(wt != 0.0, wt * table[d], 0.0) for d in (0, 1)]  # (J, K) each
    fe = isf[:, None] & (ef != 0.0)
    vals = np.stack([lp[0], lp[1], np.zeros((J, K)), np.where(fe, 0.0, lp[0]),
                     np.where(fe, wt * base, lp[1])])  # fmt: skip
    for g in range(G):
        idx = np.arange(R)
        for j in range(g * group, min(J, (g + 1) * group)):
            mult[j] = 1 if j == g * group else mult[j - 1] * radix[j - 1]
            d = idx // mult[j] % radix[j]
            tab[g] += vals[d, j].T
    return np.ascontiguousarray(tab), mult


def _fear_limits(base: FloatArray, ef: FloatArray) -> FloatArray:
    """``(F,)``: per fear channel, the largest threat at which the vectorised logistic
    (``_signals._product``) takes every type's logit ``l = b + e * threat``: ``|l| <=
    690 / F`` (the product of the ``F`` factors ``1 + exp(l)`` stays finite; at most 600,
    so ``exp(e * threat)`` is finite too). Larger threats take the equations' operations
    one by one (``_signals._fix_periods``)."""
    bound = min(600.0, 690.0 / max(ef.shape[0], 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(ef != 0.0, (bound - np.abs(base)) / np.abs(ef), np.inf)
    return np.clip(room.min(axis=1, initial=np.inf), 0.0, 1e300)


def _no_channels(K: int) -> Any:
    """The kernels' ``sig`` tuple without channels (typed as with them)."""
    none, none3 = np.zeros((0, K)), np.zeros((2, 0, K))
    no_ch, none_b = np.zeros(0, np.int64), np.zeros((0, K), dtype=bool)
    jobs = np.zeros((0, 3), np.int64)
    fear = (no_ch, none, none, none3, np.zeros(0), np.ones(1), none, jobs, none_b, np.zeros(0))
    return no_ch, np.zeros(0, dtype=bool), np.zeros((0, K, 1)), fear


def _signal_cube(
    signals: npt.ArrayLike | None, params: ModelParams, lead: tuple[int, ...], T: int
) -> FloatArray:
    """``signals`` as the kernels' ``(S, T * J)`` (``(1, 0)`` for ``None``); ``ValueError``
    where they do not fit ``params.signals``."""
    if signals is None:
        return _NO_SIGNALS
    s = np.asarray(signals, dtype=float)
    if params.signals is None or s.shape != (*lead, T, params.signals.n_channels):
        raise ValueError
    return np.ascontiguousarray(s.reshape(math.prod(lead), T * s.shape[-1]))


def _refuse_signals(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    signals: npt.ArrayLike | None,
    x: npt.ArrayLike | None,
    threat_blind: bool,
) -> NoReturn:
    """Raise the equations' error for ``signals`` (worded there), or a fallback one."""
    loglik_components(dx, u, params, types, signals=signals, x=x, threat_blind=threat_blind)
    J = 0 if params.signals is None else params.signals.n_channels
    raise ParameterError(
        f"loglik: `signals` must be (..., T, J) = (..., {np.shape(u)[-1]}, {J}) in the "
        "channel order of `params.signals`, with values 0, 1 or NaN; "
        + ("`params.signals` is None." if params.signals is None else "they are not.")
    )


def signal_loglik(
    signals: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    *,
    threat_blind: bool = False,
) -> FloatArray:
    """``loglik_components(..., signals=signals)[1]``, compiled: the log probability of each
    signal under each type, ``(..., T, K, J)`` (0 where missing), as the fused filter adds it.

    ``u`` ``(..., T)`` are the observer's moves (the threat of a channel with a fear term
    reads ``u`` of the period before). One pass of the fused kernel per channel (that channel
    weighted 1, the others 0, no buildups): the code the observers run.

    Examples
    --------
    >>> from secdilemma.model import SignalParams, loglik_components
    >>> sp = SignalParams(("a", "b"), eta0=[-1.0, 0.0], eta_g=[2.0, 0.0], eta_f=[0.0, 1.5])
    >>> p, ts = ModelParams(signals=sp), TypeSpace.default()
    >>> s, u = np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 1.0]]), np.array([0.1, 0.2, -0.1])
    >>> ref = loglik_components(u, u, p, ts, signals=s)[1]
    >>> bool(np.allclose(signal_loglik(s, u, p, ts), ref, rtol=0, atol=1e-12))
    True
    """
    u_a = np.asarray(u, dtype=float)
    if params.signals is None or signals is None:
        _refuse_signals(u_a, u_a, params, types, signals, None, threat_blind)
    if _posture_varies(params, signals):
        ll = loglik_components(u_a, u_a, params, types, signals=signals, threat_blind=threat_blind)
        return np.asarray(ll[1])
    J = params.signals.n_channels
    missing = np.full(u_a.shape, np.nan)
    lone = params.replace(lam=0.0)  # no buildups: their parameters are not read
    out = [
        _loglik(missing, u_a, lone, types, signals, None, threat_blind, 0.0, np.eye(J)[j])
        for j in range(J)
    ]
    return np.stack(out, axis=-1) if out else np.zeros((*u_a.shape, types.n_types, 0))


def buildup_loglik(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    *,
    x: npt.ArrayLike | None = None,
    threat_blind: bool = False,
    weight: float = 1.0,
) -> FloatArray:
    """``loglik_components(dx, u, params, types, x=x, threat_blind=threat_blind)[0]``, compiled
    (times ``weight``; 0 where the data are missing).

    Examples
    --------
    >>> from secdilemma.model import loglik_components
    >>> dx, u = np.array([0.0, 0.05, -0.02]), np.array([0.1, -0.1, 0.0])
    >>> ts, p = TypeSpace.default(), ModelParams()
    >>> bool(np.allclose(buildup_loglik(dx, u, p, ts), loglik_components(dx, u, p, ts)[0]))
    True
    """
    kern = _fused()
    if kern is None:  # pragma: no cover - numba is a declared dependency
        return np.asarray(weight * loglik_components(dx, u, params, types, x=x)[0])
    return _loglik(dx, u, params, types, None, x, threat_blind, weight, None)


def _loglik(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    signals: npt.ArrayLike | None,
    x: npt.ArrayLike | None,
    threat_blind: bool,
    weight: float,
    signal_weights: npt.ArrayLike | None,
) -> FloatArray:
    """The fused kernel's log-likelihood ``(..., T, K)`` (see :func:`moves_posterior`)."""
    kern = _fused()
    moves, lead = _kernel_inputs(dx, u, params, types, x, threat_blind)
    S, T = moves[0].shape
    chan = _chan(dx, u, params, types, signals, x, threat_blind, signal_weights, lead, T)
    out = np.empty((S, T, types.n_types))
    kern.loglik(*moves, float(weight), chan, out)
    if chan[2][0]:
        _refuse_signals(dx, u, params, types, signals, x, threat_blind)
    return out.reshape(*lead, T, types.n_types)


def _chan(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    signals: npt.ArrayLike | None,
    x: npt.ArrayLike | None,
    threat_blind: bool,
    signal_weights: npt.ArrayLike | None,
    lead: tuple[int, ...],
    T: int,
) -> tuple[Any, ...]:
    """The kernels' ``chan`` = ``(signals (S, T, J), sig, flags)``."""
    try:
        cube = _signal_cube(signals, params, lead, T)
    except ValueError:
        _refuse_signals(dx, u, params, types, signals, x, threat_blind)
    sp = params.signals if signals is not None else None
    delta = None
    if sp is not None and np.any(sp.posture):
        delta = float(np.asarray(params.delta, dtype=float).reshape(-1)[0])
    return cube, _channels(sp, types, signal_weights, delta), np.zeros(1, dtype=np.int64)


def _posture_varies(params: ModelParams, signals: npt.ArrayLike | None) -> bool:
    """Whether a posture channel's greed loading (``2 delta eta_g``) differs between periods
    or scenarios: the kernels' tables take one ``delta``, so the numpy equations run."""
    sp = params.signals
    if signals is None or sp is None or not np.any(sp.posture):
        return False
    return bool(np.unique(np.asarray(params.delta, dtype=float)).size > 1)


def moves_posterior(
    dx: npt.ArrayLike,
    u: npt.ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    log_prior: npt.ArrayLike,
    *,
    signals: npt.ArrayLike | None = None,
    x: npt.ArrayLike | None = None,
    transition: npt.ArrayLike | None = None,
    threat_blind: bool = False,
    weight: float = 1.0,
    signal_weights: npt.ArrayLike | None = None,
    smooth: bool = True,
) -> FilterProbabilities:
    """The posterior over types from the moves (and signals), the likelihood fused into the
    filter.

    Parameters
    ----------
    dx, u, params, types, signals, x, threat_blind
        As for :func:`secdilemma.model.loglik_components` (``signals`` ``(..., T, J)`` when
        ``params.signals`` has channels, else ``None``).
    log_prior, transition, smooth
        As for :func:`~secdilemma.engines.exact.filtering.filter_probabilities`.
    weight
        Power on the buildup likelihood (a tempered or selective observer's buildup weight;
        0 ignores the buildups).
    signal_weights
        ``(J,)`` powers on each channel's likelihood (default 1; 0 ignores a channel).

    Returns
    -------
    FilterProbabilities
        ``filtered``, ``smoothed`` ``(..., T, K)`` and ``log_evidence`` ``(...)``; the same as
        ``filter_probabilities(weight * ll_b + sum_j(signal_weights[j] * ll_s[..., j]),
        log_prior, ...)`` with ``ll_b, ll_s = loglik_components(...)``.

    Examples
    --------
    >>> from secdilemma.model.simulate import simulate
    >>> ds = simulate(n_periods=30, n_scenarios=2, true_type="greedy", seed=3)
    >>> res = moves_posterior(ds.dx.values, ds.u.values, ModelParams(), TypeSpace.default(),
    ...                       np.log(np.full(3, 1 / 3)))
    >>> res.filtered[:, -1, 0].round(2).tolist()
    [1.0, 1.0]
    """
    kern = _fused()
    if kern is None:  # pragma: no cover - numba is a declared dependency
        raise ParameterError("moves_posterior: the fused path needs numba, which is missing.")
    if _posture_varies(params, signals):
        ll_b, ll_s = loglik_components(
            dx, u, params, types, signals=signals, x=x, threat_blind=threat_blind
        )
        assert ll_s is not None
        w = np.ones(ll_s.shape[-1]) if signal_weights is None else np.asarray(signal_weights)
        with np.errstate(invalid="ignore"):
            ll = np.where(weight == 0.0, 0.0, weight * ll_b) + np.sum(
                np.where(w == 0.0, 0.0, w * ll_s), axis=-1
            )
        return filter_probabilities(ll, log_prior, transition=transition, smooth=smooth)
    moves, lead = _kernel_inputs(dx, u, params, types, x, threat_blind)
    K = types.n_types
    S, T = moves[0].shape
    chan = _chan(dx, u, params, types, signals, x, threat_blind, signal_weights, lead, T)
    lp = check_log_prior(log_prior, lead, K, True)
    if transition is None:
        trans: tuple[Any, ...] = (False, _NO_X, _NO_X)
    else:
        trans = (True, *check_transition(transition, K, True))
    filt = np.empty((S, T, K))
    smoothed = np.empty((S, T, K)) if smooth else np.empty((1, 1, K))
    evidence = np.empty(S)
    prior = (lp, bool(smooth), True)
    bad: tuple[int, int, int, int] = kern.observe(
        *moves, float(weight), prior, trans, chan, filt, smoothed, evidence
    )
    if chan[2][0]:
        _refuse_signals(dx, u, params, types, signals, x, threat_blind)
    raise_status(*bad, lead)
    shape = (*lead, T, K)
    return FilterProbabilities(
        filt.reshape(shape), smoothed.reshape(shape) if smooth else None, evidence.reshape(lead)
    )
