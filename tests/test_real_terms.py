"""Spending in real terms (issue 12): a price change that every money value shares must not
move the observer's belief.

What is tested, per price basis of :func:`secdilemma.make_dyad`:

- ``prices="relative"``: both sides over the chain-linked system total. Multiplying *every*
  NMC ``milex`` value by a common path ``exp(pi_t)`` (any path: a common inflation or a
  change of the unit) leaves the levels, the moves and the exact observer's posterior
  unchanged up to rounding, also with mean reversion (``lam > 0``, which reads the level).
- ``prices="real"``: current values over the price index of their currency. The removal is
  exact when the common price change also shows in the index (here the price files are
  multiplied by the same path): the moves and the posterior are unchanged. The levels are
  unchanged when the path is 1 in the base year 1913 (an index is normalised there).
- ``prices="nominal"`` is the control: there the same path moves the posterior.

The independent reference is the unperturbed computation on the bundled raw files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import secdilemma.data.dyad as dyad_mod
import secdilemma.data.prices as prices_mod
from secdilemma import Observer, Study
from secdilemma.data import make_dyad, to_moves
from secdilemma.data.sources import read_nmc
from secdilemma.errors import DataError, SpecError
from secdilemma.model import ModelParams
from secdilemma.spec import ModelSpec

_OBS, _RIV, _START, _END = "IRN", "IRQ", 1960, 2000


def _path(years: pd.Series | pd.Index, base_one: bool) -> np.ndarray:
    """A common log-price path: a trend, a ten-year inflation burst and an oscillation."""
    t = np.asarray(years, dtype=float)
    pi = 0.07 * (t - 1900) + 0.9 * np.clip(t - 1972, 0, 10) + 0.3 * np.sin(t)
    if base_one:
        pi = pi - (0.07 * 13 + 0.3 * np.sin(1913.0))
    return np.exp(pi)


@pytest.fixture
def inflate(monkeypatch: pytest.MonkeyPatch) -> object:
    """Multiply every NMC milex value (and, with ``index=True``, the price indices) by the
    common path, in the readers the dyad and the price module use."""

    def apply(*, index: bool, base_one: bool = False) -> None:
        nmc = read_nmc()
        nmc["milex"] = nmc["milex"] * _path(nmc["year"], base_one)
        monkeypatch.setattr(dyad_mod, "read_nmc", lambda: nmc.copy())
        monkeypatch.setattr(prices_mod, "read_nmc", lambda: nmc.copy())
        if index:
            us, uk = prices_mod.read_us_cpi(), prices_mod.read_uk_cpi()
            us = us * _path(us.index, base_one)
            uk = uk * _path(uk.index, base_one)
            monkeypatch.setattr(prices_mod, "read_us_cpi", lambda: us.copy())
            monkeypatch.setattr(prices_mod, "read_uk_cpi", lambda: uk.copy())

    return apply


def _posterior(prices: str, lam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    ds = make_dyad(_OBS, _RIV, start=_START, end=_END, variable="milex", prices=prices)  # type: ignore[arg-type]
    mv = to_moves(ds)
    params = ModelParams(lam=lam, anchor=12.0, sigma=0.3)  # a fixed anchor: x is read as is
    post = Observer(params=params).filter(mv.drop_vars("signals", errors="ignore"))
    return post["filtered"].values, mv["x"].values


def test_relative_cancels_any_common_path(inflate: Any) -> None:
    before, x0 = _posterior("relative")
    before_lam, _ = _posterior("relative", lam=0.2)
    inflate(index=False)
    after, x1 = _posterior("relative")
    after_lam, _ = _posterior("relative", lam=0.2)
    np.testing.assert_allclose(x1, x0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)
    np.testing.assert_allclose(after_lam, before_lam, rtol=0, atol=1e-9)


def test_real_cancels_a_path_that_shows_in_the_index(inflate: Any) -> None:
    before, x0 = _posterior("real")
    inflate(index=True)
    after, x1 = _posterior("real")
    # levels move by one constant (the path's value in 1913); changes and posterior do not
    np.testing.assert_allclose(np.diff(x1), np.diff(x0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)


def test_real_levels_unchanged_for_a_path_normalised_in_1913(inflate: Any) -> None:
    before, x0 = _posterior("real", lam=0.2)
    inflate(index=True, base_one=True)
    after, x1 = _posterior("real", lam=0.2)
    np.testing.assert_allclose(x1, x0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)


def test_nominal_is_moved_by_the_path(inflate: Any) -> None:
    before, _ = _posterior("nominal")
    inflate(index=True)
    after, _ = _posterior("nominal")
    assert np.max(np.abs(after - before)) > 0.05


def test_study_on_a_non_pool_dyad_is_invariant(inflate: Any) -> None:
    """Through Study (reference parameters, the derived signal channels) on IRN:IRQ."""
    study = Study.from_dyad(_OBS, _RIV, start=_START, end=_END)
    before = study.belief()["filtered"].values
    inflate(index=True)
    after = Study.from_dyad(_OBS, _RIV, start=_START, end=_END).belief()["filtered"].values
    # rounding only: the path multiplies the values by up to e^17 before it is divided out
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-7)


def test_prices_argument_and_attrs() -> None:
    real = make_dyad(_OBS, _RIV, start=1990, end=1995)
    nominal = make_dyad(_OBS, _RIV, start=1990, end=1995, prices="nominal")
    rel = make_dyad(_OBS, _RIV, start=1990, end=1995, prices="relative")
    assert real.attrs["prices"] == "real"
    assert nominal.attrs["prices"] == "nominal"
    assert real["milex"].attrs["units"].startswith("thousands of constant 1913 US$")
    assert rel["milex"].attrs["units"].startswith("percent of the state system")
    # milper is not a money series
    np.testing.assert_array_equal(real["milper"].values, nominal["milper"].values)
    # relative: the shares over all states of a year sum to 100 in the base year
    nmc = read_nmc()
    shares = [
        float(make_dyad("UKG", c, start=1913, end=1913, prices="relative")["milex"][0, 1])
        for c in ("FRN", "GMY")
    ]
    total_1913 = float(nmc.loc[nmc["year"] == 1913, "milex"].sum())
    for c, share in zip((220, 255), shares, strict=True):
        m = float(nmc.loc[(nmc["year"] == 1913) & (nmc["ccode"] == c), "milex"].iloc[0])
        assert share == pytest.approx(100 * m / total_1913, rel=1e-12)
    with pytest.raises(DataError, match="argument 'prices'"):
        make_dyad(_OBS, _RIV, prices="ppp")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="'relative' is offered for source='nmc' only"):
        make_dyad("USA", "CHN", source="sipri", prices="relative")
    # relative has no unit, so it crosses 1913->1914 without unit_break
    assert make_dyad("UKG", "GMY", start=1910, end=1920, prices="relative").sizes["period"] == 11


def test_the_spec_and_from_dyad_choose_prices_and_a_case_refuses_them():
    nominal = ModelSpec.for_dyad("IRN", "IRQ", start=1960, end=2000, prices="nominal")
    assert nominal.data.prices == "nominal"
    assert ModelSpec.from_dict(nominal.to_dict()).data.prices == "nominal"
    ds_real = Study.from_dyad("IRN", "IRQ", start=1960, end=2000, signals=[]).data()
    ds_nom = Study.from_dyad(
        "IRN", "IRQ", start=1960, end=2000, signals=[], prices="nominal"
    ).data()
    assert ds_real.attrs["prices"] == "real"
    assert ds_nom.attrs["prices"] == "nominal"
    assert not np.allclose(ds_real["milex"].values, ds_nom["milex"].values, equal_nan=True)
    with pytest.raises(SpecError, match=r"data\.prices"):
        ModelSpec.from_dict({"data": {"observer": "IRN", "rival": "IRQ", "prices": "cheap"}})
    with pytest.raises(SpecError, match=r"data\.prices"):
        ModelSpec.from_dict({"data": {"case": "us_china", "prices": "nominal"}})
