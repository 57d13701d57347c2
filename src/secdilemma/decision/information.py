"""What each signal channel is worth on its own: :func:`evsi_by_channel`.

:func:`~secdilemma.decision.value_of_information` values observing a channel (or all ``J``
channels of a :class:`~secdilemma.model.SignalParams`, jointly: ``2^J`` outcomes) before
acting. The question a user asks of a list of costly tests of intentions is channel by
channel: which one, alone, is worth its cost? :func:`evsi_by_channel` answers it with the same
preposterior analysis per channel (two outcomes, ``s = 1`` and ``s = 0``), next to the joint
EVSI and EVPI, in static (payoff table) or dynamic (simulated utilities) mode.

Each channel's EVSI lies in ``[0, EVSI_joint]`` and ``EVSI_joint <= EVPI`` (a channel is a
garbling of the joint observation, and that of perfect information); a cheap-talk channel
(``eta_g = eta_f = 0``: the same probability under every type) is worth exactly 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.decision import static
from secdilemma.decision.analysis import _channel_table, _check_finite, _States, _states
from secdilemma.decision.losses import Losses
from secdilemma.decision.problem import check_positive_int
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.params import check_number
from secdilemma.model.simulate import SeedLike
from secdilemma.model.types import TypeSpace

__all__ = ["evsi_by_channel"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Most channels whose joint EVSI is enumerated (2^J outcomes); beyond, it is NaN.
MAX_JOINT_CHANNELS = 10


def channel_costs(cost: Any, names: Sequence[str]) -> FloatArray:
    """Cost of each channel ``(J,)`` from a number, a ``{channel: cost}`` mapping, a sequence
    in channel order or a DataArray over ``signal``; each a finite number >= 0.

    Raises :class:`ParameterError` naming the channel whose cost is bad, missing or unknown.

    Examples
    --------
    >>> channel_costs(0.1, ["a", "b"]).tolist()
    [0.1, 0.1]
    >>> channel_costs({"a": 0.0, "b": 0.2}, ["a", "b"]).tolist()
    [0.0, 0.2]
    """
    names = list(names)
    if isinstance(cost, xr.DataArray) and cost.dims == ("signal",) and "signal" in cost.coords:
        cost = {str(n): v.item() for n, v in zip(cost["signal"].values, cost, strict=True)}
    if isinstance(cost, Mapping):
        unknown = sorted(str(k) for k in cost if k not in names)
        missing = [n for n in names if n not in cost]
        if unknown or missing:
            raise ParameterError(
                f"evsi_by_channel: `cost` must give one cost per channel {names}; "
                + (f"unknown channel(s) {unknown}" if unknown else "")
                + ("; " if unknown and missing else "")
                + (f"no cost for channel(s) {missing}" if missing else "")
                + "."
            )
        values = [cost[n] for n in names]
    elif isinstance(cost, (str, bytes)) or np.ndim(cost) > 1:
        raise ParameterError(
            f"evsi_by_channel: `cost` must be a number, a mapping {{channel: cost}} or one "
            f"cost per channel {names}; got {cost!r}."
        )
    elif np.ndim(cost) == 0:
        values = [cost] * len(names)
    else:
        values = list(cost)
        if len(values) != len(names):
            raise ParameterError(
                f"evsi_by_channel: `cost` has {len(values)} values for {len(names)} channels "
                f"{names}; give one per channel (or a mapping {{channel: cost}})."
            )
    return np.array(
        [
            check_number(v, f"cost[{n!r}]", low=0.0, where="evsi_by_channel")
            for n, v in zip(names, values, strict=True)
        ]
    )


def _channel_values(
    st: _States, p1: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
    """Per channel: EVSI ``(J,)``, P(s = 1) ``(J,)``, posteriors after s = 0 and s = 1
    ``(J, 2, K)`` and the best action index after each ``(J, 2)``."""
    s, k = st.belief.shape
    j_n = p1.shape[0]
    evsi = np.empty(j_n)
    p_sent = np.empty(j_n)
    post = np.empty((j_n, 2, k))
    best = np.empty((j_n, 2), dtype=np.intp)
    for j in range(j_n):
        lik = np.tile(np.stack([1.0 - p1[j], p1[j]]), (1, s))  # (2, S*K): s = 0, s = 1
        info = static.evsi(st.utility, st.weights, lik)
        _check_finite(np.append(info.eu_given_outcome, info.evsi), st, "expected utilities")
        evsi[j] = info.evsi
        p_sent[j] = info.p_outcome[1]
        post[j] = info.state_posterior.reshape(2, s, k).sum(axis=1)
        best[j] = np.argmax(info.eu_given_outcome, axis=1)
    return evsi, p_sent, post, best


def _joint(st: _States, channel: SignalParams, threat: float) -> float:
    """EVSI of observing every channel at once (NaN beyond :data:`MAX_JOINT_CHANNELS`)."""
    if channel.n_channels > MAX_JOINT_CHANNELS:
        return float("nan")
    table, _ = _channel_table(channel, st.types, threat)
    info = static.evsi(st.utility, st.weights, np.tile(table, (1, st.belief.shape[0])))
    return info.evsi


def evsi_by_channel(
    belief: Any = None,
    *,
    channel: SignalParams | None = None,
    payoffs: Any = None,
    types: TypeSpace | None = None,
    params: ModelParams | None = None,
    losses: Losses | Mapping[str, float] | None = None,
    actions: Sequence[str] | Mapping[str, float] | None = None,
    horizon: int | None = None,
    cost: Any = 0.0,
    threat: float = 0.0,
    n_sims: int = 2000,
    seed: SeedLike = None,
) -> xr.Dataset:
    """What a costly test of intentions is worth, channel by channel.

    For each binary channel ``j`` of ``channel``, observed alone once before acting: the
    probability that the rival sends it under the belief, the posterior over types after
    ``s_j = 1`` and after ``s_j = 0``, the best action after each, and
    ``EVSI_j = E_s[max_a EU(a | s_j)] - max_a EU(a)``; net of the channel's cost, whether the
    test is worth running. The joint EVSI (every channel observed at once, as
    :func:`~secdilemma.decision.value_of_information` computes it) and EVPI come alongside:
    ``0 <= EVSI_j <= EVSI_joint <= EVPI``.

    Parameters
    ----------
    belief, payoffs, types, params, losses, actions, horizon, n_sims, seed
        As in :func:`~secdilemma.decision.decide` (static mode with ``payoffs``, dynamic mode
        with simulated utilities otherwise).
    channel
        :class:`~secdilemma.model.SignalParams`; ``None`` takes ``params.signals``.
    cost
        What running each test costs (utility units, >= 0): one number for every channel, a
        mapping ``{channel: cost}`` naming every channel, or a sequence in channel order.
    threat
        ``h * u⁺`` when the signals are sent (for channels with a fear-times-threat term).

    Returns
    -------
    xarray.Dataset
        Over ``signal``: ``evsi``, ``cost``, ``evsi_net`` (``evsi - cost``),
        ``worth_testing`` (``evsi > cost``), ``p_sent`` (P(s = 1) under the belief),
        ``p_sent_by_type`` ``(signal, rival_type)``, ``posterior_if_sent`` and
        ``posterior_if_not_sent`` ``(signal, rival_type)``, ``best_action_if_sent`` and
        ``best_action_if_not_sent``; scalars ``evsi_joint`` (NaN beyond
        :data:`MAX_JOINT_CHANNELS` channels), ``cost_joint`` (the sum of the costs),
        ``evsi_joint_net`` and ``evpi``; ``expected_utility`` ``(action)`` before any test;
        attrs ``mode``, ``best_channel`` (the largest ``evsi_net``) and the settings.

    Examples
    --------
    >>> from secdilemma.decision import kydd_payoffs
    >>> from secdilemma.model import SignalParams
    >>> sp = SignalParams(("costly", "cheap"), eta0=[-1.5, 0.0], eta_g=[3.0, 0.0],
    ...                   eta_f=[0.0, 0.0])
    >>> ds = evsi_by_channel([0.5, 0.5], payoffs=kydd_payoffs(0.5, 0.5), channel=sp,
    ...                      cost={"costly": 0.01, "cheap": 0.0})
    >>> ds.worth_testing.values.tolist(), float(ds.evsi.sel(signal="cheap"))
    ([True, False], 0.0)
    """
    if channel is None:
        channel = None if params is None else params.signals
        if channel is None:
            raise ParameterError(
                "evsi_by_channel: give `channel` (SignalParams), or `params` with signals."
            )
    if not isinstance(channel, SignalParams):
        raise ParameterError(
            f"evsi_by_channel: `channel` must be a SignalParams (binary channels); got "
            f"{type(channel).__name__}. For a likelihood table use value_of_information."
        )
    costs = channel_costs(cost, channel.names)
    threat = check_number(threat, "threat", where="evsi_by_channel")
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
    p1 = channel.likelihood_ratio(st.types, threat=threat)  # (J, K)
    evsi, p_sent, post, best = _channel_values(st, p1)
    joint = _joint(st, channel, threat)
    return _dataset(st, channel, costs, threat, p1, evsi, p_sent, post, best, joint)


def _dataset(
    st: _States,
    channel: SignalParams,
    costs: FloatArray,
    threat: float,
    p1: FloatArray,
    evsi: FloatArray,
    p_sent: FloatArray,
    post: FloatArray,
    best: IntArray,
    joint: float,
) -> xr.Dataset:
    """The Dataset of :func:`evsi_by_channel`."""
    acts = np.asarray(st.actions, dtype=object)
    sk = ("signal", "rival_type")
    ds = xr.Dataset(
        {
            "evsi": ("signal", evsi),
            "cost": ("signal", costs),
            "evsi_net": ("signal", evsi - costs),
            "worth_testing": ("signal", evsi > costs),
            "p_sent": ("signal", p_sent),
            "p_sent_by_type": (sk, p1),
            "posterior_if_sent": (sk, post[:, 1]),
            "posterior_if_not_sent": (sk, post[:, 0]),
            "best_action_if_sent": ("signal", acts[best[:, 1]]),
            "best_action_if_not_sent": ("signal", acts[best[:, 0]]),
            "evsi_joint": ((), joint),
            "cost_joint": ((), float(costs.sum())),
            "evsi_joint_net": ((), joint - float(costs.sum())),
            "evpi": ((), static.evpi(st.utility, st.weights)),
            "expected_utility": ("action", static.expected_utility(st.utility, st.weights)),
        },
        coords={
            "signal": list(channel.names),
            "rival_type": list(st.types.names),
            "action": list(st.actions),
        },
        attrs={
            "mode": st.mode,
            "best_channel": channel.names[int(np.argmax(evsi - costs))],
            "threat": threat,
            "signal_params": json.dumps(channel.to_dict()),
            "secdilemma_version": __version__,
            **st.attrs,
        },
    )
    ds["evsi"].attrs["long_name"] = "expected value of sample information, channel alone"
    ds["evsi_joint"].attrs["long_name"] = "expected value of observing every channel at once"
    return ds
