"""Derived channels against the raw tables, read here with csv/gzip only (not the package).

The rules are restated in this file from the data card (data/raw/peacesciencer/README.md)
and applied to the raw rows directly; the package's values must agree.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from secdilemma.data import load_case, make_dyad
from secdilemma.data.channels import derived_signals
from secdilemma.data.mid import mid_signal_events
from secdilemma.data.schema import CURATED_CHANNELS, DERIVED_CHANNELS, SIGNAL_CHANNELS

MID_LAST, ATOP_FIRST, ATOP_LAST = 2010, 1815, 2018
Defense = dict[tuple[int, int], set[int]]


def _i(text: str) -> int:
    return int(float(text))


@pytest.fixture(scope="module")
def mid_rows(raw: Path) -> list[dict[str, str]]:
    with (raw / "peacesciencer" / "gml_mid_ddydisps.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def defense(raw: Path) -> dict[tuple[int, int], set[int]]:
    """(ccode1, year) -> the ccode2 with atop_defense = 1 that year."""
    out: dict[tuple[int, int], set[int]] = defaultdict(set)
    with gzip.open(raw / "peacesciencer" / "atop_alliance.csv.gz", "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["atop_defense"] == "1.0":
                out[(_i(r["ccode1"]), _i(r["year"]))].add(_i(r["ccode2"]))
    return out


@pytest.fixture(scope="module")
def members(raw: Path) -> dict[int, set[int]]:
    """ccode -> member years (spells ending in 2016 run through 2018)."""
    out: dict[int, set[int]] = defaultdict(set)
    with (raw / "cow_states" / "states2016_first10cols.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            end = int(r["endyear"])
            end = ATOP_LAST if end == 2016 else end
            out[int(r["ccode"])].update(range(int(r["styear"]), end + 1))
    return out


def raw_mid(rows: list[dict[str, str]], a: int, b: int) -> dict[tuple[int, int, str], int]:
    """(actor 0/1, year, channel) -> count, by the card's rule, from the raw rows."""
    out: dict[tuple[int, int, str], int] = defaultdict(int)
    for r in rows:
        x, y = _i(r["ccode1"]), _i(r["ccode2"])
        if (x, y) not in ((a, b), (b, a)):
            continue
        if (r["gmlmidonset"], r["orig1"], r["orig2"]) != ("1.0", "1.0", "1.0"):
            continue
        level = _i(r["hostlev1"])
        if r["sidea1"] == "1.0":
            channel = {2: "mid_threat_display", 3: "mid_threat_display"}.get(level)
            channel = "mid_use_of_force" if level >= 4 else channel
        else:
            channel = "mid_force_in_reply" if level >= 4 else None
        if channel:
            out[(0 if x == a else 1, _i(r["year"]), channel)] += 1
    return out


def raw_onsets(defense: Defense, x: int, year: int, exclude: set[int]) -> set[int]:
    return defense.get((x, year), set()) - defense.get((x, year - 1), set()) - exclude


def expected(
    rows: list[dict[str, str]],
    defense: Defense,
    members: dict[int, set[int]],
    a: int,
    b: int,
    years: list[int],
) -> np.ndarray:
    """The derived channels (year, actor, channel) recomputed from the raw files."""
    mid = raw_mid(rows, a, b)
    out = np.full((len(years), 2, len(DERIVED_CHANNELS)), np.nan)
    for i, y in enumerate(years):
        both = y in members[a] and y in members[b]
        for k, (me, other) in enumerate(((a, b), (b, a))):
            if both and 1816 <= y <= MID_LAST:
                for j, ch in enumerate(DERIVED_CHANNELS[:3]):
                    out[i, k, j] = mid.get((k, y, ch), 0)
            if y in members[me] and ATOP_FIRST < y <= ATOP_LAST:
                out[i, k, 3] = len(raw_onsets(defense, me, y, {other}))
    return out


PAIRS = [
    (750, 770),  # India, Pakistan
    (2, 365),  # USA, USSR/Russia
    (350, 640),  # Greece, Turkey
    (630, 645),  # Iran, Iraq
    (530, 531),  # Ethiopia, Eritrea
    (300, 345),  # Austria-Hungary, Serbia
    (290, 255),  # Poland, Germany
    (2, 710),  # USA, China
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_derived_signals_match_raw(
    mid_rows: list[dict[str, str]],
    defense: Defense,
    members: dict[int, set[int]],
    a: int,
    b: int,
) -> None:
    years = list(range(1816, 2024))
    got = derived_signals(a, b, years)
    want = expected(mid_rows, defense, members, a, b, years)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.nan_to_num(got, nan=-1), np.nan_to_num(want, nan=-1))


def _raw_row(rows: list[dict[str, str]], c1: int, c2: int, year: int) -> dict[str, str]:
    (row,) = [
        r for r in rows if (_i(r["ccode1"]), _i(r["ccode2"]), _i(r["year"])) == (c1, c2, year)
    ]
    return row


def test_dispute_3551_named_dyad_years(mid_rows: list[dict[str, str]]) -> None:
    # MID 3551 (1992): USA and Canada on side A against Yugoslavia (345), all originators;
    # the USA's level 4, Canada's 3, Yugoslavia's 4; Romania (360) joins in 1993.
    usa = _raw_row(mid_rows, 2, 345, 1992)
    assert (usa["dispnum"], usa["gmlmidonset"], usa["sidea1"]) == ("3551.0", "1.0", "1.0")
    assert (usa["orig1"], usa["orig2"], usa["hostlev1"], usa["hostlev2"]) == (
        "1.0",
        "1.0",
        "4.0",
        "4.0",
    )
    assert _raw_row(mid_rows, 20, 345, 1992)["hostlev1"] == "3.0"
    rom = _raw_row(mid_rows, 360, 345, 1993)
    assert (rom["dispnum"], rom["orig1"], rom["gmlmidonset"]) == ("3551.0", "0.0", "1.0")
    ds = make_dyad("USA", 345, start=1992, end=1993)
    sig = ds["signals"].sel(period=1992)
    assert float(sig.sel(actor="observer", signal="mid_use_of_force")) == 1.0
    assert float(sig.sel(actor="rival", signal="mid_force_in_reply")) == 1.0
    assert float(sig.sel(actor="observer", signal="mid_threat_display")) == 0.0
    can = make_dyad("Canada", 345, start=1992, end=1992)["signals"].sel(period=1992)
    assert float(can.sel(actor="observer", signal="mid_threat_display")) == 1.0
    assert derived_signals(360, 345, [1993])[0, :, :3].sum() == 0.0  # Romania: a joiner


def _counted(rows: list[dict[str, str]], dispnum: str) -> set[tuple[int, int, str]]:
    """(ccode, year, channel) counted in a dispute over all its pairs, via the package."""
    pairs = {
        tuple(sorted((_i(r["ccode1"]), _i(r["ccode2"])))) for r in rows if r["dispnum"] == dispnum
    }
    out = set()
    for a, b in pairs:
        ev = mid_signal_events(a, b)
        ev = ev.loc[ev["dispnum"] == _i(dispnum)]
        out |= {(int(c), int(y), str(ch)) for c, y, ch in ev[["ccode", "year", "channel"]].values}
    return out


def test_world_war_rule(mid_rows: list[dict[str, str]]) -> None:
    # naive reading (side and level only) of the raw rows: dozens of pairs "initiating"
    naive = [
        r
        for r in mid_rows
        if r["dispnum"] in ("257.0", "258.0")
        and r["gmlmidonset"] == "1.0"
        and r["sidea1"] == "1.0"
        and _i(r["hostlev1"]) >= 4
    ]
    assert len(naive) == 44 + 155
    assert _counted(mid_rows, "257.0") == {
        (300, 1914, "mid_use_of_force"),
        (345, 1914, "mid_force_in_reply"),
    }
    assert _counted(mid_rows, "258.0") == {
        (290, 1939, "mid_use_of_force"),
        (255, 1939, "mid_force_in_reply"),
    }
    # Brazil-Japan: 1944 (MID 258, both joiners) not counted; 1945 (MID 3506) counted
    bj = _raw_row(mid_rows, 140, 740, 1944)
    assert (bj["dispnum"], bj["orig1"], bj["orig2"]) == ("258.0", "0.0", "0.0")
    sig = derived_signals(140, 740, [1944, 1945])
    assert sig[0, :, :3].sum() == 0.0
    assert sig[1, 0, DERIVED_CHANNELS.index("mid_use_of_force")] == 1.0


def test_alliance_onsets_named(defense: Defense) -> None:
    # NATO 1949: the USA-UK pledge is new (the 1942-1945 wartime pledge had lapsed)
    assert 200 in defense[(2, 1949)]
    assert 200 not in defense[(2, 1948)]
    new_1949 = raw_onsets(defense, 2, 1949, {365})
    assert 200 in new_1949
    assert len(new_1949) == 11
    usa_rus = derived_signals(2, 365, [1949])
    assert usa_rus[0, 0, 3] == 11.0
    usa_ukg = derived_signals(2, 200, [1949])  # the other side is never counted
    assert usa_ukg[0, 0, 3] == 10.0
    # Warsaw Pact 1955: the USSR's only new partners are East Germany and Albania
    assert raw_onsets(defense, 365, 1955, set()) == {265, 339}
    assert derived_signals(2, 365, [1955])[0, 1, 3] == 2.0


def test_coverage_is_nan_never_zero() -> None:
    ip = make_dyad("India", "Pakistan")
    mid = ip["signals"].sel(signal=list(DERIVED_CHANNELS[:3]))
    assert bool(mid.sel(period=slice(2011, 2016)).isnull().all())
    assert not bool(mid.sel(period=slice(1947, 2010)).isnull().any())
    assert not bool(ip["signals"].sel(signal="alliance_new_defense_pact").isnull().any())
    uc = make_dyad("USA", "China", source="sipri", start=2015, end=2023)
    ally = uc["signals"].sel(signal="alliance_new_defense_pact")
    assert bool(ally.sel(period=slice(2019, 2023)).isnull().all())
    assert not bool(ally.sel(period=slice(2015, 2018)).isnull().any())
    # membership: Eritrea from 1993; Germany (255) not a member 1946-1989
    ee = make_dyad("Ethiopia", "Eritrea", start=1990, end=1994)["signals"]
    der = ee.sel(signal=list(DERIVED_CHANNELS))
    assert bool(der.sel(period=slice(1990, 1992), actor="rival").isnull().all())
    assert bool(der.sel(period=slice(1990, 1992), signal=list(DERIVED_CHANNELS[:3])).isnull().all())
    assert not bool(
        der.sel(period=1990, actor="observer", signal="alliance_new_defense_pact").isnull()
    )
    assert not bool(der.sel(period=1993).isnull().any())
    g = derived_signals(255, 365, [1945, 1946, 1990])
    assert np.isnan(g[1, 0]).all()
    assert not np.isnan(g[0, 0]).any()
    assert not np.isnan(g[2]).any()
    # the curated channels are counts, never NaN
    assert not bool(ip["signals"].sel(signal=list(CURATED_CHANNELS)).isnull().any())


def test_make_dyad_india_pakistan_carries_channels(
    mid_rows: list[dict[str, str]], defense: Defense, members: dict[int, set[int]]
) -> None:
    ds = make_dyad("India", "Pakistan")
    assert list(ds["signal"].values) == list(SIGNAL_CHANNELS)
    assert ds["signals"].dtype == np.float64
    years = ds["period"].values.tolist()
    want = expected(mid_rows, defense, members, 750, 770, years)
    got = ds["signals"].sel(signal=list(DERIVED_CHANNELS)).values
    np.testing.assert_array_equal(np.nan_to_num(got, nan=-1), np.nan_to_num(want, nan=-1))
    # 1965: Pakistan starts the war (MID 2631, level 4), India answers with force
    assert raw_mid(mid_rows, 750, 770)[(1, 1965, "mid_use_of_force")] == 1
    assert float(ds["signals"].sel(period=1965, actor="rival", signal="mid_use_of_force")) == 1
    assert float(ds["signals"].sel(period=1965, actor="observer", signal="mid_force_in_reply")) == 1
    assert "derived_definitions" in ds["signals"].attrs


def _events_counts(cases: Path, name: str, codes: dict[str, set[str]]) -> dict[tuple, int]:
    out: dict[tuple, int] = defaultdict(int)
    with (cases / name / "events.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            for actor in ("observer", "rival"):
                if r["role"] in (actor, "both"):
                    out[(int(r["year"]), actor, r["channel"])] += 1
    return out


@pytest.mark.parametrize(("name", "obs", "riv"), [("us_ussr", 2, 365), ("us_china", 2, 710)])
def test_merge_rule_on_bundled_cases(
    cases: Path,
    mid_rows: list[dict[str, str]],
    defense: Defense,
    members: dict[int, set[int]],
    name: str,
    obs: int,
    riv: int,
) -> None:
    ds = load_case(name)
    years = ds["period"].values.tolist()
    # curated channels: exactly the hand-sourced events (the derived ones change nothing)
    counts = _events_counts(cases, name, {})
    for (y, actor, ch), n in counts.items():
        assert float(ds["signals"].sel(period=y, actor=actor, signal=ch)) == n
    assert float(ds["signals"].sel(signal=list(CURATED_CHANNELS)).sum()) == sum(counts.values())
    # derived channels: exactly the raw tables (the curated events change nothing)
    want = expected(mid_rows, defense, members, obs, riv, years)
    got = ds["signals"].sel(signal=list(DERIVED_CHANNELS)).values
    np.testing.assert_array_equal(np.nan_to_num(got, nan=-1), np.nan_to_num(want, nan=-1))


def test_quad_revival_in_us_china(cases: Path) -> None:
    ds = load_case("us_china")
    quad = [i for i, lab in enumerate(ds["event_label"].values) if "Quad" in str(lab)]
    assert len(quad) == 1
    ev = ds.isel(event=quad[0])
    assert str(ev["event_date"].values) == "2017-11-12"
    assert str(ev["event_channel"].values) == "alliance_expansion"
    assert str(ev["event_actor"].values) == "observer"
    assert str(ev["event_source"].values).startswith("https://")
    sig = ds["signals"].sel(period=2017, actor="observer")
    assert float(sig.sel(signal="alliance_expansion")) == 1.0
    assert float(sig.sel(signal="alliance_new_defense_pact")) == 0.0  # no ATOP onset in 2017
    # MID coverage ends in 2010: NaN, never 0
    assert math.isnan(float(sig.sel(signal="mid_use_of_force")))


def test_aggregate_observer_nato_europe() -> None:
    eu = load_case("russia_nato", observer="nato_europe")["signals"]
    usa = load_case("russia_nato", observer="usa")["signals"]
    mids = list(DERIVED_CHANNELS[:3])
    assert bool(eu.sel(signal=mids).isnull().all())  # no dyadic table row for an aggregate
    assert bool(eu.sel(actor="observer", signal="alliance_new_defense_pact").isnull().all())
    ally = "alliance_new_defense_pact"
    # Russia's new partners 1992-2018 include no European NATO member: both rows agree
    np.testing.assert_array_equal(
        eu.sel(actor="rival", signal=ally).values, usa.sel(actor="rival", signal=ally).values
    )
    assert float(eu.sel(actor="rival", signal=ally).sum()) == 11.0
