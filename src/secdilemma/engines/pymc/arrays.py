"""The data a fit reads, as arrays: moves per (dyad, period), lagged inputs and masks.

The rule for missing data is the generative model's: a term whose input is missing (the first
period, a gap in either side's series, a missing signal) contributes nothing. The threat
multiplier is :func:`secdilemma.model.threat_multiplier`, and whether the observer sees it
at all is its kind's ``threat_blind`` (:data:`secdilemma.observers.OBSERVER_KINDS`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import DataError, SpecError
from secdilemma.model.equations import lagged, threat_multiplier
from secdilemma.observers import OBSERVER_KINDS
from secdilemma.spec.model_spec import ModelSpec

__all__ = ["FitArrays", "FloatArray", "as_dyads", "threat_blind"]

FloatArray = npt.NDArray[np.float64]


def as_dyads(moves: xr.Dataset, name: str) -> xr.Dataset:
    """Moves normalised to dims ``(dyad, period[, signal])``.

    A ``scenario`` dim (from :func:`secdilemma.model.simulate`) becomes ``dyad``; data of
    one dyad get a ``dyad`` dim named ``name``; signals over ``actor`` keep the rival's.
    """
    missing = [v for v in ("dx", "u") if v not in moves]
    if missing:
        raise DataError(
            f"PerceptionModel: the data lack {missing}; give `dx` (rival change) and `u` "
            "(observer change) over `period` (secdilemma.data.to_moves or simulate)."
        )
    ds = moves
    if "scenario" in ds.dims and "dyad" not in ds.dims:
        ds = ds.rename({"scenario": "dyad"})
    if "dyad" not in ds["dx"].dims:
        ds = ds.expand_dims(dyad=[name])
    extra = set(ds["dx"].dims) - {"dyad", "period"}
    if extra:
        raise DataError(
            f"PerceptionModel: `dx` has dims {ds['dx'].dims}; expected (dyad, period) - "
            f"stack or select {sorted(map(str, extra))} first."
        )
    keep = [v for v in ("dx", "u", "signals") if v in ds]
    out = ds[keep].transpose("dyad", "period", ...)
    if "signals" in out and "actor" in out["signals"].dims:
        rival = out["signals"].sel(actor="rival")
        # a count > 0 is an event; NaN (outside a table's coverage) stays missing, never 0
        out["signals"] = xr.where(rival.isnull(), np.nan, (rival > 0).astype(float))
    return out


def threat_blind(spec: ModelSpec) -> bool:
    """Whether the spec's observer kind ignores the threat multiplier (the observers
    registry's ``threat_blind``)."""
    kind = spec.observer.kind
    if kind not in OBSERVER_KINDS:
        raise SpecError(
            f"observer.kind {kind!r} is not one of {sorted(OBSERVER_KINDS)}; fix the spec."
        )
    return bool(OBSERVER_KINDS[kind].threat_blind)


class FitArrays:
    """The data of a fit as arrays: lagged moves, threat multiplier, masks.

    Parameters
    ----------
    data
        Moves over ``(dyad, period[, signal])`` (see :func:`as_dyads`).
    spec
        The model spec (world, observer kind, signal channels).
    eta_f_fixed_zero
        Whether each channel's threat term is fixed at 0 (one bool for all, or one per
        channel): a missing threat then leaves that channel's term in.
    """

    def __init__(
        self, data: xr.Dataset, spec: ModelSpec, eta_f_fixed_zero: bool | npt.ArrayLike
    ) -> None:
        self.data = data
        self.dyads = [str(v) if not isinstance(v, (int, np.integer)) else int(v)
                      for v in data["dyad"].values]  # fmt: skip
        self.periods = data["period"].values
        self.dx = data["dx"].values.astype(float)
        self.u = data["u"].values.astype(float)
        D, T = self.dx.shape
        self.omega = np.broadcast_to(spec.world.series("omega", self.periods), (D, T)).copy()
        self.delta = np.broadcast_to(spec.world.series("delta", self.periods), (D, T)).copy()
        #: the threat multiplier of each period (not lagged)
        self.h = threat_multiplier(self.omega, self.delta)
        self.threat_blind = threat_blind(spec)
        h_prev = lagged(self.h)
        if self.threat_blind:
            h_prev = np.where(np.isnan(h_prev), np.nan, 0.0)
        u_prev = lagged(self.u)
        self.mask = np.isfinite(self.dx) & np.isfinite(u_prev) & np.isfinite(h_prev)
        self.dx0 = np.where(self.mask, self.dx, 0.0)
        self.up = np.where(self.mask, np.maximum(u_prev, 0.0), 0.0)
        self.dn = np.where(self.mask, np.minimum(u_prev, 0.0), 0.0)
        self.h_prev = np.where(self.mask, h_prev, 0.0)
        self.channels = tuple(spec.signals.channels)
        #: per channel, whether it records the rival's posture (greed loading times 2 delta_t)
        self.posture = np.array(spec.signals.posture_flags(), dtype=bool)
        #: the greed loading's multiplier ``(D, T, J)``: 2 delta_t on a posture channel, else 1
        self.greed_scale = np.where(self.posture, 2.0 * self.delta[..., None], 1.0)
        self.signals = self._signals(data, (D, T))
        threat = h_prev * np.maximum(u_prev, 0.0)
        smask = np.isfinite(self.signals)
        # a channel whose threat term is fixed at 0 does not need the observer's move
        needs_threat = ~np.broadcast_to(np.asarray(eta_f_fixed_zero, dtype=bool), smask.shape[-1:])
        smask &= np.isfinite(threat)[..., None] | ~needs_threat
        self.smask = smask
        self.s0 = np.where(smask, self.signals, 0.0)
        self.threat = np.where(np.isfinite(threat), threat, 0.0)

    def _signals(self, data: xr.Dataset, shape: tuple[int, int]) -> FloatArray:
        if not self.channels:
            return np.zeros((*shape, 0))
        if "signals" not in data:
            raise DataError(
                f"PerceptionModel: the spec reads signal channels {list(self.channels)} "
                "but the data have no `signals` variable."
            )
        s = data["signals"].sel(signal=list(self.channels)).transpose("dyad", "period", "signal")
        return np.asarray(s.values, dtype=float)

    def gaussian_stats(self) -> dict[str, FloatArray]:
        """Per dyad, the sufficient statistics of the reaction's Gaussian likelihood.

        The rival's change is linear in the features ``phi_t = (1, h_{t-1} u⁺, u⁺, u⁻)``
        with coefficients that depend only on the type and the parameters (docs/model.md
        section 2.1), so over the periods with evidence ``sum_t (dx_t - w . phi_t)^2`` is
        ``syy - 2 w . syphi + w' sphiphi w`` in the changes ``y_t = dx_t - centre`` (centred
        on the dyad's mean change, which keeps that sum free of cancellation). Returns
        ``n`` (periods with evidence), ``centre`` ``(D,)``, ``syy`` ``(D,)``, ``syphi``
        ``(D, 4)`` and ``sphiphi`` ``(D, 4, 4)``.
        """
        m = self.mask.astype(float)
        n = m.sum(axis=1)
        centre = np.where(n > 0, self.dx0.sum(axis=1) / np.maximum(n, 1.0), 0.0)
        y = np.where(self.mask, self.dx0 - centre[:, None], 0.0)
        phi = np.stack([m, self.h_prev * self.up, self.up, self.dn], axis=-1)
        return {
            "n": n,
            "centre": centre,
            "syy": np.einsum("dt,dt->d", y, y),
            "syphi": np.einsum("dt,dtj->dj", y, phi),
            "sphiphi": np.einsum("dti,dtj->dij", phi, phi),
        }

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(dyads, periods, signal channels)``."""
        return (self.dx.shape[0], self.dx.shape[1], len(self.channels))
