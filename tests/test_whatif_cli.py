"""The ``whatif`` and ``policies`` verbs end to end, the three questions of the issue, and the
structure of the what-if figures."""

from __future__ import annotations

import socket

import matplotlib
import numpy as np
import pytest
from typer.testing import CliRunner

import secdilemma as sd
from secdilemma.interfaces.cli import app
from secdilemma.interfaces.plots.whatif import (
    plot_decision_map,
    plot_line,
    plot_policies,
    plot_sobol,
    plot_tornado,
)
from secdilemma.io import load_dataset
from secdilemma.whatif import plan_sweep, rank_policies, run_sweep, sobol, sweep, tornado

matplotlib.use("Agg")
runner = CliRunner()
FAST = ["--n-sims", "200", "--sobol-samples", "8"]


def flat(res) -> str:
    return " ".join(res.output.split())


class TestTheThreeQuestions:
    """Each question of the issue is one command and gives a figure."""

    def test_what_if_offence_dominance_fell_from_0_7_to_0_3(self, tmp_path):
        out = tmp_path / "q1"
        res = runner.invoke(app, ["whatif", "russia_nato", "--vary", "omega=0.3:0.7:5",
                                  "--out", str(out), *FAST])  # fmt: skip
        assert res.exit_code == 0, res.output
        ds = load_dataset(out / "sweep.nc")
        assert ds["omega"].values.tolist() == [0.3, 0.4, 0.5, 0.6, 0.7]
        for om in (0.3, 0.7):
            dec = sd.Study("russia_nato", omega=om).decide(n_sims=200)
            cell = ds.sel(omega=om)
            assert str(ds["action"].values[int(cell["best_action"])]) == dec.attrs["recommended"]
            np.testing.assert_allclose(cell["p_star"], dec["threshold"], rtol=1e-12)
        text = flat(res)
        assert "along omega" in text
        assert "inputs that matter most for p_star" in text
        for f in ("line.png", "tornado.png", "sobol.png", "sweep.nc"):
            assert (out / f).is_file()

    def test_what_if_our_prior_that_russia_is_greedy_were_0_6(self, tmp_path):
        out = tmp_path / "q2"
        res = runner.invoke(app, ["whatif", "russia_nato", "--vary", "prior.greedy=0.6",
                                  "--out", str(out), *FAST])  # fmt: skip
        assert res.exit_code == 0, res.output
        ds = load_dataset(out / "sweep.nc")
        one = sd.Study("russia_nato", prior={"greedy": 0.6, "insecure": 0.2, "mixed": 0.2})
        np.testing.assert_allclose(
            ds["belief"].sel(prior_greedy=0.6).values,
            one.belief()["filtered"].isel(period=-1).values,
            rtol=0,
            atol=1e-15,
        )
        assert "prior_greedy" in res.output
        assert "at the study's own setting" in flat(res)
        assert (out / "line.png").is_file()

    def test_which_ten_year_policy_wins_if_we_reassure_first(self, tmp_path):
        out = tmp_path / "q3"
        res = runner.invoke(app, ["policies", "russia_nato", "--horizon", "10", "--first",
                                  "reassure", "--n-sims", "200", "--out", str(out)])  # fmt: skip
        assert res.exit_code == 0, res.output
        ds = load_dataset(out / "policies.nc")
        assert "reassure_then_grit" in ds["policy"].values.tolist()
        assert int(ds.attrs["horizon"]) == 10
        best = str(ds["policy"].values[int(np.argmin(ds["expected_loss"].values))])
        assert f" 1  {best.replace('reassure_then_', 'reassure, then ')}" in res.output
        assert (out / "policies.png").is_file()


class TestWhatifVerb:
    def test_a_grid_writes_the_sweep_the_figures_and_a_summary(self, tmp_path):
        out = tmp_path / "g"
        res = runner.invoke(app, ["whatif", "us_ussr", "--params", "default", "--vary",
                                  "omega=0:1:5", "--vary", "delta=0:1:3", "--vary",
                                  "observer=aware,naive", "--out", str(out), *FAST])  # fmt: skip
        assert res.exit_code == 0, res.output
        for f in ("sweep.nc", "tornado.nc", "sobol.nc", "decision_map.png", "tornado.png",
                  "sobol.png", "line.png"):  # fmt: skip
            assert (out / f).is_file(), f
        ds = load_dataset(out / "sweep.nc")
        assert ds["best_action"].dims == ("omega", "delta", "observer")
        assert "best action over the grid" in flat(res)
        assert not (tmp_path / ".whatif-chunks").exists() or not any(
            (tmp_path / ".whatif-chunks").iterdir()
        )
        again = runner.invoke(app, ["whatif", "us_ussr", "--vary", "omega=0:1:5", "--out",
                                    str(out), *FAST])  # fmt: skip
        assert again.exit_code == 2
        assert "already exists" in again.output

    @pytest.mark.parametrize(
        ("vary", "words"),
        [
            ("omgea=0:1:3", ["omgea", "'omega'"]),
            ("omega=0:1:0", ["empty"]),
            ("prior.greedy=1.4", ["prior_greedy", "[0, 1]"]),
            ("losses.war=-3", ["losses_war", "-3"]),
            ("omega", ["NAME=VALUES"]),
        ],
    )
    def test_bad_input_is_one_typed_line(self, tmp_path, vary, words):
        res = runner.invoke(app, ["whatif", "us_ussr", "--vary", vary, "--out",
                                  str(tmp_path / "x")])  # fmt: skip
        assert res.exit_code == 2
        assert res.output.startswith("error (ParameterError)")
        for w in words:
            assert w in res.output
        assert "Traceback" not in res.output
        assert not (tmp_path / "x").exists()

    def test_a_scheduler_that_does_not_answer(self, tmp_path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        res = runner.invoke(app, ["whatif", "us_ussr", "--vary", "omega=0.2,0.4", "--scheduler",
                                  f"tcp://127.0.0.1:{port}", "--connect-timeout", "2", "--out",
                                  str(tmp_path / "x")])  # fmt: skip
        assert res.exit_code == 2
        assert "error (ClusterError)" in res.output
        assert not (tmp_path / "x").exists()

    def test_an_interrupted_sweep_needs_resume_and_then_completes(self, tmp_path):
        out = tmp_path / "r"
        plan = plan_sweep(sd.Study("us_ussr"), n_sims=200, chunks=2, omega=[0.1, 0.3, 0.5, 0.7])
        store = tmp_path / ".whatif-chunks" / f"{plan.key()}.zarr"

        def stop(i):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_sweep(plan, store=store, on_chunk=stop)
        args = ["whatif", "us_ussr", "--vary", "omega=0.1,0.3,0.5,0.7", "--chunks", "2",
                "--out", str(out), *FAST]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 2
        assert "--resume" in res.output
        res = runner.invoke(app, [*args, "--resume"])
        assert res.exit_code == 0, res.output
        whole = sweep(sd.Study("us_ussr"), n_sims=200, omega=[0.1, 0.3, 0.5, 0.7])
        ds = load_dataset(out / "sweep.nc")
        np.testing.assert_array_equal(ds["expected_utility"].values, whole["expected_utility"])


@pytest.fixture(scope="module")
def grid():
    return sweep(sd.Study("russia_nato"), omega=np.linspace(0, 1, 6),
                 delta=np.linspace(0, 1, 6), n_sims=200)  # fmt: skip


@pytest.mark.slow
@pytest.mark.ci
def test_whatif_on_a_local_cluster_of_two_workers(tmp_path):
    out = tmp_path / "w"
    res = runner.invoke(app, ["whatif", "us_ussr", "--vary", "omega=0:1:6", "--vary",
                              "delta=0.2,0.8", "--workers", "2", "--chunks", "3", "--out",
                              str(out), *FAST])  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = load_dataset(out / "sweep.nc")
    # the CLI's values (0:1:6 rounded to 12 decimals: 0.6, where linspace gives 0.6000000000000001)
    local = sweep(sd.Study("us_ussr"), n_sims=200, omega=ds["omega"].values, delta=[0.2, 0.8])
    np.testing.assert_array_equal(ds["expected_utility"].values, local["expected_utility"])


class TestFigures:
    def test_decision_map_marks_regions_frontier_and_the_study(self, grid):
        fig = plot_decision_map(grid)
        ax = fig.axes[0]
        gids = {a.get_gid() for a in ax.get_children()}
        assert {"region", "study"} <= gids
        assert "russia_nato" in ax.get_title()
        assert "omega" in ax.get_xlabel()
        assert "delta" in ax.get_ylabel()

    def test_line_tornado_sobol_and_policies(self, grid):
        study = sd.Study("russia_nato")
        fig = plot_line(grid, "delta")
        labels = {line.get_gid() for line in fig.axes[0].lines}
        assert {"line:deter", "line:reassure", "study"} <= labels
        assert "held at: omega" in fig.axes[0].get_title()
        tor = tornado(study, "p_star", omega=[0.1, 0.9], delta=[0.0, 1.0], n_sims=100)
        bars = {p.get_gid() for p in plot_tornado(tor).axes[0].patches}
        assert {"bar:omega", "bar:delta"} <= bars
        sob = sobol(study, n=8, metrics=("p_star", "evpi"), omega=(0.1, 0.9), n_sims=100)
        fig = plot_sobol(sob)
        assert len(fig.axes) == 2
        assert {p.get_gid() for p in fig.axes[0].patches} == {"S1:p_star", "ST:p_star"}
        ranking = rank_policies(study, policies=["always_deter", "grit"], n_sims=50)
        ax = plot_policies(ranking).axes[0]
        assert next(t.get_text() for t in ax.get_yticklabels()) == str(
            ranking["policy"].values[int(np.argmin(ranking["expected_loss"].values))]
        )
