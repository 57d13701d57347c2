"""The report's figures as PNG bytes, drawn by the library's figure functions.

Each figure is a :class:`ReportFigure`: its name (the Markdown twin's file is
``report_<name>.png``), the PNG, an alternative text and a caption. The belief, evidence,
decision, fit and what-if figures are those of :mod:`secdilemma.interfaces.plots`; only the
comparison of the aware and the naive observer is drawn here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.interfaces.plots import (
    plot_decision,
    plot_evidence,
    plot_fit,
    plot_type_posterior,
)
from secdilemma.interfaces.plots.whatif import plot_decision_map
from secdilemma.interfaces.report.inputs import ReportInputs

__all__ = ["FIGURE_NAMES", "ReportFigure", "figure_file", "report_figures"]

#: Every figure a report can hold, in the order of the report. ``fit`` needs a fit and
#: ``whatif`` a sweep over two numeric inputs; the others are always there.
FIGURE_NAMES = ("belief", "fit", "evidence", "observers", "decision", "whatif")

_DPI = 100


@dataclass(frozen=True)
class ReportFigure:
    """One figure: ``name``, the ``png`` bytes, an ``alt`` text and a ``caption``."""

    name: str
    png: bytes
    alt: str
    caption: str


def figure_file(name: str) -> str:
    """The Markdown twin's file of figure ``name``: ``report_<name>.png``."""
    return f"report_{name}.png"


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt  # here: keeps `import secdilemma` light

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()


def observers_figure(aware: xr.Dataset, naive: xr.Dataset, title: str) -> Any:
    """Each type's filtered probability over time: the aware observer (solid) against the
    naive one (dashed), one colour per type."""
    from matplotlib.figure import Figure  # here: keeps `import secdilemma` light

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    periods = aware["period"].values
    for i, t in enumerate(aware["rival_type"].values):
        colour = f"C{i}"
        ax.plot(
            periods,
            aware["filtered"].sel(rival_type=t).values,
            color=colour,
            label=f"{t}, aware",
            gid=f"aware:{t}",
        )
        ax.plot(
            periods,
            naive["filtered"].sel(rival_type=t).values,
            color=colour,
            ls="--",
            label=f"{t}, naive",
            gid=f"naive:{t}",
        )
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("period")
    ax.set_ylabel("P(type | data up to the period)")
    ax.set_title(title, fontsize="medium")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return fig


def _whatif(sweep: xr.Dataset | None) -> tuple[Any, str] | None:
    if sweep is None or "best_action" not in sweep:
        return None
    try:
        fig = plot_decision_map(sweep)
    except ParameterError:
        return None  # a sweep over fewer than two numeric inputs: the report says so
    dims = [str(d) for d in sweep["best_action"].dims if sweep.sizes[d] > 1]
    return fig, f"Best action over the swept inputs ({', '.join(dims)})."


def report_figures(inputs: ReportInputs) -> dict[str, ReportFigure]:
    """Draw the report's figures (those its inputs allow), keyed by name."""
    study, setting = inputs.study, inputs.study.setting
    kind = str(inputs.posterior.attrs.get("study_observer", setting.observer))
    events = study.data_and_moves()[0]
    figs: dict[str, tuple[Any, str, str]] = {}
    figs["belief"] = (
        plot_type_posterior(
            inputs.posterior["filtered"],
            events=events,
            title=setting.title(f"{kind} observer, exact engine"),
        ),
        "Stacked probabilities of the rival's types over time, with the events numbered.",
        f"The {kind} observer's belief, period by period (parameters fixed; events marked).",
    )
    if study.model_ is not None:
        figs["fit"] = (
            plot_fit(study.model_, title=setting.title("full Bayesian fit")),
            "The fitted type probabilities over time with their bands, and the parameters.",
            "The full Bayesian fit: type probabilities integrating over the parameters.",
        )
    figs["evidence"] = (
        plot_evidence(
            inputs.evidence,
            with_signals=inputs.posterior["filtered"],
            without_signals=inputs.bare["filtered"],
            title=setting.title("what moved the belief (exact observer)"),
        ),
        "Log-odds contributions of the buildups and each signal channel, period by period.",
        "What moved the belief: the contribution of each source of evidence.",
    )
    figs["observers"] = (
        observers_figure(inputs.aware, inputs.naive, setting.title("aware against naive")),
        "Each type's probability over time for the aware (solid) and naive (dashed) observer.",
        "The aware observer knows its own buildups threaten the rival; the naive one does not.",
    )
    figs["decision"] = (
        plot_decision(inputs.decision, title=setting.title(f"decision, {inputs.engine} engine")),
        "Expected utility of each action against the probability of greed, p* marked.",
        "Expected utility of each action along the greed axis; the current belief and p*.",
    )
    whatif = _whatif(inputs.sweep)
    if whatif is not None:
        figs["whatif"] = (whatif[0], "Map of the best action over two swept inputs.", whatif[1])
    return {
        name: ReportFigure(name, _png(fig), alt, caption)
        for name, (fig, alt, caption) in figs.items()
    }
