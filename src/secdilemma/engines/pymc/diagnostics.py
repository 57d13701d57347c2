"""Is a fit to be trusted? Convergence diagnostics, the gate, and the plain-data summary.

Every fit is checked (R-hat, bulk and tail ESS, divergences); a fit that fails the gate
warns with :class:`ConvergenceWarning`, and its summary says it is not to be trusted.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.engines.pymc.posterior import INTERVAL, type_posterior
from secdilemma.engines.pymc.priors import REACTION

__all__ = ["GATE", "ConvergenceWarning", "diagnostics", "summary", "warn_if_failed"]

#: The diagnostics gate: a fit passes when every R-hat <= 1.01, every bulk and tail ESS >= 400
#: and there are no divergences (Vehtari et al. 2021 thresholds).
GATE: dict[str, float] = {"rhat": 1.01, "ess": 400.0, "divergences": 0.0}

_NOTE = (
    "Type probabilities are posterior means of the per-draw (Rao-Blackwellised) posterior "
    "over types; intervals are 5-95 % quantiles over draws (parameter uncertainty). "
    "prior_sensitivity compares them with a uniform type prior (parameter draws held fixed) "
    "and gives the KL divergence of the posterior from the type prior (0 = the data taught "
    "nothing; log K = certainty)."
)


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics fail the gate: the posterior is not to be trusted.

    :meth:`PerceptionModel.fit <secdilemma.engines.pymc.PerceptionModel.fit>` warns with it
    (via :func:`warn_if_failed`); turn it into an error where an untrusted fit must stop a run.

    Examples
    --------
    >>> import warnings, numpy as np, xarray as xr
    >>> walk = np.cumsum(np.random.default_rng(0).normal(size=(2, 200)), axis=1)
    >>> tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"beta": (("chain", "draw"), walk)})})
    >>> diag = diagnostics(tree)  # two chains that wander apart: not converged
    >>> diag["ok"], diag["problems"][0]
    (False, 'max R-hat 2.093 > 1.01')
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ConvergenceWarning)
    ...     warn_if_failed("toy", diag)
    Traceback (most recent call last):
    ...
    secdilemma.engines.pymc.diagnostics.ConvergenceWarning: toy: the sampler's diagnostics ...
    """


def _extreme(ds: Any, fn: Callable[[Any], Any]) -> float | None:
    if isinstance(ds, xr.DataTree):
        ds = ds["posterior"].to_dataset() if "posterior" in ds.children else ds.to_dataset()
    vals = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars]
    flat = np.concatenate(vals) if vals else np.array([])
    flat = flat[np.isfinite(flat)]
    return float(fn(flat)) if flat.size else None


def _problems(
    rhat: float | None, ess_b: float | None, ess_t: float | None, div: int, n_chains: int
) -> list[str]:
    problems = []
    if rhat is not None and not rhat <= GATE["rhat"]:
        problems.append(f"max R-hat {rhat:.3f} > {GATE['rhat']}")
    if n_chains < 2:
        problems.append("one chain: R-hat cannot be computed")
    if ess_b is not None and not ess_b >= GATE["ess"]:
        problems.append(f"min bulk ESS {ess_b:.0f} < {GATE['ess']:.0f}")
    if ess_t is not None and not ess_t >= GATE["ess"]:
        problems.append(f"min tail ESS {ess_t:.0f} < {GATE['ess']:.0f}")
    if div > GATE["divergences"]:
        problems.append(f"{div} divergent transitions")
    return problems


def diagnostics(tree: xr.DataTree) -> dict[str, Any]:
    """R-hat (rank-normalised), bulk and tail ESS over every posterior variable, and the number
    of divergences, checked against :data:`GATE`."""
    import arviz_stats as azs

    post = tree["posterior"].to_dataset()
    names = [v for v in post.data_vars if post[v].dtype.kind == "f"]
    n_chains = post.sizes.get("chain", 1)
    rhat = ess_b = ess_t = None
    if names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = xr.DataTree.from_dict({"posterior": post[names]})
            if n_chains > 1:
                rhat = _extreme(azs.rhat(sub), max)
            ess_b = _extreme(azs.ess(sub, method="bulk"), min)
            ess_t = _extreme(azs.ess(sub, method="tail"), min)
    div = 0
    if "sample_stats" in tree and "diverging" in tree["sample_stats"]:
        div = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    problems = _problems(rhat, ess_b, ess_t, div, n_chains)
    return {
        "max_rhat": rhat,
        "min_ess_bulk": ess_b,
        "min_ess_tail": ess_t,
        "divergences": div,
        "gate": dict(GATE),
        "problems": problems,
        "ok": not problems,
    }


def warn_if_failed(name: str, diag: dict[str, Any], *, stacklevel: int = 2) -> None:
    """Warn with :class:`ConvergenceWarning` when ``diag`` fails the gate."""
    if not diag["ok"]:
        warnings.warn(
            f"{name}: the sampler's diagnostics fail the gate "
            f"({'; '.join(diag['problems'])}). Do NOT trust this posterior: "
            "run longer chains, raise target_accept, or reparametrise.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


def _type_summaries(tree: xr.DataTree, names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per dyad: the type probabilities with intervals, and the prior sensitivity."""
    tpost = type_posterior(tree)
    tp = tree["type_probabilities"].to_dataset()
    prior = tp["prior"].values
    unif = tp["type_probability_uniform_prior"].mean(("chain", "draw"))
    types_out: dict[str, Any] = {}
    sens: dict[str, Any] = {}
    for d in tpost["dyad"].values:
        m = tpost["mean"].sel(dyad=d).values
        lo, hi = tpost["low"].sel(dyad=d).values, tpost["high"].sel(dyad=d).values
        types_out[str(d)] = {
            n: {"mean": float(m[i]), "low": float(lo[i]), "high": float(hi[i])}
            for i, n in enumerate(names)
        }
        u = unif.sel(dyad=d).values
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = float(np.sum(np.where(m > 0, m * (np.log(m) - np.log(prior)), 0.0)))
        sens[str(d)] = {
            "prior": dict(zip(names, prior.tolist(), strict=True)),
            "posterior": dict(zip(names, m.tolist(), strict=True)),
            "posterior_under_uniform_prior": dict(zip(names, u.tolist(), strict=True)),
            "max_shift_from_type_prior": float(np.max(np.abs(m - u))),
            "kl_prior_to_posterior_nats": kl,
            "kl_max_nats": float(np.log(len(names))),
        }
    return types_out, sens


def _parameter_summaries(tree: xr.DataTree) -> dict[str, Any]:
    post = tree["posterior"].to_dataset()
    params: dict[str, Any] = {}
    pri = json.loads(tree.attrs.get("priors", "{}"))
    for name in REACTION:
        if name in post:
            v = post[name].values.ravel()
            lo, hi = np.quantile(v, INTERVAL)
            params[name] = {
                "mean": float(v.mean()),
                "sd": float(v.std()),
                "low": float(lo),
                "high": float(hi),
                **pri.get(name, {}),
            }
        else:
            params[name] = {"fixed": True, **pri.get(name, {})}
    return params


def summary(name: str, tree: xr.DataTree, diag: dict[str, Any]) -> dict[str, Any]:
    """Plain-data summary of a fit's result ``tree`` (see
    :meth:`secdilemma.engines.pymc.PerceptionModel.summary`)."""
    names = [str(n) for n in tree["type_probabilities"].to_dataset()["rival_type"].values]
    types_out, sens = _type_summaries(tree, names)
    ok = bool(diag["ok"])
    return {
        "model": name,
        "backend": tree.attrs.get("backend"),
        "seed": tree.attrs.get("seed"),
        "n_dyads": len(types_out),
        "interval": list(INTERVAL),
        "type_probabilities": types_out,
        "parameters": _parameter_summaries(tree),
        "diagnostics": diag,
        "prior_sensitivity": sens,
        "trustworthy": ok,
        "verdict": (
            "diagnostics pass the gate (R-hat <= 1.01, ESS >= 400, no divergences)"
            if ok
            else "NOT TRUSTWORTHY: " + "; ".join(diag["problems"])
        ),
        "note": _NOTE,
    }
