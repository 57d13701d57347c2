"""What observing a signal channel once more would be worth to a study (EVSI, EVPI)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.decision import evsi_by_channel
from secdilemma.errors import ParameterError
from secdilemma.model import threat_multiplier

__all__ = ["study_value_of_information"]


def study_value_of_information(
    study: Any, *, cost: Any, observer: str | None, n_sims: int
) -> xr.Dataset:
    """:meth:`secdilemma.Study.value_of_information` (see there)."""
    post = study.belief("exact", observer=observer)
    params, how = study._exact_params(True)
    if params.signals is None:
        raise ParameterError(
            "value_of_information: no signal channel of this study has coefficients "
            f"({json.dumps(how) if how else 'the spec reads no channels'}); add derived "
            "channels to the spec's [signals] (e.g. mid_use_of_force) or use params="
            "'reference'."
        )
    moves = study.data_and_moves()[1]
    world = study._last_world()
    u_last = float(moves["u"].values[-1])
    threat = float(threat_multiplier(world["omega"], world["delta"])) * max(u_last, 0.0)
    dec = study.spec.decision
    res = evsi_by_channel(
        post["filtered"].isel(period=-1), channel=params.signals,
        params=params.replace(**world), losses=dec.losses_obj(), actions=dec.actions,
        horizon=dec.horizon, cost=cost, threat=threat if np.isfinite(threat) else 0.0,
        n_sims=n_sims, seed=study.spec.sampler.seed,
    )  # fmt: skip
    return study._stamp(res, study_engine="exact", study_signals_used=json.dumps(how))
