"""Static mode: closed-form threshold, Kydd's game, P(best), EVPI, EVSI."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from secdilemma.decision import decide, kydd_payoffs, static, value_of_information
from secdilemma.model.types import TypeSpace


def table(d_i: float, d_g: float, base: float = -1.0) -> xr.DataArray:
    """Payoffs with cost d_i of deterring an insecure rival and d_g of reassuring a greedy one."""
    return xr.DataArray(
        [[base, base - d_i], [base - d_g, base]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure"]},
    )


@pytest.mark.parametrize(("d_i", "d_g"), [(1.0, 1.0), (3.0, 1.0), (0.5, 4.0), (2.0, 0.1)])
def test_threshold_is_the_closed_form(d_i, d_g):
    ds = decide([0.3, 0.7], payoffs=table(d_i, d_g))
    assert float(ds.threshold) == pytest.approx(d_i / (d_i + d_g), abs=1e-12)
    assert ds.attrs["threshold_upper_action"] == "deter"


@pytest.mark.parametrize("p", [0.05, 0.3, 0.49, 0.51, 0.8, 0.99])
def test_deter_better_exactly_above_threshold(p):
    d_i, d_g = 2.0, 2.0  # p* = 0.5
    ds = decide({"greedy": p, "insecure": 1 - p}, payoffs=table(d_i, d_g))
    assert ds.attrs["recommended"] == ("deter" if p > 0.5 else "reassure")
    eu = ds.expected_utility
    assert float(eu.sel(action="deter")) == pytest.approx(-1 - (1 - p) * d_i)


def test_comparative_statics_of_the_closed_form():
    p_star = [float(decide(payoffs=table(d_i, 1.0)).threshold) for d_i in (0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(p_star) > 0)  # rises with the spiral cost
    p_star = [float(decide(payoffs=table(1.0, d_g)).threshold) for d_g in (0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(p_star) < 0)  # falls with the cost of reassuring a greedy rival


@pytest.mark.parametrize(("t", "c"), [(0.5, 0.5), (0.2, 2.0), (0.9, 0.1), (-0.5, 1.0)])
def test_kydd_cooperation_threshold(t, c):
    payoffs = kydd_payoffs(t, c)
    trust_star = c / (1 + c - t)  # Kydd: cooperate iff P(trustworthy) > c / (1 + c - t)
    ds = decide(payoffs=payoffs)
    assert 1 - float(ds.threshold) == pytest.approx(trust_star, abs=1e-12)
    for trust in (trust_star - 0.02, trust_star + 0.02):
        if 0 <= trust <= 1:
            r = decide({"insecure": trust, "greedy": 1 - trust}, payoffs=payoffs)
            assert r.attrs["recommended"] == ("reassure" if trust > trust_star else "deter")


def test_evpi_zero_at_certainty_and_largest_at_threshold():
    U = table(1.0, 3.0)  # p* = 0.25
    for certain in ([1.0, 0.0], [0.0, 1.0]):
        assert float(decide(certain, payoffs=U).evpi) == 0.0
    grid = np.linspace(0, 1, 201)
    evpi = [float(decide([p, 1 - p], payoffs=U).evpi) for p in grid]
    assert grid[int(np.argmax(evpi))] == pytest.approx(0.25, abs=0.005)
    # the curve in the result agrees with the pointwise values
    ds = decide([0.5, 0.5], payoffs=U)
    np.testing.assert_allclose(
        ds.evpi_curve.values, np.interp(ds.greed_axis.values, grid, evpi), atol=1e-9
    )


def test_p_best_is_the_probability_each_action_is_best_for_the_truth():
    ds = decide([0.3, 0.7], payoffs=table(1.0, 1.0))
    assert ds.p_best.sel(action="deter") == pytest.approx(0.3)
    assert ds.p_best.sum() == pytest.approx(1.0)


def test_posterior_draws_give_intervals_and_p_best():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 3, size=(2, 50))
    belief = xr.DataArray(
        np.stack([p, 1 - p], axis=-1),
        dims=("chain", "draw", "rival_type"),
        coords={"rival_type": ["greedy", "insecure"]},
    )
    U = table(1.0, 2.0)
    ds = decide(belief, payoffs=U, ci_prob=0.9)
    flat = p.reshape(-1)
    eu_deter = -1 - (1 - flat) * 1.0
    lo, hi = np.quantile(eu_deter, [0.05, 0.95])
    assert float(ds.eu_lower.sel(action="deter")) == pytest.approx(lo)
    assert float(ds.eu_upper.sel(action="deter")) == pytest.approx(hi)
    assert float(ds.expected_utility.sel(action="deter")) == pytest.approx(eu_deter.mean())
    assert float(ds.p_best.sel(action="deter")) == pytest.approx(flat.mean())
    # type order in the DataArray does not matter
    swapped = belief.isel(rival_type=[1, 0])
    xr.testing.assert_allclose(decide(swapped, payoffs=U).expected_utility, ds.expected_utility)


def test_three_types_threshold_on_the_greed_axis():
    U = xr.DataArray(
        [[0.0, -2.0, -1.0], [-3.0, 0.0, -2.0]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure", "mixed"]},
    )
    b = np.array([0.2, 0.5, 0.3])
    ds = decide(b, payoffs=U)
    assert float(ds.p_greed) == pytest.approx(0.5)  # greedy + mixed
    p_star = float(ds.threshold)
    # at p*, with greedy:mixed kept at 2:3, the two actions are equally good
    b_star = np.array([0.4 * p_star, 1 - p_star, 0.6 * p_star])
    eu = U.values @ b_star
    assert eu[0] == pytest.approx(eu[1])


def test_no_flip_reports_nan_and_a_note():
    U = table(-1.0, 2.0)  # deterring an insecure rival is *better*: deter dominates
    ds = decide(payoffs=U)
    assert np.isnan(float(ds.threshold))
    assert "deter is better on the whole greed axis" in ds.attrs["threshold_note"]


def test_uninformative_channel_is_worthless_and_perfect_channel_is_evpi():
    U = table(1.0, 2.0)
    for b in ([0.3, 0.7], [0.5, 0.5], [0.9, 0.1]):
        flat = value_of_information(b, payoffs=U, channel=[[0.3, 0.3], [0.7, 0.7]])
        assert float(flat.evsi) == pytest.approx(0.0, abs=1e-12)
        perfect = value_of_information(b, payoffs=U, channel=[[1.0, 0.0], [0.0, 1.0]])
        assert float(perfect.evsi) == pytest.approx(float(perfect.evpi), abs=1e-12)


def test_costly_test_worked_example():
    # an arms-control offer: a greedy rival refuses with prob 0.8, an insecure one with 0.2
    U = table(1.0, 1.0)
    channel = xr.DataArray(
        [[0.8, 0.2], [0.2, 0.8]],
        dims=("outcome", "rival_type"),
        coords={"outcome": ["refused", "accepted"], "rival_type": ["greedy", "insecure"]},
    )
    ds = value_of_information([0.5, 0.5], payoffs=U, channel=channel, cost=0.1)
    # by hand: after refusal P(greedy)=0.8 -> deter, EU = -1 - 0.2; after acceptance symmetric
    assert float(ds.evsi) == pytest.approx((-1.2) - (-1.5))
    assert float(ds.evsi_net) == pytest.approx(0.2)
    assert ds.best_action.sel(outcome="refused") == "deter"
    assert float(ds.posterior.sel(outcome="refused", rival_type="greedy")) == pytest.approx(0.8)
    assert ds.attrs["worth_testing"] == 1


def test_signal_params_channel():
    from secdilemma.model import SignalParams

    sp = SignalParams(("refuses_offer",), eta0=[-1.0], eta_g=[2.0], eta_f=[0.0])
    ds = value_of_information([0.5, 0.5], payoffs=table(1.0, 1.0), channel=sp)
    assert ds.sizes["outcome"] == 2
    ts = TypeSpace.from_names(["greedy", "insecure"])
    p1 = sp.likelihood_ratio(ts)[0]
    np.testing.assert_allclose(ds.likelihood.values, [1 - p1, p1])
    assert 0 < float(ds.evsi) <= float(ds.evpi)


probs = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    n_actions=st.integers(2, 4),
    n_types=st.integers(2, 4),
    n_outcomes=st.integers(1, 4),
    data=st.data(),
)
def test_evsi_never_exceeds_evpi(n_actions, n_types, n_outcomes, data):
    U = np.array(
        data.draw(
            st.lists(st.floats(-10, 10), min_size=n_actions * n_types, max_size=n_actions * n_types)
        )
    ).reshape(n_actions, n_types)
    w = np.array(data.draw(st.lists(probs, min_size=n_types, max_size=n_types))) + 1e-3
    w /= w.sum()
    L = (
        np.array(
            data.draw(st.lists(probs, min_size=n_outcomes * n_types, max_size=n_outcomes * n_types))
        ).reshape(n_outcomes, n_types)
        + 1e-3
    )
    L /= L.sum(axis=0, keepdims=True)
    vsi = static.evsi(U, w, L).evsi
    vpi = static.evpi(U, w)
    assert 0.0 <= vsi <= vpi  # exactly: rounding is clipped


def test_evsi_of_perfect_information_is_clipped_to_evpi():
    """A perfect channel whose outcomes split each type: unclipped, rounding put EVSI 6e-14
    above EVPI here."""
    U = np.array(
        [
            [138.35360236402084, 171.8078529158621, -423.03147529930686],
            [327.78407498826294, 860.7900780984813, -685.7359448054223],
        ]
    )
    w = np.array([0.00178702290511105, 0.5617097275349934, 0.43650324955989567])
    L = np.zeros((6, 3))
    L[[0, 1], 0] = [0.2602751025309225, 0.7397248974690774]
    L[[2, 3], 1] = [0.7870211803086804, 0.2129788196913197]
    L[[4, 5], 2] = [0.33839889243649457, 0.6616011075635054]
    joint = L * w
    post = joint / joint.sum(1, keepdims=True)
    unclipped = float(np.sum(joint.sum(1) * np.max(post @ U.T, axis=1)) - np.max(U @ w))
    assert unclipped > static.evpi(U, w)  # the rounding this test is about
    assert static.evsi(U, w, L).evsi == static.evpi(U, w)
    ds = value_of_information(w, payoffs=U, channel=L, actions=["deter", "reassure"])
    assert float(ds.evsi) <= float(ds.evpi)
