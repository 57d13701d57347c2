"""How long ``import secdilemma`` takes, as a ratio to ``import xarray`` in the same run.

Each figure is the median wall time of fresh interpreter processes, the two imports
alternated so that drift in the machine's speed hits both alike. ``python -c pass`` is
measured too and subtracted (interpreter start-up is not the package's).

    .venv/bin/python benchmarks/bench_import.py [--reps 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python -c pass": "pass",
    "import xarray": "import xarray",
    "import secdilemma": "import secdilemma",
    "from secdilemma import Study": "from secdilemma import Study",
}


def _time(stmt: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", stmt], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    for stmt in STATEMENTS.values():  # warm the file cache and the bytecode
        _time(stmt)
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    for _ in range(args.reps):
        for name, stmt in STATEMENTS.items():
            times[name].append(_time(stmt))
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["python -c pass"]
    xr_net = med["import xarray"] - base
    print(f"{'statement':32s} {'median s':>9s} {'net s':>7s} {'/ import xarray':>16s}")
    for name, m in med.items():
        net = m - base
        ratio = "" if name == "python -c pass" else f"{net / xr_net:16.2f}"
        print(f"{name:32s} {m:9.3f} {net:7.3f} {ratio}")


if __name__ == "__main__":
    main()
