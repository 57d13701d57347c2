"""Losses: defaults, validation, the stage formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from secdilemma.decision import Losses
from secdilemma.errors import ParameterError


def test_defaults_are_documented_magnitudes():
    losses = Losses()
    d = losses.to_dict()
    assert set(d) == {
        "arms",
        "war",
        "hazard_base",
        "hazard_slope",
        "exploitation",
        "exploit_offense",
        "discount",
    }
    assert all(v >= 0 for v in d.values())
    assert 0 < losses.discount <= 1
    doc = Losses.__module__
    import importlib

    text = importlib.import_module(doc).__doc__ or ""
    for name in d:
        assert f"``{name}``" in text, f"default of {name} is not documented"


@pytest.mark.parametrize(
    "field", ["arms", "war", "hazard_base", "hazard_slope", "exploitation", "exploit_offense"]
)
def test_wrong_sign_is_a_typed_error_naming_the_field(field):
    with pytest.raises(ParameterError, match=f"`{field}`.*>= 0"):
        Losses(**{field: -0.5})


@pytest.mark.parametrize("value", [0.0, 1.5, float("nan")])
def test_discount_outside_unit_interval(value):
    with pytest.raises(ParameterError, match="`discount`"):
        Losses(discount=value)


def test_from_dict_rejects_unknown_keys():
    assert Losses.from_dict({"war": 5}).war == 5.0
    with pytest.raises(ParameterError, match=r"unknown key.*'wars'"):
        Losses.from_dict({"wars": 5})


def test_stage_matches_hand_formula():
    losses = Losses(
        arms=2.0, war=7.0, hazard_base=0.01, hazard_slope=0.3, exploitation=3.0, exploit_offense=0.5
    )
    u, y, g, omega = -0.1, 0.2, 1.0, 0.6
    arms, expl, haz = losses.stage(u, y, g, omega)
    assert float(arms) == 0.0
    assert math.isclose(float(expl), 3.0 * (1 + 0.5 * 0.6) * 1.0 * 0.3)
    # the hazard's stakes are omega's: s = 1/2 + omega (delta acts only through y)
    assert math.isclose(float(haz), 1 - math.exp(-(0.01 + 0.3 * (0.5 + 0.6) * 0.2)))
    # the observer arming: arms cost, no exploitation if the rival falls behind
    arms, expl, haz = losses.stage(np.array([0.1]), np.array([0.05]), 1.0, 0.5)
    assert arms.tolist() == [0.2]
    assert expl.tolist() == [0.0]
