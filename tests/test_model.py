"""The generative model: reaction signs, the likelihood against scipy, missing data, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    SignalParams,
    as_type_prior,
    loglik_components,
    noise_logpdf,
    reaction_mean,
    response_slopes,
    threat_multiplier,
    transition_matrix,
    validate_probabilities,
)
from secdilemma.model.params import check_number
from secdilemma.model.types import TypeSpace

TYPES4 = TypeSpace.default(secure=True)
PARAMS = ModelParams(mu=0.0, alpha=0.05, beta=0.6, gamma=0.5, kappa=0.3, sigma=0.05)


# ---------------------------------------------------------------------------------------------
# The reaction table of docs/model.md section 2.1
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "sign_up", "sign_down", "sign_auto"),
    [
        # when we arm: slope on u+; when we cut: slope on u- (dx = slope * u-, u- < 0)
        ("insecure", +1, +1, 0),  # spirals; reciprocates (cuts when we cut)
        ("greedy", -1, -1, +1),  # deterred; exploits (arms when we cut); autonomous growth
        ("mixed", +1, -1, +1),  # spirals; exploits; autonomous growth
        ("secure", 0, 0, 0),
    ],
)
def test_reaction_table_signs(name, sign_up, sign_down, sign_auto):
    k = TYPES4.index(name)
    g, f = TYPES4.greed[k], TYPES4.fear[k]
    auto, up, down = response_slopes(g, f, PARAMS, 1.0)
    assert np.sign(up) == sign_up
    assert np.sign(down) == sign_down
    assert np.sign(auto) == sign_auto
    # the rival's move itself: after our +0.1 and after our -0.1
    arm = reaction_mean(g, f, 0.1, PARAMS) - auto
    cut = reaction_mean(g, f, -0.1, PARAMS) - auto
    assert np.sign(arm) == sign_up
    assert np.sign(cut) == -sign_down  # a positive slope on a cut means cutting too


def test_reaction_magnitudes_and_threat_multiplier():
    assert threat_multiplier(1.0, 0.0) == 2.0
    assert threat_multiplier(0.0, 1.0) == 0.0
    p = PARAMS.replace(omega=0.9, delta=0.1)  # h = 1.8
    ins = TYPES4.index("insecure")
    got = reaction_mean(TYPES4.greed[ins], TYPES4.fear[ins], 0.1, p)
    assert got == pytest.approx(0.6 * 1.8 * 0.1)
    gr = TYPES4.index("greedy")
    assert reaction_mean(TYPES4.greed[gr], TYPES4.fear[gr], -0.1, p) == pytest.approx(
        0.05 + 0.5 * 0.1
    )


def test_mean_reversion_needs_the_level():
    p = PARAMS.replace(lam=0.2, anchor=1.0)
    with pytest.raises(ParameterError, match="x_prev"):
        reaction_mean(0.0, 1.0, 0.0, p)
    assert reaction_mean(0.0, 0.0, 0.0, p, x_prev=2.0) == pytest.approx(-0.2)


# ---------------------------------------------------------------------------------------------
# Likelihood against independent references
# ---------------------------------------------------------------------------------------------
def _hand_means(dx, u, params, types, h):
    """The reaction mean of each type, written out from the table (not via reaction_mean)."""
    T = dx.shape[-1]
    means = np.full((T, types.n_types), np.nan)
    for t in range(1, T):
        up, down = max(u[t - 1], 0.0), min(u[t - 1], 0.0)
        for k in range(types.n_types):
            g, f = types.greed[k], types.fear[k]
            means[t, k] = (
                params.mu
                + g * params.alpha
                + (f * params.beta * h[t - 1] - g * (1 - f) * params.kappa) * up
                + (f * (1 - g) * params.beta - g * params.gamma) * down
            )
    return means


@pytest.mark.parametrize("nu", [None, 4.0])
def test_buildup_loglik_matches_scipy(nu):
    rng = np.random.default_rng(1)
    T = 12
    dx = rng.normal(0.03, 0.08, T)
    u = rng.normal(0.0, 0.1, T)
    omega = rng.uniform(0, 1, T)  # per-period offense advantage: the lag must use t-1
    params = PARAMS.replace(nu=nu, omega=omega, delta=0.3, mu=0.01)
    ll_b, ll_s = loglik_components(dx, u, params, TYPES4)
    assert ll_s is None
    h = 1 + omega - 0.3
    means = _hand_means(dx, u, params, TYPES4, h)
    if nu is None:
        ref = stats.norm.logpdf(dx[:, None], loc=means, scale=0.05)
    else:
        ref = stats.t.logpdf(dx[:, None], df=nu, loc=means, scale=0.05)
    np.testing.assert_allclose(ll_b[1:], ref[1:], rtol=1e-12)
    assert np.all(ll_b[0] == 0.0)  # no previous move in period 0


@pytest.mark.parametrize("nu", [None, 0.7, 4.0, 30.0])
def test_noise_logpdf_is_the_normal_or_student_t_density(nu):
    """The one noise density (the likelihood and the decision's update both call it)."""
    rng = np.random.default_rng(4)
    resid = rng.normal(0, 1, 200) * 10.0 ** rng.uniform(-3, 3, 200)
    sigma = 10.0 ** rng.uniform(-2, 1, 200)
    ref = (
        stats.norm.logpdf(resid, scale=sigma)
        if nu is None
        else stats.t.logpdf(resid, df=nu, scale=sigma)
    )
    np.testing.assert_allclose(noise_logpdf(resid, sigma, nu), ref, rtol=1e-12, atol=1e-12)


def test_signal_loglik_matches_hand_written_logistic():
    rng = np.random.default_rng(2)
    T = 10
    sp = SignalParams(("refuse", "restrain"), eta0=[-1.0, 0.5], eta_g=[2.0, -1.5], eta_f=[0.0, 3.0])
    params = PARAMS.replace(signals=sp)
    dx = rng.normal(0, 0.05, T)
    u = rng.normal(0.02, 0.1, T)
    s = (rng.random((T, 2)) < 0.5).astype(float)
    _, ll_s = loglik_components(dx, u, params, TYPES4, signals=s)
    h = 1.0
    for t in range(1, T):
        threat = h * max(u[t - 1], 0.0)
        for k in range(4):
            g, f = TYPES4.greed[k], TYPES4.fear[k]
            for j in range(2):
                logit = sp.eta0[j] + sp.eta_g[j] * g + sp.eta_f[j] * f * threat
                p1 = 1.0 / (1.0 + np.exp(-logit))
                ref = np.log(p1) if s[t, j] == 1 else np.log(1.0 - p1)
                assert ll_s[t, k, j] == pytest.approx(ref, rel=1e-12)
    # period 0: the channel without a fear term is still informative
    logit0 = sp.eta0[0] + sp.eta_g[0] * TYPES4.greed
    p0 = 1 / (1 + np.exp(-logit0))
    ref0 = np.log(p0) if s[0, 0] == 1 else np.log(1 - p0)
    np.testing.assert_allclose(ll_s[0, :, 0], ref0, rtol=1e-12)


def test_threat_blind_is_h_zero():
    rng = np.random.default_rng(3)
    dx, u = rng.normal(0, 0.1, (2, 3, 9))
    blind, _ = loglik_components(dx, u, PARAMS, TYPES4, threat_blind=True)
    h0, _ = loglik_components(dx, u, PARAMS.replace(omega=0.0, delta=1.0), TYPES4)
    np.testing.assert_allclose(blind, h0, rtol=1e-14)


def test_missing_data_contributes_exactly_zero_for_all_types():
    rng = np.random.default_rng(4)
    T = 8
    sp = SignalParams(("a", "b"), eta0=[0.0, 0.0], eta_g=[1.0, 1.0], eta_f=[1.0, 0.0])
    params = PARAMS.replace(signals=sp)
    dx = rng.normal(0, 0.1, T)
    u = rng.normal(0, 0.1, T)
    s = np.ones((T, 2))
    dx[3] = np.nan  # rival's move missing in period 3
    u[5] = np.nan  # our move missing in period 5: period 6 has nothing to react to
    s[2, 1] = np.nan  # channel b unobserved in period 2
    ll_b, ll_s = loglik_components(dx, u, params, TYPES4, signals=s)
    assert np.all(ll_b[3] == 0.0)
    assert np.all(ll_b[6] == 0.0)
    assert np.all(ll_s[2, :, 1] == 0.0)
    assert np.all(ll_s[6, :, 0] == 0.0)  # channel a has a fear term: needs u[5]
    assert np.all(ll_s[6, :, 1] != 0.0)  # channel b does not
    assert np.all(ll_b[[1, 2, 4, 5, 7]] != 0.0)
    assert np.all(np.isfinite(ll_b))
    assert np.all(np.isfinite(ll_s))


def test_leading_axes_and_per_scenario_params():
    rng = np.random.default_rng(5)
    dx, u = rng.normal(0, 0.1, (2, 3, 6))
    params = PARAMS.replace(alpha=np.array([0.01, 0.05, 0.1]), sigma=np.array([0.05, 0.1, 0.2]))
    ll, _ = loglik_components(dx, u, params, TYPES4)
    assert ll.shape == (3, 6, 4)
    for i in range(3):
        one, _ = loglik_components(
            dx[i], u[i], PARAMS.replace(alpha=params.alpha[i], sigma=params.sigma[i]), TYPES4
        )
        np.testing.assert_allclose(ll[i], one, rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": np.nan}, "alpha"),
        ({"beta": np.inf}, "beta"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"omega": 1.5}, "omega"),
        ({"delta": -0.1}, "delta"),
        ({"kappa": -0.2}, "kappa"),
        ({"nu": 0.0}, "nu"),
        ({"signals": "loud"}, "signals"),
    ],
)
def test_model_params_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        ModelParams(**kwargs)


def test_other_parameter_errors():
    with pytest.raises(ParameterError, match="unknown field"):
        PARAMS.replace(zeta=1.0)
    with pytest.raises(ParameterError, match="eta_g"):
        SignalParams(("a", "b"), eta0=[0, 0], eta_g=[1.0], eta_f=[0, 0])
    with pytest.raises(ParameterError, match="duplicates"):
        SignalParams(("a", "a"), eta0=[0, 0], eta_g=[0, 0], eta_f=[0, 0])
    with pytest.raises(ParameterError, match="`dx` has shape"):
        loglik_components(np.zeros(5), np.zeros(4), PARAMS, TYPES4)
    with pytest.raises(ParameterError, match="omega"):
        loglik_components(
            np.zeros((2, 5)), np.zeros((2, 5)), PARAMS.replace(omega=np.full(4, 0.5)), TYPES4
        )
    sp = SignalParams(("a",), eta0=[0.0], eta_g=[1.0], eta_f=[0.0])
    with pytest.raises(ParameterError, match="signals"):
        loglik_components(np.zeros(5), np.zeros(5), PARAMS, TYPES4, signals=np.zeros((5, 1)))
    with pytest.raises(ParameterError, match="signals"):
        loglik_components(
            np.zeros(5), np.zeros(5), PARAMS.replace(signals=sp), TYPES4, signals=np.zeros((5, 2))
        )
    with pytest.raises(ParameterError, match="0, 1 or NaN"):
        loglik_components(
            np.zeros(5),
            np.zeros(5),
            PARAMS.replace(signals=sp),
            TYPES4,
            signals=np.full((5, 1), 2.0),
        )


def test_probability_and_type_errors():
    ts = TypeSpace.default()
    with pytest.raises(ParameterError, match=r"prior.*sum to 1"):
        as_type_prior([0.5, 0.5, 0.5], ts)
    with pytest.raises(ParameterError, match="prior"):
        as_type_prior([0.5, 0.5], ts)
    with pytest.raises(ParameterError, match=r"prior.*non-negative"):
        as_type_prior([1.5, -0.5, 0.0], ts)
    with pytest.raises(ParameterError, match="unknown rival type"):
        as_type_prior({"greedy": 0.5, "hawkish": 0.5}, ts)
    np.testing.assert_allclose(as_type_prior({"greedy": 0.7, "mixed": 0.3}, ts), [0.7, 0, 0.3])
    np.testing.assert_allclose(as_type_prior(None, ts), [1 / 3] * 3)
    with pytest.raises(ParameterError, match="weights"):
        validate_probabilities([0.2, 0.2], name="weights", n=2)
    with pytest.raises(ParameterError, match="persistence"):
        transition_matrix(3, persistence=-0.1)
    with pytest.raises(ParameterError, match="persistence"):
        transition_matrix(3, persistence=1.1)
    with pytest.raises(ParameterError, match="exactly one"):
        transition_matrix(3)
    with pytest.raises(ParameterError, match="3x3"):
        transition_matrix(3, matrix=np.eye(2))
    with pytest.raises(ParameterError, match="sum to 1"):
        transition_matrix(2, matrix=[[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ParameterError, match="unknown type name"):
        TypeSpace.from_names(["greedy", "hawk"])
    with pytest.raises(ParameterError, match="unknown rival type"):
        ts.index("hawk")
    with pytest.raises(ParameterError, match="greed"):
        TypeSpace(("a", "b"), greed=np.array([0.5, 1.5]), fear=np.array([0.0, 0.0]))
    with pytest.raises(ParameterError, match="duplicates"):
        TypeSpace(("a", "a"), greed=np.zeros(2), fear=np.zeros(2))


def test_transition_matrix_rows():
    a = transition_matrix(4, persistence=0.7)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(a), 0.7)
    np.testing.assert_allclose(a[0, 1:], 0.1)
    assert transition_matrix(1, persistence=0.3).tolist() == [[1.0]]


# ---------------------------------------------------------------------------------------------
# Bad input (issue 10)
# ---------------------------------------------------------------------------------------------
def test_check_number_refuses_strings_bools_and_non_finite_values():
    assert check_number(np.float32(0.5), "p", low=0.0, high=1.0) == 0.5
    assert check_number(np.array(2), "n", low=0.0) == 2.0
    for bad in ("0.9", True, None, [0.5], np.nan, np.inf):
        with pytest.raises(ParameterError, match="`p` must be a"):
            check_number(bad, "p")
    with pytest.raises(ParameterError, match=r"f: `p` must be a finite number in \(0.0, 1.0\)"):
        check_number(1.0, "p", low=0.0, high=1.0, low_open=True, high_open=True, where="f")
    with pytest.raises(ParameterError, match="persistence"):
        transition_matrix(3, persistence="0.9")  # type: ignore[arg-type]


def test_uniform_prior_by_name():
    np.testing.assert_allclose(as_type_prior("uniform", TYPES4), 0.25)
    with pytest.raises(ParameterError, match="got the string 'greedy'"):
        as_type_prior("greedy", TYPES4)


def test_noise_density_overflows_to_minus_inf_quietly():
    with np.errstate(all="raise"):
        assert noise_logpdf(1e200, 1e-3, None) == -np.inf
        assert noise_logpdf(1e200, 1e-3, 3.0) == -np.inf


def test_per_scenario_parameters_that_do_not_broadcast():
    with pytest.raises(ParameterError, match=r"`params.sigma` of shape \(3,\)"):
        loglik_components(
            np.zeros((2, 5)), np.zeros((2, 5)), PARAMS.replace(sigma=[0.1] * 3), TYPES4
        )
