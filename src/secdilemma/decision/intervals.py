"""Central intervals of expected utility: at the current belief and along the greed axis.

With several belief draws (the fit's posterior, or the integrated exact observer's) an
action's expected utility has a distribution over the draws, and its central ``ci_prob``
interval is the quantiles of the draws' own expected utilities. With one belief vector the
only uncertainty is the simulation's: ±z·Monte Carlo s.e. in dynamic mode, none in static
mode. Along the greed axis (:func:`secdilemma.decision.static.greed_axis`) each point is a
belief over (draw, type) states; there a draw counts by its share of the point's belief.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["curve_band", "eu_interval", "weighted_quantiles"]

FloatArray = npt.NDArray[np.float64]


def _z(ci_prob: float) -> float:
    from scipy import stats  # here, not at import: about 1 s

    return float(stats.norm.ppf(0.5 + ci_prob / 2.0))


def eu_interval(
    per_draw: FloatArray,
    belief: FloatArray,
    se: FloatArray | None,
    eu: FloatArray,
    ci_prob: float,
    mode: str,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Monte Carlo s.e. of each action's EU and its central ``ci_prob`` interval.

    ``per_draw`` ``(S, A, K)`` utilities, ``belief`` ``(S, K)``, ``se`` ``(A, K)`` or
    ``None``, ``eu`` ``(A,)``. Over belief draws when there are several; otherwise ±z·MC
    s.e. (a point in static mode).

    Examples
    --------
    >>> u = np.array([[[1.0, 0.0]], [[3.0, 0.0]]])  # two draws, one action, two types
    >>> eu_interval(u, np.array([[1.0, 0.0], [1.0, 0.0]]), None, np.array([2.0]), 0.5,
    ...             "static")[1:]
    (array([1.5]), array([2.5]))
    """
    s = belief.shape[0]
    eu_draw = np.einsum("sak,sk->sa", per_draw, belief)  # (S, A)
    if se is not None:
        mcse = np.sqrt(np.einsum("ak,k->a", se**2, belief.mean(axis=0) ** 2))
    else:
        mcse = np.full(per_draw.shape[1], np.nan if mode == "dynamic" else 0.0)
    tail = (1.0 - ci_prob) / 2.0
    if s > 1:
        lo, hi = np.quantile(eu_draw, [tail, 1.0 - tail], axis=0)
    else:
        with np.errstate(over="ignore"):  # an infinite s.e. gives an unbounded interval
            pad = _z(ci_prob) * mcse
            lo, hi = eu - np.nan_to_num(pad, posinf=np.inf), eu + np.nan_to_num(pad, posinf=np.inf)
    return mcse, lo, hi


def weighted_quantiles(values: FloatArray, weights: FloatArray, qs: Sequence[float]) -> FloatArray:
    """Quantiles of ``values`` ``(n,)`` under ``weights`` ``(n,)``.

    The linear rule of :func:`numpy.quantile` (equal weights give exactly its answer), on the
    values with positive weight: sorted value ``i`` sits at ``(C_i - w_i) / (W - w_last)``,
    ``C`` the cumulative weight and ``W`` the total.

    Examples
    --------
    >>> v = np.array([3.0, 1.0, 2.0, 10.0])
    >>> q = [0.1, 0.5]
    >>> weighted_quantiles(v, np.ones(4), q).tolist() == np.quantile(v, q).tolist()
    True
    >>> weighted_quantiles(v, np.array([1.0, 1.0, 1.0, 0.0]), [0.5]).tolist()  # 10 weighs 0
    [2.0]
    """
    keep = weights > 0
    v, w = values[keep], weights[keep]
    if v.size == 1:
        return np.full(len(qs), float(v[0]))
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    pos = (np.cumsum(w) - w) / (w.sum() - w[-1])
    return np.interp(np.asarray(qs, dtype=float), pos, v)


def curve_band(
    per_draw: FloatArray,
    belief: FloatArray,
    se: FloatArray | None,
    w_line: FloatArray,
    eu_curve: FloatArray,
    ci_prob: float,
) -> tuple[FloatArray, FloatArray]:
    """The central ``ci_prob`` band of each action's EU along the greed axis ``(A, G)``.

    ``w_line`` ``(G, S*K)``: the belief over (draw, type) states at each point of the axis;
    ``eu_curve`` ``(A, G)``. With several belief draws: at each point, the quantiles of the
    draws' own expected utilities (each draw's conditional belief there), weighted by the
    draw's share of the point's belief; at the current belief this is :func:`eu_interval`'s.
    With one belief vector: ±z·MC s.e. of the curve (``se`` given), else the curve itself.

    Examples
    --------
    >>> u = np.array([[[0.0, -2.0]]])  # one belief vector, one action, two types
    >>> w = np.array([[0.0, 1.0], [1.0, 0.0]])  # the axis' two ends
    >>> lo, hi = curve_band(u, np.array([[0.5, 0.5]]), np.array([[0.1, 0.1]]), w,
    ...                     np.array([[-2.0, 0.0]]), 0.9)
    >>> np.round(hi - lo, 3).tolist()  # 2 x 1.645 x 0.1 at either end
    [[0.329, 0.329]]
    """
    s, k = belief.shape
    if s == 1:
        if se is None:
            return eu_curve.copy(), eu_curve.copy()
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite s.e.: unbounded
            pad = _z(ci_prob) * np.sqrt((se**2) @ (w_line**2).T)  # (A, G)
        pad = np.nan_to_num(pad, posinf=np.inf)
        return eu_curve - pad, eu_curve + pad
    tail = (1.0 - ci_prob) / 2.0
    wl = w_line.reshape(w_line.shape[0], s, k)  # (G, S, K)
    mass = wl.sum(axis=2)  # (G, S)
    with np.errstate(invalid="ignore", divide="ignore"):
        eu_draw = np.einsum("sak,gsk->ags", per_draw, wl) / mass[None]  # (A, G, S)
    lo, hi = np.empty_like(eu_curve), np.empty_like(eu_curve)
    for a, g in np.ndindex(*eu_curve.shape):
        lo[a, g], hi[a, g] = weighted_quantiles(eu_draw[a, g], mass[g], (tail, 1.0 - tail))
    return lo, hi
