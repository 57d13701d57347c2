"""One block of cells through the exact observer and the decision: the per-block function.

:func:`evaluate` is what every chunk of a sweep runs, what one-at-a-time sensitivity and
Sobol sampling run on their points, and (called on one cell at a time) the loop that the
benchmark compares against. :func:`evaluate_located` adds the error path: a block that fails
is bisected down to its first failing cell, whose inputs the :class:`ChunkError` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import SecdilemmaError
from secdilemma.whatif.belief import cell_beliefs, cell_eta0
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.errors import ChunkError
from secdilemma.whatif.information import cell_evsi
from secdilemma.whatif.inputs import SweepBase
from secdilemma.whatif.policies import policy_values
from secdilemma.whatif.utility import cell_tables, decision_stats, row_dot
from secdilemma.whatif.world import split_world

IntArray = npt.NDArray[np.intp]

__all__ = [
    "OPT_IN",
    "VARIABLE_DOCS",
    "belief_block",
    "default_variables",
    "evaluate",
    "evaluate_located",
    "variables",
]

#: What each result variable means (long_name in the result's attrs).
VARIABLE_DOCS = {
    "belief": "P(rival type | data), the exact observer's filtered posterior at the last period",
    "p_greed": "P(greed motive) under the belief: the position on the greed axis",
    "expected_utility": "expected utility of each action under the belief (minus expected loss)",
    "best_action": "index into `action` of the action with the highest expected utility",
    "p_best": "P(the action is the best one for the true type)",
    "evpi": "expected value of perfect information",
    "p_star": "threshold p* on the greed axis where the compared actions are equally good "
    "(NaN when the choice does not flip)",
    "p_star_effective": "p*, with 0 where the upper action is better for every belief and 1 "
    "where it never is (for sensitivity analysis)",
    "upper_action": "index into `action` of the better action above p*",
    "eu_gap": "expected utility of deter minus reassure (the compared pair): 0 on the frontier",
    "p_war": "P(war within the horizon) under each action, weighted by the belief",
    "arms_cost": "discounted, survival-weighted arms spending under each action",
    "policy_utility": "expected utility of each policy (common random numbers; the belief is "
    "the observer's start and the distribution of the true type)",
    "policy_p_war": "P(war within the horizon) under each policy",
    "policy_arms_cost": "discounted arms spending under each policy",
    "evsi": "expected value of sample information: each signal channel observed alone once "
    "more before acting (opt-in)",
}

#: Variables computed only when asked for (``variables=[..., name]``): what they cost.
OPT_IN = {"evsi": "a preposterior analysis per channel and cell"}


def variables(base: SweepBase, policies: Sequence[str] | None) -> dict[str, tuple[Any, ...]]:
    """``{name: (extra dims, dtype)}`` of the variables a sweep of ``base`` returns."""
    out: dict[str, tuple[Any, ...]] = {
        "belief": (("rival_type",), "f8"),
        "p_greed": ((), "f8"),
        "expected_utility": (("action",), "f8"),
        "best_action": ((), "i1"),
        "p_best": (("action",), "f8"),
        "evpi": ((), "f8"),
        "p_star": ((), "f8"),
        "p_star_effective": ((), "f8"),
        "upper_action": ((), "i1"),
        "eu_gap": ((), "f8"),
    }
    if base.payoffs is None:
        out["p_war"] = (("action",), "f8")
        out["arms_cost"] = (("action",), "f8")
    if policies:
        for name in ("policy_utility", "policy_p_war", "policy_arms_cost"):
            out[name] = (("policy",), "f8")
    if base.channels:
        out["evsi"] = (("signal",), "f8")
    return out


def default_variables(base: SweepBase, policies: Sequence[str] | None) -> tuple[str, ...]:
    """The variables a sweep returns when none are named: all but the :data:`OPT_IN` ones."""
    return tuple(k for k in variables(base, policies) if k not in OPT_IN)


def evaluate(
    base: SweepBase,
    cells: Cells,
    policies: Sequence[str] | None = None,
    opt_in: Sequence[str] = (),
) -> dict[str, npt.NDArray[Any]]:
    """Every result variable for ``cells``: arrays with the cells on the first axis.

    The belief is computed once per distinct setting of the belief's inputs in the block
    (:func:`belief_block`), then spread to the cells. ``opt_in``: the :data:`OPT_IN`
    variables to compute as well. A block with ``omega``/``delta`` per period is evaluated
    once per distinct world (:func:`~secdilemma.whatif.world.split_world`).
    """
    parts = [(idx, evaluate(sub_base, sub, policies, opt_in))
             for idx, sub_base, sub in split_world(base, cells)]  # fmt: skip
    if parts:
        return _gathered(cells.n, parts)
    inner, ids = belief_block(base, cells)
    eta0 = cell_eta0(base, inner)
    belief = cell_beliefs(base, inner, eta0)
    if ids is not None:
        eta0, belief = eta0[ids], belief[ids]
    tables = cell_tables(base, cells)
    out: dict[str, npt.NDArray[Any]] = {"belief": belief}
    out.update(decision_stats(tables.utility, belief, base.types.greed, base.actions))
    if tables.p_war is not None and tables.arms is not None:
        out["p_war"] = row_dot(tables.p_war, belief)
        out["arms_cost"] = row_dot(tables.arms, belief)
    if policies:
        out.update(policy_values(base, cells, belief, out["p_star_effective"], policies, eta0))
    if "evsi" in opt_in:
        out["evsi"] = cell_evsi(base, cells, tables.utility, belief, eta0)
    return out


def _gathered(
    n: int, parts: Sequence[tuple[IntArray, dict[str, npt.NDArray[Any]]]]
) -> dict[str, npt.NDArray[Any]]:
    """The results of sub-blocks (cell indices, results) put back in the block's order."""
    out = {}
    for k, v in parts[0][1].items():
        out[k] = np.empty((n, *v.shape[1:]), dtype=v.dtype)
    for idx, res in parts:
        for k, v in res.items():
            out[k][idx] = v
    return out


def belief_block(base: SweepBase, cells: Cells) -> tuple[Cells, IntArray | None]:
    """The block's distinct settings of the inputs the belief depends on, and each cell's
    setting (``None``: every cell its own, the block itself returned).

    A grid that crosses belief inputs with decision inputs (losses, payoffs, horizon)
    repeats each belief setting once per decision setting; the intercepts' calibration,
    the channels and the filter then see each setting once.
    """
    cols = {k: v for k, v in cells.columns.items()
            if k not in base.registry or "belief" in base.registry[k].roles}  # fmt: skip
    if len(cols) == len(cells.columns):
        return cells, None
    ids, first = group(list(cols.values()), cells.n)
    if first.size == cells.n:
        return cells, None
    return Cells(int(first.size), {k: v[first] for k, v in cols.items()}), ids


def evaluate_located(
    base: SweepBase,
    cells: Cells,
    policies: Sequence[str] | None = None,
    *,
    where: str = "",
    opt_in: Sequence[str] = (),
) -> dict[str, npt.NDArray[Any]]:
    """:func:`evaluate`; on failure a :class:`ChunkError` naming the first failing cell."""
    try:
        return evaluate(base, cells, policies, opt_in)
    except (SecdilemmaError, ArithmeticError, ValueError) as exc:
        cell, cause = _first_failing(base, cells, policies, exc, opt_in)
        inputs = ", ".join(f"{k}={v!r}" for k, v in cell.items()) or "the study's own inputs"
        raise ChunkError(
            f"whatif: the sweep failed{where} at the cell {inputs}: {type(cause).__name__}: {cause}"
        ) from exc


def _first_failing(
    base: SweepBase,
    cells: Cells,
    policies: Sequence[str] | None,
    exc: Exception,
    opt_in: Sequence[str] = (),
) -> tuple[dict[str, Any], Exception]:
    """Bisect the block to one failing cell (the cells are independent of each other)."""
    block, cause = cells, exc
    while block.n > 1:
        half = block.n // 2
        for part in (block.take(slice(0, half)), block.take(slice(half, block.n))):
            try:
                evaluate(base, part, policies, opt_in)
            except (SecdilemmaError, ArithmeticError, ValueError) as err:
                block, cause = part, err
                break
        else:  # neither half fails alone: report the block's range
            ranges = {
                k: f"{np.min(v)!r}..{np.max(v)!r}" if v.dtype.kind in "fiu" else sorted(set(v))
                for k, v in block.columns.items()
            }
            return ranges, cause
    return block.describe(0), cause
