"""Decision sensitivity to the coefficient priors (secdilemma.study.sensitivity).

References: the pooled reference's quantiles read straight from the TOML file; the decision
recomputed with :func:`secdilemma.decide` on the study's belief and parameters, the one
coefficient replaced by hand; a coefficient the decision never reads (``anchor`` without
mean reversion).
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

import secdilemma as sd
from secdilemma._paths import models_dir
from secdilemma.errors import ParameterError
from secdilemma.study import coefficient_sensitivity

CASE = "anglo_german_naval"
N_SIMS = 400  # common random numbers make every comparison exact; few futures suffice


@pytest.fixture(scope="module")
def study():
    return sd.Study(CASE)


@pytest.fixture(scope="module")
def default_table(study):
    return coefficient_sensitivity(study, n_sims=N_SIMS)


def _decide_by_hand(study, **change):
    """The decision of Study.decide('exact'), the one coefficient replaced."""
    belief = study.belief()["filtered"].isel(period=-1)
    params = study.exact_params().replace(**study._last_world(), **change)
    dec = study.spec.decision
    return sd.decide(
        belief, params=params, losses=dec.losses_obj(), actions=dec.actions,
        horizon=dec.horizon, n_sims=N_SIMS, seed=study.spec.sampler.seed,
    )  # fmt: skip


def test_levels_are_the_pools_quantiles(default_table):
    doc = tomllib.loads((models_dir() / "reference_params.toml").read_text())
    ds = default_table
    assert ds["coefficient"].values.tolist() == ["kappa", "beta", "gamma"]
    assert ds["level"].values.tolist() == ["q05", "median", "q95"]
    for name in ("kappa", "beta", "gamma"):
        want = [doc["posterior"][name][k] for k in ("q05", "median", "q95")]
        np.testing.assert_allclose(ds["value"].sel(coefficient=name).values, want, rtol=0)
    k = doc["posterior"]["kappa"]
    assert f"{k['median']:.3g} [{k['q05']:.3g}, {k['q95']:.3g}]" in ds.attrs["kappa_pool"]


def test_each_level_is_the_decision_with_that_coefficient(study, default_table):
    ds = default_table
    for name in ("kappa", "gamma"):
        for level in ("q05", "q95"):
            v = float(ds["value"].sel(coefficient=name, level=level))
            ref = _decide_by_hand(study, **{name: v})
            row = ds.sel(coefficient=name, level=level)
            assert row["recommended"].item() == ref.attrs["recommended"]
            np.testing.assert_allclose(float(row["threshold"]), float(ref["threshold"]))
            np.testing.assert_allclose(
                row["expected_utility"].values, ref["expected_utility"].values, rtol=1e-12
            )


def test_baseline_is_the_studys_own_decision(study, default_table):
    ref = study.decide(n_sims=N_SIMS)
    assert default_table.attrs["baseline_recommended"] == ref.attrs["recommended"]
    np.testing.assert_allclose(default_table.attrs["baseline_threshold"], float(ref["threshold"]))


def test_switching_value_separates_the_two_recommendations(study):
    # beta over a wide range: the recommendation flips inside it (deter to reassure)
    ds = coefficient_sensitivity(
        study, names=["beta"], intervals={"beta": (0.005, 0.08, 2.0)}, n_sims=N_SIMS
    )
    switch = ds["switch_value"].sel(coefficient="beta").values
    assert bool(ds["hinges"].sel(coefficient="beta"))
    x = float(switch[np.isfinite(switch)][0])
    below = _decide_by_hand(study, beta=x * (1 - 1e-3)).attrs["recommended"]
    above = _decide_by_hand(study, beta=x * (1 + 1e-3)).attrs["recommended"]
    assert below != above
    (sentence,) = json.loads(ds.attrs["sentences"])
    base = ds.attrs["baseline_recommended"]
    side = "<" if base == below else ">"
    assert f"{base} holds only if beta {side} {x:.3g}" in sentence


def test_a_coefficient_the_decision_never_reads_changes_nothing(study):
    # anchor matters only with mean reversion (lam > 0); the study has none
    assert float(np.mean(study.exact_params().lam)) == 0.0
    ds = coefficient_sensitivity(
        study, names=["anchor"], intervals={"anchor": (-1.0, 0.0, 1.0)}, n_sims=N_SIMS
    )
    eu = ds["expected_utility"].sel(coefficient="anchor").values
    np.testing.assert_array_equal(eu, np.broadcast_to(eu[0], eu.shape))
    assert len(set(ds["recommended"].values.ravel().tolist())) == 1
    assert len(set(ds["threshold"].values.ravel().tolist())) == 1
    assert not bool(ds["hinges"].sel(coefficient="anchor"))
    (sentence,) = json.loads(ds.attrs["sentences"])
    assert "holds across its interval" in sentence
    assert "p* stays" in sentence


def test_kappa_boundary_is_noted_when_a_point_sits_at_zero(study, default_table):
    doc = tomllib.loads((models_dir() / "reference_params.toml").read_text())
    ml = doc["params"]["kappa"]
    assert float(np.mean(study.exact_params().kappa)) == doc["posterior"]["kappa"]["median"]
    note = default_table.attrs["boundary_note"]
    assert ("ML point estimate of kappa" in note) == (ml < 1e-6)
    assert "exact observer's kappa" not in note  # the posterior median is not at zero


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"names": ["nu"]}, "`names`"),
        ({"names": ["kappa", "kappa"]}, "`names`"),
        ({"names": ["lam"]}, "`names` has 'lam'"),
        ({"names": ["kappa"], "intervals": {"kappa": (0.1, 0.05, 0.2)}}, r"`intervals\['kappa'\]`"),
        ({"names": ["kappa"], "intervals": {"kappa": "abc"}}, r"`intervals\['kappa'\]`"),
        ({"rtol": 0.0}, "`rtol`"),
    ],
)
def test_bad_arguments_raise_typed_errors(study, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        coefficient_sensitivity(study, **kwargs)
