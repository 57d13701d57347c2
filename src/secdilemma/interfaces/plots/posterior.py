"""Plots of type posteriors.

The functions return a :class:`matplotlib.figure.Figure` and draw nothing on screen by
themselves; tests run them on the Agg backend and check the artists, not the pixels.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_type_posterior"]

#: ``gid`` of the numbered marker drawn above the axes at each event's period.
MARKER_GID = "event-marker"
#: ``gid`` of each entry of the numbered key below the axes.
KEY_GID = "event-key"

_FONT = 7.0  # points, markers and key
_LINE = _FONT * 1.25  # points per key line (matplotlib sets them about 1.1 x font apart)
_ROW = 10.0  # points between stacked marker rows
_FIG_WIDTH = 9.0  # inches, new figures
_PLOT_HEIGHT = 3.6  # inches of a new figure above the key


@dataclass(frozen=True)
class _Event:
    period: float
    label: str
    actor: str | None = None


def _events(events: Any) -> list[_Event]:
    if events is None:
        return []
    if isinstance(events, xr.Dataset):
        for var in ("event_year", "event_label"):
            if var not in events.data_vars:
                raise ParameterError(
                    f"plot_type_posterior: `events` is a Dataset without {var!r}; give a case "
                    "dataset with `event_year`/`event_label`, or (period, label) pairs."
                )
        years = events["event_year"].values.tolist()
        labels = events["event_label"].values.tolist()
        roles = (
            events["event_actor"].values.tolist()
            if "event_actor" in events.data_vars
            else [None] * len(years)
        )
        names = {r: events.attrs.get(r) for r in ("observer", "rival")}
        out = [
            _Event(y, str(lab), None if r is None else str(names.get(str(r)) or r))
            for y, lab, r in zip(years, labels, roles, strict=True)
        ]
    else:
        out = []
        for item in events:
            try:
                period, label = item
            except (TypeError, ValueError):
                raise ParameterError(
                    f"plot_type_posterior: each event must be a (period, label) pair; got {item!r}."
                ) from None
            out.append(_Event(period, str(label)))
    for ev in out:
        try:
            ok = not math.isinf(float(ev.period))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(
                f"plot_type_posterior: event {ev.label!r} has period {ev.period!r}; event "
                "periods must be numbers on the posterior's `period` axis (NaN: undated)."
            )
    # Number the events in time order (stable: same-period events keep their given order);
    # undated ones (NaN) last.
    return sorted(out, key=lambda ev: (math.isnan(float(ev.period)), float(ev.period)))


def _fmt_period(p: Any) -> str:
    f = float(p)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _marker_rows(periods: list[float], min_gap: float) -> list[int]:
    """Row (0 = nearest the axes) of each marker, so that markers within a row are at least
    ``min_gap`` apart on the period axis (greedy first fit, markers in period order)."""
    last: list[float] = []  # right-most period placed in each row
    rows = []
    for p in periods:
        for r, q in enumerate(last):
            if p - q >= min_gap:
                last[r] = p
                rows.append(r)
                break
        else:
            last.append(p)
            rows.append(len(last) - 1)
    return rows


def _marker_align(period: float, lo: float, hi: float, gap: float) -> tuple[str, float]:
    """Horizontal alignment and offset (points) of an event's marker: centred on its line,
    but within the axes at either end (a marker at the first or last period would otherwise
    stick out over the frame, into the legend or the margin)."""
    if hi - lo > 0 and period - lo < gap / 2:
        return "left", 1.5
    if hi - lo > 0 and hi - period < gap / 2:
        return "right", -1.5
    return "center", 0.0


def _placed(periods: list[float], lo: float, hi: float, gap: float) -> list[tuple[str, float, int]]:
    """Alignment, offset (points) and row of each marker: a marker kept inside the axes at
    either end takes the room of one centred half a marker further in."""
    aligns = [_marker_align(p, lo, hi, gap) for p in periods]
    shift = {"left": gap / 2, "right": -gap / 2, "center": 0.0}
    rows = _marker_rows([p + shift[a] for p, (a, _) in zip(periods, aligns, strict=True)], gap)
    return [(a, dx, r) for (a, dx), r in zip(aligns, rows, strict=True)]


def _key_entries(events: list[_Event], chars: int, lo: float, hi: float) -> list[str]:
    out = []
    for i, ev in enumerate(events, start=1):
        who = f"[{'both sides' if ev.actor == 'both' else ev.actor}] " if ev.actor else ""
        p = float(ev.period)
        head = f"{i}.  {'undated' if math.isnan(p) else _fmt_period(p)}  "
        note = "" if math.isnan(p) or lo <= p <= hi else " (outside the plotted periods)"
        lines = textwrap.wrap(
            f"{head}{who}{ev.label}{note}",
            width=chars,
            subsequent_indent=" " * (len(head) + 3),
            break_long_words=True,
        )
        out.append("\n".join(lines) if lines else head)
    return out


def _columns(entries: list[str], n_cols: int) -> list[list[int]]:
    """Split entries (in order) into ``n_cols`` columns of about equal height in lines."""
    heights = [e.count("\n") + 1 for e in entries]
    target = sum(heights) / n_cols
    cols: list[list[int]] = [[]]
    acc = 0
    for i, h in enumerate(heights):
        if acc + h / 2 > target * len(cols) and len(cols) < n_cols and cols[-1]:
            cols.append([])
        cols[-1].append(i)
        acc += h
    return cols


def plot_type_posterior(
    posterior: xr.DataArray,
    *,
    events: Iterable[tuple[Any, str]] | xr.Dataset | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Stacked posterior probabilities of the rival's types, period by period.

    Events are numbered in time order: a thin vertical line and a small numbered marker
    above the axes at each event's period (markers of close or equal periods are stacked),
    and a numbered key below the plot that gives each event's period, actor (for a case
    Dataset) and full label. The legend of types sits outside the axes on the right, in the
    order of the bands from top to bottom.

    Parameters
    ----------
    posterior
        Probabilities over (``period``, ``rival_type``), e.g. ``Observer().filter(ds)
        .filtered.isel(scenario=0)``; select any other dims first.
    events
        Events to mark: ``(period, label)`` pairs, or a case Dataset with ``event_year`` and
        ``event_label`` (and optionally ``event_actor``). Events outside the plotted periods,
        or undated (NaN), are listed in the key, so noted, but get no line or marker.
    ax
        Axes to draw on. By default a new figure with constrained layout, sized so that the
        key fits. On given axes the key hangs below the x-axis label; use a figure with
        ``layout="constrained"`` (or ``savefig(..., bbox_inches="tight")``) to keep it, the
        markers and the legend inside the saved image.
    title
        Axes title (placed above the event markers).

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one filled band per type (in ``ax.collections``), one line per event
        shown (``ax.lines``), and texts with ``gid`` ``"event-marker"`` (one per event
        shown, its ``xy[0]`` the event's period) and ``"event-key"`` (one per event).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xarray as xr
    >>> post = xr.DataArray(np.full((4, 3), 1 / 3), dims=("period", "rival_type"),
    ...                     coords={"period": [1990, 1991, 1992, 1993],
    ...                             "rival_type": ["greedy", "insecure", "mixed"]})
    >>> fig = plot_type_posterior(post, events=[(1991, "treaty")])
    >>> len(fig.axes[0].collections), len(fig.axes[0].lines)
    (3, 1)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "event-key"]
    ['1.  1991  treaty']
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    values, periods, types = _checked(posterior)
    evs = _events(events)
    lo, hi = float(np.min(periods)), float(np.max(periods))
    shown = [i for i, ev in enumerate(evs) if lo <= float(ev.period) <= hi]

    # The key: one or two columns, wrapped to the width they get.
    n_cols = 2 if len(evs) > 8 else 1
    entries = _key_entries(evs, 64 if n_cols == 2 else 130, lo, hi)
    cols = _columns(entries, n_cols) if entries else []
    key_lines = max((sum(entries[i].count("\n") + 1 for i in c) for c in cols), default=0)

    if ax is None:
        key_in = (key_lines * _LINE + 2 * len(max(cols, key=len, default=[])) + 36) / 72
        fig, ax = plt.subplots(
            figsize=(_FIG_WIDTH, _PLOT_HEIGHT + (key_in if evs else 0.0)),
            layout="constrained",
        )
    else:
        fig = ax.figure  # type: ignore[assignment]
    assert fig is not None
    handles = ax.stackplot(periods, values.T, labels=types, alpha=0.85)
    ax.set_ylim(0.0, 1.0)
    if len(periods) > 1:
        ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year" if isinstance(events, xr.Dataset) else "period")
    ax.set_ylabel("P(rival type)")
    n_rows = _draw_markers(fig, ax, evs, shown, max(hi - lo, 1.0))
    _draw_key(ax, entries, cols, n_cols)
    # Legend outside on the right, top band first.
    ax.legend(
        handles[::-1],
        types[::-1],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize=8,
        title="rival type",
        title_fontsize=8,
    )
    if title is not None:
        ax.set_title(title, pad=6 + n_rows * _ROW)
    return fig


def _checked(posterior: Any) -> tuple[Any, Any, list[str]]:
    """The posterior's values (period, rival_type), periods and type names, checked."""
    if not isinstance(posterior, xr.DataArray):
        raise ParameterError("plot_type_posterior: `posterior` must be an xarray.DataArray.")
    if set(posterior.dims) != {"period", "rival_type"}:
        raise ParameterError(
            f"plot_type_posterior: `posterior` has dims {list(posterior.dims)}; it must have "
            "exactly ('period', 'rival_type'). Select one scenario/dyad/observer first, e.g. "
            ".isel(scenario=0)."
        )
    post = posterior.transpose("period", "rival_type")
    values = np.asarray(post.values, dtype=float)
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ParameterError(
            "plot_type_posterior: `posterior` must hold probabilities (finite, >= 0)."
        )
    if post.sizes["period"] == 0:
        raise ParameterError("plot_type_posterior: `posterior` has no periods.")
    periods = post["period"].values if "period" in post.coords else np.arange(post.sizes["period"])
    if not np.issubdtype(np.asarray(periods).dtype, np.number):
        raise ParameterError(
            "plot_type_posterior: the `period` coordinate must be numeric (years or 0..T-1); "
            f"got dtype {np.asarray(periods).dtype}."
        )
    types = (
        [str(t) for t in post["rival_type"].values.tolist()]
        if "rival_type" in post.coords
        else [f"type {k}" for k in range(post.sizes["rival_type"])]
    )
    return values, periods, types


def _draw_markers(fig: Any, ax: Any, evs: list[Any], shown: list[int], span: float) -> int:
    """Numbered markers above the axes, stacked where they would touch; the rows used."""
    if not shown:
        return 0
    fig_w_pt = fig.get_figwidth() * 72 * ax.get_position().width * 0.85
    gap = 13.0 * span / max(fig_w_pt, 1.0)  # a two-digit marker, in period units
    lo, hi = float(min(ax.get_xlim())), float(max(ax.get_xlim()))
    placed = _placed([float(evs[i].period) for i in shown], lo, hi, gap)
    rows = [r for _, _, r in placed]
    for i, (ha, dx, row) in zip(shown, placed, strict=True):
        p = evs[i].period
        ax.axvline(p, color="black", linewidth=0.7, linestyle=(0, (3, 2)), alpha=0.7)
        ax.annotate(
            str(i + 1),
            xy=(p, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(dx, 2 + row * _ROW),
            textcoords="offset points",
            ha=ha,
            va="bottom",
            fontsize=_FONT - 0.5,
            gid=MARKER_GID,
            annotation_clip=False,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.5", "lw": 0.5},
        )
    return max(rows) + 1


def _draw_key(ax: Any, entries: list[str], cols: list[list[int]], n_cols: int) -> None:
    """The numbered key, hanging below the x-axis label (so it follows the layout)."""
    for c, idx in enumerate(cols):
        offset = 0.0
        for i in idx:
            ax.annotate(
                entries[i],
                xy=(c / n_cols, 0.0),
                xycoords=("axes fraction", ax.xaxis.label),
                xytext=(0, -6 - offset),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=_FONT,
                linespacing=1.15,
                gid=KEY_GID,
                annotation_clip=False,
            )
            offset += (entries[i].count("\n") + 1) * _LINE + 2
