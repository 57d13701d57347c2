"""The command line, end to end on the bundled data (CliRunner; a subprocess where the
process itself is under test)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

import secdilemma as sd
from secdilemma._paths import models_dir
from secdilemma.data import list_cases, load_case
from secdilemma.errors import ParameterError
from secdilemma.interfaces.cli import app
from secdilemma.interfaces.options import parse_prior
from secdilemma.io import load_dataset
from secdilemma.spec import ModelSpec, load_spec
from secdilemma.study import Study

runner = CliRunner()


def flat(res) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(res.output.split())


def test_cases_lists_every_bundled_case():
    res = runner.invoke(app, ["cases"])
    assert res.exit_code == 0, res.output
    for name in list_cases():
        assert name in res.output


def test_cases_show_prints_coverage_units_and_events():
    res = runner.invoke(app, ["cases", "show", "us_ussr"])
    assert res.exit_code == 0, res.output
    ds = load_case("us_ussr")
    assert "1946-1991" in res.output
    assert str(ds["milex"].attrs["units"]).split()[0] in res.output
    assert "Events" in res.output


def test_unknown_case_is_a_clear_error_not_a_traceback():
    res = runner.invoke(app, ["cases", "show", "anglo_german"])
    assert res.exit_code == 2
    assert "unknown case" in res.output
    assert "Traceback" not in res.output


def test_filter_writes_posterior_and_figure_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "f"
    res = runner.invoke(app, ["filter", "us_china", "--out", str(out)])
    assert res.exit_code == 0, res.output
    post = load_dataset(out / "posterior.nc")
    assert set(post["filtered"].dims) == {"period", "rival_type"}
    np.testing.assert_allclose(post["filtered"].sum("rival_type"), 1.0, atol=1e-12)
    assert (out / "posterior.png").stat().st_size > 0
    before = (out / "posterior.nc").read_bytes()
    again = runner.invoke(app, ["filter", "us_china", "--out", str(out)])
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert (out / "posterior.nc").read_bytes() == before


def test_filter_rejects_unknown_observer_kind(tmp_path):
    res = runner.invoke(
        app, ["filter", "us_china", "--observer", "paranoid", "--out", str(tmp_path / "x")]
    )
    assert res.exit_code == 2
    assert "observer must be one of" in res.output
    assert "paranoid" in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("case", ["anglo_german_naval", "russia_nato"])
def test_decide_prints_recommendation_and_writes_result(tmp_path, case):
    out = tmp_path / "d"
    res = runner.invoke(app, ["decide", case, "--n-sims", "300", "--out", str(out)])
    assert res.exit_code == 0, res.output
    dec = load_dataset(out / "decision.nc")
    assert dec.attrs["recommended"] in {"deter", "defend", "reassure"}
    assert f"recommendation: {dec.attrs['recommended']}" in res.output
    assert "EVPI" in res.output
    assert "p*" in res.output
    assert (out / "decision.png").stat().st_size > 0


def test_main_without_fit_runs_the_whole_chain(tmp_path):
    res = runner.invoke(app, ["main", "--no-fit", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    for heading in ("1. Data", "2a. Belief", "3. Choice", "recommendation:"):
        assert heading in res.output
    assert "2b. Belief" not in res.output
    dec = load_dataset(tmp_path / "m" / "decision.nc")
    post = load_dataset(tmp_path / "m" / "exact" / "posterior.nc")
    # the decision is fed the exact observer's last belief, on the spec's years (1898-1913)
    assert int(post.period.max()) == 1913
    np.testing.assert_allclose(
        dec["belief"].values, post["filtered"].isel(period=-1).values, atol=1e-12
    )


def test_filter_reads_a_spec_its_years_and_world(tmp_path):
    spec = models_dir() / "anglo_german_naval.toml"
    res = runner.invoke(app, ["filter", str(spec), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    post = load_dataset(tmp_path / "s" / "posterior.nc")
    s = load_spec(spec)
    assert (int(post.period.min()), int(post.period.max())) == (s.data.start, s.data.end)
    prm = json.loads(post.attrs["params_json"])
    assert (prm["omega"], prm["delta"]) == (s.world.omega, s.world.delta)
    # the spec's channels are read with the reference's coefficients; the Naval Laws, which
    # no pool estimates, as the spec's posture channel, and the output names the assumption
    used = json.loads(post.attrs["study_signals_used"])
    assert used["mid_use_of_force"] == "reference"
    assert used["force_posture_law"].startswith("posture channel")
    assert "assumption" in used["force_posture_law"]
    assert "What moved the belief" in flat(res)
    # the setting is printed at the top and stamped on the result
    assert res.output.startswith("study: anglo_german_naval")
    assert post.attrs["study_years"] == f"{s.data.start}-{s.data.end}"


def test_a_case_name_and_its_spec_give_identical_posteriors(tmp_path):
    spec = models_dir() / "russia_nato.toml"
    for target, name in (("russia_nato", "a"), (str(spec), "b")):
        res = runner.invoke(app, ["filter", target, "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    a, b = (load_dataset(tmp_path / n / "posterior.nc") for n in "ab")
    np.testing.assert_array_equal(a["filtered"].values, b["filtered"].values)
    np.testing.assert_array_equal(a["smoothed"].values, b["smoothed"].values)


def test_case_options_apply_to_its_spec(tmp_path):
    res = runner.invoke(
        app,
        [
            "filter",
            "us_ussr",
            "--variable",
            "warheads",
            "--start",
            "1950",
            "--out",
            str(tmp_path / "w"),
        ],
    )
    assert res.exit_code == 0, res.output
    post = load_dataset(tmp_path / "w" / "posterior.nc")
    expected = Study("us_ussr", variable="warheads", start=1950).belief()
    np.testing.assert_array_equal(post["filtered"].values, expected["filtered"].values)
    milex = Study("us_ussr", start=1950).belief()
    assert not np.array_equal(post["filtered"].values, milex["filtered"].values)


def test_world_and_prior_options(tmp_path):
    out = tmp_path / "d"
    args = ["decide", "us_china", "--omega", "0.3", "--delta", "0.6", "--n-sims", "200"]
    res = runner.invoke(
        app, [*args, "--prior", "greedy=0.6,insecure=0.2,mixed=0.2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    dec = load_dataset(out / "decision.nc")
    setting = json.loads(dec.attrs["study_setting"])
    assert (setting["omega"], setting["delta"]) == (0.3, 0.6)
    assert setting["prior"] == {"greedy": 0.6, "insecure": 0.2, "mixed": 0.2}
    assert "omega = 0.3" in res.output


def test_parse_prior():
    assert parse_prior("greedy=0.6, insecure=0.4") == {"greedy": 0.6, "insecure": 0.4}
    assert parse_prior("uniform") == "uniform"
    assert parse_prior(None) is None
    with pytest.raises(ParameterError, match="TYPE=PROBABILITY"):
        parse_prior("greedy:0.6")


@pytest.mark.parametrize("verb", ["filter", "decide"])
def test_any_dyad_from_the_command_line(tmp_path, verb):
    out = tmp_path / verb
    # a pair outside the reference pool (a member's leave-one-out reference is a pooled fit of
    # its own, tested in test_reference_loo.py and test_study_signals.py)
    args = [verb, "--dyad", "IRN:IRQ", "--start", "1960", "--end", "1988", "--out", str(out)]
    res = runner.invoke(app, [*args, *(["--n-sims", "200"] if verb == "decide" else [])])
    assert res.exit_code == 0, res.output
    assert "Iran observes Iraq, 1960-1988" in res.output
    post = load_dataset(out / "posterior.nc")
    assert (int(post.period.min()), int(post.period.max())) == (1960, 1988)
    assert post.attrs["study_reference"] == "pool"
    assert post.attrs["study_source"] == "dyad"


def test_spec_new_writes_a_spec_that_loads_back_to_the_same_study(tmp_path):
    res = runner.invoke(
        app,
        ["spec", "new", "--dyad", "IRN:IRQ", "--start", "1960", "--end", "1988", "--omega", "0.6"],
    )
    assert res.exit_code == 0, res.output
    spec = ModelSpec.from_dict(tomllib.loads(res.stdout))
    path = tmp_path / "ii.toml"
    path.write_text(res.stdout, encoding="utf-8")
    a = Study.from_dyad("IRN", "IRQ", start=1960, end=1988, omega=0.6)
    b = Study(path)
    assert spec.world.omega == 0.6
    assert spec.signals.channels == a.spec.signals.channels  # the derived channels too
    assert (b.setting.years, b.setting.omega, b.setting.name) == (a.setting.years, 0.6, "IRN-IRQ")
    np.testing.assert_array_equal(a.belief()["filtered"].values, b.belief()["filtered"].values)


def test_case_or_dyad_but_not_both_nor_neither():
    for args in (["filter"], ["filter", "us_china", "--dyad", "USA:CHN"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2
        assert "--dyad OBSERVER:RIVAL" in res.output


def test_bad_arguments_exit_2_with_one_line_and_no_traceback(tmp_path):
    cases = [
        ["filter", "us_china", "--omega", "nan"],
        ["decide", "us_china", "--prior", "greedy=2"],
        ["filter", "--dyad", "Narnia:PAK"],
        ["decide", "us_china", "--params", "posterior"],
        ["fit", "us_chna"],
        ["decide", str(tmp_path / "nofit.nc")],
    ]
    for args in cases:
        res = runner.invoke(app, [*args, "--out", str(tmp_path / "never")])
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output, args
        assert len(res.stderr.strip().splitlines()) == 1, (args, res.stderr)
        assert res.stderr.startswith("error ("), args
    assert not (tmp_path / "never").exists()
    assert "nan" in runner.invoke(app, cases[0]).stderr  # printed verbatim, not as markup


def test_nothing_is_written_when_one_output_exists(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "decision.nc").write_bytes(b"keep me")
    res = runner.invoke(app, ["decide", "us_china", "--n-sims", "200", "--out", str(out)])
    assert res.exit_code == 2
    assert "already exists" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["decision.nc"]
    assert (out / "decision.nc").read_bytes() == b"keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_version_help_and_python_dash_m():
    assert runner.invoke(app, ["--version"]).output.strip() == f"secdilemma {sd.__version__}"
    assert "Usage" in runner.invoke(app, ["-h"]).output
    assert "--dyad" in runner.invoke(app, ["decide", "-h"]).output
    res = subprocess.run(
        [sys.executable, "-m", "secdilemma", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert res.stdout.strip() == f"secdilemma {sd.__version__}"


def test_unknown_target_names_cases_and_specs():
    res = runner.invoke(app, ["filter", "naval_race"])
    assert res.exit_code == 2
    assert "neither a bundled case" in flat(res)
    assert "anglo_german_naval" in res.output


def test_compare_variants_are_the_spec_with_one_change():
    base = load_spec("anglo_german_naval")
    v = Study(base).variants(["types", "observer", "switching"])
    assert set(v) == {
        "full",
        "greedy_only",
        "insecure_only",
        "mixed_only",
        "naive_observer",
        "switching_types",
    }
    assert v["greedy_only"].types.names == ("greedy",)
    assert v["naive_observer"].observer.kind == "naive"
    assert v["switching_types"].types.persistence == 0.9
    assert not base.types.switching
    for s in v.values():  # everything else is the spec's
        assert s.data == base.data
        assert s.priors == base.priors
        assert s.world == base.world
    back = Study(v["switching_types"]).variants(["switching"])
    assert not back["static_types"].types.switching
    with pytest.raises(ParameterError, match="choose from"):
        Study(base).variants(["regime"])


@pytest.mark.slow
@pytest.mark.ci
def test_fit_then_decide_from_the_saved_fit(tmp_path):
    out = tmp_path / "fit"
    args = ["fit", "anglo_german_naval", "--sampler", "pymc", "--chains", "2"]
    res = runner.invoke(app, [*args, "--draws", "150", "--tune", "150", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "P(rival type | data)" in flat(res)
    assert "R-hat" in flat(res)
    # 2 chains x 150 draws cannot reach ESS 400: the gate must say so, loudly
    assert "NOT TRUSTWORTHY" in flat(res)
    assert "coefficient priors from the reference: pool" in flat(res)  # not a pool member
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trustworthy"] is False
    assert (out / "fit.png").stat().st_size > 0
    dec_out = tmp_path / "dec"
    res = runner.invoke(
        app, ["decide", str(out / "fit.nc"), "--n-sims", "400", "--out", str(dec_out)]
    )
    assert res.exit_code == 0, res.output
    dec = load_dataset(dec_out / "decision.nc")
    assert dec.attrs["n_belief_draws"] == 300
    assert dec.attrs["study_engine"] == "fit"
    means = summary["type_probabilities"]["anglo_german_naval"]
    np.testing.assert_allclose(
        dec["belief"].values, [means[t]["mean"] for t in dec.rival_type.values], atol=1e-9
    )
    # a belief fitted under omega = 0.7 is not silently combined with a decision under 0.3
    fit_nc = str(out / "fit.nc")
    res = runner.invoke(app, ["decide", fit_nc, "--omega", "0.3", "--out", str(tmp_path / "w")])
    assert res.exit_code == 2
    assert "Refit" in flat(res)
    assert not (tmp_path / "w").exists()
    res = runner.invoke(
        app,
        [
            *("decide", fit_nc, "--omega", "0.3", "--allow-world-change"),
            *("--n-sims", "300", "--out", str(tmp_path / "w")),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "--allow-world-change" in flat(res)
    dec = load_dataset(tmp_path / "w" / "decision.nc")
    assert dec.attrs["study_world_changed_after_fit"] == "omega"


@pytest.mark.slow
@pytest.mark.ci
def test_fit_a_dyad_from_the_command_line(tmp_path):
    out = tmp_path / "ip"
    # a pair outside the pool: a member's fit would first fit the pool without it (minutes)
    res = runner.invoke(
        app,
        [
            *("fit", "--dyad", "IRN:IRQ", "--start", "1960", "--end", "1988"),
            *("--chains", "2", "--draws", "200", "--tune", "200", "--out", str(out)),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["type_probabilities"]["IRN-IRQ"]) == {"greedy", "insecure", "mixed"}
    assert (out / "evidence.png").stat().st_size > 0
    assert (out / "fit.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.ci
def test_a_single_type_fit_with_nutpie(tmp_path):
    """A one-type model reads no threat data; nutpie must not be handed data it dropped."""
    spec = load_spec("anglo_german_naval").to_dict()
    spec["types"] = {"names": ["greedy"]}
    spec["observer"].pop("prior", None)
    path = tmp_path / "greedy_only.toml"
    path.write_text(_toml(spec), encoding="utf-8")
    res = runner.invoke(
        app,
        [
            *("fit", str(path), "--sampler", "nutpie", "--chains", "2"),
            *("--draws", "100", "--tune", "100", "--out", str(tmp_path / "o")),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["type_probabilities"]["anglo_german_naval"]["greedy"]["mean"] == 1.0


@pytest.mark.slow
def test_compare_ranks_the_variants(tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app,
        [
            *("compare", "anglo_german_naval", "--variants", "types,observer"),
            *("--chains", "2", "--draws", "300", "--tune", "300", "--out", str(out)),
        ],
    )
    assert res.exit_code == 0, res.output
    table = load_dataset(out / "comparison.nc")
    assert set(table.model.values) == {
        "full",
        "greedy_only",
        "insecure_only",
        "mixed_only",
        "naive_observer",
    }
    # the best model first, elpd_diff = 0 for it and <= 0 (ArviZ 1.x) for every other
    assert float(table["elpd_diff"].values[0]) == 0.0
    assert (table["elpd_diff"].values <= 0).all()
    assert (np.diff(table["elpd"].values) <= 0).all()
    assert "PSIS-LOO model comparison" in flat(res)


def _toml(d: dict) -> str:
    """Minimal TOML writer for a spec dict (tables of scalars, lists and inline tables)."""

    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {val(x)}" for k, x in v.items()) + "}"
        return repr(v)

    lines = []
    for section, table in d.items():
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(str(k))} = {val(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
