"""Rival type spaces: the values of the ``rival_type`` dimension and their motive loadings.

Each type is decomposed into two motive loadings (Glaser 1995, 2010): greed ``g``
(wants to change the status quo even when secure) and fear ``f`` (arms because it is
afraid). The default space is

=========  =====  ====
type       greed  fear
=========  =====  ====
greedy     1      0
insecure   0      1
mixed      1      1
secure     0      0   (optional)
=========  =====  ====

User-defined types may use any loadings in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from secdilemma.errors import ParameterError

__all__ = ["DEFAULT_LOADINGS", "TypeSpace"]

#: Motive loadings (greed, fear) of the named types of docs/model.md section 1.
DEFAULT_LOADINGS: dict[str, tuple[float, float]] = {
    "greedy": (1.0, 0.0),
    "insecure": (0.0, 1.0),
    "mixed": (1.0, 1.0),
    "secure": (0.0, 0.0),
}


@dataclass(frozen=True)
class TypeSpace:
    """An ordered set of rival types with their motive loadings.

    Parameters
    ----------
    names
        Type names, used as the coordinates of the ``rival_type`` dimension.
    greed, fear
        Motive loadings, one per type, each in ``[0, 1]``.

    Examples
    --------
    >>> ts = TypeSpace.default()
    >>> ts.names
    ('greedy', 'insecure', 'mixed')
    >>> TypeSpace.default(secure=True).n_types
    4
    >>> TypeSpace.from_loadings({"hawk": (0.8, 0.2), "dove": (0.1, 0.6)}).greed.tolist()
    [0.8, 0.1]
    """

    names: tuple[str, ...]
    greed: npt.NDArray[np.float64] = field(repr=False)
    fear: npt.NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        greed = np.asarray(self.greed, dtype=float).reshape(-1)
        fear = np.asarray(self.fear, dtype=float).reshape(-1)
        if len(names) == 0:
            raise ParameterError("TypeSpace: `names` is empty; give at least one rival type.")
        if len(set(names)) != len(names):
            raise ParameterError(f"TypeSpace: `names` has duplicates: {list(names)}.")
        for arg, arr in (("greed", greed), ("fear", fear)):
            if arr.shape != (len(names),):
                raise ParameterError(
                    f"TypeSpace: `{arg}` has {arr.size} loadings but there are {len(names)} types "
                    f"{list(names)}; give one loading per type."
                )
            if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
                raise ParameterError(
                    f"TypeSpace: `{arg}` loadings must be finite and in [0, 1]; got {arr.tolist()}."
                )
        greed.setflags(write=False)
        fear.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "greed", greed)
        object.__setattr__(self, "fear", fear)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def default(cls, *, secure: bool = False) -> TypeSpace:
        """Greedy, insecure and mixed (and ``secure`` when asked)."""
        names = ["greedy", "insecure", "mixed"] + (["secure"] if secure else [])
        return cls.from_names(names)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> TypeSpace:
        """Build a space from names in :data:`DEFAULT_LOADINGS`."""
        names = list(names)
        unknown = [n for n in names if n not in DEFAULT_LOADINGS]
        if unknown:
            raise ParameterError(
                f"TypeSpace.from_names: unknown type name(s) {unknown}; known names are "
                f"{list(DEFAULT_LOADINGS)}. Use TypeSpace.from_loadings for user-defined types."
            )
        return cls.from_loadings({n: DEFAULT_LOADINGS[n] for n in names})

    @classmethod
    def from_loadings(cls, loadings: Mapping[str, Sequence[float]]) -> TypeSpace:
        """Build a space from ``{name: (greed, fear)}``."""
        bad = [k for k, v in loadings.items() if len(tuple(v)) != 2]
        if bad:
            raise ParameterError(
                f"TypeSpace.from_loadings: each type needs exactly (greed, fear); check {bad}."
            )
        names = tuple(loadings)
        return cls(
            names=names,
            greed=np.array([float(loadings[n][0]) for n in names]),
            fear=np.array([float(loadings[n][1]) for n in names]),
        )

    # -- queries ------------------------------------------------------------------------------
    @property
    def n_types(self) -> int:
        """Number of types ``K``."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of ``name`` in the space; :class:`ParameterError` if unknown."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ParameterError(
                f"unknown rival type {name!r}; this type space has {list(self.names)}."
            ) from None

    def indices(self, names: str | Iterable[str]) -> npt.NDArray[np.intp]:
        """Positions of several names (a single name gives a 0-d array)."""
        if isinstance(names, str):
            return np.asarray(self.index(names), dtype=np.intp)
        return np.asarray([self.index(n) for n in names], dtype=np.intp)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain-data form ``{name: [greed, fear]}`` (for specs and NetCDF attrs)."""
        return {
            n: [float(g), float(f)]
            for n, g, f in zip(self.names, self.greed, self.fear, strict=True)
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeSpace):
            return NotImplemented
        return (
            self.names == other.names
            and np.array_equal(self.greed, other.greed)
            and np.array_equal(self.fear, other.fear)
        )

    def __hash__(self) -> int:
        return hash((self.names, self.greed.tobytes(), self.fear.tobytes()))
