"""A block of cells as columns, and the grouping that lets a block share work.

A block of ``n`` cells holds one array of length ``n`` per swept input (the inputs not swept
take the study's values). :func:`group` finds the distinct settings of some inputs, so that
each belief is filtered, and each utility table simulated, once per distinct setting rather
than once per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secdilemma.whatif.inputs import SweepBase

__all__ = ["Cells", "group"]

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Cells:
    """``n`` cells: ``columns[name]`` is the value of the swept input ``name`` in each cell."""

    n: int
    columns: dict[str, npt.NDArray[Any]]

    def has(self, name: str) -> bool:
        """Whether ``name`` is swept in this block."""
        return name in self.columns

    def get(self, base: SweepBase, name: str) -> npt.NDArray[Any]:
        """The value of ``name`` in every cell (the study's value where it is not swept)."""
        if name in self.columns:
            return self.columns[name]
        v = base.value(name)
        return np.full(self.n, v, dtype=object if isinstance(v, str) else None)

    def take(self, index: Any) -> Cells:
        """A sub-block (an index array or a slice)."""
        cols = {k: v[index] for k, v in self.columns.items()}
        n = len(next(iter(cols.values()))) if cols else len(range(self.n)[index])
        return Cells(n, cols)

    def describe(self, i: int) -> dict[str, Any]:
        """The swept inputs of cell ``i`` as plain data."""
        return {k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in self.columns.items()}


def _codes(col: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], int]:
    """Integer codes ``0..m-1`` of a column's values (NaN is a value), and ``m``."""
    arr = np.asarray(col).reshape(-1)
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() < 2 * arr.size:
        return arr.astype(np.int64), int(arr.max()) + 1  # already codes (group ids)
    if arr.dtype == object:
        arr = arr.astype(str)
    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def group(columns: Sequence[npt.NDArray[Any]], n: int) -> tuple[IntArray, IntArray]:
    """Distinct rows of the given columns: ``(ids, first)``.

    ``ids[i]`` is the group of cell ``i`` (0 … G-1, in order of first appearance) and
    ``first[g]`` the first cell of group ``g``. Columns are factorised by hashing (no sort)
    and their codes combined, re-factorised whenever the combined key could overflow.

    Examples
    --------
    >>> ids, first = group([np.array([0.1, 0.2, 0.1]), np.array([1, 1, 1])], 3)
    >>> ids.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for col in columns:
        codes, m = _codes(col)
        if m == 1:
            continue
        if size * m >= 2**62:
            key, size = _codes(key)
        key = key * m + codes
        size *= m
    ids, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.intp)
    first[ids[::-1]] = np.arange(n - 1, -1, -1)  # the last write is the first appearance
    return np.asarray(ids, dtype=np.intp), first
