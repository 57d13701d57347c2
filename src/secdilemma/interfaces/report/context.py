"""The report's content as plain values: what the templates show, computed here, not there.

:func:`build_context` turns :class:`~secdilemma.interfaces.report.inputs.ReportInputs` into
a dict of strings, numbers, lists and dicts, one entry per section of :data:`SECTIONS`. The
templates only lay it out; every number is formatted here, once, so that the HTML file and
its Markdown twin say the same.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from secdilemma._version import __version__
from secdilemma.interfaces.plots.evidence import greed_log_odds
from secdilemma.interfaces.report.inputs import ReportInputs
from secdilemma.interfaces.report.reasons import card_caveats, spec_reasons

__all__ = ["SECTIONS", "build_context"]

#: The report's sections in order: (anchor, heading).
SECTIONS = (
    ("question", "The question"),
    ("data", "The data"),
    ("world", "The model and the world"),
    ("diagnostics", "Diagnostics"),
    ("belief", "The belief over time"),
    ("evidence", "What moved the belief"),
    ("observers", "Aware against naive observer"),
    ("decision", "The decision"),
    ("whatif", "What if"),
    ("about", "How this report was made"),
)

#: What the seed texts (Jervis 1978; Glaser 1997; Kydd 1997) mean by each type and action;
#: other names are described by their loadings or their move.
TYPE_MEANINGS = {
    "greedy": "wants more than security: it would expand even if it felt safe",
    "insecure": "a security seeker: it arms out of fear and would stop if reassured",
    "mixed": "both motives at once: greed and fear",
}
ACTION_MEANINGS = {
    "deter": "stand firm and arm: the answer to a greedy rival",
    "defend": "arm for defence only: hold the line without threatening",
    "reassure": "restraint: cut or slow one's own buildup to stop a spiral with an insecure rival",
}


def _pct(p: float) -> str:
    return f"{100 * p:.0f} %"


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else "none"


def _world(v: float | dict[str, float]) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{v[k]:g} from {k}" for k in v)
    return f"{v:g}"


def _json_attr(attrs: dict[Any, Any], key: str) -> dict[str, Any]:
    """A JSON object attr, ``{}`` when missing or not JSON (results of an older version)."""
    try:
        value = json.loads(str(attrs.get(key, "{}")))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _type_meaning(name: str, greed: float, fear: float) -> str:
    if name in TYPE_MEANINGS:
        return TYPE_MEANINGS[name]
    return f"greed loading {greed:g}, fear loading {fear:g}"


def _question(inp: ReportInputs) -> dict[str, Any]:
    s, res, ev = inp.study.setting, inp.decision, inp.evidence
    types = [str(t) for t in ev["rival_type"].values]
    actions = [str(a) for a in res["action"].values]
    moves = _json_attr(res.attrs, "actions")
    belief = {t: float(inp.posterior["filtered"].isel(period=-1).sel(rival_type=t)) for t in types}
    top = max(belief, key=lambda t: belief[t])
    return {
        "observer": s.observer_state,
        "rival": s.rival_state,
        "years": s.years,
        "ask_types": _or(types),
        "ask_actions": _or(actions),
        "types": [
            {"name": t, "meaning": _type_meaning(t, float(g), float(f))}
            for t, g, f in zip(types, ev["greed"].values, ev["fear"].values, strict=True)
        ],
        "actions": [
            {
                "name": a,
                "meaning": ACTION_MEANINGS.get(a, "an action of the spec"),
                "move": f"{moves[a]:+g}" if a in moves else "as given",
            }
            for a in actions
        ],
        "most_likely": top,
        "most_likely_p": _pct(belief[top]),
        "recommended": str(res.attrs.get("recommended", "")),
        "engine_note": _engine_note(inp),
    }


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _engine_note(inp: ReportInputs) -> str:
    if inp.engine == "fit":
        return (
            "The decision uses the full Bayesian fit (PyMC): the belief integrates over the "
            "model's parameters. The belief and evidence figures use the exact observer."
        )
    return (
        "There is no Bayesian fit behind this report: it uses the exact observer, Bayes' rule "
        f"with the model's parameters fixed ({inp.study.setting.params} parameters), which "
        "leaves out the uncertainty about those parameters."
    )


def _data(inp: ReportInputs) -> dict[str, Any]:
    ds, moves = inp.study.data_and_moves()
    card = ds.attrs.get("data_card")
    caveats = card_caveats(card)
    for key in ("units_note", "notes"):
        if ds.attrs.get(key):
            caveats.append(str(ds.attrs[key]))
    events = []
    if "event_year" in ds:
        for i in range(ds.sizes.get("event", 0)):
            year = float(ds["event_year"].values[i])
            events.append(
                {
                    "year": "undated" if not math.isfinite(year) else f"{year:.0f}",
                    "actor": str(ds["event_actor"].values[i]) if "event_actor" in ds else "",
                    "label": str(ds["event_label"].values[i]),
                    "source": str(ds["event_source"].values[i]) if "event_source" in ds else "",
                }
            )
    return {
        "title": str(ds.attrs.get("title", inp.study.setting.name)),
        "description": str(ds.attrs.get("description", "")),
        "source": str(ds.attrs.get("source", "not stated")),
        "card": Path(str(card)).name if card else "",
        "card_path": str(card) if card else "",
        "variable": inp.study.spec.data.variable,
        "n_moves": int(moves.sizes["period"]),
        "caveats": caveats,
        "events": events,
    }


def _world_section(inp: ReportInputs) -> dict[str, Any]:
    s, spec = inp.study.setting, inp.study.spec
    reasons = spec_reasons(s.spec_path)
    prior = (
        s.prior if isinstance(s.prior, str) else ", ".join(f"{k} {v:g}" for k, v in s.prior.items())
    )
    rows = [
        ("omega", "offense advantage", _world(s.omega), "world.omega"),
        ("delta", "distinguishability of offence and defence", _world(s.delta), "world.delta"),
        ("observer", "observer kind", s.observer, "observer.kind"),
        ("prior", "prior over types", prior, "observer.prior"),
        ("types", "rival types", ", ".join(spec.types.names), "types.names"),
        ("variable", "capability series", str(spec.data.variable), "data.variable"),
        (
            "channels",
            "signal channels",
            ", ".join(spec.signals.channels) or "none",
            "signals.channels",
        ),
        ("params", "exact observer's parameters", s.params, ""),
        ("horizon", "decision horizon (periods)", str(s.horizon), "decision.horizon"),
    ]
    no_reason = "the spec states no reason" if s.spec_path else "no spec file: a default"
    used = _json_attr(inp.posterior.attrs, "study_signals_used")
    return {
        "spec": s.spec_path or "none (built from the arguments)",
        "rows": [
            {"name": n, "what": w, "value": v, "reason": reasons.get(k, no_reason)}
            for n, w, v, k in rows
        ],
        "channels": [{"name": str(c), "how": str(h)} for c, h in used.items()],
        "world_note": "omega and delta are judgments, not measurements: see the what-if "
        "section, or sweep them (secdilemma whatif), before leaning on a result.",
    }


def _diagnostics(inp: ReportInputs) -> dict[str, Any]:
    summ = inp.fit_summary
    if inp.engine != "fit" or not summ:
        return {
            "has_fit": False,
            "verdict": "not applicable",
            "text": "No sampler ran: the exact observer computes the belief exactly, with "
            "the parameters fixed, so there are no sampling diagnostics to check.",
        }
    d = summ.get("diagnostics", {})
    gate = d.get("gate", {})
    rows = [
        ("largest R-hat", d.get("max_rhat"), f"<= {gate.get('rhat', 1.01)}", "rhat"),
        ("smallest bulk ESS", d.get("min_ess_bulk"), f">= {gate.get('ess', 400):g}", "ess"),
        ("smallest tail ESS", d.get("min_ess_tail"), f">= {gate.get('ess', 400):g}", "ess"),
        ("divergences", d.get("divergences"), f"<= {gate.get('divergences', 0):g}", "div"),
    ]
    ok = bool(d.get("ok", summ.get("trustworthy", False)))
    return {
        "has_fit": True,
        "ok": ok,
        "verdict": "passed" if ok else "do not rely on this",
        "rows": [
            {"name": n, "value": _num(float(v), 4) if v is not None else "n/a", "gate": g}
            for n, v, g, _ in rows
        ],
        "problems": [str(p) for p in d.get("problems", [])],
        "text": str(summ.get("verdict", "")),
    }


def _belief(inp: ReportInputs) -> dict[str, Any]:
    post = inp.posterior["filtered"]
    types = [str(t) for t in post["rival_type"].values]
    first, last = post.isel(period=0), post.isel(period=-1)
    rows = [
        {
            "type": t,
            "first": _pct(float(first.sel(rival_type=t))),
            "last": _pct(float(last.sel(rival_type=t))),
        }
        for t in types
    ]
    fit_rows = []
    summ = inp.fit_summary or {}
    for _dyad, probs in (summ.get("type_probabilities") or {}).items():
        fit_rows = [
            {"type": t, "mean": _pct(v["mean"]), "band": f"{_pct(v['low'])} to {_pct(v['high'])}"}
            for t, v in probs.items()
        ]
    return {
        "observer": str(inp.posterior.attrs.get("study_observer", inp.study.setting.observer)),
        "first_period": str(post["period"].values[0]),
        "last_period": str(post["period"].values[-1]),
        "rows": rows,
        "fit_rows": fit_rows,
    }


def _evidence(inp: ReportInputs) -> dict[str, Any]:
    ev = inp.evidence
    types = [str(t) for t in ev["rival_type"].values]
    odds = greed_log_odds(ev).sum("period")
    rows = []
    for src in ev["source"].values:
        rows.append(
            {
                "source": str(src),
                "llr": [
                    f"{float(ev['llr_total'].sel(source=src, rival_type=t)):+.2f}" for t in types
                ],
                "push": f"{float(odds.sel(source=src)):+.2f}",
                "without": _beliefs(ev["belief_without"].sel(source=src), types),
            }
        )
    strongest = str(ev["source"].values[int(np.argmax(np.abs(odds.values)))])
    return {
        "types": types,
        "rows": rows,
        "towards": str(greed_log_odds(ev).attrs.get("towards", "the greed-motivated types")),
        "strongest": strongest,
    }


def _beliefs(b: Any, types: list[str]) -> str:
    return ", ".join(f"{t} {_pct(float(b.sel(rival_type=t)))}" for t in types)


def _observers(inp: ReportInputs) -> dict[str, Any]:
    a, n = inp.aware["filtered"].isel(period=-1), inp.naive["filtered"].isel(period=-1)
    types = [str(t) for t in a["rival_type"].values]
    rows = [
        {
            "type": t,
            "aware": _pct(float(a.sel(rival_type=t))),
            "naive": _pct(float(n.sel(rival_type=t))),
        }
        for t in types
    ]
    gap = max(abs(float(a.sel(rival_type=t)) - float(n.sel(rival_type=t))) for t in types)
    return {"rows": rows, "gap": _pct(gap), "period": str(a["period"].values)}


def _decision(inp: ReportInputs) -> dict[str, Any]:
    res = inp.decision
    level = round(100 * float(res.attrs.get("ci_prob", 0.94)))
    rows = [
        {
            "action": str(a),
            "eu": f"{float(res['expected_utility'].sel(action=a)):.3f}",
            "interval": f"{float(res['eu_lower'].sel(action=a)):.3f} to "
            f"{float(res['eu_upper'].sel(action=a)):.3f}",
            "p_best": f"{float(res['p_best'].sel(action=a)):.2f}",
        }
        for a in res["action"].values
    ]
    p_star = float(res["threshold"])
    actions = [str(a) for a in res["action"].values]
    return {
        "recommended": str(res.attrs.get("recommended", "")),
        "belief_label": str(res.attrs.get("study_belief", "")),
        "level": level,
        "rows": rows,
        "p_greed": f"{float(res['p_greed']):.3f}",
        "p_star": f"{p_star:.3f}" if math.isfinite(p_star) else "none",
        "p_star_note": str(res.attrs.get("threshold_note", "")),
        "p_star_pair": str(res.attrs.get("threshold_pair", "")).replace("|", " against "),
        "evpi": f"{float(res['evpi']):.4f}",
        "actions": actions,
        "priors": [_prior_row(r, actions) for r in inp.priors],
        "flips": sorted({r["recommended"] for r in inp.priors}) != [res.attrs.get("recommended")],
        "world_changed": str(res.attrs.get("study_world_changed_after_fit", "")),
    }


def _prior_row(r: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    return {
        "label": r["label"],
        "prior": ", ".join(f"{k} {v:.2f}" for k, v in r["prior"].items()),
        "belief": ", ".join(f"{k} {_pct(v)}" for k, v in r["belief"].items()),
        "p_greed": f"{r['p_greed']:.3f}",
        "recommended": r["recommended"],
        "p_best": ", ".join(f"{a} {r['p_best'][a]:.2f}" for a in actions if a in r["p_best"]),
        "evpi": f"{r['evpi']:.4f}",
    }


def _whatif(inp: ReportInputs, figures: set[str]) -> dict[str, Any]:
    if "whatif" in figures:
        return {"present": True, "text": ""}
    if inp.sweep is None:
        text = (
            "No what-if sweep was found with these results, so this section is left out. "
            "Run secdilemma whatif over omega and delta (e.g. --vary omega=0:1:11 --vary "
            "delta=0:1:11 --out FOLDER/whatif) to map the decision over the world; a "
            "report of FOLDER then shows the map."
        )
    else:
        text = (
            "The sweep found with these results varies fewer than two numeric inputs, so "
            "no decision map can be drawn from it."
        )
    return {"present": False, "text": text}


def build_context(inputs: ReportInputs, figures: set[str]) -> dict[str, Any]:
    """The report's content as plain values, one entry per section of :data:`SECTIONS`, plus
    ``title``, ``headings`` ({anchor: heading}) and ``figures_present`` (the names in
    ``figures``)."""
    s = inputs.study.setting
    question = _question(inputs)
    return {
        "title": f"{s.name}: is {s.rival_state} {question['ask_types']}? "
        f"A report for {s.observer_state}, {s.years}",
        "headings": dict(SECTIONS),
        "order": [a for a, _ in SECTIONS],
        "figures_present": sorted(figures),
        "question": question,
        "data": _data(inputs),
        "world": _world_section(inputs),
        "diagnostics": _diagnostics(inputs),
        "belief": _belief(inputs),
        "evidence": _evidence(inputs),
        "observers": _observers(inputs),
        "decision": _decision(inputs),
        "whatif": _whatif(inputs, figures),
        "about": {
            "setting": s.lines(),
            "origin": inputs.origin,
            "reused": inputs.reused,
            "version": __version__,
        },
    }
