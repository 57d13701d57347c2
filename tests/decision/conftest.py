"""Shared fixtures of the decision tests: small type spaces and reference formulas."""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.decision import Losses
from secdilemma.model import ModelParams
from secdilemma.model.types import TypeSpace


@pytest.fixture
def two_types() -> TypeSpace:
    """The textbook dilemma: greedy versus insecure."""
    return TypeSpace.from_names(["greedy", "insecure"])


@pytest.fixture
def three_types() -> TypeSpace:
    return TypeSpace.default()


@pytest.fixture
def hand_loss():
    """The noise-free reference loss :func:`_hand_loss`."""
    return _hand_loss


def _hand_loss(
    u: float, greed: float, fear: float, p: ModelParams, losses: Losses, horizon: int
) -> float:
    """Discounted, survival-weighted loss of playing ``u`` for ``horizon`` periods, no noise.

    Written out from the model's table (docs/model.md section 2.1) independently of the library:
    insecure arms +beta*h on our increases and cuts +beta on our cuts; greedy has autonomous
    growth alpha, is deterred (-kappa) and exploits cuts (-gamma); mixed does both.
    """
    h = 1.0 + float(p.omega) - float(p.delta)
    up, down = max(u, 0.0), min(u, 0.0)
    slope_up = fear * float(p.beta) * h - greed * (1 - fear) * float(p.kappa)
    slope_down = fear * (1 - greed) * float(p.beta) - greed * float(p.gamma)
    y = float(p.mu) + greed * float(p.alpha) + slope_up * up + slope_down * down
    hazard = 1.0 - np.exp(-(losses.hazard_base + losses.hazard_slope * h * (up + max(y, 0.0))))
    exploit = losses.exploitation * (1 + losses.exploit_offense * float(p.omega)) * greed
    cost = losses.arms * up + exploit * max(y - u, 0.0) + losses.war * hazard
    q = losses.discount * (1.0 - hazard)
    return float(cost * (1.0 - q**horizon) / (1.0 - q))
