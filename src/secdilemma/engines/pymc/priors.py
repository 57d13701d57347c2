"""The priors of a fit (user > data-derived > reference > default) and their PyMC variables.

:func:`resolve_priors` decides each parameter's prior; :func:`reaction_parameter` and
:func:`signal_coefficients` turn a prior into the PyMC random variable (or a constant for a
fixed one). Every hyperparameter is a ``pm.Data``, so a compiled nutpie model, cached by
structure, is reused with new values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import SpecError
from secdilemma.model import ModelParams
from secdilemma.spec.model_spec import DEFAULT_PRIORS, DEFAULT_TAU, ModelSpec, PriorSpec
from secdilemma.spec.reference import (
    STAND_IN,
    load_reference_params,
    load_reference_posterior,
    load_reference_signal_posterior,
)

__all__ = [
    "POSITIVE",
    "REACTION",
    "SIGNAL_COEFFICIENTS",
    "SignalPrior",
    "reaction_parameter",
    "resolve_priors",
    "resolve_signal_priors",
    "signal_coefficients",
]

#: The reaction parameters, in the order the likelihood reads them.
REACTION = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
#: Those that are positive (a hierarchical one varies by dyad on the log scale).
POSITIVE = ("alpha", "beta", "gamma", "kappa", "sigma")
#: The coefficients of each signal channel.
SIGNAL_COEFFICIENTS = ("eta0", "eta_g", "eta_f")


def _robust_sd(dx: npt.NDArray[np.float64]) -> float:
    finite = dx[np.isfinite(dx)]
    if finite.size < 3:
        return 0.1
    mad = 1.4826 * float(np.median(np.abs(finite - np.median(finite))))
    return max(mad, 1e-3)


def _reference_prior(
    name: str,
    spec: ModelSpec,
    ref: ModelParams,
    ref_post: dict[str, dict[str, float]] | None,
) -> PriorSpec:
    """The prior of a shared coefficient (alpha .. kappa) or ``nu`` from the reference."""
    if name == "nu":
        nu = ref.nu
        return PriorSpec("gaussian") if nu is None else PriorSpec("fixed", {"value": nu})
    # the pooled posterior (median, sd of the log), widened by the spec's allowance for how
    # far a case may differ from the pool; the point estimate with that allowance alone when
    # the reference file has no posterior
    if ref_post is not None:
        med = ref_post[name]["median"]
        log_sd = math.hypot(ref_post[name]["log_sd"], spec.priors.reference_log_sd)
    else:
        med = float(np.asarray(getattr(ref, name)))
        log_sd = spec.priors.reference_log_sd
    args = {"median": max(med, spec.priors.reference_floor), "log_sd": log_sd}
    return PriorSpec("lognormal", args)


def resolve_priors(
    spec: ModelSpec, dx: npt.ArrayLike, *, reference: Path | None = None
) -> dict[str, tuple[PriorSpec, str]]:
    """The prior of each parameter and where it came from (``user``, ``data``, ``reference``,
    ``default``), following the precedence user > data-derived > reference > default.

    ``reference`` is the reference file read with ``use_reference`` (default
    ``models/reference_params.toml``; :func:`secdilemma.reference.reference_for` gives the
    pool without a study's own dyad).

    Examples
    --------
    >>> from secdilemma.spec import ModelSpec
    >>> spec = ModelSpec.from_dict({"priors": {"beta": 0.6}})
    >>> pri = resolve_priors(spec, [0.1, -0.1, 0.2, 0.0])
    >>> pri["beta"][0].to_dict(), pri["beta"][1], pri["alpha"][1], pri["sigma"][1]
    ({'dist': 'fixed', 'value': 0.6}, 'user', 'default', 'data')
    """
    dx_a = np.asarray(dx, dtype=float)
    out: dict[str, tuple[PriorSpec, str]] = {}
    ref: ModelParams | None = None
    ref_post: dict[str, dict[str, float]] | None = None
    if spec.priors.use_reference:
        ref = load_reference_params(reference)
        ref_post = load_reference_posterior(reference)
    sd = _robust_sd(dx_a)
    enough = np.isfinite(dx_a).sum() >= 3
    for name in (*REACTION, "nu"):
        if name in spec.priors.params:
            out[name] = (spec.priors.params[name], "user")
        elif ref is not None and name in ("alpha", "beta", "gamma", "kappa", "nu"):
            out[name] = (_reference_prior(name, spec, ref, ref_post), "reference")
        elif name == "sigma" and enough:
            out[name] = (PriorSpec("lognormal", {"median": sd, "log_sd": 1.0}), "data")
        elif name == "mu" and enough:
            scale = max(0.1, 2.0 * sd)
            out[name] = (PriorSpec("normal", {"mu": 0.0, "sigma": scale}), "data")
        else:
            d = dict(DEFAULT_PRIORS[name])
            out[name] = (PriorSpec(d.pop("dist"), d), "default")
    return out


def reaction_parameter(
    pm: Any, pt: Any, name: str, prior: PriorSpec, hier: bool, spec: ModelSpec
) -> Any:
    """A reaction parameter: a variable with its prior (``pm.Data`` hyperparameters), a
    constant for a fixed prior, or per dyad (``{name}_dyad``, see :func:`_per_dyad`) when
    ``hier``.

    A Normal or LogNormal parameter is *standardised*: the sampler moves
    ``{name}_raw_z ~ Normal(0, 1)`` and ``{name}`` is the Deterministic
    ``mu + sigma * raw`` (``median * exp(log_sd * raw)``), the same prior. Every coordinate
    the sampler sees then has prior scale 1, whatever the units of the moves: nutpie and
    PyMC start each chain at a uniform(-1, 1) jitter of the prior's centre in those
    coordinates, which for ``mu`` in its own units (prior sd 0.1 by default) put chains up
    to 10 prior sds away, near modes where every dyad is read as greedy and ``mu`` and
    ``alpha`` drift together (on 200 simulated dyads, 3 of 6 seeds had a chain that tuned
    there to 73-171 leapfrog steps a draw, and 5 of 6 failed the gate, R-hat up to 1.33;
    benchmarks/README.md). The raw coordinates (``*_z``) are dropped from the result;
    ``{name}`` is reported as before.
    """
    args = prior.args
    if prior.is_fixed:
        return pm.Data(f"{name}_value", float(args["value"]))
    hp = {k: pm.Data(f"{name}__{k}", float(v)) for k, v in args.items()}
    if prior.dist == "normal":
        raw = pm.Normal(f"{name}_raw_z", 0.0, 1.0)
        rv = pm.Deterministic(name, hp["mu"] + hp["sigma"] * raw)
    elif prior.dist == "lognormal":
        raw = pm.Normal(f"{name}_raw_z", 0.0, 1.0)
        rv = pm.Deterministic(name, hp["median"] * pt.exp(hp["log_sd"] * raw))
    elif prior.dist == "halfnormal":
        rv = pm.HalfNormal(name, sigma=hp["sigma"])
    elif prior.dist == "gamma":
        rv = pm.Gamma(name, alpha=hp["alpha"], beta=hp["beta"])
    else:  # pragma: no cover - the spec validates dists
        raise SpecError(f"priors.{name}: unsupported dist {prior.dist!r}.")
    if not hier:
        return rv
    return _per_dyad(pm, pt, name, rv, spec.priors.tau.get(name, DEFAULT_TAU[name]))


def _per_dyad(pm: Any, pt: Any, name: str, rv: Any, tau_scale: float) -> Any:
    """``{name}_dyad``: the population value ``rv`` varied by dyad with population sd
    ``{name}_tau ~ HalfNormal(tau_scale)`` (on the log scale for a positive parameter).

    Non-centred, with the population sd *parameter-expanded* (Gelman, van Dyk, Huang &
    Boscardin 2008, "Using redundant parameterizations to fit hierarchical models", JCGS
    17(1)): the sampler moves a signed, standardised scale ``{name}_tau_z ~ Normal(0, 1)``
    and offsets ``{name}_z ~ Normal(0, 1)``, and ::

        {name}_dyad = rv + tau_scale * {name}_tau_z * {name}_z   (rv * exp(...) if positive)
        {name}_tau  = tau_scale * |{name}_tau_z|

    which is the same model (``|Normal(0, s)|`` is ``HalfNormal(s)``, and a sign flip of the
    scale is one of the offsets, which are symmetric), but a smooth posterior where the data
    put the population sd near zero. The plain non-centred form samples ``log {name}_tau``,
    whose posterior then has a long left tail (the HalfNormal's density is ``∝ tau`` in log
    space, out to ``-inf``): on 200 simulated dyads x 50 periods of one common drift it gave
    ``mu_tau`` the worst R-hat and the smallest ESS of the fit (benchmarks/README.md).
    Where the sd is well away from zero the signed scale has two mirror-image modes, one
    per sign, and a chain keeps to one; nothing reported depends on the sign
    (``{name}_tau``, ``{name}_dyad``), and the raw coordinates (``*_z``) are dropped from
    the result.
    """
    # pm.Data like every other hyperparameter: a constant here would be baked into the
    # compiled nutpie model, which is cached by structure and reused with new data only
    scale = pm.Data(f"{name}_tau__sigma", float(tau_scale)) * pm.Normal(f"{name}_tau_z", 0.0, 1.0)
    pm.Deterministic(f"{name}_tau", pt.abs(scale))
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims="dyad")
    if name in POSITIVE:
        return pm.Deterministic(f"{name}_dyad", rv * pt.exp(scale * z), dims="dyad")
    return pm.Deterministic(f"{name}_dyad", rv + scale * z, dims="dyad")


@dataclass(frozen=True, eq=False)
class SignalPrior:
    """The prior of one signal coefficient, channel by channel.

    A channel's coefficient is either fixed (``fixed[j]``, at ``value[j]``) or
    Normal(``mu[j]``, ``sigma[j]``); ``origin[j]`` says where it came from: ``user`` (the
    spec's ``[signals.priors]``), ``reference`` (the pool's posterior of that channel),
    ``reference:<derived channel>`` (a curated channel borrowing a derived one's loading,
    :data:`~secdilemma.spec.STAND_IN`) or ``default``.
    """

    coef: str
    fixed: npt.NDArray[np.bool_]
    value: npt.NDArray[np.float64]
    mu: npt.NDArray[np.float64]
    sigma: npt.NDArray[np.float64]
    origin: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the fit's attrs)."""
        return {"fixed": self.fixed.tolist(), "value": self.value.tolist(),
                "mu": self.mu.tolist(), "sigma": self.sigma.tolist(),
                "origin": list(self.origin)}  # fmt: skip


def resolve_signal_priors(
    spec: ModelSpec, *, reference: Path | None = None
) -> dict[str, SignalPrior]:
    """The prior of ``eta0``, ``eta_g`` and ``eta_f`` for each of the spec's channels.

    A posture channel's (``[signals] posture``) ``eta_g`` takes the spec's ``posture_prior``
    (default :data:`~secdilemma.spec.sections.DEFAULT_POSTURE_PRIOR`), origin ``posture``
    (``posture:user`` when given). Otherwise the precedence, per channel: the spec's
    ``[signals.priors]`` (one prior for every channel)
    > with ``use_reference``, the pool's posterior of the channel, Normal(mean, sd widened by
    ``reference_log_sd``: on the logit scale that is the same allowance, a factor of
    ``exp(reference_log_sd)`` on the odds) > the default. A curated channel with a
    :data:`~secdilemma.spec.STAND_IN` borrows that channel's ``eta_g`` and ``eta_f`` but keeps
    the default intercept: it counts acts against any state, not only the observer, so its
    base rate is its own.
    """
    chans = tuple(spec.signals.channels)
    post = load_reference_signal_posterior(reference) if spec.priors.use_reference else None
    posture = set(spec.signals.posture)
    out: dict[str, SignalPrior] = {}
    for c in SIGNAL_COEFFICIENTS:
        base = spec.signals.prior(c)
        rows: list[tuple[bool, float, float, float, str]] = []
        for ch in chans:
            if c == "eta_g" and ch in posture:  # no pool records postures: the posture prior
                pp = spec.signals.posture_eta_g()
                origin = "posture:user" if spec.signals.posture_prior is not None else "posture"
                if pp.is_fixed:
                    rows.append((True, float(pp.args["value"]), 0.0, 1.0, origin))
                else:
                    rows.append((False, 0.0, float(pp.args["mu"]), float(pp.args["sigma"]), origin))
                continue
            src = ch if ch in (post or {}) else STAND_IN.get(ch)
            borrow = src is not None and src in (post or {}) and (src == ch or c != "eta0")
            if c in spec.signals.priors or not borrow:
                origin = "user" if c in spec.signals.priors else "default"
                if base.is_fixed:
                    rows.append((True, float(base.args["value"]), 0.0, 1.0, origin))
                else:
                    rows.append((False, 0.0, float(base.args["mu"]), float(base.args["sigma"]),
                                 origin))  # fmt: skip
                continue
            assert post is not None
            assert src is not None
            st = post[src][c]
            sd = math.hypot(st["sd"], spec.priors.reference_log_sd)
            origin = "reference" if src == ch else f"reference:{src}"
            rows.append((False, 0.0, st["mean"], sd, origin))
        out[c] = SignalPrior(
            c,
            np.array([r[0] for r in rows], dtype=bool),
            np.array([r[1] for r in rows], dtype=float),
            np.array([r[2] for r in rows], dtype=float),
            np.array([r[3] for r in rows], dtype=float),
            tuple(r[4] for r in rows),
        )
    return out


def signal_coefficients(pm: Any, pt: Any, prior: SignalPrior) -> Any:
    """One coefficient per channel: Normal RVs (hyperparameters in ``pm.Data``), constants
    for fixed ones, or, when some channels are fixed and others not, the free ones as
    ``{coef}_free`` and the whole vector as a Deterministic over ``signal``."""
    name, J = prior.coef, prior.fixed.size
    if prior.fixed.all():
        return pm.Data(f"{name}_value", prior.value, dims="signal")
    if not prior.fixed.any():
        return pm.Normal(
            name,
            mu=pm.Data(f"{name}__mu", prior.mu, dims="signal"),
            sigma=pm.Data(f"{name}__sigma", prior.sigma, dims="signal"),
            dims="signal",
        )
    free = np.flatnonzero(~prior.fixed)
    rv = pm.Normal(
        f"{name}_free",
        mu=pm.Data(f"{name}__mu", prior.mu[free]),
        sigma=pm.Data(f"{name}__sigma", prior.sigma[free]),
        shape=free.size,
    )
    full = pt.set_subtensor(pt.as_tensor(prior.value)[free], rv)
    assert prior.value.size == J
    return pm.Deterministic(name, full, dims="signal")
