"""Forward simulation of the dyad under a policy, and policy comparison on common futures.

Timing: in period ``t`` the observer plays ``u_t`` with the posture ``d_t`` of its policy's
action, the rival answers with ``y_t = reaction_mean(type, u_t; h(omega, delta, d_t),
k(omega, d_t)) + noise_t`` (its change one period later, the generative model's reaction,
with the threat and deterrence of the move's posture), the observer pays the stage loss of
:meth:`~secdilemma.decision.Losses.stage` and updates its belief over types by the exact
static-type Bayes rule. War is absorbing: the stage loss of period ``t`` is weighted by
``discount**t`` and by the probability that no war broke out before ``t`` (computed exactly
from the hazards along the path, not sampled, which removes a source of Monte Carlo noise).

Common random numbers: every policy (and every action, in :func:`utility_table`) is run on
the same standardised noise draws and the same true types, so differences between policies
are not blurred by different luck.

Signals: with ``params.signals`` the rival also sends, with its answer ``y_t`` to our move
``u_t``, one binary signal per channel, ``s_{t,j} = 1`` iff ``U_{t,j} < P(s_j = 1 | type)``
with the threat term ``h(omega, delta, d) * max(u_t, 0)`` of the move's posture ``d`` (the
model's ``s_{t+1}`` given ``u_t``), and the observer's exact update adds the signals'
log-likelihood to the buildup's
(:func:`~secdilemma.decision.problem.signal_loglik`). The uniforms ``U`` ``(n, H, J)`` are a
stream of their own: :func:`compare_policies` draws them from its generator *after* the
reaction noise, so the noise (and, without signals, every number) is as without channels,
and every policy sees the same uniforms. A cheap-talk channel (the same probability under
every type) then changes no number at all: its likelihood term is exactly 0. Signals change
only the belief, never a stage loss, so policies that do not read the belief (and
:func:`utility_table`, whose actions are committed) are unaffected and draw none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.decision.losses import Losses
from secdilemma.decision.policies import Policy, PolicyState
from secdilemma.decision.problem import (
    DEFAULT_HORIZON,
    DynamicModel,
    bayes_update,
    check_positive_int,
    overflow_causes,
    parse_belief,
    reaction_means,
    signal_evidence,
    signal_loglik,
)
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams
from secdilemma.model.simulate import SeedLike, as_generator, check_memory, draw_noise
from secdilemma.model.types import TypeSpace

__all__ = ["compare_policies", "draw_signal_uniforms", "rollout", "utility_table"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Rollout:
    """Per-scenario results of :func:`rollout` (all discounted and survival-weighted)."""

    loss: FloatArray  # (n,)
    arms: FloatArray
    war: FloatArray
    exploitation: FloatArray
    p_war: FloatArray  # probability of war within the horizon
    moves: IntArray  # (n, H) action indices
    final_belief: FloatArray  # (n, K)
    signals: FloatArray | None = None  # (n, H, J) the rival's signals, when simulated


def standard_noise(seed: SeedLike, nu: float | None, size: tuple[int, ...]) -> FloatArray:
    """Standardised reaction noise (the model's, with ``sigma = 1``), scaled in the rollout."""
    return draw_noise(seed, 1.0, nu, size)


def draw_signal_uniforms(model: DynamicModel, seed: SeedLike, n: int) -> FloatArray | None:
    """Uniforms ``(n, horizon, J)`` that decide the rival's signals in :func:`rollout`.

    ``None`` when the model has no signal channels (then nothing is drawn from ``seed``).
    Draw them from the run's generator *after* :func:`standard_noise`, so the noise stays as
    in a run without channels.
    """
    sig = model.model_params.signals
    if sig is None:
        return None
    return as_generator(seed).random((n, model.horizon, sig.n_channels))


def rollout(
    model: DynamicModel,
    policy: Policy,
    *,
    true_type: IntArray,
    belief: FloatArray,
    noise: FloatArray,
    draw_index: IntArray | None = None,
    signal_uniforms: FloatArray | None = None,
) -> Rollout:
    """Run ``policy`` on ``n`` futures.

    Parameters
    ----------
    model
        The decision model.
    policy
        Any :class:`Policy`.
    true_type
        ``(n,)`` index of the rival's true type in each future.
    belief
        ``(n, K)`` the observer's starting belief.
    noise
        ``(n, H)`` standardised noise draws (the common random numbers).
    draw_index
        ``(n,)`` posterior draw of the parameters used in each future (when the model's
        parameters are draws).
    signal_uniforms
        ``(n, H, J)`` uniforms on ``[0, 1)`` (:func:`draw_signal_uniforms`): with
        ``model.params.signals``, the rival sends ``s_{t,j} = 1`` iff
        ``signal_uniforms[:, t, j] < P(s_j = 1 | true type, h * max(u_t, 0))`` and the
        observer's belief updates on the signals too (see the module docstring). ``None``
        simulates buildups only (every number as for a model without channels).
    """
    types, losses = model.type_space, model.loss_spec
    n = int(true_type.shape[0])
    horizon = model.horizon
    if noise.shape != (n, horizon):
        raise ParameterError(f"rollout: `noise` must have shape {(n, horizon)}; got {noise.shape}.")
    unif = _check_uniforms(model, signal_uniforms, n)
    sig = None if unif is None else np.full(unif.shape, np.nan)
    sp = model.scenario_params(draw_index, n)
    g_true = types.greed[true_type]
    nu = model.model_params.nu
    with np.errstate(divide="ignore"):
        log_b = np.log(np.asarray(belief, dtype=float))
    x = sp["anchor"].copy()
    own = np.zeros((n, horizon), dtype=np.intp)
    riv = np.zeros((n, horizon))
    surv = np.ones(n)
    tot = {k: np.zeros(n) for k in ("arms", "war", "exploitation")}
    idx = np.arange(n)
    for t in range(horizon):
        b = np.exp(log_b)
        state = PolicyState(
            period=t,
            horizon=horizon,
            belief=_frozen(b),
            own_moves=_frozen(own[:, :t]),
            rival_moves=_frozen(riv[:, :t]),
            actions=model.action_names,
            greed=types.greed,
            fear=types.fear,
            signals=None if sig is None else _frozen(sig[:, :t]),
        )
        a = _check_actions(policy, policy.act(state), n, len(model.moves))
        u, h, k = model.action_effects(sp, a)  # the posture of the action played
        means = reaction_means(model, sp, u, x, h=h, k=k)  # (n, K)
        y = means[idx, true_type] + sp["sigma"] * noise[:, t]
        if not np.all(np.isfinite(y)):
            raise _overflow(model, f"the rival's simulated reactions in period {t}")
        with np.errstate(over="ignore", invalid="ignore"):  # checked after the loop
            arms, expl, haz = losses.stage(u, y, g_true, sp["omega"], h)  # the posture's threat
            w = losses.discount**t * surv
            tot["arms"] += w * arms
            tot["exploitation"] += w * expl
            tot["war"] += w * losses.war * haz
        surv = surv * (1.0 - haz)
        signal_ll = None
        if unif is not None and sig is not None:
            d = model.postures[a]
            sig[:, t], signal_ll = _send_signals(model, sp, u, d, unif[:, t], true_type)
        try:
            log_b = bayes_update(log_b, y, means, sp["sigma"], nu, signal_ll)
        except ParameterError:  # every type's likelihood underflows: inputs out of range
            raise _overflow(model, f"the belief update in period {t}") from None
        with np.errstate(over="ignore"):  # the level matters only with lam > 0: then y is inf
            x = x + y
        own[:, t] = a
        riv[:, t] = y
    with np.errstate(over="ignore", invalid="ignore"):
        loss = tot["arms"] + tot["war"] + tot["exploitation"]
    if not np.all(np.isfinite(loss)):
        raise _overflow(model, "the simulated losses")
    return Rollout(
        loss=loss,
        arms=tot["arms"],
        war=tot["war"],
        exploitation=tot["exploitation"],
        p_war=1.0 - surv,
        moves=own,
        final_belief=np.exp(log_b),
        signals=sig,
    )


def _send_signals(
    model: DynamicModel,
    sp: Mapping[str, FloatArray],
    u: FloatArray,
    posture: FloatArray,
    unif: FloatArray,
    true_type: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """The rival's signals ``(n, J)`` with its answer to ``u`` of posture ``posture`` (``s = 1``
    iff the uniform is below ``P(s = 1 | true type)``) and their log-likelihood ``(n, K)``."""
    ll1, ll0 = signal_loglik(model, sp["omega"], sp["delta"], u, posture)  # (n, K, J)
    sent = (unif < np.exp(ll1[np.arange(u.shape[0]), true_type])).astype(float)
    return sent, signal_evidence(ll1, ll0, sent)


def _check_uniforms(model: DynamicModel, unif: FloatArray | None, n: int) -> FloatArray | None:
    """The rollout's signal uniforms (``None`` without channels), shape-checked."""
    sp = model.model_params.signals
    if unif is None or sp is None:
        return None
    arr = np.asarray(unif, dtype=float)
    shape = (n, model.horizon, sp.n_channels)
    if arr.shape != shape:
        raise ParameterError(
            f"rollout: `signal_uniforms` must have shape {shape} (futures, horizon, channels "
            f"{list(sp.names)}); got {arr.shape}."
        )
    if not np.all((arr >= 0.0) & (arr < 1.0)):
        raise ParameterError("rollout: `signal_uniforms` must lie in [0, 1).")
    return arr


def _overflow(model: DynamicModel, what: str) -> ParameterError:
    return ParameterError(
        f"decision: {what} overflow (inf or NaN): the inputs are too large for double "
        f"precision ({overflow_causes(model)}). Give smaller values."
    )


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = a.view()
    view.setflags(write=False)
    return view


def _check_actions(policy: Policy, a: Any, n: int, n_actions: int) -> IntArray:
    arr = np.asarray(a)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(
            f"{type(policy).__name__}.act must return {n} integer action indices; got shape "
            f"{arr.shape} of {arr.dtype}."
        )
    if np.any((arr < 0) | (arr >= n_actions)):
        raise ParameterError(
            f"{type(policy).__name__}.act returned an action index outside 0..{n_actions - 1}."
        )
    return arr.astype(np.intp)


class _Fixed(Policy):
    """Play one action index every period (used for the per-action utility table)."""

    name = "fixed"

    def __init__(self, index: int) -> None:
        self.index = index

    def act(self, state: PolicyState) -> IntArray:
        return np.full(state.n, self.index, dtype=np.intp)


@dataclass(frozen=True)
class UtilityTable:
    """Simulated utilities ``-loss`` of each action committed to for the whole horizon.

    ``mean`` is ``(S, A, K)`` (``S = 1`` for fixed parameters), ``se`` its Monte Carlo
    standard error, ``n_reps`` the futures per (draw, type).
    """

    mean: FloatArray
    se: FloatArray
    n_reps: int


def utility_table(
    model: DynamicModel, *, n_sims: int = 2000, seed: SeedLike = None
) -> UtilityTable:
    """``U[a, k]`` by simulation: each action played throughout, each type, common noise.

    With parameter draws (``S`` of them) each draw gets ``max(1, n_sims // S)`` futures per
    type, so ``U`` is ``(S, A, K)``. Signal channels (``params.signals``) do not enter: a
    committed action does not read the belief, and signals change nothing else.
    """
    n_sims = check_positive_int("n_sims", n_sims)
    rng = as_generator(seed)
    k = model.type_space.n_types
    s = model.n_draws or 1
    reps = n_sims if model.n_draws is None else max(1, n_sims // s)
    check_memory(
        8.0 * model.horizon * s * reps * (1 + 3 * k),
        where="decision",
        sizes=f"{k} types x {s * reps} futures x horizon {model.horizon}",
        reduce="`n_sims` or `horizon`",
    )
    base = standard_noise(rng, model.model_params.nu, (s * reps, model.horizon))
    noise = np.tile(base, (k, 1))  # same noise for every type
    true_type = np.repeat(np.arange(k), s * reps)
    draw = np.tile(np.repeat(np.arange(s), reps), k) if model.n_draws is not None else None
    belief = np.full((k * s * reps, k), 1.0 / k)
    a_n = len(model.moves)
    mean = np.empty((s, a_n, k))
    se = np.empty((s, a_n, k))
    for a in range(a_n):
        r = rollout(
            model, _Fixed(a), true_type=true_type, belief=belief, noise=noise, draw_index=draw
        )
        u = -r.loss.reshape(k, s, reps)
        with np.errstate(over="ignore"):  # an overflowing mean is refused by the callers
            mean[:, a, :] = u.mean(axis=2).T
            se[:, a, :] = (u.std(axis=2, ddof=1) / np.sqrt(reps)).T if reps > 1 else np.nan
    if not np.all(np.isfinite(mean)):
        raise _overflow(model, "the mean utilities")
    return UtilityTable(mean=mean, se=se, n_reps=reps)


def compare_policies(
    policies: Mapping[str, Policy] | Sequence[Policy],
    *,
    types: TypeSpace | None = None,
    params: ModelParams | None = None,
    losses: Losses | Mapping[str, float] | None = None,
    actions: Sequence[str] | Mapping[str, Any] | None = None,
    horizon: int | None = None,
    prior: Any = None,
    n_sims: int = 1000,
    seed: SeedLike = None,
) -> xr.Dataset:
    """Evaluate policies on the same simulated futures (common random numbers).

    Every true type is simulated ``n_sims`` times with the same noise draws for every policy
    (stratified by type, which also lowers the variance); the observer starts from ``prior``
    and learns by the exact Bayes rule, from the buildups and, with ``params.signals``, from
    the rival's signals (drawn on their own uniforms after the noise; see the module
    docstring); the overall figures weight the types by ``prior``
    (so the prior is also the truth's distribution, the setting in which ``BayesOptimal`` is
    optimal). With parameter draws ``(S,)``, future ``i`` uses draw ``i`` and ``n_sims``
    must be ``S``.

    Returns
    -------
    xarray.Dataset
        dims ``policy``, ``rival_type``, ``sim``: ``expected_loss`` and ``expected_utility``
        with ``mcse``; ``loss_by_type`` with ``mcse_by_type``; ``arms``, ``war``,
        ``exploitation`` components and ``p_war`` by type; ``deter_share``;
        ``loss_minus_best`` and its paired standard error ``loss_minus_best_se``;
        ``scenario_loss`` per future.

    Examples
    --------
    >>> from secdilemma.decision import AlwaysDeter, AlwaysReassure
    >>> ds = compare_policies([AlwaysDeter(), AlwaysReassure()], horizon=3, n_sims=50, seed=0)
    >>> ds.policy.values.tolist()
    ['always_deter', 'always_reassure']
    """
    model = DynamicModel(
        types=types,
        params=params,
        losses=losses,
        actions=actions,
        horizon=DEFAULT_HORIZON if horizon is None else horizon,
    )
    named = _named_policies(policies)
    ts = model.type_space
    b0, _ = parse_belief(prior, ts)
    if b0.shape[0] != 1:
        raise ParameterError("compare_policies: `prior` must be one probability vector.")
    prior_v = b0[0]
    n_sims = check_positive_int("n_sims", n_sims)
    if model.n_draws is not None and n_sims != model.n_draws:
        raise ParameterError(
            f"compare_policies: with {model.n_draws} parameter draws, `n_sims` must equal "
            f"{model.n_draws} (one future per draw); got {n_sims}."
        )
    k = ts.n_types
    check_memory(
        8.0 * model.horizon * n_sims * (1 + k * (len(named) + 2)),
        where="compare_policies",
        sizes=f"{len(named)} policies x {k} types x {n_sims} futures x horizon {model.horizon}",
        reduce="`n_sims` or `horizon`",
    )
    rng = as_generator(seed)
    base = standard_noise(rng, model.model_params.nu, (n_sims, model.horizon))
    noise = np.tile(base, (k, 1))
    unif = draw_signal_uniforms(model, rng, n_sims)  # after the noise: a stream of its own
    unif = None if unif is None else np.tile(unif, (k, 1, 1))
    true_type = np.repeat(np.arange(k), n_sims)
    draw = np.tile(np.arange(n_sims), k) if model.n_draws is not None else None
    belief = np.tile(prior_v, (k * n_sims, 1))
    results = {
        key: rollout(
            model,
            pol,
            true_type=true_type,
            belief=belief,
            noise=noise,
            draw_index=draw,
            signal_uniforms=unif,
        )
        for key, pol in named.items()
    }
    ds = _policy_summary(results, model, prior_v, n_sims)
    ds.attrs["seed"] = "none" if seed is None else str(seed)
    ds.attrs.update(model.describe())
    return ds


def _named_policies(policies: Mapping[str, Policy] | Sequence[Policy]) -> dict[str, Policy]:
    """Policies by name (a sequence is named by ``Policy.name``, ``_2``, ``_3`` … for repeats)."""
    if isinstance(policies, Mapping):
        named = {str(k): v for k, v in policies.items()}
    else:
        named = {}
        for pol in policies:
            key = pol.name
            i = 2
            while key in named:
                key, i = f"{pol.name}_{i}", i + 1
            named[key] = pol
    if not named:
        raise ParameterError("compare_policies: `policies` is empty.")
    for key, pol in named.items():
        if not isinstance(pol, Policy):
            raise ParameterError(
                f"compare_policies: `policies[{key!r}]` is a {type(pol).__name__}, not a Policy."
            )
    return named


def _policy_summary(
    results: Mapping[str, Rollout], model: DynamicModel, prior_v: FloatArray, n_sims: int
) -> xr.Dataset:
    """The Dataset of :func:`compare_policies` from each policy's rollouts."""
    names = list(results)
    k = model.type_space.n_types
    deter = model.action_names.index("deter") if "deter" in model.action_names else -1
    scen = np.stack([results[p].loss.reshape(k, n_sims) for p in names])  # (P, K, n)

    def by_type(attr: str) -> FloatArray:
        return np.stack([getattr(results[p], attr).reshape(k, n_sims).mean(axis=1) for p in names])

    # overall mean = sum_k prior_k mean_k; MC variance from the per-type variances
    exp_loss = np.einsum("k,pk->p", prior_v, scen.mean(axis=2))
    var_k = scen.var(axis=2, ddof=1) if n_sims > 1 else np.full(scen.shape[:2], np.nan)
    mcse = np.sqrt(np.einsum("k,pk->p", prior_v**2, var_k) / n_sims)
    best = int(np.argmin(exp_loss))
    diff = scen - scen[best][None]
    diff_var = diff.var(axis=2, ddof=1) if n_sims > 1 else np.full(diff.shape[:2], np.nan)
    diff_se = np.sqrt(np.einsum("k,pk->p", prior_v**2, diff_var) / n_sims)
    deter_share = np.array(
        [
            float(
                prior_v @ (results[p].moves == deter).mean(axis=1).reshape(k, n_sims).mean(axis=1)
            )
            for p in names
        ]
    )
    pt = ("policy", "rival_type")
    return xr.Dataset(
        {
            "expected_loss": ("policy", exp_loss),
            "expected_utility": ("policy", -exp_loss),
            "mcse": ("policy", mcse),
            "loss_by_type": (pt, scen.mean(axis=2)),
            "mcse_by_type": (pt, np.sqrt(var_k / n_sims)),
            "arms": (pt, by_type("arms")),
            "war": (pt, by_type("war")),
            "exploitation": (pt, by_type("exploitation")),
            "p_war": (pt, by_type("p_war")),
            "deter_share": ("policy", deter_share),
            "loss_minus_best": ("policy", exp_loss - exp_loss[best]),
            "loss_minus_best_se": ("policy", diff_se),
            "prior": ("rival_type", prior_v),
            "scenario_loss": (("policy", "rival_type", "sim"), scen),
        },
        coords={
            "policy": names,
            "rival_type": list(model.type_space.names),
            "sim": np.arange(n_sims),
        },
        attrs={
            "best_policy": names[best],
            "n_sims": n_sims,
            "seed": "none",
            "common_random_numbers": 1,
            "secdilemma_version": __version__,
        },
    )
