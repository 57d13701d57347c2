"""Simulate dyads from the generative model with a known true type (or type path).

The simulator is the ground truth of the tests and the forward engine of the decision
model, so it is vectorised over scenarios: the only Python loop is over periods, which
are sequential by nature (the rival reacts to the observer's last move).

Conventions match the data layer (:func:`secdilemma.data.to_moves`): ``x``/``y`` are the
rival's and the observer's levels (e.g. log military expenditure), ``dx``/``u`` their
changes, and the change in period 0 is missing (NaN) because the series start there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    as_type_prior,
    reaction_mean,
    threat_multiplier,
    transition_matrix,
)
from secdilemma.model.types import TypeSpace

__all__ = ["draw_noise", "draw_signals", "rival_step", "simulate"]

FloatArray = npt.NDArray[np.float64]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def draw_noise(
    rng: np.random.Generator, sigma: npt.ArrayLike, nu: float | None, size: tuple[int, ...]
) -> FloatArray:
    """Draw the reaction noise: Normal(0, sigma) or sigma * Student-t(nu)."""
    z = rng.standard_normal(size) if nu is None else rng.standard_t(nu, size)
    return np.asarray(np.asarray(sigma, dtype=float) * z)


def rival_step(
    greed: npt.ArrayLike,
    fear: npt.ArrayLike,
    u_prev: npt.ArrayLike,
    params: ModelParams,
    rng: np.random.Generator,
    *,
    h_prev: npt.ArrayLike | None = None,
    x_prev: npt.ArrayLike | None = None,
) -> FloatArray:
    """One period of the rival's reaction, vectorised over scenarios: ``dx_t``.

    ``params`` may hold per-scenario arrays of shape ``(S,)``; ``greed``/``fear``/``u_prev``
    are ``(S,)``.
    """
    mean = reaction_mean(greed, fear, u_prev, params, h_prev=h_prev, x_prev=x_prev)
    return mean + draw_noise(rng, params.sigma, params.nu, mean.shape)


def draw_signals(
    greed: npt.ArrayLike,
    fear: npt.ArrayLike,
    threat_prev: npt.ArrayLike,
    params: ModelParams,
    rng: np.random.Generator,
) -> FloatArray:
    """Signal events ``(S, J)`` in {0, 1} given loadings ``(S,)`` and ``h*u⁺`` of ``t-1``."""
    sp = params.signals
    if sp is None:
        raise ParameterError("draw_signals: `params.signals` is None; there are no channels.")
    g = np.asarray(greed, dtype=float)[..., None]
    f = np.asarray(fear, dtype=float)[..., None]
    thr = np.asarray(threat_prev, dtype=float)[..., None]
    logit = sp.eta0 + sp.eta_g * g + sp.eta_f * f * thr
    p = 1.0 / (1.0 + np.exp(-logit))
    return (rng.random(p.shape) < p).astype(float)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"simulate: `{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def simulate(
    types: TypeSpace | None = None,
    params: ModelParams | None = None,
    *,
    n_periods: int = 50,
    n_scenarios: int = 1,
    true_type: str | Sequence[str] | None = None,
    prior: npt.ArrayLike | dict[str, float] | None = None,
    persistence: float | None = None,
    transition: npt.ArrayLike | None = None,
    observer_moves: npt.ArrayLike | None = None,
    observer_drift: float = 0.03,
    observer_sd: float = 0.05,
    x0: float = 0.0,
    y0: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Simulate ``n_scenarios`` dyads of ``n_periods`` periods from the generative model.

    Parameters
    ----------
    types
        Type space (default greedy/insecure/mixed).
    params
        Model parameters (default :class:`ModelParams`); arrays of shape ``(S,)`` give
        per-scenario values, ``omega``/``delta`` may also be per period ``(T,)``.
    n_periods, n_scenarios
        Size of the simulation.
    true_type
        The rival's type: one name for every scenario, or one per scenario. ``None`` draws it
        from ``prior``. With switching types this is the type in period 0.
    prior
        Probabilities of the types (uniform when ``None``); used when ``true_type`` is None.
    persistence, transition
        Give one of them to simulate a switching type (a sticky Markov chain): the
        probability of keeping the type each period, or a full transition matrix.
    observer_moves
        The observer's changes ``u`` per period, ``(T,)`` or ``(S, T)``. By default they are
        drawn as ``observer_drift + observer_sd * N(0, 1)`` (an arming observer when the
        drift is positive).
    x0, y0
        Starting levels of the rival and the observer.
    seed
        Seed or generator; the same seed gives the same dyads.

    Returns
    -------
    xarray.Dataset
        dims ``scenario``, ``period`` (and ``signal``): ``x``, ``y`` levels, ``dx``, ``u``
        changes, ``signals`` (when the model has channels), and the truth:
        ``true_type`` (names) and ``true_type_index`` per scenario and period. The rival's
        change in period 0 is NaN (its series starts there); the observer's change in
        period 0 is its move from the pre-sample level ``y0``, to which the rival reacts in
        period 1.

    Examples
    --------
    >>> ds = simulate(n_periods=20, n_scenarios=3, true_type="insecure", seed=1)
    >>> sorted(ds.sizes.items())
    [('period', 20), ('scenario', 3)]
    >>> set(ds.true_type.values.ravel())
    {'insecure'}
    """
    types = TypeSpace.default() if types is None else types
    params = ModelParams() if params is None else params
    T = _check_int("n_periods", n_periods, 2)
    S = _check_int("n_scenarios", n_scenarios, 1)
    if not np.isfinite(observer_sd) or observer_sd < 0:
        raise ParameterError(f"simulate: `observer_sd` must be >= 0; got {observer_sd}.")
    rng = _rng(seed)
    K = types.n_types

    switching = persistence is not None or transition is not None
    trans = transition_matrix(K, persistence=persistence, matrix=transition) if switching else None

    # initial types
    if true_type is None:
        p0 = as_type_prior(prior, types)  # type: ignore[arg-type]
        z0 = rng.choice(K, size=S, p=p0)
    elif isinstance(true_type, str):
        z0 = np.full(S, types.index(true_type), dtype=np.intp)
    else:
        names = list(true_type)
        if len(names) != S:
            raise ParameterError(
                f"simulate: `true_type` has {len(names)} names for {S} scenarios; give one "
                "name, or one per scenario."
            )
        z0 = types.indices(names)

    # observer moves
    if observer_moves is None:
        u = observer_drift + observer_sd * rng.standard_normal((S, T))
    else:
        u = np.broadcast_to(np.asarray(observer_moves, dtype=float), (S, T)).copy()
        if not np.all(np.isfinite(u)):
            raise ParameterError("simulate: `observer_moves` must be finite.")

    # threat multiplier per (S, T)
    h = np.broadcast_to(threat_multiplier(params.omega, params.delta), (S, T))

    # per-scenario parameter view (S,) for the step
    def ps(a: npt.ArrayLike) -> FloatArray:
        arr = np.asarray(a, dtype=float)
        try:
            return np.broadcast_to(arr, (S,)).copy() if arr.ndim <= 1 else arr
        except ValueError:
            raise ParameterError(
                f"simulate: a parameter of shape {arr.shape} does not broadcast to {S} scenarios."
            ) from None

    step_params = ModelParams(
        mu=ps(params.mu),
        alpha=ps(params.alpha),
        beta=ps(params.beta),
        gamma=ps(params.gamma),
        kappa=ps(params.kappa),
        lam=ps(params.lam),
        sigma=ps(params.sigma),
        nu=params.nu,
        anchor=ps(params.anchor),
        signals=params.signals,
    )

    z = np.empty((S, T), dtype=np.intp)
    x = np.empty((S, T))
    dx = np.full((S, T), np.nan)
    y = y0 + np.cumsum(u, axis=1)  # y0 is the observer's pre-sample level
    J = params.signals.n_channels if params.signals is not None else 0
    sig = np.full((S, T, J), np.nan)

    z[:, 0] = z0
    x[:, 0] = x0
    cum = np.cumsum(trans, axis=1) if trans is not None else None
    for t in range(T):
        if t > 0 and cum is not None:
            r = rng.random(S)
            z[:, t] = np.minimum((r[:, None] > cum[z[:, t - 1]]).sum(axis=1), K - 1)
        elif t > 0:
            z[:, t] = z[:, t - 1]
        g = types.greed[z[:, t]]
        f = types.fear[z[:, t]]
        if t > 0:
            d = rival_step(
                g, f, u[:, t - 1], step_params, rng, h_prev=h[:, t - 1], x_prev=x[:, t - 1]
            )
            dx[:, t] = d
            x[:, t] = x[:, t - 1] + d
        if J:
            threat_prev = h[:, t - 1] * np.maximum(u[:, t - 1], 0.0) if t > 0 else np.zeros(S)
            sig[:, t, :] = draw_signals(g, f, threat_prev, step_params, rng)

    ds = xr.Dataset(
        {
            "x": (("scenario", "period"), x, {"long_name": "rival level"}),
            "y": (("scenario", "period"), y, {"long_name": "observer level"}),
            "dx": (("scenario", "period"), dx, {"long_name": "rival change"}),
            "u": (("scenario", "period"), u, {"long_name": "observer change"}),
            "true_type_index": (("scenario", "period"), z),
            "true_type": (("scenario", "period"), np.asarray(types.names, dtype=object)[z]),
        },
        coords={"scenario": np.arange(S), "period": np.arange(T)},
        attrs={
            "simulated": 1,
            "switching": int(switching),
            "types": json.dumps(types.to_dict()),
            "params": json.dumps(params.to_dict()),
            "secdilemma_version": __version__,
        },
    )
    if J:
        assert params.signals is not None
        ds["signals"] = (("scenario", "period", "signal"), sig)
        ds = ds.assign_coords(signal=list(params.signals.names))
    return ds
