"""Throughput of the exact observer (updates per second): the bare kernel, the array API and
the end-to-end ``Observer.filter``, against a Python loop and memory.

One *update* is one period of one scenario, all types. The default problem is 10**4
scenarios x 100 periods x 3 types with log-likelihoods computed from simulated dyads (so the
posteriors behave as in use: they concentrate as evidence accumulates).

Run::

    .venv/bin/python benchmarks/bench_filter.py            # full size, 9 repeats
    .venv/bin/python benchmarks/bench_filter.py --quick    # 2,000 scenarios, 5 repeats
    .venv/bin/python benchmarks/bench_filter.py --json out.json --compile-time

Times are medians of interleaved repeats (each repeat runs every case once, so load from
other processes falls on all of them alike); the load average is printed. Every ratio is
measured in the same run:

* ``kernel``: the numba kernel called directly on a log-likelihood array, into preallocated
  outputs (no checks, no allocation): the bare filter;
* ``end-to-end``: ``Observer.filter(ds)`` on the simulated Dataset: data checks, the
  log-likelihood from the moves, the filter and the xarray output; ``e2e / kernel`` is its
  throughput as a share of the bare kernel's on the same updates;
* ``x python``: against a plain Python loop over scenarios and periods (Python floats and
  ``math.exp``/``math.log``), timed on a subset of scenarios and scaled per update;
* ``x copy``: time relative to ``np.copyto`` of an array as large as the filter's input plus
  output (the memory bound; 1.0 would be as fast as merely moving the data once);
* ``signals``: ``Observer.filter`` on dyads simulated with 4 signal channels, against the same
  observer and moves without the channels; ``with / without`` is the throughput with signals
  as a share of that without. Two mixes: ``bench`` (:data:`SIGNALS`: three channels without a
  fear term, one with; signals 0 or 1 about as often, none missing) and ``reference``
  (:data:`SIGNALS_REFERENCE`: the four channels of ``models/reference_params.toml``, all with
  a fear term; rare events, about 7 % ones, and blocks of missing years, about 12 %, as in the
  bundled cases). ``--signals-only`` times just these cases.
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

from secdilemma.engines.exact import _kernels
from secdilemma.engines.exact.filtering import filter_probabilities, forward_backward
from secdilemma.model import ModelParams, SignalParams, loglik_components, transition_matrix
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import Observer
from secdilemma.observers import base as observer_base


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm up (compile or load the numba cache)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def median_times(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each function over interleaved repeats (one warm-up call each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


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
        "from secdilemma.model.simulate import simulate\n"
        "from secdilemma.observers import Observer\n"
        "ds = simulate(n_periods=3, n_scenarios=2, seed=0)\n"
        "t5 = time.perf_counter()\n"
        "Observer().filter(ds)\n"
        "t6 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5)\n"
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
        imp, st, sw, sm, ob = map(float, res.stdout.split())
        out[f"{label}_import_s"] = imp
        out[f"{label}_static_first_call_s"] = st
        out[f"{label}_switching_first_call_s"] = sw
        out[f"{label}_smoother_first_call_s"] = sm
        out[f"{label}_observer_first_call_s"] = ob
    return out


def unfused(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the observers' fused path switched off (numpy log-likelihood + filter)."""

    def run() -> Any:
        observer_base._FUSE = False
        try:
            return fn()
        finally:
            observer_base._FUSE = True

    return run


def build_cases(
    ds: Any, ll: np.ndarray, lp: np.ndarray, a: np.ndarray, numpy_engine: bool
) -> dict[str, tuple[Callable[[], Any], str, int]]:
    """``{case: (function, python loop it is compared with, arrays it moves)}``."""
    S, _, K = ll.shape
    lp1, la = lp.reshape(1, K), np.log(a)
    out, sm, ev, none = np.empty_like(ll), np.empty_like(ll), np.empty(S), np.empty((1, 1, K))
    kern = _kernels

    def bare_static() -> Any:
        return kern.run_static(ll, lp1, out, none, ev, False, False)

    def bare_switching() -> Any:
        return kern.run_switching(ll, lp1, a, la, out, none, ev, False, False)

    def bare_smoother() -> Any:
        return kern.run_switching(ll, lp1, a, la, out, sm, ev, False, True)

    cases: dict[str, tuple[Callable[[], Any], str, int]] = {
        "kernel static (bare)": (bare_static, "static", 2),
        "kernel switching (bare)": (bare_switching, "switching", 2),
        "kernel switching+smoother (bare)": (bare_smoother, "switching", 3),
    }
    for engine in ("numba", "numpy") if numpy_engine else ("numba",):
        for label, trans, smooth in (
            ("static filter", None, False),
            ("static filter+smoother", None, True),
            ("switching filter", a, False),
            ("switching filter+smoother", a, True),
        ):
            cases[f"forward_backward {label} [{engine}]"] = (
                lambda e=engine, tr=trans, sm_=smooth: forward_backward(
                    ll, lp, transition=tr, smooth=sm_, engine=e
                ),
                "static" if trans is None else "switching",
                3 if smooth else 2,
            )
    cases["filter_probabilities switching+smoother"] = (
        lambda: filter_probabilities(ll, lp, transition=a),
        "switching",
        3,
    )
    obs_static, obs_switch = Observer(), Observer(persistence=0.9)

    def e2e_static() -> Any:
        return obs_static.filter(ds, smooth=False)

    def e2e_switching() -> Any:
        return obs_switch.filter(ds, smooth=False)

    cases |= {
        "end-to-end static (Observer.filter)": (e2e_static, "static", 2),
        "end-to-end switching (Observer.filter)": (e2e_switching, "switching", 2),
        "end-to-end switching+smoother": (lambda: obs_switch.filter(ds), "switching", 3),
        "end-to-end static, unfused path": (unfused(e2e_static), "static", 2),
        "end-to-end switching, unfused path": (unfused(e2e_switching), "switching", 2),
    }
    return cases


#: The benchmark's signal channels: realistic, most without a fear term, one with.
SIGNALS = SignalParams(
    ("arms_control_refused", "alliance_formed", "summit_held", "mobilised"),
    eta0=[-1.5, -1.0, 0.5, -2.0],
    eta_g=[2.0, 1.0, -1.5, 0.5],
    eta_f=[0.0, 0.0, 0.0, 1.5],
)


#: The reference's channels (``models/reference_params.toml``): every one has a fear term.
SIGNALS_REFERENCE = SignalParams(
    (
        "mid_threat_display",
        "mid_use_of_force",
        "mid_force_in_reply",
        "alliance_new_defense_pact",
    ),
    eta0=np.array([-4.22559, -4.69827, -4.91992, -2.56677]),
    eta_g=np.array([1.02963, 2.21005, 2.38248, 0.0996656]),
    eta_f=np.array([-1.22336, 0.281856, -0.23032, 0.655327]),
)

#: The signal mixes: ``(channels, share of years missing, in blocks)``.
MIXES = {"bench": (SIGNALS, 0.0), "reference": (SIGNALS_REFERENCE, 0.12)}

SIGNAL_LABELS = ("static", "switching", "switching+smoother")


def signal_data(mix: str, S: int, T: int) -> Any:
    """Dyads simulated with the mix's channels, with blocks of missing years (one block per
    scenario and channel, its length drawn around the mix's share)."""
    sp, missing = MIXES[mix]
    ds = simulate(TypeSpace.default(), ModelParams(signals=sp), n_periods=T, n_scenarios=S, seed=0)
    if missing > 0:
        rng = np.random.default_rng(1)
        sig = ds["signals"].values.copy()
        J = sig.shape[-1]
        length = rng.integers(0, int(2 * missing * T) + 1, (S, J))
        start = rng.integers(0, T, (S, J))
        t = np.arange(T)[None, :, None]
        block = (t >= start[:, None, :]) & (t < (start + length)[:, None, :])
        sig[block] = np.nan
        ds["signals"] = (ds["signals"].dims, sig)
    return ds


def signal_mix_stats(ds: Any) -> dict[str, float]:
    """The mix as measured: shares of signals 1 and missing, of periods with a threat."""
    s = ds["signals"].values
    return {
        "ones": float(np.nanmean(s)),
        "missing": float(np.isnan(s).mean()),
        "threat": float((ds["u"].values[:, :-1] > 0).mean()),
    }


def signal_cases(ds_sig: Any, mix: str = "bench") -> dict[str, tuple[Callable[[], Any], str, int]]:
    """``Observer.filter`` with the signal channels and without them, on the same moves."""
    p_sig = ModelParams(signals=MIXES[mix][0])
    ds_plain = ds_sig.drop_vars(["signals", "signal"])
    tag = "signals" if mix == "bench" else f"signals ({mix})"
    cases: dict[str, tuple[Callable[[], Any], str, int]] = {}
    for label, persistence, smooth in zip(
        SIGNAL_LABELS, (None, 0.9, 0.9), (False, False, True), strict=True
    ):
        with_sig = Observer(params=p_sig, persistence=persistence)
        without = Observer(persistence=persistence)
        py = "static" if persistence is None else "switching"
        n_arr = 3 if smooth else 2
        cases[f"{tag}: {label}, with 4 channels"] = (
            lambda o=with_sig, sm=smooth: o.filter(ds_sig, smooth=sm),
            py,
            n_arr,
        )
        cases[f"{tag}: {label}, without"] = (
            lambda o=without, sm=smooth: o.filter(ds_plain, smooth=sm),
            py,
            n_arr,
        )
    if mix == "bench":
        cases["signals: static, with 4 channels, unfused path"] = (
            unfused(lambda: Observer(params=p_sig).filter(ds_sig, smooth=False)),
            "static",
            2,
        )
    return cases


#: (end-to-end case, bare kernel case, array API case) for the ratios of the issue.
RATIOS = [
    (
        "end-to-end static (Observer.filter)",
        "kernel static (bare)",
        "forward_backward static filter [numba]",
    ),
    (
        "end-to-end switching (Observer.filter)",
        "kernel switching (bare)",
        "forward_backward switching filter [numba]",
    ),
    (
        "end-to-end switching+smoother",
        "kernel switching+smoother (bare)",
        "forward_backward switching filter+smoother [numba]",
    ),
]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 scenarios, 5 repeats")
    ap.add_argument("--scenarios", type=int, default=None)
    ap.add_argument("--periods", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--python-subset", type=int, default=200, help="scenarios for the loop")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy engine's rows")
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument("--compile-time", action="store_true", help="measure numba compile time")
    ap.add_argument("--signals-only", action="store_true", help="only the signal cases")
    args = ap.parse_args(argv)
    S = args.scenarios or (2_000 if args.quick else 10_000)
    T = args.periods
    repeats = args.repeats or (5 if args.quick else 9)
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
    ll_list, lp_list, a_list = ll[:sub].tolist(), lp.tolist(), a.tolist()
    py_reps = min(3, repeats)
    t_py = {
        "static": best_time(lambda: python_static(ll_list, lp_list), py_reps) / (sub * T),
        "switching": best_time(lambda: python_switching(ll_list, lp_list, a_list), py_reps)
        / (sub * T),
    }

    cases = {} if args.signals_only else build_cases(ds, ll, lp, a, not args.no_numpy)
    mixes = {}
    for mix in MIXES:
        ds_sig = signal_data(mix, S, T)
        mixes[mix] = signal_mix_stats(ds_sig)
        cases |= signal_cases(ds_sig, mix)
    if not args.signals_only:
        cases["loglik_components (numpy; not a filter)"] = (
            lambda: loglik_components(ds.dx.values, ds.u.values, params, types),
            "static",
            2,
        )
    load_before = os.getloadavg()[0]
    med = median_times({k: v[0] for k, v in cases.items()}, repeats)
    load_after = os.getloadavg()[0]
    rows = [
        {
            "case": name,
            "seconds": med[name],
            "updates_per_s": n_updates / med[name],
            "x_python_loop": (t_py[py] * n_updates) / med[name],
            "x_copy": med[name] / t_copy[n_arr],
        }
        for name, (_, py, n_arr) in cases.items()
    ]
    ratios = [
        {
            "end_to_end": e2e,
            "kernel": kern,
            "share_of_kernel": med[kern] / med[e2e],
            "share_of_array_api": med[api] / med[e2e],
        }
        for e2e, kern, api in RATIOS
        if e2e in med
    ]
    signal_ratios = {
        mix: {
            label: med[f"{tag}: {label}, without"] / med[f"{tag}: {label}, with 4 channels"]
            for label in SIGNAL_LABELS
        }
        for mix, tag in (("bench", "signals"), ("reference", "signals (reference)"))
    }
    results: dict[str, Any] = {
        "scenarios": S,
        "periods": T,
        "types": K,
        "repeats": repeats,
        "load_average_1min": [load_before, load_after],
        "python_loop_subset_scenarios": sub,
        "python_loop_updates_per_s": {k: 1 / v for k, v in t_py.items()},
        "copy_updates_per_s": {"in+out": n_updates / t_copy[2], "in+2out": n_updates / t_copy[3]},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "rows": rows,
        "ratios": ratios,
        "signal_ratios": signal_ratios,
        "signal_mixes": mixes,
    }
    report(results, t_py, t_copy, n_updates)
    if args.compile_time:
        ct = compile_time()
        results["compile"] = ct
        for label, name in (("cold", "empty cache"), ("cached", "cached")):
            print(
                f"numba first call, {name + ':':13s} import {ct[label + '_import_s']:.2f}s, "
                f"static {ct[label + '_static_first_call_s']:.2f}s, "
                f"switching {ct[label + '_switching_first_call_s']:.2f}s, "
                f"smoother {ct[label + '_smoother_first_call_s']:.2f}s, "
                f"Observer.filter {ct[label + '_observer_first_call_s']:.2f}s"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


def report(
    results: dict[str, Any], t_py: dict[str, float], t_copy: dict[int, float], n_updates: int
) -> None:
    S, T, K = results["scenarios"], results["periods"], results["types"]
    lb, la = results["load_average_1min"]
    print(
        f"{S:,} scenarios x {T} periods x {K} types = {n_updates:,} updates; median of "
        f"{results['repeats']} interleaved repeats; load average {lb:.2f} -> {la:.2f} on "
        f"{results['machine']}. Python loop timed on {results['python_loop_subset_scenarios']} "
        "scenarios and scaled."
    )
    print(f"{'case':52s} {'time ms':>9s} {'M upd/s':>9s} {'x python':>9s} {'x copy':>8s}")
    for r in results["rows"]:
        print(
            f"{r['case']:52s} {1e3 * r['seconds']:9.1f} {r['updates_per_s'] / 1e6:9.2f} "
            f"{r['x_python_loop']:9.0f} {r['x_copy']:8.1f}"
        )
    print(
        f"{'python loop static / switching':52s} {'':9s} "
        f"{1e-6 / t_py['static']:9.3f} / {1e-6 / t_py['switching']:.3f}"
    )
    print(
        f"{'np.copyto in+out (memory bound)':52s} {1e3 * t_copy[2]:9.1f} "
        f"{n_updates / t_copy[2] / 1e6:9.2f}"
    )
    print("end-to-end throughput as a share of the bare kernel's (and of forward_backward's):")
    for r in results["ratios"]:
        print(
            f"  {r['end_to_end']:40s} {100 * r['share_of_kernel']:5.0f} % of {r['kernel']} "
            f"({100 * r['share_of_array_api']:.0f} % of forward_backward)"
        )
    print("Observer.filter with 4 signal channels, throughput as a share of that without:")
    for mix, by_label in results["signal_ratios"].items():
        m = results["signal_mixes"][mix]
        print(
            f"  {mix} mix ({100 * m['ones']:.0f} % ones, {100 * m['missing']:.0f} % missing, "
            f"a threat in {100 * m['threat']:.0f} % of periods):"
        )
        for label, r in by_label.items():
            print(f"    {label:38s} {r:5.2f}")


if __name__ == "__main__":
    main()
