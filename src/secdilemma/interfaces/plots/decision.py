"""Plot of a decision: expected utility against the posterior probability of greed."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

__all__ = ["plot_decision"]


def plot_decision(result: xr.Dataset, *, ax: Any = None, title: str | None = None) -> Any:
    """Expected utility of each action along the greed axis, current belief and p* marked.

    Parameters
    ----------
    result
        The Dataset returned by :func:`~secdilemma.decision.decide`.
    ax
        A matplotlib Axes to draw on (a new figure when ``None``).
    title
        First line of the title (e.g. the study's case or dyad, years and world); the
        recommendation follows on the next line.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled by action (``gid`` ``"eu:<action>"``), the current belief (``gid``
        ``"current"``) and the threshold (``gid`` ``"threshold"``, when it exists).
    """
    needed = {"eu_curve", "expected_utility", "p_greed", "threshold"}
    if not isinstance(result, xr.Dataset) or not needed <= set(result.data_vars):
        raise ParameterError(
            "plot_decision: `result` must be the Dataset returned by decide() (with "
            f"{sorted(needed)})."
        )
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    else:
        fig = ax.figure
    x = result["greed_axis"].values
    p = float(result["p_greed"])
    for action in result["action"].values:
        curve = result["eu_curve"].sel(action=action).values
        (line,) = ax.plot(x, curve, label=str(action), gid=f"eu:{action}")
        ax.plot(
            [p],
            [float(np.interp(p, x, curve))],
            "o",
            color=line.get_color(),
            gid=f"current:{action}",
        )
    ax.axvline(p, color="0.3", linestyle=":", label=f"current belief ({p:.2f})", gid="current")
    p_star = float(result["threshold"])
    if np.isfinite(p_star):
        ax.axvline(p_star, color="0.5", linestyle="--", label=f"p* = {p_star:.2f}", gid="threshold")
    ax.set_xlabel("posterior probability of greed, P(greed motive)")
    ax.set_ylabel("expected utility")
    heading = title
    rec = result.attrs.get("recommended", "")
    title = f"recommended: {rec}"
    if "p_best" in result and rec in result["action"].values:
        title += f"  (P(best) = {float(result['p_best'].sel(action=rec)):.2f}"
        if "evpi" in result:
            title += f", EVPI = {float(result['evpi']):.3g}"
        title += ")"
    ax.set_title(title if heading is None else f"{heading}\n{title}", fontsize="medium")
    ax.set_xlim(0.0, 1.0)
    ax.legend(loc="best", fontsize="small")
    return fig
