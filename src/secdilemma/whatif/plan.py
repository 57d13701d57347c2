"""A sweep's plan: the axes, the chunks (boxes of the grid), and the labelled result.

The grid is the outer product of the swept inputs (``policy`` apart: every policy is
evaluated in every cell). It is cut into boxes, one per chunk: a box spans a block of
consecutive values along each axis, and its cells are evaluated together
(:func:`~secdilemma.whatif.evaluate.evaluate`). By default the inner axes stay whole and the
outer ones are cut, so that a box holds at most ``chunk_cells`` cells; the Zarr store of a
large sweep is chunked the same way, so each box writes its own chunk files.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import ParameterError
from secdilemma.model.simulate import MAX_ARRAY_BYTES
from secdilemma.whatif.cells import Cells
from secdilemma.whatif.evaluate import (
    OPT_IN,
    VARIABLE_DOCS,
    default_variables,
    evaluate_located,
    variables,
)
from secdilemma.whatif.inputs import Input, SweepBase

__all__ = ["DEFAULT_CHUNK_CELLS", "Axis", "SweepPlan"]

#: Cells per chunk unless told: about 10-50 MB of intermediate arrays per chunk.
DEFAULT_CHUNK_CELLS = 2**15
#: Working memory of a cell while its chunk is evaluated, besides its results (measured peaks:
#: about 0.9 kB in payoff-table mode, 4.8 kB with simulated tables and EVSI; rounded up).
WORK_BYTES_PER_CELL = 8192


@dataclass(frozen=True)
class Axis:
    """One swept input: its name (the dimension), its values (the coordinate) and domain."""

    name: str
    values: npt.NDArray[Any]
    input: Input


@dataclass(frozen=True)
class SweepPlan:
    """Everything a chunk needs: the base study, the axes, the chunking; picklable."""

    base: SweepBase
    axes: tuple[Axis, ...]  # the grid's axes, in the order given (no ``policy``)
    policies: tuple[str, ...]  # the ``policy`` axis (empty when not swept)
    chunks: tuple[int, ...]  # per axis
    keep: tuple[str, ...] = ()  # the variables to return (all when empty)

    @classmethod
    def build(
        cls,
        base: SweepBase,
        axes: list[Axis],
        chunks: int | Mapping[str, int] | None,
        keep: Sequence[str] | None = None,
    ) -> SweepPlan:
        """Split off the policy axis, choose the chunking, check the variables to keep."""
        policies: tuple[str, ...] = ()
        grid = []
        for ax in axes:
            if ax.name == "policy":
                policies = tuple(str(v) for v in ax.values)
            else:
                grid.append(ax)
        every = variables(base, policies or None)
        if isinstance(keep, str):
            keep = [keep]
        wanted = default_variables(base, policies or None) if keep is None else tuple(keep)
        unknown = [v for v in wanted if v not in every]
        if unknown or not wanted:
            opt = [k for k in OPT_IN if k in every]
            near = [m for v in unknown for m in difflib.get_close_matches(str(v), every, n=1)]
            raise ParameterError(
                f"whatif: `variables` must name some of {list(every)}"
                + (f" (opt-in, not computed unless named: {opt})" if opt else "")
                + f"; got {list(wanted)}."
                + (f" Did you mean {', '.join(map(repr, near))}?" if near else "")
                + _no_channels(base, unknown)
            )
        chunking = _chunking(grid, chunks, max(len(policies), 1))
        plan = cls(base, tuple(grid), policies, chunking, wanted)
        plan.check_chunk_memory()
        return plan

    def check_chunk_memory(self) -> None:
        """Refuse chunks whose working memory would pass :data:`MAX_ARRAY_BYTES` (2 GiB):
        about :data:`WORK_BYTES_PER_CELL` a cell besides its results."""
        cells = math.prod(self.chunks) * max(len(self.policies), 1)
        per_cell = WORK_BYTES_PER_CELL + self.bytes_per_cell()
        if cells * per_cell <= MAX_ARRAY_BYTES:
            return
        most = MAX_ARRAY_BYTES // per_cell
        raise ParameterError(
            f"whatif: chunks of {cells:,} cells would need about "
            f"{cells * per_cell / 1024**3:.1f} GiB of working memory each (about "
            f"{per_cell:,} bytes a cell), more than the {MAX_ARRAY_BYTES / 1024**3:.0f} GiB "
            f"allowed; give chunks of at most {most:,} cells (default {DEFAULT_CHUNK_CELLS:,}). "
            "More cells at once go faster only on more workers: scheduler=... or workers=N."
        )

    # -- sizes -----------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[str, ...]:
        """The grid's dimensions (the swept inputs but ``policy``)."""
        return tuple(a.name for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape."""
        return tuple(a.values.size for a in self.axes)

    @property
    def n_cells(self) -> int:
        """Cells in the grid."""
        return math.prod(self.shape)

    @property
    def box_grid(self) -> tuple[int, ...]:
        """Boxes along each axis."""
        return tuple(-(-s // c) for s, c in zip(self.shape, self.chunks, strict=True))

    @property
    def n_boxes(self) -> int:
        """Chunks in the sweep."""
        return math.prod(self.box_grid)

    def box(self, i: int) -> tuple[slice, ...]:
        """The slices of box ``i`` (C order over the box grid)."""
        idx = np.unravel_index(i, self.box_grid) if self.axes else ()
        return tuple(
            slice(int(j) * c, min((int(j) + 1) * c, s))
            for j, c, s in zip(idx, self.chunks, self.shape, strict=True)
        )

    def box_cells(self, i: int) -> Cells:
        """The cells of box ``i``, C order (the last axis fastest)."""
        sl = self.box(i)
        vals = [a.values[s] for a, s in zip(self.axes, sl, strict=True)]
        if not vals:
            return Cells(1, {})
        mesh = np.meshgrid(*vals, indexing="ij")
        cols = {a.name: m.ravel() for a, m in zip(self.axes, mesh, strict=True)}
        return Cells(int(mesh[0].size), cols)

    # -- results ---------------------------------------------------------------------------
    def variables(self) -> dict[str, tuple[Any, ...]]:
        """``{name: (extra dims, dtype)}`` of the result."""
        every = variables(self.base, self.policies or None)
        return {k: every[k] for k in self.keep} if self.keep else every

    def extra_sizes(self) -> dict[str, int]:
        """Sizes of the result's dims besides the grid's."""
        return {
            "action": len(self.base.actions),
            "rival_type": self.base.types.n_types,
            "policy": len(self.policies),
            "signal": len(self.base.channels),
        }

    def bytes_per_cell(self) -> int:
        """Bytes of results per grid cell."""
        sizes = self.extra_sizes()
        return sum(
            np.dtype(dt).itemsize * math.prod(sizes[d] for d in extra)
            for extra, dt in self.variables().values()
        )

    def compute(self, i: int) -> dict[str, npt.NDArray[Any]]:
        """Evaluate box ``i``; arrays shaped ``box shape + extra dims``."""
        sl = self.box(i)
        cells = self.box_cells(i)
        ranges = {
            a.name: (a.values[s][0].item(), a.values[s][-1].item())
            for a, s in zip(self.axes, sl, strict=True)
        }
        wanted = self.variables()
        opt_in = tuple(k for k in wanted if k in OPT_IN)
        res = evaluate_located(
            self.base, cells, self.policies or None, where=f" in {ranges}", opt_in=opt_in
        )
        shape = tuple(s.stop - s.start for s in sl)
        return {k: v.reshape(*shape, *v.shape[1:]) for k, v in res.items() if k in wanted}

    def coords(self) -> dict[str, Any]:
        """The result's coordinates."""
        out: dict[str, Any] = {a.name: a.values for a in self.axes}
        out["action"] = list(self.base.actions)
        out["rival_type"] = list(self.base.types.names)
        if self.policies:
            out["policy"] = list(self.policies)
        if any("signal" in extra for extra, _ in self.variables().values()):
            out["signal"] = list(self.base.channels)
        return out

    def definition(self) -> dict[str, Any]:
        """The sweep as plain data: axes, fixed inputs, chunks, study setting, version (and
        the variables, where they are not the default ones)."""
        out = {
            "axes": {a.name: a.values.tolist() for a in self.axes},
            "policy": list(self.policies),
            "fixed": self.base.describe(),
            "study": self.base.setting_attrs.get("study_setting", ""),
            "chunks": list(self.chunks),
            "version": __version__,
        }
        if set(self.keep) != set(default_variables(self.base, self.policies or None)):
            out["variables"] = list(self.keep)  # (a store resumes only the same variables)
        return out

    def key(self) -> str:
        """A short hash of :meth:`definition` (names a resumable store)."""
        text = json.dumps(self.definition(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def attrs(self) -> dict[str, Any]:
        """The result's attrs: the study's setting, the sweep definition, the fixed inputs."""
        fixed = {k: v for k, v in self.base.describe().items()}
        swept = ", ".join(f"{a.name} {_span(a.values)}" for a in self.axes)
        if self.policies:
            swept += (", " if swept else "") + f"policy ({len(self.policies)})"
        return {
            **self.base.attrs(),
            "whatif_definition": json.dumps(self.definition(), default=str),
            "whatif_key": self.key(),
            "whatif_swept": swept,
            "whatif_fixed": json.dumps(fixed, default=str),
            "whatif_engine": "exact",
            "whatif_mode": fixed["mode"],
            "whatif_n_sims": self.base.n_sims,
            "secdilemma_version": __version__,
        }

    def template(self) -> xr.Dataset:
        """The result's skeleton (coords, dims, attrs; dask zeros chunked as the boxes)."""
        import dask.array as da  # here: `import secdilemma` must not import dask

        sizes = {**dict(zip(self.dims, self.shape, strict=True)), **self.extra_sizes()}
        chunk_of = dict(zip(self.dims, self.chunks, strict=True))
        data = {}
        for name, (extra, dt) in self.variables().items():
            dims = (*self.dims, *extra)
            shape = tuple(sizes[d] for d in dims)
            chunks = tuple(chunk_of.get(d, sizes[d]) for d in dims)
            data[name] = (dims, da.zeros(shape, chunks=chunks, dtype=dt))
        ds = xr.Dataset(data, coords=self.coords(), attrs=self.attrs())
        return self.label(ds)

    def label(self, ds: xr.Dataset) -> xr.Dataset:
        """Variable attrs (long names; the flag meanings of the action indices)."""
        for name in ds.data_vars:
            ds[name].attrs["long_name"] = VARIABLE_DOCS.get(str(name), str(name))
        flags = " ".join(self.base.actions)
        for name in ("best_action", "upper_action"):
            if name in ds:
                ds[name].attrs["flag_values"] = list(range(len(self.base.actions)))
                ds[name].attrs["flag_meanings"] = flags
        return ds

    def boxes(self) -> Iterator[int]:
        """Box indices in order."""
        return iter(range(self.n_boxes))


def _span(values: npt.NDArray[Any]) -> str:
    if values.dtype.kind in "fiu" and values.size > 2:
        return f"{values.min():g}..{values.max():g} ({values.size})"
    return "[" + ", ".join(str(v) for v in values.tolist()) + "]"


def _chunking(
    axes: list[Axis], chunks: int | Mapping[str, int] | None, per_cell: int
) -> tuple[int, ...]:
    """Chunk sizes per axis: the inner axes whole, the outer ones cut."""
    shape = [a.values.size for a in axes]
    if isinstance(chunks, Mapping):
        names = [a.name for a in axes]
        unknown = [k for k in chunks if k not in names]
        if unknown:
            raise ParameterError(f"whatif: `chunks` names {unknown}, not swept inputs {names}.")
        out = []
        for a, s in zip(axes, shape, strict=True):
            c = chunks.get(a.name, s)
            if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
                raise ParameterError(f"whatif: `chunks[{a.name!r}]` must be an integer >= 1.")
            out.append(min(int(c), s))
        return tuple(out)
    target = DEFAULT_CHUNK_CELLS if chunks is None else chunks
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 1:
        raise ParameterError(f"whatif: `chunks` must be cells per chunk (>= 1); got {chunks!r}.")
    target = max(1, int(target) // per_cell)
    out_rev: list[int] = []
    inner = 1
    for s in reversed(shape):
        c = max(1, min(s, target // inner))
        out_rev.append(c)
        inner *= c
    return tuple(reversed(out_rev))


def _no_channels(base: SweepBase, unknown: Sequence[str]) -> str:
    """Why ``evsi`` is not available: the study's exact observer reads no channel."""
    if "evsi" in unknown and not base.channels:
        return (
            " `evsi` needs signal channels the study's exact observer reads (none here: "
            "params='default' has no signal coefficients; use params='reference')."
        )
    return ""
