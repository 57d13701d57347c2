"""The simulator: reproducibility, shapes, the truth it records, and its randomness."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace

SIGNALS = SignalParams(
    ("refuse", "restrain"), eta0=[-1.0, 0.0], eta_g=[2.0, -2.0], eta_f=[0.0, 0.0]
)


def test_reproducible_with_a_seed():
    a = simulate(n_periods=20, n_scenarios=4, seed=42)
    b = simulate(n_periods=20, n_scenarios=4, seed=42)
    xr.testing.assert_identical(a, b)
    c = simulate(n_periods=20, n_scenarios=4, seed=43)
    assert not np.allclose(a.dx.values[:, 1:], c.dx.values[:, 1:])
    g = simulate(n_periods=20, n_scenarios=4, seed=np.random.default_rng(42))
    xr.testing.assert_identical(a, g)


def test_shapes_dims_and_bookkeeping():
    ds = simulate(
        params=ModelParams(signals=SIGNALS), n_periods=15, n_scenarios=3, seed=0, x0=1.0, y0=2.0
    )
    assert dict(ds.sizes) == {"scenario": 3, "period": 15, "signal": 2}
    assert ds.signals.dims == ("scenario", "period", "signal")
    assert ds.signal.values.tolist() == ["refuse", "restrain"]
    assert np.all(np.isnan(ds.dx.isel(period=0)))
    np.testing.assert_allclose(ds.x.isel(period=0), 1.0)
    np.testing.assert_allclose(ds.x.diff("period").values, ds.dx.values[:, 1:], atol=1e-12)
    np.testing.assert_allclose(ds.y.values, 2.0 + np.cumsum(ds.u.values, axis=1))
    assert set(np.unique(ds.signals.values)) <= {0.0, 1.0}


def test_true_type_and_observer_moves():
    names = ["greedy", "insecure", "mixed", "greedy"]
    moves = np.linspace(-0.1, 0.1, 10)
    ds = simulate(n_periods=10, n_scenarios=4, true_type=names, observer_moves=moves, seed=1)
    assert ds.true_type.isel(period=-1).values.tolist() == names
    assert np.all(ds.true_type_index == ds.true_type_index.isel(period=0))  # static
    np.testing.assert_allclose(ds.u.values, np.broadcast_to(moves, (4, 10)))


def test_residuals_follow_the_reaction_function():
    """dx minus the mean of the true type is N(0, sigma) (checked by moments)."""
    p = ModelParams(sigma=0.04)
    ts = TypeSpace.default(secure=True)
    ds = simulate(ts, p, n_periods=40, n_scenarios=2000, seed=5)
    g = ts.greed[ds.true_type_index.values]
    f = ts.fear[ds.true_type_index.values]
    u_prev = ds.u.values[:, :-1]
    mean = (
        p.alpha * g[:, 1:]
        + (f[:, 1:] * p.beta * 1.0 - g[:, 1:] * (1 - f[:, 1:]) * p.kappa) * np.maximum(u_prev, 0)
        + (f[:, 1:] * (1 - g[:, 1:]) * p.beta - g[:, 1:] * p.gamma) * np.minimum(u_prev, 0)
    )
    resid = ds.dx.values[:, 1:] - mean
    assert abs(resid.mean()) < 3 * 0.04 / np.sqrt(resid.size)
    assert resid.std() == pytest.approx(0.04, rel=0.01)
    # types drawn from the (uniform) prior
    freq = np.bincount(ds.true_type_index.values[:, 0], minlength=4) / 2000
    np.testing.assert_allclose(freq, 0.25, atol=0.04)


def test_switching_frequency_is_one_minus_persistence():
    ds = simulate(n_periods=60, n_scenarios=2000, persistence=0.8, seed=7)
    z = ds.true_type_index.values
    switched = z[:, 1:] != z[:, :-1]
    assert switched.mean() == pytest.approx(0.2, abs=0.005)  # 118,000 transitions: sd 0.0012
    assert ds.attrs["switching"] == 1
    static = simulate(n_periods=60, n_scenarios=50, seed=7)
    assert not np.any(static.true_type_index.values[:, 1:] != static.true_type_index.values[:, :-1])


def test_signal_rates_match_the_logistic():
    ts = TypeSpace.default()
    ds = simulate(
        ts,
        ModelParams(signals=SIGNALS),
        n_periods=50,
        n_scenarios=400,
        true_type="greedy",
        seed=9,
    )
    rate = ds.signals.mean(("scenario", "period")).values
    expected = 1 / (1 + np.exp(-(np.array([-1.0, 0.0]) + np.array([2.0, -2.0]) * 1.0)))
    np.testing.assert_allclose(rate, expected, atol=0.02)


def test_simulate_errors():
    with pytest.raises(ParameterError, match="n_periods"):
        simulate(n_periods=1)
    with pytest.raises(ParameterError, match="n_scenarios"):
        simulate(n_scenarios=0)
    with pytest.raises(ParameterError, match="unknown rival type"):
        simulate(true_type="hawk")
    with pytest.raises(ParameterError, match="true_type"):
        simulate(n_scenarios=3, true_type=["greedy", "mixed"])
    with pytest.raises(ParameterError, match="observer_sd"):
        simulate(observer_sd=-1.0)
    with pytest.raises(ParameterError, match="persistence"):
        simulate(persistence=-0.5)
    with pytest.raises(ParameterError, match="prior"):
        simulate(prior=[0.5, 0.5, 0.5])


# ---------------------------------------------------------------------------------------------
# Bad input (issue 10): shapes, seeds, sizes, non-finite and overflowing inputs
# ---------------------------------------------------------------------------------------------
def test_per_scenario_omega_and_delta():
    """omega as (S,) is per scenario (the documented shape), the same as (S, 1)."""
    a = simulate(params=ModelParams(omega=np.array([0.2, 0.8])), n_scenarios=2, n_periods=5, seed=0)
    b = simulate(
        params=ModelParams(omega=np.array([[0.2], [0.8]])), n_scenarios=2, n_periods=5, seed=0
    )
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    # a (T,) series is per period
    c = simulate(params=ModelParams(delta=np.linspace(0, 1, 5)), n_scenarios=2, n_periods=5)
    assert c.sizes == {"scenario": 2, "period": 5}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"observer_moves": [0.1] * 4}, r"`observer_moves` has shape \(4,\).*\(T,\) = \(5,\)"),
        ({"observer_moves": np.zeros((3, 5))}, r"`observer_moves`.*\(S, T\) = \(1, 5\)"),
        ({"observer_moves": ["a"] * 5}, "`observer_moves` must be numbers"),
        ({"params": ModelParams(omega=np.array([0.2, 0.8, 0.5]))}, r"`params.omega`.*\(T,\)"),
        ({"params": ModelParams(beta=np.array([0.2, 0.8]))}, r"`params.beta`.*\(S,\) = \(1,\)"),
    ],
)
def test_shapes_that_do_not_fit_name_the_argument(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        simulate(n_periods=5, **kwargs)


@pytest.mark.parametrize("seed", [-1, "abc", 1.5, True, [1, -2]])
def test_bad_seeds(seed):
    with pytest.raises(ParameterError, match="`seed` must be a non-negative integer or a numpy"):
        simulate(n_periods=5, seed=seed)


def test_seed_spellings():
    a = simulate(n_periods=5, seed=np.int64(3))
    b = simulate(n_periods=5, seed=np.random.SeedSequence(3))
    xr.testing.assert_identical(a, simulate(n_periods=5, seed=3))
    assert a.sizes == b.sizes


def test_sizes_beyond_memory_are_refused():
    with pytest.raises(ParameterError, match=r"GiB.*reduce `n_scenarios` or `n_periods`"):
        simulate(n_periods=10**9, n_scenarios=10)


@pytest.mark.parametrize("arg", ["observer_drift", "observer_sd", "x0", "y0"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, "a"])
def test_non_finite_starting_values(arg, bad):
    with pytest.raises(ParameterError, match=f"`{arg}` must be a finite number"):
        simulate(n_periods=5, **{arg: bad})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"params": ModelParams(alpha=1e308), "true_type": "greedy"}, r"\|params.alpha\|"),
        ({"observer_moves": [1e308] * 5}, r"\|observer_moves\|"),
        ({"params": ModelParams(nu=1e-300)}, "`params.nu` = 1e-300"),
        ({"x0": 1.7e308, "params": ModelParams(alpha=5e306), "true_type": "greedy"}, r"\|x0\|"),
    ],
)
def test_overflowing_inputs_are_refused_not_returned_as_inf(kwargs, match):
    with pytest.raises(ParameterError, match=f"overflow.*{match}"):
        simulate(n_periods=5, seed=0, **kwargs)


def test_uniform_prior_by_name():
    a = simulate(n_periods=5, n_scenarios=30, prior="uniform", seed=4)
    xr.testing.assert_identical(a, simulate(n_periods=5, n_scenarios=30, seed=4))
    with pytest.raises(ParameterError, match="'uniform', a mapping"):
        simulate(n_periods=5, prior="flat")
