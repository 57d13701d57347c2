"""The generative model: the rival's reaction function and its signal channels.

This module is the single source of truth for the model used by every engine (exact
observer, simulator, decision model, PyMC fit). Everything here is a pure numpy function
over arrays; the xarray-facing API lives in :mod:`secdilemma.observers` and
:mod:`secdilemma.model.simulate`.

The reaction function (docs/model.md section 2.1, identified "split" form)
--------------------------------------------------------------------
For a rival with motive loadings greed ``g`` and fear ``f``, the change of its capability
in period ``t`` (``dx_t``, e.g. the growth of log military expenditure) is::

    dx_t = mu + g*alpha
              + [ f*beta*h_{t-1} - g*(1-f)*kappa ] * u⁺_{t-1}
              + [ f*(1-g)*beta   - g*gamma       ] * u⁻_{t-1}
              - lam * (x_{t-1} - anchor) + eps_t

with ``u_{t-1}`` the observer's move one period earlier (``dy``), ``u⁺ = max(u, 0)`` its
increase, ``u⁻ = min(u, 0)`` its cut, and Jervis's (1978) two variables kept apart:

* offense advantage ``omega`` sets the *stakes*; distinguishability ``delta`` sets what a
  *posture* reveals. Each buildup of the observer has a posture ``d`` in ``[0, 1]``: 0 an
  offensive or ambiguous buildup (the ``deter`` action), 1 a distinguishably defensive one
  (``defend``); historical buildups are of unknown posture and read as ``d = 1/2``;
* the *threat multiplier* (how much a buildup threatens an insecure rival)::

      h(omega, delta, d) = max(0, 1 + omega - 2*delta*d)

  an offensive buildup threatens ``1 + omega``, a defensive one ``2*delta`` less; at
  ``d = 1/2``, ``1 + omega - delta`` in ``[0, 2]``: the historical likelihoods';
* the *deterrence multiplier* (how much a buildup holds a greedy rival back)::

      k(omega, d) = 1 + max(0, 2d - 1) * (1 - 2*omega)

  1 for an offensive buildup and for history (``d <= 1/2``), ``2 * (1 - omega)`` for a
  defensive one: under defense dominance a defensive posture denies the greedy rival its
  gains (twice the deterrent at ``omega = 0``), under offense dominance it is useless.
  The slope on ``u⁺`` is then ``f*beta*h - g*(1-f)*kappa*k``.

So, with positive magnitudes ``alpha, beta, gamma, kappa``:

========  ================  ===================  ==========
type      we arm (u⁺)       we cut (u⁻)          autonomous
========  ================  ===================  ==========
insecure  +beta*h (spiral)  +beta (reciprocates)  0
greedy    -kappa*k (deterr.) -gamma (exploits)    alpha
mixed     +beta*h           -gamma                alpha
secure    0                 0                     0
========  ================  ===================  ==========

The noise ``eps_t`` is Normal(0, sigma) or Student-t(nu, 0, sigma).

Signals: on channel ``j`` the rival emits ``s_{t,j} in {0, 1}`` with::

    P(s_{t,j} = 1 | type) = logistic(eta0_j + eta_g_j * m_j * g + eta_f_j * f * h_{t-1} * u⁺_{t-1})

(the fear term reads the threat of the observer's last buildup, ``h * u⁺``, with the
historical ``h``) with ``m_j = 1`` except on a *posture channel* (``SignalParams.posture``):
there the event is the rival's own force posture, which reveals its type the more the more
offense and defense are distinguishable, ``m_j = 2*delta_t`` (no information at
``delta = 0``, the fitted loading at 1/2, twice its log-odds at 1;
:func:`signal_greed_loading`).

A channel is a *costly signal* when ``|eta_g_j|`` is large (one type is far more willing to
send it than another) and *cheap talk* when it is near zero.

Missing data: a term whose inputs are missing (NaN) contributes nothing to the likelihood,
for every type at once (never a zero, never a partial term).

The parameter containers :class:`ModelParams` and :class:`SignalParams` (and the defaults
``DEFAULT_OMEGA``, ``DEFAULT_DELTA``) are defined in :mod:`secdilemma.model.params` and
re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model.params import (
    DEFAULT_DELTA,
    DEFAULT_OMEGA,
    ModelParams,
    SignalParams,
    check_number,
    short_repr,
)
from secdilemma.model.types import TypeSpace

__all__ = [
    "DEFAULT_DELTA",
    "DEFAULT_OMEGA",
    "LOG_2PI",
    "ModelParams",
    "SignalParams",
    "deterrence_multiplier",
    "lagged",
    "loglik_components",
    "noise_logpdf",
    "noise_offset",
    "reaction_mean",
    "response_slopes",
    "signal_greed_loading",
    "threat_multiplier",
    "transition_matrix",
    "validate_probabilities",
    "war_stakes",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

#: ``log(2 pi)``, the Normal density's constant.
LOG_2PI = float(np.log(2.0 * np.pi))


# ---------------------------------------------------------------------------------------------
# The reaction function
# ---------------------------------------------------------------------------------------------
def threat_multiplier(
    omega: ArrayLike, delta: ArrayLike, posture: ArrayLike | None = None
) -> FloatArray:
    """How much a buildup threatens an insecure rival: ``h = max(0, 1 + omega - 2*delta*d)``.

    ``posture`` ``d`` is 0 for an offensive or ambiguous buildup, 1 for a distinguishably
    defensive one; ``None`` (the default) is a buildup of unknown posture, ``d = 1/2``:
    ``h = 1 + omega - delta`` in ``[0, 2]``, the multiplier of every historical likelihood.
    All arguments broadcast.

    Examples
    --------
    >>> threat_multiplier([1.0, 0.5, 0.0], [0.0, 0.5, 1.0]).tolist()  # doubly dangerous .. stable
    [2.0, 1.0, 0.0]
    >>> threat_multiplier(0.5, 1.0, posture=[0.0, 1.0]).tolist()  # offensive, defensive
    [1.5, 0.0]
    """
    om = np.asarray(omega, dtype=float)
    de = np.asarray(delta, dtype=float)
    if posture is None:  # d = 1/2: the historical form, bit for bit
        return np.asarray(1.0 + om - de)
    d = _check_posture(posture)
    return np.asarray(np.maximum(1.0 + om - 2.0 * de * d, 0.0))


def deterrence_multiplier(omega: ArrayLike, posture: ArrayLike | None = None) -> FloatArray:
    """How much a buildup deters a greedy rival: ``k = 1 + max(0, 2d - 1) * (1 - 2*omega)``.

    1 for an offensive buildup and for unknown posture (``None``: history); ``2 * (1 -
    omega)`` for a defensive one (``d = 1``): denial works under defense dominance only.

    Examples
    --------
    >>> deterrence_multiplier([0.0, 0.5, 1.0], posture=1.0).tolist()
    [2.0, 1.0, 0.0]
    >>> float(deterrence_multiplier(0.9))
    1.0
    """
    om = np.asarray(omega, dtype=float)
    if posture is None:
        return np.asarray(np.ones_like(om))
    d = _check_posture(posture)
    return np.asarray(1.0 + np.maximum(2.0 * d - 1.0, 0.0) * (1.0 - 2.0 * om))


def war_stakes(omega: ArrayLike) -> FloatArray:
    """The stakes of an arms race for the war hazard: ``s(omega) = 1/2 + omega``.

    Offense advantage is the first-strike and pre-emption advantage (Jervis 1978; Van Evera
    1998): the same race is the more dangerous the more the offense dominates. ``s = 1`` at
    the neutral ``omega = 1/2`` (where it equals the historical ``h``, so the hazard's
    calibration in :mod:`secdilemma.decision.losses` holds there), 1/2 under full defense
    dominance, 3/2 under full offense dominance.

    Examples
    --------
    >>> war_stakes([0.0, 0.5, 1.0]).tolist()
    [0.5, 1.0, 1.5]
    """
    return np.asarray(0.5 + np.asarray(omega, dtype=float))


def _check_posture(posture: ArrayLike) -> FloatArray:
    d = np.asarray(posture, dtype=float)
    if not np.all(np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise ParameterError(
            f"`posture` must lie in [0, 1] (0 = offensive or ambiguous, 1 = distinguishably "
            f"defensive); got {short_repr(d)}."
        )
    return d


def signal_greed_loading(signals: SignalParams, delta: ArrayLike) -> FloatArray:
    """The greed loading of each channel ``(..., J)`` at distinguishability ``delta`` ``(...)``.

    ``eta_g`` on an ordinary channel; ``2 * delta * eta_g`` on a posture channel
    (``signals.posture``): the rival's own force posture tells its type apart the more, the
    more offense and defense are distinguishable. The one place the scaling is applied: the
    likelihood (:func:`loglik_components`) takes it from here, and so must every engine that
    evaluates the signal logit.

    Examples
    --------
    >>> sp = SignalParams(("a", "b"), eta0=[0.0, 0.0], eta_g=[1.0, 1.0], eta_f=[0.0, 0.0],
    ...                   posture=[False, True])
    >>> signal_greed_loading(sp, [0.0, 0.5, 1.0]).tolist()
    [[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]
    """
    assert signals.posture is not None  # normalised to flags on construction
    de = np.asarray(delta, dtype=float)[..., None]
    scale = np.where(signals.posture, 2.0 * de, 1.0)
    return np.asarray(signals.eta_g * scale, dtype=float)


def response_slopes(
    greed: ArrayLike,
    fear: ArrayLike,
    params: ModelParams,
    h: ArrayLike,
    k: ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Autonomous growth and the slopes on the observer's increases and cuts.

    Returns ``(auto, slope_up, slope_down)``, broadcast from the loadings, the
    parameters, the threat multiplier ``h`` and the deterrence multiplier ``k`` (1, its
    historical value, by default): ``auto = mu + g*alpha``, ``slope_up = f*beta*h -
    g*(1-f)*kappa*k``, ``slope_down = f*(1-g)*beta - g*gamma``.
    """
    g = np.asarray(greed, dtype=float)
    f = np.asarray(fear, dtype=float)
    p = params
    auto = np.asarray(p.mu, dtype=float) + g * np.asarray(p.alpha, dtype=float)
    beta = np.asarray(p.beta, dtype=float)
    deter = g * (1.0 - f) * np.asarray(p.kappa) * np.asarray(k, dtype=float)  # k = 1: exact
    slope_up = f * beta * np.asarray(h, dtype=float) - deter
    slope_down = f * (1.0 - g) * beta - g * np.asarray(p.gamma, dtype=float)
    return auto, np.asarray(slope_up), np.asarray(slope_down)


def reaction_mean(
    greed: ArrayLike,
    fear: ArrayLike,
    u_prev: ArrayLike,
    params: ModelParams,
    *,
    h_prev: ArrayLike | None = None,
    x_prev: ArrayLike | None = None,
    k_prev: ArrayLike = 1.0,
) -> FloatArray:
    """Expected ``dx_t`` of a rival with loadings ``(greed, fear)`` given the observer's last move.

    All arguments broadcast. ``h_prev`` defaults to ``threat_multiplier(omega, delta)`` (a
    buildup of unknown posture); ``k_prev``, the deterrence multiplier of the move
    (:func:`deterrence_multiplier`), to 1 (likewise); ``x_prev`` (the rival's previous level)
    is needed only when ``params.lam > 0``.

    Examples
    --------
    >>> p = ModelParams(mu=0.0, alpha=0.05, beta=0.6, gamma=0.6, kappa=0.3)
    >>> # the observer armed by 0.1: insecure spirals (+0.06), greedy is deterred
    >>> reaction_mean([0, 1, 1], [1, 0, 1], 0.1, p).round(3).tolist()
    [0.06, 0.02, 0.11]
    >>> # the observer cut by 0.1: insecure reciprocates, greedy and mixed exploit
    >>> reaction_mean([0, 1, 1], [1, 0, 1], -0.1, p).round(3).tolist()
    [-0.06, 0.11, 0.11]
    """
    h = threat_multiplier(params.omega, params.delta) if h_prev is None else h_prev
    auto, up, down = response_slopes(greed, fear, params, h, k_prev)
    u = np.asarray(u_prev, dtype=float)
    mean = auto + up * np.maximum(u, 0.0) + down * np.minimum(u, 0.0)
    lam = np.asarray(params.lam, dtype=float)
    if np.any(lam != 0):
        if x_prev is None:
            raise ParameterError("reaction_mean: `x_prev` is required when `lam` > 0.")
        mean = mean - lam * (np.asarray(x_prev, dtype=float) - np.asarray(params.anchor))
    return np.asarray(mean, dtype=float)


# ---------------------------------------------------------------------------------------------
# Likelihood
# ---------------------------------------------------------------------------------------------
def noise_logpdf(resid: ArrayLike, sigma: ArrayLike, nu: float | None) -> FloatArray:
    """Log density of the reaction noise ``eps``: Normal(0, sigma), or Student-t(nu, 0, sigma).

    The one definition of the noise density: the likelihood (:func:`loglik_components`), the
    decision model's belief update and the fit all evaluate it. Arguments broadcast.

    Examples
    --------
    >>> round(float(noise_logpdf(0.0, 1.0, None)), 6)  # -log(sqrt(2 pi))
    -0.918939
    >>> round(float(noise_logpdf(0.0, 1.0, 1.0)), 6)  # Cauchy: -log(pi)
    -1.14473
    """
    r = np.asarray(resid, dtype=float)
    sd = np.asarray(sigma, dtype=float)
    offset = noise_offset(sd, nu)
    with np.errstate(over="ignore"):  # a residual beyond ~1e154 sigma: -inf, its limit
        z = r / sd
        if nu is None:
            return np.asarray(-0.5 * (LOG_2PI + z * z) - offset)
        return np.asarray(offset - 0.5 * (nu + 1.0) * np.log1p(z * z / nu))


def noise_offset(sigma: ArrayLike, nu: float | None) -> FloatArray:
    """The part of :func:`noise_logpdf` that does not depend on the residual.

    ``log(sigma)`` for Normal noise, where ``noise_logpdf = -0.5 * (LOG_2PI + z**2) - offset``;
    ``log Gamma((nu+1)/2) - log Gamma(nu/2) - log(nu pi)/2 - log(sigma)`` for Student-t, where
    ``noise_logpdf = offset - (nu + 1)/2 * log1p(z**2 / nu)`` (``z = resid / sigma``). The
    exact engine's compiled likelihood (:mod:`secdilemma.engines.exact.fused`) takes it from
    here, so both evaluate the density with the same numbers.

    Examples
    --------
    >>> float(noise_offset(1.0, None))
    0.0
    """
    sd = np.asarray(sigma, dtype=float)
    if nu is None:
        return np.asarray(np.log(sd))
    const = _lgamma(0.5 * (nu + 1.0)) - _lgamma(0.5 * nu) - 0.5 * np.log(nu * np.pi)
    return np.asarray(const - np.log(sd))


#: log Gamma elementwise (the standard library's; scipy.special costs 0.1 s at import).
_lgamma = np.vectorize(math.lgamma, otypes=[float])


def lagged(a: FloatArray) -> FloatArray:
    """Shift the last axis by one period: out[..., t] = a[..., t-1], NaN at t = 0."""
    out = np.full_like(a, np.nan)
    out[..., 1:] = a[..., :-1]
    return out


def loglik_components(
    dx: ArrayLike,
    u: ArrayLike,
    params: ModelParams,
    types: TypeSpace,
    *,
    signals: ArrayLike | None = None,
    x: ArrayLike | None = None,
    threat_blind: bool = False,
    posture: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray | None]:
    """Per-period log-likelihood of the rival's moves under each type.

    Parameters
    ----------
    dx
        Rival's change per period, shape ``(..., T)``; NaN where missing.
    u
        Observer's change per period, same shape; the rival in period ``t`` reacts to
        ``u[..., t-1]``, so period 0 carries no buildup evidence.
    params
        Model parameters (arrays broadcast against the leading axes ``(...)``;
        ``omega``/``delta`` broadcast against ``(..., T)``, and the threat posed at ``t-1``
        uses their value at ``t-1``).
    types
        The type space (``K`` types).
    signals
        Rival's signal events, shape ``(..., T, J)`` in ``{0, 1}`` (NaN where unobserved),
        channels in the order of ``params.signals.names``.
    x
        Rival's level ``(..., T)``; needed only when ``params.lam > 0``.
    threat_blind
        Evaluate the model as an observer that does not see that its own buildup threatens
        the rival (``h = 0``): the *naive* observer of the spiral model.
    posture
        The posture of the observer's buildups (0 offensive or ambiguous .. 1 defensive),
        broadcast like ``omega``; ``None`` (historical data) reads them as ``d = 1/2``. The
        decision model's forward runs pass the posture of the action played.

    Returns
    -------
    ll_buildup
        ``(..., T, K)`` log density of ``dx_t`` under each type (0 where missing).
    ll_signals
        ``(..., T, K, J)`` log probability of each signal under each type (0 where missing),
        or ``None`` when there are no signals.
    """
    dx_a = np.asarray(dx, dtype=float)
    u_a = np.asarray(u, dtype=float)
    if dx_a.shape != u_a.shape:
        raise ParameterError(
            f"loglik: `dx` has shape {dx_a.shape} but `u` has {u_a.shape}; both must be (..., T)."
        )
    if dx_a.ndim < 1 or dx_a.shape[-1] < 1:
        raise ParameterError("loglik: `dx` must have at least one period on its last axis.")
    h_prev = _threat_prev(params, dx_a.shape, threat_blind, posture)
    u_prev = lagged(u_a)
    ll_b = _buildup_loglik(dx_a, u_prev, h_prev, params, types, x)
    ll_s: FloatArray | None = None
    if signals is not None:
        ll_s = _signal_loglik(signals, dx_a.shape, u_prev, h_prev, params, types)
    return ll_b, ll_s


def _threat_prev(
    params: ModelParams,
    shape: tuple[int, ...],
    threat_blind: bool,
    posture: ArrayLike | None = None,
) -> FloatArray:
    """The threat multiplier of period ``t - 1`` over ``(..., T)`` (0 for a blind observer)."""
    # omega/delta broadcast against (..., T): scalar, per period (T,), per scenario (S, 1) ...
    h = threat_multiplier(params.omega, params.delta, posture)
    try:
        h_full = np.broadcast_to(h, np.broadcast_shapes(h.shape, shape)).copy()
    except ValueError:
        raise ParameterError(
            f"loglik: `omega`/`delta` of shape {h.shape} do not broadcast against the data's "
            f"(..., T) = {shape}; give a scalar, a (T,) series or (S, 1) per scenario."
        ) from None
    h_prev = lagged(h_full)
    return np.zeros_like(h_prev) if threat_blind else h_prev


def _per_type(a: ArrayLike) -> FloatArray:
    """Scenario parameter broadcast to (..., 1, 1) against (..., T, K)."""
    arr = np.asarray(a, dtype=float)
    return arr[..., None, None] if arr.ndim else arr


def _buildup_loglik(
    dx: FloatArray,
    u_prev: FloatArray,
    h_prev: FloatArray,
    params: ModelParams,
    types: TypeSpace,
    x: ArrayLike | None,
) -> FloatArray:
    """``(..., T, K)`` log density of each rival change under each type (0 where missing)."""
    scenario = ("mu", "alpha", "beta", "gamma", "kappa", "lam", "anchor")
    for name in (*scenario, "sigma"):
        try:
            np.broadcast_shapes(np.shape(getattr(params, name)), dx.shape[:-1])
        except ValueError:
            raise ParameterError(
                f"loglik: `params.{name}` of shape {np.shape(getattr(params, name))} does not "
                f"broadcast against the data's leading axes {dx.shape[:-1]}; give a scalar or "
                "one value per scenario."
            ) from None
    per_type: dict[str, Any] = {n: _per_type(getattr(params, n)) for n in scenario}
    p_k = ModelParams(**per_type, sigma=params.sigma, nu=params.nu)
    mean = reaction_mean(
        types.greed,
        types.fear,
        u_prev[..., None],
        p_k,
        h_prev=np.asarray(h_prev, dtype=float)[..., None],
        x_prev=None if x is None else lagged(np.asarray(x, dtype=float))[..., None],
    )
    ll_b = noise_logpdf(dx[..., None] - mean, _per_type(params.sigma), params.nu)
    return _drop_missing(ll_b, axis=-1)


def _signal_loglik(
    signals: ArrayLike,
    shape: tuple[int, ...],
    u_prev: FloatArray,
    h_prev: FloatArray,
    params: ModelParams,
    types: TypeSpace,
) -> FloatArray:
    """``(..., T, K, J)`` log probability of each signal under each type (0 where missing)."""
    if params.signals is None:
        raise ParameterError(
            "loglik: `signals` were given but `params.signals` is None; give SignalParams "
            "naming the channels."
        )
    s = np.asarray(signals, dtype=float)
    J = params.signals.n_channels
    if s.shape != (*shape, J):
        raise ParameterError(
            f"loglik: `signals` has shape {s.shape}; expected {(*shape, J)} "
            f"(..., T, J) for channels {list(params.signals.names)}."
        )
    bad = np.isfinite(s) & (s != 0) & (s != 1)
    if np.any(bad):
        raise ParameterError("loglik: `signals` must be 0, 1 or NaN (unobserved).")
    sp = params.signals
    hk = np.asarray(h_prev, dtype=float)[..., None]
    threat = (hk * np.maximum(u_prev, 0.0)[..., None])[..., None]  # (..., T, 1, 1)
    eta_f_term = sp.eta_f * types.fear[:, None] * threat  # (..., T, K, J)
    # A channel without a fear term does not need the observer's move.
    eta_f_term = np.where(sp.eta_f == 0.0, 0.0, eta_f_term)
    if np.any(sp.posture):  # the posture channels' loading at each period's delta
        de = np.broadcast_to(np.asarray(params.delta, dtype=float), shape)
        eta_g = signal_greed_loading(sp, de)[..., None, :]  # (..., T, 1, J)
    else:
        eta_g = sp.eta_g
    logit = sp.eta0 + eta_g * types.greed[:, None] + eta_f_term
    s_b = s[..., None, :]
    # log p(s) = s*log(sigmoid(l)) + (1-s)*log(sigmoid(-l)), stably
    with np.errstate(invalid="ignore"):  # NaN inputs become NaN terms, dropped below
        ll = -(s_b * np.logaddexp(0.0, -logit) + (1.0 - s_b) * np.logaddexp(0.0, logit))
    return _drop_missing(np.broadcast_to(ll, (*shape, types.n_types, J)).copy(), axis=-2)


def _drop_missing(ll: FloatArray, *, axis: int) -> FloatArray:
    """Zero every term that is missing (NaN) for any type along ``axis``."""
    miss = np.isnan(ll).any(axis=axis, keepdims=True)
    return np.where(miss, 0.0, ll)


# ---------------------------------------------------------------------------------------------
# Priors and transitions
# ---------------------------------------------------------------------------------------------
def validate_probabilities(p: ArrayLike, *, name: str, n: int, atol: float = 1e-9) -> FloatArray:
    """Check a probability vector (or a batch of them on the last axis) and return it.

    Raises :class:`ParameterError` naming ``name`` when the length is not ``n``, an entry is
    negative or NaN, or the entries do not sum to 1.
    """
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != n:
        raise ParameterError(
            f"`{name}` must have {n} entries (one per rival type) on its last axis; got shape "
            f"{arr.shape}."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ParameterError(f"`{name}` must be finite and non-negative; got {short_repr(arr)}.")
    sums = arr.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=atol, rtol=0):
        raise ParameterError(
            f"`{name}` must sum to 1 over rival types; got sums {short_repr(np.asarray(sums))}."
        )
    return arr


def transition_matrix(
    n_types: int,
    *,
    persistence: float | None = None,
    matrix: ArrayLike | None = None,
) -> FloatArray:
    """Markov transition matrix over types for switching (regime-change) models.

    Either ``persistence`` (probability of keeping the type from one period to the next; the
    rest is spread evenly over the other types) or an explicit row-stochastic ``matrix``
    (``matrix[i, j] = P(z_t = j | z_{t-1} = i)``).

    Examples
    --------
    >>> transition_matrix(3, persistence=0.9).round(3).tolist()
    [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]
    """
    if (persistence is None) == (matrix is None):
        raise ParameterError("transition_matrix: give exactly one of `persistence` or `matrix`.")
    if matrix is not None:
        m = np.asarray(matrix, dtype=float)
        if m.shape != (n_types, n_types):
            raise ParameterError(
                f"transition_matrix: `matrix` must be {n_types}x{n_types}; got shape {m.shape}."
            )
        return validate_probabilities(m, name="matrix (each row)", n=n_types)
    assert persistence is not None
    persistence = check_number(
        persistence, "persistence", low=0.0, high=1.0, where="transition_matrix"
    )
    if n_types == 1:
        return np.ones((1, 1))
    off = (1.0 - persistence) / (n_types - 1)
    m = np.full((n_types, n_types), off)
    np.fill_diagonal(m, persistence)
    return m


def as_type_prior(prior: ArrayLike | Sequence[float] | str | None, types: TypeSpace) -> FloatArray:
    """Uniform when ``None`` or ``"uniform"`` (as in specs); otherwise a mapping ``{type: p}``
    or a vector in type order, validated (``ParameterError`` names ``prior``).

    Examples
    --------
    >>> as_type_prior("uniform", TypeSpace.default()).round(3).tolist()
    [0.333, 0.333, 0.333]
    """
    if prior is None or (isinstance(prior, str) and prior == "uniform"):
        return np.full(types.n_types, 1.0 / types.n_types)
    if isinstance(prior, str):
        raise ParameterError(
            f"`prior` must be 'uniform', a mapping {{type: probability}} or one probability "
            f"per rival type {list(types.names)}; got the string {prior!r}."
        )
    if isinstance(prior, dict):
        unknown = set(prior) - set(types.names)
        if unknown:
            raise ParameterError(
                f"`prior` names unknown rival type(s) {sorted(unknown)}; the type space has "
                f"{list(types.names)}."
            )
        prior = [float(prior.get(n, 0.0)) for n in types.names]
    return validate_probabilities(prior, name="prior", n=types.n_types)
