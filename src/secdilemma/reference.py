"""The reference parameters: one pooled estimate over many rivalries, stored in ``models/``.

A single short case (the naval race has 17 years) cannot identify the reaction
coefficients on its own. The reference pools the rival dyads below (shared coefficients,
each dyad with its own static type) and stores two summaries in
``models/reference_params.toml``:

- ``[params]``: the empirical-Bayes (type-II maximum likelihood) point estimate, the
  parameters of the exact observer (``secdilemma filter`` on a case);
- ``[posterior.<name>]``: the posterior of the shared coefficients ``alpha, beta, gamma,
  kappa`` from the full Bayesian fit (:class:`secdilemma.PerceptionModel`: one
  hierarchical model over all the dyads, ``mu`` and ``sigma`` partially pooled by dyad,
  Student-t noise with ``nu`` fixed, the default priors), summarised on the log scale
  (median, sd of the log, 5% and 95%). A case spec with ``use_reference = true`` takes it as
  the prior of those coefficients (:func:`secdilemma.engines.pymc.resolve_priors`).

The bundled cases use it, so that each case's own data mainly inform its *type*.
Regenerate both with (about a minute on 2 cores)::

    python -m secdilemma.reference

The four bundled cases are *not* in the pool (their own data would otherwise count twice),
and no rival series appears twice over the same years (the model reads each rival's
changes as a reaction to one observer).

The dyads are the developers' selection of widely studied strategic rivalries (cf.
Thompson 2001, "Identifying Rivals and Rivalries in World Politics", ISQ 45(4); Colaresi,
Rasler & Thompson 2007, *Strategic Rivalries in World Politics*). The year ranges are the
windows used here, chosen to stay inside one NMC currency unit (before 1914 or from 1914
on) and away from the world wars, whose mobilisation spending is not a reaction function;
they are not claims about when each rivalry began or ended.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from secdilemma._paths import models_dir
from secdilemma._version import __version__
from secdilemma.data import make_dyad, to_moves
from secdilemma.engines.exact import estimate_params
from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel
from secdilemma.errors import SpecError
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
    "REFERENCE_DYADS",
    "ReferenceDyad",
    "build_reference",
    "load_reference_params",
    "load_reference_posterior",
    "reference_moves",
]

#: Seed of the reference's PyMC fit.
REFERENCE_SEED = 2026


@dataclass(frozen=True)
class ReferenceDyad:
    """One rivalry window of the reference pool (NMC codes, inclusive years)."""

    observer: str
    rival: str
    start: int
    end: int
    note: str = ""


REFERENCE_DYADS: tuple[ReferenceDyad, ...] = (
    ReferenceDyad("FRN", "GMY", 1872, 1913, "Franco-German antagonism after 1871"),
    ReferenceDyad("UKG", "FRN", 1872, 1904, "Anglo-French colonial rivalry to the Entente"),
    ReferenceDyad("UKG", "RUS", 1872, 1907, "the Great Game to the Anglo-Russian Convention"),
    ReferenceDyad("RUS", "JPN", 1890, 1913, "Russo-Japanese rivalry"),
    ReferenceDyad("USA", "JPN", 1920, 1940, "interwar Pacific naval rivalry"),
    ReferenceDyad("RUS", "CHN", 1960, 1989, "Sino-Soviet split"),
    ReferenceDyad("IND", "PAK", 1950, 2016, "India-Pakistan"),
    ReferenceDyad("GRC", "TUR", 1955, 2016, "Greece-Turkey"),
    ReferenceDyad("ISR", "EGY", 1950, 1979, "Israel-Egypt to the peace treaty"),
    ReferenceDyad("ISR", "SYR", 1950, 2010, "Israel-Syria"),
    ReferenceDyad("IRN", "IRQ", 1960, 1988, "Iran-Iraq"),
    ReferenceDyad("IND", "CHN", 1962, 2016, "China-India"),
    ReferenceDyad("ROK", "PRK", 1960, 2016, "the two Koreas"),
)


def reference_moves(dyads: tuple[ReferenceDyad, ...] = REFERENCE_DYADS) -> xr.Dataset:
    """The pooled moves (``dx``, ``u`` over ``dyad``, ``period``) of the reference dyads.

    Periods are aligned by position (0 = first year of each window) and padded with NaN,
    so dyads of different lengths share one array; the years are kept in ``year``.
    """
    parts = []
    for d in dyads:
        ds = make_dyad(d.observer, d.rival, source="nmc", start=d.start, end=d.end)
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
    names = [f"{d.observer}-{d.rival} {d.start}-{d.end}" for d in dyads]
    return xr.concat(parts, dim="dyad", join="outer").assign_coords(dyad=names)


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
            "sampler": {"chains": 4, "draws": 1000, "tune": 1000, "seed": REFERENCE_SEED,
                        "target_accept": 0.9},
        }
    )  # fmt: skip
    model = PerceptionModel(spec, data=moves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(progressbar=False)
    tree = model.idata_
    assert tree is not None
    diag = model.diagnostics_
    assert diag is not None  # set by fit()
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


def build_reference(
    *, out: Path | None = None, overwrite: bool = False, posterior: bool = True
) -> dict[str, Any]:
    """Estimate the pooled parameters and write them to ``models/reference_params.toml``:
    the empirical-Bayes point estimate and (``posterior=True``) the full Bayesian fit's
    posterior summary of the shared coefficients."""
    moves = reference_moves()
    # Student-t noise: wars, currency shocks and data revisions give heavy tails (with
    # Gaussian noise the pooled log evidence is lower by about 150 on these dyads).
    est = estimate_params(moves, base=ModelParams(nu=REFERENCE_NU, sigma=0.2), n_starts=4)
    target = out if out is not None else models_dir() / REFERENCE_FILE
    values = est.summary()["estimated"]
    lines = [
        "# Reference parameters: pooled estimates over the rivalries below.",
        "# Generated by `python -m secdilemma.reference`; do not edit by hand.",
        "# Units: changes of log military expenditure (NMC milex) per year.",
        "# Pool (observer-rival, years): " + "; ".join(str(x) for x in moves.dyad.values),
        "",
        "[meta]",
        f'secdilemma_version = "{__version__}"',
        f'generated = "{_dt.date.today().isoformat()}"',
        f"n_dyads = {moves.sizes['dyad']}",
        f"n_obs = {est.n_obs}",
        f"log_evidence = {est.log_evidence:.6f}",
        f"converged = {str(est.converged).lower()}",
        'method = "type-II maximum likelihood, static types summed out, uniform type prior"',
        "",
        "# [params]: the point estimate, used by the exact observer.",
        "[params]",
        *[f"{k} = {v:.6g}" for k, v in values.items()],
        f"nu = {REFERENCE_NU:g}  # fixed, not estimated: Student-t degrees of freedom",
        "",
    ]
    summary: dict[str, Any] = {"path": str(target), **est.summary()}
    if posterior:
        post, diag = reference_posterior(moves)
        lines += [
            "# [posterior.*]: the full Bayesian fit (PerceptionModel, nutpie, 4 x 1000 draws,",
            f"# seed {REFERENCE_SEED}): one hierarchical model over the pool, mu and sigma",
            "# partially pooled by dyad, default priors, nu fixed. Summaries on the log scale;",
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
            lines += [
                f"[posterior.{name}]",
                *[f"{k} = {v:.6g}" for k, v in st.items()],
                "",
            ]
        summary["posterior"] = post
        summary["posterior_diagnostics"] = {
            k: diag[k] for k in ("max_rhat", "min_ess_bulk", "divergences")
        }
    text = "\n".join(lines)
    atomic_write(target, lambda p: p.write_text(text), overwrite=overwrite)
    return summary


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate models/reference_params.toml.")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--overwrite", action="store_true", default=True)
    ap.add_argument(
        "--no-posterior", action="store_true", help="only the point estimate (no PyMC fit)"
    )
    args = ap.parse_args(argv)
    res = build_reference(out=args.out, overwrite=args.overwrite, posterior=not args.no_posterior)
    print(res)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
