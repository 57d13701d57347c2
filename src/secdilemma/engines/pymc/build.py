"""The PyMC model of a fit: the generative model of :mod:`secdilemma.model` in PyTensor.

The same reaction function (split slopes on the observer's increases ``u⁺`` and cuts ``u⁻``
with type-fixed signs), the same noise (Normal or Student-t), the same signal channels, and
the same rule for missing data (a term with a missing input contributes nothing). The
discrete type is summed out exactly, per dyad: for a static type ::

    log p(data_d | theta) = logsumexp_k [ log P(type_k) + sum_t log p(data_dt | type_k, theta) ]

and for a switching (Markov) type by the forward algorithm (:func:`forward_pytensor`). With
Normal noise and a static type the sum over periods is taken from each dyad's sufficient
statistics (:func:`_gaussian_reaction_loglik`), so that a gradient no longer grows with the
number of periods. The tests check the graph against :func:`secdilemma.model.loglik_components`
and the exact observer's evidence.

PyMC and PyTensor are imported inside the functions, so that ``import secdilemma`` stays
light.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from secdilemma.engines.pymc.priors import (
    REACTION,
    SIGNAL_COEFFICIENTS,
    reaction_parameter,
    signal_coefficients,
)
from secdilemma.engines.pymc.problem import FitProblem

__all__ = ["build_model", "forward_pytensor", "noise_loglik"]

_LOG_2PI = math.log(2.0 * math.pi)
#: The pairs ``(i, j)``, ``i <= j``, of the four reaction features (the upper triangle of
#: ``sphiphi``, which is symmetric).
_PAIRS = tuple((i, j) for i in range(4) for j in range(i, 4))


def noise_loglik(pt: Any, z: Any, sigma: Any, nu: Any | None) -> Any:
    """The log density of the reaction noise at standardised residuals ``z``: Normal
    (``nu is None``) or Student-t with ``nu`` degrees of freedom, scale ``sigma``.

    The PyTensor twin of the noise density in :func:`secdilemma.model.loglik_components`
    (symbolic, so that the sampler gets gradients); the tests hold the two together.
    """
    if nu is None:
        return -0.5 * (_LOG_2PI + z * z) - pt.log(sigma)
    const = pt.gammaln(0.5 * (nu + 1.0)) - pt.gammaln(0.5 * nu) - 0.5 * pt.log(nu * np.pi)
    return const - pt.log(sigma) - 0.5 * (nu + 1.0) * pt.log1p(z * z / nu)


def _reaction_parameters(pm: Any, pt: Any, problem: FitProblem, ndim: int) -> list[Any]:
    """The reaction parameters in :data:`~.priors.REACTION` order, each a scalar or, when it
    varies by dyad, shaped ``(dyad, 1, ...)`` with ``ndim`` axes to broadcast against."""
    hier = problem.hierarchical
    out = []
    for name in REACTION:
        v = reaction_parameter(pm, pt, name, problem.priors[name][0], name in hier, problem.spec)
        out.append(v[(slice(None), *([None] * (ndim - 1)))] if v.ndim == 1 else v)
    return out


def _reaction_loglik(pm: Any, pt: Any, problem: FitProblem) -> tuple[Any, Any]:
    """``(dyad, period, type)`` log density of the rival's changes (0 without evidence), and
    the log type prior: what the forward algorithm of a switching type reads."""
    a = problem.arrays
    ts = problem.types
    dx = pm.Data("dx_obs", a.dx0, dims=("dyad", "period"))
    mask = pm.Data("mask", a.mask.astype(float), dims=("dyad", "period"))
    up = pm.Data("u_up", a.up, dims=("dyad", "period"))
    dn = pm.Data("u_down", a.dn, dims=("dyad", "period"))
    h = pm.Data("h_prev", a.h_prev, dims=("dyad", "period"))
    log_prior = pm.Data("log_type_prior", problem.log_type_prior, dims="rival_type")
    g = pt.as_tensor(ts.greed)
    f = pt.as_tensor(ts.fear)
    mu, alpha, beta, gamma, kappa, sigma = _reaction_parameters(pm, pt, problem, 3)
    slope_up = f * beta * h[:, :, None] - g * (1.0 - f) * kappa
    slope_dn = f * (1.0 - g) * beta - g * gamma
    mean = mu + g * alpha + slope_up * up[:, :, None] + slope_dn * dn[:, :, None]
    z = (dx[:, :, None] - mean) / sigma
    nu = None if problem.nu is None else pm.Data("nu_value", problem.nu)
    return noise_loglik(pt, z, sigma, nu) * mask[:, :, None], log_prior


def _packed_reaction_loglik(pm: Any, pt: Any, problem: FitProblem) -> tuple[Any, Any]:
    """``(dyad, type)``: the log density of each dyad's changes under each type, summed over
    the periods, for any noise; and the log type prior.

    The same sum as :func:`_reaction_loglik`, over the periods with evidence only: they are
    packed into one vector with each one's dyad (in dyad order), and their terms added into
    their dyads. Dyads of different lengths are padded to the longest in the arrays; packed,
    the padding costs nothing (on the 87 windows of the reference pool, 2,820 terms instead
    of 87 x 98 = 8,526).
    """
    a = problem.arrays
    which, _ = np.nonzero(a.mask)  # row-major: sorted by dyad
    dyad = pm.Data("obs_dyad", which.astype(np.int64))
    dx = pm.Data("obs_dx", a.dx0[a.mask])
    up = pm.Data("obs_u_up", a.up[a.mask])
    dn = pm.Data("obs_u_down", a.dn[a.mask])
    h = pm.Data("obs_h_prev", a.h_prev[a.mask])
    log_prior = pm.Data("log_type_prior", problem.log_type_prior, dims="rival_type")
    g = pt.as_tensor(problem.types.greed)
    f = pt.as_tensor(problem.types.fear)
    mu, alpha, beta, gamma, kappa, sigma = (
        v[dyad][:, None] if v.ndim == 1 else v for v in _reaction_parameters(pm, pt, problem, 1)
    )  # (obs, 1) where they vary by dyad
    slope_up = f * beta * h[:, None] - g * (1.0 - f) * kappa
    slope_dn = f * (1.0 - g) * beta - g * gamma
    mean = mu + g * alpha + slope_up * up[:, None] + slope_dn * dn[:, None]  # (obs, type)
    nu = None if problem.nu is None else pm.Data("nu_value", problem.nu)
    ll = noise_loglik(pt, (dx[:, None] - mean) / sigma, sigma, nu)
    total = pt.zeros((a.shape[0], problem.types.n_types))
    return pt.inc_subtensor(total[dyad], ll), log_prior


def _gaussian_reaction_loglik(pm: Any, pt: Any, problem: FitProblem) -> tuple[Any, Any]:
    """``(dyad, type)``: the log density of each dyad's changes under each type, summed over
    the periods, for Normal noise; and the log type prior.

    The same sum as :func:`_reaction_loglik` (the tests hold them together), from the
    sufficient statistics of :meth:`~.arrays.FitArrays.gaussian_stats`: with the features
    ``phi_t = (1, h u⁺, u⁺, u⁻)`` and type ``k``'s coefficients
    ``w_k = (mu + g_k alpha - centre, f_k beta, -g_k (1 - f_k) kappa, f_k (1 - g_k) beta
    - g_k gamma)``, ::

        sum_t log N(dx_t | w_k . phi_t, sigma) = -n/2 log(2 pi) - n log sigma - Q_k / (2 sigma^2),
        Q_k = syy - 2 w_k . syphi + w_k' sphiphi w_k

    A gradient then costs ``O(dyads x types)`` instead of ``O(dyads x periods x types)``:
    on 200 dyads x 50 periods about 9 times less (25 against 220 microseconds for the log
    density and its gradient, one core; benchmarks/README.md).
    """
    st = problem.arrays.gaussian_stats()
    rows = [st["centre"], st["n"], st["syy"], *st["syphi"].T]
    rows += [st["sphiphi"][:, i, j] for i, j in _PAIRS]
    stats = pm.Data("gaussian_stats", np.stack(rows))  # (16, dyad)
    centre, n, syy, *rest = (stats[i][:, None] for i in range(len(rows)))
    sy, ss = rest[:4], dict(zip(_PAIRS, rest[4:], strict=True))
    log_prior = pm.Data("log_type_prior", problem.log_type_prior, dims="rival_type")
    g = pt.as_tensor(problem.types.greed)
    f = pt.as_tensor(problem.types.fear)
    mu, alpha, beta, gamma, kappa, sigma = _reaction_parameters(pm, pt, problem, 2)
    # type k's coefficients on the features (1, h u+, u+, u-); (type,) or (dyad, type)
    w = (
        mu - centre + g * alpha,
        f * beta,
        -g * (1.0 - f) * kappa,
        f * (1.0 - g) * beta - g * gamma,
    )
    # Q = syy - 2 w.syphi + w' sphiphi w, written out so that PyTensor fuses it into one loop
    q = syy - 2.0 * sum(w[j] * sy[j] for j in range(4))
    q = q + sum((1.0 if i == j else 2.0) * w[i] * w[j] * ss[i, j] for i, j in _PAIRS)
    ll = -0.5 * n * _LOG_2PI - n * pt.log(sigma) - 0.5 * q / (sigma * sigma)
    return ll, log_prior


def _signal_loglik(pm: Any, pt: Any, problem: FitProblem) -> Any:
    """``(dyad, period, type)`` log probability of the signals (Bernoulli-logit per
    channel, summed over channels; 0 where a signal or its input is missing)."""
    a = problem.arrays
    ts = problem.types
    g = pt.as_tensor(ts.greed)
    f = pt.as_tensor(ts.fear)
    s = pm.Data("signals_obs", a.s0, dims=("dyad", "period", "signal"))
    smask = pm.Data("signal_mask", a.smask.astype(float), dims=("dyad", "period", "signal"))
    thr = pm.Data("threat_prev", a.threat, dims=("dyad", "period"))
    eta = {c: signal_coefficients(pm, pt, problem.signal_priors[c]) for c in SIGNAL_COEFFICIENTS}
    eta_g = eta["eta_g"] * g[:, None]  # (type, signal)
    if a.posture.any():  # a posture channel's greed loading is 2 delta_t eta_g
        scale = pm.Data("greed_scale", a.greed_scale, dims=("dyad", "period", "signal"))
        eta_g = eta_g * scale[:, :, None, :]
    logit = (
        eta["eta0"] + eta_g + eta["eta_f"] * f[:, None] * thr[:, :, None, None]
    )  # (dyad, period, type, signal)
    sb = s[:, :, None, :]
    lls = -(sb * pt.softplus(-logit) + (1.0 - sb) * pt.softplus(logit))
    return pt.sum(lls * smask[:, :, None, :], axis=3)


def build_model(problem: FitProblem) -> Any:
    """The :class:`pymc.Model` of ``problem``; its data live in ``pm.Data`` containers.

    The type is summed out in a ``pm.Potential`` (``type_marginal``). For a switching type
    the log transition matrix is a ``pm.Data`` (``log_transition``), so a new persistence
    reuses a compiled model.
    """
    import pymc as pm
    import pytensor.tensor as pt

    a = problem.arrays
    coords = {
        "dyad": a.dyads,
        "period": a.periods.tolist(),
        "rival_type": list(problem.types.names),
        "signal": list(a.channels),
    }
    switching = problem.spec.types.switching
    with pm.Model(coords=coords) as model:
        if not switching:
            summed, log_prior = (
                _gaussian_reaction_loglik if problem.nu is None else _packed_reaction_loglik
            )(pm, pt, problem)  # (dyad, type)
            if a.shape[2]:
                summed = summed + pt.sum(_signal_loglik(pm, pt, problem), axis=1)
            final = summed + log_prior
        else:
            per_period, log_prior = _reaction_loglik(pm, pt, problem)  # (dyad, period, type)
            if a.shape[2]:
                per_period = per_period + _signal_loglik(pm, pt, problem)
            if switching:
                log_trans = pm.Data("log_transition", problem.log_transition)
                final = forward_pytensor(pt, per_period, log_prior, log_trans, a.shape[1])
            else:
                final = pt.sum(per_period, axis=1) + log_prior  # (dyad, type)
        pm.Potential("type_marginal", pt.sum(pt.logsumexp(final, axis=-1)))
    return model


def forward_pytensor(pt: Any, per_period: Any, log_prior: Any, log_trans: Any, T: int) -> Any:
    """The forward algorithm in PyTensor: the final unnormalised log message ``(dyad, type)``,
    ``log p(data_1..T, z_T = k)``, of a switching type::

        a_0 = log P(z_0) + l_0,   a_t(k) = logsumexp_i [ a_{t-1}(i) + log A(i, k) ] + l_t(k)

    ``per_period`` is ``(dyad, period, type)``; ``z_0`` is drawn from the prior, and the
    transition applies between every pair of consecutive periods (also into periods without
    evidence, whose log-likelihood is 0), as in
    :func:`secdilemma.engines.exact.filtering.forward_backward`. The loop over periods is a
    ``pytensor.scan``: on the naval case and on 5 x 50 simulated periods it compiled faster
    than an unrolled loop (nutpie 47 s against 85 s at T = 50) and sampled about as fast. The
    sum over the previous type is taken in log space, so a persistence of exactly 1 (``-inf``
    off the diagonal) keeps finite gradients.
    """
    import pytensor

    def step(ll_t: Any, alpha: Any, lt: Any) -> Any:
        return pt.logsumexp(alpha[:, :, None] + lt[None, :, :], axis=1) + ll_t

    alpha0 = log_prior + per_period[:, 0, :]
    if T < 2:
        return alpha0
    seq = per_period[:, 1:, :].dimshuffle(1, 0, 2)  # (period - 1, dyad, type)
    alphas = pytensor.scan(
        step,
        sequences=[seq],
        outputs_info=[alpha0],
        non_sequences=[log_trans],
        strict=True,
        return_updates=False,
    )
    return alphas[-1]
