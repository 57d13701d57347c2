"""The derived signal channels of a pair: MID and ATOP counts, masked by coverage and membership.

:func:`derived_signals` returns the :data:`~secdilemma.data.schema.DERIVED_CHANNELS` of an
observer-rival pair over a range of years, as counts (float64) with NaN wherever the public
tables say nothing:

- the MID channels (:mod:`secdilemma.data.mid`) are NaN outside 1816-2010 and in any year in
  which either state is not a member of the COW state system (a dispute needs two states);
- the alliance channel (:mod:`secdilemma.data.alliances`) is NaN outside 1816-2018 and in
  any year in which *that actor* is not a member (its row does not depend on the other
  state, except that the other state is never counted as a new partner).

Both rows are computed the same way. The rival's row is what the observer watches; the
observer's row is an input on the observer's side (its own new defence pacts threaten the
rival, like its own buildup) and is carried so that a model can use it.

Membership comes from COW State System Membership v2016; a spell that runs to the file's
last year (2016) is taken to continue through 2018, the last year any derived channel covers
(no state left the system in 2017-2018).

Examples
--------
>>> from secdilemma.data.channels import derived_signals
>>> s = derived_signals(750, 770, [1946, 1965, 2011, 2019])  # India, Pakistan
>>> s[:, 1, :].tolist()  # Pakistan's row: threat/display, force, force in reply, new pacts
[[nan, nan, nan, nan], [0.0, 1.0, 0.0, 0.0], [nan, nan, nan, 0.0], [nan, nan, nan, nan]]
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import xarray as xr

from secdilemma.data.alliances import ATOP_CITATION, ATOP_LAST_YEAR, alliance_counts
from secdilemma.data.mid import MID_CHANNELS, MID_CITATION, mid_counts
from secdilemma.data.schema import CURATED_CHANNELS, DERIVED_CHANNELS
from secdilemma.data.sources import read_cow_states
from secdilemma.errors import DataError

__all__ = [
    "DERIVED_CHANNEL_META",
    "DERIVED_SOURCES",
    "derived_signals",
    "member_years",
    "signals_variable",
]

#: What each derived channel counts (carried into the Dataset's ``signals`` attrs).
DERIVED_CHANNEL_META: dict[str, str] = {
    "mid_threat_display": (
        "disputes the actor started against the other (onset year; actor on side A; both "
        "originators) with the actor's hostility level 2-3 (threat or display of force)"
    ),
    "mid_use_of_force": (
        "disputes the actor started against the other (as above) with the actor's hostility "
        "level 4-5 (use of force or war)"
    ),
    "mid_force_in_reply": (
        "disputes the other started against the actor (onset year; actor on side B; both "
        "originators) in which the actor's hostility level is 4-5"
    ),
    "alliance_new_defense_pact": (
        "third states with which the actor has a defence pledge this year and had none the "
        "year before (the other side of the dyad not counted)"
    ),
}

#: The tables the derived channels come from.
DERIVED_SOURCES = f"{MID_CITATION}; {ATOP_CITATION}"


@functools.lru_cache(maxsize=1)
def _spells() -> tuple[tuple[int, int, int], ...]:
    states = read_cow_states()
    last = int(states["endyear"].max())
    return tuple(
        (int(c), int(s), ATOP_LAST_YEAR if int(e) == last else int(e))
        for c, s, e in states[["ccode", "styear", "endyear"]].itertuples(index=False)
    )


def member_years(ccode: int) -> frozenset[int]:
    """The years in which a state is a member of the COW state system.

    A spell ending in the membership file's last year (2016) runs through 2018.

    Examples
    --------
    >>> ys = member_years(531)  # Eritrea
    >>> min(ys), max(ys)
    (1993, 2018)
    >>> 1950 in member_years(255)  # Germany (West Germany is 260)
    False
    """
    return frozenset(y for c, s, e in _spells() if c == ccode for y in range(s, e + 1))


def derived_signals(
    observer: int | None,
    rival: int,
    years: Sequence[int],
    *,
    observer_members: Mapping[int, Collection[int]] | None = None,
) -> np.ndarray:
    """The derived channels of an observer-rival pair over ``years``.

    Parameters
    ----------
    observer
        The observer's COW code; ``None`` for an aggregate observer (several states, e.g.
        NATO's European members), whose own rows and the MID rows are then NaN.
    rival
        The rival's COW code.
    years
        The years wanted.
    observer_members
        For an aggregate observer: year -> the member states' codes, which the rival's
        alliance row does not count as third states.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(years), 2, 4)``: year, actor (observer, rival), channel
        (:data:`~secdilemma.data.schema.DERIVED_CHANNELS`), float64 counts, NaN where not
        covered.
    """
    years_list = [int(y) for y in years]
    out = np.full((len(years_list), 2, len(DERIVED_CHANNELS)), np.nan)
    k_mid = [DERIVED_CHANNELS.index(c) for c in MID_CHANNELS]
    k_all = DERIVED_CHANNELS.index("alliance_new_defense_pact")
    riv_years = member_years(rival)
    riv_in = np.asarray([y in riv_years for y in years_list], dtype=bool)
    if observer is None:
        exclude: Collection[int] | Mapping[int, Collection[int]] = observer_members or {}
        out[riv_in, 1, k_all] = alliance_counts(rival, years_list, exclude=exclude)[riv_in]
        return out
    obs_years = member_years(observer)
    obs_in = np.asarray([y in obs_years for y in years_list], dtype=bool)
    both = obs_in & riv_in
    mid = mid_counts(observer, rival, years_list)
    for j, k in enumerate(k_mid):
        out[both, :, k] = mid[both, :, j]
    out[obs_in, 0, k_all] = alliance_counts(observer, years_list, exclude={rival})[obs_in]
    out[riv_in, 1, k_all] = alliance_counts(rival, years_list, exclude={observer})[riv_in]
    return out


def signals_variable(curated: np.ndarray, derived: np.ndarray | None) -> xr.Variable:
    """The ``signals`` variable: curated counts, then the derived channels.

    Parameters
    ----------
    curated
        ``(period, 2, len(CURATED_CHANNELS))`` event counts of the curated events.
    derived
        ``(period, 2, len(DERIVED_CHANNELS))`` from :func:`derived_signals`, or ``None``
        (the derived channels are then NaN: not observed).

    Returns
    -------
    xarray.Variable
        ``(period, actor, signal)`` float64 over :data:`SIGNAL_CHANNELS`, with attrs naming
        the two vocabularies, the derived channels' definitions and sources.

    Examples
    --------
    >>> v = signals_variable(np.zeros((1, 2, 8)), None)
    >>> v.shape, bool(np.isnan(v.values[0, 0, -1]))
    ((1, 2, 12), True)
    """
    cur = np.asarray(curated, dtype=np.float64)
    n = cur.shape[0]
    if cur.shape != (n, 2, len(CURATED_CHANNELS)):
        raise DataError(
            f"curated signal counts have shape {cur.shape}, expected ({n}, 2, "
            f"{len(CURATED_CHANNELS)})."
        )
    der = np.full((n, 2, len(DERIVED_CHANNELS)), np.nan) if derived is None else derived
    if der.shape != (n, 2, len(DERIVED_CHANNELS)):
        raise DataError(
            f"derived signals have shape {der.shape}, expected ({n}, 2, {len(DERIVED_CHANNELS)})."
        )
    attrs = {
        "units": "count",
        "long_name": "number of events of each channel by each actor",
        "curated_channels": " ".join(CURATED_CHANNELS),
        "derived_channels": " ".join(DERIVED_CHANNELS),
        "derived_source": DERIVED_SOURCES if derived is not None else "not computed (NaN)",
        "derived_definitions": "; ".join(f"{k}: {v}" for k, v in DERIVED_CHANNEL_META.items()),
        "merge_rule": (
            "curated channels count the hand-sourced events; derived channels count the public "
            "tables; neither replaces the other; NaN = not covered (never 0)"
        ),
    }
    values = np.concatenate([cur, np.asarray(der, dtype=np.float64)], axis=2)
    return xr.Variable(("period", "actor", "signal"), values, attrs=attrs)
