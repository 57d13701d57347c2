"""secdilemma: Bayesian perception inference in the security dilemma."""

from secdilemma._version import __version__
from secdilemma.errors import DataError, NotFittedError, ParameterError, SecdilemmaError, SpecError

__all__ = [
    "DataError",
    "NotFittedError",
    "ParameterError",
    "SecdilemmaError",
    "SpecError",
    "__version__",
]
