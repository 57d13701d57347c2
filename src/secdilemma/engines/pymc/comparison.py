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

    Examples
    --------
    Two fits to the same data (here result trees written by hand: a mean ``mu`` near the
    data's and one beside it, with the pointwise log-likelihood ``dx`` a fit stores):

    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(1)
    >>> dx = rng.normal(0.0, 1.0, (1, 40))  # one dyad, 40 periods
    >>> def fit(centre):
    ...     mu = rng.normal(centre, 0.05, (2, 100))  # (chain, draw)
    ...     ll = -0.5 * (dx - mu[..., None, None]) ** 2 - 0.5 * np.log(2 * np.pi)
    ...     return xr.DataTree.from_dict({
    ...         "posterior": xr.Dataset({"mu": (("chain", "draw"), mu)}),
    ...         "log_likelihood": xr.Dataset({"dx": (("chain", "draw", "dyad", "period"), ll)}),
    ...     })
    >>> table = compare_models({"shifted": fit(1.0), "centred": fit(0.0)})
    >>> table.index.tolist(), bool(table.loc["shifted", "elpd_diff"] < 0)
    (['centred', 'shifted'], True)

    With fitted models (each a PyMC run): ``compare_models([fit_a, fit_b])``, named by their
    specs.

    >>> compare_models([model_a.fit(), model_b.fit()])  # doctest: +SKIP
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
