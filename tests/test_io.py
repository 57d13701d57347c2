"""Atomic, non-destructive NetCDF storage."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from secdilemma import __version__
from secdilemma.errors import DataError, OutputExistsError
from secdilemma.io import atomic_write, load_dataset, save_dataset


def _ds() -> xr.Dataset:
    return xr.Dataset(
        {"p": (("period", "rival_type"), np.array([[0.2, 0.8], [0.6, 0.4]]))},
        coords={"period": [1900, 1901], "rival_type": ["greedy", "insecure"]},
        attrs={"case": "toy", "settings": {"a": 1}},
    )


def test_round_trip_equals_saved(tmp_path):
    path = save_dataset(_ds(), tmp_path / "r.nc")
    back = load_dataset(path)
    xr.testing.assert_identical(back["p"], _ds()["p"])
    assert back.attrs["secdilemma_version"] == __version__
    assert back.attrs["settings"] == '{"a": 1}'  # non-scalar attrs are stored as JSON


def test_refuses_to_overwrite_and_keeps_old_data(tmp_path):
    path = save_dataset(_ds(), tmp_path / "r.nc")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        save_dataset(_ds() * 2, path)
    assert path.read_bytes() == before
    save_dataset(_ds() * 2, path, overwrite=True)
    np.testing.assert_allclose(load_dataset(path)["p"].values, 2 * _ds()["p"].values)


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    def boom(p):
        p.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "x.nc", boom)
    assert list(tmp_path.iterdir()) == []


def test_load_missing_or_garbage_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such result file"):
        load_dataset(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(DataError, match="not a readable NetCDF"):
        load_dataset(bad)
