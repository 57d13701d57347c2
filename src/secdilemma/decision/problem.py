"""The decision problem: actions, the forward model, beliefs, and the exact Bayes update.

A :class:`DynamicModel` bundles what a forward simulation needs: the type space, the model
parameters (scalars, or arrays of shape ``(S,)`` for ``S`` posterior draws), the losses, the
actions (each a move ``u`` of the observer and the posture ``d`` of a buildup: 0 offensive or
ambiguous, 1 distinguishably defensive) and the horizon. The rival answers an action with
the threat ``h(omega, delta, d)`` and the deterrence ``k(omega, d)`` of its posture
(:func:`secdilemma.model.threat_multiplier`, :func:`secdilemma.model.deterrence_multiplier`),
and the observer, who knows its own posture, updates with the same.

Signals: when ``params.signals`` is set, forward runs draw the rival's binary signals each
period and the observer updates on them with the model's likelihood
(:func:`signal_loglik`, which evaluates :func:`secdilemma.model.loglik_components`), in the
same exact update as the buildups (:func:`bayes_update`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.decision.losses import Losses
from secdilemma.engines.exact.filtering import static_update
from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    deterrence_multiplier,
    loglik_components,
    noise_logpdf,
    reaction_mean,
    threat_multiplier,
    validate_probabilities,
)
from secdilemma.model.simulate import MAX_ARRAY_BYTES, check_memory, largest_inputs
from secdilemma.model.types import TypeSpace

__all__ = [
    "ACTION_POSTURES",
    "DEFAULT_ACTIONS",
    "DEFAULT_ACTION_SET",
    "DEFAULT_HORIZON",
    "DynamicModel",
    "bayes_update",
    "dp_sizes",
    "parse_actions",
    "parse_belief",
    "signal_evidence",
    "signal_loglik",
]

FloatArray = npt.NDArray[np.float64]

#: Moves ``u`` of the named actions (log points per period): deter = arm by 10 % with an
#: offensive or ambiguous posture, defend = arm by 10 % with a distinguishably defensive
#: posture (Jervis's and Glaser's "lean toward defensive strategies"), hedge = hold, reassure
#: = cut by 10 % (unilateral restraint). Symmetric steps make the actions cost-comparable; a
#: 10 % step is the buildup of the ModelParams examples.
DEFAULT_ACTIONS: dict[str, float] = {
    "deter": 0.10,
    "defend": 0.10,
    "hedge": 0.0,
    "reassure": -0.10,
}

#: Posture ``d`` of the named actions' buildups: 0 offensive or ambiguous, 1 distinguishably
#: defensive; 1/2 (unknown, as in historical data) where the move is no buildup and the
#: posture cannot matter. An action named otherwise is read as ``d = 0`` unless its posture
#: is given (``{name: (move, posture)}``).
ACTION_POSTURES: dict[str, float] = {"deter": 0.0, "defend": 1.0, "hedge": 0.5, "reassure": 0.5}

#: The actions of a decision when none are named: deter, defend or reassure.
DEFAULT_ACTION_SET: tuple[str, ...] = ("deter", "defend", "reassure")

#: Default horizon: a decade of annual periods, the length of the arms races in the seed
#: cases (the Anglo-German naval race ran 1898-1914); long enough for learning to pay.
DEFAULT_HORIZON = 10

#: ModelParams fields that may carry one value per posterior draw in forward simulations.
_DRAW_FIELDS = (
    "mu",
    "alpha",
    "beta",
    "gamma",
    "kappa",
    "lam",
    "sigma",
    "omega",
    "delta",
    "anchor",
)


def parse_actions(
    actions: Sequence[str] | Mapping[str, Any] | None,
) -> tuple[tuple[str, ...], FloatArray]:
    """Names and moves of the actions (their postures: :func:`parse_action_set`).

    ``None`` gives :data:`DEFAULT_ACTION_SET` (deter, defend, reassure); a sequence takes
    names from :data:`DEFAULT_ACTIONS`; a mapping gives user moves ``{name: u}`` or
    ``{name: (u, posture)}``.

    Examples
    --------
    >>> parse_actions(None)[1].tolist()
    [0.1, 0.1, -0.1]
    >>> parse_actions({"deter": 0.2, "hold": 0.0})[0]
    ('deter', 'hold')
    """
    names, moves, _ = parse_action_set(actions)
    return names, moves


def parse_action_set(
    actions: Sequence[str] | Mapping[str, Any] | None,
) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
    """Names, moves ``u`` and postures ``d`` of the actions.

    As :func:`parse_actions`; a posture comes from ``{name: (u, posture)}``, else from
    :data:`ACTION_POSTURES` for a known name, else 0 (an offensive or ambiguous buildup).

    Examples
    --------
    >>> parse_action_set(None)[2].tolist()
    [0.0, 1.0, 0.5]
    >>> parse_action_set({"fortify": (0.2, 1.0)})[1:]
    (array([0.2]), array([1.]))
    """
    if actions is None:
        actions = DEFAULT_ACTION_SET
    if isinstance(actions, str):
        actions = (actions,)
    if isinstance(actions, Mapping):
        names = tuple(str(k) for k in actions)
        moves, postures = _user_moves(actions)
    else:
        names = tuple(str(a) for a in actions)
        unknown = [n for n in names if n not in DEFAULT_ACTIONS]
        if unknown:
            raise ParameterError(
                f"`actions`: unknown action(s) {unknown}; known actions are "
                f"{list(DEFAULT_ACTIONS)}, or give a mapping {{name: move}}."
            )
        moves = np.array([DEFAULT_ACTIONS[n] for n in names], dtype=float)
        postures = np.array([ACTION_POSTURES[n] for n in names], dtype=float)
    if len(names) == 0:
        raise ParameterError("`actions` is empty; give at least one action.")
    if len(set(names)) != len(names):
        raise ParameterError(f"`actions` has duplicates: {list(names)}.")
    return names, moves, postures


def _user_moves(actions: Mapping[str, Any]) -> tuple[FloatArray, FloatArray]:
    """Moves and postures of ``{name: u}`` / ``{name: (u, posture)}`` (validated)."""
    moves, postures = [], []
    for name, v in actions.items():
        pair = isinstance(v, (tuple, list)) and len(v) == 2
        try:
            u = float(v[0] if pair else v)
            d = float(v[1]) if pair else ACTION_POSTURES.get(str(name), 0.0)
        except (TypeError, ValueError):
            raise ParameterError(
                f"`actions` must map action names to moves (numbers) or (move, posture) "
                f"pairs; got {name!r}: {v!r}."
            ) from None
        if not (np.isfinite(u) and 0.0 <= d <= 1.0):
            raise ParameterError(
                f"`actions[{name!r}]`: the move must be finite and the posture in [0, 1] "
                f"(0 offensive or ambiguous, 1 defensive); got move {u}, posture {d}."
            )
        moves.append(u)
        postures.append(d)
    return np.array(moves, dtype=float), np.array(postures, dtype=float)


def check_horizon(horizon: int) -> int:
    """A horizon is an integer >= 1 (:class:`ParameterError` otherwise)."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(
            f"`horizon` must be an integer number of periods >= 1; got {horizon!r}."
        )
    return int(horizon)


def check_positive_int(name: str, value: int) -> int:
    """An integer >= 1 (:class:`ParameterError` naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"`{name}` must be an integer >= 1; got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class DynamicModel:
    """Everything a forward simulation of the decision needs.

    Parameters
    ----------
    types
        Type space (default greedy/insecure/mixed).
    params
        Model parameters. Any of ``mu … anchor`` (and ``omega``, ``delta``) may be an array of
        shape ``(S,)``: one value per posterior draw. With ``params.signals`` (one set of
        channel coefficients, shared by every draw) forward runs draw the rival's signals each
        period, ``P(s_j = 1 | type) = logistic(eta0_j + eta_g_j*g + eta_f_j*f*h*u⁺)`` with
        ``u`` the move the rival is answering, and the observer's belief (hence
        :class:`~secdilemma.decision.BeliefThreshold` and
        :class:`~secdilemma.decision.BayesOptimal`) updates on them; without it every number
        is as for a model with buildups only.
    losses
        :class:`Losses` (defaults documented there).
    actions
        Action names from :data:`DEFAULT_ACTIONS`, or a mapping ``{name: move}`` or
        ``{name: (move, posture)}`` (default deter, defend, reassure).
    horizon
        Number of periods (>= 1).

    Examples
    --------
    >>> m = DynamicModel(horizon=5)
    >>> m.action_names, m.postures.tolist(), m.n_draws
    (('deter', 'defend', 'reassure'), [0.0, 1.0, 0.5], None)
    """

    types: TypeSpace | None = None
    params: ModelParams | None = None
    losses: Losses | Mapping[str, float] | None = None
    actions: Sequence[str] | Mapping[str, Any] | None = None
    horizon: int = DEFAULT_HORIZON
    action_names: tuple[str, ...] = field(init=False, repr=False)
    moves: FloatArray = field(init=False, repr=False)
    postures: FloatArray = field(init=False, repr=False)
    n_draws: int | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        types = TypeSpace.default() if self.types is None else self.types
        if not isinstance(types, TypeSpace):
            raise ParameterError(f"`types` must be a TypeSpace; got {type(types).__name__}.")
        params = ModelParams() if self.params is None else self.params
        if not isinstance(params, ModelParams):
            raise ParameterError(f"`params` must be a ModelParams; got {type(params).__name__}.")
        losses = Losses() if self.losses is None else self.losses
        if isinstance(losses, Mapping):
            losses = Losses.from_dict(losses)
        if not isinstance(losses, Losses):
            raise ParameterError(
                f"`losses` must be a Losses or a mapping of its fields; got "
                f"{type(losses).__name__}."
            )
        names, moves, postures = parse_action_set(self.actions)
        moves.setflags(write=False)
        postures.setflags(write=False)
        sizes = set()
        for name in _DRAW_FIELDS:
            arr = np.asarray(getattr(params, name), dtype=float)
            if arr.ndim > 1:
                raise ParameterError(
                    f"decision: `params.{name}` has shape {arr.shape}; forward simulations take "
                    "a scalar or one value per posterior draw, shape (S,)."
                )
            if arr.ndim == 1:
                sizes.add(arr.shape[0])
        if len(sizes) > 1:
            raise ParameterError(
                f"decision: parameter draws have different lengths {sorted(sizes)}; give every "
                "array field the same number of draws S."
            )
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "losses", losses)
        object.__setattr__(self, "actions", dict(zip(names, moves.tolist(), strict=True)))
        object.__setattr__(self, "horizon", check_horizon(self.horizon))
        object.__setattr__(self, "action_names", names)
        object.__setattr__(self, "moves", moves)
        object.__setattr__(self, "postures", postures)
        object.__setattr__(self, "n_draws", sizes.pop() if sizes else None)

    # The fields are normalised in __post_init__; these give them their narrow types.
    @property
    def type_space(self) -> TypeSpace:
        """The type space (never ``None`` after construction)."""
        assert isinstance(self.types, TypeSpace)
        return self.types

    @property
    def model_params(self) -> ModelParams:
        """The parameters (never ``None`` after construction)."""
        assert isinstance(self.params, ModelParams)
        return self.params

    @property
    def loss_spec(self) -> Losses:
        """The losses (never ``None`` after construction)."""
        assert isinstance(self.losses, Losses)
        return self.losses

    def action_index(self, name: str) -> int:
        """Position of an action; :class:`ParameterError` if the model does not know it."""
        try:
            return self.action_names.index(name)
        except ValueError:
            raise ParameterError(
                f"unknown action {name!r}; this decision model has actions "
                f"{list(self.action_names)}."
            ) from None

    def scenario_params(self, draw_index: npt.ArrayLike | None, n: int) -> dict[str, FloatArray]:
        """Per-scenario parameter arrays ``(n,)`` (draw ``draw_index[i]`` for scenario ``i``)."""
        p = self.model_params
        out: dict[str, FloatArray] = {}
        for name in _DRAW_FIELDS:
            arr = np.asarray(getattr(p, name), dtype=float)
            if arr.ndim == 1:
                if draw_index is None:
                    raise ParameterError(
                        "decision: parameters have posterior draws but no draw index was given."
                    )
                out[name] = arr[np.asarray(draw_index, dtype=np.intp)]
            else:
                out[name] = np.full(n, float(arr))
        out["h"] = threat_multiplier(out["omega"], out["delta"])  # a buildup of unknown posture
        return out

    def action_effects(
        self, sp: Mapping[str, FloatArray], a: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Move ``u``, threat ``h`` and deterrence ``k`` of actions ``a`` ``(n,)`` per scenario.

        ``h = threat_multiplier(omega, delta, d)`` and ``k = deterrence_multiplier(omega, d)``
        with ``d`` the posture of the action played in each scenario.
        """
        idx = np.asarray(a, dtype=np.intp)
        d = self.postures[idx]
        h = threat_multiplier(sp["omega"], sp["delta"], d)
        return self.moves[idx], h, deterrence_multiplier(sp["omega"], d)

    def describe(self) -> dict[str, Any]:
        """Plain-data summary for result attrs."""
        return {
            "types": json.dumps(self.type_space.to_dict()),
            "params": json.dumps(self.model_params.to_dict()),
            "losses": json.dumps(self.loss_spec.to_dict()),
            "actions": json.dumps(self.actions),
            "postures": json.dumps(
                dict(zip(self.action_names, self.postures.tolist(), strict=True))
            ),
            "horizon": self.horizon,
        }


def reaction_means(
    model: DynamicModel,
    sp: Mapping[str, FloatArray],
    u: npt.ArrayLike,
    x_prev: npt.ArrayLike,
    *,
    h: npt.ArrayLike | None = None,
    k: npt.ArrayLike | None = None,
) -> FloatArray:
    """Expected reaction of every type to the moves ``u`` ``(n,)``: shape ``(n, K)``.

    ``h`` and ``k`` ``(n,)``: the threat and deterrence multipliers of the moves' postures
    (:meth:`DynamicModel.action_effects`); by default a buildup of unknown posture.
    """
    types = model.type_space
    col = {k: np.asarray(v)[:, None] for k, v in sp.items()}
    pk = ModelParams(
        mu=col["mu"],
        alpha=col["alpha"],
        beta=col["beta"],
        gamma=col["gamma"],
        kappa=col["kappa"],
        lam=col["lam"],
        sigma=col["sigma"],
        anchor=col["anchor"],
    )
    return reaction_mean(
        types.greed[None, :],
        types.fear[None, :],
        np.asarray(u, dtype=float)[:, None],
        pk,
        h_prev=col["h"] if h is None else np.asarray(h, dtype=float)[:, None],
        x_prev=np.asarray(x_prev, dtype=float)[:, None],
        k_prev=1.0 if k is None else np.asarray(k, dtype=float)[:, None],
    )


def bayes_update(
    log_belief: FloatArray,
    y: FloatArray,
    means: FloatArray,
    sigma: FloatArray,
    nu: float | None,
    signal_ll: FloatArray | None = None,
) -> FloatArray:
    """Exact static-type Bayes update in log space.

    ``log_belief`` ``(n, K)``, the rival's reaction ``y`` ``(n,)``, the expected reaction of
    each type ``means`` ``(n, K)``; returns the normalised log posterior ``(n, K)``. The
    likelihood is the model's noise density (:func:`secdilemma.model.noise_logpdf`), plus
    ``signal_ll`` ``(n, K)`` (the log probability of the period's signals, from
    :func:`signal_loglik`) when given; the update is one period of the exact engine's static
    filter (:func:`secdilemma.engines.exact.static_update`), which adds the buildup and signal
    terms of a period the same way.
    """
    ll = noise_logpdf(y[:, None] - means, np.asarray(sigma)[:, None], nu)
    if signal_ll is not None:
        ll = ll + signal_ll
    return static_update(log_belief, ll)


def signal_loglik(
    model: DynamicModel,
    omega: FloatArray,
    delta: FloatArray,
    u: FloatArray,
    posture: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """``log P(s_j = 1 | type)`` and ``log P(s_j = 0 | type)``, each ``(n, K, J)``.

    The signals the rival sends with its answer to our move ``u`` ``(n,)`` (so the threat term
    is ``h(omega, delta, posture) * max(u, 0)``, per scenario ``(n,)``; ``posture`` ``None``
    is a buildup of unknown posture), evaluated by the model's
    likelihood :func:`secdilemma.model.loglik_components` on a two-period window (our move,
    then the rival's signal; no buildup evidence), so forward runs and the exact observer share
    one likelihood.

    Examples
    --------
    >>> from secdilemma.model import SignalParams
    >>> sp = SignalParams(("refused",), eta0=[0.0], eta_g=[2.0], eta_f=[0.0])
    >>> m = DynamicModel(types=TypeSpace.from_names(["greedy", "insecure"]),
    ...                  params=ModelParams(signals=sp))
    >>> ll1, ll0 = signal_loglik(m, np.array([0.5]), np.array([0.5]), np.array([0.1]))
    >>> np.exp(ll1[0, :, 0]).round(3).tolist()  # logistic(2), logistic(0)
    [0.881, 0.5]
    """
    sig = model.model_params.signals
    if sig is None:
        raise ParameterError("signal_loglik: `params.signals` is None; there are no channels.")
    n, j = int(np.shape(u)[0]), sig.n_channels
    om, de = np.asarray(omega, dtype=float), np.asarray(delta, dtype=float)
    window = ModelParams(
        omega=np.concatenate([om, om])[:, None],
        delta=np.concatenate([de, de])[:, None],
        signals=sig,
    )
    uu = np.zeros((2 * n, 2))
    uu[:, 0] = np.concatenate([u, u])
    s = np.full((2 * n, 2, j), np.nan)
    s[:n, 1], s[n:, 1] = 1.0, 0.0
    d = None if posture is None else np.concatenate([posture, posture])[:, None]
    _, ll = loglik_components(
        np.full((2 * n, 2), np.nan), uu, window, model.type_space, signals=s, posture=d
    )
    assert ll is not None
    return ll[:n, 1], ll[n:, 1]


def signal_evidence(ll1: FloatArray, ll0: FloatArray, s: npt.ArrayLike) -> FloatArray:
    """Log-likelihood ``(..., K)`` of the signals ``s`` ``(..., J)`` (0/1) summed over channels.

    ``ll1``, ``ll0`` ``(..., K, J)`` from :func:`signal_loglik`. A channel whose probability is
    the same under every type (cheap talk, e.g. ``eta_g = eta_f = 0``, or a fear term without
    a threat) carries no information: its term is set to exactly 0, so it leaves the belief
    bit for bit as without the channel.
    """
    sent = np.asarray(s)[..., None, :] == 1
    ll = np.where(sent, ll1, ll0)
    cheap = (np.ptp(ll1, axis=-2) == 0.0) & (np.ptp(ll0, axis=-2) == 0.0)  # (..., J)
    return np.asarray(np.where(cheap[..., None, :], 0.0, ll).sum(axis=-1), dtype=float)


def overflow_causes(model: DynamicModel) -> str:
    """The inputs of a forward simulation most likely to overflow, for error messages."""
    named: dict[str, Any] = {f"losses.{k}": v for k, v in model.loss_spec.to_dict().items()}
    named.update(
        {f"actions[{n!r}]": u for n, u in zip(model.action_names, model.moves, strict=True)}
    )
    p = model.model_params
    named.update({f"params.{k}": getattr(p, k) for k in _DRAW_FIELDS})
    causes = [largest_inputs(named)]
    if p.nu is not None and p.nu < 1.0:
        causes.append(f"`params.nu` = {p.nu:.3g} gives noise draws too heavy-tailed")
    return "; ".join(c for c in causes if c) or "no single input is large"


def parse_belief(belief: Any, types: TypeSpace | None) -> tuple[FloatArray, TypeSpace]:
    """Beliefs as a ``(S, K)`` array of probability vectors and the type space they refer to.

    Accepts ``None`` (uniform), a ``{type: p}`` mapping, an array ``(K,)`` or ``(S, K)``, or an
    ``xarray.DataArray`` with a ``rival_type`` dim (other dims, e.g. ``chain``/``draw`` or
    ``sample``, are stacked into posterior samples).
    """
    if isinstance(belief, xr.DataArray):
        if "rival_type" not in belief.dims:
            raise ParameterError(
                f"`belief` DataArray must have a `rival_type` dim; it has {list(belief.dims)}."
            )
        if "rival_type" in belief.coords:
            names = [str(n) for n in belief["rival_type"].values]
            if types is None:
                types = TypeSpace.from_names(names)
            missing = set(types.names) - set(names)
            extra = set(names) - set(types.names)
            if missing or extra:
                raise ParameterError(
                    f"`belief` rival_type coords {names} do not match the type space "
                    f"{list(types.names)}."
                )
            belief = belief.sel(rival_type=list(types.names))
        others = [d for d in belief.dims if d != "rival_type"]
        arr = belief.transpose(*others, "rival_type").values.reshape(-1, belief.sizes["rival_type"])
    else:
        types = TypeSpace.default() if types is None else types
        if belief is None:
            arr = np.full((1, types.n_types), 1.0 / types.n_types)
        elif isinstance(belief, Mapping):
            unknown = set(belief) - set(types.names)
            if unknown:
                raise ParameterError(
                    f"`belief` names unknown rival type(s) {sorted(unknown)}; the type space "
                    f"has {list(types.names)}."
                )
            arr = np.array([[float(belief.get(n, 0.0)) for n in types.names]])
        else:
            arr = np.asarray(belief, dtype=float)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2:
                raise ParameterError(
                    f"`belief` must be a vector (K,) or draws (S, K); got shape {arr.shape}."
                )
    assert types is not None
    arr = validate_probabilities(np.asarray(arr, dtype=float), name="belief", n=types.n_types)
    return arr / arr.sum(axis=1, keepdims=True), types


def dp_sizes(
    k: int, a_n: int, n_out: int, horizon: int, grid: int, n_quad: int, *, lower: bool
) -> tuple[int, int, str]:
    """The Bayes-optimal policy's belief grid and quadrature sizes, checked against
    :data:`~secdilemma.model.simulate.MAX_ARRAY_BYTES`: ``(grid, n_quad, how)``.

    ``k`` types, ``a_n`` actions, ``n_out`` joint signal outcomes (``2^J``). With ``lower``
    (both sizes at their defaults) sizes that do not fit are lowered, ``n_quad`` halved down
    to 16 and then ``grid`` down to 11, and ``how`` says so; a request that still does not
    fit (or any request without ``lower``) raises :class:`~secdilemma.errors.ParameterError`.

    >>> grid, n_quad, how = dp_sizes(3, 3, 32, 10, 41, 32, lower=True)  # five channels
    >>> grid, n_quad, how.startswith("defaults lowered to fit 2.0 GiB with 32 joint")
    (41, 16, True)
    """

    def nbytes(g: int, nq: int) -> float:
        g_n = g ** max(k - 1, 0)
        branches = g_n * a_n * k * nq * n_out  # grid x action x type x node x outcome
        return 8.0 * branches * (6 * k + 3 * 2 ** max(k - 1, 0)) + 8.0 * horizon * g_n * a_n

    how, start = "", (grid, n_quad)
    if lower and nbytes(grid, n_quad) > MAX_ARRAY_BYTES:
        while nbytes(grid, n_quad) > MAX_ARRAY_BYTES and n_quad > 16:
            n_quad //= 2
        while nbytes(grid, n_quad) > MAX_ARRAY_BYTES and grid > 11:
            grid -= 2
        pairs = (("grid_size", start[0], grid), ("n_quad", start[1], n_quad))
        moved = [f"{name} {a} -> {b}" for name, a, b in pairs if a != b]
        how = (
            f"defaults lowered to fit {MAX_ARRAY_BYTES / 1024**3:.1f} GiB with {n_out} joint "
            f"signal outcomes: {', '.join(moved)}"
        )
    check_memory(
        nbytes(grid, n_quad),
        where="BayesOptimal",
        sizes=f"a grid of {grid}^{k - 1} beliefs x {a_n} actions x {k} types x "
        f"n_quad={n_quad} x {n_out} signal outcomes x horizon {horizon}",
        reduce="`grid_size`, `n_quad` or `horizon`",
    )
    return grid, n_quad, how
