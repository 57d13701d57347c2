"""Validation of a spec's plain data (a parsed TOML document) into its sections.

Every problem raises :class:`~secdilemma.errors.SpecError` naming the source (file or
``<dict>``), the key as a dotted path (``priors.beta.log_sd``) and the allowed values, with
the nearest allowed names for a misspelled one. :func:`parse_spec` is the one entry point;
:class:`secdilemma.spec.ModelSpec` builds itself from what it returns.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from secdilemma.data import SIGNAL_CHANNELS
from secdilemma.data.catalog import CASES
from secdilemma.data.prices import PRICES
from secdilemma.data.schema import POSTURE_CHANNELS
from secdilemma.decision.losses import Losses
from secdilemma.errors import ParameterError, SpecError
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA
from secdilemma.model.types import DEFAULT_LOADINGS
from secdilemma.observers import FITTABLE_KINDS
from secdilemma.spec.sections import (
    BACKENDS,
    DEFAULT_SEED,
    DEFAULT_TYPES,
    DIST_ARGS,
    NAME_PATTERN,
    PARAMETERS,
    POOLABLE,
    SECTIONS,
    SIGNAL_COEFS,
    SOURCES,
    TRANSFORMS,
    DataSpec,
    DecisionSpec,
    ObserverSpec,
    PriorSpec,
    PriorsSpec,
    SamplerSpec,
    SignalsSpec,
    TypesSpec,
    WorldSpec,
)

__all__ = ["check_name", "default_name", "parse_spec", "suggest"]

_DATA_KEYS = (
    "case",
    "case_observer",
    "observer",
    "rival",
    "source",
    "prices",
    "start",
    "end",
    "variable",
    "transform",
)
_PRIORS_OPTIONS = ("use_reference", "reference_log_sd", "reference_floor", "hierarchical", "tau")
_SAMPLER_KEYS = ("backend", "chains", "draws", "tune", "seed", "target_accept", "cores")


def suggest(word: str, choices: Iterable[str], *, n: int = 3) -> str:
    """`` Did you mean 'a'?`` (or ``'a', 'b' or 'c'``) for the nearest choices; ``""`` if none.

    >>> suggest("us_ussrr", ["anglo_german_naval", "us_ussr", "us_china"])
    " Did you mean 'us_ussr'?"
    """
    close = [f"'{c}'" for c in difflib.get_close_matches(word, list(choices), n=n)]
    if not close:
        return ""
    said = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f" Did you mean {said}?"


def check_name(name: str, where: str) -> str:
    """``name`` if it matches :data:`~secdilemma.spec.sections.NAME_PATTERN`, else SpecError.

    ``where`` names the source and key (``"s.toml: key 'meta.name'"``).
    """
    if not NAME_PATTERN.fullmatch(name):
        raise SpecError(
            f"{where}: {name!r} is not a safe name; use up to 100 letters, digits, '_', '.' "
            "or '-', starting with a letter, digit or '_' (names become parts of output "
            "folder names)."
        )
    return name


def default_name(source: str) -> str:
    """The name of a spec that gives none: its file's stem made safe, or ``"model"``."""
    if source.startswith("<"):
        return "model"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem).lstrip(".-")[:100]
    return safe or "model"


# ---------------------------------------------------------------------------------------------
# Validation helpers: every error names the file, the dotted key and the allowed values
# ---------------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, msg: str) -> SpecError:
        where = f"{self.source}: key '{key}'" if key else self.source
        return SpecError(f"{where}: {msg}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a table; got {type(value).__name__} {value!r}.")
        return {str(k): v for k, v in value.items()}

    def keys(
        self, table: Mapping[str, Any], allowed: tuple[str, ...] | list[str], key: str
    ) -> None:
        for k in table:
            if k not in allowed:
                path = f"{key}.{k}" if key else k
                raise SpecError(
                    f"{self.source}: unknown key '{path}'; allowed keys are {sorted(allowed)}."
                    f"{suggest(k, allowed)}"
                )

    def number(
        self,
        value: Any,
        key: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number; got {value!r}.")
        v = float(value)
        rng = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
        if not math.isfinite(v):
            raise self.fail(key, f"must be finite; got {v}.")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise self.fail(key, f"must be {'>' if lo_open else '>='} {lo} {rng}; got {v}.")
        if hi is not None and v > hi:
            raise self.fail(key, f"must be <= {hi}; got {v}.")
        return v

    def integer(self, value: Any, key: str, *, lo: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer; got {value!r}.")
        if lo is not None and value < lo:
            raise self.fail(key, f"must be an integer >= {lo}; got {value}.")
        return int(value)

    def string(self, value: Any, key: str, *, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string; got {value!r}.")
        if choices is not None and value not in choices:
            hint = suggest(value, choices)
            raise self.fail(key, f"{value!r} is not allowed; choose one of {list(choices)}.{hint}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false; got {value!r}.")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings; got {value!r}.")
        if len(set(value)) != len(value):
            raise self.fail(key, f"has duplicates: {list(value)}.")
        return tuple(value)

    def member(self, value: str, key: str, vocabulary: Iterable[str], what: str) -> None:
        """Fail with the nearest names unless ``value`` is one of ``vocabulary``."""
        vocab = list(vocabulary)
        if value not in vocab:
            raise self.fail(
                key, f"unknown {what} {value!r}; {what}s are {vocab}.{suggest(value, vocab)}"
            )


# ---------------------------------------------------------------------------------------------
# Priors
# ---------------------------------------------------------------------------------------------
def _prior(ctx: _Ctx, value: Any, key: str, allowed: tuple[str, ...]) -> PriorSpec:
    """A number is ``fixed``; ``false`` is ``gaussian`` (for ``nu``); otherwise a table."""
    if isinstance(value, bool):
        if value is False and "gaussian" in allowed:
            return PriorSpec("gaussian", {})
        raise ctx.fail(key, f"must be a number or a table {{dist = ...}}; got {value!r}.")
    if isinstance(value, (int, float)):
        if "fixed" not in allowed:
            raise ctx.fail(key, "cannot be fixed to a number here; give a table {dist = ...}.")
        v = ctx.number(value, key)
        return _check_prior_values(ctx, PriorSpec("fixed", {"value": v}), key)
    tab = ctx.table(value, key)
    if "dist" not in tab:
        raise ctx.fail(key, f"needs 'dist', one of {list(allowed)} (or a plain number to fix it).")
    dist = ctx.string(tab["dist"], f"{key}.dist", choices=allowed)
    need = DIST_ARGS[dist]
    ctx.keys(tab, ["dist", *need], key)
    missing = [a for a in need if a not in tab]
    if missing:
        raise ctx.fail(key, f"dist '{dist}' needs {list(need)}; missing {missing}.")
    args = {a: ctx.number(tab[a], f"{key}.{a}") for a in need}
    return _check_prior_values(ctx, PriorSpec(dist, args), key)


def _check_prior_values(ctx: _Ctx, p: PriorSpec, key: str) -> PriorSpec:
    positive_args = {"sigma", "median", "log_sd", "alpha", "beta"}
    for a, v in p.args.items():
        if a in positive_args and v <= 0:
            raise ctx.fail(f"{key}.{a}", f"must be > 0; got {v}.")
    name = key.split(".")[-1]
    if p.is_fixed and name in ("alpha", "beta", "gamma", "kappa") and p.args["value"] < 0:
        raise ctx.fail(key, "is a magnitude (the sign is fixed by the type) and must be >= 0.")
    if p.is_fixed and name in ("sigma", "nu") and p.args["value"] <= 0:
        raise ctx.fail(key, f"must be > 0; got {p.args['value']}.")
    return p


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------
def _check_case(ctx: _Ctx, t: dict[str, Any], case: str) -> None:
    ctx.member(case, "data.case", CASES, "case")
    bad = [k for k in ("observer", "rival", "source", "prices") if k in t]
    if bad:
        raise ctx.fail(
            f"data.{bad[0]}",
            "give either a bundled 'case' (with 'case_observer' for another observer and "
            "optionally 'start'/'end' to shorten it) or 'observer'/'rival'/'source' for a "
            "dyad from the raw tables, not both.",
        )
    if "case_observer" in t:
        opts = tuple(CASES[case].observers)
        ctx.string(t["case_observer"], "data.case_observer", choices=opts)


def _data(ctx: _Ctx, t: dict[str, Any]) -> DataSpec:
    ctx.keys(t, _DATA_KEYS, "data")
    case = ctx.string(t["case"], "data.case") if "case" in t else None
    if case is not None:
        _check_case(ctx, t, case)
    elif "case_observer" in t:
        raise ctx.fail("data.case_observer", "only applies with 'case'.")
    if case is None and ("observer" in t) != ("rival" in t):
        raise ctx.fail(
            "data.rival" if "observer" in t else "data.observer",
            "a dyad needs both 'observer' and 'rival' (COW codes or names).",
        )

    def code(k: str) -> str | None:
        if k not in t:
            return None
        v = t[k]
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return ctx.string(v, f"data.{k}")

    start = ctx.integer(t["start"], "data.start") if "start" in t else None
    end = ctx.integer(t["end"], "data.end") if "end" in t else None
    if start is not None and end is not None and end <= start:
        raise ctx.fail("data.end", f"must be after data.start ({start}); got {end}.")
    return DataSpec(
        case=case,
        case_observer=t.get("case_observer"),
        observer=code("observer"),
        rival=code("rival"),
        source=ctx.string(t["source"], "data.source", choices=SOURCES) if "source" in t else None,
        prices=ctx.string(t["prices"], "data.prices", choices=PRICES) if "prices" in t else None,
        start=start,
        end=end,
        variable=ctx.string(t.get("variable", DataSpec.variable), "data.variable"),
        transform=ctx.string(
            t.get("transform", DataSpec.transform), "data.transform", choices=TRANSFORMS
        ),
    )


def _loadings(ctx: _Ctx, value: Any) -> dict[str, tuple[float, float]]:
    tab = ctx.table(value, "types.loadings")
    if not tab:
        raise ctx.fail("types.loadings", "is empty; give {name = [greed, fear], ...}.")
    loadings = {}
    for k, v in tab.items():
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ctx.fail(f"types.loadings.{k}", f"must be [greed, fear]; got {v!r}.")
        g = ctx.number(v[0], f"types.loadings.{k}", lo=0.0, hi=1.0)
        f = ctx.number(v[1], f"types.loadings.{k}", lo=0.0, hi=1.0)
        loadings[k] = (g, f)
    return loadings


def _types(ctx: _Ctx, t: dict[str, Any]) -> TypesSpec:
    ctx.keys(t, ["names", "loadings", "switching"], "types")
    if "names" in t and "loadings" in t:
        raise ctx.fail("types.loadings", "give either 'names' or 'loadings', not both.")
    names: tuple[str, ...] = DEFAULT_TYPES
    loadings: dict[str, tuple[float, float]] | None = None
    if "names" in t:
        names = ctx.strings(t["names"], "types.names")
        if not names:
            raise ctx.fail("types.names", "is empty; name at least one type.")
        for n in names:
            if n not in DEFAULT_LOADINGS:
                raise ctx.fail(
                    "types.names",
                    f"unknown type {n!r}; named types are {list(DEFAULT_LOADINGS)} (use "
                    f"'loadings' for your own).{suggest(n, DEFAULT_LOADINGS)}",
                )
    if "loadings" in t:
        loadings = _loadings(ctx, t["loadings"])
        names = tuple(loadings)
    persistence: float | None = None
    sw = t.get("switching", False)
    if isinstance(sw, Mapping):
        swt = ctx.table(sw, "types.switching")
        ctx.keys(swt, ["persistence"], "types.switching")
        if "persistence" not in swt:
            raise ctx.fail("types.switching", "needs 'persistence' (in (0, 1)).")
        persistence = ctx.number(
            swt["persistence"], "types.switching.persistence", lo=0.0, hi=1.0, lo_open=True
        )
    elif sw is not False:
        raise ctx.fail("types.switching", f"must be false or {{persistence = p}}; got {sw!r}.")
    return TypesSpec(names=names, loadings=loadings, persistence=persistence)


def _signals(ctx: _Ctx, t: dict[str, Any]) -> SignalsSpec:
    ctx.keys(t, ["channels", "priors", "posture", "posture_prior"], "signals")
    channels: tuple[str, ...] = ()
    if "channels" in t:
        channels = ctx.strings(t["channels"], "signals.channels")
        for c in channels:
            ctx.member(c, "signals.channels", SIGNAL_CHANNELS, "channel")
    pri = ctx.table(t.get("priors"), "signals.priors")
    ctx.keys(pri, SIGNAL_COEFS, "signals.priors")
    priors = {k: _prior(ctx, v, f"signals.priors.{k}", ("normal", "fixed")) for k, v in pri.items()}
    posture: tuple[str, ...] = ()
    if "posture" in t:
        posture = ctx.strings(t["posture"], "signals.posture")
        for c in posture:
            ctx.member(c, "signals.posture", POSTURE_CHANNELS, "posture channel")
            if c not in channels:
                raise ctx.fail(
                    "signals.posture",
                    f"{c!r} is not one of the channels read ({list(channels)}); a posture "
                    "channel must also be listed in signals.channels.",
                )
    posture_prior = None
    if "posture_prior" in t:
        if not posture:
            raise ctx.fail(
                "signals.posture_prior",
                "is given but signals.posture lists no channel; name the posture channels.",
            )
        posture_prior = _prior(
            ctx, t["posture_prior"], "signals.posture_prior", ("normal", "fixed")
        )
    return SignalsSpec(
        channels=channels, priors=priors, posture=posture, posture_prior=posture_prior
    )


def _priors(ctx: _Ctx, t: dict[str, Any]) -> PriorsSpec:
    ctx.keys(t, [*PARAMETERS, *_PRIORS_OPTIONS], "priors")
    params = {k: _prior(ctx, t[k], f"priors.{k}", PARAMETERS[k]) for k in PARAMETERS if k in t}
    hier: tuple[str, ...] = PriorsSpec.hierarchical
    if "hierarchical" in t:
        hier = ctx.strings(t["hierarchical"], "priors.hierarchical")
        for h in hier:
            if h not in POOLABLE:
                raise ctx.fail(
                    "priors.hierarchical",
                    f"{h!r} cannot vary by dyad; choose among {list(POOLABLE)}.",
                )
    for h in hier:
        if h in params and params[h].is_fixed:
            raise ctx.fail(f"priors.{h}", "is fixed, so it cannot also be in priors.hierarchical.")
    tau_t = ctx.table(t.get("tau"), "priors.tau")
    ctx.keys(tau_t, POOLABLE, "priors.tau")
    tau = {k: ctx.number(v, f"priors.tau.{k}", lo=0.0, lo_open=True) for k, v in tau_t.items()}
    return PriorsSpec(
        params=params,
        use_reference=ctx.boolean(t.get("use_reference", False), "priors.use_reference"),
        reference_log_sd=ctx.number(
            t.get("reference_log_sd", PriorsSpec.reference_log_sd),
            "priors.reference_log_sd",
            lo=0.0,
            lo_open=True,
        ),
        reference_floor=ctx.number(
            t.get("reference_floor", PriorsSpec.reference_floor),
            "priors.reference_floor",
            lo=0.0,
            lo_open=True,
        ),
        hierarchical=hier,
        tau=tau,
    )


def _world_value(ctx: _Ctx, v: Any, key: str) -> float | dict[int, float]:
    """A number in [0, 1], or a table ``{period = value}`` (keys: years, as str or int)."""
    if not isinstance(v, Mapping):
        return ctx.number(v, key, lo=0.0, hi=1.0)
    if not v:
        raise ctx.fail(key, "is an empty table; give a number or {period = value, ...}.")
    out: dict[int, float] = {}
    for k, x in v.items():
        try:
            per = int(str(k))
        except ValueError:
            raise ctx.fail(f"{key}.{k}", "period keys must be integers (years).") from None
        out[per] = ctx.number(x, f"{key}.{k}", lo=0.0, hi=1.0)
    return dict(sorted(out.items()))


def _world(ctx: _Ctx, t: dict[str, Any]) -> WorldSpec:
    ctx.keys(t, ["omega", "delta"], "world")
    return WorldSpec(
        omega=_world_value(ctx, t.get("omega", DEFAULT_OMEGA), "world.omega"),
        delta=_world_value(ctx, t.get("delta", DEFAULT_DELTA), "world.delta"),
    )


def _observer(ctx: _Ctx, t: dict[str, Any], types: TypesSpec) -> ObserverSpec:
    ctx.keys(t, ["kind", "prior"], "observer")
    kind = ctx.string(t.get("kind", ObserverSpec.kind), "observer.kind", choices=FITTABLE_KINDS)
    prior: dict[str, float] | None = None
    p = t.get("prior", "uniform")
    if p != "uniform":
        tab = ctx.table(p, "observer.prior")
        ctx.keys(tab, list(types.names), "observer.prior")
        prior = {k: ctx.number(v, f"observer.prior.{k}", lo=0.0) for k, v in tab.items()}
        total = sum(prior.values())
        if abs(total - 1.0) > 1e-6:
            raise ctx.fail(
                "observer.prior",
                f"probabilities must sum to 1; they sum to {total:.6g}. Unnamed types get 0.",
            )
        prior = {n: prior.get(n, 0.0) for n in types.names}
    return ObserverSpec(kind=kind, prior=prior)


def _sampler(ctx: _Ctx, t: dict[str, Any]) -> SamplerSpec:
    ctx.keys(t, _SAMPLER_KEYS, "sampler")
    d = SamplerSpec()
    return SamplerSpec(
        backend=ctx.string(t["backend"], "sampler.backend", choices=BACKENDS)
        if "backend" in t
        else None,
        chains=ctx.integer(t.get("chains", d.chains), "sampler.chains", lo=1),
        draws=ctx.integer(t.get("draws", d.draws), "sampler.draws", lo=1),
        tune=ctx.integer(t.get("tune", d.tune), "sampler.tune", lo=0),
        seed=ctx.integer(t.get("seed", DEFAULT_SEED), "sampler.seed", lo=0),
        target_accept=ctx.number(
            t.get("target_accept", d.target_accept), "sampler.target_accept", lo=0.5, hi=0.999
        ),
        cores=ctx.integer(t["cores"], "sampler.cores", lo=1) if "cores" in t else None,
    )


def _decision(ctx: _Ctx, t: dict[str, Any]) -> DecisionSpec:
    ctx.keys(t, ["losses", "horizon", "actions"], "decision")
    losses = ctx.table(t.get("losses"), "decision.losses")
    try:
        Losses.from_dict(losses)
    except ParameterError as exc:
        raise ctx.fail("decision.losses", str(exc)) from None
    actions: dict[str, float] | tuple[str, ...] | None = None
    if "actions" in t:
        a = t["actions"]
        if isinstance(a, list | tuple):
            actions = ctx.strings(a, "decision.actions")
        else:
            tab = ctx.table(a, "decision.actions")
            actions = {k: ctx.number(v, f"decision.actions.{k}") for k, v in tab.items()}
    return DecisionSpec(
        losses={k: float(v) for k, v in losses.items()},
        horizon=ctx.integer(t.get("horizon", DecisionSpec.horizon), "decision.horizon", lo=1),
        actions=actions,
    )


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------
def parse_spec(d: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate a whole document; the keyword arguments of :class:`ModelSpec` (but the path).

    ``source`` names the document in errors: a file path, or ``<dict>`` style for data that
    come from no file.
    """
    ctx = _Ctx(source)
    top = ctx.table(d, "")
    ctx.keys(top, SECTIONS, "")
    meta = ctx.table(top.get("meta"), "meta")
    ctx.keys(meta, ["name", "description"], "meta")
    name = ctx.string(meta.get("name", default_name(source)), "meta.name")
    check_name(name, f"{source}: key 'meta.name'")
    types = _types(ctx, ctx.table(top.get("types"), "types"))
    out: dict[str, Any] = {
        "name": name,
        "description": ctx.string(meta.get("description", ""), "meta.description"),
        "data": _data(ctx, ctx.table(top.get("data"), "data")),
        "types": types,
        "signals": _signals(ctx, ctx.table(top.get("signals"), "signals")),
        "priors": _priors(ctx, ctx.table(top.get("priors"), "priors")),
        "world": _world(ctx, ctx.table(top.get("world"), "world")),
        "observer": _observer(ctx, ctx.table(top.get("observer"), "observer"), types),
        "sampler": _sampler(ctx, ctx.table(top.get("sampler"), "sampler")),
        "decision": _decision(ctx, ctx.table(top.get("decision"), "decision")),
    }
    if out["priors"].use_reference and out["data"].transform != "log_diff":
        raise ctx.fail(
            "priors.use_reference",
            "the reference parameters are in log points (transform = 'log_diff'); "
            f"data.transform is {out['data'].transform!r}. Set use_reference = false or "
            "use transform = 'log_diff'.",
        )
    return out
