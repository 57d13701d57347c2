"""Fits on disk: :func:`load` reads back what :meth:`PerceptionModel.save` wrote.

The file is the result tree in NetCDF (written atomically by :func:`secdilemma.io.save_dataset`)
with the spec, the secdilemma version, the seed and the diagnostics in its attrs; the model is
rebuilt from the stored spec and data, so a loaded fit summarises, plots, checks and decides
like a fresh one.

Whatever the file holds, :func:`load` answers with a typed error that names it: a file that
is not NetCDF, a NetCDF that is not a fit (no stored spec, a spec that is not JSON or not a
valid spec, a group or variable missing, attrs of the wrong kind) or a fit of another
secdilemma version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from secdilemma._version import __version__
from secdilemma.engines.pymc.diagnostics import diagnostics
from secdilemma.engines.pymc.model import PerceptionModel
from secdilemma.engines.pymc.sampling import MAX_SEED
from secdilemma.errors import DataError, SpecError
from secdilemma.spec.model_spec import ModelSpec

__all__ = ["load"]

#: The groups and variables every saved fit holds (``PerceptionModel._assemble``).
_REQUIRED = {
    "posterior": (),
    "type_probabilities": ("type_probability",),
    "observed_data": ("dx",),
    "constant_data": ("u",),
}

_WHAT = "give the path of a file written by PerceptionModel.save or `secdilemma fit --out`"


def _not_a_fit(p: Path, why: str) -> DataError:
    return DataError(f"{p} is not a secdilemma fit ({why}); {_WHAT}.")


def _read_tree(p: Path) -> xr.DataTree:
    """The whole tree of the NetCDF file ``p`` in memory (a DataError when it cannot be read)."""
    if p.is_dir():
        raise DataError(f"{p} is a folder, not a fit file; {_WHAT}.")
    if not p.is_file():
        raise DataError(f"{p}: no such fit file; check the path.")
    try:
        with xr.open_datatree(p, engine="h5netcdf") as dt:
            return dt.load().copy()
    except Exception as exc:  # h5py/h5netcdf/xarray raise many kinds on a foreign file
        detail = str(exc) or type(exc).__name__
        raise _not_a_fit(p, f"not a readable NetCDF-4 file: {detail}") from None


def _stored_json(p: Path, attrs: dict[str, Any], key: str) -> Any:
    raw = attrs[key]
    if not isinstance(raw, str):
        raise _not_a_fit(p, f"its {key!r} attribute is not text but {type(raw).__name__}")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _not_a_fit(p, f"its {key!r} attribute is not valid JSON: {exc}") from None


def _check_layout(p: Path, tree: xr.DataTree, attrs: dict[str, Any]) -> None:
    """The attributes and groups every fit has; another version's fit is named as such."""
    for key in ("spec", "secdilemma_version"):
        if key not in attrs:
            raise _not_a_fit(p, f"no {key!r} attribute")
    _check_version(p, attrs)
    for group, names in _REQUIRED.items():
        if group not in tree.children:
            raise _not_a_fit(p, f"no {group!r} group")
        missing = [n for n in names if n not in tree[group].data_vars]
        if missing:
            raise _not_a_fit(p, f"the {group!r} group lacks {missing}")


def _check_version(p: Path, attrs: dict[str, Any]) -> None:
    version = str(attrs["secdilemma_version"])
    if version != __version__:
        raise SpecError(
            f"{p}: written by secdilemma {version}, this is {__version__}; the model may differ. "
            f"Refit with this version, or install secdilemma=={version} to read it."
        )


def _stored_spec(p: Path, attrs: dict[str, Any]) -> ModelSpec:
    doc = _stored_json(p, attrs, "spec")
    if not isinstance(doc, dict):
        raise _not_a_fit(p, f"its stored spec is a JSON {type(doc).__name__}, not an object")
    try:
        return ModelSpec.from_dict(doc, source=f"<{p.name}>")
    except SpecError as exc:
        raise SpecError(
            f"{p}: the stored spec is not a valid spec ({exc}); the file was altered or was "
            "not written by PerceptionModel.save. Refit the model."
        ) from None


def _seed(p: Path, attrs: dict[str, Any]) -> int:
    value = attrs["seed"]
    value = value.item() if isinstance(value, np.generic) else value
    try:
        seed = int(value)
    except (TypeError, ValueError, OverflowError):
        seed = -1
    if seed != value or not 0 <= seed <= MAX_SEED:
        raise _not_a_fit(p, f"its 'seed' attribute {value!r} is not a seed (an integer >= 0)")
    return seed


def _seconds(p: Path, attrs: dict[str, Any]) -> float:
    value = attrs["sampling_time_s"]
    value = value.item() if isinstance(value, np.generic) else value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise _not_a_fit(p, f"its 'sampling_time_s' attribute {value!r} is not a number") from None


def load(path: str | os.PathLike[str]) -> PerceptionModel:
    """Rebuild a fitted :class:`PerceptionModel` from a file written by ``save``.

    Raises
    ------
    DataError
        No such file, a folder, a file that is not NetCDF-4, or one that is not a secdilemma
        fit (``"<path> is not a secdilemma fit (why)"``).
    SpecError
        The file was written by another secdilemma version (refit, or install that version),
        or its stored spec is not a valid spec.

    Examples
    --------
    A fit saved by :meth:`PerceptionModel.save` comes back ready to summarise and decide
    (the fit itself is a PyMC run):

    >>> import secdilemma as sd
    >>> model = sd.PerceptionModel(sd.ModelSpec.from_dict({}), data=sd.simulate(n_periods=20))
    >>> _ = model.fit().save("fit.nc")  # doctest: +SKIP
    >>> sd.load("fit.nc").summary()["trustworthy"]  # doctest: +SKIP
    True

    Any other file is refused with a typed error that says why:

    >>> import tempfile, xarray as xr
    >>> path = sd.save_dataset(xr.Dataset({"a": ("t", [1.0])}), f"{tempfile.mkdtemp()}/r.nc")
    >>> sd.load(path)
    Traceback (most recent call last):
    ...
    secdilemma.errors.DataError: .../r.nc is not a secdilemma fit (no 'spec' attribute); ...
    """
    p = Path(path)
    tree = _read_tree(p)
    attrs = {str(k): v for k, v in tree.attrs.items()}
    _check_layout(p, tree, attrs)
    spec = _stored_spec(p, attrs)
    diag = _stored_json(p, attrs, "diagnostics") if "diagnostics" in attrs else None
    if diag is not None and not isinstance(diag, dict):
        raise _not_a_fit(p, "its 'diagnostics' attribute is not a JSON object")
    obs = tree["observed_data"].to_dataset()
    const = tree["constant_data"].to_dataset()
    moves = xr.Dataset({"dx": obs["dx"], "u": const["u"]})
    if "signals" in obs:
        moves["signals"] = obs["signals"]
    model = PerceptionModel(spec, data=moves)
    if "seed" in attrs:
        tree.attrs["seed"] = _seed(p, attrs)
    if "sampling_time_s" in attrs:
        tree.attrs["sampling_time_s"] = _seconds(p, attrs)
    model.idata_ = tree
    model.diagnostics_ = diag if diag is not None else diagnostics(tree)
    return model
