"""Regenerate the curated case files in ``data/cases/`` from the raw files in ``data/raw/``.

Per case: the long table ``<case>.csv``, ``events.csv`` (the hand-sourced events) and
``derived_signals.csv`` (the channels counted from the MID and ATOP tables, per observer
option; see :mod:`secdilemma.data.channels`).

Run ``python -m secdilemma.data.derive`` to rewrite them, ``--check`` to verify that the
committed files are what the raw files give (exit status 1 if not), ``--out DIR`` to
write elsewhere. Output is deterministic: fixed column order, shortest round-trip float
formatting (integers without a decimal point), UTF-8, ``\\n`` line endings.

Examples
--------
>>> from secdilemma.data.derive import generate
>>> files = generate()
>>> sorted(files)[0]
'anglo_german_naval/anglo_german_naval.csv'
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secdilemma._paths import cases_dir, raw_dir
from secdilemma.data import sources
from secdilemma.data.catalog import CASES, CaseSpec
from secdilemma.data.channels import derived_signals
from secdilemma.data.countries import resolve_country
from secdilemma.data.dyad import make_dyad
from secdilemma.data.events import role_of
from secdilemma.data.prices import PRICE_BASE_YEAR, UK_CPI_RELPATH, read_uk_cpi
from secdilemma.data.schema import (
    CASE_COLUMNS,
    DERIVED_CHANNELS,
    DERIVED_SIGNAL_COLUMNS,
    EVENT_COLUMNS,
    VARIABLE_META,
)
from secdilemma.errors import DataError

__all__ = [
    "NATO_EUROPE_MEMBERS",
    "VARIABLE_META",
    "NatoMember",
    "check",
    "format_value",
    "generate",
    "main",
    "nato_europe_aggregate",
    "write",
]

_W = "https://en.wikipedia.org/wiki/"
_NATO_MEMBERS_URL = "https://www.nato.int/cps/en/natohq/topics_52044.htm"


@dataclass(frozen=True)
class NatoMember:
    """A European NATO member as used in the NATO-Europe aggregate."""

    sipri_name: str
    cow_abb: str
    accession_date: str
    in_aggregate: bool = True
    note: str = ""

    @property
    def accession_year(self) -> int:
        """Calendar year of accession (a state counts for the whole of that year)."""
        return int(self.accession_date[:4])


#: European NATO members with accession dates (NATO, "Member countries",
#: https://www.nato.int/cps/en/natohq/topics_52044.htm; en.wikipedia.org "Member states of NATO").
#: Founders: North Atlantic Treaty signed 4 April 1949.
NATO_EUROPE_MEMBERS: tuple[NatoMember, ...] = (
    NatoMember("Belgium", "BEL", "1949-04-04"),
    NatoMember("Denmark", "DEN", "1949-04-04"),
    NatoMember("France", "FRN", "1949-04-04"),
    NatoMember(
        "Iceland",
        "ICE",
        "1949-04-04",
        in_aggregate=False,
        note="no armed forces; SIPRI reports 0.0; excluded from the sum and from the missing count",
    ),
    NatoMember("Italy", "ITA", "1949-04-04"),
    NatoMember("Luxembourg", "LUX", "1949-04-04"),
    NatoMember("Netherlands", "NTH", "1949-04-04"),
    NatoMember("Norway", "NOR", "1949-04-04"),
    NatoMember("Portugal", "POR", "1949-04-04"),
    NatoMember("United Kingdom", "UKG", "1949-04-04"),
    NatoMember("Greece", "GRC", "1952-02-18"),
    NatoMember("Türkiye", "TUR", "1952-02-18"),
    NatoMember(
        "Germany",
        "GMY",
        "1955-05-06",
        note="West Germany joined in 1955; unified Germany from 3 Oct 1990 (SIPRI 'Germany')",
    ),
    NatoMember("Spain", "SPN", "1982-05-30"),
    NatoMember("Czechia", "CZR", "1999-03-12"),
    NatoMember("Hungary", "HUN", "1999-03-12"),
    NatoMember("Poland", "POL", "1999-03-12"),
    NatoMember("Bulgaria", "BUL", "2004-03-29"),
    NatoMember("Estonia", "EST", "2004-03-29"),
    NatoMember("Latvia", "LAT", "2004-03-29"),
    NatoMember("Lithuania", "LIT", "2004-03-29"),
    NatoMember("Romania", "ROM", "2004-03-29"),
    NatoMember("Slovakia", "SLO", "2004-03-29"),
    NatoMember("Slovenia", "SLV", "2004-03-29"),
    NatoMember("Albania", "ALB", "2009-04-01"),
    NatoMember("Croatia", "CRO", "2009-04-01"),
    NatoMember("Montenegro", "MNG", "2017-06-05"),
    NatoMember("North Macedonia", "MAC", "2020-03-27"),
    NatoMember("Finland", "FIN", "2023-04-04"),
    NatoMember("Sweden", "SWD", "2024-03-07"),
)

#: Treaties of the compiled arms-control file: acting states and a stable URL.
_TREATY_EVENTS: dict[str, tuple[str, str]] = {
    "SALT I Interim Agreement": ("USA;RUS", _W + "Strategic_Arms_Limitation_Talks"),
    "ABM Treaty": ("USA;RUS", _W + "Anti-Ballistic_Missile_Treaty"),
    "SALT II": ("USA;RUS", _W + "Strategic_Arms_Limitation_Talks"),
    "INF Treaty": ("USA;RUS", _W + "Intermediate-Range_Nuclear_Forces_Treaty"),
    "START I": ("USA;RUS", _W + "START_I"),
    "Treaty on Open Skies": ("NATO;RUS", _W + "Treaty_on_Open_Skies"),
    "New START": ("USA;RUS", _W + "New_START"),
}

_UNITS = {
    "milper": "thousands of military personnel",
    "gbp": (
        "constant 1913 pounds sterling (current pounds deflated by the Bank of England UK CPI "
        "of the calendar year in which the financial year begins)"
    ),
    "ships": "ships",
    "warheads": "warheads",
    "sipri_const": "US$ m, constant 2022 prices and exchange rates",
    "count": "count",
}


def format_value(value: Any) -> str:
    """Deterministic text for a CSV cell: '' for NaN, integers without '.0', else repr.

    Examples
    --------
    >>> format_value(3.0), format_value(float("nan")), format_value(0.1)
    ('3', '', '0.1')
    """
    if value is None:
        return ""
    v = float(value)
    if math.isnan(v):
        return ""
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


@dataclass
class _Long:
    rows: list[tuple[int, str, str, str, str, str]]

    def add(
        self, years: Sequence[int], code: str, name: str, var: str, values: Any, units: str
    ) -> None:
        vals = np.asarray(values, dtype=np.float64)
        if len(vals) != len(years):
            raise DataError(f"internal: {var} for {code} has {len(vals)} values, not {len(years)}")
        for y, v in zip(years, vals, strict=True):
            self.rows.append((int(y), code, name, var, format_value(v), units))

    def text(self) -> str:
        return _csv_text(CASE_COLUMNS, self.rows)


def _naval_measure(
    naval: pd.DataFrame, measure: str, country: str, years: Sequence[int], path: str
) -> np.ndarray:
    sub = naval.loc[(naval["measure"] == measure) & (naval["country"] == country)]
    units = set(sub["unit"].tolist())
    if units and units != {"GBP"}:
        raise DataError(f"{path}: measure {measure!r} for {country} has units {units}, not GBP.")
    dup = sub.loc[sub.duplicated("year", keep=False)]
    if len(dup):
        raise DataError(
            f"{path}: measure {measure!r} for {country} has several rows for year "
            f"{int(dup['year'].iloc[0])} (lines {dup['_line'].tolist()}); one value per year "
            f"is needed (never splice or average sources)."
        )
    return sub.set_index("year")["value"].reindex(list(years)).to_numpy(dtype=np.float64)


def _dreadnoughts(
    dread: pd.DataFrame, country: str, years: Sequence[int], path: str
) -> tuple[np.ndarray, np.ndarray]:
    sub = dread.loc[dread["country"] == country].sort_values("year")
    new = (sub["new_battleships"] + sub["new_battlecruisers"]).to_numpy()
    cum = sub["cum_capital_ships"].to_numpy()
    if not np.array_equal(np.cumsum(new), cum) or not np.array_equal(
        sub["cum_battleships"].to_numpy() + sub["cum_battlecruisers"].to_numpy(), cum
    ):
        raise DataError(
            f"{path}: cumulative counts for {country} do not equal the running sum of new ships; "
            f"fix the file."
        )
    yrs = sub["year"].to_numpy()
    if len(yrs) and not np.array_equal(yrs, np.arange(yrs[0], yrs[0] + len(yrs))):
        raise DataError(f"{path}: years for {country} are not consecutive ({yrs.tolist()}).")
    s_new = pd.Series(new, index=yrs, dtype=np.float64).reindex(list(years))
    s_cum = pd.Series(cum, index=yrs, dtype=np.float64).reindex(list(years))
    return s_new.to_numpy(), s_cum.to_numpy()


def _warheads(owid: pd.DataFrame, entity: str, years: Sequence[int]) -> np.ndarray:
    sub = owid.loc[owid["Entity"] == entity]
    if sub.empty:
        raise DataError(f"OWID warheads file has no entity {entity!r}.")
    return (
        sub.set_index("Year")["nuclear_weapons_stockpile"]
        .reindex(list(years))
        .to_numpy(dtype=np.float64)
    )


def nato_europe_aggregate(
    sipri: pd.DataFrame, years: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, list[str]]]:
    """Sum of SIPRI values over the European NATO members of each year.

    A state counts from its accession year on (whole year). Iceland (no armed forces) is
    not summed. If any counted member has no SIPRI value in a year, that year's
    aggregate is NaN (never a partial sum).

    Parameters
    ----------
    sipri
        Long SIPRI table (:func:`secdilemma.data.sources.read_sipri`).
    years
        Years wanted.

    Returns
    -------
    total, n_members, n_missing, missing_names
        Arrays over ``years`` and a dict year → names of members without a value.

    Examples
    --------
    >>> from secdilemma.data.sources import read_sipri
    >>> total, n, miss, _ = nato_europe_aggregate(read_sipri(), [2023])
    >>> int(n[0]), int(miss[0])
    (28, 0)
    """
    names = set(sipri["country"].unique().tolist())
    for m in NATO_EUROPE_MEMBERS:
        if m.sipri_name not in names:
            raise DataError(
                f"SIPRI sheet has no row {m.sipri_name!r} (NATO member {m.cow_abb}); "
                f"update NATO_EUROPE_MEMBERS."
            )
    wide = sipri.pivot(index="year", columns="country", values="value")
    total = np.full(len(years), np.nan)
    n_members = np.zeros(len(years))
    n_missing = np.zeros(len(years))
    missing_names: dict[int, list[str]] = {}
    for i, y in enumerate(years):
        members = [m for m in NATO_EUROPE_MEMBERS if m.in_aggregate and m.accession_year <= y]
        vals = [
            float(wide.at[y, m.sipri_name]) if y in wide.index else math.nan  # type: ignore[arg-type]
            for m in members
        ]
        miss = [m.sipri_name for m, v in zip(members, vals, strict=True) if math.isnan(v)]
        n_members[i] = len(members)
        n_missing[i] = len(miss)
        if miss:
            missing_names[int(y)] = miss
        else:
            total[i] = math.fsum(vals)
    return total, n_members, n_missing, missing_names


def _events_for_case(
    spec: CaseSpec, compiled: pd.DataFrame, treaties: pd.DataFrame, treaties_path: str
) -> str:
    obs = spec.observer_event_codes[spec.default_observer]
    rows: list[dict[str, Any]] = []
    for _, r in compiled.loc[compiled["case"] == spec.name].iterrows():
        rows.append({k: r[k] for k in ("date", "actor", "channel", "label", "source")})
    treaty_rows: list[dict[str, Any]] = []
    for _, t in treaties.iterrows():
        name = str(t["treaty"])
        if name not in _TREATY_EVENTS:
            raise DataError(
                f"{treaties_path}: column 'treaty', line {int(t['_line'])}: {name!r} has no "
                f"actor/URL mapping in secdilemma.data.derive._TREATY_EVENTS; add one."
            )
        actor, url = _TREATY_EVENTS[name]
        signed = str(t["signed"])
        if spec.start <= int(signed[:4]) <= spec.end:
            treaty_rows.append(
                {
                    "date": signed,
                    "actor": actor,
                    "channel": "arms_control_signed",
                    "label": f"{name} signed",
                    "source": url,
                }
            )
        ended, status = t["ended"], str(t["status"] or "")
        if (
            ended
            and status.startswith("US withdrawal")
            and spec.start <= int(str(ended)[:4]) <= spec.end
        ):
            treaty_rows.append(
                {
                    "date": str(ended),
                    "actor": "USA",
                    "channel": "arms_control_withdrawn",
                    "label": f"US withdrawal from the {name} takes effect",
                    "source": url,
                }
            )
    # treaties are US-USSR/Russia (or NATO-Russia): only cases with those two sides get them
    rows += [
        r
        for r in treaty_rows
        if role_of(str(r["actor"]), observer=obs, rival=spec.rival_event_codes) is not None
    ]
    out = []
    for r in rows:  # type: ignore[assignment]
        role = role_of(str(r["actor"]), observer=obs, rival=spec.rival_event_codes)
        if role is None:
            raise DataError(
                f"case {spec.name!r}: event {r['label']!r} ({r['date']}) has actor "
                f"{r['actor']!r}, which is neither the observer {sorted(obs)} nor the rival "
                f"{sorted(spec.rival_event_codes)}."
            )
        out.append(
            (
                str(r["date"]),
                int(str(r["date"])[:4]),
                str(r["actor"]),
                role,
                str(r["channel"]),
                str(r["label"]),
                str(r["source"]),
            )
        )
    out.sort(key=lambda x: (x[0], x[2], x[4], x[5]))
    return _csv_text(EVENT_COLUMNS, out)


def _rp(rel: str) -> Path:
    """A bundled raw file's path."""
    return raw_dir() / rel


def _anglo_german_naval() -> str:
    spec = CASES["anglo_german_naval"]
    years = list(range(spec.start, spec.end + 1))
    nmc = make_dyad("UKG", "GMY", start=spec.start, end=spec.end, unit_break="convert")
    naval = sources.read_naval_race(_rp(sources.NAVAL_RELPATH))
    uk_cpi = read_uk_cpi(_rp(UK_CPI_RELPATH))
    uk_prices = uk_cpi.reindex(years).to_numpy(dtype=float) / float(uk_cpi[PRICE_BASE_YEAR])
    dread = sources.read_dreadnoughts_by_year(_rp(sources.DREAD_YEAR_RELPATH))
    long = _Long([])
    for k, (code, name) in enumerate((("UKG", "United Kingdom"), ("GMY", "Germany"))):
        long.add(years, code, name, "milex", nmc["milex"].values[:, k], nmc["milex"].attrs["units"])
        long.add(years, code, name, "milper", nmc["milper"].values[:, k], _UNITS["milper"])
        for var, measure in (
            ("naval_expenditure", "new_construction_expenditure"),
            ("naval_expenditure_nock", "new_construction_expenditure_nock"),
        ):
            values = _naval_measure(naval, measure, code, years, str(_rp(sources.NAVAL_RELPATH)))
            values = values / uk_prices
            long.add(years, code, name, var, values, _UNITS["gbp"])
        new, cum = _dreadnoughts(dread, code, years, str(_rp(sources.DREAD_YEAR_RELPATH)))
        long.add(years, code, name, "dreadnoughts_new", new, _UNITS["ships"])
        long.add(years, code, name, "dreadnoughts_cumulative", cum, _UNITS["ships"])
    return long.text()


def _us_ussr(owid: pd.DataFrame) -> str:
    spec = CASES["us_ussr"]
    years = list(range(spec.start, spec.end + 1))
    nmc = make_dyad("USA", "RUS", start=spec.start, end=spec.end)
    long = _Long([])
    for k, (code, name, entity) in enumerate(
        (("USA", "United States of America", "United States"), ("RUS", "USSR", "Russia"))
    ):
        long.add(years, code, name, "milex", nmc["milex"].values[:, k], nmc["milex"].attrs["units"])
        long.add(years, code, name, "milper", nmc["milper"].values[:, k], _UNITS["milper"])
        long.add(years, code, name, "warheads", _warheads(owid, entity, years), _UNITS["warheads"])
    return long.text()


def _us_china(owid: pd.DataFrame) -> str:
    spec = CASES["us_china"]
    years = list(range(spec.start, spec.end + 1))
    sip = make_dyad("USA", "CHN", source="sipri", start=spec.start, end=spec.end)
    nmc_years = [y for y in years if y <= 2016]
    nmc = make_dyad("USA", "CHN", start=nmc_years[0], end=nmc_years[-1], variable="milex")
    long = _Long([])
    for k, (code, name, entity) in enumerate(
        (("USA", "United States of America", "United States"), ("CHN", "China", "China"))
    ):
        long.add(years, code, name, "milex", sip["milex"].values[:, k], _UNITS["sipri_const"])
        nm = pd.Series(nmc["milex"].values[:, k], index=nmc_years).reindex(years)
        long.add(years, code, name, "milex_nmc", nm.to_numpy(), nmc["milex"].attrs["units"])
        long.add(years, code, name, "warheads", _warheads(owid, entity, years), _UNITS["warheads"])
    return long.text()


def _russia_nato() -> str:
    spec = CASES["russia_nato"]
    years = list(range(spec.start, spec.end + 1))
    sip = make_dyad("USA", "RUS", source="sipri", start=spec.start, end=spec.end)
    sipri = sources.read_sipri("constant", path=_rp(sources.SIPRI_RELPATH))
    total, n_members, n_missing, _ = nato_europe_aggregate(sipri, years)
    long = _Long([])
    const = _UNITS["sipri_const"]
    usa, eu = ("USA", "United States of America"), ("NATO-EU", "NATO European members")
    long.add(years, *usa, "milex", sip["milex"].values[:, 0], const)
    long.add(years, "RUS", "Russia", "milex", sip["milex"].values[:, 1], const)
    long.add(years, *eu, "milex", total, const)
    long.add(years, *eu, "members_count", n_members, _UNITS["count"])
    long.add(years, *eu, "members_missing", n_missing, _UNITS["count"])
    return long.text()


def _nato_members_text() -> str:
    return _csv_text(
        (
            "sipri_name",
            "cow_abb",
            "accession_date",
            "accession_year",
            "in_aggregate",
            "note",
            "source",
        ),
        [
            (
                m.sipri_name,
                m.cow_abb,
                m.accession_date,
                m.accession_year,
                int(m.in_aggregate),
                m.note,
                _NATO_MEMBERS_URL,
            )
            for m in NATO_EUROPE_MEMBERS
        ],
    )


def _nato_europe_codes(years: Sequence[int]) -> dict[int, frozenset[int]]:
    """Year -> COW codes of the European NATO members that year (West Germany too)."""
    codes = {m: resolve_country(m.cow_abb).ccode for m in NATO_EUROPE_MEMBERS}
    extra = {"GMY": {260}}  # West Germany joined in 1955 under code 260
    return {
        int(y): frozenset(
            c
            for m, code in codes.items()
            if m.accession_year <= y
            for c in {code} | extra.get(m.cow_abb, set())
        )
        for y in years
    }


def _derived_signals_text(spec: CaseSpec) -> str:
    """The case's derived channels for each observer option (one row per value)."""
    years = list(range(spec.start, spec.end + 1))
    rival = resolve_country(spec.rival).ccode
    rows = []
    for option, code in spec.observers.items():
        if code == "NATO-EU":
            values = derived_signals(None, rival, years, observer_members=_nato_europe_codes(years))
        else:
            values = derived_signals(resolve_country(code).ccode, rival, years)
        for i, y in enumerate(years):
            for k, (actor, actor_code) in enumerate((("observer", code), ("rival", spec.rival))):
                for j, channel in enumerate(DERIVED_CHANNELS):
                    rows.append(
                        (option, y, actor, actor_code, channel, format_value(values[i, k, j]))
                    )
    return _csv_text(DERIVED_SIGNAL_COLUMNS, rows)


def generate() -> dict[str, str]:
    """Build every curated file's text from the raw files in ``data/raw/``.

    Returns
    -------
    dict
        Relative path under ``data/cases/`` → file text.
    """
    compiled = sources.read_case_events_compiled(_rp(sources.CASE_EVENTS_RELPATH))
    treaties = sources.read_treaties(_rp(sources.TREATIES_RELPATH))
    treaties_path = str(_rp(sources.TREATIES_RELPATH))
    unknown = sorted(set(compiled["case"]) - set(CASES))
    if unknown:
        raise DataError(f"{_rp(sources.CASE_EVENTS_RELPATH)}: unknown case(s) {unknown}.")
    owid = sources.read_owid_warheads(_rp(sources.OWID_RELPATH))
    files: dict[str, str] = {
        "anglo_german_naval/anglo_german_naval.csv": _anglo_german_naval(),
        "us_ussr/us_ussr.csv": _us_ussr(owid),
        "us_china/us_china.csv": _us_china(owid),
        "russia_nato/russia_nato.csv": _russia_nato(),
        "russia_nato/nato_europe_members.csv": _nato_members_text(),
    }
    for name, spec in CASES.items():
        files[f"{name}/events.csv"] = _events_for_case(spec, compiled, treaties, treaties_path)
        files[f"{name}/derived_signals.csv"] = _derived_signals_text(spec)
    return dict(sorted(files.items()))


def write(out: str | Path | None = None) -> list[Path]:
    """Write every curated file under ``out`` (default ``data/cases/``); return the paths."""
    root = Path(out) if out is not None else cases_dir()
    written = []
    for rel, text in generate().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def check(out: str | Path | None = None) -> list[str]:
    """Relative paths whose committed bytes differ from (or lack) the regenerated ones."""
    root = Path(out) if out is not None else cases_dir()
    changed = []
    for rel, text in generate().items():
        path = root / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            changed.append(rel)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m secdilemma.data.derive",
        description="Regenerate data/cases/ from data/raw/.",
    )
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if any curated file would change"
    )
    parser.add_argument("--out", default=None, help="folder to write to (default data/cases)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            changed = check(args.out)
            if changed:
                print("would change: " + ", ".join(changed), file=sys.stderr)
                return 1
            print("data/cases is up to date")
            return 0
        for path in write(args.out):
            print(f"wrote {path}")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
