"""Recovery of the true type on simulated dyads, over effect sizes and series lengths.

Effect size ``c`` scales the magnitudes ``alpha, beta, gamma, kappa`` of the default model
(``alpha = 0.05 = sigma`` at ``c = 1``, so ``c = alpha / sigma``). Types are drawn uniformly;
accuracy is the share of dyads whose most probable type at the last period is the true one
(chance: 1/3). Run the table with ``python tests/test_recovery.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.model import ModelParams
from secdilemma.model.simulate import simulate
from secdilemma.observers import Observer

EFFECTS = (0.25, 0.5, 1.0, 2.0)
LENGTHS = (10, 25, 50, 100)


def recovery_table(
    effects=EFFECTS, lengths=LENGTHS, *, n: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean posterior of the true type, shape ``(len(effects), len(lengths))``."""
    acc = np.empty((len(effects), len(lengths)))
    p_true = np.empty_like(acc)
    base = ModelParams()
    for i, c in enumerate(effects):
        params = base.replace(
            alpha=c * base.alpha, beta=c * base.beta, gamma=c * base.gamma, kappa=c * base.kappa
        )
        ds = simulate(params=params, n_periods=max(lengths), n_scenarios=n, seed=seed + i)
        post = Observer(params=params).filter(ds, smooth=False).filtered
        truth = ds.true_type_index.isel(period=0).values
        for j, T in enumerate(lengths):
            last = post.isel(period=T - 1).values  # filtered at T uses periods 1..T only
            acc[i, j] = np.mean(last.argmax(axis=-1) == truth)
            p_true[i, j] = np.mean(last[np.arange(n), truth])
    return acc, p_true


@pytest.mark.slow
def test_recovery_grid():
    acc, p_true = recovery_table(n=2000)
    # more data, better recovery; bigger effects, better recovery (small Monte Carlo slack)
    assert np.all(np.diff(acc, axis=1) > -0.02)
    assert np.all(np.diff(acc, axis=0) > -0.02)
    assert np.all(np.diff(p_true, axis=1) > -1e-3)  # rises until it saturates at 1
    assert np.all(p_true[:, -1] > p_true[:, 0])
    assert acc[-1, -1] > 0.98
    assert acc[0, 0] > 1 / 3  # better than chance even when weak and short
    assert acc[2, 2] > 0.9  # the default model with 50 periods


@pytest.mark.slow
@pytest.mark.ci
def test_recovery_small():
    acc, p_true = recovery_table((0.5, 1.0), (10, 50), n=400, seed=1)
    assert np.all(np.diff(acc, axis=1) > 0)
    assert np.all(np.diff(p_true, axis=1) > 0)
    assert np.all(np.diff(acc, axis=0) > -0.02)
    assert acc[1, 1] > 0.9


if __name__ == "__main__":  # print the table
    acc, p_true = recovery_table(n=2000)
    print("accuracy (mean P(true type)); rows: effect c = alpha/sigma, cols: T")
    print("c \\ T  " + "".join(f"{T:>16d}" for T in LENGTHS))
    for c, a_row, p_row in zip(EFFECTS, acc, p_true, strict=True):
        print(
            f"{c:5.2f}  "
            + "".join(f"{a:>9.3f} ({p:.3f})" for a, p in zip(a_row, p_row, strict=True))
        )
