"""Which inputs matter: one-at-a-time (a tornado) and global (Sobol, with SALib) sensitivity.

Both evaluate the study at points (:func:`~secdilemma.whatif.evaluate_points`): the tornado
moves one input at a time from the study's own value to each end of its range; Sobol
indices (Saltelli sampling, first-order ``S1`` and total ``ST`` with 95 % confidence
intervals) vary all inputs at once over their ranges.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.whatif.inputs import StudyLike, SweepBase
from secdilemma.whatif.sweep import evaluate_columns, resolve

__all__ = ["METRICS", "metric_values", "sobol", "tornado"]

#: Scalar summaries a sensitivity analysis can rank inputs by.
METRICS = {
    "p_star": "the threshold p* (0 where the upper action is always better, 1 where never)",
    "evpi": "the expected value of perfect information",
    "eu_gap": "expected utility of deter minus reassure",
    "p_greed": "P(greed motive) under the belief",
    "best_action": "1 where the first compared action (deter) is the best, else 0",
    "p_best": "P(best) of the best action",
    "p_war": "P(war within the horizon) under the best action",
}


def metric_values(ds: xr.Dataset, metric: str) -> xr.DataArray:
    """One scalar per cell or point (:data:`METRICS`) from a sweep's or points' Dataset."""
    if metric not in METRICS:
        raise ParameterError(f"metric {metric!r} is not one of {list(METRICS)}.")
    if metric == "p_star":
        return ds["p_star_effective"]
    if metric in ("evpi", "eu_gap", "p_greed"):
        return ds[metric]
    actions = [str(a) for a in ds["action"].values]
    first = actions.index("deter") if "deter" in actions else 0
    if metric == "best_action":
        return (ds["best_action"] == first).astype(float)
    if metric == "p_war" and "p_war" not in ds:
        raise ParameterError("metric 'p_war' needs the dynamic decision (no payoff table).")
    best = ds["best_action"].astype(int)
    return ds[metric].isel(action=best)


def _kind_column(base: SweepBase, names: list[str], owner: list[str]) -> list[str] | None:
    """An explicit observer column when a kind's knob is varied, so only its points change."""
    knob_kind = {"temperature": "tempered", "confidence": "biased"}
    if "observer" in names or not any(n in knob_kind for n in names):
        return None
    return [knob_kind.get(o, base.observer) for o in owner]


def tornado(
    study: StudyLike,
    metric: str = "p_star",
    *,
    n_sims: int | None = None,
    seed: int | None = None,
    payoffs: Any = None,
    **axes: Any,
) -> xr.Dataset:
    """One-at-a-time sensitivity: each input moved alone to each end of its range.

    ``axes`` as for :func:`~secdilemma.whatif.sweep` (numbers: their smallest and largest
    value; choices: every value). Returns a Dataset over ``input`` (largest swing first):
    ``low_value``/``high_value`` (as text), ``metric_low``/``metric_high`` (the metric
    there), ``swing``; ``metric_base`` the study's own value.
    """
    if "policy" in axes:
        raise ParameterError("tornado: `policy` is not an input of a cell; use rank_policies.")
    if not axes:
        raise ParameterError("tornado: give at least one input and its range.")
    if metric not in METRICS:
        raise ParameterError(f"tornado: metric {metric!r} is not one of {list(METRICS)}.")
    base, ax = resolve(study, axes, n_sims=n_sims, payoffs=payoffs, seed=seed)
    names = [a.name for a in ax]
    ends = []
    for a in ax:
        vals = a.values if a.input.kind == "choice" else np.array([a.values.min(), a.values.max()])
        ends.append(vals)
    owner = [""] + [a.name for a, v in zip(ax, ends, strict=True) for _ in v]
    cols: dict[str, npt.NDArray[Any]] = {}
    for a, vals in zip(ax, ends, strict=True):
        col = np.array([base.value(a.name)] * len(owner), dtype=object)
        col[[i for i, o in enumerate(owner) if o == a.name]] = vals
        cols[a.name] = col.astype(a.values.dtype)
    kinds = _kind_column(base, names, owner)
    if kinds is not None:
        cols["observer"] = np.asarray(kinds)
    m = metric_values(evaluate_columns(base, cols), metric).values
    rows = []
    for a, vals in zip(ax, ends, strict=True):
        mine = m[[i for i, o in enumerate(owner) if o == a.name]]
        lo, hi = (int(np.nanargmin(mine)), int(np.nanargmax(mine))) if a.input.kind == "choice" \
            else (0, 1)  # fmt: skip
        rows.append((a.name, str(vals[lo]), str(vals[hi]), mine[lo], mine[hi],
                     float(np.nanmax(mine) - np.nanmin(mine))))  # fmt: skip
    rows.sort(key=lambda r: -r[5] if np.isfinite(r[5]) else 0.0)
    return xr.Dataset(
        {
            "low_value": ("input", [r[1] for r in rows]),
            "high_value": ("input", [r[2] for r in rows]),
            "metric_low": ("input", np.array([r[3] for r in rows], dtype=float)),
            "metric_high": ("input", np.array([r[4] for r in rows], dtype=float)),
            "swing": ("input", np.array([r[5] for r in rows], dtype=float)),
            "base_value": ("input", [str(base.value(r[0])) for r in rows]),
            "metric_base": ((), float(m[0])),
        },
        coords={"input": [r[0] for r in rows]},
        attrs={**base.attrs(), "metric": metric, "metric_doc": METRICS[metric]},
    )


def sobol(
    study: StudyLike,
    *,
    n: int = 64,
    metrics: tuple[str, ...] = ("p_star", "evpi", "best_action"),
    seed: int = 0,
    n_sims: int | None = None,
    payoffs: Any = None,
    **ranges: Any,
) -> xr.Dataset:
    """Sobol indices of ``metrics`` over the inputs' ranges (Saltelli sampling, SALib).

    ``ranges``: ``name=(low, high)`` (or any list of values: its smallest and largest) for
    numeric inputs; ``horizon`` is sampled and rounded. ``n`` (a power of 2) base samples
    give ``n * (d + 2)`` evaluations for ``d`` inputs. Returns a Dataset over ``metric`` and
    ``input``: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (95 % confidence half-widths);
    a metric that does not vary over the ranges gets indices 0 (noted in ``constant``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n & (n - 1):
        raise ParameterError(f"sobol: `n` must be a power of 2 >= 2 (Saltelli); got {n!r}.")
    if not ranges:
        raise ParameterError("sobol: give at least one input range, e.g. omega=(0.2, 0.8).")
    bad = [k for k in metrics if k not in METRICS]
    if bad:
        raise ParameterError(f"sobol: unknown metric(s) {bad}; choose from {list(METRICS)}.")
    base, ax = resolve(study, ranges, n_sims=n_sims, payoffs=payoffs, seed=seed)
    for a in ax:
        if a.input.kind == "choice":
            raise ParameterError(f"sobol: {a.name!r} is a choice; Sobol indices need ranges.")
        if a.values.min() == a.values.max():
            raise ParameterError(f"sobol: the range of {a.name!r} is empty (low == high).")
    from SALib.analyze import sobol as analyze  # here: SALib loads only for Sobol indices
    from SALib.sample import sobol as sample

    bounds = [[float(a.values.min()), float(a.values.max())] for a in ax]
    names = [a.name for a in ax]
    problem = {"num_vars": len(ax), "names": names, "bounds": bounds}
    x = sample.sample(problem, n, calc_second_order=False, seed=seed)
    cols = {
        a.name: np.round(x[:, i]).astype(np.int64) if a.input.kind == "int" else x[:, i]
        for i, a in enumerate(ax)
    }
    pts = evaluate_columns(base, cols)
    out = {k: np.zeros((len(metrics), len(ax))) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    constant = []
    for j, metric in enumerate(metrics):
        y = metric_values(pts, metric).values.astype(float)
        if np.nanmax(y) == np.nanmin(y):
            constant.append(metric)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            si = analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        for k in out:
            out[k][j] = np.asarray(si[k], dtype=float)
    dims = ("metric", "input")
    return xr.Dataset(
        {k: (dims, v) for k, v in out.items()},
        coords={"metric": list(metrics), "input": [a.name for a in ax]},
        attrs={
            **base.attrs(),
            "n_base_samples": n,
            "n_evaluations": int(x.shape[0]),
            "ranges": json.dumps(dict(zip(names, bounds, strict=True))),
            "constant": json.dumps(constant),
            "confidence": 0.95,
            "seed": seed,
        },
    )
