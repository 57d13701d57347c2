"""Every example in a docstring of the package runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import secdilemma

# secdilemma.data has its own doctest module (tests/data/test_data_doctests.py).
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(secdilemma.__path__, prefix="secdilemma.")
    if not m.name.startswith("secdilemma.data")
)


@pytest.mark.parametrize("name", ["secdilemma", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
