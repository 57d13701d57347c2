"""Benchmark the PyMC fit: first fit (fresh process) vs repeat fit (same process), ESS/second.

Run on demand (never inside tests)::

    .venv/bin/python benchmarks/bench_fit.py            # both backends, both models
    .venv/bin/python benchmarks/bench_fit.py --quick    # 2 chains x 500 draws

Each configuration runs in a fresh Python process (so "first" includes imports, model
building and compilation, with PyTensor's on-disk C cache warm after the first ever run),
then fits again in the same process ("repeat"). ESS/s is the minimum bulk ESS over all
posterior variables divided by the sampling wall time. Printed as a table and as ratios
nutpie / pymc.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
from secdilemma.fit import PerceptionModel, ConvergenceWarning
from secdilemma.spec import load_spec, ModelSpec
from secdilemma.simulate import simulate
backend, which, chains, draws = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def make():
    if which == "case":
        return PerceptionModel(load_spec("anglo_german_naval"))
    data = simulate(n_periods=50, n_scenarios=int(which.split(":")[1]), seed=1)
    return PerceptionModel(ModelSpec.from_dict({}), data=data)
out = {}
for run in ("first", "repeat"):
    t = time.perf_counter()
    m = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tree = m.fit(sampler=backend, chains=chains, draws=draws, tune=draws, random_seed=1,
                     progressbar=False)
    wall = time.perf_counter() - t + (t - t0 if run == "first" else 0.0)
    d = m.diagnostics_
    out[run] = {"wall_s": wall, "sampling_s": tree.attrs["sampling_time_s"],
                "min_ess_bulk": d["min_ess_bulk"], "divergences": d["divergences"],
                "max_rhat": d["max_rhat"],
                "ess_per_s": d["min_ess_bulk"] / tree.attrs["sampling_time_s"]}
print("RESULT" + json.dumps(out))
"""


def run(backend: str, which: str, chains: int, draws: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, backend, which, str(chains), str(draws)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    if not line:
        return {"error": proc.stderr[-2000:]}
    res = json.loads(line[0][6:])
    res["process_wall_s"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dyads", type=int, default=20)
    ap.add_argument("--backends", default="pymc,nutpie")
    args = ap.parse_args()
    chains, draws = (2, 500) if args.quick else (4, 1000)
    results = {}
    for which in ("case", f"pooled:{args.dyads}"):
        for backend in args.backends.split(","):
            r = run(backend, which, chains, draws)
            results[(which, backend)] = r
            print(which, backend, json.dumps(r), flush=True)
    print(f"\n{chains} chains x {draws} draws (+{draws} tune)")
    print(f"{'model':12} {'backend':7} {'first s':>8} {'repeat s':>9} {'ESS/s':>8} {'div':>4}")
    for (which, backend), r in results.items():
        if "error" in r:
            print(which, backend, "ERROR", r["error"][-300:])
            continue
        f, rep = r["first"], r["repeat"]
        print(
            f"{which:12} {backend:7} {f['wall_s']:8.1f} {rep['wall_s']:9.1f} "
            f"{rep['ess_per_s']:8.0f} {rep['divergences']:4d}"
        )
    for which in ("case", f"pooled:{args.dyads}"):
        a, b = results.get((which, "pymc")), results.get((which, "nutpie"))
        if a and b and "error" not in a and "error" not in b:
            print(
                f"{which}: nutpie/pymc first-fit time "
                f"{b['first']['wall_s'] / a['first']['wall_s']:.2f}, "
                f"repeat time {b['repeat']['wall_s'] / a['repeat']['wall_s']:.2f}, "
                f"ESS/s {b['repeat']['ess_per_s'] / a['repeat']['ess_per_s']:.2f}"
            )


if __name__ == "__main__":
    main()
