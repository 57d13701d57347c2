"""What-if sweeps: every cell equals the unvectorised path, inputs are checked, errors name them.

The reference for each cell is the library's own one-at-a-time path: ``Study(..., omega=...)``
(its ``belief()`` and ``decide()``), the observer kinds' ``filter``, ``decide`` and
``compare_policies`` with the same seed. Policy values agree exactly (the same futures, the
same operations, from the same belief; with signal channels within 1e-12 relative, where the
weighting by the belief may round the last bit differently); beliefs within 1e-15 (the sweep
filters many settings in one batched call of the exact engine, the study one at a time,
possibly through a fused kernel: they may round the last bit differently; 1e-12 is asked of
the signal cases, measured 1e-16); decision numbers within 1e-12 relative (the sweep also
adds the loss components in another order).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    BayesOptimal,
    BeliefThreshold,
    DynamicModel,
    TitForTat,
    compare_policies,
)
from secdilemma.errors import OutputExistsError, ParameterError, SecdilemmaError
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.study import DEFAULT_N_SIMS
from secdilemma.whatif import DEFAULT_N_SIMS as WHATIF_N_SIMS
from secdilemma.whatif import (
    ChunkError,
    OpenWith,
    evaluate_points,
    parse_vary,
    rank_policies,
    sobol,
    sweep,
    switch_points,
    tornado,
)
from secdilemma.whatif.cells import group
from secdilemma.whatif.sweep import resolve

RTOL = 1e-12  # decision numbers: the same futures, the loss components summed in another order
BELIEF_ATOL = 1e-15  # beliefs: the same model and engine, batched: the last bit may differ


@pytest.fixture(scope="module")
def russia():
    return sd.Study("russia_nato")


@pytest.fixture(scope="module")
def ussr():
    return sd.Study("us_ussr", params="default")


def _close(a, b, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), (what, a, b)
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=RTOL, atol=1e-13, err_msg=what)


def _last_world(study):
    period = study.data_and_moves()[1]["period"].values[-1:]
    return {k: float(study.spec.world.series(k, period)[0]) for k in ("omega", "delta")}


class TestCellsEqualTheStudyOneByOne:
    """A handful of cells against Study(..., input=value).belief()/decide()."""

    def test_world_prior_and_losses(self, russia):
        n = 300
        ds = sweep(
            russia,
            omega=[0.1, 0.9],
            delta=[0.2, 0.7],
            prior_greedy=[0.2, 0.6],
            losses_war=[10.0, 30.0],
            n_sims=n,
        )
        assert ds["p_star"].dims == ("omega", "delta", "prior_greedy", "losses_war")
        for om, de, pg, war in [
            (0.1, 0.2, 0.2, 10.0),
            (0.9, 0.7, 0.6, 30.0),
            (0.9, 0.2, 0.6, 10.0),
        ]:
            prior = {"greedy": pg, "insecure": (1 - pg) / 2, "mixed": (1 - pg) / 2}
            one = sd.Study("russia_nato", omega=om, delta=de, prior=prior, losses={"war": war})
            cell = ds.sel(omega=om, delta=de, prior_greedy=pg, losses_war=war)
            belief = one.belief()["filtered"].isel(period=-1).values
            np.testing.assert_allclose(cell["belief"].values, belief, rtol=0, atol=BELIEF_ATOL)
            dec = one.decide(n_sims=n)
            _close(cell["expected_utility"], dec["expected_utility"], "expected utility")
            _close(cell["p_best"], dec["p_best"], "P(best)")
            _close(cell["p_star"], dec["threshold"], "p*")
            _close(cell["p_greed"], dec["p_greed"], "P(greed)")
            assert abs(float(cell["evpi"]) - float(dec["evpi"])) < 1e-12
            best = str(ds["action"].values[int(cell["best_action"])])
            assert best == dec.attrs["recommended"]

    def test_observer_kinds_persistence_horizon_and_a_coefficient(self, ussr):
        n = 200
        ds = sweep(
            ussr,
            observer=list(OBSERVER_KINDS),
            persistence=[0.8, 0.95],
            horizon=[3, 6],
            kappa=[0.1, 0.5],
            n_sims=n,
        )
        for kind in OBSERVER_KINDS:
            for pe, h, ka in [(0.8, 3, 0.5), (0.95, 6, 0.1)]:
                one = sd.Study("us_ussr", params="default", persistence=pe, horizon=h)
                params = one.exact_params().replace(kappa=ka)
                obs = OBSERVER_KINDS[kind](
                    one.spec.types.type_space(), params, prior=one.spec.observer.prior,
                    persistence=pe,
                )  # fmt: skip
                post = obs.filter(one.moves().drop_vars("signals", errors="ignore"))
                belief = post["filtered"].isel(period=-1)
                cell = ds.sel(observer=kind, persistence=pe, horizon=h, kappa=ka)
                np.testing.assert_allclose(
                    cell["belief"].values, belief.values, rtol=0, atol=BELIEF_ATOL
                )
                dec = sd.decide(
                    belief, params=params.replace(**_last_world(one)),
                    losses=one.spec.decision.losses_obj(), actions=one.spec.decision.actions,
                    horizon=h, n_sims=n, seed=one.spec.sampler.seed,
                )  # fmt: skip
                _close(cell["expected_utility"], dec["expected_utility"], f"EU {kind}")
                _close(cell["p_star"], dec["threshold"], f"p* {kind}")

    def test_policy_values_equal_compare_policies_exactly(self, ussr):
        names = ["always_deter", "tit_for_tat", "grit", "belief_threshold", "bayes_optimal"]
        ds = sweep(ussr, omega=[0.2, 0.8], policy=names, policy_sims=100, n_sims=200)
        assert ds["policy_utility"].dims == ("omega", "policy")
        for om in (0.2, 0.8):
            one = sd.Study("us_ussr", params="default", omega=om)
            belief = ds.sel(omega=om)["belief"].values  # the policies start from it
            params = one.exact_params().replace(**_last_world(one))
            dec = one.spec.decision
            model = DynamicModel(
                types=one.spec.types.type_space(), params=params, losses=dec.losses_obj(),
                actions=dec.actions, horizon=dec.horizon,
            )  # fmt: skip
            thr = float(ds.sel(omega=om)["p_star_effective"])
            ref = compare_policies(
                [AlwaysDeter(), TitForTat(), GRIT(), BeliefThreshold(thr), BayesOptimal(model)],
                types=model.type_space, params=params, losses=dec.losses_obj(),
                actions=dec.actions, horizon=dec.horizon, prior=belief, n_sims=100,
                seed=one.spec.sampler.seed,
            )  # fmt: skip
            np.testing.assert_array_equal(
                ds.sel(omega=om)["policy_utility"].values, ref["expected_utility"].values
            )

    def test_payoff_table_mode_matches_decide(self, ussr):
        rows = {"deter": [0.0, -1.0, -0.5], "defend": [-0.5, -0.2, -0.6],
                "reassure": [-2.0, 1.0, -1.5]}  # fmt: skip
        actions = [a for a in resolve(ussr, {})[0].actions if a in rows]  # the study's own
        table = xr.DataArray(
            [rows[a] for a in actions],
            dims=("action", "rival_type"),
            coords={"action": actions, "rival_type": ["greedy", "insecure", "mixed"]},
        )
        ds = sweep(ussr, omega=[0.3, 0.7], payoff_reassure_greedy=[-3.0, -1.0], payoffs=table)
        assert "p_war" not in ds
        assert ds.attrs["whatif_mode"] == "static"
        for om, v in [(0.3, -3.0), (0.7, -1.0)]:
            one = sd.Study("us_ussr", params="default", omega=om)
            belief = one.belief()["filtered"].isel(period=-1)
            dec = sd.decide(belief, payoffs=table.copy(deep=True).where(
                ~((table.action == "reassure") & (table.rival_type == "greedy")), v
            ))  # fmt: skip
            cell = ds.sel(omega=om, payoff_reassure_greedy=v)
            _close(cell["expected_utility"], dec["expected_utility"], "EU")
            _close(cell["p_star"], dec["threshold"], "p*")
            _close(cell["evpi"], dec["evpi"], "EVPI")

    def test_evaluate_points_equals_the_grid(self, ussr):
        ds = sweep(ussr, omega=[0.2, 0.6], delta=[0.1, 0.9], n_sims=200)
        pts = evaluate_points(ussr, omega=[0.6, 0.2], delta=[0.1, 0.9], n_sims=200)
        for i, (om, de) in enumerate([(0.6, 0.1), (0.2, 0.9)]):
            cell = ds.sel(omega=om, delta=de)
            for var in ("belief", "expected_utility", "p_star", "evpi"):
                np.testing.assert_array_equal(cell[var].values, pts[var].isel(point=i).values)


def test_the_decision_defaults_match_the_study():
    assert WHATIF_N_SIMS == DEFAULT_N_SIMS


class TestResult:
    def test_dims_are_the_input_names_and_attrs_carry_the_definition(self, ussr):
        ds = sweep(ussr, **{"prior.greedy": [0.2, 0.5], "losses.war": [5.0, 20.0]}, n_sims=100)
        assert set(ds["expected_utility"].dims) == {"prior_greedy", "losses_war", "action"}
        assert ds.attrs["study_name"] == "us_ussr"
        definition = json.loads(ds.attrs["whatif_definition"])
        assert definition["axes"] == {"prior_greedy": [0.2, 0.5], "losses_war": [5.0, 20.0]}
        assert definition["fixed"]["omega"] == float(ussr.setting.omega)
        assert ds["best_action"].attrs["flag_meanings"] == " ".join(ds["action"].values)
        for var in ("belief", "p_best", "evpi", "p_war", "arms_cost", "eu_gap"):
            assert np.all(np.isfinite(ds[var].values))
        np.testing.assert_allclose(ds["belief"].sum("rival_type"), 1.0, rtol=1e-12)

    def test_chunking_does_not_change_a_number(self, ussr):
        axes = {"omega": [0.1, 0.4, 0.7], "delta": [0.2, 0.8], "prior_greedy": [0.3, 0.6]}
        one = sweep(ussr, n_sims=100, **axes)
        many = sweep(ussr, n_sims=100, chunks=2, **axes)
        xr.testing.assert_equal(one, many)  # the attrs record the chunking

    def test_only_the_variables_asked_for(self, ussr):
        ds = sweep(ussr, omega=[0.2, 0.8], variables=["best_action", "p_star"], n_sims=50)
        assert set(ds.data_vars) == {"best_action", "p_star"}
        with pytest.raises(ParameterError, match="variables"):
            sweep(ussr, omega=[0.2], variables=["p_starr"], n_sims=50)

    def test_switch_points_name_the_change(self):
        # distinguishability is what makes a defensive posture pay: with the case's own
        # uniform prior the choice moves from reassure to defend as delta rises
        ds = sweep(sd.Study("russia_nato"), delta=np.round(np.linspace(0, 1, 11), 2), n_sims=200)
        (line,) = switch_points(ds)
        assert line["input"] == "delta"
        assert line["changes"]
        lo, hi, before, after = line["changes"][0]
        assert lo < hi
        assert (before, after) == ("reassure", "defend")
        # the same switch as Study.decide on either side of it
        for value, want in ((lo, before), (hi, after)):
            dec = sd.Study("russia_nato", delta=float(value)).decide(n_sims=200)
            assert dec.attrs["recommended"] == want


def test_progress_is_logged_every_so_often(ussr, caplog):
    with caplog.at_level("INFO", logger="secdilemma.whatif"):
        sweep(ussr, omega=[0.1, 0.3, 0.5, 0.7], chunks=1, n_sims=20, log_every=0.0)
    lines = [r.getMessage() for r in caplog.records if r.name == "secdilemma.whatif"]
    assert len(lines) == 4
    assert lines[-1].startswith("whatif: 4/4 chunks done")


class TestBadInput:
    @pytest.mark.parametrize(
        ("axes", "words"),
        [
            ({"omgea": [0.1]}, ["'omgea'", "'omega'"]),
            ({"prior.greed": [0.1]}, ["prior_greedy"]),
            ({"omega": []}, ["omega", "no values"]),
            ({"omega": [0.5, 1.2]}, ["omega", "1.2", "[0, 1]"]),
            ({"prior_greedy": [1.5]}, ["prior_greedy", "[0, 1]"]),
            ({"losses_war": [-1.0]}, ["losses_war", "-1"]),
            ({"losses_discount": [0.0]}, ["losses_discount", "(0, 1]"]),
            ({"horizon": [2.5]}, ["horizon", "integers"]),
            ({"observer": ["naïve"]}, ["observer", "'naive'"]),
            ({"policy": ["grits"]}, ["policy", "'grit'"]),
            ({"omega": [0.2, 0.2]}, ["omega", "more than once"]),
            ({"sigma": [0.0]}, ["sigma"]),
            ({"prior_greedy": [0.7], "prior_mixed": [0.5]}, ["prior_greedy", "sum"]),
            ({"omega": [True]}, ["omega=True", "truth value", "[0, 1]"]),
            ({"losses_war": [np.inf]}, ["losses_war=inf", "[0, inf)"]),
            ({"omega": range(0)}, ["omega", "no values"]),
        ],
    )
    def test_typed_errors_name_the_input(self, ussr, axes, words):
        with pytest.raises(ParameterError) as err:
            sweep(ussr, n_sims=10, **axes)
        for w in words:
            assert w in str(err.value), (w, str(err.value))

    def test_no_inputs_and_unknown_engine(self, ussr):
        with pytest.raises(ParameterError, match="at least one input"):
            sweep(ussr)
        with pytest.raises(ParameterError, match="refit"):
            sweep(ussr, omega=[0.5], engine="fast")
        with pytest.raises(ParameterError, match="chunks"):
            sweep(ussr, omega=[0.5], chunks={"delta": 2})

    def test_variables_typos_get_the_nearest_name(self, ussr):
        with pytest.raises(ParameterError, match="Did you mean 'p_star'"):
            sweep(ussr, omega=[0.5], variables=["p_starr"], n_sims=10)
        one = sweep(ussr, omega=[0.5], variables="p_star", n_sims=10)  # one name, not letters
        assert list(one.data_vars) == ["p_star"]

    def test_chunks_too_large_for_memory_are_refused_with_the_most_allowed(self, ussr):
        axes = {"omega": np.linspace(0, 1, 1000), "delta": np.linspace(0, 1, 1000)}
        with pytest.raises(ParameterError) as err:
            sweep(ussr, chunks=10**6, store="never.zarr", **axes)
        msg = str(err.value)
        for words in ("chunks of 1,000,000 cells", "GiB of working memory", "at most",
                      "32,768", "workers"):  # fmt: skip
            assert words in msg, (words, msg)

    def test_a_grid_too_large_for_memory_is_refused_before_any_work(self, ussr):
        big = np.linspace(0.0, 1.0, 1000)
        with pytest.raises(ParameterError) as err:
            sweep(ussr, omega=big, delta=big, kappa=np.linspace(0, 1, 1000))
        msg = str(err.value)
        for words in ("1,000,000,000 cells", "GiB", "store", "cluster"):
            assert words in msg

    def test_a_failing_chunk_names_its_cell_and_leaves_no_result(self, ussr, tmp_path):
        store = tmp_path / "s.zarr"
        with pytest.raises(ChunkError) as err:
            sweep(
                ussr, omega=[0.3, 0.6], losses_exploitation=[1e307],
                losses_exploit_offense=[1.0, 1e308], n_sims=50, store=store,
            )  # fmt: skip
        assert "losses_exploit_offense=1e+308" in str(err.value)
        assert "omega=0.3" in str(err.value)
        assert "overflow" in str(err.value)
        assert isinstance(err.value, SecdilemmaError)
        assert not store.exists()


class TestStore:
    def test_interrupted_sweep_resumes_to_the_same_result(self, ussr, tmp_path):
        axes = {"omega": [0.1, 0.3, 0.5, 0.7, 0.9], "delta": [0.2, 0.8]}
        whole = sweep(ussr, n_sims=100, chunks=2, **axes)
        store = tmp_path / "s.zarr"
        done = []

        def stop_after_two(i):
            done.append(i)
            if len(done) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            sweep(ussr, n_sims=100, chunks=2, store=store, on_chunk=stop_after_two, **axes)
        assert not store.exists()
        with pytest.raises(OutputExistsError, match="resume"):
            sweep(ussr, n_sims=100, chunks=2, store=store, **axes)
        seen = []
        res = sweep(ussr, n_sims=100, chunks=2, store=store, resume=True, on_chunk=seen.append,
                    **axes)  # fmt: skip
        assert len(seen) == 5 - 2  # the finished chunks were not recomputed
        xr.testing.assert_identical(res.load(), whole)


class TestSensitivity:
    def test_tornado_moves_one_input_at_a_time(self, russia):
        tor = tornado(russia, "p_star", omega=[0.1, 0.9], delta=[0.0, 1.0], n_sims=200)
        assert list(tor["input"].values) == ["delta", "omega"]  # largest swing first
        assert np.all(np.diff(tor["swing"].values) <= 0)
        pts = evaluate_points(russia, delta=[0.0, 1.0], n_sims=200)
        np.testing.assert_array_equal(
            tor.sel(input="delta")[["metric_low", "metric_high"]].to_array().values,
            pts["p_star_effective"].values,
        )
        own = evaluate_points(russia, n_sims=200)
        assert float(tor["metric_base"]) == float(own["p_star_effective"][0])

    def test_sobol_of_a_single_input_is_one(self, russia):
        res = sobol(russia, n=64, metrics=("evpi", "p_greed"), prior_greedy=(0.1, 0.9), n_sims=100)
        assert res["S1"].dims == ("metric", "input")
        for metric in ("evpi", "p_greed"):
            s = res.sel(metric=metric, input="prior_greedy")
            assert abs(float(s.ST) - 1.0) <= 2 * float(s.ST_conf) + 0.05
            assert abs(float(s.S1) - 1.0) <= 2 * float(s.S1_conf) + 0.05

    def test_sobol_notes_a_metric_that_never_changes_and_refuses_choices(self, ussr):
        res = sobol(ussr, n=8, metrics=("best_action",), losses_arms=(0.0, 1e-9), n_sims=50)
        assert json.loads(res.attrs["constant"]) == ["best_action"]
        with pytest.raises(ParameterError, match="choice"):
            sobol(ussr, observer=["aware", "naive"])
        with pytest.raises(ParameterError, match="power of 2"):
            sobol(ussr, n=10, omega=(0.1, 0.9))


class TestPolicies:
    def test_ranking_with_an_opening_reassurance(self, ussr):
        ds = rank_policies(ussr, policies=["always_deter", "grit"], first="reassure", n_sims=50)
        assert set(ds["policy"].values) == {
            "always_deter", "grit", "reassure_then_always_deter", "reassure_then_grit",
        }  # fmt: skip
        assert ds.attrs["study_name"] == "us_ussr"
        ref = compare_policies(
            {"reassure_then_grit": OpenWith("reassure", GRIT())},
            types=ussr.spec.types.type_space(),
            params=ussr.exact_params().replace(**_last_world(ussr)),
            losses=ussr.spec.decision.losses_obj(), actions=ussr.spec.decision.actions,
            horizon=ussr.spec.decision.horizon, prior=ds["belief"].values, n_sims=50,
            seed=ussr.spec.sampler.seed,
        )  # fmt: skip
        np.testing.assert_array_equal(
            ds.sel(policy="reassure_then_grit")["expected_loss"].values,
            ref["expected_loss"].values[0],
        )


def test_parse_vary():
    assert parse_vary("omega=0:1:3") == ("omega", [0.0, 0.5, 1.0])
    assert parse_vary("losses.war=10,20") == ("losses_war", [10.0, 20.0])
    assert parse_vary("observer=aware,naive") == ("observer", ["aware", "naive"])
    for bad in ("omega", "omega=", "omega=0:1:0", "omega=a:b:3", "omega=0:1", "omega=1,,2"):
        with pytest.raises(ParameterError):
            parse_vary(bad)


def test_group_finds_distinct_rows():
    rng = np.random.default_rng(0)
    cols = [rng.integers(0, 3, 500).astype(float), rng.integers(0, 4, 500), np.full(500, np.nan)]
    ids, first = group(cols, 500)
    rows = np.stack([c.astype(float) for c in cols[:2]], axis=1)
    assert first.size == len({tuple(r) for r in rows})
    np.testing.assert_array_equal(rows[first][ids], rows)


def test_importing_whatif_loads_no_dask_zarr_or_salib():
    code = (
        "import sys, secdilemma, secdilemma.whatif; "
        "bad = [m for m in ('dask', 'distributed', 'zarr', 'SALib') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class TestSignals:
    """A study that reads signal channels (russia_nato: the reference's and calibrated ones):
    every cell equals the one-at-a-time path with the channels, to 1e-12 (measured: 1e-16)."""

    SIGNAL_ATOL = 1e-12  # the study may filter through the fused kernel; the sweep through numpy

    def test_the_base_carries_the_channels_the_study_reads(self, russia):
        from secdilemma.whatif.belief import cell_eta0
        from secdilemma.whatif.cells import Cells
        from secdilemma.whatif.inputs import SweepBase

        params = russia.exact_params()
        assert params.signals is not None
        base = SweepBase.from_study(russia, n_sims=10, policy_sims=10)
        assert base.channels == params.signals.names
        moves = russia.moves()["signals"].sel(signal=list(params.signals.names))
        np.testing.assert_array_equal(base.signals, moves.transpose("period", "signal").values)
        used = json.loads(russia.belief().attrs["study_signals_used"])
        assert base.calibrated == tuple("calibrated" in used[c] for c in base.channels)
        assert any(base.calibrated)
        assert not all(base.calibrated)
        # the intercepts recomputed at the study's own world are the study's, bit for bit
        world = _last_world(russia)
        own = Cells(1, {k: np.array([v]) for k, v in world.items()})
        np.testing.assert_array_equal(cell_eta0(base, own)[0], params.signals.eta0)
        definition = json.loads(sweep(russia, omega=[0.5], n_sims=10).attrs["whatif_definition"])
        fixed = definition["fixed"]["signals"]
        assert fixed["names"] == list(base.channels)
        assert fixed["eta0"] == params.signals.eta0.tolist()
        assert fixed["calibrated"] == list(base.calibrated)

    def test_omega_and_every_observer_kind_equal_the_study(self, russia):
        kinds = list(OBSERVER_KINDS)
        assert {"tempered", "selective"} <= set(kinds)
        ds = sweep(russia, omega=[0.1, 0.9], observer=kinds, n_sims=20)
        for om in (0.1, 0.9):
            one = sd.Study("russia_nato", omega=om)
            params = one.exact_params()
            assert params.signals is not None
            for kind in kinds:
                belief = one.belief(observer=kind)["filtered"].isel(period=-1).values
                cell = ds.sel(omega=om, observer=kind)["belief"].values
                np.testing.assert_allclose(cell, belief, rtol=0, atol=self.SIGNAL_ATOL)
            # the channels move the belief: the check has teeth
            no_signals = one.belief(signals=False)["filtered"].isel(period=-1).values
            aware = ds.sel(omega=om, observer="aware")["belief"].values
            assert np.abs(aware - no_signals).max() > 1e-3

    def test_delta_prior_and_temperature_equal_the_study(self, russia):
        ds = sweep(russia, delta=[0.0, 0.8], prior_greedy=[0.2, 0.7], temperature=[0.3, 2.0],
                   n_sims=20)  # fmt: skip
        for de, pg in [(0.0, 0.2), (0.8, 0.7), (0.8, 0.2)]:
            prior = {"greedy": pg, "insecure": (1 - pg) / 2, "mixed": (1 - pg) / 2}
            one = sd.Study("russia_nato", delta=de, prior=prior)
            params = one.exact_params()
            for temp in (0.3, 2.0):
                obs = OBSERVER_KINDS["tempered"](
                    one.spec.types.type_space(), params, prior=one.spec.observer.prior,
                    temperature=temp,
                )  # fmt: skip
                post = obs.filter(one.moves().sel(signal=list(params.signals.names)))
                cell = ds.sel(delta=de, prior_greedy=pg, temperature=temp)["belief"].values
                np.testing.assert_allclose(
                    cell, post["filtered"].isel(period=-1).values, rtol=0, atol=self.SIGNAL_ATOL
                )

    def test_channel_weights_enter_the_grouping(self, russia, monkeypatch):
        """A selective observer with its own weights (zero on one channel) in the same sweep
        as the aware one: each cell is filtered with its own weights."""
        from secdilemma.observers import SelectiveObserver
        from secdilemma.whatif import belief as wb

        weights = {"use_of_force": 0.0, "mid_threat_display": 2.5}
        real = wb._observer

        def observer(base, kind, prior, knob):
            if kind == "selective":
                return SelectiveObserver(
                    base.types, None, prior=prior, channel_weights=weights, buildup_weight=0.5
                )
            return real(base, kind, prior, knob)

        monkeypatch.setattr(wb, "_observer", observer)
        ds = sweep(russia, omega=[0.2, 0.6], observer=["aware", "selective"], n_sims=20)
        for om in (0.2, 0.6):
            one = sd.Study("russia_nato", omega=om)
            params = one.exact_params()
            obs = SelectiveObserver(
                one.spec.types.type_space(), params, prior=one.spec.observer.prior,
                channel_weights=weights, buildup_weight=0.5,
            )  # fmt: skip
            ref = obs.filter(one.moves().sel(signal=list(params.signals.names)))
            ref = ref["filtered"].isel(period=-1).values
            cell = ds.sel(omega=om, observer="selective")["belief"].values
            np.testing.assert_allclose(cell, ref, rtol=0, atol=self.SIGNAL_ATOL)
            aware = one.belief()["filtered"].isel(period=-1).values
            np.testing.assert_allclose(
                ds.sel(omega=om, observer="aware")["belief"].values, aware, rtol=0,
                atol=self.SIGNAL_ATOL,
            )  # fmt: skip
            assert np.abs(cell - aware).max() > 1e-3

    def test_policy_values_equal_compare_policies_with_signals(self, russia):
        """The futures draw the rival's signals (uniforms after the noise), with each cell's
        channel intercepts; the per-type losses are the same, the weighting by the belief
        may round the last bit differently (an einsum over cells against one over
        policies). The dynamic programme (slow) on one cell only."""
        names = ["always_deter", "tit_for_tat", "belief_threshold"]
        ds = sweep(russia, omega=[0.2, 0.8], prior_greedy=[0.2, 0.5], policy=names,
                   policy_sims=40, n_sims=100)  # fmt: skip
        dp = sweep(russia, omega=[0.8], prior_greedy=[0.5], policy=["bayes_optimal"],
                   policy_sims=40, n_sims=100)  # fmt: skip
        moved = []
        for om, pg in [(0.2, 0.2), (0.2, 0.5), (0.8, 0.5)]:
            prior = {"greedy": pg, "insecure": (1 - pg) / 2, "mixed": (1 - pg) / 2}
            one = sd.Study("russia_nato", omega=om, prior=prior)
            cell = ds.sel(omega=om, prior_greedy=pg)
            params = one.exact_params().replace(**_last_world(one))
            assert params.signals is not None
            dec = one.spec.decision
            model = DynamicModel(
                types=one.spec.types.type_space(), params=params, losses=dec.losses_obj(),
                actions=dec.actions, horizon=dec.horizon,
            )  # fmt: skip
            thr = float(cell["p_star_effective"])
            pols = [AlwaysDeter(), TitForTat(), BeliefThreshold(thr)]
            got = cell["policy_utility"].values
            if (om, pg) == (0.8, 0.5):
                pols.append(BayesOptimal(model))
                got = np.append(got, dp.sel(omega=om, prior_greedy=pg)["policy_utility"].values)
            kw = dict(
                types=model.type_space, losses=dec.losses_obj(), actions=dec.actions,
                horizon=dec.horizon, prior=cell["belief"].values, n_sims=40,
                seed=one.spec.sampler.seed,
            )  # fmt: skip
            ref = compare_policies(pols, params=params, **kw)
            np.testing.assert_allclose(got, ref["expected_utility"].values, rtol=RTOL, atol=0)
            without = compare_policies(pols[:3], params=params.replace(signals=None), **kw)
            moved.append(np.abs(without["expected_utility"].values - got[:3]))
        assert np.max(moved) > 1e-6  # the signals change the belief-led policies' futures


def test_policy_values_with_a_swept_loss_use_each_cells_losses(ussr):
    """Each group of rollouts takes its own losses and horizon (not those of the first cell
    with the same parameters)."""
    ds = sweep(ussr, omega=[0.2, 0.8], losses_war=[10.0, 40.0], horizon=[3, 5],
               policy=["grit", "belief_threshold"], policy_sims=30, n_sims=50)  # fmt: skip
    for om, war, h in [(0.2, 40.0, 3), (0.8, 10.0, 5), (0.8, 40.0, 5)]:
        one = sd.Study("us_ussr", params="default", omega=om, losses={"war": war}, horizon=h)
        cell = ds.sel(omega=om, losses_war=war, horizon=h)
        ref = compare_policies(
            [GRIT(), BeliefThreshold(float(cell["p_star_effective"]))],
            types=one.spec.types.type_space(),
            params=one.exact_params().replace(**_last_world(one)),
            losses=one.spec.decision.losses_obj(), actions=one.spec.decision.actions,
            horizon=h, prior=cell["belief"].values, n_sims=30, seed=one.spec.sampler.seed,
        )  # fmt: skip
        np.testing.assert_array_equal(cell["policy_utility"].values, ref["expected_utility"].values)
