"""What one fit is about: the spec, its data as arrays, the resolved priors and the types.

:class:`FitProblem` is built once per :class:`~secdilemma.engines.pymc.PerceptionModel`
(on first use, since it reads the data) and is what the graph builder, the per-draw type
posteriors and the predictive checks read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from secdilemma.engines.pymc.arrays import FitArrays, FloatArray, as_dyads
from secdilemma.engines.pymc.priors import SignalPrior, resolve_priors, resolve_signal_priors
from secdilemma.model import transition_matrix
from secdilemma.model.types import TypeSpace
from secdilemma.spec.model_spec import ModelSpec, PriorSpec, spec_data

__all__ = ["FitProblem"]


@dataclass(frozen=True, eq=False)
class FitProblem:
    """A spec with its data, priors and types resolved.

    Attributes
    ----------
    spec
        The model spec.
    arrays
        The data as arrays (:class:`~.arrays.FitArrays`).
    priors
        ``{parameter: (prior, origin)}`` (see :func:`~.priors.resolve_priors`).
    types
        The rival type space.
    """

    spec: ModelSpec
    arrays: FitArrays
    priors: dict[str, tuple[PriorSpec, str]]
    types: TypeSpace

    signal_priors: dict[str, SignalPrior] = field(default_factory=dict)
    reference: Path | None = None

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, data: xr.Dataset | None = None, *, reference: Path | None = None
    ) -> FitProblem:
        """The problem of ``spec`` on ``data`` (by default the data the spec names);
        ``reference`` is the reference file ``use_reference`` reads (default
        ``models/reference_params.toml``)."""
        moves = data if data is not None else spec_data(spec)[1]
        sig = resolve_signal_priors(spec, reference=reference)
        p = sig["eta_f"]
        eta_f_zero = p.fixed & (p.value == 0.0)  # per channel
        arrays = FitArrays(as_dyads(moves, spec.data.case or spec.name), spec, eta_f_zero)
        types: TypeSpace = spec.types.type_space()
        priors = resolve_priors(spec, arrays.dx, reference=reference)
        return cls(spec, arrays, priors, types, sig, reference)

    @property
    def type_prior(self) -> FloatArray:
        """The observer's prior over the types (uniform when the spec gives none)."""
        ts = self.types
        p = self.spec.observer.prior
        if p is None:
            return np.full(ts.n_types, 1.0 / ts.n_types)
        return np.array([float(p.get(n, 0.0)) for n in ts.names])

    @property
    def log_type_prior(self) -> FloatArray:
        """``log`` of :attr:`type_prior`, floored at ``log(1e-300)``."""
        return np.log(np.maximum(self.type_prior, 1e-300))

    @property
    def log_type_prior_normalised(self) -> FloatArray:
        """:attr:`log_type_prior` normalised to sum to 1 (as the exact filter wants it)."""
        lp = self.log_type_prior
        return np.asarray(lp - logsumexp(lp, axis=-1))

    @property
    def transition(self) -> FloatArray | None:
        """The switching type's transition matrix (the exact observer's), or ``None``."""
        persistence = self.spec.types.persistence
        if persistence is None:
            return None
        return transition_matrix(self.types.n_types, persistence=persistence)

    @property
    def log_transition(self) -> FloatArray:
        """``log`` of :attr:`transition` (``-inf`` where it is 0); a switching type only."""
        trans = self.transition
        assert trans is not None
        with np.errstate(divide="ignore"):
            return np.log(trans)

    @property
    def nu(self) -> float | None:
        """Student-t degrees of freedom, ``None`` for Normal noise."""
        nu_p = self.priors["nu"][0]
        return None if nu_p.dist == "gaussian" else float(nu_p.args["value"])

    @property
    def hierarchical(self) -> tuple[str, ...]:
        """The parameters that vary by dyad (none with one dyad; a fixed one never does)."""
        if self.arrays.shape[0] < 2:
            return ()
        return tuple(h for h in self.spec.priors.hierarchical if not self.priors[h][0].is_fixed)

    def structure_key(self) -> str:
        """What a compiled model depends on beyond its ``pm.Data`` values (JSON)."""
        return json.dumps(
            {
                "types": self.types.to_dict(),
                "dists": {k: v[0].dist for k, v in self.priors.items()},
                "signals": {c: p.fixed.tolist() for c, p in self.signal_priors.items()},
                "hier": self.hierarchical,
                "shape": self.arrays.shape,
                "switching": self.spec.types.switching,
            },
            sort_keys=True,
        )
