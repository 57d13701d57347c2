"""The exact observer integrated over the fit's prior: one answer from both engines.

The PyMC fit (:mod:`secdilemma.engines.pymc`) puts a prior on the coefficients (the pooled
reference's posterior, widened by the spec's ``reference_log_sd``; data-derived priors on
``mu`` and ``sigma``; the reference's signal coefficients) and integrates over it by MCMC.
The exact observer with one parameter point cannot agree with it where the case's data
move the coefficients. Here the exact observer integrates over **the same prior** by
importance sampling, with the exact filter for each draw:

1. ``theta_s``, ``s = 1..S``, are drawn from a proposal built on the fit's prior
   (:func:`fit_prior`: the fit's own :func:`~secdilemma.engines.pymc.priors.resolve_priors`
   and :func:`~secdilemma.engines.pymc.priors.resolve_signal_priors`), in the coordinates
   ``z`` where every normal or lognormal prior is a normal (the log of a lognormal
   coefficient): a defensive mixture of the prior (10 %) and one Student-t (4 degrees of
   freedom) per mode of the posterior of ``z``, at the mode with the inverse of the
   negative Hessian as its shape (Laplace), one mode per rival type (the data read as that
   type alone) and one for the types mixed as the observer's prior mixes them: the
   posterior of the coefficients is as multimodal as the reading of the rival. Modes are
   found by L-BFGS with finite-difference gradients, each a batched call of the filter;
2. the exact filter gives, per draw, the belief ``P(type | data_1..t, theta_s)`` and the
   evidence ``p(data_1..t | theta_s)`` (the types summed out) at every period ``t``;
3. the belief is the weighted mixture ``sum_s w_s(t) P(type | data_1..t, theta_s)`` with
   ``w_s(t) ~ p(data_1..t | theta_s) prior(theta_s) / proposal(theta_s)``: Bayes' rule over
   the coefficients, exactly what the fit samples, up to Monte Carlo error.

The effective sample size of the final weights (``ESS = 1 / sum w^2``) and the Monte
Carlo standard error of each final type probability (the delta-method error of a
self-normalised importance estimate, ``sqrt(sum_s w_s^2 (p_s - p)^2)``) are reported;
draws are doubled (up to ``max_draws``) until the ESS reaches ``min_ess``. The weights are
exact for any proposal that covers the posterior, so the proposal changes the Monte Carlo
error only. The weighted draws, resampled (systematic resampling), are the parameter draws
the decision reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.engines.exact import forward_backward
from secdilemma.engines.pymc.priors import resolve_priors, resolve_signal_priors
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams, loglik_components
from secdilemma.model.types import TypeSpace
from secdilemma.spec.model_spec import ModelSpec, PriorSpec

__all__ = [
    "IntegratedBelief",
    "fit_channels",
    "fit_prior",
    "integrated_belief",
    "integrated_label",
]

FloatArray = npt.NDArray[np.float64]

#: Draws of the first round, the ESS asked for, and the most draws tried.
N_DRAWS = 4000
MIN_ESS = 400.0
MAX_DRAWS = 64000
#: Parameter draws kept (resampled) for the decision.
N_KEEP = 1000
_COEFS = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")


@dataclass(frozen=True)
class IntegratedBelief:
    """The integrated exact observer's result.

    Attributes
    ----------
    posterior
        ``filtered`` and ``smoothed`` ``(period, rival_type)``, the mixtures over the
        weighted draws; ``mc_se`` ``(rival_type)``, the Monte Carlo standard error of the
        final filtered probability; ``log_evidence``, the log marginal likelihood.
    draws
        ``N_KEEP`` parameter draws resampled by weight (array fields ``(N_KEEP,)``; the
        signal coefficients of the resampled draws in ``signal_draws``).
    signal_draws
        ``{"eta0"|"eta_g"|"eta_f": (N_KEEP, J)}`` or ``None`` without channels.
    final_draws
        ``(N_KEEP, K)`` the final filtered belief of each resampled draw (what the decision
        averages its expected utilities over).
    ess
        Effective sample size of the final weights.
    n_draws
        Draws evaluated.
    """

    posterior: xr.Dataset
    draws: ModelParams
    signal_draws: dict[str, FloatArray] | None
    final_draws: FloatArray
    ess: float
    n_draws: int


@dataclass(frozen=True)
class _Draws:
    params: dict[str, FloatArray]  # (S,) per coefficient
    eta: dict[str, FloatArray] | None  # (S, J) per signal coefficient
    z: FloatArray  # (S, D) the adaptable coordinates
    log_ratio: FloatArray  # log prior / proposal, (S,)


def fit_prior(
    spec: ModelSpec, dx: npt.ArrayLike, reference: Path | None
) -> tuple[dict[str, PriorSpec], dict[str, Any] | None]:
    """The fit's prior of each reaction coefficient and of each channel's coefficients
    (the fit's own resolution: user > data-derived > reference > default).

    Examples
    --------
    >>> from secdilemma.spec import ModelSpec
    >>> pri, sig = fit_prior(ModelSpec.from_dict({"priors": {"beta": 0.6}}), [0.1, -0.1, 0.0], None)
    >>> pri["beta"].to_dict(), sig is None
    ({'dist': 'fixed', 'value': 0.6}, True)
    """
    pri = {k: v[0] for k, v in resolve_priors(spec, dx, reference=reference).items()}
    sig = resolve_signal_priors(spec, reference=reference) if spec.signals.channels else None
    return pri, sig


def _sample(prior: PriorSpec, n: int, rng: np.random.Generator, name: str) -> FloatArray:
    a = prior.args
    if prior.is_fixed:
        return np.full(n, float(a["value"]))
    if prior.dist == "normal":
        return rng.normal(float(a["mu"]), float(a["sigma"]), n)
    if prior.dist == "lognormal":
        return float(a["median"]) * np.exp(float(a["log_sd"]) * rng.standard_normal(n))
    if prior.dist == "halfnormal":
        return np.abs(rng.normal(0.0, float(a["sigma"]), n))
    if prior.dist == "gamma":
        return rng.gamma(float(a["alpha"]), 1.0 / float(a["beta"]), n)
    raise ParameterError(f"priors.{name}: the exact observer cannot draw from {prior.dist!r}.")


class _Coords:
    """The coefficients' coordinates ``z`` in which every normal / lognormal prior is a
    normal (``log`` of a lognormal coefficient), with that prior's mean and sd; the other
    priors (fixed, halfnormal, gamma) are drawn from the prior and cancel in the weights."""

    def __init__(self, pri: dict[str, PriorSpec], sig: dict[str, Any] | None) -> None:
        self.keys: list[tuple[str, int | None, bool]] = []  # (name, channel, log scale)
        m0: list[float] = []
        s0: list[float] = []
        for k in ("mu", "alpha", "beta", "gamma", "kappa", "sigma"):
            p = pri[k]
            if p.dist == "normal":
                self.keys.append((k, None, False))
                m0.append(float(p.args["mu"]))
                s0.append(float(p.args["sigma"]))
            elif p.dist == "lognormal":
                self.keys.append((k, None, True))
                m0.append(math.log(float(p.args["median"])))
                s0.append(float(p.args["log_sd"]))
        for c, sp in (sig or {}).items():
            for j in np.flatnonzero(~sp.fixed):
                self.keys.append((c, int(j), False))
                m0.append(float(sp.mu[j]))
                s0.append(float(sp.sigma[j]))
        self.m0, self.s0 = np.array(m0), np.array(s0)

    def log_prior(self, z: FloatArray) -> FloatArray:
        """The prior's normalised log density of ``z`` (it is mixed with the normalised
        Student-t densities of the proposal, so the constant matters)."""
        r = (z - self.m0) / self.s0
        const = np.sum(np.log(self.s0)) + 0.5 * self.m0.size * math.log(2.0 * math.pi)
        return np.asarray(-0.5 * np.sum(r**2, axis=1) - const)


@dataclass(frozen=True)
class _Proposal:
    """A defensive mixture ``share * prior + (1 - share) * mean_i t_df(m_i, C_i)`` in ``z``:
    one Student-t per mode found."""

    modes: tuple[tuple[FloatArray, FloatArray], ...]  # (m, cov) per mode
    share: float
    df: float = 4.0


def _draw(
    pri: dict[str, PriorSpec],
    sig: dict[str, Any] | None,
    co: _Coords,
    prop: _Proposal | None,
    n: int,
    rng: np.random.Generator,
) -> _Draws:
    """``n`` draws: the adaptable coordinates from the proposal (the prior when ``None``),
    the rest from the prior."""
    from scipy.stats import multivariate_t  # lazy: scipy.stats is heavy

    d = co.m0.size
    z = co.m0 + co.s0 * rng.standard_normal((n, d))
    log_ratio = np.zeros(n)
    if prop is not None and d and prop.modes:
        ts = [multivariate_t(loc=m, shape=c, df=prop.df) for m, c in prop.modes]
        which = rng.integers(0, len(ts), n)
        take = rng.random(n) >= prop.share
        for i, t in enumerate(ts):
            sel = take & (which == i)
            if sel.any():
                z[sel] = np.asarray(t.rvs(size=int(sel.sum()), random_state=rng)).reshape(-1, d)
        lp = co.log_prior(z)
        lt = np.logaddexp.reduce([t.logpdf(z) for t in ts], axis=0) - math.log(len(ts))
        lq = np.logaddexp(math.log(prop.share) + lp, math.log1p(-prop.share) + lt)
        log_ratio = lp - lq
    return _draws_at(pri, sig, co, z, rng, log_ratio)


def _draws_at(
    pri: dict[str, PriorSpec],
    sig: dict[str, Any] | None,
    co: _Coords,
    z: FloatArray,
    rng: np.random.Generator | None,
    log_ratio: FloatArray,
) -> _Draws:
    """The parameters at coordinates ``z``; the non-adaptable ones drawn from their prior
    (``rng``) or at its median (``rng=None``, the mode search)."""
    n = z.shape[0]
    params: dict[str, FloatArray] = {}
    eta = None
    if sig is not None:
        eta = {c: np.tile(p.value, (n, 1)).astype(float) for c, p in sig.items()}
    for i, (k, j, log) in enumerate(co.keys):
        if j is None:
            params[k] = np.exp(z[:, i]) if log else z[:, i]
        else:
            assert eta is not None
            eta[k][:, j] = z[:, i]
    for k in _COEFS:
        if k not in params:
            if rng is None:
                params[k] = np.full(
                    n, float(np.median(_sample(pri[k], 4001, np.random.default_rng(0), k)))
                )
            else:
                params[k] = _sample(pri[k], n, rng, k)
    return _Draws(params, eta, z, log_ratio)


def _start(co: _Coords, dx: FloatArray) -> FloatArray:
    """Where the mode search starts: the prior's centre, ``mu`` and ``log sigma`` at the
    moves' median and log sd (their data-derived priors are wide)."""
    z0 = co.m0.copy()
    fin = dx[np.isfinite(dx)]
    if fin.size >= 3:
        for i, (k, _, log) in enumerate(co.keys):
            if k == "mu" and not log:
                z0[i] = float(np.median(fin))
            elif k == "sigma" and log:
                z0[i] = math.log(float(np.std(fin)) or 0.1)
    return z0


def _laplace(
    logpost: Any, co: _Coords, z0: FloatArray, h: float = 1e-4
) -> tuple[FloatArray, FloatArray] | None:
    """The mode of ``logpost`` in ``z`` and the inverse of the negative Hessian there
    (``None`` when the mode search fails). Gradients and the Hessian are finite
    differences, each one batched call."""
    from scipy.optimize import minimize  # lazy: scipy.optimize is heavy

    d = z0.size
    eye = np.eye(d)

    def fun(z: FloatArray) -> tuple[float, FloatArray]:
        pts = np.vstack([z, z + h * eye, z - h * eye])
        v = logpost(pts)
        return -float(v[0]), -(v[1 : d + 1] - v[d + 1 :]) / (2 * h)

    opt = minimize(fun, z0, jac=True, method="L-BFGS-B")
    if not np.all(np.isfinite(opt.x)):
        return None
    m, k = opt.x, 1e-3
    ii, jj = np.triu_indices(d)
    signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float)
    pts = m + k * (signs[:, None, 0, None] * eye[ii] + signs[:, None, 1, None] * eye[jj])
    v = logpost(pts.reshape(-1, d)).reshape(4, -1)
    hij = (v[0] - v[1] - v[2] + v[3]) / (4 * k * k)
    hess = np.zeros((d, d))
    hess[ii, jj] = hij
    hess[jj, ii] = hij
    prec_vals, vecs = np.linalg.eigh(-hess)
    if not np.all(np.isfinite(prec_vals)):
        return None
    floor = 0.5 / float(np.max(co.s0**2))  # flat or concave-up directions: the prior's width
    prec_vals = np.maximum(prec_vals, floor)
    cov = (vecs / prec_vals) @ vecs.T
    return m, 0.5 * (cov + cov.T)


def _loglik(
    base: ModelParams,
    d: _Draws,
    names: tuple[str, ...],
    dx: FloatArray,
    u: FloatArray,
    signals: FloatArray | None,
    types: TypeSpace,
    threat_blind: bool,
    w: tuple[float, FloatArray],
    posture: npt.NDArray[np.bool_],
) -> FloatArray:
    """``(S, T, K)`` weighted log-likelihood of every draw (``posture``: per channel in
    ``names``, whether its greed loading is scaled by ``2 * delta``)."""
    n, t = d.log_ratio.size, dx.size
    params = base.replace(signals=None, **d.params)
    ll_b, _ = loglik_components(
        np.broadcast_to(dx, (n, t)), np.broadcast_to(u, (n, t)), params, types,
        threat_blind=threat_blind,
    )  # fmt: skip
    total = ll_b if w[0] == 1.0 else np.where(w[0] == 0.0, 0.0, w[0] * ll_b)
    if d.eta is None or signals is None:
        return np.asarray(total)
    j = len(names)
    # every draw's channels as channels of one call (draw-major), on the data's one scenario
    stacked = SignalParams(
        tuple(f"{c}#{i}" for i in range(n) for c in names),
        eta0=d.eta["eta0"].reshape(-1), eta_g=d.eta["eta_g"].reshape(-1),
        eta_f=d.eta["eta_f"].reshape(-1), posture=np.tile(posture, n),
    )  # fmt: skip
    p1 = base.replace(signals=stacked)
    _, ll_s = loglik_components(
        dx, u, p1, types, signals=np.tile(signals, (1, n)), threat_blind=threat_blind
    )
    assert ll_s is not None
    per = ll_s.reshape(t, types.n_types, n, j).transpose(2, 0, 1, 3)  # (S, T, K, J)
    ws = np.asarray(w[1], dtype=float)
    per = np.where(ws == 0.0, 0.0, ws * per)
    return np.asarray(total + per.sum(axis=-1))


def _cumulative_evidence(
    ll: FloatArray, log_prior: FloatArray, log_filtered: FloatArray, trans: FloatArray | None
) -> FloatArray:
    """``(S, T)`` ``log p(data_1..t | theta_s)``: the filter's one-step normalisers summed."""
    if trans is None:
        pred = np.broadcast_to(log_prior, ll.shape)
    else:
        with np.errstate(divide="ignore"):
            lt = np.log(trans)
        prev = np.concatenate(
            [np.broadcast_to(log_prior, ll[:, :1].shape), log_filtered[:, :-1]], axis=1
        )
        pred = np.logaddexp.reduce(prev[..., :, None] + lt, axis=-2)
        pred[:, 0] = log_prior
    if trans is None:  # static type: the belief is prior * cumulative likelihood
        return np.asarray(np.logaddexp.reduce(pred + np.cumsum(ll, axis=1), axis=-1))
    step = np.logaddexp.reduce(pred + ll, axis=-1)
    return np.asarray(np.cumsum(step, axis=1))


def _normalised(logw: FloatArray) -> FloatArray:
    m = np.max(logw, axis=0, keepdims=True)
    w = np.exp(logw - m)
    return np.asarray(w / w.sum(axis=0, keepdims=True))


def _resample(w: FloatArray, n: int, seed: int) -> npt.NDArray[np.intp]:
    """Systematic resampling: ``n`` indices with frequencies proportional to ``w``."""
    u0 = np.random.default_rng(seed).random()
    pos = (u0 + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), pos), w.size - 1)


def integrated_belief(
    spec: ModelSpec,
    moves: xr.Dataset,
    base: ModelParams,
    observer: Any,
    *,
    reference: Path | None,
    seed: int,
    n_draws: int = N_DRAWS,
    min_ess: float = MIN_ESS,
    max_draws: int = MAX_DRAWS,
) -> IntegratedBelief:
    """The exact observer's belief integrated over the fit's prior (module docstring).

    ``base`` carries what the fit does not estimate (the world, ``nu``, ``lam``);
    ``observer`` gives the type prior, the weights, the transition and the threat
    blindness (its kind's hooks, as :meth:`secdilemma.observers.Observer.loglik`).
    """
    dx = np.asarray(moves["dx"].transpose("period").values, dtype=float)
    u = np.asarray(moves["u"].transpose("period").values, dtype=float)
    names = tuple(spec.signals.channels)
    posture = np.array(spec.signals.posture_flags(), dtype=bool)
    signals = None
    if names and "signals" in moves:
        signals = np.asarray(
            moves["signals"].sel(signal=list(names)).transpose("period", "signal").values,
            dtype=float,
        )
    pri, sig = fit_prior(spec, dx, reference)
    if signals is None:
        sig = None
    nu = pri["nu"]
    base = base.replace(nu=float(nu.args["value"]) if nu.is_fixed else None)
    types = observer.types if observer.types is not None else TypeSpace.default()
    log_prior = np.log(observer._type_prior(types))
    trans = observer._transition_matrix(types)
    w = observer._weights(names if sig is not None else ())
    co = _Coords(pri, sig)
    rng = np.random.default_rng(seed)

    def logpost(z: FloatArray, lpr: FloatArray = log_prior) -> FloatArray:
        dz = _draws_at(pri, sig, co, z, None, np.zeros(z.shape[0]))
        ll = _loglik(base, dz, names, dx, u, signals, types, observer.threat_blind, w, posture)
        ev = forward_backward(ll, lpr, transition=trans, smooth=False).log_evidence
        return np.asarray(co.log_prior(z) + ev)

    prop = None
    if co.m0.size:
        # one mode per type (the data read as that type alone) and the mixture's: the
        # posterior of the coefficients is as multimodal as the reading of the rival
        z0 = _start(co, dx)
        starts = [log_prior] + [
            np.where(np.arange(types.n_types) == k, 0.0, -np.inf) for k in range(types.n_types)
        ]
        found = [_laplace(lambda z, lp=lp: logpost(z, lp), co, z0) for lp in starts]
        modes = tuple(m for m in found if m is not None)
        prop = _Proposal(modes, 0.1) if modes else None
    n = int(n_draws)
    while True:
        d = _draw(pri, sig, co, prop, n, rng)
        ll = _loglik(base, d, names, dx, u, signals, types, observer.threat_blind, w, posture)
        res = forward_backward(ll, log_prior, transition=trans, smooth=True)
        cum = _cumulative_evidence(ll, log_prior, res.log_filtered, trans)
        logw = cum + d.log_ratio[:, None]  # (S, T)
        wt = _normalised(logw)
        ess = float(1.0 / np.sum(wt[:, -1] ** 2))
        if ess >= min_ess or n >= max_draws:
            break
        n = min(2 * n, int(max_draws))
    return _result(res, wt, logw, d, base, moves, types, ess, n, seed)


def _result(
    res: Any,
    wt: FloatArray,
    logw: FloatArray,
    d: _Draws,
    base: ModelParams,
    moves: xr.Dataset,
    types: TypeSpace,
    ess: float,
    n: int,
    seed: int,
) -> IntegratedBelief:
    """The weighted mixtures, their Monte Carlo error and the resampled draws."""
    assert res.log_smoothed is not None
    filt = np.exp(res.log_filtered)
    smooth = np.exp(res.log_smoothed)
    filtered = np.einsum("st,stk->tk", wt, filt)
    smoothed = np.einsum("s,stk->tk", wt[:, -1], smooth)
    final = filt[:, -1]
    mc_se = np.sqrt(np.sum(wt[:, -1, None] ** 2 * (final - filtered[-1]) ** 2, axis=0))
    lw = logw[:, -1]
    log_ev = float(np.logaddexp.reduce(lw) - math.log(lw.size))
    post = xr.Dataset(
        {
            "filtered": (("period", "rival_type"), filtered),
            "smoothed": (("period", "rival_type"), smoothed),
            "mc_se": (("rival_type",), mc_se),
            "log_evidence": ((), log_ev),
        },
        coords={"period": moves["period"].values, "rival_type": list(types.names)},
    )
    post["mc_se"].attrs["long_name"] = "Monte Carlo standard error of the final belief"
    keep = _resample(wt[:, -1], N_KEEP, seed + 1)
    draws = base.replace(signals=None, **{k: v[keep] for k, v in d.params.items()})
    sdraws = None if d.eta is None else {k: v[keep] for k, v in d.eta.items()}
    return IntegratedBelief(post, draws, sdraws, final[keep], ess, n)


def integrated_label(ib: IntegratedBelief) -> str:
    """How the belief was integrated, in a sentence (for attrs and outputs)."""
    return (
        f"integrated over the fit's prior ({ib.n_draws} draws, effective sample size "
        f"{ib.ess:.0f}, Monte Carlo error of the final belief "
        f"<= {float(ib.posterior['mc_se'].max()):.3f})"
    )


def fit_channels(spec: ModelSpec, signals: bool) -> dict[str, str]:
    """How the integrated observer reads each channel: as the fit does."""
    if not signals:
        return {c: "not used: signals=False" for c in spec.signals.channels}
    return {c: "the fit's prior on its coefficients (integrated)" for c in spec.signals.channels}
