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
    u: float,
    greed: float,
    fear: float,
    p: ModelParams,
    losses: Losses,
    horizon: int,
    posture: float = 0.5,
) -> float:
    """Discounted, survival-weighted loss of playing ``u`` for ``horizon`` periods, no noise.

    Written out from the model's table (docs/model.md section 2.1) independently of the library:
    insecure arms +beta*h on our increases and cuts +beta on our cuts; greedy has autonomous
    growth alpha, is deterred (-kappa*k) and exploits cuts (-gamma); mixed does both. The
    posture ``d`` of the buildup sets ``h = max(0, 1 + omega - 2*delta*d)`` and ``k = 1 +
    max(0, 2d - 1)*(1 - 2*omega)``; the war hazard's stakes are ``1/2 + omega``.
    """
    omega, delta = float(p.omega), float(p.delta)
    h = max(0.0, 1.0 + omega - 2.0 * delta * posture)
    k = 1.0 + max(0.0, 2.0 * posture - 1.0) * (1.0 - 2.0 * omega)
    up, down = max(u, 0.0), min(u, 0.0)
    slope_up = fear * float(p.beta) * h - greed * (1 - fear) * float(p.kappa) * k
    slope_down = fear * (1 - greed) * float(p.beta) - greed * float(p.gamma)
    y = float(p.mu) + greed * float(p.alpha) + slope_up * up + slope_down * down
    stakes = 0.5 + omega
    offense = h / (1.0 + omega)  # a buildup adds to the hazard by its offensive share
    hazard = 1.0 - np.exp(
        -(losses.hazard_base + losses.hazard_slope * stakes * (offense * up + max(y, 0.0)))
    )
    exploit = losses.exploitation * (1 + losses.exploit_offense * omega) * greed
    cost = losses.arms * up + exploit * max(y - u, 0.0) + losses.war * hazard
    q = losses.discount * (1.0 - hazard)
    return float(cost * (1.0 - q**horizon) / (1.0 - q))
