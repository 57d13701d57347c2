"""Dynamic mode: simulated consequences, comparative statics, mixed rivals, draws."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from secdilemma.decision import (
    AlwaysDeter,
    AlwaysReassure,
    DynamicModel,
    Losses,
    compare_policies,
    decide,
    utility_table,
)
from secdilemma.decision.problem import bayes_update, reaction_means
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA, ModelParams, loglik_components

QUIET = 1e-9  # sigma for noise-free reference checks


@pytest.mark.parametrize(
    ("omega", "delta"), [(DEFAULT_OMEGA, DEFAULT_DELTA), (1.0, 0.0), (0.0, 1.0), (0.2, 0.7)]
)
def test_utility_table_matches_noise_free_hand_formula(three_types, hand_loss, omega, delta):
    p = ModelParams(sigma=QUIET, omega=omega, delta=delta)
    losses = Losses()
    model = DynamicModel(types=three_types, params=p, losses=losses, horizon=7)
    tab = utility_table(model, n_sims=3, seed=0)
    assert model.action_names == ("deter", "defend", "reassure")  # the default action set
    for a, (u, d) in enumerate(zip(model.moves, model.postures, strict=True)):
        for k, (g, f) in enumerate(zip(three_types.greed, three_types.fear, strict=True)):
            expected = -hand_loss(float(u), g, f, p, losses, 7, float(d))
            assert tab.mean[0, a, k] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_dynamic_decide_is_seeded_and_uses_common_random_numbers(two_types):
    a = decide([0.5, 0.5], types=two_types, n_sims=200, seed=5)
    b = decide([0.5, 0.5], types=two_types, n_sims=200, seed=5)
    xr.testing.assert_identical(a, b)
    assert a.attrs["mode"] == "dynamic"
    assert set(a.utility_se.dims) == {"action", "rival_type"}
    assert np.all(a.eu_lower <= a.expected_utility)
    assert np.all(a.expected_utility <= a.eu_upper)


def p_star(two_types, **params) -> float:
    ds = decide(types=two_types, params=ModelParams(**params), n_sims=400, seed=11)
    return float(ds.threshold)


def test_threshold_rises_with_the_spiral_cost(two_types):
    # beta: how hard an insecure rival answers deterrence (it does not move a greedy rival)
    values = [p_star(two_types, beta=b) for b in (0.2, 0.6, 1.0)]
    assert np.all(np.diff(values) > 0), values


def test_threshold_falls_with_the_cost_of_reassuring_a_greedy_rival(two_types):
    values = [p_star(two_types, gamma=g) for g in (0.2, 0.6, 1.0)]  # exploitation slope
    assert np.all(np.diff(values) < 0), values
    costs = [
        float(decide(types=two_types, losses=Losses(exploitation=e), n_sims=400, seed=1).threshold)
        for e in (1.0, 2.0, 4.0)
    ]
    assert np.all(np.diff(costs) < 0), costs


def test_distinguishable_defense_lowers_the_threshold(two_types):
    # delta acts through the defend action (a defensive buildup threatens less): the first
    # switch, away from reassure, comes earlier; once a defensive buildup threatens no one
    # (h = max(0, 1 + omega - 2*delta) = 0 from delta = 0.75 at omega = 0.5) it stays put
    values = [p_star(two_types, delta=d) for d in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert np.all(np.diff(values[:4]) < 0), values
    assert values[4] == values[3], values
    # without the defensive posture, delta does not move p* at all (deter's threat is
    # 1 + omega whatever delta, and the hazard's stakes are omega's)
    pair = [
        float(
            decide(
                types=two_types,
                params=ModelParams(delta=d),
                actions=("deter", "reassure"),
                n_sims=400,
                seed=11,
            ).threshold
        )
        for d in (0.0, 1.0)
    ]
    assert pair[0] == pair[1], pair


def test_offense_advantage_moves_threshold_the_way_the_model_implies(two_types, hand_loss):
    losses = Losses()
    omegas = (0.0, 0.5, 1.0)
    sims, implied = [], []
    for om in omegas:
        ds = decide(
            types=two_types,
            params=ModelParams(omega=om),
            actions=("deter", "reassure"),
            n_sims=400,
            seed=3,
        )
        U = ds.utility
        d_i = float(
            U.sel(action="reassure", rival_type="insecure")
            - U.sel(action="deter", rival_type="insecure")
        )
        d_g = float(
            U.sel(action="deter", rival_type="greedy")
            - U.sel(action="reassure", rival_type="greedy")
        )
        sims.append((float(ds.threshold), d_i, d_g))
        # the direction implied by the model's own parameters, noise-free and by hand
        q = ModelParams(omega=om, sigma=QUIET)
        hd_i = hand_loss(0.1, 0, 1, q, losses, 10, 0.0) - hand_loss(-0.1, 0, 1, q, losses, 10)
        hd_g = hand_loss(-0.1, 1, 0, q, losses, 10) - hand_loss(0.1, 1, 0, q, losses, 10, 0.0)
        implied.append(hd_i / (hd_i + hd_g))
    p_sim = np.array([s[0] for s in sims])
    # offense advantage raises both costs (Jervis 1978) ...
    assert np.all(np.diff([s[1] for s in sims]) > 0)
    assert np.all(np.diff([s[2] for s in sims]) > 0)
    # ... and p* moves as the model's parameters imply
    assert np.array_equal(np.sign(np.diff(p_sim)), np.sign(np.diff(implied)))


def test_mixed_rival_leaves_only_bad_options(three_types):
    """Neither pure policy dominates for a mixed rival; which is better depends on omega, delta."""
    better = {}
    for om, de in [(0.0, 1.0), (1.0, 0.0)]:
        ds = compare_policies(
            {"deter": AlwaysDeter(), "reassure": AlwaysReassure()},
            types=three_types,
            params=ModelParams(omega=om, delta=de),
            prior={"mixed": 1.0},
            n_sims=300,
            seed=4,
        )
        loss = ds.loss_by_type.sel(rival_type="mixed")
        gap = float(loss.sel(policy="deter") - loss.sel(policy="reassure"))
        se = float(ds.mcse.max())
        assert abs(gap) > 5 * se
        better[(om, de)] = "deter" if gap < 0 else "reassure"
        # both options cost something: deterrence provokes, reassurance is exploited
        mixed = ds.sel(rival_type="mixed")
        if om > 0:
            assert float(mixed.war.sel(policy="deter")) > float(mixed.war.sel(policy="reassure"))
        assert float(mixed.exploitation.sel(policy="reassure")) > float(
            mixed.exploitation.sel(policy="deter")
        )
    assert better == {(0.0, 1.0): "deter", (1.0, 0.0): "reassure"}


def test_parameter_draws(two_types):
    rng = np.random.default_rng(0)
    s = 40
    params = ModelParams(beta=rng.uniform(0.3, 0.9, s), gamma=rng.uniform(0.3, 0.9, s))
    p = rng.beta(2, 2, s)
    belief = xr.DataArray(
        np.stack([p, 1 - p], axis=1),
        dims=("sample", "rival_type"),
        coords={"rival_type": ["greedy", "insecure"]},
    )
    ds = decide(belief, types=two_types, params=params, n_sims=400, seed=2)
    assert ds.attrs["n_belief_draws"] == s
    assert np.all(ds.eu_lower < ds.eu_upper)
    assert float(ds.evpi) >= 0
    from secdilemma.errors import ParameterError

    with pytest.raises(ParameterError, match="draws"):
        decide(belief.isel(sample=slice(0, 10)), types=two_types, params=params, n_sims=40)


def test_bayes_update_matches_the_model_likelihood(three_types):
    p = ModelParams(nu=5.0, omega=0.7, delta=0.2)
    model = DynamicModel(types=three_types, params=p)
    rng = np.random.default_rng(1)
    n = 6
    u = rng.normal(0, 0.1, n)
    y = rng.normal(0.05, 0.1, n)
    sp = model.scenario_params(None, n)
    means = reaction_means(model, sp, u, np.zeros(n))
    prior = rng.dirichlet(np.ones(3), n)
    post = np.exp(bayes_update(np.log(prior), y, means, sp["sigma"], p.nu))
    dx = np.stack([np.full(n, np.nan), y], axis=1)
    uu = np.stack([u, np.full(n, np.nan)], axis=1)
    ll, _ = loglik_components(dx, uu, p, three_types)
    ref = prior * np.exp(ll[:, 1, :])
    np.testing.assert_allclose(post, ref / ref.sum(axis=1, keepdims=True), rtol=1e-10)
