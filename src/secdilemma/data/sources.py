"""Readers for the raw public source files, with validation.

Every reader takes an optional ``path`` (default: the bundled copy under
:func:`secdilemma._paths.raw_dir`) so that tests can feed malformed files. Any problem
raises :class:`secdilemma.errors.DataError` naming the file, the column and the 1-based
line (CSV) or cell (xlsx) and saying what to do. Parsed default files are cached in memory.

Examples
--------
>>> from secdilemma.data.sources import read_nmc
>>> nmc = read_nmc()
>>> float(nmc.query("stateabb == 'USA' and year == 1985")["milex"].iloc[0]) > 0
True
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from secdilemma._paths import raw_dir
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

_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

Kind = Literal["int", "float", "str", "date", "url"]


@dataclass(frozen=True)
class Column:
    """How to read and check one column of a CSV table.

    Parameters
    ----------
    name
        Header name, matched exactly.
    kind
        ``"int"``, ``"float"``, ``"str"``, ``"date"`` (``YYYY``, ``YYYY-MM`` or
        ``YYYY-MM-DD``) or ``"url"`` (must start with ``http``).
    missing
        Tokens that mean "missing" (become NaN for floats, ``None`` otherwise).
    optional_value
        Whether an empty cell is allowed (becomes NaN / ``None``).
    nonnegative
        For numbers: whether negative values are an error.
    required
        Whether the column must be present in the header.
    """

    name: str
    kind: Kind = "str"
    missing: tuple[str, ...] = ()
    optional_value: bool = False
    nonnegative: bool = False
    required: bool = True


def _default(relpath: str) -> Path:
    return raw_dir() / relpath


def _resolve(path: str | Path | None, relpath: str) -> Path:
    p = _default(relpath) if path is None else Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: file not found. Pass an existing file as `path`, or restore the bundled copy "
            f"data/raw/{relpath} (see data/raw/README.md)."
        )
    return p


def _parse_cell(raw: str, col: Column, *, file: Path, line: int) -> Any:
    text = raw.strip()
    if text in col.missing or (text == "" and col.optional_value):
        return math.nan if col.kind in ("int", "float") else None
    where = f"{file}: column '{col.name}', line {line}"
    if text == "":
        raise DataError(
            f"{where}: empty value. Fill it in or remove the row "
            f"(an empty value is not allowed in this column)."
        )
    if col.kind == "int":
        try:
            number = float(text)
        except ValueError:
            raise DataError(
                f"{where}: non-numeric value {raw!r}; expected an integer. Fix the cell."
            ) from None
        if not number.is_integer():
            raise DataError(f"{where}: value {raw!r} is not an integer. Fix the cell.")
        if col.nonnegative and number < 0:
            raise DataError(f"{where}: negative value {raw!r}. Fix the cell.")
        return int(number)
    if col.kind == "float":
        try:
            number = float(text)
        except ValueError:
            raise DataError(
                f"{where}: non-numeric value {raw!r}; expected a number"
                + (f" (or {', '.join(map(repr, col.missing))} for missing)" if col.missing else "")
                + ". Fix the cell."
            ) from None
        if not math.isfinite(number):
            raise DataError(f"{where}: non-finite value {raw!r}. Use a number.")
        if col.nonnegative and number < 0:
            raise DataError(
                f"{where}: negative value {raw!r}"
                + (
                    f" (only {', '.join(map(repr, col.missing))} marks missing)"
                    if col.missing
                    else ""
                )
                + ". Fix the cell."
            )
        return number
    if col.kind == "date":
        if not _DATE_RE.match(text):
            raise DataError(
                f"{where}: date {raw!r} is not ISO (YYYY, YYYY-MM or YYYY-MM-DD). Fix the cell."
            )
        return text
    if col.kind == "url":
        if not text.startswith(("http://", "https://")):
            raise DataError(f"{where}: source {raw!r} is not a URL (http...). Give a URL.")
        return text
    return text


def read_csv_table(
    path: Path,
    columns: Sequence[Column],
    *,
    key: Sequence[str] = (),
    extra_ok: bool = True,
) -> pd.DataFrame:
    """Read a CSV file, checking header, types and a unique key; keep the line numbers.

    Parameters
    ----------
    path
        The CSV file.
    columns
        The columns to read and how to check them; other columns are ignored when
        ``extra_ok``.
    key
        Column names whose combination must be unique (duplicates raise ``DataError``
        naming both lines).
    extra_ok
        Whether columns not in ``columns`` are allowed.

    Returns
    -------
    pandas.DataFrame
        One row per data row, the read columns plus ``_line`` (1-based line number in
        the file, the header being line 1).

    Raises
    ------
    DataError
        On a missing or misspelled column, a malformed value, a ragged row, a duplicate
        key or an empty table.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
    >>> _ = open(p, "w").write("year,value\\n2000,1.5\\n")
    >>> read_csv_table(Path(p), [Column("year", "int"), Column("value", "float")])["value"].tolist()
    [1.5]
    """
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc}). Check the path.") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: the file is empty; expected a header row.") from None
        except csv.Error as exc:
            raise DataError(f"{path}: line 1: malformed CSV ({exc}).") from None
        header = [h.strip() for h in header]
        dupes = sorted({h for h in header if header.count(h) > 1 and h})
        if dupes:
            raise DataError(f"{path}: duplicate column name(s) {dupes} in the header (line 1).")
        index = {h: i for i, h in enumerate(header)}
        missing = [c.name for c in columns if c.required and c.name not in index]
        if missing:
            hints = []
            norm = {re.sub(r"[^a-z0-9]", "", h.lower()): h for h in header}
            for name in missing:
                close = difflib.get_close_matches(
                    re.sub(r"[^a-z0-9]", "", name.lower()), list(norm), n=1, cutoff=0.6
                )
                if close:
                    hints.append(f"'{norm[close[0]]}' looks like '{name}'")
            raise DataError(
                f"{path}: missing required column(s) {missing} in the header (line 1); "
                f"found {header}."
                + (f" Did you mean: {'; '.join(hints)}? Rename it." if hints else "")
            )
        if not extra_ok:
            extra = [h for h in header if h not in {c.name for c in columns}]
            if extra:
                raise DataError(f"{path}: unexpected column(s) {extra} in the header (line 1).")
        present = [c for c in columns if c.name in index]
        data: dict[str, list[Any]] = {c.name: [] for c in present}
        lines: list[int] = []
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}: line {line} has {len(row)} fields but the header has "
                        f"{len(header)}. Fix the quoting or the number of commas."
                    )
                for c in present:
                    data[c.name].append(_parse_cell(row[index[c.name]], c, file=path, line=line))
                lines.append(line)
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc}).") from None
    if not lines:
        raise DataError(f"{path}: no data rows after the header.")
    frame = pd.DataFrame(data)
    for c in present:
        if c.kind == "float":
            frame[c.name] = frame[c.name].astype("float64")
        elif c.kind == "int":
            col = frame[c.name]
            if col.isna().any():
                frame[c.name] = col.astype("float64")
            else:
                frame[c.name] = col.astype("int64")
        else:
            frame[c.name] = frame[c.name].astype(object)
    frame["_line"] = np.asarray(lines, dtype=np.int64)
    if key:
        dup = frame.duplicated(subset=list(key), keep=False)
        if dup.any():
            first = frame.loc[dup].iloc[0]
            same = frame.loc[dup]
            for k in key:
                same = same.loc[same[k] == first[k]]
            where = ", ".join(str(x) for x in same["_line"].tolist())
            vals = ", ".join(f"{k}={first[k]!r}" for k in key)
            raise DataError(
                f"{path}: duplicate rows for {vals} (column(s) {list(key)}) at lines {where}. "
                f"Keep one row per {'/'.join(key)}."
            )
    return frame


# --------------------------------------------------------------------------- NMC

_NMC_COLUMNS = (
    Column("stateabb", "str"),
    Column("ccode", "int", nonnegative=True),
    Column("year", "int", nonnegative=True),
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
            Column("styear", "int", nonnegative=True),
            Column("endyear", "int", nonnegative=True),
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
        No header row, no or duplicate year columns, a duplicate country, a text value
        other than the documented codes, or a negative number.

    Examples
    --------
    >>> rows = [("Country", "Notes", 2000, 2001), ("Africa", None, None, None),
    ...         ("Chad", "", 10.0, ". .")]
    >>> parse_sipri_rows(rows)[["country", "year", "value", "status"]].values.tolist()
    [['Chad', 2000, 10.0, 'ok'], ['Chad', 2001, nan, 'unavailable']]
    """
    where = f"{file}, sheet '{sheet}'"
    it = iter(rows)
    header: Sequence[Any] | None = None
    header_row = 0
    for i, row in enumerate(it, start=1):
        if row and isinstance(row[0], str) and row[0].strip() == "Country":
            header, header_row = row, i
            break
    if header is None:
        raise DataError(
            f"{where}: no header row starting with 'Country'. Is this a SIPRI country sheet?"
        )
    year_cols: dict[int, int] = {}
    for j, v in enumerate(header):
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if not float(v).is_integer():
            raise DataError(
                f"{where}: header cell {_cell_ref(header_row, j)} holds {v!r}, not a year."
            )
        y = int(v)
        if y in year_cols:
            raise DataError(
                f"{where}: year {y} appears twice in the header (cells "
                f"{_cell_ref(header_row, year_cols[y])} and {_cell_ref(header_row, j)})."
            )
        year_cols[y] = j
    if not year_cols:
        raise DataError(f"{where}: the header row {header_row} has no year columns.")
    countries: list[str] = []
    years: list[int] = []
    values: list[float] = []
    status: list[str] = []
    cells: list[str] = []
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
            if c is None or (isinstance(c, str) and c.strip() in _UNAVAILABLE):
                val, st = math.nan, "unavailable"
            elif isinstance(c, str) and c.strip().lower() in _NOT_INDEPENDENT:
                val, st = math.nan, "not_independent"
            elif isinstance(c, int | float) and not isinstance(c, bool):
                val, st = float(c), "ok"
                if not math.isfinite(val) or val < 0:
                    raise DataError(
                        f"{where}: cell {ref} ({name}, {y}) holds {c!r}; spending must be a "
                        f"non-negative number. Fix the cell."
                    )
            else:
                raise DataError(
                    f"{where}: cell {ref} ({name}, {y}) holds {c!r}, which is neither a number "
                    f"nor one of the SIPRI codes '. .', '...', 'xxx'. Fix the cell."
                )
            countries.append(name)
            years.append(y)
            values.append(val)
            status.append(st)
            cells.append(ref)
    if not countries:
        raise DataError(f"{where}: no country rows with data below the header.")
    return pd.DataFrame(
        {
            "country": pd.Series(countries, dtype=object),
            "year": np.asarray(years, dtype=np.int64),
            "value": np.asarray(values, dtype=np.float64),
            "status": pd.Series(status, dtype=object),
            "cell": pd.Series(cells, dtype=object),
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
    if measure not in SIPRI_SHEETS:
        raise DataError(f"argument 'measure': {measure!r} is not one of {sorted(SIPRI_SHEETS)}.")
    p = _resolve(path, SIPRI_RELPATH)
    st = p.stat()
    return _read_sipri_cached(str(p), measure, st.st_mtime_ns, st.st_size).copy()


@functools.lru_cache(maxsize=8)
def _read_sipri_cached(path: str, measure: str, _mtime: int, _size: int) -> pd.DataFrame:
    import warnings

    import openpyxl

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
            Column("Year", "int", nonnegative=True),
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
            Column("year", "int", nonnegative=True),
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
    cols = [Column("country"), Column("year", "int", nonnegative=True)] + [
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
            Column("year_in_service", "int", nonnegative=True),
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
    from secdilemma.data.events import SIGNAL_CHANNELS

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
    bad = frame.loc[~frame["channel"].isin(SIGNAL_CHANNELS)]
    if len(bad):
        line = int(bad["_line"].iloc[0])
        raise DataError(
            f"{p}: column 'channel', line {line}: {bad['channel'].iloc[0]!r} is not a signal "
            f"channel; use one of {list(SIGNAL_CHANNELS)}."
        )
    return frame
