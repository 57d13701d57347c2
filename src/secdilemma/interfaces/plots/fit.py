"""The figure of a full Bayesian fit (:class:`~secdilemma.engines.pymc.PerceptionModel`).

Left, one panel per rival type: the posterior probability of that type over time, filtered
(given the data up to each year) and smoothed (given all the data), each with its 90 % band
over the parameter draws; events are numbered above the panels and listed in a key below.
Right, the sampler's parameter draws by :mod:`arviz_plots`: the trace and the rank plot of
each parameter, one line per chain. The title names the model, the dyad, the years, the
world (omega, delta) and whether the diagnostics pass the gate.

What to draw is computed first (:func:`_type_paths`, :func:`_title_lines`, the events);
then it is drawn with matplotlib's object API. The library never selects a backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.engines.pymc import PerceptionModel, diagnostics
from secdilemma.engines.pymc.priors import REACTION
from secdilemma.errors import DataError, ParameterError, SpecError
from secdilemma.interfaces.plots.posterior import (
    _FONT,
    _LINE,
    _ROW,
    KEY_GID,
    MARKER_GID,
    _columns,
    _Event,
    _events,
    _fmt_period,
    _key_entries,
    _placed,
)
from secdilemma.spec.model_spec import spec_data

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_fit"]

_WIDTH = 13.0  # inches
_TYPE_ROW = 2.1  # inches per type panel
_PARAM_ROW = 1.35  # inches per parameter row
_SMOOTH_COLOR = "0.35"


@dataclass(frozen=True)
class _TypePaths:
    """The posterior over the types of one dyad, period by period (arrays ``(T, K)``)."""

    periods: np.ndarray
    names: list[str]
    filtered: tuple[np.ndarray, np.ndarray, np.ndarray]  # mean, low, high
    smoothed: tuple[np.ndarray, np.ndarray, np.ndarray]
    interval: tuple[float, float]


def _dyad(tree: xr.DataTree, dyad: Any) -> Any:
    dyads = list(tree["type_probabilities"].to_dataset()["dyad"].values)
    d = dyads[0] if dyad is None else dyad
    if d not in dyads:
        raise ParameterError(f"plot_fit: dyad {d!r} is not in the fit; choose from {dyads}.")
    return d


def _type_paths(tree: xr.DataTree, dyad: Any) -> _TypePaths:
    tp = tree["type_probabilities"].to_dataset().sel(dyad=dyad)

    def get(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(  # type: ignore[return-value]
            np.asarray(tp[f"{kind}_{s}"].transpose("period", "rival_type").values, dtype=float)
            for s in ("mean", "low", "high")
        )

    lo, hi = tp["filtered_low"].attrs.get("interval", (0.05, 0.95))
    return _TypePaths(
        periods=np.asarray(tp["period"].values),
        names=[str(n) for n in tp["rival_type"].values],
        filtered=get("filtered"),
        smoothed=get("smoothed"),
        interval=(float(lo), float(hi)),
    )


def _world_text(tree: xr.DataTree, dyad: Any) -> str:
    const = tree["constant_data"].to_dataset().sel(dyad=dyad)
    parts = []
    for var, sym in (("omega", "ω"), ("delta", "δ")):
        v = np.asarray(const[var].values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        lo, hi = float(v.min()), float(v.max())
        parts.append(f"{sym} = {lo:g}" if lo == hi else f"{sym} {lo:g}–{hi:g}")
    return ", ".join(parts)


def _title_lines(
    model: PerceptionModel, tree: xr.DataTree, dyad: Any, title: str | None
) -> tuple[str, str, bool]:
    """The title (the given one, or model, dyad, years, world) and the diagnostics line."""
    if title is None:
        name = str(tree.attrs.get("model_name", model.spec.name))
        periods = tree["constant_data"].to_dataset()["period"].values
        head = name if str(dyad) == name else f"{name}, dyad {dyad}"
        years = f"{_fmt_period(periods[0])}–{_fmt_period(periods[-1])}"
        title = f"{head}: {years}, {_world_text(tree, dyad)}"
    diag = model.diagnostics_ or diagnostics(tree)
    ok = bool(diag["ok"])
    status = (
        "diagnostics pass the gate (R-hat, ESS, no divergences)"
        if ok
        else "NOT CONVERGED, do not trust: " + "; ".join(diag["problems"])
    )
    return title, status, ok


def _fit_events(
    model: PerceptionModel,
    events: Mapping[Any, str] | Iterable[tuple[Any, str]] | xr.Dataset | None,
) -> list[_Event]:
    """The events to mark: the given ones, or by default those of the data the spec names."""
    if isinstance(events, Mapping):
        return _events(list(events.items()))
    if events is None and not model.spec.data.is_empty:  # also for a reloaded fit
        try:
            events, _ = spec_data(model.spec)
        except (SpecError, DataError):
            return []
        if "event_year" not in events or "event_label" not in events:
            return []
    return _events(events)


def _parameter_names(post: xr.Dataset, var_names: Sequence[str] | None) -> list[str]:
    if var_names is None:
        return [v for v in REACTION if v in post and set(post[v].dims) <= {"chain", "draw"}]
    missing = [v for v in var_names if v not in post]
    if missing:
        raise ParameterError(
            f"plot_fit: var_names {missing} are not in the posterior; choose from "
            f"{sorted(map(str, post.data_vars))} (fixed parameters have no draws)."
        )
    return list(var_names)


def _draw_parameters(post: xr.Dataset, names: list[str], size: tuple[float, float]) -> Any:
    """arviz-plots' trace and rank plots of ``names`` (a PlotCollection), or ``None``."""
    if not names:
        return None
    import arviz_plots as azp

    pc = azp.combine_plots(
        xr.DataTree.from_dict({"posterior": post[names]}),
        plots=[(azp.plot_trace, {}), (azp.plot_rank, {})],
        expand="column",
        plot_names=["trace", "rank"],
        figure_kwargs={"figsize": size},
    )
    for name in names:
        trace = pc.viz["plot"][name].sel(column="trace").item()
        trace.set_ylabel(name)
        rank = pc.viz["plot"][name].sel(column="rank").item()
        rank.set_ylabel("ECDF − uniform")
        rank.set_xlabel("fractional rank")
        # the rank plot's test statistic is a text in data coordinates; with chains that do
        # not mix it lands far outside its axes and would squeeze the whole layout
        for t in pc.viz["plot"][name].sel(column="rank").item().texts:
            t.set_in_layout(False)
            t.set_clip_on(True)
    return pc


def _layout(
    fig: Figure, pc: Any, names: list[str], n_types: int, key_in: float, main_in: float
) -> tuple[list[Axes], Axes | None]:
    """Arrange the figure: type panels left, the parameter grid right, the key below."""
    fig.set_layout_engine("constrained")
    rows = (main_in, key_in) if key_in > 0 else (main_in,)
    outer = fig.add_gridspec(len(rows), 2, width_ratios=(1.15, 1.0), height_ratios=rows)
    if pc is not None:
        right = outer[0, 1].subgridspec(len(names), 2)
        for i, name in enumerate(names):
            for j, col in enumerate(("trace", "rank")):
                pc.viz["plot"][name].sel(column=col).item().set_subplotspec(right[i, j])
    left = outer[0, 0].subgridspec(n_types, 1)
    first = fig.add_subplot(left[0, 0])
    type_axes = [first] + [fig.add_subplot(left[k, 0], sharex=first) for k in range(1, n_types)]
    key_ax = None
    if key_in > 0:
        key_ax = fig.add_subplot(outer[1, :])
        key_ax.set_axis_off()
    return type_axes, key_ax


def _draw_type_panels(axes: list[Axes], paths: _TypePaths, xlabel: str) -> None:
    pct = round(100 * (paths.interval[1] - paths.interval[0]))
    colors = [f"C{k}" for k in range(len(paths.names))]
    x = paths.periods
    for k, (ax, name) in enumerate(zip(axes, paths.names, strict=True)):
        fm, fl, fh = (a[:, k] for a in paths.filtered)
        sm, sl, sh = (a[:, k] for a in paths.smoothed)
        # one filled band (filtered); the smoothed interval as thin dotted edges, so that
        # two translucent bands never mix into a third colour
        ax.fill_between(x, fl, fh, color=colors[k], alpha=0.25, lw=0)
        ax.plot(x, sm, color=_SMOOTH_COLOR, ls="--", lw=1.2, label="smoothed (all data)")
        ax.fill_between(x, sl, sh, facecolor="none", edgecolor=_SMOOTH_COLOR, ls=":", lw=0.9)
        ax.plot(x, fm, color=colors[k], lw=1.8, label="filtered (data up to t)")
        ax.set_ylim(0.0, 1.0)
        ax.set_ylabel(f"P({name})")
        ax.set_title(
            f"{name}: {fm[-1]:.2f} at {_fmt_period(x[-1])} ({pct} % interval "
            f"{fl[-1]:.2f}–{fh[-1]:.2f})",
            fontsize=9,
            loc="left",
        )
        ax.grid(alpha=0.3, lw=0.5)
        if k < len(axes) - 1:
            ax.tick_params(labelbottom=False)
    if len(x) > 1:
        axes[0].set_xlim(float(x[0]), float(x[-1]))
    axes[-1].set_xlabel(xlabel)
    _type_legend(axes[-1], pct)


def _type_legend(ax: Axes, pct: int) -> None:
    """What the lines and bands of the type panels are, below the bottom panel."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color="0.15", lw=1.8, label="filtered (data up to t)"),
        Line2D([], [], color=_SMOOTH_COLOR, ls="--", lw=1.2, label="smoothed (all data)"),
        Patch(color="0.5", alpha=0.25, lw=0, label=f"filtered: {pct} % interval"),
        Line2D([], [], color=_SMOOTH_COLOR, ls=":", lw=0.9, label=f"smoothed: {pct} % interval"),
    ]
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=8,
        title=f"over the parameter draws ({pct} % intervals)", title_fontsize=8,
        frameon=False,
    )  # fmt: skip


def _draw_markers(axes: list[Axes], evs: list[_Event], lo: float, hi: float) -> None:
    """A line at each event on every panel, its number above the top panel (whose title
    moves up above the markers)."""
    shown = [i for i, ev in enumerate(evs) if lo <= float(ev.period) <= hi]
    if not shown:
        return
    top = axes[0]
    fig_w_pt = top.get_figure(root=True).get_figwidth() * 72 * 0.45  # type: ignore[union-attr]
    gap = 13.0 * max(hi - lo, 1.0) / fig_w_pt  # a two-digit marker, in period units
    placed = _placed([float(evs[i].period) for i in shown], lo, hi, gap)
    rows = [r for _, _, r in placed]
    for i, (ha, dx, row) in zip(shown, placed, strict=True):
        p = evs[i].period
        for ax in axes:
            ax.axvline(p, color="black", linewidth=0.7, linestyle=(0, (3, 2)), alpha=0.6)
        top.annotate(
            str(i + 1), xy=(p, 1.0), xycoords=("data", "axes fraction"),
            xytext=(dx, 2 + row * _ROW), textcoords="offset points", ha=ha, va="bottom",
            fontsize=_FONT - 0.5, gid=MARKER_GID, annotation_clip=False,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.5", "lw": 0.5},
        )  # fmt: skip
    top.set_title(top.get_title(loc="left"), loc="left", fontsize=9, pad=8 + max(rows) * _ROW + 10)


def _key_layout(
    evs: list[_Event], lo: float, hi: float
) -> tuple[list[str], list[list[int]], float]:
    """The key's entries, its columns and its height in inches (0 without events)."""
    if not evs:
        return [], [], 0.0
    n_cols = 2 if len(evs) > 8 else 1
    entries = _key_entries(evs, 85 if n_cols == 2 else 170, lo, hi)
    cols = _columns(entries, n_cols)
    lines = max(sum(entries[i].count("\n") + 1 for i in c) for c in cols)
    return entries, cols, (lines * _LINE + 2 * max(len(c) for c in cols) + 16) / 72


def _draw_key(ax: Axes, entries: list[str], cols: list[list[int]]) -> None:
    for c, idx in enumerate(cols):
        offset = 0.0
        for i in idx:
            ax.annotate(
                entries[i], xy=(c / len(cols), 1.0), xycoords="axes fraction",
                xytext=(0, -offset), textcoords="offset points", ha="left", va="top",
                fontsize=_FONT, linespacing=1.15, gid=KEY_GID, annotation_clip=False,
            )  # fmt: skip
            offset += (entries[i].count("\n") + 1) * _LINE + 2


def plot_fit(
    model: PerceptionModel,
    *,
    dyad: Any = None,
    events: Mapping[Any, str] | Iterable[tuple[Any, str]] | xr.Dataset | None = None,
    var_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure of a fit: each type's posterior over time, and the parameter draws by chain.

    Parameters
    ----------
    model
        A fitted model (or one from :func:`secdilemma.engines.pymc.load`).
    dyad
        The dyad to show (default: the first).
    events
        Events to mark: ``{period: label}``, ``(period, label)`` pairs or a case Dataset
        (``event_year``/``event_label``); by default the events of the data the spec names.
    var_names
        Posterior variables for the trace and rank plots (default: the reaction parameters
        ``mu`` … ``sigma`` that were sampled).
    title
        The first title line (default: model, dyad, years, omega and delta); the second says
        whether the diagnostics pass the gate (red when they do not).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per rival type (``ylabel`` ``"P(type)"``; the bottom one's ``xlabel`` is
        ``"year"`` for data the spec names, ``"period"`` otherwise), then a trace and a rank
        axes per parameter (from arviz-plots; a chain legend), and an axes for the events'
        key (texts with ``gid`` ``"event-key"``; the markers have ``gid`` ``"event-marker"``).
    """
    tree = model._fitted()
    d = _dyad(tree, dyad)
    paths = _type_paths(tree, d)
    head, status, ok = _title_lines(model, tree, d, title)
    post = tree["posterior"].to_dataset()
    names = _parameter_names(post, var_names)
    evs = _fit_events(model, events)
    lo, hi = float(np.min(paths.periods)), float(np.max(paths.periods))
    entries, cols, key_in = _key_layout(evs, lo, hi)
    main_in = max(len(paths.names) * _TYPE_ROW, len(names) * _PARAM_ROW) + 0.9
    size = (_WIDTH, main_in + key_in)
    pc = _draw_parameters(post, names, size)
    if pc is None:
        import matplotlib.pyplot as plt

        fig: Figure = plt.figure(figsize=size)
    else:
        fig = pc.get_viz("figure")
    type_axes, key_ax = _layout(fig, pc, names, len(paths.names), key_in, main_in)
    _draw_type_panels(type_axes, paths, "period" if model.spec.data.is_empty else "year")
    _draw_markers(type_axes, evs, lo, hi)
    if key_ax is not None:
        _draw_key(key_ax, entries, cols)
    if pc is not None and post.sizes.get("chain", 1) > 1:
        pc.add_legend("chain", title="chain")
    fig.suptitle(f"{head}\n{status}", fontsize=10, color="black" if ok else "red")
    return fig
