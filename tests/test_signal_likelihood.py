"""The exact observer's signal likelihood against a brute-force enumeration written here, and
what signals may and may not do to the posterior (cheap talk stays cheap; a costly signal
informs).

The reference is plain Python (loops over scenarios, periods, types and channels with
``math.exp``/``math.log``), independent of :mod:`secdilemma.model.equations` and of the
compiled kernels: ``logit P(s_tj = 1 | k) = eta0_j + eta_g_j g_k + eta_f_j f_k h_{t-1}
max(u_{t-1}, 0)``; a NaN signal, or a NaN threat on a channel with ``eta_f_j != 0`` (period 0
has no previous move), contributes 0 for every type.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from secdilemma.engines.exact.fused import moves_posterior, signal_loglik
from secdilemma.model import ModelParams, SignalParams, TypeSpace, loglik_components
from secdilemma.model.simulate import simulate
from secdilemma.observers import Observer, SelectiveObserver

SP = SignalParams(
    ("cheap", "costly", "threat", "both"),
    eta0=[0.4, -2.0, -1.0, 0.3],
    eta_g=[0.0, 3.0, -0.5, 1.2],
    eta_f=[0.0, 0.0, 2.5, -1.7],
)
TYPES = TypeSpace.from_loadings(
    {"greedy": (1.0, 0.0), "insecure": (0.0, 1.0), "mixed": (1.0, 1.0), "half": (0.5, 0.3)}
)


def brute_signal_loglik(signals, u, omega, delta, sp, types, threat_blind=False):
    """``(S, T, K, J)`` by enumeration, plain Python."""
    S, T, J = len(signals), len(signals[0]), len(signals[0][0])
    K = len(types.names)
    g, f = types.greed.tolist(), types.fear.tolist()
    out = np.zeros((S, T, K, J))
    for s in range(S):
        for t in range(T):
            if t == 0:
                threat = math.nan
            else:
                h = 0.0 if threat_blind else 1.0 + omega - delta
                threat = h * max(u[s][t - 1], 0.0) if u[s][t - 1] == u[s][t - 1] else math.nan
            for j in range(J):
                sig = signals[s][t][j]
                if sig != sig:
                    continue
                if sp.eta_f[j] != 0.0 and threat != threat:
                    continue
                for k in range(K):
                    fear_term = sp.eta_f[j] * f[k] * threat if sp.eta_f[j] != 0.0 else 0.0
                    logit = sp.eta0[j] + sp.eta_g[j] * g[k] + fear_term
                    p1 = 1.0 / (1.0 + math.exp(-logit))
                    out[s, t, k, j] = math.log(p1) if sig == 1.0 else math.log(1.0 - p1)
    return out


def _data(seed, S=3, T=12):
    rng = np.random.default_rng(seed)
    u = rng.normal(0.02, 0.08, (S, T))
    signals = (rng.random((S, T, SP.n_channels)) < 0.4).astype(float)
    signals[rng.random(signals.shape) < 0.2] = np.nan
    u[rng.random(u.shape) < 0.1] = np.nan  # a missing move: the next period's threat is NaN
    u[0, 2] = 0.0
    u[1, 3] = -0.0
    return signals, u


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threat_blind", [False, True])
def test_signal_loglik_is_the_enumeration(seed, threat_blind):
    signals, u = _data(seed)
    omega, delta = 0.7, 0.2
    params = ModelParams(signals=SP, omega=omega, delta=delta)
    want = brute_signal_loglik(signals.tolist(), u.tolist(), omega, delta, SP, TYPES, threat_blind)
    got = signal_loglik(signals, u, params, TYPES, threat_blind=threat_blind)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    _, eq = loglik_components(u, u, params, TYPES, signals=signals, threat_blind=threat_blind)
    np.testing.assert_allclose(eq, want, rtol=0, atol=1e-10)
    assert np.all(got[:, 0, :, 2:] == 0.0)  # period 0: no threat, the fear channels are out


@pytest.mark.parametrize("persistence", [None, 0.85])
def test_signals_only_posterior_is_bayes_by_hand(persistence):
    """With the buildups ignored (weight 0), the fused filter's posterior is Bayes' rule on
    the enumerated signal likelihood (a hand-written forward pass)."""
    signals, u = _data(11, S=2, T=10)
    params = ModelParams(signals=SP)
    ll = brute_signal_loglik(signals.tolist(), u.tolist(), 0.5, 0.5, SP, TYPES).sum(axis=-1)
    K = TYPES.n_types
    A = np.eye(K) if persistence is None else np.full((K, K), (1 - persistence) / (K - 1))
    if persistence is not None:
        np.fill_diagonal(A, persistence)
    want = np.zeros(ll.shape)
    for s in range(ll.shape[0]):
        p = [1.0 / K] * K
        for t in range(ll.shape[1]):
            if t > 0:
                p = [sum(p[i] * A[i][j] for i in range(K)) for j in range(K)]
            post = [p[k] * math.exp(ll[s, t, k]) for k in range(K)]
            p = [x / sum(post) for x in post]
            want[s, t] = p
    dx = np.full(u.shape, 0.01)
    trans = None if persistence is None else A
    got = moves_posterior(
        dx,
        u,
        params,
        TYPES,
        np.log(np.full(K, 1 / K)),
        signals=signals,
        weight=0.0,
        transition=trans,
        smooth=False,
    )
    np.testing.assert_allclose(got.filtered, want, rtol=0, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Cheap talk stays cheap; a costly signal informs
# ---------------------------------------------------------------------------------------------
def _with_channel(ds, params, channel, seed):
    """``ds`` and ``params`` with one more channel whose signals are drawn at random."""
    sp = params.signals
    names = (*sp.names, channel.names[0]) if sp is not None else channel.names
    cat = (lambda a, b: np.concatenate([a, b])) if sp is not None else (lambda a, b: b)
    new_sp = SignalParams(
        names,
        eta0=cat(sp.eta0 if sp else [], channel.eta0),
        eta_g=cat(sp.eta_g if sp else [], channel.eta_g),
        eta_f=cat(sp.eta_f if sp else [], channel.eta_f),
    )
    rng = np.random.default_rng(seed)
    draws = (rng.random((*ds.dx.shape, 1)) < 0.5).astype(float)
    draws[rng.random(draws.shape) < 0.1] = np.nan
    if "signals" in ds:
        sig = np.concatenate([ds.signals.values, draws], axis=-1)
        ds = ds.drop_vars(["signals", "signal"])
    else:
        sig = draws
    ds = ds.assign(signals=(("scenario", "period", "signal"), sig))
    return ds.assign_coords(signal=list(names)), params.replace(signals=new_sp)


BASE = SignalParams(("costly",), eta0=[-1.0], eta_g=[2.0], eta_f=[0.0])


@pytest.mark.parametrize("persistence", [None, 0.9])
@pytest.mark.parametrize("eta0", [-3.0, 0.0, 1.7])
def test_cheap_talk_leaves_the_posterior_unchanged(persistence, eta0):
    params = ModelParams(signals=BASE)
    ds = simulate(params=params, n_periods=40, n_scenarios=6, seed=21)
    before = Observer(params=params, persistence=persistence).filter(ds)
    talk = SignalParams(("talk",), eta0=[eta0], eta_g=[0.0], eta_f=[0.0])
    for seed in range(5):
        ds2, params2 = _with_channel(ds, params, talk, seed)
        after = Observer(params=params2, persistence=persistence).filter(ds2)
        for var in ("filtered", "smoothed"):
            np.testing.assert_allclose(after[var], before[var], rtol=0, atol=1e-12)


def test_a_fear_channel_is_cheap_while_the_observer_never_arms():
    """``eta_g = 0``, ``eta_f != 0``: with ``u+ = 0`` throughout there is no threat, so the
    channel says nothing about the type (and nothing in period 0, where it is missing)."""
    params = ModelParams(signals=BASE)
    moves = -np.abs(np.random.default_rng(3).normal(0.02, 0.05, (4, 30)))
    ds = simulate(params=params, n_periods=30, n_scenarios=4, observer_moves=moves, seed=8)
    before = Observer(params=params).filter(ds)
    fearful = SignalParams(("fearful",), eta0=[-0.5], eta_g=[0.0], eta_f=[2.0])
    for seed in range(5):
        ds2, params2 = _with_channel(ds, params, fearful, seed)
        after = Observer(params=params2).filter(ds2)
        np.testing.assert_allclose(after.filtered, before.filtered, rtol=0, atol=1e-12)
    # while the observer arms, the same channel separates the fearful types from the rest
    armed = simulate(params=params, n_periods=30, n_scenarios=4, observer_drift=0.1, seed=8)
    ds2, params2 = _with_channel(armed, params, fearful, 0)
    moved = Observer(params=params2).filter(ds2).filtered
    assert float(np.abs(moved - Observer(params=params).filter(armed).filtered).max()) > 1e-3


@pytest.mark.parametrize("true_type", ["greedy", "insecure", "mixed"])
def test_a_costly_signal_moves_the_posterior_toward_the_truth(true_type):
    """Signals drawn from the true type (``eta_g = 3``) raise the posterior of the truth, on
    average over seeds, against the same moves without them."""
    sp = SignalParams(("costly",), eta0=[-1.5], eta_g=[3.0], eta_f=[0.0])
    params = ModelParams(signals=sp)
    gains = []
    for seed in range(8):
        ds = simulate(params=params, n_periods=15, n_scenarios=20, true_type=true_type, seed=seed)
        with_sig = Observer(params=params).filter(ds, smooth=False)
        without = Observer().filter(ds.drop_vars("signals"), smooth=False)
        p1 = with_sig.filtered.isel(period=-1).sel(rival_type=true_type)
        p0 = without.filtered.isel(period=-1).sel(rival_type=true_type)
        gains.append(float((p1 - p0).mean()))
    if true_type == "insecure":  # eta_g separates greed: insecure from greedy and mixed
        assert np.mean(gains) > 0.02
    else:  # greedy and mixed send alike: the signal helps against insecure only
        assert np.mean(gains) > 0.0


def test_selective_attention_to_signals(monkeypatch):
    """A channel weighted 0 is ignored; the fused path agrees with the numpy path."""
    from secdilemma.observers import base as observer_base

    params = ModelParams(signals=BASE)
    ds = simulate(params=params, n_periods=20, n_scenarios=3, seed=2)
    ignored = SelectiveObserver(params=params, channel_weights={"costly": 0.0}).filter(ds)
    plain = Observer().filter(ds.drop_vars("signals"))
    np.testing.assert_allclose(ignored.filtered, plain.filtered, rtol=0, atol=1e-12)
    obs = SelectiveObserver(params=params, channel_weights={"costly": 2.5}, buildup_weight=0.5)
    fused = obs.filter(ds)
    monkeypatch.setattr(observer_base, "_FUSE", False)
    ref = obs.filter(ds)
    np.testing.assert_allclose(fused.filtered, ref.filtered, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fused.log_evidence, ref.log_evidence, rtol=1e-12, atol=1e-12)
