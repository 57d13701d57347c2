"""Empirical-Bayes (type-II ML) parameter estimates against simulated truth."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import norm

from secdilemma.engines.exact.estimate import estimate_params
from secdilemma.errors import DataError, ParameterError
from secdilemma.model import ModelParams, reaction_mean
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace

TRUTH = ModelParams(mu=0.01, alpha=0.05, beta=0.6, gamma=0.6, kappa=0.3, sigma=0.05)


@pytest.fixture(scope="module")
def pooled():
    return simulate(
        params=TRUTH, n_periods=50, n_scenarios=20, seed=11, observer_drift=0.0, observer_sd=0.08
    )


def test_pooled_estimate_recovers_truth(pooled):
    est = estimate_params(pooled, n_starts=2)
    assert est.converged
    got = est.summary()["estimated"]
    for k, tol in {
        "mu": 0.01,
        "alpha": 0.015,
        "beta": 0.1,
        "gamma": 0.1,
        "kappa": 0.1,
        "sigma": 0.005,
    }.items():
        assert abs(got[k] - float(getattr(TRUTH, k))) < tol, (k, got[k])


def test_evidence_matches_direct_mixture_sum(pooled):
    """The maximised evidence equals an independent scipy computation at the estimate."""
    est = estimate_params(pooled, estimate=("sigma",), n_starts=1)
    p = est.params
    ts = TypeSpace.default()
    dx, u = pooled.dx.values, pooled.u.values
    total = 0.0
    for s in range(dx.shape[0]):
        per_type = []
        for k in range(ts.n_types):
            m = reaction_mean(ts.greed[k], ts.fear[k], u[s, :-1], p)
            per_type.append(norm.logpdf(dx[s, 1:], m, float(p.sigma)).sum() + np.log(1 / 3))
        total += logsumexp(per_type)
    assert est.log_evidence == pytest.approx(total, rel=1e-10)


def test_bad_requests_are_typed(pooled):
    with pytest.raises(ParameterError, match="cannot estimate"):
        estimate_params(pooled, estimate=("omega",))
    with pytest.raises(DataError, match="lack variable"):
        estimate_params(pooled.drop_vars("u"))
    short = xr.Dataset({"dx": ("period", [np.nan, 0.1, 0.2]), "u": ("period", [0.1, 0.0, 0.1])})
    with pytest.raises(DataError, match="usable periods"):
        estimate_params(short)


@pytest.mark.parametrize("seed", [-1, "abc"])
def test_bad_seed(seed):
    data = simulate(n_periods=20, n_scenarios=3, seed=0)
    with pytest.raises(ParameterError, match="`seed` must be a non-negative integer"):
        estimate_params(data, estimate=("sigma",), seed=seed)
