"""The exact engine: with the model's parameters fixed, the forward filter and smoother over
rival types (numba kernels with a numpy reference; logs or probabilities out), the same with
the buildup likelihood fused into the kernel (:mod:`.fused`, what the observers use), and
type-II maximum-likelihood parameter estimates with the types summed out."""

from __future__ import annotations

from secdilemma.engines.exact.estimate import ParamEstimate, estimate_params
from secdilemma.engines.exact.filtering import (
    FilterProbabilities,
    FilterResult,
    filter_probabilities,
    forward_backward,
    numba_available,
    static_update,
    type_posterior,
)

__all__ = [
    "FilterProbabilities",
    "FilterResult",
    "ParamEstimate",
    "estimate_params",
    "filter_probabilities",
    "forward_backward",
    "numba_available",
    "static_update",
    "type_posterior",
]
