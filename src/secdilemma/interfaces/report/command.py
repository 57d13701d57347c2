"""The ``report`` verb (registered by :func:`register`): a study's report for a policy reader.

``secdilemma report STUDY_OR_FIT [--out DIR] [--format html|md|both]`` writes
``report.html`` (self-contained: figures embedded, no request) and ``report.md`` with its
figures (``report_<name>.png``) beside it. STUDY_OR_FIT is a bundled case, a spec file, a
saved fit (``fit.nc``) or an output folder of ``secdilemma fit``/``main``/``filter``/
``decide`` (its saved results are read, never refitted; the report goes into that folder
unless ``--out`` says otherwise); ``--dyad A:B`` studies a pair of states. Without a fit the
report uses the exact observer, and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from secdilemma.errors import ParameterError
from secdilemma.interfaces import console as out
from secdilemma.interfaces.options import (
    Delta,
    Dyad,
    End,
    NSims,
    ObserverKind,
    Omega,
    Out,
    Overwrite,
    Params,
    Prior,
    Source,
    Start,
    make_study,
    output_folder,
    user_errors,
)
from secdilemma.interfaces.report.figures import FIGURE_NAMES, report_figures
from secdilemma.interfaces.report.inputs import ReportInputs, from_folder, gather
from secdilemma.interfaces.report.render import parse_formats, report_files, write_report
from secdilemma.io import OutputRun
from secdilemma.study import Study

__all__ = ["register", "report_cmd", "report_inputs"]

StudyOrFit = Annotated[
    str | None,
    typer.Argument(
        metavar="[STUDY_OR_FIT]",
        help="A bundled case, a spec file (.toml), a saved fit (fit.nc) or an output folder "
        "of `secdilemma fit` or `main` (its results are reused, not refitted). Leave out "
        "with --dyad.",
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="html|md|both",
        help="report.html (self-contained), report.md (figures as PNG files beside it), or both.",
    ),
]


def _is_folder(target: str) -> bool:
    path = Path(target)
    return path.is_dir() or (not path.suffix and ("/" in target or "\\" in target))


def report_inputs(
    target: str | None, *, dyad: str | None = None, n_sims: int = 2000, **given: Any
) -> tuple[ReportInputs, Path | None]:
    """The report's inputs for the verb's arguments, and the folder they came from (an
    output folder) or ``None``. ``given`` holds the options that build a study (``source``,
    ``start``, ``end``, ``omega``, ``delta``, ``prior``, ``observer``, ``params``); they are
    refused with a saved fit or an output folder, whose results are already made."""
    saved = target is not None and dyad is None and (_is_folder(target) or target.endswith(".nc"))
    if saved:
        assert target is not None
        changed = sorted(k for k, v in given.items() if v is not None and k not in _DEFAULTS)
        changed += sorted(k for k, v in given.items() if k in _DEFAULTS and v != _DEFAULTS[k])
        if changed:
            raise ParameterError(
                f"--{', --'.join(changed)}: {target} holds results already made; report on a "
                "case, a spec or --dyad to choose these, or rerun the fit with them."
            )
        if target.endswith(".nc"):
            if not Path(target).is_file():
                raise ParameterError(f"STUDY_OR_FIT: {target} does not exist; give a fit.nc.")
            study = Study.from_fit(target)
            return gather(study, n_sims=n_sims, origin=f"saved fit {target}"), None
        return from_folder(target, n_sims=n_sims), Path(target)
    study = make_study(target, dyad=dyad, **given)
    return gather(study, engine="exact", n_sims=n_sims), None


_DEFAULTS = {"source": "nmc", "params": "reference"}


def report_cmd(
    target: StudyOrFit = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    observer: ObserverKind = None,
    params: Params = "reference",
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    fmt: Format = "both",
    n_sims: NSims = 2000,
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """A report for a policy reader: one self-contained HTML page and its Markdown twin.

    The question (greedy, insecure or mixed? which action?), the data and their caveats, the
    world and the spec's reasons, the diagnostics, the belief over time, what moved it,
    aware against naive, the decision with p*, EVPI and its sensitivity to the priors, and
    the what-if map where the folder holds a sweep. Without a fit it uses the exact observer.
    """
    with user_errors():
        formats = parse_formats(fmt)
        known = out_dir or (Path(target) if target and not dyad and _is_folder(target) else None)
        if known is not None:  # refuse an existing report before any work
            OutputRun(known, report_files(FIGURE_NAMES, formats), overwrite=overwrite)
        inputs, folder = report_inputs(
            target, dyad=dyad, n_sims=n_sims, source=source, start=start, end=end,
            observer=observer, params=params, omega=omega, delta=delta, prior=prior,
        )  # fmt: skip
        if out_dir is not None or folder is None:
            folder = output_folder(out_dir, "report", inputs.study.setting.name)
        out.print_setting(inputs.study.setting)
        figures = report_figures(inputs)
        files = report_files(figures, formats)
        with OutputRun(folder, files, overwrite=overwrite) as run:
            write_report(inputs, run, formats=formats, figures=figures)
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``report`` verb to the command line's ``app``."""
    app.command("report")(report_cmd)
