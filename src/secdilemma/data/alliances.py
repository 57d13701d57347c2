"""New defence pacts (ATOP v5.1 directed dyad-years) as a signal channel for any state.

The source is peacesciencer's ``atop_alliance`` (Leeds et al. 2002, ATOP v5.1; data card
``data/raw/peacesciencer/README.md``), carried as the gzipped CSV: one row per directed pair
and year with an alliance obligation, 1815-2018, with ``atop_defense`` = 1 when the pair has a
defence pledge that year.

The channel ``alliance_new_defense_pact`` counts, for an actor and a year, the **third
states** with which the actor has a defence pledge that year but had none the year before
(a *defence-pact onset*: the first year of ``atop_defense = 1`` after a year without it). The
other side of the dyad is never counted (a pact between the two is not a signal to each
other in this channel). The count is the number of new partners, not of treaties (the table
does not name treaties): NATO's founding in 1949 gives the United States eleven. Years
outside 1816-2018 are NaN (1815, ATOP's first year, has no year before it to compare with).

Examples
--------
>>> from secdilemma.data.alliances import defense_onsets
>>> on = defense_onsets()
>>> sorted(on.loc[(on["ccode1"] == 365) & (on["year"] == 1955), "ccode2"].tolist())
[265, 339]
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.csvtable import resolve_raw
from secdilemma.errors import DataError

__all__ = [
    "ATOP_CITATION",
    "ATOP_FIRST_YEAR",
    "ATOP_LAST_YEAR",
    "ATOP_RELPATH",
    "alliance_counts",
    "defense_onsets",
    "read_atop_defense",
]

ATOP_RELPATH = "peacesciencer/atop_alliance.csv.gz"

#: The years the ATOP directed dyad-years cover (inclusive). Onsets are defined from
#: ``ATOP_FIRST_YEAR + 1`` (the first year has no year before it).
ATOP_FIRST_YEAR = 1815
ATOP_LAST_YEAR = 2018

ATOP_CITATION = (
    "Leeds, Ritter, Mitchell & Long (2002), ATOP v5.1 directed dyad-years, via "
    "peacesciencer (Miller 2022)"
)

_COLUMNS = ("ccode1", "ccode2", "year", "atop_defense")


def read_atop_defense(path: str | Path | None = None) -> pd.DataFrame:
    """Read the ATOP directed dyad-years (the columns the channel needs), checked.

    Read with pandas' C parser (273,296 rows) and checked column by column; a problem
    names the file, the column and the 1-based line (the header is line 1).

    Parameters
    ----------
    path
        CSV or gzipped CSV; default ``data/raw/peacesciencer/atop_alliance.csv.gz``.

    Returns
    -------
    pandas.DataFrame
        Columns ``ccode1, ccode2, year, atop_defense`` (int64) and ``_line``.

    Raises
    ------
    DataError
        A missing file or column, a cell that is empty or not a whole number, a negative
        code, equal codes, a year outside 1815-2018, ``atop_defense`` other than 0/1, or a
        repeated directed dyad-year.

    Examples
    --------
    >>> a = read_atop_defense()
    >>> int(a.query("ccode1 == 2 and ccode2 == 200 and year == 1949")["atop_defense"].iloc[0])
    1
    """
    p = resolve_raw(path, ATOP_RELPATH)
    st = p.stat()
    return _read_cached(str(p), st.st_mtime_ns, st.st_size).copy()


def _parse(p: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, compression="infer")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: cannot read as a CSV or gzipped CSV ({exc}).") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{p}: the file is empty; expected a header row.") from None
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"{p}: missing required column(s) {missing} in the header (line 1); found "
            f"{list(raw.columns)}."
        )
    if raw.empty:
        raise DataError(f"{p}: no data rows after the header.")
    out = pd.DataFrame(index=raw.index)
    for col in _COLUMNS:
        text = raw[col].str.strip()
        number = pd.to_numeric(text, errors="coerce")
        bad = number.isna() | (number % 1 != 0) | (number < 0) | (number.abs() > 1e9)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{p}: column '{col}', line {i + 2}: {raw[col].iloc[i]!r} is not a "
                f"non-negative whole number. Fix the cell."
            )
        out[col] = number.astype(np.int64)
    out["_line"] = np.arange(2, len(out) + 2, dtype=np.int64)
    return out


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, _mtime: int, _size: int) -> pd.DataFrame:
    p = Path(path)
    frame = _parse(p)
    checks = (
        ("year", ~frame["year"].between(ATOP_FIRST_YEAR, ATOP_LAST_YEAR), "ATOP covers 1815-2018"),
        ("atop_defense", ~frame["atop_defense"].isin((0, 1)), "atop_defense must be 0 or 1"),
        ("ccode2", frame["ccode1"] == frame["ccode2"], "a state paired with itself"),
    )
    for col, bad, what in checks:
        if bad.any():
            row = frame.loc[bad].iloc[0]
            raise DataError(
                f"{p}: column '{col}', line {int(row['_line'])}: {what} (found "
                f"{int(row[col])}). Fix the cell."
            )
    dup = frame.duplicated(["ccode1", "ccode2", "year"], keep=False)
    if dup.any():
        lines = frame.loc[dup, "_line"].tolist()[:2]
        raise DataError(
            f"{p}: duplicate rows for one directed dyad-year (columns ['ccode1', 'ccode2', "
            f"'year']) at lines {lines}. Keep one row per ccode1/ccode2/year."
        )
    return frame


def defense_onsets(path: str | Path | None = None) -> pd.DataFrame:
    """Defence-pact onsets: directed pairs in the first year of a defence pledge.

    A row ``(ccode1, ccode2, year)`` is an onset when ``atop_defense = 1`` that year and
    the pair had no defence pledge the year before (no row, or ``atop_defense = 0``). The
    first ATOP year (1815) is never an onset.

    Returns
    -------
    pandas.DataFrame
        Columns ``ccode1, ccode2, year, _line`` sorted by ``ccode1, year, ccode2``.

    Examples
    --------
    >>> on = defense_onsets()
    >>> 200 in on.loc[(on["ccode1"] == 2) & (on["year"] == 1949), "ccode2"].tolist()
    True
    """
    p = resolve_raw(path, ATOP_RELPATH)
    st = p.stat()
    return _onsets_cached(str(p), st.st_mtime_ns, st.st_size).copy()


@functools.lru_cache(maxsize=4)
def _onsets_cached(path: str, _mtime: int, _size: int) -> pd.DataFrame:
    atop = _read_cached(path, _mtime, _size)
    defense = atop.loc[atop["atop_defense"] == 1, ["ccode1", "ccode2", "year", "_line"]]
    before = defense[["ccode1", "ccode2", "year"]].assign(year=lambda d: d["year"] + 1)
    merged = defense.merge(before, on=["ccode1", "ccode2", "year"], how="left", indicator=True)
    onsets = merged.loc[(merged["_merge"] == "left_only") & (merged["year"] > ATOP_FIRST_YEAR)]
    onsets = onsets.drop(columns="_merge").sort_values(["ccode1", "year", "ccode2"])
    return onsets.reset_index(drop=True)


def alliance_counts(
    ccode: int,
    years: Sequence[int],
    *,
    exclude: Collection[int] | Mapping[int, Collection[int]] = (),
    path: str | Path | None = None,
) -> np.ndarray:
    """New defence partners of a state per year, NaN outside 1816-2018.

    Membership in the state system is not applied here (see
    :func:`secdilemma.data.channels.derived_signals`).

    Parameters
    ----------
    ccode
        The state's COW code.
    years
        The years wanted.
    exclude
        Partner codes not counted (the other side of the dyad): one collection for every
        year, or a mapping year -> codes (an aggregate whose members change).
    path
        The ATOP file; default the bundled copy.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(years),)``, float64.

    Examples
    --------
    >>> alliance_counts(2, [1948, 1949, 2019], exclude={365}).tolist()
    [0.0, 11.0, nan]
    """
    years_arr = np.asarray(list(years), dtype=np.int64)
    on = defense_onsets(path)
    mine = on.loc[on["ccode1"] == ccode]
    out = np.zeros(len(years_arr), dtype=np.float64)
    for i, y in enumerate(years_arr.tolist()):
        skip = exclude.get(y, ()) if isinstance(exclude, Mapping) else exclude
        partners = mine.loc[mine["year"] == y, "ccode2"]
        out[i] = float((~partners.isin(list(skip))).sum())
    outside = (years_arr <= ATOP_FIRST_YEAR) | (years_arr > ATOP_LAST_YEAR)
    out[outside] = np.nan
    return out
