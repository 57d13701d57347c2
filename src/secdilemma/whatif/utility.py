"""Utility tables and decision statistics for a block of cells at once.

The dynamic utility table ``U[action, type]`` (:func:`secdilemma.decision.utility_table`)
does not depend on the belief, so a sweep simulates it once per distinct setting of the
inputs it depends on, and the same table serves every belief. It is also linear in four
loss weights: a stage loss is ``arms·max(u, 0) + war·hazard + exploitation·(1 + exploit_offense·ω)
·g·max(y − u, 0)``, weighted by discounting and survival, and survival does not depend on the
weights. So the simulation keeps the three *unit* components (and the war probability) per
(action, type), and a cell's table is their weighted sum: changing ``losses_arms``,
``losses_war``, ``losses_exploitation``, ``losses_exploit_offense`` or the ω in the
exploitation weight needs no new futures. ``omega`` and ``delta`` enter the futures only
through ``h = 1 + ω − δ``, so the futures are keyed by ``h``.

The futures are the decision's: the same standardised noise (``seed``, ``n_sims`` per type,
one draw per horizon), the same reaction means, hazards and discounting as
:func:`~secdilemma.decision.rollout`, so a cell's table equals ``decide``'s up to rounding.

:func:`decision_stats` turns tables and beliefs into expected utilities, the best action,
P(best), EVPI and the threshold p*, as :func:`~secdilemma.decision.decide` does for one belief.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from secdilemma.decision.dynamic import standard_noise
from secdilemma.decision.problem import ACTION_POSTURES
from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    deterrence_multiplier,
    reaction_mean,
    threat_multiplier,
    war_stakes,
)
from secdilemma.model.simulate import as_generator
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.inputs import COEFFICIENTS, SIM_LOSSES, SweepBase

__all__ = [
    "Tables",
    "cell_tables",
    "decision_stats",
    "reduce_short",
    "row_dot",
    "simulate_units",
    "switch_points_short",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Elements of one (settings x actions x types x futures) array per simulation batch.
_BATCH_ELEMENTS = 2**21


@dataclass(frozen=True)
class Tables:
    """Per-cell utility tables ``(n, A, K)``; with the dynamic model also the war probability
    within the horizon and the discounted arms spending per (action, type)."""

    utility: FloatArray
    p_war: FloatArray | None
    arms: FloatArray | None


def simulate_units(
    base: SweepBase, settings: dict[str, FloatArray], horizon: IntArray
) -> dict[str, FloatArray]:
    """Mean unit components over the futures, ``(G, A, K)`` each, for ``G`` settings.

    ``settings`` holds ``(G,)`` arrays of ``h``, the coefficients and the simulation losses
    (``hazard_base``, ``hazard_slope``, ``discount``); ``horizon`` ``(G,)`` integers.
    Returns ``arms`` (discounted, survival-weighted ``max(u, 0)``), ``war`` (the same of the
    hazard), ``exploitation`` (of ``g·max(y − u, 0)``) and ``p_war`` (1 − survival).
    """
    g_n, a_n, k = horizon.size, base.moves.size, base.types.n_types
    out = {k_: np.empty((g_n, a_n, k)) for k_ in ("arms", "war", "exploitation", "p_war")}
    per_setting = a_n * k * base.n_sims
    step = max(1, _BATCH_ELEMENTS // per_setting)
    for h_val in np.unique(horizon):
        noise = standard_noise(as_generator(base.seed), base.params.nu, (base.n_sims, int(h_val)))
        idx = np.flatnonzero(horizon == h_val)
        for start in range(0, idx.size, step):
            sel = idx[start : start + step]
            part = _simulate(base, {n: v[sel] for n, v in settings.items()}, noise)
            for name, arr in part.items():
                out[name][sel] = arr
    return out


def _simulate(
    base: SweepBase, s: dict[str, FloatArray], noise: FloatArray
) -> dict[str, FloatArray]:
    """One batch: arrays over (setting, action, type, future), a loop over periods only."""

    def col(a: FloatArray) -> FloatArray:
        return np.asarray(a, dtype=float)[:, None, None, None]

    p = base.params
    lam = float(np.asarray(p.lam))
    pk = ModelParams(
        mu=col(s["mu"]),
        alpha=col(s["alpha"]),
        beta=col(s["beta"]),
        gamma=col(s["gamma"]),
        kappa=col(s["kappa"]),
        sigma=col(s["sigma"]),
        lam=lam,
        anchor=float(np.asarray(p.anchor)),
    )
    greed = base.types.greed[None, None, :, None]
    fear = base.types.fear[None, None, :, None]
    u = base.moves[None, :, None, None]
    up = np.maximum(u, 0.0)
    # each action's posture sets its threat and deterrence; omega the hazard's stakes
    d = np.array([ACTION_POSTURES.get(a, 0.0) for a in base.actions])[None, :, None, None]
    omega = col(s["omega"])
    h = threat_multiplier(omega, col(s["delta"]), d)
    kd = deterrence_multiplier(omega, d)
    stakes = war_stakes(omega)
    offense = h / (1.0 + omega)  # a buildup adds to the hazard by its offensive share
    sigma = col(s["sigma"])
    hb, hs, disc = col(s["hazard_base"]), col(s["hazard_slope"]), col(s["discount"])
    shape = (s["omega"].size, base.moves.size, base.types.n_types, noise.shape[0])
    x = np.full(shape, float(np.asarray(p.anchor))) if lam != 0.0 else None
    mean = reaction_mean(greed, fear, u, pk, h_prev=h, x_prev=x, k_prev=kd)
    surv = np.ones(shape)
    acc = {k: np.zeros(shape) for k in ("arms", "war", "exploitation")}
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(noise.shape[1]):
            if lam != 0.0 and t > 0:
                mean = reaction_mean(greed, fear, u, pk, h_prev=h, x_prev=x, k_prev=kd)
            y = mean + sigma * noise[:, t]
            haz = -np.expm1(-(hb + hs * (stakes * (offense * up + np.maximum(y, 0.0)))))
            w = disc**t * surv
            acc["arms"] += w * up
            acc["war"] += w * haz
            acc["exploitation"] += w * (greed * np.maximum(y - u, 0.0))
            surv = surv * (1.0 - haz)
            if x is not None:
                x = x + y
    out = {k: v.mean(axis=-1) for k, v in acc.items()}
    out["p_war"] = (1.0 - surv).mean(axis=-1)
    bad = [k for k, v in out.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ParameterError(
            f"whatif: the simulated {', '.join(bad)} overflow (inf or NaN) in double precision; "
            "give smaller coefficients or losses."
        )
    return out


def cell_tables(base: SweepBase, cells: Cells) -> Tables:
    """The utility table of every cell (payoff-table mode: the table with swept entries)."""
    n = cells.n
    if base.payoffs is not None:
        table = np.broadcast_to(base.payoffs, (n, *base.payoffs.shape)).copy()
        for name, vals in cells.columns.items():
            if name.startswith("payoff_"):
                a, t = _payoff_index(base, name)
                table[:, a, t] = vals.astype(float)
        return Tables(table, None, None)
    omega = cells.get(base, "omega").astype(float)
    delta = cells.get(base, "delta").astype(float)
    sim_names = [*COEFFICIENTS, *(f"losses_{s}" for s in SIM_LOSSES), "horizon"]
    keys = [omega, delta, *(cells.columns[c] for c in sim_names if cells.has(c))]
    ids, first = group(keys, n)
    settings = {"omega": omega[first], "delta": delta[first]}
    for c in COEFFICIENTS:
        settings[c] = cells.get(base, c).astype(float)[first]
    for s in SIM_LOSSES:
        settings[s] = cells.get(base, f"losses_{s}").astype(float)[first]
    horizon = cells.get(base, "horizon").astype(np.int64)[first]
    units = simulate_units(base, settings, horizon)
    arms_w = cells.get(base, "losses_arms").astype(float)[:, None, None]
    war_w = cells.get(base, "losses_war").astype(float)[:, None, None]
    e_w = cells.get(base, "losses_exploitation").astype(float)
    offense = cells.get(base, "losses_exploit_offense").astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        e_w = (e_w * (1.0 + offense * omega))[:, None, None]
        arms = arms_w * units["arms"][ids]
        utility = -(arms + war_w * units["war"][ids] + e_w * units["exploitation"][ids])
    if not np.all(np.isfinite(utility)):
        raise ParameterError(
            "whatif: the expected losses overflow (inf or NaN) in double precision; give "
            "smaller losses."
        )
    return Tables(utility, units["p_war"][ids], arms)


def _payoff_index(base: SweepBase, name: str) -> tuple[int, int]:
    rest = name[len("payoff_") :]
    for i, a in enumerate(base.actions):
        t = rest[len(a) + 1 :]
        if rest.startswith(a + "_") and t in base.types.names:
            return i, base.types.index(t)
    raise ParameterError(f"whatif: {name!r} names no entry of the payoff table.")


def _pairs(actions: tuple[str, ...], eu: FloatArray) -> tuple[IntArray, IntArray]:
    """The compared pair per cell: deter and reassure when both exist, else the two best."""
    n = eu.shape[0]
    if "deter" in actions and "reassure" in actions:
        return (
            np.full(n, actions.index("deter"), dtype=np.intp),
            np.full(n, actions.index("reassure"), dtype=np.intp),
        )
    if len(actions) < 2:
        return np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp)
    order = np.argsort(-eu, axis=1, kind="stable")
    return order[:, 0].astype(np.intp), order[:, 1].astype(np.intp)


def reduce_short(x: FloatArray, axis: int, ufunc: np.ufunc) -> FloatArray:
    """``ufunc.reduce`` along a short ``axis`` (actions, types) as one array operation per
    entry, left to right: the same numbers as the reduction (a sum in order), without its
    per-row overhead on millions of rows of two or three entries."""
    moved = np.moveaxis(x, axis, 0)  # a view: its entries are views, not copies
    parts = [moved[i] for i in range(x.shape[axis])]
    out = parts[0]
    for part in parts[1:]:
        out = ufunc(out, part)
    return np.asarray(out)


def row_dot(x: FloatArray, b: FloatArray) -> FloatArray:
    """``x @ b`` per row over the types: ``x`` ``(n, ..., K)``, ``b`` ``(n, K)``.

    The products summed in type order, element by element: the same bits whatever the
    block's size (``einsum`` may order the sum differently for different shapes, so a
    cell's last bit would depend on how the sweep was chunked).
    """
    shape = (b.shape[0], *([1] * (x.ndim - 2)))
    out = x[..., 0] * b[:, 0].reshape(shape)
    for k in range(1, b.shape[1]):  # (no (n, ..., K) temporary of products)
        out = out + x[..., k] * b[:, k].reshape(shape)
    return np.asarray(out)


def decision_stats(
    utility: FloatArray, belief: FloatArray, greed: FloatArray, actions: tuple[str, ...]
) -> dict[str, FloatArray]:
    """Expected utility, best action, P(best), EVPI, p* for ``n`` (table, belief) pairs.

    ``utility`` ``(n, A, K)``, ``belief`` ``(n, K)``; the formulas of
    :mod:`secdilemma.decision.static` (ties in P(best) within 1e-12 shared, EVPI >= 0, the
    greed axis spread evenly over a motive group the belief puts no mass on).
    """
    n = belief.shape[0]
    rows = np.arange(n)
    eu = row_dot(utility, belief)
    best = np.argmax(eu, axis=1)
    u_max = reduce_short(utility, 1, np.maximum)  # (n, K): the best payoff against each type
    top = utility >= (u_max - 1e-12)[:, None, :]
    p_best = row_dot(top / reduce_short(top.astype(float), 1, np.add)[:, None, :], belief)
    evpi = np.maximum(row_dot(u_max, belief) - reduce_short(eu, 1, np.maximum), 0.0)
    b_g, b_n = _axis_beliefs(belief, greed)
    i, j = _pairs(actions, eu)
    sw, below, above = switch_points_short(row_dot(utility, b_n), row_dot(utility, b_g))
    switched = np.isfinite(sw[:, 0]) if sw.shape[1] else np.zeros(n, dtype=bool)
    # the compared pair is the first switch's where there is one (decide's p*)
    i = np.where(switched, above[:, 0] if sw.shape[1] else i, i).astype(np.intp)
    j = np.where(switched, below[:, 0] if sw.shape[1] else j, j).astype(np.intp)
    diff = utility[rows, i, :] - utility[rows, j, :]
    d_g, d_n = row_dot(diff, b_g), row_dot(diff, b_n)
    i_above = d_g > d_n
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        cross = (i != j) & (d_g != d_n) & ~(d_g * d_n > 0)  # as static.threshold_on_axis
        p_star = np.where(cross, d_n / (d_n - d_g), np.nan)
    if sw.shape[1]:  # p* is where the best action first changes (NaN: it never does)
        p_star = np.where(switched, sw[:, 0], np.nan)
    upper = np.where(i_above, i, j)
    upper_wins = np.where(i_above, d_g > 0, d_g < 0)  # no flip: the upper action everywhere?
    effective = np.where(cross, p_star, np.where(upper_wins, 0.0, 1.0))
    effective = np.where((i == j) | ((d_g == 0) & (d_n == 0)), np.nan, effective)
    return {
        "expected_utility": eu,
        "best_action": best.astype(np.int8),
        "p_best": p_best,
        "evpi": evpi,
        "p_greed": belief @ np.clip(greed, 0.0, 1.0),
        "p_star": p_star,
        "p_star_effective": effective,
        "upper_action": upper.astype(np.int8),
        "eu_gap": eu[rows, i] - eu[rows, j],
    }


def _axis_beliefs(belief: FloatArray, greed: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The beliefs at the ends of the greed axis, ``(b_G, b_N)``: the belief weighted by
    each type's greed (and by its absence), normalised; spread evenly over a motive group
    the belief puts no mass on."""
    g = np.clip(greed, 0.0, 1.0)
    out = []
    for w_type in (g, 1.0 - g):
        w = belief * w_type
        total = reduce_short(w, 1, np.add)[:, None]
        w = np.where(total <= 0, w_type[None, :], w)
        out.append(w / (reduce_short(w, 1, np.add)[:, None] if np.any(total <= 0) else total))
    return out[0], out[1]


def _first_argmax(cols: list[FloatArray]) -> IntArray:
    """``np.argmax`` over ``len(cols)`` columns ``(n,)`` (the first of equal maxima; no NaN)."""
    best, idx = cols[0], np.zeros(cols[0].shape, dtype=np.intp)
    for a, col in enumerate(cols[1:], start=1):
        up = col > best
        best, idx = np.where(up, col, best), np.where(up, a, idx)
    return idx


def switch_points_short(
    eu_none: FloatArray, eu_greed: FloatArray
) -> tuple[FloatArray, IntArray, IntArray]:
    """:func:`secdilemma.decision.static.switch_points` for ``(n, A)`` rows of finite expected
    utilities, its steps one column (action) at a time: the same operations on the same
    numbers, so the same results (tests/test_whatif_metrics.py holds them equal), without
    reductions over the short action axis, whose per-row cost dominates on many rows."""
    n, a_n = eu_none.shape
    slope = eu_greed - eu_none
    n0 = [eu_none[:, a] for a in range(a_n)]
    sl = [slope[:, a] for a in range(a_n)]
    rows = np.arange(n)
    top = reduce_short(eu_none, 1, np.maximum)
    cur = _first_argmax([np.where(c == top, s, -np.inf) for c, s in zip(n0, sl, strict=True)])
    at = np.zeros(n)
    out_p = np.full((n, max(a_n - 1, 0)), np.nan)
    out_b = np.full(out_p.shape, -1, dtype=np.intp)
    out_a = np.full(out_p.shape, -1, dtype=np.intp)
    live = np.ones(n, dtype=bool)
    for step in range(a_n - 1):
        s_cur, n_cur = slope[rows, cur], eu_none[rows, cur]
        cross = []
        for c, s in zip(n0, sl, strict=True):
            gain = s - s_cur  # > 0: overtakes the current best later
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(gain > 0, (n_cur - c) / gain, np.inf)
            cross.append(np.where(x < at, at, x))  # rounding below the last
        first = cross[0]
        for x in cross[1:]:
            first = np.minimum(first, x)
        nxt = _first_argmax(
            [np.where(x == first, s, -np.inf) for x, s in zip(cross, sl, strict=True)]
        )
        live &= first < 1.0  # a tie at p = 1 alone changes no recommendation
        out_p[live, step] = first[live]
        out_b[live, step] = cur[live]
        out_a[live, step] = nxt[live]
        cur = np.where(live, nxt, cur)
        at = np.where(live, first, at)
    return out_p, out_b, out_a
