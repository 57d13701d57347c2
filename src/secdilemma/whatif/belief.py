"""The exact observer's belief at the last period, for a block of cells at once.

The same computation as :meth:`secdilemma.Study.belief` (the observer kind's prior and
weights, :func:`~secdilemma.model.loglik_components`, the exact engine's
:func:`~secdilemma.engines.exact.forward_backward`), arranged so that no Python loop runs
over cells:

1. the log-likelihood of the buildups is computed once per distinct setting of the inputs
   it depends on (``omega``, ``delta``, the coefficients, whether the observer is
   threat-blind), with those settings on the scenario axis of one call; the signal
   channels' (the ones the study's exact observer reads, :attr:`SweepBase.signals`) once
   per distinct (``h``, threat-blind, channel intercepts), all settings in one array
   expression, the intercepts being each cell's (:func:`cell_eta0`, below);
2. each distinct (log-likelihood, prior, weights, persistence) combination is filtered once,
   again with the combinations on the scenario axis (one call per distinct persistence,
   since a transition matrix is shared by the scenarios of a call); the weights are the
   observer kind's on the buildups and on each channel, combined as
   :meth:`Observer.loglik <secdilemma.observers.Observer.loglik>` does
   (``w_b * ll_b + sum_j w_j * ll_j``, a zero weight giving exactly 0);
3. each cell takes its combination's posterior.

Signal channels: the study reads them with the coefficients of
:func:`secdilemma.study.signals.study_signal_params`. A channel the pooled reference
estimates keeps the reference's; a hand-sourced channel read with a stand-in's loadings has
its intercept ``eta0`` calibrated on the study's window, which depends on the world
(``omega``, ``delta``: the threat in the fear term) and the observer's prior. So a cell that
changes one of those has its own intercepts, exactly those of ``Study(..., omega=...)``,
recomputed by the same function (:func:`cell_eta0`); they enter the belief here and the
policies' forward runs (:func:`cell_signal_params`, :mod:`secdilemma.whatif.policies`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from secdilemma.engines.exact import forward_backward
from secdilemma.model import SignalParams, loglik_components, threat_multiplier, transition_matrix
from secdilemma.model.equations import lagged, signal_greed_loading
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.whatif.calibrate import calibrated_intercepts
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.inputs import COEFFICIENTS, KIND_DEFAULTS, SweepBase, prior_vectors

__all__ = ["cell_beliefs", "cell_eta0", "cell_kinds", "cell_signal_params", "threat_prev"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_LL_INPUTS = ("omega", "delta", *COEFFICIENTS)
_WORLD = ("omega", "delta")
_MAX_CACHED = 2**16  # calibrated intercepts kept per sweep (a few MB)


def cell_kinds(base: SweepBase, cells: Cells) -> npt.NDArray[np.str_]:
    """The observer kind of every cell.

    Sweeping ``temperature`` (or ``confidence``) without sweeping ``observer`` turns the
    study's observer into the tempered (or biased) one, the kind that knob belongs to.
    """
    if cells.has("observer"):
        return np.asarray(cells.columns["observer"], dtype=str)
    kind = base.observer
    if cells.has("temperature"):
        kind = "tempered"
    elif cells.has("confidence"):
        kind = "biased"
    return np.full(cells.n, kind)


def _observer(base: SweepBase, kind: str, prior: object, knob: float) -> object:
    cls = OBSERVER_KINDS[kind]
    extra = {}
    if kind == "tempered":
        extra["temperature"] = knob
    elif kind == "biased":
        extra["confidence"] = knob
    return cls(base.types, None, prior=prior, **extra)  # type: ignore[arg-type]


def _knobs(base: SweepBase, cells: Cells, kinds: npt.NDArray[np.str_]) -> FloatArray:
    """Each cell's temperature (tempered), confidence (biased), else 1."""
    out = np.ones(cells.n)
    for kind, knob in (("tempered", "temperature"), ("biased", "confidence")):
        mask = kinds == kind
        if np.any(mask):
            vals = cells.columns[knob] if cells.has(knob) else np.full(cells.n, KIND_DEFAULTS[knob])
            out = np.where(mask, vals.astype(float), out)
    return out


# -- the signal channels ----------------------------------------------------------------------
def threat_prev(omega: npt.ArrayLike, delta: npt.ArrayLike, u: FloatArray) -> FloatArray:
    """``h_{t-1} * u⁺_{t-1}`` per period ``(T,)`` (NaN in the first period and where ``u`` is
    missing): the input of a channel's fear term, as the study calibrates with it.

    ``omega`` and ``delta`` are constants or ``(T,)`` series.
    """
    h = np.broadcast_to(threat_multiplier(omega, delta), u.shape)
    out = np.full(u.shape, np.nan)
    out[1:] = h[:-1] * np.maximum(u[:-1], 0.0)
    out[1:][np.isnan(u[:-1])] = np.nan
    return out


def _cell_h(base: SweepBase, cells: Cells) -> FloatArray:
    """Each cell's threat multiplier ``h = 1 + omega - delta``: ``(n, 1)`` for a world
    constant over the series, ``(n, T)`` where the study's world varies by period. The
    channels depend on the world through ``h`` alone (their fear term, the calibration)."""
    om, de = (
        np.asarray(cells.columns[w], dtype=float)[:, None]
        if cells.has(w)
        else np.atleast_1d(np.asarray(getattr(base.params, w), dtype=float))[None, :]
        for w in _WORLD
    )
    h = threat_multiplier(om, de)
    return np.broadcast_to(h, (cells.n, h.shape[1]))


def _cell_delta(base: SweepBase, cells: Cells) -> FloatArray:
    """Each cell's ``delta``: ``(n, 1)``, or ``(n, T)`` where the study's varies by period."""
    if cells.has("delta"):
        return np.asarray(cells.columns["delta"], dtype=float)[:, None]
    de = np.atleast_1d(np.asarray(base.params.delta, dtype=float))[None, :]
    return np.broadcast_to(de, (cells.n, de.shape[1]))


def cell_eta0(base: SweepBase, cells: Cells) -> FloatArray:
    """Each cell's channel intercepts ``(n, J)`` (``J = 0`` without channels).

    The study's own where nothing they depend on is swept; else the calibrated channels'
    are recomputed once per distinct (``h``, prior) setting, with the cell's world constant
    over the series (as ``Study(..., omega=...)`` has it) and its prior vector: all the new
    settings of a block in one vectorised calibration
    (:func:`~secdilemma.whatif.calibrate.calibrated_intercepts`, the same roots as
    :func:`~secdilemma.study.signals.calibrated_intercept`'s).
    """
    sp = base.params.signals
    if sp is None or base.signals is None:
        return np.empty((cells.n, 0))
    eta0 = np.broadcast_to(sp.eta0, (cells.n, sp.n_channels)).copy()
    cal = [j for j, c in enumerate(base.calibrated) if c]
    prior_cols = {k: v.astype(float) for k, v in cells.columns.items() if k.startswith("prior_")}
    if not cal or not (cells.has("omega") or cells.has("delta") or prior_cols):
        return eta0
    priors = prior_vectors(base, prior_cols, cells.n)
    h = _cell_h(base, cells)
    ids, first = group([*h.T, *prior_cols.values()], cells.n)
    keys = [h[i].tobytes() + priors[i].tobytes() for i in first]
    new = [g for g, key in enumerate(keys) if key not in base.intercepts]
    if new:  # (the chunks of a sweep share settings) all new settings in one calibration
        rows = first[new]
        hh = np.broadcast_to(h[rows], (rows.size, base.u.size))
        thr = np.full(hh.shape, np.nan)
        thr[:, 1:] = hh[:, :-1] * np.maximum(base.u[:-1], 0.0)  # as threat_prev
        thr[:, 1:][:, np.isnan(base.u[:-1])] = np.nan
        fresh = np.broadcast_to(np.asarray(sp.eta0, dtype=float), (rows.size, sp.n_channels))
        fresh = fresh.copy()
        for j in cal:
            fresh[:, j] = calibrated_intercepts(
                base.signals[:, j], thr, float(sp.eta_g[j]), float(sp.eta_f[j]),
                base.types, priors[rows],
            )  # fmt: skip
        if len(base.intercepts) + len(new) > _MAX_CACHED:
            base.intercepts.clear()
        base.intercepts.update({keys[g]: fresh[r] for r, g in enumerate(new)})
    out = np.array([base.intercepts[key] for key in keys]).reshape(first.size, sp.n_channels)
    return out[ids]


def cell_signal_params(base: SweepBase, eta0: FloatArray) -> SignalParams | None:
    """The study's :class:`SignalParams` with the intercepts ``eta0`` ``(J,)`` (``None``
    without channels)."""
    sp = base.params.signals
    if sp is None:
        return None
    if np.array_equal(eta0, sp.eta0):
        return sp
    return SignalParams(sp.names, eta0=eta0, eta_g=sp.eta_g, eta_f=sp.eta_f, posture=sp.posture)


def signal_logliks(
    base: SweepBase, cells: Cells, blind: npt.NDArray[np.bool_], eta0: FloatArray
) -> tuple[IntArray, FloatArray] | None:
    """The channels' log-likelihood of the rival's signals: ``(ids, ll)`` with ``ll``
    ``(S, T, K, J)`` once per distinct setting it depends on (the threat multiplier ``h``
    unless the observer is threat-blind, the intercepts, and ``delta`` where a channel records
    the rival's posture) and ``ids[i]`` cell ``i``'s setting; ``None`` without channels.

    Each channel is evaluated once per distinct setting of what it reads (a channel without
    a fear term does not read ``h``, one whose intercept is the reference's has one), all
    those settings in one array expression (:func:`_signal_ll`), term for term the one of
    :func:`~secdilemma.model.loglik_components`: the numbers are the study's bit for bit.
    """
    sp = base.params.signals
    if base.signals is None or sp is None:
        return None
    h = np.where(blind[:, None], 0.0, _cell_h(base, cells))  # blind: h does not enter
    posture = np.zeros(sp.n_channels, dtype=bool) if sp.posture is None else sp.posture
    de = _cell_delta(base, cells) if np.any(posture) else np.empty((cells.n, 0))
    ids, first = group([*h.T, blind, *eta0.T, *de.T], cells.n)
    h, blind, eta0, de = h[first], blind[first], eta0[first], de[first]
    ll = np.empty((first.size, base.dx.size, base.types.n_types, sp.n_channels))
    for j in range(sp.n_channels):
        reads_h = [*h.T, blind] if sp.eta_f[j] != 0.0 else []
        reads_de = list(de.T) if posture[j] else []
        sub, one = group([*reads_h, eta0[:, j], *reads_de], first.size)
        part = _signal_ll(
            base, j, h[one], blind[one], eta0[one, j], de[one] if posture[j] else None
        )
        ll[..., j] = part[sub]
    return ids, ll


def _signal_ll(
    base: SweepBase,
    j: int,
    h: FloatArray,
    blind: npt.NDArray[np.bool_],
    eta0: FloatArray,
    delta: FloatArray | None,
) -> FloatArray:
    """``(S, T, K)`` log probability of channel ``j``'s signals under each type in ``S``
    settings (``h`` ``(S, 1)`` or ``(S, T)``, ``eta0`` ``(S,)``, ``delta`` as ``h`` for a
    posture channel), as ``loglik_components``' ``_signal_loglik`` computes it (0 where
    missing)."""
    sp = base.params.signals
    assert sp is not None
    assert base.signals is not None
    types, t, js = base.types, base.dx.size, slice(j, j + 1)
    h_prev = lagged(np.broadcast_to(h, (h.shape[0], t)))
    h_prev[blind] = 0.0
    threat = (h_prev[..., None] * np.maximum(lagged(base.u), 0.0)[..., None])[..., None]
    eta_f_term = sp.eta_f[js] * types.fear[:, None] * threat  # (S, T, K, 1)
    eta_f_term = np.where(sp.eta_f[js] == 0.0, 0.0, eta_f_term)
    eta_g: FloatArray = sp.eta_g[js]
    if delta is not None:  # the posture channel's loading at each period's delta
        de = np.broadcast_to(delta, (h.shape[0], t))
        eta_g = signal_greed_loading(sp, de)[..., None, js]
    logit = eta0[:, None, None, None] + eta_g * types.greed[:, None] + eta_f_term
    s_b = base.signals[None, :, None, js]
    # -(s * softplus(-l) + (1 - s) * softplus(l)) with s in {0, 1}: one softplus term is
    # multiplied by 0 and the other by 1, so the one term alone is the same number (NaN s:
    # NaN, dropped below)
    with np.errstate(invalid="ignore"):
        ll = -np.logaddexp(0.0, np.where(s_b == 1.0, -logit, logit))
    ll = np.where(np.isnan(s_b) | np.isnan(ll).any(axis=-2, keepdims=True), 0.0, ll)
    return np.asarray(ll[..., 0])


# -- the buildups, the weights and the filter -------------------------------------------------
def _loglik(base: SweepBase, cells: Cells, first: IntArray, blind: bool) -> FloatArray:
    """Log-likelihood ``(G, T, K)`` of the buildups under each distinct parameter setting."""
    changes = {}
    for name in _LL_INPUTS:
        if cells.has(name):
            v = np.asarray(cells.columns[name][first], dtype=float)
            changes[name] = v[:, None] if name in ("omega", "delta") else v
    params = base.params.replace(**changes)
    g, t = first.size, base.dx.size
    dx = np.broadcast_to(base.dx, (g, t))
    u = np.broadcast_to(base.u, (g, t))
    x = None if base.x is None else np.broadcast_to(base.x, (g, t))
    ll, _ = loglik_components(dx, u, params, base.types, x=x, threat_blind=blind)
    return ll


def _priors_and_weights(
    base: SweepBase, cells: Cells, kinds: npt.NDArray[np.str_], knobs: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each cell's prior vector ``(n, K)``, weight on the buildup evidence ``(n,)`` and
    weights on the signal channels ``(n, J)``, through the observer kind's own hooks (one
    call per distinct setting)."""
    prior_cols = {k: v for k, v in cells.columns.items() if k.startswith("prior_")}
    swept_prior = bool(prior_cols)
    vec = prior_vectors(base, {k: v.astype(float) for k, v in prior_cols.items()}, cells.n)
    swept_kind = [kinds] if cells.has("observer") else []  # else one kind: no key needed
    ids, first = group([*swept_kind, knobs, *prior_cols.values()], cells.n)
    channels = base.channels
    priors = np.empty((first.size, base.types.n_types))
    w_b = np.empty(first.size)
    w_s = np.empty((first.size, len(channels)))
    for g, i in enumerate(first):
        prior = vec[i] if swept_prior else base.prior
        obs = _observer(base, str(kinds[i]), prior, float(knobs[i]))
        priors[g] = obs._type_prior(base.types)  # type: ignore[attr-defined]
        w_b[g], w_s[g] = obs._weights(channels)  # type: ignore[attr-defined]
    return priors[ids], w_b[ids], w_s[ids]


def _weighted(ll: FloatArray, w: FloatArray) -> FloatArray:
    """``w * ll`` with a zero weight giving exactly 0 (even where ``ll`` is -inf), as the
    observers weigh their evidence."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.where(w == 0.0, 0.0, w * ll))


def _total(
    ll_b: FloatArray, ll_s: FloatArray | None, w_b: FloatArray, w_s: FloatArray
) -> FloatArray:
    """The weighted log-likelihood ``(m, T, K)`` of ``m`` cells (buildups ``(m, T, K)``,
    channels ``(m, T, K, J)``, weights ``(m,)`` and ``(m, J)``), summed as
    :meth:`Observer.loglik <secdilemma.observers.Observer.loglik>` sums it."""
    total = _weighted(ll_b, w_b[:, None, None]) if np.any(w_b != 1.0) else ll_b
    if ll_s is not None:  # (a weight of 1 gives 1 * ll = ll: no multiplication needed)
        weighted = _weighted(ll_s, w_s[:, None, None, :]) if np.any(w_s != 1.0) else ll_s
        summed = weighted[..., 0]  # the channels added in order, as np.sum over them does
        for j in range(1, weighted.shape[-1]):
            summed = summed + weighted[..., j]
        total = total + summed
    return total


def cell_beliefs(base: SweepBase, cells: Cells, eta0: FloatArray | None = None) -> FloatArray:
    """The exact observer's filtered posterior at the last period in every cell, ``(n, K)``.

    ``eta0``: each cell's channel intercepts ``(n, J)``
    (:func:`~secdilemma.whatif.signals.cell_eta0`, computed here when not given).
    """
    n, t, k = cells.n, base.dx.size, base.types.n_types
    kinds = cell_kinds(base, cells)
    names, codes = np.unique(kinds, return_inverse=True) if cells.has("observer") else (
        np.asarray(kinds[:1]), np.zeros(n, dtype=np.intp)
    )  # fmt: skip
    blind = np.array([OBSERVER_KINDS[str(nm)].threat_blind for nm in names], dtype=bool)[codes]
    ll_ids, ll_first = group([*(cells.columns[c] for c in _LL_INPUTS if cells.has(c)), blind], n)
    ll_b = np.empty((ll_first.size, t, k))
    for flag in (False, True):
        sel = np.flatnonzero(blind[ll_first] == flag)
        if sel.size:
            ll_b[sel] = _loglik(base, cells, ll_first[sel], flag)
    sig = signal_logliks(base, cells, blind, cell_eta0(base, cells) if eta0 is None else eta0)
    s_ids, ll_s = (np.zeros(n, dtype=np.intp), None) if sig is None else sig
    knobs = _knobs(base, cells, kinds)
    priors, w_b, w_s = _priors_and_weights(base, cells, kinds, knobs)
    persist = (
        cells.columns["persistence"].astype(float)
        if cells.has("persistence")
        else np.full(n, np.nan if base.persistence is None else float(base.persistence))
    )
    b_ids, b_first = group([ll_ids, s_ids, *priors.T, w_b, *w_s.T, persist], n)
    out = np.empty((b_first.size, k))
    p_ids, p_first = group([persist[b_first]], b_first.size)
    for g, i in enumerate(p_first):
        sel = np.flatnonzero(p_ids == g)
        cell = b_first[sel]
        ls = None if ll_s is None else ll_s[s_ids[cell]]
        lls = _total(ll_b[ll_ids[cell]], ls, w_b[cell], w_s[cell])
        with np.errstate(divide="ignore"):
            log_prior = np.log(priors[cell])
        p = persist[b_first[i]]
        trans = None if np.isnan(p) else transition_matrix(k, persistence=p)
        res = forward_backward(lls, log_prior, transition=trans, smooth=False)
        out[sel] = np.exp(res.log_filtered[:, -1, :])
    return out[b_ids]
