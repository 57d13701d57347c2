"""User-set losses of the deter / defend / reassure decision, and the stage cost they define.

Every period the observer makes a move ``u`` with a posture ``d`` (deter: arm, offensive or
ambiguous; defend: arm, distinguishably defensive; reassure: restrain), the rival answers
with ``y`` (its change ``dx`` one period later, drawn from the generative model, where the
posture sets the threat ``h(omega, delta, d)`` and the deterrence ``k(omega, d)``; see
:mod:`secdilemma.model.equations`), and the observer loses

* **arms spending** ``arms * max(u, 0)``: what its own buildup costs (the same for either
  posture);
* **crisis or war risk**: a hazard ``1 - exp(-(hazard_base + hazard_slope * tension))`` of a war
  that costs ``war``, where ``tension = s(omega) * (o * max(u, 0) + max(y, 0))`` is the
  arms-race intensity (both sides' buildups) times the stakes ``s(omega) = 1/2 + omega``
  (:func:`secdilemma.model.war_stakes`): offense advantage is the first-strike and pre-emption
  advantage, so the same race is more dangerous when the offense dominates. The observer's
  own buildup counts by its offensive share ``o = h(omega, delta, d) / (1 + omega)``: 1 for
  an offensive or ambiguous buildup (deter), ``max(0, 1 + omega - 2 delta) / (1 + omega)``
  for a defensive one (defend), 0 where distinguishable defensive forces threaten no one, so
  they create no first-strike or pre-emption incentive (Jervis 1978). Distinguishability
  ``delta`` thus enters the hazard only through the posture: the threat a defensive buildup
  avoids posing, and the rival's spiral ``max(y, 0)`` it avoids setting off. (Before issue
  12 the tension was amplified by ``h = 1 + omega - delta``, which tied the two variables
  into one number.) War is absorbing: the expected loss of later periods is weighted by the
  probability of no war so far;
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
``hazard_slope``    0.15     an intense race (both sides +10 %/yr at ``s = 1``, the neutral
                             ``omega = 1/2``: tension 0.2)
                             adds about 3 % war risk a year, so a decade of it ends in war
                             about one time in four — arms races that often, not always, end
                             in war (Wallace 1979).
``exploitation``    2.0      a unit of relative gain by a greedy rival costs twice a unit of own
                             spending: the gain is converted into coercive leverage.
``exploit_offense`` 1.0      doubles the exploitation cost when offense dominates (omega = 1).
``discount``        0.95     annual periods; the usual 5 % rate.
==================  =======  ==================================================================

Jervis's four worlds and the threshold p*
------------------------------------------
With the default :class:`~secdilemma.model.ModelParams`, the actions deter/defend ``+0.10``,
reassure ``-0.10`` and 10 periods (tests/test_worlds.py checks each statement, with the
defaults and with the reference parameters):

* **doubly stable** (defense dominant, distinguishable: ``omega = 0, delta = 1``): a defensive
  buildup threatens no one (``h = 0``, no hazard of its own) and deters twice (``k = 2``):
  the smallest expected losses of the four worlds, and defend is the best action against an
  uncertain rival;
* **doubly dangerous** (``omega = 1, delta = 0``): a defensive buildup threatens as much as an
  offensive one (``h = 2``) and deters nothing (``k = 0``), exploitation and war cost most:
  the largest expected losses under every action (deter and reassure do not depend on
  ``delta``, so there they tie with the other offense-dominant world);
* **where knowing the type is worth most** (EVPI, derived, not assumed). EVPI is the
  prior-weighted regret of the best action against the types it is wrong for. In the doubly
  dangerous world every buildup is an offensive one, so the only alternative to reassure is
  deter, whose saving against greed is ``Δ_G = U[deter, greedy] - U[reassure, greedy]``:
  the exploitation it prevents and the rival's buildup it deters (the slope ``kappa``) minus
  the war hazard its own offensive buildup adds. Where deterrence works (the defaults,
  ``kappa`` 0.3) that saving is large, no action is safe against every type, and the doubly
  dangerous world has **the largest EVPI** (1.57 against 0.85, 0.46, 0.33). Where it barely
  works, reassure is nearly as good as deter even against a greedy rival, knowing the type
  changes little, and the largest EVPI moves to the distinguishable worlds, where defend
  (no threat, no hazard of its own) is the better answer to greed and reassure the better
  answer to fear. With the reference (``kappa`` 0.029, 90 % interval 0.010-0.061) the
  doubly dangerous EVPI is 0.18 against 0.27; it becomes the largest only from ``kappa* ~
  0.15`` (the other coefficients at the reference), above the pool's whole interval: in
  these rivalries a greedy rival's buildup answers the observer's too little for Jervis's
  claim to hold;
* **the mixed worlds** differ in what each variable does: omega moves every committed loss
  (stakes, exploitation, spiral), so under deter and under reassure *defense dominant,
  indistinguishable* (``omega = 0, delta = 0``) is the safer; delta is what makes defend
  differ from deter, so defend's advantage over deter is small there (the same threat
  ``h = 1``, twice the deterrence) and large in *offense dominant, distinguishable*
  (``omega = 1, delta = 1``), where a defensive buildup threatens no one and adds no
  hazard (``h = 0``) though it deters nothing (``k = 0``): there defend is the best action,
  Jervis's "status-quo powers can adopt postures different from aggressors'".

**The direction of p* in omega** (derived; tests/test_worlds.py checks it). Between deter and
reassure, with two types, ``p* = Δ_I / (Δ_I + Δ_G)`` where ``Δ_G = U[deter, greedy] -
U[reassure, greedy]`` is what deterrence saves against greed and ``Δ_I = U[reassure,
insecure] - U[deter, insecure]`` what reassurance saves against fear (each ``> 0``), so
``sign(dp*/domega) = sign(Δ_G * dΔ_I/domega - Δ_I * dΔ_G/domega)``: p* falls with omega iff
the cost of reassuring greed grows *relatively* faster with omega than the cost of deterring
fear. Omega raises ``Δ_G`` through the exploitation weight ``1 + exploit_offense*omega``
(linear in omega) and ``Δ_I`` through the spiral ``beta*(1 + omega)*u`` times the war
stakes ``1/2 + omega`` (quadratic in omega). So the direction depends on the parameters:

* with the reference parameters (a weak spiral, ``beta`` 0.053) exploitation dominates and
  **p* falls** as omega rises (0.948, 0.933, 0.892 at omega 0, 0.5, 1): Kydd's direction;
* with the default parameters (a strong spiral, ``beta`` 0.6) the spiral-and-war term
  dominates and **p* rises** (0.535, 0.569, 0.592).

In Kydd's (2005) normalisation (mutual cooperation 1, mutual defection 0, temptation ``t``,
sucker's payoff ``-c``; ``t = (U[deter, insecure] - U[deter, greedy]) / (U[reassure,
insecure] - U[deter, greedy])``, ``c = (U[deter, greedy] - U[reassure, greedy]) /
(U[reassure, insecure] - U[deter, greedy])``) the observer reassures iff the trust ``1 - p``
exceeds ``c / (1 + c - t)``, which is exactly ``1 - p*``. Kydd's offense dominance raises
the sucker's cost ``c``, so his trust threshold rises and p* falls; in this model it does so
where exploitation dominates (the reference), while with the defaults ``t`` falls (a
deterrent buildup against a security seeker sets off a costlier spiral) and outweighs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model import war_stakes

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
        omega: npt.ArrayLike,
        threat: npt.ArrayLike | None = None,
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
        omega
            Offense advantage: the stakes of the war hazard (:func:`~secdilemma.model.war_stakes`)
            and the weight of exploitation.
        threat
            The threat ``h(omega, delta, d)`` of the observer's buildup
            (:func:`~secdilemma.model.threat_multiplier` at the posture ``d`` played); the
            buildup adds to the hazard by its offensive share ``threat / (1 + omega)`` (1 for
            an offensive or ambiguous buildup, 0 for a defensive one that threatens no one).
            ``None``: an offensive buildup.

        Returns
        -------
        arms, exploitation, hazard
            Arms cost, exploitation cost and the war hazard of the period (all broadcast);
            the expected war loss is ``hazard * self.war``.

        Examples
        --------
        >>> a, e, hz = Losses().stage(0.1, 0.06, 0.0, 0.5)
        >>> float(a), float(e), round(float(hz), 4)
        (0.1, 0.0, 0.0257)
        """
        u_a = np.asarray(u, dtype=float)
        y_a = np.asarray(y, dtype=float)
        om = np.asarray(omega, dtype=float)
        up = np.maximum(u_a, 0.0)
        arms = self.arms * up
        share = 1.0 if threat is None else np.asarray(threat, dtype=float) / (1.0 + om)
        own = share * up  # a defensive buildup adds to the hazard by its threat only
        tension = war_stakes(om) * (own + np.maximum(y_a, 0.0))
        hazard = -np.expm1(-(self.hazard_base + self.hazard_slope * tension))
        weight = self.exploitation * (1.0 + self.exploit_offense * om)
        exploit = weight * np.asarray(greed, dtype=float) * np.maximum(y_a - u_a, 0.0)
        return (
            np.asarray(arms, dtype=float),
            np.asarray(exploit, dtype=float),
            np.asarray(hazard, dtype=float),
        )
