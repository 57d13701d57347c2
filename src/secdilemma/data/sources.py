"""Readers for the raw public source files, with validation.

Every reader takes an optional ``path`` (default: the bundled copy under
:func:`secdilemma._paths.raw_dir`) so that tests can feed malformed files. Any problem
raises :class:`secdilemma.errors.DataError` naming the file, the column and the 1-based
line (CSV) or cell (xlsx) and saying what to do. Parsed default files are cached in memory.

The rivalry lists' reader :func:`read_rivalries` lives in :mod:`secdilemma.data.rivalries`
and is re-exported here.

Examples
--------
>>> from secdilemma.data.sources import read_nmc
>>> nmc = read_nmc()
>>> float(nmc.query("stateabb == 'USA' and year == 1985")["milex"].iloc[0]) > 0
True
"""

from __future__ import annotations

import difflib
import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from secdilemma.data.csvtable import read_csv_table, resolve_raw
from secdilemma.data.rivalries import read_rivalries
from secdilemma.data.schema import CURATED_CHANNELS, MAX_YEAR, MIN_YEAR, Column
from secdilemma.errors import DataError

__all__ = [
    "NMC_MISSING",
    "NMC_RELPATH",
    "OWID_RELPATH",
    "SIPRI_RELPATH",
    "SIPRI_SHEETS",
    "Column",
    "parse_sipri_rows",
    "read_case_events_compiled",
    "read_cow_codes",
    "read_cow_states",
    "read_csv_table",
    "read_dreadnought_ships",
    "read_dreadnoughts_by_year",
    "read_naval_race",
    "read_nmc",
    "read_owid_warheads",
    "read_rivalries",
    "read_sipri",
    "read_treaties",
]

NMC_RELPATH = "cow_nmc/NMC-60-abridged.csv"
COW_CODES_RELPATH = "cow_country_codes/COW-country-codes.csv"
COW_STATES_RELPATH = "cow_states/states2016_first10cols.csv"
SIPRI_RELPATH = "sipri_milex/SIPRI-Milex-data-1949-2023.xlsx"
OWID_RELPATH = "owid_nuclear_warheads/nuclear-warhead-stockpiles.csv"
NAVAL_RELPATH = "compiled/anglo_german_naval_race_1898_1914.csv"
DREAD_YEAR_RELPATH = "compiled/dreadnoughts_uk_germany_by_year_1906_1914.csv"
DREAD_SHIPS_RELPATH = "compiled/dreadnoughts_uk_germany_ships_1906_1914.csv"
TREATIES_RELPATH = "compiled/arms_control_treaties_us_ussr_russia.csv"
CASE_EVENTS_RELPATH = "compiled/case_events.csv"

#: NMC's code for a missing value.
NMC_MISSING = "-9"

#: Sheet names in the SIPRI workbook, by measure.
SIPRI_SHEETS: dict[str, str] = {
    "constant": "Constant (2022) US$",
    "current": "Current US$",
}


_resolve = resolve_raw


# --------------------------------------------------------------------------- NMC

_NMC_COLUMNS = (
    Column("stateabb", "str"),
    Column("ccode", "int", nonnegative=True),
    Column("year", "year"),
    Column("milex", "float", missing=(NMC_MISSING,), nonnegative=True),
    Column("milper", "float", missing=(NMC_MISSING,), nonnegative=True),
    Column("irst", "float", missing=(NMC_MISSING,), nonnegative=True, required=False),
    Column("pec", "float", missing=(NMC_MISSING,), nonnegative=True, required=False),
    Column("tpop", "float", missing=(NMC_MISSING,), nonnegative=True, required=False),
    Column("upop", "float", missing=(NMC_MISSING,), nonnegative=True, required=False),
    Column("cinc", "float", missing=(NMC_MISSING,), nonnegative=True, required=False),
)


def read_nmc(path: str | Path | None = None) -> pd.DataFrame:
    """Read the COW National Material Capabilities v6 abridged file.

    ``-9`` becomes NaN; any other negative value, a non-numeric value, a missing column
    or a duplicate (ccode, year) raises :class:`DataError`.

    Parameters
    ----------
    path
        CSV file; default ``data/raw/cow_nmc/NMC-60-abridged.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``stateabb, ccode, year, milex, milper`` (+ the other capability columns
        present) and ``_line``. ``milex`` is thousands of current GBP for 1816-1913 and
        thousands of current US$ from 1914; ``milper`` is thousands of personnel.

    Examples
    --------
    >>> nmc = read_nmc()
    >>> int(nmc["year"].min()), int(nmc["year"].max())
    (1816, 2016)
    """
    p = _resolve(path, NMC_RELPATH)
    return _read_nmc_cached(str(p), p.stat().st_mtime_ns, p.stat().st_size).copy()


@functools.lru_cache(maxsize=4)
def _read_nmc_cached(path: str, _mtime: int, _size: int) -> pd.DataFrame:
    frame = read_csv_table(Path(path), _NMC_COLUMNS, key=("ccode", "year"))
    frame["stateabb"] = frame["stateabb"].astype(str)
    return frame


# --------------------------------------------------------------------------- COW


def read_cow_codes(path: str | Path | None = None) -> pd.DataFrame:
    """Read the COW country-code list (``StateAbb, CCode, StateNme``; repeated codes allowed).

    Examples
    --------
    >>> codes = read_cow_codes()
    >>> codes.loc[codes["CCode"] == 200, "StateAbb"].iloc[0]
    'UKG'
    """
    p = _resolve(path, COW_CODES_RELPATH)
    return read_csv_table(
        p, (Column("StateAbb"), Column("CCode", "int", nonnegative=True), Column("StateNme"))
    )


def read_cow_states(path: str | Path | None = None) -> pd.DataFrame:
    """Read COW State System Membership v2016 (first 10 columns; one row per spell).

    Examples
    --------
    >>> states = read_cow_states()
    >>> states.loc[states["ccode"] == 260, ["styear", "endyear"]].values.tolist()
    [[1955, 1990]]
    """
    p = _resolve(path, COW_STATES_RELPATH)
    frame = read_csv_table(
        p,
        (
            Column("stateabb"),
            Column("ccode", "int", nonnegative=True),
            Column("statenme"),
            Column("styear", "year"),
            Column("endyear", "year"),
        ),
        key=("ccode", "styear"),
    )
    bad = frame.loc[frame["endyear"] < frame["styear"]]
    if len(bad):
        line = int(bad["_line"].iloc[0])
        raise DataError(f"{p}: column 'endyear', line {line}: end year before start year.")
    return frame


# --------------------------------------------------------------------------- SIPRI

_UNAVAILABLE = {". .", "...", "..", ""}
_NOT_INDEPENDENT = {"xxx"}


def _cell_ref(row: int, col: int) -> str:
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _header_row(rows: Iterable[Sequence[Any]], where: str) -> tuple[Sequence[Any], int]:
    """The first row whose first cell is ``"Country"``, and its 1-based row number."""
    for i, row in enumerate(rows, start=1):
        if row and isinstance(row[0], str) and row[0].strip() == "Country":
            return row, i
    raise DataError(
        f"{where}: no header row starting with 'Country'. Is this a SIPRI country sheet?"
    )


def _year_columns(header: Sequence[Any], header_row: int, where: str) -> dict[int, int]:
    """Year -> 0-based column of the header cells holding whole numbers."""
    year_cols: dict[int, int] = {}
    for j, v in enumerate(header):
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        ref = _cell_ref(header_row, j)
        if isinstance(v, float) and not v.is_integer():
            raise DataError(f"{where}: header cell {ref} holds {v!r}, not a year.")
        if not MIN_YEAR <= v <= MAX_YEAR:
            raise DataError(
                f"{where}: header cell {ref} (row {header_row}) holds {v!r}, not a year in "
                f"{MIN_YEAR}-{MAX_YEAR}. Fix the cell."
            )
        y = int(v)
        if y in year_cols:
            raise DataError(
                f"{where}: year {y} appears twice in the header (cells "
                f"{_cell_ref(header_row, year_cols[y])} and {ref})."
            )
        year_cols[y] = j
    if not year_cols:
        raise DataError(f"{where}: the header row {header_row} has no year columns.")
    return year_cols


def _sipri_value(c: Any, where: str) -> tuple[float, str]:
    """(value, status) of one SIPRI cell; ``where`` names the cell, country and year."""
    if c is None or (isinstance(c, str) and c.strip() in _UNAVAILABLE):
        return math.nan, "unavailable"
    if isinstance(c, str) and c.strip().lower() in _NOT_INDEPENDENT:
        return math.nan, "not_independent"
    if isinstance(c, int | float) and not isinstance(c, bool):
        try:
            val = float(c)
        except OverflowError:  # an int beyond the float range
            val = math.inf
        if not math.isfinite(val) or val < 0:
            raise DataError(
                f"{where} holds {c!r}; spending must be a finite non-negative number. Fix the cell."
            )
        return val, "ok"
    raise DataError(
        f"{where} holds {c!r}, which is neither a number nor one of the SIPRI codes "
        f"'. .', '...', 'xxx'. Fix the cell."
    )


def parse_sipri_rows(
    rows: Iterable[Sequence[Any]], *, file: str = "<rows>", sheet: str = "<sheet>"
) -> pd.DataFrame:
    """Parse the rows of one SIPRI country sheet into a long table.

    The header row is the first row whose first cell is ``"Country"``; year columns are
    the header cells holding whole numbers. Rows whose year cells are all empty are
    region headings and are skipped. ``". ."``/``"..."`` become NaN with status
    ``"unavailable"``, ``"xxx"`` NaN with status ``"not_independent"``.

    Parameters
    ----------
    rows
        Cell values row by row (as from ``openpyxl``'s ``iter_rows(values_only=True)``).
    file, sheet
        Used in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``country, year, value, status, cell`` (``cell`` is the Excel reference).

    Raises
    ------
    DataError
        No header row, no or duplicate year columns, a header year outside
        1000-3000, a duplicate country, a text value other than the documented codes,
        or a negative, infinite or out-of-range number (naming the cell).

    Examples
    --------
    >>> rows = [("Country", "Notes", 2000, 2001), ("Africa", None, None, None),
    ...         ("Chad", "", 10.0, ". .")]
    >>> parse_sipri_rows(rows)[["country", "year", "value", "status"]].values.tolist()
    [['Chad', 2000, 10.0, 'ok'], ['Chad', 2001, nan, 'unavailable']]
    """
    where = f"{file}, sheet '{sheet}'"
    it = iter(rows)
    header, header_row = _header_row(it, where)
    year_cols = _year_columns(header, header_row, where)
    out: dict[str, list[Any]] = {k: [] for k in ("country", "year", "value", "status", "cell")}
    seen: dict[str, int] = {}
    for i, row in enumerate(it, start=header_row + 1):
        if not row or row[0] is None or (isinstance(row[0], str) and not row[0].strip()):
            continue
        name = str(row[0]).strip()
        cells_here = [row[j] if j < len(row) else None for j in year_cols.values()]
        if all(c is None for c in cells_here):
            continue  # region heading
        if name in seen:
            raise DataError(
                f"{where}: country {name!r} appears twice (rows {seen[name]} and {i}). "
                f"Keep one row per country."
            )
        seen[name] = i
        for (y, j), c in zip(year_cols.items(), cells_here, strict=True):
            ref = _cell_ref(i, j)
            val, st = _sipri_value(c, f"{where}: cell {ref} ({name}, {y})")
            for k, v in zip(out, (name, y, val, st, ref), strict=True):
                out[k].append(v)
    if not out["country"]:
        raise DataError(f"{where}: no country rows with data below the header.")
    return pd.DataFrame(
        {
            "country": pd.Series(out["country"], dtype=object),
            "year": np.asarray(out["year"], dtype=np.int64),
            "value": np.asarray(out["value"], dtype=np.float64),
            "status": pd.Series(out["status"], dtype=object),
            "cell": pd.Series(out["cell"], dtype=object),
        }
    )


def read_sipri(
    measure: Literal["constant", "current"] = "constant", *, path: str | Path | None = None
) -> pd.DataFrame:
    """Read one country sheet of the SIPRI Military Expenditure Database workbook.

    Parameters
    ----------
    measure
        ``"constant"``: sheet "Constant (2022) US$" (US$ m at constant 2022 prices and
        exchange rates); ``"current"``: sheet "Current US$" (US$ m, current).
    path
        The xlsx; default the bundled April 2024 release.

    Returns
    -------
    pandas.DataFrame
        Long table ``country, year, value, status, cell`` (see :func:`parse_sipri_rows`).

    Examples
    --------
    >>> s = read_sipri("constant")
    >>> round(float(s.query("country == 'China' and year == 2023")["value"].iloc[0]))
    309484
    """
    if not isinstance(measure, str) or measure not in SIPRI_SHEETS:
        raise DataError(f"argument 'measure': {measure!r} is not one of {sorted(SIPRI_SHEETS)}.")
    p = _resolve(path, SIPRI_RELPATH)
    st = p.stat()
    return _read_sipri_cached(str(p), measure, st.st_mtime_ns, st.st_size).copy()


@functools.lru_cache(maxsize=8)
def _read_sipri_cached(path: str, measure: str, _mtime: int, _size: int) -> pd.DataFrame:
    import openpyxl  # ~0.1 s to import: only when a workbook is read

    sheet = SIPRI_SHEETS[measure]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise DataError(f"{path}: cannot read as an xlsx workbook ({exc}).") from None
    try:
        if sheet not in wb.sheetnames:
            close = difflib.get_close_matches(sheet, wb.sheetnames, n=2, cutoff=0.5)
            raise DataError(
                f"{path}: no sheet named {sheet!r}; sheets are {wb.sheetnames}."
                + (f" Did you mean {close}?" if close else "")
            )
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    return parse_sipri_rows(rows, file=path, sheet=sheet)


# --------------------------------------------------------------------------- OWID


def read_owid_warheads(path: str | Path | None = None) -> pd.DataFrame:
    """Read OWID's nuclear warhead stockpiles (FAS estimates), one row per entity-year.

    Examples
    --------
    >>> w = read_owid_warheads()
    >>> us = w.query("Entity == 'United States' and Year == 1986")
    >>> int(us["nuclear_weapons_stockpile"].iloc[0])
    23317
    """
    p = _resolve(path, OWID_RELPATH)
    return read_csv_table(
        p,
        (
            Column("Entity"),
            Column("Code", optional_value=True),
            Column("Year", "year"),
            Column("nuclear_weapons_stockpile", "float", nonnegative=True),
        ),
        key=("Entity", "Year"),
    )


# --------------------------------------------------------------------------- compiled


def read_naval_race(path: str | Path | None = None) -> pd.DataFrame:
    """Read the hand-compiled Anglo-German naval race table (long; one row per figure).

    Examples
    --------
    >>> n = read_naval_race()
    >>> sorted(n["country"].unique())[:2]
    ['FRN', 'GMY']
    """
    p = _resolve(path, NAVAL_RELPATH)
    return read_csv_table(
        p,
        (
            Column("country"),
            Column("year", "year"),
            Column("measure"),
            Column("value", "float", nonnegative=True),
            Column("unit"),
            Column("source"),
            Column("source_url", optional_value=True),
        ),
    )


def read_dreadnoughts_by_year(path: str | Path | None = None) -> pd.DataFrame:
    """Read the compiled dreadnought counts per country and calendar year of entry into service.

    Examples
    --------
    >>> d = read_dreadnoughts_by_year()
    >>> int(d.query("country == 'UKG' and year == 1914")["cum_capital_ships"].iloc[0])
    31
    """
    p = _resolve(path, DREAD_YEAR_RELPATH)
    cols = [Column("country"), Column("year", "year")] + [
        Column(n, "int", nonnegative=True)
        for n in (
            "new_battleships",
            "new_battlecruisers",
            "cum_battleships",
            "cum_battlecruisers",
            "cum_capital_ships",
        )
    ]
    return read_csv_table(p, cols, key=("country", "year"))


def read_dreadnought_ships(path: str | Path | None = None) -> pd.DataFrame:
    """Read the compiled ship-level dreadnought list (one row per ship).

    Examples
    --------
    >>> s = read_dreadnought_ships()
    >>> len(s)
    53
    """
    p = _resolve(path, DREAD_SHIPS_RELPATH)
    return read_csv_table(
        p,
        (
            Column("country"),
            Column("ship"),
            Column("type"),
            Column("year_in_service", "year"),
            Column("source_url", optional_value=True),
        ),
        key=("country", "ship"),
    )


def read_treaties(path: str | Path | None = None) -> pd.DataFrame:
    """Read the compiled US-USSR/Russia arms-control treaty list.

    Examples
    --------
    >>> t = read_treaties()
    >>> t.loc[t["treaty"] == "INF Treaty", "signed"].iloc[0]
    '1987-12-08'
    """
    p = _resolve(path, TREATIES_RELPATH)
    return read_csv_table(
        p,
        (
            Column("treaty"),
            Column("parties"),
            Column("signed", "date"),
            Column("entered_into_force", "date", optional_value=True),
            Column("ended", "date", optional_value=True),
            Column("status", optional_value=True),
            Column("source_url", optional_value=True),
        ),
        key=("treaty",),
    )


def read_case_events_compiled(path: str | Path | None = None) -> pd.DataFrame:
    """Read the project's hand-compiled event list (``data/raw/compiled/case_events.csv``).

    Columns ``case, date, actor, channel, label, source``; channel must be in the signal
    vocabulary and source a URL.

    Examples
    --------
    >>> e = read_case_events_compiled()
    >>> set(e["case"]) >= {"anglo_german_naval", "us_ussr"}
    True
    """
    p = _resolve(path, CASE_EVENTS_RELPATH)
    frame = read_csv_table(
        p,
        (
            Column("case"),
            Column("date", "date"),
            Column("actor"),
            Column("channel"),
            Column("label"),
            Column("source", "url"),
        ),
        key=("case", "date", "actor", "channel"),
    )
    bad = frame.loc[~frame["channel"].isin(CURATED_CHANNELS)]
    if len(bad):
        line = int(bad["_line"].iloc[0])
        raise DataError(
            f"{p}: column 'channel', line {line}: {bad['channel'].iloc[0]!r} is not a signal "
            f"curated signal channel; use one of {list(CURATED_CHANNELS)}."
        )
    return frame
