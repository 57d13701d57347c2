"""Throughput of what-if sweeps (run on demand: ``python benchmarks/bench_whatif.py``).

Every ratio is measured in the same run, on the bundled ``russia_nato`` study (reference
parameters, 32 periods, 3 types, 2000 futures per type and action, horizon 10):

1. **Grid through the exact observer and the decision** (dynamic mode): a 4-input grid of
   111,132 cells (omega 21 x delta 21 x prior_greedy 21 x losses_war 12), against a plain
   Python loop over cells calling the same per-cell function (``evaluate`` on one cell),
   timed on a random sample of cells; and, for scale, the public one-at-a-time path
   (``Study(..., omega=...).decide()``).
2. **Static decision** (payoff-table mode): a 4-input grid of 222,264 cells (omega x delta x
   prior_greedy x one payoff entry), same comparison.
3. **Strong scaling on Dask**: a loopback ``LocalCluster`` of 1, then 2 worker processes
   (one thread each) on a grid whose cells all need their own simulated futures; the load
   average and each worker's CPU seconds are printed beside the wall time, because other
   people share the machine's cores.
4. **Dask's per-task overhead** (no-op tasks on the 2-worker cluster) and the sweep's
   per-chunk overhead, for the 1e9-cell estimate in benchmarks/README.md.

``--quick`` shrinks every grid (a smoke run, not the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

import secdilemma as sd
from secdilemma.whatif import sweep
from secdilemma.whatif.cells import Cells
from secdilemma.whatif.evaluate import evaluate
from secdilemma.whatif.execute import connect
from secdilemma.whatif.inputs import prior_vectors
from secdilemma.whatif.sweep import resolve

ROWS = {"deter": [0.0, -1.0, -0.5], "defend": [-0.5, -0.2, -0.6], "reassure": [-2.0, 1.0, -1.5]}


def table_for(study: Any) -> xr.DataArray:
    """A payoff table ``U[action, rival_type]`` over the study's own actions."""
    actions = [a for a in resolve(study, {})[0].actions if a in ROWS]
    return xr.DataArray(
        [ROWS[a] for a in actions],
        dims=("action", "rival_type"),
        coords={"action": actions, "rival_type": ["greedy", "insecure", "mixed"]},
    )


def grid(n: int) -> dict[str, np.ndarray]:
    return {
        "omega": np.round(np.linspace(0.0, 1.0, n), 4),
        "delta": np.round(np.linspace(0.0, 1.0, n), 4),
        "prior_greedy": np.round(np.linspace(0.05, 0.95, n), 4),
    }


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def loop_rate(study: Any, axes: dict[str, np.ndarray], n: int, **kw: Any) -> float:
    """Cells per second of a plain loop calling the per-cell function on random cells."""
    base, _ = resolve(study, {}, **kw)
    rng = np.random.default_rng(0)
    cells = [
        Cells(1, {k: np.asarray(v)[[rng.integers(len(v))]] for k, v in axes.items()})
        for _ in range(n)
    ]
    evaluate(base, cells[0])
    t0 = time.perf_counter()
    for c in cells:
        evaluate(base, c)
    return n / (time.perf_counter() - t0)


def study_rate(n: int) -> float:
    """Cells per second of the public path: a Study per cell, its belief and decision."""
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(n):
        sd.Study("russia_nato", omega=float(rng.uniform()), delta=float(rng.uniform())).decide()
    return n / (time.perf_counter() - t0)


def section_grid(study: Any, quick: bool, repeat: int) -> dict[str, float]:
    axes: dict[str, Any] = {**grid(7 if quick else 21), "losses_war": np.linspace(5, 60, 12)}
    n = int(np.prod([len(v) for v in axes.values()]))
    sweep(study, omega=[0.5], n_sims=100)  # compile and load the kernels once
    one = best_of(lambda: sweep(study, threads=1, **axes), repeat)
    two = best_of(lambda: sweep(study, **axes), repeat)
    loop = loop_rate(study, axes, 10 if quick else 60)
    public = study_rate(3 if quick else 10)
    print(f"\n1. dynamic decision, {n:,} cells (4 inputs), best of {repeat}")
    print(f"   sweep, 1 thread      {one:8.3f} s  {n / one:12,.0f} cells/s")
    print(f"   sweep, {os.cpu_count()} threads     {two:8.3f} s  {n / two:12,.0f} cells/s")
    print(f"   loop over cells      {loop:21,.0f} cells/s   (evaluate on one cell)")
    print(f"   Study(...).decide()  {public:21,.0f} cells/s   (the public one-at-a-time path)")
    print(f"   ratio (1 thread / loop): {n / one / loop:,.0f}x  [target >= 100x]")
    return {"cells": n, "sweep_1t_s": one, "sweep_s": two, "loop_cells_s": loop,
            "study_cells_s": public, "ratio": n / one / loop}  # fmt: skip


def best_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process (``time.process_time``) over
    ``repeat`` runs: on shared cores the CPU time is what the code costs, the wall time
    what the load let it have."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def section_static(study: Any, quick: bool, repeat: int) -> dict[str, float]:
    axes: dict[str, Any] = {
        **grid(7 if quick else 21),
        "payoff_reassure_greedy": np.linspace(-4.0, 0.0, 24),
    }
    n = int(np.prod([len(v) for v in axes.values()]))
    table = table_for(study)
    sweep(study, payoffs=table, threads=1, omega=[0.5])  # load the kernels once
    one, cpu = best_cpu(lambda: sweep(study, payoffs=table, threads=1, **axes), repeat)
    loop = loop_rate(study, axes, 50 if quick else 300, payoffs=table)
    acts = len(table["action"])
    print(f"\n2. static decision (payoff table, {acts} actions), {n:,} cells (4 inputs), best of "
          f"{repeat}")  # fmt: skip
    print(f"   sweep, 1 thread      {one:8.3f} s  {n / one:12,.0f} cells/s  [target >= 1e6]")
    print(f"   CPU time             {cpu:8.3f} s  {n / cpu:12,.0f} cells per CPU second")
    print(f"   loop over cells      {loop:21,.0f} cells/s   ratio {n / one / loop:,.0f}x")
    return {"cells": n, "sweep_1t_s": one, "sweep_cpu_s": cpu, "loop_cells_s": loop,
            "cells_s": n / one, "cells_cpu_s": n / cpu}  # fmt: skip


def section_calibrate(study: Any, quick: bool, repeat: int) -> dict[str, float]:
    """The curated channels' intercepts for the static grid's (h, prior) settings: one
    vectorised calibration against one ``calibrated_intercept`` (scipy's brentq) each."""
    from secdilemma.study.signals import calibrated_intercept
    from secdilemma.whatif.calibrate import calibrated_intercepts

    base, _ = resolve(study, {})
    sp = base.params.signals
    cal = [j for j, c in enumerate(base.calibrated) if c]
    if sp is None or base.signals is None or not cal:
        print("\n   calibration: the study has no calibrated channel")
        return {}
    g = grid(7 if quick else 21)
    h = np.unique(1.0 + g["omega"][:, None] - g["delta"][None, :])
    pg = g["prior_greedy"]
    priors = prior_vectors(base, {"prior_greedy": pg}, pg.size)
    hh, pi = np.repeat(h, pg.size), np.tile(np.arange(pg.size), h.size)
    thr = np.full((hh.size, base.u.size), np.nan)
    thr[:, 1:] = hh[:, None] * np.maximum(base.u[:-1], 0.0)
    thr[:, 1:][:, np.isnan(base.u[:-1])] = np.nan
    j = cal[0]
    args = (base.signals[:, j], float(sp.eta_g[j]), float(sp.eta_f[j]), base.types)

    def vectorised() -> Any:
        return calibrated_intercepts(args[0], thr, *args[1:], priors[pi])

    def loop() -> Any:
        return [calibrated_intercept(args[0], thr[r], *args[1:], priors[pi[r]])
                for r in range(hh.size)]  # fmt: skip

    worst = float(np.max(np.abs(vectorised() - np.asarray(loop()))))
    vec, one = best_of(vectorised, repeat), best_of(loop, repeat)
    print(f"\n   calibration of {hh.size:,} (h, prior) settings (one channel), best of {repeat}")
    print(f"   vectorised           {vec:8.4f} s")
    print(f"   brentq per setting   {one:8.4f} s   ratio {one / vec:,.0f}x; largest difference "
          f"{worst:.1e}")  # fmt: skip
    return {"settings": int(hh.size), "vectorised_s": vec, "loop_s": one, "max_diff": worst}


def _cpu(client: Any) -> float:
    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    return float(sum(client.run(used).values()))


def section_scaling(study: Any, quick: bool, repeat: int) -> dict[str, Any]:
    """1 and 2 workers, both clusters up, timed alternately (best of ``repeat`` each)."""
    n = 6 if quick else 16
    axes = {"omega": np.round(np.linspace(0, 1, n), 4), "kappa": np.linspace(0.0, 0.6, n),
            "gamma": np.linspace(0.0, 0.3, n), "horizon": [5, 10]}  # fmt: skip
    cells = int(np.prod([len(v) for v in axes.values()]))
    out: dict[str, Any] = {"cells": cells, "runs": []}
    print(f"\n3. strong scaling on a loopback LocalCluster, {cells:,} cells, each with its own "
          "futures (omega x kappa x gamma x horizon), chunks of 256 cells, best of "
          f"{repeat}")  # fmt: skip
    with connect(workers=1) as one, connect(workers=2) as two:
        for client in (one, two):
            sweep(study, client=client, omega=[0.5], n_sims=100)  # warm the workers
        for _ in range(repeat):
            for workers, client in ((1, one), (2, two)):
                cpu0, load0 = _cpu(client), os.getloadavg()[0]
                t0 = time.perf_counter()
                sweep(study, client=client, chunks=256, **axes)
                wall = time.perf_counter() - t0
                cpu, load1 = _cpu(client) - cpu0, os.getloadavg()[0]
                out["runs"].append({"workers": workers, "wall": wall, "cpu": cpu,
                                    "load": [load0, load1]})  # fmt: skip
                busy = f"worker CPU {cpu:6.1f} s ({cpu / wall:.2f} cores busy)"
                print(f"   {workers} worker(s)  {wall:8.2f} s  {cells / wall:10,.0f} cells/s  "
                      f"{busy}  load {load0:.2f} -> {load1:.2f}")  # fmt: skip
    for w in (1, 2):
        best = min((r for r in out["runs"] if r["workers"] == w), key=lambda r: r["wall"])
        out[f"wall_{w}"], out[f"cpu_{w}"] = best["wall"], best["cpu"]
    out["speedup"] = out["wall_1"] / out["wall_2"]
    out["cpu_efficiency"] = out["cpu_1"] / out["cpu_2"]
    print(f"   speedup 1 -> 2 workers (best walls): {out['speedup']:.2f}x  [target >= 1.6x]; "
          f"CPU seconds 2 workers / 1 worker: {out['cpu_2'] / out['cpu_1']:.2f} (parallel "
          f"overhead); per worker {cells / out['cpu_1']:,.0f} cells per CPU second")  # fmt: skip
    return out


def section_overhead(study: Any, quick: bool) -> dict[str, float]:
    n = 200 if quick else 2000
    with connect(workers=2) as client:
        client.gather(client.map(abs, range(50)))
        t0 = time.perf_counter()
        client.gather(client.map(abs, range(n), pure=False))
        task = (time.perf_counter() - t0) / n
        sweep(study, client=client, omega=[0.5], n_sims=100)
        t0 = time.perf_counter()
        m = 64
        sweep(study, client=client, chunks=1, n_sims=20, omega=np.linspace(0, 1, m))
        chunk = (time.perf_counter() - t0) / m
    print(
        f"\n4. Dask overhead (2 workers): {1e3 * task:.2f} ms per no-op task; "
        f"{1e3 * chunk:.1f} ms per one-cell sweep chunk (scatter, compute, gather, write)"
    )
    return {"task_s": task, "chunk_s": chunk}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Small grids: a smoke run.")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-dask", action="store_true", help="Skip sections 3 and 4.")
    ap.add_argument(
        "--only",
        choices=("grid", "static", "calibrate"),
        help="Run only this section (grid: 1., static: 2., calibrate: the intercepts' "
        "calibration, vectorised against one root finding per setting); implies --no-dask.",
    )
    ap.add_argument("--json", help="Write the figures to this file.")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()}")  # fmt: skip
    study = sd.Study("russia_nato")
    sections = {"grid": section_grid, "static": section_static, "calibrate": section_calibrate}
    res: dict[str, Any] = {
        name: fn(study, args.quick, args.repeat)
        for name, fn in sections.items()
        if args.only in (None, name)
    }
    if not args.no_dask and args.only is None:
        res["scaling"] = section_scaling(study, args.quick, args.repeat)
        res["overhead"] = section_overhead(study, args.quick)
    res["load_after"] = os.getloadavg()
    print(f"\nload average at the end: {res['load_after']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
