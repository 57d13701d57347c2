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


def group(columns: Sequence[npt.NDArray[Any]], n: int) -> tuple[IntArray, IntArray]:
    """Distinct rows of the given columns: ``(ids, first)``.

    ``ids[i]`` is the group of cell ``i`` (0 … G-1) and ``first[g]`` one cell of group ``g``.
    Each column is factorised on its own and the codes are combined one column at a time,
    so the keys never exceed ``n`` (no overflow however many columns).

    Examples
    --------
    >>> ids, first = group([np.array([0.1, 0.2, 0.1]), np.array([1, 1, 1])], 3)
    >>> ids.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    key = np.zeros(n, dtype=np.int64)
    for col in columns:
        arr = np.asarray(col)
        if arr.dtype == object:
            arr = arr.astype(str)
        uniq, codes = np.unique(arr, return_inverse=True)
        key = key * len(uniq) + codes.reshape(-1)
        _, key = np.unique(key, return_inverse=True)
    _, first, ids = np.unique(key, return_index=True, return_inverse=True)
    return ids.reshape(-1).astype(np.intp), first.astype(np.intp)
