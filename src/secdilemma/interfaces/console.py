"""What the command line prints: the resolved setting, the data, beliefs, fits, decisions.

Plain functions from results to the terminal (rich tables); no computation happens here.
Strings that come from data or specs are printed with markup off, so ``[nan]`` or a
bracketed event label is shown as written.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr
from rich.console import Console
from rich.table import Table
from rich.text import Text

from secdilemma.interfaces.plots.evidence import rests_on
from secdilemma.study import Setting
from secdilemma.study.headline import EngineComparison, decision_headline

__all__ = [
    "console",
    "err_console",
    "print_case",
    "print_coefficient_sensitivity",
    "print_comparison",
    "print_decision",
    "print_evidence",
    "print_fit_summary",
    "print_posterior",
    "print_setting",
    "print_signal_coefficients",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_setting(setting: Setting) -> None:
    """The resolved setting, at the top of every command's output."""
    for line in setting.lines():
        console.print(line, markup=False)


def print_case(ds: xr.Dataset) -> None:
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


def print_posterior(post: xr.Dataset, setting: Setting, ds: xr.Dataset, kind: str) -> None:
    """The exact observer's filtered posterior path, its evidence and parameters."""
    title = f"{setting.name}: P(rival type | data up to t), {kind} observer"
    console.print(_posterior_table(post["filtered"], title, _events_by_period(ds)))
    params = json.loads(post.attrs.get("params_json", "{}"))
    shown = {
        k: params[k] for k in ("mu", "alpha", "beta", "gamma", "kappa", "sigma") if k in params
    }
    console.print(
        f"log evidence (log p(data | model), for comparing models on the same data): "
        f"{float(post['log_evidence']):.3f}",
        markup=False,
    )
    source = setting.params
    ref = post.attrs.get("study_reference")
    if source == "reference" and ref:  # which pool: a member's reads the pool without it
        source = f"reference: {ref}"
    console.print(f"parameters ({source}): {json.dumps(_rounded(shown))}", markup=False)
    console.print(f"signals: {post.attrs.get('study_signals_used', '')}", markup=False)


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(float(np.mean(v)), 4) for k, v in d.items()}


def print_decision(res: xr.Dataset, engines: EngineComparison | None = None) -> None:
    """The decision: it leads with the headline belief (the one the decision used, and its
    engine) and, when both engines ran, whether the other differs (``engines``,
    :func:`secdilemma.study.headline.compare_engines`); then expected utilities with
    intervals, P(best), p*, EVPI, recommendation."""
    level = round(100 * float(res.attrs.get("ci_prob", 0.90)))  # the level decide() used
    console.print(decision_headline(res), style="bold", markup=False)
    if engines is not None:
        console.print(engines.sentence, markup=False)
    horizon = res.attrs.get("study_horizon", "?")
    acts = [str(a) for a in res.action.values]
    which = " or ".join(acts) if len(acts) < 3 else f"{', '.join(acts[:-1])} or {acts[-1]}"
    table = Table(
        title=f"{which.capitalize()}? ({res.attrs.get('study_belief', '')}; {horizon} periods "
        "ahead)"
    )
    for col in ("action", "expected utility", f"{level} % interval", "P(best)"):
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
    p_star = float(res["threshold"])
    p_star_txt = (
        f"{p_star:.3f} (above it: {res.attrs.get('threshold_upper_action', '?')})"
        if p_star == p_star
        else f"none ({res.attrs.get('threshold_note', 'the choice does not flip')})"
    )
    rec = str(res.attrs["recommended"])
    best = str(res["p_best"].idxmax("action").values)
    lines = [
        f"expected utility: the mean over the belief; {level} % interval: over the posterior "
        "draws (for one belief vector, the simulation's Monte Carlo error). P(best): the share "
        "of the draws (type and parameters) under which the action is the best one (what a "
        "fully informed observer would choose).",
        f"threshold p* on P(greed motive): {p_star_txt}",
        f"EVPI (what knowing the type for sure would be worth): {float(res['evpi']):.4f}",
    ]
    if best != rec:
        lines.append(
            f"note: {best} is the best action under more of the draws (P(best)), but {rec} has "
            "the higher expected utility: the losses are asymmetric, so where it is better it "
            "is better by more. The recommendation maximises posterior expected utility."
        )
    if res.attrs.get("study_world_changed_after_fit"):
        lines.append(
            "note: --allow-world-change: the belief was fitted under the fit's world, the "
            f"decision looks ahead under {res.attrs.get('study_omega')}/"
            f"{res.attrs.get('study_delta')} (omega/delta)."
        )
    for line in lines:
        console.print(line, markup=False)
    console.print(f"recommendation: {rec}", style="bold", markup=False)


def print_fit_summary(summary: dict[str, Any]) -> None:
    lo, hi = (round(100 * q) for q in summary["interval"])
    for dyad, types in summary["type_probabilities"].items():
        sens = summary["prior_sensitivity"][dyad]
        name = summary["model"] if dyad == summary["model"] else f"{summary['model']} ({dyad})"
        table = Table(title=f"{name}: P(rival type | data), over parameter uncertainty")
        for col in ("type", "posterior mean", f"{hi - lo} % interval", "prior", "uniform prior"):
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
            "how the decision moves with the coefficient priors: the decision's sensitivity "
            "table."
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


def print_coefficient_sensitivity(ds: xr.Dataset) -> None:
    """How the recommendation and p* move with each coefficient across the pool's interval
    (:func:`secdilemma.study.sensitivity.coefficient_sensitivity`): a table, the pool's
    kappa, one plain sentence per coefficient and a note when a kappa point sits at zero."""
    a = ds.attrs
    table = Table(
        title=Text(
            f"Decision sensitivity to the coefficients ({a.get('belief', '')}; one "
            "coefficient at a time at the pool's 5 % quantile, median and 95 % quantile, the "
            "others at the study's values)"
        ),
        caption=Text(str(a["kappa_pool"])) if a.get("kappa_pool") else None,
    )
    acts = [str(x) for x in ds["action"].values]
    for col in ("coefficient", "level", "value", "recommended", "p*", *(f"EU {x}" for x in acts)):
        left = col in ("coefficient", "level")
        table.add_column(col, justify="left" if left else "right", no_wrap=not col.startswith("EU"))
    table.add_column("switch at", justify="right", no_wrap=True)
    for name in ds["coefficient"].values:
        sw = ds["switch_value"].sel(coefficient=name).values
        switch = ", ".join(f"{x:.3g}" for x in sw[np.isfinite(sw)]) or "-"
        for i, level in enumerate(ds["level"].values):
            r = ds.sel(coefficient=name, level=level)
            p_star = float(r["threshold"])
            table.add_row(
                str(name) if i == 0 else "",
                str(level),
                f"{float(r['value']):.3g}",
                str(r["recommended"].item()),
                f"{p_star:.3f}" if np.isfinite(p_star) else "none",
                *(f"{float(r['expected_utility'].sel(action=x)):.3f}" for x in acts),
                switch if i == 0 else "",
                end_section=i == ds.sizes["level"] - 1,
            )
    console.print(table, markup=False)
    own = ", ".join(
        f"{c} {float(ds['study_value'].sel(coefficient=c)):.3g}" for c in ds["coefficient"].values
    )
    console.print(
        f"at the study's values ({own}): {a.get('baseline_recommended')} (p* "
        f"{float(a.get('baseline_threshold', float('nan'))):.3f})",
        markup=False,
    )
    for line in json.loads(a.get("sentences", "[]")):
        console.print(line, markup=False)
    if a.get("boundary_note"):
        console.print(f"note: {a['boundary_note']}.", markup=False)


def print_comparison(table: xr.Dataset, shaky: list[str]) -> None:
    """The comparison Dataset of :meth:`secdilemma.Study.compare` (over ``model``, best first)."""
    rich = Table(title="PSIS-LOO model comparison (best first)")
    wanted = ("rank", "elpd", "se", "elpd_diff", "dse", "p_worse", "weight", "p")
    cols = [c for c in (*wanted, "diag_diff", "diag_elpd") if c in table.data_vars]
    rich.add_column("model")
    for c in cols:
        rich.add_column(c, justify="right")
    for i, name in enumerate(table["model"].values):
        values = [np.asarray(table[c].values[i]).tolist() for c in cols]  # Python scalars
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in values]
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


def print_evidence(ev: xr.Dataset, odds: xr.DataArray, *, top: int = 6) -> None:
    """What moved the exact observer's belief (:meth:`secdilemma.Study.evidence`): per
    source, its log-likelihood ratio for each type summed over the window, the final belief
    without it and from it alone; then the periods where a signal pushed hardest."""
    types = [str(k) for k in ev["rival_type"].values]
    table = Table(title="What moved the belief (exact observer): evidence by source")
    table.add_column("source")
    for k in types:
        table.add_column(f"LLR {k}", justify="right")
    table.add_column("belief without it", justify="right")
    table.add_column("from it alone", justify="right")
    for src in ev["source"].values:
        row = [str(src)]
        row += [f"{float(ev['llr_total'].sel(source=src, rival_type=k)):+.2f}" for k in types]
        for var in ("belief_without", "belief_from"):
            b = ev[var].sel(source=src)
            row.append(" ".join(f"{float(b.sel(rival_type=k)):.2f}" for k in types))
        table.add_row(*row)
    console.print(table)
    last = ev["belief"]
    console.print(
        "final belief from every source: "
        + ", ".join(f"P({k})={float(last.sel(rival_type=k)):.2f}" for k in types)
        + f" (belief columns in the order {', '.join(types)}; LLR: log-likelihood of the type "
        "minus the types' mean"
        + (
            "; with static types log belief = log prior + the LLRs + a constant)"
            if ev.attrs.get("additive")
            else ")"
        ),
        markup=False,
    )
    sig = odds.drop_sel(source=odds["source"].values[:1])  # the channels, not the buildups
    if sig.sizes["source"] == 0:
        return
    console.print(
        rests_on(odds) + f" ({odds.attrs.get('long_name', 'log-likelihood ratio')})",
        markup=False,
    )
    flat = sig.stack(cell=("source", "period"))
    strong = flat.isel(cell=np.argsort(-np.abs(np.nan_to_num(flat.values)))[:top])
    cells = [
        f"{int(c['period'])} {c['source'].item()}: {float(c):+.2f}"
        for c in strong
        if abs(float(c)) > 1e-9
    ]
    if cells:
        console.print(
            f"signals that pushed hardest (log-likelihood ratio towards "
            f"{odds.attrs.get('towards', 'the greed-motivated types')}; > 0 reads that way): "
            + "; ".join(cells),
            markup=False,
        )


def print_signal_coefficients(tree: Any) -> None:
    """The fit's signal coefficients per channel (posterior mean and 90 % interval; "fixed"
    for a constant) and where each channel's priors came from; nothing without channels."""
    post = tree["posterior"]
    names = [str(c) for c in post["signal"].values] if "signal" in post.coords else []
    if not names:
        return
    priors = json.loads(tree.attrs.get("priors", "{}")).get("signals", {})
    coefs = ("eta0", "eta_g", "eta_f")
    table = Table(title="Signal channels: what the fit learned (logit scale; mean [90 % interval])")
    for col in ("channel", *coefs, "prior from"):
        table.add_column(col, justify="left" if col in ("channel", "prior from") else "right")
    for j, ch in enumerate(names):
        row = [ch]
        for c in coefs:
            if c not in post.data_vars:
                row.append("fixed")
                continue
            v = np.asarray(post[c].isel(signal=j).values).reshape(-1)
            lo, hi = np.quantile(v, [0.05, 0.95])
            row.append(f"{v.mean():+.2f} [{lo:+.2f}, {hi:+.2f}]")
        origin = {c: priors[c]["origin"][j] for c in coefs if c in priors}
        same = len(set(origin.values())) == 1
        row.append(next(iter(origin.values())) if same else
                   "; ".join(f"{c}: {o}" for c, o in origin.items()))  # fmt: skip
        table.add_row(*row)
    console.print(table, markup=False)
