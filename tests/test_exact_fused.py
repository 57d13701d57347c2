"""The fused path (the buildup log-likelihood computed inside the filter kernel) against the
one definition of the equations, ``loglik_components``, and against the unfused observer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

from secdilemma.engines.exact.filtering import filter_probabilities
from secdilemma.engines.exact.fused import buildup_loglik, moves_posterior, signal_loglik
from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, SignalParams, TypeSpace, loglik_components
from secdilemma.model.simulate import simulate
from secdilemma.observers import OBSERVER_KINDS, Observer, SelectiveObserver, TemperedObserver
from secdilemma.observers import base as observer_base


def _random_case(seed: int) -> dict:
    """Moves with gaps (NaN) and the odd extreme value, random types, per-scenario or shared
    parameters, omega/delta shared, per period, per scenario or both, mean reversion,
    Normal or Student-t noise."""
    rng = np.random.default_rng(seed)
    S, T, K = int(rng.integers(1, 5)), int(rng.integers(1, 9)), int(rng.integers(1, 5))
    dx = rng.normal(0, 0.1, (S, T))
    u = rng.normal(0, 0.1, (S, T))
    x = np.cumsum(rng.normal(0, 0.1, (S, T)), axis=1)
    for a in (dx, u, x):
        a[rng.random((S, T)) < 0.15] = np.nan
    if seed % 5 == 0:  # zeros of both signs, infinities, huge moves
        dx.flat[rng.integers(0, dx.size)] = rng.choice([0.0, -0.0, 1e200, np.inf])
        u.flat[rng.integers(0, u.size)] = rng.choice([0.0, -0.0, -1e300, np.inf, -np.inf])
    types = TypeSpace.from_loadings(
        {f"t{k}": (float(rng.choice([0, 1, rng.random()])), float(rng.random())) for k in range(K)}
    )

    def scen(lo, hi):
        return float(rng.uniform(lo, hi)) if rng.random() < 0.5 else rng.uniform(lo, hi, S)

    shapes = [(), (T,), (S, 1), (S, T)]
    omega = rng.uniform(0, 1, shapes[rng.integers(0, 4)])
    delta = rng.uniform(0, 1, shapes[rng.integers(0, 4)])
    params = ModelParams(
        mu=scen(-0.05, 0.05),
        alpha=scen(0, 0.1),
        beta=scen(0, 1),
        gamma=scen(0, 1),
        kappa=scen(0, 0.5),
        lam=scen(0, 0.3) if rng.random() < 0.4 else 0.0,
        anchor=scen(-1, 1),
        sigma=scen(0.01, 0.2),
        nu=float(rng.uniform(1, 30)) if rng.random() < 0.4 else None,
        omega=omega,
        delta=delta,
    )
    return {"dx": dx, "u": u, "x": x, "params": params, "types": types}


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("threat_blind", [False, True])
def test_buildup_loglik_is_the_equations(seed, threat_blind):
    c = _random_case(seed)
    with np.errstate(all="ignore"):
        ref, _ = loglik_components(
            c["dx"], c["u"], c["params"], c["types"], x=c["x"], threat_blind=threat_blind
        )
    for weight in (1.0, 0.0, 0.3, 2.5):
        got = buildup_loglik(
            c["dx"],
            c["u"],
            c["params"],
            c["types"],
            x=c["x"],
            threat_blind=threat_blind,
            weight=weight,
        )
        with np.errstate(invalid="ignore"):
            want = ref if weight == 1.0 else np.where(weight == 0.0, 0.0, weight * ref)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        assert got.shape == ref.shape


@pytest.mark.parametrize("seed", range(40))
def test_fused_posterior_is_loglik_then_filter(seed):
    c = _random_case(seed)
    rng = np.random.default_rng(1000 + seed)
    K = c["types"].n_types
    lp = np.log(rng.dirichlet(np.ones(K), size=c["dx"].shape[0]) if seed % 2 else np.full(K, 1 / K))
    a = rng.dirichlet(np.ones(K), size=K)
    if seed % 3 == 0:
        a[rng.random((K, K)) < 0.3] = 0.0
        np.fill_diagonal(a, 1.0)
        a /= a.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        ll, _ = loglik_components(c["dx"], c["u"], c["params"], c["types"], x=c["x"])
    for trans, smooth in itertools.product((None, a), (True, False)):
        try:
            ref = filter_probabilities(ll, lp, transition=trans, smooth=smooth)
        except ParameterError as exc:  # e.g. a move too large to represent: the same error
            with pytest.raises(ParameterError, match=str(exc)[:40].replace("(", r"\(")[:30]):
                moves_posterior(
                    c["dx"], c["u"], c["params"], c["types"], lp, x=c["x"], transition=trans
                )
            continue
        got = moves_posterior(
            c["dx"],
            c["u"],
            c["params"],
            c["types"],
            lp,
            x=c["x"],
            transition=trans,
            smooth=smooth,
        )
        np.testing.assert_allclose(got.filtered, ref.filtered, rtol=0, atol=1e-12)
        if smooth:
            np.testing.assert_allclose(got.smoothed, ref.smoothed, rtol=0, atol=1e-12)
        else:
            assert got.smoothed is None
        np.testing.assert_allclose(got.log_evidence, ref.log_evidence, rtol=1e-12, atol=1e-12)


def test_bad_moves_raise_the_equations_errors():
    p, ts = ModelParams(), TypeSpace.default()
    lp = np.log(np.full(3, 1 / 3))
    with pytest.raises(ParameterError, match="`dx` has shape"):
        moves_posterior(np.zeros(4), np.zeros(5), p, ts, lp)
    with pytest.raises(ParameterError, match="at least one period"):
        buildup_loglik(np.zeros((2, 0)), np.zeros((2, 0)), p, ts)
    with pytest.raises(ParameterError, match="x_prev"):
        moves_posterior(np.zeros(4), np.zeros(4), p.replace(lam=0.1), ts, lp)
    with pytest.raises(ParameterError, match=r"params.sigma"):
        buildup_loglik(np.zeros((2, 4)), np.zeros((2, 4)), p.replace(sigma=[0.1, 0.2, 0.3]), ts)
    with pytest.raises(ParameterError, match="omega"):
        buildup_loglik(np.zeros((2, 4)), np.zeros((2, 4)), p.replace(omega=[0.1, 0.2]), ts)
    with pytest.raises(ParameterError, match="too far from every type's prediction"):
        moves_posterior(np.array([0.0, 1e200, 0.0]), np.zeros(3), p, ts, lp)
    with pytest.raises(ParameterError, match="log_prior"):
        moves_posterior(np.zeros(3), np.zeros(3), p, ts, np.log([0.5, 0.5]))


# ---------------------------------------------------------------------------------------------
# The observers: fused and unfused paths give the same Dataset
# ---------------------------------------------------------------------------------------------
SIGNALS = SignalParams(("a", "b"), eta0=[-1.5, -1.0], eta_g=[2.0, -1.5], eta_f=[0.0, 1.0])


def _unfused(obs, data, smooth, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(observer_base, "_FUSE", False)
        return obs.filter(data, smooth=smooth)


def _shuffled_signals(ds):
    """Gaps in the signals and the moves, the channels in another order than the model's."""
    ds = ds.copy(deep=True)
    ds["signals"][0, 3:9, 1] = np.nan
    ds["signals"][2, :, 0] = np.nan
    ds["u"][1, 4] = np.nan
    return ds.isel(signal=[1, 0])


def _datasets():
    ds = simulate(n_periods=25, n_scenarios=4, seed=3)
    gaps = ds.copy(deep=True)
    gaps["dx"][1, 3:6] = np.nan
    gaps["u"][2, 10] = np.nan
    return {
        "plain": (ds, ModelParams()),
        "gaps, Student-t, per scenario": (
            gaps,
            ModelParams(nu=4.0, sigma=np.linspace(0.03, 0.08, 4), beta=np.linspace(0.3, 0.9, 4)),
        ),
        "omega per period": (ds, ModelParams(omega=np.linspace(0, 1, 25), delta=0.3)),
        "mean reversion": (ds, ModelParams(lam=0.2, anchor=0.1)),
        "one series": (ds.isel(scenario=0), ModelParams()),
        "signals": (
            simulate(params=ModelParams(signals=SIGNALS), n_periods=25, n_scenarios=4, seed=6),
            ModelParams(signals=SIGNALS, nu=5.0),
        ),
        "signals with gaps, out of order": (
            _shuffled_signals(
                simulate(params=ModelParams(signals=SIGNALS), n_periods=25, n_scenarios=4, seed=7)
            ),
            ModelParams(signals=SIGNALS, omega=np.linspace(0, 1, 25)),
        ),
        "signals in the data, none in the model": (
            simulate(params=ModelParams(signals=SIGNALS), n_periods=12, n_scenarios=2, seed=4),
            ModelParams(),
        ),
    }


@pytest.mark.parametrize("case", list(_datasets()))
@pytest.mark.parametrize("kind", sorted(OBSERVER_KINDS))
@pytest.mark.parametrize("persistence", [None, 0.9])
def test_observer_fused_equals_unfused(case, kind, persistence, monkeypatch):
    data, params = _datasets()[case]
    extra = {
        "tempered": {"temperature": 0.4},
        "selective": {"buildup_weight": 0.0}
        if params.signals is None
        else {"buildup_weight": 0.7, "channel_weights": {"b": 1.8, "a": 0.0}},
    }
    obs = OBSERVER_KINDS[kind](params=params, persistence=persistence, **extra.get(kind, {}))
    for smooth in (True, False):
        fused = obs.filter(data, smooth=smooth)
        ref = _unfused(obs, data, smooth, monkeypatch)
        xr.testing.assert_allclose(fused, ref, rtol=0, atol=1e-12)
        assert fused.attrs == ref.attrs
        assert list(fused.data_vars) == list(ref.data_vars)
        for name, var in fused.variables.items():
            assert var.attrs == ref[name].attrs
        for name in fused.coords:
            xr.testing.assert_identical(fused[name], ref[name])


@pytest.mark.parametrize("persistence", [None, 0.9])
def test_batched_equals_one_scenario_at_a_time_bit_for_bit(persistence):
    """Each scenario is filtered on its own block: batching changes no bit (the what-if
    sweep filters many settings at once and compares with single cells)."""
    ds = simulate(n_periods=40, n_scenarios=6, seed=5)
    obs = Observer(params=ModelParams(nu=5.0), persistence=persistence)
    full = obs.filter(ds)
    for i in range(6):
        one = obs.filter(ds.isel(scenario=[i]))
        for var in ("filtered", "smoothed", "log_evidence"):
            np.testing.assert_array_equal(full[var].values[i], one[var].values[0])


def test_own_loglik_takes_the_unfused_path(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the fused path was taken")

    monkeypatch.setattr(observer_base, "moves_posterior", refuse)
    data = simulate(params=ModelParams(signals=SIGNALS), n_periods=10, n_scenarios=2, seed=5)

    class Shifted(Observer):
        """A kind with its own log-likelihood (here: the model's, tempered by hand)."""

        def _loglik(self, data):
            ll, types, notes = super()._loglik(data)
            return 0.5 * ll, types, notes

    got = Shifted().filter(data.drop_vars("signals"))
    monkeypatch.undo()
    ref = TemperedObserver(temperature=0.5).filter(data.drop_vars("signals"))
    np.testing.assert_allclose(got.filtered, ref.filtered, atol=1e-12)


def test_signals_take_the_fused_path(monkeypatch):
    calls = []
    real = observer_base.moves_posterior
    monkeypatch.setattr(
        observer_base, "moves_posterior", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    data = simulate(params=ModelParams(signals=SIGNALS), n_periods=10, n_scenarios=2, seed=5)
    Observer(params=ModelParams(signals=SIGNALS)).filter(data)
    SelectiveObserver(params=ModelParams(signals=SIGNALS), channel_weights={"a": 0.0}).filter(data)
    assert len(calls) == 2


# ---------------------------------------------------------------------------------------------
# Signals in the fused kernel
# ---------------------------------------------------------------------------------------------
def _random_signals(seed: int, shape: tuple[int, ...]) -> tuple[np.ndarray, SignalParams]:
    """Signals 0, 1 or NaN over ``shape + (J,)`` and channels with and without a fear term
    (some with coefficients large enough to saturate the logistic)."""
    rng = np.random.default_rng(5000 + seed)
    J = int(rng.integers(1, 6))
    sig = (rng.random((*shape, J)) < rng.random()).astype(float)
    sig[rng.random(sig.shape) < 0.2] = np.nan
    scale = 40.0 if seed % 7 == 0 else 3.0
    eta_f = np.where(rng.random(J) < 0.5, 0.0, rng.normal(0, scale, J))
    sp = SignalParams(
        tuple(f"c{j}" for j in range(J)),
        eta0=rng.normal(0, scale, J),
        eta_g=np.where(rng.random(J) < 0.2, 0.0, rng.normal(0, scale, J)),
        eta_f=eta_f,
    )
    return sig, sp


@pytest.mark.parametrize("seed", range(40))
def test_fused_posterior_with_signals_is_loglik_then_filter(seed):
    c = _random_case(seed)
    sig, sp = _random_signals(seed, c["dx"].shape)
    params = c["params"].replace(signals=sp)
    rng = np.random.default_rng(2000 + seed)
    K, J = c["types"].n_types, sp.n_channels
    lp = np.log(np.full(K, 1 / K))
    a = rng.dirichlet(np.ones(K) * 3, size=K)
    w_b = float(rng.choice([1.0, 0.0, 0.4]))
    w_s = np.where(rng.random(J) < 0.2, 0.0, rng.uniform(0.2, 2.0, J)) if seed % 2 else None
    blind = seed % 3 == 0
    with np.errstate(all="ignore"):
        ll_b, ll_s = loglik_components(
            c["dx"], c["u"], params, c["types"], signals=sig, x=c["x"], threat_blind=blind
        )
        w = np.ones(J) if w_s is None else w_s
        ll = np.where(w_b == 0.0, 0.0, w_b * ll_b) + np.sum(
            np.where(w == 0.0, 0.0, w * ll_s), axis=-1
        )
    kw = {"x": c["x"], "threat_blind": blind, "weight": w_b, "signal_weights": w_s}
    for trans in (None, a):
        try:
            ref = filter_probabilities(ll, lp, transition=trans)
        except ParameterError as exc:
            with pytest.raises(ParameterError, match=str(exc)[:30].replace("(", r"\(")[:20]):
                moves_posterior(
                    c["dx"], c["u"], params, c["types"], lp, signals=sig, transition=trans, **kw
                )
            continue
        got = moves_posterior(
            c["dx"], c["u"], params, c["types"], lp, signals=sig, transition=trans, **kw
        )
        np.testing.assert_allclose(got.filtered, ref.filtered, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.smoothed, ref.smoothed, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.log_evidence, ref.log_evidence, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("threat_blind", [False, True])
def test_signal_loglik_is_the_equations(seed, threat_blind):
    c = _random_case(seed)
    sig, sp = _random_signals(seed, c["dx"].shape)
    params = c["params"].replace(signals=sp)
    with np.errstate(all="ignore"):
        _, ref = loglik_components(
            c["dx"], c["u"], params, c["types"], signals=sig, x=c["x"], threat_blind=threat_blind
        )
    got = signal_loglik(sig, c["u"], params, c["types"], threat_blind=threat_blind)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-12)
    assert got.shape == ref.shape


def test_bad_signals_raise_the_equations_errors():
    p, ts = ModelParams(signals=SIGNALS), TypeSpace.default()
    lp = np.log(np.full(3, 1 / 3))
    dx, u = np.zeros((2, 4)), np.zeros((2, 4))
    bad = np.zeros((2, 4, 2))
    bad[1, 2, 0] = 0.5
    with pytest.raises(ParameterError, match="must be 0, 1 or NaN"):
        moves_posterior(dx, u, p, ts, lp, signals=bad)
    with pytest.raises(ParameterError, match="must be 0, 1 or NaN"):
        signal_loglik(bad, u, p, ts)
    with pytest.raises(ParameterError, match="expected"):
        moves_posterior(dx, u, p, ts, lp, signals=np.zeros((2, 4, 3)))
    with pytest.raises(ParameterError, match=r"params\.signals` is None"):
        moves_posterior(dx, u, ModelParams(), ts, lp, signals=np.zeros((2, 4, 2)))


@pytest.mark.parametrize("J", [6, 9, 11])
def test_many_channels_take_the_table_groups(J):
    """More channels than one table group (``_fused.GROUP``), and more than the pass over
    the signals is compiled for (8): the same numbers as the equations."""
    rng = np.random.default_rng(J)
    S, T = 3, 9
    u = rng.normal(0.02, 0.1, (S, T))
    u[0, 3] = np.nan
    sig = (rng.random((S, T, J)) < 0.4).astype(float)
    sig[rng.random(sig.shape) < 0.2] = np.nan
    sp = SignalParams(
        tuple(f"c{j}" for j in range(J)),
        eta0=rng.normal(0, 2, J),
        eta_g=rng.normal(0, 2, J),
        eta_f=np.where(np.arange(J) % 3 == 0, 0.0, rng.normal(0, 3, J)),
    )
    params, ts = ModelParams(signals=sp), TypeSpace.default(secure=True)
    _, ref = loglik_components(u, u, params, ts, signals=sig)
    np.testing.assert_allclose(signal_loglik(sig, u, params, ts), ref, rtol=0, atol=1e-12)
    w = rng.uniform(0.2, 2.0, J)
    w[1] = 0.0
    lp = np.log(np.full(4, 0.25))
    want = filter_probabilities(np.sum(w * ref, axis=-1), lp)
    got = moves_posterior(np.full_like(u, np.nan), u, params, ts, lp, signals=sig, weight=0.0,
                          signal_weights=w)  # fmt: skip
    np.testing.assert_allclose(got.filtered, want.filtered, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=0, atol=1e-12)


def test_a_fear_channel_without_threat_is_its_table_bit_for_bit():
    """Where the observer did not arm (``u+ = 0``) the fear term is 0: the kernel takes the
    zero-threat table, the same numbers as the channel without a fear term."""
    rng = np.random.default_rng(3)
    u = -np.abs(rng.normal(0, 0.1, (4, 12)))
    u[:, 5] = 0.0
    u[1, 2] = -0.0
    sig = (rng.random((4, 12, 2)) < 0.5).astype(float)
    ts = TypeSpace.default()
    fear = SignalParams(("a", "b"), eta0=[0.3, -1.0], eta_g=[1.0, 2.0], eta_f=[2.0, -1.5])
    plain = SignalParams(("a", "b"), eta0=[0.3, -1.0], eta_g=[1.0, 2.0], eta_f=[0.0, 0.0])
    got = signal_loglik(sig, u, ModelParams(signals=fear), ts)
    want = signal_loglik(sig, u, ModelParams(signals=plain), ts)
    np.testing.assert_array_equal(got[:, 1:], want[:, 1:])
    assert np.all(got[:, 0] == 0.0)  # period 0: no threat known, the fear channels are out


@pytest.mark.parametrize("u_big", [1e3, 1e200, np.inf])
def test_threats_beyond_the_vectorised_range_are_the_equations(u_big):
    """A threat whose fear term exceeds what the vectorised logistic takes (|e * threat| >
    600) is redone with the equations' operations: the same numbers, NaN terms missing."""
    u = np.array([[0.1, u_big, 0.2, -0.1, u_big, 0.05]])
    sig = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, np.nan], [1.0, 0.0], [0.0, 0.0]]])
    sp = SignalParams(("a", "b"), eta0=[-1.0, 0.5], eta_g=[2.0, -1.0], eta_f=[1.5, -0.7])
    params, ts = ModelParams(signals=sp), TypeSpace.default()
    with np.errstate(all="ignore"):
        _, ref = loglik_components(u, u, params, ts, signals=sig)
    np.testing.assert_allclose(signal_loglik(sig, u, params, ts), ref, rtol=0, atol=1e-12)


def test_signals_in_another_layout_are_broadcast_like_the_moves():
    """Signals over the dims in another order, or without the scenario dim, are broadcast
    like the moves (the observer takes them as they are only when dims and shape match)."""
    sp = SignalParams(("a", "b"), eta0=[-1.0, 0.5], eta_g=[2.0, -1.0], eta_f=[0.0, 1.2])
    params = ModelParams(signals=sp)
    ds = simulate(params=params, n_periods=15, n_scenarios=4, seed=8)
    obs = Observer(params=params)
    ref = obs.filter(ds)["filtered"].values
    turned = ds.assign(signals=ds["signals"].transpose("signal", "period", "scenario"))
    np.testing.assert_array_equal(obs.filter(turned)["filtered"].values, ref)
    one = ds["signals"].isel(scenario=0, drop=True)
    shared = obs.filter(ds.assign(signals=one))["filtered"].values
    explicit = ds.assign(signals=one.expand_dims(scenario=ds["scenario"]))
    np.testing.assert_array_equal(shared, obs.filter(explicit)["filtered"].values)


@pytest.mark.parametrize(("S", "T"), [(47, 100), (3, 2500), (130, 17)])
def test_signals_in_chunks_of_scenarios_are_the_equations(S, T):
    """The signal passes run over chunks of scenarios (``_fused.CHUNK`` periods, the last
    chunk shorter; one scenario per chunk when ``T`` exceeds it): per-scenario threat rows,
    types whose fear loadings differ (an ``exp`` each) or are 0, channels of equal and of
    different weights (one ``log`` per run of equal weights) give the equations' numbers."""
    rng = np.random.default_rng(S + T)
    J = 5
    u = rng.normal(0.03, 0.1, (S, T))
    u[0, 3] = np.nan
    sig = (rng.random((S, T, J)) < 0.3).astype(float)
    sig[rng.random(sig.shape) < 0.1] = np.nan
    sp = SignalParams(
        tuple(f"c{j}" for j in range(J)),
        eta0=rng.normal(-2, 1, J),
        eta_g=rng.normal(0, 2, J),
        eta_f=[1.3, 0.0, -0.8, 2.0, 0.4],
    )
    ts = TypeSpace.from_loadings({"g": (1.0, 0.0), "i": (0.0, 1.0), "m": (0.5, 0.5), "x": (1, 1)})
    omega = rng.uniform(0.2, 1.0, (S, 1))
    params = ModelParams(signals=sp, omega=omega)
    _, ref = loglik_components(u, u, params, ts, signals=sig)
    np.testing.assert_allclose(signal_loglik(sig, u, params, ts), ref, rtol=0, atol=1e-12)
    lp = np.log(np.full(4, 0.25))
    for w in (np.ones(J), np.array([0.5, 2.0, 0.5, 1.0, 0.5])):
        want = filter_probabilities(np.sum(w * ref, axis=-1), lp, transition=None)
        got = moves_posterior(np.full_like(u, np.nan), u, params, ts, lp, signals=sig,
                              weight=0.0, signal_weights=w)  # fmt: skip
        np.testing.assert_allclose(got.filtered, want.filtered, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eta0", [-300.0, -150.0, 0.0, 80.0, 150.0, 300.0])
def test_logits_beyond_the_product_range_are_the_equations(eta0):
    """The fear channels' factors ``1 + exp(l)`` are multiplied for one ``log`` only while
    ``|l| <= 690 / F``: logits beyond (a large ``eta0``, many channels, large threats) take
    the equations' operations one by one, within 1e-12 of them wherever they are finite."""
    rng = np.random.default_rng(int(eta0) + 1000)
    S, T, J = 6, 40, 8
    u = rng.normal(0.5, 2.0, (S, T))
    sig = (rng.random((S, T, J)) < 0.5).astype(float)
    sig[rng.random(sig.shape) < 0.1] = np.nan
    sp = SignalParams(
        tuple(f"c{j}" for j in range(J)),
        eta0=eta0 + rng.normal(0, 5, J),
        eta_g=rng.normal(0, 3, J),
        eta_f=rng.normal(0, 40, J),
    )
    params, ts = ModelParams(signals=sp), TypeSpace.default()
    with np.errstate(all="ignore"):
        _, ref = loglik_components(u, u, params, ts, signals=sig)
    np.testing.assert_allclose(signal_loglik(sig, u, params, ts), ref, rtol=0, atol=1e-12)
    lp = np.log(np.full(3, 1 / 3))
    for w in (np.ones(J), np.repeat([0.5, 1.5], J // 2)):  # one run of 8 channels; two of 4
        want = filter_probabilities(np.sum(w * ref, axis=-1), lp)
        got = moves_posterior(np.full_like(u, np.nan), u, params, ts, lp, signals=sig,
                              weight=0.0, signal_weights=w)  # fmt: skip
        np.testing.assert_allclose(got.filtered, want.filtered, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("delta", [0.9, "per period"])
def test_posture_channels_take_delta(delta, monkeypatch):
    """A posture channel's greed loading is ``2 delta eta_g``: the kernels' tables take the
    one ``delta`` there is (a ``delta`` that varies runs the equations), the same numbers as
    the equations either way (the tables once took the default ``delta``)."""
    rng = np.random.default_rng(5)
    S, T = 4, 15
    u = rng.normal(0.03, 0.1, (S, T))
    sig = (rng.random((S, T, 3)) < 0.4).astype(float)
    sig[rng.random(sig.shape) < 0.1] = np.nan
    sp = SignalParams(("a", "b", "c"), eta0=[-1.0, 0.5, -0.3], eta_g=[2.0, -1.0, 1.5],
                      eta_f=[0.0, 1.2, -0.8], posture=[True, False, True])  # fmt: skip
    d = np.linspace(0.1, 0.9, T) if delta == "per period" else delta
    params, ts = ModelParams(signals=sp, delta=d), TypeSpace.default()
    _, ref = loglik_components(u, u, params, ts, signals=sig)
    np.testing.assert_allclose(signal_loglik(sig, u, params, ts), ref, rtol=0, atol=1e-12)
    lp = np.log(np.full(3, 1 / 3))
    want = filter_probabilities(np.sum(ref, axis=-1), lp)
    got = moves_posterior(np.full_like(u, np.nan), u, params, ts, lp, signals=sig, weight=0.0)
    np.testing.assert_allclose(got.filtered, want.filtered, rtol=0, atol=1e-12)
    ds = simulate(params=params, n_periods=T, n_scenarios=S, seed=8)
    obs = Observer(params=params)
    plain = _unfused(obs, ds, True, monkeypatch)
    np.testing.assert_allclose(obs.filter(ds)["filtered"], plain["filtered"], rtol=0, atol=1e-12)
