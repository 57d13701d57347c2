"""Policies: one contract every policy passes, rule-specific behaviour, Bayes optimality."""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    DynamicModel,
    Policy,
    PolicyState,
    TitForTat,
    compare_policies,
    decide,
)
from secdilemma.errors import ParameterError
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA, ModelParams
from secdilemma.model.types import TypeSpace

ACTIONS = ("deter", "defend", "reassure")  # the default action set
TYPES = TypeSpace.default()
HORIZON = 5


def random_state(n: int, period: int, seed: int = 0) -> PolicyState:
    rng = np.random.default_rng(seed)
    own = rng.integers(0, len(ACTIONS), (n, period)).astype(np.intp)
    riv = rng.normal(0.0, 0.1, (n, period))
    return PolicyState(
        period=period,
        horizon=HORIZON,
        belief=rng.dirichlet(np.ones(3), n),
        own_moves=own,
        rival_moves=riv,
        actions=ACTIONS,
        greed=TYPES.greed,
        fear=TYPES.fear,
    )


class PolicyContract:
    """Every policy inherits these tests (Axelrod-style contract)."""

    def make(self) -> Policy:
        raise NotImplementedError

    @pytest.mark.parametrize("n", [1, 7])
    @pytest.mark.parametrize("period", [0, 1, 4])
    def test_vectorised_valid_actions(self, n, period):
        a = self.make().act(random_state(n, period))
        assert isinstance(a, np.ndarray)
        assert a.shape == (n,)
        assert np.issubdtype(a.dtype, np.integer)
        assert np.all((a >= 0) & (a < len(ACTIONS)))

    def test_deterministic_and_stateless(self):
        pol = self.make()
        st = random_state(9, 3, seed=4)
        before = (st.belief.copy(), st.own_moves.copy(), st.rival_moves.copy())
        first = pol.act(st)
        random_state(5, 2, seed=9)  # acting on other states leaves no memory behind
        pol.act(random_state(5, 2, seed=9))
        np.testing.assert_array_equal(first, pol.act(st))
        np.testing.assert_array_equal(before[0], st.belief)
        np.testing.assert_array_equal(before[1], st.own_moves)
        np.testing.assert_array_equal(before[2], st.rival_moves)

    def test_scenarios_are_independent(self):
        pol = self.make()
        st = random_state(6, 3, seed=2)
        whole = pol.act(st)
        for i in range(6):
            one = PolicyState(
                period=st.period,
                horizon=st.horizon,
                belief=st.belief[i : i + 1],
                own_moves=st.own_moves[i : i + 1],
                rival_moves=st.rival_moves[i : i + 1],
                actions=st.actions,
                greed=st.greed,
                fear=st.fear,
            )
            assert pol.act(one)[0] == whole[i]

    def test_seeded_comparison_is_reproducible(self):
        kw = dict(types=TYPES, horizon=HORIZON, n_sims=20, seed=3)
        a = compare_policies([self.make()], **kw)
        b = compare_policies([self.make()], **kw)
        np.testing.assert_array_equal(a.scenario_loss.values, b.scenario_loss.values)

    def test_has_a_name(self):
        assert isinstance(self.make().name, str)
        assert self.make().name != "policy"
        assert type(self.make()).__name__ in repr(self.make())


class TestAlwaysDeter(PolicyContract):
    def make(self):
        return AlwaysDeter()


class TestAlwaysReassure(PolicyContract):
    def make(self):
        return AlwaysReassure()


class TestTitForTat(PolicyContract):
    def make(self):
        return TitForTat()

    def test_mirrors_the_rival(self):
        st = random_state(4, 2)
        st = PolicyState(
            **{**st.__dict__, "rival_moves": np.array([[0, 0.1], [0, -0.1], [1, 0.0], [1, 0.2]])}
        )
        d, r = ACTIONS.index("deter"), ACTIONS.index("reassure")
        assert TitForTat().act(st).tolist() == [d, r, r, d]
        assert TitForTat().act(random_state(3, 0)).tolist() == [r, r, r]


class TestGRIT(PolicyContract):
    def make(self):
        return GRIT(patience=2)

    def test_restrains_while_reciprocated_and_gives_up_after_patience(self):
        d, r = ACTIONS.index("deter"), ACTIONS.index("reassure")
        own = np.array([[r, r, r, r], [r, r, r, r], [r, r, r, r]])
        riv = np.array(
            [
                [-0.1, -0.1, -0.1, -0.1],  # reciprocated throughout
                [0.1, -0.1, 0.1, -0.1],  # one unreciprocated period at a time: keep going
                [0.1, 0.1, -0.1, -0.1],  # two in a row: abandoned for good
            ]
        )
        st = random_state(3, 4)
        st = PolicyState(**{**st.__dict__, "own_moves": own, "rival_moves": riv})
        assert GRIT(patience=2).act(st).tolist() == [r, r, d]

    def test_graduated_steps(self):
        acts = ("deter", "hedge", "reassure")
        st = PolicyState(
            period=2,
            horizon=5,
            belief=np.full((1, 3), 1 / 3),
            own_moves=np.array([[1, 2]]),
            rival_moves=np.array([[-0.1, -0.1]]),
            actions=acts,
            greed=TYPES.greed,
            fear=TYPES.fear,
        )
        pol = GRIT(steps=("hedge", "reassure"))
        assert pol.act(PolicyState.initial([[1 / 3] * 3], actions=acts)).tolist() == [1]
        assert pol.act(st).tolist() == [2]


class TestBeliefThreshold(PolicyContract):
    def make(self):
        return BeliefThreshold(0.5)

    def test_rule(self):
        st = PolicyState.initial([[0.2, 0.7, 0.1], [0.3, 0.1, 0.6]], types=TYPES)
        d, r = ACTIONS.index("deter"), ACTIONS.index("reassure")
        assert BeliefThreshold(0.5).act(st).tolist() == [r, d]


class TestBayesOptimal(PolicyContract):
    def make(self):
        return _solved()

    def test_certainty_plays_the_better_fixed_action(self):
        # with the type known there is nothing to learn: the DP value equals the best
        # fixed action's value, from the simulated table
        two = TypeSpace.from_names(["greedy", "insecure"])
        pol = BayesOptimal(types=two, horizon=HORIZON)
        table = decide(types=two, horizon=HORIZON, n_sims=4000, seed=0)
        for k, name in enumerate(two.names):
            b = np.eye(2)[k][None, :]
            v = float(pol.q_values(b, 0).min())
            best_fixed = -float(table.utility.sel(rival_type=name).max())
            se = float(table.utility_se.sel(rival_type=name).max())
            assert v == pytest.approx(best_fixed, abs=4 * se + 0.01 * best_fixed)


_CACHE: dict[str, BayesOptimal] = {}


def _solved() -> BayesOptimal:
    if "p" not in _CACHE:
        _CACHE["p"] = BayesOptimal(types=TYPES, horizon=HORIZON, grid_size=21).solve()
    return _CACHE["p"]


def _assert_bayes_not_worse(ds, n_se: float = 3.0) -> None:
    best = ds.scenario_loss.sel(policy="bayes_optimal")
    w = ds.prior.values
    n = ds.sizes["sim"]
    for pol in ds.policy.values:
        if pol == "bayes_optimal":
            continue
        diff = best - ds.scenario_loss.sel(policy=pol)  # paired: same futures
        mean = float((diff.mean("sim") * w).sum())
        se = float(np.sqrt(((diff.var("sim", ddof=1) * w**2).sum()) / n))
        assert mean <= n_se * se + 1e-3, (pol, mean, se)


def all_rules(model_types, p_star):
    return [
        AlwaysDeter(),
        AlwaysReassure(),
        TitForTat(),
        GRIT(),
        GRIT(patience=1),
        BeliefThreshold(p_star),
        BeliefThreshold(0.5),
    ]


def test_bayes_optimal_beats_every_fixed_rule_two_types():
    two = TypeSpace.from_names(["greedy", "insecure"])
    p_star = float(decide(types=two, n_sims=500, seed=0).threshold)
    for prior, omega in [((0.5, 0.5), DEFAULT_OMEGA), ((0.3, 0.7), 0.9)]:
        params = ModelParams(omega=omega)
        pols = [*all_rules(two, p_star), BayesOptimal(types=two, params=params)]
        ds = compare_policies(pols, types=two, params=params, prior=prior, n_sims=600, seed=7)
        _assert_bayes_not_worse(ds)


def _three_type_check(
    n_sims: int,
    grid: int,
    horizon: int,
    omega: float = DEFAULT_OMEGA,
    delta: float = DEFAULT_DELTA,
    prior=None,
) -> None:
    params = ModelParams(omega=omega, delta=delta)
    ps = float(decide(params=params, n_sims=300, seed=0, horizon=horizon).threshold)
    ps = 0.5 if np.isnan(ps) else ps
    pols = [
        *all_rules(TYPES, ps),
        BayesOptimal(types=TYPES, params=params, horizon=horizon, grid_size=grid),
    ]
    ds = compare_policies(
        pols, types=TYPES, params=params, prior=prior, horizon=horizon, n_sims=n_sims, seed=12
    )
    _assert_bayes_not_worse(ds)


@pytest.mark.slow
@pytest.mark.ci
def test_bayes_optimal_beats_every_fixed_rule_three_types_ci():
    _three_type_check(n_sims=1500, grid=31, horizon=8)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("omega", "delta", "prior"),
    [
        (0.5, 0.5, None),
        (0.9, 0.1, None),
        (0.1, 0.9, None),
        (0.5, 0.5, (0.2, 0.6, 0.2)),
        (0.8, 0.3, (0.5, 0.2, 0.3)),
    ],
)
def test_bayes_optimal_beats_every_fixed_rule_three_types_full(omega, delta, prior):
    _three_type_check(n_sims=20000, grid=61, horizon=15, omega=omega, delta=delta, prior=prior)


def test_bayes_optimal_rejects_what_it_cannot_solve():
    with pytest.raises(ParameterError, match="lam"):
        BayesOptimal(params=ModelParams(lam=0.1))
    with pytest.raises(ParameterError, match="scalars"):
        BayesOptimal(params=ModelParams(beta=np.array([0.5, 0.6])))
    with pytest.raises(ParameterError, match="outside the solved horizon"):
        BayesOptimal(model=DynamicModel(horizon=2), grid_size=5).q_values(np.full((1, 3), 1 / 3), 2)


def test_policy_needing_an_unknown_action_is_a_typed_error():
    st = PolicyState.initial([[1 / 3] * 3], actions=("hedge", "reassure"))
    with pytest.raises(ParameterError, match="'deter'"):
        AlwaysDeter().act(st)


def test_misbehaving_policy_is_caught():
    class Bad(Policy):
        name = "bad"

        def act(self, state):
            return np.full(state.n, 5)

    with pytest.raises(ParameterError, match="outside"):
        compare_policies([Bad()], horizon=2, n_sims=3, seed=0)
