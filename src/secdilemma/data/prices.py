"""Military spending in real terms: price deflators and the system-relative index.

COW NMC ``milex`` is in *current* money (thousands of pounds sterling 1816-1913, of US
dollars from 1914). Read as log growth, common inflation would look like the rival's own
autonomous growth, the model's signature of greed. :func:`secdilemma.data.make_dyad` therefore
states every money series in one of three price bases (``prices=``):

``"real"`` (default)
    Current values divided by the consumer price index of their currency, rebased to
    :data:`PRICE_BASE_YEAR` (1913): the pre-1914 pounds by the Bank of England's spliced UK
    CPI, the dollars from 1914 by the BLS CPI-U annual average. A range that crosses
    1913→1914 (``unit_break="convert"``) converts the constant-1913 pounds at the gold parity,
    so the whole series is in constant 1913 US$. SIPRI's constant-price series is used as
    it is (already constant 2022 US$).
``"nominal"``
    The source's current values (NMC as published; SIPRI's current-US$ sheet).
``"relative"``
    NMC only: each state's spending as a percentage of the chain-linked total of every
    state's NMC spending that year (:func:`system_index`). A change of prices or of the unit
    that all NMC values share cancels exactly.

The price files and their caveats are described in ``data/raw/price_indices/README.md``.

Examples
--------
>>> from secdilemma.data.prices import nmc_deflator
>>> float(nmc_deflator([1913])[0]), float(nmc_deflator([1914])[0])
(1.0, 1.0)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.csvtable import read_csv_table, resolve_raw
from secdilemma.data.schema import Column
from secdilemma.data.sources import read_nmc
from secdilemma.errors import DataError

__all__ = [
    "GOLD_PARITY_USD_PER_GBP",
    "NMC_UNIT_BREAK_YEAR",
    "PRICES",
    "PRICES_NOTE",
    "PRICE_BASE_YEAR",
    "UK_CPI_RELPATH",
    "US_CPI_RELPATH",
    "nmc_deflator",
    "nmc_milex_units",
    "read_uk_cpi",
    "read_us_cpi",
    "restate_nmc_milex",
    "system_index",
]

#: The price bases of a money series (see the module docstring).
PRICES: tuple[str, ...] = ("real", "nominal", "relative")

#: What each price basis means (carried into a dyad's ``attrs["units_note"]``).
PRICES_NOTE: dict[str, str] = {
    "real": "current values divided by the consumer price index of their currency, 1913 = 1 "
    "(Bank of England UK CPI for the pounds of 1816-1913, BLS CPI-U for the dollars from "
    "1914); a change in the exchange rate of a state's own currency is not removed.",
    "nominal": "the source's current values; common inflation shows as growth.",
    "relative": "percent of the chain-linked total military spending of the state system that "
    "year; any price or unit change that all NMC values share cancels.",
}

#: Base year of the real-terms series and of the system index (the last pre-war year, in
#: which the pound stood at its gold parity with the dollar).
PRICE_BASE_YEAR = 1913

#: First year in which NMC ``milex`` is in US dollars (before: pounds sterling).
NMC_UNIT_BREAK_YEAR = 1914

#: Pre-1914 gold parity of the pound: 113.0016 grains of fine gold per sovereign /
#: 23.22 grains per US dollar = US$4.8665 per £ (see data/raw/README.md).
GOLD_PARITY_USD_PER_GBP = 4.8665

_DOLLAR_YEAR = NMC_UNIT_BREAK_YEAR
_GOLD_PARITY = GOLD_PARITY_USD_PER_GBP

US_CPI_RELPATH = "price_indices/cpiai.csv"
UK_CPI_RELPATH = "price_indices/uk_cpi_boe_2017.csv"
_UK_CPI_COLUMN = "Spliced Consumer Price index 2015=100 (Bank of England (2017))"

_US_COLUMNS = (Column("Date", "date"), Column("Index", "float", nonnegative=True))
_UK_COLUMNS = (
    Column("Entity"),
    Column("Year", "year"),
    Column(_UK_CPI_COLUMN, "float", nonnegative=True),
)


def read_us_cpi(path: str | Path | None = None) -> pd.Series:
    """US CPI-U (all items, US city average, 1982-84 = 100) as annual averages.

    The annual average is the mean of the twelve monthly values (the BLS definition); a
    year with fewer than twelve months in the file is left out (missing), not averaged.

    Parameters
    ----------
    path
        CSV file; default ``data/raw/price_indices/cpiai.csv``.

    Returns
    -------
    pandas.Series
        Year (int) -> annual average index.

    Raises
    ------
    DataError
        A missing file or column, a malformed date or value, a repeated month.

    Examples
    --------
    >>> round(float(read_us_cpi()[1913]), 4)
    9.8833
    """
    p = resolve_raw(path, US_CPI_RELPATH)
    return _read_us_cpi_cached(str(p), p.stat().st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _read_us_cpi_cached(path: str, _mtime: int) -> pd.Series:
    table = read_csv_table(Path(path), _US_COLUMNS, key=("Date",))
    dates = table["Date"].astype(str)
    bad = table.loc[dates.str.len() != 10]
    if len(bad):
        raise DataError(
            f"{path}: column 'Date', line {int(bad['_line'].iloc[0])}: expected a month as "
            f"YYYY-MM-01, got {dates.loc[bad.index[0]]!r}. Restore the bundled copy."
        )
    years = dates.str[:4].astype(int)
    grouped = table["Index"].astype(float).groupby(years)
    annual = grouped.mean().loc[grouped.count() == 12]
    annual.index = annual.index.astype(int)
    return annual.rename("us_cpi_u")


def read_uk_cpi(path: str | Path | None = None) -> pd.Series:
    """The Bank of England's spliced UK consumer price index (2015 = 100), 1750-2015.

    Parameters
    ----------
    path
        CSV file; default ``data/raw/price_indices/uk_cpi_boe_2017.csv``.

    Returns
    -------
    pandas.Series
        Year (int) -> index.

    Raises
    ------
    DataError
        A missing file or column, a malformed value, a repeated year.

    Examples
    --------
    >>> float(read_uk_cpi()[2015])
    100.0
    """
    p = resolve_raw(path, UK_CPI_RELPATH)
    return _read_uk_cpi_cached(str(p), p.stat().st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _read_uk_cpi_cached(path: str, _mtime: int) -> pd.Series:
    table = read_csv_table(Path(path), _UK_COLUMNS, key=("Year",))
    out = pd.Series(
        table[_UK_CPI_COLUMN].to_numpy(dtype=float),
        index=table["Year"].astype(int).to_numpy(),
        name="uk_cpi",
    )
    return out.sort_index()


def _rebased(index: pd.Series, years: Sequence[int], name: str) -> np.ndarray:
    if PRICE_BASE_YEAR not in index.index or not index[PRICE_BASE_YEAR] > 0:
        raise DataError(
            f"{name}: no positive value for the base year {PRICE_BASE_YEAR}; restore the "
            f"bundled price file (data/raw/price_indices/)."
        )
    return index.reindex(list(years)).to_numpy(dtype=float) / float(index[PRICE_BASE_YEAR])


def nmc_deflator(years: Sequence[int]) -> np.ndarray:
    """Price level of NMC's currency in each year, relative to :data:`PRICE_BASE_YEAR`.

    The UK CPI (Bank of England) for the pound years 1816-1913 and the US CPI-U annual
    average (BLS) for the dollar years from 1914, each rebased to 1913 = 1. Dividing a
    current NMC value by it gives constant-1913 pounds (before 1914) or dollars (from
    1914). NaN where the index has no value (never within NMC's 1816-2016).

    Examples
    --------
    >>> d = nmc_deflator([1816, 1913, 1914, 1950])
    >>> [round(float(v), 3) for v in d]
    [1.177, 1.0, 1.013, 2.435]
    """
    yrs = [int(y) for y in years]
    uk = _rebased(read_uk_cpi(), yrs, "UK CPI (Bank of England)")
    us = _rebased(read_us_cpi(), yrs, "US CPI-U (BLS)")
    return np.where(np.asarray(yrs) < _DOLLAR_YEAR, uk, us)


def system_index(years: Sequence[int], nmc: pd.DataFrame | None = None) -> np.ndarray:
    """Chain-linked total military spending of the state system (COW NMC), in US$.

    Pre-1914 pounds are converted at the gold parity first. The year-to-year link is the
    ratio of the summed spending of the states with a positive value in *both* years, so a
    state entering, leaving or missing a year does not move the index; the chain is
    anchored at the actual total of :data:`PRICE_BASE_YEAR`. A price or unit change shared
    by every NMC value, ``m_it * c_t``, multiplies the index by ``c_t`` exactly.

    Parameters
    ----------
    years
        The years wanted (within 1816-2016).
    nmc
        The NMC table (default :func:`secdilemma.data.sources.read_nmc`).

    Returns
    -------
    numpy.ndarray
        Thousands of current US$ per year.

    Examples
    --------
    >>> s = system_index([1913, 1914])
    >>> bool(s[1] > s[0])
    True
    """
    table = read_nmc() if nmc is None else nmc
    wide = table.pivot_table(index="year", columns="ccode", values="milex", aggfunc="first")
    wide = wide.sort_index()
    wide.loc[wide.index < _DOLLAR_YEAR] *= _GOLD_PARITY
    values = wide.to_numpy(dtype=float)
    both = (values[1:] > 0) & (values[:-1] > 0)
    now = np.where(both, values[1:], 0.0).sum(axis=1)
    before = np.where(both, values[:-1], 0.0).sum(axis=1)
    link = np.concatenate([[1.0], now / before])
    chain = pd.Series(np.cumprod(link), index=wide.index.astype(int))
    base_total = float(np.nansum(np.where(values > 0, values, 0.0)[wide.index == PRICE_BASE_YEAR]))
    anchored = chain * base_total / float(chain[PRICE_BASE_YEAR])
    return anchored.reindex([int(y) for y in years]).to_numpy(dtype=float)


def restate_nmc_milex(
    arr: np.ndarray, periods: Sequence[int], prices: str, converted: bool, notes: list[str]
) -> str | None:
    """Restate NMC ``milex`` (``(period, 2)``, current money) in ``prices``, in place.

    ``converted``: the pre-1914 pounds in ``arr`` were already converted to US$ at the gold
    parity. Returns the new units, or ``None`` for ``"nominal"`` (``arr`` unchanged).
    A year without a deflator is left NaN, with a note.

    Examples
    --------
    >>> a = np.array([[100.0, 50.0]])
    >>> restate_nmc_milex(a, [1913], "real", False, [])
    'thousands of constant 1913 pounds sterling (deflated by the Bank of England UK CPI)'
    >>> a.tolist()
    [[100.0, 50.0]]
    """
    if prices == "nominal":
        return None
    years = [int(y) for y in periods]
    yrs = np.asarray(years)
    pre = yrs < _DOLLAR_YEAR
    if prices == "relative":
        if not converted:
            arr[pre, :] *= _GOLD_PARITY
        arr[:] = 100.0 * arr / system_index(years)[:, None]
        return (
            "percent of the state system's military spending (chain-linked total of COW NMC "
            f"milex, anchored at the {PRICE_BASE_YEAR} total; pre-1914 pounds at the gold "
            f"parity US${_GOLD_PARITY}/£)"
        )
    deflator = nmc_deflator(years)
    gaps = [int(y) for y, d in zip(yrs, deflator, strict=True) if not np.isfinite(d)]
    if gaps:
        notes.append(f"no price index for {gaps}: real milex left NaN")
    arr[:] = arr / deflator[:, None]
    uk = "deflated by the Bank of England UK CPI"
    us = "deflated by the BLS CPI-U annual average"
    if pre.all():
        return f"thousands of constant {PRICE_BASE_YEAR} pounds sterling ({uk})"
    if not pre.any():
        return f"thousands of constant {PRICE_BASE_YEAR} US$ ({us})"
    return (
        f"thousands of constant {PRICE_BASE_YEAR} US$ (to 1913: pounds {uk} and converted at "
        f"the gold parity US${_GOLD_PARITY}/£; from 1914: {us})"
    )


def nmc_milex_units(
    arr: np.ndarray, periods: list[int], unit_break: str, notes: list[str], prices: str = "nominal"
) -> str:
    """Units of NMC milex (``(period, 2)``) over ``periods``, converting ``arr`` in place.

    With ``unit_break="convert"`` a range that crosses 1913→1914 has its pre-1914 pounds
    converted at the gold parity (``"error"`` raises a mixed-unit-splice DataError); then the
    values are restated in ``prices`` (:func:`restate_nmc_milex`). ``"relative"`` needs no
    conversion: its values have no unit.

    Examples
    --------
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> nmc_milex_units(a, [1913, 1914], "convert", [], "nominal")[:23]
    'thousands of current US$'
    """
    s, e = periods[0], periods[-1]
    crosses = s < _DOLLAR_YEAR <= e
    nominal_break = unit_break if prices != "relative" else ""  # relative: unit-free
    converting = crosses and nominal_break == "convert"
    nominal = _nmc_nominal_units(arr, periods, nominal_break, notes)
    return restate_nmc_milex(arr, periods, prices, converting, notes) or nominal


def _nmc_nominal_units(
    arr: np.ndarray, periods: list[int], unit_break: str, notes: list[str]
) -> str:
    s, e = periods[0], periods[-1]
    crosses = s < _DOLLAR_YEAR <= e
    if crosses and unit_break == "error":
        raise DataError(
            f"mixed-unit splice: NMC milex is in thousands of current pounds sterling for "
            f"1816-1913 and thousands of current US dollars from 1914; the range {s}-{e} "
            f"crosses 1913→1914. Choose years on one side: end <= 1913 or start >= 1914 "
            f"(on the command line --end 1913 or --start 1914); or convert the pre-1914 "
            f"pounds at the gold parity US${_GOLD_PARITY}/£ with "
            f"make_dyad(..., unit_break='convert')."
        )
    if crosses and unit_break == "convert":
        pre = np.asarray(periods) < _DOLLAR_YEAR
        arr[pre, :] = arr[pre, :] * _GOLD_PARITY
        notes.append(f"NMC milex {s}-1913 converted from £ to US$ at {_GOLD_PARITY}")
        return (
            f"thousands of current US$ ({s}-1913 converted from pounds sterling at the "
            f"gold parity US${_GOLD_PARITY}/£)"
        )
    if e < _DOLLAR_YEAR:
        return "thousands of current pounds sterling"
    return "thousands of current US$"
