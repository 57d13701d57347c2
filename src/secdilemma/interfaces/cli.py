"""The ``secdilemma`` command line: cases, filter, fit, decide, compare and the main job.

Every command turns a :class:`secdilemma.errors.SecdilemmaError` into a one-paragraph
message and exit status 2 (never a traceback); results are written atomically and an
existing file is never replaced without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from secdilemma.errors import SecdilemmaError

if TYPE_CHECKING:
    import xarray as xr

    from secdilemma.engines.exact.estimate import ParamEstimate
    from secdilemma.spec import ModelSpec

__all__ = ["app", "main"]

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="secdilemma",
    help="Bayesian perception inference in the security dilemma: is the rival greedy, "
    "insecure or mixed, and should we deter or reassure?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
cases_app = typer.Typer(help="List the bundled cases, or show one.", no_args_is_help=False)
app.add_typer(cases_app, name="cases")

OBSERVER_KINDS = ("aware", "naive")

# options shared by several commands
Overwrite = Annotated[bool, typer.Option(help="Replace existing output files.")]
Omega = Annotated[
    float | None,
    typer.Option(help="Offense advantage in [0, 1] (default: the spec's, else 0.5)."),
]
Delta = Annotated[
    float | None,
    typer.Option(help="Distinguishability in [0, 1] (default: the spec's, else 0.5)."),
]
SpecArg = Annotated[
    str,
    typer.Argument(metavar="SPEC", help="Model spec: models/CASE.toml, or a bundled spec's name."),
]
Sampler = Annotated[
    str | None, typer.Option(help="NUTS backend: nutpie or pymc (default: the spec's).")
]
Chains = Annotated[int | None, typer.Option(help="Chains (default: the spec's, else 4).")]
Draws = Annotated[int | None, typer.Option(help="Draws per chain (default: spec's, 1000).")]
Tune = Annotated[int | None, typer.Option(help="Tuning steps per chain (default: 1000).")]
SamplerSeed = Annotated[int | None, typer.Option(help="Sampler seed (default: the spec's).")]


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Print a SecdilemmaError as a clear message and exit with status 2."""
    try:
        yield
    except SecdilemmaError as exc:
        err_console.print(f"[bold red]error[/bold red] ({type(exc).__name__}): {exc}")
        raise typer.Exit(code=2) from None


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
@cases_app.callback(invoke_without_command=True)
def cases(ctx: typer.Context) -> None:
    """List the bundled cases (``secdilemma cases show NAME`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from secdilemma.data import list_cases, load_case

    with _user_errors():
        table = Table(title="Bundled cases")
        table.add_column("name", no_wrap=True)
        for col in ("observer", "rival", "years", "variables", "events"):
            table.add_column(col)
        for name in list_cases():
            ds = load_case(name)
            table.add_row(
                name,
                str(ds.attrs.get("observer", "")),
                str(ds.attrs.get("rival", "")),
                f"{int(ds.period.min())}-{int(ds.period.max())}",
                ", ".join(
                    str(v)
                    for v in ds.data_vars
                    if ("period" in ds[v].dims and "actor" in ds[v].dims and v != "signals")
                ),
                str(ds.sizes.get("event", 0)),
            )
        console.print(table)


@cases_app.command("show")
def cases_show(
    name: Annotated[str, typer.Argument(help="Case name (see `secdilemma cases`).")],
    observer: Annotated[
        str | None, typer.Option(help="Alternative observer, where the case has several.")
    ] = None,
) -> None:
    """Print a case's coverage, units, series and events."""
    from secdilemma.data import load_case

    with _user_errors():
        ds = load_case(name, observer=observer)
        _print_case(ds)


def _print_case(ds: xr.Dataset) -> None:
    import numpy as np

    a = ds.attrs
    console.print(f"[bold]{a.get('title', a.get('case', ''))}[/bold]")
    if a.get("description"):
        console.print(str(a["description"]))
    console.print(
        f"observer: {a.get('observer')}   rival: {a.get('rival')}   "
        f"periods: {int(ds.period.min())}-{int(ds.period.max())} ({ds.sizes['period']})"
    )
    if a.get("source"):
        console.print(f"source: {a['source']}")
    if a.get("units_note"):
        console.print(f"units: {a['units_note']}")
    table = Table(title="Series (non-missing periods per actor)")
    for col in ("variable", "units", "observer", "rival"):
        table.add_column(col)
    for v in ds.data_vars:
        da = ds[v]
        if set(da.dims) != {"period", "actor"}:
            continue
        counts = da.notnull().sum("period")
        table.add_row(
            str(v),
            str(da.attrs.get("units", "")),
            str(int(counts.sel(actor="observer"))),
            str(int(counts.sel(actor="rival"))),
        )
    console.print(table)
    if ds.sizes.get("event", 0):
        ev = Table(title="Events")
        for col in ("date", "by", "channel", "event", "source"):
            ev.add_column(col, overflow="fold")
        order = np.argsort(ds["event_year"].values, kind="stable")
        for i in order:
            e = ds.isel(event=int(i))
            ev.add_row(
                str(e["event_date"].values),
                str(e["event_actor"].values),
                str(e["event_channel"].values),
                str(e["event_label"].values),
                str(e["event_source"].values),
            )
        console.print(ev)


# ---------------------------------------------------------------------------------------------
# shared pipeline: case or spec -> moves -> parameters -> observers
# ---------------------------------------------------------------------------------------------
@dataclass
class _Target:
    """What a command works on: a bundled case, or the data a model spec names."""

    name: str
    ds: xr.Dataset
    moves: xr.Dataset
    spec: ModelSpec | None


def _resolve(target: str, case_observer: str | None = None, variable: str | None = None) -> _Target:
    """A bundled case name, or a path to a TOML model spec (``models/CASE.toml``)."""
    from secdilemma.data import list_cases, load_case, to_moves
    from secdilemma.errors import DataError, SpecError
    from secdilemma.spec import load_spec, spec_data

    path = Path(target)
    if path.suffix == ".toml" or path.is_file():
        if case_observer is not None or variable is not None:
            raise SpecError(
                f"{target}: --case-observer and --variable apply to a bundled case; with a spec, "
                "set data.case_observer or data.variable in the spec instead."
            )
        spec = load_spec(path)
        ds, moves = spec_data(spec)
        return _Target(spec.name, ds, moves, spec)
    cases = list_cases()
    if target not in cases:
        raise DataError(
            f"{target!r} is neither a bundled case ({', '.join(cases)}) nor a model spec file "
            f"(.toml, e.g. models/{cases[0]}.toml)."
        )
    ds = load_case(target, observer=case_observer)
    var = variable or "milex"
    if var not in ds:
        series = [str(v) for v in ds.data_vars if set(ds[v].dims) == {"period", "actor"}]
        raise DataError(f"case {target!r} has no variable {var!r}; choose one of {series}.")
    return _Target(target, ds, to_moves(ds, variable=var), None)


def _case_params(moves: xr.Dataset, params_source: str) -> tuple[Any, ParamEstimate | None]:
    from secdilemma.engines.exact.estimate import estimate_params
    from secdilemma.model import ModelParams
    from secdilemma.spec.reference import load_reference_params

    if params_source == "reference":
        return load_reference_params(), None
    if params_source == "default":
        return ModelParams(), None
    if params_source == "estimate":
        est = estimate_params(moves)
        return est.params, est
    from secdilemma.errors import ParameterError

    raise ParameterError(
        f"--params must be one of 'reference', 'estimate', 'default'; got {params_source!r}."
    )


def _world(t: _Target, omega: float | None, delta: float | None) -> tuple[Any, Any]:
    """omega and delta per period: the option if given, else the spec's, else 0.5."""
    import numpy as np

    periods = t.moves["period"].values
    out: list[Any] = []
    for name, val in (("omega", omega), ("delta", delta)):
        if val is not None:
            out.append(val)
        elif t.spec is not None:
            series = np.asarray(t.spec.world.series(name, periods), dtype=float)
            out.append(float(series[0]) if np.all(series == series[0]) else series)
        else:
            out.append(0.5)
    return out[0], out[1]


def _make_observer(kind: str, params: Any, persistence: float | None, prior: Any = None) -> Any:
    from secdilemma.errors import ParameterError
    from secdilemma.observers import OBSERVER_KINDS as CLASSES

    if kind not in OBSERVER_KINDS:
        raise ParameterError(f"--observer must be one of {list(OBSERVER_KINDS)}; got {kind!r}.")
    return CLASSES[kind](params=params, persistence=persistence, prior=prior)


def _posterior_table(post: xr.DataArray, title: str, events: dict[int, str] | None) -> Table:
    table = Table(title=title)
    table.add_column("period", justify="right")
    for t in post.rival_type.values:
        table.add_column(f"P({t})", justify="right")
    table.add_column("events")
    for p in post.period.values:
        row = post.sel(period=p)
        cells = [f"{float(row.sel(rival_type=t)):.3f}" for t in post.rival_type.values]
        table.add_row(str(int(p)), *cells, (events or {}).get(int(p), ""))
    return table


def _events_by_period(ds: xr.Dataset) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    if ds.sizes.get("event", 0):
        for i in range(ds.sizes["event"]):
            e = ds.isel(event=i)
            out.setdefault(int(e["event_year"]), []).append(str(e["event_label"].values))
    return {k: "; ".join(v) for k, v in out.items()}


def _out_dir(out: Path | None, stem: str) -> Path:
    if out is not None:
        return out
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{stem}-{stamp}"


def _save_figure(fig: Any, path: Path, overwrite: bool) -> Path:
    import matplotlib.pyplot as plt

    from secdilemma.io import atomic_write

    try:
        return atomic_write(
            path, lambda p: fig.savefig(p, format="png", dpi=120), overwrite=overwrite
        )
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# filter
# ---------------------------------------------------------------------------------------------
_TARGET_HELP = "A bundled case (see `secdilemma cases`) or a model spec (models/CASE.toml)."


@app.command("filter")
def filter_cmd(
    target: Annotated[str, typer.Argument(metavar="CASE_OR_SPEC", help=_TARGET_HELP)],
    observer: Annotated[
        str | None,
        typer.Option(help="Observer kind: aware or naive (default: the spec's, else aware)."),
    ] = None,
    case_observer: Annotated[
        str | None, typer.Option(help="Alternative observer state where the case has several.")
    ] = None,
    variable: Annotated[
        str | None, typer.Option(help="Capability series of a case (default milex).")
    ] = None,
    params: Annotated[
        str,
        typer.Option(
            help="Parameters: 'reference' (pooled rivalries, models/), 'estimate' "
            "(this case alone), or 'default'."
        ),
    ] = "reference",
    omega: Omega = None,
    delta: Delta = None,
    persistence: Annotated[
        float | None, typer.Option(help="Switching types with this persistence (default static).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/filter-NAME-TIME).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Exact Bayesian updating over rival types, with the model's parameters fixed.

    Prints P(type | data up to t) per period, writes the posterior as NetCDF and a figure
    of the stacked probabilities with the case's events marked. With a spec, its data,
    years, omega/delta and observer are used (its priors are for `secdilemma fit`).
    """
    with _user_errors():
        t = _resolve(target, case_observer, variable)
        _run_filter(
            t,
            observer=observer,
            params_source=params,
            persistence=persistence,
            omega=omega,
            delta=delta,
            out=_out_dir(out, f"filter-{t.name}"),
            overwrite=overwrite,
        )


def _run_filter(
    t: _Target,
    *,
    out: Path,
    overwrite: bool,
    observer: str | None = None,
    params_source: str = "reference",
    persistence: float | None = None,
    omega: float | None = None,
    delta: float | None = None,
    quiet: bool = False,
) -> tuple[xr.Dataset, Any]:
    """Filter one target; returns the posterior and the parameters used.

    ``None`` for ``observer``, ``omega`` or ``delta`` means the spec's value (else aware,
    0.5, 0.5), as in the ``filter`` command's options.
    """
    from secdilemma.interfaces.plots.posterior import plot_type_posterior
    from secdilemma.io import save_dataset

    kind = observer or (t.spec.observer.kind if t.spec is not None else "aware")
    prior = t.spec.observer.prior if t.spec is not None else None
    params, est = _case_params(t.moves, params_source)
    om, de = _world(t, omega, delta)
    params = params.replace(omega=om, delta=de)
    obs = _make_observer(kind, params, persistence, prior)
    moves = t.moves
    dropped = "signals" in moves
    if dropped:
        # the exact observer's parameters carry no signal coefficients; the fit estimates them
        moves = moves.drop_vars("signals")
    post = obs.filter(moves, smooth=True)
    if not quiet:
        console.print(
            _posterior_table(
                post["filtered"],
                f"{t.name}: P(rival type | data up to t), {kind} observer",
                _events_by_period(t.ds),
            )
        )
        console.print(
            f"log evidence: {float(post['log_evidence']):.3f}   parameters ({params_source}): "
            f"{json.dumps(_param_summary(params))}"
        )
        if dropped:
            console.print(
                "note: the spec's signal channels are read by `secdilemma fit`; the exact "
                "observer here uses the buildups only (fixed parameters carry no signal "
                "coefficients)."
            )
    if est is not None and not est.converged:
        err_console.print(
            "[yellow]warning[/yellow]: the parameter estimate did not converge; "
            "a single short case rarely identifies them. Use --params reference."
        )
    post.attrs.update(
        {
            "target": t.name,
            "spec": t.spec.source_path or "" if t.spec is not None else "",
            "params_source": params_source,
            "params_json": json.dumps(
                {k: v for k, v in params.to_dict().items() if k != "signals"}
            ),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    nc = save_dataset(post, out / "posterior.nc", overwrite=overwrite)
    fig = plot_type_posterior(post["filtered"], events=t.ds, title=f"{t.name}: {kind} observer")
    png = _save_figure(fig, out / "posterior.png", overwrite)
    if not quiet:
        console.print(f"wrote {nc} and {png}")
    return post, params


def _param_summary(params: Any) -> dict[str, float]:
    import numpy as np

    keys = ("mu", "alpha", "beta", "gamma", "kappa", "sigma", "omega", "delta")
    return {k: round(float(np.mean(getattr(params, k))), 4) for k in keys}


def _last_period(params: Any) -> Any:
    """Parameters with per-period omega/delta cut to their last value (for forecasts)."""
    import numpy as np

    changes = {}
    for k in ("omega", "delta"):
        v = np.asarray(getattr(params, k), dtype=float)
        if v.ndim:
            changes[k] = float(v.reshape(-1)[-1])
    return params.replace(**changes) if changes else params


# ---------------------------------------------------------------------------------------------
# decide
# ---------------------------------------------------------------------------------------------
@app.command("decide")
def decide_cmd(
    target: Annotated[
        str,
        typer.Argument(
            metavar="CASE_SPEC_OR_FIT",
            help=_TARGET_HELP + " Or a saved fit (fit.nc from `secdilemma fit`).",
        ),
    ],
    observer: Annotated[
        str | None,
        typer.Option(help="Whose belief: aware or naive observer (exact observer only)."),
    ] = None,
    params: Annotated[
        str, typer.Option(help="Parameters of the exact observer: reference, estimate, default.")
    ] = "reference",
    omega: Omega = None,
    delta: Delta = None,
    horizon: Annotated[
        int | None, typer.Option(help="Periods simulated per action (default: spec's, else 10).")
    ] = None,
    n_sims: Annotated[int, typer.Option(help="Simulated futures per type.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the simulated futures.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/decide-NAME-TIME).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Deter or reassure? The decision fed by the observer's posterior.

    From a case or spec, the belief is the exact observer's at the last period (parameters
    fixed); from a saved fit it is the fit's posterior, and the decision integrates over the
    fit's parameter draws. Prints the recommendation with expected utilities, P(best), the
    threshold p* and EVPI, and writes the result (NetCDF) and a figure of expected utility
    against P(greed motive).
    """
    with _user_errors():
        if target.endswith(".nc"):
            from secdilemma.engines.pymc.fit import load

            if observer is not None:
                from secdilemma.errors import ParameterError

                raise ParameterError(
                    "--observer applies to the exact observer; a saved fit carries its own "
                    "observer (the spec's observer.kind). Refit with another observer.kind."
                )
            model = load(target)
            belief, prm = model.belief_draws()
            name = model.spec.name
            spec: ModelSpec | None = model.spec
            if omega is not None or delta is not None:
                prm = prm.replace(
                    **{k: v for k, v in (("omega", omega), ("delta", delta)) if v is not None}
                )
            label = f"fitted posterior at {belief.attrs['period']}, {belief.sizes['sample']} draws"
        else:
            t = _resolve(target)
            name, spec = t.name, t.spec
            out = _out_dir(out, f"decide-{name}")
            post, prm = _run_filter(
                t,
                observer=observer,
                params_source=params,
                persistence=None,
                omega=omega,
                delta=delta,
                out=out,
                overwrite=overwrite,
                quiet=True,
            )
            belief = post["filtered"].isel(period=-1)
            prm = _last_period(prm)
            label = f"exact observer's belief at {int(post.period.values[-1])}"
        _run_decide(
            belief,
            prm,
            spec=spec,
            label=label,
            horizon=horizon,
            n_sims=n_sims,
            seed=seed,
            out=_out_dir(out, f"decide-{name}"),
            overwrite=overwrite,
        )


def _run_decide(
    belief: xr.DataArray,
    params: Any,
    *,
    spec: ModelSpec | None,
    label: str,
    horizon: int | None,
    n_sims: int,
    seed: int,
    out: Path,
    overwrite: bool,
) -> xr.Dataset:
    from secdilemma.decision import decide
    from secdilemma.interfaces.plots.decision import plot_decision
    from secdilemma.io import save_dataset

    dec = spec.decision if spec is not None else None
    h = horizon if horizon is not None else (dec.horizon if dec is not None else 10)
    res = decide(
        belief,
        params=params,
        losses=dec.losses_obj() if dec is not None else None,
        actions=dec.actions if dec is not None else None,
        horizon=h,
        n_sims=n_sims,
        seed=seed,
    )
    table = Table(title=f"Deter or reassure? ({label}; {h} periods ahead)")
    for col in ("action", "expected utility", "interval", "P(best)"):
        table.add_column(col, justify="right")
    for a in res.action.values:
        r = res.sel(action=a)
        table.add_row(
            str(a),
            f"{float(r.expected_utility):.3f}",
            f"[{float(r.eu_lower):.3f}, {float(r.eu_upper):.3f}]",
            f"{float(r.p_best):.2f}",
        )
    console.print(table)
    mean_belief = res["belief"]
    belief_txt = ", ".join(
        f"P({t})={float(mean_belief.sel(rival_type=t)):.2f}" for t in mean_belief.rival_type.values
    )
    p_star = float(res["threshold"])
    p_star_txt = (
        f"{p_star:.3f} (above it: {res.attrs.get('threshold_upper_action', '?')})"
        if p_star == p_star
        else f"none ({res.attrs.get('threshold_note', 'the choice does not flip')})"
    )
    console.print(
        f"belief: {belief_txt}; P(greed motive) = {float(res['p_greed']):.3f}\n"
        "P(best): the probability, under this belief, that the action is the better one for "
        "the rival's true type (what a fully informed observer would choose).\n"
        f"threshold p* on P(greed motive): {p_star_txt}\n"
        f"EVPI (what knowing the type for sure would be worth): {float(res['evpi']):.4f}\n"
        f"[bold]recommendation: {res.attrs['recommended']}[/bold]"
    )
    out.mkdir(parents=True, exist_ok=True)
    nc = save_dataset(res, out / "decision.nc", overwrite=overwrite)
    png = _save_figure(plot_decision(res), out / "decision.png", overwrite)
    console.print(f"wrote {nc} and {png}")
    return res


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
@app.command("fit")
def fit_cmd(
    spec: SpecArg,
    sampler: Sampler = None,
    chains: Chains = None,
    draws: Draws = None,
    tune: Tune = None,
    seed: SamplerSeed = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/fit-NAME-TIME).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Fit the full Bayesian model (PyMC): the type posterior integrating over parameters.

    Prints the posterior type probabilities with 90 % intervals, the diagnostics (R-hat,
    ESS, divergences; a failing fit is flagged as not trustworthy) and how much of the
    belief comes from the prior; writes the fit (fit.nc, reloadable with
    secdilemma.engines.pymc.fit.load), summary.json and a figure (fit.png).
    """
    with _user_errors():
        from secdilemma.spec import load_spec

        s = load_spec(spec)
        _run_fit(
            s,
            sampler=sampler,
            chains=chains,
            draws=draws,
            tune=tune,
            seed=seed,
            out=_out_dir(out, f"fit-{s.name}"),
            overwrite=overwrite,
        )


def _run_fit(
    spec: ModelSpec,
    *,
    out: Path,
    overwrite: bool,
    sampler: str | None = None,
    chains: int | None = None,
    draws: int | None = None,
    tune: int | None = None,
    seed: int | None = None,
    figure: bool = True,
) -> Any:
    """Fit one spec (``None`` sampler settings mean the spec's), print and save the result."""
    import sys
    import warnings

    from secdilemma.engines.pymc.fit import ConvergenceWarning, PerceptionModel, plot_fit
    from secdilemma.io import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    for f in ("fit.nc", "summary.json") + (("fit.png",) if figure else ()):
        if (out / f).exists() and not overwrite:
            from secdilemma.errors import OutputExistsError

            raise OutputExistsError(
                f"{out / f} already exists; choose another --out or pass --overwrite."
            )
    model = PerceptionModel(spec)
    D, T, _ = model.arrays().shape
    console.print(
        f"fitting {spec.name}: {D} dyad(s) x {T} periods, {model.types.n_types} types; the "
        "first fit of a model structure on a machine compiles it (half a minute or more on 2 "
        "cores); later ones load it from the cache."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported below, loudly
        model.fit(
            sampler=sampler,
            chains=chains,
            draws=draws,
            tune=tune,
            random_seed=seed,
            progressbar=sys.stderr.isatty(),
        )
    summary = model.summary()
    _print_fit_summary(summary)
    nc = model.save(out / "fit.nc", overwrite=overwrite)
    js = atomic_write(
        out / "summary.json",
        lambda p: p.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8"),
        overwrite=overwrite,
    )
    written = [str(nc), str(js)]
    if figure:
        written.append(str(_save_figure(plot_fit(model), out / "fit.png", overwrite)))
    console.print("wrote " + ", ".join(written))
    return model


def _print_fit_summary(summary: dict[str, Any]) -> None:
    lo, hi = (round(100 * q) for q in summary["interval"])
    for dyad, types in summary["type_probabilities"].items():
        sens = summary["prior_sensitivity"][dyad]
        table = Table(
            title=f"{summary['model']} ({dyad}): P(rival type | data), over parameter uncertainty"
        )
        for col in ("type", "posterior mean", f"{lo}-{hi} % interval", "prior", "uniform prior"):
            table.add_column(col, justify="right")
        for name, v in types.items():
            table.add_row(
                name,
                f"{v['mean']:.3f}",
                f"[{v['low']:.3f}, {v['high']:.3f}]",
                f"{sens['prior'][name]:.3f}",
                f"{sens['posterior_under_uniform_prior'][name]:.3f}",
            )
        console.print(table)
        console.print(
            f"prior sensitivity: the data moved the belief {sens['kl_prior_to_posterior_nats']:.2f}"
            f" nats away from the type prior (certainty would be {sens['kl_max_nats']:.2f}); "
            "with a uniform type prior the posterior would differ by at most "
            f"{sens['max_shift_from_type_prior']:.3f}."
        )
    d = summary["diagnostics"]

    def fmt(x: Any, spec: str) -> str:
        return "n/a" if x is None else format(x, spec)

    console.print(
        f"diagnostics ({summary['backend']}): max R-hat {fmt(d['max_rhat'], '.3f')}, "
        f"min bulk ESS {fmt(d['min_ess_bulk'], '.0f')}, min tail ESS "
        f"{fmt(d['min_ess_tail'], '.0f')}, divergences {d['divergences']}"
    )
    if summary["trustworthy"]:
        console.print(f"[green]{summary['verdict']}[/green]")
    else:
        console.print(f"[bold red]{summary['verdict']}[/bold red]")
        err_console.print(
            "[bold red]warning[/bold red]: do not report this posterior; run longer chains, "
            "raise sampler.target_accept, or tighten the priors."
        )


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------
_VARIANTS = ("types", "observer", "switching")
#: Persistence of the switching variant when the spec's types are static: a type expected to
#: last ten periods (a leadership or regime change about once a decade in annual data).
SWITCHING_PERSISTENCE = 0.9


def _variants(spec: ModelSpec, which: list[str]) -> dict[str, ModelSpec]:
    """Spec variants for model comparison, on the spec's data: each changes one thing."""
    from secdilemma.errors import SpecError
    from secdilemma.spec import ModelSpec as _Spec

    bad = [w for w in which if w not in _VARIANTS]
    if bad:
        raise SpecError(f"--variants: unknown {bad}; choose from {list(_VARIANTS)}.")
    base = spec.to_dict()
    out: dict[str, ModelSpec] = {"full": spec}
    src = f"<{spec.name} variant>"

    def variant(name: str, change: Any) -> None:
        d = json.loads(json.dumps(base))
        change(d)
        d["meta"]["name"] = name
        out[name] = _Spec.from_dict(d, source=src)

    if "types" in which:
        for n in spec.types.names:

            def one_type(d: dict[str, Any], n: str = n) -> None:
                d["types"] = {"names": [n]}
                d.setdefault("observer", {}).pop("prior", None)

            variant(f"{n}_only", one_type)
    if "observer" in which:
        kind = "naive" if spec.observer.kind == "aware" else "aware"
        variant(f"{kind}_observer", lambda d: d.setdefault("observer", {}).update(kind=kind))
    if "switching" in which:
        if spec.types.switching:
            variant("static_types", lambda d: d["types"].update(switching=False))
        else:
            sw = {"persistence": SWITCHING_PERSISTENCE}
            variant("switching_types", lambda d: d.setdefault("types", {}).update(switching=sw))
    return out


@app.command("compare")
def compare_cmd(
    spec: SpecArg,
    variants: Annotated[
        str,
        typer.Option(
            help="Comma-separated: 'types' (the full type space against each single type), "
            "'observer' (aware against naive), 'switching' (static against switching types, "
            "persistence 0.9, or the reverse)."
        ),
    ] = "types,observer,switching",
    sampler: Sampler = None,
    chains: Chains = None,
    draws: Draws = None,
    tune: Tune = None,
    seed: SamplerSeed = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/compare-NAME-TIME).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Model comparison by PSIS-LOO (ArviZ): fits the spec and its variants on the same data.

    Prints ArviZ's comparison table (best first; elpd_diff and its standard error dse) and
    writes it as comparison.nc, with each variant's fit in a subfolder.
    """
    with _user_errors():
        from secdilemma.engines.pymc.fit import compare_models
        from secdilemma.io import save_dataset
        from secdilemma.spec import load_spec

        base = load_spec(spec)
        specs = _variants(base, [v.strip() for v in variants.split(",") if v.strip()])
        target = _out_dir(out, f"compare-{base.name}")
        models = {}
        for name, s in specs.items():
            console.rule(f"variant {name}")
            models[name] = _run_fit(
                s,
                sampler=sampler,
                chains=chains,
                draws=draws,
                tune=tune,
                seed=seed,
                out=target / name,
                overwrite=overwrite,
                figure=False,
            )
        table = compare_models(models)
        shaky = [n for n, m in models.items() if not m.diagnostics_["ok"]]
        _print_comparison(table, shaky)
        ds = _comparison_dataset(table)
        ds.attrs["not_converged"] = json.dumps(shaky)
        nc = save_dataset(ds, target / "comparison.nc", overwrite=overwrite)
        console.print(f"wrote {nc}")


def _print_comparison(table: Any, shaky: list[str]) -> None:
    rich = Table(title="PSIS-LOO model comparison (best first)")
    wanted = ("rank", "elpd", "se", "elpd_diff", "dse", "p_worse", "weight", "p")
    cols = [c for c in (*wanted, "diag_diff", "diag_elpd") if c in table.columns]
    rich.add_column("model")
    for c in cols:
        rich.add_column(c, justify="right")
    for name, row in table.iterrows():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        rich.add_row(str(name), *cells)
    console.print(rich)
    console.print(
        "elpd_diff is each model's expected log predictive density minus the best model's "
        "(0 for the best, negative for the others); a difference within about 2 x dse is not "
        "decisive. p_worse: probability that the model predicts worse than the best; "
        "diag_*: ArviZ's warnings (few observations, Pareto k)."
    )
    if shaky:
        console.print(
            f"[bold red]variants failing the diagnostics gate: {shaky}; their LOO is not "
            "reliable.[/bold red]"
        )


def _comparison_dataset(table: Any) -> xr.Dataset:
    import xarray as xr

    df = table.copy()
    df.index = df.index.astype(str)
    df.index.name = "model"
    data = {}
    for c in df.columns:
        col = df[c]
        data[str(c)] = (
            "model",
            col.astype(str).to_numpy() if col.dtype == object else col.to_numpy(),
        )
    return xr.Dataset(data, coords={"model": df.index.to_numpy()})


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
@app.command("main")
def main_cmd(
    case: Annotated[str, typer.Option(help="Bundled case to analyse.")] = "anglo_german_naval",
    fit: Annotated[
        bool,
        typer.Option(
            help="Fit the full Bayesian model (PyMC, 10-30 s); --no-fit decides on the "
            "exact observer's belief with the reference parameters instead."
        ),
    ] = True,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/main-CASE-TIME).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """The whole chain on a bundled case and its spec (models/CASE.toml): data -> belief ->
    choice."""
    with _user_errors():
        from secdilemma.spec import load_spec, spec_data

        target = _out_dir(out, f"main-{case}")
        spec = load_spec(case)
        ds, moves = spec_data(spec)
        t = _Target(case, ds, moves, spec)
        console.rule(f"1. Data: {case}")
        _print_case(ds)
        years = f"{int(moves.period.min())}-{int(moves.period.max())}"
        console.print(f"model spec: {spec.source_path} (years {years})")
        console.rule("2a. Belief with fixed parameters: the exact observer")
        post, prm = _run_filter(t, observer="aware", out=target / "exact", overwrite=overwrite)
        naive, _ = _run_filter(
            t, observer="naive", out=target / "exact" / "naive", overwrite=overwrite, quiet=True
        )
        last = int(post.period.values[-1])
        console.print(
            "A naive observer (blind to its own threat) on the same data ends with "
            + ", ".join(
                f"P({k})={float(naive['filtered'].sel(period=last, rival_type=k)):.2f}"
                for k in naive.rival_type.values
            )
        )
        if fit:
            console.rule("2b. Belief integrating over parameters: the Bayesian fit (PyMC)")
            model = _run_fit(spec, out=target / "fit", overwrite=overwrite)
            belief, dprm = model.belief_draws()
            label = f"fitted posterior at {belief.attrs['period']}"
        else:
            belief, dprm = post["filtered"].isel(period=-1), _last_period(prm)
            label = f"exact observer's belief at {last}"
        console.rule("3. Choice: deter or reassure")
        _run_decide(
            belief,
            dprm,
            spec=spec,
            label=label,
            horizon=None,
            n_sims=2000,
            seed=0,
            out=target,
            overwrite=overwrite,
        )
        console.print(f"results in {target}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
