"""Bad input gets a typed error that names the argument and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.decision import (
    BeliefThreshold,
    DynamicModel,
    Losses,
    compare_policies,
    decide,
    kydd_payoffs,
    value_of_information,
)
from secdilemma.errors import ParameterError


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
