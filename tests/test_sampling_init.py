"""Where a fit's chains start (``PerceptionModel.fit(init=...)``): nutpie's unconstrained
``init_mean`` built from named free variables (``engines.pymc.sampling.init_mean``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from secdilemma.engines.pymc.sampling import init_mean
from secdilemma.errors import ParameterError

# the layout nutpie's compiled PyMC model reports: free variables first, then deterministics
COMPILED = SimpleNamespace(
    n_dim=7,
    shape_info=(
        ["mu_raw_z", "eta0", "eta_g", "mu", "eta_f"],
        [slice(0, 1), slice(1, 4), slice(4, 7), slice(7, 8), slice(8, 11)],
        [[], [3], [3], [], [3]],
    ),
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
