"""The ``refit`` engine of a sweep: the full Bayesian fit re-sampled per likelihood setting.

The default engine (``"exact"``) runs the exact observer with the study's parameters: fast,
but blind to how a new ``omega``, ``delta`` or prior would move the fitted parameters. With
``engine="refit"`` every distinct setting of the inputs that enter the fit's likelihood or
prior (:data:`FIT_INPUTS`: ``omega``, ``delta``, ``prior_<type>``, ``persistence``) is
fitted anew (:class:`~secdilemma.engines.pymc.PerceptionModel` on the study's spec with those
values), and each cell's decision (:func:`secdilemma.decision.decide`) integrates over that
fit's posterior draws, as :meth:`secdilemma.Study.decide` does with ``engine="fit"``. The
decision's own inputs (:data:`DECISION_INPUTS`: ``losses_<field>``, ``horizon``) reuse the
fit of their setting.

The fits of one sweep share a model structure, so nutpie compiles it once and every later
fit only sends new ``pm.Data`` values to the compiled model
(:data:`secdilemma.engines.pymc.sampling.COMPILED`); the result's attrs say how many
compilations the sweep made. Fits run one after another in this process (each fit uses the
machine's cores for its chains; a Dask cluster is not used).

Examples
--------
>>> import secdilemma as sd
>>> from secdilemma.whatif import sweep
>>> study = sd.Study("anglo_german_naval")
>>> ds = sweep(study, engine="refit", omega=[0.3, 0.7], losses_arms=[0.5, 1.0],
...            refit_draws=500, refit_tune=500, refit_chains=2)  # doctest: +SKIP
>>> ds.attrs["whatif_n_fits"], ds.attrs["whatif_compilations"]  # doctest: +SKIP
(2, 1)
>>> check_refit_axes({"kappa": [0.1, 0.2]})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
secdilemma.errors.ParameterError: whatif: engine='refit' cannot vary 'kappa': ...
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.decision import decide
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams
from secdilemma.whatif.cells import group
from secdilemma.whatif.inputs import SweepBase, prior_vectors
from secdilemma.whatif.plan import Axis
from secdilemma.whatif.world import is_series_axis

__all__ = [
    "DECISION_INPUTS",
    "DEFAULT_MAX_FITS",
    "FIT_INPUTS",
    "MAX_DRAWS",
    "RefitSettings",
    "check_refit_axes",
    "refit_sweep",
]

log = logging.getLogger("secdilemma.whatif")

#: Inputs that change the fit's likelihood or prior: one fit per distinct setting.
FIT_INPUTS = ("omega", "delta", "persistence")  # and every ``prior_<type>``
#: Inputs of the decision only: the cells of one fit setting reuse its posterior draws.
DECISION_INPUTS = ("horizon",)  # and every ``losses_<field>``
#: Distinct fits a refit sweep runs unless ``max_fits`` is raised.
DEFAULT_MAX_FITS = 50
#: Posterior draws fed to each cell's decision (:meth:`secdilemma.Study.decide`'s default).
MAX_DRAWS = 500


class RefitStudy(Protocol):
    """What the refit engine reads from a :class:`~secdilemma.Study`: its spec and the
    pooled reference whose posterior gives the fit's priors."""

    spec: Any

    def reference(self, *, posterior: bool = False) -> Any: ...


@dataclass(frozen=True)
class RefitSettings:
    """The sampler settings of every fit of a refit sweep (``None``: the spec's)."""

    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    max_fits: int = DEFAULT_MAX_FITS


def _is_fit_input(name: str) -> bool:
    return name in FIT_INPUTS or name.startswith("prior_")


def _is_decision_input(name: str) -> bool:
    return name in DECISION_INPUTS or name.startswith("losses_")


def check_refit_axes(axes: Mapping[str, Any], *, payoffs: Any = None) -> None:
    """Refuse what the refit engine cannot vary (typed errors naming the input).

    The fit estimates the reaction coefficients (``mu`` … ``sigma``) and reads the spec's
    observer kind, so those cannot be set per cell; policies and payoff tables are the exact
    engine's; ``omega``/``delta`` step functions would need a by-period world per fit.

    Examples
    --------
    >>> check_refit_axes({"omega": [0.3, 0.7], "prior_greedy": [0.2], "horizon": [5]})
    >>> check_refit_axes({"observer": ["naive"]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: whatif: engine='refit' cannot vary 'observer': ...
    """
    if payoffs is not None:
        raise ParameterError(
            "whatif: engine='refit' decides on the fit's simulated futures; a payoff table "
            "(payoffs=...) is the exact engine's static mode. Drop payoffs, or use "
            "engine='exact'."
        )
    for name, values in axes.items():
        if _is_fit_input(name) or _is_decision_input(name):
            if name in ("omega", "delta") and is_series_axis(values):
                raise ParameterError(
                    f"whatif: engine='refit' takes constant values of {name!r}, not "
                    "{year: value} step functions; give numbers, or use engine='exact'."
                )
            continue
        raise ParameterError(
            f"whatif: engine='refit' cannot vary {name!r}: it refits omega, delta, prior_<type> "
            "and persistence, and reuses each fit for losses_<field> and horizon. The fit "
            "estimates the reaction coefficients and reads the spec's observer, so vary "
            f"{name!r} with engine='exact' (the exact observer with fixed parameters)."
        )


def _check_count(name: str, value: Any, lo: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ParameterError(f"whatif: `{name}` must be an integer >= {lo}; got {value!r}.")
    return int(value)


def refit_settings(
    draws: Any = None, tune: Any = None, chains: Any = None, max_fits: Any = DEFAULT_MAX_FITS
) -> RefitSettings:
    """Checked :class:`RefitSettings` (``refit_draws``, ``refit_tune``, ``refit_chains``,
    ``max_fits`` of :func:`~secdilemma.whatif.sweep`).

    Examples
    --------
    >>> refit_settings(draws=200, chains=2)
    RefitSettings(draws=200, tune=None, chains=2, max_fits=50)
    """
    return RefitSettings(
        draws=_check_count("refit_draws", draws, 1),
        tune=_check_count("refit_tune", tune, 0),
        chains=_check_count("refit_chains", chains, 1),
        max_fits=_check_count("max_fits", max_fits, 1) or DEFAULT_MAX_FITS,
    )


def _grid(axes: Sequence[Axis]) -> dict[str, npt.NDArray[Any]]:
    """Every cell's value of each axis, C order (the last axis fastest)."""
    if not axes:
        return {}
    mesh = np.meshgrid(*[a.values for a in axes], indexing="ij")
    return {a.name: m.ravel() for a, m in zip(axes, mesh, strict=True)}


def _fit_spec(study: RefitStudy, base: SweepBase, setting: Mapping[str, Any]) -> Any:
    """The study's spec with one fit setting's values of :data:`FIT_INPUTS`."""
    spec = study.spec
    world = {k: float(setting[k]) for k in ("omega", "delta") if k in setting}
    if world:
        spec = spec.replace(world=world)
    priors = {k: np.array([float(v)]) for k, v in setting.items() if k.startswith("prior_")}
    if priors:
        vec = prior_vectors(base, priors, 1)[0]
        spec = spec.replace(
            observer={"prior": dict(zip(base.types.names, vec.tolist(), strict=True))}
        )
    if "persistence" in setting:
        spec = spec.replace(types={"switching": {"persistence": float(setting["persistence"])}})
    return spec


def _fit(study: RefitStudy, spec: Any, seed: int, s: RefitSettings) -> tuple[Any, float]:
    """One fit of ``spec`` (the study's reference priors, ``seed``); its model and seconds."""
    from secdilemma.engines.pymc import PerceptionModel  # here: `import secdilemma` stays light

    ref = study.reference(posterior=True).path if spec.priors.use_reference else None
    t0 = time.perf_counter()
    model = PerceptionModel(spec, reference=ref)
    with warnings.catch_warnings():  # one warning for the sweep, below
        warnings.simplefilter("ignore", category=Warning)
        model.fit(seed=seed, draws=s.draws, tune=s.tune, chains=s.chains, progressbar=False)
    return model, time.perf_counter() - t0


def _cell_decision(
    base: SweepBase,
    actions: Any,
    belief: xr.DataArray,
    params: ModelParams,
    cell: Mapping[str, Any],
) -> dict[str, Any]:
    """One cell's decision on a fit's posterior draws: the sweep's variables."""
    losses = base.losses
    changes = {k[len("losses_") :]: float(v) for k, v in cell.items() if k.startswith("losses_")}
    if changes:
        losses = replace(losses, **changes)
    horizon = int(cell["horizon"]) if "horizon" in cell else base.horizon
    res = decide(
        belief, params=params, losses=losses, actions=actions, horizon=horizon,
        n_sims=base.n_sims, seed=base.seed,
    )  # fmt: skip
    eu = res["expected_utility"].values
    p_star = float(res["threshold"])
    upper = base.actions.index(str(res.attrs["threshold_upper_action"]))
    return {
        "belief": belief.mean("sample").values,  # the fit's posterior mean, bit for bit
        "p_greed": float(res["p_greed"]),
        "expected_utility": eu,
        "eu_lower": res["eu_lower"].values,
        "eu_upper": res["eu_upper"].values,
        "best_action": np.int8(np.argmax(eu)),
        "p_best": res["p_best"].values,
        "evpi": float(res["evpi"]),
        "p_star": p_star,
        "p_star_effective": p_star if math.isfinite(p_star) else 0.0,
        "upper_action": np.int8(upper),
        "eu_gap": _eu_gap(base.actions, eu, str(res.attrs["threshold_pair"]), p_star),
    }


def _eu_gap(actions: tuple[str, ...], eu: npt.NDArray[Any], pair: str, p_star: float) -> float:
    """EU of the action above p* minus the one below (as the exact engine's ``eu_gap``);
    without a flip, deter minus reassure (else the best minus the second best)."""
    if math.isfinite(p_star):
        below, above = pair.split("|")
        return float(eu[actions.index(above)] - eu[actions.index(below)])
    if "deter" in actions and "reassure" in actions:
        return float(eu[actions.index("deter")] - eu[actions.index("reassure")])
    order = np.argsort(-eu, kind="stable")
    return float(eu[order[0]] - eu[order[1]]) if len(order) > 1 else 0.0


#: The variables a refit sweep returns: ``{name: extra dims}``.
REFIT_VARIABLES: dict[str, tuple[str, ...]] = {
    "belief": ("rival_type",),
    "p_greed": (),
    "expected_utility": ("action",),
    "eu_lower": ("action",),
    "eu_upper": ("action",),
    "best_action": (),
    "p_best": ("action",),
    "evpi": (),
    "p_star": (),
    "p_star_effective": (),
    "upper_action": (),
    "eu_gap": (),
}


def refit_sweep(
    study: RefitStudy, base: SweepBase, axes: Sequence[Axis], settings: RefitSettings
) -> xr.Dataset:
    """Run a refit sweep (see :func:`secdilemma.whatif.sweep`, ``engine="refit"``).

    Cells are grouped by their setting of :data:`FIT_INPUTS`; each group is fitted once (in
    order of first appearance, the seed ``base.seed``), its posterior draws (at most
    :data:`MAX_DRAWS`, drawn with the same seed) feed every cell's decision.

    Raises
    ------
    ParameterError
        More distinct fits than ``settings.max_fits`` (after the first fit, whose time the
        message uses to say how long all of them would take).

    Examples
    --------
    >>> import secdilemma as sd
    >>> from secdilemma.whatif.sweep import resolve
    >>> study = sd.Study("anglo_german_naval")
    >>> base, axes = resolve(study, {"omega": [0.3, 0.7]}, n_sims=200)
    >>> ds = refit_sweep(study, base, axes, refit_settings(draws=200))  # doctest: +SKIP
    """
    from secdilemma.engines.pymc import sampling  # here: `import secdilemma` stays light

    cols = _grid(axes)
    n = int(np.prod([a.values.size for a in axes])) if axes else 1
    fit_names = [k for k in cols if _is_fit_input(k)]
    ids, first = group([cols[k] for k in fit_names], n)
    n_fits = int(first.size)
    compiled_before = set(sampling.COMPILED)
    out: dict[str, npt.NDArray[Any]] = {}
    fits: list[dict[str, Any]] = []
    for g, cell0 in enumerate(first):
        setting = {k: cols[k][cell0].item() for k in fit_names}
        spec = _fit_spec(study, base, setting)
        model, seconds = _fit(study, spec, base.seed, settings)
        if g == 0 and n_fits > settings.max_fits:
            raise ParameterError(_too_many(n_fits, settings.max_fits, seconds))
        fits.append(_fit_record(setting, seconds, model.diagnostics_ or {}))
        log.info("whatif refit: fit %d of %d (%s) in %.1f s", g + 1, n_fits, setting, seconds)
        belief, params = model.belief_draws(max_draws=MAX_DRAWS, seed=base.seed)
        last = {"omega": float(setting.get("omega", base.omega_last)),
                "delta": float(setting.get("delta", base.delta_last))}  # fmt: skip
        params = params.replace(**last)
        for i in np.flatnonzero(ids == g):
            cell = {k: v[i].item() for k, v in cols.items()}
            res = _cell_decision(base, study.spec.decision.actions, belief, params, cell)
            for k, v in res.items():
                if k not in out:
                    arr = np.asarray(v)
                    out[k] = np.empty((n, *arr.shape), dtype=arr.dtype)
                out[k][i] = v
    compilations = len(set(sampling.COMPILED) - compiled_before)
    return _dataset(base, axes, out, fits, compilations, settings)


def _too_many(n_fits: int, max_fits: int, seconds: float) -> str:
    total = n_fits * seconds
    return (
        f"whatif: engine='refit' would run {n_fits} fits (one per distinct setting of "
        f"omega, delta, prior_<type>, persistence), more than max_fits={max_fits}. The first "
        f"fit took {seconds:.1f} s, so all of them would take about {total / 60:.0f} min "
        f"({total:.0f} s) one after another. Give fewer values of the fitted inputs, smaller "
        f"refit_draws/refit_tune, or max_fits={n_fits} to run them."
    )


def _fit_record(
    setting: Mapping[str, Any], seconds: float, diag: Mapping[str, Any]
) -> dict[str, Any]:
    """A fit's setting, time and diagnostics summary (plain data, for the attrs)."""
    return {
        "setting": dict(setting),
        "seconds": round(seconds, 3),
        "max_rhat": diag.get("max_rhat"),
        "min_ess_bulk": diag.get("min_ess_bulk"),
        "min_ess_tail": diag.get("min_ess_tail"),
        "divergences": diag.get("divergences"),
        "ok": bool(diag.get("ok", False)),
        "problems": list(diag.get("problems", [])),
    }


def _dataset(
    base: SweepBase,
    axes: Sequence[Axis],
    data: Mapping[str, npt.NDArray[Any]],
    fits: list[dict[str, Any]],
    compilations: int,
    settings: RefitSettings,
) -> xr.Dataset:
    """The labelled result with the fits' record in attrs (and a warning when one fails)."""
    from secdilemma.engines.pymc import ConvergenceWarning  # lazy: PyMC's floor

    dims = tuple(a.name for a in axes)
    shape = tuple(a.values.size for a in axes)
    ds = xr.Dataset(
        {k: ((*dims, *REFIT_VARIABLES[k]), v.reshape(*shape, *v.shape[1:]))
         for k, v in data.items()},
        coords={**{a.name: a.values for a in axes}, "action": list(base.actions),
                "rival_type": list(base.types.names)},
    )  # fmt: skip
    failed = [f for f in fits if not f["ok"]]
    seconds = [f["seconds"] for f in fits]
    ds.attrs = {
        **base.attrs(),
        "whatif_engine": "refit",
        "whatif_swept": ", ".join(f"{a.name} {a.values.tolist()}" for a in axes),
        "whatif_n_fits": len(fits),
        "whatif_compilations": compilations,
        "whatif_compiled_model_reused": int(len(fits) - compilations),
        "whatif_fits": json.dumps(fits, default=float),
        "whatif_fit_seconds": json.dumps(seconds),
        "whatif_sampler": json.dumps(
            {
                "draws": settings.draws,
                "tune": settings.tune,
                "chains": settings.chains,
                "max_draws_per_decision": MAX_DRAWS,
            }
        ),
        "whatif_n_sims": base.n_sims,
        "whatif_mode": "dynamic",
    }
    if failed:
        where = "; ".join(f"{f['setting']}: {', '.join(f['problems'])}" for f in failed)
        msg = (
            f"whatif refit: {len(failed)} of {len(fits)} fits fail the diagnostics gate "
            f"({where}). Do not trust those cells: raise refit_draws/refit_tune."
        )
        ds.attrs["whatif_fit_warning"] = msg
        log.warning(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=5)  # sweep()'s caller
    for name, doc in _DOCS.items():
        if name in ds:
            ds[name].attrs["long_name"] = doc
    return ds


_DOCS = {
    "belief": "P(rival type | data): the mean over the fit's posterior draws (at most 500)",
    "p_greed": "P(greed motive) under the belief",
    "expected_utility": "expected utility of each action, over the fit's posterior draws",
    "eu_lower": "lower end of the 90 % interval of expected utility over the draws",
    "eu_upper": "upper end of the 90 % interval of expected utility over the draws",
    "best_action": "index into `action` of the action with the highest expected utility",
    "p_best": "P(the action is the best one for the true type and parameters)",
    "evpi": "expected value of perfect information",
    "p_star": "threshold p* on the greed axis where the best action first changes (NaN: none)",
    "p_star_effective": "p*, with 0 where one action is best on the whole greed axis",
    "upper_action": "index into `action` of the better action above p*",
    "eu_gap": "expected utility of the action above p* minus the one below (without a flip: "
    "deter minus reassure): 0 on the frontier",
}
