"""Plots of type posteriors.

The functions return a :class:`matplotlib.figure.Figure` and draw nothing on screen by
themselves; tests run them on the Agg backend and check the artists, not the pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_type_posterior"]


def _events(events: Any) -> list[tuple[Any, str]]:
    if events is None:
        return []
    if isinstance(events, xr.Dataset):
        for var in ("event_year", "event_label"):
            if var not in events.data_vars:
                raise ParameterError(
                    f"plot_type_posterior: `events` is a Dataset without {var!r}; give a case "
                    "dataset with `event_year`/`event_label`, or (period, label) pairs."
                )
        return [
            (y, str(lab))
            for y, lab in zip(
                events["event_year"].values.tolist(),
                events["event_label"].values.tolist(),
                strict=True,
            )
        ]
    out = []
    for item in events:
        try:
            period, label = item
        except (TypeError, ValueError):
            raise ParameterError(
                f"plot_type_posterior: each event must be a (period, label) pair; got {item!r}."
            ) from None
        out.append((period, str(label)))
    return out


def plot_type_posterior(
    posterior: xr.DataArray,
    *,
    events: Iterable[tuple[Any, str]] | xr.Dataset | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Stacked posterior probabilities of the rival's types, period by period.

    Parameters
    ----------
    posterior
        Probabilities over (``period``, ``rival_type``), e.g. ``Observer().filter(ds)
        .filtered.isel(scenario=0)``; select any other dims first.
    events
        Events to mark with a vertical line and a short label: ``(period, label)`` pairs, or
        a case Dataset with ``event_year`` and ``event_label``.
    ax
        Axes to draw on (default: a new figure).
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one filled band per type (in ``ax.collections``) and one line per event.

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
    """
    import matplotlib.pyplot as plt

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
    periods = post["period"].values if "period" in post.coords else np.arange(post.sizes["period"])
    types = (
        [str(t) for t in post["rival_type"].values.tolist()]
        if "rival_type" in post.coords
        else [f"type {k}" for k in range(post.sizes["rival_type"])]
    )
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 3.5))
    else:
        fig = ax.figure  # type: ignore[assignment]
    ax.stackplot(periods, values.T, labels=types, alpha=0.85)
    ax.set_ylim(0.0, 1.0)
    if len(periods) > 1:
        ax.set_xlim(periods[0], periods[-1])
    ax.set_xlabel("period")
    ax.set_ylabel("P(rival type)")
    for period, label in _events(events):
        ax.axvline(period, color="black", linewidth=0.8, linestyle="--")
        ax.text(
            period,
            0.98,
            f" {label}",
            rotation=90,
            va="top",
            ha="left",
            fontsize=7,
            transform=ax.get_xaxis_transform(),
        )
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    if title is not None:
        ax.set_title(title)
    assert fig is not None
    return fig
