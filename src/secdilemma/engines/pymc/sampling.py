"""Sampling a fit's PyMC model with nutpie (default) or PyMC's NUTS.

nutpie's compiled models are kept per process by structure (:data:`COMPILED`: a new fit of
the same structure only sends new ``pm.Data`` values) and on disk across processes
(:mod:`._nutpie_cache`).

Every model function is compiled under :func:`reproducible_compilation` (PyTensor's numba
code without fast-math), so that a seeded fit gives the same draws whatever the state of
the compiled-code caches on disk. The sampler settings and the seeds of the seeded steps
are checked here (:meth:`SamplerSettings.resolve`, :func:`check_count`, :func:`check_seed`)
before anything is compiled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.engines.pymc import _nutpie_cache
from secdilemma.errors import ParameterError
from secdilemma.progress import Reporter, progress
from secdilemma.spec.model_spec import ModelSpec

__all__ = [
    "BACKENDS",
    "COMPILED",
    "DEFAULT_BACKEND",
    "MAX_SEED",
    "SamplerSettings",
    "check_count",
    "check_seed",
    "compile_nutpie",
    "quiet",
    "reproducible_compilation",
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


#: The largest seed a fit, a predictive check or ``belief_draws`` accepts (nutpie takes an
#: unsigned 64-bit seed, numpy any integer >= 0: the signed 64-bit range suits both).
MAX_SEED = 2**63 - 1

#: The bounds of ``target_accept`` (those of the spec's ``[sampler] target_accept``).
TARGET_ACCEPT = (0.5, 0.999)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_count(value: Any, name: str, *, lo: int = 1, owner: str = "fit") -> int:
    """``value`` as an ``int`` >= ``lo``; a :class:`~secdilemma.errors.ParameterError` naming
    ``owner``'s argument ``name`` otherwise (before anything is built or compiled)."""
    if not _is_int(value) or value < lo:
        raise ParameterError(
            f"{owner}: argument {name!r} must be an integer >= {lo}; got {value!r}."
        )
    return int(value)


def check_seed(value: Any, name: str = "seed", *, owner: str = "fit") -> int:
    """``value`` as a seed (an integer from 0 to :data:`MAX_SEED`); a
    :class:`~secdilemma.errors.ParameterError` naming the argument otherwise."""
    if not _is_int(value) or not 0 <= value <= MAX_SEED:
        raise ParameterError(
            f"{owner}: argument {name!r} must be an integer from 0 to 2**63 - 1, or None for "
            f"the default; got {value!r}."
        )
    return int(value)


def _check_backend(value: Any) -> str:
    if not isinstance(value, str) or value not in BACKENDS:
        raise ParameterError(
            f"fit: argument 'sampler' must be one of {list(BACKENDS)}, or None for the spec's "
            f"[sampler] backend; got {value!r}."
        )
    return value


def _check_target_accept(value: Any) -> float:
    lo, hi = TARGET_ACCEPT
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    if not ok or not lo <= float(value) <= hi:
        raise ParameterError(
            f"fit: argument 'target_accept' must be a number from {lo} to {hi}; got {value!r}."
        )
    return float(value)


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
        :data:`DEFAULT_BACKEND`; a seed drawn from fresh entropy when neither gives one).

        Raises
        ------
        ParameterError
            A call argument out of range or of the wrong type (``chains``, ``draws``,
            ``cores`` >= 1, ``tune`` >= 0, ``seed`` from 0 to :data:`MAX_SEED`,
            ``target_accept`` within :data:`TARGET_ACCEPT`, ``sampler`` in
            :data:`BACKENDS`); ``None`` takes the spec's value.
        """
        ss = spec.sampler
        backend = _check_backend(sampler) if sampler is not None else None
        backend = backend or ss.backend or DEFAULT_BACKEND
        n_chains = ss.chains if chains is None else check_count(chains, "chains")
        used_seed = ss.seed if seed is None else check_seed(seed)
        if used_seed is None:
            used_seed = int(np.random.SeedSequence().entropy % (2**31))
        if cores is not None:
            cores = check_count(cores, "cores")
        return cls(
            backend=backend,
            chains=n_chains,
            draws=ss.draws if draws is None else check_count(draws, "draws"),
            tune=ss.tune if tune is None else check_count(tune, "tune", lo=0),
            seed=int(used_seed),
            target_accept=(
                ss.target_accept if target_accept is None else _check_target_accept(target_accept)
            ),
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


@contextlib.contextmanager
def reproducible_compilation() -> Iterator[None]:
    """PyTensor's numba code compiled without fast-math for the duration.

    With fast-math (PyTensor's default: reassociation, contraction into fused multiply-adds,
    approximate functions) the machine code of a model's gradient depends on what this
    process compiled itself and what it loaded from numba's cache on disk, since LLVM
    optimises across the functions it compiles together and not across those it loads.
    Measured on the naval case: the gradient differed in its last bits (2e-14 relative)
    between a process with a cold cache, one with a warm cache and one with part of it, and
    NUTS turned that into different draws from the first one on, so the same seeded fit gave
    different draws on two checkouts (or after another model had filled part of the cache).
    Without fast-math every cache state gives the same bits. The cost, measured: nutpie on 20
    dyads x 50 periods samples about 1.6x as long (1.2 s -> 1.95 s for 2 x 2000 iterations);
    the naval case and PyMC's sampler no measurable change. The setting is part of PyTensor's
    cache keys, so the two kinds of code never mix.
    """
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        yield


def compile_nutpie(model: Any) -> Any:
    """nutpie's compiled model, with its sampler-facing wrapper cached on disk
    (:mod:`._nutpie_cache`: a fresh process loads it instead of spending about 35 s
    compiling); nutpie's own compilation when that cache is switched off
    (``SECDILEMMA_NUTPIE_CACHE=0``), refuses its folder (one that others can write to:
    :class:`~._nutpie_cache.UnsafeCacheError`) or fails; compiled under
    :func:`reproducible_compilation`.

    Warns
    -----
    RuntimeWarning
        When the cache is refused or fails, saying why (nutpie then compiles, slower).
    """
    import nutpie

    with reproducible_compilation():
        if os.environ.get("SECDILEMMA_NUTPIE_CACHE", "1") != "0":
            try:
                return _nutpie_cache.compile_cached(model)
            except _nutpie_cache.UnsafeCacheError as exc:
                warnings.warn(
                    f"secdilemma: {exc} Compiling without the cache (slower).",
                    RuntimeWarning,
                    stacklevel=3,
                )
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


def _sample_pymc(
    model: Any, s: SamplerSettings, progressbar: bool, init: Mapping[str, Any] | None = None
) -> xr.DataTree:
    import pymc as pm

    with quiet():
        idata: xr.DataTree = pm.sample(
            initvals=None if init is None else {k: np.asarray(v) for k, v in init.items()},
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


def init_mean(compiled: Any, init: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """nutpie's ``init_mean``: the unconstrained start, 0 (the default) except for the free
    variables named in ``init`` (their values, flattened); an unknown name or a value of
    the wrong size is a :class:`~secdilemma.errors.ParameterError`."""
    names, slices, _ = compiled.shape_info
    n_dim = int(compiled.n_dim)
    free = {str(n): sl for n, sl in zip(names, slices, strict=True) if int(sl.stop) <= n_dim}
    out = np.zeros(n_dim)
    for name, value in init.items():
        if name not in free:
            raise ParameterError(
                f"fit: argument 'init' names {name!r}, which is not a free variable of the "
                f"model; choose among {sorted(free)}."
            )
        v = np.asarray(value, dtype=float).reshape(-1)
        sl = free[name]
        if v.size != int(sl.stop) - int(sl.start):
            raise ParameterError(
                f"fit: argument 'init' gives {v.size} values for {name!r}, which has "
                f"{int(sl.stop) - int(sl.start)}."
            )
        out[sl] = v
    return out


def _started(compiled: Any, init: Mapping[str, Any]) -> Any:
    """``compiled`` with its chains' starting point overridden at the variables in ``init``.

    nutpie's PyMC models start each chain at PyMC's jittered initial point (their own
    ``initial_point_func``) and ignore ``init_mean``, so the override is applied to that
    function's result: the named coordinates take the given values, the others keep their
    jittered default."""
    start = init_mean(compiled, init)
    names, slices, _ = compiled.shape_info
    mask = np.zeros(start.size, dtype=bool)
    for name, sl in zip(names, slices, strict=True):
        if str(name) in init:
            mask[sl] = True
    default = compiled.initial_point_func

    def initial_point(seed: Any) -> npt.NDArray[np.float64]:
        x = np.array(default(seed), dtype=float)
        x[mask] = start[mask]
        return x

    return dataclasses.replace(compiled, initial_point_func=initial_point)


def _sample_nutpie(
    model: Any,
    key: str,
    s: SamplerSettings,
    progressbar: bool,
    rep: Reporter,
    init: Mapping[str, Any] | None = None,
) -> xr.DataTree:
    import nutpie

    compiled = COMPILED.get(key)
    if compiled is None:
        compiled = compile_nutpie(model)
        COMPILED[key] = compiled
    # data the compiled graph does not read (e.g. the threat term of a model with no fearful
    # type) were optimised away; nutpie refuses updates to them
    known = {v.name for v in compiled.shared_var_keys}
    compiled = compiled.with_data(**{k: v for k, v in _data_values(model).items() if k in known})
    if init:
        compiled = _started(compiled, init)
    idata: xr.DataTree = nutpie.sample(
        compiled,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=s.cores,
        seed=s.seed,
        target_accept=s.target_accept,
        progress_bar=progressbar,
        progress_callback=_draws_to(rep) if rep.enabled else None,
        save_warmup=False,
        init_mean=None if not init else init_mean(compiled, init),
    )
    return idata


def _draws_to(rep: Reporter) -> Any:
    """A nutpie ``progress_callback`` (on nutpie's thread) that reports draws done, all
    chains together, tuning included."""

    def callback(chains: Any) -> None:
        rep.update(sum(c.finished_draws for c in chains), sum(c.total_draws for c in chains))

    return callback


def sample(
    model: Any,
    structure_key: str,
    settings: SamplerSettings,
    *,
    progressbar: bool = True,
    init: Mapping[str, Any] | None = None,
) -> tuple[xr.DataTree, float]:
    """Sample ``model`` with ``settings``; returns the sampler's result and the wall time
    (seconds). ``structure_key`` names the compiled nutpie model to reuse.

    ``progressbar``: the sampler's own bar when stderr is a terminal, otherwise a line on
    stderr every 15 s (:func:`secdilemma.progress.progress`); ``False``: silent.
    ``init``: where the chains start for named free variables, in the sampler's
    coordinates (e.g. ``eta_g``; the others start at the default; nutpie jitters around
    it); see :func:`init_mean`."""
    t0 = time.perf_counter()
    bar = progressbar and sys.stderr.isatty()
    lines = progress("fit", unit="draws", enabled=progressbar and not bar)
    with reproducible_compilation(), lines as rep:  # pm.sample compiles (in workers too)
        if settings.backend == "pymc":
            idata = _sample_pymc(model, settings, bar, init)
        else:
            idata = _sample_nutpie(model, structure_key, settings, bar, rep, init)
    return idata, time.perf_counter() - t0
