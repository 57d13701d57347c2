"""The ``secdilemma`` command line: argument parsing and printing around :class:`Study`.

Every verb builds one :class:`secdilemma.Study` (from a bundled case, a spec file, a pair of
states given with ``--dyad``, or a saved fit), prints its resolved setting, runs the study's
steps and writes its files through :class:`secdilemma.io.OutputRun`: every output path is
checked before anything is computed, and a folder holds a whole run or nothing. A
:class:`~secdilemma.errors.SecdilemmaError` is printed verbatim on one line of stderr with
exit status 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from secdilemma._version import __version__
from secdilemma.data import list_cases, load_case
from secdilemma.decision.problem import parse_actions
from secdilemma.engines.pymc import ConvergenceWarning
from secdilemma.errors import ParameterError
from secdilemma.interfaces import console as out
from secdilemma.interfaces.options import (
    STATE,
    CaseObserver,
    Chains,
    Delta,
    Draws,
    Dyad,
    End,
    Horizon,
    NSims,
    ObserverKind,
    Omega,
    Out,
    Overwrite,
    Params,
    Prior,
    Sampler,
    Seed,
    Source,
    Start,
    Target,
    Tune,
    Variable,
    make_study,
    output_folder,
    save_figure,
    user_errors,
)
from secdilemma.interfaces.plots import plot_decision, plot_evidence, plot_fit, plot_type_posterior
from secdilemma.interfaces.plots.evidence import greed_log_odds
from secdilemma.interfaces.report import gather, main_report_files, write_report
from secdilemma.io import OutputRun, save_dataset
from secdilemma.study import VARIANTS, Study, coefficient_sensitivity
from secdilemma.study.headline import study_engines

__all__ = ["app", "main"]

app = typer.Typer(
    name="secdilemma",
    help="Bayesian perception inference in the security dilemma: is the rival greedy, "
    "insecure or mixed, and should we deter, defend or reassure?",
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
    STATE["debug"] = debug


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
@cases_app.callback(invoke_without_command=True)
def cases(ctx: typer.Context) -> None:
    """List the bundled cases (``secdilemma cases show NAME`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        # fits 80 columns with no name cut short: light rules, the dyad in one column, one
        # series per line
        table = Table(title="Bundled cases", box=box.SIMPLE_HEAD, show_edge=False)
        table.add_column("name", no_wrap=True)
        table.add_column("observer / rival")
        table.add_column("years", no_wrap=True)
        table.add_column("events", justify="right", no_wrap=True)
        table.add_column("series", no_wrap=True)
        for name in list_cases():
            ds = load_case(name)
            series = [
                str(v)
                for v in ds.data_vars
                if "period" in ds[v].dims and "actor" in ds[v].dims and v != "signals"
            ]
            table.add_row(
                name,
                f"{ds.attrs.get('observer', '')} /\n{ds.attrs.get('rival', '')}",
                f"{int(ds.period.min())}-{int(ds.period.max())}",
                str(ds.sizes.get("event", 0)),
                "\n".join(series),
                end_section=True,
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
    with user_errors():
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
    with user_errors():
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
    post = study.belief("exact", observer=kind)
    save_dataset(post, run.path(f"{prefix}posterior.nc"), overwrite=True)
    title = study.setting.title(f"{post.attrs['study_observer']} observer, exact engine")
    fig = plot_type_posterior(post["filtered"], events=study.data_and_moves()[0], title=title)
    save_figure(fig, run.path(f"{prefix}posterior.png"))
    return post


def write_evidence(
    study: Study, run: OutputRun, post: Any, prefix: str = "", kind: str | None = None
) -> Any:
    """What moved the belief: write ``evidence.nc`` and ``evidence.png``, print the table."""
    ev = study.evidence(observer=kind)
    save_dataset(ev, run.path(f"{prefix}evidence.nc"), overwrite=True)
    bare = study.belief("exact", observer=kind, signals=False)["filtered"]
    fig = plot_evidence(
        ev, with_signals=post["filtered"], without_signals=bare,
        title=study.setting.title("what moved the belief (exact observer)"),
    )  # fmt: skip
    save_figure(fig, run.path(f"{prefix}evidence.png"))
    out.print_evidence(ev, greed_log_odds(ev))
    return ev


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
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Exact Bayesian updating over rival types, with the model's parameters fixed.

    Prints P(type | data up to t) per period and writes posterior.nc and posterior.png.
    A bare case name means its spec (models/CASE.toml): its years, world and observer.
    """
    with user_errors():
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, observer=observer,
            params=params, omega=omega, delta=delta, prior=prior, persistence=persistence,
            variable=variable, case_observer=case_observer,
        )  # fmt: skip
        folder = output_folder(out_dir, "filter", study.setting.name)
        files = ["posterior.nc", "posterior.png", "evidence.nc", "evidence.png"]
        with OutputRun(folder, files, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            post = write_belief(study, run)
            out.print_posterior(
                post, study.setting, study.data_and_moves()[0], post.attrs["study_observer"]
            )
            write_evidence(study, run, post)
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


# ---------------------------------------------------------------------------------------------
# decide
# ---------------------------------------------------------------------------------------------
def write_decision(study: Study, run: OutputRun, engine: str, n_sims: int) -> Any:
    """Decide with the chosen engine's belief; write ``decision.nc`` and ``decision.png``."""
    res = study.decide(engine, n_sims=n_sims)  # type: ignore[arg-type]
    save_dataset(res, run.path("decision.nc"), overwrite=True)
    title = study.setting.title(f"decision, {engine} engine")
    save_figure(plot_decision(res, title=title), run.path("decision.png"))
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
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Deter, defend or reassure? The decision fed by the observer's posterior.

    From a case, spec or dyad the belief is the exact observer's at the last period
    (--engine fit fits first); from a saved fit it is the fit's posterior, and the decision
    integrates over the fit's parameter draws. Writes decision.nc and decision.png.
    """
    with user_errors():
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
        folder = output_folder(out_dir, "decide", study.setting.name)
        with OutputRun(folder, files, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            if engine == "exact":
                write_belief(study, run)
            out.print_decision(write_decision(study, run, engine, n_sims))
            out.print_coefficient_sensitivity(coefficient_sensitivity(study, n_sims=n_sims))
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
FIT_FILES = ("fit.nc", "summary.json", "fit.png")


def save_fit(model: Any, run: OutputRun, prefix: str) -> None:
    """Print a fitted model's summary; write ``fit.nc`` and ``summary.json`` under ``prefix``."""
    summary = model.summary()
    out.print_fit_summary(summary)
    out.print_signal_coefficients(model.idata_)
    model.save(run.path(f"{prefix}fit.nc"), overwrite=True)
    run.path(f"{prefix}summary.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8"
    )


def write_fit(study: Study, run: OutputRun, prefix: str = "", **sampler: Any) -> Any:
    """Fit the study's model (PyMC) and write the fit, its summary and its figure.

    ``sampler`` (sampler, chains, draws, tune; ``None`` = the spec's) refits if given.
    """
    given = {k: v for k, v in sampler.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported below, loudly
        study.fit(progressbar=True, **given)  # a bar on a terminal, else lines on stderr
    model = study.model_
    assert model is not None
    save_fit(model, run, prefix)
    if study.spec.priors.use_reference:  # a pool member's priors come from the pool without it
        label = study.reference(posterior=True).label
        out.console.print(f"coefficient priors from the reference: {label}", markup=False)
    fig = plot_fit(model, title=study.setting.title("full Bayesian fit"))
    save_figure(fig, run.path(f"{prefix}fit.png"))
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
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Fit the full Bayesian model (PyMC): the type posterior integrating over parameters.

    Prints the posterior type probabilities with 90 % intervals, the diagnostics (R-hat,
    ESS, divergences; a failing fit is flagged as not trustworthy) and how much of the
    belief comes from the prior; writes fit.nc (reload with secdilemma.load),
    summary.json and fit.png.
    """
    with user_errors():
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, omega=omega,
            delta=delta, prior=prior, observer=observer, seed=seed,
        )  # fmt: skip
        folder = output_folder(out_dir, "fit", study.setting.name)
        files = [*FIT_FILES, "evidence.nc", "evidence.png"]
        with OutputRun(folder, files, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            _announce_fit(study)
            write_fit(study, run, sampler=sampler, chains=chains, draws=draws, tune=tune)
            # what moved the belief, channel by channel: the exact observer's decomposition
            # at the reference's coefficients (the fit's own coefficients are printed above)
            write_evidence(study, run, study.belief("exact"))
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


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
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Model comparison by PSIS-LOO (ArviZ): fits the spec and its variants on the same data.

    Prints ArviZ's comparison table (best first; elpd_diff and its standard error dse) and
    writes comparison.nc, with each variant's fit and summary in a subfolder.
    """
    with user_errors():
        study = make_study(target, dyad=dyad, source=source, start=start, end=end, seed=seed)
        which = [v.strip() for v in variants.split(",") if v.strip()]
        names = list(study.variants(which))
        files = [f"{n}/{f}" for n in names for f in ("fit.nc", "summary.json")]
        folder = output_folder(out_dir, "compare", study.setting.name)
        given = {
            k: v
            for k, v in {"sampler": sampler, "chains": chains, "draws": draws, "tune": tune}.items()
            if v is not None
        }
        with OutputRun(folder, [*files, "comparison.nc"], overwrite=overwrite) as run:
            out.print_setting(study.setting)
            table, models = study.compare(which, **given)
            for name, model in models.items():
                out.console.rule(f"variant {name}")
                save_fit(model, run, f"{name}/")
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
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """The whole chain on a bundled case (its spec) or a pair of states: data -> belief ->
    choice."""
    with user_errors():
        if case is None and dyad is None:
            case = "anglo_german_naval"
        study = make_study(case, dyad=dyad, source=source, start=start, end=end)
        folder = output_folder(out_dir, "main", study.setting.name)
        files = ["exact/posterior.nc", "exact/posterior.png"]
        files += ["exact/evidence.nc", "exact/evidence.png"]
        files += ["exact/naive/posterior.nc", "exact/naive/posterior.png"]
        files += [f"fit/{f}" for f in FIT_FILES] if fit else []
        files += ["decision.nc", "decision.png"]
        files += main_report_files(fit)  # report.html, report.md and its figures
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
    ev = write_evidence(study, run, post, "exact/", kind="aware")
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
    names = list(parse_actions(study.spec.decision.actions)[0])
    out.console.rule("3. Choice: " + (" or ".join(names) if len(names) < 3 else
                                      ", ".join(names[:-1]) + " or " + names[-1]))
    res = write_decision(study, run, "fit" if fit else "exact", 2000)
    out.print_decision(res, study_engines(study, post) if fit else None)
    out.print_coefficient_sensitivity(coefficient_sensitivity(study, n_sims=2000))
    out.console.rule("4. Report for a policy reader: report.html, report.md")
    inputs = gather(
        study, engine="fit" if fit else "exact", posterior=post, evidence=ev, naive=naive,
        decision=res, origin=f"secdilemma main on {study.setting.name}",
    )  # fmt: skip
    write_report(inputs, run)


def main() -> None:
    """Console-script entry point."""
    app()


from secdilemma.interfaces.whatif import register as _register_whatif  # noqa: E402

_register_whatif(app)  # the `whatif` and `policies` verbs (interfaces/whatif.py)

from secdilemma.interfaces.voi import register as _register_voi  # noqa: E402

_register_voi(app)  # the `voi` verb (interfaces/voi.py)

from secdilemma.interfaces.report.command import register as _register_report  # noqa: E402

_register_report(app)  # the `report` verb (interfaces/report/command.py)


if __name__ == "__main__":  # pragma: no cover
    main()
