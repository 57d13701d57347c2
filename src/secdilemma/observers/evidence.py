"""What moved the belief: the evidence of the buildups and of each signal channel.

With static types, Bayes' rule is additive on the log scale::

    log P(type k | data) = log P(type k) + sum_source sum_t ll[source, t, k] - log Z

so each source's contribution to the belief is its log-likelihood summed over periods,
centred over the types (the log-likelihood ratio of type ``k`` against the types' average).
:func:`evidence_decomposition` reports that per period and in total, and also, for any
observer (switching types included, where the sum is not additive), the final belief
without each source and from each source alone, both filtered again by the observer's own
rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from secdilemma.engines.exact import filter_probabilities
from secdilemma.errors import ParameterError
from secdilemma.model import SignalParams
from secdilemma.observers.base import Observer

__all__ = ["BUILDUPS", "evidence_decomposition"]

#: The name of the buildup term on the ``source`` dim.
BUILDUPS = "buildups"


def _variant(observer: Observer, params: Any) -> Observer:
    """The same observer (kind and settings) with other parameters."""
    args = observer.get_params()
    args["params"] = params
    return type(observer)(**args)


def _final(observer: Observer, ll: np.ndarray) -> np.ndarray:
    """The filtered belief at the last period from per-period log-likelihoods ``(T, K)``."""
    types, _ = observer._resolved()
    trans, log_prior = observer._prior_and_transition(types)
    res = filter_probabilities(ll[None], log_prior, transition=trans, smooth=False)
    return np.asarray(res.filtered[0, -1], dtype=float)


def evidence_decomposition(observer: Observer, data: xr.Dataset) -> xr.Dataset:
    """How much the buildups and each signal channel moved ``observer``'s belief.

    Parameters
    ----------
    observer
        Any observer (its kind's weights apply: a tempered observer's evidence is tempered).
        Its ``params.signals`` names the channels decomposed.
    data
        One dyad's moves over ``period`` (no other dims), with ``signals`` when the
        observer reads channels.

    Returns
    -------
    xarray.Dataset
        Over ``source`` (``"buildups"``, then each channel), ``period`` and ``rival_type``:

        - ``loglik``: each period's log-likelihood under each type, by source (0 where the
          source has no observation);
        - ``llr``: the same centred over the types (type ``k`` against the types' mean), the
          source's push towards each type that period; ``llr_total`` its sum over periods;
        - ``belief`` (``rival_type``): the final filtered belief from everything;
          ``belief_without`` (``source``, ``rival_type``): without that source;
          ``belief_from`` (``source``, ``rival_type``): from that source alone;
          ``belief_without_signals``: from the buildups alone (as ``belief_from`` there);
          ``prior``.

        Coords ``greed`` and ``fear`` (over ``rival_type``) are the types' motive loadings.
        attrs ``additive`` (1 for static types: ``log belief = log prior + sum of llr_total
        + const``), ``channels`` (comma-separated), ``observer_kind``.
    """
    types, params = observer._resolved()
    extra = [d for d in data["dx"].dims if d != "period"]
    if extra:
        raise ParameterError(
            f"evidence_decomposition: `data['dx']` has dims {extra} besides `period`; "
            "give one dyad (select it first)."
        )
    channels = params.signals.names if params.signals is not None else ()
    base = _variant(observer, params.replace(signals=None))
    ll_b = base.loglik(data.drop_vars("signals", errors="ignore")).values
    rows = [ll_b]
    for j, _ in enumerate(channels):
        sp = params.signals
        assert sp is not None
        assert sp.posture is not None
        one = SignalParams((sp.names[j],), sp.eta0[j : j + 1], sp.eta_g[j : j + 1],
                           sp.eta_f[j : j + 1], posture=sp.posture[j : j + 1])  # fmt: skip
        with_j = _variant(observer, params.replace(signals=one)).loglik(data).values
        rows.append(with_j - ll_b)
    ll = np.stack(rows)  # (S, T, K)
    total = ll.sum(axis=0)
    sources = [BUILDUPS, *channels]
    types_prior = np.exp(observer._prior_and_transition(types)[1])
    without = np.stack([_final(observer, total - ll[i]) for i in range(len(sources))])
    alone = np.stack([_final(observer, ll[i]) for i in range(len(sources))])
    dims = ("source", "period", "rival_type")
    coords = {"source": sources, "period": data["period"].values,
              "rival_type": list(types.names), "greed": ("rival_type", types.greed),
              "fear": ("rival_type", types.fear)}  # fmt: skip
    llr = ll - ll.mean(axis=-1, keepdims=True)
    trans = observer._prior_and_transition(types)[0]
    ds = xr.Dataset(
        {
            "loglik": (dims, ll),
            "llr": (dims, llr),
            "llr_total": (("source", "rival_type"), llr.sum(axis=1)),
            "belief": ("rival_type", _final(observer, total)),
            "belief_without": (("source", "rival_type"), without),
            "belief_from": (("source", "rival_type"), alone),
            "belief_without_signals": ("rival_type", alone[0]),
            "prior": ("rival_type", types_prior),
        },
        coords=coords,
    )
    ds["llr"].attrs["long_name"] = "log-likelihood of each type minus the types' mean"
    ds["belief_without"].attrs["long_name"] = "final belief without this source"
    ds["belief_from"].attrs["long_name"] = "final belief from this source alone"
    ds.attrs.update(
        additive=int(trans is None),
        channels=",".join(channels),
        observer_kind=observer.kind,
        description="Evidence decomposition: what each source did to the belief "
        "(secdilemma.observers.evidence_decomposition).",
    )
    return ds
