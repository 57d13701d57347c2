"""The priors of a fit (user > data-derived > reference > default) and their PyMC variables.

:func:`resolve_priors` decides each parameter's prior; :func:`reaction_parameter` and
:func:`signal_coefficients` turn a prior into the PyMC random variable (or a constant for a
fixed one). Every hyperparameter is a ``pm.Data``, so a compiled nutpie model, cached by
structure, is reused with new values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import SpecError
from secdilemma.model import ModelParams
from secdilemma.spec.model_spec import DEFAULT_PRIORS, DEFAULT_TAU, ModelSpec, PriorSpec
from secdilemma.spec.reference import load_reference_params, load_reference_posterior

__all__ = [
    "POSITIVE",
    "REACTION",
    "SIGNAL_COEFFICIENTS",
    "reaction_parameter",
    "resolve_priors",
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


def resolve_priors(spec: ModelSpec, dx: npt.ArrayLike) -> dict[str, tuple[PriorSpec, str]]:
    """The prior of each parameter and where it came from (``user``, ``data``, ``reference``,
    ``default``), following the precedence user > data-derived > reference > default.

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
        ref = load_reference_params()
        ref_post = load_reference_posterior()
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
    """A reaction parameter: an RV with its prior (``pm.Data`` hyperparameters), a constant
    for a fixed prior, or per dyad (non-centred, ``{name}_dyad``) when ``hier``."""
    args = prior.args
    if prior.is_fixed:
        return pm.Data(f"{name}_value", float(args["value"]))
    hp = {k: pm.Data(f"{name}__{k}", float(v)) for k, v in args.items()}
    if prior.dist == "normal":
        rv = pm.Normal(name, mu=hp["mu"], sigma=hp["sigma"])
    elif prior.dist == "lognormal":
        rv = pm.LogNormal(name, mu=pt.log(hp["median"]), sigma=hp["log_sd"])
    elif prior.dist == "halfnormal":
        rv = pm.HalfNormal(name, sigma=hp["sigma"])
    elif prior.dist == "gamma":
        rv = pm.Gamma(name, alpha=hp["alpha"], beta=hp["beta"])
    else:  # pragma: no cover - the spec validates dists
        raise SpecError(f"priors.{name}: unsupported dist {prior.dist!r}.")
    if not hier:
        return rv
    tau_scale = spec.priors.tau.get(name, DEFAULT_TAU[name])
    # a pm.Data like every other hyperparameter: a constant here would be baked into the
    # compiled nutpie model, which is cached by structure and reused with new data only
    tau = pm.HalfNormal(f"{name}_tau", sigma=pm.Data(f"{name}_tau__sigma", float(tau_scale)))
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims="dyad")
    if name in POSITIVE:
        return pm.Deterministic(f"{name}_dyad", rv * pt.exp(tau * z), dims="dyad")
    return pm.Deterministic(f"{name}_dyad", rv + tau * z, dims="dyad")


def signal_coefficients(pm: Any, name: str, prior: PriorSpec, J: int) -> Any:
    """One signal coefficient per channel: Normal RVs, or a constant for a fixed prior."""
    if prior.is_fixed:
        return pm.Data(f"{name}_value", np.full(J, float(prior.args["value"])), dims="signal")
    return pm.Normal(
        name,
        mu=pm.Data(f"{name}__mu", float(prior.args["mu"])),
        sigma=pm.Data(f"{name}__sigma", float(prior.args["sigma"])),
        dims="signal",
    )
