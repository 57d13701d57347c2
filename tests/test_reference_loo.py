"""Leave-one-out references (secdilemma.reference.reference_for): membership, the label,
the pool that is fitted, the on-disk cache, and the file it writes (the PyMC fit replaced by
a stub; the point estimate is real)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from secdilemma import reference as ref
from secdilemma._paths import models_dir
from secdilemma.data.pool import POOL_CHANNELS
from secdilemma.engines.exact.estimate import ETA_BOUND
from secdilemma.engines.pymc.priors import resolve_priors, resolve_signal_priors
from secdilemma.reference import (
    PoolReference,
    is_pool_member,
    pool_windows,
    reference_dyads,
    reference_for,
)
from secdilemma.spec import ModelSpec
from secdilemma.spec.reference import (
    REFERENCE_FILE,
    load_reference_params,
    load_reference_signals,
)

STUB_POSTERIOR = {
    k: {"median": m, "log_sd": 0.3, "q05": m / 2, "q95": m * 2}
    for k, m in (("alpha", 0.03), ("beta", 0.2), ("gamma", 0.1), ("kappa", 0.05))
}
#: A stubbed posterior of the signal coefficients: each channel the same.
STUB_SIGNALS = {
    ch: {c: {"mean": m, "sd": 0.4, "q05": m - 0.66, "q95": m + 0.66}
         for c, m in (("eta0", -4.0), ("eta_g", 1.5), ("eta_f", 0.0))}
    for ch in POOL_CHANNELS
}  # fmt: skip


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(tmp_path))
    return tmp_path / "reference"


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every build_reference call and write a small stand-in file."""
    calls: list[dict[str, Any]] = []

    def fake(**kw: Any) -> dict[str, Any]:
        calls.append(kw)
        kw["out"].parent.mkdir(parents=True, exist_ok=True)
        kw["out"].write_text("[params]\nmu = 0.01\n")
        return {"path": str(kw["out"])}

    monkeypatch.setattr(ref, "build_reference", fake)
    return calls


def test_membership_by_pair_in_either_orientation() -> None:
    assert is_pool_member(750, 770)
    assert is_pool_member("PAK", "IND")
    assert is_pool_member("India", "Pakistan")
    assert [d.name for d in pool_windows("TUR", "RUS")] == [
        "RUS-TUR 1855-1870",
        "RUS-TUR 1888-1904",
    ]
    # the bundled cases' pairs are not in the pool; nor is a pair that is no rivalry
    for a, b in (("UKG", "GMY"), ("USA", "RUS"), ("CHN", "USA"), ("NOR", "SWD")):
        assert not is_pool_member(a, b), (a, b)


def test_a_dyad_outside_the_pool_gets_the_stored_reference(
    cache: Path, builds: list[dict[str, Any]]
) -> None:
    got = reference_for("UKG", "GMY")
    assert got == PoolReference(models_dir() / REFERENCE_FILE, "pool", member=False)
    assert builds == []


def test_a_member_gets_the_pool_without_it_once(cache: Path, builds: list[dict[str, Any]]) -> None:
    got = reference_for("PAK", "IND")
    assert got.member
    assert got.label == "pool without IND-PAK"
    assert got.left_out == ("IND-PAK 1948-2016",)
    assert got.path.parent == cache
    assert got.path.name.startswith("without-IND-PAK-")
    assert got.path.is_file()
    (call,) = builds
    fitted = [str(n) for n in call["moves"].dyad.values]
    assert fitted == [d.name for d in reference_dyads() if d.name != "IND-PAK 1948-2016"]
    assert "without IND-PAK" in call["note"]
    # cached: the same file, no second fit (in this process or any other)
    assert reference_for(750, 770) == got
    assert len(builds) == 1


def test_every_window_of_the_pair_is_left_out(cache: Path, builds: list[dict[str, Any]]) -> None:
    got = reference_for("RUS", "TUR")
    assert got.label == "pool without RUS-TUR"
    assert got.left_out == ("RUS-TUR 1855-1870", "RUS-TUR 1888-1904")
    fitted = set(map(str, builds[0]["moves"].dyad.values))
    assert not fitted & set(got.left_out)
    assert len(fitted) == len(reference_dyads()) - 2


def test_the_cache_key_follows_the_pools_data() -> None:
    mv = ref.reference_moves(reference_dyads()[:4])
    key = ref._cache_key(mv)
    assert key == ref._cache_key(mv.copy(deep=True))
    changed = mv.copy(deep=True)
    changed["dx"][0, 3] = changed["dx"][0, 3] + 1e-9
    assert ref._cache_key(changed) != key
    assert ref._cache_key(mv.isel(dyad=slice(0, 3))) != key


def test_the_leave_one_out_file_is_a_reference(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real build (point estimate over the remaining pool) with the PyMC fit stubbed: the
    file loads as a reference, lists its pool without the left-out pair, and the fit's
    priors read it (resolve_priors' ``reference``)."""
    seen: list[xr.Dataset] = []
    # a small pool with the pair in it: the file and its reading are what is tested here,
    # not the size of the pool (the whole pool's point estimate takes minutes)
    small = tuple(d for d in reference_dyads() if d.codes == frozenset({750, 770}))
    small += tuple(d for d in reference_dyads() if d.codes != frozenset({750, 770}))[:12]
    monkeypatch.setattr(ref, "reference_dyads", lambda: small)

    def stub(
        moves: xr.Dataset, init: Any = None
    ) -> tuple[dict[str, dict[str, float]], dict[str, Any], Any]:
        seen.append(moves)
        assert init is not None  # the chains start at the point estimate's coefficients
        assert set(init) == {"eta0", "eta_g", "eta_f"}
        diag = {"max_rhat": 1.001, "min_ess_bulk": 2000.0, "divergences": 0}
        return STUB_POSTERIOR, diag, STUB_SIGNALS

    monkeypatch.setattr(ref, "reference_posterior", stub)
    assert ref._main(["--without", "IND", "PAK"]) == 0
    out = capsys.readouterr().out
    assert "pool without IND-PAK" in out
    got = reference_for("IND", "PAK")  # cached by the command
    assert len(seen) == 1
    text = got.path.read_text()
    assert '"IND-PAK 1948-2016"' not in text
    assert all(f'"{d.name}"' in text for d in small[1:])
    assert f"n_dyads = {len(small) - 1}" in text
    params = load_reference_params(got.path)
    assert 0.0 < float(params.sigma) < 1.0
    spec = ModelSpec.from_dict({"priors": {"use_reference": True}})
    pri = resolve_priors(spec, np.zeros(5), reference=got.path)
    assert pri["beta"][1] == "reference"
    assert pri["beta"][0].args["median"] == pytest.approx(0.2)
    assert pri["nu"][0].args["value"] == 4.0
    # the signal channels: point estimates for the exact observer, posteriors for the fit
    sp = load_reference_signals(got.path)
    assert sp is not None
    assert sp.names == tuple(seen[0]["signal"].values)
    assert np.all(np.abs(sp.eta0) < ETA_BOUND)
    spec = ModelSpec.from_dict(
        {"priors": {"use_reference": True}, "signals": {"channels": ["mid_use_of_force"]}}
    )
    sig = resolve_signal_priors(spec, reference=got.path)
    assert sig["eta_g"].origin == ("reference",)
    assert sig["eta_g"].mu[0] == pytest.approx(1.5)
    assert sig["eta_g"].sigma[0] == pytest.approx(np.hypot(0.4, spec.priors.reference_log_sd))


def test_a_leave_one_out_posterior_that_fails_the_gate_leaves_its_point_estimate(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled fit can leave a chain in a minor mode (R-hat 1.53 on the pool without
    IRN-SAU): no prior comes from it. The real point estimate (a small pool) is written
    before the fit, the stubbed fit fails the gate, and the reference is that point
    estimate, labelled as such, with a warning and the failure cached beside it."""
    # the pair and three other windows, and a quick point estimate (the drift and the noise
    # only, one start): what is tested is what happens around it
    small = tuple(d for d in reference_dyads() if d.codes == frozenset({750, 770}))
    small += tuple(d for d in reference_dyads() if d.codes != frozenset({750, 770}))[:3]
    monkeypatch.setattr(ref, "reference_dyads", lambda: small)
    real_estimate = ref.estimate_params

    def quick(moves: xr.Dataset, **kw: Any) -> Any:
        return real_estimate(moves, base=kw["base"], estimate=("mu", "sigma"), n_starts=1)

    monkeypatch.setattr(ref, "estimate_params", quick)
    fits: list[xr.Dataset] = []
    problem = "max R-hat 1.529 > 1.01"

    def failing(moves: xr.Dataset, init: Any = None) -> Any:
        fits.append(moves)
        raise ref.ReferenceGateError(
            f"the reference fit fails the diagnostics gate ({problem}); not writing a "
            "reference prior from it.",
            [problem],
        )

    monkeypatch.setattr(ref, "reference_posterior", failing)
    with pytest.warns(UserWarning, match="point estimate instead"):
        got = reference_for("IND", "PAK")
    assert got.member
    assert got.label == (
        "pool without IND-PAK (its point estimate: the posterior failed the diagnostics gate)"
    )
    assert got.path.parent == cache
    assert got.path.name.endswith("-point.toml")
    assert ref.load_reference_posterior(got.path) is None  # no prior from the failed fit
    assert f"n_dyads = {len(small) - 1}" in got.path.read_text()
    (gate,) = cache.glob("without-IND-PAK-*-gate.txt")
    assert problem in gate.read_text()
    # cached, failure included: no second fit, in either orientation
    assert reference_for("PAK", "IND") == got
    assert len(fits) == 1
    # the exact observer reads the same point estimate, which is all it ever needs
    plain = reference_for("IND", "PAK", posterior=False)
    assert (plain.path, plain.label) == (got.path, "pool without IND-PAK")
    # and a fit's priors read it as a reference (centred on the point estimate)
    spec = ModelSpec.from_dict({"priors": {"use_reference": True}})
    assert resolve_priors(spec, np.zeros(5), reference=got.path)["beta"][1] == "reference"
    # deleting the cached failure tries the fit again
    gate.unlink()
    with pytest.warns(UserWarning, match="point estimate instead"):
        assert reference_for("IND", "PAK") == got
    assert len(fits) == 2
