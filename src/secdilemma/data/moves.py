"""Turn a dyad Dataset into per-period moves: rival level and change, observer level and change.

Examples
--------
>>> from secdilemma.data import load_case, to_moves
>>> mv = to_moves(load_case("us_ussr"))
>>> sorted(mv.data_vars)
['dx', 'u', 'x', 'y']
>>> mv.attrs["transform"]
'log_diff'
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from secdilemma.errors import DataError

__all__ = ["TRANSFORMS", "to_moves"]

#: Allowed transforms and what they mean.
TRANSFORMS: dict[str, str] = {
    "log_diff": "x, y are natural logs of the levels; dx, u are first differences of the logs",
    "diff": "x, y are the levels; dx, u are first differences of the levels",
    "pct": "x, y are the levels; dx, u are percentage growth rates, 100*(v_t/v_{t-1} - 1)",
}


def _years_text(years: list[int]) -> str:
    return ", ".join(str(y) for y in years[:10]) + (" …" if len(years) > 10 else "")


def to_moves(
    ds: xr.Dataset,
    *,
    variable: str = "milex",
    transform: Literal["log_diff", "diff", "pct"] = "log_diff",
) -> xr.Dataset:
    """Rival level ``x`` and change ``dx``, observer level ``y`` and change ``u`` over ``period``.

    Parameters
    ----------
    ds
        A dyad Dataset (:func:`load_case` or :func:`make_dyad`).
    variable
        A (period, actor) variable of ``ds``.
    transform
        ``"log_diff"`` (Δ log), ``"diff"`` (raw difference) or ``"pct"`` (percentage
        growth). The first period's changes are NaN; a missing level makes the adjacent
        changes NaN.

    Returns
    -------
    xarray.Dataset
        ``x``, ``dx``, ``u``, ``y`` over ``period``; attrs ``transform``, ``variable``,
        ``transform_note``, ``units``, ``case``, ``observer``, ``rival``.

    Raises
    ------
    DataError
        Unknown variable or transform, periods that are not consecutive years, or zero or
        negative spending where a log or a growth rate is taken (naming the actor and
        periods).

    Examples
    --------
    >>> from secdilemma.data import make_dyad
    >>> ds = make_dyad("USA", "RUS", start=1985, end=1990, variable="milex")
    >>> mv = to_moves(ds, transform="diff")
    >>> float(mv["dx"].sel(period=1986)) == float(ds["milex"].sel(period=1986, actor="rival")
    ...     - ds["milex"].sel(period=1985, actor="rival"))
    True
    """
    if transform not in TRANSFORMS:
        raise DataError(f"argument 'transform': {transform!r} is not one of {list(TRANSFORMS)}.")
    if variable not in ds.data_vars:
        cands = [v for v in ds.data_vars if ds[v].dims == ("period", "actor")]
        raise DataError(
            f"argument 'variable': {variable!r} is not in the Dataset; (period, actor) "
            f"variables are {cands}."
        )
    da = ds[variable]
    if set(da.dims) != {"period", "actor"}:
        raise DataError(
            f"argument 'variable': {variable!r} has dims {da.dims}, expected (period, actor)."
        )
    da = da.transpose("period", "actor")
    periods = np.asarray(ds["period"].values)
    if len(periods) > 1 and not np.all(np.diff(periods) == 1):
        raise DataError(
            "coordinate 'period': periods must be consecutive increasing years (found "
            f"{periods.tolist()[:12]}…); select a contiguous range."
        )
    levels = {role: da.sel(actor=role).values.astype(np.float64) for role in ("observer", "rival")}
    codes = (
        {str(a): str(c) for a, c in zip(ds["actor"].values, ds["actor_code"].values, strict=True)}
        if "actor_code" in ds.coords
        else {"observer": "observer", "rival": "rival"}
    )
    if transform in ("log_diff", "pct"):
        for role, vals in levels.items():
            bad = [int(p) for p, v in zip(periods, vals, strict=True) if not np.isnan(v) and v <= 0]
            if bad:
                raise DataError(
                    f"variable {variable!r}, actor {role} ({codes.get(role, role)}): zero or "
                    f"negative value in period(s) {_years_text(bad)}; transform "
                    f"{transform!r} needs positive levels. Use transform='diff' or another "
                    f"range."
                )
    out: dict[str, np.ndarray] = {}
    for role, (lvl_name, chg_name) in (("rival", ("x", "dx")), ("observer", ("y", "u"))):
        vals = levels[role]
        if transform == "log_diff":
            lvl = np.log(vals)
            chg = np.concatenate([[np.nan], np.diff(lvl)])
        elif transform == "diff":
            lvl = vals
            chg = np.concatenate([[np.nan], np.diff(vals)])
        else:
            lvl = vals
            chg = np.concatenate([[np.nan], 100.0 * (vals[1:] / vals[:-1] - 1.0)])
        out[lvl_name], out[chg_name] = lvl, chg
    units = str(da.attrs.get("units", ""))
    lvl_units = f"log({units})" if transform == "log_diff" else units
    chg_units = {"log_diff": "log points", "diff": units, "pct": "percent"}[transform]
    long = {
        "x": ("rival level", lvl_units),
        "dx": ("rival change", chg_units),
        "y": ("observer level", lvl_units),
        "u": ("observer change", chg_units),
    }
    result = xr.Dataset(
        {
            name: xr.Variable(
                ("period",), out[name], attrs={"long_name": long[name][0], "units": long[name][1]}
            )
            for name in ("x", "dx", "u", "y")
        },
        coords={"period": periods},
        attrs={
            "transform": transform,
            "transform_note": TRANSFORMS[transform],
            "variable": variable,
            "units": units,
            "case": str(ds.attrs.get("case", "")),
            "observer": str(ds.attrs.get("observer", "")),
            "rival": str(ds.attrs.get("rival", "")),
        },
    )
    return result
