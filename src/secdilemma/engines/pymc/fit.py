"""The full Bayesian fit (PyMC): priors on the parameters, the rival's type summed out exactly.

:class:`PerceptionModel` turns a :class:`~secdilemma.spec.ModelSpec` into a PyMC model whose
likelihood is the generative model of :mod:`secdilemma.model` written in PyTensor: the same
reaction function (split slopes on the observer's increases ``u⁺`` and cuts ``u⁻`` with
type-fixed signs), the same noise (Normal or Student-t), the same signal channels, and the
same rule for missing data (a term with a missing input contributes nothing). The discrete
static type is marginalised exactly, per dyad::

    log p(data_d | theta) = logsumexp_k [ log P(type_k) + sum_t log p(data_dt | type_k, theta) ]

Several dyads share the reaction coefficients; the parameters listed in
``priors.hierarchical`` vary by dyad with partial pooling (non-centred). After sampling, the
posterior over types is recovered per draw (Rao-Blackwellised) **in numpy from
:func:`secdilemma.model.loglik_components`**, the very function the exact observer uses, so
the two engines cannot disagree about the model; the tests check that the PyTensor
likelihood matches it.

A switching (Markov) type (``[types] switching = { persistence = p }``) follows the exact
observer's sticky chain (:func:`secdilemma.model.transition_matrix`; ``z_0`` from the prior,
one transition between consecutive periods, also into periods without evidence) and is
summed out by the forward algorithm::

    a_0 = log P(z_0) + l_0,   a_t(k) = logsumexp_i [ a_{t-1}(i) + log A(i, k) ] + l_t(k),
    log p(data_d | theta) = logsumexp_k a_{T-1}(k)

written as a ``pytensor.scan`` over periods (on the naval case and on 5 x 50 simulated
periods it compiled faster than an unrolled loop - nutpie 47 s against 85 s at T = 50 - and
sampled about as fast). The persistence is fixed by the spec and enters as data
(``log_transition``), so a new value reuses a compiled model. After sampling, each draw's
filtered and smoothed posteriors over the types come from the exact observer's own filter
(:func:`~.filtering.forward_backward`): ``type_probability`` is then the posterior
over the type *in the last period*.

Every fit is checked (R-hat, bulk and tail ESS, divergences); a fit that fails the gate warns
with :class:`ConvergenceWarning` and its :meth:`PerceptionModel.summary` says it is not to be
trusted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import DataError, NotFittedError, SpecError
from secdilemma.model import ModelParams, SignalParams, loglik_components, transition_matrix
from secdilemma.model.types import TypeSpace
from secdilemma.spec.model_spec import DEFAULT_PRIORS, DEFAULT_TAU, ModelSpec, PriorSpec, spec_data

__all__ = [
    "DEFAULT_BACKEND",
    "GATE",
    "ConvergenceWarning",
    "PerceptionModel",
    "compare_models",
    "diagnostics",
    "load",
    "plot_fit",
    "resolve_priors",
]

FloatArray = npt.NDArray[np.float64]

#: Default NUTS backend, chosen from benchmarks/bench_fit.py (2 shared cores, 4 chains x 1000
#: draws + 1000 tune; nutpie/pymc ratios in one run): a whole fresh process (imports,
#: compilation, fit, assembly) 0.38 on the naval case and 0.32 on 20 simulated dyads x 50
#: periods once nutpie's compiled wrapper is in the on-disk cache (engines.pymc._nutpie_cache;
#: the first process on a machine compiles, 26 s and 38 s); repeat fit in the same process
#: 0.05 and 0.20 (the compiled model is reused with new pm.Data values); ESS per second 22
#: and 9.
DEFAULT_BACKEND = "nutpie"

#: The diagnostics gate: a fit passes when every R-hat <= 1.01, every bulk and tail ESS >= 400
#: and there are no divergences (Vehtari et al. 2021 thresholds).
GATE: dict[str, float] = {"rhat": 1.01, "ess": 400.0, "divergences": 0.0}

_REACTION = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
_POSITIVE = ("alpha", "beta", "gamma", "kappa", "sigma")
_INTERVAL = (0.05, 0.95)
_LOG_2PI = math.log(2.0 * math.pi)


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics fail the gate: the posterior is not to be trusted."""


# ---------------------------------------------------------------------------------------------
# Data preparation
# ---------------------------------------------------------------------------------------------
def _as_dyads(moves: xr.Dataset, name: str) -> xr.Dataset:
    """Normalise moves to dims ``(dyad, period[, signal])``."""
    missing = [v for v in ("dx", "u") if v not in moves]
    if missing:
        raise DataError(
            f"PerceptionModel: the data lack {missing}; give `dx` (rival change) and `u` "
            "(observer change) over `period` (secdilemma.data.to_moves or simulate)."
        )
    ds = moves
    if "scenario" in ds.dims and "dyad" not in ds.dims:
        ds = ds.rename({"scenario": "dyad"})
    if "dyad" not in ds["dx"].dims:
        ds = ds.expand_dims(dyad=[name])
    extra = set(ds["dx"].dims) - {"dyad", "period"}
    if extra:
        raise DataError(
            f"PerceptionModel: `dx` has dims {ds['dx'].dims}; expected (dyad, period) - "
            f"stack or select {sorted(map(str, extra))} first."
        )
    keep = [v for v in ("dx", "u", "signals") if v in ds]
    out = ds[keep].transpose("dyad", "period", ...)
    if "signals" in out and "actor" in out["signals"].dims:
        out["signals"] = (out["signals"].sel(actor="rival") > 0).astype(float)
    return out


def _lagged(a: FloatArray) -> FloatArray:
    out = np.full_like(a, np.nan)
    out[..., 1:] = a[..., :-1]
    return out


class _Arrays:
    """The data of a fit as arrays: lagged moves, threat multiplier, masks."""

    def __init__(self, data: xr.Dataset, spec: ModelSpec, eta_f_fixed_zero: bool) -> None:
        self.data = data
        self.dyads = [str(v) if not isinstance(v, (int, np.integer)) else int(v)
                      for v in data["dyad"].values]  # fmt: skip
        self.periods = data["period"].values
        self.dx = data["dx"].values.astype(float)
        self.u = data["u"].values.astype(float)
        D, T = self.dx.shape
        self.omega = np.broadcast_to(spec.world.series("omega", self.periods), (D, T)).copy()
        self.delta = np.broadcast_to(spec.world.series("delta", self.periods), (D, T)).copy()
        h = 1.0 + self.omega - self.delta
        self.threat_blind = spec.observer.kind == "naive"
        h_prev = _lagged(h)
        if self.threat_blind:
            h_prev = np.where(np.isnan(h_prev), np.nan, 0.0)
        u_prev = _lagged(self.u)
        self.mask = np.isfinite(self.dx) & np.isfinite(u_prev) & np.isfinite(h_prev)
        self.dx0 = np.where(self.mask, self.dx, 0.0)
        self.up = np.where(self.mask, np.maximum(u_prev, 0.0), 0.0)
        self.dn = np.where(self.mask, np.minimum(u_prev, 0.0), 0.0)
        self.h_prev = np.where(self.mask, h_prev, 0.0)
        self.channels = tuple(spec.signals.channels)
        J = len(self.channels)
        if J:
            if "signals" not in data:
                raise DataError(
                    f"PerceptionModel: the spec reads signal channels {list(self.channels)} "
                    "but the data have no `signals` variable."
                )
            s = (
                data["signals"]
                .sel(signal=list(self.channels))
                .transpose("dyad", "period", "signal")
            )
            self.signals = s.values.astype(float)
        else:
            self.signals = np.zeros((D, T, 0))
        threat = h_prev * np.maximum(u_prev, 0.0)
        smask = np.isfinite(self.signals)
        if not eta_f_fixed_zero:
            smask &= np.isfinite(threat)[..., None]
        self.smask = smask
        self.s0 = np.where(smask, self.signals, 0.0)
        self.threat = np.where(np.isfinite(threat), threat, 0.0)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.dx.shape[0], self.dx.shape[1], len(self.channels))


# ---------------------------------------------------------------------------------------------
# Priors: user > data-derived > reference/default
# ---------------------------------------------------------------------------------------------
def _robust_sd(dx: FloatArray) -> float:
    finite = dx[np.isfinite(dx)]
    if finite.size < 3:
        return 0.1
    mad = 1.4826 * float(np.median(np.abs(finite - np.median(finite))))
    return max(mad, 1e-3)


def resolve_priors(spec: ModelSpec, dx: npt.ArrayLike) -> dict[str, tuple[PriorSpec, str]]:
    """The prior of each parameter and where it came from (``user``, ``data``, ``reference``,
    ``default``), following the precedence user > data-derived > reference > default.

    Examples
    --------
    >>> from secdilemma.spec import ModelSpec
    >>> spec = ModelSpec.from_dict({"priors": {"beta": 0.6}})
    >>> pri = resolve_priors(spec, [0.1, -0.1, 0.2, 0.0])
    >>> pri["beta"][0].to_dict(), pri["beta"][1], pri["alpha"][1], pri["sigma"][1]
    ({'dist': 'fixed', 'value': 0.6}, 'user', 'default', 'data')
    """
    dx_a = np.asarray(dx, dtype=float)
    out: dict[str, tuple[PriorSpec, str]] = {}
    ref: ModelParams | None = None
    ref_post: dict[str, dict[str, float]] | None = None
    if spec.priors.use_reference:
        from secdilemma.spec.reference import load_reference_params, load_reference_posterior

        ref = load_reference_params()
        ref_post = load_reference_posterior()
    sd = _robust_sd(dx_a)
    for name in (*_REACTION, "nu"):
        if name in spec.priors.params:
            out[name] = (spec.priors.params[name], "user")
        elif ref is not None and name in ("alpha", "beta", "gamma", "kappa"):
            # the pooled posterior (median, sd of the log), widened by the spec's allowance
            # for how far a case may differ from the pool; the point estimate with that
            # allowance alone when the reference file has no posterior
            if ref_post is not None:
                med = ref_post[name]["median"]
                log_sd = math.hypot(ref_post[name]["log_sd"], spec.priors.reference_log_sd)
            else:
                med = float(np.asarray(getattr(ref, name)))
                log_sd = spec.priors.reference_log_sd
            args = {"median": max(med, spec.priors.reference_floor), "log_sd": log_sd}
            out[name] = (PriorSpec("lognormal", args), "reference")
        elif ref is not None and name == "nu":
            nu = ref.nu
            pri = PriorSpec("gaussian") if nu is None else PriorSpec("fixed", {"value": nu})
            out[name] = (pri, "reference")
        elif name == "sigma" and np.isfinite(dx_a).sum() >= 3:
            out[name] = (PriorSpec("lognormal", {"median": sd, "log_sd": 1.0}), "data")
        elif name == "mu" and np.isfinite(dx_a).sum() >= 3:
            scale = max(0.1, 2.0 * sd)
            out[name] = (PriorSpec("normal", {"mu": 0.0, "sigma": scale}), "data")
        else:
            d = dict(DEFAULT_PRIORS[name])
            out[name] = (PriorSpec(d.pop("dist"), d), "default")
    return out


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------
_COMPILED: dict[str, Any] = {}  # nutpie compiled models by structure (same process)


class PerceptionModel:
    """The full Bayesian perception model of one spec (one or several dyads).

    ``__init__`` only stores its arguments; :meth:`fit` samples. Learned attributes end in
    ``_`` (``idata_``, ``diagnostics_``).

    Parameters
    ----------
    spec
        A :class:`~secdilemma.spec.ModelSpec` (or a path to a TOML spec).
    data
        Moves to fit instead of the data the spec names: a Dataset with ``dx`` and ``u`` over
        (``dyad`` or ``scenario``, ``period``), and ``signals`` over (…, ``period``,
        ``signal``) when the spec reads channels (e.g. from :func:`secdilemma.model.simulate`).

    Examples
    --------
    >>> from secdilemma.spec import ModelSpec
    >>> from secdilemma.model.simulate import simulate
    >>> sim = simulate(n_periods=20, n_scenarios=2, true_type="insecure", seed=1)
    >>> pm_model = PerceptionModel(ModelSpec.from_dict({}), data=sim).build_model()
    >>> sorted(pm_model.coords)
    ['dyad', 'period', 'rival_type', 'signal']
    """

    def __init__(self, spec: ModelSpec | str | os.PathLike[str], *, data: xr.Dataset | None = None):
        if not isinstance(spec, ModelSpec):
            from secdilemma.spec import load_spec

            spec = load_spec(spec)
        self.spec = spec
        self.data = data
        self._arrays: _Arrays | None = None
        self._model: Any = None
        self.idata_: xr.DataTree | None = None
        self.diagnostics_: dict[str, Any] | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.idata_ is not None else "not fitted"
        return f"PerceptionModel({self.spec.name!r}, {state})"

    # -- data and priors ----------------------------------------------------------------------
    @property
    def types(self) -> TypeSpace:
        """The rival type space of the spec."""
        ts: TypeSpace = self.spec.types.type_space()
        return ts

    def _eta_f_zero(self) -> bool:
        p = self.spec.signals.prior("eta_f")
        return p.is_fixed and p.args["value"] == 0.0

    def arrays(self) -> _Arrays:
        """The prepared data (loaded from the spec on first use)."""
        if self._arrays is None:
            if self.data is not None:
                moves = self.data
            else:
                _, moves = spec_data(self.spec)
            data = _as_dyads(moves, self.spec.data.case or self.spec.name)
            self._arrays = _Arrays(data, self.spec, self._eta_f_zero())
        return self._arrays

    def priors(self) -> dict[str, tuple[PriorSpec, str]]:
        """Resolved priors and their origin (see :func:`resolve_priors`)."""
        return resolve_priors(self.spec, self.arrays().dx)

    def _type_prior(self) -> FloatArray:
        ts = self.types
        p = self.spec.observer.prior
        if p is None:
            return np.full(ts.n_types, 1.0 / ts.n_types)
        return np.array([float(p.get(n, 0.0)) for n in ts.names])

    def _transition(self) -> FloatArray | None:
        """The switching type's transition matrix (the exact observer's), or ``None``."""
        persistence = self.spec.types.persistence
        if persistence is None:
            return None
        return transition_matrix(self.types.n_types, persistence=persistence)

    def _log_transition(self) -> FloatArray:
        trans = self._transition()
        assert trans is not None
        with np.errstate(divide="ignore"):
            return np.log(trans)

    def _hierarchical(self) -> tuple[str, ...]:
        D = self.arrays().shape[0]
        if D < 2:
            return ()
        pri = self.priors()
        return tuple(h for h in self.spec.priors.hierarchical if not pri[h][0].is_fixed)

    def _structure_key(self) -> str:
        pri = self.priors()
        return json.dumps(
            {
                "types": self.types.to_dict(),
                "dists": {k: v[0].dist for k, v in pri.items()},
                "signals": {c: self.spec.signals.prior(c).dist for c in ("eta0", "eta_g", "eta_f")},
                "hier": self._hierarchical(),
                "shape": self.arrays().shape,
                "switching": self.spec.types.switching,
            },
            sort_keys=True,
        )

    # -- the PyMC model -----------------------------------------------------------------------
    def build_model(self) -> Any:
        """The :class:`pymc.Model` (built once and kept); data live in ``pm.Data`` containers.

        For switching types the type is summed out by the forward algorithm, unrolled over
        the periods (see the module docstring); the log transition matrix is a ``pm.Data``
        (``log_transition``), so a new persistence reuses a compiled model.
        """
        if self._model is not None:
            return self._model
        import pymc as pm
        import pytensor.tensor as pt

        a = self.arrays()
        ts = self.types
        J = a.shape[2]
        pri = self.priors()
        hier = self._hierarchical()
        coords = {
            "dyad": a.dyads,
            "period": a.periods.tolist(),
            "rival_type": list(ts.names),
            "signal": list(a.channels),
        }
        with pm.Model(coords=coords) as model:
            dx = pm.Data("dx_obs", a.dx0, dims=("dyad", "period"))
            mask = pm.Data("mask", a.mask.astype(float), dims=("dyad", "period"))
            up = pm.Data("u_up", a.up, dims=("dyad", "period"))
            dn = pm.Data("u_down", a.dn, dims=("dyad", "period"))
            h = pm.Data("h_prev", a.h_prev, dims=("dyad", "period"))
            log_prior = pm.Data(
                "log_type_prior", np.log(np.maximum(self._type_prior(), 1e-300)), dims="rival_type"
            )
            g = pt.as_tensor(ts.greed)
            f = pt.as_tensor(ts.fear)
            theta: dict[str, Any] = {}
            for name in _REACTION:
                theta[name] = _param(pm, pt, name, pri[name][0], name in hier, self.spec)
            nu_prior = pri["nu"][0]

            def per_dyad(v: Any) -> Any:
                return v[:, None, None] if v.ndim == 1 else v

            mu, alpha, beta, gamma, kappa, sigma = (per_dyad(theta[k]) for k in _REACTION)
            slope_up = f * beta * h[:, :, None] - g * (1.0 - f) * kappa
            slope_dn = f * (1.0 - g) * beta - g * gamma
            mean = mu + g * alpha + slope_up * up[:, :, None] + slope_dn * dn[:, :, None]
            z = (dx[:, :, None] - mean) / sigma
            if nu_prior.dist == "gaussian":
                ll = -0.5 * (_LOG_2PI + z * z) - pt.log(sigma)
            else:
                nu = pm.Data("nu_value", float(nu_prior.args["value"]))
                const = (
                    pt.gammaln(0.5 * (nu + 1.0)) - pt.gammaln(0.5 * nu) - 0.5 * pt.log(nu * np.pi)
                )
                ll = const - pt.log(sigma) - 0.5 * (nu + 1.0) * pt.log1p(z * z / nu)
            per_period = ll * mask[:, :, None]  # (dyad, period, type)
            if J:
                s = pm.Data("signals_obs", a.s0, dims=("dyad", "period", "signal"))
                smask = pm.Data(
                    "signal_mask", a.smask.astype(float), dims=("dyad", "period", "signal")
                )
                thr = pm.Data("threat_prev", a.threat, dims=("dyad", "period"))
                eta = {
                    c: _eta(pm, c, self.spec.signals.prior(c), J)
                    for c in ("eta0", "eta_g", "eta_f")
                }
                logit = (
                    eta["eta0"]
                    + eta["eta_g"] * g[:, None]
                    + eta["eta_f"] * f[:, None] * thr[:, :, None, None]
                )  # (dyad, period, type, signal)
                sb = s[:, :, None, :]
                lls = -(sb * pt.softplus(-logit) + (1.0 - sb) * pt.softplus(logit))
                per_period = per_period + pt.sum(lls * smask[:, :, None, :], axis=3)
            if self.spec.types.switching:
                log_trans = pm.Data("log_transition", self._log_transition())
                final = _forward_pytensor(pt, per_period, log_prior, log_trans, a.shape[1])
            else:
                final = pt.sum(per_period, axis=1) + log_prior  # (dyad, type)
            pm.Potential("type_marginal", pt.sum(pt.logsumexp(final, axis=-1)))
        self._model = model
        return model

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        *,
        sampler: str | None = None,
        chains: int | None = None,
        draws: int | None = None,
        tune: int | None = None,
        random_seed: int | None = None,
        target_accept: float | None = None,
        cores: int | None = None,
        progressbar: bool = True,
    ) -> xr.DataTree:
        """Sample the posterior and return the result tree (kept as ``idata_``).

        Call arguments override the spec's ``[sampler]`` section, which overrides the
        defaults (backend :data:`DEFAULT_BACKEND`, 4 chains × 1000 draws, 1000 tuning steps).

        Returns
        -------
        xarray.DataTree
            Groups ``posterior``, ``sample_stats``, ``log_likelihood`` (``dx``: the one-step
            predictive log density per dyad and period, which sums to each dyad's marginal
            likelihood), ``observed_data``, ``constant_data`` and ``type_probabilities``
            (per-draw posterior over types, Rao-Blackwellised - in the last period for a
            switching type - and its summaries per period: ``filtered_*`` given the data up
            to each period, ``smoothed_*`` given all the data). attrs:
            ``spec`` (JSON), ``secdilemma_version``, ``seed``, ``backend``, ``sampling_time_s``
            and the diagnostics.

        Warns
        -----
        ConvergenceWarning
            When R-hat, ESS or divergences fail the gate :data:`GATE`.
        """
        ss = self.spec.sampler
        backend = sampler or ss.backend or DEFAULT_BACKEND
        if backend not in ("pymc", "nutpie"):
            raise SpecError(f"fit: sampler {backend!r} is not one of ['pymc', 'nutpie'].")
        chains = chains or ss.chains
        draws = draws or ss.draws
        tune = ss.tune if tune is None else tune
        seed = ss.seed if random_seed is None else random_seed
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))  # type: ignore[operator]
        target_accept = target_accept or ss.target_accept
        cores = cores or ss.cores or min(chains, os.cpu_count() or 1)
        model = self.build_model()
        t0 = time.perf_counter()
        if backend == "pymc":
            import pymc as pm

            with _quiet():
                idata = pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    cores=cores,
                    random_seed=seed,
                    nuts_sampler="pymc",
                    target_accept=target_accept,
                    progressbar=progressbar,
                    compute_convergence_checks=False,
                    model=model,
                )
        else:
            import nutpie

            key = self._structure_key()
            compiled = _COMPILED.get(key)
            if compiled is None:
                compiled = _compile_nutpie(model)
                _COMPILED[key] = compiled
            # data the compiled graph does not read (e.g. the threat term of a model with no
            # fearful type) were optimised away; nutpie refuses updates to them
            known = {v.name for v in compiled.shared_var_keys}
            compiled = compiled.with_data(
                **{k: v for k, v in _data_values(model).items() if k in known}
            )
            idata = nutpie.sample(
                compiled,
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
                seed=seed,
                target_accept=target_accept,
                progress_bar=progressbar,
                save_warmup=False,
            )
        elapsed = time.perf_counter() - t0
        tree = self._assemble(idata, seed=seed, backend=backend, elapsed=elapsed)
        self.idata_ = tree
        self.diagnostics_ = diagnostics(tree)
        tree.attrs["diagnostics"] = json.dumps(self.diagnostics_)
        if not self.diagnostics_["ok"]:
            warnings.warn(
                f"{self.spec.name}: the sampler's diagnostics fail the gate "
                f"({'; '.join(self.diagnostics_['problems'])}). Do NOT trust this posterior: "
                "run longer chains, raise target_accept, or reparametrise.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return tree

    def _assemble(
        self, idata: xr.DataTree, *, seed: int, backend: str, elapsed: float
    ) -> xr.DataTree:
        a = self.arrays()
        post = idata["posterior"].to_dataset()
        drop = [v for v in map(str, post.data_vars) if v.endswith("_z")]
        post = post.drop_vars(drop)
        # nutpie may name coordinates differently: align to ours
        post = post.assign_coords(
            {d: c for d, c in (("dyad", a.dyads), ("signal", list(a.channels))) if d in post.dims}
        )
        stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata else xr.Dataset()
        tp, loglik = self._type_probabilities(post)
        observed = xr.Dataset(
            {"dx": (("dyad", "period"), a.dx)},
            coords={"dyad": a.dyads, "period": a.periods},
        )
        if a.channels:
            observed["signals"] = (("dyad", "period", "signal"), a.signals)
            observed = observed.assign_coords(signal=list(a.channels))
        const = xr.Dataset(
            {
                "u": (("dyad", "period"), a.u),
                "omega": (("dyad", "period"), a.omega),
                "delta": (("dyad", "period"), a.delta),
                "evidence_mask": (("dyad", "period"), a.mask.astype(np.int8)),
            },
            coords={"dyad": a.dyads, "period": a.periods},
        )
        tree = xr.DataTree.from_dict(
            {
                "posterior": post,
                "sample_stats": stats,
                "log_likelihood": loglik,
                "observed_data": observed,
                "constant_data": const,
                "type_probabilities": tp,
            }
        )
        pri = self.priors()
        tree.attrs = {
            "spec": json.dumps(self.spec.to_dict()),
            "secdilemma_version": __version__,
            "seed": int(seed),
            "backend": backend,
            "sampling_time_s": float(elapsed),
            "priors": json.dumps(
                {k: {"prior": v[0].to_dict(), "origin": v[1]} for k, v in pri.items()}
            ),
            "model_name": self.spec.name,
        }
        return tree

    # -- Rao-Blackwellised type probabilities (numpy, via secdilemma.model) ------------------
    def _draw_params(self, post: xr.Dataset) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """Per-draw, per-dyad parameter values ``(S, D)`` and signal coefficients ``(S, 3, J)``."""
        a = self.arrays()
        D = a.shape[0]
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        S = n_chain * n_draw
        pri = self.priors()
        vals: dict[str, FloatArray] = {}
        for name in _REACTION:
            if f"{name}_dyad" in post:
                v = post[f"{name}_dyad"].transpose("chain", "draw", "dyad").values.reshape(S, D)
            elif name in post:
                v = np.repeat(post[name].values.reshape(S, 1), D, axis=1)
            else:
                v = np.full((S, D), float(pri[name][0].args["value"]))
            vals[name] = v.astype(float)
        etas: FloatArray | None = None
        if a.channels:
            J = len(a.channels)
            etas = np.empty((S, 3, J))
            for i, c in enumerate(("eta0", "eta_g", "eta_f")):
                if c in post:
                    etas[:, i, :] = (
                        post[c].transpose("chain", "draw", "signal").values.reshape(S, J)
                    )
                else:
                    etas[:, i, :] = float(self.spec.signals.prior(c).args["value"])
        return vals, etas

    def _per_type_loglik(
        self, vals: Mapping[str, FloatArray], etas: FloatArray | None, sl: slice
    ) -> FloatArray:
        """``(S, Dc, T, K)`` per-period log-likelihood of dyads ``sl`` under each type."""
        a = self.arrays()
        nu_p = self.priors()["nu"][0]
        nu = None if nu_p.dist == "gaussian" else float(nu_p.args["value"])
        dx = a.dx[sl]
        u = a.u[sl]
        params = ModelParams(
            **{k: v[:, sl] for k, v in vals.items()},  # type: ignore[arg-type]
            nu=nu,
            omega=a.omega[sl],
            delta=a.delta[sl],
        )
        ll_b, _ = loglik_components(dx, u, params, self.types, threat_blind=a.threat_blind)
        if etas is not None:
            # every draw's coefficients in one call: the draws become extra channels (the same
            # data repeated once per draw), so the very function of the exact observer computes
            # them, without a Python loop over 4000 draws
            S, _, J = etas.shape
            sig = np.tile(a.signals[sl], (1, 1, S))  # (Dc, T, S*J), draw-major
            names = tuple(f"{c}@{s}" for s in range(S) for c in a.channels)
            sp = SignalParams(
                names, eta0=etas[:, 0].ravel(), eta_g=etas[:, 1].ravel(), eta_f=etas[:, 2].ravel()
            )
            base = ModelParams(omega=a.omega[sl], delta=a.delta[sl], nu=nu, signals=sp)
            _, lls = loglik_components(
                dx, u, base, self.types, signals=sig, threat_blind=a.threat_blind
            )
            assert lls is not None  # (Dc, T, K, S*J)
            Dc, T, K = lls.shape[:3]
            ll_s = lls.reshape(Dc, T, K, S, J).sum(axis=-1).transpose(3, 0, 1, 2)
            ll_b = ll_b + ll_s
        return ll_b

    def _type_probabilities(self, post: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
        a = self.arrays()
        D, T, _ = a.shape
        K = self.types.n_types
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        S = n_chain * n_draw
        vals, etas = self._draw_params(post)
        log_prior = np.log(np.maximum(self._type_prior(), 1e-300))
        trans = self._transition()
        final = np.empty((S, D, K))
        final_unif = np.empty((S, D, K))
        pointwise = np.empty((S, D, T))
        summ = {
            k: np.empty((D, T, K)) for k in ("f_mean", "f_lo", "f_hi", "s_mean", "s_lo", "s_hi")
        }
        # memory per chunk of dyads: a few (S, Dc, T, K) arrays, (S, Dc, T, K, K) when the type
        # switches and (S, Dc, T, K, J) for J signal channels
        per_dyad = S * T * K * max(K if trans is not None else 1, len(a.channels))
        # numpy releases the GIL in its loops: chunks of dyads run on every core, each within a
        # share of the memory budget (200 dyads x 50 periods x 4000 draws on 2 cores: 26.4 s
        # in one loop, 12.3 s in threads; the results are identical)
        workers = max(1, min(os.cpu_count() or 1, D))
        step = max(1, min(int(2e7 // workers // max(1, per_dyad)), -(-D // workers)))

        def chunk(start: int) -> None:
            sl = slice(start, min(D, start + step))
            ll = self._per_type_loglik(vals, etas, sl)  # (S, Dc, T, K)
            if trans is None:
                filt, smooth, point, unif = _static_posterior(ll, log_prior)
            else:
                filt, smooth, point, unif = _switching_posterior(ll, log_prior, trans)
            pointwise[:, sl] = point
            final[:, sl] = filt[:, :, -1]
            final_unif[:, sl] = unif
            summ["f_mean"][sl] = filt.mean(axis=0)
            summ["f_lo"][sl], summ["f_hi"][sl] = np.quantile(filt, _INTERVAL, axis=0)
            if smooth is None:  # static: the final posterior in every period
                summ["s_mean"][sl] = summ["f_mean"][sl][:, -1:, :]
                q = np.quantile(filt[:, :, -1], _INTERVAL, axis=0)[:, :, None, :]
                summ["s_lo"][sl], summ["s_hi"][sl] = q
            else:
                summ["s_mean"][sl] = smooth.mean(axis=0)
                summ["s_lo"][sl], summ["s_hi"][sl] = np.quantile(smooth, _INTERVAL, axis=0)

        starts = range(0, D, step)
        if workers > 1 and len(starts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(chunk, starts))  # list(): re-raise a worker's exception
        else:
            for start in starts:
                chunk(start)
        coords = {
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            "dyad": a.dyads,
            "period": a.periods,
            "rival_type": list(self.types.names),
        }
        dims4 = ("chain", "draw", "dyad", "rival_type")
        dims_t = ("dyad", "period", "rival_type")
        tp = xr.Dataset(
            {
                "type_probability": (dims4, final.reshape(n_chain, n_draw, D, K)),
                "type_probability_uniform_prior": (
                    dims4,
                    final_unif.reshape(n_chain, n_draw, D, K),
                ),
                "filtered_mean": (dims_t, summ["f_mean"]),
                "filtered_low": (dims_t, summ["f_lo"]),
                "filtered_high": (dims_t, summ["f_hi"]),
                "smoothed_mean": (dims_t, summ["s_mean"]),
                "smoothed_low": (dims_t, summ["s_lo"]),
                "smoothed_high": (dims_t, summ["s_hi"]),
                "prior": (("rival_type",), np.exp(log_prior)),
            },
            coords=coords,
        )
        tp["type_probability"].attrs["long_name"] = (
            "P(rival type in the last period | data, parameters of the draw): Rao-Blackwellised"
        )
        tp["filtered_mean"].attrs["long_name"] = "P(rival type in period t | data up to t)"
        tp["smoothed_mean"].attrs["long_name"] = "P(rival type in period t | all data)"
        tp["filtered_low"].attrs["interval"] = list(_INTERVAL)
        tp["smoothed_low"].attrs["interval"] = list(_INTERVAL)
        tp.attrs["switching"] = int(trans is not None)
        if trans is not None:
            tp.attrs["persistence"] = float(self.spec.types.persistence or 0.0)
        loglik = xr.Dataset(
            {"dx": (("chain", "draw", "dyad", "period"), pointwise.reshape(n_chain, n_draw, D, T))},
            coords={k: coords[k] for k in ("chain", "draw", "dyad", "period")},
        )
        return tp, loglik

    # -- results ------------------------------------------------------------------------------
    def _fitted(self) -> xr.DataTree:
        if self.idata_ is None:
            raise NotFittedError(
                f"{self!r}: call .fit() first (or secdilemma.load(path) for a saved fit)."
            )
        return self.idata_

    def type_posterior(self) -> xr.Dataset:
        """Posterior type probabilities per dyad: mean and a 90 % interval over draws."""
        tp = self._fitted()["type_probabilities"].to_dataset()["type_probability"]
        q = tp.quantile(list(_INTERVAL), dim=("chain", "draw"))
        return xr.Dataset(
            {
                "mean": tp.mean(("chain", "draw")),
                "low": q.sel(quantile=_INTERVAL[0], drop=True),
                "high": q.sel(quantile=_INTERVAL[1], drop=True),
            }
        )

    def belief_draws(
        self, *, dyad: Any = None, max_draws: int = 500, seed: int = 0
    ) -> tuple[xr.DataArray, ModelParams]:
        """Posterior draws to feed :func:`secdilemma.decide`: the belief and the parameters.

        Returns ``(belief, params)``: ``belief`` over (``sample``, ``rival_type``) is each
        draw's posterior over the types at the last period (for a switching type: over the
        type in the last period, filtered), ``params`` a
        :class:`~secdilemma.model.ModelParams` whose reaction coefficients are ``(sample,)``
        arrays of the same draws, with ``omega``/``delta`` of the last period. At most
        ``max_draws`` draws are kept (an evenly spaced, seeded subset), so that the decision
        integrates over parameter uncertainty at a bounded cost.

        Examples
        --------
        >>> # belief, params = model.fit() and then model.belief_draws()
        >>> # secdilemma.decide(belief, params=params)
        """
        tree = self._fitted()
        tp = tree["type_probabilities"].to_dataset()["type_probability"]
        dyads = list(tp["dyad"].values)
        d = dyads[0] if dyad is None else dyad
        if d not in dyads:
            raise DataError(f"belief_draws: dyad {d!r} is not in the fit; choose from {dyads}.")
        if max_draws < 1:
            raise DataError(f"belief_draws: max_draws must be >= 1; got {max_draws}.")
        j = dyads.index(d)
        post = tree["posterior"].to_dataset()
        vals, _ = self._draw_params(post)
        b = tp.sel(dyad=d).transpose("chain", "draw", "rival_type").values
        S = b.shape[0] * b.shape[1]
        b = b.reshape(S, -1)
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(S, size=min(S, max_draws), replace=False))
        a = self.arrays()
        nu_p = self.priors()["nu"][0]
        params = ModelParams(
            **{k: v[keep, j] for k, v in vals.items()},
            nu=None if nu_p.dist == "gaussian" else float(nu_p.args["value"]),
            omega=float(a.omega[j, -1]),
            delta=float(a.delta[j, -1]),
        )
        belief = xr.DataArray(
            b[keep],
            dims=("sample", "rival_type"),
            coords={"rival_type": list(self.types.names)},
            name="belief",
            attrs={"dyad": str(d), "period": int(a.periods[-1])},
        )
        return belief, params

    def summary(self) -> dict[str, Any]:
        """Plain-data summary: type probabilities with intervals, parameters, diagnostics and
        prior sensitivity. ``trustworthy`` is false whenever the diagnostics fail the gate."""
        tree = self._fitted()
        diag = self.diagnostics_ or diagnostics(tree)
        tpost = self.type_posterior()
        tp = tree["type_probabilities"].to_dataset()
        prior = tp["prior"].values
        unif = tp["type_probability_uniform_prior"].mean(("chain", "draw"))
        names = list(self.types.names)
        types_out: dict[str, Any] = {}
        sens: dict[str, Any] = {}
        for d in tpost["dyad"].values:
            m = tpost["mean"].sel(dyad=d).values
            types_out[str(d)] = {
                n: {
                    "mean": float(m[i]),
                    "low": float(tpost["low"].sel(dyad=d).values[i]),
                    "high": float(tpost["high"].sel(dyad=d).values[i]),
                }
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
        post = tree["posterior"].to_dataset()
        params: dict[str, Any] = {}
        pri = json.loads(tree.attrs.get("priors", "{}"))
        for name in _REACTION:
            if name in post:
                v = post[name].values.ravel()
                lo, hi = np.quantile(v, _INTERVAL)
                params[name] = {
                    "mean": float(v.mean()),
                    "sd": float(v.std()),
                    "low": float(lo),
                    "high": float(hi),
                    **pri.get(name, {}),
                }
            else:
                params[name] = {"fixed": True, **pri.get(name, {})}
        ok = bool(diag["ok"])
        return {
            "model": self.spec.name,
            "backend": tree.attrs.get("backend"),
            "seed": tree.attrs.get("seed"),
            "n_dyads": len(tpost["dyad"]),
            "interval": list(_INTERVAL),
            "type_probabilities": types_out,
            "parameters": params,
            "diagnostics": diag,
            "prior_sensitivity": sens,
            "trustworthy": ok,
            "verdict": (
                "diagnostics pass the gate (R-hat <= 1.01, ESS >= 400, no divergences)"
                if ok
                else "NOT TRUSTWORTHY: " + "; ".join(diag["problems"])
            ),
            "note": (
                "Type probabilities are posterior means of the per-draw (Rao-Blackwellised) "
                "posterior over types; intervals are 5-95 % quantiles over draws (parameter "
                "uncertainty). prior_sensitivity compares them with a uniform type prior "
                "(parameter draws held fixed) and gives the KL divergence of the posterior "
                "from the type prior (0 = the data taught nothing; log K = certainty)."
            ),
        }

    # -- predictive checks --------------------------------------------------------------------
    def _simulate_dx(
        self,
        vals: Mapping[str, FloatArray],
        type_idx: npt.NDArray[np.intp],
        rng: np.random.Generator,
    ) -> FloatArray:
        """Rival changes ``(S, D, T)`` given each draw's parameters and type, conditional on the
        observer's observed moves (the rival reacts to the observer's actual previous move)."""
        from secdilemma.model import reaction_mean
        from secdilemma.model.simulate import draw_noise

        a = self.arrays()
        ts = self.types
        # a type per (draw, dyad), or a path per (draw, dyad, period) for a switching type
        g = ts.greed[type_idx] if type_idx.ndim == 3 else ts.greed[type_idx][..., None]
        f = ts.fear[type_idx] if type_idx.ndim == 3 else ts.fear[type_idx][..., None]
        nu_p = self.priors()["nu"][0]
        nu = None if nu_p.dist == "gaussian" else float(nu_p.args["value"])
        u_prev = _lagged(a.u)
        h_prev = 0.0 * a.h_prev if a.threat_blind else _lagged(1.0 + a.omega - a.delta)
        p = ModelParams(**{k: v[..., None] for k, v in vals.items()}, nu=nu)  # type: ignore[arg-type]
        mean = reaction_mean(g, f, u_prev, p, h_prev=h_prev)
        noise = draw_noise(rng, vals["sigma"][..., None], nu, mean.shape)
        out = mean + noise
        out[..., 0] = np.nan
        return np.asarray(out)

    def prior_predictive(self, *, draws: int = 500, random_seed: int | None = None) -> xr.DataTree:
        """Draws of the parameters, the type and the rival's changes from the prior.

        Returns a DataTree with groups ``prior`` (parameters and ``type``),
        ``prior_predictive`` (``dx`` over ``chain, draw, dyad, period``) and
        ``observed_data``. Needs no fit.
        """
        import pymc as pm

        model = self.build_model()
        seed = self.spec.sampler.seed if random_seed is None else random_seed
        with _quiet():
            pp = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
        prior = pp["prior"].to_dataset()
        vals, _ = self._draw_params(prior)
        rng = np.random.default_rng(seed)
        a = self.arrays()
        D = a.shape[0]
        K = self.types.n_types
        z = rng.choice(K, size=(draws, D), p=self._type_prior())
        trans = self._transition()
        if trans is not None:  # a Markov path from the prior's z_0
            T = a.shape[1]
            path = np.empty((draws, D, T), dtype=np.intp)
            path[..., 0] = z
            for t in range(1, T):
                path[..., t] = _draw_categorical(rng, trans[path[..., t - 1]])
            z = path
        dx = self._simulate_dx(vals, z, rng)
        return self._predictive_tree("prior", prior, dx, z)

    def posterior_predictive(self, *, random_seed: int | None = None) -> xr.DataTree:
        """Replicated rival changes from the posterior (a type drawn per draw from its
        Rao-Blackwellised probabilities; for a switching type a path over periods drawn from
        its exact posterior by forward filtering, backward sampling); added to ``idata_`` as
        ``posterior_predictive``."""
        tree = self._fitted()
        post = tree["posterior"].to_dataset()
        vals, _ = self._draw_params(post)
        tp = tree["type_probabilities"].to_dataset()["type_probability"]
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        p = tp.transpose("chain", "draw", "dyad", "rival_type").values.reshape(
            n_chain * n_draw, -1, tp.sizes["rival_type"]
        )
        rng = np.random.default_rng(
            int(tree.attrs.get("seed", 0)) + 1 if random_seed is None else random_seed
        )
        if self._transition() is None:
            z = _draw_categorical(rng, p)
        else:
            z = self._sample_paths(post, rng)
        dx = self._simulate_dx(vals, z, rng)
        out = self._predictive_tree("posterior", post, dx, z, n_chain=n_chain)
        tree["posterior_predictive"] = out["posterior_predictive"]
        return out

    def _sample_paths(self, post: xr.Dataset, rng: np.random.Generator) -> npt.NDArray[np.intp]:
        """Type paths ``(S, D, T)`` of a switching type drawn from their exact posterior given
        each draw's parameters (forward filtering, backward sampling)."""
        from secdilemma.engines.exact.filtering import forward_backward

        a = self.arrays()
        D, T, _ = a.shape
        K = self.types.n_types
        trans = self._transition()
        assert trans is not None
        vals, etas = self._draw_params(post)
        S = next(iter(vals.values())).shape[0]
        log_prior = np.log(np.maximum(self._type_prior(), 1e-300))
        log_prior = log_prior - _logsumexp(log_prior, axis=-1)
        z = np.empty((S, D, T), dtype=np.intp)
        step = max(1, int(2e7 // max(1, S * T * K)))
        for start in range(0, D, step):
            sl = slice(start, min(D, start + step))
            ll = self._per_type_loglik(vals, etas, sl)
            filt = np.exp(forward_backward(ll, log_prior, transition=trans, smooth=False)[0])
            zc = np.empty(ll.shape[:3], dtype=np.intp)
            zc[..., -1] = _draw_categorical(rng, filt[:, :, -1])
            for t in range(T - 2, -1, -1):
                w = filt[:, :, t] * trans[:, zc[..., t + 1]].transpose(1, 2, 0)
                zc[..., t] = _draw_categorical(rng, w / w.sum(axis=-1, keepdims=True))
            z[:, sl] = zc
        return z

    def _predictive_tree(
        self,
        kind: str,
        params: xr.Dataset,
        dx: FloatArray,
        z: npt.NDArray[np.intp],
        *,
        n_chain: int = 1,
    ) -> xr.DataTree:
        a = self.arrays()
        S, D, T = dx.shape
        n_draw = S // n_chain
        coords = {
            "chain": np.arange(n_chain),
            "draw": np.arange(n_draw),
            "dyad": a.dyads,
            "period": a.periods,
        }
        pred = xr.Dataset(
            {
                "dx": (("chain", "draw", "dyad", "period"), dx.reshape(n_chain, n_draw, D, T)),
                "type": (
                    ("chain", "draw", "dyad", "period")[: z.ndim + 1],
                    np.asarray(self.types.names)[z]
                    .reshape(n_chain, n_draw, *z.shape[1:])
                    .astype(str),
                ),
            },
            coords=coords,
        )
        obs = xr.Dataset(
            {"dx": (("dyad", "period"), a.dx)}, coords={"dyad": a.dyads, "period": a.periods}
        )
        return xr.DataTree.from_dict(
            {kind: params, f"{kind}_predictive": pred, "observed_data": obs}
        )

    # -- storage ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the result tree to NetCDF atomically (refuses to overwrite unless asked)."""
        from secdilemma.io import save_dataset

        return save_dataset(self._fitted(), path, overwrite=overwrite)


def _param(pm: Any, pt: Any, name: str, prior: PriorSpec, hier: bool, spec: ModelSpec) -> Any:
    """A reaction parameter: an RV with its prior (pm.Data hyperparameters), or a constant."""
    args = prior.args
    if prior.is_fixed:
        return pm.Data(f"{name}_value", float(args["value"]))
    hp = {k: pm.Data(f"{name}__{k}", float(v)) for k, v in args.items()}
    if prior.dist == "normal":
        rv = pm.Normal(name, mu=hp["mu"], sigma=hp["sigma"])
    elif prior.dist == "lognormal":
        rv = pm.LogNormal(name, mu=pt.log(hp["median"]), sigma=hp["log_sd"])
    elif prior.dist == "halfnormal":
        rv = pm.HalfNormal(name, sigma=hp["sigma"])
    elif prior.dist == "gamma":
        rv = pm.Gamma(name, alpha=hp["alpha"], beta=hp["beta"])
    else:  # pragma: no cover - the spec validates dists
        raise SpecError(f"priors.{name}: unsupported dist {prior.dist!r}.")
    if not hier:
        return rv
    tau_scale = spec.priors.tau.get(name, DEFAULT_TAU[name])
    # a pm.Data like every other hyperparameter: a constant here would be baked into the
    # compiled nutpie model, which is cached by structure and reused with new data only
    tau = pm.HalfNormal(f"{name}_tau", sigma=pm.Data(f"{name}_tau__sigma", float(tau_scale)))
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims="dyad")
    if name in _POSITIVE:
        return pm.Deterministic(f"{name}_dyad", rv * pt.exp(tau * z), dims="dyad")
    return pm.Deterministic(f"{name}_dyad", rv + tau * z, dims="dyad")


def _compile_nutpie(model: Any) -> Any:
    """nutpie's compiled model, with its sampler-facing wrapper cached on disk
    (:mod:`._nutpie_cache`: a fresh process loads it instead of spending about 35 s
    compiling); nutpie's own compilation when that cache is switched off
    (``SECDILEMMA_NUTPIE_CACHE=0``) or fails."""
    import nutpie

    if os.environ.get("SECDILEMMA_NUTPIE_CACHE", "1") != "0":
        from secdilemma.engines.pymc._nutpie_cache import compile_cached

        try:
            return compile_cached(model)
        except Exception as exc:  # any failure: compile the slow way
            warnings.warn(
                f"secdilemma: the on-disk cache of compiled nutpie models failed ({exc!r}); "
                "compiling without it (slower). Set SECDILEMMA_NUTPIE_CACHE=0 to skip it.",
                RuntimeWarning,
                stacklevel=3,
            )
    return nutpie.compile_pymc_model(model)


def _forward_pytensor(pt: Any, per_period: Any, log_prior: Any, log_trans: Any, T: int) -> Any:
    """The forward algorithm in PyTensor: the final unnormalised log message ``(dyad, type)``,
    ``log p(data_1..T, z_T = k)``, of a switching type.

    ``per_period`` is ``(dyad, period, type)``; ``z_0`` is drawn from the prior, and the
    transition applies between every pair of consecutive periods (also into periods without
    evidence, whose log-likelihood is 0), as in :func:`~.filtering.forward_backward`.
    The loop over periods is a ``pytensor.scan`` (it compiled faster than an unrolled loop and
    sampled as fast; see the module docstring). The sum over the previous type is taken in log
    space, so a persistence of exactly 1 (``-inf`` off the diagonal) keeps finite gradients.
    """
    import pytensor

    def step(ll_t: Any, alpha: Any, lt: Any) -> Any:
        return pt.logsumexp(alpha[:, :, None] + lt[None, :, :], axis=1) + ll_t

    alpha0 = log_prior + per_period[:, 0, :]
    if T < 2:
        return alpha0
    seq = per_period[:, 1:, :].dimshuffle(1, 0, 2)  # (period - 1, dyad, type)
    alphas = pytensor.scan(
        step,
        sequences=[seq],
        outputs_info=[alpha0],
        non_sequences=[log_trans],
        strict=True,
        return_updates=False,
    )
    return alphas[-1]


def _eta(pm: Any, name: str, prior: PriorSpec, J: int) -> Any:
    if prior.is_fixed:
        return pm.Data(f"{name}_value", np.full(J, float(prior.args["value"])), dims="signal")
    return pm.Normal(
        name,
        mu=pm.Data(f"{name}__mu", float(prior.args["mu"])),
        sigma=pm.Data(f"{name}__sigma", float(prior.args["sigma"])),
        dims="signal",
    )


def _data_values(model: Any) -> dict[str, Any]:
    """Current values of a model's ``pm.Data`` containers (for nutpie's ``with_data``)."""
    return {v.name: v.get_value() for v in model.data_vars}


def _static_posterior(
    ll: FloatArray, log_prior: FloatArray
) -> tuple[FloatArray, None, FloatArray, FloatArray]:
    """Static type from ``(S, Dc, T, K)`` log-likelihoods: the filtered posterior per period,
    no smoother (the final filtered posterior holds in every period), the one-step predictive
    log densities ``(S, Dc, T)`` and the final posterior under a uniform prior."""
    cum = log_prior + np.cumsum(ll, axis=2)
    lse = _logsumexp(cum, axis=-1)  # (S, Dc, T)
    filt = np.exp(cum - lse[..., None])
    prev = np.concatenate(
        [np.broadcast_to(_logsumexp(log_prior, axis=-1), lse[:, :, :1].shape), lse[:, :, :-1]],
        axis=2,
    )
    tot = ll.sum(axis=2)
    unif = np.exp(tot - _logsumexp(tot, axis=-1)[..., None])
    return filt, None, lse - prev, unif


def _switching_posterior(
    ll: FloatArray, log_prior: FloatArray, trans: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Switching type from ``(S, Dc, T, K)`` log-likelihoods, by the exact observer's filter
    and smoother (:func:`~.filtering.forward_backward`): the filtered and smoothed
    posteriors per period, the one-step predictive log densities ``(S, Dc, T)`` (which sum to
    the filter's log evidence) and the final filtered posterior under a uniform prior."""
    from secdilemma.engines.exact.filtering import forward_backward

    K = ll.shape[-1]
    lp = log_prior - _logsumexp(log_prior, axis=-1)
    res = forward_backward(ll, lp, transition=trans, smooth=True)
    assert res.log_smoothed is not None
    log_filt = res.log_filtered
    with np.errstate(divide="ignore"):
        log_trans = np.log(trans)
    # log P(z_t = k | data up to t-1): the prior at t = 0, the filter moved one step after
    log_pred = np.empty_like(ll)
    log_pred[:, :, 0, :] = lp
    log_pred[:, :, 1:, :] = _logsumexp(
        log_filt[:, :, :-1, :, None] + log_trans[None, None, None, :, :], axis=3
    )
    point = _logsumexp(log_pred + ll, axis=-1)
    unif = forward_backward(ll, np.full(K, -np.log(K)), transition=trans, smooth=False)
    return (
        np.exp(log_filt),
        np.exp(res.log_smoothed),
        point,
        np.exp(unif.log_filtered[:, :, -1, :]),
    )


def _draw_categorical(rng: np.random.Generator, p: FloatArray) -> npt.NDArray[np.intp]:
    """One category per row of probabilities ``p`` (..., K)."""
    cum = np.cumsum(p, axis=-1)
    out = (rng.random(p.shape[:-1])[..., None] > cum).sum(axis=-1)
    return np.asarray(np.minimum(out, p.shape[-1] - 1), dtype=np.intp)


def _logsumexp(a: FloatArray, axis: int) -> FloatArray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.asarray(np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import logging

    log = logging.getLogger("pymc")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential.*")
            warnings.filterwarnings("ignore", category=FutureWarning)
            yield
    finally:
        log.setLevel(level)


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------
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
    return {
        "max_rhat": rhat,
        "min_ess_bulk": ess_b,
        "min_ess_tail": ess_t,
        "divergences": div,
        "gate": dict(GATE),
        "problems": problems,
        "ok": not problems,
    }


def _extreme(ds: Any, fn: Any) -> float | None:
    if isinstance(ds, xr.DataTree):
        ds = ds["posterior"].to_dataset() if "posterior" in ds.children else ds.to_dataset()
    vals = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars]
    flat = np.concatenate(vals) if vals else np.array([])
    flat = flat[np.isfinite(flat)]
    return float(fn(flat)) if flat.size else None


# ---------------------------------------------------------------------------------------------
# Loading, comparing, plotting
# ---------------------------------------------------------------------------------------------
def load(path: str | os.PathLike[str]) -> PerceptionModel:
    """Rebuild a fitted :class:`PerceptionModel` from a file written by ``save``.

    Raises
    ------
    DataError
        Missing or unreadable file, or not a secdilemma fit.
    SpecError
        The file was written by another secdilemma version (refit, or install that version).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such fit file; check the path.")
    try:
        with xr.open_datatree(p, engine="h5netcdf") as dt:
            tree = dt.load().copy()
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: not a readable NetCDF fit ({exc}).") from None
    attrs = dict(tree.attrs)
    if "spec" not in attrs or "type_probabilities" not in tree.children:
        raise DataError(f"{p}: not a secdilemma fit (no stored spec or type_probabilities).")
    version = str(attrs.get("secdilemma_version", "unknown"))
    if version != __version__:
        raise SpecError(
            f"{p}: written by secdilemma {version}, this is {__version__}; the model may differ. "
            f"Refit with this version, or install secdilemma=={version} to read it."
        )
    spec = ModelSpec.from_dict(json.loads(attrs["spec"]), source=f"<{p.name}>")
    obs = tree["observed_data"].to_dataset()
    const = tree["constant_data"].to_dataset()
    moves = xr.Dataset({"dx": obs["dx"], "u": const["u"]})
    if "signals" in obs:
        moves["signals"] = obs["signals"]
    model = PerceptionModel(spec, data=moves)
    for k in ("seed",):
        if k in attrs:
            tree.attrs[k] = int(attrs[k])
    if "sampling_time_s" in attrs:
        tree.attrs["sampling_time_s"] = float(attrs["sampling_time_s"])
    model.idata_ = tree
    model.diagnostics_ = (
        json.loads(attrs["diagnostics"]) if "diagnostics" in attrs else diagnostics(tree)
    )
    return model


def compare_models(
    models: Mapping[str, PerceptionModel | xr.DataTree] | Sequence[PerceptionModel | xr.DataTree],
    **kwargs: Any,
) -> Any:
    """PSIS-LOO comparison (``arviz_stats.compare``) of fits to the same data.

    Parameters
    ----------
    models
        ``{name: fitted model or result tree}``, or a sequence (named by ``spec.name``).
    **kwargs
        Passed to :func:`arviz_stats.compare` (e.g. ``method="BB-pseudo-BMA"``).

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table, best model first (``elpd``, ``p``, ``elpd_diff``,
        ``weight``, ``se``, ``dse``, ``p_worse``, ``diag_diff``, ``diag_elpd``). In ArviZ 1.x
        ``elpd_diff`` is each model's elpd minus the best one's: 0 for the best, negative for
        the others.
    """
    import arviz_stats as azs

    items: dict[str, xr.DataTree] = {}
    if isinstance(models, Mapping):
        pairs = list(models.items())
    else:
        pairs = []
        for m in models:
            nm = m.spec.name if isinstance(m, PerceptionModel) else str(m.attrs.get("model_name"))
            pairs.append((nm, m))
    for name, m in pairs:
        tree = m._fitted() if isinstance(m, PerceptionModel) else m
        if name in items:
            raise SpecError(f"compare_models: two models are named {name!r}; name them apart.")
        items[name] = tree
    if len(items) < 2:
        raise SpecError("compare_models: give at least two fitted models.")
    shapes = {n: t["log_likelihood"]["dx"].shape[2:] for n, t in items.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"compare_models: the fits are on different data (shapes {shapes}).")
    # periods without evidence (the first period, gaps) carry a log density of exactly 0 in
    # every draw: they are the same in every model and PSIS cannot smooth a constant, so the
    # comparison uses the (dyad, period) points that carry evidence in at least one model.
    stacked = {
        n: t["log_likelihood"]["dx"]
        .stack(obs=("dyad", "period"))
        .drop_vars(["obs", "dyad", "period"])
        for n, t in items.items()
    }
    keep = np.zeros(next(iter(stacked.values())).sizes["obs"], dtype=bool)
    for ll in stacked.values():
        keep |= (ll.std(("chain", "draw")) > 0).values
    trees = {
        n: xr.DataTree.from_dict(
            {
                "posterior": items[n]["posterior"].to_dataset(),
                "log_likelihood": xr.Dataset({"dx": ll.isel(obs=np.flatnonzero(keep))}),
            }
        )
        for n, ll in stacked.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return azs.compare(trees, **kwargs)


def plot_fit(
    model: PerceptionModel,
    *,
    dyad: Any = None,
    events: Mapping[int, str] | xr.Dataset | None = None,
    var_names: Sequence[str] = ("alpha", "beta", "gamma", "kappa", "sigma"),
) -> Any:
    """Figure of a fit: the posterior type probabilities over time (90 % bands, events marked),
    at the end (with intervals), and trace plots of the main parameters per chain.

    ``events`` is ``{period: label}`` or a case Dataset (its ``event_year``/``event_label``);
    by default the spec's case events are used when the spec names a case.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in (
        "agg",
        "pdf",
        "svg",
        "cairo",
    ) and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tree = model._fitted()
    tp = tree["type_probabilities"].to_dataset()
    dyads = tp["dyad"].values
    d = dyads[0] if dyad is None else dyad
    names = list(tp["rival_type"].values)
    post = tree["posterior"].to_dataset()
    shown = [v for v in var_names if v in post]
    fig = plt.figure(figsize=(11, 7), constrained_layout=True)
    gs = fig.add_gridspec(2, max(2, len(shown)))
    ax_t = fig.add_subplot(gs[0, :-1])
    ax_b = fig.add_subplot(gs[0, -1])
    periods = tp["period"].values
    for n in names:
        m = tp["filtered_mean"].sel(dyad=d, rival_type=n).values
        lo = tp["filtered_low"].sel(dyad=d, rival_type=n).values
        hi = tp["filtered_high"].sel(dyad=d, rival_type=n).values
        (line,) = ax_t.plot(periods, m, label=n)
        ax_t.fill_between(periods, lo, hi, alpha=0.2, color=line.get_color())
    ev = _events(model, events)
    key = []
    for i, (yr, label) in enumerate(sorted(ev.items()), start=1):
        ax_t.axvline(yr, color="0.6", lw=0.7, ls=":")
        ax_t.annotate(
            str(i),
            xy=(yr, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2 + 9 * ((i - 1) % 2)),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=6,
            annotation_clip=False,
        )
        key.append(f"{i}. {yr} {label if len(label) <= 70 else label[:69] + '…'}")
    if key:
        half = (len(key) + 1) // 2
        right = key[half:] + [""] * (2 * half - len(key))
        rows = [f"{a:<80s}{b}" for a, b in zip(key[:half], right, strict=True)]
        fig.supxlabel("\n".join(rows), fontsize=6, x=0.01, ha="left", family="monospace")
    ax_t.set_ylim(0, 1)
    ax_t.set_ylabel("P(type | data up to t)")
    ax_t.set_xlabel("period")
    ax_t.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), ncols=len(names), fontsize=8,
                frameon=False)  # fmt: skip
    tpost = model.type_posterior()
    mean = tpost["mean"].sel(dyad=d).values
    err = np.vstack(
        [mean - tpost["low"].sel(dyad=d).values, tpost["high"].sel(dyad=d).values - mean]
    )
    ax_b.bar(names, mean, yerr=err, capsize=4, color="0.6")
    ax_b.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax_b.set_ylim(0, 1)
    ax_b.set_title("at the end (90 % interval)", fontsize=9)
    diag = model.diagnostics_ or diagnostics(tree)
    status = "diagnostics OK" if diag["ok"] else "NOT CONVERGED: " + "; ".join(diag["problems"])
    fig.suptitle(
        f"{model.spec.name} - {d} - {status}", fontsize=10, color="k" if diag["ok"] else "red"
    )
    for i, v in enumerate(shown):
        ax = fig.add_subplot(gs[1, i])
        vals = post[v]
        if "dyad" in vals.dims:
            vals = vals.isel(dyad=0)
        for c in vals["chain"].values:
            ax.plot(vals.sel(chain=c).values, lw=0.4)
        ax.set_title(v, fontsize=9)
    return fig


def _events(
    model: PerceptionModel, events: Mapping[int, str] | xr.Dataset | None
) -> dict[int, str]:
    if isinstance(events, Mapping):
        return {int(str(k)): str(v) for k, v in events.items()}
    ds = events
    if ds is None and model.spec.data.case is not None:  # also for a reloaded fit
        try:
            ds, _ = spec_data(model.spec)
        except (SpecError, DataError):
            return {}
    if ds is None or "event_year" not in ds:
        return {}
    periods = model.arrays().periods
    lo, hi = float(np.min(periods)), float(np.max(periods))
    out: dict[int, str] = {}
    for yr, lab in zip(ds["event_year"].values, ds["event_label"].values, strict=True):
        if np.isfinite(yr) and lo <= float(yr) <= hi:
            out.setdefault(int(yr), str(lab))
    return out
