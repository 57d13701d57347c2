"""The ``secdilemma`` command line: argument parsing and printing around :class:`Study`.

Every verb builds one :class:`secdilemma.Study` (from a bundled case, a spec file, a pair of
states given with ``--dyad``, or a saved fit), prints its resolved setting, runs the study's
steps and writes its files through :class:`secdilemma.io.OutputRun`: every output path is
checked before anything is computed, and a folder holds a whole run or nothing. A
:class:`~secdilemma.errors.SecdilemmaError` is printed verbatim on one line of stderr with
exit status 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from secdilemma._version import __version__
from secdilemma.data import list_cases, load_case
from secdilemma.errors import ParameterError, SecdilemmaError
from secdilemma.interfaces import console as out
from secdilemma.io import OutputRun, save_dataset
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.study import PARAM_SOURCES, VARIANTS, Study

__all__ = ["app", "main"]

app = typer.Typer(
    name="secdilemma",
    help="Bayesian perception inference in the security dilemma: is the rival greedy, "
    "insecure or mixed, and should we deter or reassure?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
cases_app = typer.Typer(help="List the bundled cases, or show one.", no_args_is_help=False)
spec_app = typer.Typer(help="Write model specs.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(spec_app, name="spec")

_STATE = {"debug": False}

# ---------------------------------------------------------------------------------------------
# options shared by several commands
# ---------------------------------------------------------------------------------------------
Target = Annotated[
    str | None,
    typer.Argument(
        metavar="[CASE_OR_SPEC]",
        help="A bundled case (its spec in models/, see `secdilemma cases`) or a model spec "
        "file (.toml). Leave out with --dyad.",
    ),
]
Dyad = Annotated[
    str | None,
    typer.Option(
        metavar="OBSERVER:RIVAL",
        help="Any pair of states instead of a case: COW codes, abbreviations or names, "
        "e.g. IND:PAK or 'United States:China'.",
    ),
]
Source = Annotated[str, typer.Option(help="With --dyad: spending source, nmc or sipri.")]
Start = Annotated[int | None, typer.Option(help="First year (default: the spec's or data's).")]
End = Annotated[int | None, typer.Option(help="Last year (default: the spec's or data's).")]
Omega = Annotated[
    float | None,
    typer.Option(help="Offense advantage in [0, 1] (default: the spec's, else 0.5)."),
]
Delta = Annotated[
    float | None,
    typer.Option(help="Distinguishability in [0, 1] (default: the spec's, else 0.5)."),
]
Prior = Annotated[
    str | None,
    typer.Option(
        metavar="TYPE=P,...",
        help="The observer's prior over types, e.g. greedy=0.6,insecure=0.2,mixed=0.2, or "
        "'uniform' (default: the spec's, else uniform). Types left out get 0.",
    ),
]
ObserverKind = Annotated[
    str | None,
    typer.Option(help=f"Observer kind: {', '.join(OBSERVER_KINDS)} (default: spec's, aware)."),
]
Params = Annotated[
    str,
    typer.Option(
        help=f"The exact observer's parameters, one of {', '.join(PARAM_SOURCES)}: the pooled "
        "reference over other rivalries (models/reference_params.toml), an estimate from this "
        "dyad alone, or the package defaults."
    ),
]
Horizon = Annotated[
    int | None, typer.Option(help="Periods simulated per action (default: spec's, else 10).")
]
Seed = Annotated[
    int | None,
    typer.Option(help="Seed of every random step: sampling, draws, futures (default: spec's)."),
]
Variable = Annotated[str | None, typer.Option(help="Capability series (default: spec's, milex).")]
CaseObserver = Annotated[
    str | None, typer.Option(help="Alternative observer state where the case has several.")
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing output files.")]
Sampler = Annotated[
    str | None, typer.Option(help="NUTS backend: nutpie or pymc (default: the spec's).")
]
Chains = Annotated[int | None, typer.Option(help="Chains (default: the spec's, else 4).")]
Draws = Annotated[int | None, typer.Option(help="Draws per chain (default: spec's, 1000).")]
Tune = Annotated[int | None, typer.Option(help="Tuning steps per chain (default: 1000).")]
NSims = Annotated[int, typer.Option(help="Simulated futures per type.")]


def _out_option(verb: str) -> Any:
    return Annotated[
        Path | None,
        typer.Option("--out", help=f"Output folder (default results/{verb}-NAME-TIME)."),
    ]


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Print a SecdilemmaError verbatim on one line of stderr and exit with status 2."""
    try:
        yield
    except SecdilemmaError as exc:
        if _STATE["debug"]:
            raise
        msg = " ".join(str(exc).split())
        sys.stderr.write(f"error ({type(exc).__name__}): {msg}\n")
        raise typer.Exit(code=2) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"secdilemma {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show the traceback of an error.")] = False,
) -> None:
    """Bayesian perception inference in the security dilemma."""
    _STATE["debug"] = debug


# ---------------------------------------------------------------------------------------------
# building the study from the arguments
# ---------------------------------------------------------------------------------------------
def parse_prior(text: str | None) -> dict[str, float] | str | None:
    """``"greedy=0.6,insecure=0.4"`` → ``{"greedy": 0.6, "insecure": 0.4}``; ``"uniform"``."""
    if text is None or text.strip() == "uniform":
        return None if text is None else "uniform"
    prior: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            prior[name.strip()] = float(value)
        except ValueError:
            raise ParameterError(
                f"--prior: {part.strip()!r} is not TYPE=PROBABILITY; write e.g. "
                "--prior greedy=0.6,insecure=0.2,mixed=0.2 or --prior uniform."
            ) from None
    return prior


def parse_dyad(text: str) -> tuple[str, str]:
    """``"IND:PAK"`` → ``("IND", "PAK")``."""
    observer, sep, rival = text.partition(":")
    if not sep or not observer.strip() or not rival.strip():
        raise ParameterError(
            f"--dyad: {text!r} is not OBSERVER:RIVAL; write e.g. --dyad IND:PAK or "
            "--dyad 'United States:China'."
        )
    return observer.strip(), rival.strip()


def make_study(
    target: str | None,
    *,
    dyad: str | None = None,
    source: str = "nmc",
    prior: str | None = None,
    persistence: float | None = None,
    **overrides: Any,
) -> Study:
    """The study a verb's arguments describe (one of CASE_OR_SPEC or --dyad)."""
    if (target is None) == (dyad is None):
        raise ParameterError(
            "give a case or a spec (e.g. anglo_german_naval, models/us_china.toml), or a pair "
            "of states with --dyad OBSERVER:RIVAL, but not both."
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    if prior is not None:
        given["prior"] = parse_prior(prior)
    if persistence is not None:
        given["persistence"] = persistence
    if dyad is not None:
        observer_state, rival_state = parse_dyad(dyad)
        return Study.from_dyad(observer_state, rival_state, source=source, **given)
    assert target is not None
    return Study(target, **given)


def _out_dir(path: Path | None, verb: str, name: str) -> Path:
    if path is not None:
        return path
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "study"
    return Path("results") / f"{verb}-{safe}-{stamp}"


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, format="png", dpi=120)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
@cases_app.callback(invoke_without_command=True)
def cases(ctx: typer.Context) -> None:
    """List the bundled cases (``secdilemma cases show NAME`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    with _user_errors():
        table = Table(title="Bundled cases")
        table.add_column("name", no_wrap=True)
        for col in ("observer", "rival", "years", "variables", "events"):
            table.add_column(col)
        for name in list_cases():
            ds = load_case(name)
            series = [
                str(v)
                for v in ds.data_vars
                if "period" in ds[v].dims and "actor" in ds[v].dims and v != "signals"
            ]
            table.add_row(
                name,
                str(ds.attrs.get("observer", "")),
                str(ds.attrs.get("rival", "")),
                f"{int(ds.period.min())}-{int(ds.period.max())}",
                ", ".join(series),
                str(ds.sizes.get("event", 0)),
            )
        out.console.print(table)


@cases_app.command("show")
def cases_show(
    name: Annotated[str, typer.Argument(help="Case name (see `secdilemma cases`).")],
    observer: Annotated[
        str | None, typer.Option(help="Alternative observer, where the case has several.")
    ] = None,
) -> None:
    """Print a case's coverage, units, series and events."""
    with _user_errors():
        out.print_case(load_case(name, observer=observer))


# ---------------------------------------------------------------------------------------------
# spec new
# ---------------------------------------------------------------------------------------------
@spec_app.command("new")
def spec_new(
    target: Target = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    observer: ObserverKind = None,
    horizon: Horizon = None,
    seed: Seed = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: print it).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Write a study's resolved setting as a TOML spec (e.g. `spec new --dyad IND:PAK`).

    The spec loads back to the same study: `secdilemma fit my.toml`.
    """
    with _user_errors():
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, omega=omega,
            delta=delta, prior=prior, observer=observer, horizon=horizon, seed=seed,
        )  # fmt: skip
        text = study.to_spec(out_file, overwrite=overwrite)
        if out_file is None:
            sys.stdout.write(text)
        else:
            out.err_console.print(f"wrote {out_file}", markup=False)


# ---------------------------------------------------------------------------------------------
# filter
# ---------------------------------------------------------------------------------------------
def write_belief(study: Study, run: OutputRun, prefix: str = "", kind: str | None = None) -> Any:
    """Filter with the exact observer and write ``posterior.nc`` and ``posterior.png``."""
    from secdilemma.interfaces.plots import plot_type_posterior

    post = study.belief("exact", observer=kind)
    save_dataset(post, run.path(f"{prefix}posterior.nc"), overwrite=True)
    title = study.setting.title(f"{post.attrs['study_observer']} observer, exact engine")
    fig = plot_type_posterior(post["filtered"], events=study.data_and_moves()[0], title=title)
    _save_figure(fig, run.path(f"{prefix}posterior.png"))
    return post


@app.command("filter")
def filter_cmd(
    target: Target = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    observer: ObserverKind = None,
    params: Params = "reference",
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    persistence: Annotated[
        float | None, typer.Option(help="Switching types with this persistence (default static).")
    ] = None,
    variable: Variable = None,
    case_observer: CaseObserver = None,
    out_dir: _out_option("filter") = None,
    overwrite: Overwrite = False,
) -> None:
    """Exact Bayesian updating over rival types, with the model's parameters fixed.

    Prints P(type | data up to t) per period and writes posterior.nc and posterior.png.
    A bare case name means its spec (models/CASE.toml): its years, world and observer.
    """
    with _user_errors():
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, observer=observer,
            params=params, omega=omega, delta=delta, prior=prior, persistence=persistence,
            variable=variable, case_observer=case_observer,
        )  # fmt: skip
        folder = _out_dir(out_dir, "filter", study.setting.name)
        with OutputRun(folder, ["posterior.nc", "posterior.png"], overwrite=overwrite) as run:
            out.print_setting(study.setting)
            post = write_belief(study, run)
            out.print_posterior(
                post, study.setting, study.data_and_moves()[0], post.attrs["study_observer"]
            )
        out.console.print(f"wrote {folder}/posterior.nc and posterior.png", markup=False)


# ---------------------------------------------------------------------------------------------
# decide
# ---------------------------------------------------------------------------------------------
def write_decision(study: Study, run: OutputRun, engine: str, n_sims: int) -> Any:
    """Decide with the chosen engine's belief; write ``decision.nc`` and ``decision.png``."""
    from secdilemma.interfaces.plots import plot_decision

    res = study.decide(engine, n_sims=n_sims)  # type: ignore[arg-type]
    save_dataset(res, run.path("decision.nc"), overwrite=True)
    title = study.setting.title(f"decision, {engine} engine")
    _save_figure(plot_decision(res, title=title), run.path("decision.png"))
    return res


@app.command("decide")
def decide_cmd(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[CASE_SPEC_OR_FIT]",
            help="A bundled case, a spec file, or a saved fit (fit.nc from `secdilemma fit`). "
            "Leave out with --dyad.",
        ),
    ] = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    observer: ObserverKind = None,
    params: Params = "reference",
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    horizon: Horizon = None,
    n_sims: NSims = 2000,
    seed: Seed = None,
    engine: Annotated[
        str, typer.Option(help="Whose belief: 'exact' (parameters fixed) or 'fit' (PyMC).")
    ] = "exact",
    allow_world_change: Annotated[
        bool,
        typer.Option(
            help="From a saved fit: decide under another --omega/--delta than the fit's "
            "(the belief stays the one fitted under the fit's world; the output says so)."
        ),
    ] = False,
    out_dir: _out_option("decide") = None,
    overwrite: Overwrite = False,
) -> None:
    """Deter or reassure? The decision fed by the observer's posterior.

    From a case, spec or dyad the belief is the exact observer's at the last period
    (--engine fit fits first); from a saved fit it is the fit's posterior, and the decision
    integrates over the fit's parameter draws. Writes decision.nc and decision.png.
    """
    with _user_errors():
        if target is not None and target.endswith(".nc"):
            if observer is not None or prior is not None or dyad is not None:
                raise ParameterError(
                    "--observer, --prior and --dyad change the belief, which a saved fit has "
                    "already conditioned on; refit (secdilemma fit) with them instead."
                )
            study = Study.from_fit(
                target, omega=omega, delta=delta, horizon=horizon, seed=seed,
                start=start, end=end, allow_world_change=allow_world_change,
            )  # fmt: skip
            engine = "fit"
        else:
            study = make_study(
                target, dyad=dyad, source=source, start=start, end=end, observer=observer,
                params=params, omega=omega, delta=delta, prior=prior, horizon=horizon,
                seed=seed,
            )  # fmt: skip
        if engine not in ("exact", "fit"):
            raise ParameterError(f"--engine must be 'exact' or 'fit'; got {engine!r}.")
        files = ["decision.nc", "decision.png"]
        if engine == "exact":
            files = ["posterior.nc", "posterior.png", *files]
        folder = _out_dir(out_dir, "decide", study.setting.name)
        with OutputRun(folder, files, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            if engine == "exact":
                write_belief(study, run)
            out.print_decision(write_decision(study, run, engine, n_sims))
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
FIT_FILES = ("fit.nc", "summary.json", "fit.png")


def write_fit(study: Study, run: OutputRun, prefix: str = "", **sampler: Any) -> Any:
    """Fit the study's model (PyMC) and write the fit, its summary and its figure.

    ``sampler`` (backend, chains, draws, tune; ``None`` = the spec's) refits if given.
    """
    import warnings

    from secdilemma.engines.pymc import ConvergenceWarning

    given = {k: v for k, v in sampler.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported below, loudly
        study.fit(progressbar=sys.stderr.isatty(), **given)
    model = study.model_
    assert model is not None
    summary = model.summary()
    out.print_fit_summary(summary)
    model.save(run.path(f"{prefix}fit.nc"), overwrite=True)
    run.path(f"{prefix}summary.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8"
    )
    from secdilemma.interfaces.plots.fit import plot_fit

    fig = plot_fit(model, title=study.setting.title("full Bayesian fit"))
    _save_figure(fig, run.path(f"{prefix}fit.png"))
    return model


@app.command("fit")
def fit_cmd(
    target: Target = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    observer: ObserverKind = None,
    seed: Seed = None,
    sampler: Sampler = None,
    chains: Chains = None,
    draws: Draws = None,
    tune: Tune = None,
    out_dir: _out_option("fit") = None,
    overwrite: Overwrite = False,
) -> None:
    """Fit the full Bayesian model (PyMC): the type posterior integrating over parameters.

    Prints the posterior type probabilities with 90 % intervals, the diagnostics (R-hat,
    ESS, divergences; a failing fit is flagged as not trustworthy) and how much of the
    belief comes from the prior; writes fit.nc (reload with secdilemma.load),
    summary.json and fit.png.
    """
    with _user_errors():
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, omega=omega,
            delta=delta, prior=prior, observer=observer, seed=seed,
        )  # fmt: skip
        folder = _out_dir(out_dir, "fit", study.setting.name)
        with OutputRun(folder, FIT_FILES, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            _announce_fit(study)
            write_fit(study, run, backend=sampler, chains=chains, draws=draws, tune=tune)
        out.console.print(f"wrote {', '.join(FIT_FILES)} in {folder}", markup=False)


def _announce_fit(study: Study) -> None:
    dx = study.data_and_moves()[1]["dx"]
    out.console.print(
        f"fitting {study.setting.name}: {dx.sizes['period']} periods, "
        f"{len(study.spec.types.names)} types; the first fit of a model structure on a "
        "machine compiles it (half a minute or more on 2 cores); later ones load it from "
        "the cache.",
        markup=False,
    )


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------
@app.command("compare")
def compare_cmd(
    target: Target = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    variants: Annotated[
        str,
        typer.Option(
            help="Comma-separated: 'types' (the full type space against each single type), "
            "'observer' (aware against naive), 'switching' (static against switching types, "
            "persistence 0.9, or the reverse)."
        ),
    ] = ",".join(VARIANTS),
    seed: Seed = None,
    sampler: Sampler = None,
    chains: Chains = None,
    draws: Draws = None,
    tune: Tune = None,
    out_dir: _out_option("compare") = None,
    overwrite: Overwrite = False,
) -> None:
    """Model comparison by PSIS-LOO (ArviZ): fits the spec and its variants on the same data.

    Prints ArviZ's comparison table (best first; elpd_diff and its standard error dse) and
    writes comparison.nc, with each variant's fit and summary in a subfolder.
    """
    with _user_errors():
        study = make_study(target, dyad=dyad, source=source, start=start, end=end, seed=seed)
        which = [v.strip() for v in variants.split(",") if v.strip()]
        names = list(study.variants(which))
        files = [f"{n}/{f}" for n in names for f in ("fit.nc", "summary.json")]
        folder = _out_dir(out_dir, "compare", study.setting.name)
        given = {
            k: v
            for k, v in {"backend": sampler, "chains": chains, "draws": draws, "tune": tune}.items()
            if v is not None
        }
        with OutputRun(folder, [*files, "comparison.nc"], overwrite=overwrite) as run:
            out.print_setting(study.setting)
            table, models = study.compare(which, **given)
            for name, model in models.items():
                out.console.rule(f"variant {name}")
                summary = model.summary()
                out.print_fit_summary(summary)
                model.save(run.path(f"{name}/fit.nc"), overwrite=True)
                run.path(f"{name}/summary.json").write_text(
                    json.dumps(summary, indent=2, default=str), encoding="utf-8"
                )
            out.print_comparison(table, json.loads(table.attrs["not_converged"]))
            save_dataset(table, run.path("comparison.nc"), overwrite=True)
        out.console.print(f"wrote comparison.nc and {len(models)} fits in {folder}", markup=False)


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
@app.command("main")
def main_cmd(
    case: Annotated[
        str | None, typer.Option(help="Bundled case to analyse (default anglo_german_naval).")
    ] = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    fit: Annotated[
        bool,
        typer.Option(
            help="Fit the full Bayesian model (PyMC, 10-30 s); --no-fit decides on the "
            "exact observer's belief with the reference parameters instead."
        ),
    ] = True,
    out_dir: _out_option("main") = None,
    overwrite: Overwrite = False,
) -> None:
    """The whole chain on a bundled case (its spec) or a pair of states: data -> belief ->
    choice."""
    with _user_errors():
        if case is None and dyad is None:
            case = "anglo_german_naval"
        study = make_study(case, dyad=dyad, source=source, start=start, end=end)
        folder = _out_dir(out_dir, "main", study.setting.name)
        files = ["exact/posterior.nc", "exact/posterior.png"]
        files += ["exact/naive/posterior.nc", "exact/naive/posterior.png"]
        files += [f"fit/{f}" for f in FIT_FILES] if fit else []
        files += ["decision.nc", "decision.png"]
        with OutputRun(folder, files, overwrite=overwrite) as run:
            _main_chain(study, run, fit)
        out.console.print(f"results in {folder}", markup=False)


def _main_chain(study: Study, run: OutputRun, fit: bool) -> None:
    out.print_setting(study.setting)
    ds = study.data_and_moves()[0]
    out.console.rule(f"1. Data: {study.setting.name}")
    out.print_case(ds)
    out.console.rule("2a. Belief with fixed parameters: the exact observer")
    post = write_belief(study, run, "exact/", kind="aware")
    out.print_posterior(post, study.setting, ds, "aware")
    naive = write_belief(study, run, "exact/naive/", kind="naive")
    last = naive["filtered"].isel(period=-1)
    out.console.print(
        "A naive observer (blind to its own threat) on the same data ends with "
        + ", ".join(f"P({k})={float(last.sel(rival_type=k)):.2f}" for k in last.rival_type.values),
        markup=False,
    )
    if fit:
        out.console.rule("2b. Belief integrating over parameters: the Bayesian fit (PyMC)")
        _announce_fit(study)
        write_fit(study, run, "fit/")
    out.console.rule("3. Choice: deter or reassure")
    out.print_decision(write_decision(study, run, "fit" if fit else "exact", 2000))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
