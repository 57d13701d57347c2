"""Observers: who updates the belief, and how (aware, naive, biased, tempered, selective).

``OBSERVER_KINDS`` is the one registry of observer kinds; the spec, the command line and
the fit all read it.
"""

from __future__ import annotations

from secdilemma.observers.base import (
    OBSERVER_KINDS,
    AwareObserver,
    BiasedObserver,
    NaiveObserver,
    Observer,
    SelectiveObserver,
    TemperedObserver,
    compare_observers,
    swap_roles,
)

__all__ = [
    "OBSERVER_KINDS",
    "AwareObserver",
    "BiasedObserver",
    "NaiveObserver",
    "Observer",
    "SelectiveObserver",
    "TemperedObserver",
    "compare_observers",
    "swap_roles",
]
