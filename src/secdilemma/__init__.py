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
from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel, compare_models, load
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
    "threat_multiplier",
    "to_moves",
    "value_of_information",
]
