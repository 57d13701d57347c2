"""Observers: one contract every kind inherits, then what each kind adds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from secdilemma import __version__
from secdilemma.engines.exact.filtering import forward_backward
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams, loglik_components, transition_matrix
from secdilemma.model.simulate import simulate
from secdilemma.model.types import TypeSpace
from secdilemma.observers import (
    FITTABLE_KINDS,
    OBSERVER_KINDS,
    AwareObserver,
    BiasedObserver,
    NaiveObserver,
    Observer,
    SelectiveObserver,
    TemperedObserver,
    compare_observers,
    swap_roles,
)

SIGNALS = SignalParams(
    ("arms_control_refused", "unilateral_restraint"),
    eta0=[-1.5, -1.0],
    eta_g=[2.0, -1.5],
    eta_f=[0.0, 1.0],
)
PARAMS = ModelParams(signals=SIGNALS)


@pytest.fixture(scope="module")
def data() -> xr.Dataset:
    return simulate(params=PARAMS, n_periods=25, n_scenarios=6, seed=11)


# ---------------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------------
class ObserverContract:
    """Every observer kind inherits these tests; a kind declares ``make``."""

    cls: type[Observer] = Observer
    extra: dict = {}  # noqa: RUF012
    switching: float | None = None

    def make(self, **kwargs) -> Observer:
        kw = {**self.extra, **kwargs}
        if self.switching is not None:
            kw.setdefault("persistence", self.switching)
        return self.cls(
            params=kwargs.pop("params", PARAMS), **{k: v for k, v in kw.items() if k != "params"}
        )

    def test_metadata(self):
        obs = self.make()
        assert obs.kind in OBSERVER_KINDS
        assert isinstance(obs.description, str)
        assert obs.description
        assert repr(obs).startswith(type(obs).__name__)

    def test_posteriors_sum_to_one(self, data):
        post = self.make().filter(data)
        for var in ("filtered", "smoothed"):
            np.testing.assert_allclose(post[var].sum("rival_type"), 1.0, atol=1e-12)
            assert float(post[var].min()) >= 0.0

    def test_dims_and_coords(self, data):
        post = self.make().filter(data)
        assert post.filtered.dims == ("scenario", "period", "rival_type")
        assert post.smoothed.dims == ("scenario", "period", "rival_type")
        assert post.log_evidence.dims == ("scenario",)
        assert post.rival_type.values.tolist() == ["greedy", "insecure", "mixed"]
        xr.testing.assert_equal(post.period, data.period)
        xr.testing.assert_equal(post.scenario, data.scenario)
        assert post.attrs["observer_kind"] == self.cls.kind
        assert post.attrs["secdilemma_version"] == __version__
        assert post.attrs["switching"] == int(self.switching is not None)
        assert isinstance(json.loads(post.attrs["observer_settings"]), dict)
        assert "smoothed" not in self.make().filter(data, smooth=False)

    def test_reproducible(self, data):
        xr.testing.assert_identical(self.make().filter(data), self.make().filter(data))

    def test_params_round_trip(self, data):
        obs = self.make()
        clone = type(obs)(**obs.get_params())
        xr.testing.assert_identical(obs.filter(data), clone.filter(data))

    def test_evidence_finite(self, data):
        assert np.all(np.isfinite(self.make().filter(data).log_evidence))

    def test_filter_at_T_equals_smoother_at_T(self, data):
        post = self.make().filter(data)
        xr.testing.assert_allclose(
            post.filtered.isel(period=-1), post.smoothed.isel(period=-1), atol=1e-12
        )

    def test_prior_respected_without_data(self, data):
        empty = data.copy()
        empty["dx"] = xr.full_like(data.dx, np.nan)
        empty["signals"] = xr.full_like(data.signals, np.nan)
        obs = self.make()
        post = obs.filter(empty)
        prior = obs._type_prior(TypeSpace.default())
        a = transition_matrix(3, persistence=self.switching) if self.switching else np.eye(3)
        for t in range(data.sizes["period"]):
            expected = prior @ np.linalg.matrix_power(a, t)
            np.testing.assert_allclose(
                post.filtered.isel(period=t).values, np.broadcast_to(expected, (6, 3)), atol=1e-12
            )
        np.testing.assert_allclose(post.log_evidence, 0.0, atol=1e-12)

    def test_extra_leading_dims(self, data):
        stacked = xr.concat([data, data.assign(dx=data.dx + 0.01)], dim="dyad")
        post = self.make().filter(stacked)
        assert post.filtered.dims == ("dyad", "scenario", "period", "rival_type")
        xr.testing.assert_allclose(
            post.isel(dyad=0).drop_vars("dyad", errors="ignore"),
            self.make().filter(data),
            atol=1e-12,
        )

    def test_loglik_dims(self, data):
        ll = self.make().loglik(data)
        assert ll.dims == ("scenario", "period", "rival_type")
        assert np.all(np.isfinite(ll))

    def test_bad_inputs(self, data):
        obs = self.make()
        with pytest.raises(ParameterError, match="'dx'"):
            obs.filter(data.drop_vars("dx"))
        with pytest.raises(ParameterError, match="'u'"):
            obs.filter(data.drop_vars("u"))
        with pytest.raises(ParameterError, match="Dataset"):
            obs.filter(data.dx)  # type: ignore[arg-type]
        with pytest.raises(ParameterError, match="unilateral_restraint"):
            obs.filter(data.sel(signal=["arms_control_refused"]))
        with pytest.raises(ParameterError, match="signals"):
            obs.filter(data.drop_vars("signals"))
        with pytest.raises(ParameterError, match="persistence"):
            self.make(persistence=-0.2).filter(data)
        with pytest.raises(ParameterError, match="prior"):
            self.make(prior=[0.5, 0.4, 0.3]).filter(data)
        with pytest.raises(ParameterError, match="unknown rival type"):
            self.make(prior={"greedy": 0.5, "hawk": 0.5}).filter(data)
        with pytest.raises(ParameterError, match="not both"):
            self.make(persistence=0.9, transition=np.eye(3)).filter(data)
        with pytest.raises(ParameterError, match="transition"):
            self.make(persistence=None, transition=np.eye(2)).filter(data)
        with pytest.raises(ParameterError, match="`x`"):
            self.make(params=PARAMS.replace(lam=0.1)).filter(data.drop_vars("x"))
        with pytest.raises(ParameterError, match="params"):
            self.make(params="default").filter(data)  # type: ignore[arg-type]


class TestAware(ObserverContract):
    cls = Observer


class TestAwareAlias(ObserverContract):
    cls = AwareObserver


class TestAwareSwitching(ObserverContract):
    cls = Observer
    switching = 0.9


class TestNaive(ObserverContract):
    cls = NaiveObserver


class TestBiased(ObserverContract):
    cls = BiasedObserver
    extra = {"confidence": 1.5}  # noqa: RUF012


class TestBiasedSwitching(ObserverContract):
    cls = BiasedObserver
    extra = {"prior": {"greedy": 0.6, "insecure": 0.4}}  # noqa: RUF012
    switching = 0.95


class TestTempered(ObserverContract):
    cls = TemperedObserver
    extra = {"temperature": 0.3}  # noqa: RUF012


class TestSelective(ObserverContract):
    cls = SelectiveObserver
    extra = {"channel_weights": {"arms_control_refused": 0.0}, "buildup_weight": 0.5}  # noqa: RUF012


# ---------------------------------------------------------------------------------------------
# What each kind adds, against independent compositions
# ---------------------------------------------------------------------------------------------
def test_observer_is_loglik_plus_forward_backward(data):
    ts = TypeSpace.default()
    ll_b, ll_s = loglik_components(
        data.dx.values, data.u.values, PARAMS, ts, signals=data.signals.values
    )
    ll = ll_b + ll_s.sum(-1)
    prior = np.array([0.5, 0.2, 0.3])
    a = transition_matrix(3, persistence=0.85)
    ref = forward_backward(ll, np.log(prior), transition=a)
    post = Observer(params=PARAMS, prior=prior, persistence=0.85).filter(data)
    np.testing.assert_allclose(np.exp(ref.log_filtered), post.filtered.values, atol=1e-14)
    np.testing.assert_allclose(np.exp(ref.log_smoothed), post.smoothed.values, atol=1e-14)
    np.testing.assert_allclose(ref.log_evidence, post.log_evidence.values)
    np.testing.assert_allclose(Observer(params=PARAMS).loglik(data).values, ll)


def test_naive_is_the_model_with_no_threat(data):
    blind = NaiveObserver(params=PARAMS).loglik(data)
    h0 = Observer(params=PARAMS.replace(omega=0.0, delta=1.0)).loglik(data)
    xr.testing.assert_allclose(blind, h0)
    assert not np.allclose(blind, Observer(params=PARAMS).loglik(data))


def test_tempered_scales_the_loglik_and_stays_closer_to_the_prior(data):
    full = Observer(params=PARAMS).loglik(data)
    xr.testing.assert_allclose(
        TemperedObserver(params=PARAMS, temperature=0.25).loglik(data), 0.25 * full
    )
    xr.testing.assert_identical(
        TemperedObserver(params=PARAMS, temperature=1.0).filter(data).filtered,
        Observer(params=PARAMS).filter(data).filtered,
    )
    cold = TemperedObserver(params=PARAMS, temperature=0.1).filter(data).filtered
    hot = Observer(params=PARAMS).filter(data).filtered
    dist = lambda p: float(abs(p.isel(period=-1) - 1 / 3).sum())  # noqa: E731
    assert dist(cold) < dist(hot)
    with pytest.raises(ParameterError, match="temperature"):
        TemperedObserver(temperature=0.0).filter(data)


def test_selective_weights_by_channel_name(data):
    ts = TypeSpace.default()
    ll_b, ll_s = loglik_components(
        data.dx.values, data.u.values, PARAMS, ts, signals=data.signals.values
    )
    obs = SelectiveObserver(
        params=PARAMS, channel_weights={"unilateral_restraint": 3.0}, buildup_weight=0.5
    )
    np.testing.assert_allclose(
        obs.loglik(data).values, 0.5 * ll_b + ll_s[..., 0] + 3.0 * ll_s[..., 1]
    )
    deaf = SelectiveObserver(
        params=PARAMS,
        channel_weights={"unilateral_restraint": 0.0, "arms_control_refused": 0.0},
        buildup_weight=0.0,
        prior=[0.2, 0.3, 0.5],
    ).filter(data)
    np.testing.assert_allclose(deaf.filtered.values, np.broadcast_to([0.2, 0.3, 0.5], (6, 25, 3)))
    with pytest.raises(ParameterError, match=r"channel_weights.*use_of_force"):
        SelectiveObserver(params=PARAMS, channel_weights={"use_of_force": 1.0}).filter(data)
    with pytest.raises(ParameterError, match="buildup_weight"):
        SelectiveObserver(params=PARAMS, buildup_weight=-1.0).filter(data)


def test_biased_prior():
    ts = TypeSpace.default()
    np.testing.assert_allclose(BiasedObserver()._type_prior(ts), [0.8, 0.1, 0.1])
    sharp = BiasedObserver(prior=[0.5, 0.25, 0.25], confidence=2.0)._type_prior(ts)
    np.testing.assert_allclose(sharp, np.array([0.25, 0.0625, 0.0625]) / 0.375)
    flat = BiasedObserver(prior=[0.5, 0.25, 0.25], confidence=1e-9)._type_prior(ts)
    np.testing.assert_allclose(flat, 1 / 3, atol=1e-8)
    with pytest.raises(ParameterError, match="confidence"):
        BiasedObserver(confidence=-1.0)._type_prior(ts)
    with pytest.raises(ParameterError, match="greedy"):
        BiasedObserver()._type_prior(TypeSpace.from_names(["insecure", "secure"]))


def test_signal_channels_matched_by_name(data):
    obs = Observer(params=PARAMS)
    ref = obs.filter(data)
    # reorder the channels and add one the model does not have
    extra = xr.concat(
        [
            data.signals.isel(signal=[1, 0]),
            xr.zeros_like(data.signals.isel(signal=[0])).assign_coords(signal=["use_of_force"]),
        ],
        dim="signal",
    )
    post = obs.filter(data.drop_vars(["signals", "signal"]).assign(signals=extra))
    xr.testing.assert_allclose(post.filtered, ref.filtered)
    assert "use_of_force" in post.attrs["notes"]
    # signals in the data but not in the model: ignored with a note
    plain = Observer().filter(data)
    assert "ignored" in plain.attrs["notes"]


def test_case_style_signals_with_an_actor_dim(data):
    """``signals`` over (period, actor, signal) counts: the rival's are read, > 0 as 1."""
    counts = data.signals * 2  # counts of 0 or 2
    both = xr.concat([xr.zeros_like(counts), counts], dim="actor").assign_coords(
        actor=["observer", "rival"]
    )
    post = Observer(params=PARAMS).filter(data.assign(signals=both))
    xr.testing.assert_allclose(post.filtered, Observer(params=PARAMS).filter(data).filtered)
    assert "actor='rival'" in post.attrs["notes"]


# ---------------------------------------------------------------------------------------------
# Misperception: the naive observer reads an insecure rival as greedy
# ---------------------------------------------------------------------------------------------
def misperception(types: TypeSpace, *, n: int = 1000, T: int = 30, drift: float = 0.1, seed=2024):
    """Final-period P(greedy), P(greedy or mixed) of aware vs naive observers, per dyad."""
    ds = simulate(
        types, n_periods=T, n_scenarios=n, true_type="insecure", observer_drift=drift, seed=seed
    )
    cmp = compare_observers(ds, [Observer(types), NaiveObserver(types)])
    return cmp.filtered.isel(period=-1)


def test_naive_observer_sees_greed_where_the_aware_one_sees_fear():
    last = misperception(TypeSpace.default())
    greed = last.sel(rival_type=["greedy", "mixed"]).sum("rival_type")  # P(greed motive)
    frac = (greed > 0.5).mean("scenario")
    mean = greed.mean("scenario")
    assert float(frac.sel(observer="naive")) > 0.95
    assert float(frac.sel(observer="aware")) < 0.02
    assert float(mean.sel(observer="naive")) > 0.9
    assert float(mean.sel(observer="aware")) < 0.05
    # with only greedy vs insecure to choose from, the naive observer picks greedy
    two = misperception(TypeSpace.from_names(["greedy", "insecure"]))
    g = two.sel(rival_type="greedy")
    assert float((g > 0.5).mean("scenario").sel(observer="naive")) > 0.85
    assert float((g > 0.5).mean("scenario").sel(observer="aware")) < 0.02


# ---------------------------------------------------------------------------------------------
# compare_observers
# ---------------------------------------------------------------------------------------------
def test_compare_observers(data):
    obs = [Observer(params=PARAMS), NaiveObserver(params=PARAMS), Observer(params=PARAMS)]
    cmp = compare_observers(data, obs, smooth=True)
    assert cmp.observer.values.tolist() == ["aware", "naive", "aware_2"]
    assert cmp.observer_kind.values.tolist() == ["aware", "naive", "aware"]
    assert cmp.filtered.dims == ("observer", "scenario", "period", "rival_type")
    assert cmp.log_evidence.dims == ("observer", "scenario")
    assert "smoothed" in cmp
    xr.testing.assert_allclose(
        cmp.filtered.sel(observer="naive", drop=True),
        NaiveObserver(params=PARAMS).filter(data).filtered,
    )
    named = compare_observers(data, {"hawk": BiasedObserver(params=PARAMS)})
    assert named.observer.values.tolist() == ["hawk"]
    assert set(json.loads(named.attrs["observer_settings"])) == {"hawk"}
    with pytest.raises(ParameterError, match="empty"):
        compare_observers(data, [])
    with pytest.raises(ParameterError, match="same type space"):
        compare_observers(
            data,
            [Observer(params=PARAMS), Observer(TypeSpace.default(secure=True), params=PARAMS)],
        )
    with pytest.raises(ParameterError, match="not an Observer"):
        compare_observers(data, {"x": "aware"})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------------------------
# Two-sided perception
# ---------------------------------------------------------------------------------------------
def simulate_reacting_observer(type_name: str, *, n: int, T: int, seed: int) -> xr.Dataset:
    """Dyads where the OBSERVER reacts, with a known type, to an exogenous rival.

    Written from the reaction table (not via the package's simulator): the observer's
    change ``u_t`` reacts to the rival's change ``dx_{t-1}``; the rival's moves are random.
    """
    p = ModelParams()
    g, f = {"greedy": (1, 0), "insecure": (0, 1), "mixed": (1, 1)}[type_name]
    rng = np.random.default_rng(seed)
    dx = 0.03 + 0.05 * rng.standard_normal((n, T))
    u = np.full((n, T), np.nan)
    for t in range(1, T):
        up, down = np.maximum(dx[:, t - 1], 0), np.minimum(dx[:, t - 1], 0)
        mean = (
            g * p.alpha
            + (f * p.beta * 1.0 - g * (1 - f) * p.kappa) * up
            + (f * (1 - g) * p.beta - g * p.gamma) * down
        )
        u[:, t] = mean + p.sigma * rng.standard_normal(n)
    y = np.nancumsum(u, axis=1)
    x = np.cumsum(dx, axis=1)
    return xr.Dataset(
        {
            "x": (("dyad", "period"), x),
            "y": (("dyad", "period"), y),
            "dx": (("dyad", "period"), dx),
            "u": (("dyad", "period"), u),
        },
        coords={"period": np.arange(T)},
    )


@pytest.mark.parametrize("type_name", ["greedy", "insecure", "mixed"])
def test_swapped_filter_recovers_the_observers_type(type_name):
    ds = simulate_reacting_observer(type_name, n=200, T=40, seed=3)
    post = Observer().filter(swap_roles(ds)).filtered.isel(period=-1)
    accuracy = float(
        (post.argmax("rival_type") == post.rival_type.values.tolist().index(type_name)).mean()
    )
    assert accuracy > 0.9
    # without swapping, the (random) rival looks like no type in particular: much worse
    wrong = Observer().filter(ds).filtered.isel(period=-1)
    assert float(wrong.sel(rival_type=type_name).mean()) < float(
        post.sel(rival_type=type_name).mean()
    )


def test_swap_roles_bookkeeping():
    sim = simulate(params=PARAMS, n_periods=6, n_scenarios=2, seed=1)
    sw = swap_roles(sim)
    for new, old in (("dx", "u"), ("u", "dx"), ("x", "y"), ("y", "x")):
        xr.testing.assert_equal(sw[new], sim[old].rename(new))
    assert "signals" not in sw
    assert "true_type" not in sw
    assert sw.attrs["roles_swapped"] == 1
    assert "signals" in sw.attrs["swap_notes"]
    back = swap_roles(sw)
    assert back.attrs["roles_swapped"] == 0
    for v in ("x", "y", "dx", "u"):
        xr.testing.assert_identical(back[v].drop_attrs(), sim[v].drop_attrs())
    # a case dataset: per-actor variables follow the swapped labels
    case = xr.Dataset(
        {
            "x": ("period", [1.0, 2.0]),
            "y": ("period", [3.0, 5.0]),
            "signals": (("period", "actor", "signal"), np.array([[[1], [0]], [[0], [2]]])),
            "event_actor": ("event", ["observer", "rival", "both"]),
        },
        coords={
            "period": [1990, 1991],
            "actor": ["observer", "rival"],
            "signal": ["a"],
            "event": [0, 1, 2],
        },
    )
    cs = swap_roles(case)
    assert cs.actor.values.tolist() == ["observer", "rival"]
    np.testing.assert_array_equal(
        cs.signals.sel(actor="rival").values, case.signals.sel(actor="observer").values
    )
    assert cs.event_actor.values.tolist() == ["rival", "observer", "both"]
    assert cs.x.values.tolist() == [3.0, 5.0]
    with pytest.raises(ParameterError, match="Dataset"):
        swap_roles(case.x)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="actor"):
        swap_roles(case.assign_coords(actor=["us", "them"]))


def test_fittable_kinds_come_from_the_registry():
    """Every kind states whether the full fit can express it; the fit knows aware and naive."""
    assert FITTABLE_KINDS == ("aware", "naive")
    assert all(isinstance(c.__dict__.get("fittable"), bool) for c in OBSERVER_KINDS.values())
    assert tuple(k for k, c in OBSERVER_KINDS.items() if c.fittable) == FITTABLE_KINDS
    assert AwareObserver.fittable
    assert NaiveObserver.fittable


# ---------------------------------------------------------------------------------------------
# Bad input (issue 10)
# ---------------------------------------------------------------------------------------------
def test_length_one_parameter_without_a_scenario_dim():
    one = simulate(n_periods=5, seed=0).isel(scenario=0)
    got = Observer(params=ModelParams(sigma=np.array([0.05]))).filter(one)
    ref = Observer(params=ModelParams(sigma=0.05)).filter(one)
    assert got.filtered.dims == ("period", "rival_type")
    xr.testing.assert_identical(got.drop_attrs(), ref.drop_attrs())
    # (1, 1) per scenario on data with one scenario dim, and omega over (1, T)
    many = simulate(n_periods=5, n_scenarios=3, seed=0)
    p = ModelParams(sigma=np.array([[0.05]]), omega=np.full((1, 1, 5), 0.5))
    xr.testing.assert_identical(
        Observer(params=p).filter(many).drop_attrs(), Observer().filter(many).drop_attrs()
    )


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("sigma", np.array([0.05, 0.1]), r"`params.sigma` has shape \(2,\).*give a scalar"),
        ("beta", np.array([0.5, 0.6]), r"`params.beta`.*\['scenario'\] of shape \(3,\)"),
        ("omega", np.array([0.1, 0.2]), r"`params.omega`.*'period'.*\(S, 1\) per scenario"),
    ],
)
def test_parameter_shapes_that_do_not_fit_the_data(field, value, match):
    data = simulate(n_periods=5, n_scenarios=3, seed=0)
    if field == "sigma":
        data = data.isel(scenario=0)
    with pytest.raises(ParameterError, match=match):
        Observer(params=ModelParams(**{field: value})).filter(data)


def test_uniform_prior_by_name(data):
    a = Observer(params=PARAMS, prior="uniform").filter(data)
    xr.testing.assert_identical(a.drop_attrs(), Observer(params=PARAMS).filter(data).drop_attrs())
    b = BiasedObserver(params=PARAMS, prior="uniform", confidence=3.0)
    np.testing.assert_allclose(b._type_prior(TypeSpace.default()), 1 / 3)
    with pytest.raises(ParameterError, match="'uniform'"):
        Observer(params=PARAMS, prior="flat").filter(data)


@pytest.mark.parametrize(("persistence", "size"), [(1.0, 1e20), (0.0, 1e9)])
def test_huge_moves_give_posteriors_that_sum_to_one(persistence, size):
    """Issue 10's examples: the filtered probabilities summed to [1, 1, 2, 2]."""
    ds = xr.Dataset({"dx": ("period", [0.0, size, size, size]), "u": ("period", [size] * 4)})
    post = Observer(persistence=persistence).filter(ds)
    for var in ("filtered", "smoothed"):
        np.testing.assert_allclose(post[var].sum("rival_type"), 1.0, rtol=0, atol=1e-12)


def test_moves_too_large_to_represent_are_a_typed_error():
    ds = xr.Dataset({"dx": ("period", [0.0, 1e200, 0.0]), "u": ("period", [0.0] * 3)})
    with pytest.raises(ParameterError, match="too far from every type's prediction"):
        Observer().filter(ds)
