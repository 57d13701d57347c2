"""``sweep``: a study's answer over a grid of inputs, as one labelled Dataset.

>>> import secdilemma as sd
>>> from secdilemma.whatif import sweep
>>> ds = sweep(sd.Study("us_ussr", params="default"), omega=[0.3, 0.7], n_sims=200)
>>> ds["p_star"].dims, ds.sizes["action"]
(('omega',), 3)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import ParameterError
from secdilemma.model.simulate import MAX_ARRAY_BYTES
from secdilemma.whatif.cells import Cells
from secdilemma.whatif.evaluate import VARIABLE_DOCS, evaluate_located
from secdilemma.whatif.execute import MemorySink, ZarrSink, connect, run_plan
from secdilemma.whatif.inputs import StudyLike, SweepBase, axis_values, canonical_name
from secdilemma.whatif.plan import DEFAULT_CHUNK_CELLS, Axis, SweepPlan
from secdilemma.whatif.world import WORLD, is_series_axis, world_axis

__all__ = [
    "DEFAULT_N_SIMS",
    "ENGINES",
    "evaluate_columns",
    "evaluate_points",
    "plan_sweep",
    "resolve",
    "run_sweep",
    "sweep",
]

#: Futures per type in each utility table: :meth:`secdilemma.Study.decide`'s default.
DEFAULT_N_SIMS = 2000
#: Futures per type for each policy (:func:`secdilemma.decision.compare_policies`'s default).
DEFAULT_POLICY_SIMS = 1000
#: Where beliefs come from: the exact observer with the study's parameters, or the PyMC fit
#: re-sampled per likelihood setting (:mod:`secdilemma.whatif.refit`).
ENGINES = ("exact", "refit")


def resolve(
    study: StudyLike,
    axes: Mapping[str, Any],
    *,
    n_sims: int | None = None,
    policy_sims: int | None = None,
    payoffs: Any = None,
    seed: int | None = None,
    engine: str = "exact",
) -> tuple[SweepBase, list[Axis]]:
    """The study as a :class:`SweepBase` and the checked axes (typed errors naming inputs)."""
    if engine not in ENGINES:
        raise ParameterError(
            f"whatif: engine {engine!r} is not available; give one of {list(ENGINES)}: 'exact' "
            "(the exact observer with the study's parameters) or 'refit' (the PyMC fit "
            "re-sampled per setting of omega, delta, prior_<type>, persistence)."
        )
    for name, v, default in (("n_sims", n_sims, DEFAULT_N_SIMS),
                             ("policy_sims", policy_sims, DEFAULT_POLICY_SIMS)):  # fmt: skip
        v = default if v is None else v
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ParameterError(f"whatif: `{name}` must be an integer >= 1; got {v!r}.")
    base = SweepBase.from_study(
        study,
        n_sims=int(n_sims or DEFAULT_N_SIMS),
        policy_sims=int(policy_sims or DEFAULT_POLICY_SIMS),
        payoffs=payoffs,
        seed=seed,
    )
    out: list[Axis] = []
    seen: dict[str, str] = {}
    for given, values in axes.items():
        inp = base.input(given)
        if inp.name in seen:
            raise ParameterError(
                f"whatif: {given!r} and {seen[inp.name]!r} are the same input {inp.name!r}."
            )
        seen[inp.name] = given
        if inp.name in WORLD and is_series_axis(values):  # {year: value} step functions
            labels, inp = world_axis(base, inp, values)
            out.append(Axis(inp.name, labels, inp))
            continue
        out.append(Axis(inp.name, axis_values(inp, values), inp))
    priors = [a for a in out if a.name.startswith("prior_")]
    top = sum(float(a.values.max()) for a in priors)
    if len(priors) > 1 and top > 1.0 + 1e-9:
        raise ParameterError(
            f"whatif: the largest values of {[a.name for a in priors]} sum to {top:g} > 1; "
            "swept prior probabilities must leave a sum within 1 in every cell."
        )
    return base, out


def plan_sweep(
    study: StudyLike,
    /,
    *,
    chunks: int | Mapping[str, int] | None = None,
    n_sims: int | None = None,
    policy_sims: int | None = None,
    payoffs: Any = None,
    seed: int | None = None,
    engine: str = "exact",
    variables: Sequence[str] | None = None,
    **axes: Any,
) -> SweepPlan:
    """The checked plan of a sweep (see :func:`sweep` for the arguments); nothing computed."""
    if not axes:
        raise ParameterError("whatif: give at least one input to vary, e.g. omega=[0.3, 0.7].")
    if engine == "refit":
        raise ParameterError(
            "whatif: engine='refit' has no chunk plan (its fits run one after another in this "
            "process); call sweep(study, engine='refit', ...) instead of plan_sweep."
        )
    base, ax = resolve(
        study, axes, n_sims=n_sims, policy_sims=policy_sims, payoffs=payoffs, seed=seed,
        engine=engine,
    )  # fmt: skip
    return SweepPlan.build(base, ax, chunks, variables)


def run_sweep(
    plan: SweepPlan,
    *,
    store: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    scheduler: str | None = None,
    client: Any = None,
    workers: int | None = None,
    security: Any = None,
    timeout: float = 10.0,
    retries: int = 2,
    threads: int | None = None,
    progress: bool | None = None,
    log_every: float = 10.0,
    on_chunk: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Compute a :func:`plan_sweep` plan (see :func:`sweep` for the arguments)."""
    if store is None:
        _check_memory(plan)
        sink: Any = MemorySink(plan)
    else:
        sink = ZarrSink(plan, store, resume=resume, overwrite=overwrite)
    opts: dict[str, Any] = {"retries": retries, "progress": progress, "log_every": log_every,
                            "on_chunk": on_chunk}  # fmt: skip
    if client is not None:
        run_plan(plan, sink, client=client, **opts)
    elif scheduler is not None or workers is not None:
        with connect(scheduler, workers=workers, security=security, timeout=timeout) as cl:
            run_plan(plan, sink, client=cl, **opts)
    else:
        run_plan(plan, sink, threads=threads, **opts)
    if isinstance(sink, ZarrSink):
        return sink.finish(overwrite)
    return sink.dataset()


def sweep(
    study: StudyLike,
    /,
    *,
    chunks: int | Mapping[str, int] | None = None,
    scheduler: str | None = None,
    client: Any = None,
    workers: int | None = None,
    security: Any = None,
    timeout: float = 10.0,
    retries: int = 2,
    store: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    n_sims: int | None = None,
    policy_sims: int | None = None,
    payoffs: Any = None,
    seed: int | None = None,
    engine: str = "exact",
    variables: Sequence[str] | None = None,
    threads: int | None = None,
    progress: bool | None = None,
    log_every: float = 10.0,
    on_chunk: Callable[[int], None] | None = None,
    refit_draws: int | None = None,
    refit_tune: int | None = None,
    refit_chains: int | None = None,
    max_fits: int | None = None,
    **axes: Any,
) -> xr.Dataset:
    """What if? The study's belief and decision over a grid of inputs, one dim per input.

    Parameters
    ----------
    study
        A :class:`~secdilemma.Study`: every input not swept takes its value.
    **axes
        The inputs to vary, each a list, range or array of values (a single value is a
        length-1 dim): ``omega``, ``delta``, ``mu``, ``alpha``, ``beta``, ``gamma``,
        ``kappa``, ``sigma``, ``prior_<type>``, ``persistence``, ``observer``,
        ``temperature``, ``confidence``, ``losses_<field>``, ``horizon``, ``policy``
        (and ``payoff_<action>_<type>`` with ``payoffs``); see
        :mod:`secdilemma.whatif.inputs`. The dims take these names.
    chunks
        Cells per chunk (default 32768, divided among the policies), or ``{input: size}``.
    scheduler, client, workers, security, timeout, retries
        Where the chunks run: in this process with Dask's threaded scheduler (default), on
        the cluster at ``scheduler`` (``tcp://HOST:PORT`` or ``tls://…`` with a
        ``distributed.Security``; :class:`ClusterError` after ``timeout`` seconds without
        an answer), on a ``distributed.Client``, or on a new loopback ``LocalCluster`` of
        ``workers`` processes. A failing chunk is retried ``retries`` times on a cluster.
    store, resume, overwrite
        Write chunks to this Zarr store as they finish and return the store opened lazily
        (the store appears when the sweep is complete). ``resume`` keeps the finished chunks
        of an interrupted sweep with the same definition. Without a store the result is
        built in memory (refused beyond 2 GiB, with the sizes).
    n_sims, policy_sims, seed
        Futures per type in each utility table (default 2000, as :meth:`Study.decide`) and
        per policy (1000); the seed of the common random numbers (default the study's).
    payoffs
        A payoff table ``U[action, rival_type]``: payoff-table (static) mode.
    engine
        ``"exact"`` (default: the exact observer with the study's parameters; fast) or
        ``"refit"``: the study's PyMC fit re-sampled once per distinct setting of ``omega``,
        ``delta``, ``prior_<type>`` and ``persistence`` (the inputs of the likelihood and
        the prior), each cell's decision on that fit's posterior draws (``losses_<field>``
        and ``horizon`` reuse it). The fits share one compiled model (new ``pm.Data``
        values, no recompilation) and run one after another in this process (no Dask);
        attrs ``whatif_n_fits``, ``whatif_compilations``, ``whatif_fits`` (each fit's time,
        max R-hat, min ESS, divergences) and ``whatif_fit_warning`` when a fit fails the
        gate (:mod:`secdilemma.whatif.refit`).
    refit_draws, refit_tune, refit_chains, max_fits
        ``engine="refit"``: the sampler settings of every fit (default: the spec's) and the
        most fits it runs (default 50; more are refused after the first fit, with the time
        they would take).
    variables
        Only these result variables (default all): a smaller result for a large sweep.
    threads
        Threads of the in-process scheduler (default: the machine's cores).
    progress, log_every, on_chunk
        Progress bar (default: on a terminal), seconds between log lines (logger
        ``secdilemma.whatif``), a callable called with each finished chunk's index.

    Returns
    -------
    xarray.Dataset
        dims: the swept inputs, ``action``, ``rival_type`` (and ``policy``); variables
        ``belief``, ``p_greed``, ``expected_utility``, ``best_action`` (index into
        ``action``), ``p_best``, ``evpi``, ``p_star``, ``p_star_effective``,
        ``upper_action``, ``eu_gap``, ``p_war``, ``arms_cost`` (dynamic mode) and
        ``policy_utility``, ``policy_p_war``, ``policy_arms_cost`` (with ``policy``).
        attrs: the study's ``study_*`` setting, ``whatif_definition`` (JSON), ``title``.

    Raises
    ------
    ParameterError
        Unknown inputs (with the nearest names), empty or out-of-domain values, a grid too
        large for memory without ``store``.
    ChunkError
        A chunk failed; the message names the first failing cell's inputs.
    ClusterError
        The scheduler did not answer.

    Examples
    --------
    >>> import secdilemma as sd
    >>> study = sd.Study("us_ussr", params="default")  # actions: deter, defend, reassure
    >>> ds = sweep(study, omega=[0.3, 0.7], delta=[0.2, 0.8], n_sims=200)
    >>> ds["best_action"].dims, ds.attrs["whatif_swept"]
    (('omega', 'delta'), 'omega [0.3, 0.7], delta [0.2, 0.8]')
    >>> ds.action.values[ds["best_action"].values].tolist()  # rows omega, columns delta
    [['defend', 'reassure'], ['defend', 'defend']]

    On a cluster, or into a Zarr store as the chunks finish:

    >>> sweep(study, omega=np.linspace(0, 1, 101), workers=4, store="omega.zarr")  # doctest: +SKIP
    """
    if engine == "refit":
        refused = {"store": store, "scheduler": scheduler, "client": client,
                   "workers": workers}  # fmt: skip
        return _refit(
            study, axes, n_sims=n_sims, payoffs=payoffs, seed=seed, variables=variables,
            refused=refused, settings=(refit_draws, refit_tune, refit_chains, max_fits),
        )  # fmt: skip
    plan = plan_sweep(
        study, chunks=chunks, n_sims=n_sims, policy_sims=policy_sims, payoffs=payoffs,
        seed=seed, engine=engine, variables=variables, **axes,
    )  # fmt: skip
    return run_sweep(
        plan, store=store, resume=resume, overwrite=overwrite, scheduler=scheduler,
        client=client, workers=workers, security=security, timeout=timeout, retries=retries,
        threads=threads, progress=progress, log_every=log_every, on_chunk=on_chunk,
    )  # fmt: skip


def _refit(
    study: StudyLike,
    axes: Mapping[str, Any],
    *,
    n_sims: int | None,
    payoffs: Any,
    seed: int | None,
    variables: Sequence[str] | None,
    refused: Mapping[str, Any],
    settings: tuple[Any, Any, Any, Any],
) -> xr.Dataset:
    """``sweep(..., engine="refit")``: checked, then :func:`~.refit.refit_sweep`."""
    from secdilemma.whatif.refit import (  # here: only a refit sweep needs it
        REFIT_VARIABLES,
        check_refit_axes,
        refit_settings,
        refit_sweep,
    )

    given = [k for k, v in refused.items() if v is not None]
    if given:
        raise ParameterError(
            f"whatif: engine='refit' runs its fits one after another in this process; "
            f"{', '.join(given)} (a Dask cluster or a Zarr store) applies to engine='exact'."
        )
    if not axes:
        raise ParameterError("whatif: give at least one input to vary, e.g. omega=[0.3, 0.7].")
    check_refit_axes(canonical_axes(axes), payoffs=payoffs)
    checked = refit_settings(
        *settings[:3], **({} if settings[3] is None else {"max_fits": settings[3]})
    )
    if isinstance(variables, str):
        variables = [variables]
    wanted = list(REFIT_VARIABLES) if variables is None else list(variables)
    unknown = [v for v in wanted if v not in REFIT_VARIABLES]
    if unknown or not wanted:
        raise ParameterError(
            f"whatif: engine='refit' returns {list(REFIT_VARIABLES)}; `variables` named "
            f"{unknown or wanted}."
        )
    base, ax = resolve(study, axes, n_sims=n_sims, seed=seed)
    ds = refit_sweep(study, base, ax, checked)  # type: ignore[arg-type]
    return ds[wanted]


def _check_memory(plan: SweepPlan) -> None:
    need = plan.n_cells * plan.bytes_per_cell()
    if need > MAX_ARRAY_BYTES:
        shape = " x ".join(f"{a.name} {a.values.size}" for a in plan.axes)
        raise ParameterError(
            f"whatif: the grid {shape} = {plan.n_cells:,} cells needs about "
            f"{need / 1024**3:.1f} GiB of results in memory, more than the "
            f"{MAX_ARRAY_BYTES / 1024**3:.0f} GiB allowed. Give store='sweep.zarr' (chunks "
            "written as they finish, the result opened lazily; --out on the command line), "
            "fewer values, or run it on a cluster (scheduler=... or workers=N) with a store."
        )


def evaluate_points(
    study: StudyLike | SweepBase,
    *,
    n_sims: int | None = None,
    seed: int | None = None,
    payoffs: Any = None,
    **columns: Any,
) -> xr.Dataset:
    """The sweep's variables at arbitrary points (not a grid): dim ``point``.

    Every column has one value per point (all the same length); inputs not given take the
    study's values. One-at-a-time sensitivity and Sobol sampling run on this.

    Examples
    --------
    >>> import secdilemma as sd
    >>> ds = evaluate_points(sd.Study("us_ussr", params="default"), omega=[0.2, 0.8],
    ...                      delta=[0.5, 0.1], n_sims=200)
    >>> ds.sizes["point"]
    2
    """
    if isinstance(study, SweepBase):
        base = study
    else:
        base, _ = resolve(study, {}, n_sims=n_sims, payoffs=payoffs, seed=seed)
    return evaluate_columns(base, columns)


def evaluate_columns(base: SweepBase, columns: Mapping[str, Any]) -> xr.Dataset:
    """:func:`evaluate_points` for a resolved study and a mapping of columns."""
    cols: dict[str, npt.NDArray[Any]] = {}
    for given, values in columns.items():
        inp = base.input(given)
        arr = np.asarray(values)
        flat = arr.ravel()
        checked = axis_values(inp, np.unique(flat)) if flat.size else axis_values(inp, [])
        cols[inp.name] = flat.astype(checked.dtype)
    sizes = {v.size for v in cols.values()}
    if len(sizes) > 1:
        raise ParameterError(f"evaluate_points: columns of different lengths {sorted(sizes)}.")
    n = sizes.pop() if sizes else 1
    parts = []
    for start in range(0, n, DEFAULT_CHUNK_CELLS):
        stop = min(n, start + DEFAULT_CHUNK_CELLS)
        block = Cells(stop - start, {k: v[start:stop] for k, v in cols.items()})
        parts.append(evaluate_located(base, block, None, where=f" at points {start}.."))
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    extra = {"belief": ("rival_type",), "expected_utility": ("action",), "p_best": ("action",),
             "p_war": ("action",), "arms_cost": ("action",)}  # fmt: skip
    ds = xr.Dataset(
        {k: (("point", *extra.get(k, ())), v) for k, v in data.items()},
        coords={
            "point": np.arange(n),
            "action": list(base.actions),
            "rival_type": list(base.types.names),
            **{k: ("point", v) for k, v in cols.items()},
        },
        attrs=base.attrs(),
    )
    for name in ds.data_vars:
        ds[name].attrs["long_name"] = VARIABLE_DOCS.get(str(name), str(name))
    return ds


def canonical_axes(axes: Mapping[str, Any]) -> dict[str, Any]:
    """``{"prior.greedy": …}`` → ``{"prior_greedy": …}``."""
    return {canonical_name(k): v for k, v in axes.items()}


def grid_size(axes: Mapping[str, Any]) -> int:
    """Cells of the grid the axes span (policies not counted)."""
    return math.prod(len(np.atleast_1d(np.asarray(v))) for k, v in axes.items() if k != "policy")
