"""The exact observer: forward filter and forward-backward smoother over rival types.

With the model's parameters fixed, the posterior over the rival's type is exact. Given the
per-period log-likelihood of the data under each type, ``log_lik[..., t, k]`` (from
:func:`secdilemma.model.loglik_components`), this module returns

* the **filtered** posterior ``P(z_t = k | data_1..t)``,
* the **smoothed** posterior ``P(z_t = k | data_1..T)``,
* the log **evidence** (marginal likelihood) ``log p(data_1..T)``,

as logs (:func:`forward_backward`) or as probabilities (:func:`filter_probabilities`, which
skips the logs and the ``exp`` a caller would take of them), for two models of the type:

static
    ``z`` is drawn once from the prior. The log posterior is the log prior plus the cumulative
    sum of the log-likelihoods, normalised over types; the smoothed posterior is the final
    filtered one in every period.
switching
    ``z_t`` follows a sticky Markov chain: ``z_0 ~ prior`` and
    ``transition[i, j] = P(z_t = j | z_{t-1} = i)`` (a regime change, e.g. new leaders).

Everything is vectorised over any leading axes (scenarios, dyads, observers): the arrays are
``(..., T, K)`` and no Python loop runs over scenarios. The work is done by compiled numba
kernels (``engine="numba"``, the default when numba imports; :mod:`._kernels`) or by numpy
(``engine="numpy"``, the reference; :mod:`._reference`). Both are stable for long series
(``T = 10**5``) and extreme log-likelihoods: ``±1e6`` per period gives no NaN and no
underflow to a uniform posterior, and ``-inf`` entries are allowed for a type as long as
some type stays possible.

The xarray wrapper :func:`type_posterior` takes a DataArray with dims
``(..., period, rival_type)`` and returns a Dataset with named dims.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Hashable
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.engines.exact import _reference as ref
from secdilemma.errors import ParameterError
from secdilemma.model import validate_probabilities

__all__ = [
    "FilterProbabilities",
    "FilterResult",
    "filter_probabilities",
    "forward_backward",
    "numba_available",
    "static_update",
    "type_posterior",
]

FloatArray = npt.NDArray[np.float64]
Engine = Literal["auto", "numba", "numpy"]

_STATUS_MESSAGES = {
    1: "`log_lik` holds NaN or +inf (scenario {s}, period {t}); log-likelihoods must be finite "
    "or -inf. Mark missing data as NaN in the data, not in the log-likelihood.",
    2: "`log_lik` is -inf for every type in scenario {s}, period {t}: the data are impossible "
    "under every type, or too far from every type's prediction to be represented (the "
    "log-likelihood overflows, e.g. a move of 1e150 times sigma). Check the data, their units "
    "and the model (e.g. a signal probability of exactly 0).",
    3: "every type has probability zero in scenario {s}, period {t} given `log_prior` (and "
    "`transition`): the data are possible only under types the prior or the transition matrix "
    "rules out. Give those types some prior probability.",
}


class FilterResult(NamedTuple):
    """What :func:`forward_backward` returns (arrays in log space).

    Attributes
    ----------
    log_filtered
        ``(..., T, K)``: ``log P(z_t = k | data up to t)``.
    log_smoothed
        ``(..., T, K)``: ``log P(z_t = k | all data)``, or ``None`` when not asked for.
    log_evidence
        ``(...)``: ``log p(data)``, the marginal likelihood of the whole series.
    """

    log_filtered: FloatArray
    log_smoothed: FloatArray | None
    log_evidence: FloatArray


class FilterProbabilities(NamedTuple):
    """What :func:`filter_probabilities` returns.

    Attributes
    ----------
    filtered
        ``(..., T, K)``: ``P(z_t = k | data up to t)``.
    smoothed
        ``(..., T, K)``: ``P(z_t = k | all data)``, or ``None`` when not asked for.
    log_evidence
        ``(...)``: ``log p(data)``, the marginal likelihood of the whole series.
    """

    filtered: FloatArray
    smoothed: FloatArray | None
    log_evidence: FloatArray


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------
_KERNELS: Any = None


def numba_available() -> bool:
    """Whether the compiled kernels can be used (numba imports).

    Examples
    --------
    >>> isinstance(numba_available(), bool)
    True
    """
    return _kernels() is not None


def _kernels() -> Any:
    global _KERNELS
    if _KERNELS is None:
        try:
            _KERNELS = importlib.import_module("secdilemma.engines.exact._kernels")
        except ImportError:  # pragma: no cover - numba is a declared dependency
            _KERNELS = False
    return _KERNELS or None


def _resolve_engine(engine: str, name: str = "forward_backward") -> str:
    if engine not in ("auto", "numba", "numpy"):
        raise ParameterError(
            f"{name}: `engine` must be 'auto', 'numba' or 'numpy'; got {engine!r}."
        )
    if engine == "auto":
        return "numba" if _kernels() is not None else "numpy"
    if engine == "numba" and _kernels() is None:  # pragma: no cover
        raise ParameterError(f"{name}: engine='numba' but numba cannot be imported.")
    return engine


# ---------------------------------------------------------------------------------------------
# Validation: a compiled pass when the kernels are loaded; numpy words the errors
# ---------------------------------------------------------------------------------------------
def _check_log_lik(log_lik: npt.ArrayLike) -> FloatArray:
    ll = np.asarray(log_lik, dtype=float)
    if ll.ndim < 2 or ll.shape[-1] < 1 or ll.shape[-2] < 1:
        raise ParameterError(
            f"`log_lik` must have shape (..., T, K) with T >= 1 periods and K >= 1 types; got "
            f"shape {ll.shape}."
        )
    return ll


def _prior_rows(lp: FloatArray, lead: tuple[int, ...], K: int) -> FloatArray:
    """The log prior as ``(1, K)`` (shared) or ``(S, K)`` rows, C-contiguous."""
    if lp.ndim == 0 or lp.shape[-1] != K:
        raise ParameterError(
            f"`log_prior` must have {K} entries (one per type) on its last axis to match "
            f"`log_lik`; got shape {lp.shape}."
        )
    if lp.ndim == 1:  # the common case, shared by every scenario
        return np.ascontiguousarray(lp.reshape(1, K))
    try:
        fits = np.broadcast_shapes(lp.shape, (*lead, K)) == (*lead, K)
    except ValueError:
        fits = False
    if not fits:
        raise ParameterError(
            f"`log_prior` of shape {lp.shape} does not broadcast against the leading axes "
            f"{lead} of `log_lik`; give (K,) or (..., K)."
        )
    if lp.size == K:
        return np.ascontiguousarray(lp.reshape(1, K))
    return np.ascontiguousarray(np.broadcast_to(lp, (*lead, K)).reshape(-1, K))


def check_log_prior(
    log_prior: npt.ArrayLike, lead: tuple[int, ...], K: int, fast: bool
) -> FloatArray:
    """The log prior rows of :func:`_prior_rows`, checked (by the compiled pass when
    ``fast``; numpy's checks word the error)."""
    lp = _prior_rows(np.asarray(log_prior, dtype=float), lead, K)
    if fast and _kernels().check_log_prior(lp) == 0:
        return lp
    if np.any(np.isnan(lp)) or np.any(lp == np.inf) or np.any(lp > 1e-12):
        raise ParameterError(
            "`log_prior` must hold log probabilities (<= 0, -inf for an excluded type, no NaN)."
        )
    total = ref.lse(lp)[..., 0]
    if not np.allclose(total, 0.0, atol=1e-9, rtol=0.0):
        raise ParameterError(
            f"`log_prior` must be log probabilities that sum to 1 over types; exp(log_prior) "
            f"sums to {np.exp(total).ravel()[:4].tolist()}. Normalise it (e.g. subtract "
            "scipy.special.logsumexp(log_prior))."
        )
    return lp


def check_transition(
    transition: npt.ArrayLike, K: int, fast: bool
) -> tuple[FloatArray, FloatArray]:
    """The transition matrix (C-contiguous) and its logs, checked as the prior is."""
    trans = np.ascontiguousarray(transition, dtype=float)
    if trans.shape != (K, K):
        raise ParameterError(
            f"`transition` must be a {K}x{K} matrix (K = {K} types in `log_lik`); got shape "
            f"{trans.shape}."
        )
    log_trans = np.empty((K, K))
    if fast and _kernels().check_transition(trans, log_trans) == 0:
        return trans, log_trans
    trans = validate_probabilities(trans, name="transition (each row)", n=K)
    with np.errstate(divide="ignore"):
        return trans, np.log(trans)


def raise_status(first: int, code: int, t: int, count: int, lead: tuple[int, ...]) -> None:
    """The :class:`ParameterError` of the kernels' status (nothing when ``count`` is 0)."""
    if count == 0:
        return
    where = tuple(int(i) for i in np.unravel_index(first, lead)) if len(lead) else ()
    raise ParameterError(
        _STATUS_MESSAGES[int(code)].format(s=where if where else "-", t=int(t))
        + f" ({count} scenario(s) affected.)"
    )


# ---------------------------------------------------------------------------------------------
# The two engines behind the public functions
# ---------------------------------------------------------------------------------------------
def _numba_engine(
    ll3: FloatArray,
    lp: FloatArray,
    trans: tuple[FloatArray, FloatArray] | None,
    smooth: bool,
    probs: bool,
) -> tuple[FloatArray, FloatArray | None, FloatArray, tuple[int, int, int, int]]:
    kern = _kernels()
    S, T, K = ll3.shape
    filt = np.empty((S, T, K))
    smoothed = np.empty((S, T, K)) if smooth else np.empty((1, 1, K))
    evidence = np.empty(S)
    if trans is None:
        bad = kern.run_static(ll3, lp, filt, smoothed, evidence, probs, smooth)
    else:
        bad = kern.run_switching(ll3, lp, *trans, filt, smoothed, evidence, probs, smooth)
    return filt, smoothed if smooth else None, evidence, bad


def _numpy_engine(
    ll3: FloatArray,
    lp: FloatArray,
    trans: tuple[FloatArray, FloatArray] | None,
    smooth: bool,
    probs: bool,
) -> tuple[FloatArray, FloatArray | None, FloatArray, tuple[int, int, int, int]]:
    with np.errstate(invalid="ignore"):
        if trans is None:
            filt, evidence = ref.static_numpy(ll3, lp)
        else:
            filt, evidence = ref.switching_numpy(ll3, lp, *trans)
    status, bad_t = ref.numpy_status(ll3, filt)
    flagged = np.flatnonzero(status)
    if flagged.size:
        s = int(flagged[0])
        return filt, None, evidence, (s, int(status[s]), int(bad_t[s]), int(flagged.size))
    smoothed: FloatArray | None = None
    if smooth:
        if trans is None:
            smoothed = np.repeat(filt[:, -1:, :], ll3.shape[1], axis=1)
        else:
            smoothed = ref.smooth_numpy(ll3, filt, *trans)
    if probs:
        filt = np.exp(filt)
        smoothed = None if smoothed is None else np.exp(smoothed)
    return filt, smoothed, evidence, (-1, 0, 0, 0)


def _run(
    log_lik: npt.ArrayLike,
    log_prior: npt.ArrayLike,
    transition: npt.ArrayLike | None,
    smooth: bool,
    engine: str,
    probs: bool,
) -> tuple[FloatArray, FloatArray | None, FloatArray]:
    """Check the arguments, run an engine, raise its status; arrays shaped as ``log_lik``."""
    eng = _resolve_engine(engine, "filter_probabilities" if probs else "forward_backward")
    ll = _check_log_lik(log_lik)
    *lead_l, T, K = ll.shape
    lead = tuple(lead_l)
    fast = eng == "numba"
    lp = check_log_prior(log_prior, lead, K, fast)
    trans = None if transition is None else check_transition(transition, K, fast)
    ll3 = np.ascontiguousarray(ll.reshape(math.prod(lead), T, K))
    run = _numba_engine if eng == "numba" else _numpy_engine
    filt, smoothed, evidence, bad = run(ll3, lp, trans, bool(smooth), probs)
    raise_status(*bad, lead)
    shape = (*lead, T, K)
    return (
        filt.reshape(shape),
        None if smoothed is None else smoothed.reshape(shape),
        evidence.reshape(lead),
    )


# ---------------------------------------------------------------------------------------------
# Public numpy API
# ---------------------------------------------------------------------------------------------
def forward_backward(
    log_lik: npt.ArrayLike,
    log_prior: npt.ArrayLike,
    *,
    transition: npt.ArrayLike | None = None,
    smooth: bool = True,
    engine: Engine = "auto",
) -> FilterResult:
    """Exact posterior over types: forward filter, smoother and evidence (in log space).

    Parameters
    ----------
    log_lik
        ``(..., T, K)`` log-likelihood of each period's data under each of ``K`` types
        (finite or ``-inf``; 0 for a period without data).
    log_prior
        ``(K,)`` or ``(..., K)`` log prior probabilities of the types (of ``z_0`` when the
        type switches); ``-inf`` excludes a type.
    transition
        ``(K, K)`` row-stochastic matrix ``transition[i, j] = P(z_t = j | z_{t-1} = i)`` for a
        switching type; ``None`` (default) for a static type.
    smooth
        Also run the backward pass (for a static type it is free: the final filtered
        posterior in every period).
    engine
        ``"numba"`` (compiled kernels), ``"numpy"``, or ``"auto"`` (numba when available).

    Returns
    -------
    FilterResult
        ``log_filtered`` and ``log_smoothed`` ``(..., T, K)``, ``log_evidence`` ``(...)``.

    Raises
    ------
    ParameterError
        Shapes that do not match, a prior that is not a distribution, a transition matrix
        whose rows do not sum to 1, NaN or ``+inf`` in ``log_lik``, or data impossible under
        every type.

    See Also
    --------
    filter_probabilities : the same posteriors as probabilities.

    Examples
    --------
    Two types, one period that favours the first by a likelihood ratio of 3:

    >>> import numpy as np
    >>> res = forward_backward(np.log([[[0.3, 0.1]]]), np.log([0.5, 0.5]))
    >>> np.exp(res.log_filtered).round(3).tolist()
    [[[0.75, 0.25]]]
    >>> float(np.exp(res.log_evidence[0]).round(3))
    0.2

    A switching type forgets: with persistence 0.5 over two types the past says nothing.

    >>> A = np.full((2, 2), 0.5)
    >>> ll = np.log([[0.9, 0.1], [0.5, 0.5]])
    >>> np.exp(forward_backward(ll, np.log([0.5, 0.5]), transition=A).log_filtered[1]).tolist()
    [0.5, 0.5]
    """
    filt, smoothed, evidence = _run(log_lik, log_prior, transition, smooth, engine, False)
    return FilterResult(filt, smoothed, evidence)


def filter_probabilities(
    log_lik: npt.ArrayLike,
    log_prior: npt.ArrayLike,
    *,
    transition: npt.ArrayLike | None = None,
    smooth: bool = True,
    engine: Engine = "auto",
) -> FilterProbabilities:
    """:func:`forward_backward` with the posteriors as probabilities rather than logs.

    The same arguments, checks and errors. The compiled kernels write the probabilities
    directly (a switching type's forward pass runs in probability space, so no ``log`` is
    taken and none is undone); they agree with ``exp`` of :func:`forward_backward`'s logs to
    a few units in the last place, and sum to 1 over types within 1e-12.

    Returns
    -------
    FilterProbabilities
        ``filtered`` and ``smoothed`` ``(..., T, K)``, ``log_evidence`` ``(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> filter_probabilities(np.log([[0.3, 0.1]]), np.log([0.5, 0.5])).filtered.round(3).tolist()
    [[0.75, 0.25]]
    """
    filt, smoothed, evidence = _run(log_lik, log_prior, transition, smooth, engine, True)
    return FilterProbabilities(filt, smoothed, evidence)


def static_update(log_prior: npt.ArrayLike, log_lik: npt.ArrayLike) -> FloatArray:
    """One period of the static filter: ``log_prior + log_lik``, normalised over types.

    The update :func:`forward_backward` applies each period, for callers that update a
    belief one observation at a time (the decision model's forward simulations): arrays
    ``(..., K)`` that broadcast, no validation of the prior beyond the result's. The
    log-likelihoods are re-centred on each row's best type first, so huge magnitudes keep
    the prior's information.

    Raises
    ------
    ParameterError
        A row with NaN or ``+inf``, or with every type impossible (``-inf``).

    Examples
    --------
    >>> np.exp(static_update(np.log([0.5, 0.5]), np.log([0.3, 0.1]))).round(3).tolist()
    [0.75, 0.25]
    """
    ll = np.asarray(log_lik, dtype=float)
    m = np.max(ll, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        post, lse = ref.normalise(np.asarray(log_prior, dtype=float) + (ll - m))
    if not np.all(np.isfinite(lse)):
        raise ParameterError(
            "static_update: the log-likelihood holds NaN or +inf, or makes every type "
            "impossible (-inf) where the prior allows it; log-likelihoods must be finite or "
            "-inf, and some type with prior probability must stay possible."
        )
    return np.asarray(post)


# ---------------------------------------------------------------------------------------------
# xarray wrapper
# ---------------------------------------------------------------------------------------------
def type_posterior(
    log_lik: xr.DataArray,
    log_prior: xr.DataArray | npt.ArrayLike | None = None,
    *,
    transition: npt.ArrayLike | None = None,
    smooth: bool = True,
    period_dim: Hashable = "period",
    type_dim: Hashable = "rival_type",
    engine: Engine = "auto",
) -> xr.Dataset:
    """:func:`forward_backward` on a DataArray with named dims.

    Parameters
    ----------
    log_lik
        DataArray with dims ``period`` and ``rival_type`` plus any leading dims (``scenario``,
        ``dyad``, ``observer`` …), in any order.
    log_prior
        Log prior: ``None`` (uniform), an array ``(K,)`` in the order of the ``rival_type``
        coordinate, or a DataArray over ``rival_type`` (and optionally leading dims), aligned
        by name.
    transition, smooth, engine
        As in :func:`forward_backward` (the matrix in the order of the ``rival_type``
        coordinate).
    period_dim, type_dim
        Names of the period and type dimensions.

    Returns
    -------
    xarray.Dataset
        ``log_filtered`` and (if ``smooth``) ``log_smoothed`` over ``(..., period,
        rival_type)``, and ``log_evidence`` over the leading dims.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ll = xr.DataArray(np.log([[0.3, 0.1], [0.3, 0.1]]), dims=("period", "rival_type"),
    ...                   coords={"rival_type": ["greedy", "insecure"]})
    >>> post = type_posterior(ll)
    >>> np.exp(post.log_filtered.sel(rival_type="greedy")).round(3).values.tolist()
    [0.75, 0.9]
    """
    if not isinstance(log_lik, xr.DataArray):
        raise ParameterError("type_posterior: `log_lik` must be an xarray.DataArray.")
    for d in (period_dim, type_dim):
        if d not in log_lik.dims:
            raise ParameterError(
                f"type_posterior: `log_lik` has dims {list(log_lik.dims)}; it needs {d!r}."
            )
    ll = log_lik.transpose(..., period_dim, type_dim)
    lead_dims = ll.dims[:-2]
    K = ll.sizes[type_dim]
    if log_prior is None:
        lp: Any = np.full(K, -np.log(K))
    elif isinstance(log_prior, xr.DataArray):
        if type_dim not in log_prior.dims:
            raise ParameterError(f"type_posterior: `log_prior` needs the dim {type_dim!r}.")
        extra = set(log_prior.dims) - set(lead_dims) - {type_dim}
        if extra:
            raise ParameterError(
                f"type_posterior: `log_prior` has dims {sorted(map(str, extra))} that "
                f"`log_lik` lacks."
            )
        if type_dim in ll.coords and type_dim in log_prior.coords:
            missing = set(ll[type_dim].values.tolist()) - set(log_prior[type_dim].values.tolist())
            if missing:
                raise ParameterError(
                    f"type_posterior: `log_prior` lacks rival type(s) {sorted(missing)}."
                )
            log_prior = log_prior.sel({type_dim: ll[type_dim]})
        template = ll.isel({period_dim: 0}, drop=True)
        lp = log_prior.broadcast_like(template).transpose(*lead_dims, type_dim).values
    else:
        lp = np.asarray(log_prior, dtype=float)
    res = forward_backward(ll.values, lp, transition=transition, smooth=smooth, engine=engine)
    coords = {k: v for k, v in ll.coords.items() if set(v.dims) <= set(ll.dims)}
    out = xr.Dataset(
        {"log_filtered": (ll.dims, res.log_filtered)},
        coords=coords,
    )
    if res.log_smoothed is not None:
        out["log_smoothed"] = (ll.dims, res.log_smoothed)
    out["log_evidence"] = (lead_dims, res.log_evidence)
    out["log_filtered"].attrs["long_name"] = "log P(type in period t | data up to t)"
    if "log_smoothed" in out:
        out["log_smoothed"].attrs["long_name"] = "log P(type in period t | all data)"
    out["log_evidence"].attrs["long_name"] = "log marginal likelihood of the data"
    out.attrs["switching"] = int(transition is not None)
    return out
