"""The reference pool's rule (secdilemma.reference): each window checked against the raw
tables by an independent reading of the rule, the rule's completeness, and the command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secdilemma import reference as ref
from secdilemma.data import pool, resolve_country
from secdilemma.data.sources import read_nmc, read_rivalries
from secdilemma.reference import (
    MIN_YEARS,
    UNIT_BREAK,
    WAR_YEARS,
    ReferenceDyad,
    case_pairs,
    eras,
    reference_dyads,
)


@pytest.fixture(scope="module")
def nmc() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_nmc()
    return (
        raw.pivot_table(index="year", columns="ccode", values="milex"),
        raw.pivot_table(index="year", columns="ccode", values="cinc"),
    )


@pytest.fixture(scope="module")
def spells() -> pd.DataFrame:
    return read_rivalries("tss")


def _war(y: int) -> bool:
    return any(a <= y <= b for a, b in WAR_YEARS)


def _spell_of(d: ReferenceDyad, spells: pd.DataFrame) -> pd.Series:
    """The one rivalry spell of the window's pair whose name and years contain it."""
    lo, hi = sorted((d.observer_code, d.rival_code))  # type: ignore[type-var]
    rows = spells.loc[
        (spells["ccode1"] == lo) & (spells["ccode2"] == hi) & (spells["name"] == d.note)
        & (spells["start"] <= d.start) & (spells["end"] >= d.end)
    ]  # fmt: skip
    assert len(rows) == 1, d
    return rows.iloc[0]


def test_eras_split_at_the_unit_break_and_drop_the_wars() -> None:
    assert eras(1816, 2016) == [(1816, 1913), (1919, 1938), (1946, 2016)]
    assert eras(1910, 1914) == [(1910, 1913)]
    assert eras(1914, 1918) == []
    assert eras(1913, 1920) == [(1913, 1913), (1919, 1920)]
    assert eras(1950, 1950) == [(1950, 1950)]


def test_runs_keep_every_long_enough_run() -> None:
    years = np.arange(1900, 1950)
    ok = np.ones(50, dtype=bool)
    ok[[20, 21, 40]] = False  # runs 1900-1919 (20), 1922-1939 (18), 1941-1949 (9)
    assert pool._runs(ok, years) == [(1900, 1919), (1922, 1939)]
    assert pool._runs(np.zeros(50, dtype=bool), years) == []
    ok = np.zeros(50, dtype=bool)
    ok[:MIN_YEARS] = True
    assert pool._runs(ok, years) == [(1900, 1900 + MIN_YEARS - 1)]
    ok[MIN_YEARS - 1] = False
    assert pool._runs(ok, years) == []


def test_each_rival_year_once_takes_the_longest_first_and_cuts_the_rest() -> None:
    def w(obs: int, riv: int, s: int, e: int) -> ReferenceDyad:
        return ReferenceDyad(f"S{obs}", f"S{riv}", s, e, "", obs, riv)

    cands = [
        (w(1, 9, 1950, 1969), 1),  # 20 years, rival 9
        (w(2, 9, 1940, 1999), 2),  # 60 years, rival 9: taken first
        (w(3, 8, 1950, 1969), 3),  # another rival: untouched
        (w(4, 9, 1930, 1959), 4),  # 30 years, rival 9: 1930-1939 left, too short
        (w(5, 9, 1920, 1959), 5),  # 40 years, rival 9: 1920-1939 left (20 years)
    ]
    got = pool._each_rival_year_once(cands)
    assert [(d.observer, d.start, d.end) for d in got] == [
        ("S5", 1920, 1939), ("S2", 1940, 1999), ("S3", 1950, 1969),
    ]  # fmt: skip


def test_case_pairs_are_the_bundled_dyads() -> None:
    codes = {frozenset({2, 365}), frozenset({2, 710}), frozenset({200, 255})}
    assert case_pairs() == codes


def test_every_window_follows_the_rule(
    nmc: tuple[pd.DataFrame, pd.DataFrame], spells: pd.DataFrame
) -> None:
    """Rules 1-3 and 5 of the module docstring, window by window, from the raw tables."""
    milex, cinc = nmc
    pool = reference_dyads()
    assert len(pool) > 50
    excluded = case_pairs()
    orientation: dict[int, tuple[int | None, int | None]] = {}
    for d in pool:
        years = np.arange(d.start, d.end + 1)
        assert d.end - d.start + 1 >= MIN_YEARS, d
        assert not any(_war(int(y)) for y in years), d
        assert d.end < UNIT_BREAK or d.start >= UNIT_BREAK, d
        assert d.codes not in excluded, d
        assert d.observer == resolve_country(d.observer_code or -1).abb
        assert d.rival == resolve_country(d.rival_code or -1).abb
        levels = milex.reindex(index=years, columns=[d.observer_code, d.rival_code])
        assert bool((levels > 0).all().all()), d
        spell = _spell_of(d, spells)
        span = cinc.loc[max(spell["start"], 1816) : min(spell["end"], 2016)]
        assert span[d.observer_code].mean() >= span[d.rival_code].mean(), d
        # one orientation per spell
        key = int(spell["id"])
        assert orientation.setdefault(key, (d.observer_code, d.rival_code)) == (
            d.observer_code,
            d.rival_code,
        ), d


def test_each_rival_year_at_most_once_and_nothing_left_out_without_reason(
    nmc: tuple[pd.DataFrame, pd.DataFrame], spells: pd.DataFrame
) -> None:
    """Rule 4, and completeness: every run of both states' NMC levels inside a spell's era
    is in the pool, except years its rival spends as the rival of another window; what is
    left of it has no run of MIN_YEARS years."""
    milex, cinc = nmc
    pool = reference_dyads()
    as_rival: dict[int | None, list[int]] = {}
    for d in pool:
        as_rival.setdefault(d.rival_code, []).extend(range(d.start, d.end + 1))
    for years in as_rival.values():
        assert len(years) == len(set(years))
    excluded = case_pairs()
    checked = 0
    for s in spells.to_dict("records"):
        a, b = int(s["ccode1"]), int(s["ccode2"])
        if frozenset({a, b}) in excluded or a not in milex or b not in milex:
            continue
        first, last = max(int(s["start"]), 1816), min(int(s["end"]), 2016)
        if last < first:
            continue
        span = cinc.loc[first:last, [a, b]].mean().fillna(0.0)
        obs, riv = (a, b) if span[a] >= span[b] else (b, a)
        own = {
            y
            for d in pool
            if d.note == s["name"] and (d.observer_code, d.rival_code) == (obs, riv)
            for y in range(d.start, d.end + 1)
        }
        elsewhere = set(as_rival.get(riv, [])) - own
        for y in range(first, last + 1):
            if _war(y) or not (float(milex.at[y, a]) > 0 and float(milex.at[y, b]) > 0):
                continue
            checked += 1
            assert y in own or y in elsewhere or _short_run(y, s, obs, riv, own, elsewhere,
                                                            milex), (s["name"], y)  # fmt: skip
    assert checked > 2000


def _short_run(
    y: int, s: dict, obs: int, riv: int, own: set[int], elsewhere: set[int], milex: pd.DataFrame
) -> bool:
    """Whether year ``y`` of spell ``s`` lies in a run of free usable years (same era, not
    taken) shorter than MIN_YEARS that does not touch the spell's own windows (a free year
    next to one would have been part of it)."""

    def free(t: int) -> bool:
        return (
            s["start"] <= t <= s["end"] and 1816 <= t <= 2016 and not _war(t)
            and (t < UNIT_BREAK) == (y < UNIT_BREAK)
            and float(milex.at[t, obs]) > 0 and float(milex.at[t, riv]) > 0
            and t not in own and t not in elsewhere
        )  # fmt: skip

    lo = hi = y
    while free(lo - 1):
        lo -= 1
    while free(hi + 1):
        hi += 1
    return hi - lo + 1 < MIN_YEARS and lo - 1 not in own and hi + 1 not in own


def test_pool_moves_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    pool = reference_dyads()
    assert pool == ref.REFERENCE_DYADS  # the public name, generated on first use
    sub = pool[:3]
    mv = ref.reference_moves(sub)
    assert list(mv.dyad.values) == [d.name for d in sub]
    for i, d in enumerate(sub):
        years = mv["year"].isel(dyad=i).values
        assert years[0] == d.start
        assert np.nanmax(years) == d.end
        # every change inside a window is observed (the rule's levels are all positive)
        assert np.isfinite(mv["dx"].isel(dyad=i).values[1 : d.end - d.start + 1]).all()
    assert ref._main(["--pool"]) == 0
    out = capsys.readouterr().out
    assert f"{len(pool)} windows" in out
    assert "IND-PAK 1948-2016" in out
