"""The observer kinds and their registry, :data:`OBSERVER_KINDS`.

=============  ============================================================================
kind           how it perceives
=============  ============================================================================
aware          the full model: it knows its own buildup threatens the rival (Jervis's
               dilemma-aware observer)
naive          does not see that its buildup drives the rival's (``h = 0``): it attributes
               the rival's arming to disposition, the spiral model's misperception
biased         a worst-case or over-confident prior (``confidence > 1`` sharpens it)
tempered       conservative (``temperature < 1``) or over-reacting (``> 1``) updating
selective      selective attention: weights on each signal channel and on buildups
=============  ============================================================================

Each class says in ``fittable`` whether the full Bayesian fit (:mod:`secdilemma.engines.pymc`)
can express it; :data:`FITTABLE_KINDS` lists those kinds, read from the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model import ModelParams, as_type_prior
from secdilemma.model.types import TypeSpace
from secdilemma.observers.base import Observer

__all__ = [
    "FITTABLE_KINDS",
    "OBSERVER_KINDS",
    "AwareObserver",
    "BiasedObserver",
    "NaiveObserver",
    "SelectiveObserver",
    "TemperedObserver",
]

FloatArray = npt.NDArray[np.float64]


class AwareObserver(Observer):
    """The dilemma-aware observer under an explicit name (identical to :class:`Observer`).

    Examples
    --------
    >>> AwareObserver.kind, AwareObserver.fittable
    ('aware', True)
    """

    fittable: ClassVar[bool] = True


class NaiveObserver(Observer):
    """An observer blind to the security dilemma.

    It does not see that its own buildup drives the rival's: the likelihood is evaluated
    with ``h = 0``, so a rival that arms in response to our arming looks like one that arms
    on its own, and the observer concludes "greedy" (or "mixed") too often (Jervis 1976).

    Examples
    --------
    >>> NaiveObserver.kind, NaiveObserver.threat_blind
    ('naive', True)
    """

    kind: ClassVar[str] = "naive"
    description: ClassVar[str] = (
        "Naive: does not see that its own buildup drives the rival's (h = 0)."
    )
    threat_blind: ClassVar[bool] = True
    fittable: ClassVar[bool] = True


class BiasedObserver(Observer):
    """An observer with a biased or over-confident prior.

    Parameters
    ----------
    prior
        As for :class:`Observer`, but ``None`` means worst-case thinking:
        ``P(greedy) = 0.8`` with the rest spread evenly (the type space must then have a
        ``greedy`` type).
    confidence
        Sharpens (``> 1``) or flattens (``< 1``) the prior: ``p_k ∝ prior_k ** confidence``.
    **kwargs
        ``types``, ``params``, ``persistence``, ``transition`` as for :class:`Observer`.

    Examples
    --------
    >>> BiasedObserver()._type_prior(TypeSpace.default()).round(2).tolist()
    [0.8, 0.1, 0.1]
    >>> BiasedObserver(confidence=2.0)._type_prior(TypeSpace.default()).round(3).tolist()
    [0.97, 0.015, 0.015]
    """

    kind: ClassVar[str] = "biased"
    description: ClassVar[str] = "Biased: a worst-case or over-confident prior."
    fittable: ClassVar[bool] = False

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        prior: Mapping[str, float] | Sequence[float] | npt.ArrayLike | None = None,
        confidence: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, prior=prior, **kwargs)
        self.confidence = confidence

    def _type_prior(self, types: TypeSpace) -> FloatArray:
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not np.isfinite(c) or c <= 0:
            raise ParameterError(
                f"BiasedObserver: `confidence` must be a finite number > 0; got {c!r}."
            )
        if self.prior is None:
            if "greedy" not in types.names:
                raise ParameterError(
                    "BiasedObserver: the default worst-case prior needs a 'greedy' type; "
                    f"this type space has {list(types.names)}. Give `prior`."
                )
            K = types.n_types
            base = np.full(K, 0.2 / (K - 1)) if K > 1 else np.ones(1)
            base[types.index("greedy")] = 0.8 if K > 1 else 1.0
        else:
            base = as_type_prior(self.prior, types)  # type: ignore[arg-type]
        sharp = base**c
        return np.asarray(sharp / sharp.sum())


class TemperedObserver(Observer):
    """An observer that under- or over-reacts to evidence.

    The log-likelihood of every period is multiplied by ``temperature``: below 1 the
    observer updates conservatively (anchors on its prior), above 1 it over-reacts.

    Parameters
    ----------
    temperature
        Positive power on the likelihood (default 0.5).
    **kwargs
        As for :class:`Observer`.

    Examples
    --------
    >>> TemperedObserver(temperature=0.25)._weights(("a", "b"))
    (0.25, array([0.25, 0.25]))
    """

    kind: ClassVar[str] = "tempered"
    description: ClassVar[str] = (
        "Tempered: likelihood raised to a power (< 1 conservative, > 1 over-reacting)."
    )
    fittable: ClassVar[bool] = False

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        temperature: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, **kwargs)
        self.temperature = temperature

    def _weights(self, channels: tuple[str, ...]) -> tuple[float, FloatArray]:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t <= 0:
            raise ParameterError(
                f"TemperedObserver: `temperature` must be a finite number > 0; got {t!r}."
            )
        return float(t), np.full(len(channels), float(t))


class SelectiveObserver(Observer):
    """An observer with selective attention to the evidence.

    Parameters
    ----------
    channel_weights
        ``{channel name: weight}`` on the signal log-likelihoods (0 ignores a channel,
        > 1 over-weights it); channels not named keep weight 1.
    buildup_weight
        Weight on the buildup (reaction) term (0 ignores buildups).
    **kwargs
        As for :class:`Observer`.

    Examples
    --------
    >>> obs = SelectiveObserver(channel_weights={"arms_control_refused": 0.0}, buildup_weight=2)
    >>> obs._weights(("arms_control_refused", "use_of_force"))
    (2.0, array([0., 1.]))
    """

    kind: ClassVar[str] = "selective"
    description: ClassVar[str] = "Selective: weights on each signal channel and on buildups."
    fittable: ClassVar[bool] = False

    def __init__(
        self,
        types: TypeSpace | None = None,
        params: ModelParams | None = None,
        *,
        channel_weights: Mapping[str, float] | None = None,
        buildup_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(types, params, **kwargs)
        self.channel_weights = channel_weights
        self.buildup_weight = buildup_weight

    def _weights(self, channels: tuple[str, ...]) -> tuple[float, FloatArray]:
        wb = self.buildup_weight
        if (
            isinstance(wb, bool)
            or not isinstance(wb, (int, float))
            or not np.isfinite(wb)
            or wb < 0
        ):
            raise ParameterError(
                f"SelectiveObserver: `buildup_weight` must be a finite number >= 0; got {wb!r}."
            )
        cw = dict(self.channel_weights or {})
        unknown = [c for c in cw if c not in channels]
        if unknown:
            raise ParameterError(
                f"SelectiveObserver: `channel_weights` names channel(s) {unknown} that the "
                f"model does not have; its channels are {list(channels)}."
            )
        w = np.array([float(cw.get(c, 1.0)) for c in channels], dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(
                f"SelectiveObserver: `channel_weights` must be finite and >= 0; got {cw}."
            )
        return float(wb), w


#: The observer classes by kind: the one registry (the spec, the command line and the study
#: read it).
OBSERVER_KINDS: dict[str, type[Observer]] = {
    cls.kind: cls
    for cls in (Observer, NaiveObserver, BiasedObserver, TemperedObserver, SelectiveObserver)
}

#: The kinds the full Bayesian fit can express (``fittable``), in registry order.
FITTABLE_KINDS: tuple[str, ...] = tuple(k for k, c in OBSERVER_KINDS.items() if c.fittable)
