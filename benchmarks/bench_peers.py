"""secdilemma's exact filter and smoother against hmmlearn and dynamax, on identical inputs.

Every engine gets the same per-period log-likelihoods (computed once, from dyads simulated
with K rival types) and the same prior and transition matrix. Agreement is checked first
(filtered and smoothed probabilities within 1e-10, log evidence within 1e-10 relative); the
timings follow, as medians of interleaved repeats (each repeat runs every engine once, so
load from other processes falls on all of them alike), with the machine's load average.

Two levels of API, each compared like with like:

* **probabilities** (the main table): log-likelihood arrays in, filtered / smoothed
  probabilities and the log evidence out. secdilemma: ``filter_probabilities`` (its checks
  included). hmmlearn: what its ``_score_scaling`` does per sequence, ``np.exp`` of the
  log-likelihoods then the C routines ``_hmmc.forward_scaling`` (``fwdlattice`` is the
  filtered posterior) and, for the smoother, ``_hmmc.backward_scaling`` and the normalised
  product (no input checks, a Python loop over sequences: hmmlearn has no batch API).
  dynamax: ``jit(vmap(hmm_filter))`` and ``jit(vmap(hmm_smoother))`` (``compute_trans_probs``
  off) on arrays already on the device, timed to ``block_until_ready`` (no copy back).
* **logs**: log-likelihoods in, log posteriors out. secdilemma: ``forward_backward``.
  hmmlearn: ``_hmmc.forward_log`` (and ``backward_log``) with the normalisation over types
  that turns its log forward lattice into the log filtered posterior, as ``_score_log`` does.
  (dynamax has no log-space output.)

A static type is the HMM with the identity as transition matrix for the peers (secdilemma
runs its static filter). dynamax floors every normalised probability at 1e-15 and treats
predicted probabilities within 1e-8 of 0 as 0 in its smoother: with the identity matrix the
posteriors concentrate, those floors bite, and its static results are wrong; they are
reported as such (``disagrees``) and left out of the comparison.

Run::

    .venv/bin/python benchmarks/bench_peers.py              # all shapes
    .venv/bin/python benchmarks/bench_peers.py --quick      # fewer repeats
    .venv/bin/python benchmarks/bench_peers.py --json out.json

hmmlearn (the ``bench`` extra) and dynamax (with jax; not a dependency) are optional: a
missing peer is skipped with a note. Neither is imported by the package or its tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from secdilemma.engines.exact.filtering import filter_probabilities, forward_backward
from secdilemma.model import ModelParams, TypeSpace, loglik_components, transition_matrix
from secdilemma.model.simulate import simulate

SHAPES = [(50, 100, 2), (50, 100, 3), (50, 100, 5), (50, 100, 10), (10_000, 100, 3)]
TASKS = ("static filter", "switching filter", "smoother")
TOL = 1e-10
#: Loadings (greed, fear) of the first K types.
LOADINGS = [
    (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.0, 0.0), (0.5, 0.5),
    (1.0, 0.5), (0.5, 1.0), (0.0, 0.5), (0.5, 0.0), (0.25, 0.75),
]  # fmt: skip

Result = tuple[np.ndarray, np.ndarray | None, np.ndarray]  # filtered, smoothed, log evidence


def problem(S: int, T: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihoods ``(S, T, K)`` from simulated dyads, the uniform prior, and A."""
    types = TypeSpace.from_loadings({f"t{k}": LOADINGS[k] for k in range(K)})
    params = ModelParams()
    ds = simulate(types, params, n_periods=T, n_scenarios=S, seed=K)
    ll, _ = loglik_components(ds.dx.values, ds.u.values, params, types)
    return np.ascontiguousarray(ll), np.full(K, 1.0 / K), transition_matrix(K, persistence=0.9)


# ---------------------------------------------------------------------------------------------
# The engines: each returns a function of (task) -> callable producing a Result
# ---------------------------------------------------------------------------------------------
def secdilemma_probs(ll: np.ndarray, p0: np.ndarray, a: np.ndarray) -> dict[str, Callable]:
    lp = np.log(p0)

    def run(trans: np.ndarray | None, smooth: bool) -> Result:
        r = filter_probabilities(ll, lp, transition=trans, smooth=smooth)
        return r.filtered, r.smoothed, r.log_evidence

    return {
        "static filter": lambda: run(None, False),
        "switching filter": lambda: run(a, False),
        "smoother": lambda: run(a, True),
    }


def secdilemma_logs(ll: np.ndarray, p0: np.ndarray, a: np.ndarray) -> dict[str, Callable]:
    lp = np.log(p0)

    def run(trans: np.ndarray | None, smooth: bool) -> Result:
        r = forward_backward(ll, lp, transition=trans, smooth=smooth)
        return r.log_filtered, r.log_smoothed, r.log_evidence

    return {
        "static filter": lambda: run(None, False),
        "switching filter": lambda: run(a, False),
        "smoother": lambda: run(a, True),
    }


def hmmlearn_probs(ll: np.ndarray, p0: np.ndarray, a: np.ndarray) -> dict[str, Callable] | str:
    try:
        from hmmlearn import _hmmc
    except ImportError:
        return "hmmlearn not installed (pip install secdilemma[bench])"
    eye = np.eye(ll.shape[-1])

    def run(trans: np.ndarray, smooth: bool) -> Result:
        filt, post, ev = [], [], []
        for s in range(ll.shape[0]):  # hmmlearn's _score_scaling, sequence by sequence
            frameprob = np.exp(ll[s])
            log_prob, fwd, scaling = _hmmc.forward_scaling(p0, trans, frameprob)
            filt.append(fwd)
            ev.append(log_prob)
            if smooth:
                bwd = _hmmc.backward_scaling(p0, trans, frameprob, scaling)
                g = fwd * bwd
                g /= g.sum(axis=1, keepdims=True)
                post.append(g)
        return filt, post if smooth else None, ev  # type: ignore[return-value]

    return {
        "static filter": lambda: run(eye, False),
        "switching filter": lambda: run(a, False),
        "smoother": lambda: run(a, True),
    }


def hmmlearn_logs(ll: np.ndarray, p0: np.ndarray, a: np.ndarray) -> dict[str, Callable] | str:
    try:
        from hmmlearn import _hmmc
    except ImportError:
        return "hmmlearn not installed"
    from scipy.special import logsumexp

    eye = np.eye(ll.shape[-1])

    def run(trans: np.ndarray, smooth: bool) -> Result:
        filt, post, ev = [], [], []
        for s in range(ll.shape[0]):  # hmmlearn's _score_log, sequence by sequence
            log_prob, fwd = _hmmc.forward_log(p0, trans, ll[s])
            filt.append(fwd - logsumexp(fwd, axis=1, keepdims=True))
            ev.append(log_prob)
            if smooth:
                bwd = _hmmc.backward_log(p0, trans, ll[s])
                g = fwd + bwd
                post.append(g - logsumexp(g, axis=1, keepdims=True))
        return filt, post if smooth else None, ev  # type: ignore[return-value]

    return {
        "static filter": lambda: run(eye, False),
        "switching filter": lambda: run(a, False),
        "smoother": lambda: run(a, True),
    }


def dynamax_probs(ll: np.ndarray, p0: np.ndarray, a: np.ndarray) -> dict[str, Callable] | str:
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from dynamax.hidden_markov_model import hmm_filter, hmm_smoother
    except ImportError:
        return "dynamax (jax) not installed"
    smoother = hmm_smoother.__wrapped__  # to pass compute_trans_probs=False as a constant
    vf = jax.jit(jax.vmap(hmm_filter, in_axes=(None, None, 0)))
    vs = jax.jit(
        jax.vmap(lambda p, m, x: smoother(p, m, x, compute_trans_probs=False), (None, None, 0))
    )
    jll, jp0 = jnp.asarray(ll), jnp.asarray(p0)
    ja, jeye = jnp.asarray(a), jnp.asarray(np.eye(ll.shape[-1]))

    def filt(m: Any) -> Result:
        r = vf(jp0, m, jll)
        r.filtered_probs.block_until_ready()
        return r.filtered_probs, None, r.marginal_loglik

    def smooth(m: Any) -> Result:
        r = vs(jp0, m, jll)
        r.smoothed_probs.block_until_ready()
        return r.filtered_probs, r.smoothed_probs, r.marginal_loglik

    return {
        "static filter": lambda: filt(jeye),
        "switching filter": lambda: filt(ja),
        "smoother": lambda: smooth(ja),
    }


# ---------------------------------------------------------------------------------------------
# Agreement and timing
# ---------------------------------------------------------------------------------------------
def agreement(ref: Result, got: Result) -> float:
    """Largest difference: probabilities absolute, log evidence relative."""
    worst = 0.0
    for a, b in zip(ref[:2], got[:2], strict=True):
        if a is None or b is None:
            continue
        worst = max(worst, float(np.max(np.abs(np.asarray(a) - np.asarray(b)))))
    e_ref, e_got = np.asarray(ref[2]).ravel(), np.asarray(got[2]).ravel()
    rel = np.abs(e_ref - e_got) / np.maximum(np.abs(e_ref), 1.0)
    return max(worst, float(np.max(rel)))


def as_arrays(r: Result, logs: bool) -> Result:
    """A peer's lists of per-sequence arrays stacked; logs turned into probabilities."""
    f, s, e = (None if x is None else np.asarray(x) for x in r)
    if logs:
        f = np.exp(f)
        s = None if s is None else np.exp(s)
    return f, s, e  # type: ignore[return-value]


def timings(fns: dict[str, Callable], repeats: int) -> dict[str, list[float]]:
    """Interleaved repeats: each round runs every function once."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm up: numba cache load, jax compilation
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - t0)
    return out


def run_shape(S: int, T: int, K: int, repeats: int) -> list[dict[str, Any]]:
    ll, p0, a = problem(S, T, K)
    engines = {
        "secdilemma": secdilemma_probs(ll, p0, a),
        "hmmlearn": hmmlearn_probs(ll, p0, a),
        "dynamax": dynamax_probs(ll, p0, a),
        "secdilemma logs": secdilemma_logs(ll, p0, a),
        "hmmlearn logs": hmmlearn_logs(ll, p0, a),
    }
    rows = []
    for task in TASKS:
        ref = as_arrays(engines["secdilemma"][task](), logs=False)  # type: ignore[index]
        fns, notes = {}, {}
        for name, eng in engines.items():
            if isinstance(eng, str):
                notes[name] = eng
                continue
            diff = agreement(ref, as_arrays(eng[task](), logs=name.endswith("logs")))
            notes[name] = f"{diff:.1e}" + ("" if diff <= TOL else " disagrees")
            fns[name] = eng[task]
        times = timings(fns, repeats)
        for name, ts in times.items():
            rows.append(
                {
                    "shape": [S, T, K],
                    "task": task,
                    "engine": name,
                    "median_ms": 1e3 * float(np.median(ts)),
                    "min_ms": 1e3 * float(np.min(ts)),
                    "max_diff": notes[name],
                    "agrees": "disagrees" not in notes[name],
                }
            )
        rows += [
            {"shape": [S, T, K], "task": task, "engine": n, "skipped": v}
            for n, v in notes.items()
            if n not in times
        ]
    return rows


def floor_check() -> dict[str, float]:
    """Where dynamax's floors bite: a static type whose probability falls below 1e-15 and
    comes back. Two types; the first period favours type 0 by 40 log units, the next 30
    type 1 by one each: exactly, P(type 1) ends at e^-10 / (1 + e^-10) = 4.5e-5."""
    ll = np.zeros((1, 31, 2))
    ll[0, 0, 1] = -40.0
    ll[0, 1:, 1] = 1.0
    p0 = np.array([0.5, 0.5])
    exact = 1.0 / (1.0 + np.exp(10.0))
    out = {"exact P(type 1) at T": float(exact)}
    sd = filter_probabilities(ll, np.log(p0), smooth=True)
    out["secdilemma static filter"] = float(sd.filtered[0, -1, 1])
    out["secdilemma static smoother, period 0"] = float(sd.smoothed[0, 0, 1])
    hl = hmmlearn_probs(ll, p0, np.eye(2))
    if not isinstance(hl, str):
        out["hmmlearn static filter"] = float(np.asarray(hl["static filter"]()[0])[0, -1, 1])
    dx = dynamax_probs(ll, p0, np.eye(2))
    if not isinstance(dx, str):
        import jax.numpy as jnp
        from dynamax.hidden_markov_model import hmm_smoother

        out["dynamax static filter"] = float(np.asarray(dx["static filter"]()[0])[0, -1, 1])
        r = hmm_smoother(jnp.asarray(p0), jnp.asarray(np.eye(2)), jnp.asarray(ll[0]))
        out["dynamax static smoother, period 0"] = float(r.smoothed_probs[0, 1])
    return out


def _ratio(key: dict, shape: tuple, task: str, engine: str, base: dict[str, Any] | None) -> str:
    r = key.get((shape, task, engine))
    if r is None or base is None:
        return "-"
    x = r["median_ms"] / base["median_ms"]
    return f"{x:.2f}" if r["agrees"] else f"({x:.2f})*"


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per shape and task: secdilemma's time and each peer's time / secdilemma's."""
    key = {(tuple(r["shape"]), r["task"], r["engine"]): r for r in rows if "median_ms" in r}
    shapes = sorted({k[0] for k in key}, key=lambda s: (s[0], s[2]))
    print(
        f"{'shape S x T x K':18s} {'task':17s} {'secdilemma ms':>13s} {'hmmlearn x':>11s} "
        f"{'dynamax x':>10s} | {'sd logs ms':>10s} {'hmml logs x':>11s}"
    )
    for shape in shapes:
        for task in TASKS:
            sd = key.get((shape, task, "secdilemma"))
            if sd is None:
                continue
            logs = key.get((shape, task, "secdilemma logs"))
            label = " x ".join(f"{n:,}" for n in shape)
            print(
                f"{label:18s} {task:17s} {sd['median_ms']:13.3f} "
                f"{_ratio(key, shape, task, 'hmmlearn', sd):>11s} "
                f"{_ratio(key, shape, task, 'dynamax', sd):>10s} | "
                f"{logs['median_ms'] if logs else float('nan'):10.3f} "
                f"{_ratio(key, shape, task, 'hmmlearn logs', logs):>11s}"
            )
    print(
        "x = the peer's median time / secdilemma's at the same level (> 1: secdilemma is "
        "faster); ( )* = the peer's results disagree (beyond 1e-10), not a valid comparison."
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--repeats", type=int, default=None, help="repeats (small shapes)")
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args(argv)
    small = args.repeats or (7 if args.quick else 21)
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for S, T, K in SHAPES:
        rows += run_shape(S, T, K, small if S <= 1000 else max(3, small // 3))
    load_after = os.getloadavg()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus; load average "
        f"(1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; medians of "
        f"{small} (50 sequences) / {max(3, small // 3)} (10,000) interleaved repeats."
    )
    print_table(rows)
    print("agreement with secdilemma (largest difference; probabilities, log evidence relative):")
    for r in rows:
        if r["engine"] != "secdilemma":
            shape = " x ".join(f"{n:,}" for n in r["shape"])
            note = r.get("max_diff", r.get("skipped"))
            print(f"  {shape:16s} {r['task']:17s} {r['engine']:16s} {note}")
    floors = floor_check()
    print("a static type whose probability falls below 1e-15 and comes back (see floor_check):")
    for name, v in floors.items():
        print(f"  {name:38s} {v:.6g}")
    results = {"load_average": [load_before, load_after], "rows": rows, "floor_check": floors}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
