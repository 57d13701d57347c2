"""The observer: who watches the rival, and how it updates (the interface every kind shares).

Every observer shares one interface (scikit-learn style: ``__init__`` only stores its
arguments; :meth:`Observer.filter` does the work) and one engine, the exact filter of
:mod:`secdilemma.engines.exact`. A kind (:mod:`secdilemma.observers.kinds`) differs from the
dilemma-aware :class:`Observer` only in what it declares: a class attribute
(``threat_blind``) or one of two hooks, the prior (``_type_prior``) and the weights on the
evidence (``_weights``).

Data
----
``filter`` and ``loglik`` take an :class:`xarray.Dataset` with ``dx`` (the rival's change)
and ``u`` (the observer's change) over ``period``, plus any leading dims (``scenario``,
``dyad`` …); ``x`` (the rival's level) when ``params.lam > 0``; and ``signals`` over
(..., ``period``, ``signal``) when the model has channels. This is what
:func:`secdilemma.model.simulate.simulate` returns and what the data layer's ``to_moves`` returns
(add the rival's signals from a case dataset as ``ds["signals"]``: a ``signals`` variable
with an ``actor`` dim is read for ``actor="rival"``, counts > 0 as 1). Channels are matched
by name; the rival's reaction in period ``t`` is to the observer's move in ``t - 1``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.engines.exact.filtering import FilterProbabilities, filter_probabilities
from secdilemma.engines.exact.fused import fused_available, moves_posterior
from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    as_type_prior,
    loglik_components,
    transition_matrix,
)
from secdilemma.model.types import TypeSpace

__all__ = ["Observer"]

FloatArray = npt.NDArray[np.float64]


@dataclass
class _Prepared:
    """The data of one ``filter`` call as arrays, with the coordinates to put back."""

    dx: FloatArray
    u: FloatArray
    x: FloatArray | None
    signals: FloatArray | None
    lead_dims: tuple[str, ...]
    coords: dict[str, Any]
    notes: list[str]


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (TypeSpace, ModelParams)):
        return v.to_dict()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (np.ndarray, list, tuple)):
        return np.asarray(v).tolist()
    return repr(v)


class Observer:
    """The dilemma-aware observer: the full model, including its own threat to the rival.

    Parameters
    ----------
    types
        Rival type space (default greedy, insecure, mixed).
    params
        Model parameters (default :class:`~secdilemma.model.ModelParams`); the observer's
        beliefs about how each type reacts.
    prior
        Prior probabilities of the types: a mapping ``{name: p}`` (unnamed types get 0), a
        sequence in the order of ``types``, or ``None`` for uniform.
    persistence, transition
        Give one for a switching type (a sticky Markov chain over types, e.g. new leaders):
        the probability of keeping the type from one period to the next, or a full
        ``(K, K)`` matrix ``transition[i, j] = P(z_t = j | z_{t-1} = i)``. Neither (default)
        for a type fixed over the whole series.

    Examples
    --------
    >>> from secdilemma.model.simulate import simulate
    >>> ds = simulate(n_periods=30, n_scenarios=2, true_type="greedy", seed=3)
    >>> post = Observer().filter(ds)
    >>> post.filtered.dims
    ('scenario', 'period', 'rival_type')
    >>> post.filtered.isel(period=-1).sel(rival_type="greedy").values.round(2).tolist()
    [1.0, 1.0]
    >>> post.attrs["observer_kind"]
    'aware'
    """

    #: Short name used in attrs and as the default name in :func:`compare_observers`.
    kind: ClassVar[str] = "aware"
    #: One line on how this observer perceives.
    description: ClassVar[str] = (
        "Dilemma-aware: knows its own buildup threatens the rival (the full model)."
    )
    #: Evaluate the model as if the observer's buildup posed no threat (``h = 0``).
    threat_blind: ClassVar[bool] = False
    #: Whether the full Bayesian fit (:mod:`secdilemma.engines.pymc`) can express this kind
    #: (see :data:`secdilemma.observers.FITTABLE_KINDS`). Every kind states it.
    fittable: ClassVar[bool] = True

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        prior: Mapping[str, float] | Sequence[float] | npt.ArrayLike | None = None,
        persistence: float | None = None,
        transition: npt.ArrayLike | None = None,
    ) -> None:
        self.types = types
        self.params = params
        self.prior = prior
        self.persistence = persistence
        self.transition = transition

    # -- hooks --------------------------------------------------------------------------------
    def _type_prior(self, types: TypeSpace) -> FloatArray:
        """Prior probabilities over ``types`` (hook: :class:`BiasedObserver`)."""
        return as_type_prior(self.prior, types)  # type: ignore[arg-type]

    def _weights(self, channels: tuple[str, ...]) -> tuple[float, FloatArray]:
        """Weights on the buildup term and on each signal channel (hook)."""
        return 1.0, np.ones(len(channels))

    # -- sklearn-style parameters -------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for p in inspect.signature(init).parameters.values():
                plain = p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                if p.name != "self" and plain and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as stored.

        Examples
        --------
        >>> from secdilemma.observers import TemperedObserver
        >>> sorted(TemperedObserver(temperature=0.5).get_params())
        ['params', 'persistence', 'prior', 'temperature', 'transition', 'types']
        """
        return {n: getattr(self, n) for n in self._param_names()}

    def settings(self) -> dict[str, Any]:
        """The constructor arguments as plain data (stored in the output's attrs)."""
        return {k: _jsonable(v) for k, v in self.get_params().items()}

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if v is not None and k not in ("types", "params")
        )
        return f"{type(self).__name__}({args})"

    # -- resolved settings --------------------------------------------------------------------
    def _resolved(self) -> tuple[TypeSpace, ModelParams]:
        types = TypeSpace.default() if self.types is None else self.types
        params = ModelParams() if self.params is None else self.params
        if not isinstance(types, TypeSpace):
            raise ParameterError(
                f"{type(self).__name__}: `types` must be a TypeSpace or None; got "
                f"{type(types).__name__}."
            )
        if not isinstance(params, ModelParams):
            raise ParameterError(
                f"{type(self).__name__}: `params` must be a ModelParams or None; got "
                f"{type(params).__name__}."
            )
        return types, params

    def _transition_matrix(self, types: TypeSpace) -> FloatArray | None:
        if self.persistence is not None and self.transition is not None:
            raise ParameterError(
                f"{type(self).__name__}: give `persistence` or `transition`, not both."
            )
        if self.persistence is None and self.transition is None:
            return None
        return transition_matrix(
            types.n_types, persistence=self.persistence, matrix=self.transition
        )

    # -- data ---------------------------------------------------------------------------------
    def _prepare(self, data: xr.Dataset, params: ModelParams) -> _Prepared:
        return _prepare_data(data, params, type(self).__name__)

    def _loglik(self, data: xr.Dataset) -> tuple[xr.DataArray, TypeSpace, list[str]]:
        types, params = self._resolved()
        prep = self._prepare(data, params)
        params = _params_for(params, prep, type(self).__name__)
        ll_b, ll_s = loglik_components(
            prep.dx,
            prep.u,
            params,
            types,
            signals=prep.signals,
            x=prep.x,
            threat_blind=self.threat_blind,
        )
        channels = params.signals.names if params.signals is not None else ()
        w_b, w_s = self._weights(tuple(channels))
        total = ll_b if w_b == 1.0 else _weighted(ll_b, w_b)
        if ll_s is not None:
            total = total + np.sum(_weighted(ll_s, np.asarray(w_s, dtype=float)), axis=-1)
        dims = (*prep.lead_dims, "period", "rival_type")
        coords = dict(prep.coords)
        coords["rival_type"] = list(types.names)
        da = xr.DataArray(total, dims=dims, coords=coords, name="loglik")
        da.attrs["long_name"] = "log-likelihood of each period's data under each type"
        return da, types, prep.notes

    # -- public API ---------------------------------------------------------------------------
    def loglik(self, data: xr.Dataset) -> xr.DataArray:
        """Per-period log-likelihood of the data under each type, as this observer weighs it.

        Returns a DataArray over ``(..., period, rival_type)``: the buildup term plus the
        signal terms, after this observer's weights (0 where a period has no data).

        Examples
        --------
        >>> from secdilemma.model.simulate import simulate
        >>> ll = Observer().loglik(simulate(n_periods=5, seed=0))
        >>> ll.dims, ll.sizes["rival_type"]
        (('scenario', 'period', 'rival_type'), 3)
        >>> float(abs(ll.isel(period=0)).max())  # no reaction to observe in period 0
        0.0
        """
        return self._loglik(data)[0]

    def filter(self, data: xr.Dataset, *, smooth: bool = True) -> xr.Dataset:
        """Posterior over the rival's type, period by period.

        Parameters
        ----------
        data
            Dataset with ``dx``, ``u`` over (..., ``period``) and, as the model needs them,
            ``x`` and ``signals`` (see the module docstring).
        smooth
            Also return the smoothed posterior (given all periods).

        Returns
        -------
        xarray.Dataset
            ``filtered`` (``P(type in period t | data up to t)``) and, if ``smooth``,
            ``smoothed`` (``P(type in period t | all data)``) over (..., ``period``,
            ``rival_type``); ``log_evidence`` over (...). attrs: ``observer_kind``,
            ``observer_description``, ``observer_settings`` (JSON), ``switching``,
            ``notes`` and ``secdilemma_version``.

        Raises
        ------
        ParameterError
            Missing variables or channels in ``data``, dims that do not match, a prior that
            is not a distribution, or both ``persistence`` and ``transition`` given.
        """
        fused = self._fused_filter(data, smooth)
        if fused is not None:
            return fused
        ll, types, notes = self._loglik(data)
        trans, log_prior = self._prior_and_transition(types)
        ll = ll.transpose(..., "period", "rival_type")
        res = filter_probabilities(ll.values, log_prior, transition=trans, smooth=smooth)
        coords = {k: v.variable for k, v in ll.coords.items() if set(v.dims) <= set(ll.dims)}
        return self._posterior_dataset(res, ll.dims[:-2], coords, notes, trans)

    # -- the two paths of filter --------------------------------------------------------------
    def _prior_and_transition(self, types: TypeSpace) -> tuple[FloatArray | None, FloatArray]:
        prior = self._type_prior(types)
        trans = self._transition_matrix(types)
        with np.errstate(divide="ignore"):
            return trans, np.log(prior)

    def _fused_filter(self, data: xr.Dataset, smooth: bool) -> xr.Dataset | None:
        """The posterior with the log-likelihood (buildups and signals, after this kind's
        weights) computed inside the filter kernel
        (:func:`~secdilemma.engines.exact.fused.moves_posterior`), or ``None`` where that
        path does not apply: a kind that computes its own log-likelihood or data, weights that
        are not one number for the buildups and one per channel, no numba."""
        types, params = self._resolved()
        kind = type(self)
        if not (
            _FUSE
            and kind._loglik is Observer._loglik
            and kind._prepare is Observer._prepare
            and fused_available()
        ):
            return None
        prep = self._prepare(data, params)
        params = _params_for(params, prep, kind.__name__)
        channels = tuple(params.signals.names) if params.signals is not None else ()
        w_b, w_s = self._weights(channels)
        if (
            prep.dx.shape[-1] < 1  # loglik_components words the error
            or np.ndim(w_b) != 0  # e.g. a weight per scenario
            or np.shape(w_s) != (len(channels),)
        ):
            return None
        trans, log_prior = self._prior_and_transition(types)
        res = moves_posterior(
            prep.dx,
            prep.u,
            params,
            types,
            log_prior,
            signals=prep.signals,
            x=prep.x,
            transition=trans,
            threat_blind=self.threat_blind,
            weight=float(w_b),
            signal_weights=np.asarray(w_s, dtype=float) if channels else None,
            smooth=smooth,
        )
        coords: dict[Hashable, xr.Variable] = {k: v.variable for k, v in prep.coords.items()}
        coords["rival_type"] = xr.Variable("rival_type", list(types.names))
        return self._posterior_dataset(res, prep.lead_dims, coords, prep.notes, trans)

    def _posterior_dataset(
        self,
        res: FilterProbabilities,
        lead_dims: tuple[Hashable, ...],
        coords: dict[Hashable, xr.Variable],
        notes: list[str],
        trans: FloatArray | None,
    ) -> xr.Dataset:
        dims = (*lead_dims, "period", "rival_type")
        data_vars: dict[Hashable, Any] = {
            "filtered": (dims, res.filtered, {"long_name": _LONG_NAMES["filtered"]})
        }
        if res.smoothed is not None:
            data_vars["smoothed"] = (dims, res.smoothed, {"long_name": _LONG_NAMES["smoothed"]})
        data_vars["log_evidence"] = (
            lead_dims,
            res.log_evidence,
            {"long_name": _LONG_NAMES["log_evidence"]},
        )
        out = xr.Dataset(data_vars, coords=coords)
        out.attrs = {
            "observer_kind": self.kind,
            "observer_description": self.description,
            "observer_settings": json.dumps(self.settings()),
            "switching": int(trans is not None),
            "notes": "; ".join(notes),
            "secdilemma_version": __version__,
        }
        return out


#: Whether :meth:`Observer.filter` may take the fused path (tests switch it off to compare).
_FUSE = True

_LONG_NAMES = {
    "filtered": "P(rival type in period t | data up to t)",
    "smoothed": "P(rival type in period t | all data)",
    "log_evidence": "log marginal likelihood of the data",
}


def _weighted(ll: FloatArray, w: float | FloatArray) -> FloatArray:
    """``w * ll`` with a zero weight giving exactly 0 (even where ``ll`` is -inf)."""
    w_arr = np.asarray(w, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.where(w_arr == 0.0, 0.0, w_arr * ll))


# ---------------------------------------------------------------------------------------------
# Data preparation
# ---------------------------------------------------------------------------------------------
def _prepare_data(data: xr.Dataset, params: ModelParams, name: str) -> _Prepared:
    """The moves (and level and signals, as ``params`` needs them) of ``data`` as arrays.

    ``name`` (the observer's class) starts every error message.
    """
    _check_moves(data, name)
    need_x = bool(np.any(np.asarray(params.lam) != 0))
    if need_x and "x" not in data.data_vars:
        raise ParameterError(
            f"{name}: `params.lam` > 0 (mean reversion) needs the rival's level `x` in "
            "`data`; add it or set lam=0."
        )
    arrays = [data["dx"], data["u"]] + ([data["x"]] if need_x else [])
    for arr in arrays:
        bad = [d for d in arr.dims if d in ("rival_type", "signal")]
        if bad:
            raise ParameterError(
                f"{name}: `data[{arr.name!r}]` has the dim(s) {bad}; moves must be over "
                "(..., period) only."
            )
    arrays = list(xr.broadcast(*arrays))
    lead = tuple(str(d) for d in arrays[0].dims if d != "period")
    arrays = [a.transpose(*lead, "period") for a in arrays]
    notes: list[str] = []
    signals = _signal_array(data, params, arrays[0], lead, name, notes)
    coords = {d: data[d] for d in (*lead, "period") if d in data.coords}
    return _Prepared(
        dx=np.asarray(arrays[0].values, dtype=float),
        u=np.asarray(arrays[1].values, dtype=float),
        x=np.asarray(arrays[2].values, dtype=float) if need_x else None,
        signals=signals,
        lead_dims=lead,
        coords=coords,
        notes=notes,
    )


def _check_moves(data: xr.Dataset, name: str) -> None:
    if not isinstance(data, xr.Dataset):
        raise ParameterError(
            f"{name}: `data` must be an xarray.Dataset with `dx` and `u` over `period`; "
            f"got {type(data).__name__}."
        )
    for var in ("dx", "u"):
        if var not in data.data_vars:
            raise ParameterError(
                f"{name}: `data` has no variable {var!r}; it needs `dx` (the rival's "
                "change) and `u` (the observer's change) over `period` (see "
                "secdilemma.model.simulate.simulate or the data layer's to_moves)."
            )
        if "period" not in data[var].dims:
            raise ParameterError(
                f"{name}: `data[{var!r}]` has dims {list(data[var].dims)}; it needs a `period` dim."
            )


def _signal_array(
    data: xr.Dataset,
    params: ModelParams,
    template: xr.DataArray,
    lead: tuple[str, ...],
    name: str,
    notes: list[str],
) -> FloatArray | None:
    """The rival's signals ``(..., T, J)`` in the model's channel order, or ``None``."""
    sp = params.signals
    if "signals" not in data.data_vars:
        if sp is not None:
            raise ParameterError(
                f"{name}: the model has signal channels {list(sp.names)} but `data` has no "
                "`signals` variable; add it (NaN where unobserved) or use params without "
                "signals (params.replace(signals=None))."
            )
        return None
    if sp is None:
        notes.append("data `signals` ignored: the model has no signal channels")
        return None
    sig = data["signals"]
    if "signal" not in sig.dims:
        raise ParameterError(f"{name}: `data['signals']` needs a `signal` dim.")
    if "actor" in sig.dims:
        if "rival" not in sig["actor"].values.tolist():
            raise ParameterError(
                f"{name}: `data['signals']` has an `actor` dim without 'rival'; "
                "select the rival's signals first."
            )
        sig = sig.sel(actor="rival", drop=True)
        sig = xr.where(sig.isnull(), np.nan, (sig > 0).astype(float))
        notes.append("signals: the rival's (actor='rival'), counts > 0 read as 1")
    have = [str(c) for c in sig["signal"].values.tolist()]
    missing = [c for c in sp.names if c not in have]
    if missing:
        raise ParameterError(
            f"{name}: the model's signal channel(s) {missing} are not in "
            f"`data['signals']` (channels there: {have}). Add them (NaN where "
            "unobserved) or leave them out of params.signals."
        )
    extra = [c for c in have if c not in sp.names]
    if extra:
        notes.append(f"signal channels ignored (not in the model): {extra}")
    if have != list(sp.names):  # (selecting copies the array: skipped when in order)
        sig = sig.sel(signal=list(sp.names))
    bad_dims = set(sig.dims) - set(lead) - {"period", "signal"}
    if bad_dims:
        raise ParameterError(
            f"{name}: `data['signals']` has dims {sorted(map(str, bad_dims))} that "
            "the moves `dx`/`u` lack."
        )
    dims = (*lead, "period", "signal")
    have_ix, want_ix = sig.indexes, template.indexes
    fits = (  # broadcasting like the moves would change nothing (skipped: ~0.5 ms per 10^6)
        sig.dims == dims
        and sig.shape[:-1] == template.shape
        and all(
            (d in have_ix) == (d in want_ix) and (d not in have_ix or have_ix[d].equals(want_ix[d]))
            for d in dims[:-1]
        )
    )
    if not fits:
        sig = sig.broadcast_like(template).transpose(*dims)
    return np.asarray(sig.values, dtype=float)


_SCENARIO_FIELDS = ("mu", "alpha", "beta", "gamma", "kappa", "lam", "sigma", "anchor")


def _params_for(params: ModelParams, prep: _Prepared, name: str) -> ModelParams:
    """``params`` with each array field shaped to the data's leading dims (and ``period``).

    A field may carry more axes than the data only when they have length 1 (a length-1 array
    for data without a scenario dim): those are dropped. Anything else that does not
    broadcast to the data's shape is a :class:`ParameterError` naming the field.
    """
    lead = prep.dx.shape[:-1]
    changes: dict[str, FloatArray] = {}
    for field in (*_SCENARIO_FIELDS, "omega", "delta"):
        arr = np.asarray(getattr(params, field), dtype=float)
        target = (*lead, prep.dx.shape[-1]) if field in ("omega", "delta") else lead
        fitted = arr
        while fitted.ndim > len(target) and fitted.shape[0] == 1:
            fitted = fitted[0]
        try:
            ok = np.broadcast_shapes(fitted.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            per_period = len(target) > len(lead)
            dims = (*prep.lead_dims, "period") if per_period else prep.lead_dims
            want = (
                f"a scalar or an array that broadcasts to {target}"
                + (" (a (T,) series or (S, 1) per scenario)" if per_period else "")
                if target
                else "a scalar (the data have no dim besides `period`)"
            )
            raise ParameterError(
                f"{name}: `params.{field}` has shape {arr.shape}, which does not fit the "
                f"data's dims {list(dims)} of shape {target}; give {want}."
            )
        if fitted is not arr:
            changes[field] = fitted
    return params.replace(**changes) if changes else params
