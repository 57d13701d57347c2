"""Numpy core of the static decision: expected utility, P(best), threshold, EVPI, EVSI.

Everything here works on a *utility table over states* ``U[a, n]`` with *weights* ``w[n]``:
a state ``n`` is one (posterior draw, rival type) pair, its weight is the posterior
probability of that pair (``belief[s, k] / S``). A plain payoff table ``U[action,
rival_type]`` with a probability vector is the case ``S = 1``. The score functions share one
signature: utilities of the decisions over the states and the state weights in, a score out.

The threshold
-------------
Beliefs are moved along the *greed axis*: ``b(p) = p * b_G + (1 - p) * b_N`` where
``b_G ∝ w * g`` and ``b_N ∝ w * (1 - g)`` split the current belief by each state's greed
loading ``g`` (keeping the relative weights inside each group), so ``p = P(greed motive) =
sum(w * g)`` is the current belief. Expected utility is linear in ``p``, so the best action
along the axis is the upper envelope of straight lines: it changes at most ``A - 1`` times
(:func:`switch_points`). The threshold p* is the *first switch*: the smallest ``p`` at which
the recommendation changes from the action best against a surely non-greedy rival (usually
``reassure``) to another (``deter``, or ``defend`` in a world where a defensive posture pays);
with two actions it is where the two are equally good, as before the third action. The
other switches (e.g. from ``defend`` to ``deter`` at a higher ``p``) are listed with it.

With two types, greedy ``(1, 0)`` and insecure ``(0, 1)``, ``p`` is ``P(greedy)`` and,
between deter and reassure, ``p* = Δ_I / (Δ_I + Δ_G)`` with ``Δ_I = U[reassure, insecure] -
U[deter, insecure]`` and ``Δ_G = U[deter, greedy] - U[reassure, greedy]``. With the mixed
type (greed 1) in the space, ``p`` is the probability of greedy *or* mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import ParameterError

__all__ = [
    "evpi",
    "evsi",
    "expected_utility",
    "greed_axis",
    "kydd_payoffs",
    "p_best",
    "switch_points",
    "threshold_on_axis",
]

FloatArray = npt.NDArray[np.float64]


def expected_utility(utility: FloatArray, weights: FloatArray) -> FloatArray:
    """Expected utility of each decision ``(A,)`` from ``utility (A, N)`` and ``weights (N,)``."""
    return np.asarray(utility @ weights, dtype=float)


def evpi(utility: FloatArray, weights: FloatArray) -> float:
    """Expected value of perfect information: ``E[max_a U] - max_a E[U]`` (>= 0)."""
    informed = float(np.max(utility, axis=0) @ weights)
    return max(informed - float(np.max(expected_utility(utility, weights))), 0.0)


def p_best(utility: FloatArray, weights: FloatArray, *, atol: float = 1e-12) -> FloatArray:
    """Posterior probability that each decision is the best one for the true state.

    Ties share the state's weight equally.
    """
    best = utility >= np.max(utility, axis=0, keepdims=True) - atol
    share = best / best.sum(axis=0, keepdims=True)
    return np.asarray(share @ weights, dtype=float)


@dataclass(frozen=True)
class SampleInformation:
    """Preposterior analysis of one signal channel (see :func:`evsi`)."""

    evsi: float
    p_outcome: FloatArray  # (O,)
    eu_given_outcome: FloatArray  # (O, A)
    state_posterior: FloatArray  # (O, N)


def evsi(utility: FloatArray, weights: FloatArray, likelihood: FloatArray) -> SampleInformation:
    """Expected value of sample information of a channel ``likelihood[o, n] = P(o | state n)``.

    ``EVSI = sum_o P(o) max_a EU(a | o) - max_a EU(a)``; it never exceeds :func:`evpi` (the
    result is clipped to ``[0, EVPI]``, which rounding could otherwise leave).
    """
    joint = likelihood * weights[None, :]  # (O, N)
    p_o = joint.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        post = np.where(p_o[:, None] > 0, joint / p_o[:, None], 0.0)
    eu_o = post @ utility.T  # (O, A)
    value = float(np.sum(p_o * np.max(eu_o, axis=1)) - np.max(expected_utility(utility, weights)))
    # 0 <= EVSI <= EVPI exactly; the sums above may miss either bound by rounding
    return SampleInformation(min(max(value, 0.0), evpi(utility, weights)), p_o, eu_o, post)


def greed_axis(weights: FloatArray, greed: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Current ``P(greed motive)`` and the two end-point beliefs of the greed axis.

    When the belief puts no mass on one group, that end point spreads evenly over the states
    with that motive (weighted by the loading), so the axis is always defined.
    """
    g = np.clip(np.asarray(greed, dtype=float), 0.0, 1.0)
    p = float(weights @ g)
    w_g, w_n = weights * g, weights * (1.0 - g)
    if w_g.sum() <= 0:
        w_g = g.copy()
    if w_n.sum() <= 0:
        w_n = 1.0 - g
    if w_g.sum() <= 0 or w_n.sum() <= 0:
        raise ParameterError(
            "threshold: the type space needs types with and without greed (a greed loading "
            "above 0 and one below 1) for the greed axis to exist."
        )
    return p, w_g / w_g.sum(), w_n / w_n.sum()


def threshold_on_axis(
    utility: FloatArray, b_greed: FloatArray, b_none: FloatArray, i: int, j: int
) -> tuple[float, bool]:
    """Where actions ``i`` and ``j`` are equally good on the greed axis.

    Returns ``(p*, i_above)``: ``p*`` is NaN when the lines do not cross in ``[0, 1]``;
    ``i_above`` says whether action ``i`` is the better one above ``p*`` (for greedier
    beliefs).
    """
    d_g = float((utility[i] - utility[j]) @ b_greed)  # EU_i - EU_j at p = 1
    d_n = float((utility[i] - utility[j]) @ b_none)  # ... at p = 0
    i_above = d_g > d_n
    if d_g == d_n or d_g * d_n > 0:
        return float("nan"), i_above
    return d_n / (d_n - d_g), i_above


def switch_points(
    eu_none: npt.ArrayLike, eu_greed: npt.ArrayLike
) -> tuple[FloatArray, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Where the best action changes along the greed axis, for ``n`` rows at once.

    ``eu_none`` and ``eu_greed`` ``(..., A)``: each action's expected utility at ``p = 0``
    (belief ``b_N``) and ``p = 1`` (``b_G``); in between it is linear. Returns ``(p, below,
    above)``, each ``(..., A - 1)``: the switch points in increasing order (NaN-padded) and
    the action best just below and just above each (-1 where padded). Ties at ``p = 0`` go to
    the action that gains more with ``p``.

    Examples
    --------
    >>> p, below, above = switch_points([[0.0, -0.2, -1.0]], [[-1.0, -0.4, 0.0]])
    >>> p.round(3).tolist(), below.tolist(), above.tolist()  # reassure, defend, deter
    ([[0.25, 0.667]], [[0, 1]], [[1, 2]])
    """
    n0 = np.atleast_1d(np.asarray(eu_none, dtype=float))
    g1 = np.atleast_1d(np.asarray(eu_greed, dtype=float))
    lead, a_n = n0.shape[:-1], n0.shape[-1]
    n0, g1 = n0.reshape(-1, a_n), g1.reshape(-1, a_n)
    slope = g1 - n0
    rows = np.arange(n0.shape[0])
    # best at p = 0, ties to the larger slope
    top = n0 == n0.max(axis=1, keepdims=True)
    cur = np.argmax(np.where(top, slope, -np.inf), axis=1).astype(np.intp)
    at = np.zeros(n0.shape[0])
    out_p = np.full((n0.shape[0], max(a_n - 1, 0)), np.nan)
    out_b = np.full(out_p.shape, -1, dtype=np.intp)
    out_a = np.full(out_p.shape, -1, dtype=np.intp)
    live = np.ones(n0.shape[0], dtype=bool)
    for step in range(a_n - 1):
        gain = slope - slope[rows, cur][:, None]  # > 0: overtakes the current best later
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(gain > 0, (n0[rows, cur][:, None] - n0) / gain, np.inf)
        cross = np.where(cross < at[:, None], at[:, None], cross)  # rounding below the last
        first = cross.min(axis=1)
        # among the actions crossing first, the one that gains most keeps the lead after it
        nxt = np.argmax(np.where(cross == first[:, None], slope, -np.inf), axis=1)
        live &= first < 1.0  # a tie at p = 1 alone changes no recommendation
        out_p[live, step] = first[live]
        out_b[live, step] = cur[live]
        out_a[live, step] = nxt[live]
        cur = np.where(live, nxt, cur)
        at = np.where(live, first, at)
    shape = (*lead, max(a_n - 1, 0))
    return out_p.reshape(shape), out_b.reshape(shape), out_a.reshape(shape)


def kydd_payoffs(temptation: float, sucker_cost: float) -> xr.DataArray:
    """Payoff table of Kydd's two-player security dilemma game as ``U[action, rival_type]``.

    Mutual cooperation pays 1, mutual defection 0, defecting on a cooperator pays the
    *temptation* ``t`` and cooperating with a defector costs ``c`` (payoff ``-c``). Cooperation
    is ``reassure``, defection ``deter``; the trustworthy rival (``insecure``) cooperates,
    the untrustworthy one (``greedy``) defects. The observer cooperates iff its belief that
    the rival is trustworthy exceeds ``c / (1 + c - t)`` (Kydd 1997, 2005).

    Examples
    --------
    >>> kydd_payoffs(0.5, 0.5).sel(action="reassure").values.tolist()
    [-0.5, 1.0]
    """
    t, c = float(temptation), float(sucker_cost)
    if not np.isfinite(t) or not np.isfinite(c) or c < 0 or t >= 1:
        raise ParameterError(
            "kydd_payoffs: need a finite `sucker_cost` >= 0 and a `temptation` < 1 (a "
            f"security seeker prefers mutual cooperation); got t={t}, c={c}."
        )
    return xr.DataArray(
        [[0.0, t], [-c, 1.0]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure"]},
        name="payoff",
    )
