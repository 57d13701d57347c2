"""Multi-period policies in a sweep, and the ranking behind ``secdilemma policies``.

A policy's value in a cell is what :func:`~secdilemma.decision.compare_policies` reports for
that cell's setting: futures of each true type on common random numbers (the same
standardised noise for every policy and every cell), the observer starting from the cell's
belief, the types weighted by it. The rollouts of many cells run as one call: the cells'
parameters ride on the rollout's per-draw axis (``draw_index``), one call per distinct
(losses, horizon, channel intercepts). With signal channels, the futures also draw the
rival's signals on their own uniforms after the noise, as ``compare_policies`` does. Rules
that ignore the belief (always deter or reassure, tit for tat, GRIT) are simulated once per
parameter setting and weighted by each cell's belief;
``belief_threshold`` (at the cell's own p*) and ``bayes_optimal`` (solved once per distinct
setting: a dynamic programme) are simulated per distinct (setting, belief).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    DynamicModel,
    Losses,
    Policy,
    PolicyState,
    TitForTat,
    compare_policies,
    rollout,
)
from secdilemma.decision.dynamic import draw_signal_uniforms, standard_noise
from secdilemma.errors import ParameterError
from secdilemma.model.simulate import as_generator
from secdilemma.whatif.belief import cell_eta0, cell_signal_params
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.inputs import COEFFICIENTS, POLICY_NAMES, StudyLike, SweepBase

__all__ = ["OpenWith", "make_policy", "policy_values", "rank_policies"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_BELIEF_FREE = ("always_deter", "always_reassure", "tit_for_tat", "grit")
_MAX_ROWS = 2**19


class OpenWith(Policy):
    """Play ``action`` for the first ``periods`` periods, then follow ``then``.

    ``OpenWith("reassure", GRIT())`` is GRIT after an opening gesture of restraint; the
    wrapped policy sees the whole history, the opening included.

    Examples
    --------
    >>> OpenWith("reassure", AlwaysDeter()).name
    'reassure_then_always_deter'
    """

    name = "open_with"

    def __init__(self, action: str, then: Policy, periods: int = 1) -> None:
        if not isinstance(then, Policy):
            raise ParameterError(f"OpenWith: `then` must be a Policy; got {type(then).__name__}.")
        if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
            raise ParameterError(f"OpenWith: `periods` must be an integer >= 1; got {periods!r}.")
        self.action = str(action)
        self.then = then
        self.periods = periods
        self.name = f"{self.action}_then_{then.name}"  # type: ignore[misc]

    def act(self, state: PolicyState) -> npt.NDArray[np.intp]:
        if state.period < self.periods:
            return np.full(state.n, state.index(self.action), dtype=np.intp)
        return self.then.act(state)


class _RowThreshold(Policy):
    """BeliefThreshold with one threshold per scenario row (each cell's own p*)."""

    name = "belief_threshold"

    def __init__(self, thresholds: FloatArray) -> None:
        self.thresholds = thresholds

    def act(self, state: PolicyState) -> npt.NDArray[np.intp]:
        p_greed = state.belief @ np.asarray(state.greed, dtype=float)
        deter, reassure = state.index("deter"), state.index("reassure")
        return np.where(p_greed > self.thresholds, deter, reassure).astype(np.intp)


def make_policy(name: str, model: DynamicModel, threshold: float = 0.5) -> Policy:
    """The policy called ``name`` (:data:`~secdilemma.whatif.inputs.POLICY_NAMES`)."""
    if name not in POLICY_NAMES:
        raise ParameterError(f"policy: {name!r} is not one of {list(POLICY_NAMES)}.")
    if name == "belief_threshold":
        return BeliefThreshold(threshold)
    if name == "bayes_optimal":
        return BayesOptimal(model)
    return {"always_deter": AlwaysDeter, "always_reassure": AlwaysReassure,
            "tit_for_tat": TitForTat, "grit": GRIT}[name]()  # fmt: skip


def _settings(
    base: SweepBase, cells: Cells, eta0: FloatArray | None = None
) -> dict[str, FloatArray]:
    """Per-cell decision inputs: world, coefficients, every loss field, horizon, and the
    channels' intercepts (``eta0_<j>``, :func:`~secdilemma.whatif.signals.cell_eta0`)."""
    out = {k: cells.get(base, k).astype(float) for k in ("omega", "delta", *COEFFICIENTS)}
    for f in fields(Losses):
        out[f"losses_{f.name}"] = cells.get(base, f"losses_{f.name}").astype(float)
    out["horizon"] = cells.get(base, "horizon").astype(float)
    eta0 = cell_eta0(base, cells) if eta0 is None else eta0
    for j in range(eta0.shape[1]):
        out[f"eta0_{j}"] = eta0[:, j]
    return out


def _model(
    base: SweepBase, s: dict[str, FloatArray], idx: IntArray, home: int, *, scalar: bool = False
) -> DynamicModel:
    """The decision model of the settings ``idx``: parameters as per-draw arrays (one per
    setting), or scalars (``scalar``: one setting, as the dynamic programme needs); the
    losses, horizon and channel intercepts (one set for all draws) are cell ``home``'s."""

    def value(name: str) -> Any:
        return float(s[name][int(idx[0])]) if scalar else s[name][idx]

    params = base.params.replace(**{c: value(c) for c in ("omega", "delta", *COEFFICIENTS)})
    eta0 = np.array([s[f"eta0_{j}"][home] for j in range(len(base.channels))])
    params = params.replace(signals=cell_signal_params(base, eta0))
    losses = Losses(**{f.name: float(s[f"losses_{f.name}"][home]) for f in fields(Losses)})
    return DynamicModel(
        types=base.types,
        params=params,
        losses=losses,
        actions=dict(zip(base.actions, base.moves.tolist(), strict=True)),
        horizon=int(s["horizon"][home]),
    )


def _run(
    base: SweepBase,
    model: DynamicModel,
    policy: Policy,
    beliefs: FloatArray,
    draw: IntArray | None,
) -> dict[str, FloatArray]:
    """Rollouts of ``C`` combos (start belief ``beliefs[c]``, parameter draw ``draw[c]``):
    per (combo, type) means of the loss, war probability and arms spending ``(C, K)``."""
    k, n = base.types.n_types, base.policy_sims
    rng = as_generator(base.seed)
    noise = standard_noise(rng, base.params.nu, (n, model.horizon))
    unif = draw_signal_uniforms(model, rng, n)  # after the noise, as compare_policies
    c = beliefs.shape[0]
    res = rollout(
        model,
        policy,
        true_type=np.tile(np.repeat(np.arange(k), n), c),
        belief=np.repeat(beliefs, k * n, axis=0),
        noise=np.tile(noise, (c * k, 1)),
        draw_index=None if draw is None else np.repeat(draw, k * n),
        signal_uniforms=None if unif is None else np.tile(unif, (c * k, 1, 1)),
    )
    return {
        "loss": res.loss.reshape(c, k, n).mean(axis=2),
        "p_war": res.p_war.reshape(c, k, n).mean(axis=2),
        "arms": res.arms.reshape(c, k, n).mean(axis=2),
    }


def _policy_block(
    base: SweepBase,
    cells: Cells,
    s: dict[str, FloatArray],
    belief: FloatArray,
    thresholds: FloatArray,
    name: str,
) -> dict[str, FloatArray]:
    """Per-(cell, type) means ``(n, K)`` for one policy.

    Cells are grouped by model (losses and horizon; for ``bayes_optimal`` also the
    parameters), then by combination (parameter setting, and for the belief-dependent rules
    the start belief and threshold); each combination is simulated once.
    """
    n, k, sims = cells.n, base.types.n_types, base.policy_sims
    out = {key: np.empty((n, k)) for key in ("loss", "p_war", "arms")}
    set_ids, set_first = group([s[c] for c in ("omega", "delta", *COEFFICIENTS)], n)
    model_keys = [s[f"losses_{f.name}"] for f in fields(Losses)] + [s["horizon"]]
    model_keys += [s[f"eta0_{j}"] for j in range(len(base.channels))]
    dp = name == "bayes_optimal"
    model_ids, model_first = group([*model_keys, *([set_ids] if dp else [])], n)
    free = name in _BELIEF_FREE
    for m in range(model_first.size):
        in_m = np.flatnonzero(model_ids == m)
        sets = np.unique(set_ids[in_m])
        model = _model(base, s, set_first[sets], int(in_m[0]), scalar=dp)
        draw_of = np.searchsorted(sets, set_ids[in_m])
        keys = [draw_of] if free else [draw_of, *belief[in_m].T, thresholds[in_m]]
        combo_ids, combo_first = group(keys, in_m.size)
        policy = None if name == "belief_threshold" else make_policy(name, model)
        parts = []
        step = max(1, _MAX_ROWS // (k * sims * (1 + len(base.channels))))
        for start in range(0, combo_first.size, step):
            rep = in_m[combo_first[start : start + step]]
            starts = np.full((rep.size, k), 1.0 / k) if free else belief[rep]
            pol = policy or _RowThreshold(np.repeat(thresholds[rep], k * sims))
            draws = draw_of[combo_first[start : start + step]]
            parts.append(_run(base, model, pol, starts, None if dp else draws))
        for key in out:
            out[key][in_m] = np.concatenate([p[key] for p in parts])[combo_ids]
    return out


def policy_values(
    base: SweepBase,
    cells: Cells,
    belief: FloatArray,
    p_star: FloatArray,
    names: Sequence[str],
    eta0: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """``policy_utility``, ``policy_p_war``, ``policy_arms_cost`` ``(n, P)`` of each policy
    (``eta0``: each cell's channel intercepts, computed here when not given)."""
    s = _settings(base, cells, eta0)
    thresholds = np.where(np.isfinite(p_star), p_star, 0.5)
    out = {key: np.empty((cells.n, len(names))) for key in ("loss", "p_war", "arms")}
    for p, name in enumerate(names):
        block = _policy_block(base, cells, s, belief, thresholds, name)
        for key in out:
            out[key][:, p] = np.einsum("nk,nk->n", block[key], belief)
    return {
        "policy_utility": -out["loss"],
        "policy_p_war": out["p_war"],
        "policy_arms_cost": out["arms"],
    }


def rank_policies(
    study: StudyLike,
    *,
    policies: Sequence[str] | None = None,
    first: str | None = None,
    n_sims: int = 1000,
) -> xr.Dataset:
    """Rank the multi-period policies for a study (:func:`compare_policies`, common random
    numbers), starting from the study's belief at the last period.

    ``first`` (e.g. ``"reassure"``) adds each policy opened with one period of that action
    (:class:`OpenWith`). ``belief_threshold`` uses the study's own p* (0.5 when the choice
    never flips). Returns :func:`compare_policies`'s Dataset with the study's ``study_*``
    attrs, ``belief`` and ``threshold``.
    """
    from secdilemma.whatif.belief import cell_beliefs  # same floor; keeps this module small
    from secdilemma.whatif.utility import cell_tables, decision_stats

    base = SweepBase.from_study(study, n_sims=2000, policy_sims=n_sims)
    one = Cells(1, {})
    belief = cell_beliefs(base, one)
    stats = decision_stats(cell_tables(base, one).utility, belief, base.types.greed, base.actions)
    p_star = float(stats["p_star_effective"][0])
    threshold = p_star if np.isfinite(p_star) else 0.5
    params = base.params.replace(omega=base.omega_last, delta=base.delta_last)
    model = DynamicModel(
        types=base.types,
        params=params,
        losses=base.losses,
        actions=dict(zip(base.actions, base.moves.tolist(), strict=True)),
        horizon=base.horizon,
    )
    named: dict[str, Policy] = {}
    for name in policies or POLICY_NAMES:
        pol = make_policy(name, model, threshold)
        named[pol.name] = pol
        if first is not None:
            opened = OpenWith(first, make_policy(name, model, threshold))
            named[opened.name] = opened
    ds = compare_policies(
        named,
        types=base.types,
        params=params,
        losses=base.losses,
        actions=model.actions,
        horizon=base.horizon,
        prior=belief[0],
        n_sims=n_sims,
        seed=base.seed,
    )
    ds["belief"] = ("rival_type", belief[0])
    ds["threshold"] = ((), threshold)
    ds.attrs.update(base.attrs())
    ds.attrs["seed"] = str(base.seed)
    ds.attrs["horizon"] = base.horizon
    ds.attrs["first"] = first or ""
    sizing = [p.sizing for p in named.values() if isinstance(p, BayesOptimal) and p.sizing]
    if sizing:  # the Bayes-optimal policy's defaults were lowered to fit the memory allowance
        ds.attrs["bayes_optimal_sizing"] = sizing[0]
    return ds
