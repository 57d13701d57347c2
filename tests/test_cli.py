"""The command line, end to end on the bundled data (CliRunner, no subprocess)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from secdilemma._paths import models_dir
from secdilemma.data import list_cases, load_case
from secdilemma.errors import SpecError
from secdilemma.interfaces.cli import _variants, app
from secdilemma.io import load_dataset
from secdilemma.spec import load_spec

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
    assert "--observer" in res.output


@pytest.mark.parametrize("case", ["anglo_german_naval", "russia_nato"])
def test_decide_prints_recommendation_and_writes_result(tmp_path, case):
    out = tmp_path / "d"
    res = runner.invoke(app, ["decide", case, "--n-sims", "300", "--out", str(out)])
    assert res.exit_code == 0, res.output
    dec = load_dataset(out / "decision.nc")
    assert dec.attrs["recommended"] in {"deter", "reassure"}
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
    assert "signal channels are read by `secdilemma fit`" in flat(res)


def test_spec_and_case_options_do_not_mix(tmp_path):
    spec = models_dir() / "us_ussr.toml"
    res = runner.invoke(app, ["filter", str(spec), "--variable", "warheads"])
    assert res.exit_code == 2
    assert "set data.case_observer or data.variable in the spec" in flat(res)


def test_unknown_target_names_cases_and_specs():
    res = runner.invoke(app, ["filter", "naval_race"])
    assert res.exit_code == 2
    assert "neither a bundled case" in flat(res)
    assert "anglo_german_naval" in res.output


def test_compare_variants_are_the_spec_with_one_change():
    base = load_spec("anglo_german_naval")
    v = _variants(base, ["types", "observer", "switching"])
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
    back = _variants(v["switching_types"], ["switching"])
    assert not back["static_types"].types.switching
    with pytest.raises(SpecError, match="choose from"):
        _variants(base, ["regime"])


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
    means = summary["type_probabilities"]["anglo_german_naval"]
    np.testing.assert_allclose(
        dec["belief"].values, [means[t]["mean"] for t in dec.rival_type.values], atol=1e-9
    )


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
