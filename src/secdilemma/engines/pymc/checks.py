"""Predictive checks: the rival's changes replicated from the prior or the posterior.

The rival reacts to the observer's *observed* previous move (the checks are conditional on
the observer's series), with the reaction mean and noise of :mod:`secdilemma.model`. Every
check is seeded and records the seed it used in its result's attrs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.engines.exact.filtering import forward_backward
from secdilemma.engines.pymc.arrays import FloatArray
from secdilemma.engines.pymc.posterior import draw_params, per_type_loglik
from secdilemma.engines.pymc.problem import FitProblem
from secdilemma.engines.pymc.sampling import quiet, reproducible_compilation
from secdilemma.model import ModelParams, reaction_mean
from secdilemma.model.equations import lagged
from secdilemma.model.simulate import draw_noise

__all__ = ["DEFAULT_SEED", "draw_categorical", "posterior_predictive", "prior_predictive"]

#: The seed of a prior predictive check when neither the call nor the spec's
#: ``[sampler] seed`` gives one: the check is reproducible by default.
DEFAULT_SEED = 0


def draw_categorical(rng: np.random.Generator, p: FloatArray) -> npt.NDArray[np.intp]:
    """One category per row of probabilities ``p`` (..., K)."""
    cum = np.cumsum(p, axis=-1)
    out = (rng.random(p.shape[:-1])[..., None] > cum).sum(axis=-1)
    return np.asarray(np.minimum(out, p.shape[-1] - 1), dtype=np.intp)


def _simulate_dx(
    problem: FitProblem,
    vals: Mapping[str, FloatArray],
    type_idx: npt.NDArray[np.intp],
    rng: np.random.Generator,
) -> FloatArray:
    """Rival changes ``(S, D, T)`` given each draw's parameters and its type per (draw,
    dyad), or its path per (draw, dyad, period) for a switching type."""
    a = problem.arrays
    ts = problem.types
    g = ts.greed[type_idx] if type_idx.ndim == 3 else ts.greed[type_idx][..., None]
    f = ts.fear[type_idx] if type_idx.ndim == 3 else ts.fear[type_idx][..., None]
    nu = problem.nu
    u_prev = lagged(a.u)
    h_prev = np.zeros_like(a.h_prev) if a.threat_blind else lagged(a.h)
    p = ModelParams(**{k: v[..., None] for k, v in vals.items()}, nu=nu)  # type: ignore[arg-type]
    mean = reaction_mean(g, f, u_prev, p, h_prev=h_prev)
    noise = draw_noise(rng, vals["sigma"][..., None], nu, mean.shape)
    out = mean + noise
    out[..., 0] = np.nan
    return np.asarray(out)


def _predictive_tree(
    problem: FitProblem,
    kind: str,
    params: xr.Dataset,
    dx: FloatArray,
    z: npt.NDArray[np.intp],
    *,
    seed: int,
    n_chain: int = 1,
) -> xr.DataTree:
    a = problem.arrays
    S, D, T = dx.shape
    n_draw = S // n_chain
    coords = {
        "chain": np.arange(n_chain),
        "draw": np.arange(n_draw),
        "dyad": a.dyads,
        "period": a.periods,
    }
    names = np.asarray(problem.types.names)[z].reshape(n_chain, n_draw, *z.shape[1:])
    pred = xr.Dataset(
        {
            "dx": (("chain", "draw", "dyad", "period"), dx.reshape(n_chain, n_draw, D, T)),
            "type": (("chain", "draw", "dyad", "period")[: z.ndim + 1], names.astype(str)),
        },
        coords=coords,
        attrs={"seed": int(seed)},
    )
    obs = xr.Dataset(
        {"dx": (("dyad", "period"), a.dx)}, coords={"dyad": a.dyads, "period": a.periods}
    )
    tree = xr.DataTree.from_dict({kind: params, f"{kind}_predictive": pred, "observed_data": obs})
    tree.attrs["seed"] = int(seed)
    return tree


def prior_predictive(
    problem: FitProblem, model: object, *, draws: int, seed: int | None
) -> xr.DataTree:
    """Draws of the parameters, the type and the rival's changes from the prior.

    ``seed`` defaults to the spec's ``[sampler] seed``, and to :data:`DEFAULT_SEED` when the
    spec has none; the seed used is in the result's attrs (``seed``).
    """
    import pymc as pm

    if seed is None:
        seed = problem.spec.sampler.seed
    used = DEFAULT_SEED if seed is None else int(seed)
    with quiet(), reproducible_compilation():
        pp = pm.sample_prior_predictive(draws=draws, model=model, random_seed=used)
    prior = pp["prior"].to_dataset()
    vals, _ = draw_params(problem, prior)
    rng = np.random.default_rng(used)
    D, T, _ = problem.arrays.shape
    z = rng.choice(problem.types.n_types, size=(draws, D), p=problem.type_prior)
    trans = problem.transition
    if trans is not None:  # a Markov path from the prior's z_0
        path = np.empty((draws, D, T), dtype=np.intp)
        path[..., 0] = z
        for t in range(1, T):
            path[..., t] = draw_categorical(rng, trans[path[..., t - 1]])
        z = path
    dx = _simulate_dx(problem, vals, z, rng)
    return _predictive_tree(problem, "prior", prior, dx, z, seed=used)


def posterior_predictive(
    problem: FitProblem, tree: xr.DataTree, *, seed: int | None
) -> xr.DataTree:
    """Replicated rival changes from the posterior of a fit's result ``tree``.

    A type is drawn per draw from its Rao-Blackwellised probabilities; for a switching type
    a path over periods from its exact posterior by forward filtering, backward sampling.
    ``seed`` defaults to the fit's seed + 1; the seed used is in the result's attrs.
    """
    post = tree["posterior"].to_dataset()
    vals, _ = draw_params(problem, post)
    tp = tree["type_probabilities"].to_dataset()["type_probability"]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    p = tp.transpose("chain", "draw", "dyad", "rival_type").values.reshape(
        n_chain * n_draw, -1, tp.sizes["rival_type"]
    )
    used = int(tree.attrs.get("seed", 0)) + 1 if seed is None else int(seed)
    rng = np.random.default_rng(used)
    if problem.transition is None:
        z = draw_categorical(rng, p)
    else:
        z = _sample_paths(problem, post, rng)
    dx = _simulate_dx(problem, vals, z, rng)
    return _predictive_tree(problem, "posterior", post, dx, z, seed=used, n_chain=n_chain)


def _sample_paths(
    problem: FitProblem, post: xr.Dataset, rng: np.random.Generator
) -> npt.NDArray[np.intp]:
    """Type paths ``(S, D, T)`` of a switching type drawn from their exact posterior given
    each draw's parameters (forward filtering, backward sampling)."""
    D, T, _ = problem.arrays.shape
    K = problem.types.n_types
    trans = problem.transition
    assert trans is not None
    vals, etas = draw_params(problem, post)
    S = next(iter(vals.values())).shape[0]
    log_prior = problem.log_type_prior_normalised
    z = np.empty((S, D, T), dtype=np.intp)
    step = max(1, int(2e7 // max(1, S * T * K)))
    for start in range(0, D, step):
        sl = slice(start, min(D, start + step))
        ll = per_type_loglik(problem, vals, etas, sl)
        filt = np.exp(forward_backward(ll, log_prior, transition=trans, smooth=False)[0])
        zc = np.empty(ll.shape[:3], dtype=np.intp)
        zc[..., -1] = draw_categorical(rng, filt[:, :, -1])
        for t in range(T - 2, -1, -1):
            w = filt[:, :, t] * trans[:, zc[..., t + 1]].transpose(1, 2, 0)
            zc[..., t] = draw_categorical(rng, w / w.sum(axis=-1, keepdims=True))
        z[:, sl] = zc
    return z
