"""The full Bayesian perception model of one spec: :class:`PerceptionModel`.

A thin estimator in the scikit-learn manner: ``__init__`` stores its arguments, :meth:`fit`
samples and returns the model, and what it learned ends in ``_`` (``idata_``, the result
tree; ``diagnostics_``). The work is done by the modules beside this one: the data
(:mod:`.arrays`), the priors (:mod:`.priors`), the PyMC graph (:mod:`.build`), sampling
(:mod:`.sampling`), the per-draw type posteriors (:mod:`.posterior`), predictive checks
(:mod:`.checks`) and diagnostics (:mod:`.diagnostics`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from secdilemma._version import __version__
from secdilemma.engines.pymc import checks, posterior
from secdilemma.engines.pymc.arrays import FitArrays
from secdilemma.engines.pymc.build import build_model
from secdilemma.engines.pymc.checks import DEFAULT_SEED
from secdilemma.engines.pymc.diagnostics import diagnostics, summary, warn_if_failed
from secdilemma.engines.pymc.problem import FitProblem
from secdilemma.engines.pymc.sampling import SamplerSettings, check_count, check_seed, sample
from secdilemma.errors import NotFittedError, ParameterError
from secdilemma.io import save_dataset
from secdilemma.model import ModelParams
from secdilemma.model.types import TypeSpace
from secdilemma.spec import load_spec
from secdilemma.spec.model_spec import ModelSpec, PriorSpec

__all__ = ["PerceptionModel"]


class PerceptionModel:
    """The full Bayesian perception model of one spec (one or several dyads).

    ``__init__`` only stores its arguments; :meth:`fit` samples and returns the model.
    Learned attributes end in ``_`` (``idata_``, ``diagnostics_``).

    Parameters
    ----------
    spec
        A :class:`~secdilemma.spec.ModelSpec` (or a path to a TOML spec).
    data
        Moves to fit instead of the data the spec names: a Dataset with ``dx`` and ``u`` over
        (``dyad`` or ``scenario``, ``period``), and ``signals`` over (…, ``period``,
        ``signal``) when the spec reads channels (e.g. from :func:`secdilemma.model.simulate`).
    reference
        The reference file that ``use_reference`` reads (default
        ``models/reference_params.toml``; :func:`secdilemma.reference.reference_for` gives
        the pool without a study's own dyad). Recorded in the fit's attrs.

    Raises
    ------
    ParameterError
        ``spec`` is neither a ModelSpec nor a path, or ``data`` is not a Dataset.
    SpecError
        No spec file at that path, or the file is not a valid spec.

    Every method checks its arguments before it builds or compiles anything, and raises
    :class:`~secdilemma.errors.ParameterError` naming a bad one.

    Examples
    --------
    >>> from secdilemma.spec import ModelSpec
    >>> from secdilemma.model.simulate import simulate
    >>> sim = simulate(n_periods=20, n_scenarios=2, true_type="insecure", seed=1)
    >>> pm_model = PerceptionModel(ModelSpec.from_dict({}), data=sim).build_model()
    >>> sorted(pm_model.coords)
    ['dyad', 'period', 'rival_type', 'signal']
    """

    def __init__(
        self,
        spec: ModelSpec | str | os.PathLike[str],
        *,
        data: xr.Dataset | None = None,
        reference: str | os.PathLike[str] | None = None,
    ):
        self.spec = _as_spec(spec)
        self.reference = None if reference is None else Path(reference)
        if data is not None and not isinstance(data, xr.Dataset):
            raise ParameterError(
                f"PerceptionModel: argument 'data' must be an xarray.Dataset of moves (dx, u "
                f"over period) or None for the spec's data; got {type(data).__name__}."
            )
        self.data = data
        self._problem: FitProblem | None = None
        self._model: Any = None
        self.idata_: xr.DataTree | None = None
        self.diagnostics_: dict[str, Any] | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.idata_ is not None else "not fitted"
        return f"PerceptionModel({self.spec.name!r}, {state})"

    # -- data, priors and the PyMC model ------------------------------------------------------
    @property
    def types(self) -> TypeSpace:
        """The rival type space of the spec."""
        ts: TypeSpace = self.spec.types.type_space()
        return ts

    @property
    def problem(self) -> FitProblem:
        """The spec with its data, priors and types resolved (read on first use)."""
        if self._problem is None:
            self._problem = FitProblem.from_spec(self.spec, self.data, reference=self.reference)
        return self._problem

    def arrays(self) -> FitArrays:
        """The prepared data (loaded from the spec on first use)."""
        return self.problem.arrays

    def priors(self) -> dict[str, tuple[PriorSpec, str]]:
        """Resolved priors and their origin (see :func:`~.priors.resolve_priors`)."""
        return dict(self.problem.priors)

    def build_model(self) -> Any:
        """The :class:`pymc.Model` (built once and kept); data live in ``pm.Data`` containers
        (see :func:`~.build.build_model`)."""
        if self._model is None:
            self._model = build_model(self.problem)
        return self._model

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        *,
        sampler: str | None = None,
        chains: int | None = None,
        draws: int | None = None,
        tune: int | None = None,
        seed: int | None = None,
        target_accept: float | None = None,
        cores: int | None = None,
        progressbar: bool = True,
        init: Mapping[str, Any] | None = None,
    ) -> PerceptionModel:
        """Sample the posterior; the result tree is kept as ``idata_``.

        Call arguments override the spec's ``[sampler]`` section, which overrides the
        defaults (backend :data:`~.sampling.DEFAULT_BACKEND`, 4 chains × 1000 draws, 1000
        tuning steps; a fresh random ``seed`` when neither gives one). ``init`` starts the
        chains at given values of named free variables (the sampler's coordinates, e.g.
        ``{"eta_g": [...]}``; the others at the default), for a posterior with a minor mode
        the chains should not fall into (:func:`~.sampling.init_mean`).

        Returns
        -------
        PerceptionModel
            ``self``, fitted. ``idata_`` (an :class:`xarray.DataTree`) has the groups
            ``posterior``, ``sample_stats``, ``log_likelihood`` (``dx``: the one-step
            predictive log density per dyad and period, which sums to each dyad's marginal
            likelihood), ``observed_data``, ``constant_data`` and ``type_probabilities``
            (per-draw posterior over types, Rao-Blackwellised - in the last period for a
            switching type - and its summaries per period: ``filtered_*`` given the data up
            to each period, ``smoothed_*`` given all the data); its attrs: ``spec`` (JSON),
            ``secdilemma_version``, ``seed`` (the one used), ``backend``,
            ``sampling_time_s``, ``priors`` and ``diagnostics``.

        Warns
        -----
        ConvergenceWarning
            When R-hat, ESS or divergences fail the gate :data:`~.diagnostics.GATE`.
        """
        settings = SamplerSettings.resolve(
            self.spec, sampler=sampler, chains=chains, draws=draws, tune=tune, seed=seed,
            target_accept=target_accept, cores=cores,
        )  # fmt: skip
        model = self.build_model()
        idata, elapsed = sample(
            model, self.problem.structure_key(), settings, progressbar=progressbar, init=init
        )
        tree = self._assemble(idata, settings, elapsed)
        self.idata_ = tree
        self.diagnostics_ = diagnostics(tree)
        tree.attrs["diagnostics"] = json.dumps(self.diagnostics_)
        warn_if_failed(self.spec.name, self.diagnostics_, stacklevel=2)
        return self

    def _assemble(
        self, idata: xr.DataTree, settings: SamplerSettings, elapsed: float
    ) -> xr.DataTree:
        """The result tree: the sampler's posterior and statistics, the type probabilities,
        the data and the fit's provenance."""
        problem = self.problem
        a = problem.arrays
        post = idata["posterior"].to_dataset()
        post = post.drop_vars([v for v in map(str, post.data_vars) if v.endswith("_z")])
        # nutpie may name coordinates differently: align to ours
        post = post.assign_coords(
            {d: c for d, c in (("dyad", a.dyads), ("signal", list(a.channels))) if d in post.dims}
        )
        stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata else xr.Dataset()
        tp, loglik = posterior.type_probabilities(problem, post)
        dims = ("dyad", "period")
        coords = {"dyad": a.dyads, "period": a.periods}
        observed = xr.Dataset({"dx": (dims, a.dx)}, coords=coords)
        if a.channels:
            observed["signals"] = ((*dims, "signal"), a.signals)
            observed = observed.assign_coords(signal=list(a.channels))
        const = xr.Dataset(
            {"u": (dims, a.u), "omega": (dims, a.omega), "delta": (dims, a.delta),
             "evidence_mask": (dims, a.mask.astype("int8"))},
            coords=coords,
        )  # fmt: skip
        tree = xr.DataTree.from_dict(
            {"posterior": post, "sample_stats": stats, "log_likelihood": loglik,
             "observed_data": observed, "constant_data": const, "type_probabilities": tp}
        )  # fmt: skip
        priors = {k: {"prior": v[0].to_dict(), "origin": v[1]} for k, v in problem.priors.items()}
        if a.channels:
            priors["signals"] = {"channels": list(a.channels)} | {
                c: p.to_dict() for c, p in problem.signal_priors.items()
            }
        tree.attrs = {
            "spec": json.dumps(self.spec.to_dict()),
            "secdilemma_version": __version__,
            "seed": settings.seed,
            "backend": settings.backend,
            "sampling_time_s": float(elapsed),
            "priors": json.dumps(priors),
            "model_name": self.spec.name,
            "reference": str(problem.reference or "models/reference_params.toml")
            if self.spec.priors.use_reference
            else "",
        }
        return tree

    # -- results ------------------------------------------------------------------------------
    def _fitted(self) -> xr.DataTree:
        if self.idata_ is None:
            raise NotFittedError(
                f"{self!r}: call .fit() first (or secdilemma.load(path) for a saved fit)."
            )
        return self.idata_

    def type_posterior(self) -> xr.Dataset:
        """Posterior type probabilities per dyad: mean and a 90 % interval over draws."""
        return posterior.type_posterior(self._fitted())

    def belief_draws(
        self, *, dyad: Any = None, max_draws: int = 500, seed: int | None = None
    ) -> tuple[xr.DataArray, ModelParams]:
        """Posterior draws to feed :func:`secdilemma.decide`: the belief and the parameters.

        Returns ``(belief, params)``: ``belief`` over (``sample``, ``rival_type``) is each
        draw's posterior over the types at the last period (for a switching type: over the
        type in the last period, filtered), ``params`` a
        :class:`~secdilemma.model.ModelParams` whose reaction coefficients are ``(sample,)``
        arrays of the same draws, with ``omega``/``delta`` of the last period. At most
        ``max_draws`` draws are kept (a sorted random subset drawn with ``seed``, by default
        the fit's seed; the seed used is in ``belief.attrs["seed"]``), so that the decision
        integrates over parameter uncertainty at a bounded cost.

        Examples
        --------
        >>> # belief, params = model.fit().belief_draws()
        >>> # secdilemma.decide(belief, params=params)
        """
        max_draws = check_count(max_draws, "max_draws", owner="belief_draws")
        if seed is not None:
            seed = check_seed(seed, owner="belief_draws")
        tree = self._fitted()
        if seed is None:
            seed = int(tree.attrs.get("seed", DEFAULT_SEED))
        return posterior.belief_draws(self.problem, tree, dyad=dyad, max_draws=max_draws, seed=seed)

    def summary(self) -> dict[str, Any]:
        """Plain-data summary: type probabilities with intervals, parameters, diagnostics and
        prior sensitivity. ``trustworthy`` is false whenever the diagnostics fail the gate."""
        tree = self._fitted()
        return summary(self.spec.name, tree, self.diagnostics_ or diagnostics(tree))

    # -- predictive checks --------------------------------------------------------------------
    def prior_predictive(self, *, draws: int = 500, seed: int | None = None) -> xr.DataTree:
        """Draws of the parameters, the type and the rival's changes from the prior.

        Returns a DataTree with groups ``prior`` (parameters and ``type``),
        ``prior_predictive`` (``dx`` over ``chain, draw, dyad, period``) and
        ``observed_data``. Needs no fit. ``seed`` defaults to the spec's ``[sampler] seed``,
        or :data:`~.checks.DEFAULT_SEED` when it has none; the seed used is in the attrs.
        """
        draws = check_count(draws, "draws", owner="prior_predictive")
        if seed is not None:
            seed = check_seed(seed, owner="prior_predictive")
        model = self.build_model()
        return checks.prior_predictive(self.problem, model, draws=draws, seed=seed)

    def posterior_predictive(self, *, seed: int | None = None) -> xr.DataTree:
        """Replicated rival changes from the posterior (a type drawn per draw from its
        Rao-Blackwellised probabilities; for a switching type a path over periods drawn from
        its exact posterior by forward filtering, backward sampling); added to ``idata_`` as
        ``posterior_predictive``. ``seed`` defaults to the fit's seed + 1; the seed used is
        in the attrs."""
        if seed is not None:
            seed = check_seed(seed, owner="posterior_predictive")
        tree = self._fitted()
        out = checks.posterior_predictive(self.problem, tree, seed=seed)
        tree["posterior_predictive"] = out["posterior_predictive"]
        return out

    # -- storage ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the result tree to NetCDF atomically (refuses to overwrite unless asked);
        :func:`~secdilemma.engines.pymc.load` reads it back."""
        return save_dataset(self._fitted(), path, overwrite=overwrite)


def _as_spec(spec: Any) -> ModelSpec:
    """A spec argument as a :class:`ModelSpec`: itself, or read from a path (or a bundled
    case name)."""
    if isinstance(spec, ModelSpec):
        return spec
    path = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if isinstance(path, str):
        return load_spec(path)
    raise ParameterError(
        "PerceptionModel: argument 'spec' must be a ModelSpec or the path of a TOML spec (or a "
        f"bundled case name such as 'us_ussr'); got {type(spec).__name__}. For a dict use "
        "ModelSpec.from_dict(...)."
    )
