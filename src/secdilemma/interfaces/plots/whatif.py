"""Figures of what-if analysis: the decision map, the tornado, Sobol indices, a variable along
one input, and the ranking of policies. Each is titled with the study and the inputs held
fixed (the study's own values unless said otherwise)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.whatif.summary import at_study, fixed_value

__all__ = [
    "plot_decision_map",
    "plot_line",
    "plot_policies",
    "plot_sobol",
    "plot_tornado",
    "title_of",
]

#: Colours of the actions (best-action regions and lines), in the order of ``action``.
_COLOURS = ("#c0392b", "#2471a3", "#7d8c2e", "#8e44ad", "#d68910")


def title_of(
    ds: xr.Dataset, what: str, fixed: dict[str, Any] | None = None, width: int = 72
) -> str:
    """The study's title (name, dyad, years, world) with ``what`` and the inputs held fixed,
    each line wrapped at ``width`` characters."""
    template = str(ds.attrs.get("title_template", ""))
    head = template.replace("{what}", what) if template else what
    if fixed:
        held = ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
        head += f"\nheld at: {held}"
    return "\n".join(textwrap.fill(line, width) for line in head.split("\n"))


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _num(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _numeric_dims(ds: xr.Dataset) -> list[str]:
    return [str(d) for d in ds["best_action"].dims if ds[d].dtype.kind in "fiu" and ds.sizes[d] > 1]


def plot_decision_map(
    ds: xr.Dataset, x: str | None = None, y: str | None = None, *, ax: Any = None
) -> Any:
    """Best action over two swept inputs, the frontier where the compared actions are equally
    good (``eu_gap = 0``: the belief sits at p*) and the study's own setting marked.

    Returns a Figure: regions by action (``gid`` ``"region"``), the frontier (``"frontier"``)
    and the study's setting (``"study"``).
    """
    dims = _numeric_dims(ds)
    x = x or (dims[0] if dims else None)
    y = y or next((d for d in dims if d != x), None)
    if x is None or y is None or x == y:
        raise ParameterError(
            f"plot_decision_map: needs two swept numeric inputs; the sweep has {dims}."
        )
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(6.4, 5.2)) if ax is None else (ax.figure, ax)
    best, at = at_study(ds, ds["best_action"], (x, y))
    gap, _ = at_study(ds, ds["eu_gap"], (x, y))
    best = best.transpose(y, x)
    gap = gap.transpose(y, x)
    actions = [str(a) for a in ds["action"].values]
    cmap = ListedColormap(list(_COLOURS[: len(actions)]))
    norm = BoundaryNorm(np.arange(len(actions) + 1) - 0.5, cmap.N)
    xs, ys = ds[x].values.astype(float), ds[y].values.astype(float)
    mesh = ax.pcolormesh(xs, ys, best.values, cmap=cmap, norm=norm, shading="nearest", alpha=0.55)
    mesh.set_gid("region")
    if np.nanmin(gap.values) < 0 < np.nanmax(gap.values):
        cs = ax.contour(xs, ys, gap.values, levels=[0.0], colors="k", linewidths=1.5)
        cs.set_gid("frontier")
    sx, sy = fixed_value(ds, x), fixed_value(ds, y)
    if isinstance(sx, int | float) and isinstance(sy, int | float):
        ax.plot([sx], [sy], marker="*", ms=14, color="k", mfc="gold", gid="study", ls="none")
    handles: list[Any] = [
        Patch(color=_COLOURS[i], alpha=0.55, label=f"{a} best") for i, a in enumerate(actions)
    ]
    handles.append(plt.Line2D([], [], color="k", lw=1.5, label="p* frontier (equal EU)"))
    handles.append(
        plt.Line2D([], [], marker="*", color="k", mfc="gold", ls="none", label="study's setting")
    )
    ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title_of(ds, f"best action over {x} and {y}", at), fontsize="medium")
    fig.tight_layout()
    return fig


def plot_line(
    ds: xr.Dataset, along: str | None = None, variable: str = "expected_utility", *, ax: Any = None
) -> Any:
    """A variable along one swept input (the others at the study's values); with an ``action``
    (or ``policy``, ``rival_type``) dim one line each. The study's value is marked
    (``gid`` ``"study"``) and the best action's regions shaded along the axis."""
    if variable not in ds:
        raise ParameterError(f"plot_line: the sweep has no variable {variable!r}.")
    dims = _numeric_dims(ds) or [str(d) for d in ds["best_action"].dims]
    along = along or (dims[0] if dims else None)
    if along is None or along not in ds[variable].dims:
        raise ParameterError(f"plot_line: {variable!r} has no swept dim {along!r}.")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2)) if ax is None else (ax.figure, ax)
    da, at = at_study(ds, ds[variable], (along,))
    best, _ = at_study(ds, ds["best_action"], (along,))
    xs = ds[along].values
    numeric = xs.dtype.kind in "fiu"
    pos = xs.astype(float) if numeric else np.arange(xs.size)
    group = next((d for d in da.dims if d in ("action", "policy", "rival_type")), None)
    labels = [str(v) for v in ds[group].values] if group else [variable]
    for i, lab in enumerate(labels):
        line = da.isel({group: i}) if group else da
        ax.plot(pos, line.transpose(along).values, marker="o", ms=3, label=lab,
                color=_COLOURS[i % len(_COLOURS)], gid=f"line:{lab}")  # fmt: skip
    actions = [str(a) for a in ds["action"].values]
    b = best.transpose(along).values.astype(int)
    edges = np.concatenate([[pos[0]], (pos[1:] + pos[:-1]) / 2, [pos[-1]]])
    runs = np.flatnonzero(np.diff(b)) + 1  # where the best action changes
    for lo, hi in zip(np.r_[0, runs], np.r_[runs, b.size], strict=True):
        ax.axvspan(edges[lo], edges[hi], color=_COLOURS[b[lo] % len(_COLOURS)], alpha=0.1, lw=0)
    s = fixed_value(ds, along)
    if numeric and isinstance(s, int | float):
        ax.axvline(float(s), color="0.3", ls=":", label=f"study's {along} ({_fmt(s)})", gid="study")
    if not numeric:
        ax.set_xticks(pos, [str(v) for v in xs])
    ax.set_xlabel(along)
    ax.set_ylabel(variable.replace("_", " "))
    shade = ", ".join(f"{a}" for a in actions)
    ax.legend(
        loc="best", fontsize="small", title=f"shading: best of {shade}", title_fontsize="small"
    )
    ax.set_title(title_of(ds, f"{variable} along {along}", at), fontsize="medium")
    fig.tight_layout()
    return fig


def plot_tornado(result: xr.Dataset, *, ax: Any = None) -> Any:
    """Tornado chart of :func:`~secdilemma.whatif.tornado`: one bar per input from the
    metric at its low end to its high end, around the study's value (``gid``
    ``"bar:<input>"``), largest swing on top."""
    need = {"metric_low", "metric_high", "metric_base", "swing"}
    if not need <= set(result.data_vars):
        raise ParameterError(f"plot_tornado: needs tornado()'s Dataset (with {sorted(need)}).")
    import matplotlib.pyplot as plt

    n = result.sizes["input"]
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.5 * n)) if ax is None else (ax.figure, ax)
    base = float(result["metric_base"])
    for i in range(n):
        r = result.isel(input=i)
        lo, hi = float(r["metric_low"]), float(r["metric_high"])
        y = n - 1 - i
        for v, colour, label in ((lo, "#2471a3", r["low_value"]), (hi, "#c0392b", r["high_value"])):
            if np.isfinite(v):
                ax.barh(
                    y, v - base, left=base, color=colour, alpha=0.7, gid=f"bar:{r.input.item()}"
                )
                ax.text(v, y, f" {_fmt(_num(label.item()))} ", va="center", fontsize="x-small",
                        ha="left" if v >= base else "right")  # fmt: skip
    ax.axvline(base, color="k", lw=1)
    ax.set_yticks(range(n), [str(v) for v in result["input"].values[::-1]])
    ax.set_xlabel(f"{result.attrs.get('metric', 'metric')} (line: the study's own, {base:.3g})")
    ax.set_title(title_of(result, f"tornado: {result.attrs.get('metric', '')}, one input at a "
                          "time (blue low end, red high end)"), fontsize="medium")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_sobol(result: xr.Dataset, *, ax: Any = None) -> Any:
    """First-order and total Sobol indices with 95 % intervals, one panel per metric
    (``gid`` ``"S1:<metric>"``, ``"ST:<metric>"``)."""
    if not {"S1", "ST", "S1_conf", "ST_conf"} <= set(result.data_vars):
        raise ParameterError("plot_sobol: needs sobol()'s Dataset (S1, ST and their conf).")
    import matplotlib.pyplot as plt

    metrics = [str(m) for m in result["metric"].values]
    inputs = [str(v) for v in result["input"].values]
    if ax is None:
        fig, grid = plt.subplots(
            1, len(metrics), figsize=(3.2 * len(metrics) + 0.8, 3.8), squeeze=False, sharey=True
        )
        axes: list[Any] = list(grid[0])
    else:
        fig, axes = ax.figure, [ax]
    pos = np.arange(len(inputs))
    constant = json.loads(str(result.attrs.get("constant", "[]")))
    for panel, metric in zip(axes, metrics, strict=False):
        r = result.sel(metric=metric)
        panel.bar(pos - 0.2, r["S1"].values, 0.4, yerr=r["S1_conf"].values, capsize=3,
                  label="first order S1", color="#2471a3", gid=f"S1:{metric}")  # fmt: skip
        panel.bar(pos + 0.2, r["ST"].values, 0.4, yerr=r["ST_conf"].values, capsize=3,
                  label="total ST", color="#c0392b", gid=f"ST:{metric}")  # fmt: skip
        panel.set_xticks(pos, inputs, rotation=30, ha="right")
        note = " (constant)" if metric in constant else ""
        panel.set_title(f"{metric}{note}", fontsize="small")
        panel.axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel("Sobol index (95 % interval)")
    axes[0].legend(fontsize="x-small")
    n = result.attrs.get("n_evaluations", "")
    fig.suptitle(title_of(result, f"Sobol indices over the ranges ({n} evaluations)"),
                 fontsize="medium")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_policies(result: xr.Dataset, *, ax: Any = None) -> Any:
    """The policies ranked by expected loss with 95 % Monte Carlo intervals (common random
    numbers); the best (``gid`` ``"best"``) highlighted."""
    if not {"expected_loss", "mcse"} <= set(result.data_vars):
        raise ParameterError(
            "plot_policies: needs compare_policies()' or rank_policies()' Dataset."
        )
    import matplotlib.pyplot as plt

    order = np.argsort(result["expected_loss"].values, kind="stable")
    names = [str(result["policy"].values[i]) for i in order]
    loss = result["expected_loss"].values[order]
    err = 1.96 * result["mcse"].values[order]
    size = (6.8, 1.4 + 0.42 * len(names))
    fig, ax = plt.subplots(figsize=size) if ax is None else (ax.figure, ax)
    y = np.arange(len(names))[::-1]
    ax.errorbar(loss[1:], y[1:], xerr=err[1:], fmt="o", color="#566573", capsize=3)
    ax.errorbar(loss[:1], y[:1], xerr=err[:1], fmt="o", color="#27ae60", capsize=3, gid="best")
    ax.grid(axis="x", alpha=0.3)
    ax.set_yticks(y, names)
    ax.set_xlabel("expected discounted loss (lower is better; 95 % MC interval)")
    horizon = result.attrs.get("horizon", "")
    ax.set_title(title_of(result, f"policies over {horizon} periods, from the current belief"),
                 fontsize="medium")  # fmt: skip
    fig.tight_layout()
    return fig
