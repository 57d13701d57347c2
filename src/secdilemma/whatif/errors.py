"""Typed errors of what-if sweeps (subclasses of :class:`~secdilemma.errors.SecdilemmaError`).

Bad inputs raise :class:`~secdilemma.errors.ParameterError` naming the input; the two kinds
here are about running a sweep: a chunk whose computation failed (the message names the
first failing cell's inputs) and a Dask cluster that cannot be reached.
"""

from __future__ import annotations

from secdilemma.errors import SecdilemmaError

__all__ = ["ChunkError", "ClusterError"]


class ChunkError(SecdilemmaError, RuntimeError):
    """A chunk of a sweep failed; the message names the cell's inputs and the cause."""


class ClusterError(SecdilemmaError, ConnectionError):
    """The Dask scheduler did not answer (address, TLS settings, time waited)."""
