"""Militarised disputes (GML MID v2.2.1 dyad-years) as signal channels for any pair of states.

The source is peacesciencer's ``gml_mid_ddydisps`` (Gibler, Miller & Little 2016; data card
``data/raw/peacesciencer/README.md``): directed dispute-years, both directions of every
pair, 1816-2010, one dispute per dyad-year. A directed row ``(ccode1, ccode2, year)`` gives
the dispute of the two states that year and, for each, whether it is on side A (the side
that took the first militarised action), whether it is an *originator* (in the dispute from
its first day) or a joiner, and its hostility level in the dispute (1 none, 2 threat to use
force, 3 display of force, 4 use of force, 5 war).

The channels (counts per actor and year; :data:`MID_CHANNELS`):

- ``mid_threat_display``: the actor starts a dispute against the other: the year is the
  dispute's onset for the pair (``gmlmidonset = 1``), the actor is on side A, and its own
  hostility level is 2 or 3;
- ``mid_use_of_force``: the same with the actor's hostility level 4 or 5;
- ``mid_force_in_reply``: the other started the dispute (the actor is on side B) and the
  actor's hostility level is 4 or 5: force used against the other in a dispute the other
  began.

**The originator rule** (the table's "naive" dyads): two states on opposite sides of a
multilateral dispute appear as a pair even if they never fought each other (Brazil and Japan
in the Second World War). A dispute therefore counts for a pair only when **both** states are
originators (``orig1 = orig2 = 1``): the pair that faced each other when the dispute began.
Joiners are never attributed. In the First World War (MID 257) this keeps Austria-Hungary and
Serbia only, in the Second (MID 258) Poland and Germany only (GML code Poland as side A).

The hostility level is the state's highest in the whole dispute, dated here to the onset
year (the table does not date actions). Years outside 1816-2010 are NaN, never 0.

Examples
--------
>>> from secdilemma.data.mid import mid_counts
>>> c = mid_counts(300, 345, [1913, 1914])  # Austria-Hungary, Serbia
>>> c[1].tolist()  # 1914: [actor][channel] counts
[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.csvtable import read_csv_table, resolve_raw
from secdilemma.data.schema import Column
from secdilemma.errors import DataError

__all__ = [
    "MID_CHANNELS",
    "MID_CITATION",
    "MID_FIRST_YEAR",
    "MID_LAST_YEAR",
    "MID_RELPATH",
    "mid_counts",
    "mid_signal_events",
    "read_gml_mid",
]

MID_RELPATH = "peacesciencer/gml_mid_ddydisps.csv"

#: The years the GML MID dyad-years cover (inclusive): outside them the channels are NaN.
MID_FIRST_YEAR = 1816
MID_LAST_YEAR = 2010

#: The MID channels, in the order of :func:`mid_counts`' last axis.
MID_CHANNELS: tuple[str, ...] = ("mid_threat_display", "mid_use_of_force", "mid_force_in_reply")

MID_CITATION = (
    "Gibler, Miller & Little (2016), GML MID v2.2.1 directed dyadic dispute-years, via "
    "peacesciencer (Miller 2022)"
)

_FLAGS = ("gmlmidonset", "sidea1", "sidea2", "orig1", "orig2")
_LEVELS = ("hostlev1", "hostlev2")

_MID_COLUMNS: tuple[Column, ...] = (
    Column("dispnum", "int", nonnegative=True),
    Column("ccode1", "int", nonnegative=True),
    Column("ccode2", "int", nonnegative=True),
    Column("year", "year"),
    *(Column(c, "int", nonnegative=True) for c in _FLAGS + _LEVELS),
)


def read_gml_mid(path: str | Path | None = None) -> pd.DataFrame:
    """Read the GML MID directed dyadic dispute-years (the columns the channels need).

    Parameters
    ----------
    path
        The CSV; default the bundled ``data/raw/peacesciencer/gml_mid_ddydisps.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``dispnum, ccode1, ccode2, year, gmlmidonset, sidea1, sidea2, orig1, orig2,
        hostlev1, hostlev2`` (int64) and ``_line``; one row per directed dyad-year.

    Raises
    ------
    DataError
        A missing file or column, a malformed cell, a flag other than 0/1, a hostility level
        outside 1-5, a year outside 1816-2010, equal codes, a repeated directed dyad-year,
        a pair on the same side, or a row without its mirror ``(ccode2, ccode1, year)``
        (naming file, column and line).

    Examples
    --------
    >>> m = read_gml_mid()
    >>> int(m["year"].min()), int(m["year"].max())
    (1816, 2010)
    """
    p = resolve_raw(path, MID_RELPATH)
    st = p.stat()
    return _read_cached(str(p), st.st_mtime_ns, st.st_size).copy()


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, _mtime: int, _size: int) -> pd.DataFrame:
    p = Path(path)
    frame = read_csv_table(p, _MID_COLUMNS, key=("ccode1", "ccode2", "year"))
    _check_values(p, frame)
    _check_mirror(p, frame)
    return frame


def _first_bad(p: Path, frame: pd.DataFrame, bad: pd.Series, col: str, what: str) -> None:
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise DataError(
            f"{p}: column '{col}', line {int(row['_line'])}: {what} (found {row[col]!r}). "
            f"Fix the cell."
        )


def _check_values(p: Path, frame: pd.DataFrame) -> None:
    for col in _FLAGS:
        _first_bad(p, frame, ~frame[col].isin((0, 1)), col, "a flag must be 0 or 1")
    for col in _LEVELS:
        _first_bad(p, frame, ~frame[col].between(1, 5), col, "a hostility level is 1-5")
    _first_bad(
        p,
        frame,
        ~frame["year"].between(MID_FIRST_YEAR, MID_LAST_YEAR),
        "year",
        f"GML MID covers {MID_FIRST_YEAR}-{MID_LAST_YEAR}",
    )
    _first_bad(p, frame, frame["ccode1"] == frame["ccode2"], "ccode2", "a state paired with itself")
    _first_bad(
        p, frame, frame["sidea1"] == frame["sidea2"], "sidea2", "the two states are on one side"
    )


def _check_mirror(p: Path, frame: pd.DataFrame) -> None:
    """Every directed row has its mirror with the pair's fields swapped."""
    cols = ["dispnum", "ccode1", "ccode2", "year", *_FLAGS, *_LEVELS]
    mirror = frame[cols].rename(
        columns={
            "ccode1": "ccode2",
            "ccode2": "ccode1",
            "sidea1": "sidea2",
            "sidea2": "sidea1",
            "orig1": "orig2",
            "orig2": "orig1",
            "hostlev1": "hostlev2",
            "hostlev2": "hostlev1",
        }
    )
    merged = frame[[*cols, "_line"]].merge(mirror, on=cols, how="left", indicator=True)
    lonely = merged.loc[merged["_merge"] != "both"]
    if len(lonely):
        row = lonely.iloc[0]
        raise DataError(
            f"{p}: line {int(row['_line'])}: the directed row ({int(row['ccode1'])}, "
            f"{int(row['ccode2'])}, {int(row['year'])}) of dispute {int(row['dispnum'])} has no "
            f"mirror row ({int(row['ccode2'])}, {int(row['ccode1'])}) with the pair's fields "
            f"swapped. Restore the bundled file."
        )


def _channel_of(rows: pd.DataFrame) -> pd.Series:
    """The MID channel of each directed row for its ``ccode1`` (None: not counted)."""
    counted = (rows["gmlmidonset"] == 1) & (rows["orig1"] == 1) & (rows["orig2"] == 1)
    starter = rows["sidea1"] == 1
    level = rows["hostlev1"]
    out = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    out[counted & starter & level.isin((2, 3))] = "mid_threat_display"
    out[counted & starter & (level >= 4)] = "mid_use_of_force"
    out[counted & ~starter & (level >= 4)] = "mid_force_in_reply"
    return out


def mid_signal_events(
    ccode_a: int, ccode_b: int, *, path: str | Path | None = None
) -> pd.DataFrame:
    """The counted dispute-years of a pair, one row per actor and dispute onset.

    Parameters
    ----------
    ccode_a, ccode_b
        COW codes of the two states (``a`` is the first actor, e.g. the observer).
    path
        The MID CSV; default the bundled copy.

    Returns
    -------
    pandas.DataFrame
        Columns ``year, actor`` (0 for ``a``, 1 for ``b``), ``ccode``, ``channel``,
        ``dispnum``, ``hostlev`` (the actor's) and ``_line`` (of the directed row in the
        file), sorted by year and actor. Only rows that pass the originator rule.

    Examples
    --------
    >>> ev = mid_signal_events(750, 770)  # India, Pakistan
    >>> ev.loc[ev["year"] == 1965, ["actor", "channel", "dispnum"]].values.tolist()
    [[0, 'mid_force_in_reply', 2631], [1, 'mid_use_of_force', 2631]]
    """
    mid = read_gml_mid(path)
    pair = mid.loc[
        ((mid["ccode1"] == ccode_a) & (mid["ccode2"] == ccode_b))
        | ((mid["ccode1"] == ccode_b) & (mid["ccode2"] == ccode_a))
    ]
    channel = _channel_of(pair)
    pair = pair.assign(channel=channel).loc[channel.notna()]
    out = pd.DataFrame(
        {
            "year": pair["year"].astype(np.int64),
            "actor": np.where(pair["ccode1"] == ccode_a, 0, 1).astype(np.int64),
            "ccode": pair["ccode1"].astype(np.int64),
            "channel": pair["channel"].astype(object),
            "dispnum": pair["dispnum"].astype(np.int64),
            "hostlev": pair["hostlev1"].astype(np.int64),
            "_line": pair["_line"].astype(np.int64),
        }
    )
    return out.sort_values(["year", "actor"], kind="stable").reset_index(drop=True)


def mid_counts(
    ccode_a: int, ccode_b: int, years: Sequence[int], *, path: str | Path | None = None
) -> np.ndarray:
    """The MID channels of a pair over ``years``: counts, NaN outside 1816-2010.

    Membership in the state system is not applied here (see
    :func:`secdilemma.data.channels.derived_signals`).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(years), 2, 3)``: year, actor (``a``, ``b``), channel
        (:data:`MID_CHANNELS`), float64.

    Examples
    --------
    >>> mid_counts(2, 365, [1960, 2011])[:, 0, 0].tolist()  # USA threat/display vs USSR, 1960
    [1.0, nan]
    """
    years_arr = np.asarray(list(years), dtype=np.int64)
    out = np.zeros((len(years_arr), 2, len(MID_CHANNELS)), dtype=np.float64)
    index = {int(y): i for i, y in enumerate(years_arr)}
    cindex = {c: k for k, c in enumerate(MID_CHANNELS)}
    for year, actor, channel in mid_signal_events(ccode_a, ccode_b, path=path)[
        ["year", "actor", "channel"]
    ].itertuples(index=False):
        if int(year) in index:
            out[index[int(year)], int(actor), cindex[str(channel)]] += 1.0
    outside = (years_arr < MID_FIRST_YEAR) | (years_arr > MID_LAST_YEAR)
    out[outside] = np.nan
    return out
