"""Dated signals (events): the channel vocabulary, the events files, and their counts.

An events file (``data/cases/<case>/events.csv``) has one row per event with columns
``date, year, actor, role, channel, label, source``. ``actor`` holds the acting state(s)
as COW abbreviations (``"USA"``, ``"RUS"``), ``"NATO"`` for the alliance, joined by ``;``
when several act together; ``role`` is ``observer``/``rival``/``both`` relative to the
case's default observer.

Examples
--------
>>> from secdilemma.data.events import SIGNAL_CHANNELS, role_of
>>> SIGNAL_CHANNELS[0]
'arms_control_signed'
>>> role_of("USA;RUS", observer={"USA"}, rival={"RUS"})
'both'
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma._paths import cases_dir
from secdilemma.data.catalog import CASES
from secdilemma.data.csvtable import read_csv_table
from secdilemma.data.schema import (
    CURATED_CHANNELS,
    EVENT_COLUMNS,
    EVENT_FILE_COLUMNS,
    ROLES,
    SIGNAL_CHANNELS,
)
from secdilemma.errors import DataError

__all__ = [
    "CURATED_CHANNELS",
    "EVENT_COLUMNS",
    "ROLES",
    "SIGNAL_CHANNELS",
    "all_bundled_events",
    "event_variables",
    "read_events",
    "role_of",
]


def role_of(actor: str, *, observer: Collection[str], rival: Collection[str]) -> str | None:
    """Role of an event's acting state(s) in a dyad, or ``None`` if the event is not theirs.

    Every listed actor must belong to the observer side or the rival side; an event
    involving a third party (e.g. a US-Russia treaty seen from a European observer) is
    not attributed.

    Parameters
    ----------
    actor
        Actor codes joined by ``;`` (e.g. ``"USA;RUS"``).
    observer, rival
        Codes that count as the observer / the rival.

    Examples
    --------
    >>> role_of("NATO", observer={"USA", "NATO"}, rival={"RUS"})
    'observer'
    >>> role_of("USA;RUS", observer={"NATO"}, rival={"RUS"}) is None
    True
    """
    codes = {a.strip() for a in actor.split(";") if a.strip()}
    if not codes:
        return None
    obs = codes & set(observer)
    riv = codes & set(rival)
    if codes - set(observer) - set(rival):
        return None
    if obs and riv:
        return "both"
    return "observer" if obs else "rival"


def read_events(path: str | Path) -> pd.DataFrame:
    """Read and check a curated events file.

    Raises :class:`DataError` naming the file, column and line for a missing column, a
    malformed date, a year that disagrees with the date, an unknown role or channel.

    Examples
    --------
    >>> from secdilemma._paths import cases_dir
    >>> ev = read_events(cases_dir() / "us_ussr" / "events.csv")
    >>> {"date", "year", "role", "channel"} <= set(ev.columns)
    True
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: events file not found. Regenerate with `python -m secdilemma.data.derive`."
        )
    frame = read_csv_table(p, EVENT_FILE_COLUMNS)
    for _, row in frame.iterrows():
        line = int(row["_line"])
        if int(str(row["date"])[:4]) != int(row["year"]):
            raise DataError(
                f"{p}: column 'year', line {line}: year {row['year']} does not match date "
                f"{row['date']!r}. Make them agree."
            )
        if row["role"] not in ROLES:
            raise DataError(
                f"{p}: column 'role', line {line}: {row['role']!r} is not one of {list(ROLES)}."
            )
        if row["channel"] not in CURATED_CHANNELS:
            raise DataError(
                f"{p}: column 'channel', line {line}: {row['channel']!r} is not a curated "
                f"signal channel; use one of {list(CURATED_CHANNELS)} (the derived channels "
                f"are counted from the public tables, never written by hand)."
            )
    return frame


def _stamp(*paths: Path) -> tuple[int, ...]:
    return tuple(p.stat().st_mtime_ns if p.is_file() else -1 for p in paths)


@functools.lru_cache(maxsize=2)
def _all_events_cached(root: str, _stamp: tuple[int, ...]) -> pd.DataFrame:
    frames = []
    for name in CASES:
        path = Path(root) / name / "events.csv"
        if path.is_file():
            frames.append(read_events(path).assign(case=name))
    if not frames:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "case"])
    return pd.concat(frames, ignore_index=True)


def all_bundled_events() -> pd.DataFrame:
    """Every event of every bundled case (columns of the events files plus ``case``).

    Read on first use and cached until an events file changes.

    Examples
    --------
    >>> ev = all_bundled_events()
    >>> bool((ev["channel"] == "use_of_force").any())
    True
    """
    root = cases_dir()
    stamp = _stamp(*(root / n / "events.csv" for n in CASES))
    return _all_events_cached(str(root), stamp).copy()


def event_variables(events: pd.DataFrame, periods: Sequence[int]) -> xr.Dataset:
    """Build the ``event`` variables and the ``signals`` counts for a dyad.

    Parameters
    ----------
    events
        Columns ``date, year, actor, role, channel, label, source`` (``role`` already
        relative to this dyad; rows with another role are an error). Events outside
        ``periods`` are dropped.
    periods
        The dyad's period (year) coordinate.

    Returns
    -------
    xarray.Dataset
        ``event_date, event_year, event_actor, event_state, event_channel, event_label,
        event_source`` over ``event`` and ``signals`` (period, actor, signal) int64 over
        the curated channels (:data:`CURATED_CHANNELS`), where an event with role ``both``
        counts for both actors. :func:`secdilemma.data.dyad.build_dataset` appends the
        derived channels.

    Examples
    --------
    >>> ev = pd.DataFrame({"date": ["1987-12-08"], "year": [1987], "actor": ["USA;RUS"],
    ...                    "role": ["both"], "channel": ["arms_control_signed"],
    ...                    "label": ["INF"], "source": ["https://example.org"]})
    >>> out = event_variables(ev, [1986, 1987])
    >>> out["signals"].sel(period=1987, signal="arms_control_signed").values.tolist()
    [1, 1]
    """
    periods_arr = np.asarray(list(periods), dtype=np.int64)
    ev = events.loc[events["year"].astype(int).isin(periods_arr.tolist())]
    ev = ev.sort_values(["date", "channel", "actor"], kind="stable").reset_index(drop=True)
    bad = ev.loc[~ev["role"].isin(ROLES)]
    if len(bad):
        raise DataError(f"events: role {bad['role'].iloc[0]!r} is not one of {list(ROLES)}.")
    badc = ev.loc[~ev["channel"].isin(CURATED_CHANNELS)]
    if len(badc):
        raise DataError(
            f"events: channel {badc['channel'].iloc[0]!r} is not one of {list(CURATED_CHANNELS)}."
        )
    counts = np.zeros((len(periods_arr), 2, len(CURATED_CHANNELS)), dtype=np.int64)
    pindex = {int(p): i for i, p in enumerate(periods_arr)}
    cindex = {c: k for k, c in enumerate(CURATED_CHANNELS)}
    for year, role, channel in zip(ev["year"], ev["role"], ev["channel"], strict=True):
        i, k = pindex[int(year)], cindex[str(channel)]
        if role in ("observer", "both"):
            counts[i, 0, k] += 1
        if role in ("rival", "both"):
            counts[i, 1, k] += 1

    def _s(col: str) -> np.ndarray:
        return (
            np.asarray([str(v) for v in ev[col]], dtype=str) if len(ev) else np.array([], dtype=str)
        )

    return xr.Dataset(
        {
            "event_date": ("event", _s("date")),
            "event_year": ("event", np.asarray(ev["year"], dtype=np.int64)),
            "event_actor": ("event", _s("role")),
            "event_state": ("event", _s("actor")),
            "event_channel": ("event", _s("channel")),
            "event_label": ("event", _s("label")),
            "event_source": ("event", _s("source")),
            "signals": (("period", "actor", "signal"), counts),
        },
        coords={
            "period": periods_arr,
            "actor": ["observer", "rival"],
            "signal": list(CURATED_CHANNELS),
            "event": np.arange(len(ev), dtype=np.int64),
        },
    )
