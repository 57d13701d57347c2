"""Observers: who watches the rival, and how they update.

Every observer shares one interface (scikit-learn style: ``__init__`` only stores its
arguments; :meth:`Observer.filter` does the work) and one engine, the exact filter of
:mod:`secdilemma.engines.exact`. A kind differs from the dilemma-aware :class:`Observer` only in
what it declares: a class attribute (:class:`NaiveObserver`) or one of two hooks, the prior
(:class:`BiasedObserver`) and the weights on the evidence (:class:`TemperedObserver`,
:class:`SelectiveObserver`).

=============  ============================================================================
kind           how it perceives
=============  ============================================================================
aware          the full model: it knows its own buildup threatens the rival (Jervis's
               dilemma-aware observer)
naive          does not see that its buildup drives the rival's (``h = 0``): it attributes
               the rival's arming to disposition, the spiral model's misperception
biased         a worst-case or over-confident prior (``confidence > 1`` sharpens it)
tempered       conservative (``temperature < 1``) or over-reacting (``> 1``) updating
selective      selective attention: weights on each signal channel and on buildups
=============  ============================================================================

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

Two-sided perception
--------------------
:func:`swap_roles` turns a dyad's data into the rival's view of us, so the same observers give
what the rival comes to believe about the observer's type from the observer's moves.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from secdilemma._version import __version__
from secdilemma.engines.exact.filtering import type_posterior
from secdilemma.errors import ParameterError
from secdilemma.model import (
    ModelParams,
    as_type_prior,
    loglik_components,
    transition_matrix,
)
from secdilemma.model.types import TypeSpace

__all__ = [
    "OBSERVER_KINDS",
    "AwareObserver",
    "BiasedObserver",
    "NaiveObserver",
    "Observer",
    "SelectiveObserver",
    "TemperedObserver",
    "compare_observers",
    "swap_roles",
]

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
        name = type(self).__name__
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
                    f"{name}: `data[{var!r}]` has dims {list(data[var].dims)}; it needs "
                    "a `period` dim."
                )
        notes: list[str] = []
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

        signals: FloatArray | None = None
        sp = params.signals
        if "signals" in data.data_vars:
            sig = data["signals"]
            if sp is None:
                notes.append("data `signals` ignored: the model has no signal channels")
            else:
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
                sig = sig.sel(signal=list(sp.names))
                bad_dims = set(sig.dims) - set(lead) - {"period", "signal"}
                if bad_dims:
                    raise ParameterError(
                        f"{name}: `data['signals']` has dims {sorted(map(str, bad_dims))} that "
                        "the moves `dx`/`u` lack."
                    )
                sig = sig.broadcast_like(arrays[0]).transpose(*lead, "period", "signal")
                signals = np.asarray(sig.values, dtype=float)
        elif sp is not None:
            raise ParameterError(
                f"{name}: the model has signal channels {list(sp.names)} but `data` has no "
                "`signals` variable; add it (NaN where unobserved) or use params without "
                "signals (params.replace(signals=None))."
            )
        coords: dict[str, Any] = {}
        for d in (*lead, "period"):
            if d in data.coords:
                coords[d] = data[d]
        return _Prepared(
            dx=np.asarray(arrays[0].values, dtype=float),
            u=np.asarray(arrays[1].values, dtype=float),
            x=np.asarray(arrays[2].values, dtype=float) if need_x else None,
            signals=signals,
            lead_dims=lead,
            coords=coords,
            notes=notes,
        )

    def _loglik(self, data: xr.Dataset) -> tuple[xr.DataArray, TypeSpace, list[str]]:
        types, params = self._resolved()
        prep = self._prepare(data, params)
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
        ll, types, notes = self._loglik(data)
        prior = self._type_prior(types)
        trans = self._transition_matrix(types)
        with np.errstate(divide="ignore"):
            log_prior = np.log(prior)
        post = type_posterior(ll, log_prior, transition=trans, smooth=smooth)
        out = xr.Dataset(coords=post.coords)
        out["filtered"] = np.exp(post["log_filtered"])
        out["filtered"].attrs["long_name"] = "P(rival type in period t | data up to t)"
        if smooth:
            out["smoothed"] = np.exp(post["log_smoothed"])
            out["smoothed"].attrs["long_name"] = "P(rival type in period t | all data)"
        out["log_evidence"] = post["log_evidence"]
        out["log_evidence"].attrs["long_name"] = "log marginal likelihood of the data"
        out.attrs = {
            "observer_kind": self.kind,
            "observer_description": self.description,
            "observer_settings": json.dumps(self.settings()),
            "switching": int(trans is not None),
            "notes": "; ".join(notes),
            "secdilemma_version": __version__,
        }
        return out


def _weighted(ll: FloatArray, w: float | FloatArray) -> FloatArray:
    """``w * ll`` with a zero weight giving exactly 0 (even where ``ll`` is -inf)."""
    w_arr = np.asarray(w, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.where(w_arr == 0.0, 0.0, w_arr * ll))


class AwareObserver(Observer):
    """The dilemma-aware observer under an explicit name (identical to :class:`Observer`).

    Examples
    --------
    >>> AwareObserver.kind
    'aware'
    """


class NaiveObserver(Observer):
    """An observer blind to the security dilemma.

    It does not see that its own buildup drives the rival's: the likelihood is evaluated
    with ``h = 0``, so a rival that arms in response to our arming looks like one that arms
    on its own, and the observer concludes "greedy" (or "mixed") too often (Jervis 1976).

    Examples
    --------
    >>> NaiveObserver.kind, NaiveObserver.threat_blind
    ('naive', True)
    """

    kind: ClassVar[str] = "naive"
    description: ClassVar[str] = (
        "Naive: does not see that its own buildup drives the rival's (h = 0)."
    )
    threat_blind: ClassVar[bool] = True


class BiasedObserver(Observer):
    """An observer with a biased or over-confident prior.

    Parameters
    ----------
    prior
        As for :class:`Observer`, but ``None`` means worst-case thinking:
        ``P(greedy) = 0.8`` with the rest spread evenly (the type space must then have a
        ``greedy`` type).
    confidence
        Sharpens (``> 1``) or flattens (``< 1``) the prior: ``p_k ∝ prior_k ** confidence``.
    **kwargs
        ``types``, ``params``, ``persistence``, ``transition`` as for :class:`Observer`.

    Examples
    --------
    >>> BiasedObserver()._type_prior(TypeSpace.default()).round(2).tolist()
    [0.8, 0.1, 0.1]
    >>> BiasedObserver(confidence=2.0)._type_prior(TypeSpace.default()).round(3).tolist()
    [0.97, 0.015, 0.015]
    """

    kind: ClassVar[str] = "biased"
    description: ClassVar[str] = "Biased: a worst-case or over-confident prior."

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        prior: Mapping[str, float] | Sequence[float] | npt.ArrayLike | None = None,
        confidence: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, prior=prior, **kwargs)
        self.confidence = confidence

    def _type_prior(self, types: TypeSpace) -> FloatArray:
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not np.isfinite(c) or c <= 0:
            raise ParameterError(
                f"BiasedObserver: `confidence` must be a finite number > 0; got {c!r}."
            )
        if self.prior is None:
            if "greedy" not in types.names:
                raise ParameterError(
                    "BiasedObserver: the default worst-case prior needs a 'greedy' type; "
                    f"this type space has {list(types.names)}. Give `prior`."
                )
            K = types.n_types
            base = np.full(K, 0.2 / (K - 1)) if K > 1 else np.ones(1)
            base[types.index("greedy")] = 0.8 if K > 1 else 1.0
        else:
            base = as_type_prior(self.prior, types)  # type: ignore[arg-type]
        sharp = base**c
        return np.asarray(sharp / sharp.sum())


class TemperedObserver(Observer):
    """An observer that under- or over-reacts to evidence.

    The log-likelihood of every period is multiplied by ``temperature``: below 1 the
    observer updates conservatively (anchors on its prior), above 1 it over-reacts.

    Parameters
    ----------
    temperature
        Positive power on the likelihood (default 0.5).
    **kwargs
        As for :class:`Observer`.

    Examples
    --------
    >>> TemperedObserver(temperature=0.25)._weights(("a", "b"))
    (0.25, array([0.25, 0.25]))
    """

    kind: ClassVar[str] = "tempered"
    description: ClassVar[str] = (
        "Tempered: likelihood raised to a power (< 1 conservative, > 1 over-reacting)."
    )

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        temperature: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, **kwargs)
        self.temperature = temperature

    def _weights(self, channels: tuple[str, ...]) -> tuple[float, FloatArray]:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t <= 0:
            raise ParameterError(
                f"TemperedObserver: `temperature` must be a finite number > 0; got {t!r}."
            )
        return float(t), np.full(len(channels), float(t))


class SelectiveObserver(Observer):
    """An observer with selective attention to the evidence.

    Parameters
    ----------
    channel_weights
        ``{channel name: weight}`` on the signal log-likelihoods (0 ignores a channel,
        > 1 over-weights it); channels not named keep weight 1.
    buildup_weight
        Weight on the buildup (reaction) term (0 ignores buildups).
    **kwargs
        As for :class:`Observer`.

    Examples
    --------
    >>> obs = SelectiveObserver(channel_weights={"arms_control_refused": 0.0}, buildup_weight=2)
    >>> obs._weights(("arms_control_refused", "use_of_force"))
    (2.0, array([0., 1.]))
    """

    kind: ClassVar[str] = "selective"
    description: ClassVar[str] = "Selective: weights on each signal channel and on buildups."

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        channel_weights: Mapping[str, float] | None = None,
        buildup_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, **kwargs)
        self.channel_weights = channel_weights
        self.buildup_weight = buildup_weight

    def _weights(self, channels: tuple[str, ...]) -> tuple[float, FloatArray]:
        wb = self.buildup_weight
        if (
            isinstance(wb, bool)
            or not isinstance(wb, (int, float))
            or not np.isfinite(wb)
            or wb < 0
        ):
            raise ParameterError(
                f"SelectiveObserver: `buildup_weight` must be a finite number >= 0; got {wb!r}."
            )
        cw = dict(self.channel_weights or {})
        unknown = [c for c in cw if c not in channels]
        if unknown:
            raise ParameterError(
                f"SelectiveObserver: `channel_weights` names channel(s) {unknown} that the "
                f"model does not have; its channels are {list(channels)}."
            )
        w = np.array([float(cw.get(c, 1.0)) for c in channels], dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(
                f"SelectiveObserver: `channel_weights` must be finite and >= 0; got {cw}."
            )
        return float(wb), w


#: The observer classes by kind.
OBSERVER_KINDS: dict[str, type[Observer]] = {
    cls.kind: cls
    for cls in (Observer, NaiveObserver, BiasedObserver, TemperedObserver, SelectiveObserver)
}


def compare_observers(
    data: xr.Dataset,
    observers: Mapping[str, Observer] | Iterable[Observer],
    *,
    smooth: bool = False,
) -> xr.Dataset:
    """Posteriors of several observers on the same data, side by side along ``observer``.

    Parameters
    ----------
    data
        As for :meth:`Observer.filter`.
    observers
        ``{name: observer}``, or a sequence of observers (named by their ``kind``, with
        ``_2``, ``_3`` … for repeats).
    smooth
        Also return the smoothed posteriors.

    Returns
    -------
    xarray.Dataset
        ``filtered`` (and ``smoothed``) over (``observer``, ..., ``period``, ``rival_type``)
        and ``log_evidence`` over (``observer``, ...), with an ``observer_kind`` coordinate;
        attrs ``observer_settings`` (JSON by name) and ``secdilemma_version``.

    Examples
    --------
    >>> from secdilemma.model.simulate import simulate
    >>> ds = simulate(n_periods=30, true_type="insecure", observer_drift=0.1, seed=2)
    >>> cmp = compare_observers(ds, [Observer(), NaiveObserver()])
    >>> cmp.observer.values.tolist()
    ['aware', 'naive']
    >>> p = cmp.filtered.isel(scenario=0, period=-1).sel(rival_type="insecure")
    >>> bool(p.sel(observer="aware") > p.sel(observer="naive"))
    True
    """
    if isinstance(observers, Mapping):
        items = [(str(k), v) for k, v in observers.items()]
    else:
        items = []
        seen: dict[str, int] = {}
        for obs in observers:
            kind = getattr(obs, "kind", type(obs).__name__)
            seen[kind] = seen.get(kind, 0) + 1
            items.append((kind if seen[kind] == 1 else f"{kind}_{seen[kind]}", obs))
    if not items:
        raise ParameterError("compare_observers: `observers` is empty; give at least one.")
    for n, obs in items:
        if not isinstance(obs, Observer):
            raise ParameterError(
                f"compare_observers: `observers[{n!r}]` is a {type(obs).__name__}, not an Observer."
            )
    results = [obs.filter(data, smooth=smooth) for _, obs in items]
    ref = results[0]["rival_type"].values.tolist()
    for (n, _), res in zip(items, results, strict=True):
        if res["rival_type"].values.tolist() != ref:
            raise ParameterError(
                f"compare_observers: observer {n!r} has rival types "
                f"{res['rival_type'].values.tolist()} but {items[0][0]!r} has {ref}; give "
                "every observer the same type space."
            )
    names = [n for n, _ in items]
    out = xr.concat(
        [r.drop_attrs() for r in results],
        dim=pd.Index(names, name="observer"),
        join="exact",
    )
    out = out.assign_coords(observer_kind=("observer", [o.kind for _, o in items]))
    out.attrs = {
        "observer_settings": json.dumps({n: o.settings() for n, o in items}),
        "notes": "; ".join(sorted({r.attrs["notes"] for r in results} - {""})),
        "secdilemma_version": __version__,
    }
    return out


_SWAP_VARS = (("dx", "u"), ("x", "y"))
_SWAP_LABELS = {"observer": "rival", "rival": "observer"}
_TRUTH_VARS = ("true_type", "true_type_index")


def swap_roles(data: xr.Dataset) -> xr.Dataset:
    """The rival's view of us: swap the observer's and the rival's roles in a dyad's data.

    Use it to ask what the rival comes to believe about the *observer's* type from the
    observer's moves: ``Observer().filter(swap_roles(ds))``. The model is the same, read
    from the other side: the observer's change in period ``t`` is taken as its reaction to
    the rival's change in ``t - 1``.

    * ``dx`` ↔ ``u`` and ``x`` ↔ ``y`` (whichever are present);
    * with an ``actor`` dim (a case dataset): the ``observer`` and ``rival`` labels swap, so
      ``signals`` and every per-actor variable follow, and ``event_actor`` roles swap;
    * ``signals`` without an ``actor`` dim (a simulated dyad's: the rival's) are dropped, as
      are the simulated truth ``true_type``/``true_type_index``: they describe the rival,
      not the observer (a note in attrs says so).

    Swapping twice gives the original moves back. attrs ``roles_swapped`` toggles 0/1.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"dx": ("period", [np.nan, 0.1]), "u": ("period", [0.2, 0.3])})
    >>> sw = swap_roles(ds)
    >>> sw.dx.values.tolist(), sw.u.values.tolist()
    ([0.2, 0.3], [nan, 0.1])
    >>> swap_roles(sw).identical(ds.assign_attrs(roles_swapped=0))
    True
    """
    if not isinstance(data, xr.Dataset):
        raise ParameterError(
            f"swap_roles: `data` must be an xarray.Dataset; got {type(data).__name__}."
        )
    notes: list[str] = []
    out = data
    tmp = {}
    for a, b in _SWAP_VARS:
        if a in out.variables:
            tmp[a] = f"__swap_{b}"
        if b in out.variables:
            tmp[b] = f"__swap_{a}"
    out = out.rename_vars(tmp)
    out = out.rename_vars({v: v.removeprefix("__swap_") for v in tmp.values()})
    for a, b in _SWAP_VARS:
        for new, old in ((a, b), (b, a)):
            if new in out.variables and "long_name" in out[new].attrs:
                out[new].attrs["long_name"] = f"{old} of the original dyad, seen from the rival"
    if "actor" in out.dims:
        labels = out["actor"].values.tolist()
        if not {"observer", "rival"} <= set(labels):
            raise ParameterError(
                f"swap_roles: the `actor` dim has labels {labels}; it needs 'observer' and 'rival'."
            )
        out = out.assign_coords(actor=[_SWAP_LABELS.get(a, a) for a in labels])
        out = out.sel(actor=labels)
    elif "signals" in out.data_vars:
        out = out.drop_vars("signals")
        if "signal" in out.dims and not any("signal" in v.dims for v in out.data_vars.values()):
            out = out.drop_dims("signal", errors="ignore")
        notes.append("the rival's `signals` dropped: the observer's are not in the data")
    if "event_actor" in out.data_vars:
        roles = np.asarray(out["event_actor"].values, dtype=object)
        swapped = np.vectorize(lambda r: _SWAP_LABELS.get(r, r), otypes=[object])(roles)
        out["event_actor"] = (out["event_actor"].dims, swapped.astype(str))
    truth = [v for v in _TRUTH_VARS if v in out.variables]
    if truth:
        out = out.drop_vars(truth)
        notes.append(f"dropped {truth}: they describe the original rival")
    attrs = dict(data.attrs)
    attrs["roles_swapped"] = 1 - int(data.attrs.get("roles_swapped", 0))
    if notes:
        attrs["swap_notes"] = "; ".join(notes)
    out.attrs = attrs
    return out
