"""secdilemma: Bayesian perception inference in the security dilemma.

An observer state watches a rival's buildups and signals, updates a posterior over
whether the rival is greedy, insecure or mixed, and feeds it into a deter-versus-reassure
decision. See README.md for a tour and ARCHITECTURE.md for the module map.

Examples
--------
>>> import secdilemma as sd
>>> sim = sd.simulate(n_periods=30, n_scenarios=2, true_type="insecure", seed=0)
>>> post = sd.Observer().filter(sim)
>>> sorted(post["filtered"].dims)
['period', 'rival_type', 'scenario']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from secdilemma._version import __version__
from secdilemma.data import case_info, list_cases, load_case, make_dyad, to_moves
from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    Losses,
    Policy,
    TitForTat,
    compare_policies,
    decide,
    value_of_information,
)
from secdilemma.engines.exact.estimate import estimate_params
from secdilemma.errors import (
    DataError,
    NotFittedError,
    OutputError,
    OutputExistsError,
    ParameterError,
    SecdilemmaError,
    SpecError,
)
from secdilemma.io import load_dataset, save_dataset
from secdilemma.model import ModelParams, SignalParams, threat_multiplier
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import (
    AwareObserver,
    BiasedObserver,
    NaiveObserver,
    Observer,
    SelectiveObserver,
    TemperedObserver,
    compare_observers,
    swap_roles,
)
from secdilemma.spec import ModelSpec, load_spec
from secdilemma.study import Study

if TYPE_CHECKING:
    from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel, compare_models, load
    from secdilemma.whatif import sweep

#: Public names imported on first use: the PyMC engine's modules (and the scipy parts they
#: need) cost about 0.1 s, and the what-if sweep's about 20 ms, that others never pay.
_LAZY = {
    "ConvergenceWarning": "secdilemma.engines.pymc",
    "PerceptionModel": "secdilemma.engines.pymc",
    "compare_models": "secdilemma.engines.pymc",
    "load": "secdilemma.engines.pymc",
    "sweep": "secdilemma.whatif",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'secdilemma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "GRIT",
    "AlwaysDeter",
    "AlwaysReassure",
    "AwareObserver",
    "BayesOptimal",
    "BeliefThreshold",
    "BiasedObserver",
    "ConvergenceWarning",
    "DataError",
    "Losses",
    "ModelParams",
    "ModelSpec",
    "NaiveObserver",
    "NotFittedError",
    "Observer",
    "OutputError",
    "OutputExistsError",
    "ParameterError",
    "PerceptionModel",
    "Policy",
    "SecdilemmaError",
    "SelectiveObserver",
    "SignalParams",
    "SpecError",
    "Study",
    "TemperedObserver",
    "TitForTat",
    "TypeSpace",
    "__version__",
    "case_info",
    "compare_models",
    "compare_observers",
    "compare_policies",
    "decide",
    "estimate_params",
    "list_cases",
    "load",
    "load_case",
    "load_dataset",
    "load_spec",
    "make_dyad",
    "save_dataset",
    "simulate",
    "swap_roles",
    "sweep",
    "threat_multiplier",
    "to_moves",
    "value_of_information",
]
