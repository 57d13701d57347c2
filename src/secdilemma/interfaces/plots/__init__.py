"""Figures: the belief over time (``posterior``), what moved it (``evidence``), the decision
(``decision``) and the fit (``fit``). Each computes what to draw, then draws with
matplotlib's object API; the library never selects a matplotlib backend."""

from __future__ import annotations

from secdilemma.interfaces.plots.decision import plot_decision
from secdilemma.interfaces.plots.evidence import plot_evidence
from secdilemma.interfaces.plots.fit import plot_fit
from secdilemma.interfaces.plots.posterior import plot_type_posterior

__all__ = ["plot_decision", "plot_evidence", "plot_fit", "plot_type_posterior"]
