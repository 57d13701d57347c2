"""Benchmark the PyMC fit: first fit (fresh process) vs repeat fit (same process), ESS/second.

Run on demand (never inside tests)::

    .venv/bin/python benchmarks/bench_fit.py            # both backends, both models
    .venv/bin/python benchmarks/bench_fit.py --quick    # 2 chains x 500 draws

Each configuration runs in fresh Python processes: "process s" is the whole wall time of a
process that imports, builds, compiles, fits once and assembles the result (what a user of
``secdilemma fit`` waits for); "first s" the same from the first import on; "repeat s" a
second fit of the same structure in one process. For nutpie, "cold" is a process whose
on-disk cache of compiled models (``secdilemma.engines.pymc._nutpie_cache``, in a temporary
``SECDILEMMA_CACHE_DIR``) is empty, the plain row one that finds it. PyMC's C code is cached
by PyTensor, warm after the first run on a machine. ESS/s is the minimum bulk ESS over all
posterior variables divided by the sampling wall time. Printed as a table and as ratios
nutpie / pymc.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
from secdilemma.engines.pymc import PerceptionModel, ConvergenceWarning
from secdilemma.spec import load_spec, ModelSpec
from secdilemma.model.simulate import simulate
backend, which, chains, draws = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = sys.argv[5].split(",")
def make():
    if which == "case":
        return PerceptionModel(load_spec("anglo_german_naval"))
    data = simulate(n_periods=50, n_scenarios=int(which.split(":")[1]), seed=1)
    return PerceptionModel(ModelSpec.from_dict({}), data=data)
def per_param(tree):
    # worst R-hat and smallest bulk/tail ESS of each posterior variable (over its elements)
    import numpy as np
    from arviz_stats import ess, rhat
    post = tree["posterior"].to_dataset()
    post = post[[v for v in post.data_vars if post[v].dtype.kind == "f"]]
    r, eb, et = rhat(post), ess(post, method="bulk"), ess(post, method="tail")
    return {str(v): [float(np.max(r[v])), float(np.min(eb[v])), float(np.min(et[v]))]
            for v in post.data_vars}
out = {}
for run in runs:
    t = time.perf_counter()
    m = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tree = m.fit(sampler=backend, chains=chains, draws=draws, tune=draws, seed=1,
                     progressbar=False).idata_
    wall = time.perf_counter() - t + (t - t0 if run == "first" else 0.0)
    d = m.diagnostics_
    out[run] = {"wall_s": wall, "sampling_s": tree.attrs["sampling_time_s"],
                "min_ess_bulk": d["min_ess_bulk"], "divergences": d["divergences"],
                "max_rhat": d["max_rhat"],
                "ess_per_s": d["min_ess_bulk"] / tree.attrs["sampling_time_s"],
                "params": per_param(tree)}
print("RESULT" + json.dumps(out))
"""


def run(backend: str, which: str, chains: int, draws: int, runs: str, env: dict[str, str]) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, backend, which, str(chains), str(draws), runs],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    if not line:
        return {"error": proc.stderr[-2000:]}
    res = json.loads(line[0][6:])
    res["process_wall_s"] = time.perf_counter() - t
    return res


def print_params(results: dict) -> None:
    """Per posterior variable: the worst R-hat and the smallest bulk and tail ESS over its
    elements (the repeat fit where there is one), so that a failed gate names its cause."""
    for (which, backend), r in results.items():
        if "error" in r:
            continue
        fit = r.get("repeat") or r["first"]
        print(f"\n{which} {backend}")
        print(f"  {'variable':14} {'max R-hat':>9} {'ESS bulk':>9} {'ESS tail':>9}")
        for name, (rh, eb, et) in fit["params"].items():
            print(f"  {name:14} {rh:9.4f} {eb:9.0f} {et:9.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dyads", type=int, default=20)
    ap.add_argument("--backends", default="pymc,nutpie")
    ap.add_argument(
        "--models", default="case,pooled", help="case (naval), pooled (simulated dyads) or both"
    )
    args = ap.parse_args()
    models = [m if m == "case" else f"pooled:{args.dyads}" for m in args.models.split(",")]
    chains, draws = (2, 500) if args.quick else (4, 1000)
    results = {}
    # nutpie's compiled wrapper is cached on disk (engines.pymc._nutpie_cache): measure a fresh
    # process with an empty cache ("cold"), then a fresh process that finds it ("cached").
    # PyMC's C code lives in PyTensor's compiledir, warm after the first run on a machine.
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SECDILEMMA_CACHE_DIR=cache)
        for which in models:
            for backend in args.backends.split(","):
                if backend == "nutpie":
                    once = run(backend, which, chains, draws, "first", env)
                    if "error" not in once:
                        results[(which, "nutpie cold")] = {
                            "first": once["first"],
                            "process_wall_s": once["process_wall_s"],
                        }
                r = run(backend, which, chains, draws, "first", env)
                rep = run(backend, which, chains, draws, "first,repeat", env)
                if "error" in r or "error" in rep:
                    results[(which, backend)] = r if "error" in r else rep
                else:
                    results[(which, backend)] = {
                        "first": r["first"],
                        "process_wall_s": r["process_wall_s"],
                        "repeat": rep["repeat"],
                    }
                print(which, backend, json.dumps(results[(which, backend)]), flush=True)
    print(f"\n{chains} chains x {draws} draws (+{draws} tune)")
    print(
        f"{'model':12} {'backend':12} {'process s':>9} {'first s':>8} {'repeat s':>9} "
        f"{'ESS/s':>8} {'div':>4} {'R-hat':>6}"
    )
    for (which, backend), r in results.items():
        if "error" in r:
            print(which, backend, "ERROR", r["error"][-300:])
            continue
        f, rep = r["first"], r.get("repeat")
        tail = (
            f"{rep['wall_s']:9.1f} {rep['ess_per_s']:8.0f} {rep['divergences']:4d} "
            f"{rep['max_rhat']:6.3f}"
            if rep
            else f"{'':9} {f['ess_per_s']:8.0f} {f['divergences']:4d} {f['max_rhat']:6.3f}"
        )
        print(f"{which:12} {backend:12} {r['process_wall_s']:9.1f} {f['wall_s']:8.1f} {tail}")
    print_params(results)
    for which in models:
        a, b = results.get((which, "pymc")), results.get((which, "nutpie"))
        if a and b and "error" not in a and "error" not in b:
            print(
                f"{which}: nutpie/pymc fresh-process time "
                f"{b['process_wall_s'] / a['process_wall_s']:.2f}, "
                f"repeat time {b['repeat']['wall_s'] / a['repeat']['wall_s']:.2f}, "
                f"ESS/s {b['repeat']['ess_per_s'] / a['repeat']['ess_per_s']:.2f}"
            )


if __name__ == "__main__":
    main()
