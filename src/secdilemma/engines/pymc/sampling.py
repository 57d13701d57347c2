"""Sampling a fit's PyMC model with nutpie (default) or PyMC's NUTS.

nutpie's compiled models are kept per process by structure (:data:`COMPILED`: a new fit of
the same structure only sends new ``pm.Data`` values) and on disk across processes
(:mod:`._nutpie_cache`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.engines.pymc import _nutpie_cache
from secdilemma.errors import SpecError
from secdilemma.spec.model_spec import ModelSpec

__all__ = [
    "BACKENDS",
    "COMPILED",
    "DEFAULT_BACKEND",
    "SamplerSettings",
    "compile_nutpie",
    "quiet",
    "sample",
]

#: Default NUTS backend, chosen from benchmarks/bench_fit.py (2 shared cores, 4 chains x 1000
#: draws + 1000 tune; nutpie/pymc ratios in one run): a whole fresh process (imports,
#: compilation, fit, assembly) 0.38 on the naval case and 0.32 on 20 simulated dyads x 50
#: periods once nutpie's compiled wrapper is in the on-disk cache (engines.pymc._nutpie_cache;
#: the first process on a machine compiles, 26 s and 38 s); repeat fit in the same process
#: 0.05 and 0.20 (the compiled model is reused with new pm.Data values); ESS per second 22
#: and 9.
DEFAULT_BACKEND = "nutpie"

#: The backends :func:`sample` knows.
BACKENDS = ("pymc", "nutpie")

#: nutpie compiled models by structure (:meth:`~.problem.FitProblem.structure_key`), this
#: process.
COMPILED: dict[str, Any] = {}


@dataclass(frozen=True)
class SamplerSettings:
    """The sampler settings of one fit, every one resolved."""

    backend: str
    chains: int
    draws: int
    tune: int
    seed: int
    target_accept: float
    cores: int

    @classmethod
    def resolve(
        cls,
        spec: ModelSpec,
        *,
        sampler: str | None = None,
        chains: int | None = None,
        draws: int | None = None,
        tune: int | None = None,
        seed: int | None = None,
        target_accept: float | None = None,
        cores: int | None = None,
    ) -> SamplerSettings:
        """Call arguments over the spec's ``[sampler]`` section over the defaults (backend
        :data:`DEFAULT_BACKEND`; a seed drawn from fresh entropy when neither gives one)."""
        ss = spec.sampler
        backend = sampler or ss.backend or DEFAULT_BACKEND
        if backend not in BACKENDS:
            raise SpecError(f"fit: sampler {backend!r} is not one of {list(BACKENDS)}.")
        n_chains = chains or ss.chains
        used_seed = ss.seed if seed is None else seed
        if used_seed is None:
            used_seed = int(np.random.SeedSequence().entropy % (2**31))
        return cls(
            backend=backend,
            chains=n_chains,
            draws=draws or ss.draws,
            tune=ss.tune if tune is None else tune,
            seed=int(used_seed),
            target_accept=target_accept or ss.target_accept,
            cores=cores or ss.cores or min(n_chains, os.cpu_count() or 1),
        )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """PyMC's log at ERROR only, and its warnings about the Potential and FutureWarnings
    silenced, for the duration."""
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


def compile_nutpie(model: Any) -> Any:
    """nutpie's compiled model, with its sampler-facing wrapper cached on disk
    (:mod:`._nutpie_cache`: a fresh process loads it instead of spending about 35 s
    compiling); nutpie's own compilation when that cache is switched off
    (``SECDILEMMA_NUTPIE_CACHE=0``) or fails."""
    import nutpie

    if os.environ.get("SECDILEMMA_NUTPIE_CACHE", "1") != "0":
        try:
            return _nutpie_cache.compile_cached(model)
        except Exception as exc:  # any failure: compile the slow way
            warnings.warn(
                f"secdilemma: the on-disk cache of compiled nutpie models failed ({exc!r}); "
                "compiling without it (slower). Set SECDILEMMA_NUTPIE_CACHE=0 to skip it.",
                RuntimeWarning,
                stacklevel=3,
            )
    return nutpie.compile_pymc_model(model)


def _data_values(model: Any) -> dict[str, Any]:
    """Current values of a model's ``pm.Data`` containers (for nutpie's ``with_data``)."""
    return {v.name: v.get_value() for v in model.data_vars}


def _sample_pymc(model: Any, s: SamplerSettings, progressbar: bool) -> xr.DataTree:
    import pymc as pm

    with quiet():
        idata: xr.DataTree = pm.sample(
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            cores=s.cores,
            random_seed=s.seed,
            nuts_sampler="pymc",
            target_accept=s.target_accept,
            progressbar=progressbar,
            compute_convergence_checks=False,
            model=model,
        )
    return idata


def _sample_nutpie(model: Any, key: str, s: SamplerSettings, progressbar: bool) -> xr.DataTree:
    import nutpie

    compiled = COMPILED.get(key)
    if compiled is None:
        compiled = compile_nutpie(model)
        COMPILED[key] = compiled
    # data the compiled graph does not read (e.g. the threat term of a model with no fearful
    # type) were optimised away; nutpie refuses updates to them
    known = {v.name for v in compiled.shared_var_keys}
    compiled = compiled.with_data(**{k: v for k, v in _data_values(model).items() if k in known})
    idata: xr.DataTree = nutpie.sample(
        compiled,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=s.cores,
        seed=s.seed,
        target_accept=s.target_accept,
        progress_bar=progressbar,
        save_warmup=False,
    )
    return idata


def sample(
    model: Any, structure_key: str, settings: SamplerSettings, *, progressbar: bool = True
) -> tuple[xr.DataTree, float]:
    """Sample ``model`` with ``settings``; returns the sampler's result and the wall time
    (seconds). ``structure_key`` names the compiled nutpie model to reuse."""
    t0 = time.perf_counter()
    if settings.backend == "pymc":
        idata = _sample_pymc(model, settings, progressbar)
    else:
        idata = _sample_nutpie(model, structure_key, settings, progressbar)
    return idata, time.perf_counter() - t0
