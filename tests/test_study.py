"""The Study contract: one resolved setting runs the chain, for a case, a spec and a dyad.

Every way of building a study must resolve the same kind of setting, stamp it on every
result, honour one precedence rule (argument > spec > default), refuse bad arguments with
typed errors that name them, and write a spec that loads back to the same study.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma._paths import models_dir
from secdilemma.data.schema import DERIVED_CHANNELS
from secdilemma.errors import DataError, ParameterError, SecdilemmaError, SpecError
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA, ModelParams
from secdilemma.spec import (
    load_reference_params,
    load_reference_point,
    load_reference_posterior,
    load_spec,
)
from secdilemma.study import Study

#: One study of each kind: a bundled case, a spec file, and a pair of states no case bundles.
BUILDERS = {
    "case": lambda **kw: Study("us_ussr", **kw),
    "spec": lambda **kw: Study(models_dir() / "us_china.toml", **kw),
    "dyad": lambda **kw: Study.from_dyad("Iran", "Iraq", start=1960, end=1988, **kw),
}


@pytest.fixture(params=sorted(BUILDERS))
def build(request):
    return BUILDERS[request.param]


class TestStudyContract:
    """What every study, however built, must do."""

    def test_setting_is_resolved_and_matches_the_data(self, build):
        study = build()
        s = study.setting
        moves = study.moves()
        assert (s.start, s.end) == (int(moves.period[0]), int(moves.period[-1]))
        assert s.observer in sd.observers.OBSERVER_KINDS
        assert s.params == "reference"
        assert s.horizon >= 1
        assert isinstance(s.seed, int)
        ds = study.data()
        assert s.observer_state == ds.attrs["observer"]
        assert s.rival_state == ds.attrs["rival"]

    def test_every_result_carries_the_setting(self, build):
        study = build()
        for res in (study.data(), study.moves(), study.belief(), study.decide(n_sims=200)):
            assert res.attrs["study_name"] == study.setting.name
            assert res.attrs["study_years"] == study.setting.years
            setting = json.loads(res.attrs["study_setting"])
            assert setting["omega"] == study.setting.omega
            assert setting["params"] == "reference"
            assert setting["version"] == sd.__version__

    def test_belief_is_a_distribution_over_types(self, build):
        post = build().belief()
        for var in ("filtered", "smoothed"):
            np.testing.assert_allclose(post[var].sum("rival_type"), 1.0, atol=1e-12)
        assert post.attrs["study_engine"] == "exact"

    def test_decision_names_its_engine_and_belief(self, build):
        study = build()
        res = study.decide(n_sims=200)
        assert res.attrs["study_engine"] == "exact"
        assert "exact observer's belief" in res.attrs["study_belief"]
        post = study.belief()
        np.testing.assert_allclose(
            res["belief"].values, post["filtered"].isel(period=-1).values, atol=1e-12
        )

    def test_seeded_decisions_reproduce(self, build):
        a, b = build(seed=7).decide(n_sims=200), build(seed=7).decide(n_sims=200)
        xr.testing.assert_identical(a, b)

    def test_overrides_win_over_the_spec(self, build):
        study = build(omega=0.3, delta=0.8, prior={"greedy": 0.5, "insecure": 0.5}, horizon=4)
        s = study.setting
        assert (s.omega, s.delta, s.horizon) == (0.3, 0.8, 4)
        assert s.prior == {"greedy": 0.5, "insecure": 0.5, "mixed": 0.0}
        prm = study.exact_params()
        assert (float(prm.omega), float(prm.delta)) == (0.3, 0.8)
        assert study.decide(n_sims=100).attrs["study_omega"] == "0.3"

    def test_spec_round_trip_gives_the_same_study(self, build, tmp_path):
        study = build(omega=0.35, prior={"greedy": 0.2, "insecure": 0.5, "mixed": 0.3})
        path = tmp_path / "study.toml"
        study.to_spec(path)
        again = Study(path)
        mine, theirs = study.setting.attrs(), again.setting.attrs()
        for key in ("study_spec_path", "study_source", "study_setting"):
            mine.pop(key)
            theirs.pop(key)
        assert mine == theirs
        xr.testing.assert_allclose(study.belief()["filtered"], again.belief()["filtered"])
        with pytest.raises(sd.OutputExistsError):
            study.to_spec(path)

    @pytest.mark.parametrize(
        ("argument", "value", "named"),
        [
            ("omega", 1.5, "omega"),
            ("delta", float("nan"), "delta"),
            ("observer", "paranoid", "observer"),
            ("params", "posterior", "params"),
            ("prior", {"greedy": 0.9, "insecure": 0.9}, "prior"),
            ("prior", {"hawkish": 1.0}, "prior"),
            ("horizon", 0, "horizon"),
            ("seed", -3, "seed"),
        ],
    )
    def test_bad_arguments_are_typed_errors_that_name_them(self, build, argument, value, named):
        with pytest.raises(SecdilemmaError, match=named):
            build(**{argument: value})


def test_a_bare_case_name_means_its_spec():
    by_name, by_path = Study("anglo_german_naval"), Study(models_dir() / "anglo_german_naval.toml")
    spec = load_spec("anglo_german_naval")
    assert (by_name.setting.start, by_name.setting.end) == (spec.data.start, spec.data.end)
    assert by_name.setting.omega == spec.world.omega
    xr.testing.assert_identical(by_name.belief()["filtered"], by_path.belief()["filtered"])


def test_defaults_where_nothing_is_said():
    study = Study.from_dyad("India", "Pakistan", start=1960, end=2000)
    s = study.setting
    assert (s.omega, s.delta) == (DEFAULT_OMEGA, DEFAULT_DELTA)
    assert s.prior == "uniform"
    assert s.observer == "aware"
    assert s.source == "dyad"
    assert s.name == "IND-PAK"
    # the channels derived from MID and ATOP for every pair, all covered in these years
    assert study.spec.signals.channels == DERIVED_CHANNELS
    assert set(study.moves()["signal"].values) == set(DERIVED_CHANNELS)


def test_parameter_sources():
    ref = Study("us_ussr").exact_params()
    point, sources = load_reference_point()
    # the posterior's medians of the shared coefficients (the ML point sits at the boundary)
    assert float(ref.kappa) == float(point.kappa) == load_reference_posterior()["kappa"]["median"]
    assert float(ref.kappa) > 0.0
    assert float(ref.mu) == float(load_reference_params().mu)  # mu, sigma: the ML point's
    assert sources["kappa"] == "posterior median"
    assert sources["mu"] == "ML point estimate"
    assert float(Study("us_ussr", params="default").exact_params().beta) == ModelParams().beta


def test_a_by_period_world_reaches_the_observer_and_the_decision():
    study = Study("us_ussr", omega={1946: 0.2, 1970: 0.8})
    prm = study.exact_params()
    years = study.moves().period.values
    assert np.asarray(prm.omega).shape == years.shape
    assert float(np.asarray(prm.omega)[years == 1960][0]) == 0.2
    assert study._last_world()["omega"] == 0.8
    assert "by period" in study.setting.world()


def test_unknown_things_get_the_nearest_names():
    with pytest.raises(SpecError, match="Did you mean 'us_china'"):
        Study("us_chna")
    with pytest.raises((DataError, SpecError), match=r"(?i)did you mean"):
        Study.from_dyad("Indai", "Pakistan")
    with pytest.raises(ParameterError, match="source"):
        Study.from_dyad("India", "Pakistan", source="cow")


def test_the_naive_observer_on_the_same_setting():
    study = Study("us_ussr")
    naive = study.belief(observer="naive")
    assert naive.attrs["study_observer"] == "naive"
    assert not np.allclose(naive["filtered"].values, study.belief()["filtered"].values)


@pytest.mark.slow
@pytest.mark.ci
def test_the_fit_engine_through_the_study():
    study = Study("anglo_german_naval", seed=11)
    tree = study.fit(sampler="nutpie", chains=2, draws=200, tune=200)
    assert tree.attrs["study_name"] == "anglo_german_naval"
    post = study.belief("fit")
    np.testing.assert_allclose(post["filtered_mean"].sum("rival_type"), 1.0, atol=1e-9)
    res = study.decide("fit", n_sims=300, max_draws=100)
    assert res.attrs["study_engine"] == "fit"
    assert res.attrs["n_belief_draws"] == 100


def test_study_sweep_is_the_whatif_sweep():
    study = Study("russia_nato")
    grid = study.sweep(omega=[0.3, 0.7], n_sims=200)
    assert grid.sizes["omega"] == 2
    assert grid.attrs["study_name"] == "russia_nato"
    again = sd.sweep(study, omega=[0.3, 0.7], n_sims=200)
    xr.testing.assert_identical(grid, again)
