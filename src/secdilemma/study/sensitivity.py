"""How the decision moves with the coefficient priors: one coefficient at a time.

For each coefficient (by default ``kappa``, ``beta`` and ``gamma``) the decision of
:meth:`secdilemma.Study.decide` with the exact engine is recomputed with that coefficient at
the 5 % quantile, the median and the 95 % quantile of the pooled reference's posterior
(``[posterior.<name>]`` in ``models/reference_params.toml``), the others at the study's
exact parameters. The belief is held at the exact observer's final belief, and the losses,
actions, horizon, number of simulations and seed are the study's: every decision runs on
the same random numbers (common random numbers), so a difference between levels is the
coefficient's, not noise. Where the recommendation differs between two neighbouring
levels, the switching value is found by bisection between them (on the log scale for a
positive coefficient), and the output says plainly on which side of it each action holds.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.decision import decide as _decide
from secdilemma.errors import ParameterError, SpecError
from secdilemma.model import ModelParams
from secdilemma.spec.reference import (
    load_reference_params,
    load_reference_point,
    load_reference_posterior,
)
from secdilemma.study.setting import DEFAULT_N_SIMS

if TYPE_CHECKING:
    from secdilemma.study.study import Study

__all__ = ["LEVELS", "coefficient_sensitivity"]

#: The levels each coefficient is moved to: its pool posterior's 5 % quantile, median, 95 %.
LEVELS = ("q05", "median", "q95")
#: Coefficients that can be moved (numeric fields of ModelParams the decision reads).
MOVABLE = ("mu", "alpha", "beta", "gamma", "kappa", "lam", "sigma", "anchor")
#: Below this a coefficient sits at its hard boundary (zero).
BOUNDARY = 1e-6
_SEGMENTS = ("q05-median", "median-q95")


def _pool_posterior(study: Study) -> tuple[dict[str, dict[str, float]] | None, str]:
    """The study's reference posterior summary (the stored pool's when the study's own
    reference has none, e.g. a leave-one-out point estimate) and its file's name."""
    path = study.reference().path if study.params != "default" else None
    post = load_reference_posterior(path) if path is not None else None
    if post is not None and path is not None:
        return post, f"{path.name} [posterior.*]"
    return load_reference_posterior(), "the stored pool's reference_params.toml [posterior.*]"


def _intervals(
    study: Study, names: tuple[str, ...], intervals: Mapping[str, Sequence[float]] | None
) -> tuple[dict[str, tuple[float, float, float]], str]:
    """``{name: (q05, median, q95)}`` and where they came from."""
    source = "given"
    if intervals is None:
        post, source = _pool_posterior(study)
        if post is None:
            raise ParameterError(
                "coefficient_sensitivity: the reference has no [posterior] tables; give "
                "`intervals` or regenerate the reference."
            )
        intervals = {k: (v["q05"], v["median"], v["q95"]) for k, v in post.items() if "q05" in v}
    out: dict[str, tuple[float, float, float]] = {}
    for name in names:
        if name not in intervals:
            raise ParameterError(
                f"coefficient_sensitivity: `names` has {name!r}, which has no interval; give "
                f"it in `intervals` or choose from {sorted(intervals)}."
            )
        try:
            lo, med, hi = (float(x) for x in intervals[name])
        except (TypeError, ValueError):
            raise ParameterError(
                f"coefficient_sensitivity: `intervals[{name!r}]` must be three numbers "
                "(q05, median, q95)."
            ) from None
        if not (np.isfinite([lo, med, hi]).all() and lo <= med <= hi):
            raise ParameterError(
                f"coefficient_sensitivity: `intervals[{name!r}]` must be finite with q05 <= "
                f"median <= q95; got {(lo, med, hi)}."
            )
        out[name] = (lo, med, hi)
    return out, source


def _bisect(rec: Callable[[float], str], lo: float, hi: float, rtol: float) -> tuple[float, str]:
    """The value between ``lo`` and ``hi`` where ``rec`` first leaves ``rec(lo)``, and the
    action just above it (log scale when both ends are positive)."""
    log = lo > 0 and hi > 0
    a, b = (math.log(lo), math.log(hi)) if log else (lo, hi)
    first, above = rec(lo), rec(hi)
    for _ in range(200):
        x_a, x_b = (math.exp(a), math.exp(b)) if log else (a, b)
        if x_b - x_a <= rtol * max(abs(x_a), abs(x_b), 1e-300):
            break
        mid = (a + b) / 2.0
        r = rec(math.exp(mid) if log else mid)
        if r == first:
            a = mid
        else:
            b, above = mid, r
    return (math.exp((a + b) / 2.0) if log else (a + b) / 2.0), above


def coefficient_sensitivity(
    study: Study,
    names: Sequence[str] = ("kappa", "beta", "gamma"),
    *,
    intervals: Mapping[str, Sequence[float]] | None = None,
    observer: str | None = None,
    n_sims: int = DEFAULT_N_SIMS,
    rtol: float = 1e-4,
) -> xr.Dataset:
    """How the recommendation and p* move when each coefficient crosses its interval.

    Parameters
    ----------
    study
        The study (its exact observer's final belief, exact parameters, losses, actions,
        horizon and seed are used, as :meth:`secdilemma.Study.decide` uses them).
    names
        Coefficients to move, one at a time (fields of :class:`~secdilemma.model.ModelParams`:
        ``mu, alpha, beta, gamma, kappa, lam, sigma, anchor``).
    intervals
        ``{name: (q05, median, q95)}``; default the pooled reference's posterior
        (``[posterior.<name>]``).
    observer
        Observer kind of the belief (default the study's).
    n_sims
        Simulated futures per type, as in :meth:`secdilemma.Study.decide`.
    rtol
        Relative width at which the bisection for a switching value stops.

    Returns
    -------
    xarray.Dataset
        Over ``coefficient`` and ``level`` (``q05``, ``median``, ``q95``): ``value``,
        ``recommended``, ``threshold`` (p*), ``expected_utility`` (also over ``action``);
        ``study_value`` ``(coefficient)``, the study's own value; ``switch_value``
        ``(coefficient, segment)``, where the recommendation changes between two
        neighbouring levels (NaN where it does not); ``hinges`` ``(coefficient)``.
        attrs: ``baseline_recommended``, ``baseline_threshold`` (the decision at the study's
        values), ``sentences`` (JSON list, one per coefficient), ``kappa_pool`` and
        ``boundary_note`` (the pool's kappa and whether a point estimate sits at zero),
        ``belief``, ``n_sims``, ``seed``, ``intervals_source``.

    Examples
    --------
    >>> import secdilemma as sd
    >>> study = sd.Study("anglo_german_naval")
    >>> ds = coefficient_sensitivity(study, names=["anchor"], intervals={"anchor": (-1, 0, 1)})
    >>> ds["recommended"].values.tolist() == [[ds.attrs["baseline_recommended"]] * 3]
    True
    >>> json.loads(ds.attrs["sentences"])[0].startswith("anchor: the recommendation")
    True
    """
    names_t = _check_names(names, rtol)
    ranges, source = _intervals(study, names_t, intervals)
    post = study.belief("exact", observer=observer)
    belief = post["filtered"].isel(period=-1)
    base = study.exact_params().replace(**study._last_world())
    dec = study.spec.decision
    seed = study.spec.sampler.seed

    def run(params: ModelParams) -> xr.Dataset:
        return _decide(
            belief, params=params, losses=dec.losses_obj(), actions=dec.actions,
            horizon=dec.horizon, n_sims=n_sims, seed=seed,
        )  # fmt: skip

    baseline = run(base)
    rows = [_move(run, base, name, ranges[name], rtol) for name in names_t]
    sentences = [
        _sentence(
            name, ranges[name], r["rec"], r["thr"], r["switches"], baseline.attrs["recommended"]
        )
        for name, r in zip(names_t, rows, strict=True)
    ]
    switch = np.array([r["switch"] for r in rows])
    dims = ("coefficient", "level")
    ds = xr.Dataset(
        {
            "value": (dims, np.array([r["val"] for r in rows])),
            "recommended": (dims, np.array([r["rec"] for r in rows], dtype=object)),
            "threshold": (dims, np.array([r["thr"] for r in rows])),
            "expected_utility": ((*dims, "action"), np.array([r["eu"] for r in rows])),
            "study_value": ("coefficient", [float(np.mean(getattr(base, k))) for k in names_t]),
            "switch_value": (("coefficient", "segment"), switch),
            "hinges": ("coefficient", np.isfinite(switch).any(axis=1)),
        },
        coords={
            "coefficient": list(names_t),
            "level": list(LEVELS),
            "action": [str(a) for a in baseline["action"].values],
            "segment": list(_SEGMENTS),
        },
        attrs={
            "baseline_recommended": str(baseline.attrs["recommended"]),
            "baseline_threshold": float(baseline["threshold"]),
            "sentences": json.dumps(sentences),
            "belief": f"exact observer's belief at {int(post.period.values[-1])} "
            f"({study.params}), held fixed",
            "n_sims": int(n_sims),
            "seed": "none" if seed is None else str(seed),
            "intervals_source": source,
            **_kappa_notes(study, base),
        },
    )
    ds["switch_value"].attrs["long_name"] = (
        "where the recommendation changes between two neighbouring levels (bisection)"
    )
    return study._stamp(ds)


def _check_names(names: Sequence[str], rtol: float) -> tuple[str, ...]:
    names_t = (names,) if isinstance(names, str) else tuple(str(n) for n in names)
    bad = [n for n in names_t if n not in MOVABLE]
    if bad or not names_t or len(set(names_t)) != len(names_t):
        raise ParameterError(
            f"coefficient_sensitivity: `names` must be distinct coefficients from {MOVABLE}; "
            f"got {list(names_t)}."
        )
    if isinstance(rtol, bool) or not (isinstance(rtol, int | float) and 0 < rtol < 1):
        raise ParameterError(f"coefficient_sensitivity: `rtol` must be in (0, 1); got {rtol!r}.")
    return names_t


def _move(
    run: Callable[[ModelParams], xr.Dataset],
    base: ModelParams,
    name: str,
    levels: tuple[float, float, float],
    rtol: float,
) -> dict[str, Any]:
    """The decision with ``name`` at each level, and the switching values between them."""
    cache: dict[float, xr.Dataset] = {}

    def at(v: float) -> xr.Dataset:
        if v not in cache:
            cache[v] = run(base.replace(**{name: v}))
        return cache[v]

    res = [at(v) for v in levels]
    rec = [str(r.attrs["recommended"]) for r in res]
    switch = np.full(len(_SEGMENTS), np.nan)
    switches = []
    for s in range(len(_SEGMENTS)):
        if rec[s] != rec[s + 1]:
            x, above = _bisect(
                lambda v: str(at(v).attrs["recommended"]), levels[s], levels[s + 1], rtol
            )
            switch[s] = x
            switches.append((x, rec[s], above))
    return {
        "val": list(levels),
        "rec": rec,
        "thr": np.array([float(r["threshold"]) for r in res]),
        "eu": np.array([r["expected_utility"].values for r in res]),
        "switch": switch,
        "switches": switches,
    }


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _sentence(
    name: str,
    rng: tuple[float, float, float],
    rec: Sequence[str],
    thr: np.ndarray,
    switches: list[tuple[float, str, str]],
    baseline: str,
) -> str:
    span = f"[{_fmt(rng[0])}, {_fmt(rng[2])}]"
    if not switches:
        same = np.allclose(thr, thr[0], rtol=0.0, atol=5e-4, equal_nan=True)
        moves = (
            f"p* stays {thr[0]:.3f}"
            if same and np.isfinite(thr[0])
            else "p* does not change"
            if same
            else "p* moves " + " -> ".join(f"{t:.3f}" if np.isfinite(t) else "none" for t in thr)
        )
        return f"{name}: the recommendation ({rec[0]}) holds across its interval {span}; {moves}."
    if len(switches) == 1:
        x, below, above = switches[0]
        if baseline == below:
            return f"{name}: {below} holds only if {name} < {_fmt(x)}; above it, {above}."
        if baseline == above:
            return f"{name}: {above} holds only if {name} > {_fmt(x)}; below it, {below}."
        return f"{name}: {below} below {name} = {_fmt(x)}, {above} above (interval {span})."
    parts = [f"{switches[0][1]} if {name} < {_fmt(switches[0][0])}"]
    parts += [
        f"{b} between {_fmt(x0)} and {_fmt(x1)}"
        for (x0, _, b), (x1, _, _) in itertools.pairwise(switches)
    ]
    parts.append(f"{switches[-1][2]} above {_fmt(switches[-1][0])}")
    return f"{name}: the recommendation hinges on it: " + "; ".join(parts) + "."


def _kappa_notes(study: Study, base: ModelParams) -> dict[str, Any]:
    """The pool's kappa with its interval, and whether a kappa point sits at zero."""
    path = study.reference().path if study.params != "default" else None
    post = _pool_posterior(study)[0]
    notes: dict[str, Any] = {}
    if post is not None and "kappa" in post and "q05" in post["kappa"]:
        k = post["kappa"]
        notes["kappa_pool"] = (
            f"pool's kappa: {_fmt(k['median'])} [{_fmt(k['q05'])}, {_fmt(k['q95'])}] "
            "(posterior median [5 %, 95 %])"
        )
    boundary = []
    own = float(np.mean(np.asarray(base.kappa, dtype=float)))
    if own < BOUNDARY:
        boundary.append(
            f"the exact observer's kappa ({own:.2g}) sits at the boundary (zero): a greedy "
            "rival is never deterred under it"
        )
    try:
        point = float(np.mean(np.asarray(load_reference_point(path)[0].kappa, dtype=float)))
        ml = float(np.mean(np.asarray(load_reference_params(path).kappa, dtype=float)))
    except SpecError:  # a missing or odd reference only drops the note
        point, ml = float("nan"), float("nan")
    if point < BOUNDARY and own >= BOUNDARY:
        boundary.append(f"the reference point's kappa ({point:.2g}) sits at the boundary (zero)")
    if ml < BOUNDARY and point >= BOUNDARY:
        boundary.append(
            f"the pool's ML point estimate of kappa ({ml:.2g}) sits at the boundary; the exact "
            "observer reads the posterior median instead"
        )
    notes["boundary_note"] = "; ".join(boundary)
    return notes
