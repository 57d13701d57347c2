"""The deter-versus-reassure decision model (docs/model.md section 4).

* :func:`decide`: expected utility of each action under the posterior, with credible
  intervals, P(best), the belief threshold p* and EVPI; static (payoff table) or dynamic
  (simulated consequences from the generative model) mode.
* :func:`value_of_information`: EVPI and EVSI of a signal channel (a costly test);
  :func:`evsi_by_channel`: the EVSI of each channel of a SignalParams on its own, net of
  its cost.
* Policies over time (:class:`Policy` and six rules) and :func:`compare_policies` on common
  random numbers.
* :class:`Losses`: user-set losses with documented defaults.
"""

from secdilemma.decision.analysis import decide, value_of_information
from secdilemma.decision.dynamic import compare_policies, rollout, utility_table
from secdilemma.decision.information import evsi_by_channel
from secdilemma.decision.losses import Losses
from secdilemma.decision.policies import (
    GRIT,
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    Policy,
    PolicyState,
    TitForTat,
)
from secdilemma.decision.problem import DEFAULT_ACTIONS, DEFAULT_HORIZON, DynamicModel
from secdilemma.decision.static import kydd_payoffs

__all__ = [
    "DEFAULT_ACTIONS",
    "DEFAULT_HORIZON",
    "GRIT",
    "AlwaysDeter",
    "AlwaysReassure",
    "BayesOptimal",
    "BeliefThreshold",
    "DynamicModel",
    "Losses",
    "Policy",
    "PolicyState",
    "TitForTat",
    "compare_policies",
    "decide",
    "evsi_by_channel",
    "kydd_payoffs",
    "rollout",
    "utility_table",
    "value_of_information",
]
