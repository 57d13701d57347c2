"""Observers side by side (:func:`compare_observers`) and the rival's view of us
(:func:`swap_roles`).

Two-sided perception
--------------------
:func:`swap_roles` turns a dyad's data into the rival's view of us, so the same observers give
what the rival comes to believe about the observer's type from the observer's moves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import ParameterError
from secdilemma.observers.base import Observer

__all__ = ["compare_observers", "swap_roles"]


def compare_observers(
    data: xr.Dataset,
    observers: Mapping[str, Observer] | Iterable[Observer],
    *,
    smooth: bool = False,
) -> xr.Dataset:
    """Posteriors of several observers on the same data, side by side along ``observer``.

    Parameters
    ----------
    data
        As for :meth:`Observer.filter`.
    observers
        ``{name: observer}``, or a sequence of observers (named by their ``kind``, with
        ``_2``, ``_3`` … for repeats).
    smooth
        Also return the smoothed posteriors.

    Returns
    -------
    xarray.Dataset
        ``filtered`` (and ``smoothed``) over (``observer``, ..., ``period``, ``rival_type``)
        and ``log_evidence`` over (``observer``, ...), with an ``observer_kind`` coordinate;
        attrs ``observer_settings`` (JSON by name) and ``secdilemma_version``.

    Examples
    --------
    >>> from secdilemma.model.simulate import simulate
    >>> ds = simulate(n_periods=30, true_type="insecure", observer_drift=0.1, seed=2)
    >>> from secdilemma.observers import NaiveObserver
    >>> cmp = compare_observers(ds, [Observer(), NaiveObserver()])
    >>> cmp.observer.values.tolist()
    ['aware', 'naive']
    >>> p = cmp.filtered.isel(scenario=0, period=-1).sel(rival_type="insecure")
    >>> bool(p.sel(observer="aware") > p.sel(observer="naive"))
    True
    """
    if isinstance(observers, Mapping):
        items = [(str(k), v) for k, v in observers.items()]
    else:
        items = []
        seen: dict[str, int] = {}
        for obs in observers:
            kind = getattr(obs, "kind", type(obs).__name__)
            seen[kind] = seen.get(kind, 0) + 1
            items.append((kind if seen[kind] == 1 else f"{kind}_{seen[kind]}", obs))
    if not items:
        raise ParameterError("compare_observers: `observers` is empty; give at least one.")
    for n, obs in items:
        if not isinstance(obs, Observer):
            raise ParameterError(
                f"compare_observers: `observers[{n!r}]` is a {type(obs).__name__}, not an Observer."
            )
    results = [obs.filter(data, smooth=smooth) for _, obs in items]
    ref = results[0]["rival_type"].values.tolist()
    for (n, _), res in zip(items, results, strict=True):
        if res["rival_type"].values.tolist() != ref:
            raise ParameterError(
                f"compare_observers: observer {n!r} has rival types "
                f"{res['rival_type'].values.tolist()} but {items[0][0]!r} has {ref}; give "
                "every observer the same type space."
            )
    names = [n for n, _ in items]
    out = xr.concat(
        [r.drop_attrs() for r in results],
        dim=pd.Index(names, name="observer"),
        join="exact",
    )
    out = out.assign_coords(observer_kind=("observer", [o.kind for _, o in items]))
    out.attrs = {
        "observer_settings": json.dumps({n: o.settings() for n, o in items}),
        "notes": "; ".join(sorted({r.attrs["notes"] for r in results} - {""})),
        "secdilemma_version": __version__,
    }
    return out


_SWAP_VARS = (("dx", "u"), ("x", "y"))
_SWAP_LABELS = {"observer": "rival", "rival": "observer"}
_TRUTH_VARS = ("true_type", "true_type_index")


def swap_roles(data: xr.Dataset) -> xr.Dataset:
    """The rival's view of us: swap the observer's and the rival's roles in a dyad's data.

    Use it to ask what the rival comes to believe about the *observer's* type from the
    observer's moves: ``Observer().filter(swap_roles(ds))``. The model is the same, read
    from the other side: the observer's change in period ``t`` is taken as its reaction to
    the rival's change in ``t - 1``.

    * ``dx`` ↔ ``u`` and ``x`` ↔ ``y`` (whichever are present);
    * with an ``actor`` dim (a case dataset): the ``observer`` and ``rival`` labels swap, so
      ``signals`` and every per-actor variable follow, and ``event_actor`` roles swap;
    * ``signals`` without an ``actor`` dim (a simulated dyad's: the rival's) are dropped, as
      are the simulated truth ``true_type``/``true_type_index``: they describe the rival,
      not the observer (a note in attrs says so).

    Swapping twice gives the original moves back. attrs ``roles_swapped`` toggles 0/1.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"dx": ("period", [np.nan, 0.1]), "u": ("period", [0.2, 0.3])})
    >>> sw = swap_roles(ds)
    >>> sw.dx.values.tolist(), sw.u.values.tolist()
    ([0.2, 0.3], [nan, 0.1])
    >>> swap_roles(sw).identical(ds.assign_attrs(roles_swapped=0))
    True
    """
    if not isinstance(data, xr.Dataset):
        raise ParameterError(
            f"swap_roles: `data` must be an xarray.Dataset; got {type(data).__name__}."
        )
    notes: list[str] = []
    out = data
    tmp = {}
    for a, b in _SWAP_VARS:
        if a in out.variables:
            tmp[a] = f"__swap_{b}"
        if b in out.variables:
            tmp[b] = f"__swap_{a}"
    out = out.rename_vars(tmp)
    out = out.rename_vars({v: v.removeprefix("__swap_") for v in tmp.values()})
    for a, b in _SWAP_VARS:
        for new, old in ((a, b), (b, a)):
            if new in out.variables and "long_name" in out[new].attrs:
                out[new].attrs["long_name"] = f"{old} of the original dyad, seen from the rival"
    if "actor" in out.dims:
        labels = out["actor"].values.tolist()
        if not {"observer", "rival"} <= set(labels):
            raise ParameterError(
                f"swap_roles: the `actor` dim has labels {labels}; it needs 'observer' and 'rival'."
            )
        out = out.assign_coords(actor=[_SWAP_LABELS.get(a, a) for a in labels])
        out = out.sel(actor=labels)
    elif "signals" in out.data_vars:
        out = out.drop_vars("signals")
        if "signal" in out.dims and not any("signal" in v.dims for v in out.data_vars.values()):
            out = out.drop_dims("signal", errors="ignore")
        notes.append("the rival's `signals` dropped: the observer's are not in the data")
    if "event_actor" in out.data_vars:
        roles = np.asarray(out["event_actor"].values, dtype=object)
        swapped = np.vectorize(lambda r: _SWAP_LABELS.get(r, r), otypes=[object])(roles)
        out["event_actor"] = (out["event_actor"].dims, swapped.astype(str))
    truth = [v for v in _TRUTH_VARS if v in out.variables]
    if truth:
        out = out.drop_vars(truth)
        notes.append(f"dropped {truth}: they describe the original rival")
    attrs = dict(data.attrs)
    attrs["roles_swapped"] = 1 - int(data.attrs.get("roles_swapped", 0))
    if notes:
        attrs["swap_notes"] = "; ".join(notes)
    out.attrs = attrs
    return out
