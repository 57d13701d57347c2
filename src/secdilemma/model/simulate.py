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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

__all__ = [
    "MAX_ARRAY_BYTES",
    "SeedLike",
    "as_generator",
    "check_memory",
    "draw_noise",
    "draw_signals",
    "largest_inputs",
    "rival_step",
    "simulate",
]

FloatArray = npt.NDArray[np.float64]


#: What a ``seed`` argument may be: an integer >= 0, a numpy Generator, or ``None`` (fresh
#: entropy). A SeedSequence or BitGenerator is accepted too, as by numpy.
SeedLike = int | np.random.Generator | np.random.SeedSequence | np.random.BitGenerator | None


def as_generator(seed: SeedLike, *, name: str = "seed") -> np.random.Generator:
    """The random generator of a ``seed`` argument (every random step spells it ``seed``).

    A Generator is used as it is (so the caller's stream advances); anything else seeds a new
    one. Raises :class:`ParameterError` naming ``name`` for anything numpy would not take
    (a negative number, a string, a float, a bool).

    Examples
    --------
    >>> float(as_generator(1).random()) == float(np.random.default_rng(1).random())
    True
    >>> as_generator(-1)
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: `seed` must be a non-negative integer or a numpy ...
    """
    if isinstance(seed, np.random.Generator):
        return seed
    bad = isinstance(seed, (bool, np.bool_, str, bytes, float, np.floating))
    if not bad:
        try:
            return np.random.default_rng(seed)
        except (TypeError, ValueError):
            pass
    raise ParameterError(
        f"`{name}` must be a non-negative integer or a numpy Generator; got {seed!r}."
    )


#: The most bytes of arrays one call may allocate (all its arrays together): 2 GiB. A size
#: argument that would need more is refused with a message saying what to reduce; raise it
#: when the machine has the memory.
MAX_ARRAY_BYTES = 2 * 1024**3


def check_memory(nbytes: float, *, where: str, sizes: str, reduce: str) -> None:
    """Refuse a call whose arrays would take more than :data:`MAX_ARRAY_BYTES`.

    ``sizes`` describes the request (e.g. ``"n_scenarios=10 x n_periods=10**9"``), ``reduce``
    names the arguments to lower.

    Examples
    --------
    >>> check_memory(8 * 10**12, where="simulate", sizes="10**12 cells", reduce="`n_periods`")
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: simulate: 10**12 cells needs about 7450.6 GiB of arrays, ...
    """
    if nbytes > MAX_ARRAY_BYTES:
        raise ParameterError(
            f"{where}: {sizes} needs about {nbytes / 1024**3:.1f} GiB of arrays, more than the "
            f"{MAX_ARRAY_BYTES / 1024**3:.1f} GiB allowed; reduce {reduce} (or raise "
            "secdilemma.model.simulate.MAX_ARRAY_BYTES if the machine has the memory)."
        )


def largest_inputs(named: Mapping[str, Any], n: int = 3, *, floor: float = 1e3) -> str:
    """The (at most ``n``) inputs of largest magnitude above ``floor``, for overflow messages:
    ``"|name| up to value, ..."``, or ``""`` when none is that large."""
    mags = []
    for key, value in named.items():
        try:
            arr = np.abs(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            continue
        if arr.size and float(np.max(arr)) >= floor:
            mags.append((float(np.max(arr)), key))
    mags.sort(reverse=True)
    return ", ".join(f"|{key}| up to {mag:.3g}" for mag, key in mags[:n])


def draw_noise(
    seed: SeedLike, sigma: npt.ArrayLike, nu: float | None, size: tuple[int, ...]
) -> FloatArray:
    """Draw the reaction noise: Normal(0, sigma) or sigma * Student-t(nu).

    ``seed`` is usually the simulation's Generator (see :func:`as_generator`).
    """
    rng = as_generator(seed)
    z = rng.standard_normal(size) if nu is None else rng.standard_t(nu, size)
    return np.asarray(np.asarray(sigma, dtype=float) * z)


def rival_step(
    greed: npt.ArrayLike,
    fear: npt.ArrayLike,
    u_prev: npt.ArrayLike,
    params: ModelParams,
    seed: SeedLike,
    *,
    h_prev: npt.ArrayLike | None = None,
    x_prev: npt.ArrayLike | None = None,
) -> FloatArray:
    """One period of the rival's reaction, vectorised over scenarios: ``dx_t``.

    ``params`` may hold per-scenario arrays of shape ``(S,)``; ``greed``/``fear``/``u_prev``
    are ``(S,)``.
    """
    mean = reaction_mean(greed, fear, u_prev, params, h_prev=h_prev, x_prev=x_prev)
    return mean + draw_noise(seed, params.sigma, params.nu, mean.shape)


def draw_signals(
    greed: npt.ArrayLike,
    fear: npt.ArrayLike,
    threat_prev: npt.ArrayLike,
    params: ModelParams,
    seed: SeedLike,
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
    return (as_generator(seed).random(p.shape) < p).astype(float)


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
    seed: SeedLike = None,
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
    J = params.signals.n_channels if params.signals is not None else 0
    check_memory(
        8.0 * S * T * (8 + J),
        where="simulate",
        sizes=f"n_scenarios={S} x n_periods={T}" + (f" x {J} signal channels" if J else ""),
        reduce="`n_scenarios` or `n_periods`",
    )
    drift = _finite("observer_drift", observer_drift, (S, T))
    sd = _finite("observer_sd", observer_sd, (S, T), nonneg=True)
    x_start = _finite("x0", x0, (S,))
    y_start = _finite("y0", y0, (S,))
    rng = as_generator(seed)
    switching = persistence is not None or transition is not None
    trans = (
        transition_matrix(types.n_types, persistence=persistence, matrix=transition)
        if switching
        else None
    )
    z0 = _initial_types(types, true_type, prior, S, rng)
    if observer_moves is None:
        u = drift + sd * rng.standard_normal((S, T))
    else:
        u = _observer_moves(observer_moves, S, T)
    h = _threat_path(params, S, T)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below
        path = _run(types, _scenario_params(params, S), trans, z0, u, h, x_start, rng)
        y = y_start[..., None] + np.cumsum(u, axis=1)  # y0: the observer's pre-sample level
    _check_overflow(path, u, y, params, observer_moves, drift, sd, x_start, y_start)
    return _dataset(types, params, path, u, y, switching)


def _finite(name: str, value: Any, shape: tuple[int, ...], *, nonneg: bool = False) -> FloatArray:
    """A finite number (or an array that broadcasts to ``shape``), else ParameterError."""
    try:
        arr = np.asarray(value, dtype=float)
        np.broadcast_to(arr, shape)
    except (TypeError, ValueError):
        raise ParameterError(
            f"simulate: `{name}` must be a finite number (or an array that broadcasts to "
            f"{shape}); got {value!r}."
        ) from None
    if isinstance(value, (bool, np.bool_)) or not np.all(np.isfinite(arr)):
        raise ParameterError(f"simulate: `{name}` must be a finite number; got {value!r}.")
    if nonneg and np.any(arr < 0):
        raise ParameterError(f"simulate: `{name}` must be >= 0; got {value!r}.")
    return arr


def _observer_moves(moves: npt.ArrayLike, S: int, T: int) -> FloatArray:
    """The observer's given moves as ``(S, T)``: from ``(T,)``, ``(S, T)`` or ``(S, 1)``."""
    try:
        arr = np.asarray(moves, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("simulate: `observer_moves` must be numbers.") from None
    try:
        u = np.broadcast_to(arr, (S, T)).copy()
    except ValueError:
        raise ParameterError(
            f"simulate: `observer_moves` has shape {arr.shape}; give one move per period, "
            f"(T,) = ({T},), or per scenario and period, (S, T) = ({S}, {T})."
        ) from None
    if not np.all(np.isfinite(u)):
        raise ParameterError("simulate: `observer_moves` must be finite.")
    return u


def _threat_path(params: ModelParams, S: int, T: int) -> FloatArray:
    """The threat multiplier ``(S, T)``: ``omega``/``delta`` per period ``(T,)``, per scenario
    ``(S,)`` or ``(S, 1)``, or both ``(S, T)`` (a vector of length ``T`` is per period)."""

    def lift(a: npt.ArrayLike) -> FloatArray:
        arr = np.asarray(a, dtype=float)
        return arr[:, None] if arr.ndim == 1 and arr.shape[0] == S != T else arr

    try:
        return np.broadcast_to(threat_multiplier(lift(params.omega), lift(params.delta)), (S, T))
    except ValueError:
        shapes = (np.shape(params.omega), np.shape(params.delta))
        raise ParameterError(
            f"simulate: `params.omega`/`params.delta` of shapes {shapes} do not fit "
            f"n_scenarios={S} x n_periods={T}; give scalars, one value per period (T,) = "
            f"({T},), one per scenario (S,) = ({S},), or (S, T)."
        ) from None


def _initial_types(
    types: TypeSpace,
    true_type: str | Sequence[str] | None,
    prior: npt.ArrayLike | dict[str, float] | None,
    S: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.intp]:
    """The type of each scenario in period 0: given, or drawn from ``prior``."""
    if true_type is None:
        p0 = as_type_prior(prior, types)  # type: ignore[arg-type]
        return np.asarray(rng.choice(types.n_types, size=S, p=p0))
    if isinstance(true_type, str):
        return np.full(S, types.index(true_type), dtype=np.intp)
    names = list(true_type)
    if len(names) != S:
        raise ParameterError(
            f"simulate: `true_type` has {len(names)} names for {S} scenarios; give one "
            "name, or one per scenario."
        )
    return types.indices(names)


def _scenario_params(params: ModelParams, S: int) -> ModelParams:
    """The parameters as one value per scenario ``(S,)`` (what :func:`rival_step` takes)."""
    out: dict[str, Any] = {}
    for name in ("mu", "alpha", "beta", "gamma", "kappa", "lam", "sigma", "anchor"):
        arr = np.asarray(getattr(params, name), dtype=float)
        flat = np.squeeze(arr)  # (S, 1), (1,) ... as (S,) or a scalar
        try:
            out[name] = np.broadcast_to(flat, (S,)).copy()
        except ValueError:
            raise ParameterError(
                f"simulate: `params.{name}` has shape {arr.shape}; give a scalar or one value "
                f"per scenario, (S,) = ({S},)."
            ) from None
    return ModelParams(**out, nu=params.nu, signals=params.signals)


@dataclass
class _Path:
    """The simulated truth and the rival's series, ``(S, T)`` (signals ``(S, T, J)``)."""

    z: npt.NDArray[np.intp]
    x: FloatArray
    dx: FloatArray
    signals: FloatArray


def _run(
    types: TypeSpace,
    step_params: ModelParams,
    trans: FloatArray | None,
    z0: npt.NDArray[np.intp],
    u: FloatArray,
    h: FloatArray,
    x0: FloatArray,
    rng: np.random.Generator,
) -> _Path:
    """The period loop: the type moves (when it switches), then the rival reacts and signals."""
    S, T = u.shape
    K = types.n_types
    z = np.empty((S, T), dtype=np.intp)
    x = np.empty((S, T))
    dx = np.full((S, T), np.nan)
    J = step_params.signals.n_channels if step_params.signals is not None else 0
    sig = np.full((S, T, J), np.nan)
    z[:, 0] = z0
    x[:, 0] = x0
    cum = np.cumsum(trans, axis=1) if trans is not None else None
    for t in range(T):
        if t > 0 and cum is not None:
            r = np.asarray(rng.random(S))
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
    return _Path(z, x, dx, sig)


def _check_overflow(
    path: _Path,
    u: FloatArray,
    y: FloatArray,
    params: ModelParams,
    moves: Any,
    drift: FloatArray,
    sd: FloatArray,
    x0: FloatArray,
    y0: FloatArray,
) -> None:
    """Refuse series that overflowed (inf or NaN) from finite but huge inputs."""
    bad = ~(np.isfinite(path.x) & np.isfinite(u) & np.isfinite(y))
    bad[:, 1:] |= ~np.isfinite(path.dx[:, 1:])
    if not np.any(bad):
        return
    s, t = (int(i) for i in np.argwhere(bad)[0])
    named: dict[str, Any] = {
        f"params.{k}": getattr(params, k)
        for k in ("mu", "alpha", "beta", "gamma", "kappa", "lam", "sigma", "anchor")
    }
    named.update({"observer_moves": u if moves is not None else 0.0, "observer_drift": drift})
    named.update({"observer_sd": sd, "x0": x0, "y0": y0})
    causes = [largest_inputs(named)]
    if params.nu is not None and params.nu < 1.0:
        causes.append(f"`params.nu` = {params.nu:.3g} gives noise draws too heavy-tailed")
    raise ParameterError(
        f"simulate: the simulated series overflow (inf or NaN) from scenario {s}, period {t}: "
        f"the inputs are too large for double precision ({'; '.join(c for c in causes if c)}). "
        "Give smaller values (changes are growth rates, in log points per period)."
    )


def _dataset(
    types: TypeSpace,
    params: ModelParams,
    path: _Path,
    u: FloatArray,
    y: FloatArray,
    switching: bool,
) -> xr.Dataset:
    """The simulated dyads as the Dataset :func:`simulate` returns."""
    S, T = u.shape
    z = path.z
    ds = xr.Dataset(
        {
            "x": (("scenario", "period"), path.x, {"long_name": "rival level"}),
            "y": (("scenario", "period"), y, {"long_name": "observer level"}),
            "dx": (("scenario", "period"), path.dx, {"long_name": "rival change"}),
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
    if params.signals is not None:
        ds["signals"] = (("scenario", "period", "signal"), path.signals)
        ds = ds.assign_coords(signal=list(params.signals.names))
    return ds
