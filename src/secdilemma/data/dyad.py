"""Build an observer-rival dyad from the raw tables (COW NMC or SIPRI) for any pair of states.

Examples
--------
>>> from secdilemma.data import make_dyad
>>> ds = make_dyad("USA", "Russia", start=1950, end=1990)
>>> ds["milex"].dims
('period', 'actor')
>>> ds.attrs["observer"], ds.attrs["rival"]
('United States of America', 'Russia')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.data.channels import derived_signals, signals_variable
from secdilemma.data.countries import Country, resolve_country, sipri_spans
from secdilemma.data.events import all_bundled_events, event_variables, role_of
from secdilemma.data.prices import (
    GOLD_PARITY_USD_PER_GBP,
    NMC_UNIT_BREAK_YEAR,
    PRICES,
    PRICES_NOTE,
    nmc_milex_units,
)
from secdilemma.data.schema import SIGNAL_CHANNELS
from secdilemma.data.sources import read_nmc, read_sipri
from secdilemma.errors import DataError

__all__ = [
    "GOLD_PARITY_USD_PER_GBP",
    "NMC_CITATION",
    "NMC_UNIT_BREAK_YEAR",
    "SIPRI_CITATION",
    "build_dataset",
    "make_dyad",
]

NMC_CITATION = (
    "Correlates of War Project, National Material Capabilities v6.0 (abridged); "
    "Singer, Bremer & Stuckey (1972); Singer (1987)"
)
SIPRI_CITATION = "SIPRI Military Expenditure Database, April 2024 release (1949-2023)"

_NMC_VARIABLES = ("milex", "milper")
_SIPRI_VARIABLES = {"milex": "constant", "milex_current": "current"}


def build_dataset(
    *,
    periods: Sequence[int],
    actor_names: tuple[str, str],
    actor_codes: tuple[str, str],
    series: Mapping[str, tuple[np.ndarray, Mapping[str, Any]]],
    events: pd.DataFrame,
    attrs: Mapping[str, Any],
    derived: np.ndarray | None = None,
) -> xr.Dataset:
    """Assemble the dyad Dataset contract from arrays and an events table.

    Parameters
    ----------
    periods
        Consecutive years.
    actor_names, actor_codes
        Names and codes of (observer, rival).
    series
        ``name -> (array of shape (period, 2), attrs)``.
    events
        Events with a dyad-relative ``role`` column (see :mod:`secdilemma.data.events`).
    attrs
        Dataset attributes.
    derived
        The derived channels, ``(period, 2, 4)`` (:func:`secdilemma.data.channels.
        derived_signals`); ``None``: NaN (not observed).

    Returns
    -------
    xarray.Dataset
        ``signals`` (period, actor, signal) float64 over ``SIGNAL_CHANNELS``: the curated
        events' counts, then the derived channels.

    Examples
    --------
    >>> ev = pd.DataFrame(columns=["date", "year", "actor", "role", "channel", "label", "source"])
    >>> ds = build_dataset(periods=[2000, 2001], actor_names=("A", "B"), actor_codes=("AAA", "BBB"),
    ...                    series={"milex": (np.ones((2, 2)), {"units": "x"})}, events=ev,
    ...                    attrs={"case": "custom"})
    >>> ds.sizes["event"]
    0
    """
    periods_arr = np.asarray(list(periods), dtype=np.int64)
    data_vars: dict[str, Any] = {}
    for name, (arr, var_attrs) in series.items():
        values = np.asarray(arr, dtype=np.float64)
        if values.shape != (len(periods_arr), 2):
            raise DataError(
                f"series {name!r} has shape {values.shape}, expected ({len(periods_arr)}, 2)."
            )
        data_vars[name] = xr.Variable(("period", "actor"), values, attrs=dict(var_attrs))
    ds = xr.Dataset(
        data_vars,
        coords={
            "period": ("period", periods_arr, {"long_name": "year"}),
            "actor": ["observer", "rival"],
            "actor_name": ("actor", np.asarray(actor_names, dtype=str)),
            "actor_code": ("actor", np.asarray(actor_codes, dtype=str)),
            "signal": list(SIGNAL_CHANNELS),
        },
        attrs=dict(attrs),
    )
    ev = event_variables(events, periods_arr.tolist())
    ds = ds.merge(ev.drop_vars(["signals", "signal"]), compat="override", join="outer")
    ds["signals"] = signals_variable(ev["signals"].values, derived)
    return ds


_YEAR_TEXT = re.compile(r"[0-9]{1,9}", re.ASCII)


def _year_arg(value: Any, name: str) -> int | None:
    """A year argument: ``None``, an int (not a bool) or a string of ASCII digits."""
    if value is None:
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        year = int(value)
    elif isinstance(value, str) and _YEAR_TEXT.fullmatch(value.strip()):
        year = int(value.strip())
    else:
        raise DataError(
            f"argument {name!r}: expected an integer year (an int or a string of the digits "
            f"0-9, e.g. 1990), got {value!r}."
        )
    return year  # the range is checked against the source's coverage (_check_range)


def _check_range(
    start: int | None, end: int | None, first: int, last: int, source: str
) -> tuple[int, int]:
    s = first if start is None else start
    e = last if end is None else end
    if s > e:
        raise DataError(f"arguments 'start'/'end': start {s} is after end {e}. Swap them.")
    if s < first or e > last:
        raise DataError(
            f"arguments 'start'/'end': the range {s}-{e} is outside the {source} coverage "
            f"{first}-{last}. Pass years within it."
        )
    return s, e


def _spans_text(years: Sequence[int]) -> str:
    if not years:
        return ""
    ys = sorted(years)
    parts, lo, prev = [], ys[0], ys[0]
    for y in ys[1:]:
        if y != prev + 1:
            parts.append(f"{lo}-{prev}" if lo != prev else f"{lo}")
            lo = y
        prev = y
    parts.append(f"{lo}-{prev}" if lo != prev else f"{lo}")
    return ", ".join(parts)


def _bundled_events(observer: Country, rival: Country) -> pd.DataFrame:
    """Events from every bundled case whose acting states are exactly this dyad's."""
    ev = all_bundled_events()
    roles = [role_of(a, observer={observer.abb}, rival={rival.abb}) for a in ev["actor"].tolist()]
    out = ev.assign(role=pd.Series(roles, index=ev.index, dtype=object))
    out = out.loc[out["role"].notna()]
    return out.drop_duplicates(subset=["date", "actor", "channel", "label"]).reset_index(drop=True)


def make_dyad(
    observer: int | str,
    rival: int | str,
    *,
    source: Literal["nmc", "sipri"] = "nmc",
    start: int | None = None,
    end: int | None = None,
    variable: str | None = None,
    unit_break: Literal["error", "convert"] = "error",
    prices: Literal["real", "nominal", "relative"] = "real",
) -> xr.Dataset:
    """Build an observer-rival Dataset for any two states from the raw tables.

    Parameters
    ----------
    observer, rival
        COW code (int or numeric string), COW abbreviation (``"UKG"``) or a name, COW or
        SIPRI spelling, case-insensitive (``"United States of America"``, ``"USA"``,
        ``"Soviet Union"``, ``"China"``).
    source
        ``"nmc"``: COW NMC v6, 1816-2016, variables ``milex`` (thousands; pounds sterling
        1816-1913, US dollars from 1914) and ``milper`` (thousands of personnel).
        ``"sipri"``: SIPRI 1949-2023, variable ``milex`` (US$ m, constant 2022) or
        ``milex_current`` (US$ m, current).
    start, end
        Inclusive year range; default the years in which both states appear in the
        source (NMC) or both have data (SIPRI).
    variable
        One variable only; default ``milex`` and ``milper`` for NMC, ``milex`` for SIPRI.
    unit_break
        NMC only, for a range that crosses 1913→1914: ``"error"`` (default) raises a
        "mixed-unit splice" DataError; ``"convert"`` converts the pre-1914 pounds to US
        dollars at the gold parity US$4.8665/£.
    prices
        Price basis of the money series ``milex`` (:mod:`secdilemma.data.prices`; ``milper``
        is never changed). ``"real"`` (default): NMC's current values divided by the
        consumer price index of their currency, 1913 = 1 (the Bank of England UK CPI for
        the pounds of 1816-1913, the BLS CPI-U for the dollars from 1914), so that common
        inflation does not read as the rival's own growth; SIPRI's constant 2022 US$ as
        they are. ``"nominal"``: the source's current values (SIPRI's current-US$ sheet).
        ``"relative"`` (NMC only): percent of the chain-linked total military spending of
        the state system that year, which cancels any price or unit change all NMC values
        share; it needs no ``unit_break``. ``attrs["prices"]`` and the units say which.

    Returns
    -------
    xarray.Dataset
        The dyad contract (``period``, ``actor``, ``signal``, ``event``; ``milex`` …,
        ``signals`` and the event variables). Events are those of the bundled case
        events files whose acting states are exactly this dyad's states; none otherwise.
        The derived channels of ``signals`` (MID disputes, new defence pacts) come from the
        public tables for every pair: NaN outside their coverage (MID 1816-2010, ATOP
        1816-2018) and in years when a state is not in the state system.
        Years in which a state is absent from the source are NaN, with a note in
        ``attrs["notes"]``.

    Raises
    ------
    DataError
        Unknown country, bad argument, range outside the source, a state with no data in
        the range, or a mixed-unit splice.

    Examples
    --------
    >>> ds = make_dyad("UKG", "GMY", start=1898, end=1913, prices="nominal")
    >>> ds["milex"].attrs["units"]
    'thousands of current pounds sterling'
    >>> ds = make_dyad("UKG", "GMY", start=1898, end=1914, unit_break="convert", prices="nominal")
    >>> float(ds["milex"].sel(period=1898, actor="observer")) == 38741 * 4.8665
    True
    >>> make_dyad("UKG", "GMY", start=1898, end=1913)["milex"].attrs["units"][:37]
    'thousands of constant 1913 pounds ste'
    >>> make_dyad("United States", "China", source="sipri", start=2000, end=2001)["milex"].shape
    (2, 2)
    """
    if source not in ("nmc", "sipri"):
        raise DataError(f"argument 'source': {source!r} is not one of ['nmc', 'sipri'].")
    if unit_break not in ("error", "convert"):
        raise DataError(
            f"argument 'unit_break': {unit_break!r} is not one of ['error', 'convert']."
        )
    if prices not in PRICES:
        raise DataError(f"argument 'prices': {prices!r} is not one of {list(PRICES)}.")
    obs = resolve_country(observer, argument="observer")
    riv = resolve_country(rival, argument="rival")
    if obs.ccode == riv.ccode:
        raise DataError(
            f"arguments 'observer'/'rival': both resolve to {obs.name} ({obs.abb}, {obs.ccode}); "
            f"pass two different states."
        )
    s_arg = _year_arg(start, "start")
    e_arg = _year_arg(end, "end")
    if source == "nmc":
        return _nmc_dyad(obs, riv, s_arg, e_arg, variable, unit_break, prices)
    if prices == "relative":
        raise DataError(
            "argument 'prices': 'relative' is offered for source='nmc' only; SIPRI's 'milex' "
            "is already in constant 2022 US$ (prices='real'). Use source='nmc' or prices='real'."
        )
    return _sipri_dyad(obs, riv, s_arg, e_arg, variable, prices)


def _nmc_variables(variable: str | None) -> tuple[str, ...]:
    if variable is None:
        return _NMC_VARIABLES
    if variable in _NMC_VARIABLES:
        return (variable,)
    raise DataError(
        f"argument 'variable': {variable!r} is not an NMC variable; use one of "
        f"{list(_NMC_VARIABLES)} (or source='sipri' for 'milex_current')."
    )


def _nmc_default_range(
    obs: Country, riv: Country, rows: dict[int, pd.DataFrame]
) -> tuple[int, int]:
    """The years in which both states appear in COW NMC."""
    lo = max(int(rows[c.ccode].index.min()) for c in (obs, riv))
    hi = min(int(rows[c.ccode].index.max()) for c in (obs, riv))
    if lo > hi:
        raise DataError(
            f"{obs.name} and {riv.name} never coexist in COW NMC; pass start/end explicitly."
        )
    return lo, hi


def _nmc_series(
    obs: Country,
    riv: Country,
    rows: dict[int, pd.DataFrame],
    variables: tuple[str, ...],
    periods: list[int],
    unit_break: str,
    notes: list[str],
    prices: str = "nominal",
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    series: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    for var in variables:
        arr = np.full((len(periods), 2), np.nan)
        for k, c in enumerate((obs, riv)):
            sub = rows[c.ccode][var].reindex(periods)
            arr[:, k] = sub.to_numpy(dtype=np.float64)
        attrs: dict[str, Any] = {"source": NMC_CITATION}
        if var == "milex":
            attrs["units"] = nmc_milex_units(arr, periods, unit_break, notes, prices)
            attrs["long_name"] = "military expenditure"
        else:
            attrs["units"] = "thousands of military personnel"
            attrs["long_name"] = "military personnel"
        series[var] = (arr, attrs)
    return series


def _nmc_check_presence(
    obs: Country,
    riv: Country,
    rows: dict[int, pd.DataFrame],
    series: dict[str, tuple[np.ndarray, dict[str, Any]]],
    periods: list[int],
    notes: list[str],
) -> None:
    """Raise if a state is absent or all-missing over ``periods``; note the gaps."""
    s, e = periods[0], periods[-1]
    for k, c in enumerate((obs, riv)):
        absent = [p for p in periods if p not in rows[c.ccode].index]
        if len(absent) == len(periods):
            raise DataError(
                f"{c.name} ({c.abb}, {c.ccode}) is not in COW NMC in {s}-{e} "
                f"(it is listed in {_spans_text(rows[c.ccode].index.tolist())}). "
                + (
                    "For Germany 1955-1990 use 'West Germany' (GFR, 260) or "
                    "'East Germany' (GDR, 265). "
                    if c.ccode == 255
                    else ""
                )
                + "Pass a range in which the state exists."
            )
        if absent:
            notes.append(
                f"{['observer', 'rival'][k]} {c.abb} ({c.ccode}) not in COW NMC in "
                f"{_spans_text(absent)}: left NaN"
            )
        for var, (arr, _) in series.items():
            vals = arr[:, k]
            if np.all(np.isnan(vals)):
                raise DataError(
                    f"COW NMC {var} is missing (-9) for {c.name} ({c.abb}) in every year "
                    f"{s}-{e}; choose another range or variable."
                )
            miss = [p for p, v in zip(periods, vals, strict=True) if np.isnan(v)]
            if miss and len(miss) > len(absent):
                notes.append(f"{var} missing for {c.abb} in {_spans_text(miss)} (NMC -9 or absent)")


def _nmc_dyad(
    obs: Country,
    riv: Country,
    start: int | None,
    end: int | None,
    variable: str | None,
    unit_break: str,
    prices: str = "real",
) -> xr.Dataset:
    variables = _nmc_variables(variable)
    nmc = read_nmc()
    first, last = int(nmc["year"].min()), int(nmc["year"].max())
    rows = {c.ccode: nmc.loc[nmc["ccode"] == c.ccode].set_index("year") for c in (obs, riv)}
    for c in (obs, riv):
        if rows[c.ccode].empty:
            raise DataError(f"COW NMC has no rows for {c.name} ({c.abb}, {c.ccode}).")
    if start is None and end is None:
        start, end = _nmc_default_range(obs, riv, rows)
    s, e = _check_range(start, end, first, last, "COW NMC")
    periods = list(range(s, e + 1))
    notes: list[str] = []
    series = _nmc_series(obs, riv, rows, variables, periods, unit_break, notes, prices)
    _nmc_check_presence(obs, riv, rows, series, periods, notes)
    events = _bundled_events(obs, riv)
    derived = derived_signals(obs.ccode, riv.ccode, periods)
    attrs_ds = {
        "case": "custom",
        "title": f"{obs.name} (observer) and {riv.name} (rival), COW NMC, {s}-{e}",
        "source": NMC_CITATION,
        "observer": obs.name,
        "rival": riv.name,
        "start": s,
        "end": e,
        "description": (
            f"Custom dyad built by make_dyad from COW NMC v6 (abridged): military "
            f"expenditure and personnel of {obs.name} and {riv.name}. Events: those of the "
            f"bundled case events files acting states {obs.abb}/{riv.abb} ({len(events)} found)."
        ),
        "units_note": (
            "NMC milex is thousands of current pounds sterling for 1816-1913 and thousands "
            "of current US$ from 1914 (peacesciencer/COW manual); -9 is missing (NaN). "
            f"Here restated with prices={prices!r}: {PRICES_NOTE[prices]}"
        ),
        "prices": prices,
        "notes": "; ".join(notes),
    }
    return build_dataset(
        periods=periods,
        actor_names=(obs.name, riv.name),
        actor_codes=(obs.abb, riv.abb),
        series=series,
        events=events,
        attrs=attrs_ds,
        derived=derived,
    )


def _sipri_series(c: Country, measure: str) -> tuple[pd.Series, list[str]]:
    table = read_sipri(measure)  # type: ignore[arg-type]
    names = frozenset(table["country"].unique().tolist())
    spans = sipri_spans(c, set(names))
    if not spans:
        raise DataError(f"SIPRI has no row for {c.name} ({c.abb}, {c.ccode}); use source='nmc'.")
    first, last = int(table["year"].min()), int(table["year"].max())
    out = pd.Series(np.nan, index=pd.RangeIndex(first, last + 1), dtype=np.float64)
    notes = []
    for span in spans:
        sub = table.loc[table["country"] == span.sipri_name].set_index("year")["value"]
        lo = first if span.first is None else span.first
        hi = last if span.last is None else span.last
        sub = sub.loc[(sub.index >= lo) & (sub.index <= hi)]
        out.loc[sub.index] = sub.to_numpy()
        if span.note:
            notes.append(f"{c.abb}: {span.note}")
    return out, notes


def _sipri_default_range(
    obs: Country, riv: Country, so: pd.Series, sr: pd.Series, var: str
) -> tuple[int, int]:
    """The years in which both states have SIPRI values."""
    valid_o, valid_r = so.dropna().index, sr.dropna().index
    if len(valid_o) == 0 or len(valid_r) == 0:
        empty = obs if len(valid_o) == 0 else riv
        raise DataError(f"SIPRI has no {var} values for {empty.name} in any year.")
    start = max(int(valid_o.min()), int(valid_r.min()))
    end = min(int(valid_o.max()), int(valid_r.max()))
    if start > end:
        raise DataError(f"SIPRI {var} for {obs.name} and {riv.name} never overlap; pass start/end.")
    return start, end


def _sipri_check_values(
    obs: Country, riv: Country, arr: np.ndarray, periods: list[int], var: str, notes: list[str]
) -> None:
    """Raise if a state has no value over ``periods``; note gaps and zeros."""
    s, e = periods[0], periods[-1]
    for k, c in enumerate((obs, riv)):
        miss = [p for p, v in zip(periods, arr[:, k], strict=True) if np.isnan(v)]
        if len(miss) == len(periods):
            raise DataError(
                f"SIPRI has no {var} values for {c.name} ({c.abb}) in {s}-{e}"
                + (
                    " (SIPRI has the USSR for 1988-1990 only; use source='nmc' for the Cold War)"
                    if c.ccode == 365
                    else ""
                )
                + ". Choose another range or source='nmc'."
            )
        if miss:
            notes.append(
                f"{['observer', 'rival'][k]} {c.abb}: SIPRI {var} unavailable or state not "
                f"independent in {_spans_text(miss)}: left NaN"
            )
        zeros = [p for p, v in zip(periods, arr[:, k], strict=True) if v == 0.0]
        if zeros:
            notes.append(
                f"{c.abb}: SIPRI gives 0.0 in {_spans_text(zeros)} (no armed forces or a "
                f"conversion artefact); kept as 0"
            )


def _sipri_dyad(
    obs: Country,
    riv: Country,
    start: int | None,
    end: int | None,
    variable: str | None,
    prices: str = "real",
) -> xr.Dataset:
    var = "milex" if variable is None else variable
    if not isinstance(var, str) or var not in _SIPRI_VARIABLES:
        raise DataError(
            f"argument 'variable': {variable!r} is not a SIPRI variable; use one of "
            f"{list(_SIPRI_VARIABLES)} (or source='nmc' for 'milper')."
        )
    measure = "current" if prices == "nominal" else _SIPRI_VARIABLES[var]
    table = read_sipri(measure)  # type: ignore[arg-type]
    first, last = int(table["year"].min()), int(table["year"].max())
    (so, notes_o), (sr, notes_r) = _sipri_series(obs, measure), _sipri_series(riv, measure)
    if start is None and end is None:
        start, end = _sipri_default_range(obs, riv, so, sr, var)
    s, e = _check_range(start, end, first, last, "SIPRI")
    periods = list(range(s, e + 1))
    arr = np.column_stack(
        [so.reindex(periods).to_numpy(dtype=float), sr.reindex(periods).to_numpy(dtype=float)]
    )
    notes = notes_o + notes_r
    _sipri_check_values(obs, riv, arr, periods, var, notes)
    units = (
        "US$ m, constant 2022 prices and exchange rates"
        if measure == "constant"
        else "US$ m, current prices and exchange rates"
    )
    events = _bundled_events(obs, riv)
    derived = derived_signals(obs.ccode, riv.ccode, periods)
    attrs_ds = {
        "case": "custom",
        "title": f"{obs.name} (observer) and {riv.name} (rival), SIPRI, {s}-{e}",
        "source": SIPRI_CITATION,
        "observer": obs.name,
        "rival": riv.name,
        "start": s,
        "end": e,
        "description": (
            f"Custom dyad built by make_dyad from the SIPRI Military Expenditure Database "
            f"({'constant 2022' if measure == 'constant' else 'current'} US$). Events: those "
            f"of the bundled case events files acting states {obs.abb}/{riv.abb} "
            f"({len(events)} found)."
        ),
        "units_note": units,
        "prices": prices if var == "milex" else "nominal",
        "notes": "; ".join(notes),
    }
    return build_dataset(
        periods=periods,
        actor_names=(obs.name, riv.name),
        actor_codes=(obs.abb, riv.abb),
        series={
            var: (
                arr,
                {"units": units, "source": SIPRI_CITATION, "long_name": "military expenditure"},
            )
        },
        events=events,
        attrs=attrs_ds,
        derived=derived,
    )
