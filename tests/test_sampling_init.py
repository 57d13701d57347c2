"""Where a fit's chains start (``PerceptionModel.fit(init=...)``): nutpie's unconstrained
``init_mean`` built from named free variables (``engines.pymc.sampling.init_mean``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from secdilemma.engines.pymc.sampling import _started, init_mean
from secdilemma.errors import ParameterError


# the layout nutpie's compiled PyMC model reports: free variables first, then deterministics
@dataclass(frozen=True)
class _Compiled:
    n_dim: int
    shape_info: tuple[list[str], list[slice], list[list[int]]]
    initial_point_func: Callable[[int], np.ndarray]


COMPILED = _Compiled(
    n_dim=7,
    shape_info=(
        ["mu_raw_z", "eta0", "eta_g", "mu", "eta_f"],
        [slice(0, 1), slice(1, 4), slice(4, 7), slice(7, 8), slice(8, 11)],
        [[], [3], [3], [], [3]],
    ),
    initial_point_func=lambda seed: np.random.default_rng(seed).uniform(-1, 1, 7),
)


def test_named_free_variables_are_placed_and_the_rest_start_at_zero():
    out = init_mean(COMPILED, {"eta_g": [-0.7, -2.0, 1.8]})
    np.testing.assert_array_equal(out, [0, 0, 0, 0, -0.7, -2.0, 1.8])
    out = init_mean(COMPILED, {"mu_raw_z": 0.5, "eta0": np.array([-3.0, -2.0, -4.0])})
    np.testing.assert_array_equal(out, [0.5, -3.0, -2.0, -4.0, 0, 0, 0])


def test_a_deterministic_an_unknown_name_or_a_wrong_size_is_refused():
    with pytest.raises(ParameterError, match="'eta_f', which is not a free variable"):
        init_mean(COMPILED, {"eta_f": [0, 0, 0]})  # a deterministic, past n_dim
    with pytest.raises(ParameterError, match="choose among"):
        init_mean(COMPILED, {"kappa": 0.1})
    with pytest.raises(ParameterError, match="gives 2 values for 'eta_g', which has 3"):
        init_mean(COMPILED, {"eta_g": [0.0, 1.0]})


def test_the_chains_start_at_the_given_values_and_keep_the_default_jitter_elsewhere():
    """nutpie's PyMC models start at their own ``initial_point_func`` (not ``init_mean``):
    the override replaces the named coordinates of its result and keeps the rest."""
    started = _started(COMPILED, {"eta_g": [-0.7, -2.0, 1.8]})
    for seed in (1, 2):
        default = COMPILED.initial_point_func(seed)
        x = started.initial_point_func(seed)
        np.testing.assert_array_equal(x[4:7], [-0.7, -2.0, 1.8])
        np.testing.assert_array_equal(x[:4], default[:4])
    assert COMPILED.initial_point_func(1)[4] != -0.7  # the original is left alone
