"""Throughput of the decision model (run on demand: ``python benchmarks/bench_decision.py``).

Measures, best of ``--repeat`` runs:

* ``decide`` in dynamic mode (per-action utility table by simulation),
* ``BayesOptimal.solve`` (belief-grid dynamic programming) for 2 and 3 types,
* ``compare_policies`` of the six policies on common random numbers (futures per second,
  one future = one (type, replicate) path of ``horizon`` periods under one policy).

Baseline, measured in the same run: :func:`secdilemma.model.simulate` drawing as many dyad-periods
from the generative model as the decision simulates. The ratio "x simulate" says what the
decision adds on top of simulating the world (losses, beliefs updated by the exact
observer, the policies' choices).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from secdilemma.decision import (
    GRIT,
    AlwaysDeter,
    AlwaysReassure,
    BayesOptimal,
    BeliefThreshold,
    TitForTat,
    compare_policies,
    decide,
)
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-sims", type=int, default=5000)
    ap.add_argument("--horizon", type=int, default=10)
    args = ap.parse_args()
    n, h = args.n_sims, args.horizon
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"n_sims={n} per type, horizon={h}, best of {args.repeat}")
    three = TypeSpace.default()
    two = TypeSpace.from_names(["greedy", "insecure"])

    def base(paths: int) -> float:
        return best_of(lambda: simulate(three, n_periods=h, n_scenarios=paths, seed=0), args.repeat)

    t = best_of(lambda: decide(types=three, n_sims=n, horizon=h, seed=0), args.repeat)
    b = base(2 * three.n_types * n)
    print(
        f"decide (dynamic, 3 types x 2 actions x {n} futures): {t:.3f} s; "
        f"simulate of as many paths {b:.3f} s; x simulate {t / b:.1f}"
    )
    for ts, grid in ((two, 401), (three, 41), (three, 61)):
        t = best_of(
            lambda ts=ts, grid=grid: BayesOptimal(types=ts, horizon=h, grid_size=grid).solve(),
            args.repeat,
        )
        print(f"BayesOptimal.solve ({ts.n_types} types, grid {grid}): {t:.3f} s")
    bayes = BayesOptimal(types=three, horizon=h).solve()
    pols = [AlwaysDeter(), AlwaysReassure(), TitForTat(), GRIT(), BeliefThreshold(0.5), bayes]
    t = best_of(
        lambda: compare_policies(pols, types=three, horizon=h, n_sims=n, seed=0), args.repeat
    )
    futures = len(pols) * three.n_types * n
    b = base(futures)
    print(
        f"compare_policies (6 policies x 3 types x {n}): {t:.3f} s, "
        f"{futures / t:,.0f} futures/s, {futures * h / t:,.0f} policy steps/s; "
        f"simulate of as many paths {b:.3f} s; x simulate {t / b:.1f}"
    )


if __name__ == "__main__":
    main()
