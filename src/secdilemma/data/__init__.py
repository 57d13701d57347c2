"""Case data: curated cases, dyads for any pair of states, events, and per-period moves.

Examples
--------
>>> from secdilemma.data import list_cases, load_case, make_dyad, to_moves
>>> ds = load_case("anglo_german_naval")
>>> ds.sizes["actor"], ds.sizes["signal"]
(2, 12)
"""

from __future__ import annotations

from secdilemma.data.cases import load_case
from secdilemma.data.catalog import case_info, list_cases
from secdilemma.data.countries import Country, resolve_country
from secdilemma.data.dyad import GOLD_PARITY_USD_PER_GBP, make_dyad
from secdilemma.data.moves import to_moves
from secdilemma.data.schema import SIGNAL_CHANNELS

__all__ = [
    "GOLD_PARITY_USD_PER_GBP",
    "SIGNAL_CHANNELS",
    "Country",
    "case_info",
    "list_cases",
    "load_case",
    "make_dyad",
    "resolve_country",
    "to_moves",
]
