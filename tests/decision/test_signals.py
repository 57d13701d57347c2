"""Signals in the decision: forward runs draw them, belief policies learn from them, and the
value of each channel alone (evsi_by_channel).

References are independent of the library: hand enumeration of the preposterior analysis,
the logistic written out with ``math.exp``, a log-space posterior summed by hand from the
model's likelihood, and binomial tolerances for simulated frequencies.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from secdilemma.decision import (
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    DynamicModel,
    Policy,
    PolicyState,
    TitForTat,
    compare_policies,
    evsi_by_channel,
    rollout,
    value_of_information,
)
from secdilemma.decision.dynamic import draw_signal_uniforms, standard_noise
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams, loglik_components
from secdilemma.model.types import TypeSpace


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


CHEAP = SignalParams(("talk",), eta0=[0.3], eta_g=[0.0], eta_f=[0.0])
COSTLY = SignalParams(("refused",), eta0=[-1.5], eta_g=[3.0], eta_f=[0.0])


# ---------------------------------------------------------------------------------------------
# EVSI per channel
# ---------------------------------------------------------------------------------------------
def test_evsi_by_channel_matches_hand_enumeration(two_types: TypeSpace) -> None:
    """2 types x 2 actions: every number against the preposterior analysis by hand."""
    U = [[-1.0, -3.0], [-4.0, 0.0]]  # deter, reassure x greedy (g=1,f=0), insecure (g=0,f=1)
    b = [0.4, 0.6]
    sp = SignalParams(("refused", "mobilised"), eta0=[-1.0, -0.5], eta_g=[2.5, 0.5], eta_f=[0, 2])
    threat = 0.3
    ds = evsi_by_channel(
        b,
        payoffs=U,
        types=two_types,
        channel=sp,
        threat=threat,
        cost={"refused": 0.1, "mobilised": 0.5},
    )
    loads = [(1.0, 0.0), (0.0, 1.0)]
    eu_prior = max(sum(b[k] * U[a][k] for k in range(2)) for a in range(2))
    p1 = [
        [_logistic(sp.eta0[j] + sp.eta_g[j] * g + sp.eta_f[j] * f * threat) for g, f in loads]
        for j in range(2)
    ]

    def value(lik_by_outcome: list[list[float]]) -> tuple[float, list[list[float]], list[float]]:
        total, posts, p_out = 0.0, [], []
        for lik in lik_by_outcome:
            p_o = sum(b[k] * lik[k] for k in range(2))
            post = [b[k] * lik[k] / p_o for k in range(2)]
            total += p_o * max(sum(post[k] * U[a][k] for k in range(2)) for a in range(2))
            posts.append(post)
            p_out.append(p_o)
        return total - eu_prior, posts, p_out

    for j, name in enumerate(sp.names):
        evsi, posts, p_out = value([[1 - p for p in p1[j]], p1[j]])
        row = ds.sel(signal=name)
        assert float(row.evsi) == pytest.approx(evsi, abs=1e-12)
        assert float(row.p_sent) == pytest.approx(p_out[1], abs=1e-12)
        np.testing.assert_allclose(row.posterior_if_sent.values, posts[1], atol=1e-12)
        np.testing.assert_allclose(row.posterior_if_not_sent.values, posts[0], atol=1e-12)
        np.testing.assert_allclose(row.p_sent_by_type.values, p1[j], atol=1e-12)
        assert float(row.evsi_net) == pytest.approx(evsi - float(row.cost), abs=1e-12)
        assert bool(row.worth_testing) == (evsi > float(row.cost))
    assert ds.evsi.sel(signal="refused") > 0.1  # the refused test pays; mobilised does not
    assert ds.worth_testing.values.tolist() == [True, False]
    assert ds.attrs["best_channel"] == "refused"
    joint_lik = [
        [(p1[0][k] if s0 else 1 - p1[0][k]) * (p1[1][k] if s1 else 1 - p1[1][k]) for k in range(2)]
        for s0 in (0, 1)
        for s1 in (0, 1)
    ]
    assert float(ds.evsi_joint) == pytest.approx(value(joint_lik)[0], abs=1e-12)
    evpi = sum(b[k] * max(U[0][k], U[1][k]) for k in range(2)) - eu_prior
    assert float(ds.evpi) == pytest.approx(evpi, abs=1e-12)
    assert float(ds.cost_joint) == pytest.approx(0.6)


def test_evsi_by_channel_agrees_with_value_of_information(two_types: TypeSpace) -> None:
    sp = SignalParams(("a", "b"), eta0=[-1.0, 0.2], eta_g=[2.0, -1.0], eta_f=[0.5, 1.0])
    U = [[-1.0, -3.0], [-4.0, 0.0]]
    ds = evsi_by_channel([0.3, 0.7], payoffs=U, types=two_types, channel=sp, threat=0.4)
    joint = value_of_information([0.3, 0.7], payoffs=U, types=two_types, channel=sp, threat=0.4)
    assert float(ds.evsi_joint) == pytest.approx(float(joint.evsi), abs=1e-14)
    assert float(ds.evpi) == pytest.approx(float(joint.evpi), abs=1e-14)
    for j, name in enumerate(sp.names):
        one = SignalParams((name,), eta0=[sp.eta0[j]], eta_g=[sp.eta_g[j]], eta_f=[sp.eta_f[j]])
        alone = value_of_information(
            [0.3, 0.7], payoffs=U, types=two_types, channel=one, threat=0.4
        )
        assert float(ds.evsi.sel(signal=name)) == pytest.approx(float(alone.evsi), abs=1e-14)


@given(
    belief=st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3),
    table=st.lists(st.floats(-10.0, 10.0), min_size=6, max_size=6),
    etas=st.lists(st.floats(-4.0, 4.0), min_size=9, max_size=9),
    n_channels=st.integers(1, 3),
    threat=st.floats(0.0, 1.0),
)
def test_evsi_by_channel_bounds(
    belief: list[float], table: list[float], etas: list[float], n_channels: int, threat: float
) -> None:
    """0 <= EVSI_j <= EVSI_joint <= EVPI, and cheap talk is worth exactly nothing."""
    j = n_channels
    sp = SignalParams(
        (*[f"c{i}" for i in range(j)], "talk"),
        eta0=[*etas[:j], 0.3],
        eta_g=[*etas[3 : 3 + j], 0.0],
        eta_f=[*etas[6 : 6 + j], 0.0],
    )
    b = np.asarray(belief) / sum(belief)
    ds = evsi_by_channel(b, payoffs=np.reshape(table, (2, 3)), channel=sp, threat=threat)
    evsi = ds.evsi.values
    assert np.all(evsi >= 0.0)
    assert np.all(evsi <= float(ds.evsi_joint) + 1e-12)
    assert float(ds.evsi_joint) <= float(ds.evpi) + 1e-12
    assert abs(float(ds.evsi.sel(signal="talk"))) <= 1e-12


def test_cheap_talk_is_worth_nothing_in_both_modes(two_types: TypeSpace) -> None:
    U = [[-1.0, -3.0], [-4.0, 0.0]]
    static_ds = evsi_by_channel([0.45, 0.55], payoffs=U, types=two_types, channel=CHEAP)
    assert abs(float(static_ds.evsi[0])) <= 1e-12
    assert abs(float(static_ds.evsi_joint)) <= 1e-12
    np.testing.assert_allclose(static_ds.posterior_if_sent[0].values, [0.45, 0.55], atol=1e-15)
    params = ModelParams(sigma=0.1, signals=CHEAP)
    dyn = evsi_by_channel(
        [0.45, 0.55], types=two_types, params=params, horizon=3, n_sims=50, seed=0
    )
    assert abs(float(dyn.evsi[0])) <= 1e-12
    assert dyn.attrs["mode"] == "dynamic"
    vi = value_of_information(
        [0.45, 0.55], types=two_types, params=params, horizon=3, n_sims=50, seed=0, channel=CHEAP
    )
    assert abs(float(vi.evsi)) <= 1e-12


def test_evsi_by_channel_dynamic_mode_takes_params_signals(two_types: TypeSpace) -> None:
    sp = SignalParams(("refused", "talk"), eta0=[-1.5, 0.0], eta_g=[3.0, 0.0], eta_f=[0.0, 0.0])
    params = ModelParams(sigma=0.1, signals=sp)
    ds = evsi_by_channel(
        [0.5, 0.5], types=two_types, params=params, horizon=3, n_sims=100, seed=1, cost=[0.0, 0.0]
    )
    assert ds.signal.values.tolist() == ["refused", "talk"]
    assert float(ds.evsi.sel(signal="refused")) > 0.0
    assert float(ds.evsi.sel(signal="talk")) == 0.0
    assert float(ds.evsi.sel(signal="refused")) <= float(ds.evsi_joint) + 1e-12
    assert float(ds.evsi_joint) <= float(ds.evpi) + 1e-12
    # the same seed gives the same utilities as decide's: evpi matches value_of_information
    vi = value_of_information(
        [0.5, 0.5], types=two_types, params=params, horizon=3, n_sims=100, seed=1, channel=sp
    )
    assert float(ds.evpi) == float(vi.evpi)
    assert float(ds.evsi_joint) == pytest.approx(float(vi.evsi), abs=1e-12)


@pytest.mark.parametrize(
    ("cost", "match"),
    [
        (-0.1, r"cost\['a'\]"),
        ({"a": 0.1, "b": -1.0}, r"cost\['b'\]"),
        ({"a": 0.1}, r"no cost for channel\(s\) \['b'\]"),
        ({"a": 0.1, "b": 0.2, "c": 0.0}, r"unknown channel\(s\) \['c'\]"),
        ([0.1], "1 values for 2 channels"),
        ([0.1, float("nan")], r"cost\['b'\]"),
        ("0.1", "must be a number"),
        ({"a": "x", "b": 0.0}, r"cost\['a'\]"),
    ],
)
def test_evsi_by_channel_refuses_bad_costs(cost: object, match: str) -> None:
    sp = SignalParams(("a", "b"), eta0=[0.0, 0.0], eta_g=[1.0, 1.0], eta_f=[0.0, 0.0])
    with pytest.raises(ParameterError, match=match):
        evsi_by_channel(
            [0.5, 0.5],
            payoffs=[[1.0, 0.0], [0.0, 1.0]],
            channel=sp,
            cost=cost,
            types=TypeSpace.from_names(["greedy", "insecure"]),
        )


def test_evsi_by_channel_cost_as_dataarray_and_bad_channel() -> None:
    sp = SignalParams(("a", "b"), eta0=[0.0, 0.0], eta_g=[1.0, 2.0], eta_f=[0.0, 0.0])
    ts = TypeSpace.from_names(["greedy", "insecure"])
    cost = xr.DataArray([0.2, 0.1], dims="signal", coords={"signal": ["b", "a"]})
    ds = evsi_by_channel(
        [0.5, 0.5], payoffs=[[1.0, 0.0], [0.0, 1.0]], channel=sp, cost=cost, types=ts
    )
    assert ds.cost.values.tolist() == [0.1, 0.2]
    with pytest.raises(ParameterError, match="must be a SignalParams"):
        evsi_by_channel(
            [0.5, 0.5], payoffs=[[1.0, 0.0], [0.0, 1.0]], channel=[[1, 0], [0, 1]], types=ts
        )
    with pytest.raises(ParameterError, match="give `channel`"):
        evsi_by_channel([0.5, 0.5], payoffs=[[1.0, 0.0], [0.0, 1.0]], types=ts)


# ---------------------------------------------------------------------------------------------
# Forward runs
# ---------------------------------------------------------------------------------------------
class _Recorder(Policy):
    """Play a fixed action and keep the last state seen (to read the rollout's history)."""

    name = "recorder"

    def __init__(self, action: str) -> None:
        self.action = action
        self.last: PolicyState | None = None

    def act(self, state: PolicyState) -> np.ndarray:
        self.last = state
        return np.full(state.n, state.index(self.action), dtype=np.intp)


def _run(model: DynamicModel, policy: Policy, n: int, seed: int):
    k = model.type_space.n_types
    rng = np.random.default_rng(seed)
    noise = np.tile(standard_noise(rng, model.model_params.nu, (n, model.horizon)), (k, 1))
    unif = draw_signal_uniforms(model, rng, n)
    unif = None if unif is None else np.tile(unif, (k, 1, 1))
    true_type = np.repeat(np.arange(k), n)
    belief = np.full((k * n, k), 1.0 / k)
    res = rollout(
        model, policy, true_type=true_type, belief=belief, noise=noise, signal_uniforms=unif
    )
    return res, true_type


@pytest.mark.parametrize("action", ["deter", "reassure"])
def test_forward_signal_frequencies_match_the_logistic(action: str) -> None:
    """Simulated signal rates per (type, channel) within 4.5 binomial s.d. of the model's."""
    sp = SignalParams(("refused", "alarm"), eta0=[-1.0, -2.0], eta_g=[2.0, 0.5], eta_f=[0.0, 6.0])
    params = ModelParams(omega=0.7, delta=0.2, signals=sp)  # deter's posture d = 0: h = 1.7
    model = DynamicModel(params=params, horizon=4)
    res, true_type = _run(model, AlwaysDeter() if action == "deter" else AlwaysReassure(), 3000, 11)
    assert res.signals is not None
    assert res.signals.shape == (3 * 3000, 4, 2)
    assert set(np.unique(res.signals)) <= {0.0, 1.0}
    threat = 1.7 * max(model.actions[action], 0.0)  # h = 1 + omega: an offensive buildup
    for k, (g, f) in enumerate(zip(model.type_space.greed, model.type_space.fear, strict=True)):
        rows = res.signals[true_type == k].reshape(-1, 2)
        for j in range(2):
            p = _logistic(sp.eta0[j] + sp.eta_g[j] * g + sp.eta_f[j] * f * threat)
            sd = math.sqrt(p * (1 - p) / rows.shape[0])
            assert abs(rows[:, j].mean() - p) < 4.5 * sd, (k, j, rows[:, j].mean(), p)


def test_forward_belief_is_the_exact_posterior_on_buildups_and_signals() -> None:
    """The rollout's belief equals a posterior summed by hand from the model's likelihood."""
    sp = SignalParams(("refused", "alarm"), eta0=[-1.0, -2.0], eta_g=[2.0, 0.5], eta_f=[0.0, 6.0])
    params = ModelParams(sigma=0.2, omega=0.7, delta=0.2, signals=sp)
    model = DynamicModel(params=params, horizon=5)
    rec = _Recorder("deter")
    _run(model, rec, 40, 5)
    state = rec.last
    assert state is not None
    assert state.signals is not None
    assert state.period == 4
    n, t_obs = state.n, state.period
    # model indexing: the rival's period-(t+1) buildup and signals answer our move of period t
    u = np.full((n, t_obs + 1), model.actions["deter"])
    dx = np.full((n, t_obs + 1), np.nan)
    dx[:, 1:] = state.rival_moves
    sig = np.full((n, t_obs + 1, 2), np.nan)
    sig[:, 1:] = state.signals
    # the observer knows its posture: deter's, d = 0 (h = 1 + omega, k = 1)
    ll_b, ll_s = loglik_components(dx, u, params, model.type_space, signals=sig, posture=0.0)
    assert ll_s is not None
    log_post = np.log(1.0 / 3) + ll_b.sum(axis=1) + ll_s.sum(axis=(1, 3))
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(state.belief, post, atol=1e-10)


def _right_action_share(model: DynamicModel, policy: Policy) -> tuple[float, float]:
    res, true_type = _run(model, policy, 1500, 21)
    deter, reassure = model.action_index("deter"), model.action_index("reassure")
    right = np.where(true_type[:, None] == 0, res.moves == deter, res.moves == reassure)
    share = right.mean(axis=1)
    return float(share.mean()), float(share.std(ddof=1) / math.sqrt(share.size))


@pytest.mark.parametrize("make", ["threshold", "bayes"])
def test_an_informative_channel_makes_belief_policies_right_more_often(
    two_types: TypeSpace, make: str
) -> None:
    """eta_g = 3: greedy sends the signal with p = 0.82, insecure with 0.18. With noisy
    buildups (sigma = 0.3) the learning policies pick the right action (deter a greedy
    rival, reassure an insecure one) more often with the signal than without."""
    shares = {}
    for label, signals in (("none", None), ("signal", COSTLY)):
        model = DynamicModel(
            types=two_types,
            params=ModelParams(sigma=0.3, signals=signals),
            actions=("deter", "reassure"),  # "right" is deter or reassure
            horizon=5,
        )
        policy = BeliefThreshold(0.5) if make == "threshold" else BayesOptimal(model)
        shares[label] = _right_action_share(model, policy)
    (m0, se0), (m1, se1) = shares["none"], shares["signal"]
    assert m1 - m0 > 4.0 * math.hypot(se0, se1), shares


def test_bayes_optimal_values_the_signal(two_types: TypeSpace) -> None:
    """The DP's expected loss at the prior is lower with an informative channel, and the
    simulated loss of the policy agrees with its own value within Monte Carlo error."""
    base = DynamicModel(types=two_types, params=ModelParams(sigma=0.3), horizon=5)
    with_sig = DynamicModel(
        types=two_types, params=ModelParams(sigma=0.3, signals=COSTLY), horizon=5
    )
    v0 = BayesOptimal(base).solve().q_values(np.array([[0.5, 0.5]]), 0).min()
    bo = BayesOptimal(with_sig)
    v1 = bo.solve().q_values(np.array([[0.5, 0.5]]), 0).min()
    assert v1 < v0 - 0.05
    ds = compare_policies(
        {"bo": bo}, types=two_types, params=with_sig.model_params, horizon=5, n_sims=2000, seed=4
    )
    assert abs(float(ds.expected_loss[0]) - v1) < 4.0 * float(ds.mcse[0]) + 0.01


def test_cheap_talk_changes_no_rollout_number(two_types: TypeSpace) -> None:
    """Separate streams (the signal uniforms are drawn after the reaction noise) and a cheap
    channel's likelihood term of exactly 0 make the comparison exact, not within MC error."""
    out = {}
    for label, signals in (("none", None), ("cheap", CHEAP)):
        params = ModelParams(sigma=0.3, signals=signals)
        model = DynamicModel(types=two_types, params=params, horizon=4)
        policies = {
            "threshold": BeliefThreshold(0.5),
            "bayes": BayesOptimal(model),
            "tft": TitForTat(),
        }
        out[label] = compare_policies(
            policies, types=two_types, params=params, horizon=4, n_sims=300, seed=8
        )
    np.testing.assert_array_equal(
        out["none"].scenario_loss.values, out["cheap"].scenario_loss.values
    )
    np.testing.assert_array_equal(out["none"].deter_share.values, out["cheap"].deter_share.values)


def test_rollout_without_uniforms_is_buildups_only_and_checks_shapes(two_types: TypeSpace) -> None:
    model = DynamicModel(types=two_types, params=ModelParams(signals=COSTLY), horizon=3)
    plain = DynamicModel(types=two_types, params=ModelParams(), horizon=3)
    noise = standard_noise(0, None, (4, 3))
    kw = dict(true_type=np.array([0, 1, 0, 1]), belief=np.full((4, 2), 0.5), noise=noise)
    a = rollout(model, BeliefThreshold(), **kw)
    b = rollout(plain, BeliefThreshold(), **kw)
    assert a.signals is None
    np.testing.assert_array_equal(a.final_belief, b.final_belief)
    with pytest.raises(ParameterError, match="signal_uniforms"):
        rollout(model, BeliefThreshold(), **kw, signal_uniforms=np.full((4, 3), 0.5))
    with pytest.raises(ParameterError, match=r"\[0, 1\)"):
        rollout(model, BeliefThreshold(), **kw, signal_uniforms=np.full((4, 3, 1), 1.0))
    assert draw_signal_uniforms(plain, 0, 4) is None
