"""Plot of a decision: expected utility against the posterior probability of greed."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

__all__ = ["plot_decision"]

_X_MARGIN = 0.03  # the greed axis runs a little past [0, 1], so p* = 0 or 1 stays visible
_STAGGER = 0.015  # horizontal offset between the actions' intervals at the current belief


def _level(result: xr.Dataset) -> int:
    return round(100 * float(result.attrs.get("ci_prob", 0.9)))


def _legend_label(result: xr.Dataset, action: Any, level: int) -> str:
    r = result.sel(action=action)
    label = f"{action}: EU {float(r['expected_utility']):.2f}"
    if "eu_lower" in result and "eu_upper" in result:
        label += f" [{level} %: {float(r['eu_lower']):.2f}, {float(r['eu_upper']):.2f}]"
    if "p_best" in result:
        label += f", P(best) {float(r['p_best']):.2f}"
    return label


def _offsets(result: xr.Dataset) -> np.ndarray:
    """Horizontal offsets of the actions' points at the current belief: none, unless two
    expected utilities are so close (within 4 % of the curves' range) that the points hide
    each other; then every point is set a little apart."""
    eu = np.asarray(result["expected_utility"].values, dtype=float)
    curves = np.asarray(result["eu_curve"].values, dtype=float)
    tol = 0.04 * max(float(np.ptp(curves)), 1e-12)
    close = np.abs(eu[:, None] - eu[None, :]) < tol
    if not np.any(close & ~np.eye(eu.size, dtype=bool)):
        return np.zeros(eu.size)
    return _bar_offsets(eu.size)


def _bar_offsets(n: int) -> np.ndarray:
    """The intervals always stand apart (they overlap in height more often than not)."""
    return (np.arange(n) - (n - 1) / 2) * _STAGGER


def _headline(result: xr.Dataset, level: int) -> str:
    rec = str(result.attrs.get("recommended", ""))
    text = f"recommended: {rec} (highest expected utility)"
    if "evpi" in result:
        text += f"; EVPI = {float(result['evpi']):.3f} (value of knowing the type)"
    shade = "; shading: the same along the axis" if "eu_curve_lower" in result else ""
    return f"{text}\nbars: {level} % interval of expected utility over the posterior draws{shade}"


def plot_decision(result: xr.Dataset, *, ax: Any = None, title: str | None = None) -> Any:
    """Expected utility of each action along the greed axis, current belief and p* marked.

    Every action of the result is drawn (two, three or more). At the current belief each
    action's expected utility is a point with its interval over the posterior draws (the
    result's ``ci_prob`` level, named in the title and the legend); the points are set a
    little apart so that close utilities do not hide each other. Where the result has
    ``eu_curve_lower``/``eu_curve_upper``, each curve carries its band at the same level.

    Parameters
    ----------
    result
        The Dataset returned by :func:`~secdilemma.decision.decide`.
    ax
        A matplotlib Axes to draw on (a new figure when ``None``).
    title
        First line of the title (e.g. the study's case or dyad, years and world); the
        recommendation, EVPI and the interval level follow.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled by action (``gid`` ``"eu:<action>"``), their bands (``gid``
        ``"band:<action>"``, when the result has them), each action's interval at the
        current belief (``gid`` ``"interval:<action>"``), the current belief (``gid``
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
        fig, ax = plt.subplots(figsize=(7.5, 5.2), layout="constrained")
    else:
        fig = ax.figure
    level = _level(result)
    x = result["greed_axis"].values
    p = float(result["p_greed"])
    actions = list(result["action"].values)
    handles, labels = [], []
    bars = _bar_offsets(len(actions))
    for action, dx, bx in zip(actions, _offsets(result), bars, strict=True):
        curve = result["eu_curve"].sel(action=action).values
        (line,) = ax.plot(x, curve, label=str(action), gid=f"eu:{action}", lw=1.8)
        handles.append(line)
        if "eu_curve_lower" in result and "eu_curve_upper" in result:
            ax.fill_between(
                x, result["eu_curve_lower"].sel(action=action).values,
                result["eu_curve_upper"].sel(action=action).values,
                color=line.get_color(), alpha=0.15, lw=0, gid=f"band:{action}",
            )  # fmt: skip
        labels.append(_legend_label(result, action, level))
        xp, xb = (min(max(p + d, -_X_MARGIN / 2), 1 + _X_MARGIN / 2) for d in (dx, bx))
        eu = float(result["expected_utility"].sel(action=action))
        if "eu_lower" in result and "eu_upper" in result:
            lo = float(result["eu_lower"].sel(action=action))
            hi = float(result["eu_upper"].sel(action=action))
            ax.errorbar(
                [xb], [eu], yerr=[[max(eu - lo, 0.0)], [max(hi - eu, 0.0)]], fmt="none",
                ecolor=line.get_color(), capsize=3, lw=1.2, gid=f"interval:{action}",
            )  # fmt: skip
        ax.plot([xp], [eu], "o", ms=5, color=line.get_color(), gid=f"current:{action}")
    cur = ax.axvline(p, color="0.3", ls=":", gid="current")
    handles.append(cur)
    labels.append(f"current belief, P(greed) = {p:.2f}")
    p_star = float(result["threshold"])
    if np.isfinite(p_star):
        upper = result.attrs.get("threshold_upper_action", "")
        above = f" ({upper} above)" if upper else ""
        thr = ax.axvline(p_star, color="0.5", ls="--", gid="threshold")
        handles.append(thr)
        labels.append(f"p* = {p_star:.2f}{above}")
    ax.set_xlabel("posterior probability of greed, P(greed motive)")
    ax.set_ylabel("expected utility (utility units)")
    head = _headline(result, level)
    ax.set_title(head if title is None else f"{title}\n{head}", fontsize="medium")
    ax.set_xlim(-_X_MARGIN, 1.0 + _X_MARGIN)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.13),
        ncols=1 if len(actions) > 2 else 2,
        fontsize="small", frameon=False, title=f"at the current belief ({level} % interval)",
        title_fontsize="small",
    )  # fmt: skip
    return fig
