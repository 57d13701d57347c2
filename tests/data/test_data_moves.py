"""to_moves: transforms, gaps and bad levels."""

from __future__ import annotations

import numpy as np
import pytest

from secdilemma.data import load_case, make_dyad, to_moves
from secdilemma.errors import DataError


def test_log_diff_matches_manual() -> None:
    ds = load_case("us_ussr")
    mv = to_moves(ds)
    riv = ds["milex"].sel(actor="rival").values
    obs = ds["milex"].sel(actor="observer").values
    np.testing.assert_allclose(mv["x"].values, np.log(riv))
    np.testing.assert_allclose(mv["dx"].values[1:], np.diff(np.log(riv)))
    np.testing.assert_allclose(mv["u"].values[1:], np.diff(np.log(obs)))
    assert np.isnan(mv["dx"].values[0])
    assert np.isnan(mv["u"].values[0])
    assert mv.attrs["transform"] == "log_diff"
    assert mv.attrs["variable"] == "milex"
    assert mv["dx"].dims == ("period",)


def test_diff_and_pct() -> None:
    ds = load_case("us_china")
    d = to_moves(ds, transform="diff")
    p = to_moves(ds, transform="pct")
    riv = ds["milex"].sel(actor="rival").values
    np.testing.assert_allclose(d["dx"].values[1:], np.diff(riv))
    np.testing.assert_allclose(p["dx"].values[1:], 100 * (riv[1:] / riv[:-1] - 1))
    assert p["dx"].attrs["units"] == "percent"


def test_gaps_stay_nan() -> None:
    ds = load_case("us_china")
    mv = to_moves(ds, variable="milex_nmc")
    assert np.isnan(mv["dx"].sel(period=2017))
    assert not np.isnan(mv["dx"].sel(period=2016))
    ag = to_moves(load_case("anglo_german_naval"), variable="naval_expenditure")
    assert np.isnan(ag["dx"].sel(period=1904))
    assert not np.isnan(ag["dx"].sel(period=1905))
    assert np.isnan(ag["dx"].sel(period=1911))


def test_zero_spending_in_log_names_actor_and_period() -> None:
    ds = make_dyad("Russia", "Iceland", source="sipri", start=1995, end=2000)
    with pytest.raises(DataError, match=r"'milex', actor rival \(ICE\).*1995, 1996"):
        to_moves(ds)
    assert np.isfinite(to_moves(ds, transform="diff")["dx"].values[1:]).all()
    neg = load_case("us_ussr")
    neg["milex"].loc[{"period": 1950, "actor": "observer"}] = -1.0
    with pytest.raises(DataError, match=r"actor observer \(USA\).*1950"):
        to_moves(neg, transform="pct")


def test_bad_arguments() -> None:
    ds = load_case("us_ussr")
    with pytest.raises(DataError, match="argument 'transform'"):
        to_moves(ds, transform="log")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"argument 'variable'.*'warheads'"):
        to_moves(ds, variable="gdp")
    with pytest.raises(DataError, match="consecutive"):
        to_moves(ds.isel(period=[0, 2, 3]))
