"""``secdilemma report``: one self-contained HTML page (and a Markdown twin) for a policy
reader: the question, the data and their caveats, the spec's world and its reasons, the
diagnostics, the belief over time, what moved it, aware against naive, the decision with p*,
EVPI and its sensitivity to the priors, and the what-if map where a sweep exists.

:func:`gather` / :func:`from_folder` collect the results (:mod:`.inputs`),
:func:`report_figures` draws them (:mod:`.figures`), :func:`build_context` turns them into
plain values (:mod:`.context`) and :func:`write_report` renders the Jinja2 templates
(:mod:`.render`; ``templates/``). The verb lives in :mod:`.command`.
"""

from __future__ import annotations

from secdilemma.interfaces.report.context import SECTIONS, build_context
from secdilemma.interfaces.report.figures import FIGURE_NAMES, ReportFigure, report_figures
from secdilemma.interfaces.report.inputs import ReportInputs, from_folder, gather
from secdilemma.interfaces.report.render import (
    FORMATS,
    parse_formats,
    render_html,
    render_md,
    report_files,
    write_report,
)

__all__ = [
    "FIGURE_NAMES",
    "FORMATS",
    "SECTIONS",
    "ReportFigure",
    "ReportInputs",
    "build_context",
    "from_folder",
    "gather",
    "main_report_files",
    "parse_formats",
    "render_html",
    "render_md",
    "report_figures",
    "report_files",
    "write_report",
]


def main_report_files(fit: bool) -> list[str]:
    """The report files ``secdilemma main`` declares (no sweep in a fresh main folder)."""
    names = [n for n in FIGURE_NAMES if n != "whatif" and (fit or n != "fit")]
    return report_files(names)
