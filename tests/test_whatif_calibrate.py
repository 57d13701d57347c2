"""The vectorised calibration of the curated channels' intercepts (whatif.calibrate).

The reference is the study's own function, :func:`calibrated_intercept` (scipy's brentq on
one setting at a time): the vectorised Brent iteration must land on the same roots.
"""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.errors import ParameterError
from secdilemma.model.types import TypeSpace
from secdilemma.study.signals import calibrated_intercept
from secdilemma.whatif.calibrate import calibrated_intercepts

TYPES = TypeSpace(
    names=("greedy", "insecure", "mixed"), greed=[1.0, 0.0, 0.5], fear=[0.0, 1.0, 0.5]
)


def _case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    t = int(rng.integers(2, 60))
    events = (rng.uniform(size=t) < rng.uniform(0.01, 0.99)).astype(float)
    events[rng.uniform(size=t) < 0.15] = np.nan
    g = int(rng.integers(1, 25))
    threat = rng.exponential(rng.uniform(0.05, 3.0), size=(g, t))
    threat[:, 0] = np.nan
    threat[:, rng.uniform(size=t) < 0.1] = np.nan
    if rng.uniform() < 0.3:  # settings with their own missing periods
        threat[rng.uniform(size=(g, t)) < 0.1] = np.nan
    priors = rng.dirichlet(np.full(TYPES.n_types, rng.uniform(0.2, 3.0)), size=g)
    eta_f = float(rng.normal(0.0, 2.0)) if rng.uniform() < 0.8 else 0.0
    return events, threat, float(rng.normal(0.0, 2.0)), eta_f, priors


def test_the_same_roots_as_calibrated_intercept_on_random_cases():
    rng = np.random.default_rng(20260513)
    checked = 0
    for _ in range(200):
        events, threat, eta_g, eta_f, priors = _case(rng)
        got = calibrated_intercepts(events, threat, eta_g, eta_f, TYPES, priors)
        want = np.array([
            calibrated_intercept(events, threat[i], eta_g, eta_f, TYPES, priors[i])
            for i in range(priors.shape[0])
        ])  # fmt: skip
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-12)
        checked += int(np.isfinite(want).sum())
    assert checked > 1000


def test_the_root_reproduces_the_observed_rate():
    rng = np.random.default_rng(3)
    events, threat, eta_g, eta_f, priors = _case(rng)
    e0 = calibrated_intercepts(events, threat, eta_g, eta_f, TYPES, priors)
    for i, root in enumerate(e0):
        ok = np.isfinite(events) & np.isfinite(threat[i])
        shift = eta_g * TYPES.greed + eta_f * TYPES.fear * threat[i][ok][:, None]
        rate = (np.sum(events[ok]) + 0.5) / (ok.sum() + 1.0)
        p = 1.0 / (1.0 + np.exp(-(root + shift)))
        assert np.mean(p @ priors[i]) == pytest.approx(rate, abs=1e-10)


def test_shared_threat_or_prior_broadcast():
    rng = np.random.default_rng(5)
    events, threat, eta_g, eta_f, priors = _case(rng)
    one = calibrated_intercepts(events, threat[0], eta_g, eta_f, TYPES, priors)
    want = [calibrated_intercept(events, threat[0], eta_g, eta_f, TYPES, p) for p in priors]
    np.testing.assert_allclose(one, want, rtol=0.0, atol=1e-12)
    shared = calibrated_intercepts(events, threat, eta_g, eta_f, TYPES, priors[0])
    want = [calibrated_intercept(events, th, eta_g, eta_f, TYPES, priors[0]) for th in threat]
    np.testing.assert_allclose(shared, want, rtol=0.0, atol=1e-12)


def test_no_observed_period_gives_nan_and_eta_f_zero_reads_missing_threat_as_zero():
    events = np.array([np.nan, 1.0, 0.0, 1.0])
    threat = np.array([[np.nan] * 4, [np.nan, 1.0, np.nan, 2.0]])
    out = calibrated_intercepts(events, threat, 1.0, 0.5, TYPES, [1 / 3] * 3)
    assert np.isnan(out[0])
    assert out[1] == pytest.approx(
        calibrated_intercept(events, threat[1], 1.0, 0.5, TYPES, np.full(3, 1 / 3)), abs=1e-12
    )
    blind = calibrated_intercepts(events, threat, 1.0, 0.0, TYPES, [1 / 3] * 3)
    assert np.isfinite(blind).all()
    assert blind[0] == pytest.approx(blind[1], abs=1e-12)  # threat unused: same window


def test_shapes_that_do_not_fit_are_refused_by_name():
    with pytest.raises(ParameterError, match="threat"):
        calibrated_intercepts(np.zeros(4), np.zeros((2, 3)), 1.0, 1.0, TYPES, [1 / 3] * 3)
    with pytest.raises(ParameterError, match="priors"):
        calibrated_intercepts(np.zeros(4), np.zeros(4), 1.0, 1.0, TYPES, [0.5, 0.5])
    with pytest.raises(ParameterError, match="as many"):
        calibrated_intercepts(np.zeros(4), np.zeros((2, 4)), 1.0, 1.0, TYPES,
                              np.full((3, 3), 1 / 3))  # fmt: skip


def test_a_row_scipy_refuses_raises_scipys_error():
    # a loading so large that the rate cannot be reached inside the bracket [-40, 40]
    events = np.array([np.nan, 0.0, 0.0, 0.0])
    threat = np.array([np.nan, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="sign"):
        calibrated_intercepts(events, threat, 500.0, 0.0, TYPES, [1.0, 0.0, 0.0])


def test_the_array_iteration_alone_on_one_and_few_settings(monkeypatch):
    # a few settings go to scipy's loop; force the array iteration for them too
    monkeypatch.setattr("secdilemma.whatif.calibrate.SCALAR_ROWS", 0)
    rng = np.random.default_rng(8)
    for _ in range(40):
        events, threat, eta_g, eta_f, priors = _case(rng)
        g = int(rng.integers(1, 4))
        got = calibrated_intercepts(events, threat[:g], eta_g, eta_f, TYPES, priors[:1])
        want = [
            calibrated_intercept(events, th, eta_g, eta_f, TYPES, priors[0]) for th in threat[:g]
        ]
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-12)
