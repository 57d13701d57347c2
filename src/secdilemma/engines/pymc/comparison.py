"""Model comparison by PSIS-LOO over the fits' pointwise log-likelihoods."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.engines.pymc.model import PerceptionModel
from secdilemma.errors import DataError, SpecError

__all__ = ["compare_models"]


def _named_trees(
    models: Mapping[str, PerceptionModel | xr.DataTree] | Sequence[PerceptionModel | xr.DataTree],
) -> dict[str, xr.DataTree]:
    if isinstance(models, Mapping):
        pairs = list(models.items())
    else:
        pairs = []
        for m in models:
            nm = m.spec.name if isinstance(m, PerceptionModel) else str(m.attrs.get("model_name"))
            pairs.append((nm, m))
    items: dict[str, xr.DataTree] = {}
    for name, m in pairs:
        tree = m._fitted() if isinstance(m, PerceptionModel) else m
        if name in items:
            raise SpecError(f"compare_models: two models are named {name!r}; name them apart.")
        items[name] = tree
    if len(items) < 2:
        raise SpecError("compare_models: give at least two fitted models.")
    return items


def compare_models(
    models: Mapping[str, PerceptionModel | xr.DataTree] | Sequence[PerceptionModel | xr.DataTree],
    **kwargs: Any,
) -> Any:
    """PSIS-LOO comparison (``arviz_stats.compare``) of fits to the same data.

    Parameters
    ----------
    models
        ``{name: fitted model or result tree}``, or a sequence (named by ``spec.name``).
    **kwargs
        Passed to :func:`arviz_stats.compare` (e.g. ``method="BB-pseudo-BMA"``).

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table, best model first (``elpd``, ``p``, ``elpd_diff``,
        ``weight``, ``se``, ``dse``, ``p_worse``, ``diag_diff``, ``diag_elpd``). In ArviZ 1.x
        ``elpd_diff`` is each model's elpd minus the best one's: 0 for the best, negative for
        the others.
    """
    import arviz_stats as azs

    items = _named_trees(models)
    shapes = {n: t["log_likelihood"]["dx"].shape[2:] for n, t in items.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"compare_models: the fits are on different data (shapes {shapes}).")
    # periods without evidence (the first period, gaps) carry a log density of exactly 0 in
    # every draw: they are the same in every model and PSIS cannot smooth a constant, so the
    # comparison uses the (dyad, period) points that carry evidence in at least one model.
    stacked = {
        n: t["log_likelihood"]["dx"]
        .stack(obs=("dyad", "period"))
        .drop_vars(["obs", "dyad", "period"])
        for n, t in items.items()
    }
    keep = np.zeros(next(iter(stacked.values())).sizes["obs"], dtype=bool)
    for ll in stacked.values():
        keep |= (ll.std(("chain", "draw")) > 0).values
    trees = {
        n: xr.DataTree.from_dict(
            {
                "posterior": items[n]["posterior"].to_dataset(),
                "log_likelihood": xr.Dataset({"dx": ll.isel(obs=np.flatnonzero(keep))}),
            }
        )
        for n, ll in stacked.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return azs.compare(trees, **kwargs)
