"""The curated case data sets: list them, describe them, load them as Datasets.

:func:`load_case` reads the curated CSVs in ``data/cases/<case>/`` (regenerated from the
raw files by ``python -m secdilemma.data.derive``), not the raw files; nothing is read
until a case is first loaded, and each load is cached until its files change. The case
catalogue (:data:`CASES`, :func:`list_cases`, :func:`case_info`) lives in
:mod:`secdilemma.data.catalog` and is re-exported here.

Examples
--------
>>> from secdilemma.data import list_cases, load_case
>>> list_cases()
['anglo_german_naval', 'us_ussr', 'us_china', 'russia_nato']
>>> ds = load_case("us_ussr")
>>> ds["actor_code"].values.tolist()
['USA', 'RUS']
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma._paths import cases_dir
from secdilemma.data.catalog import CASES, CaseSpec, case_info, case_spec, list_cases
from secdilemma.data.countries import resolve_country
from secdilemma.data.csvtable import read_csv_table
from secdilemma.data.dyad import build_dataset
from secdilemma.data.events import all_bundled_events, read_events, role_of
from secdilemma.data.schema import (
    CASE_TABLE_COLUMNS,
    DERIVED_CHANNELS,
    DERIVED_SIGNAL_FILE_COLUMNS,
    VARIABLE_META,
)
from secdilemma.errors import DataError

__all__ = [
    "CASES",
    "CaseSpec",
    "all_bundled_events",
    "case_info",
    "list_cases",
    "load_case",
    "read_case_table",
    "read_derived_signals",
]


def read_case_table(path: str | Path) -> pd.DataFrame:
    """Read and check a curated case CSV (long: one row per year, actor and variable).

    Raises :class:`DataError` naming the file, column and line for a malformed value, a
    year outside 1000-3000, a missing year between the first and the last, a duplicate
    (year, actor, variable) or an actor/variable without one row per year.

    Examples
    --------
    >>> t = read_case_table(cases_dir() / "us_ussr" / "us_ussr.csv")
    >>> list(t.columns[:6])
    ['year', 'actor_code', 'actor_name', 'variable', 'value', 'units']
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: case file not found. Regenerate it with `python -m secdilemma.data.derive`."
        )
    table = read_csv_table(p, CASE_TABLE_COLUMNS, key=("year", "actor_code", "variable"))
    # the "year" column kind bounds every year (schema.MIN_YEAR..MAX_YEAR), so this range
    # is at most a few thousand years long
    years = sorted(set(table["year"].tolist()))
    gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
    if gaps:
        raise DataError(
            f"{p}: column 'year': years {gaps} are missing; a case table needs every year "
            f"from {years[0]} to {years[-1]} (leave 'value' empty where data are missing)."
        )
    counts = table.groupby(["actor_code", "variable"]).size()
    short = counts.loc[counts != len(years)]
    if len(short):
        first = short.index[0]
        n = int(short.iloc[0])
        code, var = str(first[0]), str(first[1])
        raise DataError(
            f"{p}: actor {code!r}, variable {var!r} has {n} rows for {len(years)} years; "
            f"every actor and variable needs one row per year."
        )
    return table


def read_derived_signals(
    path: str | Path, observer: str, codes: tuple[str, str], years: list[int]
) -> np.ndarray:
    """Read a case's derived channels for one observer option as ``(period, 2, 4)``.

    Raises :class:`DataError` naming the file, column and line for a malformed value, an
    unknown channel or actor, a code that is not the case's, or a (year, actor, channel)
    missing or repeated for the option.

    Examples
    --------
    >>> a = read_derived_signals(cases_dir() / "us_ussr" / "derived_signals.csv", "usa",
    ...                          ("USA", "RUS"), [1950, 1991])
    >>> a.shape
    (2, 2, 4)
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found. Regenerate with `python -m secdilemma.data.derive`.")
    table = read_csv_table(
        p, DERIVED_SIGNAL_FILE_COLUMNS, key=("observer", "year", "actor", "channel")
    )
    for col, allowed in (("channel", DERIVED_CHANNELS), ("actor", ("observer", "rival"))):
        bad = table.loc[~table[col].isin(allowed)]
        if len(bad):
            raise DataError(
                f"{p}: column '{col}', line {int(bad['_line'].iloc[0])}: {bad[col].iloc[0]!r} "
                f"is not one of {list(allowed)}."
            )
    sub = table.loc[table["observer"] == observer]
    want = dict(zip(("observer", "rival"), codes, strict=True))
    bad = sub.loc[sub["actor_code"] != sub["actor"].map(want)]
    if len(bad):
        raise DataError(
            f"{p}: column 'actor_code', line {int(bad['_line'].iloc[0])}: "
            f"{bad['actor_code'].iloc[0]!r} is not the case's {bad['actor'].iloc[0]} {want}."
        )
    index = pd.MultiIndex.from_product([years, ["observer", "rival"], list(DERIVED_CHANNELS)])
    values = sub.set_index(["year", "actor", "channel"])["value"].reindex(index)
    got = set(sub[["year", "actor", "channel"]].itertuples(index=False, name=None))
    lacking = [key for key in index.tolist() if key not in got]
    if lacking:
        year, actor, channel = lacking[0]
        raise DataError(
            f"{p}: observer {observer!r} has no row for year {year}, actor {actor!r}, "
            f"channel {channel!r}; regenerate with `python -m secdilemma.data.derive`."
        )
    return values.to_numpy(dtype=np.float64).reshape(len(years), 2, len(DERIVED_CHANNELS))


def _stamp(*paths: Path) -> tuple[int, ...]:
    return tuple(p.stat().st_mtime_ns if p.is_file() else -1 for p in paths)


def _checked_table(spec: CaseSpec, path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The case table and its years, which must be the case's coverage."""
    table = read_case_table(path)
    years = sorted(set(table["year"].tolist()))
    if years[0] != spec.start or years[-1] != spec.end:
        raise DataError(
            f"{path}: covers {years[0]}-{years[-1]} but case {spec.name!r} is "
            f"{spec.start}-{spec.end}. Regenerate with `python -m secdilemma.data.derive`."
        )
    return table, years


def _actor_names(table: pd.DataFrame, codes: tuple[str, str], path: Path) -> tuple[str, str]:
    names = []
    for c in codes:
        sub = table.loc[table["actor_code"] == c]
        if sub.empty:
            raise DataError(f"{path}: no rows for actor {c!r}.")
        names.append(str(sub["actor_name"].iloc[0]))
    return names[0], names[1]


def _case_series(
    spec: CaseSpec, table: pd.DataFrame, codes: tuple[str, str], years: list[int], path: Path
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Each of the case's variables as a (period, actor) array with its attributes."""
    series: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    for var in spec.variables:
        arr = np.full((len(years), 2), np.nan)
        units = ""
        for k, c in enumerate(codes):
            sub = table.loc[(table["actor_code"] == c) & (table["variable"] == var)]
            if sub.empty:
                raise DataError(f"{path}: no rows for actor {c!r}, variable {var!r}.")
            sub = sub.set_index("year").reindex(years)
            arr[:, k] = sub["value"].to_numpy(dtype=np.float64)
            units = str(sub["units"].iloc[0])
        meta = dict(VARIABLE_META.get((spec.name, var), {}))
        meta["units"] = units
        series[var] = (arr, meta)
    return series


def _case_events(spec: CaseSpec, observer_key: str, path: Path) -> pd.DataFrame:
    """The case's events with their role relative to this observer (others dropped)."""
    events = read_events(path)
    roles = [
        role_of(
            a,
            observer=spec.observer_event_codes[observer_key],
            rival=spec.rival_event_codes,
        )
        for a in events["actor"].tolist()
    ]
    events = events.assign(role=pd.Series(roles, index=events.index, dtype=object))
    return events.loc[events["role"].notna()].reset_index(drop=True)


def _case_attrs(
    spec: CaseSpec, names: tuple[str, str], observer_key: str, folder: Path
) -> dict[str, Any]:
    return {
        "case": spec.name,
        "title": spec.title,
        "source": spec.source,
        "observer": names[0],
        "rival": names[1],
        "observer_option": observer_key,
        "start": spec.start,
        "end": spec.end,
        "description": spec.description,
        "units_note": spec.units_note,
        "data_card": str(folder / "README.md"),
    }


def _add_member_counts(
    ds: xr.Dataset, table: pd.DataFrame, obs_code: str, years: list[int]
) -> None:
    """Add the aggregate observer's member counts over ``period`` (``russia_nato``)."""
    extra = table.loc[table["actor_code"] == obs_code]
    for var, new in (
        ("members_missing", "observer_members_missing"),
        ("members_count", "observer_members"),
    ):
        sub = extra.loc[extra["variable"] == var]
        if len(sub):
            vals = sub.set_index("year").reindex(years)["value"].to_numpy()
            ds[new] = xr.Variable(
                ("period",),
                vals.astype(np.int64),
                attrs={
                    "units": "count",
                    "long_name": (
                        "aggregate members without a SIPRI value (aggregate left NaN if > 0)"
                        if var == "members_missing"
                        else "member states in the aggregate"
                    ),
                },
            )


@functools.lru_cache(maxsize=8)
def _load_case_cached(name: str, observer_key: str, _stamp: tuple[int, ...]) -> xr.Dataset:
    spec = CASES[name]
    folder = cases_dir() / name
    path = folder / f"{name}.csv"
    table, years = _checked_table(spec, path)
    obs_code = spec.observers[observer_key]
    codes = (obs_code, spec.rival)
    names = _actor_names(table, codes, path)
    ds = build_dataset(
        periods=years,
        actor_names=names,
        actor_codes=codes,
        series=_case_series(spec, table, codes, years, path),
        events=_case_events(spec, observer_key, folder / "events.csv"),
        attrs=_case_attrs(spec, names, observer_key, folder),
        derived=read_derived_signals(folder / "derived_signals.csv", observer_key, codes, years),
    )
    _add_member_counts(ds, table, obs_code, years)
    return ds


def load_case(name: str, *, observer: str | None = None) -> xr.Dataset:
    """Load a curated case as an observer-rival Dataset.

    Parameters
    ----------
    name
        One of :func:`list_cases`.
    observer
        Observer option (``case_info(name)["observers"]``); default the case's default.
        A country name or code resolving to the observer is accepted too
        (``"United States"`` for ``"usa"``).

    Returns
    -------
    xarray.Dataset
        Dims ``period``, ``actor`` (``observer``, ``rival``), ``signal``, ``event``; data
        variables as listed in ``case_info(name)["variables"]`` plus ``signals`` and the
        event variables (see :func:`secdilemma.data.make_dyad`). ``signals`` holds the
        counts of the case's hand-sourced events (``events.csv``) on the curated channels
        and the channels derived from the MID and ATOP tables (``derived_signals.csv``).
        ``russia_nato`` with ``observer="nato_europe"`` adds ``observer_members_missing`` and
        ``observer_members`` over ``period``.

    Raises
    ------
    DataError
        Unknown case or observer option, or a curated file that is missing or malformed.

    Examples
    --------
    >>> ds = load_case("russia_nato", observer="nato_europe")
    >>> str(ds["actor_code"].sel(actor="observer").values)
    'NATO-EU'
    >>> ag = load_case("anglo_german_naval")
    >>> int(ag["dreadnoughts_cumulative"].sel(period=1914, actor="observer"))
    31
    """
    spec = case_spec(name)
    key = spec.default_observer if observer is None else _observer_key(spec, observer)
    folder = cases_dir() / name
    stamp = _stamp(folder / f"{name}.csv", folder / "events.csv", folder / "derived_signals.csv")
    return _load_case_cached(name, key, stamp).copy(deep=True)


def _observer_key(spec: CaseSpec, observer: Any) -> str:
    if isinstance(observer, str) and observer.strip().lower() in spec.observers:
        return observer.strip().lower()
    try:
        abb = resolve_country(observer, argument="observer").abb
    except DataError:
        abb = None
    for key, code in spec.observers.items():
        if code == abb:
            return key
    close = difflib.get_close_matches(str(observer).strip().lower(), list(spec.observers), n=2)
    raise DataError(
        f"argument 'observer': {observer!r} is not an observer option of case {spec.name!r}; "
        f"use one of {list(spec.observers)}."
        + (f" Did you mean {', '.join(map(repr, close))}?" if close else "")
    )
