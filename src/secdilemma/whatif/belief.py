"""The exact observer's belief at the last period, for a block of cells at once.

The same computation as :meth:`secdilemma.Study.belief` (the observer kind's prior and
weights, :func:`~secdilemma.model.loglik_components`, the exact engine's
:func:`~secdilemma.engines.exact.forward_backward`), arranged so that no Python loop runs
over cells:

1. the log-likelihood of the buildups is computed once per distinct setting of the inputs
   it depends on (``omega``, ``delta``, the coefficients, whether the observer is
   threat-blind), with those settings on the scenario axis of one call; the signal
   channels' (the ones the study's exact observer reads, :attr:`SweepBase.signals`) once
   per distinct (``omega``, ``delta``, threat-blind, channel intercepts), the intercepts
   being each cell's (:func:`cell_eta0`, below);
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
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.study.signals import calibrated_intercept
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


def _world_of(base: SweepBase, cells: Cells, i: int) -> tuple[npt.ArrayLike, npt.ArrayLike]:
    """Cell ``i``'s ``omega`` and ``delta`` (numbers, or the study's ``(T,)`` series)."""
    om, de = (
        float(cells.columns[w][i]) if cells.has(w) else np.asarray(getattr(base.params, w))
        for w in _WORLD
    )
    return om, de


def cell_eta0(base: SweepBase, cells: Cells) -> FloatArray:
    """Each cell's channel intercepts ``(n, J)`` (``J = 0`` without channels).

    The study's own where nothing they depend on is swept; else the calibrated channels'
    are recomputed once per distinct (``h``, prior) setting, with the cell's world constant
    over the series (as ``Study(..., omega=...)`` has it) and its prior vector.
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
    out = np.empty((first.size, sp.n_channels))
    for g, i in enumerate(first):
        key = h[i].tobytes() + priors[i].tobytes()
        if key not in base.intercepts:  # (the chunks of a sweep share settings)
            thr = threat_prev(*_world_of(base, cells, int(i)), base.u)
            row = np.array(sp.eta0, dtype=float)
            for j in cal:
                row[j] = calibrated_intercept(
                    base.signals[:, j], thr, float(sp.eta_g[j]), float(sp.eta_f[j]),
                    base.types, priors[i],
                )  # fmt: skip
            if len(base.intercepts) >= _MAX_CACHED:
                base.intercepts.clear()
            base.intercepts[key] = row
        out[g] = base.intercepts[key]
    return out[ids]


def cell_signal_params(base: SweepBase, eta0: FloatArray) -> SignalParams | None:
    """The study's :class:`SignalParams` with the intercepts ``eta0`` ``(J,)`` (``None``
    without channels)."""
    sp = base.params.signals
    if sp is None:
        return None
    if np.array_equal(eta0, sp.eta0):
        return sp
    return SignalParams(sp.names, eta0=eta0, eta_g=sp.eta_g, eta_f=sp.eta_f)


def _stacked(base: SweepBase, eta0: FloatArray) -> SignalParams:
    """The study's channels once per row of ``eta0`` ``(R, J)``, as ``R * J`` channels (row
    by row): one log-likelihood call then evaluates every row's intercepts."""
    sp = base.params.signals
    assert sp is not None
    r = eta0.shape[0]
    return SignalParams(
        tuple(f"{c}#{i}" for i in range(r) for c in sp.names),
        eta0=eta0.reshape(-1),
        eta_g=np.tile(sp.eta_g, r),
        eta_f=np.tile(sp.eta_f, r),
    )


def signal_logliks(
    base: SweepBase, cells: Cells, blind: npt.NDArray[np.bool_], eta0: FloatArray
) -> tuple[IntArray, FloatArray] | None:
    """The channels' log-likelihood of the rival's signals: ``(ids, ll)`` with ``ll``
    ``(S, T, K, J)`` once per distinct setting it depends on (the threat multiplier ``h``
    unless the observer is threat-blind, the intercepts) and ``ids[i]`` cell ``i``'s
    setting; ``None`` without channels.

    :func:`~secdilemma.model.loglik_components` evaluates each channel element by element,
    so the settings share calls: with one set of intercepts, one call per blindness with
    the distinct ``h`` on its scenario axis; else one call per distinct (``h``, blindness)
    with that world's distinct intercepts stacked on the channel axis (:func:`_stacked`).
    """
    if base.signals is None:
        return None
    h = np.where(blind[:, None], 0.0, _cell_h(base, cells))  # blind: h does not enter
    ids, first = group([*h.T, blind, *eta0.T], cells.n)
    t, k, j = base.dx.size, base.types.n_types, eta0.shape[1]
    ll = np.empty((first.size, t, k, j))
    one_eta0 = group(list(eta0[first].T), first.size)[1].size == 1
    call_keys = [blind[first]] if one_eta0 else [*h[first].T, blind[first]]
    call_ids, call_first = group(call_keys, first.size)
    for c in range(call_first.size):
        sel = np.flatnonzero(call_ids == c)
        cell = first[sel]
        if one_eta0:  # the worlds on the scenario axis
            changes = {
                w: np.asarray(cells.columns[w][cell], dtype=float)[:, None]
                for w in _WORLD
                if cells.has(w)
            }
            params = base.params.replace(signals=cell_signal_params(base, eta0[cell[0]]), **changes)
            lead: tuple[int, ...] = (sel.size,)
            sig = base.signals
        else:  # one world, its intercepts on the channel axis
            om, de = _world_of(base, cells, int(cell[0]))
            params = base.params.replace(omega=om, delta=de, signals=_stacked(base, eta0[cell]))
            lead = ()
            sig = np.tile(base.signals, (1, sel.size))
        _, part = loglik_components(
            np.broadcast_to(base.dx, (*lead, t)),
            np.broadcast_to(base.u, (*lead, t)),
            params,
            base.types,
            signals=np.broadcast_to(sig, (*lead, *sig.shape)),
            x=None if base.x is None else np.broadcast_to(base.x, (*lead, t)),
            threat_blind=bool(blind[cell[0]]),
        )
        assert part is not None
        ll[sel] = part if one_eta0 else part.reshape(t, k, sel.size, j).transpose(2, 0, 1, 3)
    return ids, ll


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
        total = total + np.sum(weighted, axis=-1)
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
