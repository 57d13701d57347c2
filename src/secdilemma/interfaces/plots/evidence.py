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

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["greed_log_odds", "plot_evidence", "rests_on"]

#: ``gid`` of each source's bars (``evidence-<source>``), for tests.
BAR_GID = "evidence-"


def greed_log_odds(ev: xr.Dataset) -> xr.DataArray:
    """Per source and period, the log-likelihood ratio of the greed-motivated types (greed
    loading > 0.5, the ``greed`` coord) against the others, each side the mean of its types'
    log-likelihoods.

    When the types do not split on greed (e.g. only greedy and mixed), the split is on fear
    instead, and failing that the first type against the others; with one type there is
    nothing to tell apart and the ratio is 0. ``long_name`` says which comparison it is.
    """
    names = [str(n) for n in ev["rival_type"].values]
    ll = ev["loglik"]
    splits = [
        (np.asarray(ev["greed"].values, dtype=float) > 0.5, "the greed-motivated types"),
        (np.asarray(ev["fear"].values, dtype=float) > 0.5, "the fear-motivated types"),
        (np.arange(len(names)) == 0, names[0]),
    ]
    for side, label in splits:
        if side.any() and not side.all():
            on = ll.isel(rival_type=np.flatnonzero(side)).mean("rival_type")
            off = ll.isel(rival_type=np.flatnonzero(~side)).mean("rival_type")
            out = on - off
            out.attrs["long_name"] = f"log-likelihood ratio, {label} against the others"
            out.attrs["towards"] = label
            break
    else:  # one type
        out = xr.zeros_like(ll.isel(rival_type=0, drop=True))
        out.attrs["long_name"] = f"one type ({names[0]}): nothing to tell apart"
        out.attrs["towards"] = names[0]
    out.name = "greed_log_odds"
    return out


def rests_on(odds: xr.DataArray, *, ratio: float = 5.0) -> str:
    """One sentence on what the belief rests on: the net push of the spending changes (the
    first source, ``buildups``) and of the signal channels together, over the whole window,
    in the units of ``odds`` (:func:`greed_log_odds`), with the channel that pushed most.

    The verdict names a side where its net push is at least ``ratio`` times the other's and
    at least 1 (a likelihood ratio of e); otherwise both.

    >>> import xarray as xr
    >>> odds = xr.DataArray([[0.01, 0.02], [-3.0, -2.0], [0.5, 0.0]], dims=("source", "period"),
    ...                     coords={"source": ["buildups", "disputes", "pacts"]})
    >>> rests_on(odds)  # doctest: +NORMALIZE_WHITESPACE
    'what the belief rests on: the spending changes push +0.03 over the window, the signal
    channels -4.50 (most: disputes -5.00): mostly the signal channels, read with their
    coefficients (see which, above)'
    """
    total = odds.sum("period")
    buildups = float(total.isel(source=0))
    if total.sizes["source"] < 2:
        return f"what the belief rests on: the spending changes alone ({buildups:+.2f})"
    chans = total.isel(source=slice(1, None))
    signals = float(chans.sum())
    top = int(np.argmax(np.abs(chans.values)))
    most = f"{chans['source'].values[top]} {float(chans[top]):+.2f}"
    a, b = abs(buildups), abs(signals)
    if b >= max(ratio * a, 1.0):
        verdict = "mostly the signal channels, read with their coefficients (see which, above)"
    elif a >= max(ratio * b, 1.0):
        verdict = "mostly the spending changes"
    else:
        verdict = "both, neither far ahead"
    return (
        f"what the belief rests on: the spending changes push {buildups:+.2f} over the window, "
        f"the signal channels {signals:+.2f} (most: {most}): {verdict}"
    )


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
    ax1.set_ylabel(f"push towards {odds.attrs['towards']}\n(log-likelihood ratio)", fontsize=8)
    ax1.set_xlabel("period")
    ax1.legend(fontsize=7, ncol=3, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
