"""The posterior over the rival's type, per draw (Rao-Blackwellised), in numpy.

Given a draw's parameters the type is summed out exactly; its posterior comes from the very
functions the exact observer uses: the per-period log-likelihoods from
:func:`secdilemma.model.loglik_components`, then the filter and smoother
:func:`secdilemma.engines.exact.filtering.forward_backward` (a static type, or a switching
one over the spec's transition matrix). So the two engines cannot disagree about the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.engines.exact.filtering import forward_backward
from secdilemma.engines.pymc.arrays import FloatArray
from secdilemma.engines.pymc.priors import REACTION, SIGNAL_COEFFICIENTS
from secdilemma.engines.pymc.problem import FitProblem
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams, loglik_components

__all__ = [
    "INTERVAL",
    "belief_draws",
    "draw_params",
    "draw_posteriors",
    "per_type_loglik",
    "type_posterior",
    "type_probabilities",
]

#: The quantiles of the intervals a fit reports (a 90 % interval).
INTERVAL = (0.05, 0.95)

_SUMMARIES = ("f_mean", "f_lo", "f_hi", "s_mean", "s_lo", "s_hi")
#: Below this a predicted probability is recomputed in log space (as the exact filter does).
_TINY = 1e-280


def draw_params(
    problem: FitProblem, post: xr.Dataset
) -> tuple[dict[str, FloatArray], FloatArray | None]:
    """Per-draw, per-dyad parameter values ``(S, D)`` and signal coefficients ``(S, 3, J)``
    (``None`` without channels); fixed parameters repeat their value."""
    a = problem.arrays
    D = a.shape[0]
    S = post.sizes["chain"] * post.sizes["draw"]
    vals: dict[str, FloatArray] = {}
    for name in REACTION:
        if f"{name}_dyad" in post:
            v = post[f"{name}_dyad"].transpose("chain", "draw", "dyad").values.reshape(S, D)
        elif name in post:
            v = np.repeat(post[name].values.reshape(S, 1), D, axis=1)
        else:
            v = np.full((S, D), float(problem.priors[name][0].args["value"]))
        vals[name] = v.astype(float)
    etas: FloatArray | None = None
    if a.channels:
        J = len(a.channels)
        etas = np.empty((S, 3, J))
        for i, c in enumerate(SIGNAL_COEFFICIENTS):
            if c in post:
                etas[:, i, :] = post[c].transpose("chain", "draw", "signal").values.reshape(S, J)
            else:
                etas[:, i, :] = problem.signal_priors[c].value
    return vals, etas


def per_type_loglik(
    problem: FitProblem, vals: Mapping[str, FloatArray], etas: FloatArray | None, sl: slice
) -> FloatArray:
    """``(S, Dc, T, K)`` per-period log-likelihood of dyads ``sl`` under each type, from
    :func:`secdilemma.model.loglik_components`."""
    a = problem.arrays
    nu = problem.nu
    dx = a.dx[sl]
    u = a.u[sl]
    params = ModelParams(
        **{k: v[:, sl] for k, v in vals.items()},  # type: ignore[arg-type]
        nu=nu,
        omega=a.omega[sl],
        delta=a.delta[sl],
    )
    ll_b, _ = loglik_components(dx, u, params, problem.types, threat_blind=a.threat_blind)
    if etas is None:
        return ll_b
    # every draw's coefficients in one call: the draws become extra channels (the same data
    # repeated once per draw), so the very function of the exact observer computes them,
    # without a Python loop over 4000 draws
    S, _, J = etas.shape
    sig = np.tile(a.signals[sl], (1, 1, S))  # (Dc, T, S*J), draw-major
    names = tuple(f"{c}@{s}" for s in range(S) for c in a.channels)
    sp = SignalParams(
        names, eta0=etas[:, 0].ravel(), eta_g=etas[:, 1].ravel(), eta_f=etas[:, 2].ravel(),
        posture=np.tile(a.posture, S),
    )  # fmt: skip
    base = ModelParams(omega=a.omega[sl], delta=a.delta[sl], nu=nu, signals=sp)
    _, lls = loglik_components(dx, u, base, problem.types, signals=sig, threat_blind=a.threat_blind)
    assert lls is not None  # (Dc, T, K, S*J)
    Dc, T, K = lls.shape[:3]
    ll_s = lls.reshape(Dc, T, K, S, J).sum(axis=-1).transpose(3, 0, 1, 2)
    return ll_b + ll_s


def _log_predicted(
    log_filt: FloatArray, filt: FloatArray, log_prior: FloatArray, transition: FloatArray | None
) -> FloatArray:
    """``log P(z_t = k | data up to t-1)`` ``(..., T, K)``: the prior at ``t = 0``, then the
    filter moved one step (a switching type's prediction in probability space, as the exact
    filter does it, and in log space where that underflows)."""
    out = np.empty_like(log_filt)
    out[..., 0, :] = log_prior
    if transition is None:
        out[..., 1:, :] = log_filt[..., :-1, :]
        return out
    pred = filt[..., :-1, :] @ transition
    nxt = out[..., 1:, :]  # a view: assignments fill ``out``
    with np.errstate(divide="ignore"):
        nxt[...] = np.log(pred)
        log_trans = np.log(transition)
    small = pred <= _TINY
    if np.any(small):
        rows = np.nonzero(np.any(small, axis=-1))
        exact = np.logaddexp.reduce(log_filt[..., :-1, :][rows][:, :, None] + log_trans, axis=1)
        nxt[rows] = np.where(small[rows], exact, nxt[rows])
    return out


def draw_posteriors(
    ll: FloatArray, log_prior: FloatArray, transition: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The type posteriors of ``(..., T, K)`` log-likelihoods, by the exact observer's filter
    and smoother (:func:`~secdilemma.engines.exact.filtering.forward_backward`).

    Parameters
    ----------
    ll
        Per-period log-likelihoods under each type.
    log_prior
        Normalised log prior over the types (of ``z_0`` for a switching type).
    transition
        The switching type's transition matrix, ``None`` for a static type.

    Returns
    -------
    tuple
        The filtered and smoothed posteriors ``(..., T, K)`` (for a static type the smoothed
        one is the final filtered one in every period, a read-only view), the one-step
        predictive log densities ``log p(data_t | data_<t)`` ``(..., T)`` (which sum to the
        log evidence) and the final filtered posterior under a uniform prior ``(..., K)``.
    """
    K = ll.shape[-1]
    res = forward_backward(ll, log_prior, transition=transition, smooth=transition is not None)
    filt = np.exp(res.log_filtered)
    if res.log_smoothed is None:  # static: the final filtered posterior in every period
        smooth = np.broadcast_to(filt[..., -1:, :], filt.shape)
    else:
        smooth = np.exp(res.log_smoothed)
    log_pred = _log_predicted(res.log_filtered, filt, log_prior, transition)
    # numpy's logaddexp over the types: as exact as scipy's logsumexp, twice as fast here;
    # a period without evidence (0 under every type) has a log density of exactly 0, which
    # model comparison relies on
    point = np.logaddexp.reduce(log_pred + ll, axis=-1)
    point[np.all(ll == 0.0, axis=-1)] = 0.0
    unif = forward_backward(ll, np.full(K, -np.log(K)), transition=transition, smooth=False)
    return filt, smooth, point, np.exp(unif.log_filtered[..., -1, :])


def _run_in_chunks(work: Callable[[slice], None], D: int, per_dyad: int) -> None:
    """``work(slice)`` over chunks of the ``D`` dyads, in threads when there are several.

    numpy releases the GIL in its loops (and the exact filter's kernels run without it):
    chunks of dyads run on every core, each within a share of a 2e7-element memory budget
    (``per_dyad`` elements a dyad). 200 dyads x 50 periods x 4000 draws on 2 cores: 26.4 s in
    one loop, 12.3 s in threads; the results are identical.
    """
    workers = max(1, min(os.cpu_count() or 1, D))
    step = max(1, min(int(2e7 // workers // max(1, per_dyad)), -(-D // workers)))
    slices = [slice(start, min(D, start + step)) for start in range(0, D, step)]
    if workers > 1 and len(slices) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, slices))  # list(): re-raise a worker's exception
    else:
        for sl in slices:
            work(sl)


def type_probabilities(problem: FitProblem, post: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """The ``type_probabilities`` and ``log_likelihood`` groups of a fit's result tree.

    Per draw: the posterior over the type in the last period (under the spec's type prior,
    and under a uniform one) and the one-step predictive log density of each (dyad, period);
    per (dyad, period): the mean and 90 % interval over draws of the filtered and smoothed
    posteriors.
    """
    a = problem.arrays
    D, T, _ = a.shape
    K = problem.types.n_types
    S = post.sizes["chain"] * post.sizes["draw"]
    vals, etas = draw_params(problem, post)
    log_prior = problem.log_type_prior_normalised
    trans = problem.transition
    final = np.empty((S, D, K))
    final_unif = np.empty((S, D, K))
    pointwise = np.empty((S, D, T))
    summ = {k: np.empty((D, T, K)) for k in _SUMMARIES}

    def chunk(sl: slice) -> None:
        ll = per_type_loglik(problem, vals, etas, sl)  # (S, Dc, T, K)
        filt, smooth, point, unif = draw_posteriors(ll, log_prior, trans)
        pointwise[:, sl] = point
        final[:, sl] = filt[:, :, -1]
        final_unif[:, sl] = unif
        # static: the smoothed posterior is the same in every period, summarised once
        p_smooth = smooth if trans is not None else smooth[:, :, -1:]
        for tag, p in (("f", filt), ("s", p_smooth)):
            summ[f"{tag}_mean"][sl] = p.mean(axis=0)
            summ[f"{tag}_lo"][sl], summ[f"{tag}_hi"][sl] = np.quantile(p, INTERVAL, axis=0)

    # memory per dyad: a few (S, T, K) arrays, (S, T, K, K) when the type switches and
    # (S, T, K, J) for J signal channels
    _run_in_chunks(chunk, D, S * T * K * max(K if trans is not None else 1, len(a.channels)))
    return _tp_dataset(problem, post, final, final_unif, summ), _loglik_dataset(
        problem, post, pointwise
    )


def _coords(problem: FitProblem, post: xr.Dataset) -> dict[str, Any]:
    a = problem.arrays
    return {
        "chain": post["chain"].values,
        "draw": post["draw"].values,
        "dyad": a.dyads,
        "period": a.periods,
        "rival_type": list(problem.types.names),
    }


def _tp_dataset(
    problem: FitProblem,
    post: xr.Dataset,
    final: FloatArray,
    final_unif: FloatArray,
    summ: Mapping[str, FloatArray],
) -> xr.Dataset:
    shape = (post.sizes["chain"], post.sizes["draw"], *final.shape[1:])
    dims4 = ("chain", "draw", "dyad", "rival_type")
    dims_t = ("dyad", "period", "rival_type")
    tp = xr.Dataset(
        {
            "type_probability": (dims4, final.reshape(shape)),
            "type_probability_uniform_prior": (dims4, final_unif.reshape(shape)),
            "filtered_mean": (dims_t, summ["f_mean"]),
            "filtered_low": (dims_t, summ["f_lo"]),
            "filtered_high": (dims_t, summ["f_hi"]),
            "smoothed_mean": (dims_t, summ["s_mean"]),
            "smoothed_low": (dims_t, summ["s_lo"]),
            "smoothed_high": (dims_t, summ["s_hi"]),
            "prior": (("rival_type",), np.exp(problem.log_type_prior)),
        },
        coords=_coords(problem, post),
    )
    tp["type_probability"].attrs["long_name"] = (
        "P(rival type in the last period | data, parameters of the draw): Rao-Blackwellised"
    )
    tp["filtered_mean"].attrs["long_name"] = "P(rival type in period t | data up to t)"
    tp["smoothed_mean"].attrs["long_name"] = "P(rival type in period t | all data)"
    tp["filtered_low"].attrs["interval"] = list(INTERVAL)
    tp["smoothed_low"].attrs["interval"] = list(INTERVAL)
    switching = problem.transition is not None
    tp.attrs["switching"] = int(switching)
    if switching:
        tp.attrs["persistence"] = float(problem.spec.types.persistence or 0.0)
    return tp


def _loglik_dataset(problem: FitProblem, post: xr.Dataset, pointwise: FloatArray) -> xr.Dataset:
    coords = _coords(problem, post)
    shape = (post.sizes["chain"], post.sizes["draw"], *pointwise.shape[1:])
    return xr.Dataset(
        {"dx": (("chain", "draw", "dyad", "period"), pointwise.reshape(shape))},
        coords={k: coords[k] for k in ("chain", "draw", "dyad", "period")},
    )


def type_posterior(tree: xr.DataTree) -> xr.Dataset:
    """Posterior type probabilities per dyad of a result tree: mean and a 90 % interval
    over draws."""
    tp = tree["type_probabilities"].to_dataset()["type_probability"]
    q = tp.quantile(list(INTERVAL), dim=("chain", "draw"))
    return xr.Dataset(
        {
            "mean": tp.mean(("chain", "draw")),
            "low": q.sel(quantile=INTERVAL[0], drop=True),
            "high": q.sel(quantile=INTERVAL[1], drop=True),
        }
    )


def belief_draws(
    problem: FitProblem, tree: xr.DataTree, *, dyad: Any, max_draws: int, seed: int
) -> tuple[xr.DataArray, ModelParams]:
    """Posterior draws of the belief and the parameters of one dyad (see
    :meth:`secdilemma.engines.pymc.PerceptionModel.belief_draws`); at most ``max_draws``
    of them, a subset drawn with ``seed`` (recorded in the belief's attrs).

    Raises
    ------
    ParameterError
        ``dyad`` is not one of the fit's dyad labels, or ``max_draws`` < 1.
    """
    tp = tree["type_probabilities"].to_dataset()["type_probability"]
    dyads = list(tp["dyad"].values)
    d = dyads[0] if dyad is None else dyad
    label = isinstance(d, str | int | np.integer | np.str_) and not isinstance(d, bool)
    if not label or d not in dyads:
        raise ParameterError(
            f"belief_draws: argument 'dyad' {d!r} is not in the fit; choose one of "
            f"{[x.item() if isinstance(x, np.generic) else x for x in dyads]}."
        )
    if max_draws < 1:
        raise ParameterError(f"belief_draws: argument 'max_draws' must be >= 1; got {max_draws}.")
    j = dyads.index(d)
    vals, _ = draw_params(problem, tree["posterior"].to_dataset())
    b = tp.sel(dyad=d).transpose("chain", "draw", "rival_type").values
    S = b.shape[0] * b.shape[1]
    b = b.reshape(S, -1)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(S, size=min(S, max_draws), replace=False))
    a = problem.arrays
    params = ModelParams(
        **{k: v[keep, j] for k, v in vals.items()},
        nu=problem.nu,
        omega=float(a.omega[j, -1]),
        delta=float(a.delta[j, -1]),
    )
    belief = xr.DataArray(
        b[keep],
        dims=("sample", "rival_type"),
        coords={"rival_type": list(problem.types.names)},
        name="belief",
        attrs={"dyad": str(d), "period": int(a.periods[-1]), "seed": int(seed)},
    )
    return belief, params
