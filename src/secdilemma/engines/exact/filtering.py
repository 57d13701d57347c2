"""The exact observer: forward filter and forward-backward smoother over rival types.

With the model's parameters fixed, the posterior over the rival's type is exact. Given the
per-period log-likelihood of the data under each type, ``log_lik[..., t, k]`` (from
:func:`secdilemma.model.loglik_components`), this module returns

* the log **filtered** posterior ``log P(z_t = k | data_1..t)``,
* the log **smoothed** posterior ``log P(z_t = k | data_1..T)``,
* the log **evidence** (marginal likelihood) ``log p(data_1..T)``,

for two models of the type:

static
    ``z`` is drawn once from the prior. The log posterior is the log prior plus the cumulative
    sum of the log-likelihoods, normalised over types; the smoothed posterior is the final
    filtered one in every period.
switching
    ``z_t`` follows a sticky Markov chain: ``z_0 ~ prior`` and
    ``transition[i, j] = P(z_t = j | z_{t-1} = i)`` (a regime change, e.g. new leaders).

Everything is vectorised over any leading axes (scenarios, dyads, observers): the arrays are
``(..., T, K)`` and no Python loop runs over scenarios. The work is done by compiled numba
kernels (``engine="numba"``, the default when numba imports) or by numpy
(``engine="numpy"``; a Python loop over periods only for the switching model). Both are
stable for long series (``T = 10**5``) and extreme log-likelihoods: ``±1e6`` per period gives
no NaN and no underflow to a uniform posterior, and ``-inf`` entries are allowed for a type as
long as some type stays possible.

The xarray wrapper :func:`type_posterior` takes a DataArray with dims
``(..., period, rival_type)`` and returns a Dataset with named dims.
"""

from __future__ import annotations

import importlib
from collections.abc import Hashable
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.model import validate_probabilities

__all__ = [
    "FilterResult",
    "forward_backward",
    "numba_available",
    "static_update",
    "type_posterior",
]

FloatArray = npt.NDArray[np.float64]
Engine = Literal["auto", "numba", "numpy"]

#: Below this a predicted probability is recomputed exactly in log space (see the kernels).
_TINY = 1e-280

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


def _resolve_engine(engine: str) -> str:
    if engine not in ("auto", "numba", "numpy"):
        raise ParameterError(
            f"forward_backward: `engine` must be 'auto', 'numba' or 'numpy'; got {engine!r}."
        )
    if engine == "auto":
        return "numba" if _kernels() is not None else "numpy"
    if engine == "numba" and _kernels() is None:  # pragma: no cover
        raise ParameterError("forward_backward: engine='numba' but numba cannot be imported.")
    return engine


def _lse(a: FloatArray, axis: int = -1) -> FloatArray:
    """Log-sum-exp along ``axis`` (keepdims); ``-inf`` where every entry is ``-inf``."""
    m = np.max(a, axis=axis, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.asarray(m_safe + np.log(np.sum(np.exp(a - m_safe), axis=axis, keepdims=True)))


def _normalise(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(a - lse(a), lse(a))`` over the last axis, computed as ``(a - max) - log(sum)``: when
    the entries are huge (1e9) the differences to the maximum stay exact, so the result
    still sums to 1."""
    m = np.max(a, axis=-1, keepdims=True)
    d = a - np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        ltot = np.log(np.sum(np.exp(d), axis=-1, keepdims=True))
    with np.errstate(invalid="ignore"):
        return d - ltot, np.where(np.isfinite(m), m, 0.0) + ltot


def _ratios_numpy(ll: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each period's log-likelihood *ratios* to its best type, and that best value ``(S, T)``.

    The filters add the ratios (exact, and small next to the prior even when the
    log-likelihoods are 1e300) and carry the best values to the evidence separately.
    """
    mll = np.max(ll, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):  # a period that is -inf for every type: status 2
        return ll - mll, mll[..., 0]


def _static_numpy(ll: FloatArray, lp0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The static filter, period by period as the kernel runs it (the same additions, so the
    two engines round alike even for log-likelihoods of 1e300): each period adds the
    log-likelihood ratios and re-centres on the best type."""
    d, mll = _ratios_numpy(ll)
    out = np.empty_like(ll)
    acc = lp0
    logz = np.sum(mll, axis=1)
    for t in range(ll.shape[1]):
        a = acc + d[:, t, :]
        m = np.max(a, axis=-1, keepdims=True)
        acc = a - m
        out[:, t, :] = acc
        logz += m[:, 0]
    lse = _lse(out)
    return out - lse, logz + lse[:, -1, 0]


def _predict_numpy(lp: FloatArray, trans: FloatArray, log_trans: FloatArray) -> FloatArray:
    """``log(p @ A)`` with the exact log-space sum where the probability space one underflows."""
    pred = np.exp(lp) @ trans
    with np.errstate(divide="ignore"):
        out = np.log(pred)
    small = pred <= _TINY
    if np.any(small):
        exact = _lse(lp[:, :, None] + log_trans[None, :, :], axis=1)[:, 0, :]
        out = np.where(small, exact, out)
    return np.asarray(out)


def _switching_numpy(
    ll: FloatArray, lp0: FloatArray, trans: FloatArray, log_trans: FloatArray
) -> tuple[FloatArray, FloatArray]:
    d, mll = _ratios_numpy(ll)
    out = np.empty_like(ll)
    evidence = np.sum(mll, axis=1)
    lp = lp0
    for t in range(ll.shape[1]):
        a = lp0 if t == 0 else _predict_numpy(lp, trans, log_trans)
        lp, lse = _normalise(a + d[:, t, :])
        out[:, t, :] = lp
        evidence += lse[:, 0]
    return out, evidence


def _smooth_numpy(
    ll: FloatArray, log_filt: FloatArray, trans: FloatArray, log_trans: FloatArray
) -> FloatArray:
    S, T, K = ll.shape
    d, _ = _ratios_numpy(ll)
    out = np.empty_like(ll)
    out[:, -1, :] = log_filt[:, -1, :]
    lb = np.zeros((S, K))
    for t in range(T - 2, -1, -1):
        # log of the backward message up to a constant: ratios to the best type, so the
        # O(1) information survives log-likelihoods of any size
        b = d[:, t + 1, :] + lb
        m = np.max(b, axis=-1, keepdims=True)
        bm = b - np.where(np.isfinite(m), m, 0.0)
        r = np.exp(bm) @ trans.T
        with np.errstate(divide="ignore"):
            lb = np.log(r)
        small = r <= _TINY
        if np.any(small):
            exact = _lse(log_trans[None, :, :] + bm[:, None, :], axis=2)[:, :, 0]
            lb = np.where(small, exact, lb)
        lb = lb - np.max(lb, axis=-1, keepdims=True)
        out[:, t, :] = _normalise(log_filt[:, t, :] + lb)[0]
    return out


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def _check_log_lik(log_lik: npt.ArrayLike) -> FloatArray:
    ll = np.asarray(log_lik, dtype=float)
    if ll.ndim < 2 or ll.shape[-1] < 1 or ll.shape[-2] < 1:
        raise ParameterError(
            f"`log_lik` must have shape (..., T, K) with T >= 1 periods and K >= 1 types; got "
            f"shape {ll.shape}."
        )
    return ll


def _check_log_prior(log_prior: npt.ArrayLike, lead: tuple[int, ...], K: int) -> FloatArray:
    lp = np.asarray(log_prior, dtype=float)
    if lp.ndim == 0 or lp.shape[-1] != K:
        raise ParameterError(
            f"`log_prior` must have {K} entries (one per type) on its last axis to match "
            f"`log_lik`; got shape {lp.shape}."
        )
    try:
        lp = np.broadcast_to(lp, (*lead, K))
    except ValueError:
        raise ParameterError(
            f"`log_prior` of shape {lp.shape} does not broadcast against the leading axes "
            f"{lead} of `log_lik`; give (K,) or (..., K)."
        ) from None
    if np.any(np.isnan(lp)) or np.any(lp == np.inf) or np.any(lp > 1e-12):
        raise ParameterError(
            "`log_prior` must hold log probabilities (<= 0, -inf for an excluded type, no NaN)."
        )
    total = _lse(lp)[..., 0]
    if not np.allclose(total, 0.0, atol=1e-9, rtol=0.0):
        raise ParameterError(
            f"`log_prior` must be log probabilities that sum to 1 over types; exp(log_prior) "
            f"sums to {np.exp(total).ravel()[:4].tolist()}. Normalise it (e.g. subtract "
            "scipy.special.logsumexp(log_prior))."
        )
    return np.asarray(lp)


def _check_transition(transition: npt.ArrayLike, K: int) -> FloatArray:
    trans = np.asarray(transition, dtype=float)
    if trans.shape != (K, K):
        raise ParameterError(
            f"`transition` must be a {K}x{K} matrix (K = {K} types in `log_lik`); got shape "
            f"{trans.shape}."
        )
    return validate_probabilities(trans, name="transition (each row)", n=K)


def _raise_status(status: npt.NDArray[np.int64], bad_t: npt.NDArray[np.int64], lead: Any) -> None:
    bad = np.flatnonzero(status)
    if bad.size == 0:
        return
    s = int(bad[0])
    idx = np.unravel_index(s, lead) if len(lead) else ()
    where = tuple(int(i) for i in idx)
    raise ParameterError(
        _STATUS_MESSAGES[int(status[s])].format(s=where if where else "-", t=int(bad_t[s]))
        + f" ({bad.size} scenario(s) affected.)"
    )


def _numpy_status(
    ll: FloatArray, log_filt: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Status codes of the kernels, computed from the numpy results."""
    S = ll.shape[0]
    bad1 = ~np.all(ll < np.inf, axis=-1)  # NaN or +inf
    bad2 = np.all(ll == -np.inf, axis=-1)
    bad3 = ~np.all(log_filt < np.inf, axis=-1) | np.all(log_filt == -np.inf, axis=-1)
    code = np.where(bad1, 1, np.where(bad2, 2, np.where(bad3, 3, 0)))  # (S, T)
    first = np.argmax(code > 0, axis=1)
    status = code[np.arange(S), first].astype(np.int64)
    return status, first.astype(np.int64)


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
    """Exact posterior over types: forward filter, smoother and evidence.

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
    ll = _check_log_lik(log_lik)
    *lead_l, T, K = ll.shape
    lead = tuple(lead_l)
    lp0 = _check_log_prior(log_prior, lead, K)
    trans = None if transition is None else _check_transition(transition, K)
    eng = _resolve_engine(engine)

    S = int(np.prod(lead, dtype=np.int64))
    ll3 = np.ascontiguousarray(ll.reshape(S, T, K))
    lp2 = np.ascontiguousarray(lp0.reshape(S, K))
    if trans is not None:
        with np.errstate(divide="ignore"):
            log_trans = np.log(trans)
        trans = np.ascontiguousarray(trans)

    if eng == "numba":
        kern = _kernels()
        filt = np.empty((S, T, K))
        evidence = np.empty(S)
        status = np.zeros(S, dtype=np.int64)
        bad_t = np.zeros(S, dtype=np.int64)
        if trans is None:
            kern.filter_static(ll3, lp2, filt, evidence, status, bad_t)
        else:
            kern.filter_switching(ll3, lp2, trans, log_trans, filt, evidence, status, bad_t)
        _raise_status(status, bad_t, lead)
    else:
        with np.errstate(invalid="ignore"):
            if trans is None:
                filt, evidence = _static_numpy(ll3, lp2)
            else:
                filt, evidence = _switching_numpy(ll3, lp2, trans, log_trans)
        _raise_status(*_numpy_status(ll3, filt), lead)

    smoothed: FloatArray | None = None
    if smooth:
        if trans is None:
            smoothed = np.repeat(filt[:, -1:, :], T, axis=1)
        elif eng == "numba":
            smoothed = np.empty((S, T, K))
            _kernels().smooth_switching(ll3, filt, trans, log_trans, smoothed)
        else:
            smoothed = _smooth_numpy(ll3, filt, trans, log_trans)
        smoothed = smoothed.reshape(*lead, T, K)
    return FilterResult(filt.reshape(*lead, T, K), smoothed, evidence.reshape(lead))


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
        post, lse = _normalise(np.asarray(log_prior, dtype=float) + (ll - m))
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
