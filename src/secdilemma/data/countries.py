"""Country name and code resolution (COW codes, COW abbreviations, COW and SIPRI names).

Examples
--------
>>> from secdilemma.data.countries import resolve_country
>>> resolve_country("Soviet Union")
Country(ccode=365, abb='RUS', name='Russia')
>>> resolve_country(200).abb
'UKG'
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

from secdilemma.data.sources import read_cow_codes, read_cow_states
from secdilemma.errors import DataError

__all__ = [
    "ALIASES",
    "Country",
    "SipriSpan",
    "country_by_code",
    "normalize_name",
    "resolve_country",
    "sipri_spans",
]


@dataclass(frozen=True)
class Country:
    """A state in the COW system.

    Attributes
    ----------
    ccode
        COW numeric code.
    abb
        COW abbreviation (e.g. ``"UKG"``).
    name
        COW state name (State System Membership v2016 where listed).
    """

    ccode: int
    abb: str
    name: str


@dataclass(frozen=True)
class SipriSpan:
    """A SIPRI country row used for a COW state over a span of years (inclusive, open if None)."""

    sipri_name: str
    first: int | None = None
    last: int | None = None
    note: str = ""


#: Extra names (normalised, see :func:`normalize_name`) mapped to COW codes: common names
#: and the SIPRI spellings that differ from COW's.
ALIASES: dict[str, int] = {
    "us": 2,
    "usa": 2,
    "united states": 2,
    "united states of america": 2,
    "america": 2,
    "uk": 200,
    "britain": 200,
    "great britain": 200,
    "united kingdom of great britain and northern ireland": 200,
    "ussr": 365,
    "soviet union": 365,
    "russian federation": 365,
    "prc": 710,
    "peoples republic of china": 710,
    "west germany": 260,
    "frg": 260,
    "federal republic of germany": 260,
    "east germany": 265,
    "gdr": 265,
    "german dr": 265,
    "czech republic": 316,
    "macedonia": 343,
    "north macedonia": 343,
    "turkiye": 640,
    "korea south": 732,
    "republic of korea": 732,
    "korea north": 731,
    "dprk": 731,
    "viet nam": 816,
    "cote divoire": 437,
    "gambia the": 420,
    "eswatini": 572,
    "congo dr": 490,
    "dr congo": 490,
    "congo republic": 484,
    "republic of the congo": 484,
    "kyrgyz republic": 703,
    "timor leste": 860,
    "yemen north": 678,
    "north yemen": 678,
    "burma": 775,
    "serbia": 345,
    "holland": 210,
}

#: SIPRI rows to use for COW states whose SIPRI coverage is split or renamed.
_SIPRI_SPECIAL: dict[int, tuple[SipriSpan, ...]] = {
    365: (
        SipriSpan("USSR", None, 1991, "SIPRI 'USSR' (data 1988-1990 only) up to 1991"),
        SipriSpan("Russia", 1992, None, "SIPRI 'Russia' from 1992"),
    ),
    255: (SipriSpan("Germany", None, None, "SIPRI 'Germany' is West Germany before 1991"),),
    260: (SipriSpan("Germany", None, 1990, "SIPRI 'Germany' up to 1990 (West Germany)"),),
    345: (
        SipriSpan("Yugoslavia", None, 1991, "SIPRI 'Yugoslavia' up to 1991"),
        SipriSpan("Serbia", 1992, None, "SIPRI 'Serbia' from 1992"),
    ),
}

#: SIPRI rows that are not states.
_SIPRI_NOT_STATES = frozenset({"European Union"})


def normalize_name(name: str) -> str:
    """Lower-case, strip accents and punctuation, ``&`` → ``and``, drop a leading "the".

    Examples
    --------
    >>> normalize_name("  Türkiye ")
    'turkiye'
    >>> normalize_name("Korea, South")
    'korea south'
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text.replace("'", ""))
    text = re.sub(r"\s+", " ", text).strip()
    if text.startswith("the "):
        text = text[4:]
    return text


@functools.lru_cache(maxsize=1)
def _index() -> tuple[dict[int, Country], dict[str, int], dict[str, int]]:
    codes = read_cow_codes()
    states = read_cow_states()
    state_names: dict[int, str] = {}
    for ccode, nme in zip(states["ccode"], states["statenme"], strict=True):
        state_names.setdefault(int(ccode), str(nme))
    by_code: dict[int, Country] = {}
    by_abb: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for abb, ccode, nme in zip(codes["StateAbb"], codes["CCode"], codes["StateNme"], strict=True):
        c = int(ccode)
        if c not in by_code:
            by_code[c] = Country(c, str(abb), state_names.get(c, str(nme)))
        by_abb.setdefault(str(abb).upper(), c)
        by_name.setdefault(normalize_name(str(nme)), c)
    for c, nme in state_names.items():
        by_name.setdefault(normalize_name(nme), c)
    for alias, c in ALIASES.items():
        by_name.setdefault(alias, c)
    return by_code, by_abb, by_name


def country_by_code(ccode: int) -> Country:
    """The :class:`Country` for a COW numeric code.

    Examples
    --------
    >>> country_by_code(710).name
    'China'
    """
    by_code, _, _ = _index()
    if ccode not in by_code:
        raise DataError(f"COW code {ccode} is not in the COW country-code list.")
    return by_code[ccode]


def resolve_country(query: int | str, *, argument: str = "country") -> Country:
    """Resolve a COW code, COW abbreviation or name (COW or SIPRI spelling) to a state.

    Parameters
    ----------
    query
        ``2``, ``"2"``, ``"USA"``, ``"United States of America"``, ``"Soviet Union"``…
        Names are matched case- and accent-insensitively. COW abbreviations are COW's
        own (``"AUS"`` is Austria, ``"AUL"`` Australia).
    argument
        Argument name used in error messages.

    Returns
    -------
    Country

    Raises
    ------
    DataError
        Unknown code or name; the message suggests close matches.

    Examples
    --------
    >>> resolve_country("Germany").ccode
    255
    >>> resolve_country("united states").abb
    'USA'
    """
    by_code, by_abb, by_name = _index()
    if isinstance(query, bool):
        raise DataError(f"argument {argument!r}: {query!r} is not a country.")
    if isinstance(query, int):
        if query in by_code:
            return by_code[query]
        raise DataError(
            f"argument {argument!r}: COW code {query} is not in the COW country-code list "
            f"(data/raw/cow_country_codes/COW-country-codes.csv). Check the code."
        )
    if not isinstance(query, str) or not query.strip():
        raise DataError(
            f"argument {argument!r}: expected a COW code, COW abbreviation or country name, "
            f"got {query!r}."
        )
    text = query.strip()
    if re.fullmatch(r"\d+", text):
        return resolve_country(int(text), argument=argument)
    if len(text) == 3 and text.isalpha() and text.upper() in by_abb:
        return by_code[by_abb[text.upper()]]
    norm = normalize_name(text)
    if norm in by_name:
        return by_code[by_name[norm]]
    if text.upper() in by_abb:
        return by_code[by_abb[text.upper()]]
    pool = sorted(set(by_name) | {a.lower() for a in by_abb})
    close = difflib.get_close_matches(norm, pool, n=4, cutoff=0.6)
    hints = []
    for cand in close:
        c = by_name.get(cand, by_abb.get(cand.upper()))
        if c is not None:
            country = by_code[c]
            hints.append(f"{cand!r} → {country.name} ({country.abb}, {country.ccode})")
    raise DataError(
        f"argument {argument!r}: unknown country {query!r}."
        + (f" Did you mean: {'; '.join(dict.fromkeys(hints))}?" if hints else "")
        + " Pass a COW code (e.g. 2), a COW abbreviation (e.g. 'USA') or a name."
    )


def sipri_spans(country: Country, sipri_names: frozenset[str] | set[str]) -> tuple[SipriSpan, ...]:
    """SIPRI row(s) holding a state's series, with the years each covers.

    Parameters
    ----------
    country
        The state.
    sipri_names
        Country names present in the SIPRI sheet.

    Returns
    -------
    tuple of SipriSpan
        Empty if SIPRI has no row for the state.

    Examples
    --------
    >>> from secdilemma.data.sources import read_sipri
    >>> names = set(read_sipri()["country"])
    >>> [s.sipri_name for s in sipri_spans(resolve_country("USSR"), names)]
    ['USSR', 'Russia']
    """
    if country.ccode in _SIPRI_SPECIAL:
        return tuple(s for s in _SIPRI_SPECIAL[country.ccode] if s.sipri_name in sipri_names)
    mapping = _sipri_codes(frozenset(sipri_names))
    return tuple(SipriSpan(n) for n in sorted(mapping) if mapping[n] == country.ccode)


@functools.lru_cache(maxsize=4)
def _sipri_codes(names: frozenset[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in names:
        if name in _SIPRI_NOT_STATES:
            continue
        try:
            out[name] = resolve_country(name).ccode
        except DataError:
            continue
    return out
