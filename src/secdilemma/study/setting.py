"""The resolved setting of a study, and how call arguments become spec changes.

One precedence rule: a call argument wins over the spec, the spec over the documented
default. :func:`resolve_spec` applies the arguments to the spec one at a time, so that a bad
one raises a typed error naming it; :class:`Setting` is the result as plain data, stamped on
every result a study returns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from secdilemma._version import __version__
from secdilemma.data import list_cases
from secdilemma.errors import ParameterError, SpecError
from secdilemma.spec import ModelSpec, load_spec
from secdilemma.spec.parse import suggest

__all__ = [
    "DEFAULT_N_SIMS",
    "ENGINES",
    "PARAM_SOURCES",
    "SWITCHING_PERSISTENCE",
    "VARIANTS",
    "Setting",
    "apply_overrides",
    "check_choice",
    "overrides",
    "spec_of",
]

#: Where the exact observer's parameters come from: ``reference`` (default) fixes them at the
#: reference's point (``models/reference_params.toml``: posterior medians of the reaction
#: coefficients); ``integrated`` integrates over the prior the fit takes from the pooled
#: reference (:mod:`secdilemma.study.integrated`: importance sampling with the exact filter);
#: ``estimate`` is a type-II ML estimate from this dyad alone; ``default`` the package's
#: illustrative defaults (:class:`~secdilemma.model.ModelParams`).
PARAM_SOURCES = ("reference", "integrated", "estimate", "default")
#: The engines a belief or a decision can come from.
ENGINES = ("exact", "fit")
#: Simulated futures per type in a decision, unless given.
DEFAULT_N_SIMS = 2000
#: Model-comparison variants (:meth:`Study.compare`).
VARIANTS = ("types", "observer", "switching")
#: Persistence of the switching variant when the spec's types are static: a type expected to
#: last ten periods (a leadership or regime change about once a decade in annual data).
SWITCHING_PERSISTENCE = 0.9

Engine = Literal["exact", "fit"]


@dataclass(frozen=True)
class Setting:
    """The resolved setting of a study: everything a result depends on, as plain data."""

    name: str
    source: str  # "case", "spec", "dyad" or "fit"
    observer_state: str
    rival_state: str
    start: int
    end: int
    omega: float | dict[str, float]
    delta: float | dict[str, float]
    prior: dict[str, float] | str
    observer: str
    params: str
    horizon: int
    seed: int | None
    losses: dict[str, float]
    spec_path: str
    version: str = __version__

    @property
    def years(self) -> str:
        """``"1898-1913"``."""
        return f"{self.start}-{self.end}"

    def world(self) -> str:
        """``"ω 0.70, δ 0.25"`` (by-period values are named as such)."""

        def fmt(v: float | dict[str, float]) -> str:
            return f"{v:.2f}" if isinstance(v, float) else "by period"

        return f"ω {fmt(self.omega)}, δ {fmt(self.delta)}"

    def title(self, what: str = "") -> str:
        """A figure title: the case or dyad, the years and the world."""
        head = f"{self.name} ({self.observer_state} observes {self.rival_state})"
        tail = f"{self.years}; {self.world()}"
        return f"{head}: {what}\n{tail}" if what else f"{head}\n{tail}"

    def lines(self) -> list[str]:
        """The setting in a few lines, for the top of every command's output."""
        prior = self.prior if isinstance(self.prior, str) else json.dumps(self.prior)
        return [
            f"study: {self.name} ({self.source}; {self.spec_path or 'no spec file'})",
            f"dyad: {self.observer_state} observes {self.rival_state}, {self.years}",
            f"world: offense advantage omega = {_fmt_world(self.omega)}, "
            f"distinguishability delta = {_fmt_world(self.delta)}",
            f"observer: {self.observer}; type prior: {prior}; exact-observer parameters: "
            f"{self.params}",
            f"decision: horizon {self.horizon} periods; seed {self.seed}; "
            f"secdilemma {self.version}",
        ]

    def attrs(self) -> dict[str, str]:
        """Flat ``study_*`` attrs for a result (NetCDF-safe strings)."""
        d = asdict(self)
        out = {f"study_{k}": _attr(v) for k, v in d.items() if k != "version"}
        out["study_years"] = self.years
        out["study_setting"] = json.dumps(d, sort_keys=True)
        return out


def _fmt_world(v: float | dict[str, float]) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return ", ".join(f"{k}: {x:g}" for k, x in v.items()) + " (each from that year on)"


def _attr(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float | int) and not isinstance(v, bool):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return json.dumps(v, sort_keys=True)


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        hint = suggest(str(value), choices, n=1)
        raise ParameterError(f"{name} must be one of {list(choices)}; got {value!r}.{hint}")
    return value


def spec_of(target: ModelSpec | str | os.PathLike[str]) -> tuple[ModelSpec, str]:
    """A spec and what it came from ("case" or "spec")."""
    if isinstance(target, ModelSpec):
        return target, "spec"
    text = os.fspath(target)
    path = Path(text)
    if path.suffix == ".toml" or path.is_file() or os.sep in text:
        return load_spec(path), "spec"
    cases = list_cases()
    if text not in cases:
        hint = suggest(text, cases)
        raise SpecError(
            f"{text!r} is neither a bundled case ({', '.join(cases)}) nor a model spec file "
            f"(a .toml path, e.g. models/{cases[0]}.toml).{hint}"
        )
    return load_spec(text), "case"


def overrides(
    *,
    start: int | None,
    end: int | None,
    omega: Any,
    delta: Any,
    prior: Mapping[str, float] | str | None,
    observer: str | None,
    losses: Mapping[str, float] | None,
    horizon: int | None,
    seed: int | None,
    variable: str | None,
    case_observer: str | None,
    persistence: float | None,
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Call arguments as spec changes: ``{argument: (section, {key: value})}``."""
    given: dict[str, tuple[str, dict[str, Any]]] = {}
    for arg, section, key, value in (
        ("start", "data", "start", start),
        ("end", "data", "end", end),
        ("variable", "data", "variable", variable),
        ("case_observer", "data", "case_observer", case_observer),
        ("omega", "world", "omega", omega),
        ("delta", "world", "delta", delta),
        ("prior", "observer", "prior", prior),
        ("observer", "observer", "kind", observer),
        ("horizon", "decision", "horizon", horizon),
        ("seed", "sampler", "seed", seed),
        (
            "persistence",
            "types",
            "switching",
            None if persistence is None else {"persistence": persistence},
        ),
    ):
        if value is not None:
            if isinstance(value, Mapping):
                value = {str(k): v for k, v in value.items()}
            given[arg] = (section, {key: value})
    if losses is not None:
        given["losses"] = ("decision", {"losses": dict(losses)})
    return given


def apply_overrides(spec: ModelSpec, given: dict[str, tuple[str, dict[str, Any]]]) -> ModelSpec:
    """Apply each override in turn, so that an error names the argument that caused it."""
    for arg, (section, change) in given.items():
        if section == "decision" and "losses" in change:
            change = {"losses": {**dict(spec.decision.losses), **change["losses"]}}
        try:
            spec = spec.replace(**{section: change})
        except SpecError as exc:
            raise ParameterError(f"argument {arg!r}: {exc}") from None
    return spec
