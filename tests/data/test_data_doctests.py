"""Run the examples in the data modules' docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "secdilemma.data",
    "secdilemma.data.schema",
    "secdilemma.data.catalog",
    "secdilemma.data.csvtable",
    "secdilemma.data.sources",
    "secdilemma.data.rivalries",
    "secdilemma.data.mid",
    "secdilemma.data.alliances",
    "secdilemma.data.channels",
    "secdilemma.data.countries",
    "secdilemma.data.events",
    "secdilemma.data.dyad",
    "secdilemma.data.cases",
    "secdilemma.data.moves",
    "secdilemma.data.derive",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
