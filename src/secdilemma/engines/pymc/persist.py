"""Fits on disk: :func:`load` reads back what :meth:`PerceptionModel.save` wrote.

The file is the result tree in NetCDF (written atomically by :func:`secdilemma.io.save_dataset`)
with the spec, the secdilemma version, the seed and the diagnostics in its attrs; the model is
rebuilt from the stored spec and data, so a loaded fit summarises, plots, checks and decides
like a fresh one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import xarray as xr

from secdilemma._version import __version__
from secdilemma.engines.pymc.diagnostics import diagnostics
from secdilemma.engines.pymc.model import PerceptionModel
from secdilemma.errors import DataError, SpecError
from secdilemma.spec.model_spec import ModelSpec

__all__ = ["load"]


def load(path: str | os.PathLike[str]) -> PerceptionModel:
    """Rebuild a fitted :class:`PerceptionModel` from a file written by ``save``.

    Raises
    ------
    DataError
        Missing or unreadable file, or not a secdilemma fit.
    SpecError
        The file was written by another secdilemma version (refit, or install that version).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such fit file; check the path.")
    try:
        with xr.open_datatree(p, engine="h5netcdf") as dt:
            tree = dt.load().copy()
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: not a readable NetCDF fit ({exc}).") from None
    attrs = dict(tree.attrs)
    if "spec" not in attrs or "type_probabilities" not in tree.children:
        raise DataError(f"{p}: not a secdilemma fit (no stored spec or type_probabilities).")
    version = str(attrs.get("secdilemma_version", "unknown"))
    if version != __version__:
        raise SpecError(
            f"{p}: written by secdilemma {version}, this is {__version__}; the model may differ. "
            f"Refit with this version, or install secdilemma=={version} to read it."
        )
    spec = ModelSpec.from_dict(json.loads(attrs["spec"]), source=f"<{p.name}>")
    obs = tree["observed_data"].to_dataset()
    const = tree["constant_data"].to_dataset()
    moves = xr.Dataset({"dx": obs["dx"], "u": const["u"]})
    if "signals" in obs:
        moves["signals"] = obs["signals"]
    model = PerceptionModel(spec, data=moves)
    if "seed" in attrs:
        tree.attrs["seed"] = int(attrs["seed"])
    if "sampling_time_s" in attrs:
        tree.attrs["sampling_time_s"] = float(attrs["sampling_time_s"])
    model.idata_ = tree
    model.diagnostics_ = (
        json.loads(attrs["diagnostics"]) if "diagnostics" in attrs else diagnostics(tree)
    )
    return model
