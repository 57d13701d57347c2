"""Bad input gets a typed error that names the argument and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    BayesOptimal,
    BeliefThreshold,
    DynamicModel,
    Losses,
    TitForTat,
    compare_policies,
    decide,
    kydd_payoffs,
    value_of_information,
)
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.types import TypeSpace


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"belief": [0.5, 0.6, 0.1]}, "`belief` must sum to 1"),
        ({"belief": [0.5, 0.5]}, "`belief` must have 3 entries"),
        ({"belief": {"hawk": 1.0}}, "unknown rival type"),
        ({"actions": ["deter", "attack"]}, "unknown action.*'attack'.*known actions"),
        ({"horizon": 0}, "`horizon` must be an integer.*>= 1"),
        ({"n_sims": 0}, "`n_sims`"),
        ({"losses": {"war": -3.0}}, "`war` is a loss magnitude"),
        ({"losses": {"warr": 3.0}}, "unknown key"),
        ({"ci_prob": 1.5}, "`ci_prob`"),
    ],
)
def test_decide_dynamic_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        decide(**{"n_sims": 5, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"actions": ["attack"]}, "unknown action.*'attack'.*payoff table has"),
        ({"horizon": 5}, "either `payoffs`"),
        ({"belief": [0.2, 0.2]}, "sum to 1"),
    ],
)
def test_decide_static_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        decide(payoffs=kydd_payoffs(0.5, 0.5), **kwargs)


def test_payoff_shape_errors():
    with pytest.raises(ParameterError, match="columns"):
        decide(payoffs=np.zeros((2, 2)))  # default space has 3 types
    with pytest.raises(ParameterError, match="name them with `actions`"):
        decide(payoffs=np.zeros((3, 3)))
    assert (
        decide(payoffs=np.zeros((3, 3)), actions=["deter", "hedge", "reassure"]).sizes["action"]
        == 3
    )


def test_value_of_information_errors():
    U = kydd_payoffs(0.5, 0.5)
    with pytest.raises(ParameterError, match="sum to 1"):
        value_of_information(payoffs=U, channel=[[0.5, 0.5], [0.6, 0.5]])
    with pytest.raises(ParameterError, match="`cost`"):
        value_of_information(payoffs=U, channel=[[1.0, 0.0], [0.0, 1.0]], cost=-1.0)
    with pytest.raises(ParameterError, match="`channel`"):
        value_of_information(payoffs=U)


def test_model_and_policy_errors():
    with pytest.raises(ParameterError, match="unknown action 'attack'"):
        DynamicModel().action_index("attack")
    with pytest.raises(ParameterError, match="threshold"):
        BeliefThreshold(1.5)
    with pytest.raises(ParameterError, match="not a Policy"):
        compare_policies({"x": object()}, horizon=2, n_sims=2)  # type: ignore[dict-item]
    with pytest.raises(ParameterError, match="must be a number"):
        Losses(war="high")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Bad input (issue 10)
# ---------------------------------------------------------------------------------------------
SEED_MESSAGE = "`seed` must be a non-negative integer or a numpy Generator"
PERFECT = [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("seed", [-1, "abc", 0.5])
def test_bad_seeds_everywhere(seed):
    U = kydd_payoffs(0.5, 0.5)
    with pytest.raises(ParameterError, match=SEED_MESSAGE):
        decide(n_sims=5, horizon=2, seed=seed)
    with pytest.raises(ParameterError, match=SEED_MESSAGE):
        decide(payoffs=U, seed=seed)  # static mode draws nothing, but the seed is still wrong
    with pytest.raises(ParameterError, match=SEED_MESSAGE):
        value_of_information(payoffs=U, channel=PERFECT, seed=seed)
    with pytest.raises(ParameterError, match=SEED_MESSAGE):
        compare_policies([AlwaysDeter()], horizon=2, n_sims=2, seed=seed)


def test_a_generator_is_still_a_seed():
    a = decide(n_sims=20, horizon=2, seed=np.random.default_rng(3))
    b = decide(n_sims=20, horizon=2, seed=3)
    np.testing.assert_array_equal(a.expected_utility, b.expected_utility)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: decide(payoffs=kydd_payoffs(0.5, 0.5), ci_prob="0.9"), r"`ci_prob` must be a num"),
        (lambda: value_of_information(payoffs=kydd_payoffs(0.5, 0.5), channel=PERFECT, cost="1"),
         "`cost` must be a number"),
        (lambda: value_of_information(payoffs=kydd_payoffs(0.5, 0.5), channel=PERFECT,
                                      threat="high"), "`threat` must be a number"),
        (lambda: BeliefThreshold("0.5"), "BeliefThreshold: `threshold` must be a number"),
        (lambda: TitForTat(tolerance="0"), "TitForTat: `tolerance` must be a number"),
        (lambda: GRIT(tolerance=np.nan), "GRIT: `tolerance` must be a finite number"),
    ],
)  # fmt: skip
def test_numbers_given_as_strings_are_typed_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: decide(None, n_sims=50, horizon=10**9),
        lambda: value_of_information(channel=PERFECT, types=TypeSpace.from_names(["greedy",
                                     "insecure"]), n_sims=10**7, horizon=10**4),
        lambda: compare_policies([AlwaysDeter()], n_sims=10**6, horizon=10**4),
        lambda: BayesOptimal(horizon=10**9),
        lambda: BayesOptimal(n_quad=10**7),
    ],
)  # fmt: skip
def test_sizes_beyond_memory_are_refused_before_allocating(call):
    with pytest.raises(ParameterError, match=r"GiB of arrays.*reduce `(n_sims|grid_size)"):
        call()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"losses": {"arms": 1e308}, "actions": {"deter": 1e308, "reassure": -0.1}},
         r"\|losses.arms\| up to 1e\+308, \|actions\['deter'\]\| up to 1e\+308"),
        ({"params": ModelParams(nu=1e-300)}, "`params.nu` = 1e-300"),
        ({"losses": {"war": 1e308}, "params": ModelParams(sigma=1.0)}, r"\|losses.war\|"),
    ],
)  # fmt: skip
def test_no_recommendation_from_overflowing_utilities(kwargs, match):
    with pytest.raises(ParameterError, match=f"overflow.*{match}"):
        decide(n_sims=20, horizon=20, seed=0, **kwargs)
    with pytest.raises(ParameterError, match=f"overflow.*{match}"):
        value_of_information(channel=np.eye(3), n_sims=20, horizon=20, seed=0, **kwargs)


def test_huge_but_finite_inputs_still_recommend():
    ds = decide(n_sims=20, horizon=3, seed=0, losses={"war": 1e300})
    assert np.all(np.isfinite(ds.expected_utility))
    assert ds.attrs["recommended"] in ("deter", "reassure")


def test_default_bayes_optimal_sizes_fit_many_signal_channels():
    """Five informative channels (32 joint outcomes): the default sizes would need more than
    the memory allowance, so they are lowered (quadrature first) and the policy says how;
    the same sizes given explicitly are refused, never changed."""
    sp = SignalParams(tuple(f"c{j}" for j in range(5)), eta0=np.full(5, -1.0),
                      eta_g=np.full(5, 1.0), eta_f=np.zeros(5))  # fmt: skip
    params = ModelParams(signals=sp)
    pol = BayesOptimal(params=params)
    assert (pol.grid_size, pol.n_quad) != (41, 32)
    assert pol.n_quad >= 16
    assert "32 joint signal outcomes" in pol.sizing
    assert pol.sizing.endswith(": n_quad 32 -> 16")  # halving the nodes is enough here
    assert pol.grid_size == 41
    assert BayesOptimal().sizing == ""  # no channels: the defaults fit as they are
    with pytest.raises(ParameterError, match=r"GiB of arrays.*reduce `grid_size`"):
        BayesOptimal(params=params, grid_size=41, n_quad=32)
