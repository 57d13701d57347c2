"""The fit's signal channels: per-channel priors from the reference, missing signals kept
missing, and the PyTensor likelihood against the exact observer's (brute force and compiled)
at pinned parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp

from secdilemma.engines.exact.fused import signal_loglik
from secdilemma.engines.pymc import PerceptionModel
from secdilemma.engines.pymc.arrays import as_dyads
from secdilemma.engines.pymc.priors import resolve_signal_priors
from secdilemma.model import ModelParams, SignalParams, loglik_components
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.spec import ModelSpec

REFERENCE = """
[params]
mu = 0.02
alpha = 0.04
beta = 0.1
gamma = 0.08
kappa = 0.05
sigma = 0.15
nu = 4

[posterior.alpha]
median = 0.03
log_sd = 0.5
[posterior.beta]
median = 0.1
log_sd = 0.5
[posterior.gamma]
median = 0.1
log_sd = 0.5
[posterior.kappa]
median = 0.07
log_sd = 0.9

[posterior.signals.mid_use_of_force]
eta0 = { mean = -4.5, sd = 0.2, q05 = -4.8, q95 = -4.2 }
eta_g = { mean = 2.1, sd = 0.3, q05 = 1.6, q95 = 2.6 }
eta_f = { mean = 0.4, sd = 1.1, q05 = -1.4, q95 = 2.2 }
"""
CHANNELS = ["mid_use_of_force", "use_of_force", "arms_control_withdrawn"]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    p = tmp_path / "reference.toml"
    p.write_text(REFERENCE)
    return p


def _spec(**priors: object) -> ModelSpec:
    return ModelSpec.from_dict(
        {"signals": {"channels": CHANNELS, **priors},
         "priors": {"use_reference": True, "hierarchical": []},
         "world": {"omega": 0.6, "delta": 0.3}}
    )  # fmt: skip


def test_signal_priors_come_channel_by_channel(reference: Path) -> None:
    pri = resolve_signal_priors(_spec(), reference=reference)
    # the derived channel: every coefficient from the pool, widened by reference_log_sd (0.5)
    assert pri["eta_g"].origin == ("reference", "reference:mid_use_of_force", "default")
    assert pri["eta_g"].mu.tolist() == [2.1, 2.1, 0.0]
    assert pri["eta_g"].sigma[0] == pytest.approx(np.hypot(0.3, 0.5))
    # the stand-in keeps its own intercept (its base rate is not the derived channel's)
    assert pri["eta0"].origin == ("reference", "default", "default")
    # the default fear loading is fixed at 0; the reference frees it where it has one
    assert pri["eta_f"].fixed.tolist() == [False, False, True]
    # a user prior wins for every channel
    user = _spec(priors={"eta_g": {"dist": "normal", "mu": 0.0, "sigma": 0.1}})
    got = resolve_signal_priors(user, reference=reference)["eta_g"]
    assert got.origin == ("user",) * 3
    assert got.sigma.tolist() == [0.1] * 3


def test_missing_signals_stay_missing() -> None:
    """A count over ``actor`` becomes an event (> 0) or not; NaN is not an absence."""
    counts = np.array([[[0.0, 2.0]], [[np.nan, 0.0]], [[1.0, np.nan]]])  # (period, signal..)
    ds = xr.Dataset(
        {
            "dx": ("period", [0.0, 0.1, 0.2]),
            "u": ("period", [0.1, 0.0, -0.1]),
            "signals": (("period", "actor", "signal"), np.repeat(counts, 2, axis=1)),
        },
        coords={"actor": ["observer", "rival"], "signal": ["a", "b"]},
    )
    got = as_dyads(ds, "d")["signals"].values[0]
    np.testing.assert_array_equal(got, [[0.0, 1.0], [np.nan, 0.0], [1.0, np.nan]])


def _density_and_coefficients(model: Any) -> tuple[Any, Any]:
    """The model's log density (its one potential) and its reaction and signal coefficients,
    each compiled as a function of the sampler's free values."""
    pot = model.compile_fn(model.replace_rvs_by_values(model.potentials)[0],
                           inputs=model.value_vars)  # fmt: skip
    names = ["mu", "alpha", "beta", "gamma", "kappa", "sigma", "eta0", "eta_g", "eta_f"]
    det = model.compile_fn(model.replace_rvs_by_values([model[n] for n in names]),
                           inputs=model.value_vars)  # fmt: skip
    return pot, det


def _points_near_the_start(model: Any, *, seed: int, n: int) -> list[dict[str, Any]]:
    """``n`` points of free values jittered (sd 0.3) around the model's initial point."""
    rng = np.random.default_rng(seed)
    return [
        {k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in model.initial_point().items()}
        for _ in range(n)
    ]


def test_potential_equals_the_exact_likelihood_with_mixed_fear_terms(reference: Path) -> None:
    """Three channels, fear term free on two and fixed at 0 on one, signals and moves with
    gaps: the model's log density equals the exact observer's type-marginal likelihood
    (numpy and the compiled signal kernel) to 1e-10."""
    sp = SignalParams(tuple(CHANNELS), eta0=[-2.0, -1.0, -1.5], eta_g=[2.0, 1.0, 0.0],
                      eta_f=[1.0, -0.5, 0.0])  # fmt: skip
    sim = simulate(params=ModelParams(signals=sp), n_periods=15, n_scenarios=3,
                   true_type=["greedy", "insecure", "mixed"], seed=9)  # fmt: skip
    sig = sim["signals"].values.copy()
    sig[0, 4, 0] = sig[1, 7, 2] = sig[2, 2, 1] = np.nan
    sim["signals"] = (sim["signals"].dims, sig)
    u = sim["u"].values.copy()
    u[1, 5] = np.nan  # a missing threat: drops the free-fear channels' next period only
    sim["u"] = (sim["u"].dims, u)
    model = PerceptionModel(_spec(), data=sim, reference=reference).build_model()
    pot, det = _density_and_coefficients(model)
    ts = TypeSpace.default()
    for point in _points_near_the_start(model, seed=3, n=3):
        mu, alpha, beta, gamma, kappa, sigma, e0, eg, ef = det(point)
        assert ef[2] == 0.0  # the fixed channel
        fitted = SignalParams(tuple(CHANNELS), eta0=e0, eta_g=eg, eta_f=ef)
        p = ModelParams(mu=mu, alpha=alpha, beta=beta, gamma=gamma, kappa=kappa, sigma=sigma,
                        nu=4.0, omega=0.6, delta=0.3, signals=fitted)  # fmt: skip
        llb, lls = loglik_components(sim.dx.values, u, p, ts, signals=sig)
        assert lls is not None
        np.testing.assert_allclose(signal_loglik(sig, u, p, ts), lls, rtol=0, atol=1e-12)
        want = logsumexp(llb.sum(1) + lls.sum((1, 3)) + np.log(1 / 3), axis=-1).sum()
        assert float(pot(point)) == pytest.approx(float(want), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("delta", [0.0, 0.3, 0.9])
def test_a_posture_channels_loading_is_scaled_by_two_delta_in_the_fit(
    reference: Path, delta: float
) -> None:
    """A posture channel (the rival's force-posture laws): its eta_g prior is the posture
    prior, and the model's log density equals the exact observer's likelihood, whose greed
    loading on that channel is 2 * delta * eta_g, to 1e-10 (delta 0: the channel tells the
    types nothing)."""
    chans = ["mid_use_of_force", "force_posture_law"]
    spec = ModelSpec.from_dict(
        {"signals": {"channels": chans, "posture": ["force_posture_law"],
                     "posture_prior": {"dist": "normal", "mu": 1.5, "sigma": 0.5}},
         "priors": {"use_reference": True, "hierarchical": []},
         "world": {"omega": 0.6, "delta": delta}}
    )  # fmt: skip
    pri = resolve_signal_priors(spec, reference=reference)["eta_g"]
    assert pri.origin == ("reference", "posture:user")
    assert pri.mu[1] == 1.5
    assert pri.sigma[1] == 0.5
    sp = SignalParams(tuple(chans), eta0=[-2.0, -1.0], eta_g=[2.0, 1.5], eta_f=[1.0, 0.0],
                      posture=[False, True])  # fmt: skip
    sim = simulate(params=ModelParams(signals=sp, delta=0.8), n_periods=15, n_scenarios=3,
                   true_type=["greedy", "insecure", "mixed"], seed=4)  # fmt: skip
    model = PerceptionModel(spec, data=sim, reference=reference).build_model()
    pot, det = _density_and_coefficients(model)
    ts = TypeSpace.default()
    sig, u = sim["signals"].values, sim["u"].values
    for point in _points_near_the_start(model, seed=5, n=2):
        mu, alpha, beta, gamma, kappa, sigma, e0, eg, ef = det(point)
        fitted = SignalParams(tuple(chans), eta0=e0, eta_g=eg, eta_f=ef, posture=[False, True])
        p = ModelParams(mu=mu, alpha=alpha, beta=beta, gamma=gamma, kappa=kappa, sigma=sigma,
                        nu=4.0, omega=0.6, delta=delta, signals=fitted)  # fmt: skip
        llb, lls = loglik_components(sim.dx.values, u, p, ts, signals=sig)
        assert lls is not None
        if delta == 0.0:  # no type difference on the posture channel
            np.testing.assert_allclose(np.ptp(lls[..., 1], axis=-1), 0.0, atol=1e-15)
        want = logsumexp(llb.sum(1) + lls.sum((1, 3)) + np.log(1 / 3), axis=-1).sum()
        assert float(pot(point)) == pytest.approx(float(want), rel=1e-10, abs=1e-10)
