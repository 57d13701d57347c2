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
    """Base class of every error raised on purpose by secdilemma.

    Examples
    --------
    >>> import secdilemma as sd
    >>> try:
    ...     sd.ModelParams(sigma=-1.0)
    ... except sd.SecdilemmaError as exc:  # any of them; each is also a builtin error
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    ParameterError True
    """


class DataError(SecdilemmaError, ValueError):
    """A data file, table or series is malformed, missing or inconsistent.

    The message names the file (or argument), the column and the row where it can.

    Examples
    --------
    >>> import secdilemma as sd
    >>> sd.load_case("atlantis")
    Traceback (most recent call last):
    ...
    secdilemma.errors.DataError: argument 'name': unknown case 'atlantis'. Cases are [...].
    """


class ParameterError(SecdilemmaError, ValueError):
    """A model parameter, prior or argument has an invalid value or shape.

    The message names the argument and the allowed values.

    Examples
    --------
    >>> import secdilemma as sd
    >>> sd.ModelParams(sigma=-1.0)
    Traceback (most recent call last):
    ...
    secdilemma.errors.ParameterError: ModelParams: `sigma` must be > 0; got [-1.0].
    """


class SpecError(SecdilemmaError, ValueError):
    """A model spec (TOML) is invalid: the message names the file, the key and what is allowed.

    Examples
    --------
    >>> import secdilemma as sd
    >>> sd.ModelSpec.from_dict({"priors": {"sigmaa": 0.1}})
    Traceback (most recent call last):
    ...
    secdilemma.errors.SpecError: <dict>: unknown key 'priors.sigmaa'; ... Did you mean 'sigma'?
    """


class NotFittedError(SecdilemmaError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``.

    Examples
    --------
    >>> import secdilemma as sd
    >>> model = sd.PerceptionModel(sd.ModelSpec.from_dict({}), data=sd.simulate(n_periods=5))
    >>> model.type_posterior()  # no .fit() yet
    Traceback (most recent call last):
    ...
    secdilemma.errors.NotFittedError: PerceptionModel('model', not fitted): call .fit() first ...
    """


class OutputError(SecdilemmaError, OSError):
    """A result cannot be written where it was asked to go (not a folder, not writable).

    Examples
    --------
    >>> import pathlib, tempfile, xarray as xr
    >>> import secdilemma as sd
    >>> a_file = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = a_file.write_text("not a folder")
    >>> sd.save_dataset(xr.Dataset(), a_file / "result.nc")
    Traceback (most recent call last):
    ...
    secdilemma.errors.OutputError: cannot write .../notes.txt/result.nc (...); give a path ...
    """


class OutputExistsError(OutputError, FileExistsError):
    """A result would overwrite an existing file; pass ``overwrite=True`` (``--overwrite``).

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> import secdilemma as sd
    >>> path = sd.save_dataset(xr.Dataset({"a": ("t", [1.0])}), f"{tempfile.mkdtemp()}/r.nc")
    >>> try:
    ...     sd.save_dataset(xr.Dataset(), path)
    ... except sd.OutputExistsError as exc:  # also an OutputError and a FileExistsError
    ...     print(isinstance(exc, FileExistsError), "overwrite=True" in str(exc))
    True True
    >>> _ = sd.save_dataset(xr.Dataset(), path, overwrite=True)
    """
