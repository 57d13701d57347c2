"""Signals in a study: the exact observer reads the spec's channels with the reference's
coefficients, the evidence decomposition adds up, and the value of each channel.

References: the decomposition against Bayes' rule written out (log prior + summed
log-likelihoods), a channel's intercept against the rate it must reproduce, the belief
without signals against the observer given no channel at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from scipy.special import expit, logsumexp
from typer.testing import CliRunner

from secdilemma import Study
from secdilemma._paths import models_dir
from secdilemma.data.schema import DERIVED_CHANNELS
from secdilemma.errors import ParameterError
from secdilemma.interfaces.cli import app
from secdilemma.interfaces.console import print_posterior
from secdilemma.interfaces.plots.evidence import BAR_GID, greed_log_odds, plot_evidence
from secdilemma.interfaces.voi import parse_cost
from secdilemma.model import ModelParams, SignalParams
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import Observer, TemperedObserver, evidence_decomposition
from secdilemma.reference import is_pool_member
from secdilemma.spec.reference import load_reference_point
from secdilemma.study.signals import calibrated_intercept

runner = CliRunner()


# -- the intercept of a stand-in channel ------------------------------------------------------
def test_calibrated_intercept_reproduces_the_observed_rate() -> None:
    rng = np.random.default_rng(4)
    events = (rng.random(30) < 0.2).astype(float)
    events[[3, 11]] = np.nan
    threat = np.abs(rng.normal(0, 0.1, 30))
    threat[0] = np.nan
    ts = TypeSpace.default()
    prior = np.array([0.5, 0.3, 0.2])
    e0 = calibrated_intercept(events, threat, 1.7, 2.0, ts, prior)
    ok = np.isfinite(events) & np.isfinite(threat)
    # the model's rate, written out period by period and type by type
    rate = np.mean([
        sum(prior[k] * expit(e0 + 1.7 * ts.greed[k] + 2.0 * ts.fear[k] * threat[t])
            for k in range(3))
        for t in np.flatnonzero(ok)
    ])  # fmt: skip
    assert rate == pytest.approx((events[ok].sum() + 0.5) / (ok.sum() + 1.0), abs=1e-10)
    # without a fear term a missing threat does not drop the period
    e0_no_f = calibrated_intercept(events, threat, 1.7, 0.0, ts, prior)
    n = np.isfinite(events).sum()
    rate = np.mean(prior @ expit(e0_no_f + 1.7 * ts.greed))
    assert rate == pytest.approx((np.nansum(events) + 0.5) / (n + 1.0), abs=1e-10)


# -- the study's channels ------------------------------------------------------------------------
def test_a_case_reads_its_channels_with_the_reference_coefficients() -> None:
    study = Study("russia_nato")
    post = study.belief()
    how = json.loads(post.attrs["study_signals_used"])
    assert set(how) == set(study.spec.signals.channels)
    ref = load_reference_point()[0].signals  # the posterior's means
    assert ref is not None
    assert json.loads(post.attrs["study_reference_point"])["signals"] == "posterior means"
    params = study.exact_params()
    assert params.signals is not None
    for ch in params.signals.names:
        j = params.signals.names.index(ch)
        if ch in DERIVED_CHANNELS:
            assert how[ch] == "reference"
            k = ref.names.index(ch)
            assert params.signals.eta0[j] == ref.eta0[k]
            assert params.signals.eta_g[j] == ref.eta_g[k]
        else:  # a stand-in borrows the loadings, not the intercept
            assert "intercept calibrated" in how[ch]
            k = ref.names.index("mid_use_of_force")
            assert params.signals.eta_g[j] == ref.eta_g[k]
            assert params.signals.eta0[j] != ref.eta0[k]
    assert how["arms_control_withdrawn"].startswith("not used")
    assert post.attrs["study_reference"] == "pool"


def test_signals_false_is_the_observer_without_channels() -> None:
    study = Study("us_ussr")
    bare = study.belief(signals=False)
    obs = Observer(study.spec.types.type_space(), study.exact_params(signals=False),
                   prior=study.spec.observer.prior)  # fmt: skip
    moves = study.moves().drop_vars("signals")
    np.testing.assert_allclose(bare["filtered"], obs.filter(moves)["filtered"], atol=1e-14)
    assert "signals=False" in bare.attrs["study_signals_used"]


def test_params_default_reads_no_signals() -> None:
    post = Study("us_china", params="default").belief()
    how = json.loads(post.attrs["study_signals_used"])
    assert all(v.startswith("not used") for v in how.values())


# -- the evidence decomposition ------------------------------------------------------------------
def test_evidence_adds_up_to_the_belief() -> None:
    """Static types: log belief = log prior + sum of every source's log-likelihoods, up to a
    constant; the belief without the signals is the observer's without channels."""
    study = Study("russia_nato")
    ev = study.evidence()
    post = study.belief()
    final = post["filtered"].isel(period=-1).values
    np.testing.assert_allclose(ev["belief"].values, final, atol=1e-12)
    logp = np.log(ev["prior"].values) + ev["loglik"].sum(("source", "period")).values
    np.testing.assert_allclose(np.exp(logp - logsumexp(logp)), final, atol=1e-12)
    # the centred ratios give the same belief (the centring is a constant per period)
    logp = np.log(ev["prior"].values) + ev["llr_total"].sum("source").values
    np.testing.assert_allclose(np.exp(logp - logsumexp(logp)), final, atol=1e-12)
    np.testing.assert_allclose(ev["llr_total"].sum("rival_type"), 0.0, atol=1e-12)
    bare = study.belief(signals=False)["filtered"].isel(period=-1).values
    np.testing.assert_allclose(ev["belief_without_signals"].values, bare, atol=1e-12)
    assert ev.attrs["additive"] == 1


def test_a_use_of_force_pushes_the_way_its_loading_says_in_its_year() -> None:
    """Russia 2014 and 2022 (hand-sourced uses of force): each such year pushes the belief
    towards the greed-motivated types if the channel's greed loading is positive, away if it
    is negative (the pool's estimate); a year without one pushes the other way."""
    study = Study("russia_nato")
    ev = study.evidence()
    odds = greed_log_odds(ev).sel(source="use_of_force")
    sp = study.exact_params().signals
    assert sp is not None
    sign = np.sign(sp.eta_g[sp.names.index("use_of_force")])
    assert sign != 0
    for year in (2014, 2022):
        assert sign * float(odds.sel(period=year)) > 0
    for year in (2000, 2005, 2012):  # no use of force in the list those years
        assert sign * float(odds.sel(period=year)) < 0


def test_cheap_talk_moves_nothing() -> None:
    """A channel whose rate does not differ by type adds exactly nothing."""
    sim = simulate(n_periods=30, n_scenarios=1, true_type="greedy", seed=2).isel(scenario=0)
    rng = np.random.default_rng(0)
    sim["signals"] = (("period", "signal"), (rng.random((30, 1)) < 0.3).astype(float))
    sim = sim.assign_coords(signal=["talk"])
    cheap = SignalParams(("talk",), eta0=[-1.0], eta_g=[0.0], eta_f=[0.0])
    obs = Observer(params=ModelParams(signals=cheap))
    ev = evidence_decomposition(obs, sim)
    np.testing.assert_allclose(ev["llr"].sel(source="talk"), 0.0, atol=1e-14)
    np.testing.assert_allclose(ev["belief_without"].sel(source="talk"), ev["belief"], atol=1e-14)


def test_evidence_follows_the_observers_weights() -> None:
    """A tempered observer's evidence is tempered: every source scaled by its power."""
    sim = simulate(n_periods=25, n_scenarios=1, true_type="mixed", seed=5).isel(scenario=0)
    sim["signals"] = (("period", "signal"), (np.arange(25)[:, None] % 4 == 0).astype(float))
    sim = sim.assign_coords(signal=["s"])
    params = ModelParams(signals=SignalParams(("s",), eta0=[-2.0], eta_g=[2.0], eta_f=[0.0]))
    full = evidence_decomposition(Observer(params=params), sim)
    half = evidence_decomposition(TemperedObserver(params=params, temperature=0.5), sim)
    np.testing.assert_allclose(half["loglik"], 0.5 * full["loglik"], atol=1e-12)


def test_evidence_refuses_several_dyads() -> None:
    sim = simulate(n_periods=10, n_scenarios=2, seed=1)
    with pytest.raises(ParameterError, match="one dyad"):
        evidence_decomposition(Observer(), sim)


def test_evidence_figure_draws_each_source() -> None:
    study = Study("us_ussr")
    ev = study.evidence()
    fig = plot_evidence(ev, with_signals=study.belief()["filtered"],
                        without_signals=study.belief(signals=False)["filtered"])  # fmt: skip
    gids = {p.get_gid() for ax in fig.axes for p in ax.patches}
    assert {f"{BAR_GID}{s}" for s in ev["source"].values} <= gids
    assert len(fig.axes) == 2


# -- dyads ---------------------------------------------------------------------------------------
def test_a_dyad_reads_the_derived_channels_its_window_covers() -> None:
    full = Study.from_dyad("Greece", "Turkey", start=1980, end=2000, params="default")
    assert full.spec.signals.channels == DERIVED_CHANNELS
    # MID ends in 2010, ATOP in 2018: a window after 2010 has only the alliance channel
    late = Study.from_dyad("Greece", "Turkey", start=2011, end=2016, params="default")
    assert late.spec.signals.channels == ("alliance_new_defense_pact",)
    none = Study.from_dyad("Greece", "Turkey", start=1980, end=2000, signals=[])
    assert none.spec.signals.channels == ()


@pytest.fixture
def fake_loo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A leave-one-out build that copies the stored reference (the real one is a PyMC fit of
    the pool; tests/test_reference_loo.py runs its point estimate)."""
    import secdilemma.reference as ref

    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(tmp_path))
    calls: list[dict[str, Any]] = []

    def fake(**kw: Any) -> dict[str, Any]:
        calls.append(kw)
        kw["out"].parent.mkdir(parents=True, exist_ok=True)
        kw["out"].write_text((models_dir() / "reference_params.toml").read_text())
        return {"path": str(kw["out"])}

    monkeypatch.setattr(ref, "build_reference", fake)
    return calls


def test_a_pool_member_takes_the_pool_without_itself(fake_loo: list[dict[str, Any]]) -> None:
    study = Study.from_dyad("India", "Pakistan", start=1990, end=2010)
    post = study.belief()
    assert post.attrs["study_reference"] == "pool without IND-PAK"
    assert "IND-PAK" in json.loads(post.attrs["study_reference_left_out"])[0]
    assert len(fake_loo) == 1
    assert fake_loo[0]["posterior"] is False
    assert "IND-PAK" not in {str(d) for d in fake_loo[0]["moves"].dyad.values}
    study.belief()  # the study keeps it: no second build
    assert len(fake_loo) == 1
    # a fit's priors need the posterior too: one more build, which then serves both
    full = study.reference(posterior=True)
    assert full.label == "pool without IND-PAK"
    assert fake_loo[-1]["posterior"] is True
    assert study.reference() == full
    assert not is_pool_member("Canada", "Mexico")
    outside = Study.from_dyad("Canada", "Mexico", start=1990, end=2010)
    assert outside.belief().attrs["study_reference"] == "pool"


def test_the_printed_parameters_name_the_pool_they_come_from(
    fake_loo: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    for pair, label in ((("India", "Pakistan"), "pool without IND-PAK"),
                        (("Canada", "Mexico"), "pool")):  # fmt: skip
        study = Study.from_dyad(*pair, start=1990, end=2010)
        print_posterior(study.belief(), study.setting, study.data(), "aware")
        out = " ".join(capsys.readouterr().out.split())
        assert f"parameters (reference: {label}): {{" in out


# -- the value of each channel -------------------------------------------------------------------
def test_value_of_information_per_channel() -> None:
    study = Study("russia_nato")
    cost = {"use_of_force": 0.01, "mid_threat_display": 0.0, "alliance_new_defense_pact": 0.5}
    res = study.value_of_information(cost=cost, n_sims=400)
    sp = study.exact_params().signals
    assert sp is not None
    assert list(res["signal"].values) == list(sp.names)
    assert np.all(res["evsi"].values >= -1e-12)
    assert np.all(res["evsi"].values <= float(res["evpi"]) + 1e-12)
    assert float(res["evsi_joint"]) <= float(res["evpi"]) + 1e-12
    np.testing.assert_allclose(res["evsi_net"], res["evsi"] - res["cost"])
    assert res.attrs["study_name"] == "russia_nato"


def test_value_of_information_needs_a_channel() -> None:
    with pytest.raises(ParameterError, match="no signal channel"):
        Study("us_china", params="default").value_of_information()


def test_parse_cost() -> None:
    assert parse_cost("0.5") == 0.5
    assert parse_cost("a=0.1, b=2") == {"a": 0.1, "b": 2.0}
    for bad in ("x", "a=", "=1", "a=b"):
        with pytest.raises(ParameterError, match="--cost"):
            parse_cost(bad)


def test_voi_and_filter_commands(tmp_path: Path) -> None:
    res = runner.invoke(app, ["voi", "us_ussr", "--cost", "0.01", "--n-sims", "300",
                              "--out", str(tmp_path / "v")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "EVPI" in res.output
    assert "use_of_force" in res.output
    voi = xr.open_dataset(tmp_path / "v" / "voi.nc")
    assert "evsi" in voi
    assert voi.attrs["study_name"] == "us_ussr"
    voi.close()
    res = runner.invoke(app, ["filter", "us_ussr", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    assert "What moved the belief" in res.output
    # what the belief rests on: the net pushes, summed from the stored evidence's log-likelihoods
    ev = xr.open_dataset(tmp_path / "f" / "evidence.nc")
    greed = ev["greed"].values > 0.5
    ll = ev["loglik"].sum("period")
    push = (ll.isel(rival_type=np.flatnonzero(greed)).mean("rival_type")
            - ll.isel(rival_type=np.flatnonzero(~greed)).mean("rival_type"))  # fmt: skip
    ev.close()
    text = " ".join(res.output.split())
    assert f"the spending changes push {float(push.sel(source='buildups')):+.2f}" in text
    assert f"the signal channels {float(push.drop_sel(source='buildups').sum()):+.2f}" in text
    assert (tmp_path / "f" / "evidence.nc").is_file()
    assert (tmp_path / "f" / "evidence.png").is_file()
    bad = runner.invoke(app, ["voi", "us_ussr", "--cost", "nope=1"])
    assert bad.exit_code != 0
    assert "nope" in bad.output


@pytest.mark.parametrize("case", ["anglo_german_naval", "us_ussr", "us_china", "russia_nato"])
def test_the_fused_filter_and_the_decomposition_agree_on_every_case(case: str) -> None:
    """The belief (compiled, fused filter) and the evidence decomposition (the observer's
    numpy log-likelihoods) are two computations of one posterior."""
    study = Study(case)
    final = study.belief()["filtered"].isel(period=-1).values
    np.testing.assert_allclose(study.evidence()["belief"].values, final, atol=1e-12)


def test_greed_log_odds_falls_back_when_the_types_do_not_split() -> None:
    sim = simulate(n_periods=12, n_scenarios=1, true_type="greedy", seed=3).isel(scenario=0)
    two = TypeSpace.from_names(["greedy", "mixed"])  # both with a greed motive
    ev = evidence_decomposition(Observer(two), sim)
    odds = greed_log_odds(ev)
    assert odds.attrs["towards"] == "the fear-motivated types"
    want = ev["loglik"].sel(rival_type="mixed") - ev["loglik"].sel(rival_type="greedy")
    np.testing.assert_allclose(odds.values, want.values, atol=1e-14)
    one = evidence_decomposition(Observer(TypeSpace.from_names(["greedy"])), sim)
    assert float(np.abs(greed_log_odds(one)).max()) == 0.0
    plot_evidence(one)  # draws, rather than refusing a one-type model
