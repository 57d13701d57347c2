"""Safe storage of results: NetCDF only (never pickle), written atomically.

A result is written to a temporary file in the destination folder and renamed into place,
so a crash never leaves a half-written file, and an existing file is never replaced unless
``overwrite=True`` is given. A run that writes several files (:class:`OutputRun`) checks
every path before anything is computed, writes into a hidden staging folder beside the
destination and moves the files into place at the end, so a folder holds a whole run or
nothing. Files and folders get the permissions the user's umask allows, as any other write.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from secdilemma._version import __version__
from secdilemma.errors import DataError, OutputError, OutputExistsError

__all__ = ["OutputRun", "atomic_write", "load_dataset", "save_dataset"]


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; choose another path or pass overwrite=True "
            "(--overwrite on the command line) to replace it."
        )
    if path.exists() and path.is_dir():
        raise OutputExistsError(f"{path} is a folder; give a file path.")


def atomic_write(path: str | os.PathLike[str], write: Any, *, overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path`` (same folder, atomic).

    Refuses to replace an existing ``path`` unless ``overwrite`` is true. Temporaries that a
    killed earlier write to the same ``path`` left behind are removed first.
    """
    target = Path(path)
    _check_target(target, overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a killed write
            stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write {target} ({exc.strerror or exc}); give a path you can write to."
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        _check_target(target, overwrite)  # something may have appeared meanwhile
        tmp_path.chmod(_file_mode())  # mkstemp makes 0600; honour the umask instead
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~_umask()


def _dir_mode() -> int:
    return 0o777 & ~_umask()


_STAGING = ".partial-"


class OutputRun:
    """All-or-nothing output of one run: every path checked first, files moved in at the end.

    Parameters
    ----------
    folder
        The run's output folder.
    files
        Every file the run will write, relative to ``folder`` (e.g. ``"exact/posterior.nc"``).
    overwrite
        Replace files that exist (other files in ``folder`` are left alone).

    Use :meth:`path` for where to write each file while the run is in progress; leaving the
    ``with`` block normally moves them into ``folder``; an error leaves ``folder`` as it was.
    Leftover staging folders of crashed runs into the same folder are removed on the next run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with OutputRun(out, ["a.txt", "sub/b.txt"]) as run:
    ...     _ = run.path("a.txt").write_text("a")
    ...     _ = run.path("sub/b.txt").write_text("b")
    >>> sorted(str(p.relative_to(out)) for p in out.rglob("*.txt"))
    ['a.txt', 'sub/b.txt']
    """

    def __init__(
        self, folder: str | os.PathLike[str], files: Sequence[str], *, overwrite: bool = False
    ) -> None:
        self.folder = Path(folder)
        self.files = tuple(files)
        self.overwrite = overwrite
        self._stage: Path | None = None
        self.check()

    def check(self) -> None:
        """Refuse before any work: a folder path that is a file, a parent that cannot be
        written, or a file that exists (without ``overwrite``)."""
        for parent in (self.folder, *self.folder.parents):
            if parent.exists():
                if not parent.is_dir():
                    raise OutputError(f"{parent} is a file, not a folder; give a folder path.")
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise OutputError(f"{parent} cannot be written; give a folder you can write.")
                break
        for f in self.files:
            target = self.folder / f
            if target.exists() and (not self.overwrite or target.is_dir()):
                _check_target(target, self.overwrite)

    def path(self, name: str) -> Path:
        """Where to write ``name`` (one of ``files``) during the run."""
        if self._stage is None:
            raise RuntimeError("OutputRun.path() is for use inside the `with` block.")
        if name not in self.files:
            raise ValueError(f"{name!r} is not among this run's declared files {self.files}.")
        p = self._stage / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def __enter__(self) -> OutputRun:
        self.check()
        parent = self.folder.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            for old in parent.glob(f".{self.folder.name}{_STAGING}*"):
                shutil.rmtree(old, ignore_errors=True)
            stage = tempfile.mkdtemp(prefix=f".{self.folder.name}{_STAGING}", dir=parent)
        except OSError as exc:
            raise OutputError(
                f"cannot write results under {self.folder} ({exc.strerror or exc}); "
                "give a folder you can write to."
            ) from None
        self._stage = Path(stage)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        stage, self._stage = self._stage, None
        assert stage is not None
        try:
            if exc_type is None:
                self._commit(stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _commit(self, stage: Path) -> None:
        missing = [f for f in self.files if not (stage / f).is_file()]
        if missing:
            raise RuntimeError(f"the run did not write {missing}; nothing was moved into place.")
        for d in (stage, *[p for p in stage.rglob("*") if p.is_dir()]):
            d.chmod(_dir_mode())
        for f in self.files:
            (stage / f).chmod(_file_mode())
        self.check()  # something may have appeared meanwhile
        if not self.folder.exists():
            os.replace(stage, self.folder)  # the whole run appears at once
            stage.mkdir()  # so that the cleanup in __exit__ finds what it expects
            return
        for f in self.files:
            target = self.folder / f
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / f, target)


def _jsonable_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, (str, int, float)):
            out[k] = v
        elif isinstance(v, bool):
            out[k] = int(v)
        else:
            out[k] = json.dumps(v, default=str)
    return out


def save_dataset(
    ds: xr.Dataset | xr.DataTree, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a Dataset or DataTree to NetCDF atomically; the package version goes into attrs.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> d = tempfile.mkdtemp()
    >>> p = save_dataset(xr.Dataset({"a": ("period", [1.0, 2.0])}), f"{d}/r.nc")
    >>> load_dataset(p)["a"].values.tolist()
    [1.0, 2.0]
    >>> save_dataset(xr.Dataset(), p)
    Traceback (most recent call last):
    ...
    secdilemma.errors.OutputExistsError: ... already exists; ...
    """
    out = ds.copy()
    out.attrs = _jsonable_attrs(
        {**{str(k): v for k, v in out.attrs.items()}, "secdilemma_version": __version__}
    )
    if isinstance(out, xr.DataTree):
        return atomic_write(
            path, lambda p: out.to_netcdf(p, engine="h5netcdf"), overwrite=overwrite
        )
    # object (string) variables are stored as variable-length strings
    return atomic_write(path, lambda p: out.to_netcdf(p, engine="h5netcdf"), overwrite=overwrite)


def load_dataset(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a NetCDF result written by :func:`save_dataset` (fully loaded, file closed).

    Raises
    ------
    DataError
        No such file, or a file that is not readable NetCDF.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> result = xr.Dataset({"p_greed": ("period", [0.5, 0.7])}, attrs={"title": "a run"})
    >>> path = save_dataset(result, f"{tempfile.mkdtemp()}/belief.nc")
    >>> ds = load_dataset(path)  # in memory: the file is closed again
    >>> ds["p_greed"].values.tolist(), ds.attrs["title"], "secdilemma_version" in ds.attrs
    ([0.5, 0.7], 'a run', True)
    >>> load_dataset("no_such_result.nc")
    Traceback (most recent call last):
    ...
    secdilemma.errors.DataError: no_such_result.nc: no such result file; check the path.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such result file; check the path.")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            return ds.load()
    except OSError as exc:
        raise DataError(f"{p}: not a readable NetCDF file ({exc}).") from None
