"""The study: one resolved setting of the chain data → belief → decision, and its steps.

A :class:`Study` is built from a bundled case (which always means its argued spec in
``models/``), a spec file or :class:`~secdilemma.spec.ModelSpec`, a pair of states
(:meth:`Study.from_dyad`) or a saved fit (:meth:`Study.from_fit`). Every choice the chain
depends on is resolved once, at construction, by one precedence rule:

    call argument  >  the spec  >  the documented default

and checked once (a bad argument raises a typed error naming it). The steps
(:meth:`~Study.data`, :meth:`~Study.belief`, :meth:`~Study.fit`, :meth:`~Study.decide`,
:meth:`~Study.compare`) return xarray objects whose attrs carry the resolved setting
(``study_*`` keys and the whole setting as JSON in ``study_setting``), so a saved result
says how it was made. The command line, the main job and the notebooks all run through it.

Examples
--------
>>> import secdilemma as sd
>>> study = sd.Study("us_ussr", omega=0.3, params="default")
>>> study.setting.omega, study.setting.params
(0.3, 'default')
>>> post = study.belief()
>>> post.attrs["study_name"], post.attrs["study_omega"]
('us_ussr', '0.3')
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma._paths import models_dir
from secdilemma.data.schema import DERIVED_CHANNELS
from secdilemma.decision import decide as _decide
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams
from secdilemma.observers import FITTABLE_KINDS, OBSERVER_KINDS, evidence_decomposition
from secdilemma.spec import ModelSpec, load_reference_point, spec_data
from secdilemma.spec.reference import REFERENCE_FILE
from secdilemma.spec.sections import SOURCES
from secdilemma.study.information import study_value_of_information
from secdilemma.study.integrated import (
    IntegratedBelief,
    fit_channels,
    integrated_belief,
    integrated_label,
)
from secdilemma.study.setting import (
    DEFAULT_N_SIMS,
    ENGINES,
    PARAM_SOURCES,
    VARIANTS,
    Engine,
    Setting,
    apply_overrides,
    check_choice,
    overrides,
    spec_of,
)
from secdilemma.study.signals import exact_params_for
from secdilemma.study.variants import spec_variants

if TYPE_CHECKING:
    from secdilemma.engines.pymc import PerceptionModel
    from secdilemma.reference import PoolReference

__all__ = ["Study"]


class Study:
    """One study of a dyad: the resolved setting and the chain data → belief → decision.

    Parameters
    ----------
    target
        A bundled case name (its spec ``models/CASE.toml``), a path to a TOML spec, or a
        :class:`~secdilemma.spec.ModelSpec`.
    start, end
        Inclusive years (default: the spec's, else the data's).
    omega, delta
        Offense advantage and distinguishability in [0, 1], constants or ``{year: value}``
        step functions (default: the spec's, else 0.5).
    prior
        The observer's prior over types: ``{type: p}`` or ``"uniform"`` (default: the
        spec's, else uniform).
    observer
        Observer kind (default: the spec's, else ``"aware"``): one the fit can express too,
        :data:`secdilemma.observers.FITTABLE_KINDS`. Any kind of
        :data:`~secdilemma.observers.OBSERVER_KINDS` can be asked of :meth:`belief`.
    params
        The exact observer's parameters (:data:`PARAM_SOURCES`): ``"reference"`` (default:
        fixed at the reference's point), ``"integrated"`` (integrated over the prior the
        fit takes from the pooled reference, :mod:`secdilemma.study.integrated`: the fit's
        answer within Monte Carlo error, a few seconds), ``"estimate"`` or ``"default"``.
    losses
        Decision losses, merged over the spec's (:class:`~secdilemma.decision.Losses`).
    horizon
        Periods simulated per action (default: the spec's, else 10).
    seed
        Seed of every random step: sampling, draws fed to the decision, simulated futures
        (default: the spec's ``sampler.seed``).
    variable, case_observer
        A bundled case's capability series and alternative observer state.
    persistence
        Switching (Markov) types with this probability of keeping the type from one period
        to the next (default: the spec's, else static types).

    Examples
    --------
    >>> import secdilemma as sd
    >>> study = sd.Study("anglo_german_naval")  # the case's argued spec, models/*.toml
    >>> study.setting.years, study.setting.omega, study.setting.delta
    ('1898-1913', 0.7, 0.25)
    >>> post = study.belief()  # the exact observer: P(type | data up to t), period by period
    >>> post["filtered"].sizes["period"], post["filtered"].rival_type.values.tolist()
    (16, ['greedy', 'insecure', 'mixed'])
    >>> round(float(post["filtered"].isel(period=-1).sum()), 6)  # a distribution over types
    1.0
    >>> dec = study.decide(n_sims=200)  # the best action under that belief
    >>> dec.attrs["recommended"] in dec.action.values, dec.attrs["study_belief"]
    (True, "exact observer's belief at 1913...")
    >>> sd.Study("anglo_german_naval", omega=0.3).setting.omega  # argument > spec > default
    0.3

    The full Bayesian fit is a PyMC run (about a minute the first time on a machine):

    >>> tree = study.fit()  # doctest: +SKIP
    >>> dec = study.decide("fit")  # doctest: +SKIP
    """

    def __init__(
        self,
        target: ModelSpec | str | os.PathLike[str],
        *,
        start: int | None = None,
        end: int | None = None,
        omega: float | Mapping[int, float] | None = None,
        delta: float | Mapping[int, float] | None = None,
        prior: Mapping[str, float] | str | None = None,
        observer: str | None = None,
        params: str = "reference",
        losses: Mapping[str, float] | None = None,
        horizon: int | None = None,
        seed: int | None = None,
        variable: str | None = None,
        case_observer: str | None = None,
        persistence: float | None = None,
    ) -> None:
        base, source = spec_of(target)
        if observer is not None:
            check_choice("observer", observer, FITTABLE_KINDS)
        given = overrides(
            start=start, end=end, omega=omega, delta=delta, prior=prior, observer=observer,
            losses=losses, horizon=horizon, seed=seed, variable=variable,
            case_observer=case_observer, persistence=persistence,
        )  # fmt: skip
        self.spec: ModelSpec = apply_overrides(base, given)
        self.params: str = check_choice("params", params, PARAM_SOURCES)
        self.source: str = source
        self.overridden: tuple[str, ...] = tuple(given)
        self.model_: PerceptionModel | None = None
        self._data: tuple[xr.Dataset, xr.Dataset] | None = None
        self._references: dict[bool, PoolReference] = {}
        self._integrated: dict[tuple[str, bool], IntegratedBelief] = {}
        self.setting: Setting = self._resolve()

    @classmethod
    def from_dyad(
        cls,
        observer_state: int | str,
        rival_state: int | str,
        *,
        source: str = "nmc",
        start: int | None = None,
        end: int | None = None,
        name: str | None = None,
        signals: Sequence[str] | None = None,
        prices: str = "real",
        **overrides: Any,
    ) -> Study:
        """A study of any pair of states, built from the raw tables.

        Defaults for what a spec would say: the capability series ``milex`` as log
        changes, the three types greedy/insecure/mixed (static), priors from the pooled
        reference (``use_reference``), a neutral world (omega = delta = 0.5), an aware
        observer with a uniform prior, the default losses and a ten-period horizon, and
        the rival's signal channels derived from MID and ATOP for every pair
        (:data:`secdilemma.data.schema.DERIVED_CHANNELS`) that the window covers in at least
        one year (``signals=[...]`` to choose, ``[]`` for none); ``prices`` as ``make_dyad``.

        Examples
        --------
        >>> s = Study.from_dyad("India", "Pakistan", start=1960, end=2000, params="default")
        >>> s.setting.name, s.setting.years
        ('IND-PAK', '1960-2000')
        """
        check_choice("source", source, SOURCES)
        kw: dict[str, Any] = dict(source=source, start=start, end=end, name=name, prices=prices,
                                  priors={"use_reference": True})  # fmt: skip
        spec = ModelSpec.for_dyad(observer_state, rival_state, **kw)
        if signals is None:
            ds = spec_data(spec)[0]
            signals = []
            if "signals" in ds:
                rival = ds["signals"].sel(actor="rival")
                signals = [c for c in DERIVED_CHANNELS if bool(rival.sel(signal=c).notnull().any())]
        if signals:
            spec = ModelSpec.for_dyad(
                observer_state, rival_state, signals={"channels": list(signals)}, **kw
            )
        study = cls(spec, **overrides)
        study.source = "dyad"
        study.setting = study._resolve()
        return study

    @classmethod
    def from_fit(
        cls,
        path: str | os.PathLike[str],
        *,
        allow_world_change: bool = False,
        **overrides: Any,
    ) -> Study:
        """A study around a saved fit (``fit.nc``): its spec, with the fit attached.

        The belief was conditioned on the fit's world, so an ``omega`` or ``delta`` that
        differs from the fit's is refused unless ``allow_world_change=True``; the result's
        attrs then record ``study_world_changed_after_fit``.
        """
        from secdilemma.engines.pymc import load  # here: keeps `import secdilemma` light

        model = load(path)
        for key in ("start", "end", "observer", "prior", "variable", "case_observer"):
            if overrides.get(key) is not None:
                raise ParameterError(
                    f"argument {key!r} changes the data or the belief, which a saved fit has "
                    "already conditioned on; refit with it (secdilemma fit ... or Study.fit())."
                )
        study = cls(model.spec, **overrides)
        changed = [
            k
            for k in ("omega", "delta")
            if getattr(study.spec.world, k) != getattr(model.spec.world, k)
        ]
        if changed and not allow_world_change:
            was = {k: getattr(model.spec.world, k) for k in changed}
            raise ParameterError(
                f"{path}: the fit was conditioned on {was}; a decision under another "
                f"{' and '.join(changed)} would combine a belief from one world with a choice "
                "in another. Refit with the new value (secdilemma fit ... --omega/--delta), or "
                "pass allow_world_change=True (--allow-world-change) to do it knowingly."
            )
        study.source = "fit"
        study.world_changed_after_fit = tuple(changed)
        study.model_ = model
        study.setting = study._resolve()
        return study

    world_changed_after_fit: tuple[str, ...] = ()

    # ------------------------------------------------------------------ the setting
    def _resolve(self) -> Setting:
        ds, moves = self.data_and_moves()
        spec = self.spec
        periods = moves["period"].values

        def world(name: str) -> float | dict[str, float]:
            v = getattr(spec.world, name)
            if isinstance(v, Mapping):
                return {str(k): float(x) for k, x in v.items()}
            return float(v)

        prior = "uniform" if spec.observer.prior is None else dict(spec.observer.prior)
        return Setting(
            name=spec.name,
            source=self.source,
            observer_state=str(ds.attrs.get("observer", "observer")),
            rival_state=str(ds.attrs.get("rival", "rival")),
            start=int(periods[0]),
            end=int(periods[-1]),
            omega=world("omega"),
            delta=world("delta"),
            prior=prior,
            observer=spec.observer.kind,
            params=self.params,
            horizon=int(spec.decision.horizon),
            seed=spec.sampler.seed,
            losses=spec.decision.losses_obj().to_dict(),
            spec_path=spec.source_path or "",
        )

    def __repr__(self) -> str:
        s = self.setting
        return f"Study({s.name!r}, {s.years}, {s.world()}, observer={s.observer!r})"

    def _stamp(self, obj: Any, **extra: str) -> Any:
        obj.attrs.update(self.setting.attrs())
        if self._references:
            ref = self._references.get(True) or self._references[False]
            obj.attrs["study_reference"] = ref.label
            obj.attrs["study_reference_left_out"] = json.dumps(list(ref.left_out))
            if self.params != "default":
                # where each of the exact observer's reference parameters came from
                sources = load_reference_point(ref.path)[1]
                obj.attrs["study_reference_point"] = json.dumps(sources)
        if self.world_changed_after_fit:
            obj.attrs["study_world_changed_after_fit"] = ",".join(self.world_changed_after_fit)
        obj.attrs.update(extra)
        return obj

    # ------------------------------------------------------------------ steps
    def data_and_moves(self) -> tuple[xr.Dataset, xr.Dataset]:
        """The dyad Dataset and its per-period moves (loaded once)."""
        if self._data is None:
            self._data = spec_data(self.spec)
        return self._data

    def data(self) -> xr.Dataset:
        """The dyad's data (spending series, events), with the setting in attrs."""
        return self._stamp(self.data_and_moves()[0].copy())

    def moves(self) -> xr.Dataset:
        """The per-period moves the engines read (``dx``, ``u``, ``x``, ``y``, signals)."""
        return self._stamp(self.data_and_moves()[1].copy())

    def reference(self, *, posterior: bool = False) -> PoolReference:
        """The pooled reference this study reads: the stored one, or, when the study's pair
        of states is in the pool, the pool without it (leave-one-out,
        :func:`secdilemma.reference.reference_for`; computed on first use and cached).

        ``posterior=True`` asks for the PyMC posterior too (what a fit's priors need; minutes
        on first use for a pool member), otherwise the point estimate the exact observer
        reads is enough. A bundled case is never in the pool.
        """
        from secdilemma.reference import PoolReference, reference_for  # floor 9; lazy: PyMC

        key = bool(posterior)
        if True in self._references:
            return self._references[True]  # the posterior's file has the point estimate too
        if key in self._references:
            return self._references[key]
        d = self.spec.data
        if d.is_dyad and d.observer and d.rival:
            ref = reference_for(d.observer, d.rival, posterior=posterior)
        else:
            ref = PoolReference(models_dir() / REFERENCE_FILE, "pool", member=False)
        self._references[key] = ref
        return ref

    def exact_params(self, *, signals: bool = True) -> ModelParams:
        """The exact observer's parameters (by :attr:`params`) in this study's world, with
        the coefficients of the spec's signal channels (:mod:`secdilemma.study.signals`)
        unless ``signals=False`` or ``params="default"``."""
        return self._exact_params(signals)[0]

    def _exact_params(self, signals: bool = True) -> tuple[ModelParams, dict[str, str]]:
        ref = self.reference().path if self.params != "default" else None
        moves = self.data_and_moves()[1]
        return exact_params_for(self.spec, self.params, moves, ref, signals=signals)

    def observer_model(self, kind: str | None = None) -> Any:
        """The exact observer of this study (or of another ``kind`` on the same setting)."""
        return self._observer(kind, True)[0]

    def belief(
        self, engine: Engine = "exact", *, observer: str | None = None, signals: bool = True
    ) -> xr.Dataset:
        """The posterior over the rival's types, period by period.

        ``engine="exact"``: Bayes' rule with the parameters fixed (:attr:`params`), filtered
        and smoothed, from the buildups and the spec's signal channels (coefficients from
        the reference, :mod:`secdilemma.study.signals`; ``signals=False`` reads the buildups
        only). The attrs say how each channel was read (``study_signals_used``) and which
        reference (``study_reference``). ``engine="fit"``: the full Bayesian fit's type
        probabilities (fits first if needed), integrating over the parameters: per draw at
        the last period (``type_probability``) and, over periods, the mean and 90 % band of
        the filtered and smoothed paths (``filtered_mean``, ``filtered_low``, …).
        """
        check_choice("engine", engine, ENGINES)
        if engine == "fit":
            if observer is not None:
                raise ParameterError(
                    "observer applies to the exact engine; the fit uses the spec's "
                    "observer.kind (Study(..., observer=...))."
                )
            tree = self.fit()
            post = tree["type_probabilities"].to_dataset()
            return self._stamp(post, study_engine="fit")
        obs, params, how = self._observer(observer, signals)
        if self.params == "integrated":
            ib = self.integrated(observer=observer, signals=signals)
            return self._stamp(
                ib.posterior.copy(),
                study_engine="exact",
                study_observer=obs.kind,
                study_exact_method=integrated_label(ib),
                study_signals_used=json.dumps(fit_channels(self.spec, signals)),
                params_json=json.dumps(params.to_dict(), default=_plain),
            )
        post = obs.filter(self._exact_moves(params), smooth=True)
        return self._stamp(
            post,
            study_engine="exact",
            study_observer=obs.kind,
            study_exact_method=f"parameters fixed ({self.params})",
            study_signals_used=json.dumps(how),
            params_json=json.dumps(params.to_dict(), default=_plain),
        )

    def integrated(self, *, observer: str | None = None, signals: bool = True) -> IntegratedBelief:
        """The exact observer integrated over the fit's prior (cached): belief, Monte Carlo
        error, weighted parameter draws (:func:`~secdilemma.study.integrated.integrated_belief`)."""
        obs, params, _ = self._observer(observer, False)
        key = (obs.kind, bool(signals))
        if key not in self._integrated:
            spec = self.spec
            if not signals:
                spec = ModelSpec.from_dict({**spec.to_dict(), "signals": {}})
            ref = self.reference().path if spec.priors.use_reference else None
            self._integrated[key] = integrated_belief(
                spec, self.data_and_moves()[1], params, obs, reference=ref,
                seed=self.spec.sampler.seed,
            )  # fmt: skip
        return self._integrated[key]

    def evidence(self, *, observer: str | None = None) -> xr.Dataset:
        """What moved the exact observer's belief: the buildups and each signal channel, by
        type and period (:func:`secdilemma.observers.evidence_decomposition`), with the
        final belief without each source. The attrs carry the setting and how each channel
        was read."""
        obs, params, how = self._observer(observer, True)
        ev = evidence_decomposition(obs, self._exact_moves(params))
        return self._stamp(ev, study_engine="exact", study_observer=obs.kind,
                           study_signals_used=json.dumps(how))  # fmt: skip

    def _observer(self, kind: str | None, signals: bool) -> tuple[Any, ModelParams, dict[str, str]]:
        params, how = self._exact_params(signals)
        k = check_choice("observer", kind or self.spec.observer.kind, tuple(OBSERVER_KINDS))
        obs = OBSERVER_KINDS[k](
            self.spec.types.type_space(), params, prior=self.spec.observer.prior,
            persistence=self.spec.types.persistence,
        )  # fmt: skip
        return obs, params, how

    def _exact_moves(self, params: ModelParams) -> xr.Dataset:
        moves = self.data_and_moves()[1]
        if params.signals is None:
            return moves.drop_vars("signals", errors="ignore")
        return moves.sel(signal=list(params.signals.names))

    def fit(self, *, refit: bool = False, progressbar: bool = False, **sampler: Any) -> xr.DataTree:
        """The full Bayesian fit (PyMC); kept as :attr:`model_` and returned as a DataTree.

        ``sampler`` takes what :meth:`PerceptionModel.fit` takes: ``sampler`` (the NUTS
        backend, nutpie or pymc), ``chains``, ``draws``, ``tune`` (default: the spec's); the
        seed is the study's.
        """
        from secdilemma.engines.pymc import PerceptionModel  # here: keeps import light

        if self.model_ is None or refit or sampler:
            ref = self.reference(posterior=True).path if self.spec.priors.use_reference else None
            model = PerceptionModel(self.spec, reference=ref)
            model.fit(seed=self.spec.sampler.seed, progressbar=progressbar, **sampler)
            self.model_ = model
        assert self.model_.idata_ is not None
        return self._stamp(self.model_.idata_, study_engine="fit")

    def decide(
        self,
        engine: Engine = "exact",
        *,
        observer: str | None = None,
        n_sims: int = DEFAULT_N_SIMS,
        max_draws: int = 500,
    ) -> xr.Dataset:
        """Deter, defend or reassure? The decision fed by the chosen engine's belief.

        ``exact``: the exact observer's belief at the last period, parameters fixed.
        ``fit``: the fit's posterior draws (at most ``max_draws``), so the decision
        integrates over parameter uncertainty. The attrs name the engine and the belief.
        """
        check_choice("engine", engine, ENGINES)
        seed = self.spec.sampler.seed
        if engine == "fit":
            if self.model_ is None:
                self.fit()
            assert self.model_ is not None
            belief, params = self.model_.belief_draws(max_draws=max_draws, seed=seed)
            label = f"fitted posterior at {belief.attrs['period']}, {belief.sizes['sample']} draws"
            params = params.replace(**self._last_world())
        elif self.params == "integrated":
            ib = self.integrated(observer=observer)
            types = {"rival_type": ib.posterior["rival_type"].values}
            belief = xr.DataArray(ib.final_draws, dims=("sample", "rival_type"), coords=types)
            params = ib.draws.replace(**self._last_world())
            year = int(ib.posterior.period.values[-1])
            label = f"exact observer's belief at {year}, {integrated_label(ib)}"
        else:
            post = self.belief("exact", observer=observer)
            belief = post["filtered"].isel(period=-1)
            params = self.exact_params().replace(**self._last_world())
            label = f"exact observer's belief at {int(post.period.values[-1])} ({self.params})"
        dec = self.spec.decision
        res = _decide(
            belief,
            params=params,
            losses=dec.losses_obj(),
            actions=dec.actions,
            horizon=dec.horizon,
            n_sims=n_sims,
            seed=seed,
        )
        return self._stamp(res, study_engine=engine, study_belief=label)

    def value_of_information(
        self,
        *,
        cost: Any = 0.0,
        observer: str | None = None,
        n_sims: int = DEFAULT_N_SIMS,
    ) -> xr.Dataset:
        """What observing each signal channel once more, before acting, would be worth
        (EVSI per channel, jointly, and EVPI; :func:`secdilemma.decision.evsi_by_channel`).

        The belief is the exact observer's at the last period; the channels and their
        coefficients are the ones it reads (:meth:`belief`'s ``study_signals_used``); the
        threat in the channels' fear term is the observer's last move (``h * u⁺``). ``cost``
        is one number or ``{channel: cost}`` in utility units. Raises
        :class:`~secdilemma.errors.ParameterError` when no channel has coefficients.
        """
        return study_value_of_information(self, cost=cost, observer=observer, n_sims=n_sims)

    def _last_world(self) -> dict[str, float]:
        """omega and delta of the last period: the world the decision looks ahead in."""
        period = self.data_and_moves()[1]["period"].values[-1:]
        return {k: float(self.spec.world.series(k, period)[0]) for k in ("omega", "delta")}

    def variants(self, which: Sequence[str] = VARIANTS) -> dict[str, ModelSpec]:
        """Spec variants for model comparison on the same data, each changing one thing
        (:func:`secdilemma.study.variants.spec_variants`)."""
        return spec_variants(self.spec, which)

    def compare(
        self, variants: Sequence[str] = VARIANTS, **sampler: Any
    ) -> tuple[xr.Dataset, dict[str, PerceptionModel]]:
        """Model comparison by PSIS-LOO over :meth:`variants`; returns the table and fits."""
        from secdilemma.engines.pymc import PerceptionModel, compare_models  # lazy, as above

        models: dict[str, PerceptionModel] = {}
        for name, spec in self.variants(variants).items():
            ref = self.reference(posterior=True).path if spec.priors.use_reference else None
            model = PerceptionModel(spec, reference=ref)
            model.fit(seed=spec.sampler.seed, **sampler)
            models[name] = model
        table = compare_models(models)
        df = table.copy()
        df.index = df.index.astype(str)
        data = {
            str(c): (
                "model",
                df[c].astype(str).to_numpy() if df[c].dtype == object else df[c].to_numpy(),
            )
            for c in df.columns
        }
        ds = xr.Dataset(data, coords={"model": df.index.to_numpy()})
        shaky = [n for n, m in models.items() if not (m.diagnostics_ or {}).get("ok", False)]
        return self._stamp(ds, not_converged=json.dumps(shaky)), models

    def sweep(self, **axes: Any) -> xr.Dataset:
        """What if? This study over a grid of inputs (:func:`secdilemma.whatif.sweep`).

        Each keyword names an input (``omega``, ``delta``, ``prior_greedy``,
        ``losses_arms``, ``kappa``, ``horizon``, ``policy``, …) and gives its values; the
        result has one dimension per swept input.
        """
        from secdilemma.whatif import sweep  # here: keeps `import secdilemma` light

        return sweep(self, **axes)

    # ------------------------------------------------------------------ the spec
    def to_spec(
        self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False
    ) -> str:
        """The study as a TOML spec (written to ``path`` if given) that loads back to it."""
        text = self.spec.to_toml()
        if path is not None:
            self.spec.save(path, overwrite=overwrite)
        return text


def _plain(a: Any) -> Any:
    """JSON for numpy arrays and :class:`SignalParams` in a parameter dump."""
    if hasattr(a, "to_dict"):
        return a.to_dict()
    return np.asarray(a).tolist()
