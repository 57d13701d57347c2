"""Typed exceptions raised by secdilemma.

Every error message says *what* was wrong, *where* (file, column, row, key or
argument) and *what to do*. Catch :class:`SecdilemmaError` to handle any of them.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "NotFittedError",
    "OutputError",
    "OutputExistsError",
    "ParameterError",
    "SecdilemmaError",
    "SpecError",
]


class SecdilemmaError(Exception):
    """Base class of every error raised on purpose by secdilemma."""


class DataError(SecdilemmaError, ValueError):
    """A data file, table or series is malformed, missing or inconsistent.

    The message names the file (or argument), the column and the row where it can.
    """


class ParameterError(SecdilemmaError, ValueError):
    """A model parameter, prior or argument has an invalid value or shape.

    The message names the argument and the allowed values.
    """


class SpecError(SecdilemmaError, ValueError):
    """A model spec (TOML) is invalid: the message names the file, the key and what is allowed."""


class NotFittedError(SecdilemmaError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``."""


class OutputError(SecdilemmaError, OSError):
    """A result cannot be written where it was asked to go (not a folder, not writable)."""


class OutputExistsError(OutputError, FileExistsError):
    """A result would overwrite an existing file; pass ``overwrite=True`` (``--overwrite``)."""
