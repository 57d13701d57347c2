"""Shared helpers for the case-data tests."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from secdilemma._paths import cases_dir, raw_dir


@pytest.fixture(scope="session")
def raw() -> Path:
    return raw_dir()


@pytest.fixture(scope="session")
def cases() -> Path:
    return cases_dir()


def _us_cpi_annual(raw: Path, year: int) -> float:
    with (raw / "price_indices/cpiai.csv").open(encoding="utf-8", newline="") as fh:
        vals = [float(r["Index"]) for r in csv.DictReader(fh) if r["Date"].startswith(f"{year}-")]
    assert len(vals) == 12
    return sum(vals) / 12


def _uk_cpi(raw: Path, year: int) -> float:
    with (raw / "price_indices/uk_cpi_boe_2017.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return next(float(r[3]) for r in rows[1:] if int(r[1]) == year)


@pytest.fixture(scope="session")
def us_cpi(raw: Path) -> Callable[[int], float]:
    """BLS CPI-U annual average of a year, read here from the raw monthly file."""
    return lambda year: _us_cpi_annual(raw, year)


@pytest.fixture(scope="session")
def uk_cpi(raw: Path) -> Callable[[int], float]:
    """Bank of England spliced UK CPI of a year, read here from the raw file."""
    return lambda year: _uk_cpi(raw, year)
