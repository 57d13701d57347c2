"""The model's parameters: the reaction function's (:class:`ModelParams`) and the signal
channels' (:class:`SignalParams`), validated on construction.

The equations that use them live in :mod:`secdilemma.model.equations` (which re-exports these
names); the neutral-world defaults of ``omega`` and ``delta`` are written here, once.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError
from secdilemma.model.types import TypeSpace

__all__ = [
    "DEFAULT_DELTA",
    "DEFAULT_OMEGA",
    "ModelParams",
    "SignalParams",
    "check_number",
    "short_repr",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

#: The neutral world when nothing says otherwise: offense advantage and distinguishability
#: both 0.5 (the threat multiplier is then 1). The one place these defaults are written.
DEFAULT_OMEGA = 0.5
DEFAULT_DELTA = 0.5


@dataclass(frozen=True)
class SignalParams:
    """Signal channels and their logistic coefficients.

    Parameters
    ----------
    names
        Channel names (coordinates of the ``signal`` dimension).
    eta0, eta_g, eta_f
        Intercept, greed loading and fear-times-threat loading per channel.
    posture
        Per channel, whether it records the rival's own force posture (default: none): a
        posture channel's greed loading is scaled by ``2 * delta`` (what postures reveal;
        :func:`secdilemma.model.equations.signal_greed_loading`).

    Examples
    --------
    >>> sp = SignalParams(("arms_control_refused",), eta0=[-2.0], eta_g=[2.5], eta_f=[0.0])
    >>> sp.n_channels
    1
    """

    names: tuple[str, ...]
    eta0: FloatArray = field(repr=False)
    eta_g: FloatArray = field(repr=False)
    eta_f: FloatArray = field(repr=False)
    posture: npt.NDArray[np.bool_] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        if len(set(names)) != len(names):
            raise ParameterError(f"SignalParams: channel names have duplicates: {list(names)}.")
        for arg in ("eta0", "eta_g", "eta_f"):
            arr = np.asarray(getattr(self, arg), dtype=float).reshape(-1)
            if arr.shape != (len(names),):
                raise ParameterError(
                    f"SignalParams: `{arg}` has {arr.size} values for {len(names)} channels "
                    f"{list(names)}; give one value per channel."
                )
            if not np.all(np.isfinite(arr)):
                raise ParameterError(f"SignalParams: `{arg}` must be finite; got {arr.tolist()}.")
            arr.setflags(write=False)
            object.__setattr__(self, arg, arr)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "posture", _posture_flags(self.posture, names))

    @property
    def n_channels(self) -> int:
        """Number of channels ``J``."""
        return len(self.names)

    def likelihood_ratio(
        self, types: TypeSpace, *, threat: float = 0.0, delta: float = 0.5
    ) -> FloatArray:
        """``P(s=1 | type)`` per channel and type, shape ``(J, K)``: how costly each signal is.

        ``delta`` (distinguishability) scales the greed loading of posture channels by
        ``2 * delta`` (no effect on other channels, nor at the default 1/2).
        """
        assert self.posture is not None
        eta_g = np.where(self.posture, 2.0 * float(delta), 1.0) * self.eta_g
        logit = (
            self.eta0[:, None]
            + eta_g[:, None] * types.greed[None, :]
            + self.eta_f[:, None] * types.fear[None, :] * threat
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for specs and NetCDF attrs)."""
        out: dict[str, Any] = {
            "names": list(self.names),
            "eta0": self.eta0.tolist(),
            "eta_g": self.eta_g.tolist(),
            "eta_f": self.eta_f.tolist(),
        }
        if self.posture is not None and self.posture.any():  # absent: no posture channel
            out["posture"] = self.posture.tolist()
        return out


@dataclass(frozen=True)
class ModelParams:
    """Parameters of the reaction function (see the module docstring for the equation).

    Scalars apply to every scenario; any of ``mu … delta`` may instead be an array that
    broadcasts against the leading (scenario) axes of the data, and ``omega``/``delta`` may
    vary by period (last axis). Defaults are a moderate dilemma in growth-rate units
    (log points per period): a greedy rival grows 5 % a year on its own; an insecure one
    answers a 10 % buildup with 6 %.

    Parameters
    ----------
    mu
        Common drift of the rival's buildup (all types).
    alpha
        Autonomous growth from greed (> 0 for identification).
    beta
        Fear response: spiral slope on the observer's increases (times ``h``) and
        reciprocation slope on its cuts.
    gamma
        Greed's exploitation of the observer's cuts (restraint is exploited).
    kappa
        Deterrence: how much a purely greedy rival holds back when the observer arms.
    lam
        Mean reversion of the rival's level towards ``anchor`` (0 = none).
    sigma
        Noise scale (> 0).
    nu
        Student-t degrees of freedom; ``None`` for Gaussian noise.
    omega, delta
        Offense advantage and offense-defense distinguishability, each in ``[0, 1]``. Unlike
        the other parameters they broadcast against ``(..., T)``: a scalar, a per-period
        series ``(T,)``, or per scenario ``(S, 1)``.
    anchor
        Level the rival reverts to when ``lam > 0`` (same units as ``x``).
    signals
        Signal channels, or ``None`` for buildups only.

    Examples
    --------
    >>> from secdilemma.model import threat_multiplier
    >>> p = ModelParams(beta=0.8, omega=0.9, delta=0.1)
    >>> round(float(threat_multiplier(p.omega, p.delta)), 6)
    1.8
    """

    mu: ArrayLike = 0.0
    alpha: ArrayLike = 0.05
    beta: ArrayLike = 0.6
    gamma: ArrayLike = 0.6
    kappa: ArrayLike = 0.3
    lam: ArrayLike = 0.0
    sigma: ArrayLike = 0.05
    nu: float | None = None
    omega: ArrayLike = DEFAULT_OMEGA
    delta: ArrayLike = DEFAULT_DELTA
    anchor: ArrayLike = 0.0
    signals: SignalParams | None = None

    _NONNEG = ("alpha", "beta", "gamma", "kappa", "lam")

    def __post_init__(self) -> None:
        for f in fields(self):
            name = f.name
            if name in ("nu", "signals"):
                continue
            arr = np.asarray(getattr(self, name), dtype=float)
            if not np.all(np.isfinite(arr)):
                raise ParameterError(
                    f"ModelParams: `{name}` must be finite (no NaN or inf); got {short_repr(arr)}."
                )
            if name in self._NONNEG and np.any(arr < 0):
                raise ParameterError(
                    f"ModelParams: `{name}` is a magnitude and must be >= 0 (the sign is fixed "
                    f"by the type's loadings); got {short_repr(arr)}."
                )
            if name == "sigma" and np.any(arr <= 0):
                raise ParameterError(f"ModelParams: `sigma` must be > 0; got {short_repr(arr)}.")
            if name in ("omega", "delta") and np.any((arr < 0) | (arr > 1)):
                raise ParameterError(
                    f"ModelParams: `{name}` must lie in [0, 1] (0 = none, 1 = full); "
                    f"got {short_repr(arr)}."
                )
        if self.nu is not None and (not np.isfinite(self.nu) or self.nu <= 0):
            raise ParameterError(
                f"ModelParams: `nu` (Student-t degrees of freedom) must be > 0 or None for "
                f"Gaussian noise; got {self.nu}."
            )
        if self.signals is not None and not isinstance(self.signals, SignalParams):
            raise ParameterError("ModelParams: `signals` must be a SignalParams or None.")

    def replace(self, **changes: Any) -> ModelParams:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ParameterError(
                f"ModelParams.replace: unknown field(s) {sorted(unknown)}; fields are "
                f"{[f.name for f in fields(self)]}."
            )
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for specs and NetCDF attrs); arrays become lists."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "signals":
                out[f.name] = None if v is None else v.to_dict()
            elif v is None or isinstance(v, (int, float)):
                out[f.name] = v
            else:
                arr = np.asarray(v, dtype=float)
                out[f.name] = arr.item() if arr.ndim == 0 else arr.tolist()
        return out


def _posture_flags(posture: Any, names: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    """One read-only bool per channel: ``None`` (no posture channel) or one flag each."""
    if posture is None:
        flags = np.zeros(len(names), dtype=bool)
    else:
        raw = np.asarray(posture).reshape(-1)
        if (
            raw.shape != (len(names),)
            or raw.dtype.kind not in "bi"
            or not np.all((raw == 0) | (raw == 1))
        ):
            raise ParameterError(
                f"SignalParams: `posture` must give one flag (True/False) per channel "
                f"{list(names)}; got {posture!r}."
            )
        flags = raw.astype(bool)
    flags.setflags(write=False)
    return flags


def short_repr(arr: npt.NDArray[Any]) -> str:
    flat = np.ravel(arr)
    return repr(flat[:6].tolist()) + (" ..." if flat.size > 6 else "")


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str = "",
) -> float:
    """``value`` as a finite float within the bounds, else :class:`ParameterError` naming it.

    A string (``"0.9"``), a bool, NaN or an infinity is refused; ``where`` (e.g. the
    function's name) starts the message.

    Examples
    --------
    >>> check_number(0.9, "ci_prob", low=0.0, high=1.0, low_open=True, high_open=True)
    0.9
    >>> check_number("0.9", "ci_prob", low=0.0, high=1.0)
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: `ci_prob` must be a number in [0.0, 1.0]; got '0.9' (str).
    """
    prefix = f"{where}: " if where else ""
    if low is not None and high is not None:
        span = f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        span = f" {'>' if low_open else '>='} {low}"
    elif high is not None:
        span = f" {'<' if high_open else '<='} {high}"
    else:
        span = ""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{prefix}`{name}` must be a number{span}; got {value!r} ({type(value).__name__})."
        )
    v = float(value)
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if not np.isfinite(v) or below or above:
        raise ParameterError(f"{prefix}`{name}` must be a finite number{span}; got {v}.")
    return v
