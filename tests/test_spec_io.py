"""Model specs as files: the TOML writer, dyad specs, safe names, bad input, defaults."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from secdilemma._paths import models_dir
from secdilemma.errors import OutputExistsError, SpecError
from secdilemma.model import DEFAULT_DELTA, DEFAULT_OMEGA
from secdilemma.observers import FITTABLE_KINDS, OBSERVER_KINDS, Observer
from secdilemma.spec import DEFAULT_SEED, ModelSpec, load_spec, spec_data
from secdilemma.spec.reference import REFERENCE_FILE

BUNDLED = sorted(p for p in models_dir().glob("*.toml") if p.name != REFERENCE_FILE)

#: Specs that exercise every writer path: per-period world values, signals with priors,
#: hierarchical priors with tau, user loadings, a switching type, decision losses and actions.
RICH: dict[str, dict[str, Any]] = {
    "world_by_period": {
        "data": {"case": "anglo_german_naval", "start": 1898, "end": 1913},
        "world": {"omega": {"1898": 0.7, "1906": 0.8}, "delta": {"1900": 0.25}},
    },
    "signals": {
        "data": {"case": "us_china"},
        "signals": {
            "channels": ["force_posture_law", "crisis_initiation"],
            "priors": {
                "eta0": {"dist": "normal", "mu": -1.5, "sigma": 1.0},
                "eta_f": 0.25,
            },
        },
    },
    "hierarchical": {
        "priors": {
            "beta": {"dist": "gamma", "alpha": 2.0, "beta": 4.0},
            "nu": 4,
            "sigma": {"dist": "halfnormal", "sigma": 0.2},
            "hierarchical": ["mu", "alpha", "kappa"],
            "tau": {"mu": 0.1, "alpha": 0.3},
            "use_reference": True,
            "reference_log_sd": 0.7,
            "reference_floor": 0.01,
        },
    },
    "types_and_observer": {
        "types": {
            "loadings": {"hawk": [0.8, 0.2], "dove": [0.1, 0.6]},
            "switching": {"persistence": 0.9},
        },
        "observer": {"kind": "naive", "prior": {"hawk": 0.25, "dove": 0.75}},
        "sampler": {"backend": "nutpie", "cores": 2, "seed": 7, "target_accept": 0.95},
    },
    "decision": {
        "meta": {"name": "decision.case-1", "description": 'A "quoted"\nmulti-line note.'},
        "decision": {
            "losses": {"war": 50.0, "arms": 2.0, "discount": 0.9},
            "horizon": 5,
            "actions": {"deter": 0.2, "hedge": 0.0, "reassure": -0.1},
        },
    },
    "decision_named_actions": {"decision": {"actions": ["deter", "reassure"]}},
    "gaussian_noise_no_pooling": {
        "priors": {"nu": False, "hierarchical": []},
        "world": {"delta": {1900: 1}},
        "meta": {"description": "Z\u00fcrich \u2013 tab\there"},
    },
}


def _round_trips(spec: ModelSpec, tmp_path: Path) -> None:
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    text = spec.to_toml()
    doc = tomllib.loads(text)
    # the TOML document is the plain-data form (an independent reader, not our parser)
    assert doc == spec.to_dict()
    assert ModelSpec.from_dict(doc) == spec
    path = spec.save(tmp_path / f"{spec.name}.toml")
    again = load_spec(path)
    assert again == spec
    assert again.source_path == str(path)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_spec_round_trips_through_toml(path: Path, tmp_path: Path) -> None:
    _round_trips(load_spec(path), tmp_path)


@pytest.mark.parametrize("name", sorted(RICH))
def test_rich_specs_round_trip_through_toml(name: str, tmp_path: Path) -> None:
    _round_trips(ModelSpec.from_dict(RICH[name]), tmp_path)


def test_per_period_world_values_are_written_with_year_keys_and_read_back_as_years() -> None:
    spec = ModelSpec.from_dict(RICH["world_by_period"])
    doc = tomllib.loads(spec.to_toml())
    assert doc["world"]["omega"] == {"1898": 0.7, "1906": 0.8}
    back = ModelSpec.from_dict(doc).world
    assert back.omega == {1898: 0.7, 1906: 0.8}
    assert all(isinstance(k, int) for k in back.omega)  # type: ignore[union-attr]
    # a Python dict keyed by int years reads the same as TOML's string keys
    assert ModelSpec.from_dict({"world": {"omega": {1906: 0.8, 1898: 0.7}}}).world == (
        ModelSpec.from_dict({"world": {"omega": {"1898": 0.7, "1906": 0.8}}}).world
    )


def test_save_never_overwrites_unless_asked(tmp_path: Path) -> None:
    spec = ModelSpec.from_dict({"world": {"omega": 0.3}})
    path = tmp_path / "sub" / "s.toml"
    assert spec.save(path) == path
    first = path.read_text(encoding="utf-8")
    other = spec.replace(world={"omega": 0.9})
    with pytest.raises(OutputExistsError, match="already exists"):
        other.save(path)
    assert path.read_text(encoding="utf-8") == first
    other.save(path, overwrite=True)
    assert load_spec(path).world.omega == 0.9
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.toml"]  # no temporary left


def test_to_toml_writes_every_default_and_a_header() -> None:
    text = ModelSpec().to_toml()
    assert text.startswith("# Model spec 'model', written by secdilemma")
    doc = tomllib.loads(text)
    assert doc["sampler"]["seed"] == DEFAULT_SEED
    assert doc["world"] == {"omega": DEFAULT_OMEGA, "delta": DEFAULT_DELTA}
    assert doc["observer"] == {"kind": "aware"}


# ---------------------------------------------------------------------------------------------
# Dyads
# ---------------------------------------------------------------------------------------------
def test_for_dyad_builds_the_data_section_with_defaults_elsewhere() -> None:
    spec = ModelSpec.for_dyad("India", "Pakistan", start=1950, end=2016)
    assert spec.name == "IND-PAK"
    assert spec.data.to_dict() == {
        "observer": "IND",
        "rival": "PAK",
        "source": "nmc",
        "prices": "real",
        "start": 1950,
        "end": 2016,
        "variable": "milex",
        "transform": "log_diff",
    }
    assert spec.signals.channels == ()
    default = ModelSpec()
    for section in ("types", "signals", "priors", "world", "observer", "sampler", "decision"):
        assert getattr(spec, section) == getattr(default, section), section
    assert spec.source_path is None
    # COW codes work too, and the dyad round-trips
    assert ModelSpec.for_dyad(750, 770).data.observer == "IND"
    assert ModelSpec.from_dict(tomllib.loads(spec.to_toml())) == spec


def test_for_dyad_takes_other_sections_and_a_name() -> None:
    spec = ModelSpec.for_dyad(
        "USA",
        "CHN",
        source="sipri",
        name="usa_china_sipri",
        world={"omega": 0.4},
        meta={"description": "x"},
        data={"transform": "diff"},
        signals={"channels": ["force_posture_law"]},
    )
    assert (spec.name, spec.description) == ("usa_china_sipri", "x")
    assert (spec.world.omega, spec.data.transform, spec.data.source) == (0.4, "diff", "sipri")
    assert spec.signals.channels == ("force_posture_law",)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"observer": "Atlantis"}, r"for_dyad.*argument 'observer'"),
        ({"source": "cow"}, r"data\.source.*\['nmc', 'sipri'\]"),
        ({"name": "../../x"}, r"meta\.name.*'\.\./\.\./x' is not a safe name"),
        ({"wrld": {}}, r"unknown section 'wrld'"),
        ({"data": {"observer": "USA"}}, r"data key 'observer'.*arguments"),
        ({"signals": {"channels": ["crisis"]}}, r"signals\.channels.*crisis_initiation"),
    ],
)
def test_for_dyad_refuses_bad_arguments(kwargs: dict[str, Any], pattern: str) -> None:
    args = {"observer": "IND", "rival": "PAK", **kwargs}
    with pytest.raises(SpecError, match=pattern):
        ModelSpec.for_dyad(**args)


def test_a_dyad_spec_may_not_read_channels_its_dyad_does_not_record() -> None:
    spec = ModelSpec.for_dyad("IND", "PAK", start=1950, signals={"channels": ["use_of_force"]})
    with pytest.raises(
        SpecError, match=r"signals\.channels.*IND-PAK records no hand-sourced events"
    ):
        spec_data(spec)
    # without channels the dyad loads and claims no signals
    _, moves = spec_data(ModelSpec.for_dyad("IND", "PAK", start=1960, end=1970))
    assert moves.sizes["period"] == 11
    assert moves.sizes.get("signal", 0) == 0


def test_a_dyad_with_bundled_events_reads_the_channels_it_records() -> None:
    spec = ModelSpec.for_dyad(
        "USA", "CHN", source="sipri", signals={"channels": ["force_posture_law"]}
    )
    ds, moves = spec_data(spec)
    assert "force_posture_law" in set(ds["event_channel"].values.tolist())
    assert moves.sizes["signal"] == 1
    # a channel with no event in the dyad's records is refused
    none = spec.replace(signals={"channels": ["use_of_force"]})
    with pytest.raises(
        SpecError, match=r"USA-CHN records no hand-sourced events on \['use_of_force'\]"
    ):
        spec_data(none)


def test_a_dyad_reads_the_channels_derived_for_every_pair() -> None:
    spec = ModelSpec.for_dyad(
        "IND", "PAK", start=1960, end=2016, signals={"channels": ["mid_use_of_force"]}
    )
    ds, moves = spec_data(spec)
    raw = ds["signals"].sel(actor="rival", signal="mid_use_of_force")
    got = moves["signals"].sel(signal="mid_use_of_force")
    # missing years (MID ends in 2010) stay missing; counts become event / no event
    assert np.isnan(got.sel(period=2012))
    assert bool((np.isnan(got) == np.isnan(raw)).all())
    known = raw.notnull()
    np.testing.assert_array_equal(got.where(known, 0).values, (raw.where(known, 0) > 0).values)
    assert float(got.sum()) > 0


def test_overlapping_channels_are_not_read_together() -> None:
    spec = ModelSpec.from_dict(
        {
            "data": {"case": "us_ussr"},
            "signals": {"channels": ["crisis_initiation", "mid_threat_display"]},
        }
    )
    with pytest.raises(SpecError, match="can record the same event"):
        spec_data(spec)


def test_a_window_without_coverage_is_refused() -> None:
    spec = ModelSpec.for_dyad(
        "USA",
        "CHN",
        source="sipri",
        start=2012,
        end=2022,
        signals={"channels": ["mid_use_of_force"]},
    )
    with pytest.raises(SpecError, match="missing in every year"):
        spec_data(spec)


# ---------------------------------------------------------------------------------------------
# Names, bad input, vocabularies and defaults
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../../x", "..", ".hidden", "a b", "a/b", "", "x" * 101, "é"])
def test_unsafe_names_are_refused(bad: str) -> None:
    with pytest.raises(SpecError, match=r"s\.toml: key 'meta\.name'.*not a safe name"):
        ModelSpec.from_dict({"meta": {"name": bad}}, source="s.toml")


def test_a_spec_built_directly_checks_its_name() -> None:
    with pytest.raises(SpecError, match=r"ModelSpec: argument 'name': '\.\./x' is not a safe"):
        ModelSpec(name="../x")


@pytest.mark.parametrize("good", ["IND-PAK", "us_ussr", "v1.2", "_draft", "x" * 100])
def test_safe_names_are_kept(good: str) -> None:
    assert ModelSpec.from_dict({"meta": {"name": good}}).name == good


def test_a_name_taken_from_the_file_name_is_made_safe(tmp_path: Path) -> None:
    p = tmp_path / "my spec (v2).toml"
    p.write_text("[world]\nomega = 0.2\n", encoding="utf-8")
    assert load_spec(p).name == "my_spec_v2_"


def test_a_spec_that_is_not_utf8_names_the_file_and_the_byte(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes('[meta]\ndescription = "Caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin1\.toml: not UTF-8.*byte offset 25 \(0xe9\)"):
        load_spec(p)
    # UTF-8, with or without a byte-order mark, is read
    p.write_bytes('\ufeff[meta]\ndescription = "Caf\u00e9"\n'.encode())
    assert load_spec(p).description == "Caf\u00e9"


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("us_chian", r"unknown case 'us_chian'.*Did you mean 'us_china'"),
        ("us_usna", r"Did you mean 'us_ussr' or 'us_china'\?"),
        ("anglo_german", r"Did you mean 'anglo_german_naval'"),
    ],
)
def test_a_misspelled_case_gets_the_nearest_case_names(case: str, pattern: str) -> None:
    with pytest.raises(SpecError, match=r"s\.toml: key 'data\.case'.*" + pattern):
        ModelSpec.from_dict({"data": {"case": case}}, source="s.toml")


def test_every_spec_is_seeded_by_default() -> None:
    assert DEFAULT_SEED == 0
    assert ModelSpec().sampler.seed == DEFAULT_SEED
    assert ModelSpec.from_dict({}).sampler.seed == DEFAULT_SEED
    assert ModelSpec.from_dict({"sampler": {"seed": 12}}).sampler.seed == 12
    assert load_spec("us_ussr").sampler.seed == 1946
    with pytest.raises(SpecError, match=r"sampler\.seed.*>= 0"):
        ModelSpec.from_dict({"sampler": {"seed": -1}})


def test_observer_kinds_are_those_of_the_registry_the_fit_can_express() -> None:
    base = list(inspect.signature(Observer.__init__).parameters)
    expected = [
        k
        for k, cls in OBSERVER_KINDS.items()
        if list(inspect.signature(cls.__init__).parameters) == base
    ]
    assert expected == ["aware", "naive"]
    assert list(FITTABLE_KINDS) == expected
    for kind in expected:
        assert ModelSpec.from_dict({"observer": {"kind": kind}}).observer.kind == kind
    for kind in set(OBSERVER_KINDS) - set(expected):
        with pytest.raises(SpecError, match=r"observer\.kind.*\['aware', 'naive'\]"):
            ModelSpec.from_dict({"observer": {"kind": kind}})


def test_the_default_world_is_the_model_layers() -> None:
    assert ModelSpec().world.omega == DEFAULT_OMEGA
    assert ModelSpec.from_dict({}).world.delta == DEFAULT_DELTA
