"""The reference pool: rivalry windows generated from the strategic-rivalry list and NMC.

The pooled reference (:mod:`secdilemma.reference`) is estimated over these windows. This
module only selects them and assembles their moves and signals; it reads the data floor's
tables and nothing above it.

**The pool** is generated from the strategic-rivalry list of Thompson et al. (2021,
*Strategic Rivalries in World Politics*, 1494-2020; :func:`secdilemma.data.sources.
read_rivalries` ``("tss")``) and COW NMC military expenditure (``milex``), by this rule:

1. **Years.** Each rivalry spell's own years (``start`` to ``end``), within NMC's coverage
   (1816-2016), cut into eras of one NMC currency unit and no world war: NMC reports pounds
   sterling to 1913 and US dollars from 1914 (:data:`UNIT_BREAK`), and the years of the
   world wars (:data:`WAR_YEARS`) are dropped, since mobilisation spending is not a reaction
   function. The eras are 1816-1913, 1919-1938 and 1946-2016.
2. **Windows.** Inside each era, every run of at least :data:`MIN_YEARS` consecutive years in
   which both states have a positive NMC ``milex`` is a window (a year without both levels
   breaks the run: a change needs two consecutive levels).
3. **Orientation, one per rivalry spell.** The *rival* (whose changes the model explains) is
   the weaker state, the one with the lower mean NMC ``cinc`` over the spell's years in NMC;
   the stronger is the *observer*. A weaker state's spending is the more plausibly driven by
   this one rivalry, while a great power's answers many rivals at once, and the model reads
   the rival's changes as a reaction to one observer. One orientation only, because the
   reverse reads the same two series again (with the roles swapped) and would count each
   rivalry twice.
4. **Each rival-year once.** A state's changes enter the pool at most once per year as a
   rival's: windows are taken longest first (ties in the list's order), and a window is cut
   where its rival is already the rival of a window taken before; what remains is kept where
   it still has a run of :data:`MIN_YEARS` years.
5. **The bundled cases are left out.** The state pairs of the bundled cases
   (:data:`secdilemma.data.catalog.CASES`: UKG-GMY, USA-RUS, USA-CHN) are not in the pool,
   in any years, so that a case's prior (``use_reference``) never counts its own data; for
   any other dyad whose pair is in the pool, :func:`reference_for` gives the pool without it
   (leave-one-out).

:func:`reference_dyads` applies the rule; ``python -m secdilemma.reference --pool`` prints the
list. The windows are the rule's, not claims about when a rivalry began or ended.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from secdilemma.data.catalog import CASES
from secdilemma.data.countries import resolve_country
from secdilemma.data.dyad import make_dyad
from secdilemma.data.moves import to_moves
from secdilemma.data.schema import DERIVED_CHANNELS
from secdilemma.data.sources import read_nmc, read_rivalries
from secdilemma.errors import DataError

__all__ = [
    "MIN_YEARS",
    "POOL_CHANNELS",
    "RIVALRY_LIST",
    "UNIT_BREAK",
    "WAR_YEARS",
    "ReferenceDyad",
    "case_pairs",
    "eras",
    "reference_dyads",
    "reference_moves",
]

#: The rivalry list the pool is drawn from (:func:`secdilemma.data.sources.read_rivalries`).
RIVALRY_LIST: Literal["tss", "td"] = "tss"
#: Fewest consecutive years with both states' NMC ``milex`` that make a window.
MIN_YEARS = 15
#: NMC's ``milex`` is in pounds sterling before this year and in US dollars from it.
UNIT_BREAK = 1914
#: Years left out of every window (the world wars).
WAR_YEARS: tuple[tuple[int, int], ...] = ((1914, 1918), (1939, 1945))
#: The signal channels of the pool: the rival's events derived from MID and ATOP for every
#: pair (:data:`secdilemma.data.schema.DERIVED_CHANNELS`).
POOL_CHANNELS: tuple[str, ...] = DERIVED_CHANNELS


@dataclass(frozen=True)
class ReferenceDyad:
    """One rivalry window of the reference pool (COW abbreviations and codes, inclusive
    years; ``note`` the rivalry's name in the list)."""

    observer: str
    rival: str
    start: int
    end: int
    note: str = ""
    observer_code: int | None = None
    rival_code: int | None = None

    @property
    def name(self) -> str:
        """``"OBS-RIV start-end"``, the window's name in the pool's ``dyad`` coordinate."""
        return f"{self.observer}-{self.rival} {self.start}-{self.end}"

    @property
    def codes(self) -> frozenset[int]:
        """The unordered pair of COW codes."""
        obs = self.observer_code or resolve_country(self.observer).ccode
        riv = self.rival_code or resolve_country(self.rival).ccode
        return frozenset({obs, riv})


# -- the pool -----------------------------------------------------------------------------------
def eras(first: int, last: int) -> list[tuple[int, int]]:
    """The years ``first..last`` cut into eras of one NMC currency unit (split before
    :data:`UNIT_BREAK`) without the :data:`WAR_YEARS`, as inclusive ``(start, end)``.

    Examples
    --------
    >>> eras(1900, 1950)
    [(1900, 1913), (1919, 1938), (1946, 1950)]
    """
    out: list[tuple[int, int]] = []
    for y in range(first, last + 1):
        if any(a <= y <= b for a, b in WAR_YEARS):
            continue
        if out and y == out[-1][1] + 1 and y != UNIT_BREAK:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


def _runs(ok: npt.NDArray[np.bool_], years: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """``(first, last)`` year of every run of consecutive true ``ok`` of at least
    :data:`MIN_YEARS` (``years`` consecutive)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    return [
        (int(years[a]), int(years[b - 1]))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= MIN_YEARS
    ]


def case_pairs() -> frozenset[frozenset[int]]:
    """The COW code pairs of the bundled cases' observer-rival dyads (an observer that is an
    aggregate of states, such as NATO Europe, is no pair)."""
    pairs: set[frozenset[int]] = set()
    for case in CASES.values():
        rival = resolve_country(case.rival).ccode
        for observer in case.observers.values():
            try:
                pairs.add(frozenset({resolve_country(observer).ccode, rival}))
            except DataError:
                continue
    return frozenset(pairs)


def _candidates(
    rivalries: pd.DataFrame, milex: pd.DataFrame, cinc: pd.DataFrame
) -> Iterator[tuple[ReferenceDyad, int]]:
    """Rules 1-3 and 5 of the module docstring: every window of every rivalry spell, oriented,
    with the spell's id."""
    excluded = case_pairs()
    y0, y1 = int(milex.index.min()), int(milex.index.max())
    for row in rivalries.to_dict("records"):
        a, b = int(row["ccode1"]), int(row["ccode2"])
        first, last = max(int(row["start"]), y0), min(int(row["end"]), y1)
        if frozenset({a, b}) in excluded or a not in milex or b not in milex or last < first:
            continue
        strength = cinc.loc[first:last, [a, b]].mean().fillna(0.0)
        obs, riv = (a, b) if strength[a] >= strength[b] else (b, a)
        names = resolve_country(obs).abb, resolve_country(riv).abb
        for e0, e1 in eras(first, last):
            years = np.arange(e0, e1 + 1)
            levels = milex.reindex(index=years, columns=[obs, riv])
            for s, e in _runs((levels > 0).all(axis=1).to_numpy(), years):
                yield ReferenceDyad(*names, s, e, str(row["name"]), obs, riv), int(row["id"])


def _each_rival_year_once(
    candidates: list[tuple[ReferenceDyad, int]],
) -> tuple[ReferenceDyad, ...]:
    """Rule 4: longest first (ties in list order), each window cut where its rival is
    already a rival, the remaining runs of :data:`MIN_YEARS` kept; sorted by start year."""
    order = sorted(candidates, key=lambda c: (c[0].start - c[0].end, c[1], c[0].start))
    taken: dict[int | None, set[int]] = {}
    out: list[ReferenceDyad] = []
    for d, _ in order:
        years = np.arange(d.start, d.end + 1)
        used = taken.setdefault(d.rival_code, set())
        for s, e in _runs(np.array([y not in used for y in years]), years):
            out.append(replace(d, start=s, end=e))
            used.update(range(s, e + 1))
    return tuple(sorted(out, key=lambda d: (d.start, d.observer, d.rival)))


@functools.cache
def reference_dyads() -> tuple[ReferenceDyad, ...]:
    """The reference pool: the windows the rule of the module docstring selects from
    :data:`RIVALRY_LIST` and NMC (read once per process)."""
    nmc = read_nmc()
    milex = nmc.pivot_table(index="year", columns="ccode", values="milex")
    cinc = nmc.pivot_table(index="year", columns="ccode", values="cinc")
    rivalries = read_rivalries(RIVALRY_LIST)
    return _each_rival_year_once(list(_candidates(rivalries, milex, cinc)))


#: The pool (:func:`reference_dyads`), read from the data files on first use.
REFERENCE_DYADS: tuple[ReferenceDyad, ...]


def __getattr__(name: str) -> Any:
    # REFERENCE_DYADS is generated from the data files: read on first use, not on import
    if name == "REFERENCE_DYADS":
        return reference_dyads()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reference_moves(
    dyads: tuple[ReferenceDyad, ...] | None = None, *, signals: bool = True
) -> xr.Dataset:
    """The pooled moves (``dx``, ``u`` over ``dyad``, ``period``) of the pool's windows
    (default :func:`reference_dyads`) and, with ``signals``, the rival's events on
    :data:`POOL_CHANNELS` (``signals`` over ``dyad``, ``period``, ``signal``: 1 when the
    rival had at least one such event that year, 0 when none, NaN outside the tables'
    coverage).

    Periods are aligned by position (0 = first year of each window) and padded with NaN,
    so windows of different lengths share one array; the years are kept in ``year``.
    """
    dyads = reference_dyads() if dyads is None else dyads
    parts = []
    for d in dyads:
        ds = make_dyad(d.observer_code or d.observer, d.rival_code or d.rival, source="nmc",
                       start=d.start, end=d.end, variable="milex")  # fmt: skip
        mv = to_moves(ds, variable="milex")
        n = mv.sizes["period"]
        part = xr.Dataset(
            {
                "dx": ("period", mv["dx"].values),
                "u": ("period", mv["u"].values),
                "year": ("period", mv["period"].values.astype(float)),
            },
            coords={"period": np.arange(n)},
        )
        if signals:
            counts = ds["signals"].sel(actor="rival", signal=list(POOL_CHANNELS))
            counts = counts.sel(period=mv["period"].values).transpose("period", "signal")
            events = np.where(np.isnan(counts.values), np.nan, (counts.values > 0) * 1.0)
            part["signals"] = (("period", "signal"), events)
            part = part.assign_coords(signal=list(POOL_CHANNELS))
        parts.append(part)
    names = [d.name for d in dyads]
    return xr.concat(parts, dim="dyad", join="outer").assign_coords(dyad=names)
