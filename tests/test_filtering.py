"""The exact filter against brute-force enumeration, closed forms and its second engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from secdilemma.engines.exact.filtering import forward_backward, static_update, type_posterior
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, TypeSpace, loglik_components, transition_matrix

ENGINES = ["numba", "numpy"]


# ---------------------------------------------------------------------------------------------
# Brute force: sum over every type path (K**T of them)
# ---------------------------------------------------------------------------------------------
def _path_log_weights(ll, log_prior, transition):
    """Log joint of (path, data) for every path; static = only constant paths possible."""
    T, K = ll.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    if transition is None:
        log_a = np.where(np.eye(K) > 0, 0.0, -np.inf)
    else:
        with np.errstate(divide="ignore"):
            log_a = np.log(np.asarray(transition))
    lw = log_prior[paths[:, 0]] + ll[0, paths[:, 0]]
    for t in range(1, T):
        lw = lw + log_a[paths[:, t - 1], paths[:, t]] + ll[t, paths[:, t]]
    return paths, lw


def brute_force(ll, log_prior, transition=None):
    """Filtered, smoothed (T, K) probabilities and the log evidence by enumeration."""
    T, K = ll.shape
    paths, lw = _path_log_weights(ll, log_prior, transition)
    ev = logsumexp(lw)
    w = np.exp(lw - ev)
    smoothed = np.array([[w[paths[:, t] == k].sum() for k in range(K)] for t in range(T)])
    filtered = np.empty((T, K))
    for t in range(T):
        p_t, lw_t = _path_log_weights(ll[: t + 1], log_prior, transition)
        w_t = np.exp(lw_t - logsumexp(lw_t))
        filtered[t] = [w_t[p_t[:, t] == k].sum() for k in range(K)]
    return filtered, smoothed, ev


def _random_problem(rng, T, K, *, scale=2.0, zeros_in_a=False):
    ll = rng.normal(scale=scale, size=(T, K))
    prior = rng.dirichlet(np.ones(K))
    a = rng.dirichlet(np.ones(K), size=K)
    if zeros_in_a:
        a[rng.random((K, K)) < 0.4] = 0.0
        np.fill_diagonal(a, np.maximum(np.diag(a), 0.1))
        a /= a.sum(axis=1, keepdims=True)
    return ll, np.log(prior), a


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("K", "T"), [(3, 1), (3, 4), (3, 6), (4, 5)])
@pytest.mark.parametrize("switching", [False, True])
def test_matches_brute_force(engine, K, T, switching):
    rng = np.random.default_rng(100 * K + T)
    for _ in range(3):
        ll, lp, a = _random_problem(rng, T, K)
        trans = a if switching else None
        res = forward_backward(ll, lp, transition=trans, engine=engine)
        f, s, ev = brute_force(ll, lp, trans)
        np.testing.assert_allclose(np.exp(res.log_filtered), f, rtol=0, atol=1e-10)
        np.testing.assert_allclose(np.exp(res.log_smoothed), s, rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.log_evidence, ev, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_brute_force_with_zeros_and_underflow(engine):
    """Zeros in A, a zero prior and likelihood ratios of e^±1600 (probabilities underflow)."""
    rng = np.random.default_rng(7)
    for _ in range(5):
        ll, lp, a = _random_problem(rng, 5, 3, scale=800.0, zeros_in_a=True)
        lp = np.array([np.log(0.5), np.log(0.5), -np.inf])
        ll[2, 1] = -np.inf
        with np.errstate(divide="ignore"):
            f, s, ev = brute_force(ll, lp, a)
        res = forward_backward(ll, lp, transition=a, engine=engine)
        # compare in log space too: the engine keeps exact logs where probabilities underflow
        np.testing.assert_allclose(np.exp(res.log_filtered), f, rtol=0, atol=1e-10)
        np.testing.assert_allclose(np.exp(res.log_smoothed), s, rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.log_evidence, ev, rtol=1e-12)


def test_static_brute_force_with_minus_inf():
    ll = np.log(np.array([[0.2, 0.5, 0.3], [1.0, 0.4, 0.6], [0.5, 0.1, 0.4]]))
    ll[1, 0] = -np.inf
    lp = np.log(np.array([0.2, 0.3, 0.5]))
    for engine in ENGINES:
        res = forward_backward(ll, lp, engine=engine)
        f, s, ev = brute_force(ll, lp)
        np.testing.assert_allclose(np.exp(res.log_filtered), f, atol=1e-12)
        np.testing.assert_allclose(np.exp(res.log_smoothed), s, atol=1e-12)
        assert res.log_filtered[1, 0] == -np.inf
        np.testing.assert_allclose(res.log_evidence, ev, rtol=1e-12)


def test_static_closed_form():
    """Constant per-period log-likelihoods c_k: posterior ∝ prior_k exp(t c_k)."""
    T = 200
    c = np.array([-1.0, -1.01, -1.3])
    lp = np.log(np.array([0.1, 0.6, 0.3]))
    ll = np.broadcast_to(c, (T, 3))
    t = np.arange(1, T + 1)[:, None]
    log_joint = lp + t * c
    expected = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    for engine in ENGINES:
        res = forward_backward(ll, lp, engine=engine)
        np.testing.assert_allclose(np.exp(res.log_filtered), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(res.log_evidence, logsumexp(lp + T * c), rtol=1e-13)


def test_two_state_switching_closed_form():
    """Persistence 1/2 over two types: the past is forgotten, filtered = one-step posterior."""
    rng = np.random.default_rng(3)
    ll = rng.normal(size=(20, 2))
    a = np.full((2, 2), 0.5)
    lp = np.log([0.5, 0.5])
    expected = np.exp(ll - logsumexp(ll, axis=1, keepdims=True))
    for engine in ENGINES:
        res = forward_backward(ll, lp, transition=a, engine=engine)
        np.testing.assert_allclose(np.exp(res.log_filtered), expected, atol=1e-13)
        np.testing.assert_allclose(np.exp(res.log_smoothed), expected, atol=1e-13)
        ev = np.sum(logsumexp(ll + np.log(0.5), axis=1))
        np.testing.assert_allclose(res.log_evidence, ev, rtol=1e-13)


@pytest.mark.parametrize("engine", ENGINES)
def test_vectorised_over_leading_axes(engine):
    rng = np.random.default_rng(11)
    ll = rng.normal(size=(2, 3, 7, 4))
    lp = np.log(rng.dirichlet(np.ones(4), size=(2, 3)))
    a = transition_matrix(4, persistence=0.8)
    for trans in (None, a):
        res = forward_backward(ll, lp, transition=trans, engine=engine)
        assert res.log_filtered.shape == (2, 3, 7, 4)
        assert res.log_smoothed.shape == (2, 3, 7, 4)
        assert res.log_evidence.shape == (2, 3)
        for i, j in itertools.product(range(2), range(3)):
            one = forward_backward(ll[i, j], lp[i, j], transition=trans, engine=engine)
            np.testing.assert_allclose(res.log_filtered[i, j], one.log_filtered, atol=1e-14)
            np.testing.assert_allclose(res.log_smoothed[i, j], one.log_smoothed, atol=1e-14)
            np.testing.assert_allclose(res.log_evidence[i, j], one.log_evidence, rtol=1e-14)


def test_engines_agree_and_persistence_one_is_static():
    rng = np.random.default_rng(5)
    ll = rng.normal(scale=3, size=(50, 40, 3))
    lp = np.log([0.2, 0.3, 0.5])
    static = forward_backward(ll, lp, engine="numba")
    stuck = forward_backward(ll, lp, transition=np.eye(3), engine="numba")
    np.testing.assert_allclose(stuck.log_filtered, static.log_filtered, atol=1e-10)
    np.testing.assert_allclose(stuck.log_smoothed, static.log_smoothed, atol=1e-10)
    np.testing.assert_allclose(stuck.log_evidence, static.log_evidence, rtol=1e-12)
    a = transition_matrix(3, persistence=0.9)
    for trans in (None, a):
        nb = forward_backward(ll, lp, transition=trans, engine="numba")
        np_ = forward_backward(ll, lp, transition=trans, engine="numpy")
        np.testing.assert_allclose(nb.log_filtered, np_.log_filtered, atol=1e-10)
        np.testing.assert_allclose(nb.log_smoothed, np_.log_smoothed, atol=1e-10)
        np.testing.assert_allclose(nb.log_evidence, np_.log_evidence, rtol=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    T=st.integers(1, 12),
    K=st.integers(1, 5),
    scale=st.sampled_from([0.1, 3.0, 300.0, 1e6]),
    persistence=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_property_engines_agree_and_normalised(seed, T, K, scale, persistence):
    rng = np.random.default_rng(seed)
    ll = rng.normal(scale=scale, size=(3, T, K))
    lp = np.log(rng.dirichlet(np.ones(K)))
    trans = None if persistence is None else transition_matrix(K, persistence=persistence)
    nb = forward_backward(ll, lp, transition=trans, engine="numba")
    np_ = forward_backward(ll, lp, transition=trans, engine="numpy")
    for res in (nb, np_):
        assert np.all(np.isfinite(res.log_evidence))
        np.testing.assert_allclose(np.exp(res.log_filtered).sum(-1), 1.0, atol=1e-12)
        np.testing.assert_allclose(np.exp(res.log_smoothed).sum(-1), 1.0, atol=1e-12)
        np.testing.assert_allclose(res.log_smoothed[:, -1], res.log_filtered[:, -1], atol=1e-9)
    np.testing.assert_allclose(np.exp(nb.log_filtered), np.exp(np_.log_filtered), atol=1e-9)
    np.testing.assert_allclose(np.exp(nb.log_smoothed), np.exp(np_.log_smoothed), atol=1e-9)
    np.testing.assert_allclose(nb.log_evidence, np_.log_evidence, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------------------------
#: Magnitudes of log-likelihoods for the extreme-value property: up to 1e300, with the ranges
#: where double precision drops the prior's O(1) part of a sum (beyond ~1e16).
_MAGNITUDES = [0.0, 1.0, 30.0, 1e3, 1e5, 1e9, 1e12, 1e15, 1e16, 1e20, 1e42, 1e100, 1e300]


@st.composite
def _extreme_problems(draw):
    """Log-likelihoods from a few extreme values per period (so types tie), any prior, any
    persistence (0 and 1 included: transition matrices with zeros)."""
    K, T = draw(st.integers(2, 5)), draw(st.integers(1, 10))
    ll = np.empty((2, T, K))
    for s, t in itertools.product(range(2), range(T)):
        pool = [
            draw(st.sampled_from([-1.0, -0.5, 0.3, 1.0, -1 + 1e-12]))
            * draw(st.sampled_from(_MAGNITUDES))
            for _ in range(3)
        ]
        ll[s, t] = [draw(st.sampled_from(pool)) for _ in range(K)]
    w = np.array([draw(st.sampled_from([1e-300, 1e-20, 1e-6, 0.3, 1.0])) for _ in range(K)])
    persistence = draw(
        st.one_of(st.none(), st.sampled_from([0.0, 1.0, 1e-12, 1 - 1e-12]), st.floats(0.0, 1.0))
    )
    return ll, np.log(w / w.sum()), persistence


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_extreme_problems())
def test_property_extreme_log_likelihoods_sum_to_one_and_engines_agree(problem):
    """Issue 10: ties at |log-likelihood| > 1e16 gave filtered probabilities summing to 2."""
    ll, lp, persistence = problem
    trans = (
        None if persistence is None else transition_matrix(ll.shape[-1], persistence=persistence)
    )
    nb = forward_backward(ll, lp, transition=trans, engine="numba")
    np_ = forward_backward(ll, lp, transition=trans, engine="numpy")
    for res in (nb, np_):
        for arr in (res.log_filtered, res.log_smoothed):
            assert not np.any(np.isnan(arr))
            np.testing.assert_allclose(np.exp(arr).sum(-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.exp(nb.log_filtered), np.exp(np_.log_filtered), atol=1e-9)
    np.testing.assert_allclose(np.exp(nb.log_smoothed), np.exp(np_.log_smoothed), atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("persistence", "size"), [(1.0, 1e20), (0.0, 1e9), (None, 1e20)])
def test_tied_types_at_huge_log_likelihoods(engine, persistence, size):
    """Two types tie at log-likelihoods of -1e42 (moves of 1e20): the prior decides."""
    dx, u = np.array([0.0, size, size, size]), np.full(4, size)
    ll, _ = loglik_components(dx, u, ModelParams(), TypeSpace.default())
    trans = None if persistence is None else transition_matrix(3, persistence=persistence)
    res = forward_backward(ll, np.log([0.2, 0.3, 0.5]), transition=trans, engine=engine)
    for arr in (res.log_filtered, res.log_smoothed):
        np.testing.assert_allclose(np.exp(arr).sum(-1), 1.0, rtol=0, atol=1e-12)
    if persistence != 0.0:  # insecure and mixed tie exactly: their odds stay the prior's
        odds = np.exp(res.log_filtered[-1, 1] - res.log_filtered[-1, 2])
        assert odds == pytest.approx(0.3 / 0.5, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("switching", [False, True])
def test_long_series_extreme_values(engine, switching):
    """T = 10**5 with ±1e6 per period: no NaN, no collapse to uniform, exact type ordering."""
    rng = np.random.default_rng(0)
    # the numpy engine loops over periods in Python for a switching type: 10**4 keeps it fast
    T = 10_000 if (switching and engine == "numpy") else 100_000
    ll = rng.choice([-1e6, 1e6], size=(T, 3))
    ll[:, 1] = 1e6 + 1.0  # type 1 beats the best of the others by one log unit every period
    ll[::7, 0] = -np.inf
    trans = transition_matrix(3, persistence=0.99) if switching else None
    res = forward_backward(ll, np.log([0.98, 0.01, 0.01]), transition=trans, engine=engine)
    for arr in (res.log_filtered, res.log_smoothed):
        assert not np.any(np.isnan(arr))
        np.testing.assert_allclose(np.exp(arr).sum(-1), 1.0, atol=1e-12)
    assert np.isfinite(res.log_evidence)
    post = np.exp(res.log_filtered[-1])
    # concentrated, not uniform (a switching type keeps leaking 1 % to the others each period)
    assert post[1] > (0.99 if switching else 1 - 1e-6)
    if not switching:
        # closed form at T: log-odds of type 1 vs 2 = log(0.01/0.01) + sum of differences
        expected = np.sum(ll[:, 1] - ll[:, 2])
        got = res.log_filtered[-1, 1] - res.log_filtered[-1, 2]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_switching_type_that_was_ruled_out_comes_back(engine):
    """A = identity except a tiny leak; a type at e^-2e6 must still win when the data say so."""
    ll = np.zeros((4, 2))
    ll[0] = [0.0, -2e6]
    ll[1] = [-4e6, 0.0]
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    res = forward_backward(ll, np.log([0.5, 0.5]), transition=a, engine=engine)
    static = forward_backward(ll, np.log([0.5, 0.5]), engine=engine)
    np.testing.assert_allclose(res.log_filtered, static.log_filtered, atol=1e-9)
    assert np.exp(res.log_filtered[1, 1]) == pytest.approx(1.0)
    np.testing.assert_allclose(res.log_evidence, static.log_evidence, rtol=1e-14)


def test_static_update_is_one_period_of_the_filter():
    """The one-observation update the decision model uses: Bayes' rule, broadcast."""
    rng = np.random.default_rng(8)
    lp = np.log(rng.dirichlet(np.ones(3), size=(4, 5)))
    ll = rng.normal(scale=5, size=(4, 5, 3))
    got = static_update(lp, ll)
    post = np.exp(lp + ll)
    np.testing.assert_allclose(np.exp(got), post / post.sum(-1, keepdims=True), rtol=1e-12)
    one = forward_backward(ll[..., None, :], lp, smooth=False, engine="numpy").log_filtered
    np.testing.assert_allclose(got, one[..., 0, :], atol=1e-13)
    # broadcasting a shared prior, and a type ruled out by the prior
    got = static_update([-np.inf, np.log(0.5), np.log(0.5)], ll)
    assert np.all(got[..., 0] == -np.inf)
    with pytest.raises(ParameterError, match="impossible"):
        static_update(np.log([0.5, 0.5]), [[-np.inf, -np.inf]])
    with pytest.raises(ParameterError, match="NaN"):
        static_update(np.log([0.5, 0.5]), [[np.nan, 0.0]])


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("switching", [False, True])
def test_bad_log_lik(engine, switching):
    trans = transition_matrix(2, persistence=0.9) if switching else None
    lp = np.log([0.5, 0.5])
    ll = np.zeros((3, 4, 2))
    for bad, match in [
        (np.nan, "NaN or \\+inf"),
        (np.inf, "NaN or \\+inf"),
    ]:
        x = ll.copy()
        x[1, 2, 0] = bad
        with pytest.raises(ParameterError, match=match):
            forward_backward(x, lp, transition=trans, engine=engine)
    x = ll.copy()
    x[2, 3, :] = -np.inf
    with pytest.raises(ParameterError, match="impossible under every type"):
        forward_backward(x, lp, transition=trans, engine=engine)
    x = ll.copy()
    x[0, 0, 1] = -np.inf
    with pytest.raises(ParameterError, match="log_prior"):
        forward_backward(x, [-np.inf, 0.0], transition=trans, engine=engine)


def test_bad_arguments_name_the_argument():
    ll = np.zeros((4, 3))
    with pytest.raises(ParameterError, match="log_lik"):
        forward_backward(np.zeros(3), np.log([1.0]))
    with pytest.raises(ParameterError, match="log_prior"):
        forward_backward(ll, np.log([0.5, 0.5]))
    with pytest.raises(ParameterError, match=r"log_prior.*sum to 1"):
        forward_backward(ll, np.log([0.5, 0.5, 0.5]))
    with pytest.raises(ParameterError, match="log_prior"):
        forward_backward(ll, [0.0, np.nan, -1.0])
    with pytest.raises(ParameterError, match="log_prior"):
        forward_backward(np.zeros((2, 4, 3)), np.log(np.full((3, 3), 1 / 3)))
    with pytest.raises(ParameterError, match="transition"):
        forward_backward(ll, np.log(np.full(3, 1 / 3)), transition=np.eye(2))
    with pytest.raises(ParameterError, match="transition"):
        forward_backward(ll, np.log(np.full(3, 1 / 3)), transition=np.full((3, 3), 0.5))
    with pytest.raises(ParameterError, match="engine"):
        forward_backward(ll, np.log(np.full(3, 1 / 3)), engine="gpu")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# xarray wrapper
# ---------------------------------------------------------------------------------------------
def test_type_posterior_named_dims():
    rng = np.random.default_rng(9)
    names = ["greedy", "insecure", "mixed"]
    ll = xr.DataArray(
        rng.normal(size=(6, 3, 2)),  # deliberately (period, rival_type, dyad)
        dims=("period", "rival_type", "dyad"),
        coords={"period": np.arange(1990, 1996), "rival_type": names, "dyad": ["a", "b"]},
    )
    prior = xr.DataArray(np.log([0.5, 0.3, 0.2]), dims="rival_type", coords={"rival_type": names})
    shuffled = prior.isel(rival_type=[2, 0, 1])
    a = transition_matrix(3, persistence=0.9)
    out = type_posterior(ll, shuffled, transition=a)
    assert out.log_filtered.dims == ("dyad", "period", "rival_type")
    assert out.log_evidence.dims == ("dyad",)
    assert out.period.values.tolist() == list(range(1990, 1996))
    ref = forward_backward(
        ll.transpose("dyad", "period", "rival_type").values, prior.values, transition=a
    )
    np.testing.assert_allclose(out.log_filtered.values, ref.log_filtered)
    np.testing.assert_allclose(out.log_smoothed.values, ref.log_smoothed)
    np.testing.assert_allclose(out.log_evidence.values, ref.log_evidence)
    assert out.attrs["switching"] == 1
    uniform = type_posterior(ll, smooth=False)
    assert "log_smoothed" not in uniform
    with pytest.raises(ParameterError, match="period"):
        type_posterior(ll.rename(period="year"))
    with pytest.raises(ParameterError, match="lacks rival type"):
        type_posterior(ll, prior.isel(rival_type=[0, 1]))
