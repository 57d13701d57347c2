"""Public entry points: :func:`decide` and :func:`value_of_information`.

Two modes share one machinery (:mod:`secdilemma.decision.static`):

* **static**: the user gives a payoff table ``U[action, rival_type]``;
* **dynamic**: ``U[action, rival_type]`` is the expected discounted utility (minus the loss of
  :class:`~secdilemma.decision.Losses`) of committing to the action for ``horizon`` periods,
  computed by simulating the generative model forward for every type on common random numbers
  (:func:`~secdilemma.decision.dynamic.utility_table`). With parameter draws the table is
  computed per draw.

Beliefs may be one probability vector over types (the exact observer's) or posterior draws
(a DataArray with ``rival_type`` and e.g. ``chain``/``draw`` or ``sample`` dims), from which
the credible interval of each action's expected utility follows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.decision import static
from secdilemma.decision.dynamic import utility_table
from secdilemma.decision.intervals import curve_band, eu_interval
from secdilemma.decision.losses import Losses
from secdilemma.decision.problem import (
    DEFAULT_HORIZON,
    DynamicModel,
    check_positive_int,
    overflow_causes,
    parse_belief,
)
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.params import check_number
from secdilemma.model.simulate import SeedLike, as_generator
from secdilemma.model.types import TypeSpace

__all__ = ["decide", "value_of_information"]

FloatArray = npt.NDArray[np.float64]

_N_CURVE = 101
_LONG_NAMES = {
    "threshold": "belief threshold p* on the greed axis: the first point where the best "
    "action changes",
    "switch_point": "every point on the greed axis where the best action changes",
    "evpi": "expected value of perfect information",
    "eu_curve_lower": "lower end of the central ci_prob band of expected utility",
    "eu_curve_upper": "upper end of the central ci_prob band of expected utility",
}


@dataclass(frozen=True)
class _States:
    """Utilities over (draw, type) states and their weights."""

    utility: FloatArray  # (A, S*K), state n = s*K + k
    weights: FloatArray  # (S*K,)
    greed: FloatArray  # (S*K,)
    belief: FloatArray  # (S, K)
    per_draw_utility: FloatArray  # (S, A, K)
    se: FloatArray | None  # (A, K) Monte Carlo standard error (dynamic, fixed params)
    types: TypeSpace
    actions: tuple[str, ...]
    mode: str
    attrs: dict[str, Any]
    causes: str  # what to blame when the expected utilities overflow


def _payoff_table(
    payoffs: Any, types: TypeSpace | None, actions: Any
) -> tuple[FloatArray, TypeSpace, tuple[str, ...]]:
    if isinstance(payoffs, xr.DataArray):
        if set(payoffs.dims) != {"action", "rival_type"}:
            raise ParameterError(
                f"`payoffs` must have dims (action, rival_type); got {list(payoffs.dims)}."
            )
        names = [str(n) for n in payoffs["rival_type"].values]
        if types is None:
            types = TypeSpace.from_names(names)
        if set(names) != set(types.names):
            raise ParameterError(
                f"`payoffs` rival_type coords {names} do not match the type space "
                f"{list(types.names)}."
            )
        all_actions = tuple(str(a) for a in payoffs["action"].values)
        table = payoffs.sel(rival_type=list(types.names)).transpose("action", "rival_type").values
    else:
        types = TypeSpace.default() if types is None else types
        table = np.asarray(payoffs, dtype=float)
        if table.ndim != 2 or table.shape[1] != types.n_types:
            raise ParameterError(
                f"`payoffs` must be a table (action, rival_type) with {types.n_types} columns "
                f"{list(types.names)}; got shape {table.shape}."
            )
        if actions is None:
            if table.shape[0] != 2:
                raise ParameterError(
                    "`payoffs` has other than 2 rows: name them with `actions` or give a "
                    "DataArray with an `action` coordinate."
                )
            all_actions = ("deter", "reassure")
        else:
            all_actions = tuple(str(a) for a in actions)
            if len(all_actions) != table.shape[0]:
                raise ParameterError(
                    f"`actions` names {len(all_actions)} actions but `payoffs` has "
                    f"{table.shape[0]} rows."
                )
            actions = None
    table = np.asarray(table, dtype=float)
    if not np.all(np.isfinite(table)):
        raise ParameterError("`payoffs` must be finite.")
    if len(set(all_actions)) != len(all_actions):
        raise ParameterError(f"`payoffs` has duplicate actions {list(all_actions)}.")
    if actions is not None:
        wanted = [str(a) for a in ([actions] if isinstance(actions, str) else actions)]
        unknown = [a for a in wanted if a not in all_actions]
        if unknown:
            raise ParameterError(
                f"`actions`: unknown action(s) {unknown}; the payoff table has {list(all_actions)}."
            )
        table = table[[all_actions.index(a) for a in wanted]]
        all_actions = tuple(wanted)
    return table, types, all_actions


def _states(
    belief: Any,
    *,
    payoffs: Any,
    types: TypeSpace | None,
    params: ModelParams | None,
    losses: Losses | Mapping[str, float] | None,
    actions: Any,
    horizon: int | None,
    n_sims: int,
    seed: SeedLike,
) -> _States:
    as_generator(seed)  # a bad seed is an error in either mode
    if payoffs is not None:
        given = [
            n
            for n, v in (("params", params), ("losses", losses), ("horizon", horizon))
            if v is not None
        ]
        if given:
            raise ParameterError(
                f"give either `payoffs` (static mode) or {given} (dynamic mode), not both."
            )
        table, types, names = _payoff_table(payoffs, types, actions)
        b, types = parse_belief(belief, types)
        per_draw = np.broadcast_to(table, (b.shape[0], *table.shape)).copy()
        se: FloatArray | None = None
        mode = "static"
        attrs: dict[str, Any] = {"types": json.dumps(types.to_dict())}
        causes = f"|payoffs| up to {float(np.max(np.abs(table))):.3g}; rescale them"
    else:
        if isinstance(belief, xr.DataArray) and types is None and "rival_type" in belief.coords:
            types = TypeSpace.from_names([str(n) for n in belief["rival_type"].values])
        model = DynamicModel(
            types=types,
            params=params,
            losses=losses,
            actions=actions,
            horizon=DEFAULT_HORIZON if horizon is None else horizon,
        )
        b, types = parse_belief(belief, model.type_space)
        tab = utility_table(model, n_sims=n_sims, seed=seed)
        names = model.action_names
        if model.n_draws is not None:
            if b.shape[0] == 1:
                b = np.repeat(b, model.n_draws, axis=0)
            elif b.shape[0] != model.n_draws:
                raise ParameterError(
                    f"`belief` has {b.shape[0]} draws but `params` has {model.n_draws}; give "
                    "matching draws (or one belief vector)."
                )
            per_draw = tab.mean
            se = None
        else:
            per_draw = np.broadcast_to(tab.mean[0], (b.shape[0], *tab.mean.shape[1:])).copy()
            se = tab.se[0]
        mode = "dynamic"
        attrs = {**model.describe(), "n_sims": n_sims, "n_reps": tab.n_reps}
        causes = f"{overflow_causes(model)}; give smaller values"
    s, k = b.shape
    utility = per_draw.transpose(1, 0, 2).reshape(len(names), s * k)
    weights = (b / s).reshape(-1)
    greed = np.tile(types.greed, s)
    attrs["seed"] = "none" if seed is None else str(seed)
    out = _States(
        utility, weights, greed, b, per_draw, se, types, tuple(names), mode, attrs, causes
    )
    _check_finite(out.utility, out, "utilities")
    return out


def _check_finite(values: FloatArray, st: _States, what: str) -> None:
    """A recommendation only from finite numbers: else name the inputs that overflowed."""
    if not np.all(np.isfinite(values)):
        raise ParameterError(
            f"decision: the {what} overflow (inf or NaN) in double precision: {st.causes}."
        )


def decide(
    belief: Any = None,
    *,
    payoffs: Any = None,
    types: TypeSpace | None = None,
    params: ModelParams | None = None,
    losses: Losses | Mapping[str, float] | None = None,
    actions: Sequence[str] | Mapping[str, float] | None = None,
    horizon: int | None = None,
    n_sims: int = 2000,
    ci_prob: float = 0.90,
    seed: SeedLike = None,
) -> xr.Dataset:
    """Deter, defend or reassure? Expected utilities, P(best), the threshold p* and EVPI.

    Parameters
    ----------
    belief
        Posterior over types: ``None`` (uniform), a ``{type: p}`` mapping, a vector ``(K,)``,
        draws ``(S, K)``, or a DataArray with a ``rival_type`` dim (plus e.g. ``chain``,
        ``draw``).
    payoffs
        Static mode: a payoff table ``U[action, rival_type]`` (DataArray, or an array with
        ``actions`` naming its rows; two rows default to deter, reassure).
    types
        Type space (default from the belief's or the payoffs' coords, else
        greedy/insecure/mixed).
    params
        Dynamic mode: model parameters (scalars, or ``(S,)`` arrays matching belief draws).
    losses
        Dynamic mode: :class:`~secdilemma.decision.Losses` or a mapping of its fields.
    actions
        Dynamic mode: names from ``DEFAULT_ACTIONS``, or ``{name: move}`` or ``{name: (move,
        posture)}`` (default deter, defend, reassure). Static mode: the rows of ``payoffs``
        to consider.
    horizon
        Dynamic mode: periods to simulate (default 10).
    n_sims
        Dynamic mode: simulated futures per type (per draw: ``n_sims // S``).
    ci_prob
        Probability of the central interval of expected utility (default 0.90, the fit's
        interval level; recorded in the attrs as ``ci_prob``).
    seed
        Seed of the simulation (dynamic mode).

    Returns
    -------
    xarray.Dataset
        dims ``action``, ``rival_type``, ``greed_axis``:

        * ``utility`` ``(action, rival_type)``: the table used (mean over draws);
          ``utility_se`` its Monte Carlo standard error (dynamic mode);
        * ``expected_utility``, ``eu_lower``, ``eu_upper`` ``(action)``: EU and its central
          ``ci_prob`` interval over posterior draws (for a single belief vector: ±z·MC s.e.
          in dynamic mode, a point in static mode); ``eu_mcse``;
        * ``p_best`` ``(action)``: posterior probability that the action is the best one for
          the true type (and parameters) — the decision a perfectly informed observer
          would take;
        * ``evpi``: expected value of perfect information;
        * ``threshold``: p* on the greed axis, the smallest ``P(greed motive)`` at which the
          best action changes (NaN when the choice does not flip; with two actions, where
          they are equally good); ``p_greed`` the current position; attrs
          ``threshold_pair`` (``"below|above"``) and ``threshold_upper_action`` (the better
          action just above p*);
        * ``switch_point``, ``switch_below``, ``switch_above`` ``(switch)``: every point where
          the best action changes (with three actions up to two, e.g. reassure to defend,
          then defend to deter), and the actions best just below and above it;
        * ``eu_curve`` ``(action, greed_axis)``, ``evpi_curve`` ``(greed_axis)``: along the
          greed axis (see :mod:`secdilemma.decision.static`), for the plot;
          ``eu_curve_lower``, ``eu_curve_upper`` ``(action, greed_axis)``: the curve's central
          ``ci_prob`` band, computed as ``eu_lower``/``eu_upper`` are at every point of the
          axis (over the posterior draws, each weighted by its share of that point's belief;
          for one belief vector ±z·MC s.e. in dynamic mode, the curve itself in static mode);
        * attrs ``recommended``, ``mode`` and the model/losses/seed used.

    Examples
    --------
    >>> import xarray as xr
    >>> U = xr.DataArray([[-1.0, -3.0], [-4.0, 0.0]], dims=("action", "rival_type"),
    ...     coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure"]})
    >>> ds = decide({"greedy": 0.6, "insecure": 0.4}, payoffs=U)
    >>> ds.attrs["recommended"], round(float(ds.threshold), 3)  # p* = 3 / (3 + 3)
    ('deter', 0.5)
    """
    ci_prob = check_number(
        ci_prob, "ci_prob", low=0.0, high=1.0, low_open=True, high_open=True, where="decide"
    )
    n_sims = check_positive_int("n_sims", n_sims)
    st = _states(
        belief,
        payoffs=payoffs,
        types=types,
        params=params,
        losses=losses,
        actions=actions,
        horizon=horizon,
        n_sims=n_sims,
        seed=seed,
    )
    U, w = st.utility, st.weights
    eu = static.expected_utility(U, w)
    _check_finite(np.append(eu, static.evpi(U, w)), st, "expected utilities")
    mcse, lo, hi = eu_interval(st.per_draw_utility, st.belief, st.se, eu, ci_prob, st.mode)
    best = int(np.argmax(eu))
    p, b_g, b_n = static.greed_axis(w, st.greed)
    p_star, pair, upper, note, pts, below, above = _threshold(st.actions, U, b_g, b_n)
    grid = np.linspace(0.0, 1.0, _N_CURVE)
    ds = xr.Dataset(
        {
            "utility": (("action", "rival_type"), st.per_draw_utility.mean(axis=0)),
            "expected_utility": ("action", eu),
            "eu_lower": ("action", lo),
            "eu_upper": ("action", hi),
            "eu_mcse": ("action", mcse),
            "p_best": ("action", static.p_best(U, w)),
            "evpi": ((), static.evpi(U, w)),
            "threshold": ((), p_star),
            "switch_point": ("switch", pts),
            "switch_below": ("switch", np.asarray(below, dtype=object)),
            "switch_above": ("switch", np.asarray(above, dtype=object)),
            "p_greed": ((), p),
            "belief": ("rival_type", st.belief.mean(axis=0)),
            **_curves(st, grid, b_g, b_n, ci_prob),
        },
        coords={
            "action": list(st.actions),
            "rival_type": list(st.types.names),
            "greed_axis": grid,
        },
        attrs={
            "recommended": st.actions[best],
            "mode": st.mode,
            "threshold_pair": pair,
            "threshold_upper_action": upper,
            "threshold_note": note,
            "threshold_definition": "p* = the smallest P(greed motive) at which the best "
            "action changes (from the action best against a surely non-greedy rival); every "
            "change is listed in switch_point, switch_below, switch_above",
            "threshold_axis": "P(greed motive) = sum of belief x greed loading",
            "ci_prob": ci_prob,
            "n_belief_draws": st.belief.shape[0],
            "secdilemma_version": __version__,
            **st.attrs,
        },
    )
    if st.se is not None:
        ds["utility_se"] = (("action", "rival_type"), st.se)
    for name, text in _LONG_NAMES.items():
        ds[name].attrs["long_name"] = text
    return ds


def _curves(
    st: _States, grid: FloatArray, b_g: FloatArray, b_n: FloatArray, ci_prob: float
) -> dict[str, Any]:
    """Along the greed axis: each action's EU curve and its ``ci_prob`` band, and EVPI."""
    w_line = grid[:, None] * b_g[None, :] + (1.0 - grid[:, None]) * b_n[None, :]  # (G, N)
    eu_curve = st.utility @ w_line.T  # (A, G)
    lo, hi = curve_band(st.per_draw_utility, st.belief, st.se, w_line, eu_curve, ci_prob)
    dims = ("action", "greed_axis")
    return {
        "eu_curve": (dims, eu_curve),
        "eu_curve_lower": (dims, lo),
        "eu_curve_upper": (dims, hi),
        "evpi_curve": ("greed_axis", np.array([static.evpi(st.utility, wl) for wl in w_line])),
    }


def _threshold(
    actions: tuple[str, ...], U: FloatArray, b_g: FloatArray, b_n: FloatArray
) -> tuple[float, str, str, str, FloatArray, list[str], list[str]]:
    """p* (the first switch of the best action along the greed axis), the pair it separates
    (``"below|above"``), the action best above it, a note, and every switch point with the
    actions best below and above it."""
    p, below, above = static.switch_points(U @ b_n, U @ b_g)
    keep = np.isfinite(p)
    pts = p[keep]
    lo = [actions[i] for i in below[keep]]
    hi = [actions[i] for i in above[keep]]
    if len(actions) < 2:
        return (
            float("nan"),
            f"{actions[0]}|{actions[0]}",
            actions[0],
            "only one action",
            pts,
            lo,
            hi,
        )
    if pts.size == 0:
        only = actions[int(np.argmax(U @ b_n))]
        note = f"{only} is better on the whole greed axis; the choice does not flip"
        return float("nan"), f"{only}|{only}", only, note, pts, lo, hi
    note = f"{hi[0]} is better above p* (the recommendation switches from {lo[0]})"
    if pts.size > 1:
        note += "; further switches: " + ", ".join(
            f"{b} to {a} at {x:.3f}" for x, b, a in zip(pts[1:], lo[1:], hi[1:], strict=True)
        )
    return float(pts[0]), f"{lo[0]}|{hi[0]}", hi[0], note, pts, lo, hi


def _channel_table(channel: Any, types: TypeSpace, threat: float) -> tuple[FloatArray, list[str]]:
    """Likelihood table ``P(outcome | type)`` ``(O, K)`` and outcome labels."""
    if isinstance(channel, SignalParams):
        p1 = channel.likelihood_ratio(types, threat=threat)  # (J, K)
        j = channel.n_channels
        if j > 10:
            raise ParameterError(f"`channel` has {j} signals; at most 10 (2^J joint outcomes).")
        rows, labels = [], []
        for bits in itertools.product((0, 1), repeat=j):
            b = np.asarray(bits)[:, None]
            rows.append(np.prod(np.where(b == 1, p1, 1.0 - p1), axis=0))
            labels.append(",".join(f"{n}={v}" for n, v in zip(channel.names, bits, strict=True)))
        return np.asarray(rows), labels
    if isinstance(channel, xr.DataArray):
        if "rival_type" not in channel.dims or channel.ndim != 2:
            raise ParameterError(
                f"`channel` DataArray must have dims (outcome, rival_type); got "
                f"{list(channel.dims)}."
            )
        other = next(d for d in channel.dims if d != "rival_type")
        if "rival_type" in channel.coords:
            channel = channel.sel(rival_type=list(types.names))
        table = channel.transpose(other, "rival_type").values
        labels = [str(v) for v in channel[other].values] if other in channel.coords else []
    else:
        table = np.asarray(channel, dtype=float)
        labels = []
    table = np.asarray(table, dtype=float)
    if table.ndim != 2 or table.shape[1] != types.n_types:
        raise ParameterError(
            f"`channel` must be a likelihood table P(outcome | type) of shape (n_outcomes, "
            f"{types.n_types}); got shape {table.shape}."
        )
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ParameterError("`channel` probabilities must be finite and >= 0.")
    sums = table.sum(axis=0)
    if not np.allclose(sums, 1.0, atol=1e-9):
        raise ParameterError(
            f"`channel`: each type's outcome probabilities must sum to 1; got {sums.tolist()}."
        )
    return table, labels or [f"outcome_{o}" for o in range(table.shape[0])]


def value_of_information(
    belief: Any = None,
    *,
    channel: Any = None,
    payoffs: Any = None,
    types: TypeSpace | None = None,
    params: ModelParams | None = None,
    losses: Losses | Mapping[str, float] | None = None,
    actions: Sequence[str] | Mapping[str, float] | None = None,
    horizon: int | None = None,
    cost: float = 0.0,
    threat: float = 0.0,
    n_sims: int = 2000,
    seed: SeedLike = None,
) -> xr.Dataset:
    """EVPI, and EVSI of a signal channel (what a costly test of intentions is worth).

    Preposterior analysis: for every outcome of the channel, the posterior over types, the
    best action and its expected utility; ``EVSI = E_s[max_a EU(a | s)] - max_a EU(a)``.
    The decision is made after seeing the outcome (in dynamic mode: committing to an action
    for the horizon). ``EVSI <= EVPI`` always.

    Parameters
    ----------
    belief, payoffs, types, params, losses, actions, horizon, n_sims, seed
        As in :func:`decide`.
    channel
        A likelihood table ``P(outcome | type)`` (array ``(O, K)`` or DataArray with dims
        ``(outcome, rival_type)``), or :class:`~secdilemma.model.SignalParams` (its ``J``
        binary channels observed once, jointly: ``2^J`` outcomes).
    cost
        What running the test costs (utility units, >= 0); ``evsi_net = evsi - cost``.
    threat
        ``h * u⁺`` when the signal is sent (for channels with a fear-times-threat term).

    Returns
    -------
    xarray.Dataset
        ``evpi``, ``evsi``, ``evsi_net``, ``cost``; per ``outcome``: ``p_outcome``,
        ``posterior`` ``(outcome, rival_type)``, ``eu_given_outcome`` ``(outcome, action)``,
        ``best_action``; ``expected_utility`` ``(action)`` before the test; attr
        ``worth_testing``.

    See Also
    --------
    secdilemma.decision.evsi_by_channel : the EVSI of each channel of a SignalParams alone,
        net of a cost per channel, next to this joint EVSI.

    Examples
    --------
    >>> from secdilemma.decision import kydd_payoffs
    >>> perfect = [[1.0, 0.0], [0.0, 1.0]]  # reveals the type
    >>> ds = value_of_information([0.5, 0.5], payoffs=kydd_payoffs(0.5, 0.5), channel=perfect)
    >>> bool(abs(float(ds.evsi) - float(ds.evpi)) < 1e-12)
    True
    """
    if channel is None:
        raise ParameterError(
            "value_of_information: give a `channel` (likelihood table or SignalParams)."
        )
    cost = check_number(cost, "cost", low=0.0, where="value_of_information")
    threat = check_number(threat, "threat", where="value_of_information")
    n_sims = check_positive_int("n_sims", n_sims)
    st = _states(
        belief,
        payoffs=payoffs,
        types=types,
        params=params,
        losses=losses,
        actions=actions,
        horizon=horizon,
        n_sims=n_sims,
        seed=seed,
    )
    table, labels = _channel_table(channel, st.types, threat)
    s = st.belief.shape[0]
    lik = np.tile(table, (1, s))  # (O, S*K), state n = s*K + k
    info = static.evsi(st.utility, st.weights, lik)
    _check_finite(np.append(info.eu_given_outcome, info.evsi), st, "expected utilities")
    k = st.types.n_types
    post_types = info.state_posterior.reshape(len(labels), s, k).sum(axis=1)
    value_pi = static.evpi(st.utility, st.weights)
    ds = xr.Dataset(
        {
            "evpi": ((), value_pi),
            "evsi": ((), info.evsi),
            "evsi_net": ((), info.evsi - float(cost)),
            "cost": ((), float(cost)),
            "p_outcome": ("outcome", info.p_outcome),
            "posterior": (("outcome", "rival_type"), post_types),
            "eu_given_outcome": (("outcome", "action"), info.eu_given_outcome),
            "best_action": (
                "outcome",
                np.asarray(
                    [st.actions[a] for a in np.argmax(info.eu_given_outcome, axis=1)], dtype=object
                ),
            ),
            "expected_utility": ("action", static.expected_utility(st.utility, st.weights)),
            "likelihood": (("outcome", "rival_type"), table),
        },
        coords={"outcome": labels, "rival_type": list(st.types.names), "action": list(st.actions)},
        attrs={
            "mode": st.mode,
            "worth_testing": int(info.evsi > cost),
            "secdilemma_version": __version__,
            **st.attrs,
        },
    )
    return ds
