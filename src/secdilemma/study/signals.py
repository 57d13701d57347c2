"""The exact observer's signal coefficients for a study, and where each came from.

The pooled reference (``models/reference_params.toml``, or the pool without the study's own
dyad) estimates the coefficients of the channels derived from MID and ATOP for every pair.
A study reads:

- a **derived** channel with the reference's coefficients (``eta0``, ``eta_g``, ``eta_f``:
  the PyMC posterior's means, or the ML point where a reference has no posterior;
  :func:`secdilemma.spec.load_reference_point`);
- a **curated** channel of the bundled cases (hand-sourced events) with a stand-in
  (:data:`secdilemma.spec.STAND_IN`: ``use_of_force`` → ``mid_use_of_force``,
  ``crisis_initiation`` → ``mid_threat_display``, ``alliance_expansion`` →
  ``alliance_new_defense_pact``): the derived channel's type loadings ``eta_g`` and
  ``eta_f``, and an intercept ``eta0`` calibrated on the study's own data, so that the
  channel's rate averaged over the window and over the types (weighted by the observer's
  prior) equals its observed rate. The intercept is not borrowed because a curated channel
  counts the rival's acts against any state and a derived one only those against the
  observer: their base rates differ, while how much more often a greedy state acts is what
  the pool can tell;
- a **posture channel** (``[signals] posture``: the rival's force-posture laws) with the
  centre of the spec's posture prior as its greed loading, scaled by ``2 * delta`` (no pool
  records postures, so this is the analyst's stated assumption and the output says so), no
  fear term unless the spec's ``eta_f`` prior says otherwise, and an intercept calibrated on
  the window at the stated loading (``delta = 1/2``; the intercept is the channel's own and
  does not move with ``delta``, as in the fit);
- any other curated channel (arms control, restraint, force-posture laws not declared posture
  channels) has no estimate anywhere, so the exact observer leaves it out and says so. The
  full Bayesian fit reads it with the spec's priors.

``params="default"`` uses no signals (the package's illustrative parameters have none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.engines.exact import estimate_params
from secdilemma.model import ModelParams, SignalParams, as_type_prior, threat_multiplier
from secdilemma.model.equations import lagged
from secdilemma.model.types import TypeSpace
from secdilemma.spec import STAND_IN, ModelSpec, PriorSpec, load_reference_point

__all__ = ["calibrated_intercept", "exact_params_for", "study_signal_params"]

FloatArray = npt.NDArray[np.float64]


def calibrated_intercept(
    events: FloatArray,
    threat: FloatArray,
    eta_g: float,
    eta_f: float,
    types: TypeSpace,
    prior: FloatArray,
) -> float:
    """The intercept at which the channel's expected rate (over the observed periods, types
    weighted by ``prior``) equals its observed rate, given the loadings.

    ``events`` are 0, 1 or NaN per period, ``threat`` is ``h * u⁺`` of the previous period
    (NaN where unknown, read as 0 when ``eta_f == 0``). A channel with no event or only events
    takes half an event (add 0.5 to the events and 1 to the periods), so the intercept stays
    finite.
    """
    from scipy.optimize import brentq  # here: scipy.optimize is heavy to import

    thr = np.where(np.isfinite(threat), threat, 0.0) if eta_f == 0.0 else threat
    ok = np.isfinite(events) & np.isfinite(thr)
    n = int(ok.sum())
    if n == 0:
        return float("nan")
    rate = (float(np.sum(events[ok])) + 0.5) / (n + 1.0)
    shift = eta_g * types.greed[None, :] + eta_f * types.fear[None, :] * thr[ok][:, None]

    def gap(e0: float) -> float:
        p = 1.0 / (1.0 + np.exp(-(e0 + shift)))  # (n, K)
        return float(np.mean(p @ prior)) - rate

    return float(brentq(gap, -40.0, 40.0, xtol=1e-12))


def study_signal_params(
    spec: ModelSpec,
    moves: xr.Dataset,
    reference: SignalParams | None,
    prior: FloatArray,
) -> tuple[SignalParams | None, dict[str, str]]:
    """The exact observer's :class:`SignalParams` over the spec's channels that have
    coefficients, and for every spec channel how it is read (``"reference"``,
    ``"reference loadings of <derived>, intercept calibrated"`` or ``"not used: ..."``).

    ``reference`` is the pool's signal coefficients (:func:`secdilemma.spec.load_reference_point`)
    and ``prior`` the observer's prior over the spec's types.
    """
    channels = tuple(spec.signals.channels)
    how: dict[str, str] = {}
    if not channels:
        return None, how
    posture = set(spec.signals.posture)
    if reference is None and not posture:
        for ch in channels:
            how[ch] = "not used: the reference file has no signal coefficients"
        return None, how
    types = spec.types.type_space()
    est = {} if reference is None else {n: j for j, n in enumerate(reference.names)}
    threat = _threat_prev(spec, moves)
    names: list[str] = []
    coefs: list[tuple[float, float, float]] = []
    for ch in channels:
        if ch in posture:
            eg, ef = (
                _prior_centre(spec.signals.posture_eta_g()),
                _prior_centre(spec.signals.prior("eta_f")),
            )
            events = np.asarray(moves["signals"].sel(signal=ch).values, dtype=float)
            # eta0 is the channel's own, as in the fit: it does not move with delta, so it is
            # set where the loading is the one stated (delta = 1/2, multiplier 1)
            e0 = calibrated_intercept(events, threat, eg, ef, types, prior)
            if not np.isfinite(e0):
                how[ch] = "not used: no observed period"
                continue
            names.append(ch)
            coefs.append((e0, eg, ef))
            stated = "the spec's" if spec.signals.posture_prior else "the default"
            how[ch] = (
                f"posture channel: greed loading {eg:g} x 2*delta (the mean of {stated} posture "
                "prior: an assumption, no pool estimates postures), intercept calibrated on "
                "this window"
            )
            continue
        if reference is None:
            how[ch] = "not used: the reference file has no signal coefficients"
            continue
        if ch in est:
            j = est[ch]
            names.append(ch)
            coefs.append((reference.eta0[j], reference.eta_g[j], reference.eta_f[j]))
            how[ch] = "reference"
            continue
        src = STAND_IN.get(ch)
        if src is None or src not in est:
            how[ch] = "not used: no estimate in the reference for this hand-sourced channel"
            continue
        j = est[src]
        events = np.asarray(moves["signals"].sel(signal=ch).values, dtype=float)
        e0 = calibrated_intercept(
            events, threat, float(reference.eta_g[j]), float(reference.eta_f[j]), types, prior
        )
        if not np.isfinite(e0):
            how[ch] = "not used: no observed period"
            continue
        names.append(ch)
        coefs.append((e0, reference.eta_g[j], reference.eta_f[j]))
        how[ch] = f"loadings of {src} (reference), intercept calibrated on this window"
    if not names:
        return None, how
    e0s, egs, efs = (np.array(c, dtype=float) for c in zip(*coefs, strict=True))
    flags = np.array([n in posture for n in names], dtype=bool)
    return SignalParams(tuple(names), eta0=e0s, eta_g=egs, eta_f=efs, posture=flags), how


def _prior_centre(prior: PriorSpec) -> float:
    """A Normal prior's mean or a fixed prior's value (the exact observer's point)."""
    return float(prior.args["value"] if prior.is_fixed else prior.args["mu"])


def _threat_prev(spec: ModelSpec, moves: xr.Dataset) -> FloatArray:
    """``h_{t-1} * u⁺_{t-1}`` per period (NaN in the first period and where ``u`` is
    missing), the input of a channel's fear term."""
    periods = moves["period"].values
    h = threat_multiplier(spec.world.series("omega", periods), spec.world.series("delta", periods))
    u = np.asarray(moves["u"].values, dtype=float)
    return lagged(np.asarray(h, dtype=float) * np.maximum(u, 0.0))  # NaN u stays NaN


def exact_params_for(
    spec: ModelSpec, source: str, moves: xr.Dataset, ref_path: Path | None, *, signals: bool
) -> tuple[ModelParams, dict[str, str]]:
    """The exact observer's parameters of a study (:meth:`secdilemma.Study.exact_params`):
    the point of ``source`` (the reference's for ``"reference"`` and ``"integrated"``, whose
    draws are centred on it), the spec's world, and the channels' coefficients with how each
    channel was read."""
    how: dict[str, str] = {}
    ref_point = None if ref_path is None else load_reference_point(ref_path)[0]
    if source in ("reference", "integrated"):
        assert ref_point is not None
        base = ref_point.replace(signals=None)
    elif source == "estimate":
        base = estimate_params(moves).params
    else:
        base = ModelParams()
        how = {c: "not used: params='default' has no signal coefficients"
               for c in spec.signals.channels}  # fmt: skip
    periods = moves["period"].values
    world: dict[str, Any] = {}
    for name in ("omega", "delta"):
        series = np.asarray(spec.world.series(name, periods), dtype=float)
        world[name] = float(series[0]) if np.all(series == series[0]) else series
    sp = None
    if signals and source != "default" and (ref_path is not None or spec.signals.posture):
        sp, how = study_signal_params(
            spec, moves, None if ref_point is None else ref_point.signals,
            as_type_prior(spec.observer.prior, spec.types.type_space()),  # type: ignore[arg-type]
        )  # fmt: skip
    elif not signals:
        how = {c: "not used: signals=False" for c in spec.signals.channels}
    return base.replace(signals=sp, **world), how
