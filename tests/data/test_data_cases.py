"""Curated cases: the Dataset contract, and values checked against the raw files."""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from secdilemma.data import SIGNAL_CHANNELS, case_info, list_cases, load_case
from secdilemma.data.derive import NATO_EUROPE_MEMBERS
from secdilemma.data.dyad import GOLD_PARITY_USD_PER_GBP
from secdilemma.data.schema import CURATED_CHANNELS
from secdilemma.errors import DataError

CASES = ["anglo_german_naval", "us_ussr", "us_china", "russia_nato"]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def nmc_value(raw: Path, abb: str, year: int, col: str = "milex") -> float:
    for r in rows(raw / "cow_nmc/NMC-60-abridged.csv"):
        if r["stateabb"] == abb and int(r["year"]) == year:
            return math.nan if r[col] == "-9" else float(r[col])
    raise KeyError((abb, year))


def test_list_cases_and_info() -> None:
    assert list_cases() == CASES
    info = case_info("russia_nato")
    assert info["observers"] == ["usa", "nato_europe"]
    assert (info["start"], info["end"]) == (1992, 2023)
    with pytest.raises(DataError, match=r"unknown case 'us_chna'.*'us_china'"):
        load_case("us_chna")


@pytest.mark.parametrize("name", CASES)
def test_contract(name: str) -> None:
    ds = load_case(name)
    info = case_info(name)
    assert list(ds["actor"].values) == ["observer", "rival"]
    assert list(ds["signal"].values) == list(SIGNAL_CHANNELS)
    assert ds["period"].dtype == np.int64
    assert ds["period"].values.tolist() == list(range(info["start"], info["end"] + 1))
    assert ds["milex"].dims == ("period", "actor")
    assert ds["milex"].dtype == np.float64
    for var in info["variables"]:
        assert ds[var].dims == ("period", "actor")
        assert ds[var].attrs["units"]
    assert ds["milex"].attrs["source"]
    for key in ("case", "title", "source", "observer", "rival", "start", "end", "description"):
        assert key in ds.attrs
    for var in (
        "event_date",
        "event_year",
        "event_actor",
        "event_channel",
        "event_label",
        "event_source",
    ):
        assert ds[var].dims == ("event",)
    assert set(ds["event_actor"].values) <= {"observer", "rival", "both"}
    assert set(ds["event_channel"].values) <= set(CURATED_CHANNELS)
    assert all(str(s).startswith("http") for s in ds["event_source"].values)
    assert ds["signals"].dims == ("period", "actor", "signal")
    assert ds["signals"].dtype == np.float64
    curated = ds["signals"].sel(signal=list(CURATED_CHANNELS))
    assert not bool(curated.isnull().any())  # hand-sourced channels: counts, never NaN
    # curated signals equal the event counts ("both" counts for both)
    both = int((ds["event_actor"] == "both").sum())
    assert int(curated.sum()) == ds.sizes["event"] + both
    assert ds.attrs["case"] == name
    # every event year within the period range
    assert set(ds["event_year"].values.tolist()) <= set(ds["period"].values.tolist())


def test_load_case_returns_independent_copies() -> None:
    a = load_case("us_ussr")
    a["milex"][:] = 0.0
    b = load_case("us_ussr")
    assert float(b["milex"].sel(period=1985, actor="observer")) > 0


def test_us_ussr_against_raw(raw: Path, us_cpi: Callable[[int], float]) -> None:
    ds = load_case("us_ussr")
    assert list(ds["actor_code"].values) == ["USA", "RUS"]
    for role, abb in (("observer", "USA"), ("rival", "RUS")):
        # real terms: NMC current US$ over the CPI-U annual average, 1913 = 1
        assert float(ds["milex"].sel(period=1985, actor=role)) == pytest.approx(
            nmc_value(raw, abb, 1985) * us_cpi(1913) / us_cpi(1985), rel=1e-12
        )
        assert float(ds["milper"].sel(period=1970, actor=role)) == nmc_value(
            raw, abb, 1970, "milper"
        )
    owid = {
        (r["Entity"], int(r["Year"])): float(r["nuclear_weapons_stockpile"])
        for r in rows(raw / "owid_nuclear_warheads/nuclear-warhead-stockpiles.csv")
    }
    assert float(ds["warheads"].sel(period=1986, actor="observer")) == owid[("United States", 1986)]
    assert float(ds["warheads"].sel(period=1986, actor="rival")) == owid[("Russia", 1986)]
    labels = " ".join(ds["event_label"].values.tolist())
    for needle in (
        "INF Treaty signed",
        "START I signed",
        "SALT I",
        "ABM Treaty signed",
        "Cuban missile crisis",
        "Afghanistan",
    ):
        assert needle in labels
    assert int(ds["signals"].sel(period=1987, actor="rival", signal="arms_control_signed")) == 1


def test_anglo_german_against_raw(
    raw: Path, us_cpi: Callable[[int], float], uk_cpi: Callable[[int], float]
) -> None:
    ds = load_case("anglo_german_naval")
    assert list(ds["actor_code"].values) == ["UKG", "GMY"]
    # NMC pounds in constant 1913 pounds (UK CPI), converted at the gold parity; 1914 is
    # already dollars in NMC (US CPI-U)
    assert float(ds["milex"].sel(period=1905, actor="rival")) == pytest.approx(
        nmc_value(raw, "GMY", 1905) * GOLD_PARITY_USD_PER_GBP * uk_cpi(1913) / uk_cpi(1905),
        rel=1e-12,
    )
    assert float(ds["milex"].sel(period=1914, actor="observer")) == pytest.approx(
        nmc_value(raw, "UKG", 1914) * us_cpi(1913) / us_cpi(1914), rel=1e-12
    )
    # naval: one measure, missing years stay missing
    naval = [
        r
        for r in rows(raw / "compiled/anglo_german_naval_race_1898_1914.csv")
        if r["measure"] == "new_construction_expenditure"
    ]
    for r in naval:
        role = {"UKG": "observer", "GMY": "rival"}[r["country"]]
        year = int(r["year"])
        assert float(ds["naval_expenditure"].sel(period=year, actor=role)) == pytest.approx(
            float(r["value"]) * uk_cpi(1913) / uk_cpi(year), rel=1e-12
        )
    ne = ds["naval_expenditure"].sel(actor="rival")
    assert np.isnan(ne.sel(period=1903))
    assert np.isnan(ne.sel(period=1911))
    # dreadnought counts against the ship-level file
    ships = rows(raw / "compiled/dreadnoughts_uk_germany_ships_1906_1914.csv")
    for role, abb in (("observer", "UKG"), ("rival", "GMY")):
        for year in range(1906, 1915):
            n_new = sum(s["country"] == abb and int(s["year_in_service"]) == year for s in ships)
            n_cum = sum(s["country"] == abb and int(s["year_in_service"]) <= year for s in ships)
            assert int(ds["dreadnoughts_new"].sel(period=year, actor=role)) == n_new
            assert int(ds["dreadnoughts_cumulative"].sel(period=year, actor=role)) == n_cum
    assert np.isnan(ds["dreadnoughts_new"].sel(period=1905, actor="observer"))
    # naval laws and the Haldane mission
    ev = ds[["event_date", "event_actor", "event_channel", "event_label"]].to_dataframe()
    laws = ev.loc[(ev["event_channel"] == "force_posture_law") & (ev["event_actor"] == "rival")]
    assert {d[:4] for d in laws["event_date"]} == {"1898", "1900", "1906", "1908", "1912"}
    haldane = ev.loc[ev["event_label"].str.contains("Haldane")]
    assert haldane["event_channel"].tolist() == ["arms_control_refused"]


def test_us_china_against_raw(raw: Path, us_cpi: Callable[[int], float]) -> None:
    ds = load_case("us_china")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(
            raw / "sipri_milex/SIPRI-Milex-data-1949-2023.xlsx", read_only=True, data_only=True
        )
    sheet = list(wb["Constant (2022) US$"].iter_rows(values_only=True))
    wb.close()
    header = next(r for r in sheet if r[0] == "Country")
    col = header.index(2023)
    china = next(r for r in sheet if r[0] == "China")[col]
    assert float(ds["milex"].sel(period=2023, actor="rival")) == china
    assert float(ds["milex_nmc"].sel(period=2016, actor="rival")) == pytest.approx(
        nmc_value(raw, "CHN", 2016) * us_cpi(1913) / us_cpi(2016), rel=1e-12
    )
    assert np.isnan(ds["milex_nmc"].sel(period=2017, actor="rival"))
    labels = " ".join(ds["event_label"].values.tolist())
    assert "AUKUS" in labels
    assert "Spratly" in labels


def _sipri_constant(raw: Path) -> dict[tuple[str, int], object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(
            raw / "sipri_milex/SIPRI-Milex-data-1949-2023.xlsx", read_only=True, data_only=True
        )
    sheet = list(wb["Constant (2022) US$"].iter_rows(values_only=True))
    wb.close()
    header = next(r for r in sheet if r[0] == "Country")
    years = {i: int(v) for i, v in enumerate(header) if isinstance(v, float | int)}
    return {(str(r[0]), y): r[i] for r in sheet if r[0] for i, y in years.items() if i < len(r)}


def test_nato_europe_aggregate_independent(raw: Path) -> None:
    table = _sipri_constant(raw)
    ds = load_case("russia_nato", observer="nato_europe")
    assert str(ds["actor_code"].sel(actor="observer").values) == "NATO-EU"
    # members by accession year, written out independently of the library's table
    founders = [
        "Belgium",
        "Denmark",
        "France",
        "Italy",
        "Luxembourg",
        "Netherlands",
        "Norway",
        "Portugal",
        "United Kingdom",
        "Greece",
        "Türkiye",
        "Germany",
        "Spain",
    ]
    y1999 = ["Czechia", "Hungary", "Poland"]
    y2004 = ["Bulgaria", "Estonia", "Latvia", "Lithuania", "Romania", "Slovakia", "Slovenia"]
    for year, members in (
        (1995, founders),
        (2005, founders + y1999 + y2004),
        (
            2023,
            founders
            + y1999
            + y2004
            + ["Albania", "Croatia", "Montenegro", "North Macedonia", "Finland"],
        ),
    ):
        vals = [table[(m, year)] for m in members]
        assert all(isinstance(v, float) for v in vals)
        want = math.fsum(float(v) for v in vals)  # type: ignore[arg-type]
        assert float(ds["milex"].sel(period=year, actor="observer")) == pytest.approx(
            want, rel=1e-12
        )
        assert int(ds["observer_members"].sel(period=year)) == len(members)
    assert int(ds["observer_members_missing"].sum()) == 0
    assert float(ds["milex"].sel(period=2010, actor="rival")) == table[("Russia", 2010)]
    # Iceland, no armed forces, is a member but not summed
    assert next(m for m in NATO_EUROPE_MEMBERS if not m.in_aggregate).sipri_name == "Iceland"


def test_russia_nato_observers_and_events() -> None:
    usa = load_case("russia_nato")
    eu = load_case("russia_nato", observer="nato_europe")
    assert load_case("russia_nato", observer="United States").attrs["observer_option"] == "usa"
    assert str(usa["actor_code"].sel(actor="observer").values) == "USA"
    assert float(usa["milex"].sel(period=2000, actor="rival")) == float(
        eu["milex"].sel(period=2000, actor="rival")
    )
    lab_us = set(usa["event_label"].values.tolist())
    lab_eu = set(eu["event_label"].values.tolist())
    assert "US withdrawal from the ABM Treaty takes effect" in lab_us - lab_eu
    assert "Finland joins NATO" in lab_us & lab_eu
    assert not any("Sweden" in s for s in lab_us)  # 2024: outside the data period
    for y, ch in ((2008, "use_of_force"), (2014, "use_of_force"), (2022, "use_of_force")):
        assert int(usa["signals"].sel(period=y, actor="rival", signal=ch)) >= 1
    assert (
        int(usa["signals"].sel(period=2002, actor="observer", signal="arms_control_withdrawn")) == 1
    )
    with pytest.raises(DataError, match=r"not an observer option.*'usa', 'nato_europe'"):
        load_case("russia_nato", observer="France")


def test_missing_values_stay_nan_never_zero() -> None:
    for name in CASES:
        ds = load_case(name)
        for var in case_info(name)["variables"]:
            if var.startswith("milex") or var.startswith("naval"):
                vals = ds[var].values
                assert not np.any(vals[~np.isnan(vals)] <= 0), (name, var)


def test_case_table_malformed(tmp_path: Path, cases: Path) -> None:
    from secdilemma.data.cases import read_case_table

    src = (cases / "us_ussr" / "us_ussr.csv").read_text().splitlines()
    bad = tmp_path / "c.csv"
    bad.write_text("\n".join([src[0], *[ln for ln in src[1:] if not ln.startswith("1950,")]]))
    with pytest.raises(DataError, match=r"years \[1950\] are missing"):
        read_case_table(bad)
    bad.write_text("\n".join([src[0], src[1], src[1]]))
    with pytest.raises(DataError, match=r"duplicate rows.*lines 2, 3"):
        read_case_table(bad)


@pytest.mark.parametrize("name", CASES)
def test_netcdf_round_trip(tmp_path: Path, name: str) -> None:
    import xarray as xr

    ds = load_case(name)
    path = tmp_path / f"{name}.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    np.testing.assert_array_equal(back["milex"].values, ds["milex"].values)
    assert back["event_label"].values.tolist() == ds["event_label"].values.tolist()
    assert back.attrs["case"] == name
