"""Declarative model specs: a TOML file, validated in one place, as a frozen dataclass tree.

A spec says which data to fit, which rival types to consider, which signal channels to
read, the priors of every parameter, the offense-defense world (``omega``, ``delta``), the
observer (aware or naive, and its prior over types), the sampler, and the decision losses.
It is plain data: it is parsed with :mod:`tomllib` and never evaluated as code.

Precedence is **user > data-derived > default**: a value written in the spec always wins;
where the spec is silent, :class:`secdilemma.PerceptionModel` derives what it can from
the data (e.g. the scale of the noise prior from the spread of the rival's moves) or from
the pooled reference estimate (``use_reference = true``), and otherwise uses the documented
defaults of :data:`DEFAULT_PRIORS`.

Every problem raises :class:`~secdilemma.errors.SpecError` naming the file, the key as a
dotted path (``priors.beta.log_sd``) and the allowed values, with a suggestion for a
misspelled key.

Example
-------
.. code-block:: toml

    [data]
    case = "anglo_german_naval"
    variable = "naval_expenditure"
    transform = "log_diff"

    [types]
    names = ["greedy", "insecure", "mixed"]

    [signals]
    channels = ["force_posture_law"]

    [priors]
    use_reference = true
    beta = { dist = "lognormal", median = 0.3, log_sd = 0.5 }

    [world]
    omega = { 1898 = 0.7, 1906 = 0.8 }   # by period: each value holds until the next year
    delta = 0.3

    [observer]
    kind = "aware"
    prior = { greedy = 0.4, insecure = 0.3, mixed = 0.3 }

    [sampler]
    backend = "nutpie"
    chains = 4
    draws = 1000

>>> spec = ModelSpec.from_dict({"data": {"case": "us_ussr"}, "world": {"omega": 0.2}})
>>> spec.world.omega, spec.priors.use_reference
(0.2, False)
>>> ModelSpec.from_dict({"prior": {}})
Traceback (most recent call last):
...
secdilemma.errors.SpecError: <dict>: unknown key 'prior'; allowed keys are ...
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secdilemma.errors import ParameterError, SpecError

__all__ = [
    "DEFAULT_PRIORS",
    "PARAMETERS",
    "DataSpec",
    "DecisionSpec",
    "ModelSpec",
    "ObserverSpec",
    "PriorSpec",
    "PriorsSpec",
    "SamplerSpec",
    "SignalsSpec",
    "TypesSpec",
    "WorldSpec",
    "load_spec",
    "spec_data",
]

#: Reaction-function parameters that take priors, and the distributions allowed for each.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "mu": ("normal", "fixed"),
    "alpha": ("lognormal", "halfnormal", "gamma", "fixed"),
    "beta": ("lognormal", "halfnormal", "gamma", "fixed"),
    "gamma": ("lognormal", "halfnormal", "gamma", "fixed"),
    "kappa": ("lognormal", "halfnormal", "gamma", "fixed"),
    "sigma": ("lognormal", "halfnormal", "fixed"),
    "nu": ("fixed", "gaussian"),
}

#: Arguments of each distribution (all required).
DIST_ARGS: dict[str, tuple[str, ...]] = {
    "normal": ("mu", "sigma"),
    "lognormal": ("median", "log_sd"),
    "halfnormal": ("sigma",),
    "gamma": ("alpha", "beta"),
    "fixed": ("value",),
    "gaussian": (),
}

#: Defaults used where neither the user, the data nor the reference say otherwise. Units: log
#: points per period (``transform = "log_diff"``). The magnitudes are LogNormal, which keeps them
#: away from zero (DESIGN.md section 2: this avoids divergences); a log_sd of 1 spans a factor
#: of e either way at one sd, so the defaults are weakly informative.
DEFAULT_PRIORS: dict[str, dict[str, Any]] = {
    "mu": {"dist": "normal", "mu": 0.0, "sigma": 0.1},
    "alpha": {"dist": "lognormal", "median": 0.05, "log_sd": 1.0},
    "beta": {"dist": "lognormal", "median": 0.5, "log_sd": 1.0},
    "gamma": {"dist": "lognormal", "median": 0.5, "log_sd": 1.0},
    "kappa": {"dist": "lognormal", "median": 0.2, "log_sd": 1.0},
    "sigma": {"dist": "lognormal", "median": 0.1, "log_sd": 1.0},
    "nu": {"dist": "gaussian"},
}

SOURCES = ("nmc", "sipri")
TRANSFORMS = ("log_diff", "diff", "pct")
OBSERVER_KINDS = ("aware", "naive")
BACKENDS = ("pymc", "nutpie")
POOLABLE = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
SIGNAL_COEFS = ("eta0", "eta_g", "eta_f")

#: Default signal-coefficient priors (logit scale): events are rare (eta0 around -2, i.e. ~12 %
#: a period), and the type loadings are a priori centred on "uninformative" (cheap talk).
DEFAULT_SIGNAL_PRIORS: dict[str, dict[str, Any]] = {
    "eta0": {"dist": "normal", "mu": -2.0, "sigma": 1.5},
    "eta_g": {"dist": "normal", "mu": 0.0, "sigma": 1.5},
    "eta_f": {"dist": "fixed", "value": 0.0},
}


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
                close = difflib.get_close_matches(k, list(allowed), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                path = f"{key}.{k}" if key else k
                where = (
                    f"{self.source}: unknown key '{path}'"
                    if key
                    else (f"{self.source}: unknown key '{k}'")
                )
                raise SpecError(f"{where}; allowed keys are {sorted(allowed)}.{hint}")

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
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise self.fail(key, f"{value!r} is not allowed; choose one of {list(choices)}.{hint}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false; got {value!r}.")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings; got {value!r}.")
        if len(set(value)) != len(value):
            raise self.fail(key, f"has duplicates: {value}.")
        return tuple(value)


# ---------------------------------------------------------------------------------------------
# The dataclass tree
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PriorSpec:
    """One prior: a distribution name and its arguments (``fixed`` pins a value).

    >>> PriorSpec("lognormal", {"median": 0.5, "log_sd": 1.0}).to_dict()
    {'dist': 'lognormal', 'median': 0.5, 'log_sd': 1.0}
    """

    dist: str
    args: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (as written in a spec)."""
        return {"dist": self.dist, **{k: float(v) for k, v in self.args.items()}}

    @property
    def is_fixed(self) -> bool:
        """Whether the parameter is pinned (``dist = "fixed"``)."""
        return self.dist == "fixed"


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


@dataclass(frozen=True)
class DataSpec:
    """Which data: a bundled ``case`` or a dyad built by ``make_dyad`` from the raw tables."""

    case: str | None = None
    case_observer: str | None = None
    observer: str | None = None
    rival: str | None = None
    source: str | None = None
    start: int | None = None
    end: int | None = None
    variable: str = "milex"
    transform: str = "log_diff"

    @property
    def is_empty(self) -> bool:
        """No data named (the data are given to the model directly)."""
        return self.case is None and self.observer is None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, unset keys left out."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class TypesSpec:
    """The rival type space and whether the type can switch (a sticky Markov chain)."""

    names: tuple[str, ...] = ("greedy", "insecure", "mixed")
    loadings: Mapping[str, tuple[float, float]] | None = None
    persistence: float | None = None

    @property
    def switching(self) -> bool:
        """Whether the type follows a Markov chain instead of being fixed."""
        return self.persistence is not None

    def type_space(self) -> Any:
        """The :class:`~secdilemma.model.types.TypeSpace` this section describes."""
        from secdilemma.model.types import TypeSpace

        if self.loadings is not None:
            return TypeSpace.from_loadings(self.loadings)
        return TypeSpace.from_names(self.names)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"names": list(self.names)}
        if self.loadings is not None:
            out = {"loadings": {k: list(v) for k, v in self.loadings.items()}}
        out["switching"] = False if self.persistence is None else {"persistence": self.persistence}
        return out


@dataclass(frozen=True)
class SignalsSpec:
    """Signal channels read from the rival's events, and the priors of their coefficients."""

    channels: tuple[str, ...] = ()
    priors: Mapping[str, PriorSpec] = field(default_factory=dict)

    def prior(self, coef: str) -> PriorSpec:
        """The prior of ``eta0``, ``eta_g`` or ``eta_f`` (user value or default)."""
        if coef in self.priors:
            return self.priors[coef]
        d = dict(DEFAULT_SIGNAL_PRIORS[coef])
        return PriorSpec(d.pop("dist"), d)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"channels": list(self.channels)}
        if self.priors:
            out["priors"] = {k: v.to_dict() for k, v in self.priors.items()}
        return out


@dataclass(frozen=True)
class PriorsSpec:
    """Priors of the reaction-function parameters (user-given ones; the rest are resolved).

    ``use_reference`` takes the priors of the shared reaction coefficients ``alpha, beta,
    gamma, kappa`` from ``models/reference_params.toml``: LogNormal with the pooled
    posterior's median (floored at ``reference_floor``, which keeps a value near the boundary
    away from zero) and log-scale sd ``sqrt(posterior_log_sd**2 + reference_log_sd**2)``:
    the pool's own uncertainty widened by how far one case may differ from the pool (without
    a stored posterior: the point estimate and ``reference_log_sd``). It fixes ``nu`` at the
    reference's value. The
    drift ``mu`` and the noise ``sigma`` depend on the series' units (current or constant
    prices) and stay data-derived unless given. ``hierarchical`` lists the parameters that
    vary by dyad (partial pooling, non-centred) when several dyads are fitted; ``tau`` the
    scales of the HalfNormal priors of their population sds (log scale for positive ones).
    """

    params: Mapping[str, PriorSpec] = field(default_factory=dict)
    use_reference: bool = False
    reference_log_sd: float = 0.5
    reference_floor: float = 0.02
    hierarchical: tuple[str, ...] = ("mu", "sigma")
    tau: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {k: v.to_dict() for k, v in self.params.items()}
        out.update(
            use_reference=self.use_reference,
            reference_log_sd=self.reference_log_sd,
            reference_floor=self.reference_floor,
            hierarchical=list(self.hierarchical),
        )
        if self.tau:
            out["tau"] = dict(self.tau)
        return out


#: Default population sds of the hierarchical parameters (log scale for positive ones).
DEFAULT_TAU: dict[str, float] = {
    "mu": 0.05,
    "alpha": 0.5,
    "beta": 0.5,
    "gamma": 0.5,
    "kappa": 0.5,
    "sigma": 0.5,
}


@dataclass(frozen=True)
class WorldSpec:
    """Offense advantage ``omega`` and distinguishability ``delta``: constants or by period.

    A by-period table ``{1898 = 0.7, 1906 = 0.8}`` is a step function: each value holds from
    its period until the next listed one; periods before the first listed one take the first
    value.
    """

    omega: float | Mapping[int, float] = 0.5
    delta: float | Mapping[int, float] = 0.5

    def series(self, name: str, periods: Any) -> Any:
        """``omega`` or ``delta`` for each of ``periods`` (a numpy array)."""
        import numpy as np

        val = getattr(self, name)
        per = np.asarray(periods)
        if not isinstance(val, Mapping):
            return np.full(per.shape, float(val))
        keys = sorted(val)
        out = np.full(per.shape, float(val[keys[0]]))
        for k in keys:
            out[per >= k] = float(val[k])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (period keys as strings, as TOML writes them)."""

        def conv(v: float | Mapping[int, float]) -> Any:
            return {str(k): x for k, x in v.items()} if isinstance(v, Mapping) else v

        return {"omega": conv(self.omega), "delta": conv(self.delta)}


@dataclass(frozen=True)
class ObserverSpec:
    """The observer: dilemma-aware or naive, and its prior over the rival's types."""

    kind: str = "aware"
    prior: Mapping[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.prior is not None:
            out["prior"] = dict(self.prior)
        return out


@dataclass(frozen=True)
class SamplerSpec:
    """Sampler settings; ``backend = None`` means the measured default of the PyMC engine."""

    backend: str | None = None
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    seed: int | None = None
    target_accept: float = 0.9
    cores: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, unset keys left out."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class DecisionSpec:
    """Inputs of the decision model: losses, horizon and the actions (name → move)."""

    losses: Mapping[str, float] = field(default_factory=dict)
    horizon: int = 10
    actions: Mapping[str, float] | tuple[str, ...] | None = None

    def losses_obj(self) -> Any:
        """The :class:`secdilemma.decision.Losses` these losses define."""
        from secdilemma.decision.losses import Losses

        return Losses.from_dict(dict(self.losses))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"losses": dict(self.losses), "horizon": self.horizon}
        if self.actions is not None:
            out["actions"] = (
                dict(self.actions) if isinstance(self.actions, Mapping) else list(self.actions)
            )
        return out


_SECTIONS = (
    "meta",
    "data",
    "types",
    "signals",
    "priors",
    "world",
    "observer",
    "sampler",
    "decision",
)


@dataclass(frozen=True)
class ModelSpec:
    """A validated model spec (see the module docstring for the format).

    Build it with :func:`load_spec` (from a TOML file) or :meth:`from_dict`; ``to_dict`` gives
    plain data that ``from_dict`` reads back to an equal spec.
    """

    name: str = "model"
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    types: TypesSpec = field(default_factory=TypesSpec)
    signals: SignalsSpec = field(default_factory=SignalsSpec)
    priors: PriorsSpec = field(default_factory=PriorsSpec)
    world: WorldSpec = field(default_factory=WorldSpec)
    observer: ObserverSpec = field(default_factory=ObserverSpec)
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    decision: DecisionSpec = field(default_factory=DecisionSpec)
    source_path: str | None = field(default=None, compare=False)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "<dict>") -> ModelSpec:
        """Validate plain data (a parsed TOML document) into a :class:`ModelSpec`.

        Raises
        ------
        SpecError
            Naming ``source``, the dotted key and the allowed values.
        """
        ctx = _Ctx(source)
        top = ctx.table(d, "")
        ctx.keys(top, _SECTIONS, "")
        meta = ctx.table(top.get("meta"), "meta")
        ctx.keys(meta, ["name", "description"], "meta")
        name = ctx.string(meta.get("name", _default_name(source)), "meta.name")
        desc = ctx.string(meta.get("description", ""), "meta.description")
        types = _types(ctx, ctx.table(top.get("types"), "types"))
        spec = cls(
            name=name,
            description=desc,
            data=_data(ctx, ctx.table(top.get("data"), "data")),
            types=types,
            signals=_signals(ctx, ctx.table(top.get("signals"), "signals")),
            priors=_priors(ctx, ctx.table(top.get("priors"), "priors")),
            world=_world(ctx, ctx.table(top.get("world"), "world")),
            observer=_observer(ctx, ctx.table(top.get("observer"), "observer"), types),
            sampler=_sampler(ctx, ctx.table(top.get("sampler"), "sampler")),
            decision=_decision(ctx, ctx.table(top.get("decision"), "decision")),
            source_path=None if source.startswith("<") else source,
        )
        if spec.priors.use_reference and spec.data.transform != "log_diff":
            raise ctx.fail(
                "priors.use_reference",
                "the reference parameters are in log points (transform = 'log_diff'); "
                f"data.transform is {spec.data.transform!r}. Set use_reference = false or "
                "use transform = 'log_diff'.",
            )
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back to an equal spec."""
        return {
            "meta": {"name": self.name, "description": self.description},
            "data": self.data.to_dict(),
            "types": self.types.to_dict(),
            "signals": self.signals.to_dict(),
            "priors": self.priors.to_dict(),
            "world": self.world.to_dict(),
            "observer": self.observer.to_dict(),
            "sampler": self.sampler.to_dict(),
            "decision": self.decision.to_dict(),
        }

    def replace(self, **sections: Any) -> ModelSpec:
        """A copy with whole sections or fields replaced, validated again via plain data.

        Each keyword is a section name with a mapping merged over that section, e.g.
        ``spec.replace(observer={"kind": "naive"})``.
        """
        d = self.to_dict()
        for k, v in sections.items():
            if k not in _SECTIONS:
                raise SpecError(f"ModelSpec.replace: unknown section {k!r}; sections {_SECTIONS}.")
            d[k] = {**d.get(k, {}), **dict(v)}
        return ModelSpec.from_dict(d, source=self.source_path or "<dict>")


def _default_name(source: str) -> str:
    return "model" if source.startswith("<") else Path(source).stem


def _data(ctx: _Ctx, t: dict[str, Any]) -> DataSpec:
    allowed = [
        "case",
        "case_observer",
        "observer",
        "rival",
        "source",
        "start",
        "end",
        "variable",
        "transform",
    ]
    ctx.keys(t, allowed, "data")
    case = ctx.string(t["case"], "data.case") if "case" in t else None
    if case is not None:
        from secdilemma.data.cases import CASES

        if case not in CASES:
            close = difflib.get_close_matches(case, list(CASES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ctx.fail("data.case", f"unknown case {case!r}; cases are {list(CASES)}.{hint}")
        bad = [k for k in ("observer", "rival", "source") if k in t]
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
        start=start,
        end=end,
        variable=ctx.string(t.get("variable", "milex"), "data.variable"),
        transform=ctx.string(t.get("transform", "log_diff"), "data.transform", choices=TRANSFORMS),
    )


def _types(ctx: _Ctx, t: dict[str, Any]) -> TypesSpec:
    ctx.keys(t, ["names", "loadings", "switching"], "types")
    if "names" in t and "loadings" in t:
        raise ctx.fail("types.loadings", "give either 'names' or 'loadings', not both.")
    names: tuple[str, ...] = ("greedy", "insecure", "mixed")
    loadings: dict[str, tuple[float, float]] | None = None
    if "names" in t:
        from secdilemma.model.types import DEFAULT_LOADINGS

        names = ctx.strings(t["names"], "types.names")
        if not names:
            raise ctx.fail("types.names", "is empty; name at least one type.")
        for n in names:
            if n not in DEFAULT_LOADINGS:
                close = difflib.get_close_matches(n, list(DEFAULT_LOADINGS), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise ctx.fail(
                    "types.names",
                    f"unknown type {n!r}; named types are {list(DEFAULT_LOADINGS)} (use "
                    f"'loadings' for your own).{hint}",
                )
    if "loadings" in t:
        tab = ctx.table(t["loadings"], "types.loadings")
        if not tab:
            raise ctx.fail("types.loadings", "is empty; give {name = [greed, fear], ...}.")
        loadings = {}
        for k, v in tab.items():
            if not isinstance(v, list) or len(v) != 2:
                raise ctx.fail(f"types.loadings.{k}", f"must be [greed, fear]; got {v!r}.")
            g = ctx.number(v[0], f"types.loadings.{k}", lo=0.0, hi=1.0)
            f = ctx.number(v[1], f"types.loadings.{k}", lo=0.0, hi=1.0)
            loadings[k] = (g, f)
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
    ctx.keys(t, ["channels", "priors"], "signals")
    channels: tuple[str, ...] = ()
    if "channels" in t:
        from secdilemma.data.events import SIGNAL_CHANNELS

        channels = ctx.strings(t["channels"], "signals.channels")
        for c in channels:
            if c not in SIGNAL_CHANNELS:
                close = difflib.get_close_matches(c, list(SIGNAL_CHANNELS), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise ctx.fail(
                    "signals.channels",
                    f"unknown channel {c!r}; channels are {list(SIGNAL_CHANNELS)}.{hint}",
                )
    pri = ctx.table(t.get("priors"), "signals.priors")
    ctx.keys(pri, SIGNAL_COEFS, "signals.priors")
    priors = {k: _prior(ctx, v, f"signals.priors.{k}", ("normal", "fixed")) for k, v in pri.items()}
    return SignalsSpec(channels=channels, priors=priors)


def _priors(ctx: _Ctx, t: dict[str, Any]) -> PriorsSpec:
    opts = [
        "use_reference",
        "reference_log_sd",
        "reference_floor",
        "hierarchical",
        "tau",
    ]
    ctx.keys(t, [*PARAMETERS, *opts], "priors")
    params = {k: _prior(ctx, t[k], f"priors.{k}", PARAMETERS[k]) for k in PARAMETERS if k in t}
    hier: tuple[str, ...] = ("mu", "sigma")
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
            t.get("reference_log_sd", 0.5), "priors.reference_log_sd", lo=0.0, lo_open=True
        ),
        reference_floor=ctx.number(
            t.get("reference_floor", 0.02), "priors.reference_floor", lo=0.0, lo_open=True
        ),
        hierarchical=hier,
        tau=tau,
    )


def _world(ctx: _Ctx, t: dict[str, Any]) -> WorldSpec:
    ctx.keys(t, ["omega", "delta"], "world")

    def val(name: str) -> float | dict[int, float]:
        v = t.get(name, 0.5)
        key = f"world.{name}"
        if isinstance(v, Mapping):
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
        return ctx.number(v, key, lo=0.0, hi=1.0)

    return WorldSpec(omega=val("omega"), delta=val("delta"))


def _observer(ctx: _Ctx, t: dict[str, Any], types: TypesSpec) -> ObserverSpec:
    ctx.keys(t, ["kind", "prior"], "observer")
    kind = ctx.string(t.get("kind", "aware"), "observer.kind", choices=OBSERVER_KINDS)
    prior: dict[str, float] | None = None
    if "prior" in t:
        p = t["prior"]
        if p == "uniform":
            prior = None
        else:
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
    ctx.keys(t, ["backend", "chains", "draws", "tune", "seed", "target_accept", "cores"], "sampler")
    return SamplerSpec(
        backend=ctx.string(t["backend"], "sampler.backend", choices=BACKENDS)
        if "backend" in t
        else None,
        chains=ctx.integer(t.get("chains", 4), "sampler.chains", lo=1),
        draws=ctx.integer(t.get("draws", 1000), "sampler.draws", lo=1),
        tune=ctx.integer(t.get("tune", 1000), "sampler.tune", lo=0),
        seed=ctx.integer(t["seed"], "sampler.seed", lo=0) if "seed" in t else None,
        target_accept=ctx.number(
            t.get("target_accept", 0.9), "sampler.target_accept", lo=0.5, hi=0.999
        ),
        cores=ctx.integer(t["cores"], "sampler.cores", lo=1) if "cores" in t else None,
    )


def _decision(ctx: _Ctx, t: dict[str, Any]) -> DecisionSpec:
    ctx.keys(t, ["losses", "horizon", "actions"], "decision")
    losses = ctx.table(t.get("losses"), "decision.losses")
    from secdilemma.decision.losses import Losses

    try:
        Losses.from_dict(losses)
    except ParameterError as exc:
        raise ctx.fail("decision.losses", str(exc)) from None
    actions: dict[str, float] | tuple[str, ...] | None = None
    if "actions" in t:
        a = t["actions"]
        if isinstance(a, list):
            actions = ctx.strings(a, "decision.actions")
        else:
            tab = ctx.table(a, "decision.actions")
            actions = {k: ctx.number(v, f"decision.actions.{k}") for k, v in tab.items()}
    return DecisionSpec(
        losses={k: float(v) for k, v in losses.items()},
        horizon=ctx.integer(t.get("horizon", 10), "decision.horizon", lo=1),
        actions=actions,
    )


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------
def load_spec(path: str | os.PathLike[str]) -> ModelSpec:
    """Read and validate a TOML model spec.

    A bare case name (``"us_ussr"``) is looked up in the bundled ``models/`` folder.

    Examples
    --------
    >>> spec = load_spec("anglo_german_naval")
    >>> spec.data.case, spec.priors.use_reference
    ('anglo_german_naval', True)
    """
    p = Path(path)
    if not p.exists() and p.suffix == "" and len(p.parts) == 1:
        from secdilemma._paths import models_dir

        p = models_dir() / f"{p.name}.toml"
    if not p.is_file():
        raise SpecError(f"{p}: no such spec file; give the path to a .toml model spec.")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: not valid TOML ({exc}).") from None
    return ModelSpec.from_dict(doc, source=str(p))


def spec_data(spec: ModelSpec) -> tuple[Any, Any]:
    """The data a spec describes: ``(case_ds, moves)``.

    ``case_ds`` is the dyad Dataset (:func:`~secdilemma.data.load_case` or
    :func:`~secdilemma.data.make_dyad`), ``moves`` the per-period moves
    (:func:`~secdilemma.data.to_moves`) with the rival's signals on the spec's channels
    added as ``signals`` (period, signal) in {0, 1}.

    Raises
    ------
    SpecError
        When the spec names no data, or the data layer refuses them (the message says which
        key to change).
    """
    from secdilemma.data import load_case, make_dyad, to_moves
    from secdilemma.errors import DataError

    d = spec.data
    where = spec.source_path or "<dict>"
    if d.is_empty:
        raise SpecError(
            f"{where}: key 'data': no data named; give data.case or data.observer/rival, or pass "
            "the data to PerceptionModel(spec, data=...)."
        )
    try:
        if d.case is not None:
            ds = load_case(d.case, observer=d.case_observer)
            if d.start is not None or d.end is not None:
                ds = ds.sel(period=slice(d.start, d.end))
                if ds.sizes["period"] < 3:
                    raise DataError(
                        f"data.start/data.end leave {ds.sizes['period']} periods of case "
                        f"{d.case!r}; keep at least 3."
                    )
        else:
            assert d.observer is not None
            assert d.rival is not None
            ds = make_dyad(
                d.observer,
                d.rival,
                source=d.source or "nmc",  # type: ignore[arg-type]
                start=d.start,
                end=d.end,
            )
        moves = to_moves(ds, variable=d.variable, transform=d.transform)  # type: ignore[arg-type]
    except DataError as exc:
        raise SpecError(f"{where}: key 'data': {exc}") from None
    if spec.signals.channels:
        if "signals" not in ds:
            raise SpecError(f"{where}: key 'signals.channels': these data carry no signals.")
        sig = ds["signals"].sel(actor="rival", signal=list(spec.signals.channels))
        moves["signals"] = (sig > 0).astype(float).transpose("period", "signal")
    return ds, moves
