"""make_dyad for any pair: name resolution, unit break, state existence, SIPRI gaps."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from secdilemma.data import make_dyad, resolve_country
from secdilemma.data.dyad import GOLD_PARITY_USD_PER_GBP
from secdilemma.errors import DataError


def nmc(raw: Path, ccode: int, year: int) -> float:
    with (raw / "cow_nmc/NMC-60-abridged.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            if int(r["ccode"]) == ccode and int(r["year"]) == year:
                return math.nan if r["milex"] == "-9" else float(r["milex"])
    raise KeyError((ccode, year))


@pytest.mark.parametrize(
    ("query", "ccode"),
    [
        (2, 2),
        ("2", 2),
        ("USA", 2),
        ("usa", 2),
        ("United States of America", 2),
        ("United States", 2),
        ("Russia", 365),
        ("USSR", 365),
        ("soviet union", 365),
        ("China", 710),
        ("UKG", 200),
        ("Germany", 255),
        ("West Germany", 260),
        ("Türkiye", 640),
        ("Korea, South", 732),
        ("Czechia", 316),
    ],
)
def test_resolve(query: int | str, ccode: int) -> None:
    assert resolve_country(query).ccode == ccode


def test_unknown_country_suggests() -> None:
    with pytest.raises(DataError, match=r"argument 'rival': unknown country 'Germny'.*Germany"):
        make_dyad("UKG", "Germny")
    with pytest.raises(DataError, match="COW code 9999"):
        make_dyad(9999, "UKG")
    with pytest.raises(DataError, match="two different states"):
        make_dyad("USA", "United States")


def test_nmc_values_and_names(raw: Path, us_cpi: Callable[[int], float]) -> None:
    ds = make_dyad("United States of America", "Soviet Union", start=1980, end=1990)
    assert list(ds["actor_code"].values) == ["USA", "RUS"]
    # real terms by default: NMC current US$ over the CPI-U annual average, 1913 = 1
    deflator = us_cpi(1985) / us_cpi(1913)
    assert float(ds["milex"].sel(period=1985, actor="rival")) == pytest.approx(
        nmc(raw, 365, 1985) / deflator, rel=1e-12
    )
    assert ds["milex"].attrs["units"].startswith("thousands of constant 1913 US$")
    assert ds.attrs["prices"] == "real"
    assert set(ds.data_vars) >= {"milex", "milper", "signals", "event_label"}
    # bundled events whose actors are USA/RUS are included
    assert "INF Treaty signed" in ds["event_label"].values.tolist()
    assert ds.attrs["case"] == "custom"


def test_unit_break(
    raw: Path, us_cpi: Callable[[int], float], uk_cpi: Callable[[int], float]
) -> None:
    with pytest.raises(DataError, match=r"mixed-unit splice.*1900-1920.*1913→1914"):
        make_dyad("UKG", "GMY", start=1900, end=1920)
    with pytest.raises(DataError, match="mixed-unit splice"):
        make_dyad("USA", "UKG")  # default range 1816-2016 crosses the break
    kw = {"start": 1900, "end": 1920, "unit_break": "convert"}
    ds = make_dyad("UKG", "GMY", prices="nominal", **kw)  # type: ignore[arg-type]
    assert float(ds["milex"].sel(period=1913, actor="observer")) == pytest.approx(
        nmc(raw, 200, 1913) * GOLD_PARITY_USD_PER_GBP
    )
    assert float(ds["milex"].sel(period=1914, actor="observer")) == nmc(raw, 200, 1914)
    assert "4.8665" in ds["milex"].attrs["units"]
    pounds = make_dyad("UKG", "GMY", start=1900, end=1913, prices="nominal")
    assert pounds["milex"].attrs["units"] == "thousands of current pounds sterling"
    # real (default): pounds over the UK CPI, dollars over the US CPI-U, both 1913 = 1
    real = make_dyad("UKG", "GMY", **kw)  # type: ignore[arg-type]
    assert float(real["milex"].sel(period=1900, actor="rival")) == pytest.approx(
        nmc(raw, 255, 1900) * GOLD_PARITY_USD_PER_GBP * uk_cpi(1913) / uk_cpi(1900),
        rel=1e-12,
    )
    assert float(real["milex"].sel(period=1920, actor="rival")) == pytest.approx(
        nmc(raw, 255, 1920) * us_cpi(1913) / us_cpi(1920), rel=1e-12
    )
    assert "constant 1913 US$" in real["milex"].attrs["units"]
    # milper has no unit break
    assert make_dyad("UKG", "GMY", start=1900, end=1920, variable="milper").sizes["period"] == 21
    with pytest.raises(DataError, match="argument 'unit_break'"):
        make_dyad("UKG", "GMY", start=1900, end=1913, unit_break="split")  # type: ignore[arg-type]


def test_germanies() -> None:
    ds = make_dyad("France", "Germany", start=1940, end=1995)
    riv = ds["milex"].sel(actor="rival")
    assert np.isnan(riv.sel(period=1960))
    assert not np.isnan(riv.sel(period=1991))
    assert "not in COW NMC in 1946-1989" in ds.attrs["notes"]
    with pytest.raises(DataError, match="West Germany"):
        make_dyad("France", "Germany", start=1960, end=1980)
    fed = make_dyad("France", "West Germany", start=1960, end=1980)
    assert not np.isnan(fed["milex"].sel(actor="rival")).any()


def test_range_errors() -> None:
    with pytest.raises(DataError, match="outside the COW NMC coverage 1816-2016"):
        make_dyad("USA", "RUS", start=2000, end=2020)
    with pytest.raises(DataError, match="start 1990 is after end 1980"):
        make_dyad("USA", "RUS", start=1990, end=1980)
    with pytest.raises(DataError, match="argument 'start'"):
        make_dyad("USA", "RUS", start=1990.5, end=1991)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="argument 'variable'"):
        make_dyad("USA", "RUS", start=1990, end=1991, variable="tanks")
    with pytest.raises(DataError, match="argument 'source'"):
        make_dyad("USA", "RUS", source="cia")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="outside the SIPRI coverage"):
        make_dyad("USA", "CHN", source="sipri", start=1940, end=1960)


def test_sipri_dyads() -> None:
    ds = make_dyad("United States of America", "USSR", source="sipri", start=1985, end=1995)
    riv = ds["milex"].sel(actor="rival")
    assert np.isnan(riv.sel(period=1987))
    assert np.isnan(riv.sel(period=1991))
    assert float(riv.sel(period=1988)) == pytest.approx(326658.3778418665)
    assert float(riv.sel(period=1992)) == pytest.approx(54793.469783881905)
    assert "USSR" in ds.attrs["notes"]
    with pytest.raises(DataError, match="SIPRI has the USSR for 1988-1990 only"):
        make_dyad("USA", "Soviet Union", source="sipri", start=1960, end=1980)
    cur = make_dyad("USA", "China", source="sipri", variable="milex_current", start=2020, end=2023)
    assert "current" in cur["milex_current"].attrs["units"]
    default = make_dyad("USA", "China", source="sipri")
    assert int(default["period"].min()) == 1989
    assert int(default["period"].max()) == 2023
    with pytest.raises(DataError, match="argument 'variable'"):
        make_dyad("USA", "China", source="sipri", variable="milper")


def test_no_events_for_unrelated_dyad() -> None:
    ds = make_dyad("Brazil", "Argentina", start=1950, end=1960)
    assert ds.sizes["event"] == 0
    assert int(ds["signals"].sum()) == 0
    assert ds["event_label"].dims == ("event",)
