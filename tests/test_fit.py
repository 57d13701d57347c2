"""The PyMC fit: the likelihood against secdilemma.model, plumbing (mock sampler), storage,
and one tiny real fit."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from pymc.testing import mock_sample
from scipy.special import logsumexp

from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel, compare_models, load
from secdilemma.engines.pymc.checks import DEFAULT_SEED
from secdilemma.engines.pymc.posterior import draw_params, per_type_loglik
from secdilemma.errors import NotFittedError, OutputExistsError, ParameterError, SpecError
from secdilemma.interfaces.plots.fit import plot_fit
from secdilemma.model import ModelParams, SignalParams, loglik_components, transition_matrix
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.spec import ModelSpec

SP = SignalParams(("crisis_initiation",), eta0=[-1.0], eta_g=[2.0], eta_f=[0.5])


@pytest.fixture(scope="module")
def sim() -> xr.Dataset:
    return simulate(
        params=ModelParams(signals=SP),
        n_periods=12,
        n_scenarios=3,
        true_type=["greedy", "insecure", "mixed"],
        seed=2,
    )


def _draw_params(pt_: Any) -> ModelParams:
    """The ModelParams of one posterior draw of the test spec (omega .7, delta .2)."""
    return ModelParams(
        mu=pt_["mu_dyad"].values, alpha=float(pt_["alpha"]), beta=pt_["beta_dyad"].values,
        gamma=float(pt_["gamma"]), kappa=float(pt_["kappa"]), sigma=float(pt_["sigma"]),
        omega=0.7, delta=0.2,
        signals=SignalParams(("crisis_initiation",), eta0=pt_["eta0"].values,
                             eta_g=pt_["eta_g"].values, eta_f=pt_["eta_f"].values),
    )  # fmt: skip


def _perturbed_point(
    model: pm.Model, det: Any, rng: np.random.Generator
) -> tuple[dict[str, Any], ModelParams]:
    """A random point near the initial one, and the ModelParams it means (omega .7, delta .2)."""
    point = {
        k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in model.initial_point().items()
    }
    mu, alpha, beta, gamma, kappa, sigma, e0, eg, ef = det(point)
    p = ModelParams(
        mu=mu, alpha=alpha, beta=beta, gamma=gamma, kappa=kappa, sigma=sigma,
        omega=0.7, delta=0.2,
        signals=SignalParams(("crisis_initiation",), eta0=e0, eta_g=eg, eta_f=ef),
    )  # fmt: skip
    return point, p


def _spec(**extra: object) -> ModelSpec:
    d = {
        "signals": {
            "channels": ["crisis_initiation"],
            "priors": {"eta_f": {"dist": "normal", "mu": 0.0, "sigma": 1.0}},
        },
        "world": {"omega": 0.7, "delta": 0.2},
        "priors": {"hierarchical": ["mu", "beta"]},
        "observer": {"prior": {"greedy": 0.5, "insecure": 0.3, "mixed": 0.2}},
    }
    d.update(extra)
    return ModelSpec.from_dict(d)


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "sample", mock_sample)


def test_pytensor_likelihood_equals_numpy_model(sim: xr.Dataset) -> None:
    """The Potential is the exact type-marginal likelihood of secdilemma.model."""
    model = PerceptionModel(_spec(), data=sim).build_model()
    assert set(model.coords) == {"dyad", "period", "rival_type", "signal"}
    pot = model.replace_rvs_by_values(model.potentials)[0]
    fn = model.compile_fn(pot, inputs=model.value_vars)
    names = ["mu_dyad", "alpha", "beta_dyad", "gamma", "kappa", "sigma", "eta0", "eta_g", "eta_f"]
    det = model.compile_fn(
        model.replace_rvs_by_values([model[n] for n in names]), inputs=model.value_vars
    )
    rng = np.random.default_rng(0)
    ts = TypeSpace.default()
    for _ in range(3):
        point, p = _perturbed_point(model, det, rng)
        llb, lls = loglik_components(sim.dx.values, sim.u.values, p, ts, signals=sim.signals.values)
        assert lls is not None
        tot = llb.sum(1) + lls.sum((1, 3)) + np.log([0.5, 0.3, 0.2])
        assert float(fn(point)) == pytest.approx(float(logsumexp(tot, axis=-1).sum()), rel=1e-9)


@pytest.mark.parametrize("nu", [None, 1.0, 4.0, 30.0])
def test_pytensor_noise_density_is_scipys(nu: float | None) -> None:
    """The graph's one copy of the noise density: Normal or Student-t, as scipy has them."""
    import pytensor.tensor as pt
    from scipy import stats

    from secdilemma.engines.pymc.build import noise_loglik

    rng = np.random.default_rng(5)
    resid, sigma = rng.normal(0.0, 0.3, 50), rng.uniform(0.01, 0.5, 50)
    nu_t = None if nu is None else pt.as_tensor(np.float64(nu))  # float64, as pm.Data holds it
    got = noise_loglik(pt, pt.as_tensor(resid / sigma), pt.as_tensor(sigma), nu_t).eval()
    want = (
        stats.norm.logpdf(resid, scale=sigma)
        if nu is None
        else stats.t.logpdf(resid, df=nu, scale=sigma)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("persistence", [None, 0.9, 1.0])
@pytest.mark.parametrize("scale", [1.0, 500.0])
def test_one_step_predictive_densities_are_the_exact_filters_evidence(
    persistence: float | None, scale: float
) -> None:
    """Per period, log p(data_t | data_<t) adds up to the exact filter's log evidence of the
    data up to t, also for log-likelihoods extreme enough to underflow probabilities."""
    from secdilemma.engines.exact.filtering import forward_backward
    from secdilemma.engines.pymc.posterior import draw_posteriors

    rng = np.random.default_rng(7)
    ll = scale * rng.normal(size=(4, 2, 9, 3))
    log_prior = np.log([0.5, 0.3, 0.2])
    trans = None if persistence is None else transition_matrix(3, persistence=persistence)
    filt, smooth, point, unif = draw_posteriors(ll, log_prior, trans)
    assert np.all(np.isfinite(point))
    for t in range(ll.shape[2]):
        ev = forward_backward(ll[:, :, : t + 1], log_prior, transition=trans).log_evidence
        np.testing.assert_allclose(point[:, :, : t + 1].sum(-1), ev, rtol=1e-10, atol=1e-9)
    ref = forward_backward(ll, log_prior, transition=trans)
    np.testing.assert_array_equal(filt, np.exp(ref.log_filtered))
    np.testing.assert_array_equal(smooth, np.exp(ref.log_smoothed))
    flat = forward_backward(ll, np.log(np.full(3, 1 / 3)), transition=trans).log_filtered
    np.testing.assert_array_equal(unif, np.exp(flat[..., -1, :]))


def test_per_draw_loglik_with_signals_equals_one_call_per_draw(sim: xr.Dataset) -> None:
    """The Rao-Blackwellised type posteriors evaluate all draws in one call; the reference is
    secdilemma.model.loglik_components called once per draw with that draw's parameters."""
    m = PerceptionModel(_spec(), data=sim)
    rng = np.random.default_rng(3)
    S, D = 5, sim.sizes["scenario"]
    post = xr.Dataset(
        {
            k: (("chain", "draw"), rng.uniform(0.05, 0.8, (1, S)))
            for k in ("alpha", "gamma", "kappa", "sigma")
        }
        | {
            "mu_dyad": (("chain", "draw", "dyad"), rng.normal(0, 0.05, (1, S, D))),
            "beta_dyad": (("chain", "draw", "dyad"), rng.uniform(0.1, 0.9, (1, S, D))),
        }
        | {
            c: (("chain", "draw", "signal"), rng.normal(0, 1, (1, S, 1)))
            for c in ("eta0", "eta_g", "eta_f")
        },
        coords={"chain": [0], "draw": np.arange(S), "signal": ["crisis_initiation"]},
    )  # fmt: skip
    vals, etas = draw_params(m.problem, post)
    assert etas is not None
    got = per_type_loglik(m.problem, vals, etas, slice(0, D))
    for s in range(S):
        p = ModelParams(
            **{k: v[s] for k, v in vals.items()}, omega=0.7, delta=0.2,
            signals=SignalParams(("crisis_initiation",), eta0=etas[s, 0], eta_g=etas[s, 1],
                                 eta_f=etas[s, 2]),
        )  # fmt: skip
        llb, lls = loglik_components(
            sim.dx.values, sim.u.values, p, TypeSpace.default(), signals=sim.signals.values
        )
        assert lls is not None
        np.testing.assert_allclose(got[s], llb + lls.sum(-1), rtol=1e-12, atol=1e-12)


def test_naive_observer_and_student_t_match_numpy(sim: xr.Dataset) -> None:
    spec = ModelSpec.from_dict({"observer": {"kind": "naive"}, "priors": {"nu": 4}})
    model = PerceptionModel(spec, data=sim).build_model()
    pot = model.replace_rvs_by_values(model.potentials)[0]
    point = model.initial_point()
    val = float(model.compile_fn(pot, inputs=model.value_vars)(point))
    names = ("mu_dyad", "alpha", "beta", "gamma", "kappa", "sigma_dyad")
    vals = model.compile_fn(
        model.replace_rvs_by_values([model[n] for n in names]),
        inputs=model.value_vars,
        on_unused_input="ignore",
    )(point)
    keys = ("mu", "alpha", "beta", "gamma", "kappa", "sigma")
    p = ModelParams(**dict(zip(keys, vals, strict=True)), nu=4)
    llb, _ = loglik_components(
        sim.dx.values, sim.u.values, p, TypeSpace.default(), threat_blind=True
    )
    assert val == pytest.approx(float(logsumexp(llb.sum(1) + np.log(1 / 3), axis=-1).sum()))


def test_construction_never_samples_and_unfitted_methods_refuse(sim: xr.Dataset) -> None:
    m = PerceptionModel(_spec(), data=sim)
    assert m.idata_ is None
    assert m._model is None
    for call in (m.summary, m.type_posterior, m.posterior_predictive, lambda: m.save("x.nc")):
        with pytest.raises(NotFittedError, match="fit"):
            call()


def _switching_spec(persistence: float | None) -> ModelSpec:
    types: dict[str, object] = {"switching": False}
    if persistence is not None:
        types["switching"] = {"persistence": persistence}
    return _spec(types=types)


def _potential_and_params(model: pm.Model) -> tuple[object, object]:
    pot = model.replace_rvs_by_values(model.potentials)[0]
    fn = model.compile_fn(pot, inputs=model.value_vars)
    names = ["mu_dyad", "alpha", "beta_dyad", "gamma", "kappa", "sigma", "eta0", "eta_g", "eta_f"]
    det = model.compile_fn(
        model.replace_rvs_by_values([model[n] for n in names]), inputs=model.value_vars
    )
    return fn, det


def test_switching_likelihood_equals_the_exact_observers_evidence(sim: xr.Dataset) -> None:
    """The forward algorithm in PyTensor is the exact switching observer's log evidence."""
    from secdilemma.observers import Observer

    model = PerceptionModel(_switching_spec(0.8), data=sim).build_model()
    fn, det = _potential_and_params(model)
    rng = np.random.default_rng(1)
    for _ in range(3):
        point, p = _perturbed_point(model, det, rng)
        obs = Observer(params=p, persistence=0.8, prior=[0.5, 0.3, 0.2])
        want = float(obs.filter(sim, smooth=False)["log_evidence"].sum())
        assert abs(float(fn(point)) - want) < 1e-8 * max(1.0, abs(want))
        # and it differs from the static model's likelihood (the test can fail)
        static = PerceptionModel(_spec(), data=sim).build_model()
        sfn = static.compile_fn(
            static.replace_rvs_by_values(static.potentials)[0], inputs=static.value_vars
        )
        assert abs(float(sfn(point)) - want) > 1e-3


def test_switching_with_persistence_one_is_the_static_model(sim: xr.Dataset) -> None:
    static = PerceptionModel(_switching_spec(None), data=sim).build_model()
    sfn, _ = _potential_and_params(static)
    point = static.initial_point()
    model = PerceptionModel(_switching_spec(1.0), data=sim).build_model()
    fn, _ = _potential_and_params(model)
    grad = model.compile_fn(model.dlogp(), inputs=model.value_vars)
    log_trans = model["log_transition"]  # data: the compiled functions read the new values
    for p in (1.0, 1.0 - 1e-12):
        with np.errstate(divide="ignore"):
            log_trans.set_value(np.log(transition_matrix(3, persistence=p)))
        assert float(fn(point)) == pytest.approx(float(sfn(point)), abs=1e-6)
        # the gradient stays finite with -inf off the diagonal of log A
        assert np.all(np.isfinite(grad(point)))
    log_trans.set_value(np.log(transition_matrix(3, persistence=0.5)))
    assert abs(float(fn(point)) - float(sfn(point))) > 1e-3


def test_switching_structure_key_and_persistence_as_data(sim: xr.Dataset) -> None:
    a, b, c = (PerceptionModel(_switching_spec(p), data=sim) for p in (0.9, 0.7, None))
    # a new persistence reuses the compiled model (it is data); static vs switching does not
    assert a.problem.structure_key() == b.problem.structure_key() != c.problem.structure_key()
    logt = a.build_model()["log_transition"].get_value()
    np.testing.assert_allclose(np.exp(logt), transition_matrix(3, persistence=0.9))
    np.testing.assert_allclose(
        np.exp(b.build_model()["log_transition"].get_value()).diagonal(), 0.7
    )


def test_mock_switching_fit_matches_the_exact_filter(
    sim: xr.Dataset, mocked: None, tmp_path
) -> None:
    """Per draw: last-period, filtered and smoothed type probabilities and the pointwise
    log-likelihood are the exact switching observer's at that draw's parameters."""
    from secdilemma.engines.exact.filtering import forward_backward
    from secdilemma.observers import Observer

    m = PerceptionModel(_switching_spec(0.8), data=sim)
    with pytest.warns(ConvergenceWarning):
        tree = m.fit(sampler="pymc", chains=2, draws=10, seed=3).idata_
    assert tree is not None
    tp = tree["type_probabilities"]
    assert tp.attrs["switching"] == 1
    assert tp.attrs["persistence"] == 0.8
    post = tree["posterior"]
    filt, smooth = [], []
    for c in (0, 1):
        for d in range(10):
            p = _draw_params(post.isel(chain=c, draw=d))
            ex = Observer(params=p, persistence=0.8, prior=[0.5, 0.3, 0.2]).filter(sim)
            filt.append(ex["filtered"].values)
            smooth.append(ex["smoothed"].values)
            np.testing.assert_allclose(
                tp["type_probability"].isel(chain=c, draw=d).values,
                ex["filtered"].isel(period=-1).values,
                rtol=1e-8,
                atol=1e-12,
            )
            ll = tree["log_likelihood"]["dx"].isel(chain=c, draw=d)
            np.testing.assert_allclose(ll.sum("period").values, ex["log_evidence"].values)
            # one-step predictive densities: the first is the evidence of period 0 alone
            first = Observer(params=p, prior=[0.5, 0.3, 0.2]).filter(sim.isel(period=[0]))
            np.testing.assert_allclose(ll.isel(period=0).values, first["log_evidence"].values)
            # under a uniform prior on z_0
            llb, lls = loglik_components(
                sim.dx.values, sim.u.values, p, TypeSpace.default(), signals=sim.signals.values
            )
            assert lls is not None
            unif = forward_backward(
                llb + lls.sum(-1), np.log(np.full(3, 1 / 3)), transition=transition_matrix(
                    3, persistence=0.8), smooth=False
            )  # fmt: skip
            np.testing.assert_allclose(
                tp["type_probability_uniform_prior"].isel(chain=c, draw=d).values,
                np.exp(unif.log_filtered[:, -1]),
                rtol=1e-8,
            )
    np.testing.assert_allclose(tp["filtered_mean"].values, np.mean(filt, axis=0), rtol=1e-8)
    np.testing.assert_allclose(tp["smoothed_mean"].values, np.mean(smooth, axis=0), rtol=1e-8)
    np.testing.assert_allclose(
        tp["smoothed_high"].values, np.quantile(smooth, 0.95, axis=0), rtol=1e-8
    )
    # the smoother differs from the filter before the last period, and agrees at the end
    assert np.abs(tp["smoothed_mean"] - tp["filtered_mean"]).isel(period=0).max() > 1e-3
    xr.testing.assert_allclose(
        tp["smoothed_mean"].isel(period=-1), tp["filtered_mean"].isel(period=-1)
    )

    # summary, beliefs (the type now), save/load, predictive checks and the figure
    s = m.summary()
    assert set(s["type_probabilities"]["0"]) == {"greedy", "insecure", "mixed"}
    belief, _ = m.belief_draws(dyad=1, max_draws=5)
    want = tp["type_probability"].sel(dyad=1).stack(sample=("chain", "draw")).T.values
    assert belief.shape == (5, 3)
    assert all(any(np.allclose(b, w) for w in want) for b in belief.values)
    back = load(m.save(tmp_path / "switching.nc"))
    assert back.spec.types.persistence == 0.8
    xr.testing.assert_allclose(back.idata_["type_probabilities"].to_dataset(), tp.to_dataset())
    assert back.summary()["type_probabilities"] == s["type_probabilities"]
    pp = back.posterior_predictive(seed=1)["posterior_predictive"]
    assert pp["dx"].shape == (2, 10, 3, 12)
    assert pp["type"].dims == ("chain", "draw", "dyad", "period")
    prior = m.prior_predictive(draws=400, seed=2)["prior_predictive"]["type"].values
    switches = (prior[..., 1:] != prior[..., :-1]).mean()
    assert switches == pytest.approx(0.2, abs=0.02)
    fig = plot_fit(back, dyad=1, events={3: "a treaty", 7: "a crisis"})
    _check_fit_figure(fig, title=("dyad 1", "0–11", "ω = 0.7", "δ = 0.2"), n_events=2)


def _check_fit_figure(fig: Any, *, title: tuple[str, ...], n_events: int) -> None:
    """Structure of plot_fit's figure: a panel per type, trace and rank plots per parameter
    (with their labels and a chain legend), the title, the numbered events and their key."""
    import matplotlib.pyplot as plt

    try:
        by_ylabel = {ax.get_ylabel(): ax for ax in fig.axes}
        panels = [by_ylabel.get(f"P({t})") for t in ("greedy", "insecure", "mixed")]
        assert all(p is not None for p in panels)
        assert sum(ax.get_ylabel().startswith("P(") for ax in fig.axes) == 3
        assert panels[-1].get_xlabel() == "period"  # simulated data: no years
        for ax in panels:  # filtered and smoothed means, each with its band
            assert len(ax.collections) >= 2
            assert ax.get_ylim() == (0.0, 1.0)
        for name in ("mu", "alpha", "beta", "gamma", "kappa", "sigma"):
            trace = by_ylabel[name]
            assert trace.get_xlabel() == "Draw"
            assert len(trace.lines) >= 2
            ranks = [ax for ax in fig.axes if ax.get_title() == name and ax is not trace]
            assert len(ranks) == 1
            assert ranks[0].get_xlabel()
        assert any(lg.get_title().get_text() == "chain" for lg in fig.legends)
        text = fig.get_suptitle()
        assert all(part in text for part in title), text
        assert "NOT CONVERGED" in text  # mock draws fail the gate
        texts = [t for ax in fig.axes for t in ax.texts]
        markers = [t for t in texts if t.get_gid() == "event-marker"]
        keys = [t for t in texts if t.get_gid() == "event-key"]
        assert [t.get_text() for t in markers] == [str(i + 1) for i in range(n_events)]
        assert len(keys) == n_events
        fig.canvas.draw()  # lays out and draws without error
    finally:
        plt.close(fig)


def test_mock_fit_plumbing_summary_save_load(sim: xr.Dataset, mocked: None, tmp_path) -> None:
    m = PerceptionModel(_spec(sampler={"seed": 5}), data=sim)
    with pytest.warns(ConvergenceWarning, match="Do NOT trust"):
        fitted = m.fit(sampler="pymc", chains=2, draws=10)
    assert fitted is m  # scikit-learn style: fit returns the model
    tree = m.idata_
    assert tree is not None
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data",
            "type_probabilities"} <= set(tree.children)  # fmt: skip
    tp = tree["type_probabilities"]["type_probability"]
    assert tp.dims == ("chain", "draw", "dyad", "rival_type")
    np.testing.assert_allclose(tp.sum("rival_type"), 1.0)
    assert tree["log_likelihood"]["dx"].dims == ("chain", "draw", "dyad", "period")
    assert json.loads(tree.attrs["spec"])["world"]["omega"] == 0.7
    assert tree.attrs["seed"] == 5
    s = m.summary()
    assert s["trustworthy"] is False
    assert s["verdict"].startswith("NOT TRUSTWORTHY")
    assert set(s["type_probabilities"]["0"]) == {"greedy", "insecure", "mixed"}
    sens = s["prior_sensitivity"]["0"]
    assert sens["prior"] == {"greedy": 0.5, "insecure": 0.3, "mixed": 0.2}
    assert sens["kl_prior_to_posterior_nats"] >= 0.0

    # Rao-Blackwellised probabilities agree with the exact filter at each draw's parameters
    post = tree["posterior"]
    for c, d in [(0, 0), (1, 7)]:
        p = _draw_params(post.isel(chain=c, draw=d))
        llb, lls = loglik_components(
            sim.dx.values, sim.u.values, p, TypeSpace.default(), signals=sim.signals.values
        )
        assert lls is not None
        lp = llb.sum(1) + lls.sum((1, 3)) + np.log([0.5, 0.3, 0.2])
        want = np.exp(lp - logsumexp(lp, axis=-1, keepdims=True))
        np.testing.assert_allclose(tp.isel(chain=c, draw=d).values, want, rtol=1e-8, atol=1e-12)
        # pointwise log-likelihood sums to the marginal
        np.testing.assert_allclose(
            tree["log_likelihood"]["dx"].isel(chain=c, draw=d).sum("period").values,
            logsumexp(lp, axis=-1),
        )

    path = m.save(tmp_path / "fit.nc")
    with pytest.raises(OutputExistsError):
        m.save(path)
    back = load(path)
    assert back.spec == m.spec
    for g in ("posterior", "type_probabilities", "log_likelihood", "observed_data"):
        xr.testing.assert_allclose(back.idata_[g].to_dataset(), tree[g].to_dataset())
    assert back.summary()["type_probabilities"] == s["type_probabilities"]
    pp = back.posterior_predictive(seed=1)
    assert pp["posterior_predictive"]["dx"].shape == (2, 10, 3, 12)
    assert pp.attrs["seed"] == 1
    assert back.posterior_predictive().attrs["seed"] == 6  # the fit's seed + 1

    # every random step is seeded: belief_draws by default with the fit's seed
    belief, _ = back.belief_draws(dyad=0, max_draws=5)
    assert belief.attrs["seed"] == 5
    keep = np.sort(np.random.default_rng(5).choice(20, size=5, replace=False))
    want = tp.sel(dyad=0).stack(sample=("chain", "draw")).transpose("sample", ...).values
    np.testing.assert_array_equal(belief.values, want[keep])
    other, _ = back.belief_draws(dyad=0, max_draws=5, seed=0)
    assert other.attrs["seed"] == 0
    assert not np.array_equal(other.values, belief.values)
    # the prior predictive takes the spec's seed
    assert m.prior_predictive(draws=10).attrs["seed"] == 5
    _check_fit_figure(
        plot_fit(back, title="a fit of three dyads"), title=("a fit of three dyads",), n_events=0
    )
    with pytest.raises(ParameterError, match="dyad 9 is not in the fit"):
        plot_fit(back, dyad=9)


def test_load_refuses_another_version(sim: xr.Dataset, mocked: None, tmp_path) -> None:
    m = PerceptionModel(ModelSpec.from_dict({}), data=sim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(sampler="pymc", chains=2, draws=5)
    assert m.idata_ is not None
    m.idata_.attrs["secdilemma_version"] = "0.0.1"
    from secdilemma.io import atomic_write

    p = atomic_write(tmp_path / "old.nc", lambda q: m.idata_.to_netcdf(q, engine="h5netcdf"))
    with pytest.raises(SpecError, match=r"written by secdilemma 0\.0\.1"):
        load(p)


def test_compare_models_and_prior_predictive(sim: xr.Dataset, mocked: None) -> None:
    fits = {}
    for name, types in [("full", ["greedy", "insecure", "mixed"]), ("greedy_only", ["greedy"])]:
        m = PerceptionModel(ModelSpec.from_dict({"types": {"names": types}}), data=sim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.fit(sampler="pymc", chains=2, draws=20)
        fits[name] = m
    table = compare_models(fits)
    assert set(table.index) == {"full", "greedy_only"}
    with pytest.raises(SpecError, match="at least two"):
        compare_models({"full": fits["full"]})
    prior = fits["full"].prior_predictive(draws=30, seed=3)
    assert prior["prior_predictive"]["dx"].shape == (1, 30, 3, 12)
    assert np.isnan(prior["prior_predictive"]["dx"].isel(period=0)).all()
    assert prior.attrs["seed"] == 3
    # no seed given: the prior predictive is still seeded, with the spec's seed or, when the
    # spec has none, DEFAULT_SEED
    spec_seed = fits["full"].spec.sampler.seed
    a, b = (fits["full"].prior_predictive(draws=30) for _ in range(2))
    assert a.attrs["seed"] == b.attrs["seed"] == (DEFAULT_SEED if spec_seed is None else spec_seed)
    for g in ("prior", "prior_predictive"):
        xr.testing.assert_equal(a[g].to_dataset(), b[g].to_dataset())  # created_at differs
    assert not np.array_equal(a["prior"]["alpha"].values, prior["prior"]["alpha"].values)


def test_tiny_real_fit_finds_the_types() -> None:
    """2 chains x 200 draws of PyMC's NUTS on 3 clearly separated simulated dyads."""
    truth = ModelParams(alpha=0.08, beta=0.8, gamma=0.8, kappa=0.4, sigma=0.03)
    data = simulate(
        params=truth,
        n_periods=40,
        n_scenarios=3,
        true_type=["greedy", "insecure", "mixed"],
        observer_sd=0.1,
        seed=11,
    )
    m = PerceptionModel(ModelSpec.from_dict({"priors": {"hierarchical": []}}), data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(sampler="pymc", chains=2, draws=200, tune=200, seed=4, cores=1,
              progressbar=False)  # fmt: skip
    mean = m.type_posterior()["mean"]
    best = mean.idxmax("rival_type").values.tolist()
    assert best == ["greedy", "insecure", "mixed"]
    assert float(mean.min("dyad").max()) > 0.0
    assert float(mean.max("rival_type").min()) > 0.9
    s = m.summary()
    assert s["diagnostics"]["divergences"] == 0
    beta = s["parameters"]["beta"]
    assert abs(beta["mean"] - 0.8) < 4 * beta["sd"]
