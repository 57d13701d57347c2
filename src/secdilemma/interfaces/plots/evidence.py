"""The evidence figure: what the buildups and each signal channel did to the belief.

Top: the filtered belief in each type, with every source (solid) and from the buildups
alone (dashed). Bottom: each period's push of every source towards the greed-motivated
types, the log-likelihood ratio of the types with a greed motive against those without
(greedy and mixed against insecure with the default types), as stacked bars: bars above 0
read as greed, below as fear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["greed_log_odds", "plot_evidence"]

#: ``gid`` of each source's bars (``evidence-<source>``), for tests.
BAR_GID = "evidence-"


def greed_log_odds(ev: xr.Dataset) -> xr.DataArray:
    """Per source and period, the log-likelihood ratio of the greed-motivated types (greed
    loading > 0.5, the ``greed`` coord) against the others, each side the mean of its types'
    log-likelihoods.

    Raises :class:`~secdilemma.errors.ParameterError` when every type (or none) has a greed
    motive, so there is nothing to compare.
    """
    names = [str(n) for n in ev["rival_type"].values]
    greedy = np.asarray(ev["greed"].values, dtype=float) > 0.5
    if greedy.all() or not greedy.any():
        raise ParameterError(
            f"greed_log_odds: types {names} are all on one side of the greed motive; the "
            "figure compares types with and without it."
        )
    ll = ev["loglik"]
    on = ll.isel(rival_type=np.flatnonzero(greedy)).mean("rival_type")
    off = ll.isel(rival_type=np.flatnonzero(~greedy)).mean("rival_type")
    out = on - off
    out.name = "greed_log_odds"
    out.attrs["long_name"] = "log-likelihood ratio, greed-motivated types against the others"
    return out


def plot_evidence(
    ev: xr.Dataset,
    *,
    without_signals: xr.DataArray | None = None,
    with_signals: xr.DataArray | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """The evidence figure of :func:`secdilemma.observers.evidence_decomposition`'s result.

    ``with_signals`` and ``without_signals`` are filtered belief paths (``period``,
    ``rival_type``), e.g. ``Study.belief()["filtered"]`` and
    ``Study.belief(signals=False)["filtered"]``; without them the top panel is left out.
    """
    from matplotlib.figure import Figure  # here: keeps `import secdilemma` light

    odds = greed_log_odds(ev)
    periods = ev["period"].values
    top = with_signals is not None
    fig = Figure(figsize=(9.0, 6.0 if top else 3.4), layout="constrained")
    axes = fig.subplots(2 if top else 1, 1, sharex=True, squeeze=False)[:, 0]
    if top:
        assert with_signals is not None
        ax0 = axes[0]
        for i, k in enumerate(with_signals["rival_type"].values):
            colour = f"C{i}"
            ax0.plot(periods, with_signals.sel(rival_type=k).values, color=colour, label=str(k))
            if without_signals is not None:
                ax0.plot(periods, without_signals.sel(rival_type=k).values, color=colour,
                         linestyle="--", label=f"{k}, buildups only")  # fmt: skip
        ax0.set_ylim(0, 1)
        ax0.set_ylabel("P(type | data up to t)")
        ax0.legend(fontsize=7, ncol=3, loc="upper left")
    ax1 = axes[-1]
    pos = np.zeros(periods.size)
    neg = np.zeros(periods.size)
    for i, src in enumerate(ev["source"].values):
        v = np.nan_to_num(odds.sel(source=src).values)
        bottom = np.where(v >= 0, pos, neg)
        ax1.bar(periods, v, bottom=bottom, color=f"C{i + 3}", label=str(src),
                gid=f"{BAR_GID}{src}")  # fmt: skip
        pos = pos + np.maximum(v, 0)
        neg = neg + np.minimum(v, 0)
    ax1.axhline(0.0, color="black", linewidth=0.6)
    ax1.set_ylabel("push towards greed\n(log-likelihood ratio)")
    ax1.set_xlabel("period")
    ax1.legend(fontsize=7, ncol=3, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
