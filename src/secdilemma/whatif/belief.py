"""The exact observer's belief at the last period, for a block of cells at once.

The same computation as :meth:`secdilemma.Study.belief` (the observer kind's prior and
weights, :func:`~secdilemma.model.loglik_components`, the exact engine's
:func:`~secdilemma.engines.exact.forward_backward`), arranged so that no Python loop runs
over cells:

1. the log-likelihood of the data is computed once per distinct setting of the inputs it
   depends on (``omega``, ``delta``, the coefficients, whether the observer is threat-blind),
   with those settings on the scenario axis of one call;
2. each distinct (log-likelihood, prior, weight, persistence) combination is filtered once,
   again with the combinations on the scenario axis (one call per distinct persistence,
   since a transition matrix is shared by the scenarios of a call);
3. each cell takes its combination's posterior.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from secdilemma.engines.exact import forward_backward
from secdilemma.model import loglik_components, transition_matrix
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.inputs import COEFFICIENTS, KIND_DEFAULTS, SweepBase, prior_vectors

__all__ = ["cell_beliefs", "cell_kinds"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_LL_INPUTS = ("omega", "delta", *COEFFICIENTS)


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


def _loglik(base: SweepBase, cells: Cells, first: IntArray, blind: bool) -> FloatArray:
    """Log-likelihood ``(G, T, K)`` of the data under each distinct parameter setting."""
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
) -> tuple[FloatArray, FloatArray]:
    """Each cell's prior vector ``(n, K)`` and weight on the buildup evidence ``(n,)``,
    through the observer kind's own hooks (one call per distinct setting)."""
    prior_cols = {k: v for k, v in cells.columns.items() if k.startswith("prior_")}
    swept_prior = bool(prior_cols)
    vec = prior_vectors(base, {k: v.astype(float) for k, v in prior_cols.items()}, cells.n)
    swept_kind = [kinds] if cells.has("observer") else []  # else one kind: no key needed
    ids, first = group([*swept_kind, knobs, *prior_cols.values()], cells.n)
    priors = np.empty((first.size, base.types.n_types))
    weights = np.empty(first.size)
    for g, i in enumerate(first):
        prior = vec[i] if swept_prior else base.prior
        obs = _observer(base, str(kinds[i]), prior, float(knobs[i]))
        priors[g] = obs._type_prior(base.types)  # type: ignore[attr-defined]
        weights[g] = obs._weights(())[0]  # type: ignore[attr-defined]
    return priors[ids], weights[ids]


def cell_beliefs(base: SweepBase, cells: Cells) -> FloatArray:
    """The exact observer's filtered posterior at the last period in every cell, ``(n, K)``."""
    n = cells.n
    kinds = cell_kinds(base, cells)
    names, codes = np.unique(kinds, return_inverse=True) if cells.has("observer") else (
        np.asarray(kinds[:1]), np.zeros(n, dtype=np.intp)
    )  # fmt: skip
    blind = np.array([OBSERVER_KINDS[str(k)].threat_blind for k in names], dtype=bool)[codes]
    ll_ids, ll_first = group([*(cells.columns[c] for c in _LL_INPUTS if cells.has(c)), blind], n)
    ll = np.empty((ll_first.size, base.dx.size, base.types.n_types))
    for flag in (False, True):
        sel = np.flatnonzero(blind[ll_first] == flag)
        if sel.size:
            ll[sel] = _loglik(base, cells, ll_first[sel], flag)
    knobs = _knobs(base, cells, kinds)
    priors, weights = _priors_and_weights(base, cells, kinds, knobs)
    persist = (
        cells.columns["persistence"].astype(float)
        if cells.has("persistence")
        else np.full(n, np.nan if base.persistence is None else float(base.persistence))
    )
    b_ids, b_first = group([ll_ids, *priors.T, weights, persist], n)
    out = np.empty((b_first.size, base.types.n_types))
    p_ids, p_first = group([persist[b_first]], b_first.size)
    for g, i in enumerate(p_first):
        sel = np.flatnonzero(p_ids == g)
        cell = b_first[sel]
        w = weights[cell][:, None, None]
        lls = ll[ll_ids[cell]]
        with np.errstate(invalid="ignore"):
            lls = np.where(w == 0.0, 0.0, w * lls) if np.any(w != 1.0) else lls
        with np.errstate(divide="ignore"):
            log_prior = np.log(priors[cell])
        p = persist[b_first[i]]
        trans = None if np.isnan(p) else transition_matrix(base.types.n_types, persistence=p)
        res = forward_backward(lls, log_prior, transition=trans, smooth=False)
        out[sel] = np.exp(res.log_filtered[:, -1, :])
    return out[b_ids]
