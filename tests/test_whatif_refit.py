"""``sweep(..., engine="refit")``: the PyMC fit re-sampled per likelihood setting (issue 13).

The fitting tests run one tiny sweep (the naval case, omega in {0.3, 0.7} crossed with two
arms losses, 1 chain x 100 draws + 100 tune) and compare every cell with an independent
:class:`secdilemma.Study` fitted with the same settings and seed (same seed -> same draws);
they count the compilations by wrapping :func:`~secdilemma.engines.pymc.sampling.compile_nutpie`
on an empty :data:`~secdilemma.engines.pymc.sampling.COMPILED`. The fast tests replace the fit
with a fixed posterior.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.decision import decide
from secdilemma.errors import ParameterError
from secdilemma.whatif import plan_sweep, sweep
from secdilemma.whatif import refit as refit_mod

CASE = "anglo_german_naval"
TINY = {"refit_draws": 100, "refit_tune": 100, "refit_chains": 1}
FIT = {"draws": 100, "tune": 100, "chains": 1}
OMEGAS = [0.3, 0.7]
N_SIMS = 200


@pytest.fixture(scope="module")
def study() -> sd.Study:
    return sd.Study(CASE)


@pytest.fixture(scope="module")
def arms_values(study: sd.Study) -> list[float]:
    """Two arms losses: half the spec's and the spec's own (the latter matches Study)."""
    own = float(study.spec.decision.losses_obj().arms)
    return [0.5 * own, own]


@pytest.fixture(scope="module")
def refit_run(study: sd.Study, arms_values: list[float]) -> dict[str, Any]:
    """The sweep, on an empty cache of compiled models, counting compile_nutpie's calls."""
    from secdilemma.engines.pymc import sampling

    calls: list[int] = []
    original = sampling.compile_nutpie

    def counting(model: Any) -> Any:
        calls.append(1)
        return original(model)

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mp.setattr(sampling, "COMPILED", {})
        mp.setattr(sampling, "compile_nutpie", counting)
        ds = sweep(study, engine="refit", omega=OMEGAS, losses_arms=arms_values,
                   n_sims=N_SIMS, **TINY)  # fmt: skip
        compiled = len(sampling.COMPILED)
    return {"ds": ds, "calls": len(calls), "compiled": compiled, "warnings": caught}


@pytest.mark.slow
@pytest.mark.ci
def test_each_cell_is_the_study_fitted_with_that_omega(
    refit_run: dict[str, Any], arms_values: list[float]
) -> None:
    ds = refit_run["ds"]
    for v in OMEGAS:
        ref = sd.Study(CASE, omega=v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref.fit(**FIT)
        assert ref.model_ is not None
        seed = ref.spec.sampler.seed
        draws, _ = ref.model_.belief_draws(max_draws=refit_mod.MAX_DRAWS, seed=seed)
        for arms in arms_values:  # the fit is reused across the decision's inputs
            got = ds["belief"].sel(omega=v, losses_arms=arms).values
            np.testing.assert_array_equal(got, draws.mean("sample").values)
        tp = ref.model_.idata_["type_probabilities"]["type_probability"]  # type: ignore[index]
        mean = tp.isel(dyad=0).mean(("chain", "draw")).values
        np.testing.assert_allclose(ds["belief"].sel(omega=v, losses_arms=arms).values, mean,
                                   rtol=1e-12)  # fmt: skip
        dec = ref.decide("fit", n_sims=N_SIMS)  # the spec's losses: the last arms value
        cell = ds.sel(omega=v, losses_arms=arms_values[-1])
        np.testing.assert_array_equal(cell["expected_utility"].values,
                                      dec["expected_utility"].values)  # fmt: skip
        np.testing.assert_array_equal(cell["p_best"].values, dec["p_best"].values)
        assert float(cell["evpi"]) == float(dec["evpi"])
        np.testing.assert_equal(float(cell["p_star"]), float(dec["threshold"]))
        assert str(ds.action.values[int(cell["best_action"])]) == dec.attrs["recommended"]


@pytest.mark.slow
@pytest.mark.ci
def test_one_compilation_for_every_fit(refit_run: dict[str, Any]) -> None:
    ds = refit_run["ds"]
    assert refit_run["calls"] == 1  # compile_nutpie: the first fit only
    assert refit_run["compiled"] == 1  # one structure in the cache
    assert ds.attrs["whatif_n_fits"] == 2
    assert ds.attrs["whatif_compilations"] == 1
    assert ds.attrs["whatif_compiled_model_reused"] == 1
    first, second = json.loads(ds.attrs["whatif_fit_seconds"])
    assert second < first  # the second fit sends data only


@pytest.mark.slow
@pytest.mark.ci
def test_attrs_say_refit_and_list_the_fits(refit_run: dict[str, Any]) -> None:
    ds = refit_run["ds"]
    assert ds.attrs["whatif_engine"] == "refit"
    fits = json.loads(ds.attrs["whatif_fits"])
    assert [f["setting"] for f in fits] == [{"omega": v} for v in OMEGAS]
    for f in fits:
        assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "ok"} <= set(f)
        assert f["max_rhat"] is None  # one chain
        assert not f["ok"]
        assert f["min_ess_bulk"] < 400  # 100 draws fail the gate
    assert "2 of 2 fits fail" in ds.attrs["whatif_fit_warning"]
    msgs = [str(w.message) for w in refit_run["warnings"]]
    assert sum("fits fail the diagnostics gate" in m for m in msgs) == 1
    assert ds["best_action"].dims == ("omega", "losses_arms")
    assert ds["belief"].dims == ("omega", "losses_arms", "rival_type")


# -- fast: the fit replaced by a fixed posterior -------------------------------------------------
class _FakeModel:
    """A fitted model's surface: two fixed belief draws, the study's exact parameters."""

    def __init__(self, spec: Any, params: Any) -> None:
        self.spec = spec
        self.params = params
        self.diagnostics_ = {"max_rhat": 1.0, "min_ess_bulk": 900.0, "min_ess_tail": 800.0,
                             "divergences": 0, "ok": True, "problems": []}  # fmt: skip

    def belief_draws(self, *, max_draws: int, seed: int) -> tuple[xr.DataArray, Any]:
        omega = float(self.spec.world.omega)
        b = np.array([[0.2 + 0.5 * omega, 0.5 - 0.5 * omega, 0.3], [0.3, 0.4, 0.3]])
        belief = xr.DataArray(b, dims=("sample", "rival_type"),
                              coords={"rival_type": ["greedy", "insecure", "mixed"]})  # fmt: skip
        return belief, self.params


@pytest.fixture
def fake_fit(monkeypatch: pytest.MonkeyPatch, study: sd.Study) -> list[Any]:
    specs: list[Any] = []
    params = sd.Study(CASE, params="default").exact_params()

    def fit(_study: Any, spec: Any, seed: int, settings: Any) -> tuple[Any, float]:
        specs.append(spec)
        return _FakeModel(spec, params), 2.5

    monkeypatch.setattr(refit_mod, "_fit", fit)
    return specs


def test_cells_decide_on_each_fits_draws_fast(fake_fit: list[Any], study: sd.Study) -> None:
    ds = sweep(study, engine="refit", omega=OMEGAS, horizon=[3, 5], prior_greedy=[0.5],
               n_sims=100, **TINY)  # fmt: skip
    assert len(fake_fit) == 2  # one fit per omega; horizon reuses it
    assert [s.world.omega for s in fake_fit] == OMEGAS
    prior = fake_fit[0].observer.prior
    assert prior["greedy"] == 0.5
    assert abs(sum(prior.values()) - 1.0) < 1e-12
    model = _FakeModel(fake_fit[1], sd.Study(CASE, params="default").exact_params())
    belief, params = model.belief_draws(max_draws=500, seed=0)
    ref = decide(belief, params=params.replace(omega=0.7, delta=study.setting.delta),
                 losses=study.spec.decision.losses_obj(), actions=study.spec.decision.actions,
                 horizon=5, n_sims=100, seed=study.spec.sampler.seed)  # fmt: skip
    cell = ds.sel(omega=0.7, horizon=5, prior_greedy=0.5)
    np.testing.assert_array_equal(cell["expected_utility"].values, ref["expected_utility"].values)
    np.testing.assert_array_equal(cell["belief"].values, belief.mean("sample").values)
    assert ds.attrs["whatif_n_fits"] == 2
    assert "whatif_fit_warning" not in ds.attrs


def test_too_many_fits_refused_with_the_time(fake_fit: list[Any], study: sd.Study) -> None:
    with pytest.raises(ParameterError, match=r"3 fits.*max_fits=2.*2\.5 s.*max_fits=3"):
        sweep(study, engine="refit", omega=[0.2, 0.5, 0.8], max_fits=2, **TINY)
    assert len(fake_fit) == 1  # refused after the first fit, not after all of them


@pytest.mark.parametrize(
    ("axes", "match"),
    [
        ({"kappa": [0.1, 0.2]}, "cannot vary 'kappa'"),
        ({"observer": ["naive"]}, "cannot vary 'observer'"),
        ({"policy": ["grit"]}, "cannot vary 'policy'"),
        ({"temperature": [0.5]}, "cannot vary 'temperature'"),
        ({"omega": {1900: 0.3}}, "constant values of 'omega'"),
        ({}, "at least one input"),
    ],
)
def test_refit_refuses_what_it_cannot_vary(
    study: sd.Study, axes: dict[str, Any], match: str
) -> None:
    with pytest.raises(ParameterError, match=match):
        sweep(study, engine="refit", **axes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"store": "x.zarr"}, "store"),
        ({"workers": 2}, "workers"),
        ({"payoffs": [[0.0, 1.0, 0.0]]}, "payoff table"),
        ({"refit_draws": 0}, "refit_draws"),
        ({"refit_chains": 1.5}, "refit_chains"),
        ({"max_fits": 0}, "max_fits"),
        ({"variables": ["p_war"]}, "variables"),
        ({"engine": "fast"}, "engine 'fast'"),
    ],
)
def test_refit_bad_arguments(study: sd.Study, kwargs: dict[str, Any], match: str) -> None:
    kw = {"engine": "refit", **kwargs}
    with pytest.raises(ParameterError, match=match):
        sweep(study, omega=[0.3], **kw)


def test_plan_sweep_points_to_sweep_for_refit(study: sd.Study) -> None:
    with pytest.raises(ParameterError, match="call sweep"):
        plan_sweep(study, engine="refit", omega=[0.3])


def test_cli_engine_refit_writes_the_sweep_and_the_fits(
    fake_fit: list[Any], study: sd.Study, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from secdilemma.interfaces.cli import app
    from secdilemma.io import load_dataset

    args = ["whatif", CASE, "--engine", "refit", "--vary", "omega=0.3,0.7", "--vary",
            "horizon=3,5", "--refit-draws", "100", "--n-sims", "100"]  # fmt: skip
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "2 fits, 0 compilation(s)" in " ".join(res.output.split())  # the fit is faked
    ds = load_dataset(tmp_path / "w" / "sweep.nc")
    assert ds.attrs["whatif_engine"] == "refit"
    assert ds["best_action"].dims == ("omega", "horizon")
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [
        "decision_map.png", "line.png", "sweep.nc"]  # fmt: skip
    bad = CliRunner().invoke(app, ["whatif", CASE, "--engine", "refit", "--vary", "kappa=0.1,0.2",
                                   "--out", str(tmp_path / "k")])  # fmt: skip
    assert bad.exit_code != 0
    assert "cannot vary 'kappa'" in " ".join(bad.output.split())
