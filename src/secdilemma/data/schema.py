"""The data floor's shared vocabulary: signal channels, table columns, variable metadata.

Every other module of :mod:`secdilemma.data` imports its names from here; this module
imports nothing from the data floor (it is the bottom of it) and reads no file.

- :data:`SIGNAL_CHANNELS` (the ``signal`` coordinate) = :data:`CURATED_CHANNELS` (the
  hand-sourced events files' vocabulary) + :data:`DERIVED_CHANNELS` (counted from the public
  MID and ATOP tables for every pair); :data:`OVERLAPPING_CHANNELS`; :data:`ROLES`,
  :data:`EVENT_COLUMNS`: the events vocabulary.
- :class:`Column`: how a CSV reader reads and checks one column; :data:`EVENT_FILE_COLUMNS`
  and :data:`CASE_TABLE_COLUMNS` define the two curated file formats.
- :data:`MIN_YEAR`, :data:`MAX_YEAR`: the sane range of a calendar year in any table.
- :data:`VARIABLE_META`: per-(case, variable) attributes carried into the case Datasets.

Examples
--------
>>> from secdilemma.data.schema import SIGNAL_CHANNELS, Column
>>> SIGNAL_CHANNELS[0]
'arms_control_signed'
>>> Column("year", "year").kind
'year'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CASE_COLUMNS",
    "CASE_TABLE_COLUMNS",
    "CURATED_CHANNELS",
    "DERIVED_CHANNELS",
    "DERIVED_SIGNAL_COLUMNS",
    "DERIVED_SIGNAL_FILE_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_FILE_COLUMNS",
    "MAX_YEAR",
    "MIN_YEAR",
    "OVERLAPPING_CHANNELS",
    "POSTURE_CHANNELS",
    "ROLES",
    "SIGNAL_CHANNELS",
    "VARIABLE_META",
    "Column",
    "Kind",
]

#: The hand-sourced channels: the vocabulary of the curated events files
#: (``data/cases/<case>/events.csv``, ``data/raw/compiled/case_events.csv``).
CURATED_CHANNELS: tuple[str, ...] = (
    "arms_control_signed",
    "arms_control_refused",
    "arms_control_withdrawn",
    "unilateral_restraint",
    "alliance_expansion",
    "use_of_force",
    "force_posture_law",
    "crisis_initiation",
)

#: The curated channels that record the rival's own force posture (laws and programmes that
#: fix what forces it builds), which a spec may read as *posture channels* (``[signals]
#: posture``): their greed loading grows with distinguishability ``delta``.
POSTURE_CHANNELS: tuple[str, ...] = ("force_posture_law",)

#: The channels derived from the public tables for every pair and year (definitions in
#: :mod:`secdilemma.data.mid`, :mod:`secdilemma.data.alliances` and
#: ``data/raw/peacesciencer/README.md``); NaN where the tables do not cover the year.
DERIVED_CHANNELS: tuple[str, ...] = (
    "mid_threat_display",
    "mid_use_of_force",
    "mid_force_in_reply",
    "alliance_new_defense_pact",
)

#: The fixed signal-channel vocabulary (the ``signal`` coordinate, in this order): the
#: curated channels, then the derived ones.
SIGNAL_CHANNELS: tuple[str, ...] = CURATED_CHANNELS + DERIVED_CHANNELS

#: Curated channel -> the derived channels that can record the same real event (a crisis the
#: rival starts may be a MID at any hostility level; NATO's founding is both an
#: ``alliance_expansion`` and new defence pacts of each member). The two vocabularies are kept
#: apart (neither replaces the other), so a model that reads a curated channel and one of its
#: derived channels may see one event twice: read at most one side of each entry.
OVERLAPPING_CHANNELS: dict[str, tuple[str, ...]] = {
    "crisis_initiation": ("mid_threat_display", "mid_use_of_force"),
    "use_of_force": ("mid_use_of_force", "mid_force_in_reply"),
    "alliance_expansion": ("alliance_new_defense_pact",),
}

#: Allowed roles of an event's actor relative to the dyad.
ROLES: tuple[str, ...] = ("observer", "rival", "both")

#: Column order of a curated events file.
EVENT_COLUMNS: tuple[str, ...] = ("date", "year", "actor", "role", "channel", "label", "source")

#: Column order of a curated case table (long: one row per year, actor and variable).
CASE_COLUMNS: tuple[str, ...] = ("year", "actor_code", "actor_name", "variable", "value", "units")

#: The sane range of a calendar year in any table (inclusive); a year outside it is an
#: error, so that a typo such as ``10000000000`` never reaches ``range(first, last)``.
MIN_YEAR = 1000
MAX_YEAR = 3000

Kind = Literal["int", "float", "str", "date", "url", "year"]


@dataclass(frozen=True)
class Column:
    """How to read and check one column of a CSV table.

    Parameters
    ----------
    name
        Header name, matched exactly.
    kind
        ``"int"`` (within int64), ``"year"`` (an integer in
        :data:`MIN_YEAR`..:data:`MAX_YEAR`), ``"float"`` (finite), ``"str"``, ``"date"``
        (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) or ``"url"`` (must start with ``http``).
    missing
        Tokens that mean "missing" (become NaN for numbers, ``None`` otherwise).
    optional_value
        Whether an empty cell is allowed (becomes NaN / ``None``).
    nonnegative
        For numbers: whether negative values are an error.
    required
        Whether the column must be present in the header.
    """

    name: str
    kind: Kind = "str"
    missing: tuple[str, ...] = ()
    optional_value: bool = False
    nonnegative: bool = False
    required: bool = True


#: The columns of a curated events file (``data/cases/<case>/events.csv``).
EVENT_FILE_COLUMNS: tuple[Column, ...] = (
    Column("date", "date"),
    Column("year", "year"),
    Column("actor"),
    Column("role"),
    Column("channel"),
    Column("label"),
    Column("source", "url"),
)

#: The columns of a curated case table (``data/cases/<case>/<case>.csv``).
CASE_TABLE_COLUMNS: tuple[Column, ...] = (
    Column("year", "year"),
    Column("actor_code"),
    Column("actor_name"),
    Column("variable"),
    Column("value", "float", optional_value=True),
    Column("units"),
)

#: Column order of a case's derived-signals file (``data/cases/<case>/derived_signals.csv``,
#: written by ``python -m secdilemma.data.derive``): one row per observer option, year, actor
#: and derived channel; ``value`` empty where the public tables do not cover the year.
DERIVED_SIGNAL_COLUMNS: tuple[str, ...] = (
    "observer",
    "year",
    "actor",
    "actor_code",
    "channel",
    "value",
)

#: The columns of a case's derived-signals file.
DERIVED_SIGNAL_FILE_COLUMNS: tuple[Column, ...] = (
    Column("observer"),
    Column("year", "year"),
    Column("actor"),
    Column("actor_code"),
    Column("channel"),
    Column("value", "float", optional_value=True, nonnegative=True),
)

_NMC_SRC = "COW NMC v6.0 (abridged)"
_SIPRI_SRC = "SIPRI Military Expenditure Database, April 2024"
_OWID_SRC = "FAS estimates via Our World in Data (nuclear-warhead-stockpiles.csv)"

#: Per-(case, variable) attributes other than units (carried into the Dataset).
VARIABLE_META: dict[tuple[str, str], dict[str, str]] = {
    ("anglo_german_naval", "milex"): {"long_name": "military expenditure", "source": _NMC_SRC},
    ("anglo_german_naval", "milper"): {"long_name": "military personnel", "source": _NMC_SRC},
    ("anglo_german_naval", "naval_expenditure"): {
        "long_name": "expenditure on new naval construction (financial years from April)",
        "source": "Hansard HC Deb 13 Mar 1911 vol 22 cc2016-7W (McKenna), via the compiled "
        "naval-race table, measure 'new_construction_expenditure'",
        "measure": "new_construction_expenditure",
    },
    ("anglo_german_naval", "naval_expenditure_nock"): {
        "long_name": "amount spent on new naval construction, per Nock (1922)",
        "source": "A.J. Nock, The Myth of a Guilty Nation (1922), p.24, via the compiled "
        "naval-race table, measure 'new_construction_expenditure_nock'",
        "measure": "new_construction_expenditure_nock",
    },
    ("anglo_german_naval", "dreadnoughts_new"): {
        "long_name": "dreadnought battleships and battlecruisers entering service in the year",
        "source": "compiled dreadnoughts_uk_germany_by_year_1906_1914.csv",
    },
    ("anglo_german_naval", "dreadnoughts_cumulative"): {
        "long_name": "cumulative dreadnought battleships and battlecruisers (losses not "
        "subtracted)",
        "source": "compiled dreadnoughts_uk_germany_by_year_1906_1914.csv",
    },
    ("us_ussr", "milex"): {"long_name": "military expenditure", "source": _NMC_SRC},
    ("us_ussr", "milper"): {"long_name": "military personnel", "source": _NMC_SRC},
    ("us_ussr", "warheads"): {"long_name": "nuclear warhead stockpile", "source": _OWID_SRC},
    ("us_china", "milex"): {"long_name": "military expenditure", "source": _SIPRI_SRC},
    ("us_china", "milex_nmc"): {"long_name": "military expenditure (NMC)", "source": _NMC_SRC},
    ("us_china", "warheads"): {"long_name": "nuclear warhead stockpile", "source": _OWID_SRC},
    ("russia_nato", "milex"): {"long_name": "military expenditure", "source": _SIPRI_SRC},
}
