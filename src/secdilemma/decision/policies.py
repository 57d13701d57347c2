"""Policies over time: one small class with one method, ``act(state) -> action indices``.

A policy sees a :class:`PolicyState` for ``n`` scenarios at once (vectorised) and returns one
action index per scenario into ``state.actions``. Policies hold no mutable memory: anything
they need from the past is in the state's history (own moves and the rival's reactions),
so a policy is deterministic and the same object can run many futures at once.

============== ================================================================================
policy         rule
============== ================================================================================
AlwaysDeter    deter every period.
AlwaysReassure reassure every period.
TitForTat      reassure first, then deter (or defend: ``respond``) iff the rival armed.
GRIT           graduated unilateral restraint (Osgood 1962): restrain (``steps``), step up the
               restraint while reciprocated, deter (or defend: ``fallback``) for good after
               ``patience`` unreciprocated periods in a row.
BeliefThreshold deter iff P(greed motive) exceeds a threshold (defend above ``defend_above``).
BayesOptimal   dynamic programming over a discretised belief simplex, with the exact
               static-type Bayes update: minimises expected discounted loss over the horizon.
============== ================================================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from secdilemma.decision.problem import (
    DEFAULT_ACTION_SET,
    DynamicModel,
    dp_sizes,
    signal_evidence,
    signal_loglik,
)
from secdilemma.engines.exact.filtering import static_update
from secdilemma.errors import ParameterError
from secdilemma.model import (
    deterrence_multiplier,
    noise_logpdf,
    reaction_mean,
    threat_multiplier,
)
from secdilemma.model.params import check_number
from secdilemma.model.types import TypeSpace

__all__ = [
    "GRIT",
    "AlwaysDeter",
    "AlwaysReassure",
    "BayesOptimal",
    "BeliefThreshold",
    "Policy",
    "PolicyState",
    "TitForTat",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class PolicyState:
    """What a policy sees at the start of a period, for ``n`` scenarios.

    Attributes
    ----------
    period
        The period about to be played (0-based).
    horizon
        Total number of periods.
    belief
        ``(n, K)`` the exact observer's posterior over types.
    own_moves
        ``(n, period)`` action indices played so far.
    rival_moves
        ``(n, period)`` the rival's reaction (its change) to each of those moves.
    actions
        Action names; policies return indices into this tuple.
    greed, fear
        ``(K,)`` motive loadings of the types.
    signals
        ``(n, period, J)`` the rival's signals (0/1) sent with each of its reactions, when the
        model has signal channels (``None`` otherwise). ``belief`` has already been updated
        on them.
    """

    period: int
    horizon: int
    belief: FloatArray
    own_moves: IntArray
    rival_moves: FloatArray
    actions: tuple[str, ...]
    greed: FloatArray
    fear: FloatArray
    signals: FloatArray | None = None

    @property
    def n(self) -> int:
        """Number of scenarios."""
        return int(self.belief.shape[0])

    def index(self, name: str) -> int:
        """Index of a named action; :class:`ParameterError` if absent."""
        try:
            return self.actions.index(name)
        except ValueError:
            raise ParameterError(
                f"this policy needs the action {name!r}; the decision model has "
                f"{list(self.actions)}."
            ) from None

    @classmethod
    def initial(
        cls,
        belief: npt.ArrayLike,
        *,
        types: TypeSpace | None = None,
        actions: Sequence[str] = DEFAULT_ACTION_SET,
        horizon: int = 1,
    ) -> PolicyState:
        """The state of period 0 (no history) for beliefs ``(n, K)``."""
        types = TypeSpace.default() if types is None else types
        b = np.atleast_2d(np.asarray(belief, dtype=float))
        n = b.shape[0]
        return cls(
            period=0,
            horizon=horizon,
            belief=b,
            own_moves=np.zeros((n, 0), dtype=np.intp),
            rival_moves=np.zeros((n, 0)),
            actions=tuple(actions),
            greed=types.greed,
            fear=types.fear,
        )


class Policy:
    """Base class: a policy maps the state of ``n`` scenarios to ``n`` action indices.

    Subclasses set the class attribute ``name`` and implement :meth:`act`.

    Examples
    --------
    >>> class Alternate(Policy):
    ...     name = "alternate"
    ...     def act(self, state):
    ...         a = state.index(("deter", "reassure")[state.period % 2])
    ...         return np.full(state.n, a, dtype=np.intp)
    >>> Alternate().act(PolicyState.initial([[1 / 3] * 3])).tolist()  # "deter" is action 0
    [0]
    """

    name: ClassVar[str] = "policy"

    def act(self, state: PolicyState) -> IntArray:
        """Action index per scenario, shape ``(state.n,)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"


class AlwaysDeter(Policy):
    """Deter every period (the deterrence model's prescription).

    Examples
    --------
    >>> st = PolicyState.initial([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1]])  # whatever the belief
    >>> [st.actions[i] for i in AlwaysDeter().act(st)]
    ['deter', 'deter']
    """

    name = "always_deter"

    def act(self, state: PolicyState) -> IntArray:
        return np.full(state.n, state.index("deter"), dtype=np.intp)


class AlwaysReassure(Policy):
    """Reassure every period (the spiral model's prescription).

    Examples
    --------
    >>> st = PolicyState.initial([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1]])  # whatever the belief
    >>> [st.actions[i] for i in AlwaysReassure().act(st)]
    ['reassure', 'reassure']
    """

    name = "always_reassure"

    def act(self, state: PolicyState) -> IntArray:
        return np.full(state.n, state.index("reassure"), dtype=np.intp)


class TitForTat(Policy):
    """Reassure first; then ``respond`` iff the rival's last change exceeded ``tolerance``.

    Parameters
    ----------
    tolerance
        The largest rival change still read as restraint (log points per period).
    respond
        The answer to a buildup: ``"deter"`` (default) or ``"defend"``, a defensive buildup
        that threatens an insecure rival less (``h``, docs/model.md section 2.2).

    Examples
    --------
    >>> from dataclasses import replace
    >>> st = replace(PolicyState.initial([[1 / 3] * 3] * 2), period=1,
    ...              own_moves=np.array([[2], [2]]), rival_moves=np.array([[0.2], [-0.1]]))
    >>> [st.actions[i] for i in TitForTat().act(st)]  # the first rival armed, the second cut
    ['deter', 'reassure']
    >>> [st.actions[i] for i in TitForTat(respond="defend").act(st)]
    ['defend', 'reassure']
    """

    name = "tit_for_tat"

    def __init__(self, tolerance: float = 0.0, respond: str = "deter") -> None:
        self.tolerance = check_number(tolerance, "tolerance", where="TitForTat")
        self.respond = _action_name(respond, "respond", "TitForTat")

    def act(self, state: PolicyState) -> IntArray:
        answer, reassure = state.index(self.respond), state.index("reassure")
        if state.period == 0:
            return np.full(state.n, reassure, dtype=np.intp)
        armed = state.rival_moves[:, -1] > self.tolerance
        return np.where(armed, answer, reassure).astype(np.intp)


class GRIT(Policy):
    """Graduated reciprocation in tension reduction (Osgood 1962).

    Start with the first restraint step; after each reciprocated period (the rival's change
    at most ``tolerance``) move one step along ``steps`` (e.g. ``("defend", "reassure")``: a
    cautious defensive buildup first, then cuts); after ``patience`` unreciprocated restraint
    periods in a row, play ``fallback`` for the rest of the horizon.

    Parameters
    ----------
    steps
        Restraint actions in order of depth.
    patience
        Unreciprocated periods tolerated before the initiative is abandoned (>= 1).
    tolerance
        The largest rival change still read as reciprocation.
    fallback
        The action after the initiative is abandoned: ``"deter"`` (default) or ``"defend"``
        (keep the guard up with a buildup that threatens less, docs/model.md section 2.2).

    Examples
    --------
    >>> from dataclasses import replace
    >>> pol = GRIT(steps=("defend", "reassure"), fallback="defend")
    >>> st = PolicyState.initial([[1 / 3] * 3] * 2)
    >>> [st.actions[i] for i in pol.act(st)]  # the cautious first step
    ['defend', 'defend']
    >>> st = replace(st, period=2, own_moves=np.array([[1, 2], [1, 1]]),
    ...              rival_moves=np.array([[-0.1, -0.1], [0.1, 0.1]]))
    >>> [st.actions[i] for i in pol.act(st)]  # reciprocated: cut; ignored twice: defend
    ['reassure', 'defend']
    """

    name = "grit"

    def __init__(
        self,
        steps: Sequence[str] = ("reassure",),
        patience: int = 2,
        tolerance: float = 0.0,
        fallback: str = "deter",
    ) -> None:
        steps = (steps,) if isinstance(steps, str) else tuple(steps)
        if not steps:
            raise ParameterError("GRIT: `steps` is empty; give at least one restraint action.")
        if (
            isinstance(patience, bool)
            or not isinstance(patience, (int, np.integer))
            or patience < 1
        ):
            raise ParameterError(f"GRIT: `patience` must be an integer >= 1; got {patience!r}.")
        self.steps = tuple(str(s) for s in steps)
        self.patience = int(patience)
        self.tolerance = check_number(tolerance, "tolerance", where="GRIT")
        self.fallback = _action_name(fallback, "fallback", "GRIT")

    def act(self, state: PolicyState) -> IntArray:
        fallback = state.index(self.fallback)
        step_idx = np.array([state.index(s) for s in self.steps], dtype=np.intp)
        n = state.n
        level = np.zeros(n, dtype=np.intp)  # position along the steps
        run = np.zeros(n, dtype=np.intp)  # unreciprocated restraint periods in a row
        abandoned = np.zeros(n, dtype=bool)
        restraint = np.isin(state.own_moves, step_idx)
        for t in range(state.period):
            r = restraint[:, t] & ~abandoned
            ok = state.rival_moves[:, t] <= self.tolerance
            run = np.where(r & ~ok, run + 1, np.where(r, 0, run))
            level = np.where(r & ok, np.minimum(level + 1, len(step_idx) - 1), level)
            abandoned |= run >= self.patience
        return np.where(abandoned, fallback, step_idx[level]).astype(np.intp)


class BeliefThreshold(Policy):
    """Deter iff ``P(greed motive) = sum_k belief_k * greed_k`` exceeds ``threshold``.

    With ``threshold`` set to the p* reported by :func:`~secdilemma.decision.decide` this is
    the myopic (one-decision) rule applied with learning. With ``defend_above`` (at most
    ``threshold``) there are two thresholds: reassure up to ``defend_above``, defend above it
    up to ``threshold``, deter above ``threshold`` (e.g. the ``switch_point`` values of a
    three-action :func:`~secdilemma.decision.decide`, where it lists two).

    Examples
    --------
    >>> st = PolicyState.initial([[0.1, 0.8, 0.1], [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    >>> [st.actions[i] for i in BeliefThreshold(0.5).act(st)]  # P(greed) 0.2, 0.5, 0.9
    ['reassure', 'reassure', 'deter']
    >>> [st.actions[i] for i in BeliefThreshold(0.6, defend_above=0.3).act(st)]
    ['reassure', 'defend', 'deter']
    """

    name = "belief_threshold"

    def __init__(self, threshold: float = 0.5, *, defend_above: float | None = None) -> None:
        self.threshold = check_number(
            threshold, "threshold", low=0.0, high=1.0, where="BeliefThreshold"
        )
        if defend_above is not None:
            defend_above = check_number(
                defend_above, "defend_above", low=0.0, high=self.threshold, where="BeliefThreshold"
            )
        self.defend_above = defend_above

    def act(self, state: PolicyState) -> IntArray:
        p_greed = state.belief @ np.asarray(state.greed, dtype=float)
        below = np.full(state.n, state.index("reassure"), dtype=np.intp)
        if self.defend_above is not None:
            below[p_greed > self.defend_above] = state.index("defend")
        return np.where(p_greed > self.threshold, state.index("deter"), below).astype(np.intp)


def _action_name(value: object, arg: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ParameterError(f"{where}: `{arg}` must be an action name; got {value!r}.")
    return value


def signal_branches(model: DynamicModel) -> tuple[FloatArray, FloatArray]:
    """The joint outcomes of the signal channels after each action, for the belief-grid DP.

    Returns ``ll_sig`` ``(A, O, K)``, the log-likelihood of outcome ``o`` under each type as
    the observer's update uses it (:func:`~secdilemma.decision.problem.signal_evidence`), and
    ``p_out`` ``(A, K, O)``, the probability of outcome ``o`` when the true type is ``k``. The
    ``O = 2^J'`` outcomes run over the ``J'`` channels informative under some action (a
    channel with the same probability for every type after every action is left out); without
    such channels ``O = 1`` (zeros and ones).
    """
    a_n, k = len(model.moves), model.type_space.n_types
    p = model.model_params
    if p.signals is None:
        return np.zeros((a_n, 1, k)), np.ones((a_n, k, 1))
    om = np.full(a_n, float(np.asarray(p.omega)))
    de = np.full(a_n, float(np.asarray(p.delta)))
    ll1, ll0 = signal_loglik(model, om, de, model.moves, model.postures)  # (A, K, J)
    informative = ~((np.ptp(ll1, axis=1) == 0.0) & (np.ptp(ll0, axis=1) == 0.0)).all(axis=0)
    keep = np.flatnonzero(informative)
    if keep.size > _MAX_DP_CHANNELS:
        raise ParameterError(
            f"BayesOptimal: {keep.size} informative signal channels give 2^{keep.size} joint "
            f"outcomes per period; at most {_MAX_DP_CHANNELS} (drop channels from "
            "`params.signals`)."
        )
    ll1, ll0 = ll1[:, None, :, keep], ll0[:, None, :, keep]  # (A, 1, K, J')
    bits = np.array(list(itertools.product((0.0, 1.0), repeat=keep.size)))  # (O, J')
    b = bits[None, :, None, :]
    log_p = np.where(b == 1.0, ll1, ll0).sum(axis=-1)  # (A, O, K), the true probabilities
    ll_sig = signal_evidence(ll1, ll0, bits[None, :, :])  # (A, O, K), cheap channels at 0
    return ll_sig, np.exp(log_p).transpose(0, 2, 1)


#: Most informative signal channels the belief-grid DP enumerates jointly (2^J outcomes).
_MAX_DP_CHANNELS = 8


class BayesOptimal(Policy):
    """The Bayes-optimal policy over beliefs, by backward induction on a belief grid.

    The state of the problem is the exact observer's belief: with a static type, fixed
    parameters and no mean reversion (``lam = 0``) the rival's next reaction depends only on
    our move and its type, so the belief is a sufficient statistic. The value function is
    computed on a regular grid over the first ``K - 1`` belief coordinates (multilinear
    interpolation in between), and the expectation over the rival's reaction uses
    ``n_quad`` equal-weight quantiles of the noise distribution. It solves on first use.

    With ``params.signals`` the rival also sends its signals with each reaction: the backward
    induction then also averages over the ``2^J`` joint outcomes of the channels (weighted by
    their probability under the true type and the action's threat ``h * max(u, 0)``) and the
    belief after each is the exact update on the reaction and the signals together (the
    likelihood of :func:`~secdilemma.decision.problem.signal_loglik`, as in the rollouts). A
    channel that is cheap talk under every action (the same probability for every type) is
    left out, so it changes no number.

    Parameters
    ----------
    model
        The :class:`~secdilemma.decision.DynamicModel`; or give its fields as keywords.
    grid_size
        Grid points per belief coordinate (default 401 for 2 types, 41 for 3, 15 beyond).
    n_quad
        Quadrature nodes for the rival's reaction noise (default 32).

    Defaults too large for the memory allowance (many channels) are lowered
    (:func:`~secdilemma.decision.problem.dp_sizes`; :attr:`sizing` says how); sizes given
    explicitly are never changed: a request that does not fit is refused.

    Notes
    -----
    Learned attributes (after :meth:`solve`): ``q_`` ``(horizon, G, A)`` expected discounted
    loss to go of each action at each grid belief, ``grid_`` ``(G, K)``.

    Examples
    --------
    >>> pol = BayesOptimal(horizon=3, grid_size=11)  # deter, defend, reassure
    >>> st = PolicyState.initial([[0, 1, 0], [0, 0, 1]], horizon=3)  # insecure; mixed
    >>> [st.actions[i] for i in pol.act(st)]
    ['reassure', 'defend']
    """

    name = "bayes_optimal"

    def __init__(
        self,
        model: DynamicModel | None = None,
        *,
        grid_size: int | None = None,
        n_quad: int | None = None,
        **model_fields: Any,
    ) -> None:
        if model is None:
            model = DynamicModel(**model_fields)
        elif model_fields:
            raise ParameterError(
                f"BayesOptimal: give a `model` or its fields, not both ({sorted(model_fields)})."
            )
        if model.n_draws is not None:
            raise ParameterError(
                "BayesOptimal: `params` must be scalars (one parameter set); solve one policy "
                "per posterior draw or use the posterior mean."
            )
        if np.any(np.asarray(model.model_params.lam) != 0):
            raise ParameterError(
                "BayesOptimal: `params.lam` must be 0; with mean reversion the rival's level "
                "is part of the state and the belief-grid DP does not apply."
            )
        k = model.type_space.n_types
        sized = grid_size is None and n_quad is None
        if grid_size is None:
            grid_size = {1: 2, 2: 401, 3: 41}.get(k, 15)
        if n_quad is None:
            n_quad = 32
        if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 2:
            raise ParameterError(
                f"BayesOptimal: `grid_size` must be an integer >= 2; got {grid_size!r}."
            )
        if isinstance(n_quad, bool) or not isinstance(n_quad, int) or n_quad < 2:
            raise ParameterError(f"BayesOptimal: `n_quad` must be an integer >= 2; got {n_quad!r}.")
        if grid_size ** max(k - 1, 1) > 200_000:
            raise ParameterError(
                f"BayesOptimal: a grid of {grid_size}^{k - 1} beliefs is too large; lower "
                "`grid_size`."
            )
        # checked against the memory allowance; `sizing`: how defaults were lowered, or ""
        n_out = signal_branches(model)[0].shape[1]
        grid_size, n_quad, self.sizing = dp_sizes(
            k, len(model.moves), n_out, model.horizon, grid_size, n_quad, lower=sized
        )
        self.model = model
        self.grid_size = grid_size
        self.n_quad = n_quad
        self.q_: FloatArray | None = None
        self.grid_: FloatArray | None = None

    # -- grid ---------------------------------------------------------------------------------
    def _coords_to_belief(self, c: FloatArray) -> FloatArray:
        """Grid coordinates ``(..., K-1)`` to beliefs ``(..., K)`` (projected onto the simplex)."""
        s = c.sum(axis=-1, keepdims=True)
        over = s > 1.0
        c = np.where(over, c / np.where(over, s, 1.0), c)
        last = np.clip(1.0 - c.sum(axis=-1, keepdims=True), 0.0, 1.0)
        return np.concatenate([c, last], axis=-1)

    def _weights(self, belief: FloatArray) -> Any:
        """Multilinear interpolation matrix from beliefs ``(m, K)`` to grid nodes."""
        from scipy import sparse  # here, not at import: about 40 ms

        n = self.grid_size
        d = belief.shape[-1] - 1
        m = belief.shape[0]
        if d == 0:
            return sparse.csr_matrix(np.ones((m, 1)))
        x = np.clip(belief[:, :d], 0.0, 1.0) * (n - 1)
        i0 = np.minimum(np.floor(x).astype(np.intp), n - 2)
        frac = x - i0
        rows, cols, vals = [], [], []
        strides = n ** np.arange(d - 1, -1, -1)
        for corner in itertools.product((0, 1), repeat=d):
            cidx = np.asarray(corner)
            w = np.prod(np.where(cidx == 1, frac, 1.0 - frac), axis=1)
            flat = (i0 + cidx) @ strides
            rows.append(np.arange(m))
            cols.append(flat)
            vals.append(w)
        return sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(m, n**d),
        )

    # -- solve --------------------------------------------------------------------------------
    def solve(self) -> BayesOptimal:
        """Backward induction; fills ``q_`` and ``grid_`` and returns ``self``."""
        model = self.model
        types, p, losses = model.type_space, model.model_params, model.loss_spec
        k, a_n, n_q, horizon = types.n_types, len(model.moves), self.n_quad, model.horizon
        axes = [np.linspace(0.0, 1.0, self.grid_size)] * max(k - 1, 0)
        coords = (
            np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k - 1)
            if k > 1
            else np.zeros((1, 0))
        )
        grid = self._coords_to_belief(coords)  # (G, K)
        omega = float(np.asarray(p.omega))
        # each action's threat and deterrence, from its posture (the observer knows it)
        h = threat_multiplier(omega, float(np.asarray(p.delta)), model.postures)[:, None]
        kd = deterrence_multiplier(omega, model.postures)[:, None]
        sigma = float(np.asarray(p.sigma))
        # expected reaction m[a, i] of type i to action a
        means = reaction_mean(
            types.greed[None, :], types.fear[None, :], model.moves[:, None], p, h_prev=h, k_prev=kd
        )
        levels = (np.arange(n_q) + 0.5) / n_q
        from scipy import stats  # here, not at import: about 1 s

        z = stats.norm.ppf(levels) if p.nu is None else stats.t.ppf(levels, df=p.nu)
        y = means[:, :, None] + sigma * z[None, None, :]  # (A, K_true, Q)
        ll = noise_logpdf(y[..., None] - means[:, None, None, :], sigma, p.nu)  # (A,K,Q,K)
        arms, expl, haz = losses.stage(
            model.moves[:, None, None], y, types.greed[None, :, None], omega, h[:, :, None]
        )
        cost = arms + expl + losses.war * haz  # (A, K, Q)
        cont = losses.discount * (1.0 - haz)  # (A, K, Q)
        # posterior at every grid node after every (action, true type, quantile[, signals])
        log_grid = np.log(np.maximum(grid, 1e-300))
        ll_sig, p_out = signal_branches(model)  # (A, O, K), (A, K, O)
        with_signals = model.model_params.signals is not None and ll_sig.shape[1] > 1
        if with_signals:
            ll = ll[:, :, :, None, :] + ll_sig[:, None, None, :, :]  # (A, K, Q, O, K)
        log_prior = log_grid.reshape(grid.shape[0], *([1] * (ll.ndim - 1)), k)
        post = np.exp(static_update(log_prior, ll[None]))  # (G, A, K, Q[, O], K)
        g_n = grid.shape[0]
        wmat = self._weights(post.reshape(-1, k))  # (G*A*K*Q[*O], G)
        q = np.empty((horizon, g_n, a_n))
        v_next = np.zeros(g_n)
        for t in range(horizon - 1, -1, -1):
            if with_signals:
                v_out = (wmat @ v_next).reshape(g_n, a_n, k, n_q, -1)
                v_post = np.einsum("gakqo,ako->gakq", v_out, p_out)
            else:
                v_post = (wmat @ v_next).reshape(g_n, a_n, k, n_q)
            inner = (cost[None] + cont[None] * v_post).mean(axis=-1)  # (G, A, K)
            q[t] = np.einsum("gk,gak->ga", grid, inner)
            v_next = q[t].min(axis=1)
        self.q_, self.grid_ = q, grid
        return self

    def q_values(self, belief: FloatArray, period: int) -> FloatArray:
        """Expected discounted loss to go ``(n, A)`` of each action at ``belief`` ``(n, K)``."""
        if self.q_ is None:
            self.solve()
        assert self.q_ is not None
        if not 0 <= period < self.q_.shape[0]:
            raise ParameterError(
                f"BayesOptimal: period {period} is outside the solved horizon {self.q_.shape[0]}."
            )
        return np.asarray(self._weights(np.atleast_2d(belief)) @ self.q_[period], dtype=float)

    def act(self, state: PolicyState) -> IntArray:
        if state.actions != self.model.action_names:
            raise ParameterError(
                f"BayesOptimal was solved for actions {list(self.model.action_names)}; the "
                f"state has {list(state.actions)}."
            )
        return np.asarray(
            np.argmin(self.q_values(state.belief, state.period), axis=1), dtype=np.intp
        )
