"""The generative model: rival types, the equations, and the simulator.

This floor is the single source of the model's equations (``equations``): the reaction
function, the signal logits, the noise density (``noise_logpdf``), the per-type
log-likelihood and the type transition; ``params`` holds the parameter containers they take.
Every engine (the exact observer, the PyMC fit) and the decision model call these functions;
none writes its own copy.
"""

from __future__ import annotations

from secdilemma.model.equations import (
    DEFAULT_DELTA,
    DEFAULT_OMEGA,
    ModelParams,
    SignalParams,
    as_type_prior,
    deterrence_multiplier,
    loglik_components,
    noise_logpdf,
    reaction_mean,
    response_slopes,
    signal_greed_loading,
    threat_multiplier,
    transition_matrix,
    validate_probabilities,
    war_stakes,
)
from secdilemma.model.types import DEFAULT_LOADINGS, TypeSpace

__all__ = [
    "DEFAULT_DELTA",
    "DEFAULT_LOADINGS",
    "DEFAULT_OMEGA",
    "ModelParams",
    "SignalParams",
    "TypeSpace",
    "as_type_prior",
    "deterrence_multiplier",
    "loglik_components",
    "noise_logpdf",
    "reaction_mean",
    "response_slopes",
    "signal_greed_loading",
    "threat_multiplier",
    "transition_matrix",
    "validate_probabilities",
    "war_stakes",
]
