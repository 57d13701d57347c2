"""Deprecated location of the PyMC engine's public names; import them from
:mod:`secdilemma.engines.pymc` instead.

Kept only while ``secdilemma/__init__.py`` and ``secdilemma/reference.py`` still import from
here; delete this module once they import from :mod:`secdilemma.engines.pymc`. ``plot_fit``
moved to :func:`secdilemma.interfaces.plots.fit.plot_fit`.
"""

from __future__ import annotations

from secdilemma.engines.pymc import (
    ConvergenceWarning,
    PerceptionModel,
    compare_models,
    diagnostics,
    load,
    resolve_priors,
)

__all__ = [
    "ConvergenceWarning",
    "PerceptionModel",
    "compare_models",
    "diagnostics",
    "load",
    "resolve_priors",
]
