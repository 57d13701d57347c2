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

__all__ = ["MAX_ABS_MOVE", "TRANSFORMS", "to_moves"]

#: Allowed transforms and what they mean.
TRANSFORMS: dict[str, str] = {
    "log_diff": "x, y are natural logs of the levels; dx, u are first differences of the logs",
    "diff": "x, y are the levels; dx, u are first differences of the levels",
    "pct": "x, y are the levels; dx, u are percentage growth rates, 100*(v_t/v_{t-1} - 1)",
}


#: Largest magnitude allowed for a level or a change after the transform: beyond it the
#: model's squared residuals and signal logits overflow float64 downstream.
MAX_ABS_MOVE = 1e100


def _years_text(years: list[int]) -> str:
    return ", ".join(str(y) for y in years[:10]) + (" …" if len(years) > 10 else "")


def _check_variable(ds: xr.Dataset, variable: str, transform: str) -> xr.DataArray:
    """The (period, actor) DataArray of ``variable``, checked, as (period, actor)."""
    if transform not in TRANSFORMS:
        raise DataError(f"argument 'transform': {transform!r} is not one of {list(TRANSFORMS)}.")
    if not isinstance(variable, str) or variable not in ds.data_vars:
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
    if da.dtype.kind not in "iuf":
        raise DataError(
            f"variable {variable!r}: dtype {da.dtype} is not numeric; transform {transform!r} "
            f"needs numeric levels."
        )
    actors = [str(a) for a in np.asarray(ds["actor"].values).tolist()]
    if sorted(actors) != ["observer", "rival"]:
        raise DataError(
            f"coordinate 'actor': labels {actors} must be 'observer' and 'rival', once each "
            f"(variable {variable!r}). Relabel the actors."
        )
    return da.transpose("period", "actor")


def _check_periods(ds: xr.Dataset) -> np.ndarray:
    periods = np.asarray(ds["period"].values)
    if periods.size == 0:
        raise DataError("coordinate 'period': the Dataset has no periods; select a range.")
    if periods.dtype.kind not in "iuf" or not np.all(np.isfinite(periods)):
        raise DataError(
            f"coordinate 'period': periods must be integer years (dtype {periods.dtype}, "
            f"first {periods.tolist()[:3]}); convert the coordinate to int."
        )
    if len(periods) > 1 and not np.all(np.diff(periods) == 1):
        raise DataError(
            "coordinate 'period': periods must be consecutive increasing years (found "
            f"{periods.tolist()[:12]}…); select a contiguous range."
        )
    return periods


def _check_levels(vals: np.ndarray, periods: np.ndarray, where: str, transform: str) -> None:
    inf = [int(p) for p, v in zip(periods, vals, strict=True) if np.isinf(v)]
    if inf:
        raise DataError(
            f"{where}: infinite value in period(s) {_years_text(inf)}; transform "
            f"{transform!r} needs finite levels (NaN marks a missing value)."
        )
    if transform in ("log_diff", "pct"):
        bad = [int(p) for p, v in zip(periods, vals, strict=True) if not np.isnan(v) and v <= 0]
        if bad:
            raise DataError(
                f"{where}: zero or negative value in period(s) {_years_text(bad)}; transform "
                f"{transform!r} needs positive levels. Use transform='diff' or another range."
            )


def _transform(vals: np.ndarray, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """(level, change) of one actor's series; the first change is NaN."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if transform == "log_diff":
            lvl = np.log(vals)
            return lvl, np.concatenate([[np.nan], np.diff(lvl)])
        if transform == "diff":
            return vals, np.concatenate([[np.nan], np.diff(vals)])
        return vals, np.concatenate([[np.nan], 100.0 * (vals[1:] / vals[:-1] - 1.0)])


def _check_moves(
    lvl: np.ndarray, chg: np.ndarray, periods: np.ndarray, where: str, transform: str
) -> None:
    """Every present level and change must be finite and within :data:`MAX_ABS_MOVE`."""
    for name, arr in (("level", lvl), ("change", chg)):
        with np.errstate(invalid="ignore"):
            big = ~np.isnan(arr) & ~(np.abs(arr) <= MAX_ABS_MOVE)
        if np.any(big):
            bad = [int(p) for p in periods[big]]
            raise DataError(
                f"{where}: transform {transform!r} gives a {name} beyond ±{MAX_ABS_MOVE:g} "
                f"(or infinite) in period(s) {_years_text(bad)}; the levels span too many "
                f"orders of magnitude. Rescale the units or use transform='log_diff'."
            )


def _result(
    out: dict[str, np.ndarray],
    periods: np.ndarray,
    ds: xr.Dataset,
    units: str,
    variable: str,
    transform: str,
) -> xr.Dataset:
    lvl_units = f"log({units})" if transform == "log_diff" else units
    chg_units = {"log_diff": "log points", "diff": units, "pct": "percent"}[transform]
    long = {
        "x": ("rival level", lvl_units),
        "dx": ("rival change", chg_units),
        "y": ("observer level", lvl_units),
        "u": ("observer change", chg_units),
    }
    return xr.Dataset(
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
        Unknown or non-numeric variable or unknown transform; no periods, periods that
        are not consecutive numeric years, or actor labels other than ``observer`` and
        ``rival`` once each; infinite levels; zero or negative spending where a log or a
        growth rate is taken; a level or change beyond ±1e100 after the transform
        (naming the variable, actor, transform and periods).

    Examples
    --------
    >>> from secdilemma.data import make_dyad
    >>> ds = make_dyad("USA", "RUS", start=1985, end=1990, variable="milex")
    >>> mv = to_moves(ds, transform="diff")
    >>> float(mv["dx"].sel(period=1986)) == float(ds["milex"].sel(period=1986, actor="rival")
    ...     - ds["milex"].sel(period=1985, actor="rival"))
    True
    """
    da = _check_variable(ds, variable, transform)
    periods = _check_periods(ds)
    codes = (
        {str(a): str(c) for a, c in zip(ds["actor"].values, ds["actor_code"].values, strict=True)}
        if "actor_code" in ds.coords
        else {"observer": "observer", "rival": "rival"}
    )
    levels = {role: da.sel(actor=role).values.astype(np.float64) for role in ("observer", "rival")}
    where = {r: f"variable {variable!r}, actor {r} ({codes.get(r, r)})" for r in levels}
    for role, vals in levels.items():
        _check_levels(vals, periods, where[role], transform)
    out: dict[str, np.ndarray] = {}
    for role, (lvl_name, chg_name) in (("rival", ("x", "dx")), ("observer", ("y", "u"))):
        lvl, chg = _transform(levels[role], transform)
        _check_moves(lvl, chg, periods, where[role], transform)
        out[lvl_name], out[chg_name] = lvl, chg
    units = str(da.attrs.get("units", ""))
    return _result(out, periods, ds, units, variable, transform)
