"""What-if analysis: a study's belief and decision over grids of inputs (docs/model.md 5).

* :func:`sweep`: any number of inputs varied over a grid, one dimension per input, chunked
  and computed with Dask (in process, on a loopback local cluster, or on a remote one),
  resumable from a Zarr store;
* :func:`evaluate_points`: the same variables at arbitrary points;
* :func:`tornado` (one at a time) and :func:`sobol` (global, SALib) sensitivity;
* :func:`rank_policies`: the multi-period policies ranked on common random numbers.

Dask, distributed, Zarr and SALib are imported by the functions that use them, never by
``import secdilemma``.
"""

from __future__ import annotations

from secdilemma.whatif.errors import ChunkError, ClusterError
from secdilemma.whatif.inputs import POLICY_NAMES, SweepBase, parse_vary
from secdilemma.whatif.policies import OpenWith, rank_policies
from secdilemma.whatif.sensitivity import METRICS, metric_values, sobol, tornado
from secdilemma.whatif.summary import switch_points
from secdilemma.whatif.sweep import DEFAULT_N_SIMS, evaluate_points, plan_sweep, run_sweep, sweep

__all__ = [
    "DEFAULT_N_SIMS",
    "METRICS",
    "POLICY_NAMES",
    "ChunkError",
    "ClusterError",
    "OpenWith",
    "SweepBase",
    "evaluate_points",
    "metric_values",
    "parse_vary",
    "plan_sweep",
    "rank_policies",
    "run_sweep",
    "sobol",
    "sweep",
    "switch_points",
    "tornado",
]
