"""The curated case data sets: list them, describe them, load them as Datasets.

:func:`load_case` reads the curated CSVs in ``data/cases/<case>/`` (regenerated from the
raw files by ``python -m secdilemma.data.derive``), not the raw files.

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

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma._paths import cases_dir
from secdilemma.data.events import read_events, role_of
from secdilemma.errors import DataError

__all__ = [
    "CASES",
    "CaseSpec",
    "all_bundled_events",
    "case_info",
    "list_cases",
    "load_case",
    "read_case_table",
]


@dataclass(frozen=True)
class CaseSpec:
    """Metadata of a curated case.

    Attributes
    ----------
    name, title, description, source, units_note
        Text carried into the Dataset attrs.
    start, end
        Inclusive year coverage.
    rival
        COW abbreviation of the rival.
    observers
        Observer options: option name → actor code in the case CSV.
    observer_event_codes
        Option name → event actor codes that count as that observer.
    rival_event_codes
        Event actor codes that count as the rival.
    default_observer
        Option used when ``observer=None``.
    """

    name: str
    title: str
    description: str
    source: str
    start: int
    end: int
    rival: str
    observers: dict[str, str]
    observer_event_codes: dict[str, frozenset[str]]
    rival_event_codes: frozenset[str]
    default_observer: str
    units_note: str = ""
    variables: tuple[str, ...] = field(default=("milex",))


_NMC = "COW National Material Capabilities v6.0 (abridged)"
_SIPRI = "SIPRI Military Expenditure Database (April 2024 release)"
_OWID = "FAS Status of World Nuclear Forces via Our World in Data"

#: European NATO member states' COW codes (used to attribute events to the NATO-Europe
#: observer): every state in the aggregate, plus the alliance itself.
_NATO_EU_EVENT_CODES = frozenset(
    {
        "NATO",
        "UKG", "FRN", "BEL", "NTH", "LUX", "DEN", "NOR", "ICE", "ITA", "POR", "GRC", "TUR",
        "GMY", "GFR", "SPN", "CZR", "HUN", "POL", "BUL", "EST", "LAT", "LIT", "ROM", "SLO",
        "SLV", "ALB", "CRO", "MNG", "MAC", "FIN", "SWD",
    }
)  # fmt: skip

CASES: dict[str, CaseSpec] = {
    "anglo_german_naval": CaseSpec(
        name="anglo_german_naval",
        title="Anglo-German naval race, 1898-1914 (observer: United Kingdom; rival: Germany)",
        description=(
            "Britain watching Germany's fleet build-up under the Naval Laws. Total military "
            "expenditure (COW NMC), expenditure on new naval construction (Hansard, McKenna "
            "1911; and Nock 1922, kept separate), dreadnought battleships and battlecruisers "
            "entering service, and dated events (naval laws, crises, failed naval talks)."
        ),
        source=f"{_NMC}; Hansard; Nock (1922); compiled dreadnought lists (see data card)",
        start=1898,
        end=1914,
        rival="GMY",
        observers={"ukg": "UKG"},
        observer_event_codes={"ukg": frozenset({"UKG"})},
        rival_event_codes=frozenset({"GMY"}),
        default_observer="ukg",
        units_note=(
            "milex: thousands of current US$; NMC's 1898-1913 pounds converted at the gold "
            "parity US$4.8665/£ (1914 is already in US$ in NMC). Naval series: current £. "
            "1914 figures include the first months of the war."
        ),
        variables=(
            "milex",
            "milper",
            "naval_expenditure",
            "naval_expenditure_nock",
            "dreadnoughts_new",
            "dreadnoughts_cumulative",
        ),
    ),
    "us_ussr": CaseSpec(
        name="us_ussr",
        title="US-Soviet Cold War, 1946-1991 (observer: United States; rival: USSR)",
        description=(
            "The United States watching the Soviet Union: military expenditure and personnel "
            "(COW NMC; Soviet figures are highly uncertain estimates), nuclear warhead "
            "stockpiles (FAS via OWID) and dated events (crises, interventions, treaties)."
        ),
        source=f"{_NMC}; {_OWID}",
        start=1946,
        end=1991,
        rival="RUS",
        observers={"usa": "USA"},
        observer_event_codes={"usa": frozenset({"USA", "NATO"})},
        rival_event_codes=frozenset({"RUS"}),
        default_observer="usa",
        units_note="milex: thousands of current US$ (NMC); milper: thousands; warheads: count.",
        variables=("milex", "milper", "warheads"),
    ),
    "us_china": CaseSpec(
        name="us_china",
        title="US-China, 1990-2023 (observer: United States; rival: China)",
        description=(
            "The United States watching China's military build-up: SIPRI military expenditure "
            "(constant 2022 US$), COW NMC military expenditure to 2016 for comparison "
            "(milex_nmc, current US$), nuclear warhead stockpiles and dated events."
        ),
        source=f"{_SIPRI}; {_NMC}; {_OWID}",
        start=1990,
        end=2023,
        rival="CHN",
        observers={"usa": "USA"},
        observer_event_codes={"usa": frozenset({"USA"})},
        rival_event_codes=frozenset({"CHN"}),
        default_observer="usa",
        units_note=(
            "milex: US$ m at constant 2022 prices (SIPRI); milex_nmc: thousands of current "
            "US$ (NMC, to 2016); warheads: count."
        ),
        variables=("milex", "milex_nmc", "warheads"),
    ),
    "russia_nato": CaseSpec(
        name="russia_nato",
        title="Russia and NATO, 1992-2023 (rival: Russia)",
        description=(
            "Russia watched by the United States (observer='usa') or by NATO's European "
            "members as one aggregate (observer='nato_europe': the sum of SIPRI series of the "
            "states that are members in each year). SIPRI military expenditure, constant 2022 "
            "US$, and dated events (enlargements, wars, treaty exits)."
        ),
        source=_SIPRI,
        start=1992,
        end=2023,
        rival="RUS",
        observers={"usa": "USA", "nato_europe": "NATO-EU"},
        observer_event_codes={
            "usa": frozenset({"USA", "NATO"}),
            "nato_europe": _NATO_EU_EVENT_CODES,
        },
        rival_event_codes=frozenset({"RUS"}),
        default_observer="usa",
        units_note=(
            "milex: US$ m at constant 2022 prices and exchange rates (SIPRI). The NATO-Europe "
            "aggregate is missing (NaN) in any year where a member's SIPRI value is missing "
            "(see observer_members_missing)."
        ),
        variables=("milex",),
    ),
}

_CASE_COLUMNS = ("year", "actor_code", "actor_name", "variable", "value", "units")


def list_cases() -> list[str]:
    """Names of the curated cases.

    Examples
    --------
    >>> "us_china" in list_cases()
    True
    """
    return list(CASES)


def case_info(name: str) -> dict[str, Any]:
    """Title, description, coverage, observer options and variables of a case.

    Examples
    --------
    >>> case_info("russia_nato")["observers"]
    ['usa', 'nato_europe']
    """
    spec = _spec(name)
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "source": spec.source,
        "start": spec.start,
        "end": spec.end,
        "observers": list(spec.observers),
        "default_observer": spec.default_observer,
        "rival": spec.rival,
        "variables": list(spec.variables),
        "path": str(cases_dir() / spec.name),
    }


def _spec(name: str) -> CaseSpec:
    if not isinstance(name, str) or name not in CASES:
        import difflib

        close = difflib.get_close_matches(str(name), list(CASES), n=2)
        raise DataError(
            f"argument 'name': unknown case {name!r}; cases are {list(CASES)}."
            + (f" Did you mean {close[0]!r}?" if close else "")
        )
    return CASES[name]


def read_case_table(path: str | Path) -> pd.DataFrame:
    """Read and check a curated case CSV (long: one row per year, actor and variable).

    Examples
    --------
    >>> t = read_case_table(cases_dir() / "us_ussr" / "us_ussr.csv")
    >>> list(t.columns[:6])
    ['year', 'actor_code', 'actor_name', 'variable', 'value', 'units']
    """
    from secdilemma.data.sources import Column, read_csv_table

    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: case file not found. Regenerate it with `python -m secdilemma.data.derive`."
        )
    table = read_csv_table(
        p,
        (
            Column("year", "int", nonnegative=True),
            Column("actor_code"),
            Column("actor_name"),
            Column("variable"),
            Column("value", "float", optional_value=True),
            Column("units"),
        ),
        key=("year", "actor_code", "variable"),
    )
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


def _stamp(*paths: Path) -> tuple[int, ...]:
    return tuple(p.stat().st_mtime_ns if p.is_file() else -1 for p in paths)


@functools.lru_cache(maxsize=8)
def _load_case_cached(name: str, observer_key: str, _stamp: tuple[int, ...]) -> xr.Dataset:
    from secdilemma.data.dyad import build_dataset

    spec = CASES[name]
    folder = cases_dir() / name
    table = read_case_table(folder / f"{name}.csv")
    years = sorted(set(table["year"].tolist()))
    if years[0] != spec.start or years[-1] != spec.end:
        raise DataError(
            f"{folder / (name + '.csv')}: covers {years[0]}-{years[-1]} but case {name!r} is "
            f"{spec.start}-{spec.end}. Regenerate with `python -m secdilemma.data.derive`."
        )
    obs_code = spec.observers[observer_key]
    codes = (obs_code, spec.rival)
    names = []
    for c in codes:
        sub = table.loc[table["actor_code"] == c]
        if sub.empty:
            raise DataError(f"{folder / (name + '.csv')}: no rows for actor {c!r}.")
        names.append(str(sub["actor_name"].iloc[0]))
    series: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    from secdilemma.data.derive import VARIABLE_META

    for var in spec.variables:
        arr = np.full((len(years), 2), np.nan)
        units = ""
        for k, c in enumerate(codes):
            sub = table.loc[(table["actor_code"] == c) & (table["variable"] == var)]
            if sub.empty:
                raise DataError(
                    f"{folder / (name + '.csv')}: no rows for actor {c!r}, variable {var!r}."
                )
            sub = sub.set_index("year").reindex(years)
            arr[:, k] = sub["value"].to_numpy(dtype=np.float64)
            units = str(sub["units"].iloc[0])
        meta = dict(VARIABLE_META.get((name, var), {}))
        meta["units"] = units
        series[var] = (arr, meta)
    events = read_events(folder / "events.csv")
    roles = [
        role_of(
            a,
            observer=spec.observer_event_codes[observer_key],
            rival=spec.rival_event_codes,
        )
        for a in events["actor"].tolist()
    ]
    events = events.assign(role=pd.Series(roles, index=events.index, dtype=object))
    events = events.loc[events["role"].notna()].reset_index(drop=True)
    attrs = {
        "case": name,
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
    ds = build_dataset(
        periods=years,
        actor_names=(names[0], names[1]),
        actor_codes=codes,
        series=series,
        events=events,
        attrs=attrs,
    )
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
        event variables (see :func:`secdilemma.data.make_dyad`). ``russia_nato`` with
        ``observer="nato_europe"`` adds ``observer_members_missing`` and
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
    spec = _spec(name)
    key = spec.default_observer if observer is None else _observer_key(spec, observer)
    folder = cases_dir() / name
    stamp = _stamp(folder / f"{name}.csv", folder / "events.csv")
    return _load_case_cached(name, key, stamp).copy(deep=True)


def _observer_key(spec: CaseSpec, observer: Any) -> str:
    if isinstance(observer, str) and observer.strip().lower() in spec.observers:
        return observer.strip().lower()
    from secdilemma.data.countries import resolve_country

    try:
        abb = resolve_country(observer, argument="observer").abb
    except DataError:
        abb = None
    for key, code in spec.observers.items():
        if code == abb:
            return key
    raise DataError(
        f"argument 'observer': {observer!r} is not an observer option of case {spec.name!r}; "
        f"use one of {list(spec.observers)}."
    )


@functools.lru_cache(maxsize=2)
def _all_events_cached(root: str, _stamp: tuple[int, ...]) -> pd.DataFrame:
    frames = []
    for name in CASES:
        path = Path(root) / name / "events.csv"
        if path.is_file():
            frames.append(read_events(path).assign(case=name))
    if not frames:
        return pd.DataFrame(
            columns=["date", "year", "actor", "role", "channel", "label", "source", "case"]
        )
    return pd.concat(frames, ignore_index=True)


def all_bundled_events() -> pd.DataFrame:
    """Every event of every bundled case (columns of the events files plus ``case``).

    Examples
    --------
    >>> ev = all_bundled_events()
    >>> bool((ev["channel"] == "use_of_force").any())
    True
    """
    root = cases_dir()
    stamp = _stamp(*(root / n / "events.csv" for n in CASES))
    return _all_events_cached(str(root), stamp).copy()
