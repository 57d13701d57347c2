"""User-set losses of the deter-versus-reassure decision, and the stage cost they define.

Every period the observer makes a move ``u`` (deter: arm; reassure: restrain), the rival
answers with ``y`` (its change ``dx`` one period later, drawn from the generative model), and
the observer loses

* **arms spending** ``arms * max(u, 0)``: what its own buildup costs;
* **crisis or war risk**: a hazard ``1 - exp(-(hazard_base + hazard_slope * tension))`` of a war
  that costs ``war``, where ``tension = h(omega, delta) * (max(u, 0) + max(y, 0))`` is the
  arms-race intensity (both sides' buildups) amplified by offense advantage and damped by
  distinguishable defensive postures (``h = 1 + omega - delta``, docs/model.md section 2.2). War is
  absorbing: the expected loss of later periods is weighted by the probability of no war so far;
* **exploitation** ``exploitation * (1 + exploit_offense * omega) * g * max(y - u, 0)``: the
  rival's relative gain, counted in proportion to its greed loading ``g`` (a purely insecure
  rival does not use a lead against us). Jervis (1978): when the offense has the advantage,
  being exploited costs more, hence the ``omega`` weight.

Losses are discounted by ``discount`` per period. All fields are non-negative magnitudes; the
signs are fixed here, so a negative value raises :class:`~secdilemma.errors.ParameterError`.

Defaults and why
----------------
Units follow :class:`~secdilemma.model.ModelParams`: moves are growth rates in log points per
period (years), and one loss unit is the cost of raising one's own military budget by one log
point for one period (so ``arms = 1`` is the numeraire; a 10 % deterrent buildup costs 0.1).

==================  =======  ==================================================================
field               default  why
==================  =======  ==================================================================
``arms``            1.0      numeraire (see above).
``war``             20.0     a major war costs two orders of magnitude more than a year of a
                             10 % deterrent buildup (0.1); the ranking of actions turns on
                             the ratio ``war / arms``, so sweep it.
``hazard_base``     0.002    background war onset of about 1 per 500 dyad-years, the order of
                             the Correlates of War rate for rival dyads; equal for every
                             action, it only weights later periods.
``hazard_slope``    0.15     an intense race (both sides +10 %/yr at ``h = 1``: tension 0.2)
                             adds about 3 % war risk a year, so a decade of it ends in war
                             about one time in four — arms races that often, not always, end
                             in war (Wallace 1979).
``exploitation``    2.0      a unit of relative gain by a greedy rival costs twice a unit of own
                             spending: the gain is converted into coercive leverage.
``exploit_offense`` 1.0      doubles the exploitation cost when offense dominates (omega = 1).
``discount``        0.95     annual periods; the usual 5 % rate.
==================  =======  ==================================================================

With the default :class:`~secdilemma.model.ModelParams` and moves ``deter = +0.10``,
``reassure = -0.10`` over 10 periods, the greedy-versus-insecure threshold p* is about 0.54
at the neutral ``omega = delta = 0.5`` (0.24 in the doubly stable world, 0.65 in the doubly
dangerous one),
and for a mixed rival deterrence is better in a defense-dominant, distinguishable world and
reassurance in an offense-dominant, indistinguishable one (the "bad options" of the seed
texts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError

__all__ = ["Losses"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Losses:
    """Loss magnitudes of the decision model (see the module docstring for the formulas).

    Parameters
    ----------
    arms
        Cost per log point of the observer's own buildup (the numeraire).
    war
        Cost of a war (absorbing: the game ends).
    hazard_base, hazard_slope
        Per-period war hazard ``1 - exp(-(hazard_base + hazard_slope * tension))``.
    exploitation
        Cost per log point of relative gain by a rival with greed.
    exploit_offense
        Extra weight of exploitation per unit of offense advantage ``omega``.
    discount
        Per-period discount factor in ``(0, 1]``.

    Examples
    --------
    >>> Losses().war
    20.0
    >>> Losses(war=-1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: Losses: `war` is a loss magnitude ... got -1.0.
    """

    arms: float = 1.0
    war: float = 20.0
    hazard_base: float = 0.002
    hazard_slope: float = 0.15
    exploitation: float = 2.0
    exploit_offense: float = 1.0
    discount: float = 0.95

    def __post_init__(self) -> None:
        for f in fields(self):
            raw = getattr(self, f.name)
            if isinstance(raw, bool) or not isinstance(raw, (int, float, np.integer, np.floating)):
                raise ParameterError(f"Losses: `{f.name}` must be a number; got {raw!r}.")
            v = float(raw)
            if f.name == "discount":
                if not np.isfinite(v) or not 0.0 < v <= 1.0:
                    raise ParameterError(f"Losses: `discount` must lie in (0, 1]; got {v}.")
            elif not np.isfinite(v) or v < 0:
                raise ParameterError(
                    f"Losses: `{f.name}` is a loss magnitude and must be finite and >= 0; got {v}."
                )
            object.__setattr__(self, f.name, v)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Losses:
        """Build from plain data (e.g. a model spec's ``[decision.losses]`` table)."""
        if values is None:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ParameterError(
                f"Losses: unknown key(s) {sorted(unknown)}; allowed keys are {sorted(known)}."
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, float]:
        """Plain-data form (for specs and attrs)."""
        return asdict(self)

    def stage(
        self,
        u: npt.ArrayLike,
        y: npt.ArrayLike,
        greed: npt.ArrayLike,
        h: npt.ArrayLike,
        omega: npt.ArrayLike,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Stage loss of one period: a decision ``u`` and outcome samples in, a score out.

        Parameters
        ----------
        u
            The observer's move (its change in the period).
        y
            The rival's reaction to it (its change).
        greed
            The rival's greed loading (its true type's, in a simulation).
        h, omega
            Threat multiplier ``1 + omega - delta`` and offense advantage.

        Returns
        -------
        arms, exploitation, hazard
            Arms cost, exploitation cost and the war hazard of the period (all broadcast);
            the expected war loss is ``hazard * self.war``.

        Examples
        --------
        >>> a, e, hz = Losses().stage(0.1, 0.06, 0.0, 1.0, 0.5)
        >>> float(a), float(e), round(float(hz), 4)
        (0.1, 0.0, 0.0257)
        """
        u_a = np.asarray(u, dtype=float)
        y_a = np.asarray(y, dtype=float)
        up = np.maximum(u_a, 0.0)
        arms = self.arms * up
        tension = np.asarray(h, dtype=float) * (up + np.maximum(y_a, 0.0))
        hazard = -np.expm1(-(self.hazard_base + self.hazard_slope * tension))
        weight = self.exploitation * (1.0 + self.exploit_offense * np.asarray(omega, dtype=float))
        exploit = weight * np.asarray(greed, dtype=float) * np.maximum(y_a - u_a, 0.0)
        return (
            np.asarray(arms, dtype=float),
            np.asarray(exploit, dtype=float),
            np.asarray(hazard, dtype=float),
        )
