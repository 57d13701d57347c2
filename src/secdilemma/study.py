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

import difflib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from secdilemma._version import __version__
from secdilemma.data import list_cases
from secdilemma.decision import decide as _decide
from secdilemma.engines.exact import estimate_params
from secdilemma.errors import ParameterError, SpecError
from secdilemma.model import ModelParams
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.spec import ModelSpec, load_reference_params, load_spec, spec_data

if TYPE_CHECKING:
    from secdilemma.engines.pymc import PerceptionModel

__all__ = ["ENGINES", "PARAM_SOURCES", "Setting", "Study"]

#: Where the exact observer's parameters come from: the pooled reference over other
#: rivalries (``models/reference_params.toml``), a type-II ML estimate from this dyad alone,
#: or the package's illustrative defaults (:class:`~secdilemma.model.ModelParams`).
PARAM_SOURCES = ("reference", "estimate", "default")
#: The engines a belief or a decision can come from.
ENGINES = ("exact", "fit")
#: Simulated futures per type in a decision, unless given.
DEFAULT_N_SIMS = 2000
#: Model-comparison variants (:meth:`Study.compare`).
VARIANTS = ("types", "observer", "switching")
#: Persistence of the switching variant when the spec's types are static: a type expected to
#: last ten periods (a leadership or regime change about once a decade in annual data).
SWITCHING_PERSISTENCE = 0.9

Engine = Literal["exact", "fit"]


@dataclass(frozen=True)
class Setting:
    """The resolved setting of a study: everything a result depends on, as plain data."""

    name: str
    source: str  # "case", "spec", "dyad" or "fit"
    observer_state: str
    rival_state: str
    start: int
    end: int
    omega: float | dict[str, float]
    delta: float | dict[str, float]
    prior: dict[str, float] | str
    observer: str
    params: str
    horizon: int
    seed: int | None
    losses: dict[str, float]
    spec_path: str
    version: str = __version__

    @property
    def years(self) -> str:
        """``"1898-1913"``."""
        return f"{self.start}-{self.end}"

    def world(self) -> str:
        """``"ω 0.70, δ 0.25"`` (by-period values are named as such)."""

        def fmt(v: float | dict[str, float]) -> str:
            return f"{v:.2f}" if isinstance(v, float) else "by period"

        return f"ω {fmt(self.omega)}, δ {fmt(self.delta)}"

    def title(self, what: str = "") -> str:
        """A figure title: the case or dyad, the years and the world."""
        head = f"{self.name} ({self.observer_state} observes {self.rival_state})"
        tail = f"{self.years}; {self.world()}"
        return f"{head}: {what}\n{tail}" if what else f"{head}\n{tail}"

    def lines(self) -> list[str]:
        """The setting in a few lines, for the top of every command's output."""
        prior = self.prior if isinstance(self.prior, str) else json.dumps(self.prior)
        return [
            f"study: {self.name} ({self.source}; {self.spec_path or 'no spec file'})",
            f"dyad: {self.observer_state} observes {self.rival_state}, {self.years}",
            f"world: offense advantage omega = {_fmt_world(self.omega)}, "
            f"distinguishability delta = {_fmt_world(self.delta)}",
            f"observer: {self.observer}; type prior: {prior}; exact-observer parameters: "
            f"{self.params}",
            f"decision: horizon {self.horizon} periods; seed {self.seed}; "
            f"secdilemma {self.version}",
        ]

    def attrs(self) -> dict[str, str]:
        """Flat ``study_*`` attrs for a result (NetCDF-safe strings)."""
        d = asdict(self)
        out = {f"study_{k}": _attr(v) for k, v in d.items() if k != "version"}
        out["study_years"] = self.years
        out["study_setting"] = json.dumps(d, sort_keys=True)
        return out


def _fmt_world(v: float | dict[str, float]) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return ", ".join(f"{k}: {x:g}" for k, x in v.items()) + " (each from that year on)"


def _attr(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float | int) and not isinstance(v, bool):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return json.dumps(v, sort_keys=True)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        near = difflib.get_close_matches(str(value), list(choices), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ParameterError(f"{name} must be one of {list(choices)}; got {value!r}.{hint}")
    return value


def _spec_of(target: ModelSpec | str | os.PathLike[str]) -> tuple[ModelSpec, str]:
    """A spec and what it came from ("case" or "spec")."""
    if isinstance(target, ModelSpec):
        return target, "spec"
    text = os.fspath(target)
    path = Path(text)
    if path.suffix == ".toml" or path.is_file() or os.sep in text:
        return load_spec(path), "spec"
    cases = list_cases()
    if text not in cases:
        near = difflib.get_close_matches(text, cases, n=3)
        hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
        raise SpecError(
            f"{text!r} is neither a bundled case ({', '.join(cases)}) nor a model spec file "
            f"(a .toml path, e.g. models/{cases[0]}.toml).{hint}"
        )
    return load_spec(text), "case"


def _overrides(
    *,
    start: int | None,
    end: int | None,
    omega: Any,
    delta: Any,
    prior: Mapping[str, float] | str | None,
    observer: str | None,
    losses: Mapping[str, float] | None,
    horizon: int | None,
    seed: int | None,
    variable: str | None,
    case_observer: str | None,
    persistence: float | None,
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Call arguments as spec changes: ``{argument: (section, {key: value})}``."""
    given: dict[str, tuple[str, dict[str, Any]]] = {}
    for arg, section, key, value in (
        ("start", "data", "start", start),
        ("end", "data", "end", end),
        ("variable", "data", "variable", variable),
        ("case_observer", "data", "case_observer", case_observer),
        ("omega", "world", "omega", omega),
        ("delta", "world", "delta", delta),
        ("prior", "observer", "prior", prior),
        ("observer", "observer", "kind", observer),
        ("horizon", "decision", "horizon", horizon),
        ("seed", "sampler", "seed", seed),
        (
            "persistence",
            "types",
            "switching",
            None if persistence is None else {"persistence": persistence},
        ),
    ):
        if value is not None:
            if isinstance(value, Mapping):
                value = {str(k): v for k, v in value.items()}
            given[arg] = (section, {key: value})
    if losses is not None:
        given["losses"] = ("decision", {"losses": dict(losses)})
    return given


def _apply(spec: ModelSpec, given: dict[str, tuple[str, dict[str, Any]]]) -> ModelSpec:
    """Apply each override in turn, so that an error names the argument that caused it."""
    for arg, (section, change) in given.items():
        if section == "decision" and "losses" in change:
            change = {"losses": {**dict(spec.decision.losses), **change["losses"]}}
        try:
            spec = spec.replace(**{section: change})
        except SpecError as exc:
            raise ParameterError(f"argument {arg!r}: {exc}") from None
    return spec


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
        Observer kind (default: the spec's, else ``"aware"``); see
        :data:`secdilemma.observers.OBSERVER_KINDS`.
    params
        The exact observer's parameters: ``"reference"`` (default), ``"estimate"`` or
        ``"default"`` (:data:`PARAM_SOURCES`).
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
        base, source = _spec_of(target)
        if observer is not None:
            _check_choice("observer", observer, tuple(OBSERVER_KINDS))
        given = _overrides(
            start=start, end=end, omega=omega, delta=delta, prior=prior, observer=observer,
            losses=losses, horizon=horizon, seed=seed, variable=variable,
            case_observer=case_observer, persistence=persistence,
        )  # fmt: skip
        self.spec: ModelSpec = _apply(base, given)
        self.params: str = _check_choice("params", params, PARAM_SOURCES)
        self.source: str = source
        self.overridden: tuple[str, ...] = tuple(given)
        self.model_: PerceptionModel | None = None
        self._data: tuple[xr.Dataset, xr.Dataset] | None = None
        self.setting: Setting = self._resolve()

    # ------------------------------------------------------------------ constructors
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
        **overrides: Any,
    ) -> Study:
        """A study of any pair of states, built from the raw tables.

        Defaults for what a spec would say: the capability series ``milex`` as log
        changes, the three types greedy/insecure/mixed (static), priors from the pooled
        reference (``use_reference``), a neutral world (omega = delta = 0.5), an aware
        observer with a uniform prior, the default losses and a ten-period horizon, and no
        signal channels (a dyad built from the spending tables carries none).

        Examples
        --------
        >>> s = Study.from_dyad("India", "Pakistan", start=1960, end=2000, params="default")
        >>> s.setting.name, s.setting.years
        ('IND-PAK', '1960-2000')
        """
        _check_choice("source", source, ("nmc", "sipri"))
        spec = ModelSpec.for_dyad(
            observer_state, rival_state, source=source, start=start, end=end, name=name
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
        from secdilemma.engines.pymc import load

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

    def exact_params(self) -> ModelParams:
        """The exact observer's parameters (by :attr:`params`) in this study's world."""
        moves = self.data_and_moves()[1]
        if self.params == "reference":
            base = load_reference_params()
        elif self.params == "estimate":
            base = estimate_params(moves).params
        else:
            base = ModelParams()
        periods = moves["period"].values
        world = {}
        for name in ("omega", "delta"):
            series = np.asarray(self.spec.world.series(name, periods), dtype=float)
            world[name] = float(series[0]) if np.all(series == series[0]) else series
        return base.replace(**world)

    def observer_model(self, kind: str | None = None) -> Any:
        """The exact observer of this study (or of another ``kind`` on the same setting)."""
        k = _check_choice("observer", kind or self.spec.observer.kind, tuple(OBSERVER_KINDS))
        return OBSERVER_KINDS[k](
            self.spec.types.type_space(),
            self.exact_params(),
            prior=self.spec.observer.prior,
            persistence=self.spec.types.persistence,
        )

    def belief(self, engine: Engine = "exact", *, observer: str | None = None) -> xr.Dataset:
        """The posterior over the rival's types, period by period.

        ``engine="exact"``: Bayes' rule with the parameters fixed (:attr:`params`), filtered
        and smoothed. The exact observer reads the buildups only: the reference parameters
        carry no signal coefficients. ``engine="fit"``: the full Bayesian fit's type
        posterior (fits first if needed), integrating over the parameters.
        """
        _check_choice("engine", engine, ENGINES)
        if engine == "fit":
            if observer is not None:
                raise ParameterError(
                    "observer applies to the exact engine; the fit uses the spec's "
                    "observer.kind (Study(..., observer=...))."
                )
            self.fit()
            assert self.model_ is not None
            return self._stamp(self.model_.type_posterior(), study_engine="fit")
        obs = self.observer_model(observer)
        moves = self.data_and_moves()[1]
        post = obs.filter(moves.drop_vars("signals", errors="ignore"), smooth=True)
        return self._stamp(
            post,
            study_engine="exact",
            study_observer=obs.kind,
            study_signals_used="none: the exact observer's parameters carry no signal "
            "coefficients (the fit reads the spec's channels)",
            params_json=json.dumps(
                {k: v for k, v in self.exact_params().to_dict().items() if k != "signals"},
                default=lambda a: np.asarray(a).tolist(),
            ),
        )

    def fit(self, *, refit: bool = False, progressbar: bool = False, **sampler: Any) -> xr.DataTree:
        """The full Bayesian fit (PyMC); kept as :attr:`model_` and returned as a DataTree.

        ``sampler`` takes ``backend``, ``chains``, ``draws``, ``tune`` (default: the spec's);
        the seed is the study's.
        """
        from secdilemma.engines.pymc import PerceptionModel

        if self.model_ is None or refit or sampler:
            model = PerceptionModel(self.spec)
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
        """Deter or reassure? The decision fed by the chosen engine's belief.

        ``exact``: the exact observer's belief at the last period, parameters fixed.
        ``fit``: the fit's posterior draws (at most ``max_draws``), so the decision
        integrates over parameter uncertainty. The attrs name the engine and the belief.
        """
        _check_choice("engine", engine, ENGINES)
        seed = self.spec.sampler.seed
        if engine == "fit":
            if self.model_ is None:
                self.fit()
            assert self.model_ is not None
            belief, params = self.model_.belief_draws(max_draws=max_draws, seed=seed)
            label = f"fitted posterior at {belief.attrs['period']}, {belief.sizes['sample']} draws"
            params = params.replace(**self._last_world())
        else:
            post = self.belief("exact", observer=observer)
            belief = post["filtered"].isel(period=-1)
            params = self.exact_params().replace(**self._last_world())
            label = f"exact observer's belief at {int(post.period.values[-1])}"
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

    def _last_world(self) -> dict[str, float]:
        """omega and delta of the last period: the world the decision looks ahead in."""
        period = self.data_and_moves()[1]["period"].values[-1:]
        return {k: float(self.spec.world.series(k, period)[0]) for k in ("omega", "delta")}

    def variants(self, which: Sequence[str] = VARIANTS) -> dict[str, ModelSpec]:
        """Spec variants for model comparison on the same data, each changing one thing."""
        bad = [w for w in which if w not in VARIANTS]
        if bad:
            raise ParameterError(f"variants: unknown {bad}; choose from {list(VARIANTS)}.")
        spec = self.spec
        base = spec.to_dict()
        out: dict[str, ModelSpec] = {"full": spec}

        def variant(name: str, change: Any) -> None:
            d = json.loads(json.dumps(base))
            change(d)
            d["meta"]["name"] = name
            out[name] = ModelSpec.from_dict(d, source=f"<{spec.name} variant>")

        if "types" in which:
            for n in spec.types.names:

                def one_type(d: dict[str, Any], n: str = n) -> None:
                    d["types"] = {"names": [n]}
                    d.setdefault("observer", {}).pop("prior", None)

                variant(f"{n}_only", one_type)
        if "observer" in which:
            kind = "naive" if spec.observer.kind == "aware" else "aware"
            variant(f"{kind}_observer", lambda d: d.setdefault("observer", {}).update(kind=kind))
        if "switching" in which:
            if spec.types.switching:
                variant("static_types", lambda d: d["types"].update(switching=False))
            else:
                sw = {"persistence": SWITCHING_PERSISTENCE}
                variant("switching_types", lambda d: d.setdefault("types", {}).update(switching=sw))
        return out

    def compare(
        self, variants: Sequence[str] = VARIANTS, **sampler: Any
    ) -> tuple[xr.Dataset, dict[str, PerceptionModel]]:
        """Model comparison by PSIS-LOO over :meth:`variants`; returns the table and fits."""
        from secdilemma.engines.pymc import PerceptionModel, compare_models

        models: dict[str, PerceptionModel] = {}
        for name, spec in self.variants(variants).items():
            model = PerceptionModel(spec)
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
        shaky = [n for n, m in models.items() if not m.diagnostics_["ok"]]
        return self._stamp(ds, not_converged=json.dumps(shaky)), models

    # ------------------------------------------------------------------ the spec
    def to_spec(
        self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False
    ) -> str:
        """The study as a TOML spec (written to ``path`` if given) that loads back to it."""
        text = self.spec.to_toml()
        if path is not None:
            self.spec.save(path, overwrite=overwrite)
        return text
