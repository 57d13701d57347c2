"""``omega`` and ``delta`` per period as sweep values: ``sweep(study, omega=[{1905: 0.3,
1910: 0.7}, 0.5])``.

A value of ``omega`` or ``delta`` may be a number (constant over the series, as before) or a
``{year: value}`` step function, the spec's world form (``[world] omega = {1905 = 0.3, 1910 =
0.7}``): the value of the latest year at or before each period, the earliest one's before
it. An axis holding any step function is labelled by text (``"1905:0.3,1910:0.7"``, ``"0.5"``),
and each cell equals ``Study(case, omega={1905: 0.3, 1910: 0.7})``: the belief reads the
series, the decision looks ahead in the last period's world (as :meth:`Study.decide` does),
and the curated channels' intercepts are calibrated on the series.

A block of cells with such an axis is evaluated once per distinct (``omega``, ``delta``)
label pair (:func:`split_world`), each on the study resolved with that world
(:func:`with_world`); numeric axes take the usual path.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model import SignalParams, threat_multiplier
from secdilemma.whatif.calibrate import calibrated_intercepts
from secdilemma.whatif.cells import Cells, group
from secdilemma.whatif.inputs import Input, SweepBase

__all__ = ["WORLD", "is_series_axis", "split_world", "with_world", "world_axis"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: The inputs that may take a value per period.
WORLD = ("omega", "delta")


def is_series_axis(values: Any) -> bool:
    """Whether swept values include a ``{year: value}`` mapping (a single one or in a list)."""
    if isinstance(values, Mapping):
        return True
    if isinstance(values, (list, tuple)):
        return any(isinstance(v, Mapping) for v in values)
    return False


def world_axis(base: SweepBase, inp: Input, values: Any) -> tuple[npt.NDArray[np.str_], Input]:
    """The labels of an ``omega``/``delta`` axis with step functions, checked, and the input
    as a choice among them.

    Raises :class:`ParameterError` naming the input and the bad year or value: a year that is
    not an integer, a step after the study's last period (it would change nothing in the
    window), an empty mapping, a value outside ``[0, 1]``, a value listed twice.
    """
    seq = [values] if isinstance(values, Mapping) else list(values)
    if not seq:
        raise ParameterError(f"whatif: {inp.name!r} has no values; give at least one.")
    labels = [_label(base, inp, v) for v in seq]
    for lab in labels:
        if labels.count(lab) > 1:
            raise ParameterError(f"whatif: {inp.name} lists {lab!r} more than once.")
    arr = np.asarray(labels, dtype=str)
    return arr, dataclasses.replace(inp, kind="choice", choices=tuple(labels))


def _number(inp: Input, v: Any, where: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(v, bool) or not inp.inside(x):
        raise ParameterError(
            f"whatif: {inp.name}{where}={v!r} is outside its domain; give {inp.domain()}."
        )
    return x


def _label(base: SweepBase, inp: Input, v: Any) -> str:
    """``"0.5"`` or ``"1905:0.3,1910:0.7"`` (years in order), after the checks."""
    if not isinstance(v, Mapping):
        return format(_number(inp, v, ""), ".15g")
    if not v:
        raise ParameterError(
            f"whatif: {inp.name}={{}} has no years; give {{year: value, ...}} or a number."
        )
    periods = _periods(base)
    steps = []
    for year, val in v.items():
        if isinstance(year, bool) or not isinstance(year, int | np.integer):
            raise ParameterError(
                f"whatif: {inp.name}: the step key {year!r} is not a year; period keys must "
                f"be integers (years), e.g. {{{int(periods[0])}: 0.3}}."
            )
        if year > periods[-1]:
            raise ParameterError(
                f"whatif: {inp.name}: the step at {year} comes after the study's last period "
                f"{int(periods[-1])} (window {int(periods[0])}-{int(periods[-1])}), so it "
                "would change nothing; give years within the window."
            )
        steps.append((int(year), _number(inp, val, f"[{year}]")))
    return ",".join(f"{y}:{format(x, '.15g')}" for y, x in sorted(steps))


def _periods(base: SweepBase) -> npt.NDArray[np.int64]:
    if base.periods is None:
        raise ParameterError(
            "whatif: this study carries no period labels, so omega/delta cannot be given per "
            "period; give numbers."
        )
    return np.asarray(base.periods, dtype=np.int64)


def series(base: SweepBase, label: str) -> float | FloatArray:
    """The value of a label: a number, or the step function over the study's periods (a
    number where it is constant over them, as ``Study`` resolves its world)."""
    if ":" not in label:
        return float(label)
    steps = sorted((int(y), float(x)) for y, x in (s.split(":") for s in label.split(",")))
    per = _periods(base)
    out = np.full(per.shape, steps[0][1])  # the spec's World.series
    for year, val in steps:
        out[per >= year] = val
    return float(out[0]) if np.all(out == out[0]) else out


def with_world(base: SweepBase, omega: float | FloatArray, delta: float | FloatArray) -> SweepBase:
    """The study resolved with this world: its parameters' ``omega``/``delta``, the last
    period's values for the decision, the calibrated channels' intercepts recalibrated on it
    (with the study's prior)."""
    params = base.params.replace(omega=omega, delta=delta)
    sp = params.signals
    cal = [j for j, c in enumerate(base.calibrated) if c]
    if sp is not None and base.signals is not None and cal:
        t = base.u.size
        h = np.broadcast_to(np.asarray(threat_multiplier(omega, delta), dtype=float), (t,))
        thr = np.full(t, np.nan)
        thr[1:] = h[:-1] * np.maximum(base.u[:-1], 0.0)  # the study's lagged(h * u⁺)
        thr[1:][np.isnan(base.u[:-1])] = np.nan
        eta0 = np.array(sp.eta0, dtype=float)
        for j in cal:
            eta0[j] = calibrated_intercepts(
                base.signals[:, j], thr, float(sp.eta_g[j]), float(sp.eta_f[j]), base.types,
                base.prior_vector,
            )[0]  # fmt: skip
        params = params.replace(signals=SignalParams(
            sp.names, eta0=eta0, eta_g=sp.eta_g, eta_f=sp.eta_f, posture=sp.posture
        ))  # fmt: skip
    last = {k: float(np.atleast_1d(v)[-1]) for k, v in (("omega", omega), ("delta", delta))}
    return dataclasses.replace(
        base, params=params, omega_last=last["omega"], delta_last=last["delta"],
        intercepts=base.intercepts,
    )  # fmt: skip


def split_world(base: SweepBase, cells: Cells) -> Iterator[tuple[IntArray, SweepBase, Cells]]:
    """The block's cells per distinct labelled world: ``(cell indices, base with that world,
    those cells without the labelled columns)``. Nothing to split (no labelled column):
    nothing yielded."""
    labelled = [w for w in WORLD if cells.has(w) and cells.columns[w].dtype.kind in "USO"]
    if not labelled:
        return
    swept = [w for w in WORLD if cells.has(w)]  # (a numeric world axis splits as well)
    ids, first = group([cells.columns[w] for w in swept], cells.n)
    for g, i in enumerate(first):
        idx = np.flatnonzero(ids == g)
        world = {
            w: series(base, str(cells.columns[w][i])) if w in labelled
            else (float(cells.columns[w][i]) if cells.has(w) else getattr(base.params, w))
            for w in WORLD
        }  # fmt: skip
        sub = Cells(int(idx.size), {k: v[idx] for k, v in cells.columns.items() if k not in WORLD})
        yield idx, with_world(base, world["omega"], world["delta"]), sub
