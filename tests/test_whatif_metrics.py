"""Opt-in sweep variables (EVSI per channel) and per-period worlds as sweep inputs.

Every cell is held to the study's own one-at-a-time path: ``Study(case, ...)`` with the
cell's inputs, its ``value_of_information`` (the same futures: the same seed and ``n_sims``)
and its ``belief``/``decide``.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.errors import ParameterError
from secdilemma.whatif import sweep
from secdilemma.whatif.sweep import resolve

N_SIMS = 200


@pytest.fixture(scope="module")
def russia():
    return sd.Study("russia_nato")


def _prior(pg):
    return {"greedy": pg, "insecure": (1 - pg) / 2, "mixed": (1 - pg) / 2}


class TestEvsiPerChannel:
    def test_cells_equal_value_of_information(self, russia):
        ds = sweep(
            russia, prior_greedy=[0.35, 0.25], losses_war=[5.0, 20.0], omega=[0.8, 0.2],
            n_sims=N_SIMS, variables=["evsi", "evpi"],
        )  # fmt: skip
        assert ds["evsi"].dims == ("prior_greedy", "losses_war", "omega", "signal")
        assert list(ds["signal"].values) == list(russia.exact_params().signals.names)
        assert float(ds["evsi"].max()) > 0.01  # cells where a channel is worth something
        for pg in (0.35, 0.25):
            for war in (5.0, 20.0):
                for om in (0.8, 0.2):
                    one = sd.Study("russia_nato", prior=_prior(pg), losses={"war": war}, omega=om)
                    want = one.value_of_information(n_sims=N_SIMS)
                    cell = ds.sel(prior_greedy=pg, losses_war=war, omega=om)
                    np.testing.assert_allclose(
                        cell["evsi"].sel(signal=want["signal"].values).values,
                        want["evsi"].values, rtol=1e-10, atol=1e-12,
                    )  # fmt: skip
                    assert abs(float(cell["evpi"]) - float(want["evpi"])) < 1e-12

    def test_evsi_lies_in_zero_evpi_and_is_opt_in(self, russia):
        ds = sweep(russia, prior_greedy=np.linspace(0.05, 0.95, 7), n_sims=100,
                   variables=["evsi", "evpi", "best_action"])  # fmt: skip
        assert np.all(ds["evsi"].values >= 0.0)
        assert np.all(ds["evsi"].values <= ds["evpi"].values[:, None] + 1e-15)
        default = sweep(russia, prior_greedy=[0.3], n_sims=50)
        assert "evsi" not in default
        assert "signal" not in default.dims

    def test_static_mode_equals_evsi_by_channel(self, russia):
        rows = {"deter": [0.0, -1.0, -0.5], "defend": [-0.5, -0.2, -0.6],
                "reassure": [-2.0, 1.0, -1.5]}  # fmt: skip
        actions = [a for a in resolve(russia, {})[0].actions if a in rows]
        table = xr.DataArray(
            [rows[a] for a in actions],
            dims=("action", "rival_type"),
            coords={"action": actions, "rival_type": ["greedy", "insecure", "mixed"]},
        )
        ds = sweep(russia, payoffs=table, prior_greedy=[0.2, 0.5], variables=["evsi"])
        assert ds["evsi"].dims == ("prior_greedy", "signal")
        for pg in (0.2, 0.5):
            one = sd.Study("russia_nato", prior=_prior(pg))
            params = one.exact_params()
            world = {k: float(np.atleast_1d(getattr(params, k))[-1]) for k in ("omega", "delta")}
            u_last = float(one.data_and_moves()[1]["u"].values[-1])
            threat = (1.0 + world["omega"] - world["delta"]) * max(u_last, 0.0)
            want = sd.decision.evsi_by_channel(
                one.belief()["filtered"].isel(period=-1), channel=params.signals,
                payoffs=table, threat=threat,
            )  # fmt: skip
            np.testing.assert_allclose(ds["evsi"].sel(prior_greedy=pg).values,
                                       want["evsi"].values, rtol=1e-10, atol=1e-13)  # fmt: skip

    def test_a_study_without_channels_says_why(self):
        ussr = sd.Study("us_ussr", params="default")
        with pytest.raises(ParameterError, match="needs signal channels"):
            sweep(ussr, omega=[0.3], variables=["evsi"], n_sims=50)


def test_the_cli_adds_evsi_on_request(tmp_path):
    from typer.testing import CliRunner

    from secdilemma.interfaces.cli import app
    from secdilemma.io import load_dataset

    out = tmp_path / "evsi"
    res = CliRunner().invoke(app, ["whatif", "russia_nato", "--vary", "prior.greedy=0.3,0.35",
                                   "--evsi", "--out", str(out), "--n-sims", "100",
                                   "--sobol-samples", "0"])  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = load_dataset(out / "sweep.nc")
    assert ds["evsi"].dims == ("prior_greedy", "signal")
    assert "best_action" in ds


class TestWorldPerPeriod:
    """``omega``/``delta`` as ``{year: value}`` step functions: cells equal Study(case, ...)."""

    def test_cells_equal_the_study_with_that_world(self, russia):
        om = {2000: 0.3, 2010: 0.7}
        de = {1995: 0.8, 2015: 0.2}
        ds = sweep(
            russia, omega=[om, 0.5], delta=[de, 0.4], prior_greedy=[0.3, 0.6], n_sims=N_SIMS,
            variables=["belief", "expected_utility", "p_star", "evpi", "evsi"],
        )  # fmt: skip
        assert ds["omega"].values.tolist() == ["2000:0.3,2010:0.7", "0.5"]
        assert ds["delta"].values.tolist() == ["1995:0.8,2015:0.2", "0.4"]
        for o_lab, o_val in (("2000:0.3,2010:0.7", om), ("0.5", 0.5)):
            for d_lab, d_val in (("1995:0.8,2015:0.2", de), ("0.4", 0.4)):
                for pg in (0.3, 0.6):
                    one = sd.Study("russia_nato", omega=o_val, delta=d_val, prior=_prior(pg))
                    cell = ds.sel(omega=o_lab, delta=d_lab, prior_greedy=pg)
                    belief = one.belief()["filtered"].isel(period=-1).values
                    np.testing.assert_allclose(cell["belief"].values, belief, rtol=0, atol=2e-15)
                    dec = one.decide(n_sims=N_SIMS)
                    np.testing.assert_allclose(
                        cell["expected_utility"].values, dec["expected_utility"].values, rtol=1e-12
                    )
                    np.testing.assert_allclose(float(cell["p_star"]), float(dec["threshold"]),
                                               rtol=1e-12)  # fmt: skip
                    assert abs(float(cell["evpi"]) - float(dec["evpi"])) < 1e-12
                    voi = one.value_of_information(n_sims=N_SIMS)
                    np.testing.assert_allclose(cell["evsi"].values, voi["evsi"].values,
                                               rtol=1e-10, atol=1e-12)  # fmt: skip

    def test_a_series_beside_a_numeric_world_axis(self, russia):
        om = {2005: 0.9}  # before 2005 too: the earliest value holds before it
        ds = sweep(russia, omega=om, delta=[0.2, 0.6], n_sims=N_SIMS, variables=["belief"])
        for de in (0.2, 0.6):
            one = sd.Study("russia_nato", omega=om, delta=de)
            np.testing.assert_allclose(
                ds.sel(omega="2005:0.9", delta=de)["belief"].values,
                one.belief()["filtered"].isel(period=-1).values, rtol=0, atol=2e-15,
            )  # fmt: skip

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            ({"1905": 0.3}, ["omega", "'1905'", "not a year"]),
            ({2000: 0.3, 2050: 0.7}, ["omega", "2050", "last period 2023", "1992-2023"]),
            ({}, ["omega", "no years"]),
            ({2000: 1.3}, ["omega[2000]", "1.3", "[0, 1]"]),
            ([{2000: 0.3}, {2000: 0.3}], ["omega", "more than once"]),
            ([{2000: 0.3}, -0.1], ["omega", "-0.1", "[0, 1]"]),
        ],
    )
    def test_bad_steps_are_refused_by_name(self, russia, value, words):
        with pytest.raises(ParameterError) as err:
            sweep(russia, omega=value, n_sims=50)
        for w in words:
            assert w in str(err.value), (w, str(err.value))


def test_switch_points_short_equals_decisions_switch_points():
    """The sweep's column-at-a-time switch points against decision.static's, bit for bit."""
    from secdilemma.decision.static import switch_points
    from secdilemma.whatif.utility import switch_points_short

    rng = np.random.default_rng(11)
    for a_n in (1, 2, 3, 4, 5):
        n0 = rng.normal(size=(4000, a_n))
        g1 = rng.normal(size=(4000, a_n))
        n0[:1500], g1[:1000] = np.round(n0[:1500], 1), np.round(g1[:1000], 1)  # ties
        g1[1500:1700] = n0[1500:1700]  # flat lines
        n0[1700:1800, :] = n0[1700:1800, :1]  # all equal at p = 0
        want = switch_points(n0, g1)
        got = switch_points_short(n0, g1)
        for w, g in zip(want, got, strict=True):
            np.testing.assert_array_equal(g, w)
