"""Model specs (TOML, validated in one place) and the readers of the pooled reference."""

from __future__ import annotations

from secdilemma.spec.model_spec import (
    DEFAULT_PRIORS,
    DEFAULT_SEED,
    DEFAULT_SIGNAL_PRIORS,
    DEFAULT_TAU,
    PARAMETERS,
    DataSpec,
    DecisionSpec,
    ModelSpec,
    ObserverSpec,
    PriorSpec,
    PriorsSpec,
    SamplerSpec,
    SignalsSpec,
    TypesSpec,
    WorldSpec,
    load_spec,
    spec_data,
)
from secdilemma.spec.reference import (
    STAND_IN,
    load_reference_params,
    load_reference_point,
    load_reference_posterior,
    load_reference_signal_posterior,
    load_reference_signals,
)

__all__ = [
    "DEFAULT_PRIORS",
    "DEFAULT_SEED",
    "DEFAULT_SIGNAL_PRIORS",
    "DEFAULT_TAU",
    "PARAMETERS",
    "STAND_IN",
    "DataSpec",
    "DecisionSpec",
    "ModelSpec",
    "ObserverSpec",
    "PriorSpec",
    "PriorsSpec",
    "SamplerSpec",
    "SignalsSpec",
    "TypesSpec",
    "WorldSpec",
    "load_reference_params",
    "load_reference_point",
    "load_reference_posterior",
    "load_reference_signal_posterior",
    "load_reference_signals",
    "load_spec",
    "spec_data",
]
