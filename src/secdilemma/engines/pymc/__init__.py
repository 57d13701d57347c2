"""The full Bayesian engine: PyMC models with the discrete type marginalised, sampled with
nutpie (default) or PyMC's NUTS; diagnostics, predictive checks and model comparison.

Importing this package does not import PyMC; building or fitting a model does.
"""

from __future__ import annotations

from secdilemma.engines.pymc.fit import (
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
