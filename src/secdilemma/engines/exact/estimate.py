"""Empirical-Bayes parameters for the exact observer: maximise the marginal likelihood.

The exact observer needs fixed parameters. When a user has no values of their own, the
reaction-function parameters can be set to the values that make the observed data most
probable *with the rival's type summed out* (type-II maximum likelihood, "empirical
Bayes")::

    theta_hat = argmax_theta  log sum_k P(type_k) * prod_t p(dx_t | type_k, theta)

With several dyads (a leading ``dyad`` or ``scenario`` axis) the parameters are shared and
each dyad keeps its own type, so pooling rivalries identifies the slopes that one short case
cannot (docs/model.md section 2.8). This is a point estimate: it ignores the uncertainty about
the parameters, which the full Bayesian fit (PyMC) integrates over. Say so when reporting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import DataError, ParameterError
from secdilemma.model import ModelParams, SignalParams, as_type_prior, loglik_components
from secdilemma.model.simulate import SeedLike, as_generator
from secdilemma.model.types import TypeSpace

__all__ = ["ETA_BOUND", "SIGNAL_COEFS", "ParamEstimate", "estimate_params"]

FloatArray = npt.NDArray[np.float64]

#: The coefficients of a signal channel's logit, estimated together per channel.
SIGNAL_COEFS = ("eta0", "eta_g", "eta_f")
#: Bound on a signal coefficient's estimate (logit scale): a channel that never (or always)
#: fires would otherwise send its intercept to -inf (+inf); at 15 the rate is 3e-7.
ETA_BOUND = 15.0

#: parameters that can be estimated, and whether they are positive (log-transformed)
_ESTIMABLE: dict[str, bool] = {
    "mu": False,
    "alpha": True,
    "beta": True,
    "gamma": True,
    "kappa": True,
    "sigma": True,
}


@dataclass(frozen=True)
class ParamEstimate:
    """Result of :func:`estimate_params`."""

    params: ModelParams
    log_evidence: float
    n_obs: int
    converged: bool
    message: str
    estimated: tuple[str, ...] = field(default=())
    estimated_signals: bool = False

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (estimated values, evidence, convergence)."""
        values = {k: float(np.asarray(getattr(self.params, k))) for k in self.estimated}
        sp = self.params.signals
        coefs = {
            name: {c: float(getattr(sp, c)[j]) for c in SIGNAL_COEFS}
            for j, name in enumerate(sp.names)
        } if sp is not None and self.estimated_signals else {}  # fmt: skip
        return {
            "estimated": values,
            "signals": coefs,
            "log_evidence": self.log_evidence,
            "n_obs": self.n_obs,
            "converged": self.converged,
            "message": self.message,
        }


def _arrays(data: xr.Dataset) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    missing = [v for v in ("dx", "u") if v not in data]
    if missing:
        raise DataError(
            f"estimate_params: the data lack variable(s) {missing}; give a Dataset with `dx` "
            "(rival change) and `u` (observer change) over `period` (e.g. from "
            "secdilemma.data.to_moves or secdilemma.model.simulate)."
        )
    if "period" not in data["dx"].dims:
        raise DataError("estimate_params: `dx` has no `period` dimension.")
    dx = data["dx"].transpose(..., "period").values.astype(float)
    u = data["u"].transpose(*data["dx"].dims).values.astype(float)
    return dx, u


def estimate_params(
    data: xr.Dataset,
    *,
    types: TypeSpace | None = None,
    base: ModelParams | None = None,
    prior: npt.ArrayLike | dict[str, float] | None = None,
    estimate: Sequence[str] = ("mu", "alpha", "beta", "gamma", "kappa", "sigma"),
    threat_blind: bool = False,
    n_starts: int = 4,
    seed: SeedLike = 0,
    signals: Sequence[str] | None = None,
) -> ParamEstimate:
    """Type-II maximum-likelihood estimate of the reaction-function parameters.

    Parameters
    ----------
    data
        ``dx`` and ``u`` over ``period`` (and optionally leading dyad/scenario dims, which
        share the parameters but keep their own type).
    types
        Type space (default greedy/insecure/mixed).
    base
        Values of the parameters that are not estimated (``omega``, ``delta``, ``lam``,
        ``nu``, …) and the starting point; default :class:`ModelParams`.
    prior
        Prior over types used to sum them out (uniform by default).
    estimate
        Names of the parameters to estimate, among ``mu, alpha, beta, gamma, kappa, sigma``.
    threat_blind
        Estimate under the naive observer's model (it does not see its own threat).
    n_starts, seed
        Deterministic multi-start: the base point plus ``n_starts - 1`` jittered starts drawn
        with ``seed`` (an integer >= 0 or a numpy Generator).
    signals
        Signal channels whose coefficients (``eta0``, ``eta_g``, ``eta_f`` each) are
        estimated together with the reaction: the data need a ``signals`` variable over
        (..., ``period``, ``signal``) (an ``actor`` dim is read at ``rival``; counts > 0 are
        events, NaN unobserved). The reaction is first estimated from the buildups (the
        multi-start above), then everything jointly (L-BFGS-B, each coefficient within
        :data:`ETA_BOUND`).

    Returns
    -------
    ParamEstimate
        The estimated :class:`ModelParams`, the maximised log evidence and convergence info.

    Examples
    --------
    >>> from secdilemma.model.simulate import simulate
    >>> truth = ModelParams(alpha=0.05, beta=0.6, gamma=0.6, kappa=0.3, sigma=0.05)
    >>> sim = simulate(params=truth, n_periods=40, n_scenarios=30, seed=3)
    >>> est = estimate_params(sim, estimate=("beta", "sigma"))
    >>> round(float(est.params.sigma), 2), est.converged
    (0.05, True)
    """
    types = TypeSpace.default() if types is None else types
    base = ModelParams() if base is None else base
    _check_request(estimate, n_starts)
    dx, u = _arrays(data)
    chans = tuple(signals) if signals is not None else ()
    sig = None if signals is None else _signal_arrays(data, chans, dx.shape)
    given = None
    if sig is not None:
        given = base.signals
        if given is not None and given.names != chans:
            raise ParameterError(
                f"estimate_params: base.signals names {list(given.names)}; `signals` names "
                f"{list(chans)}: give the same channels in the same order (or no base.signals)."
            )
        base = base.replace(signals=_start_signals(chans, sig))
    log_prior = np.log(as_type_prior(prior, types))  # type: ignore[arg-type]
    n_obs = int(np.sum(np.isfinite(dx[..., 1:]) & np.isfinite(u[..., :-1])))
    if n_obs < len(estimate) + 2:
        raise DataError(
            f"estimate_params: only {n_obs} usable periods (a rival change with the observer's "
            f"previous move) for {len(estimate)} parameters; use a longer series, pool more "
            "dyads, or estimate fewer parameters."
        )
    names = list(estimate)
    positive = np.array([_ESTIMABLE[k] for k in names])
    # here, not at import: scipy.optimize costs about 0.2 s, paid only by those who estimate
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    def to_params(theta: npt.NDArray[np.float64]) -> ModelParams:
        r = theta[: len(names)]
        vals = np.where(positive, np.exp(np.clip(r, -30, 30)), r)
        p = base.replace(**{k: float(v) for k, v in zip(names, vals, strict=True)})
        if theta.size > len(names):
            assert p.signals is not None
            e0, eg, ef = theta[len(names) :].reshape(len(SIGNAL_COEFS), -1)
            sp = SignalParams(p.signals.names, e0, eg, ef, posture=p.signals.posture)
            p = p.replace(signals=sp)
        return p

    def neg_evidence(theta: npt.NDArray[np.float64]) -> float:
        p = to_params(theta)
        s = sig if theta.size > len(names) else None
        if s is None:
            p = p.replace(signals=None)
        ll_b, ll_s = loglik_components(dx, u, p, types, signals=s, threat_blind=threat_blind)
        per_type = ll_b.sum(axis=-2) + log_prior  # (..., K)
        if ll_s is not None:
            per_type = per_type + ll_s.sum(axis=(-3, -1))
        val = -float(np.sum(logsumexp(per_type, axis=-1)))
        return val if np.isfinite(val) else 1e300

    start = _reaction_start(base, names, positive, dx)
    # the buildups alone first (signals without loadings add a constant)
    best = _multistart(neg_evidence, start, n_starts, as_generator(seed))
    if sig is not None:
        # then all together (the signals move each dyad's type weights, and so the reaction's
        # estimate), from several starts: the evidence has several modes that differ in which
        # types send the signals (on the reference pool, the start with no loadings ended 5.5
        # log units below the start with negative ones)
        best = min(
            (minimize(neg_evidence, x0, method="L-BFGS-B", bounds=_bounds(x0, positive),
                      options={"maxiter": 3000, "maxfun": 30000, "ftol": 1e-10, "gtol": 1e-6})
             for x0 in _joint_starts(best.x, base, given, positive, names)),
            key=lambda r: r.fun,
        )  # fmt: skip
    return ParamEstimate(
        params=to_params(best.x),
        log_evidence=-float(best.fun),
        n_obs=n_obs,
        converged=bool(best.success),
        message=str(best.message),
        estimated=tuple(names),
        estimated_signals=sig is not None,
    )


def _check_request(estimate: Sequence[str], n_starts: int) -> None:
    unknown = [k for k in estimate if k not in _ESTIMABLE]
    if unknown:
        raise ParameterError(
            f"estimate_params: cannot estimate {unknown}; choose among {list(_ESTIMABLE)}."
        )
    if not estimate:
        raise ParameterError("estimate_params: `estimate` is empty; name at least one parameter.")
    if n_starts < 1:
        raise ParameterError(f"estimate_params: `n_starts` must be >= 1; got {n_starts}.")


def _multistart(f: Any, start: FloatArray, n_starts: int, rng: np.random.Generator) -> Any:
    """Nelder-Mead from ``start`` and ``n_starts - 1`` jittered starts; the best result."""
    from scipy.optimize import minimize  # here, as in estimate_params

    best = None
    for i in range(n_starts):
        x0 = start if i == 0 else start + rng.normal(0.0, 0.5, size=start.shape)
        res = minimize(f, x0, method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-9})  # fmt: skip
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return best


def _bounds(
    x0: FloatArray, positive: npt.NDArray[np.bool_]
) -> list[tuple[float | None, float | None]]:
    """L-BFGS-B's box: a positive parameter's log within [-30, 5] (the clip of ``to_params``:
    a coefficient the data push to zero stops at exp(-30) instead of wandering), the signal
    coefficients within :data:`ETA_BOUND`."""
    reaction: list[tuple[float | None, float | None]] = [
        (-30.0, 5.0) if pos else (None, None) for pos in positive
    ]
    return reaction + [(-ETA_BOUND, ETA_BOUND)] * (x0.size - positive.size)


def _joint_starts(
    reaction: FloatArray,
    base: ModelParams,
    given: SignalParams | None,
    positive: npt.NDArray[np.bool_],
    names: list[str],
) -> list[FloatArray]:
    """Starts of the joint optimisation: the reaction's optimum with each channel's observed
    rate and greed loadings 0, +1.5 and -1.5 (the same sign for every channel), and the
    caller's ``base.signals`` at the base reaction (a warm start, e.g. the full pool's
    estimate for a leave-one-out pool)."""
    sp = base.signals
    assert sp is not None
    starts = []
    for g in (0.0, 1.5, -1.5):
        shifted = base.replace(
            signals=SignalParams(sp.names, sp.eta0, sp.eta_g + g, sp.eta_f, posture=sp.posture)
        )
        starts.append(_join(reaction, shifted))
    if given is not None:
        at = np.array([np.log(float(np.asarray(getattr(base, k)))) if pos
                       else float(np.asarray(getattr(base, k)))
                       for k, pos in zip(names, positive, strict=True)])  # fmt: skip
        etas = np.concatenate([given.eta0, given.eta_g, given.eta_f])
        starts.append(np.concatenate([at, np.clip(etas, -ETA_BOUND, ETA_BOUND)]))
    return starts


def _join(reaction: npt.NDArray[np.float64], base: ModelParams) -> npt.NDArray[np.float64]:
    """The reaction's coordinates followed by the base's signal coefficients (eta0, eta_g,
    eta_f, each over channels)."""
    sp = base.signals
    assert sp is not None
    return np.concatenate([reaction, sp.eta0, sp.eta_g, sp.eta_f])


def _reaction_start(
    base: ModelParams, names: list[str], positive: npt.NDArray[np.bool_], dx: FloatArray
) -> FloatArray:
    """The optimiser's start: the base values (log of the positive ones), sigma from the
    robust spread of the rival's changes."""
    start = np.array(
        [
            np.log(max(float(np.asarray(getattr(base, k))), 1e-3))
            if pos
            else float(np.asarray(getattr(base, k)))
            for k, pos in zip(names, positive, strict=True)
        ]
    )
    finite = dx[np.isfinite(dx)]
    if "sigma" in names and finite.size > 2:
        mad = 1.4826 * float(np.median(np.abs(finite - np.median(finite))))
        start[names.index("sigma")] = np.log(max(mad, 1e-3))
    return start


def _signal_arrays(
    data: xr.Dataset, channels: tuple[str, ...], shape: tuple[int, ...]
) -> FloatArray:
    """The rival's signals ``(..., T, J)`` in ``channels``' order (0, 1 or NaN)."""
    if not channels:
        raise ParameterError("estimate_params: `signals` is empty; name at least one channel.")
    if "signals" not in data or "signal" not in data["signals"].dims:
        raise DataError(
            "estimate_params: `signals` names channels but the data have no `signals` "
            "variable over a `signal` dim; add it (0, 1 or NaN where unobserved)."
        )
    have = [str(c) for c in data["signals"]["signal"].values]
    missing = [c for c in channels if c not in have]
    if missing:
        raise DataError(
            f"estimate_params: channel(s) {missing} are not in the data's `signals` "
            f"(channels there: {have})."
        )
    da = data["signals"].sel(signal=list(channels))
    if "actor" in da.dims:
        da = da.sel(actor="rival")
    lead = [d for d in data["dx"].dims if d != "period"]
    arr = np.asarray(da.transpose(*lead, "period", "signal").values, dtype=float)
    if arr.shape != (*shape, len(channels)):
        raise DataError(f"estimate_params: `signals` has shape {arr.shape}; expected "
                        f"{(*shape, len(channels))} (the moves' dims, then `signal`).")  # fmt: skip
    return np.where(np.isnan(arr), np.nan, (arr > 0).astype(float))


def _start_signals(channels: tuple[str, ...], sig: FloatArray) -> SignalParams:
    """Starting coefficients: each channel's intercept at the logit of its observed rate (a
    half event added to both counts), no type loadings."""
    flat = sig.reshape(-1, len(channels))
    ones = np.nansum(flat, axis=0)
    n = np.sum(np.isfinite(flat), axis=0)
    rate = (ones + 0.5) / (n + 1.0)
    zero = np.zeros(len(channels))
    return SignalParams(channels, eta0=np.log(rate / (1 - rate)), eta_g=zero, eta_f=zero)
