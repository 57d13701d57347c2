"""The study floor: :class:`Study` runs the chain data → belief → decision for one resolved
:class:`Setting`; every interface (CLI, notebooks, README) goes through it."""

from __future__ import annotations

from secdilemma.study.headline import EngineComparison, compare_engines, decision_headline
from secdilemma.study.sensitivity import coefficient_sensitivity
from secdilemma.study.setting import (
    DEFAULT_N_SIMS,
    ENGINES,
    PARAM_SOURCES,
    SWITCHING_PERSISTENCE,
    VARIANTS,
    Setting,
)
from secdilemma.study.study import Study

__all__ = [
    "DEFAULT_N_SIMS",
    "ENGINES",
    "PARAM_SOURCES",
    "SWITCHING_PERSISTENCE",
    "VARIANTS",
    "EngineComparison",
    "Setting",
    "Study",
    "coefficient_sensitivity",
    "compare_engines",
    "decision_headline",
]
