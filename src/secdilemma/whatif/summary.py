"""Plain-language summaries of a sweep: where the best action changes along each input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["NOT_INPUTS", "at_study", "fixed_value", "switch_points"]


def fixed_value(ds: xr.Dataset, name: str) -> Any:
    """The study's own value of input ``name`` (from the sweep's ``whatif_fixed`` attrs)."""
    fixed = json.loads(str(ds.attrs.get("whatif_fixed", "{}")))
    if name in ("omega", "delta", "observer", "persistence", "horizon"):
        return fixed.get(name)
    if name in fixed.get("params", {}):
        return fixed["params"][name]
    if name.startswith("prior_"):
        return fixed.get("prior", {}).get(name[len("prior_") :])
    if name.startswith("losses_"):
        return fixed.get("losses", {}).get(name[len("losses_") :])
    return None


#: Dims of a sweep's variables that are not swept inputs: never fixed at a study value.
NOT_INPUTS = ("action", "rival_type", "policy")


def at_study(
    ds: xr.Dataset, da: xr.DataArray, keep: tuple[str, ...]
) -> tuple[xr.DataArray, dict[str, Any]]:
    """``da`` with every swept input but ``keep`` at (the grid value nearest) the study's
    own value, or the first value where the study has none; also the values chosen."""
    at: dict[str, Any] = {}
    for dim in [d for d in da.dims if d not in keep and d in ds.coords and d not in NOT_INPUTS]:
        coord = ds[dim].values
        v = fixed_value(ds, str(dim))
        if coord.dtype.kind in "fiu" and isinstance(v, int | float):
            i = int(np.nanargmin(np.abs(coord.astype(float) - float(v))))
        else:
            hits = np.flatnonzero(coord.astype(str) == str(v))
            i = int(hits[0]) if hits.size else 0
        at[str(dim)] = coord[i].item()
        da = da.isel({dim: i})
    return da, at


def switch_points(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Where the best action changes along each swept input (the others at the study's
    values): ``[{"input", "at", "best" (per value), "changes": [(below, above, from, to)]}]``,
    and each action's share of the whole grid under ``"share"`` in the first entry."""
    actions = [str(a) for a in ds["action"].values]
    best = ds["best_action"].load()
    out: list[dict[str, Any]] = []
    counts = np.bincount(best.values.ravel().astype(int), minlength=len(actions))
    share = {a: float(c) / max(int(best.size), 1) for a, c in zip(actions, counts, strict=True)}
    for dim in best.dims:
        line, at = at_study(ds, best, (str(dim),))
        vals = ds[dim].values
        names = [actions[int(i)] for i in line.values]
        changes = [
            (vals[i].item(), vals[i + 1].item(), names[i], names[i + 1])
            for i in range(len(names) - 1)
            if names[i] != names[i + 1]
        ]
        out.append({"input": str(dim), "at": at, "best": names, "changes": changes})
    if out:
        out[0]["share"] = share
    return out
