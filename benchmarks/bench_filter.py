"""Throughput of the exact observer (updates per second) against a Python loop and memory.

One *update* is one period of one scenario, all types. The default problem is 10**4
scenarios x 100 periods x 3 types with log-likelihoods computed from simulated dyads (so the
posteriors behave as in use: they concentrate as evidence accumulates).

Run::

    .venv/bin/python benchmarks/bench_filter.py            # full size, 7 repeats
    .venv/bin/python benchmarks/bench_filter.py --quick    # 2,000 scenarios, 3 repeats
    .venv/bin/python benchmarks/bench_filter.py --json out.json --compile-time

Every ratio is measured in the same run:

* ``x python``: against a plain Python loop over scenarios and periods (Python floats and
  ``math.exp``/``math.log``), timed on a subset of scenarios and scaled per update;
* ``x copy``: time relative to ``np.copyto`` of an array as large as the filter's input plus
  output (the memory bound; 1.0 would be as fast as merely moving the data once).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from secdilemma.engines.exact.filtering import forward_backward
from secdilemma.model import ModelParams, loglik_components, transition_matrix
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import Observer


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm up (compile or load the numba cache)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ---------------------------------------------------------------------------------------------
# Plain Python references (the "before" of vectorisation)
# ---------------------------------------------------------------------------------------------
def python_static(ll: list, lp: list) -> list:
    out = []
    for rows in ll:  # scenarios
        acc = list(lp)
        res = []
        for row in rows:  # periods
            acc = [a + v for a, v in zip(acc, row, strict=True)]
            m = max(acc)
            lse = m + math.log(sum(math.exp(a - m) for a in acc))
            acc = [a - lse for a in acc]
            res.append(acc)
        out.append(res)
    return out


def python_switching(ll: list, lp: list, a: list) -> list:
    K = len(lp)
    out = []
    for rows in ll:
        logp = list(lp)
        res = []
        for t, row in enumerate(rows):
            if t > 0:
                p = [math.exp(x) for x in logp]
                logp = [math.log(sum(p[i] * a[i][j] for i in range(K))) for j in range(K)]
            b = [x + v for x, v in zip(logp, row, strict=True)]
            m = max(b)
            lse = m + math.log(sum(math.exp(x - m) for x in b))
            logp = [x - lse for x in b]
            res.append(logp)
        out.append(res)
    return out


def compile_time() -> dict[str, float]:
    """First-call times in a fresh process with an empty numba cache (true compile time)."""
    code = (
        "import time, numpy as np\n"
        "t0 = time.perf_counter()\n"
        "from secdilemma.engines.exact.filtering import forward_backward\n"
        "import secdilemma.engines.exact._kernels\n"
        "t1 = time.perf_counter()\n"
        "ll = np.zeros((2, 3, 3)); lp = np.log(np.full(3, 1 / 3))\n"
        "forward_backward(ll, lp, smooth=False)\n"
        "t2 = time.perf_counter()\n"
        "forward_backward(ll, lp, transition=np.full((3, 3), 1 / 3), smooth=False)\n"
        "t3 = time.perf_counter()\n"
        "forward_backward(ll, lp, transition=np.full((3, 3), 1 / 3), smooth=True)\n"
        "t4 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)\n"
    )
    out = {}
    for label, env_extra in (("cold", True), ("cached", False)):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as tmp:
            if env_extra:
                env["NUMBA_CACHE_DIR"] = tmp
            res = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
        imp, st, sw, sm = map(float, res.stdout.split())
        out[f"{label}_import_s"] = imp
        out[f"{label}_static_first_call_s"] = st
        out[f"{label}_switching_first_call_s"] = sw
        out[f"{label}_smoother_first_call_s"] = sm
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 scenarios, 3 repeats")
    ap.add_argument("--scenarios", type=int, default=None)
    ap.add_argument("--periods", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--python-subset", type=int, default=200, help="scenarios for the loop")
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument("--compile-time", action="store_true", help="measure numba compile time")
    args = ap.parse_args(argv)
    S = args.scenarios or (2_000 if args.quick else 10_000)
    T = args.periods
    repeats = args.repeats or (3 if args.quick else 7)
    K = 3
    n_updates = S * T

    types = TypeSpace.default()
    params = ModelParams()
    ds = simulate(types, params, n_periods=T, n_scenarios=S, seed=0)
    ll, _ = loglik_components(ds.dx.values, ds.u.values, params, types)
    ll = np.ascontiguousarray(ll)
    lp = np.log(np.full(K, 1 / K))
    a = transition_matrix(K, persistence=0.9)

    # memory bound: copy an array as large as input + output (filtered; + smoothed when asked)
    def copy_bound(n_arrays: int) -> float:
        src = np.ones(n_arrays * ll.size)
        dst = np.empty_like(src)
        dst[:] = 0.0  # touch the pages once
        return best_time(lambda: np.copyto(dst, src), repeats)

    t_copy = {2: copy_bound(2), 3: copy_bound(3)}

    # plain Python loop on a subset, scaled per update
    sub = min(args.python_subset, S)
    ll_list = ll[:sub].tolist()
    lp_list = lp.tolist()
    a_list = a.tolist()
    py_reps = min(3, repeats)
    t_py_static = best_time(lambda: python_static(ll_list, lp_list), py_reps) / (sub * T)
    t_py_switch = best_time(lambda: python_switching(ll_list, lp_list, a_list), py_reps) / (sub * T)

    cases: list[tuple[str, Callable[[], Any], float, int]] = []
    for engine in ("numba", "numpy"):
        cases += [
            (
                f"static filter [{engine}]",
                lambda e=engine: forward_backward(ll, lp, smooth=False, engine=e),
                t_py_static,
                2,
            ),
            (
                f"static filter+smoother [{engine}]",
                lambda e=engine: forward_backward(ll, lp, smooth=True, engine=e),
                t_py_static,
                3,
            ),
            (
                f"switching filter [{engine}]",
                lambda e=engine: forward_backward(ll, lp, transition=a, smooth=False, engine=e),
                t_py_switch,
                2,
            ),
            (
                f"switching filter+smoother [{engine}]",
                lambda e=engine: forward_backward(ll, lp, transition=a, smooth=True, engine=e),
                t_py_switch,
                3,
            ),
        ]
    obs_static = Observer(types, params)
    obs_switch = Observer(types, params, persistence=0.9)
    cases += [
        (
            "end-to-end static (Observer.filter)",
            lambda: obs_static.filter(ds, smooth=False),
            t_py_static,
            2,
        ),
        (
            "end-to-end switching (Observer.filter)",
            lambda: obs_switch.filter(ds, smooth=False),
            t_py_switch,
            2,
        ),
    ]

    rows = []
    for name, fn, t_py, n_arr in cases:
        t = best_time(fn, repeats)
        rows.append(
            {
                "case": name,
                "seconds": t,
                "updates_per_s": n_updates / t,
                "x_python_loop": (t_py * n_updates) / t,
                "x_copy": t / t_copy[n_arr],
            }
        )
    results: dict[str, Any] = {
        "scenarios": S,
        "periods": T,
        "types": K,
        "repeats": repeats,
        "python_loop_subset_scenarios": sub,
        "python_loop_updates_per_s": {"static": 1 / t_py_static, "switching": 1 / t_py_switch},
        "copy_updates_per_s": {"in+out": n_updates / t_copy[2], "in+2out": n_updates / t_copy[3]},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "rows": rows,
    }
    print(
        f"{S:,} scenarios x {T} periods x {K} types = {n_updates:,} updates; best of "
        f"{repeats}. Python loop timed on {sub} scenarios and scaled."
    )
    print(f"{'case':44s} {'time ms':>9s} {'M upd/s':>9s} {'x python':>9s} {'x copy':>8s}")
    for r in rows:
        print(
            f"{r['case']:44s} {1e3 * r['seconds']:9.1f} {r['updates_per_s'] / 1e6:9.2f} "
            f"{r['x_python_loop']:9.0f} {r['x_copy']:8.1f}"
        )
    print(
        f"{'python loop static / switching':44s} {'':9s} "
        f"{1e-6 / t_py_static:9.3f} / {1e-6 / t_py_switch:.3f}"
    )
    print(
        f"{'np.copyto in+out (memory bound)':44s} {1e3 * t_copy[2]:9.1f} "
        f"{n_updates / t_copy[2] / 1e6:9.2f}"
    )
    if args.compile_time:
        ct = compile_time()
        results["compile"] = ct
        for label, name in (("cold", "empty cache"), ("cached", "cached")):
            print(
                f"numba first call, {name + ':':13s} import {ct[label + '_import_s']:.2f}s, "
                f"static {ct[label + '_static_first_call_s']:.2f}s, "
                f"switching {ct[label + '_switching_first_call_s']:.2f}s, "
                f"smoother {ct[label + '_smoother_first_call_s']:.2f}s"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
