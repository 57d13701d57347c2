"""The curated cases' catalogue: what each case is, its coverage, observers and variables.

Metadata only: this module reads no file. :mod:`secdilemma.data.cases` loads the cases'
tables; :mod:`secdilemma.data.events` reads their events files.

Examples
--------
>>> from secdilemma.data.catalog import CASES, case_spec
>>> list(CASES)
['anglo_german_naval', 'us_ussr', 'us_china', 'russia_nato']
>>> case_spec("us_ussr").rival
'RUS'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from secdilemma._paths import cases_dir
from secdilemma.errors import DataError

__all__ = ["CASES", "CaseSpec", "case_info", "case_spec", "list_cases"]


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
            "milex: thousands of constant 1913 US$ (NMC's 1898-1913 pounds deflated by the "
            "Bank of England UK CPI and converted at the gold parity US$4.8665/£; 1914, "
            "already in US$ in NMC, deflated by the BLS CPI-U). Naval series: constant 1913 £ "
            "(UK CPI). "
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
        units_note=(
            "milex: thousands of constant 1913 US$ (NMC current US$ deflated by the BLS "
            "CPI-U); milper: thousands; warheads: count."
        ),
        variables=("milex", "milper", "warheads"),
    ),
    "us_china": CaseSpec(
        name="us_china",
        title="US-China, 1990-2023 (observer: United States; rival: China)",
        description=(
            "The United States watching China's military build-up: SIPRI military expenditure "
            "(constant 2022 US$), COW NMC military expenditure to 2016 for comparison "
            "(milex_nmc, constant 1913 US$: NMC deflated by the BLS CPI-U), nuclear warhead "
            "stockpiles and dated events."
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


def list_cases() -> list[str]:
    """Names of the curated cases.

    Examples
    --------
    >>> "us_china" in list_cases()
    True
    """
    return list(CASES)


def case_spec(name: str) -> CaseSpec:
    """The :class:`CaseSpec` of a curated case.

    Raises
    ------
    DataError
        Unknown case name; the message lists the cases and the nearest names.

    Examples
    --------
    >>> try:
    ...     case_spec("us_chna")
    ... except DataError as exc:
    ...     print(str(exc).split("?")[0])
    argument 'name': unknown case 'us_chna'. Did you mean 'us_china', 'russia_nato'
    """
    if not isinstance(name, str) or name not in CASES:
        query = str(name).strip().lower()
        close = difflib.get_close_matches(query, list(CASES), n=3, cutoff=0.5)
        close += [c for c in CASES if query and query in c and c not in close]
        raise DataError(
            f"argument 'name': unknown case {name!r}."
            + (f" Did you mean {', '.join(map(repr, close))}?" if close else "")
            + f" Cases are {list(CASES)}."
        )
    return CASES[name]


def case_info(name: str) -> dict[str, Any]:
    """Title, description, coverage, observer options and variables of a case.

    Examples
    --------
    >>> case_info("russia_nato")["observers"]
    ['usa', 'nato_europe']
    """
    spec = case_spec(name)
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
