"""EVSI per signal channel for a block of cells: the opt-in ``evsi`` variable of a sweep.

What observing one signal channel once more, alone, before acting would be worth in each
cell: :func:`secdilemma.decision.evsi_by_channel`'s ``evsi`` (and so
:meth:`secdilemma.Study.value_of_information`'s), computed for every cell and channel at once
from the cell's belief, its utility table (the same futures as the decision's: no new
simulation) and the channels the study's exact observer reads, with the cell's own
intercepts (:func:`~secdilemma.whatif.belief.cell_eta0`). As the study does, the channels'
fear term takes the threat of the observer's last move, ``h * u⁺`` at the last period (0
where ``u`` is missing), and the preposterior analysis is
:func:`secdilemma.decision.static.evsi`'s: ``sum_s P(s) max_a EU(a | s) - max_a EU(a)``,
clipped to ``[0, EVPI]``. Sums run in type order element by element, so a cell's bits do not
depend on the chunking.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from secdilemma.model import threat_multiplier
from secdilemma.whatif.cells import Cells
from secdilemma.whatif.inputs import SweepBase
from secdilemma.whatif.utility import reduce_short, row_dot

__all__ = ["cell_evsi"]

FloatArray = npt.NDArray[np.float64]


def _last_h(base: SweepBase, cells: Cells) -> FloatArray:
    """Each cell's threat multiplier at the last period ``(n,)``."""
    om, de = (
        np.asarray(cells.columns[w], dtype=float)
        if cells.has(w)
        else np.full(cells.n, np.atleast_1d(np.asarray(getattr(base.params, w), float))[-1])
        for w in ("omega", "delta")
    )
    return np.asarray(threat_multiplier(om, de), dtype=float)


def cell_evsi(
    base: SweepBase, cells: Cells, utility: FloatArray, belief: FloatArray, eta0: FloatArray
) -> FloatArray:
    """EVSI of each channel observed alone, per cell: ``(n, J)`` (``J = 0`` without channels).

    Parameters
    ----------
    base, cells
        The study and the block.
    utility
        Each cell's utility table ``(n, A, K)``.
    belief
        Each cell's belief ``(n, K)``.
    eta0
        Each cell's channel intercepts ``(n, J)``
        (:func:`~secdilemma.whatif.belief.cell_eta0`).

    Returns
    -------
    numpy.ndarray
        ``(n, J)``, in ``[0, EVPI]`` of the cell.
    """
    sp = base.params.signals
    if sp is None or base.signals is None:
        return np.empty((cells.n, 0))
    types = base.types
    threat = _last_h(base, cells) * max(float(base.u[-1]), 0.0)
    threat = np.where(np.isfinite(threat), threat, 0.0)
    # P(s = 1 | type) per cell, channel, type: SignalParams.likelihood_ratio's logit at its
    # default delta = 1/2 (a posture channel's greed loading scaled by 2 * 1/2 = 1), as the
    # study values it
    logit = (
        eta0[:, :, None]
        + sp.eta_g[None, :, None] * types.greed[None, None, :]
        + sp.eta_f[None, :, None] * types.fear[None, None, :] * threat[:, None, None]
    )
    p1 = 1.0 / (1.0 + np.exp(-logit))  # (n, J, K)
    w = belief[:, None, :]
    eu_max = reduce_short(row_dot(utility, belief), 1, np.maximum)
    value = np.zeros(p1.shape[:2])
    for lik in (1.0 - p1, p1):  # s = 0, then s = 1, summed in static.evsi's order
        joint = lik * w
        p_o = reduce_short(joint, 2, np.add)
        with np.errstate(invalid="ignore", divide="ignore"):
            post = np.where(p_o[..., None] > 0, joint / p_o[..., None], 0.0)
        eu_o = reduce_short(post[:, :, None, :] * utility[:, None, :, :], 3, np.add)  # (n, J, A)
        value = value + p_o * reduce_short(eu_o, 2, np.maximum)
    value = value - eu_max[:, None]
    informed = row_dot(reduce_short(utility, 1, np.maximum), belief)
    evpi = np.maximum(informed - eu_max, 0.0)
    return np.asarray(np.minimum(np.maximum(value, 0.0), evpi[:, None]))
