"""What a sweep may vary: the inputs, their domains, and the study resolved to plain data.

Every swept input becomes a dimension of the result, named as in :func:`input_names` (the
names are a contract, listed in ARCHITECTURE.md's dimension table):

=====================  ===========================================================  ========
input                  meaning                                                      acts on
=====================  ===========================================================  ========
``omega``, ``delta``   offense advantage, distinguishability in [0, 1] (a constant  both
                       over the whole series, replacing a by-period table, or a
                       ``{year: value}`` step function: :mod:`~secdilemma.whatif.world`)
``mu`` ``alpha``       reaction-function coefficients of the exact observer          both
``beta`` ``gamma``     (``alpha`` … ``kappa`` >= 0, ``sigma`` > 0)
``kappa`` ``sigma``
``prior_<type>``       the observer's prior probability of one type (the other      belief
                       types keep their relative weights)
``persistence``        switching types with this probability of keeping the type    belief
``observer``           observer kind (:data:`~secdilemma.observers.OBSERVER_KINDS`)  belief
``temperature``        the tempered observer's power on the likelihood (> 0)         belief
``confidence``         the biased observer's sharpening of its prior (> 0)           belief
``losses_<field>``     a :class:`~secdilemma.decision.Losses` field (>= 0;           decision
                       ``discount`` in (0, 1])
``horizon``            periods simulated per action (integer >= 1)                   decision
``policy``             multi-period policies (:data:`POLICY_NAMES`)                  policies
``payoff_<a>_<type>``  one entry of a static payoff table (payoff-table mode)        decision
=====================  ===========================================================  ========

"both" inputs change the belief and the decision; a sweep filters each belief once per
distinct belief-relevant setting and simulates each utility table once per distinct
decision-relevant one (docs/model.md section 5).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.decision import Losses
from secdilemma.decision.problem import parse_actions
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, as_type_prior
from secdilemma.model.types import TypeSpace
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.spec import load_reference_signals

__all__ = [
    "COEFFICIENTS",
    "POLICY_NAMES",
    "Input",
    "StudyLike",
    "SweepBase",
    "axis_values",
    "canonical_name",
    "parse_vary",
]

FloatArray = npt.NDArray[np.float64]

#: Reaction-function coefficients a sweep may vary (they change belief and decision).
COEFFICIENTS = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
#: Loss fields that scale the simulated components linearly (no new simulation needed).
WEIGHT_LOSSES = ("arms", "war", "exploitation", "exploit_offense")
#: Loss fields that change the simulated futures (survival, discounting).
SIM_LOSSES = ("hazard_base", "hazard_slope", "discount")
#: The multi-period policies a sweep (``policy=``) or ``secdilemma policies`` compares.
POLICY_NAMES = (
    "always_deter",
    "always_reassure",
    "tit_for_tat",
    "grit",
    "belief_threshold",
    "bayes_optimal",
)
#: Defaults of the observer kinds' own knobs when a sweep turns them on.
KIND_DEFAULTS = {"temperature": 0.5, "confidence": 1.0}


class StudyLike(Protocol):
    """What a sweep reads from a :class:`~secdilemma.Study` (spec, setting, data, parameters)."""

    spec: Any
    setting: Any

    def exact_params(self) -> ModelParams: ...

    def reference(self) -> Any: ...

    def data_and_moves(self) -> tuple[xr.Dataset, xr.Dataset]: ...


@dataclass(frozen=True)
class Input:
    """One input a sweep may vary: its kind, what it acts on, and its domain."""

    name: str
    kind: str  # "float", "int" or "choice"
    roles: frozenset[str]  # "belief", "sim", "weight", "policy", "payoff"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def domain(self) -> str:
        """The allowed values in words, for error messages."""
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        what = "integers" if self.kind == "int" else "numbers"
        return f"{what} in {left}{lo}, {hi}{right}"

    def inside(self, v: float) -> bool:
        """Whether ``v`` lies in the domain (finite, within the bounds)."""
        if not math.isfinite(v):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return not (self.high is not None and (v >= self.high if self.high_open else v > self.high))


def _registry(types: TypeSpace, actions: Sequence[str], static: bool) -> dict[str, Input]:
    b = frozenset({"belief"})
    both = frozenset({"belief", "sim"})
    reg: dict[str, Input] = {
        "omega": Input("omega", "float", frozenset({"belief", "sim", "weight"}), 0.0, 1.0,
                       doc="offense advantage"),
        "delta": Input("delta", "float", both, 0.0, 1.0, doc="distinguishability"),
        "mu": Input("mu", "float", both, doc="common drift"),
    }  # fmt: skip
    for c in ("alpha", "beta", "gamma", "kappa"):
        reg[c] = Input(c, "float", both, 0.0, doc=f"reaction coefficient {c}")
    reg["sigma"] = Input("sigma", "float", both, 0.0, low_open=True, doc="noise scale")
    for t in types.names:
        reg[f"prior_{t}"] = Input(f"prior_{t}", "float", b, 0.0, 1.0, doc=f"prior P({t})")
    reg["persistence"] = Input("persistence", "float", b, 0.0, 1.0, doc="switching types")
    reg["observer"] = Input("observer", "choice", b, choices=tuple(OBSERVER_KINDS))
    for k in KIND_DEFAULTS:
        reg[k] = Input(k, "float", b, 0.0, low_open=True, doc=f"observer {k}")
    if static:
        for a in actions:
            for t in types.names:
                n = f"payoff_{a}_{t}"
                reg[n] = Input(n, "float", frozenset({"payoff"}), doc=f"payoff U[{a}, {t}]")
        return reg
    for f in fields(Losses):
        roles = frozenset({"weight" if f.name in WEIGHT_LOSSES else "sim"})
        if f.name == "discount":
            reg["losses_discount"] = Input("losses_discount", "float", roles, 0.0, 1.0, True)
        else:
            reg[f"losses_{f.name}"] = Input(f"losses_{f.name}", "float", roles, 0.0)
    reg["horizon"] = Input("horizon", "int", frozenset({"sim"}), 1.0, doc="periods")
    reg["policy"] = Input("policy", "choice", frozenset({"policy"}), choices=POLICY_NAMES)
    return reg


def canonical_name(name: str) -> str:
    """``"prior.greedy"`` → ``"prior_greedy"`` (dots and dashes become underscores)."""
    return str(name).strip().replace(".", "_").replace("-", "_")


@dataclass(frozen=True)
class SweepBase:
    """A study resolved to plain, picklable data: what every chunk of a sweep starts from.

    Inputs not swept take the values here (the study's); see :meth:`from_study`.
    """

    name: str
    title: str
    title_template: str  # the study's title with "{what}" where a figure names its content
    setting_attrs: dict[str, str]
    dx: FloatArray
    u: FloatArray
    x: FloatArray | None
    types: TypeSpace
    params: ModelParams  # the exact observer's, world as the study's (constant or by period)
    omega_last: float
    delta_last: float
    prior: Any  # the spec's prior as the observer takes it (None = uniform)
    observer: str
    persistence: float | None
    losses: Losses
    actions: tuple[str, ...]
    moves: FloatArray
    horizon: int
    seed: int
    n_sims: int
    policy_sims: int
    payoffs: FloatArray | None = None  # (A, K): payoff-table mode
    signals: FloatArray | None = None  # (T, J) the rival's, in params.signals' channel order
    calibrated: tuple[bool, ...] = ()  # per channel: intercept calibrated on the study's window
    periods: npt.NDArray[np.int64] | None = None  # the periods' labels (years), (T,)
    registry: dict[str, Input] = field(default_factory=dict, repr=False)
    # the calibrated intercepts by (h, prior), shared by the chunks of one sweep (a pure
    # function of the key: filled as chunks meet new settings, never read across sweeps)
    intercepts: dict[bytes, FloatArray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_study(
        cls,
        study: StudyLike,
        *,
        n_sims: int,
        policy_sims: int,
        payoffs: Any = None,
        seed: int | None = None,
    ) -> SweepBase:
        """Resolve ``study`` once: its data, exact parameters, prior, losses, horizon, seed,
        and the rival's signals on the channels its exact observer reads (with which of
        them have an intercept calibrated on the window: those a cell recomputes)."""
        spec = study.spec
        moves = study.data_and_moves()[1]
        params = study.exact_params()
        last = moves["period"].values[-1:]
        types = spec.types.type_space()
        actions, action_moves = parse_actions(spec.decision.actions)
        table = None if payoffs is None else _payoff_table(payoffs, types, actions)
        if seed is None:
            seed = spec.sampler.seed
        if seed is None:  # a sweep's chunks must share their random numbers
            seed = int(str(np.random.SeedSequence().entropy)) % 2**63
        base = cls(
            name=study.setting.name,
            title=study.setting.title(),
            title_template=study.setting.title("{what}"),
            setting_attrs=dict(study.setting.attrs()),
            dx=np.asarray(moves["dx"].values, dtype=float),
            u=np.asarray(moves["u"].values, dtype=float),
            x=np.asarray(moves["x"].values, dtype=float) if "x" in moves else None,
            types=types,
            params=params,
            omega_last=float(spec.world.series("omega", last)[0]),
            delta_last=float(spec.world.series("delta", last)[0]),
            prior=spec.observer.prior,
            observer=spec.observer.kind,
            persistence=spec.types.persistence,
            losses=spec.decision.losses_obj(),
            actions=actions,
            moves=action_moves,
            horizon=int(spec.decision.horizon),
            seed=int(seed),
            n_sims=n_sims,
            policy_sims=policy_sims,
            payoffs=table,
            signals=_rival_signals(moves, params),
            calibrated=_calibrated(study, params),
            periods=np.asarray(moves["period"].values, dtype=np.int64),
        )
        object.__setattr__(base, "registry", _registry(types, actions, table is not None))
        return base

    def attrs(self) -> dict[str, str]:
        """The study's ``study_*`` attrs and titles, for every result of a sweep."""
        return {
            **self.setting_attrs,
            "title": self.title,
            "title_template": self.title_template,
            "whatif_seed": str(self.seed),
        }

    @property
    def prior_vector(self) -> FloatArray:
        """The study's prior over the types, ``(K,)``."""
        return as_type_prior(self.prior, self.types)

    def value(self, name: str) -> Any:
        """The study's own value of an input (what a sweep uses when it is not swept)."""
        if name in ("omega", "delta"):
            return self.omega_last if name == "omega" else self.delta_last
        if name in COEFFICIENTS:
            return float(np.asarray(getattr(self.params, name)))
        if name.startswith("prior_"):
            return float(self.prior_vector[self.types.index(name[6:])])
        if name == "persistence":
            return np.nan if self.persistence is None else float(self.persistence)
        if name == "observer":
            return self.observer
        if name in KIND_DEFAULTS:
            return KIND_DEFAULTS[name]
        if name.startswith("losses_"):
            return float(getattr(self.losses, name[7:]))
        if name == "horizon":
            return self.horizon
        if name.startswith("payoff_") and self.payoffs is not None:
            a, t = _payoff_cell(name, self.actions, self.types)
            return float(self.payoffs[a, t])
        raise ParameterError(f"whatif: {name!r} has no single base value in this study.")

    def input(self, name: str) -> Input:
        """The :class:`Input` called ``name``; a typed error naming the nearest valid names."""
        key = canonical_name(name)
        if key in self.registry:
            return self.registry[key]
        near = difflib.get_close_matches(key, list(self.registry), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
        static = self.payoffs is not None
        mode = " (payoff-table mode: losses and horizon do not enter)" if static else ""
        raise ParameterError(
            f"whatif: unknown input {name!r}{mode}.{hint} Inputs of this study: "
            f"{', '.join(self.registry)}."
        )

    @property
    def channels(self) -> tuple[str, ...]:
        """The signal channels the exact observer reads (``()`` for none)."""
        sp = self.params.signals
        return () if sp is None else tuple(sp.names)

    def describe(self) -> dict[str, Any]:
        """The fixed inputs as plain data (for attrs)."""
        return {
            "omega": self.omega_last,
            "delta": self.delta_last,
            "params": {c: self.value(c) for c in COEFFICIENTS},
            "prior": dict(zip(self.types.names, self.prior_vector.tolist(), strict=True)),
            "observer": self.observer,
            "persistence": self.persistence,
            "losses": self.losses.to_dict(),
            "actions": dict(zip(self.actions, self.moves.tolist(), strict=True)),
            "horizon": self.horizon,
            "seed": self.seed,
            "n_sims": self.n_sims,
            "mode": "static" if self.payoffs is not None else "dynamic",
            "signals": None
            if self.params.signals is None
            else {
                **self.params.signals.to_dict(),
                "calibrated": list(self.calibrated),
            },
        }


def _calibrated(study: StudyLike, params: ModelParams) -> tuple[bool, ...]:
    """Per channel the exact observer reads: whether its intercept is calibrated on the
    study's window (a channel the pooled reference does not estimate, read with a stand-in's
    loadings; :func:`secdilemma.study.signals.study_signal_params`), so that it changes with
    the world and the prior; ``False`` for a channel read from the reference."""
    sp = params.signals
    if sp is None:
        return ()
    ref = load_reference_signals(study.reference().path)
    estimated = () if ref is None else ref.names
    return tuple(c not in estimated for c in sp.names)


def _rival_signals(moves: xr.Dataset, params: ModelParams) -> FloatArray | None:
    """The rival's signals ``(T, J)`` in ``params.signals``' channel order, as the exact
    observer reads them from the study's moves (``None`` when it reads no channel).

    A ``signals`` variable with an ``actor`` dim is read for ``actor="rival"``, counts > 0
    as 1 (as :meth:`~secdilemma.observers.Observer.filter` does).
    """
    sp = params.signals
    if sp is None:
        return None
    if "signals" not in moves.data_vars:
        raise ParameterError(
            f"whatif: the study's exact observer reads the signal channels {list(sp.names)} "
            "but its moves have no `signals` variable; check the spec's [signals] section."
        )
    sig = moves["signals"]
    if "actor" in sig.dims:
        sig = sig.sel(actor="rival", drop=True)
        sig = xr.where(sig.isnull(), np.nan, (sig > 0).astype(float))
    have = [str(c) for c in sig["signal"].values.tolist()]
    missing = [c for c in sp.names if c not in have]
    if missing or set(sig.dims) != {"period", "signal"}:
        raise ParameterError(
            f"whatif: the study's moves must hold the rival's signals over (period, signal) "
            f"with the channels {list(sp.names)}; they have dims {list(sig.dims)} and "
            f"channels {have}."
        )
    sig = sig.sel(signal=list(sp.names)).transpose("period", "signal")
    return np.asarray(sig.values, dtype=float)


def _payoff_cell(name: str, actions: Sequence[str], types: TypeSpace) -> tuple[int, int]:
    rest = name[len("payoff_") :]
    for i, a in enumerate(actions):
        if rest.startswith(a + "_") and rest[len(a) + 1 :] in types.names:
            return i, types.index(rest[len(a) + 1 :])
    raise ParameterError(f"whatif: {name!r} names no (action, type) of the payoff table.")


def _payoff_table(payoffs: Any, types: TypeSpace, actions: Sequence[str]) -> FloatArray:
    if isinstance(payoffs, xr.DataArray):
        if set(payoffs.dims) != {"action", "rival_type"}:
            raise ParameterError(f"payoffs: need dims (action, rival_type); got {payoffs.dims}.")
        try:
            payoffs = payoffs.sel(action=list(actions), rival_type=list(types.names))
        except KeyError:
            raise ParameterError(
                f"payoffs: the table must have the study's actions {list(actions)} and types "
                f"{list(types.names)}; it has {payoffs['action'].values.tolist()} and "
                f"{payoffs['rival_type'].values.tolist()}."
            ) from None
        table = payoffs.transpose("action", "rival_type").values
    else:
        table = np.asarray(payoffs, dtype=float)
    table = np.asarray(table, dtype=float)
    if table.shape != (len(actions), types.n_types) or not np.all(np.isfinite(table)):
        raise ParameterError(
            f"payoffs: need a finite table of shape {(len(actions), types.n_types)} (actions "
            f"{list(actions)} x types {list(types.names)}); got shape {table.shape}."
        )
    return table


def axis_values(inp: Input, values: Any) -> npt.NDArray[Any]:
    """The values of one swept input as an array, checked against the input's domain."""
    if isinstance(values, str):
        values = [values] if inp.kind == "choice" else values.split(",")
    if isinstance(values, range | Sequence | np.ndarray):
        seq = list(np.asarray(values).ravel()) if isinstance(values, np.ndarray) else list(values)
    else:
        seq = [values]
    if not seq:
        raise ParameterError(f"whatif: {inp.name!r} has no values; give at least one.")
    if inp.kind == "choice":
        out = [str(v) for v in seq]
        for v in out:
            if v not in inp.choices:
                near = difflib.get_close_matches(v, list(inp.choices), n=1)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ParameterError(f"whatif: {inp.name}={v!r} is not {inp.domain()}.{hint}")
        arr: npt.NDArray[Any] = np.asarray(out, dtype=str)
    else:
        nums = []
        for v in seq:
            if isinstance(v, bool | np.bool_):  # float(True) is 1.0: never what was meant
                raise ParameterError(
                    f"whatif: {inp.name}={v!r} is a truth value, not a number; give {inp.domain()}."
                )
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"whatif: {inp.name}={v!r} is not a number; give {inp.domain()}."
                ) from None
            if not inp.inside(x) or (inp.kind == "int" and x != round(x)):
                raise ParameterError(
                    f"whatif: {inp.name}={v!r} is outside its domain; give {inp.domain()}."
                )
            nums.append(x)
        arr = np.asarray(nums, dtype=np.int64 if inp.kind == "int" else float)
    if len(set(arr.tolist())) != arr.size:
        dup = next(v for v in arr.tolist() if arr.tolist().count(v) > 1)
        raise ParameterError(f"whatif: {inp.name} lists {dup!r} more than once.")
    return arr


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``"omega=0:1:21"`` → ``("omega", [0.0, 0.05, …, 1.0])``; also ``a,b,c`` and one value.

    ``START:STOP:N`` is N evenly spaced values from START to STOP, both included (rounded to
    12 decimals, so ``0:1:11`` gives 0.1, not 0.10000000000000001). Names may use dots
    (``prior.greedy``, ``losses.war``).

    Examples
    --------
    >>> parse_vary("prior.greedy=0.1:0.9:5")
    ('prior_greedy', [0.1, 0.3, 0.5, 0.7, 0.9])
    >>> parse_vary("observer=aware,naive")
    ('observer', ['aware', 'naive'])
    """
    name, sep, spec = str(text).partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise ParameterError(
            f"--vary: {text!r} is not NAME=VALUES; write e.g. --vary omega=0:1:21, "
            "--vary prior.greedy=0.2,0.6 or --vary observer=aware,naive."
        )
    key, spec = canonical_name(name), spec.strip()
    parts = spec.split(":")
    if len(parts) == 3:
        try:
            start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ParameterError(
                f"--vary {text!r}: START:STOP:N needs two numbers and a count (e.g. 0:1:21)."
            ) from None
        if n < 1:
            raise ParameterError(f"--vary {text!r}: the range is empty (N = {n}); give N >= 1.")
        vals = np.round(np.linspace(start, stop, n), 12).tolist()
        return key, [float(v) for v in vals]
    if len(parts) != 1:
        raise ParameterError(f"--vary {text!r}: write START:STOP:N or a comma-separated list.")
    items = [s.strip() for s in spec.split(",")]
    if any(not s for s in items):
        raise ParameterError(f"--vary {text!r}: an empty value in the list.")
    out: list[Any] = []
    for s in items:
        try:
            out.append(float(s))
        except ValueError:
            out.append(s)
    return key, out


def prior_vectors(base: SweepBase, swept: Mapping[str, FloatArray], n: int) -> FloatArray:
    """Prior vectors ``(n, K)`` with the swept types' probabilities set and the other types
    sharing the rest in their base proportions (evenly where those are all zero)."""
    k = base.types.n_types
    vec = np.broadcast_to(base.prior_vector, (n, k)).copy()
    if not swept:
        return vec
    set_mask = np.zeros(k, dtype=bool)
    for name, vals in swept.items():
        i = base.types.index(name[len("prior_") :])
        vec[:, i] = vals
        set_mask[i] = True
    rest = 1.0 - vec[:, set_mask].sum(axis=1)
    if np.any(rest < -1e-9):
        bad = int(np.argmax(rest < -1e-9))
        given = {nm: float(v[bad]) for nm, v in swept.items()}
        raise ParameterError(
            f"whatif: the swept priors {json.dumps(given)} sum to more than 1; sweep them "
            "over ranges whose sum stays within 1."
        )
    if set_mask.all():
        if not np.allclose(rest, 0.0, atol=1e-9):
            raise ParameterError(
                "whatif: every type's prior is swept, so each cell's priors must sum to 1; "
                f"some sum to {float(1.0 - rest[int(np.argmax(np.abs(rest)))]):g}."
            )
        return vec
    others = base.prior_vector[~set_mask]
    share = others / others.sum() if others.sum() > 0 else np.full(others.size, 1 / others.size)
    vec[:, ~set_mask] = np.maximum(rest, 0.0)[:, None] * share[None, :]
    return vec
