"""Model specs: the four bundled specs, validation errors, precedence, data."""

from __future__ import annotations

import csv
import math
import sys

import numpy as np
import pytest

from secdilemma._paths import raw_dir
from secdilemma.data.schema import DERIVED_CHANNELS
from secdilemma.engines.pymc import resolve_priors
from secdilemma.errors import SpecError
from secdilemma.reference import load_reference_params, load_reference_posterior
from secdilemma.spec import ModelSpec, load_spec, spec_data

CASES = ["anglo_german_naval", "us_ussr", "us_china", "russia_nato"]


@pytest.mark.parametrize("case", CASES)
def test_bundled_spec_loads_round_trips_and_names_its_data(case: str) -> None:
    spec = load_spec(case)
    assert spec.source_path is not None
    assert spec.source_path.endswith(f"{case}.toml")
    assert spec.data.case == case
    assert spec.priors.use_reference
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    _ds, moves = spec_data(spec)
    assert set(moves.data_vars) >= {"dx", "u"}
    assert moves.sizes["signal"] == len(spec.signals.channels)
    sig = moves["signals"]
    assert set(np.unique(sig.values[np.isfinite(sig.values)])) <= {0.0, 1.0}
    # missing only where a derived channel's table ends (MID 2010, ATOP 2018)
    for ch in spec.signals.channels:
        years = sig["period"].values[np.isnan(sig.sel(signal=ch).values)]
        assert ch in DERIVED_CHANNELS or years.size == 0
        assert np.all(years > (2010 if ch.startswith("mid_") else 2018)), (ch, years)


def test_naval_spec_cuts_the_war_year() -> None:
    _, moves = spec_data(load_spec("anglo_german_naval"))
    assert int(moves["period"].max()) == 1913


def test_spec_file_errors_name_file_key_and_suggestion(tmp_path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('[priors]\nbeta = { dist = "lognormal", median = 0.5, log_sdd = 1.0 }\n')
    with pytest.raises(SpecError, match=r"bad\.toml.*priors\.beta\.log_sdd.*log_sd"):
        load_spec(p)
    p.write_text('[data]\ncase = "us_ussrr"\n')
    with pytest.raises(SpecError, match=r"data\.case.*Did you mean 'us_ussr'"):
        load_spec(p)
    p.write_text("[data\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(p)
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("doc", "pattern"),
    [
        ({"sampler": {"backend": "stan"}}, r"sampler\.backend.*\['pymc', 'nutpie'\]"),
        ({"sampler": {"chians": 2}}, r"unknown key 'sampler\.chians'.*Did you mean 'chains'"),
        ({"world": {"omega": 1.5}}, r"world\.omega.*<= 1"),
        ({"world": {"delta": {"x1900": 0.5}}}, r"world\.delta\.x1900.*integers"),
        ({"observer": {"kind": "naïve"}}, r"observer\.kind.*'aware', 'naive'"),
        ({"observer": {"prior": {"greedy": 0.5, "insecure": 0.2}}}, r"sum to 1"),
        ({"observer": {"prior": {"greedy": 1.0, "hawk": 0.0}}}, r"observer\.prior\.hawk"),
        ({"priors": {"beta": -0.1}}, r"priors\.beta.*magnitude"),
        ({"priors": {"alpha": {"dist": "normal", "mu": 0, "sigma": 1}}}, r"priors\.alpha\.dist"),
        ({"priors": {"sigma": {"dist": "lognormal", "median": 0.1}}}, r"missing \['log_sd'\]"),
        ({"priors": {"hierarchical": ["nu"]}}, r"priors\.hierarchical.*cannot vary"),
        ({"types": {"names": ["greedy", "hawkish"]}}, r"types\.names.*unknown type 'hawkish'"),
        ({"types": {"switching": {"persistance": 0.9}}}, r"Did you mean 'persistence'"),
        ({"signals": {"channels": ["crisis"]}}, r"signals\.channels.*crisis_initiation"),
        ({"decision": {"losses": {"warr": 2.0}}}, r"decision\.losses.*unknown key"),
        ({"data": {"case": "us_ussr", "rival": "RUS"}}, r"data\.rival.*not both"),
        ({"data": {"observer": "USA"}}, r"data\.rival.*both"),
        (
            {"data": {"case": "us_china", "transform": "pct"}, "priors": {"use_reference": True}},
            r"priors\.use_reference.*log_diff",
        ),
    ],
)
def test_invalid_specs_raise_spec_error(doc: dict, pattern: str) -> None:
    with pytest.raises(SpecError, match=pattern):
        ModelSpec.from_dict(doc, source="s.toml")


def test_world_by_period_is_a_step_function() -> None:
    spec = ModelSpec.from_dict({"world": {"omega": {"1900": 0.2, "1905": 0.8}}})
    got = spec.world.series("omega", np.arange(1898, 1908))
    assert got.tolist() == [0.2] * 7 + [0.8] * 3
    assert ModelSpec.from_dict(spec.to_dict()) == spec


def test_precedence_user_over_data_over_reference_over_default() -> None:
    dx = np.array([np.nan, 0.1, -0.2, 0.05, 0.3, 0.0])
    spec = ModelSpec.from_dict(
        {"data": {"case": "us_ussr"}, "priors": {"use_reference": True, "gamma": 0.3}}
    )
    pri = resolve_priors(spec, dx)
    assert pri["gamma"][1] == "user"
    assert pri["gamma"][0].args == {"value": 0.3}
    assert pri["sigma"][1] == "data"
    ref = load_reference_params()
    post = load_reference_posterior()
    assert post is not None
    assert pri["beta"][1] == "reference"
    # the pooled posterior, widened by the case's allowance reference_log_sd = 0.5
    assert pri["beta"][0].args["median"] == pytest.approx(post["beta"]["median"])
    assert pri["beta"][0].args["log_sd"] == pytest.approx(
        math.sqrt(post["beta"]["log_sd"] ** 2 + 0.25)
    )
    assert pri["nu"][0].args == {"value": ref.nu}
    # a median below the floor is floored, kept away from zero
    floored = ModelSpec.from_dict(
        {"data": {"case": "us_ussr"}, "priors": {"use_reference": True, "reference_floor": 5.0}}
    )
    assert resolve_priors(floored, dx)["kappa"][0].args["median"] == 5.0
    plain = resolve_priors(ModelSpec.from_dict({}), np.array([np.nan]))
    assert {k: v[1] for k, v in plain.items()} == dict.fromkeys(plain, "default")


def test_replace_and_case_observer() -> None:
    spec = load_spec("russia_nato").replace(data={"case_observer": "nato_europe"})
    ds, _ = spec_data(spec)
    assert ds.attrs["observer_option"] == "nato_europe"
    with pytest.raises(SpecError, match="case_observer"):
        load_spec("russia_nato").replace(data={"case_observer": "china"})


def test_spec_data_refuses_a_spec_without_data() -> None:
    with pytest.raises(SpecError, match="no data named"):
        spec_data(ModelSpec.from_dict({}))


def test_reference_without_a_posterior_uses_the_point_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the module that defines resolve_priors looks the reader up in its own namespace
    where = sys.modules[resolve_priors.__module__]
    monkeypatch.setattr(where, "load_reference_posterior", lambda path=None: None)
    spec = ModelSpec.from_dict({"data": {"case": "us_ussr"}, "priors": {"use_reference": True}})
    pri = resolve_priors(spec, np.array([0.1, -0.2, 0.05, 0.3]))
    assert pri["beta"][0].args == {
        "median": pytest.approx(float(load_reference_params().beta)),
        "log_sd": 0.5,
    }


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[params]\nbeta = 0.1\n", None),
        ("[posterior.alpha]\nmedian = 0.1\nlog_sd = 0.5\n", r"\[posterior\.beta\] is missing"),
        (
            "".join(
                f"[posterior.{n}]\nmedian = {m}\nlog_sd = 0.5\n"
                for n, m in (("alpha", 0.1), ("beta", -1), ("gamma", 0.1), ("kappa", 0.1))
            ),
            r"\[posterior\.beta\] median must be > 0",
        ),
        ("[posterior.alpha]\nmedian = 'x'\n", r"\[posterior\.alpha\] needs numbers"),
    ],
)
def test_reference_posterior_tables_are_validated(tmp_path, text: str, match: str | None) -> None:
    p = tmp_path / "reference_params.toml"
    p.write_text(text)
    if match is None:
        assert load_reference_posterior(p) is None
    else:
        with pytest.raises(SpecError, match=match):
            load_reference_posterior(p)


def _raw_milex(ccode: int, year: int) -> str:
    """The NMC file's own ``milex`` cell (a string, as written)."""
    with (raw_dir() / "cow_nmc/NMC-60-abridged.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            if int(r["ccode"]) == ccode and int(r["year"]) == year:
                return r["milex"]
    raise KeyError((ccode, year))


def test_a_dyads_default_window_leaves_out_a_first_year_of_zero_spending() -> None:
    # NMC records Pakistan's (770) milex as 0 in 1947, its first year, and positive in 1948;
    # log changes cannot read a 0, so the default window starts in 1948 and says why
    assert float(_raw_milex(770, 1947)) == 0.0
    assert float(_raw_milex(770, 1948)) > 0.0
    for obs, riv in (("IND", "PAK"), ("PAK", "IND")):
        ds, moves = spec_data(ModelSpec.for_dyad(obs, riv))
        assert int(ds["period"].values[0]) == 1948
        assert int(moves["period"].values[0]) == 1948
        assert "default window 1948-" in ds.attrs["notes"]
        assert "milex is 0 for a state in 1947" in ds.attrs["notes"]
    # a year the user chose is not moved: the data layer names it
    with pytest.raises(SpecError, match=r"<spec IND-PAK>: key 'data'.*PAK.*1947"):
        spec_data(ModelSpec.for_dyad("IND", "PAK", start=1947))
    # differences of levels can read a 0: nothing is left out
    ds, _ = spec_data(ModelSpec.for_dyad("IND", "PAK", data={"transform": "diff"}))
    assert int(ds["period"].values[0]) == 1947
