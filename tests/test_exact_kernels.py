"""The exact engine's compiled pieces: the vectorised exp/log against numpy, the probability
output against the log output and the numpy engine, and the digests that keep numba's cache
from loading stale kernels."""

from __future__ import annotations

import hashlib
import importlib
import itertools
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from secdilemma.engines.exact import _vmath
from secdilemma.engines.exact.filtering import filter_probabilities, forward_backward
from secdilemma.errors import ParameterError
from secdilemma.model import transition_matrix

EXACT = Path(importlib.import_module("secdilemma.engines.exact").__file__).parent


# ---------------------------------------------------------------------------------------------
# exp and log over blocks
# ---------------------------------------------------------------------------------------------
@njit(error_model="numpy")
def _exp(x, out):
    _vmath.exp_block(x, out)


@njit(error_model="numpy")
def _log(x, out):
    _vmath.log_block(x, out)


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_exp_within_one_ulp_of_numpy_over_the_whole_range():
    rng = np.random.default_rng(0)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -745.2, -745.1, -708.4, -708.3, 709.7, 709.8]
    parts = [rng.uniform(-750, 712, 200_000), rng.uniform(-1, 1, 50_000), rng.normal(0, 30, 50_000)]
    x = np.concatenate([*parts, np.array(special)])
    got = np.empty_like(x)
    _exp(x.reshape(-1, 1), got.reshape(-1, 1))
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    normal = np.isfinite(ref) & (ref >= np.finfo(float).tiny)
    assert _ulps(got[normal], ref[normal]).max() <= 1.0
    sub = (ref > 0) & (ref < np.finfo(float).tiny)
    assert np.abs(got[sub] - ref[sub]).max() <= 5e-324  # one step of the subnormal grid
    rest = ~normal & ~sub
    np.testing.assert_array_equal(got[rest], ref[rest])  # 0, inf, NaN


def test_log_within_one_ulp_of_numpy_and_keeps_the_mixed_form():
    rng = np.random.default_rng(1)
    special = [5e-324, 1e-310, 2.2250738585072014e-308, 1.0, np.inf, 1.7976931348623157e308]
    x = np.concatenate(
        [np.exp(rng.uniform(-745, 709, 200_000)), rng.uniform(0.5, 2.0, 50_000), special]
    )
    got = np.empty_like(x)
    _log(x.reshape(1, -1), got.reshape(1, -1))
    ref = np.log(x)
    finite = np.isfinite(ref) & (ref != 0)
    assert _ulps(got[finite], ref[finite]).max() <= 1.0
    np.testing.assert_array_equal(got[~finite], ref[~finite])
    # entries <= 0 (and NaN) are logs already: passed through, signs of zero included
    neg = np.array([[0.0, -0.0, -1.5, -800.0, -np.inf, np.nan]])
    out = np.empty_like(neg)
    _log(neg, out)
    np.testing.assert_array_equal(out, neg)
    assert np.signbit(out[0, 1])
    assert not np.signbit(out[0, 0])


# ---------------------------------------------------------------------------------------------
# filter_probabilities: the same posteriors as forward_backward, as probabilities
# ---------------------------------------------------------------------------------------------
def _problems():
    rng = np.random.default_rng(5)
    for K, T, scale, persistence in itertools.product(
        (1, 2, 3, 7), (1, 2, 9), (0.5, 30.0, 1e6), (None, 0.0, 0.9, 1.0)
    ):
        ll = rng.normal(scale=scale, size=(4, T, K))
        if persistence != 0.0:  # (a matrix that swaps types could make -inf data impossible)
            ll[0, rng.random((T, K)) < 0.2] = -np.inf
            ll[0, :, 0] = np.maximum(ll[0, :, 0], -1.0)  # one type stays possible
        lp = np.log(rng.dirichlet(np.ones(K), size=4))
        trans = None if persistence is None else transition_matrix(K, persistence=persistence)
        yield ll, lp, trans


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_probabilities_are_exp_of_the_logs(engine):
    for ll, lp, trans in _problems():
        ref = forward_backward(ll, lp, transition=trans, engine="numpy")
        got = filter_probabilities(ll, lp, transition=trans, engine=engine)
        for p, lg in ((got.filtered, ref.log_filtered), (got.smoothed, ref.log_smoothed)):
            assert p is not None
            assert lg is not None
            np.testing.assert_allclose(p, np.exp(lg), rtol=0, atol=1e-10)
            np.testing.assert_allclose(p.sum(-1), 1.0, rtol=0, atol=1e-12)
            assert np.all(p >= 0)
        np.testing.assert_allclose(got.log_evidence, ref.log_evidence, rtol=1e-12)


def test_probabilities_without_smoothing_and_shapes():
    rng = np.random.default_rng(2)
    ll = rng.normal(size=(2, 3, 6, 4))
    lp = np.log(np.full(4, 0.25))
    for trans in (None, transition_matrix(4, persistence=0.8)):
        res = filter_probabilities(ll, lp, transition=trans, smooth=False)
        assert res.smoothed is None
        assert res.filtered.shape == (2, 3, 6, 4)
        assert res.log_evidence.shape == (2, 3)
        full = filter_probabilities(ll, lp, transition=trans)
        np.testing.assert_array_equal(res.filtered, full.filtered)


def test_probabilities_raise_as_forward_backward_does():
    ll = np.zeros((2, 3, 2))
    ll[1, 2, :] = -np.inf
    with pytest.raises(ParameterError, match=r"every type in scenario \(1,\), period 2"):
        filter_probabilities(ll, np.log([0.5, 0.5]))
    with pytest.raises(ParameterError, match="filter_probabilities: `engine`"):
        filter_probabilities(ll, np.log([0.5, 0.5]), engine="gpu")  # type: ignore[arg-type]


def test_a_per_scenario_prior_is_used_row_by_row():
    rng = np.random.default_rng(4)
    ll = rng.normal(size=(5, 7, 3))
    lp = np.log(rng.dirichlet(np.ones(3), size=5))
    a = transition_matrix(3, persistence=0.7)
    both = forward_backward(ll, lp, transition=a)
    for s in range(5):
        one = forward_backward(ll[s], lp[s], transition=a)
        np.testing.assert_array_equal(both.log_filtered[s], one.log_filtered)
        np.testing.assert_array_equal(both.log_smoothed[s], one.log_smoothed)


# ---------------------------------------------------------------------------------------------
# numba's cache
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["_kernels", "_fused"])
def test_kernels_name_the_digest_of_what_they_inline(module):
    """numba re-compiles a cached kernel only when its own file changes: a kernel module must
    change with every module it inlines, or an edit there runs the old compiled code."""
    built_from = importlib.import_module(f"secdilemma.engines.exact.{module}").BUILT_FROM
    *names, digest = built_from
    h = hashlib.sha256()
    for name in names:
        h.update((EXACT / name).read_bytes())
    assert h.hexdigest()[:16] == digest, (
        f"{module}.py: set BUILT_FROM's digest to {h.hexdigest()[:16]!r} (its inlined modules "
        "changed; numba would otherwise load the kernels compiled from the old code)"
    )
