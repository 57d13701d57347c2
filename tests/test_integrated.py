"""The exact observer integrated over the fit's prior (secdilemma.study.integrated).

References: a quadrature over the one free coefficient (brute force, no importance
sampling), and, marked slow, the PyMC fit on every bundled case (the second engine).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.engines.exact import forward_backward
from secdilemma.model import ModelParams, loglik_components
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.spec import ModelSpec
from secdilemma.study.integrated import integrated_belief

FIXED = {"mu": 0.02, "alpha": 0.05, "gamma": 0.3, "kappa": 0.2, "sigma": 0.08}
BETA = {"dist": "lognormal", "median": 0.4, "log_sd": 0.7}


def _moves(seed: int, rival: str = "insecure", T: int = 25) -> xr.Dataset:
    p = ModelParams(mu=0.02, alpha=0.05, beta=0.5, gamma=0.3, kappa=0.2, sigma=0.08)
    ds = simulate(params=p, true_type=rival, n_periods=T, seed=seed)
    return ds.isel(scenario=0) if "scenario" in ds.dims else ds


def _quadrature(moves: xr.Dataset, spec: ModelSpec) -> np.ndarray:
    """P(type | data) = int prior(beta) p(data | beta) P(type | data, beta) d beta, on a
    dense grid of log beta (trapezoid rule)."""
    types = TypeSpace.default()
    z = np.linspace(math.log(0.4) - 7 * 0.7, math.log(0.4) + 7 * 0.7, 4001)
    beta = np.exp(z)
    params = ModelParams(**FIXED, beta=beta, nu=None)
    dx = np.broadcast_to(moves["dx"].values, (z.size, moves.sizes["period"]))
    u = np.broadcast_to(moves["u"].values, dx.shape)
    ll, _ = loglik_components(dx, u, params, types)
    res = forward_backward(ll, np.log(np.full(3, 1 / 3)), smooth=False)
    logp = -0.5 * ((z - math.log(0.4)) / 0.7) ** 2 + res.log_evidence
    w = np.exp(logp - logp.max())
    post = np.exp(res.log_filtered[:, -1])
    return np.trapezoid(w[:, None] * post, z, axis=0) / np.trapezoid(w, z)


@pytest.mark.parametrize(("rival", "seed"), [("insecure", 3), ("greedy", 4), ("mixed", 5)])
def test_integrated_belief_equals_a_quadrature_over_the_free_coefficient(rival, seed):
    spec = ModelSpec.from_dict(
        {"priors": {**FIXED, "beta": BETA, "nu": {"dist": "gaussian"}, "hierarchical": []}}
    )
    moves = _moves(seed, rival)
    obs = OBSERVER_KINDS["aware"](TypeSpace.default(), ModelParams())
    ib = integrated_belief(spec, moves, ModelParams(), obs, reference=None, seed=1)
    want = _quadrature(moves, spec)
    got = ib.posterior["filtered"].isel(period=-1).values
    se = ib.posterior["mc_se"].values
    assert ib.ess > 300
    assert np.all(np.abs(got - want) <= 4 * se + 1e-3), (got, want, se)


def test_integrated_belief_with_every_coefficient_fixed_is_the_fixed_filter():
    fixed = {**FIXED, "beta": 0.5}
    spec = ModelSpec.from_dict(
        {"priors": {**fixed, "nu": {"dist": "gaussian"}, "hierarchical": []}}
    )
    moves = _moves(7)
    obs = OBSERVER_KINDS["aware"](TypeSpace.default(), ModelParams(**fixed, nu=None))
    ib = integrated_belief(spec, moves, ModelParams(), obs, reference=None, seed=1, n_draws=50)
    want = obs.filter(moves, smooth=True)
    np.testing.assert_allclose(ib.posterior["filtered"].values, want["filtered"].values, atol=1e-12)
    np.testing.assert_allclose(ib.posterior["smoothed"].values, want["smoothed"].values, atol=1e-12)


def test_study_belief_integrated_says_so():
    st = sd.Study("us_china", params="integrated")
    post = st.belief()
    assert st.setting.params == "integrated"
    assert "integrated over the fit's prior" in post.attrs["study_exact_method"]
    assert float(post["mc_se"].max()) < 0.02
    np.testing.assert_allclose(post["filtered"].sum("rival_type"), 1.0, atol=1e-12)
    point = sd.Study("us_china", params="reference").belief()
    assert point.attrs["study_exact_method"] == "parameters fixed (reference)"


@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.parametrize("case", ["anglo_german_naval", "us_ussr", "us_china", "russia_nato"])
def test_the_two_engines_give_one_answer_on_every_bundled_case(case):
    """The exact observer (integrated over the fit's prior) and the PyMC fit lean the same way:
    every final type probability agrees within four combined Monte Carlo errors (plus 0.03
    for what a short fit's own approximations leave)."""
    st = sd.Study(case, params="integrated")
    exact = st.belief()
    tree = st.fit(draws=500, tune=500, chains=2)
    tp = tree["type_probabilities"]["type_probability"]
    tp = tp.isel(dyad=0) if "dyad" in tp.dims else tp
    draws = tp.stack(sample=("chain", "draw")).transpose("sample", "rival_type").values
    fit_mean = draws.mean(axis=0)
    fit_se = draws.std(axis=0) / math.sqrt(draws.shape[0] / 4)  # autocorrelation allowance
    got = exact["filtered"].isel(period=-1).values
    se = exact["mc_se"].values
    tol = 4 * np.hypot(se, fit_se) + 0.03
    assert np.all(np.abs(got - fit_mean) <= tol), (case, got.round(3), fit_mean.round(3), tol)
    assert (
        int(np.argmax(got)) == int(np.argmax(fit_mean))
        or np.sort(fit_mean)[-1] - np.sort(fit_mean)[-2] < tol.max()
    )
