"""Render a report with Jinja2: one self-contained HTML file and its Markdown twin.

The HTML template is autoescaped (every string from the data or a spec is escaped) and
embeds its figures as base64 ``data:`` URIs, so the file makes no request and needs no side
folder; its Content-Security-Policy forbids any. The Markdown twin (no autoescape: its
filter :func:`md` escapes what Markdown would read as markup, table pipes included)
references its figures as PNG files beside it (``report_<name>.png``). The templates are
package data: ``secdilemma/interfaces/report/templates/``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Any

import jinja2

from secdilemma.errors import ParameterError
from secdilemma.interfaces.report.context import build_context
from secdilemma.interfaces.report.figures import ReportFigure, figure_file, report_figures
from secdilemma.interfaces.report.inputs import ReportInputs
from secdilemma.io import OutputRun

__all__ = [
    "FORMATS",
    "md",
    "parse_formats",
    "render_html",
    "render_md",
    "report_files",
    "write_report",
]

#: The formats a report is written in: ``report.html`` and ``report.md`` (with its figures).
FORMATS = ("html", "md")

_LOADER = jinja2.PackageLoader("secdilemma.interfaces.report", "templates")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(value: Any) -> str:
    """``value`` as Markdown text that reads as itself: markup characters (``* _ [ ] < > |
    # \\`` and backticks) escaped, line breaks folded, so it is safe in a table cell too."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_LOADER,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md
    return env


_HTML = _env(autoescape=True)
_MD = _env(autoescape=False)


def parse_formats(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"html"``, ``"md"``, ``"both"``/``None`` (both) or a sequence of them as a tuple of
    :data:`FORMATS`; anything else raises a :class:`ParameterError` naming ``--format``."""
    if text is None:
        return FORMATS
    parts = [text] if isinstance(text, str) else list(text)
    names = [p.strip().lower() for part in parts for p in str(part).split(",") if p.strip()]
    bad = [n for n in names if n not in (*FORMATS, "both")]
    if bad or not names:
        raise ParameterError(
            f"--format: {', '.join(map(repr, bad)) or 'nothing'} is not a report format; "
            "write --format html, --format md or --format both (the default)."
        )
    return tuple(f for f in FORMATS if f in names or "both" in names)


def report_files(figures: Iterable[str], formats: Sequence[str] = FORMATS) -> list[str]:
    """The files a report writes: ``report.html`` and ``report.md`` with a PNG per figure."""
    files = ["report.html"] if "html" in formats else []
    if "md" in formats:
        files += ["report.md", *(figure_file(f) for f in figures)]
    return files


def render_html(context: dict[str, Any], figures: dict[str, ReportFigure]) -> str:
    """The self-contained HTML page: figures as ``data:image/png;base64`` URIs."""
    figs = {
        name: {
            "uri": "data:image/png;base64," + base64.b64encode(f.png).decode("ascii"),
            "alt": f.alt,
            "caption": f.caption,
        }
        for name, f in figures.items()
    }
    return _HTML.get_template("report.html.j2").render(**context, figs=figs)


def render_md(context: dict[str, Any], figures: dict[str, ReportFigure]) -> str:
    """The Markdown twin: figures as links to ``report_<name>.png`` beside it."""
    figs = {
        name: {"file": figure_file(name), "alt": f.alt, "caption": f.caption}
        for name, f in figures.items()
    }
    return _MD.get_template("report.md.j2").render(**context, figs=figs)


def write_report(
    inputs: ReportInputs,
    run: OutputRun,
    *,
    formats: Sequence[str] = FORMATS,
    figures: dict[str, ReportFigure] | None = None,
) -> list[str]:
    """Write the report of ``inputs`` through ``run`` (whose declared files must include
    :func:`report_files` of the figures drawn); returns the files written."""
    figures = report_figures(inputs) if figures is None else figures
    context = build_context(inputs, set(figures))
    written = []
    if "html" in formats:
        run.path("report.html").write_text(render_html(context, figures), encoding="utf-8")
        written.append("report.html")
    if "md" in formats:
        run.path("report.md").write_text(render_md(context, figures), encoding="utf-8")
        written.append("report.md")
        for name, fig in figures.items():
            run.path(figure_file(name)).write_bytes(fig.png)
            written.append(figure_file(name))
    return written
