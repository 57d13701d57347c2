"""Observers: who updates the belief, and how (aware, naive, biased, tempered, selective).

``OBSERVER_KINDS`` is the one registry of observer kinds; the spec, the command line and
the fit all read it, and ``FITTABLE_KINDS`` (derived from it) lists the kinds the full
Bayesian fit can express.

* :mod:`.base`: the :class:`Observer` interface and its data preparation;
* :mod:`.kinds`: the kinds, ``OBSERVER_KINDS`` and ``FITTABLE_KINDS``;
* :mod:`.compare`: :func:`compare_observers` and :func:`swap_roles`;
* :mod:`.evidence`: :func:`evidence_decomposition` (what each source did to the belief).
"""

from __future__ import annotations

from secdilemma.observers.base import Observer
from secdilemma.observers.compare import compare_observers, swap_roles
from secdilemma.observers.evidence import BUILDUPS, evidence_decomposition
from secdilemma.observers.kinds import (
    FITTABLE_KINDS,
    OBSERVER_KINDS,
    AwareObserver,
    BiasedObserver,
    NaiveObserver,
    SelectiveObserver,
    TemperedObserver,
)

__all__ = [
    "BUILDUPS",
    "FITTABLE_KINDS",
    "OBSERVER_KINDS",
    "AwareObserver",
    "BiasedObserver",
    "NaiveObserver",
    "Observer",
    "SelectiveObserver",
    "TemperedObserver",
    "compare_observers",
    "evidence_decomposition",
    "swap_roles",
]
