"""The rule-based policies and the defend action (issue 12).

Each option that lets a rule play ``defend`` (``TitForTat(respond=...)``,
``GRIT(steps=..., fallback=...)``, ``BeliefThreshold(defend_above=...)``) is played period by
period against a scripted rival and compared with the sequence of actions worked out by hand
from the rule; the defaults never play defend, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from secdilemma.decision import (
    GRIT,
    BeliefThreshold,
    Policy,
    PolicyState,
    TitForTat,
    compare_policies,
)
from secdilemma.errors import ParameterError
from secdilemma.model.types import TypeSpace

ACTIONS = ("deter", "defend", "reassure")  # the default action set
TYPES = TypeSpace.default()  # greedy, insecure, mixed: greed loadings 1, 0, 1


def play(
    policy: Policy,
    rival: Sequence[float],
    p_greed: Sequence[float] | None = None,
    actions: tuple[str, ...] = ACTIONS,
) -> list[str]:
    """The policy's actions over ``len(rival) + 1`` periods against a scripted rival.

    Period ``t`` sees the policy's own moves so far and the rival's scripted reactions
    ``rival[:t]`` (the reaction to the move of period ``t - 1``); its belief is
    ``(p, 1 - p, 0)`` over (greedy, insecure, mixed) with ``p = p_greed[t]``, so the
    probability of the greed motive is exactly ``p``.
    """
    horizon = len(rival) + 1
    p = np.full(horizon, 0.5) if p_greed is None else np.asarray(p_greed, dtype=float)
    assert p.shape == (horizon,)
    own: list[int] = []
    for t in range(horizon):
        state = PolicyState(
            period=t,
            horizon=horizon,
            belief=np.array([[p[t], 1.0 - p[t], 0.0]]),
            own_moves=np.array([own], dtype=np.intp).reshape(1, t),
            rival_moves=np.array([rival[:t]], dtype=float).reshape(1, t),
            actions=actions,
            greed=TYPES.greed,
            fear=TYPES.fear,
        )
        a = policy.act(state)
        assert a.shape == (1,)
        own.append(int(a[0]))
    return [actions[i] for i in own]


# -- TitForTat -------------------------------------------------------------------------------

RIVAL_TFT = [0.2, -0.1, 0.0, 0.3, 0.05]


def test_tit_for_tat_answers_a_buildup_with_defend():
    # t0 opens with reassure; then each period answers the rival's last change:
    # 0.2 > 0 armed -> defend; -0.1 cut -> reassure; 0.0 (not > 0) -> reassure;
    # 0.3 armed -> defend; 0.05 armed -> defend
    expected = ["reassure", "defend", "reassure", "reassure", "defend", "defend"]
    assert play(TitForTat(respond="defend"), RIVAL_TFT) == expected
    # the default answers the same buildups with deter
    assert play(TitForTat(), RIVAL_TFT) == [a.replace("defend", "deter") for a in expected]


def test_tit_for_tat_defend_with_a_tolerance():
    # tolerance 0.1: 0.05 now reads as restraint
    expected = ["reassure", "defend", "reassure", "reassure", "defend", "reassure"]
    assert play(TitForTat(tolerance=0.1, respond="defend"), RIVAL_TFT) == expected


def test_tit_for_tat_respond_is_checked():
    with pytest.raises(ParameterError, match="TitForTat: `respond` must be an action name"):
        TitForTat(respond=1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'defend'"):
        play(TitForTat(respond="defend"), [0.1], actions=("deter", "reassure"))
    assert repr(TitForTat(respond="defend")) == "TitForTat(tolerance=0.0, respond='defend')"


# -- GRIT ------------------------------------------------------------------------------------

RIVAL_GRIT = [-0.1, 0.1, -0.1, 0.2, 0.3, -0.5]


def test_grit_takes_a_cautious_defend_step_first():
    # steps defend -> reassure, patience 2, tolerance 0:
    # t0 defend (first step); rival -0.1 reciprocates -> level 1
    # t1 reassure; rival 0.1 does not -> 1 in a row
    # t2 reassure; rival -0.1 reciprocates -> 0 in a row (level stays at the last step)
    # t3 reassure; rival 0.2 -> 1 in a row
    # t4 reassure; rival 0.3 -> 2 in a row: abandoned
    # t5, t6 deter for good (the rival's -0.5 after t5 changes nothing)
    expected = ["defend", "reassure", "reassure", "reassure", "reassure", "deter", "deter"]
    assert play(GRIT(steps=("defend", "reassure")), RIVAL_GRIT) == expected


def test_grit_falls_back_to_defend():
    # the same history, abandoned at t5: fallback defend, although defend is also a step
    # (after the initiative is abandoned no move counts as restraint any more)
    expected = ["defend", "reassure", "reassure", "reassure", "reassure", "defend", "defend"]
    pol = GRIT(steps=("defend", "reassure"), fallback="defend")
    assert play(pol, RIVAL_GRIT) == expected
    # default steps (reassure only): 0.1, 0.1 unreciprocated -> abandoned after t1
    expected = ["reassure", "reassure", "defend", "defend"]
    assert play(GRIT(fallback="defend"), [0.1, 0.1, -0.1]) == expected
    assert play(GRIT(), [0.1, 0.1, -0.1]) == ["reassure", "reassure", "deter", "deter"]


def test_grit_fallback_is_checked():
    with pytest.raises(ParameterError, match="GRIT: `fallback` must be an action name"):
        GRIT(fallback="")
    with pytest.raises(ParameterError, match="'defend'"):
        play(GRIT(fallback="defend"), [0.1], actions=("deter", "reassure"))


# -- BeliefThreshold -------------------------------------------------------------------------

P_GREED = [0.1, 0.3, 0.31, 0.6, 0.61, 0.45]


def test_belief_threshold_defends_between_two_thresholds():
    # reassure up to 0.3, defend in (0.3, 0.6], deter above 0.6 (strict inequalities)
    expected = ["reassure", "reassure", "defend", "defend", "deter", "defend"]
    pol = BeliefThreshold(0.6, defend_above=0.3)
    assert play(pol, [0.0] * 5, p_greed=P_GREED) == expected
    # one threshold, as before: never defend
    expected = ["reassure", "reassure", "reassure", "reassure", "deter", "reassure"]
    assert play(BeliefThreshold(0.6), [0.0] * 5, p_greed=P_GREED) == expected


def test_belief_threshold_with_an_empty_defend_band_is_the_one_threshold_rule():
    rng = np.random.default_rng(0)
    st = PolicyState.initial(rng.dirichlet(np.ones(3), 50), types=TYPES)
    np.testing.assert_array_equal(
        BeliefThreshold(0.4, defend_above=0.4).act(st), BeliefThreshold(0.4).act(st)
    )


def test_belief_threshold_defend_above_is_checked():
    with pytest.raises(ParameterError, match="defend_above"):
        BeliefThreshold(0.3, defend_above=0.5)  # above the deter threshold
    with pytest.raises(ParameterError, match="defend_above"):
        BeliefThreshold(0.5, defend_above=-0.1)
    with pytest.raises(ParameterError, match="'defend'"):
        play(
            BeliefThreshold(0.6, defend_above=0.3), [], p_greed=[0.5], actions=("deter", "reassure")
        )
    # without the option the rule needs no defend action
    assert play(BeliefThreshold(0.6), [], p_greed=[0.5], actions=("deter", "reassure")) == [
        "reassure"
    ]


# -- defaults and simulation -----------------------------------------------------------------


@pytest.mark.parametrize("make", [TitForTat, GRIT, BeliefThreshold])
def test_defaults_never_defend(make):
    rng = np.random.default_rng(1)
    rival = rng.normal(0.0, 0.1, 12).tolist()
    beliefs = rng.uniform(0.0, 1.0, 13).tolist()
    assert "defend" not in play(make(), rival, p_greed=beliefs)


def test_defend_options_run_on_common_futures():
    pols = {
        "tft_defend": TitForTat(respond="defend"),
        "grit_defend": GRIT(steps=("defend", "reassure"), fallback="defend"),
        "threshold_defend": BeliefThreshold(0.7, defend_above=0.3),
    }
    ds = compare_policies(pols, types=TYPES, horizon=4, n_sims=20, seed=5)
    assert ds.policy.values.tolist() == list(pols)
    assert np.isfinite(ds.scenario_loss.values).all()
    # none of them deters here: TitForTat and GRIT's fallback defend, the threshold rule
    # defends or deters only on its belief
    assert float(ds.deter_share.sel(policy="tft_defend").max()) == 0.0
    assert float(ds.deter_share.sel(policy="grit_defend").max()) == 0.0
