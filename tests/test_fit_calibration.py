"""Calibration of the full Bayesian fit (:class:`secdilemma.PerceptionModel`, nutpie).

Two checks against a known truth, both on dyads from :func:`secdilemma.model.simulate`:

**Recovery and coverage** (fixed, moderate truth). The reaction coefficients are the
default model at effect size ``c = alpha / sigma = 1`` (``alpha = 0.05, beta = 0.6,
gamma = 0.6, kappa = 0.3``), shared by all dyads; ``mu`` and ``sigma`` vary by dyad around
``mu = 0`` (sd ``0.02``) and ``sigma = 0.05`` (log sd ``0.3``), the partial pooling of the
default spec (``priors.hierarchical = ["mu", "sigma"]``). Types are drawn uniformly per
dyad. Each fit takes :data:`N_DYADS` dyads of :data:`N_PERIODS` periods with the default
spec (the data-derived priors included), 2 chains x 1000 draws. Checked: the true type has
the highest posterior in the great majority of dyads; the posterior type probabilities are
not overconfident (their mean maximum does not exceed the accuracy); 90 % intervals (5-95 %
quantiles) of every parameter cover the truth about 90 % of the time. The table also gives
the coverage of ``P(type | data, theta)`` at the true parameters where the type is
uncertain; at this one fixed truth it is below 90 % (about 0.81), so it is reported, not
asserted here, and its calibration over the prior is asserted in the SBC instead. The
table also shows an *oracle* that knows the true parameters (the exact filter at the
truth): the fit is less sure than the oracle because the per-dyad drift ``mu_d`` is partly
confounded with greed's autonomous growth ``alpha`` (types differ in their drift by
``alpha``), which the oracle knows and the fit must learn.

**Simulation-based calibration** (Talts et al. 2018). Parameters are drawn *directly* in
numpy from the priors the spec states (so the PyMC implementation of the priors is checked
too), dyads simulated, the model fitted, and the rank of each true value among 100
posterior draws (thinned evenly from 2 x 1000) computed. Under a correct posterior the
ranks are uniform. The type is discrete: its rank is the randomised PIT
``mean_s P_s(z < z*) + U * mean_s P_s(z = z*)`` from the Rao-Blackwellised per-draw type
probabilities (types in the order of the type space), uniform on (0, 1) under calibration.
So is the rank of ``P(k | data, true theta)`` among its per-draw values, ``k`` the most
probable type of the dyad (chosen from the data alone), and its 90 % interval must cover
it about 90 % of the time where the posterior is uncertain (``P(k) <`` :data:`UNCERTAIN`).
The per-dyad parameters use the first dyad of each fit (independent across fits), the
type quantities every dyad (mildly dependent within a fit through the shared parameters).
Uniformity: chi-square on 10 equal bins and Kolmogorov-Smirnov on the normalised ranks
(jittered by U(0, 1) to be continuous).

Tolerances (stated once, used by all tests):

* binomial coverage checks accept ``k`` covered out of ``n`` when ``k`` lies in the central
  99.8 % of Binomial(n, 0.9) (:func:`coverage_ok`);
* the SBC p-values must exceed :data:`SBC_ALPHA` / (number of p-values) (Bonferroni at a
  family-wise level of 1 %).

A regression test checks that a cached compiled model follows the ``priors.tau`` of the
spec it is reused for (it did not: see the test).

The compiled nutpie model is cached by structure in :mod:`secdilemma.engines.pymc.sampling` and
only the ``pm.Data`` values change between fits, so every fit here after the first (about 40 s of
numba compilation) takes a few seconds. Recovery and SBC use the same structure (same
distributions, hierarchy and data shape), so they share one compilation.

Run ``python tests/test_fit_calibration.py`` to print the recovery table and the SBC
figures (at the sizes of the slow tests).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel, diagnostics
from secdilemma.model import ModelParams, loglik_components
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.spec import ModelSpec

TYPES = TypeSpace.default()
N_DYADS = 8  # dyads per fit (shared coefficients, mu and sigma partially pooled)
N_PERIODS = 40
CHAINS, DRAWS, TUNE = 2, 1000, 1000
LEVEL = 0.9  # nominal coverage of the (5 %, 95 %) intervals
INTERVAL = (0.05, 0.95)
COVER_TAIL = 0.001  # each tail of the binomial acceptance region of coverage_ok
SBC_ALPHA = 0.01  # family-wise level of the SBC uniformity tests (Bonferroni)
SBC_DRAWS = 100  # posterior draws kept per fit for the ranks
SBC_BINS = 10
UNCERTAIN = 0.95  # a dyad is uncertain when its most probable type has P < this
RECOVERY_FITS = 60  # fits of N_DYADS dyads in the slow recovery test
SBC_FITS = 150  # fits (data sets drawn from the prior) in the SBC test

#: Recovery truth: moderate effect (c = alpha / sigma = 1), mu and sigma varying by dyad.
TRUTH = ModelParams(mu=0.0, alpha=0.05, beta=0.6, gamma=0.6, kappa=0.3, sigma=0.05)
TRUE_TAU = {"mu": 0.02, "sigma": 0.3}
SHARED = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")  # one value per fit
HYPER = ("mu_tau", "sigma_tau")
PER_DYAD = ("mu_dyad", "sigma_dyad")

#: SBC priors (explicit, so nothing is derived from the data and the prior is the same for
#: every simulated data set): centred on the moderate regime, log sd 0.5 for the slopes.
SBC_PRIORS: dict[str, dict[str, Any]] = {
    "mu": {"dist": "normal", "mu": 0.0, "sigma": 0.03},
    "alpha": {"dist": "lognormal", "median": 0.05, "log_sd": 0.5},
    "beta": {"dist": "lognormal", "median": 0.6, "log_sd": 0.5},
    "gamma": {"dist": "lognormal", "median": 0.6, "log_sd": 0.5},
    "kappa": {"dist": "lognormal", "median": 0.3, "log_sd": 0.5},
    "sigma": {"dist": "lognormal", "median": 0.05, "log_sd": 0.3},
}
SBC_TAU = {"mu": 0.02, "sigma": 0.3}  # HalfNormal scales of the population sds


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def coverage_ok(k: int, n: int, level: float = LEVEL, tail: float = COVER_TAIL) -> bool:
    """Whether ``k`` of ``n`` intervals covering the truth is within the central
    ``1 - 2 * tail`` region of Binomial(n, level)."""
    lo = stats.binom.ppf(tail, n, level)
    hi = stats.binom.isf(tail, n, level)
    return bool(lo <= k <= hi)


def _seeds(seed: int, n: int) -> Iterator[tuple[np.random.Generator, int]]:
    """Per fit: a generator for the data and an integer seed for the sampler."""
    for child in np.random.SeedSequence(seed).spawn(n):
        data_ss, sampler_ss = child.spawn(2)
        yield np.random.default_rng(data_ss), int(sampler_ss.generate_state(1)[0] % 2**31)


def _fit(spec: ModelSpec, data: xr.Dataset, seed: int) -> tuple[xr.DataTree, dict[str, Any]]:
    """Fit (nutpie, reusing the compiled model) and return the result tree and diagnostics;
    fits that fail the diagnostics gate are kept (dropping them would bias the checks) and
    counted."""
    m = PerceptionModel(spec, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tree = m.fit(chains=CHAINS, draws=DRAWS, tune=TUNE, seed=seed, progressbar=False).idata_
    assert tree is not None
    return tree, m.diagnostics_ or diagnostics(tree)


def _flat(post: xr.Dataset, name: str) -> np.ndarray:
    """Draws ``(S,)`` or ``(S, D)`` of a posterior variable, chains concatenated."""
    v = post[name]
    dims = ("chain", "draw", *[d for d in v.dims if d not in ("chain", "draw")])
    arr = v.transpose(*dims).values
    return arr.reshape(arr.shape[0] * arr.shape[1], *arr.shape[2:])


def _oracle(data: xr.Dataset, params: ModelParams) -> np.ndarray:
    """``P(type | data, true parameters)`` per dyad ``(D, K)``, uniform type prior."""
    ll, _ = loglik_components(data["dx"].values, data["u"].values, params, TYPES)
    tot = ll.sum(axis=1)
    tot -= tot.max(axis=-1, keepdims=True)
    p = np.exp(tot)
    return np.asarray(p / p.sum(axis=-1, keepdims=True))


def _draw_types(rng: np.random.Generator, n: int) -> list[str]:
    return [TYPES.names[i] for i in rng.integers(TYPES.n_types, size=n)]


# ---------------------------------------------------------------------------------------------
# Recovery and coverage at a fixed truth
# ---------------------------------------------------------------------------------------------
@dataclass
class Recovery:
    """Per-dyad and per-fit outcomes of :func:`run_recovery`."""

    true_type: list[int] = field(default_factory=list)  # per dyad
    post_mean: list[np.ndarray] = field(default_factory=list)  # per dyad (K,)
    tp_low: list[np.ndarray] = field(default_factory=list)  # 90 % interval of P(k | data, theta)
    tp_high: list[np.ndarray] = field(default_factory=list)
    oracle: list[np.ndarray] = field(default_factory=list)  # P(k | data, true theta), (K,)
    covered: dict[str, list[bool]] = field(default_factory=dict)
    gate_failures: int = 0
    n_fits: int = 0

    def add_cover(self, name: str, lo: float, hi: float, truth: float) -> None:
        self.covered.setdefault(name, []).append(bool(lo <= truth <= hi))

    # -- figures ------------------------------------------------------------------------------
    @property
    def n_dyads(self) -> int:
        return len(self.true_type)

    def _arr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = np.asarray(self.true_type)
        return z, np.asarray(self.post_mean), np.asarray(self.oracle)

    def accuracy(self) -> float:
        z, pm_, _ = self._arr()
        return float(np.mean(pm_.argmax(axis=1) == z))

    def oracle_accuracy(self) -> float:
        z, _, orc = self._arr()
        return float(np.mean(orc.argmax(axis=1) == z))

    def mean_p_true(self) -> float:
        z, pm_, _ = self._arr()
        return float(np.mean(pm_[np.arange(z.size), z]))

    def oracle_mean_p_true(self) -> float:
        z, _, orc = self._arr()
        return float(np.mean(orc[np.arange(z.size), z]))

    def calibration_z(self) -> float:
        """``sum(correct - p_max) / sd``: ~N(0, 1) when the type probabilities are calibrated
        (the most probable type is right with the probability the posterior gives it);
        negative = overconfident."""
        z, pm_, _ = self._arr()
        pmax = pm_.max(axis=1)
        correct = pm_.argmax(axis=1) == z
        sd = float(np.sqrt(np.sum(pmax * (1.0 - pmax))))
        return float(np.sum(correct - pmax) / max(sd, 1e-12))

    def type_prob_coverage(self, below: float = UNCERTAIN) -> tuple[int, int]:
        """Coverage of ``P(k | data, true theta)`` by the 90 % interval over draws of
        ``P(k | data, theta)``, for the most probable type ``k`` of each dyad whose posterior
        probability of it is below ``below``. Both the type and the selection depend on the
        data only (never on the truth), so the Bayesian coverage statement applies to them;
        where the posterior is near-certain the interval collapses onto 1 and says nothing."""
        _, pm_, orc = self._arr()
        idx = np.arange(pm_.shape[0])
        k = pm_.argmax(axis=1)
        sel = pm_[idx, k] < below
        truth = orc[idx, k]
        lo = np.asarray(self.tp_low)[idx, k]
        hi = np.asarray(self.tp_high)[idx, k]
        inside = (lo <= truth) & (truth <= hi)
        return int(inside[sel].sum()), int(sel.sum())

    def coverage(self, names: tuple[str, ...]) -> tuple[int, int]:
        flags = [f for n in names for f in self.covered.get(n, [])]
        return int(np.sum(flags)), len(flags)

    def table(self) -> str:
        lines = [
            f"Recovery: {self.n_fits} fits x {N_DYADS} dyads x {N_PERIODS} periods "
            f"({self.n_dyads} dyads), truth c = 1, nutpie {CHAINS} x {DRAWS} draws; "
            f"{self.gate_failures} of {self.n_fits} fits fail the diagnostics gate",
            f"  accuracy (true type most probable)   {self.accuracy():.3f}"
            f"   (oracle at the true parameters: {self.oracle_accuracy():.3f})",
            f"  mean P(true type)                    {self.mean_p_true():.3f}"
            f"   (oracle: {self.oracle_mean_p_true():.3f})",
            f"  calibration z of the type posterior  {self.calibration_z():+.2f}"
            "   (sum(correct - max P) / sd; < 0 = overconfident)",
            "  90 % interval coverage (k / n, acceptance region = central 99.8 % of Bin(n, 0.9)):",
        ]
        rows: list[tuple[str, int, int]] = []
        for g in [*[(n,) for n in (*SHARED, *HYPER, *PER_DYAD)], SHARED]:
            k, n = self.coverage(g)
            if n:
                rows.append((g[0] if len(g) == 1 else "shared (pooled)", k, n))
        k, n = self.type_prob_coverage()
        if n:
            rows.append(("P(type), uncertain", k, n))
        for label, k, n in rows:
            lo = int(stats.binom.ppf(COVER_TAIL, n, LEVEL))
            hi = int(stats.binom.isf(COVER_TAIL, n, LEVEL))
            lines.append(f"    {label:<20s} {k:4d} / {n:<4d} = {k / n:.3f}   [{lo}, {hi}]")
        lines.append(
            "    (P(type), uncertain: P(most probable type | data, theta) of the dyads where "
            "its posterior mean is < 0.95; truth = its value at the true parameters)"
        )
        return "\n".join(lines)


def recovery_spec() -> ModelSpec:
    """The default spec (priors derived from the data where the spec is silent)."""
    return ModelSpec.from_dict({"meta": {"name": "recovery"}})


def run_recovery(n_fits: int, *, seed: int = 0) -> Recovery:
    """Simulate and fit ``n_fits`` batches of :data:`N_DYADS` dyads at the fixed truth."""
    rec = Recovery(n_fits=n_fits)
    spec = recovery_spec()
    for rng, sampler_seed in _seeds(seed, n_fits):
        types = _draw_types(rng, N_DYADS)
        mu_d = float(TRUTH.mu) + TRUE_TAU["mu"] * rng.standard_normal(N_DYADS)  # type: ignore[arg-type]
        sigma_d = float(TRUTH.sigma) * np.exp(TRUE_TAU["sigma"] * rng.standard_normal(N_DYADS))  # type: ignore[arg-type]
        params = TRUTH.replace(mu=mu_d, sigma=sigma_d)
        data = simulate(params=params, n_periods=N_PERIODS, n_scenarios=N_DYADS,
                        true_type=types, seed=rng)  # fmt: skip
        tree, diag = _fit(spec, data, sampler_seed)
        rec.gate_failures += int(not diag["ok"])
        post = tree["posterior"].to_dataset()
        truth = {
            **{k: float(getattr(TRUTH, k)) for k in SHARED},
            "mu_tau": TRUE_TAU["mu"],
            "sigma_tau": TRUE_TAU["sigma"],
        }
        for name, val in truth.items():
            if name in post:
                lo, hi = np.quantile(_flat(post, name), INTERVAL)
                rec.add_cover(name, lo, hi, val)
        for name, vals in (("mu_dyad", mu_d), ("sigma_dyad", sigma_d)):
            if name in post:
                lo, hi = np.quantile(_flat(post, name), INTERVAL, axis=0)
                for d in range(N_DYADS):
                    rec.add_cover(name, lo[d], hi[d], vals[d])
        tp = _flat(tree["type_probabilities"].to_dataset(), "type_probability")  # (S, D, K)
        q_lo, q_hi = np.quantile(tp, INTERVAL, axis=0)  # (D, K)
        z = TYPES.indices(types)
        orc = _oracle(data, params)
        for d in range(N_DYADS):
            rec.true_type.append(int(z[d]))
            rec.post_mean.append(tp[:, d].mean(axis=0))
            rec.tp_low.append(q_lo[d])
            rec.tp_high.append(q_hi[d])
            rec.oracle.append(orc[d])
    return rec


def check_recovery(rec: Recovery, *, min_accuracy: float) -> None:
    """The assertions shared by the recovery tests (all against the known truth)."""
    assert rec.accuracy() >= min_accuracy, rec.table()
    assert rec.mean_p_true() > 0.75, rec.table()
    # not overconfident (at a fixed truth a posterior that integrates over the parameters is,
    # if anything, less sure than the frequency; exact calibration is the SBC's job)
    assert rec.calibration_z() > -3.0, rec.table()
    for names in [*[(n,) for n in (*SHARED, *HYPER, *PER_DYAD)], SHARED]:
        k, n = rec.coverage(names)
        assert n > 0, names
        assert coverage_ok(k, n), (names, k, n, rec.table())
    # The coverage of P(type | data, true theta) is printed in the table but not asserted
    # here: it is a non-linear, saturating function of all the parameters, and at one fixed
    # truth its equal-tailed interval need not cover 90 % (measured: 0.81, the oracle being
    # surer than the posterior draws). Its calibration over the prior, where 90 % is a
    # theorem, is asserted in the SBC (test_sbc).


@pytest.mark.slow
@pytest.mark.ci
def test_recovery_small() -> None:
    """4 fits (32 dyads): the cheapest meaningful recovery check (one compilation)."""
    rec = run_recovery(4, seed=101)
    check_recovery(rec, min_accuracy=0.75)


@pytest.mark.slow
def test_recovery_and_coverage() -> None:
    """60 fits (480 dyads): types recovered, probabilities calibrated, intervals cover."""
    rec = run_recovery(RECOVERY_FITS, seed=7)
    check_recovery(rec, min_accuracy=0.85)


@pytest.mark.slow
@pytest.mark.ci
def test_reused_compiled_model_follows_the_spec_tau_prior() -> None:
    """Regression: the population-sd prior scale ``priors.tau`` was a constant of the compiled
    nutpie model, which is cached by structure, so a second spec differing only in ``tau``
    was silently sampled under the first spec's prior (found by the SBC below: ``mu_tau``'s
    ranks piled up low). Same data, same structure: the second fit must follow its own,
    much tighter prior (HalfNormal(0.001): 99.9 % of its mass lies below 0.0033)."""
    rng = np.random.default_rng(5)
    types = _draw_types(rng, N_DYADS)
    params = TRUTH.replace(mu=TRUE_TAU["mu"] * rng.standard_normal(N_DYADS))
    data = simulate(params=params, n_periods=N_PERIODS, n_scenarios=N_DYADS,
                    true_type=types, seed=rng)  # fmt: skip
    q = {}
    for tau in (0.05, 0.001):
        spec = ModelSpec.from_dict({"priors": {"tau": {"mu": tau}}})
        tree, _ = _fit(spec, data, seed=3)
        q[tau] = np.quantile(_flat(tree["posterior"].to_dataset(), "mu_tau"), [0.5, 0.95])
    assert q[0.05][0] > 0.005, q  # the truth (0.02) is found under the default prior
    assert q[0.001][1] < 0.0033, q  # and the tight prior binds when it is asked for


# ---------------------------------------------------------------------------------------------
# Simulation-based calibration
# ---------------------------------------------------------------------------------------------
def sbc_spec() -> ModelSpec:
    """Every prior explicit (nothing data-derived), mu and sigma partially pooled."""
    return ModelSpec.from_dict(
        {
            "meta": {"name": "sbc"},
            "priors": {**SBC_PRIORS, "hierarchical": ["mu", "sigma"], "tau": SBC_TAU},
        }
    )


def draw_prior(rng: np.random.Generator, n_dyads: int) -> dict[str, Any]:
    """One draw of every parameter and the types from the priors of :func:`sbc_spec`."""
    out: dict[str, Any] = {}
    for k, p in SBC_PRIORS.items():
        if p["dist"] == "normal":
            out[k] = p["mu"] + p["sigma"] * rng.standard_normal()
        else:
            out[k] = float(np.exp(np.log(p["median"]) + p["log_sd"] * rng.standard_normal()))
    for k in ("mu", "sigma"):
        out[f"{k}_tau"] = abs(SBC_TAU[k] * rng.standard_normal())
    out["mu_dyad"] = out["mu"] + out["mu_tau"] * rng.standard_normal(n_dyads)
    out["sigma_dyad"] = out["sigma"] * np.exp(out["sigma_tau"] * rng.standard_normal(n_dyads))
    out["type"] = rng.integers(TYPES.n_types, size=n_dyads)  # uniform type prior
    return out


SBC_SCALARS = (*SHARED, *HYPER)


@dataclass
class SBC:
    """Normalised ranks (in (0, 1), jittered) per quantity, and the fits' diagnostics."""

    ranks: dict[str, list[float]] = field(default_factory=dict)
    tp_cover: list[bool] = field(default_factory=list)  # P(type) intervals, uncertain dyads
    gate_failures: int = 0
    divergent_fits: int = 0
    n_fits: int = 0

    def add(self, name: str, values: Any) -> None:
        self.ranks.setdefault(name, []).extend(np.atleast_1d(values).tolist())

    def pvalues(self) -> dict[str, tuple[int, float, float]]:
        """``{quantity: (n, chi-square p, KS p)}``."""
        out = {}
        for k, r in self.ranks.items():
            a = np.asarray(r)
            counts = np.bincount(np.minimum((a * SBC_BINS).astype(int), SBC_BINS - 1),
                                 minlength=SBC_BINS)  # fmt: skip
            chi = stats.chisquare(counts).pvalue
            ks = stats.kstest(a, "uniform").pvalue
            out[k] = (a.size, float(chi), float(ks))
        return out

    def threshold(self) -> float:
        return SBC_ALPHA / (2 * len(self.ranks))

    def table(self) -> str:
        lines = [
            f"SBC: {self.n_fits} fits x {N_DYADS} dyads x {N_PERIODS} periods, parameters "
            f"from the prior, ranks among {SBC_DRAWS} thinned posterior draws; "
            f"{self.gate_failures} fits fail the diagnostics gate, {self.divergent_fits} "
            "have divergences",
            f"  pass: every p > {SBC_ALPHA} / {2 * len(self.ranks)} = {self.threshold():.5f}"
            f" (Bonferroni, family-wise {SBC_ALPHA})",
            f"  {'quantity':<12s} {'n':>5s} {'chi2 p':>8s} {'KS p':>8s}   counts in "
            f"{SBC_BINS} rank bins",
        ]
        for k, (n, chi, ks) in self.pvalues().items():
            a = np.asarray(self.ranks[k])
            counts = np.bincount(np.minimum((a * SBC_BINS).astype(int), SBC_BINS - 1),
                                 minlength=SBC_BINS)  # fmt: skip
            lines.append(f"  {k:<12s} {n:5d} {chi:8.3f} {ks:8.3f}   {counts.tolist()}")
        n_in, n_all = int(np.sum(self.tp_cover)), len(self.tp_cover)
        if n_all:
            lo = int(stats.binom.ppf(COVER_TAIL, n_all, LEVEL))
            hi = int(stats.binom.isf(COVER_TAIL, n_all, LEVEL))
            lines.append(
                f"  90 % interval coverage of P(type), uncertain dyads: {n_in} / {n_all} = "
                f"{n_in / n_all:.3f}   [{lo}, {hi}]"
            )
        return "\n".join(lines)


def run_sbc(n_fits: int, *, seed: int = 0) -> SBC:
    """SBC over ``n_fits`` data sets drawn from the prior of :func:`sbc_spec`."""
    sbc = SBC(n_fits=n_fits)
    spec = sbc_spec()
    keep = np.linspace(0, CHAINS * DRAWS - 1, SBC_DRAWS).round().astype(int)
    for rng, sampler_seed in _seeds(seed, n_fits):
        th = draw_prior(rng, N_DYADS)
        params = ModelParams(
            mu=th["mu_dyad"], alpha=th["alpha"], beta=th["beta"], gamma=th["gamma"],
            kappa=th["kappa"], sigma=th["sigma_dyad"],
        )  # fmt: skip
        names = [TYPES.names[i] for i in th["type"]]
        data = simulate(params=params, n_periods=N_PERIODS, n_scenarios=N_DYADS,
                        true_type=names, seed=rng)  # fmt: skip
        tree, diag = _fit(spec, data, sampler_seed)
        sbc.gate_failures += int(not diag["ok"])
        sbc.divergent_fits += int(diag["divergences"] > 0)
        post = tree["posterior"].to_dataset()
        for name in SBC_SCALARS:
            draws = _flat(post, name)[keep]
            rank = np.sum(draws < th[name])
            sbc.add(name, (rank + rng.random()) / (SBC_DRAWS + 1))
        for name in PER_DYAD:
            draws = _flat(post, name)[keep, 0]
            rank = np.sum(draws < th[name][0])
            sbc.add(name, (rank + rng.random()) / (SBC_DRAWS + 1))
        tp = _flat(tree["type_probabilities"].to_dataset(), "type_probability")[keep]
        z = th["type"]
        p_mean = tp.mean(axis=0)  # (D, K)
        below = np.array([p_mean[d, : z[d]].sum() for d in range(N_DYADS)])
        at = p_mean[np.arange(N_DYADS), z]
        sbc.add("type", below + rng.random(N_DYADS) * at)
        # P(k | data, theta) for the most probable type k (chosen from the data alone): its
        # value at the true parameters ranks uniformly among its posterior draws (ties, as at
        # P = 1, broken at random), and its 90 % interval covers it 90 % of the time
        k = p_mean.argmax(axis=1)
        f_true = _oracle(data, params)[np.arange(N_DYADS), k]
        f_draws = tp[:, np.arange(N_DYADS), k]  # (SBC_DRAWS, D)
        n_less = (f_draws < f_true).sum(axis=0)
        n_eq = (f_draws == f_true).sum(axis=0)
        rank = n_less + rng.integers(0, n_eq + 1)
        sbc.add("P(type)", (rank + rng.random(N_DYADS)) / (SBC_DRAWS + 1))
        all_f = _flat(tree["type_probabilities"].to_dataset(), "type_probability")
        lo, hi = np.quantile(all_f[:, np.arange(N_DYADS), k], INTERVAL, axis=0)
        uncertain = p_mean[np.arange(N_DYADS), k] < UNCERTAIN
        inside = (lo <= f_true) & (f_true <= hi)
        sbc.tp_cover.extend(inside[uncertain].tolist())
    return sbc


def check_sbc(sbc: SBC) -> None:
    n_in, n_all = int(np.sum(sbc.tp_cover)), len(sbc.tp_cover)
    assert n_all >= 10, n_all
    assert coverage_ok(n_in, n_all), ("P(type) coverage", n_in, n_all, sbc.table())
    thr = sbc.threshold()
    for name, (_, chi, ks) in sbc.pvalues().items():
        assert chi > thr, (name, "chi-square", chi, sbc.table())
        assert ks > thr, (name, "KS", ks, sbc.table())


def test_pymc_prior_is_the_stated_prior() -> None:
    """The fit's prior, drawn by PyMC through its standardised coordinates (``*_raw_z``)
    and the parameter-expanded population sds (``*_tau_z``), is the prior the spec states:
    two-sample Kolmogorov-Smirnov against :func:`draw_prior`, which draws it directly in
    numpy (the SBC below checks the same through the posterior, slowly)."""
    import pymc as pm

    rng = np.random.default_rng(11)
    data = simulate(n_periods=6, n_scenarios=N_DYADS, seed=rng)
    model = PerceptionModel(sbc_spec(), data=data).build_model()
    n = 4000
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Potential.*")  # no data in a prior draw
        prior = pm.sample_prior_predictive(draws=n, model=model, random_seed=12)["prior"]
    ref = [draw_prior(rng, N_DYADS) for _ in range(n)]
    names = (*SBC_SCALARS, *PER_DYAD)
    pvalues = {}
    for name in names:
        got = prior[name].values.reshape(n, -1)[:, 0]
        want = np.array([np.atleast_1d(r[name])[0] for r in ref])
        pvalues[name] = stats.ks_2samp(got, want).pvalue
    # Bonferroni at a family-wise 1 %; the draws are seeded, so this is deterministic
    assert min(pvalues.values()) > SBC_ALPHA / len(names), pvalues


@pytest.mark.parametrize("nu", [None, 4.0])
def test_summed_likelihood_with_gaps_and_offset(nu: float | None) -> None:
    """Static types: the likelihood the graph sums over the periods (Normal noise: from each
    dyad's sufficient statistics; Student-t: over the packed periods with evidence) is the
    per-period sum of :func:`secdilemma.model.loglik_components`, also with missing periods
    (a term with a missing input contributes nothing), a dyad without evidence, per-dyad mu
    and sigma and a drift 10^4 noise sds away from zero (the statistics are centred, so
    nothing cancels)."""
    data = simulate(params=TRUTH, n_periods=15, n_scenarios=4, seed=3)
    dx, u = data["dx"].values.copy(), data["u"].values.copy()
    dx += 500.0  # 10^4 noise sds
    dx[0, 5:8] = np.nan
    u[1, 3] = np.nan
    dx[3, :] = np.nan  # no evidence at all
    data = data.assign(dx=(data["dx"].dims, dx), u=(data["u"].dims, u))
    priors: dict[str, Any] = {
        "hierarchical": ["mu", "sigma"],
        "mu": {"dist": "normal", "mu": 500.0, "sigma": 0.05},
    }
    if nu is not None:
        priors["nu"] = nu
    spec = ModelSpec.from_dict({"priors": priors})
    model = PerceptionModel(spec, data=data).build_model()
    pot = model.replace_rvs_by_values(model.potentials)[0]
    fn = model.compile_fn(pot, inputs=model.value_vars)
    names = ["mu_dyad", "alpha", "beta", "gamma", "kappa", "sigma_dyad"]
    det = model.compile_fn(
        model.replace_rvs_by_values([model[n] for n in names]), inputs=model.value_vars
    )
    rng = np.random.default_rng(4)
    for _ in range(3):
        point = {
            k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in model.initial_point().items()
        }
        mu, alpha, beta, gamma, kappa, sigma = det(point)
        params = ModelParams(
            mu=mu, alpha=alpha, beta=beta, gamma=gamma, kappa=kappa, sigma=sigma, nu=nu
        )
        ll, _ = loglik_components(dx, u, params, TYPES)
        tot = ll.sum(axis=1) + np.log(1.0 / 3.0)
        want = float(np.sum(np.logaddexp.reduce(tot, axis=-1)))
        assert float(fn(point)) == pytest.approx(want, rel=1e-9)


@pytest.mark.slow
def test_sbc() -> None:
    """Ranks of the true parameters and types among posterior draws are uniform."""
    sbc = run_sbc(SBC_FITS, seed=2024)
    check_sbc(sbc)


def main() -> None:  # pragma: no cover - script mode
    t0 = time.perf_counter()
    rec = run_recovery(RECOVERY_FITS, seed=7)
    t1 = time.perf_counter()
    print(rec.table())
    print(f"  (wall time {t1 - t0:.0f} s, including the one-off compilation)\n", flush=True)
    sbc = run_sbc(SBC_FITS, seed=2024)
    t2 = time.perf_counter()
    print(sbc.table())
    print(f"  (wall time {t2 - t1:.0f} s)")
    print(f"\ntotal wall time {t2 - t0:.0f} s")
    sys.stdout.flush()


if __name__ == "__main__":  # print the table
    main()
