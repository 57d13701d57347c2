"""One headline belief, and where the engines part (secdilemma.study.headline).

References: Monte Carlo errors computed by hand (sd / sqrt(n / 4)) on synthetic draws; the
decision's own belief for the headline; the console's output for the order of the lines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.errors import ParameterError
from secdilemma.study import compare_engines, decision_headline

TYPES = ["greedy", "insecure", "mixed"]


def _draws(mean, sd_, n=800, seed=0, dyad=False):
    rng = np.random.default_rng(seed)
    x = np.asarray(mean) + rng.standard_normal((n, 3)) * np.asarray(sd_)
    x = np.clip(x, 0, None)
    x /= x.sum(axis=1, keepdims=True)
    da = xr.DataArray(
        x.reshape(4, n // 4, 3), dims=("chain", "draw", "rival_type"), coords={"rival_type": TYPES}
    )
    return da.expand_dims(dyad=["AAA:BBB"], axis=2) if dyad else da


def test_mc_error_is_sd_over_root_quarter_n_and_decides_agreement():
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05])
    flat = draws.values.reshape(-1, 3)
    fit = flat.mean(axis=0)
    se = flat.std(axis=0, ddof=1) / math.sqrt(flat.shape[0] / 4)
    same = dict(zip(TYPES, fit.tolist(), strict=True))
    cmp = compare_engines(same, draws)
    np.testing.assert_allclose([cmp.mc_error[t] for t in TYPES], se, rtol=1e-12)
    np.testing.assert_allclose([cmp.fit[t] for t in TYPES], fit, rtol=1e-12)
    assert not cmp.differs
    assert "agree" in cmp.sentence
    # moved by 1.5 s.e.: still agreement at z = 2; by 3 s.e.: a difference
    near = {t: fit[i] + (1.5 * se[i] if t == "greedy" else 0.0) for i, t in enumerate(TYPES)}
    assert not compare_engines(near, draws).differs
    far = {t: fit[i] - (3 * se[i] if t == "greedy" else 0.0) for i, t in enumerate(TYPES)}
    cmp = compare_engines(far, draws)
    assert cmp.differs
    assert cmp.largest == "greedy"
    np.testing.assert_allclose(cmp.difference["greedy"], 3 * se[0], rtol=1e-9)


def test_a_difference_says_why_and_names_the_reconciling_engine():
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05])
    exact = {"greedy": 0.4, "insecure": 0.1, "mixed": 0.5}
    cmp = compare_engines(exact, draws)
    assert cmp.differs
    for words in ("fixes the coefficients at the pooled reference's point", "integrates over",
                  "learns mu and sigma", "params='integrated'"):  # fmt: skip
        assert words in cmp.sentence
    fit = {t: cmp.fit[t] for t in TYPES}
    zero = dict.fromkeys(TYPES, 0.0)
    with_int = compare_engines(exact, draws, integrated=fit, integrated_mc_error=zero)
    assert with_int.integrated_agrees is True
    assert "agrees with the fit" in with_int.sentence
    off = compare_engines(exact, draws, integrated=exact)
    assert off.integrated_agrees is False
    assert "does not agree with the fit either" in off.sentence


def test_exact_mc_error_widens_the_tolerance():
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05])
    cmp0 = compare_engines({"greedy": 0.58, "insecure": 0.1, "mixed": 0.32}, draws)
    wide = {"greedy": 0.05, "insecure": 0.05, "mixed": 0.05}
    cmp1 = compare_engines({"greedy": 0.58, "insecure": 0.1, "mixed": 0.32}, draws,
                           exact_mc_error=wide)  # fmt: skip
    assert cmp1.mc_error["greedy"] == pytest.approx(math.hypot(cmp0.mc_error["greedy"], 0.05))
    assert not cmp1.differs


def test_a_single_dyad_is_read_and_the_result_is_plain_data():
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05], dyad=True)
    cmp = compare_engines(xr.DataArray([0.6, 0.1, 0.3], dims="rival_type",
                                       coords={"rival_type": TYPES}), draws)  # fmt: skip
    d = cmp.to_dict()
    assert set(d["exact"]) == set(TYPES)
    assert isinstance(d["differs"], bool)


@pytest.mark.parametrize(
    ("exact", "draws", "kwargs", "match"),
    [
        ([0.5, 0.5, 0.0], None, {}, "`exact`"),
        ({"greedy": 1.0, "insecure": 0.0}, None, {}, "`exact` has types"),
        ({"greedy": 0.5, "insecure": 0.2, "mixed": 0.3}, np.ones((5, 3)), {}, "`fit_draws`"),
        ({"greedy": 0.5, "insecure": 0.2, "mixed": 0.3}, None, {"z": 0}, "`z`"),
    ],
)
def test_bad_arguments_raise_typed_errors(exact, draws, kwargs, match):
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05]) if draws is None else draws
    with pytest.raises(ParameterError, match=match):
        compare_engines(exact, draws, **kwargs)


def test_several_dyads_are_refused():
    draws = _draws([0.6, 0.1, 0.3], [0.05, 0.02, 0.05], dyad=True)
    two = xr.concat([draws, draws.assign_coords(dyad=["CCC:DDD"])], dim="dyad")
    with pytest.raises(ParameterError, match="several dyads"):
        compare_engines({"greedy": 0.6, "insecure": 0.1, "mixed": 0.3}, two)


def test_decision_leads_with_the_headline_belief_and_its_engine():
    from secdilemma.interfaces import console as out

    study = sd.Study("us_china")
    res = study.decide(n_sims=300)
    line = decision_headline(res)
    assert line.startswith("headline belief (exact engine: exact observer's belief at ")
    for t in TYPES:
        assert f"P({t})={float(res['belief'].sel(rival_type=t)):.2f}" in line
    assert f"P(greed motive) = {float(res['p_greed']):.3f}" in line
    with out.console.capture() as cap:
        out.print_decision(res)
    text = cap.get()
    assert text.lstrip().startswith("headline belief (exact engine")
    assert text.index("headline belief") < text.index("recommendation:")
    assert f"{round(100 * res.attrs['ci_prob'])} % interval" in text
    assert res.attrs["ci_prob"] == 0.90


def test_headline_rejects_what_is_not_a_decision():
    with pytest.raises(ParameterError, match="`res`"):
        decision_headline(xr.Dataset())


# ---------------------------------------------------------------------------------------------
# One interval level throughout, and the band on the expected-utility curves (issue 14)
# ---------------------------------------------------------------------------------------------
U3 = xr.DataArray(
    [[-1.0, -3.0, -2.0], [-4.0, 0.0, -1.5]],
    dims=("action", "rival_type"),
    coords={"action": ["deter", "reassure"], "rival_type": TYPES},
)


def test_the_decisions_level_is_the_fits_and_the_band_matches_it_at_equal_weights():
    rng = np.random.default_rng(3)
    n = 60
    split = rng.uniform(0.1, 0.9, n)  # greedy vs mixed; every draw P(greed motive) = 0.7
    b = np.column_stack([0.7 * split, np.full(n, 0.3), 0.7 * (1 - split)])
    belief = xr.DataArray(b, dims=("sample", "rival_type"), coords={"rival_type": TYPES})
    res = sd.decide(belief, payoffs=U3)
    assert res.attrs["ci_prob"] == 0.90
    u = U3.values
    for gi in (0, 30, 70, 100):
        p = float(res["greed_axis"][gi])
        # every draw weighs the same at every point: each draw's own belief there, by hand
        cond = np.column_stack([p * split, np.full(n, 1 - p), p * (1 - split)])
        eu_draw = cond @ u.T  # (S, A)
        lo, hi = np.quantile(eu_draw, [0.05, 0.95], axis=0)
        np.testing.assert_allclose(res["eu_curve_lower"].isel(greed_axis=gi).values, lo)
        np.testing.assert_allclose(res["eu_curve_upper"].isel(greed_axis=gi).values, hi)
    # at p = 0 every draw believes "insecure": the band closes on U[:, insecure]
    np.testing.assert_allclose(res["eu_curve_lower"].isel(greed_axis=0).values, u[:, 1])
    np.testing.assert_allclose(res["eu_curve_upper"].isel(greed_axis=0).values, u[:, 1])


def test_one_belief_vector_band_is_z_times_the_simulation_error():
    from scipy import stats

    res = sd.Study("us_china").decide(n_sims=300)
    assert res.attrs["ci_prob"] == 0.90
    z = stats.norm.ppf(0.95)
    g = np.array([1.0, 0.0, 1.0])
    b = res["belief"].values
    b_g = b * g / (b * g).sum()
    se = res["utility_se"].values  # (A, K)
    half = z * np.sqrt((se**2 * b_g**2).sum(axis=1))
    width = (res["eu_curve_upper"] - res["eu_curve_lower"]).isel(greed_axis=-1).values
    np.testing.assert_allclose(width, 2 * half, rtol=1e-9)
    np.testing.assert_allclose(
        (res["eu_upper"] - res["eu_lower"]).values,
        2 * z * np.sqrt((se**2 * b**2).sum(axis=1)),
        rtol=1e-9,
    )


def test_the_plot_draws_a_band_per_action_and_names_the_level():
    import matplotlib.pyplot as plt

    from secdilemma.interfaces.plots import plot_decision

    res = sd.decide(
        xr.DataArray(
            np.random.default_rng(0).dirichlet([3, 1, 2], 40),
            dims=("sample", "rival_type"),
            coords={"rival_type": TYPES},
        ),
        payoffs=U3,
    )
    fig = plot_decision(res)
    (ax,) = fig.axes
    gids = {c.get_gid() for c in ax.collections}
    assert {"band:deter", "band:reassure"} <= gids
    assert "90 % interval" in ax.get_title()
    plt.close(fig)
