"""Readers of the two strategic-rivalry lists (Thompson et al. 2021; Thompson & Dreyer 2012).

Both lists come from the peacesciencer R package (Miller 2022) as CSV conversions; the data
card is ``data/raw/peacesciencer/README.md``. :func:`read_rivalries` returns either list in
one validated layout, so that a pool of rival pairs can be built from either.

Examples
--------
>>> from secdilemma.data.rivalries import read_rivalries
>>> r = read_rivalries("tss")
>>> row = r.loc[r["name"] == "India-Pakistan"].iloc[0]
>>> int(row["ccode1"]), int(row["ccode2"]), int(row["start"]), row["flags"]
(750, 770, 1947, ('positional', 'spatial', 'principal', 'aprin'))
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import pandas as pd

from secdilemma.data.csvtable import read_csv_table, resolve_raw
from secdilemma.data.schema import Column
from secdilemma.errors import DataError

__all__ = [
    "RIVALRY_COLUMNS",
    "RIVALRY_LISTS",
    "TD_RELPATH",
    "TD_TYPES",
    "TSS_FLAGS",
    "TSS_RELPATH",
    "read_rivalries",
]

TSS_RELPATH = "peacesciencer/tss_rivalries.csv"
TD_RELPATH = "peacesciencer/td_rivalries.csv"

#: The lists :func:`read_rivalries` knows, with their bundled files.
RIVALRY_LISTS: dict[str, str] = {"tss": TSS_RELPATH, "td": TD_RELPATH}

#: The 0/1 flag columns of the Thompson et al. (2021) list, in file order.
TSS_FLAGS: tuple[str, ...] = (
    "positional",
    "spatial",
    "ideological",
    "interventionary",
    "principal",
    "aprin",
)

#: The rivalry types of the Thompson & Dreyer (2012) list (columns ``type1..type3``).
TD_TYPES: tuple[str, ...] = ("spatial", "positional", "ideological", "interventionary")

#: The columns of the frame :func:`read_rivalries` returns, in order.
RIVALRY_COLUMNS: tuple[str, ...] = (
    "list",
    "id",
    "name",
    "ccode1",
    "ccode2",
    "start",
    "end",
    "flags",
    "region",
    "_line",
)

_TSS_COLUMNS: tuple[Column, ...] = (
    Column("tssr_id", "int", nonnegative=True),
    Column("rivalry"),
    Column("ccode1", "int", nonnegative=True),
    Column("ccode2", "int", nonnegative=True),
    Column("start", "year"),
    Column("end", "year"),
    *(Column(f, "float", optional_value=True) for f in TSS_FLAGS),
)

_TD_COLUMNS: tuple[Column, ...] = (
    Column("rivalryno", "int", nonnegative=True),
    Column("rivalryname"),
    Column("ccode1", "int", nonnegative=True),
    Column("ccode2", "int", nonnegative=True),
    Column("styear", "year"),
    Column("endyear", "year"),
    Column("region"),
    Column("type1"),
    Column("type2", optional_value=True),
    Column("type3", optional_value=True),
)


def read_rivalries(
    list: Literal["tss", "td"] = "tss",
    *,
    path: str | Path | None = None,
) -> pd.DataFrame:
    """Read a strategic-rivalry list, one row per rivalry spell.

    Parameters
    ----------
    list
        ``"tss"``: Thompson et al. (2021), strategic rivalries 1494-2020
        (ongoing rivalries end at 2020); ``"td"``: Thompson & Dreyer (2012), 1494-2010.
    path
        The CSV file; default the bundled copy under ``data/raw/peacesciencer/``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RIVALRY_COLUMNS`: ``list`` (the argument), ``id`` (``tssr_id`` or
        ``rivalryno``), ``name``, ``ccode1 < ccode2`` (COW state codes, int), ``start``,
        ``end`` (inclusive years, int), ``flags`` (tuple of str: the ``tss`` flag columns
        set to 1, in :data:`TSS_FLAGS` order, or the ``td`` types ``type1..type3`` in file
        order), ``region`` (``td`` only; ``None`` for ``tss``), ``_line`` (1-based line in
        the file). A pair may appear more than once (e.g. "Greece-Turkey 1" and "2").

    Raises
    ------
    DataError
        Unknown ``list``; a missing file or column, a malformed cell, a flag other than 1
        or empty, a type outside :data:`TD_TYPES`, equal or unordered codes, an end year
        before the start year or a repeated ``id`` (naming file, column and line).

    Examples
    --------
    >>> td = read_rivalries("td")
    >>> td.loc[td["name"] == "Eritrea-Ethiopia", ["ccode1", "ccode2", "start", "end"]].values
    array([[ 530,  531, 1998, 2010]])
    """
    if not isinstance(list, str) or list not in RIVALRY_LISTS:
        raise DataError(
            f"argument 'list': {list!r} is not a rivalry list; use one of {sorted(RIVALRY_LISTS)}."
        )
    p = resolve_raw(path, RIVALRY_LISTS[list])
    st = p.stat()
    return _read_cached(str(p), list, st.st_mtime_ns, st.st_size).copy()


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, which: str, _mtime: int, _size: int) -> pd.DataFrame:
    p = Path(path)
    frame = _tss_frame(p) if which == "tss" else _td_frame(p)
    frame.insert(0, "list", pd.Series([which] * len(frame), dtype=object, index=frame.index))
    _check_rows(p, frame, which)
    return frame.loc[:, list(RIVALRY_COLUMNS)].reset_index(drop=True)


def _tss_frame(p: Path) -> pd.DataFrame:
    raw = read_csv_table(p, _TSS_COLUMNS, key=("tssr_id",))
    for f in TSS_FLAGS:
        bad = raw.loc[raw[f].notna() & (raw[f] != 1.0)]
        if len(bad):
            raise DataError(
                f"{p}: column '{f}', line {int(bad['_line'].iloc[0])}: flag "
                f"{bad[f].iloc[0]!r} is neither 1 nor empty. Fix the cell."
            )
    flags = [
        tuple(f for f in TSS_FLAGS if row[f] == 1.0)
        for row in raw.loc[:, list(TSS_FLAGS)].to_dict("records")
    ]
    return pd.DataFrame(
        {
            "id": raw["tssr_id"],
            "name": raw["rivalry"],
            "ccode1": raw["ccode1"],
            "ccode2": raw["ccode2"],
            "start": raw["start"],
            "end": raw["end"],
            "flags": pd.Series(flags, dtype=object),
            "region": pd.Series([None] * len(raw), dtype=object),
            "_line": raw["_line"],
        }
    )


def _td_frame(p: Path) -> pd.DataFrame:
    raw = read_csv_table(p, _TD_COLUMNS, key=("rivalryno",))
    flags: list[tuple[str, ...]] = []
    for row in raw.to_dict("records"):
        types = []
        for col in ("type1", "type2", "type3"):
            value = row[col]
            if value is None or pd.isna(value):
                continue
            if value not in TD_TYPES:
                raise DataError(
                    f"{p}: column '{col}', line {row['_line']}: {value!r} is not a rivalry "
                    f"type; use one of {TD_TYPES} or leave it empty."
                )
            types.append(value)
        flags.append(tuple(types))
    return pd.DataFrame(
        {
            "id": raw["rivalryno"],
            "name": raw["rivalryname"],
            "ccode1": raw["ccode1"],
            "ccode2": raw["ccode2"],
            "start": raw["styear"],
            "end": raw["endyear"],
            "flags": pd.Series(flags, dtype=object),
            "region": raw["region"],
            "_line": raw["_line"],
        }
    )


def _check_rows(p: Path, frame: pd.DataFrame, which: str) -> None:
    """Codes ordered and distinct, end year not before the start year."""
    names = {"tss": ("start", "end"), "td": ("styear", "endyear")}[which]
    bad = frame.loc[frame["ccode1"] >= frame["ccode2"]]
    if len(bad):
        raise DataError(
            f"{p}: column 'ccode2', line {int(bad['_line'].iloc[0])}: the pair "
            f"({int(bad['ccode1'].iloc[0])}, {int(bad['ccode2'].iloc[0])}) is not two distinct "
            f"codes with ccode1 < ccode2. Order the pair."
        )
    bad = frame.loc[frame["end"] < frame["start"]]
    if len(bad):
        raise DataError(
            f"{p}: column '{names[1]}', line {int(bad['_line'].iloc[0])}: end year "
            f"{int(bad['end'].iloc[0])} is before the start year ('{names[0]}') "
            f"{int(bad['start'].iloc[0])}. Fix the cell."
        )
