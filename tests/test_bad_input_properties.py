"""Generated malformed and edge-case input to the public entry points.

Every outcome must be a valid result or a :class:`~secdilemma.errors.SecdilemmaError` whose
message names the offending input. Every posterior must be finite and sum to 1 over
``rival_type``; every recommendation must rest on finite expected utilities; EVSI never
exceeds EVPI. The number of generated inputs per entry point, and their outcomes, is printed
at the end of the run (tests/conftest.py). The example counts are sized so that CI's run
generates well over 10,000 inputs in about a minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tomli_w
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import secdilemma as sd
from secdilemma.errors import SecdilemmaError

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------
EXTREME = st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 1e16, 1e9, -1e9])
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    EXTREME,
    st.floats(min_value=-3, max_value=3),
)
FINITE = st.one_of(EXTREME, st.floats(min_value=-5, max_value=5))
SMALL_INTS = st.one_of(st.integers(min_value=-3, max_value=6), st.sampled_from([10**9, 2**63]))
SEEDS = st.one_of(
    st.integers(min_value=-5, max_value=2**64), st.sampled_from(["abc", 1.5, None, "7"])
)
TYPES = ("greedy", "insecure", "mixed")


@st.composite
def _mostly_valid(draw: Any, valid: dict[str, Any], bad: dict[str, Any]) -> dict[str, Any]:
    """Valid arguments, with at most one of them (chosen by hypothesis) replaced by a bad one:
    each invalid input is then tried on its own, and valid results are common enough to be
    checked too."""
    args = {k: draw(s) for k, s in valid.items()}
    which = draw(st.sampled_from([None, *bad]))
    if which is not None:
        args[which] = draw(bad[which])
    return args


def _series(elements: st.SearchStrategy[float], n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(elements, min_size=n, max_size=n)


def _attempt(
    outcome: Callable[[str, str], None], entry: str, call: Callable[[], Any]
) -> Any | None:
    """Run ``call``: a typed error with a message is fine (counted), anything else fails."""
    try:
        result = call()
    except SecdilemmaError as exc:
        message = str(exc).strip()
        outcome(entry, "typed error")
    else:
        outcome(entry, "valid")
        return result
    assert message, f"{entry}: a typed error with an empty message"
    return None


def _assert_distribution(post: xr.DataArray, where: str) -> None:
    values = np.asarray(post.values, dtype=float)
    assert np.all(np.isfinite(values)), f"{where}: non-finite probabilities"
    assert np.all(values >= -1e-15), f"{where}: negative probabilities"
    np.testing.assert_allclose(post.sum("rival_type").values, 1.0, atol=1e-12, err_msg=where)


# ---------------------------------------------------------------------------------------------
# the exact observer
# ---------------------------------------------------------------------------------------------
@settings(max_examples=2000)
@given(
    a=_mostly_valid(
        {
            "dx": _series(st.one_of(FINITE, st.just(float("nan"))), 5),
            "u": _series(st.one_of(FINITE, st.just(float("nan"))), 5),
            "persistence": st.one_of(st.none(), st.floats(0, 1)),
            "sigma": st.floats(1e-3, 1),
            "nu": st.one_of(st.none(), st.floats(1, 50)),
            "prior": st.one_of(
                st.none(),
                st.just("uniform"),
                st.lists(st.floats(0.01, 1), min_size=3, max_size=3).map(
                    lambda v: (np.asarray(v) / sum(v)).tolist()
                ),
            ),
        },
        {
            "dx": _series(FLOATS, 5),
            "u": _series(FLOATS, 5),
            "persistence": st.one_of(st.floats(min_value=-0.5, max_value=1.5), EXTREME),
            "sigma": st.one_of(st.floats(min_value=-1, max_value=2), EXTREME),
            "nu": st.one_of(st.floats(min_value=-1, max_value=50), EXTREME),
            "prior": st.one_of(
                st.lists(st.floats(min_value=-0.5, max_value=1.5), min_size=2, max_size=4),
                st.dictionaries(st.sampled_from([*TYPES, "hawk"]), st.floats(0, 1), max_size=3),
                st.sampled_from(["flat", ""]),
            ),
        },
    )
)
def test_observer_filter(outcome, a):
    def run() -> xr.Dataset:
        params = sd.ModelParams(sigma=a["sigma"], nu=a["nu"])
        data = xr.Dataset({"dx": ("period", a["dx"]), "u": ("period", a["u"])})
        obs = sd.Observer(params=params, prior=a["prior"], persistence=a["persistence"])
        return obs.filter(data)

    post = _attempt(outcome, "Observer.filter", run)
    if post is not None:
        _assert_distribution(post["filtered"], "filtered")
        _assert_distribution(post["smoothed"], "smoothed")


@settings(max_examples=600)
@given(
    dx=_series(FINITE, 6),
    u=_series(FINITE, 6),
    kind=st.sampled_from(sorted(sd.observers.OBSERVER_KINDS)),
    persistence=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
)
def test_every_observer_kind_on_extreme_moves(outcome, dx, u, kind, persistence):
    def run() -> xr.Dataset:
        data = xr.Dataset({"dx": ("period", dx), "u": ("period", u)})
        return sd.observers.OBSERVER_KINDS[kind](persistence=persistence).filter(data)

    post = _attempt(outcome, "observer kinds .filter", run)
    if post is not None:
        _assert_distribution(post["filtered"], f"{kind} filtered")
        _assert_distribution(post["smoothed"], f"{kind} smoothed")


# ---------------------------------------------------------------------------------------------
# the simulator and the model's parameters
# ---------------------------------------------------------------------------------------------
@settings(max_examples=1500)
@given(
    a=_mostly_valid(
        {
            "n_periods": st.integers(1, 8),
            "n_scenarios": st.integers(1, 3),
            "seed": st.integers(0, 2**32),
            "drift": st.floats(-0.2, 0.2),
            "x0": st.floats(-3, 3),
            "alpha": st.one_of(
                st.floats(0, 0.5), st.lists(st.floats(0, 0.5), min_size=1, max_size=1)
            ),
            "omega": st.one_of(st.floats(0, 1), st.lists(st.floats(0, 1), min_size=1, max_size=1)),
            "true_type": st.one_of(st.none(), st.sampled_from(TYPES)),
        },
        {
            "n_periods": SMALL_INTS,
            "n_scenarios": SMALL_INTS,
            "seed": SEEDS,
            "drift": FLOATS,
            "x0": FLOATS,
            "alpha": st.one_of(FLOATS, st.lists(FINITE, min_size=1, max_size=3)),
            "omega": st.one_of(FLOATS, st.lists(st.floats(0, 1), min_size=1, max_size=3)),
            "true_type": st.sampled_from(["hawk", "", "GREEDY"]),
        },
    )
)
def test_simulate(outcome, a):
    def run() -> xr.Dataset:
        params = sd.ModelParams(alpha=np.asarray(a["alpha"]), omega=np.asarray(a["omega"]))
        return sd.simulate(
            params=params,
            n_periods=a["n_periods"],
            n_scenarios=a["n_scenarios"],
            seed=a["seed"],
            observer_drift=a["drift"],
            x0=a["x0"],
            true_type=a["true_type"],
        )

    sim = _attempt(outcome, "simulate", run)
    if sim is not None:
        for var in ("dx", "u", "x", "y"):
            v = sim[var].values
            if var == "dx":  # the first period has no change to react to, by design
                v = v[..., 1:]
            assert np.all(np.isfinite(v)), f"simulate: non-finite {var}"


# ---------------------------------------------------------------------------------------------
# data: to_moves
# ---------------------------------------------------------------------------------------------
@settings(max_examples=1200)
@given(
    observer=_series(FLOATS, 4),
    rival=_series(FLOATS, 4),
    transform=st.sampled_from(["log_diff", "diff", "pct", "log", ""]),
    periods=st.sampled_from([[1990, 1991, 1992, 1993], [3, 2, 1, 0], [0, 0, 1, 2]]),
)
def test_to_moves(outcome, observer, rival, transform, periods):
    def run() -> xr.Dataset:
        ds = xr.Dataset(
            {"milex": (("period", "actor"), np.column_stack([observer, rival]))},
            coords={"period": periods, "actor": ["observer", "rival"]},
        )
        return sd.to_moves(ds, transform=transform)  # type: ignore[arg-type]

    moves = _attempt(outcome, "to_moves", run)
    if moves is not None:
        for var in ("dx", "u"):
            v = moves[var].values
            assert not np.any(np.isinf(v)), f"to_moves: infinite {var}"


# ---------------------------------------------------------------------------------------------
# the decision
# ---------------------------------------------------------------------------------------------
BELIEFS = st.one_of(
    st.none(),
    st.lists(st.floats(min_value=-0.2, max_value=1.2), min_size=3, max_size=3),
    st.dictionaries(st.sampled_from([*TYPES, "hawk"]), st.floats(0, 1), min_size=1, max_size=3),
    st.lists(FLOATS, min_size=2, max_size=4),
)
LOSSES = st.dictionaries(
    st.sampled_from(["arms", "war", "exploitation", "discount", "crisis", "spiral"]),
    st.one_of(FLOATS, st.sampled_from(["1", None])),
    max_size=3,
)


@settings(max_examples=1200)
@given(
    a=_mostly_valid(
        {
            "belief": st.one_of(
                st.none(),
                st.lists(st.floats(0.01, 1), min_size=3, max_size=3).map(
                    lambda v: (np.asarray(v) / sum(v)).tolist()
                ),
            ),
            "losses": st.dictionaries(
                st.sampled_from(["arms", "war", "exploitation"]), st.floats(0, 5), max_size=2
            ),
            "horizon": st.integers(1, 5),
            "n_sims": st.integers(6, 30),
            "ci_prob": st.floats(0.5, 0.99),
            "seed": st.integers(0, 2**32),
            "sigma": st.floats(1e-3, 1),
            "nu": st.one_of(st.none(), st.floats(1, 30)),
        },
        {
            "belief": BELIEFS,
            "losses": LOSSES,
            "horizon": st.one_of(SMALL_INTS, st.sampled_from([2.5, "3", 10**9])),
            "n_sims": st.one_of(st.integers(-2, 0), st.sampled_from([10**12, "9"])),
            "ci_prob": st.one_of(st.floats(allow_nan=True), st.sampled_from(["0.9", 1.0])),
            "seed": SEEDS,
            "sigma": st.one_of(st.floats(-1, 0), EXTREME),
            "nu": st.sampled_from([1e-300, 1e300, -1.0, 0.0]),
        },
    )
)
def test_decide(outcome, a):
    def run() -> xr.Dataset:
        return sd.decide(
            a["belief"],
            params=sd.ModelParams(sigma=a["sigma"], nu=a["nu"]),
            losses=a["losses"],
            horizon=a["horizon"],
            n_sims=a["n_sims"],
            ci_prob=a["ci_prob"],
            seed=a["seed"],
        )

    res = _attempt(outcome, "decide", run)
    if res is not None:
        assert np.all(np.isfinite(res["expected_utility"].values)), "decide: non-finite EU"
        assert res.attrs["recommended"] in res["action"].values
        assert float(res["evpi"]) >= -1e-12


def _channel_tables(n_outcomes: int) -> st.SearchStrategy[list[list[float]]]:
    """P(outcome | type) tables whose columns sum to 1."""
    col = st.lists(st.floats(0.001, 1), min_size=n_outcomes, max_size=n_outcomes).map(
        lambda v: (np.asarray(v) / sum(v)).tolist()
    )
    return st.lists(col, min_size=3, max_size=3).map(lambda cols: np.asarray(cols).T.tolist())


@settings(max_examples=1000)
@given(
    a=_mostly_valid(
        {
            "belief": st.lists(st.floats(0.01, 1), min_size=3, max_size=3).map(
                lambda v: (np.asarray(v) / sum(v)).tolist()
            ),
            "table": st.integers(2, 3).flatmap(_channel_tables),
            "cost": st.floats(0, 1),
            "payoff": st.lists(st.floats(-10, 10), min_size=6, max_size=6),
        },
        {
            "belief": BELIEFS,
            "table": st.lists(
                st.lists(st.floats(min_value=-0.1, max_value=1.1), min_size=3, max_size=3),
                min_size=1,
                max_size=3,
            ),
            "cost": st.one_of(FLOATS, st.sampled_from(["1", None])),
            "payoff": st.lists(FLOATS, min_size=6, max_size=6),
        },
    )
)
def test_value_of_information(outcome, a):
    table, payoff = a["table"], a["payoff"]

    def run() -> xr.Dataset:
        channel = xr.DataArray(
            np.asarray(table, dtype=float),
            dims=("outcome", "rival_type"),
            coords={"outcome": [f"o{i}" for i in range(len(table))], "rival_type": list(TYPES)},
        )
        payoffs = xr.DataArray(
            np.reshape(payoff, (2, 3)),
            dims=("action", "rival_type"),
            coords={"action": ["deter", "reassure"], "rival_type": list(TYPES)},
        )
        return sd.value_of_information(
            a["belief"], channel=channel, payoffs=payoffs, cost=a["cost"]
        )

    res = _attempt(outcome, "value_of_information", run)
    if res is not None:
        evsi, evpi = float(res["evsi"]), float(res["evpi"])
        assert math.isfinite(evsi)
        assert math.isfinite(evpi)
        assert evsi <= evpi, f"EVSI {evsi} > EVPI {evpi}"
        assert evsi >= 0.0


# ---------------------------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------------------------
SCALARS = st.one_of(
    FLOATS, st.integers(-5, 3000), st.text(max_size=8), st.booleans(), st.sampled_from(TYPES)
)
SECTIONS = st.sampled_from(
    ["meta", "data", "types", "signals", "priors", "world", "observer", "sampler", "decision"]
)
KEYS = st.sampled_from(
    [
        *("name", "case", "observer", "rival", "source", "start", "end", "variable"),
        *("names", "switching", "channels", "use_reference", "beta", "kappa", "omega"),
        *("delta", "kind", "prior", "chains", "draws", "seed", "horizon", "losses", "bogus"),
    ]
)
SPEC_DICTS = st.dictionaries(
    SECTIONS,
    st.dictionaries(
        KEYS,
        st.one_of(
            SCALARS,
            st.lists(SCALARS, max_size=3),
            st.dictionaries(st.sampled_from([*TYPES, "dist", "median", "1990"]), SCALARS),
        ),
        max_size=4,
    ),
    max_size=4,
)


@settings(max_examples=1500)
@given(doc=SPEC_DICTS)
def test_spec_from_generated_tables(outcome, doc):
    spec = _attempt(outcome, "ModelSpec.from_dict", lambda: sd.ModelSpec.from_dict(doc))
    if spec is not None:
        assert sd.ModelSpec.from_dict(spec.to_dict()) == spec


@settings(max_examples=400)
@given(doc=SPEC_DICTS, garbage=st.binary(max_size=12))
def test_load_spec_from_generated_files(outcome, tmp_path_factory, doc, garbage):
    path = tmp_path_factory.mktemp("spec") / "s.toml"
    try:
        text = tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):  # NaN and the like: TOML cannot hold them
        text = b"[world]\nomega = nan\n"
    path.write_bytes(text + garbage)
    _attempt(outcome, "load_spec", lambda: sd.load_spec(path))


# ---------------------------------------------------------------------------------------------
# the study
# ---------------------------------------------------------------------------------------------
@settings(max_examples=500)
@given(
    a=_mostly_valid(
        {
            "target": st.sampled_from(["us_ussr", "russia_nato", "anglo_german_naval"]),
            "omega": st.one_of(
                st.none(),
                st.floats(0, 1),
                st.dictionaries(st.integers(1900, 2030), st.floats(0, 1), min_size=1),
            ),
            "delta": st.one_of(st.none(), st.floats(0, 1)),
            "prior": st.one_of(st.none(), st.just("uniform")),
            "observer": st.one_of(st.none(), st.sampled_from(["aware", "naive"])),
            "params": st.sampled_from(["reference", "default"]),
            "horizon": st.one_of(st.none(), st.integers(1, 30)),
            "seed": st.one_of(st.none(), st.integers(0, 2**32)),
        },
        {
            "target": st.sampled_from(["us_chna", "models/none.toml", "", "../x"]),
            "omega": FLOATS,
            "delta": st.one_of(FLOATS, st.just("0.5")),
            "prior": st.one_of(BELIEFS, st.just("x")),
            "observer": st.sampled_from(["tempered", "", "Aware"]),
            "params": st.sampled_from(["bogus", ""]),
            "horizon": SMALL_INTS,
            "seed": st.integers(-3, 2**65),
        },
    )
)
def test_study(outcome, a):
    def run() -> sd.Study:
        return sd.Study(
            a["target"],
            omega=a["omega"],
            delta=a["delta"],
            prior=a["prior"],
            observer=a["observer"],
            params=a["params"],
            horizon=a["horizon"],
            seed=a["seed"],
        )

    study = _attempt(outcome, "Study", run)
    if study is not None:
        _assert_distribution(study.belief()["filtered"], "Study.belief")


@pytest.mark.parametrize("entry", ["make_dyad"])
@settings(max_examples=150)
@given(
    observer=st.sampled_from(["USA", "RUS", "India", "2", "Narnia", "", "999", "us"]),
    rival=st.sampled_from(["CHN", "PAK", "Germany", "365", "Atlantis", "ukg"]),
    source=st.sampled_from(["nmc", "sipri", "cow"]),
    start=st.one_of(st.none(), st.integers(1800, 2030), st.sampled_from(["1990", "x"])),
    span=st.integers(-5, 40),
)
def test_make_dyad(outcome, entry, observer, rival, source, start, span):
    end = None if start is None or isinstance(start, str) else start + span

    def run() -> xr.Dataset:
        return sd.make_dyad(observer, rival, source=source, start=start, end=end)  # type: ignore[arg-type]

    ds = _attempt(outcome, entry, run)
    if ds is not None:
        assert ds.sizes["period"] >= 1
