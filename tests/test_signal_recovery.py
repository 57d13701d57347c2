"""Signals on simulated data: informative channels improve type recovery over buildups alone
at the same series length, and the estimators recover the channels' coefficients.

References: the simulated truth (types, coefficients); coverage of the fit's 90 % intervals
at its nominal rate. Run the table with ``python tests/test_signal_recovery.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.engines.exact import estimate_params
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.simulate import simulate
from secdilemma.observers import Observer

#: Informative channels: a costly one (greed loading), one whose rate rises with fear times
#: threat, and a rare one (simulated, whatever their names); magnitudes like the pooled
#: reference's MID channels.
SIGNALS = SignalParams(
    # named after channels of the vocabulary, since a fit's spec reads only those
    ("mid_use_of_force", "mid_threat_display", "alliance_new_defense_pact"),
    eta0=[-2.5, -2.0, -4.0],
    eta_g=[2.0, 0.0, 2.5],
    eta_f=[0.0, 6.0, 0.0],
)
#: A weak buildup signal (effect size 0.5 of the defaults): where signals matter most.
BASE = ModelParams().replace(alpha=0.025, beta=0.05, gamma=0.05, kappa=0.025, signals=SIGNALS)


def recovery(lengths=(5, 10, 25), *, n: int = 1000, seed: int = 0) -> np.ndarray:
    """Accuracy (share of dyads whose most probable type at period T is the true one),
    ``(2, len(lengths))``: row 0 buildups only, row 1 buildups and signals."""
    ds = simulate(params=BASE, n_periods=max(lengths) + 1, n_scenarios=n, seed=seed,
                  observer_drift=0.03, observer_sd=0.08)  # fmt: skip
    truth = ds.true_type_index.isel(period=0).values
    bare = Observer(params=BASE.replace(signals=None)).filter(
        ds.drop_vars("signals"), smooth=False
    )["filtered"]
    full = Observer(params=BASE).filter(ds, smooth=False)["filtered"]
    out = np.empty((2, len(lengths)))
    for j, T in enumerate(lengths):
        for i, post in enumerate((bare, full)):
            out[i, j] = np.mean(post.isel(period=T).values.argmax(-1) == truth)
    return out


def test_signals_improve_recovery_at_the_same_length() -> None:
    acc = recovery(n=600, seed=3)
    # with signals better at every length, by more than Monte Carlo error (sd ~ 0.02)
    assert np.all(acc[1] - acc[0] > 0.05), acc
    assert np.all(np.diff(acc, axis=1) > -0.02), acc


@pytest.mark.slow
@pytest.mark.ci
def test_signals_improve_recovery_over_seeds() -> None:
    gains = np.array([recovery(n=1000, seed=s)[1] - recovery(n=1000, seed=s)[0]
                      for s in range(5)])  # fmt: skip
    assert np.all(gains > 0.03), gains


def test_type_ii_ml_recovers_the_signal_coefficients() -> None:
    truth = ModelParams(mu=0.0, alpha=0.05, beta=0.5, gamma=0.5, kappa=0.3, sigma=0.05,
                        signals=SIGNALS)  # fmt: skip
    sim = simulate(params=truth, n_periods=40, n_scenarios=80, seed=7,
                   observer_drift=0.02, observer_sd=0.08)  # fmt: skip
    est = estimate_params(sim, signals=SIGNALS.names, n_starts=1)
    assert est.converged
    got = est.params.signals
    assert got is not None
    np.testing.assert_allclose(got.eta0, SIGNALS.eta0, atol=0.45)
    np.testing.assert_allclose(got.eta_g, SIGNALS.eta_g, atol=0.6)
    assert abs(got.eta_f[1] - 6.0) < 3.0  # the fear term: a 10 % buildup moves the logit 0.6
    # and the signals do not pull the reaction's estimate away
    assert abs(float(est.params.beta) - 0.5) < 0.1


@pytest.mark.slow
def test_fit_intervals_cover_the_signal_coefficients_at_the_nominal_rate() -> None:
    """Twelve replicate pools of 30 dyads x 25 years, fit by PyMC (nutpie): the 90 % intervals
    of the nine signal coefficients cover the truth about 90 % of the time (108 intervals:
    binomial sd 0.03)."""
    from secdilemma.engines.pymc import PerceptionModel
    from secdilemma.spec import ModelSpec

    spec = ModelSpec.from_dict(
        {
            "signals": {"channels": list(SIGNALS.names),
                        "priors": {"eta_f": {"dist": "normal", "mu": 0.0, "sigma": 5.0}}},
            "priors": {"hierarchical": []},
            "sampler": {"chains": 2, "draws": 600, "tune": 600},
        }
    )  # fmt: skip
    truth = ModelParams(alpha=0.05, beta=0.5, gamma=0.5, kappa=0.3, sigma=0.05, signals=SIGNALS)
    covered = []
    for rep in range(12):
        sim = simulate(params=truth, n_periods=25, n_scenarios=30, seed=100 + rep,
                       observer_drift=0.02, observer_sd=0.08)  # fmt: skip
        model = PerceptionModel(spec, data=sim)
        tree = model.fit(seed=rep, progressbar=False).idata_
        assert tree is not None
        post = tree["posterior"].to_dataset()
        for c in ("eta0", "eta_g", "eta_f"):
            draws = post[c].stack(s=("chain", "draw")).transpose("signal", "s").values
            lo, hi = np.quantile(draws, [0.05, 0.95], axis=1)
            true = getattr(SIGNALS, c)
            covered.extend(((lo <= true) & (true <= hi)).tolist())
    rate = float(np.mean(covered))
    assert 0.8 <= rate <= 0.98, rate


if __name__ == "__main__":  # pragma: no cover
    acc = recovery(n=2000)
    print("T:              5     10     25")
    print("buildups only:", "  ".join(f"{a:.3f}" for a in acc[0]))
    print("with signals: ", "  ".join(f"{a:.3f}" for a in acc[1]))
