"""The sections of a model spec: frozen dataclasses, their vocabularies and documented defaults.

Each section class mirrors one TOML table of a spec (``[data]``, ``[types]``, ...); its
``to_dict`` gives the plain data that the parser (:mod:`secdilemma.spec.parse`) reads back to
an equal section. Validation lives in the parser, not here: build sections through
:meth:`secdilemma.spec.ModelSpec.from_dict` (or :func:`secdilemma.spec.load_spec`).

Every vocabulary a spec may use is named once, here or in the layer that owns the concept
(observer kinds: :data:`secdilemma.observers.FITTABLE_KINDS`; transforms derived from
:data:`secdilemma.data.moves.TRANSFORMS`; the neutral world from
:mod:`secdilemma.model`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from secdilemma.data.moves import TRANSFORMS as _MOVE_TRANSFORMS
from secdilemma.decision.losses import Losses
from secdilemma.decision.problem import DEFAULT_HORIZON
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA
from secdilemma.model.types import TypeSpace

__all__ = [
    "BACKENDS",
    "DEFAULT_POSTURE_PRIOR",
    "DEFAULT_PRIORS",
    "DEFAULT_SEED",
    "DEFAULT_SIGNAL_PRIORS",
    "DEFAULT_TAU",
    "DEFAULT_TYPES",
    "DIST_ARGS",
    "NAME_PATTERN",
    "PARAMETERS",
    "POOLABLE",
    "SECTIONS",
    "SIGNAL_COEFS",
    "SOURCES",
    "TRANSFORMS",
    "DataSpec",
    "DecisionSpec",
    "ObserverSpec",
    "PriorSpec",
    "PriorsSpec",
    "SamplerSpec",
    "SignalsSpec",
    "TypesSpec",
    "WorldSpec",
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
#: away from zero (docs/model.md section 2: this avoids divergences); a log_sd of 1 spans a
#: factor of e either way at one sd, so the defaults are weakly informative.
DEFAULT_PRIORS: dict[str, dict[str, Any]] = {
    "mu": {"dist": "normal", "mu": 0.0, "sigma": 0.1},
    "alpha": {"dist": "lognormal", "median": 0.05, "log_sd": 1.0},
    "beta": {"dist": "lognormal", "median": 0.5, "log_sd": 1.0},
    "gamma": {"dist": "lognormal", "median": 0.5, "log_sd": 1.0},
    "kappa": {"dist": "lognormal", "median": 0.2, "log_sd": 1.0},
    "sigma": {"dist": "lognormal", "median": 0.1, "log_sd": 1.0},
    "nu": {"dist": "gaussian"},
}

#: Default signal-coefficient priors (logit scale): events are rare (eta0 around -2, i.e. ~12 %
#: a period), and the type loadings are a priori centred on "uninformative" (cheap talk).
DEFAULT_SIGNAL_PRIORS: dict[str, dict[str, Any]] = {
    "eta0": {"dist": "normal", "mu": -2.0, "sigma": 1.5},
    "eta_g": {"dist": "normal", "mu": 0.0, "sigma": 1.5},
    "eta_f": {"dist": "fixed", "value": 0.0},
}

#: Default prior of a *posture channel*'s greed loading (``[signals] posture``; logit scale, the
#: loading at ``delta = 1/2``, scaled by ``2 * delta``): centred on a greedy rival adopting an
#: offense-capable posture more readily (odds about e = 2.7 times an insecure rival's where
#: postures are half legible), the sign Jervis (1978) and Glaser (2010) argue for: where
#: offense and defense can be told apart, a state that wants only security has reason to
#: choose defensive forces, so an offensive posture is evidence of greed. The sd of 1 keeps
#: "no information" (0) and twice the effect within two sds. An analyst's assumption, not an
#: estimate (no pool records postures): the output says so, and ``[signals] posture_prior``
#: replaces it.
DEFAULT_POSTURE_PRIOR: dict[str, Any] = {"dist": "normal", "mu": 1.0, "sigma": 1.0}

#: Default population sds of the hierarchical parameters (log scale for positive ones).
DEFAULT_TAU: dict[str, float] = {
    "mu": 0.05,
    "alpha": 0.5,
    "beta": 0.5,
    "gamma": 0.5,
    "kappa": 0.5,
    "sigma": 0.5,
}

#: The seed of every random step of a spec that names none (``[sampler] seed``): a spec run
#: twice gives the same draws. Set another seed to check that a result does not hinge on it.
DEFAULT_SEED = 0

#: The default rival type space (the named types of :meth:`TypeSpace.default`).
DEFAULT_TYPES: tuple[str, ...] = TypeSpace.default().names

#: Data sources of a dyad built from the raw tables (:func:`secdilemma.data.make_dyad`).
SOURCES: tuple[str, ...] = ("nmc", "sipri")
#: Transforms of a series into per-period moves (:data:`secdilemma.data.moves.TRANSFORMS`).
TRANSFORMS: tuple[str, ...] = tuple(_MOVE_TRANSFORMS)
#: Samplers of the PyMC engine.
BACKENDS: tuple[str, ...] = ("pymc", "nutpie")
#: Parameters that may vary by dyad (partial pooling).
POOLABLE: tuple[str, ...] = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
#: Coefficients of a signal channel's logit.
SIGNAL_COEFS: tuple[str, ...] = ("eta0", "eta_g", "eta_f")
#: The tables of a spec, in the order they are written.
SECTIONS: tuple[str, ...] = (
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

#: What a spec's name may look like. Names become parts of default output folder names, so
#: they are restricted to letters, digits, ``_``, ``.`` and ``-``, start with a letter, digit or
#: ``_`` (so never ``..``) and are at most 100 characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


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


@dataclass(frozen=True)
class DataSpec:
    """Which data: a bundled ``case`` or a dyad built by ``make_dyad`` from the raw tables."""

    case: str | None = None
    case_observer: str | None = None
    observer: str | None = None
    rival: str | None = None
    source: str | None = None
    prices: str | None = None
    start: int | None = None
    end: int | None = None
    variable: str = "milex"
    transform: str = "log_diff"

    @property
    def is_empty(self) -> bool:
        """No data named (the data are given to the model directly)."""
        return self.case is None and self.observer is None

    @property
    def is_dyad(self) -> bool:
        """A dyad built from the raw tables (``observer``/``rival``), not a bundled case."""
        return self.case is None and self.observer is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, unset keys left out."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class TypesSpec:
    """The rival type space and whether the type can switch (a sticky Markov chain)."""

    names: tuple[str, ...] = DEFAULT_TYPES
    loadings: Mapping[str, tuple[float, float]] | None = None
    persistence: float | None = None

    @property
    def switching(self) -> bool:
        """Whether the type follows a Markov chain instead of being fixed."""
        return self.persistence is not None

    def type_space(self) -> TypeSpace:
        """The :class:`~secdilemma.model.types.TypeSpace` this section describes."""
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
    """Signal channels read from the rival's events, and the priors of their coefficients.

    ``posture`` lists the channels that record the rival's own force posture (e.g. the
    naval laws' ``force_posture_law``): their greed loading is scaled by ``2 * delta``
    (:func:`secdilemma.model.signal_greed_loading`), and its prior is ``posture_prior``
    (default :data:`DEFAULT_POSTURE_PRIOR`) rather than ``priors.eta_g``.
    """

    channels: tuple[str, ...] = ()
    priors: Mapping[str, PriorSpec] = field(default_factory=dict)
    posture: tuple[str, ...] = ()
    posture_prior: PriorSpec | None = None

    def posture_eta_g(self) -> PriorSpec:
        """The prior of a posture channel's greed loading (user value or default)."""
        if self.posture_prior is not None:
            return self.posture_prior
        d = dict(DEFAULT_POSTURE_PRIOR)
        return PriorSpec(d.pop("dist"), d)

    def posture_flags(self) -> tuple[bool, ...]:
        """Per channel (in ``channels``' order), whether it is a posture channel."""
        return tuple(c in self.posture for c in self.channels)

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
        if self.posture:
            out["posture"] = list(self.posture)
        if self.posture_prior is not None:
            out["posture_prior"] = self.posture_prior.to_dict()
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
    reference's value. The drift ``mu`` and the noise ``sigma`` depend on the series' units
    (current or constant prices) and stay data-derived unless given. ``hierarchical`` lists
    the parameters that vary by dyad (partial pooling, non-centred) when several dyads are
    fitted; ``tau`` the scales of the HalfNormal priors of their population sds (log scale for
    positive ones; :data:`DEFAULT_TAU` where not given).
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


@dataclass(frozen=True)
class WorldSpec:
    """Offense advantage ``omega`` and distinguishability ``delta``: constants or by period.

    A by-period table ``{1898 = 0.7, 1906 = 0.8}`` is a step function: each value holds from
    its period until the next listed one; periods before the first listed one take the first
    value. Both default to the neutral world of :mod:`secdilemma.model`
    (``DEFAULT_OMEGA``, ``DEFAULT_DELTA``).
    """

    omega: float | Mapping[int, float] = DEFAULT_OMEGA
    delta: float | Mapping[int, float] = DEFAULT_DELTA

    def series(self, name: str, periods: Any) -> Any:
        """``omega`` or ``delta`` for each of ``periods`` (a numpy array)."""
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
    """Sampler settings; ``backend = None`` means the measured default of the PyMC engine.

    ``seed`` defaults to :data:`DEFAULT_SEED`, so every random step of a spec is seeded.
    """

    backend: str | None = None
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    seed: int = DEFAULT_SEED
    target_accept: float = 0.9
    cores: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, unset keys left out."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class DecisionSpec:
    """Inputs of the decision model: losses, horizon and the actions (name → move).

    Unset losses take the documented defaults of :class:`~secdilemma.decision.Losses`; the
    horizon defaults to :data:`secdilemma.decision.DEFAULT_HORIZON`.
    """

    losses: Mapping[str, float] = field(default_factory=dict)
    horizon: int = DEFAULT_HORIZON
    actions: Mapping[str, float] | tuple[str, ...] | None = None

    def losses_obj(self) -> Losses:
        """The :class:`secdilemma.decision.Losses` these losses define."""
        return Losses.from_dict(dict(self.losses))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        out: dict[str, Any] = {"losses": dict(self.losses), "horizon": self.horizon}
        if self.actions is not None:
            out["actions"] = (
                dict(self.actions) if isinstance(self.actions, Mapping) else list(self.actions)
            )
        return out
