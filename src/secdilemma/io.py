"""Safe storage of results: NetCDF only (never pickle), written atomically.

A result is written to a temporary file in the destination folder and renamed into place,
so a crash never leaves a half-written file, and an existing file is never replaced unless
``overwrite=True`` is given.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import DataError, OutputExistsError

__all__ = ["atomic_write", "load_dataset", "save_dataset"]


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; choose another path or pass overwrite=True "
            "(--overwrite on the command line) to replace it."
        )
    if path.exists() and path.is_dir():
        raise OutputExistsError(f"{path} is a folder; give a file path ending in .nc.")


def atomic_write(path: str | os.PathLike[str], write: Any, *, overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path`` (same folder, atomic).

    Refuses to replace an existing ``path`` unless ``overwrite`` is true.
    """
    target = Path(path)
    _check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        _check_target(target, overwrite)  # something may have appeared meanwhile
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return target


def _jsonable_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, (str, int, float)):
            out[k] = v
        elif isinstance(v, bool):
            out[k] = int(v)
        else:
            out[k] = json.dumps(v, default=str)
    return out


def save_dataset(
    ds: xr.Dataset | xr.DataTree, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a Dataset or DataTree to NetCDF atomically; the package version goes into attrs.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> d = tempfile.mkdtemp()
    >>> p = save_dataset(xr.Dataset({"a": ("period", [1.0, 2.0])}), f"{d}/r.nc")
    >>> load_dataset(p)["a"].values.tolist()
    [1.0, 2.0]
    >>> save_dataset(xr.Dataset(), p)
    Traceback (most recent call last):
    ...
    secdilemma.errors.OutputExistsError: ... already exists; ...
    """
    out = ds.copy()
    out.attrs = _jsonable_attrs(
        {**{str(k): v for k, v in out.attrs.items()}, "secdilemma_version": __version__}
    )
    if isinstance(out, xr.DataTree):
        return atomic_write(
            path, lambda p: out.to_netcdf(p, engine="h5netcdf"), overwrite=overwrite
        )
    # object (string) variables are stored as variable-length strings
    return atomic_write(path, lambda p: out.to_netcdf(p, engine="h5netcdf"), overwrite=overwrite)


def load_dataset(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a NetCDF result written by :func:`save_dataset` (fully loaded, file closed)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such result file; check the path.")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            return ds.load()
    except OSError as exc:
        raise DataError(f"{p}: not a readable NetCDF file ({exc}).") from None
