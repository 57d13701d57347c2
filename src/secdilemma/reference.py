"""The reference parameters: one pooled estimate over many rivalries, stored in ``models/``.

A single short case (the naval race has 17 years) cannot identify the reaction
coefficients on its own. The reference pools the rivalry windows below (shared
coefficients, each window with its own static type) and stores two summaries in
``models/reference_params.toml``:

- ``[params]``: the empirical-Bayes (type-II maximum likelihood) point estimate, the
  parameters of the exact observer (``secdilemma filter`` on a case);
- ``[posterior.<name>]``: the posterior of the shared coefficients ``alpha, beta, gamma,
  kappa`` from the full Bayesian fit (:class:`secdilemma.PerceptionModel`: one
  hierarchical model over all the windows, ``mu`` and ``sigma`` partially pooled by window,
  Student-t noise with ``nu`` fixed, the default priors), summarised on the log scale
  (median, sd of the log, 5% and 95%). A case spec with ``use_reference = true`` takes it as
  the prior of those coefficients (:func:`secdilemma.engines.pymc.resolve_priors`).

Regenerate both with ``python -m secdilemma.reference`` (``--out PATH`` to write elsewhere,
``--pool`` to list the pool and stop).

**The pool** is generated from the strategic-rivalry list of Thompson et al. (2021,
*Strategic Rivalries in World Politics*, 1494-2020; :func:`secdilemma.data.sources.
read_rivalries` ``("tss")``) and COW NMC military expenditure (``milex``), by this rule:

1. **Years.** Each rivalry spell's own years (``start`` to ``end``), within NMC's coverage
   (1816-2016), cut into eras of one NMC currency unit and no world war: NMC reports pounds
   sterling to 1913 and US dollars from 1914 (:data:`UNIT_BREAK`), and the years of the
   world wars (:data:`WAR_YEARS`) are dropped, since mobilisation spending is not a reaction
   function. The eras are 1816-1913, 1919-1938 and 1946-2016.
2. **Windows.** Inside each era, every run of at least :data:`MIN_YEARS` consecutive years in
   which both states have a positive NMC ``milex`` is a window (a year without both levels
   breaks the run: a change needs two consecutive levels).
3. **Orientation, one per rivalry spell.** The *rival* (whose changes the model explains) is
   the weaker state, the one with the lower mean NMC ``cinc`` over the spell's years in NMC;
   the stronger is the *observer*. A weaker state's spending is the more plausibly driven by
   this one rivalry, while a great power's answers many rivals at once, and the model reads
   the rival's changes as a reaction to one observer. One orientation only, because the
   reverse reads the same two series again (with the roles swapped) and would count each
   rivalry twice.
4. **Each rival-year once.** A state's changes enter the pool at most once per year as a
   rival's: windows are taken longest first (ties in the list's order), and a window is cut
   where its rival is already the rival of a window taken before; what remains is kept where
   it still has a run of :data:`MIN_YEARS` years.
5. **The bundled cases are left out.** The state pairs of the bundled cases
   (:data:`secdilemma.data.catalog.CASES`: UKG-GMY, USA-RUS, USA-CHN) are not in the pool,
   in any years, so that a case's prior (``use_reference``) never counts its own data; for
   any other dyad whose pair is in the pool, :func:`reference_for` gives the pool without it
   (leave-one-out).

:func:`reference_dyads` applies the rule; ``python -m secdilemma.reference --pool`` prints the
list. The windows are the rule's, not claims about when a rivalry began or ended.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import hashlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from secdilemma._paths import models_dir
from secdilemma._version import __version__
from secdilemma.data import make_dyad, resolve_country, to_moves
from secdilemma.data.catalog import CASES
from secdilemma.data.sources import read_nmc, read_rivalries
from secdilemma.engines.exact import estimate_params
from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel
from secdilemma.errors import DataError, SpecError
from secdilemma.io import atomic_write
from secdilemma.model import ModelParams
from secdilemma.spec import ModelSpec
from secdilemma.spec.reference import (
    REFERENCE_FILE,
    REFERENCE_NU,
    SHARED,
    load_reference_params,
    load_reference_posterior,
)

__all__ = [
    "MIN_YEARS",
    "REFERENCE_DYADS",
    "UNIT_BREAK",
    "WAR_YEARS",
    "PoolReference",
    "ReferenceDyad",
    "build_reference",
    "case_pairs",
    "eras",
    "is_pool_member",
    "load_reference_params",
    "load_reference_posterior",
    "pool_windows",
    "reference_cache_dir",
    "reference_dyads",
    "reference_for",
    "reference_moves",
]

#: The rivalry list the pool is drawn from (:func:`secdilemma.data.sources.read_rivalries`).
RIVALRY_LIST: Literal["tss", "td"] = "tss"
#: Fewest consecutive years with both states' NMC ``milex`` that make a window.
MIN_YEARS = 15
#: NMC's ``milex`` is in pounds sterling before this year and in US dollars from it.
UNIT_BREAK = 1914
#: Years left out of every window (the world wars).
WAR_YEARS: tuple[tuple[int, int], ...] = ((1914, 1918), (1939, 1945))
#: Seed of the reference's PyMC fit.
REFERENCE_SEED = 2026
#: Sampler settings of the reference's PyMC fit. 2,500 draws a chain: on the generated pool
#: ``alpha`` (greed's drift, traded against the windows' own drifts ``mu_dyad``) and
#: ``mu_tau`` mix slowly: with 1,000 draws (seed 2026) their bulk ESS was 417-552 and R-hat
#: 1.010-1.013, at or over the gate; with 2,500, ESS 1,059-1,120 and R-hat 1.003-1.008 on
#: seeds 1, 3, 4 and 2026 (benchmarks/README.md).
SAMPLER: dict[str, Any] = {
    "chains": 4, "draws": 2500, "tune": 1000, "seed": REFERENCE_SEED, "target_accept": 0.9,
}  # fmt: skip
#: Part of the key of every cached leave-one-out reference: bump when their meaning changes.
_CACHE_FORMAT = 1


@dataclass(frozen=True)
class ReferenceDyad:
    """One rivalry window of the reference pool (COW abbreviations and codes, inclusive
    years; ``note`` the rivalry's name in the list)."""

    observer: str
    rival: str
    start: int
    end: int
    note: str = ""
    observer_code: int | None = None
    rival_code: int | None = None

    @property
    def name(self) -> str:
        """``"OBS-RIV start-end"``, the window's name in the pool's ``dyad`` coordinate."""
        return f"{self.observer}-{self.rival} {self.start}-{self.end}"

    @property
    def codes(self) -> frozenset[int]:
        """The unordered pair of COW codes."""
        obs = self.observer_code or resolve_country(self.observer).ccode
        riv = self.rival_code or resolve_country(self.rival).ccode
        return frozenset({obs, riv})


# -- the pool -----------------------------------------------------------------------------------
def eras(first: int, last: int) -> list[tuple[int, int]]:
    """The years ``first..last`` cut into eras of one NMC currency unit (split before
    :data:`UNIT_BREAK`) without the :data:`WAR_YEARS`, as inclusive ``(start, end)``.

    Examples
    --------
    >>> eras(1900, 1950)
    [(1900, 1913), (1919, 1938), (1946, 1950)]
    """
    out: list[tuple[int, int]] = []
    for y in range(first, last + 1):
        if any(a <= y <= b for a, b in WAR_YEARS):
            continue
        if out and y == out[-1][1] + 1 and y != UNIT_BREAK:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


def _runs(ok: npt.NDArray[np.bool_], years: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """``(first, last)`` year of every run of consecutive true ``ok`` of at least
    :data:`MIN_YEARS` (``years`` consecutive)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    return [
        (int(years[a]), int(years[b - 1]))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= MIN_YEARS
    ]


def case_pairs() -> frozenset[frozenset[int]]:
    """The COW code pairs of the bundled cases' observer-rival dyads (an observer that is an
    aggregate of states, such as NATO Europe, is no pair)."""
    pairs: set[frozenset[int]] = set()
    for case in CASES.values():
        rival = resolve_country(case.rival).ccode
        for observer in case.observers.values():
            try:
                pairs.add(frozenset({resolve_country(observer).ccode, rival}))
            except DataError:
                continue
    return frozenset(pairs)


def _candidates(
    rivalries: pd.DataFrame, milex: pd.DataFrame, cinc: pd.DataFrame
) -> Iterator[tuple[ReferenceDyad, int]]:
    """Rules 1-3 and 5 of the module docstring: every window of every rivalry spell, oriented,
    with the spell's id."""
    excluded = case_pairs()
    y0, y1 = int(milex.index.min()), int(milex.index.max())
    for row in rivalries.to_dict("records"):
        a, b = int(row["ccode1"]), int(row["ccode2"])
        first, last = max(int(row["start"]), y0), min(int(row["end"]), y1)
        if frozenset({a, b}) in excluded or a not in milex or b not in milex or last < first:
            continue
        strength = cinc.loc[first:last, [a, b]].mean().fillna(0.0)
        obs, riv = (a, b) if strength[a] >= strength[b] else (b, a)
        names = resolve_country(obs).abb, resolve_country(riv).abb
        for e0, e1 in eras(first, last):
            years = np.arange(e0, e1 + 1)
            levels = milex.reindex(index=years, columns=[obs, riv])
            for s, e in _runs((levels > 0).all(axis=1).to_numpy(), years):
                yield ReferenceDyad(*names, s, e, str(row["name"]), obs, riv), int(row["id"])


def _each_rival_year_once(
    candidates: list[tuple[ReferenceDyad, int]],
) -> tuple[ReferenceDyad, ...]:
    """Rule 4: longest first (ties in list order), each window cut where its rival is
    already a rival, the remaining runs of :data:`MIN_YEARS` kept; sorted by start year."""
    order = sorted(candidates, key=lambda c: (c[0].start - c[0].end, c[1], c[0].start))
    taken: dict[int | None, set[int]] = {}
    out: list[ReferenceDyad] = []
    for d, _ in order:
        years = np.arange(d.start, d.end + 1)
        used = taken.setdefault(d.rival_code, set())
        for s, e in _runs(np.array([y not in used for y in years]), years):
            out.append(replace(d, start=s, end=e))
            used.update(range(s, e + 1))
    return tuple(sorted(out, key=lambda d: (d.start, d.observer, d.rival)))


@functools.cache
def reference_dyads() -> tuple[ReferenceDyad, ...]:
    """The reference pool: the windows the rule of the module docstring selects from
    :data:`RIVALRY_LIST` and NMC (read once per process)."""
    nmc = read_nmc()
    milex = nmc.pivot_table(index="year", columns="ccode", values="milex")
    cinc = nmc.pivot_table(index="year", columns="ccode", values="cinc")
    rivalries = read_rivalries(RIVALRY_LIST)
    return _each_rival_year_once(list(_candidates(rivalries, milex, cinc)))


#: The pool (:func:`reference_dyads`), read from the data files on first use.
REFERENCE_DYADS: tuple[ReferenceDyad, ...]


def __getattr__(name: str) -> Any:
    # REFERENCE_DYADS is generated from the data files: read on first use, not on import
    if name == "REFERENCE_DYADS":
        return reference_dyads()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reference_moves(dyads: tuple[ReferenceDyad, ...] | None = None) -> xr.Dataset:
    """The pooled moves (``dx``, ``u`` over ``dyad``, ``period``) of the pool's windows
    (default :func:`reference_dyads`).

    Periods are aligned by position (0 = first year of each window) and padded with NaN,
    so windows of different lengths share one array; the years are kept in ``year``.
    """
    dyads = reference_dyads() if dyads is None else dyads
    parts = []
    for d in dyads:
        ds = make_dyad(d.observer_code or d.observer, d.rival_code or d.rival, source="nmc",
                       start=d.start, end=d.end, variable="milex")  # fmt: skip
        mv = to_moves(ds, variable="milex")
        n = mv.sizes["period"]
        parts.append(
            xr.Dataset(
                {
                    "dx": ("period", mv["dx"].values),
                    "u": ("period", mv["u"].values),
                    "year": ("period", mv["period"].values.astype(float)),
                },
                coords={"period": np.arange(n)},
            )
        )
    names = [d.name for d in dyads]
    return xr.concat(parts, dim="dyad", join="outer").assign_coords(dyad=names)


# -- the fits -----------------------------------------------------------------------------------
def reference_posterior(
    moves: xr.Dataset | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Fit the pooled hierarchical model (PyMC, nutpie) and summarise the shared coefficients.

    Returns ``({name: {median, log_sd, q05, q95}}, diagnostics)``; raises
    :class:`~secdilemma.errors.SpecError` when the fit fails the diagnostics gate (a reference
    prior must not come from an untrustworthy posterior).
    """
    moves = reference_moves() if moves is None else moves
    spec = ModelSpec.from_dict(
        {
            "meta": {"name": "reference_pool"},
            "priors": {"nu": REFERENCE_NU, "hierarchical": ["mu", "sigma"]},
            "sampler": dict(SAMPLER),
        }
    )
    model = PerceptionModel(spec, data=moves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(progressbar=False)
    tree = model.idata_
    diag = model.diagnostics_
    assert tree is not None  # set by fit()
    assert diag is not None
    if not diag["ok"]:
        raise SpecError(
            "the reference fit fails the diagnostics gate "
            f"({'; '.join(diag['problems'])}); not writing a reference prior from it."
        )
    post = tree["posterior"].to_dataset()
    out: dict[str, dict[str, float]] = {}
    for name in SHARED:
        logs = np.log(np.asarray(post[name].values).reshape(-1))
        q05, q50, q95 = np.quantile(logs, [0.05, 0.5, 0.95])
        out[name] = {
            "median": float(np.exp(q50)),
            "log_sd": float(logs.std(ddof=1)),
            "q05": float(np.exp(q05)),
            "q95": float(np.exp(q95)),
        }
    return out, diag


def _toml_list(names: list[str]) -> str:
    return "[\n" + "".join(f"  {json.dumps(n)},\n" for n in names) + "]"


def _header(moves: xr.Dataset, est: Any, note: str) -> list[str]:
    """The file's comments, ``[meta]`` (with the pool's windows) and ``[params]``."""
    names = [str(n) for n in moves.dyad.values]
    n_years = int(np.isfinite(moves["dx"].values).sum()) + len(names)
    return [
        "# Reference parameters: pooled estimates over the rivalry windows in [meta] pool.",
        "# Generated by `python -m secdilemma.reference`; do not edit by hand.",
        "# Units: changes of log military expenditure (NMC milex) per year.",
        f"# {note}",
        "",
        "[meta]",
        f'secdilemma_version = "{__version__}"',
        f'generated = "{_dt.date.today().isoformat()}"',
        f'rivalry_list = "{RIVALRY_LIST}"',
        f"n_dyads = {len(names)}",
        f"n_years = {n_years}",
        f"n_obs = {est.n_obs}",
        f"log_evidence = {est.log_evidence:.6f}",
        f"converged = {str(est.converged).lower()}",
        'method = "type-II maximum likelihood, static types summed out, uniform type prior"',
        f"pool = {_toml_list(names)}",
        "",
        "# [params]: the point estimate, used by the exact observer.",
        "[params]",
        *[f"{k} = {v:.6g}" for k, v in est.summary()["estimated"].items()],
        f"nu = {REFERENCE_NU:g}  # fixed, not estimated: Student-t degrees of freedom",
        "",
    ]


def _posterior_lines(post: dict[str, dict[str, float]], diag: dict[str, Any]) -> list[str]:
    lines = [
        f"# [posterior.*]: the full Bayesian fit (PerceptionModel, nutpie, {SAMPLER['chains']}"
        f" x {SAMPLER['draws']} draws,",
        f"# seed {REFERENCE_SEED}): one hierarchical model over the pool, mu and sigma",
        "# partially pooled by window, default priors, nu fixed. Summaries on the log scale;",
        "# a case spec with use_reference = true takes LogNormal(median, log_sd) from here,",
        "# widened by its reference_log_sd.",
        "[posterior.meta]",
        'method = "PyMC hierarchical fit, static types summed out, uniform type prior"',
        f"max_rhat = {diag['max_rhat']:.4f}",
        f"min_ess_bulk = {diag['min_ess_bulk']:.0f}",
        f"divergences = {diag['divergences']}",
        "",
    ]
    for name, st in post.items():
        lines += [f"[posterior.{name}]", *[f"{k} = {v:.6g}" for k, v in st.items()], ""]
    return lines


def build_reference(
    *,
    out: Path | None = None,
    overwrite: bool = False,
    posterior: bool = True,
    dyads: tuple[ReferenceDyad, ...] | None = None,
    moves: xr.Dataset | None = None,
    note: str = "The pool: every rivalry window of the rule in secdilemma.reference.",
) -> dict[str, Any]:
    """Estimate the pooled parameters and write them to ``out`` (default
    ``models/reference_params.toml``): the empirical-Bayes point estimate and
    (``posterior=True``) the full Bayesian fit's posterior summary of the shared
    coefficients. ``dyads`` (default :func:`reference_dyads`) or their ``moves`` are the pool.
    Returns a plain-data summary (``path``, the estimates, ``seconds``)."""
    t0 = _dt.datetime.now()
    moves = reference_moves(dyads) if moves is None else moves
    # Student-t noise: wars, currency shocks and data revisions give heavy tails (with
    # Gaussian noise the pooled log evidence was lower by about 150 on the first pool).
    # Started from the windows' median drift: from mu = 0, four starts ended on the 87
    # windows of the first generated pool at a log evidence of -42.4 (mu -0.48, alpha 0.53:
    # no window read as insecure), against -2.4 from here (as with 16 starts from 0).
    drift = float(np.nanmedian(np.nanmean(moves["dx"].values, axis=-1)))
    base = ModelParams(nu=REFERENCE_NU, sigma=0.2, mu=drift)
    est = estimate_params(moves, base=base, n_starts=4)
    target = out if out is not None else models_dir() / REFERENCE_FILE
    lines = _header(moves, est, note)
    summary: dict[str, Any] = {"path": str(target), **est.summary()}
    if posterior:
        post, diag = reference_posterior(moves)
        lines += _posterior_lines(post, diag)
        summary["posterior"] = post
        summary["posterior_diagnostics"] = {
            k: diag[k] for k in ("max_rhat", "min_ess_bulk", "divergences")
        }
    text = "\n".join(lines)
    atomic_write(target, lambda p: p.write_text(text), overwrite=overwrite)
    summary["seconds"] = (_dt.datetime.now() - t0).total_seconds()
    return summary


# -- leave one out ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolReference:
    """The reference a study of one dyad should take its priors from.

    Attributes
    ----------
    path
        A file in the format of ``models/reference_params.toml`` (read it with
        :func:`load_reference_params` and :func:`load_reference_posterior`).
    label
        ``"pool"`` (the stored reference) or ``"pool without OBS-RIV"``.
    member
        Whether the dyad's pair of states is in the pool.
    left_out
        The names of the windows left out (empty when not a member).
    """

    path: Path
    label: str
    member: bool
    left_out: tuple[str, ...] = ()


def pool_windows(observer: int | str, rival: int | str) -> tuple[ReferenceDyad, ...]:
    """The pool's windows of the pair of states ``observer``, ``rival`` (either orientation,
    any years; COW codes, abbreviations or names); empty when the pair is not in the pool."""
    pair = frozenset(
        {
            resolve_country(observer, argument="observer").ccode,
            resolve_country(rival, argument="rival").ccode,
        }
    )
    return tuple(d for d in reference_dyads() if d.codes == pair)


def is_pool_member(observer: int | str, rival: int | str) -> bool:
    """Whether the pair of states ``observer``, ``rival`` is in the reference pool."""
    return bool(pool_windows(observer, rival))


def reference_cache_dir() -> Path:
    """Where leave-one-out references are cached: ``$SECDILEMMA_CACHE_DIR/reference``, or
    ``$XDG_CACHE_HOME/secdilemma/reference`` (default ``~/.cache``)."""
    root = os.environ.get("SECDILEMMA_CACHE_DIR")
    if root:
        return Path(root) / "reference"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "secdilemma" / "reference"


def _cache_key(moves: xr.Dataset) -> str:
    """What a pooled fit depends on: the pool's moves, its settings and the version."""
    h = hashlib.sha256()
    meta = {"format": _CACHE_FORMAT, "version": __version__, "sampler": SAMPLER,
            "nu": REFERENCE_NU, "dyads": [str(n) for n in moves.dyad.values]}  # fmt: skip
    h.update(json.dumps(meta, sort_keys=True).encode())
    for var in ("dx", "u"):
        h.update(np.ascontiguousarray(moves[var].values, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def reference_for(observer: int | str, rival: int | str) -> PoolReference:
    """The reference for a study of the dyad ``observer``, ``rival``: the stored one
    (``models/reference_params.toml``, label ``"pool"``) when their pair of states is not in
    the pool, else the pool without every window of that pair (label ``"pool without
    OBS-RIV"``).

    A leave-one-out reference is one pooled fit (the point estimate and the PyMC posterior,
    as :func:`build_reference`): computed on first use and cached under
    :func:`reference_cache_dir`, keyed by the remaining pool's data and settings, so a second
    call (in any process) reads the file. Raises
    :class:`~secdilemma.errors.SpecError` when that fit fails the diagnostics gate.
    """
    windows = pool_windows(observer, rival)
    if not windows:
        return PoolReference(models_dir() / REFERENCE_FILE, "pool", member=False)
    pair = f"{windows[0].observer}-{windows[0].rival}"
    rest = tuple(d for d in reference_dyads() if d not in windows)
    moves = reference_moves(rest)
    path = reference_cache_dir() / f"without-{pair}-{_cache_key(moves)}.toml"
    if not path.is_file():
        note = f"The pool without {pair} (leave-one-out: {', '.join(d.name for d in windows)})."
        build_reference(out=path, overwrite=True, moves=moves, note=note)
    return PoolReference(path, f"pool without {pair}", True, tuple(d.name for d in windows))


# -- the command --------------------------------------------------------------------------------
def _print_pool(dyads: tuple[ReferenceDyad, ...]) -> None:
    for d in dyads:
        print(f"{d.name:22s} {d.end - d.start + 1:3d} years  {d.note}")
    years = sum(d.end - d.start + 1 for d in dyads)
    print(f"{len(dyads)} windows, {years} rival-years, {len({d.codes for d in dyads})} pairs")


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate models/reference_params.toml.")
    ap.add_argument("--out", type=Path, default=None, help="write here instead")
    ap.add_argument("--overwrite", action="store_true", default=True)
    ap.add_argument(
        "--no-posterior", action="store_true", help="only the point estimate (no PyMC fit)"
    )
    ap.add_argument("--pool", action="store_true", help="list the pool's windows and stop")
    ap.add_argument(
        "--without", nargs=2, metavar=("OBSERVER", "RIVAL"), default=None,
        help="the leave-one-out reference of this dyad (cached; printed path and label)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.pool:
        _print_pool(reference_dyads())
        return 0
    if args.without is not None:
        ref = reference_for(*args.without)
        print({"path": str(ref.path), "label": ref.label, "left_out": list(ref.left_out)})
        return 0
    res = build_reference(out=args.out, overwrite=args.overwrite, posterior=not args.no_posterior)
    print(res)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
