"""The generic CSV table reader: header, types, a unique key and line numbers, all checked.

:func:`read_csv_table` reads any CSV file described by a sequence of
:class:`~secdilemma.data.schema.Column`; the per-source readers
(:mod:`secdilemma.data.sources`), the events files and the case tables all use it. Any
problem raises :class:`secdilemma.errors.DataError` naming the file, the column and the
1-based line (the header is line 1) and saying what to do.

Examples
--------
>>> import tempfile, os
>>> from secdilemma.data.schema import Column
>>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
>>> _ = open(p, "w").write("year,value\\n2000,1.5\\n")
>>> read_csv_table(Path(p), [Column("year", "year"), Column("value", "float")])["year"].tolist()
[2000]
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secdilemma._paths import raw_dir
from secdilemma.data.schema import MAX_YEAR, MIN_YEAR, Column
from secdilemma.errors import DataError

__all__ = ["INT64_MAX", "INT64_MIN", "read_csv_table", "resolve_raw", "utf8_error"]

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)

_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$", re.ASCII)
_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)


def resolve_raw(path: str | Path | None, relpath: str) -> Path:
    """The file to read: ``path`` if given, else the bundled ``data/raw/<relpath>``.

    Raises
    ------
    DataError
        The file does not exist; the message names it and the bundled copy to restore.

    Examples
    --------
    >>> resolve_raw(None, "cow_nmc/NMC-60-abridged.csv").name
    'NMC-60-abridged.csv'
    """
    p = raw_dir() / relpath if path is None else Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: file not found. Pass an existing file as `path`, or restore the bundled copy "
            f"data/raw/{relpath} (see data/raw/README.md)."
        )
    return p


def utf8_error(path: Path) -> DataError:
    """The :class:`DataError` for a file that is not UTF-8: byte offset, line and byte value.

    Examples
    --------
    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes(b"a,b\\n1,\\xff\\n")
    >>> print(str(utf8_error(p)).split(": ", 1)[1].split(". ")[0])
    byte offset 6 (line 2) is 0xff, which is not UTF-8
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return DataError(
            f"{path}: byte offset {exc.start} (line {line}) is 0x{data[exc.start]:02x}, which is "
            f"not UTF-8. The file must be UTF-8 encoded: re-save it as UTF-8 (CSV UTF-8)."
        )
    return DataError(f"{path}: the file is not valid UTF-8; re-save it as UTF-8.")


def _parse_int(text: str, raw: str, col: Column, where: str) -> int:
    if _INT_RE.fullmatch(text):
        if len(text.lstrip("+-")) > 19:  # beyond int64 (and beyond int()'s digit limit)
            number: float = math.inf
        else:
            number = int(text)
    else:
        try:
            number = float(text)
        except ValueError:
            raise DataError(
                f"{where}: non-numeric value {raw!r}; expected an integer. Fix the cell."
            ) from None
        if not number.is_integer():  # also NaN and infinity
            raise DataError(f"{where}: value {raw!r} is not an integer. Fix the cell.")
    if not INT64_MIN <= number <= INT64_MAX:
        raise DataError(
            f"{where}: value {raw!r} is out of the 64-bit integer range "
            f"({INT64_MIN}..{INT64_MAX}). Fix the cell."
        )
    if col.nonnegative and number < 0:
        raise DataError(f"{where}: negative value {raw!r}. Fix the cell.")
    if col.kind == "year" and not MIN_YEAR <= number <= MAX_YEAR:
        raise DataError(
            f"{where}: year {raw!r} is outside {MIN_YEAR}-{MAX_YEAR}. Fix the cell (a year "
            f"has four digits)."
        )
    return int(number)


def _missing_text(col: Column) -> str:
    return ", ".join(map(repr, col.missing))


def _parse_float(text: str, raw: str, col: Column, where: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise DataError(
            f"{where}: non-numeric value {raw!r}; expected a number"
            + (f" (or {_missing_text(col)} for missing)" if col.missing else "")
            + ". Fix the cell."
        ) from None
    if not math.isfinite(number):
        raise DataError(f"{where}: non-finite value {raw!r}. Use a number.")
    if col.nonnegative and number < 0:
        raise DataError(
            f"{where}: negative value {raw!r}"
            + (f" (only {_missing_text(col)} marks missing)" if col.missing else "")
            + ". Fix the cell."
        )
    return number


def _parse_cell(raw: str, col: Column, *, file: Path, line: int) -> Any:
    text = raw.strip()
    if text in col.missing or (text == "" and col.optional_value):
        return math.nan if col.kind in ("int", "year", "float") else None
    where = f"{file}: column '{col.name}', line {line}"
    if text == "":
        raise DataError(
            f"{where}: empty value. Fill it in or remove the row "
            f"(an empty value is not allowed in this column)."
        )
    if col.kind in ("int", "year"):
        return _parse_int(text, raw, col, where)
    if col.kind == "float":
        return _parse_float(text, raw, col, where)
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


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _check_header(
    path: Path, header: list[str], columns: Sequence[Column], *, extra_ok: bool
) -> dict[str, int]:
    """Column name -> position; raises on duplicate, missing or (unless extra_ok) extra names."""
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise DataError(f"{path}: duplicate column name(s) {dupes} in the header (line 1).")
    index = {h: i for i, h in enumerate(header)}
    missing = [c.name for c in columns if c.required and c.name not in index]
    if missing:
        hints = []
        norm = {_norm(h): h for h in header}
        for name in missing:
            close = difflib.get_close_matches(_norm(name), list(norm), n=1, cutoff=0.6)
            if close:
                hints.append(f"'{norm[close[0]]}' looks like '{name}'")
        raise DataError(
            f"{path}: missing required column(s) {missing} in the header (line 1); "
            f"found {header}." + (f" Did you mean: {'; '.join(hints)}? Rename it." if hints else "")
        )
    if not extra_ok:
        extra = [h for h in header if h not in {c.name for c in columns}]
        if extra:
            raise DataError(f"{path}: unexpected column(s) {extra} in the header (line 1).")
    return index


def _read_rows(
    path: Path, reader: Any, header: list[str], columns: Sequence[Column]
) -> tuple[dict[str, list[Any]], list[int]]:
    """Parse every data row of a ``csv.reader``: column name -> values, and line numbers."""
    index = {h: i for i, h in enumerate(header)}
    present = [c for c in columns if c.name in index]
    data: dict[str, list[Any]] = {c.name: [] for c in present}
    lines: list[int] = []
    for row in reader:
        line_num = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {line_num} has {len(row)} fields but the header has "
                f"{len(header)}. Fix the quoting or the number of commas."
            )
        for c in present:
            data[c.name].append(_parse_cell(row[index[c.name]], c, file=path, line=line_num))
        lines.append(line_num)
    return data, lines


def _to_frame(
    data: dict[str, list[Any]], lines: list[int], columns: Sequence[Column]
) -> pd.DataFrame:
    frame = pd.DataFrame(data)
    for c in columns:
        if c.name not in data:
            continue
        if c.kind == "float":
            frame[c.name] = frame[c.name].astype("float64")
        elif c.kind in ("int", "year"):
            col = frame[c.name]
            if col.isna().any():
                frame[c.name] = col.astype("float64")
            else:
                frame[c.name] = col.astype("int64")
        else:
            frame[c.name] = frame[c.name].astype(object)
    frame["_line"] = np.asarray(lines, dtype=np.int64)
    return frame


def _check_key(path: Path, frame: pd.DataFrame, key: Sequence[str]) -> None:
    dup = frame.duplicated(subset=list(key), keep=False)
    if not dup.any():
        return
    first = frame.loc[dup].iloc[0]
    same = frame.loc[dup]
    for k in key:
        same = same.loc[same[k] == first[k]]
    where = ", ".join(str(x) for x in same["_line"].tolist())
    vals = ", ".join(
        f"{k}={first[k].item() if isinstance(first[k], np.generic) else first[k]!r}" for k in key
    )
    raise DataError(
        f"{path}: duplicate rows for {vals} (column(s) {list(key)}) at lines {where}. "
        f"Keep one row per {'/'.join(key)}."
    )


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
        The CSV file (UTF-8, with or without a byte-order mark).
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
        On a file that is not UTF-8 (naming the byte offset), a missing or misspelled
        column, a malformed value, an integer beyond int64, a year outside
        :data:`~secdilemma.data.schema.MIN_YEAR`..\\ :data:`~secdilemma.data.schema.MAX_YEAR`,
        a ragged row, a duplicate key or an empty table.

    Examples
    --------
    >>> import tempfile, os
    >>> from secdilemma.data.schema import Column
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
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise DataError(f"{path}: the file is empty; expected a header row.") from None
            except csv.Error as exc:
                raise DataError(f"{path}: line 1: malformed CSV ({exc}).") from None
            _check_header(path, header, columns, extra_ok=extra_ok)
            data, lines = _read_rows(path, reader, header, columns)
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc}).") from None
        except UnicodeDecodeError:
            raise utf8_error(path) from None
    if not lines:
        raise DataError(f"{path}: no data rows after the header.")
    frame = _to_frame(data, lines, columns)
    if key:
        _check_key(path, frame, key)
    return frame
