"""The ``whatif`` and ``policies`` verbs of the command line (registered by :func:`register`).

``secdilemma whatif CASE --vary omega=0:1:21 --vary delta=0:1:21`` sweeps the study over the
grid (:func:`secdilemma.whatif.sweep`), adds one-at-a-time and Sobol sensitivity, writes the
sweep, its figures and the sensitivity tables, and prints where the best action changes
and which inputs matter most. ``secdilemma policies CASE`` ranks the multi-period policies
on common random numbers. Both take the study options of the other verbs and write through
:class:`secdilemma.io.OutputRun` (all files or none); a sweep's finished chunks are kept in
``.whatif-chunks/`` beside the output folder until it completes, so ``--resume`` continues an
interrupted one.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.interfaces import console as out
from secdilemma.interfaces.options import (
    Delta,
    Dyad,
    End,
    Horizon,
    ObserverKind,
    Omega,
    Out,
    Overwrite,
    Params,
    Prior,
    Seed,
    Source,
    Start,
    Target,
    make_study,
    output_folder,
    save_figure,
    user_errors,
)
from secdilemma.interfaces.plots.whatif import (
    plot_decision_map,
    plot_line,
    plot_policies,
    plot_sobol,
    plot_tornado,
)
from secdilemma.io import OutputRun, save_dataset
from secdilemma.whatif import (
    METRICS,
    POLICY_NAMES,
    evaluate_points,
    parse_vary,
    plan_sweep,
    rank_policies,
    run_sweep,
    sobol,
    sweep,
    switch_points,
    tornado,
)
from secdilemma.whatif.plan import SweepPlan

__all__ = ["policies_cmd", "register", "whatif_cmd"]

Vary = Annotated[
    list[str] | None,
    typer.Option(
        "--vary",
        metavar="NAME=VALUES",
        help="An input to vary (repeat for a grid): START:STOP:N (N values, both ends "
        "included), a,b,c or one value. Names: omega, delta, mu, alpha, beta, gamma, kappa, "
        "sigma, prior.TYPE, persistence, observer, temperature, confidence, losses.FIELD, "
        "horizon, policy.",
    ),
]
Metric = Annotated[
    str, typer.Option(help=f"What the sensitivity ranks inputs by: {', '.join(METRICS)}.")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="Run the chunks on this Dask scheduler: tcp://HOST:PORT, or tls://HOST:PORT "
        "with --tls-ca-file/--tls-cert/--tls-key.",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(help="Start a local Dask cluster of N worker processes (loopback only)."),
]
TlsFile = Annotated[Path | None, typer.Option(help="TLS file for a tls:// scheduler.")]
Engine = Annotated[
    str,
    typer.Option(
        help="exact: the exact observer with the study's parameters (fast). refit: the PyMC "
        "fit re-sampled once per setting of omega, delta, prior.TYPE, persistence (one "
        "compiled model, fits one after another; losses.FIELD and horizon reuse a fit)."
    ),
]
RefitCount = Annotated[
    int | None, typer.Option(help="--engine refit: this sampler setting for every fit.")
]
MaxFits = Annotated[
    int, typer.Option(help="--engine refit: the most fits to run (refused beyond).")
]
ConnectTimeout = Annotated[
    float, typer.Option(help="Seconds to wait for --scheduler before giving up.")
]
Evsi = Annotated[
    bool,
    typer.Option(
        help="Add EVSI per signal channel to sweep.nc (variable evsi over (..., signal): "
        "what observing each channel alone once more before acting is worth)."
    ),
]
SobolSamples = Annotated[
    int, typer.Option(help="Base samples of the Sobol analysis (a power of 2; 0: none).")
]


def _security(ca: Path | None, cert: Path | None, key: Path | None) -> Any:
    if ca is None and cert is None and key is None:
        return None
    if ca is None or cert is None:
        raise ParameterError("--tls-ca-file and --tls-cert go together (and --tls-key if apart).")
    from distributed.security import Security

    return Security(
        tls_ca_file=str(ca),
        tls_client_cert=str(cert),
        tls_client_key=None if key is None else str(key),
        require_encryption=True,
    )


def _axes(vary: list[str] | None) -> dict[str, Any]:
    if not vary:
        raise ParameterError("give at least one --vary NAME=VALUES, e.g. --vary omega=0:1:21.")
    axes: dict[str, Any] = {}
    for text in vary:
        name, values = parse_vary(text)
        if name in axes:
            raise ParameterError(f"--vary: {name!r} is given twice; give it once.")
        axes[name] = values
    return axes


def _check_options(metric: str, engine: str) -> None:
    if metric not in METRICS:
        raise ParameterError(f"--metric must be one of {list(METRICS)}; got {metric!r}.")
    if engine not in ("exact", "refit"):
        raise ParameterError(f"--engine must be exact or refit; got {engine!r}.")


def _files(plan: SweepPlan, sobol_on: bool) -> list[str]:
    files = ["sweep.nc", "tornado.nc", "line.png", "tornado.png"]
    numeric = [a for a in plan.axes if a.input.kind != "choice" and a.values.size > 1]
    if len(numeric) >= 2:
        files.append("decision_map.png")
    if sobol_on:
        files += ["sobol.nc", "sobol.png"]
    return files


def _log_to_stderr() -> None:
    """Periodic progress lines on stderr when it is not a terminal (a log, a CI job)."""
    logger = logging.getLogger("secdilemma.whatif")
    if not sys.stderr.isatty() and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def whatif_cmd(
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
    horizon: Horizon = None,
    seed: Seed = None,
    vary: Vary = None,
    metric: Metric = "p_star",
    scheduler: Scheduler = None,
    workers: Workers = None,
    tls_ca_file: TlsFile = None,
    tls_cert: TlsFile = None,
    tls_key: TlsFile = None,
    connect_timeout: ConnectTimeout = 10.0,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted sweep.")] = False,
    chunks: Annotated[int | None, typer.Option(help="Cells per chunk (default 32768).")] = None,
    n_sims: Annotated[int, typer.Option(help="Simulated futures per type.")] = 2000,
    evsi: Evsi = False,
    sobol_samples: SobolSamples = 64,
    out_dir: Out = None,
    overwrite: Overwrite = False,
    engine: Engine = "exact",
    refit_draws: RefitCount = None,
    refit_tune: RefitCount = None,
    refit_chains: RefitCount = None,
    max_fits: MaxFits = 50,
) -> None:
    """What if? The belief and the decision over a grid of inputs, with its figures.

    Writes sweep.nc (one dim per varied input), tornado.nc, sobol.nc, and the figures
    decision_map.png (best action over the first two inputs, p* frontier, the study's
    setting marked), tornado.png, sobol.png and line.png; prints where the best action
    changes and which inputs matter most. With --engine refit: sweep.nc, line.png and
    decision_map.png from the refitted posteriors, and each fit's diagnostics.
    """
    with user_errors():
        axes = _axes(vary)
        _check_options(metric, engine)
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, observer=observer,
            params=params, omega=omega, delta=delta, prior=prior, horizon=horizon, seed=seed,
        )  # fmt: skip
        if engine == "refit":
            fit = {"refit_draws": refit_draws, "refit_tune": refit_tune,
                   "refit_chains": refit_chains, "max_fits": max_fits}  # fmt: skip
            _whatif_refit(study, axes, n_sims, fit, out_dir, overwrite)
            return
        plan = plan_sweep(study, chunks=chunks, n_sims=n_sims, **axes)
        if evsi:  # an opt-in variable: the defaults and it
            plan = plan_sweep(
                study, chunks=chunks, n_sims=n_sims, variables=[*plan.keep, "evsi"], **axes
            )
        grid: dict[str, Any] = {a.name: a.values for a in plan.axes}
        ranges: dict[str, Any] = {
            a.name: a.values for a in plan.axes if a.input.kind != "choice" and a.values.size > 1
        }
        sobol_on = sobol_samples > 0 and bool(ranges)
        folder = output_folder(out_dir, "whatif", study.setting.name)
        store = folder.parent / ".whatif-chunks" / f"{plan.key()}.zarr"
        security = _security(tls_ca_file, tls_cert, tls_key)
        _log_to_stderr()
        with OutputRun(folder, _files(plan, sobol_on), overwrite=overwrite) as run:
            out.print_setting(study.setting)
            _print_plan(plan)
            ds = run_sweep(plan, store=store, resume=resume, overwrite=overwrite,
                           scheduler=scheduler, workers=workers, security=security,
                           timeout=connect_timeout)  # fmt: skip
            ds = ds.load()
            save_dataset(ds, run.path("sweep.nc"), overwrite=True)
            tor = tornado(study, metric, n_sims=n_sims, **grid)
            save_dataset(tor, run.path("tornado.nc"), overwrite=True)
            sob = sobol(study, n=sobol_samples, n_sims=n_sims, **ranges) if sobol_on else None
            _figures(run, ds, tor, sob)
            _print_own(plan)
            _print_results(ds, tor, sob, metric)
            if sob is not None:
                save_dataset(sob, run.path("sobol.nc"), overwrite=True)
        shutil.rmtree(store, ignore_errors=True)
        out.console.print(f"wrote {', '.join(run.files)} in {folder}", markup=False)


def _whatif_refit(
    study: Any,
    axes: dict[str, Any],
    n_sims: int,
    fit: dict[str, Any],
    out_dir: Path | None,
    overwrite: bool,
) -> None:
    """``whatif --engine refit``: the sweep on refitted posteriors, its figures, the fits."""
    folder = output_folder(out_dir, "whatif", study.setting.name)
    numeric = [k for k, v in axes.items() if k != "observer" and np.size(v) > 1]
    files = ["sweep.nc", "line.png"] + (["decision_map.png"] if len(numeric) >= 2 else [])
    _log_to_stderr()
    with OutputRun(folder, files, overwrite=overwrite) as run:
        out.print_setting(study.setting)
        out.console.print(
            "engine refit: the PyMC fit re-sampled per setting of the fitted inputs, one "
            "after another in this process (no tornado or Sobol analysis: those run on the "
            "exact engine)",
            markup=False,
        )
        with warnings.catch_warnings():  # the gate's warning is logged and printed below
            warnings.filterwarnings("ignore", message="whatif refit:")
            ds = sweep(study, engine="refit", n_sims=n_sims, **fit, **axes)
        save_dataset(ds, run.path("sweep.nc"), overwrite=True)
        save_figure(plot_line(ds), run.path("line.png"))
        if "decision_map.png" in files:
            save_figure(plot_decision_map(ds), run.path("decision_map.png"))
        for f in json.loads(ds.attrs["whatif_fits"]):
            rhat = "n/a" if f["max_rhat"] is None else f"{f['max_rhat']:.3f}"
            out.console.print(
                f"fit {f['setting']}: {f['seconds']:.1f} s, max R-hat {rhat}, min bulk ESS "
                f"{f['min_ess_bulk']:.0f}, {f['divergences']} divergences"
                + ("" if f["ok"] else " (fails the gate)"),
                markup=False,
            )
        out.console.print(
            f"{ds.attrs['whatif_n_fits']} fits, {ds.attrs['whatif_compilations']} "
            "compilation(s): later fits reused the compiled model with new data",
            markup=False,
        )
        if "whatif_fit_warning" in ds.attrs:
            out.console.print(f"WARNING: {ds.attrs['whatif_fit_warning']}", markup=False)
        actions = [str(a) for a in ds["action"].values]
        if ds["best_action"].size <= 12:
            _print_cells(ds, actions)
    out.console.print(f"wrote {', '.join(run.files)} in {folder}", markup=False)


def _figures(run: OutputRun, ds: xr.Dataset, tor: xr.Dataset, sob: xr.Dataset | None) -> None:
    save_figure(plot_line(ds), run.path("line.png"))
    save_figure(plot_tornado(tor), run.path("tornado.png"))
    if "decision_map.png" in run.files:
        save_figure(plot_decision_map(ds), run.path("decision_map.png"))
    if sob is not None:
        save_figure(plot_sobol(sob), run.path("sobol.png"))


def _print_plan(plan: SweepPlan) -> None:
    swept = " x ".join(f"{a.name} ({a.values.size})" for a in plan.axes)
    pol = f" x {len(plan.policies)} policies" if plan.policies else ""
    out.console.print(
        f"sweep: {swept}{pol} = {plan.n_cells:,} cells in {plan.n_boxes} chunk(s); exact "
        f"observer, {plan.base.n_sims} futures per type, seed {plan.base.seed}",
        markup=False,
    )


def _print_own(plan: SweepPlan) -> None:
    """The study's own setting, for comparison with the cells."""
    own = evaluate_points(plan.base).isel(point=0)
    actions = [str(a) for a in own["action"].values]
    best = int(own["best_action"])
    p_star = float(own["p_star"])
    types, probs = own["rival_type"].values, own["belief"].values
    belief = ", ".join(f"P({t})={float(v):.3f}" for t, v in zip(types, probs, strict=True))
    out.console.print(
        f"at the study's own setting: belief {belief}; best {actions[best]} (P(best) "
        f"{float(own['p_best'].isel(action=best)):.2f}), p* "
        f"{'no flip' if np.isnan(p_star) else f'{p_star:.3f}'}, EVPI {float(own['evpi']):.3g}",
        markup=False,
    )


def _print_results(ds: xr.Dataset, tor: xr.Dataset, sob: xr.Dataset | None, metric: str) -> None:
    actions = [str(a) for a in ds["action"].values]
    if ds["best_action"].size <= 12:
        _print_cells(ds, actions)
    points = switch_points(ds)
    share = points[0].get("share", {}) if points else {}
    out.console.print(
        "best action over the grid: "
        + ", ".join(f"{a} {100 * share.get(a, 0):.0f} %" for a in actions),
        markup=False,
    )
    for p in points:
        at = ", ".join(f"{k}={v}" for k, v in p["at"].items())
        where = f" (others at {at})" if at else ""
        if p["changes"]:
            moves = "; ".join(f"{f} -> {t} between {lo} and {hi}" for lo, hi, f, t in p["changes"])
            out.console.print(f"along {p['input']}{where}: {moves}", markup=False)
        else:
            out.console.print(f"along {p['input']}{where}: {p['best'][0]} throughout", markup=False)
    base = float(tor["metric_base"])
    out.console.print(
        f"inputs that matter most for {metric} ({METRICS[metric]}; the study's own: {base:.3g}):",
        markup=False,
    )
    for i in range(tor.sizes["input"]):
        r = tor.isel(input=i)
        out.console.print(
            f"  {i + 1}. {r.input.item()}: swing {float(r.swing):.3g} ({r.low_value.item()} -> "
            f"{float(r.metric_low):.3g}, {r.high_value.item()} -> {float(r.metric_high):.3g})",
            markup=False,
        )
    if sob is not None:
        constant = json.loads(str(sob.attrs.get("constant", "[]")))
        for m in sob["metric"].values:
            if m in constant:
                out.console.print(f"Sobol: {m} does not change over the ranges", markup=False)
                continue
            s = sob.sel(metric=m)
            parts = [
                f"{k} {float(s.ST.sel(input=k)):.2f} ± {float(s.ST_conf.sel(input=k)):.2f}"
                for k in s["input"].values
            ]
            out.console.print(f"Sobol total index of {m}: " + ", ".join(parts), markup=False)


def _print_cells(ds: xr.Dataset, actions: list[str]) -> None:
    """Each cell on one line (few cells: a what-if about one or a few values)."""
    dims = [str(d) for d in ds["best_action"].dims]
    width = {d: max(len(d) + 1, 8) for d in dims}
    head = "".join(f"{d:>{width[d]}}" for d in dims) + f"{'P(greed)':>9}"
    head += "".join(f"{'EU ' + a[:8]:>12}" for a in actions)
    out.console.print(head + f"  {'best':<9}{'P(best)':>7}{'p*':>8}{'EVPI':>7}", markup=False)
    flat = ds.stack(cell=dims) if dims else ds.expand_dims(cell=[0])
    for c in range(flat.sizes["cell"]):
        cell = flat.isel(cell=c)
        best = int(cell["best_action"])
        p_star = float(cell["p_star"])
        line = "".join(f"{_cell_value(cell[d].item()):>{width[d]}}" for d in dims)
        line += f"{float(cell['p_greed']):>9.3f}"
        line += "".join(f"{float(v):>12.3f}" for v in cell["expected_utility"].values)
        line += f"  {actions[best]:<9}{float(cell['p_best'].isel(action=best)):>7.2f}"
        line += (
            f"{'no flip' if np.isnan(p_star) else f'{p_star:.3f}':>8}{float(cell['evpi']):>7.3f}"
        )
        out.console.print(line, markup=False)
    out.console.print(
        "P(greed): P(greed motive) after the data; p*: the belief where the compared actions "
        "are equally good.",
        markup=False,
    )


def _cell_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def policies_cmd(
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
    horizon: Horizon = None,
    seed: Seed = None,
    policies: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated, from {', '.join(POLICY_NAMES)} (default: all)."),
    ] = None,
    first: Annotated[
        str | None,
        typer.Option(
            help="Also run each policy opened with one period of this action "
            "(e.g. reassure: 'which policy wins if we reassure first')."
        ),
    ] = None,
    n_sims: Annotated[int, typer.Option(help="Simulated futures per type.")] = 1000,
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Which multi-period policy wins? The ranking on common random numbers, with intervals.

    The futures start from the exact observer's belief at the last period, which also
    weights the rival's true type. Writes policies.nc and policies.png.
    """
    with user_errors():
        names = None if policies is None else [p.strip() for p in policies.split(",") if p]
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, observer=observer,
            params=params, omega=omega, delta=delta, prior=prior, horizon=horizon, seed=seed,
        )  # fmt: skip
        folder = output_folder(out_dir, "policies", study.setting.name)
        files = ["policies.nc", "policies.png"]
        with OutputRun(folder, files, overwrite=overwrite) as run:
            out.print_setting(study.setting)
            ds = rank_policies(study, policies=names, first=first, n_sims=n_sims)
            _print_ranking(ds)
            save_dataset(ds.drop_vars("scenario_loss"), run.path("policies.nc"), overwrite=True)
            save_figure(plot_policies(ds), run.path("policies.png"))
        out.console.print(f"wrote {', '.join(files)} in {folder}", markup=False)


def _print_ranking(ds: xr.Dataset) -> None:
    """The ranking as plain lines (fits 80 columns whatever the terminal)."""
    types, probs = ds["rival_type"].values, ds["belief"].values
    belief = ", ".join(f"P({t})={float(v):.2f}" for t, v in zip(types, probs, strict=True))
    first = str(ds.attrs.get("first", ""))
    lines = [
        f"Policies over {ds.attrs.get('horizon')} periods from the current belief ({belief}); "
        f"{ds.attrs.get('n_sims')} futures per type on common random numbers:",
        f"{'#':>2}  {'policy':<32}{'loss ± 95 %':<15}{'minus best':<16}{'P(war)':>6} {'deter':>5}",
    ]
    order = np.argsort(ds["expected_loss"].values, kind="stable")
    prior = ds["prior"].values
    for rank, i in enumerate(order, start=1):
        r = ds.isel(policy=int(i))
        name = str(r.policy.item())
        if first and name.startswith(f"{first}_then_"):
            name = f"{first}, then {name[len(first) + 6 :]}"
        diff, dse = float(r.loss_minus_best), 1.96 * float(r.loss_minus_best_se)
        loss = f"{float(r.expected_loss):.3f} ± {1.96 * float(r.mcse):.3f}"
        vs = "best" if rank == 1 else f"{diff:+.3f} ± {dse:.3f}"
        lines.append(
            f"{rank:>2}  {name:<32}{loss:<15}{vs:<16}{float(prior @ r.p_war.values):>6.3f} "
            f"{float(r.deter_share):>5.2f}"
        )
    lines.append(
        "loss: expected discounted loss (lower is better); minus best: paired difference to "
        "the best on the same futures; deter: share of periods deterring; belief_threshold "
        f"deters above P(greed motive) = {float(ds['threshold']):.3f} (the study's p*)."
    )
    if ds.attrs.get("bayes_optimal_sizing"):
        lines.append(f"bayes_optimal: {ds.attrs['bayes_optimal_sizing']}.")
    for line in lines:
        out.console.print(line, markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``whatif`` and ``policies`` verbs to the command line's ``app``."""
    app.command("whatif")(whatif_cmd)
    app.command("policies")(policies_cmd)
