"""A nutpie-compiled PyMC model whose machine code numba caches on disk, across processes.

Why this exists
---------------
``nutpie.compile_pymc_model`` has PyTensor's numba backend generate the log density and its
gradient (that part numba caches on disk), then wraps it in a ``numba.cfunc`` that the Rust
sampler calls. The wrapper cannot be cached (it closes over per-process random keys and the
data arrays: "uses dynamic globals"), and compiling it makes LLVM re-optimise the whole
inlined log density: 35 s of the 40 s a fresh process spends before the naval case's 1.3 s
of sampling (benchmarks/README.md).

Here the wrapper is written as source into a file named by PyTensor's own cache key of the
compiled graph (so a file stands for exactly one graph), with ``cache=True``: the first
process compiles and numba stores the machine code next to the file; every later process
loads it in a fraction of a second. The data stay outside the compiled code: the wrapper
reads the arrays through the pointers of nutpie's ``user_data`` record, so
``CompiledPyMCModel.with_data`` works as with nutpie's own wrapper.

It relies on nutpie internals (``_make_functions``, ``CompiledPyMCModel``,
``make_user_data``, ``address_as_void_pointer``; checked against nutpie 0.16). Callers fall
back to ``nutpie.compile_pymc_model`` when anything here fails.

The cache directory is ``$SECDILEMMA_CACHE_DIR`` or ``$XDG_CACHE_HOME/secdilemma`` (default
``~/.cache/secdilemma``), sub-folder ``nutpie``: one source file and about 2-3 MB of machine
code per model structure (the data's sizes are not part of it); delete the folder to clear
it.

Safety
------
What is in the folder runs in this process (numba's cached machine code, which it reads with
pickle), so only a folder that no one else can write to is used (:func:`private_cache_dir`):
folders this module creates are made ``0700``; the folder, and numba's ``__pycache__`` in it,
must be owned by this user and not be group- or world-writable, and no folder above it may
be writable by others unless it has the sticky bit (as ``/tmp``) or belong to a user other
than this one or root. Otherwise :class:`UnsafeCacheError` is raised and the caller compiles
without the cache. The source of a generated module is never read back: the module is
executed from the text this module renders (the file, rewritten when it differs, only names
the code and stamps numba's cache), so nothing between the check and the import can change
the code that runs.

Measured (benchmarks/README.md): a fresh process fitting the naval case takes about 10 s in
all with the cache filled, 26 s when it compiles; a switching (``pytensor.scan``) model's
compilation step 51 s cold, 11 s cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from secdilemma.errors import SecdilemmaError

__all__ = ["UnsafeCacheError", "cache_dir", "compile_cached", "private_cache_dir"]

#: bump when the generated source changes meaning (part of every file's key)
_FORMAT = 2
#: the nutpie versions whose internals this module was checked against (a prefix)
_NUTPIE_CHECKED = "0.16."

_INNER: dict[str, tuple[Any, Any]] = {}  # key -> (logp jit function, expand jit function)


def cache_dir() -> Path:
    """Where the generated wrappers (and numba's cache of them) live."""
    root = os.environ.get("SECDILEMMA_CACHE_DIR")
    if root:
        return Path(root) / "nutpie"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "secdilemma" / "nutpie"


class UnsafeCacheError(SecdilemmaError, RuntimeError):
    """The cache folder could hold code written by someone else (another user owns it, or
    others can write to it or rename it): it is not used."""


def _make_private(path: Path) -> None:
    """Create the missing folders of ``path``, each ``0700`` whatever the umask."""
    missing = []
    p = path.absolute()
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile (by another process): checked by the caller
            continue
        folder.chmod(0o700)


def _unsafe(path: Path, *, above: bool) -> str | None:
    """Why ``path`` is not safe to hold (``above=False``) or to contain (``above=True``) the
    cache, or ``None``."""
    st = os.stat(path)
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a folder"
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: no POSIX owners and modes
        return None
    me = os.geteuid()
    if st.st_uid != me and not (above and st.st_uid == 0):
        return f"{path} is owned by user id {st.st_uid}, not by you ({me})"
    if mode & 0o022 and not (above and mode & stat.S_ISVTX):
        who = "world" if mode & 0o002 else "group"
        return f"{path} is {who}-writable (mode {mode:04o})"
    return None


def private_cache_dir() -> Path:
    """:func:`cache_dir`, created ``0700`` where missing, once it is checked to be private.

    Raises
    ------
    UnsafeCacheError
        The folder (or numba's ``__pycache__`` in it) is not owned by this user or is group-
        or world-writable, or a folder above it is writable by others (without the sticky
        bit) or owned by another user than this one or root.
    """
    path = cache_dir()
    _make_private(path)
    above = sorted({*path.absolute().parents, *path.resolve().parents})
    _refuse_unless_private(path, [(a, True) for a in above] + [(path, False)])
    pycache = path / "__pycache__"
    if not os.path.lexists(pycache):  # numba would create it with the umask's mode
        _make_private(pycache)
    _refuse_unless_private(path, [(pycache, False)])
    return path


def _refuse_unless_private(path: Path, folders: list[tuple[Path, bool]]) -> None:
    """:class:`UnsafeCacheError` for the first of ``folders`` (``(folder, above)``) that is
    not safe for the cache ``path``."""
    for folder, is_above in folders:
        why = _unsafe(folder, above=is_above)
        if why is not None:
            fix = f"chmod go-w {folder}" if is_above else f"chmod 700 {folder}"
            raise UnsafeCacheError(
                f"refusing the cache of compiled nutpie models in {path}: {why}, so the code "
                f"in it may not be yours. Make it private ({fix}, if it is yours), set "
                "SECDILEMMA_CACHE_DIR to a private folder, or set SECDILEMMA_NUTPIE_CACHE=0."
            )


def _inner(key: str) -> tuple[Any, Any]:
    """The PyTensor-generated jit functions the generated module with this key wraps."""
    return _INNER[key]


def _views(names: list[str], ndims: list[int], dtypes: list[str], n: int) -> list[str]:
    """Source lines binding each shared array to a view of the memory ``user_data`` points
    to. nutpie's record (packed, all uint64) is: ``n`` data pointers, ``n`` sizes, then the
    shape entries of every array in order."""
    lines = []
    at = 2 * n
    for i, (name, ndim, dtype) in enumerate(zip(names, ndims, dtypes, strict=True)):
        shape = ", ".join(f"np.intp(ud[{at + j}])" for j in range(ndim))
        shape = f"({shape},)" if ndim == 1 else f"({shape})"
        lines.append(f"        {name} = numba.carray(_ptr(ud[{i}]), {shape}, np.{dtype})")
        at += ndim
    return lines


def _call_args(args: list[str]) -> str:
    """The argument list of a call in the generated module. Python 3.12 compiles a call or a
    tuple display of more than 30 items through a list (``LIST_TO_TUPLE``), which numba does
    not support; so a long list becomes one star-argument, a tuple concatenated from chunks
    of at most :data:`_CHUNK` items (numba supports both)."""
    if len(args) <= _CHUNK:
        return ", ".join(args)
    parts = [f"({', '.join(args[i : i + _CHUNK])},)" for i in range(0, len(args), _CHUNK)]
    return "*(" + " + ".join(parts) + ")"


#: Items per tuple in a generated call (below CPython's 30-item limit for a direct build).
_CHUNK = 20


def _render(
    key: str,
    n_dim: int,
    n_expanded: int,
    slots: list[tuple[str, int, str]],
    logp_args: list[int],
    expand_args: list[int],
) -> str:
    n = len(slots)
    n_ud = 2 * n + sum(nd for _, nd, _ in slots)
    names = [f"s{i}" for i in range(n)]
    views = _views(names, [nd for _, nd, _ in slots], [dt for _, _, dt in slots], n)
    ud = [f"        ud = numba.carray(user_data_, ({n_ud},), np.uint64)"] if n_ud else []
    setup = "\n".join(ud + views)
    logp_call = _call_args(["x"] + [names[i] for i in logp_args])
    expand_call = _call_args(["x"] + [names[i] for i in expand_args])
    return f'''# Generated by secdilemma.engines.pymc._nutpie_cache (format {_FORMAT}); do not edit.
# PyTensor graph key: {key}
# slots: {slots!r}
import numba
import numpy as np
from nutpie.compile_pymc import address_as_void_pointer as _ptr

from secdilemma.engines.pymc._nutpie_cache import _inner

_LOGP, _EXPAND = _inner("{key}")

_D = numba.types.double
_LOGP_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(_D),
    numba.types.CPointer(_D),
    numba.types.CPointer(_D),
    numba.types.voidptr,
)
_EXPAND_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(_D),
    numba.types.CPointer(_D),
    numba.types.voidptr,
)


@numba.cfunc(_LOGP_SIG, cache=True)
def logp(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        lp = numba.carray(logp_, ())
{setup}
        val, grad = _LOGP({logp_call})
        lp[()] = val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(val):
            return 4
    except Exception:
        return 1
    return 0


@numba.cfunc(_EXPAND_SIG, cache=True)
def expand(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
{setup}
        (values,) = _EXPAND({expand_call})
        out[...] = values
    except Exception:
        return -2
    return 0
'''


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` into ``path`` by a temporary file (``0600``) in the same folder, renamed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _exec_module(path: Path, name: str, text: str) -> Any:
    """The module ``name`` executed from ``text`` (not from the file, which may have changed
    since it was compared), under the file name ``path``: numba's cache of its functions
    lives beside that file."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    code = compile(text, str(path), "exec")
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _check_version(version: str) -> None:
    if not version.startswith(_NUTPIE_CHECKED):
        # the wrapper reads nutpie's private user_data layout: another version may change it
        raise RuntimeError(
            f"nutpie {version}: the cached wrapper is checked against nutpie "
            f"{_NUTPIE_CHECKED}x only"
        )


def _functions(model: Any) -> tuple[Any, ...]:
    """nutpie's PyTensor functions of ``model`` (numba mode): ``(n_dim, n_expanded, logp_fn,
    expand_fn, initial_point_fn, shape_info, reparameterized_names)``."""
    import nutpie.compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    ip = make_initial_point_fn(
        model=model,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    out: tuple[Any, ...] = cp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=cp._wrap_with_lock(ip),
    )
    return out


def _shared_slots(
    logp_fn_pt: Any, expand_fn_pt: Any
) -> tuple[dict[str, Any], dict[Any, str], list[tuple[str, int, str]], list[int], list[int]]:
    """The shared variables both functions read: their values (read-only copies) by slot
    key, the slot key of each variable, ``(name, ndim, dtype)`` per slot, and the slots each
    function takes, in its order."""
    shared: list[Any] = []
    for var in [*logp_fn_pt.get_shared(), *expand_fn_pt.get_shared()]:
        if var not in shared:
            shared.append(var)
    shared_data = {}
    shared_var_keys = {}
    slots = []
    for i, var in enumerate(shared):
        value = np.array(var.get_value(), order="C", copy=True)
        value.flags.writeable = False
        key = f"s{i}"
        shared_data[key] = value
        shared_var_keys[var] = key
        slots.append((var.name, value.ndim, value.dtype.name))
    logp_args = [shared.index(v) for v in logp_fn_pt.get_shared()]
    expand_args = [shared.index(v) for v in expand_fn_pt.get_shared()]
    return shared_data, shared_var_keys, slots, logp_args, expand_args


def _load_wrapper(folder: Path, digest: str, text: str) -> Any:
    """The generated module of ``digest`` in the private ``folder``: its file rewritten
    unless it holds exactly ``text`` (an unchanged file keeps its time stamp, which numba's
    cache checks), then the module executed from ``text`` itself (numba loads the machine
    code it cached, or compiles)."""
    path = folder / f"sdnutpie_{digest}.py"
    data = text.encode("utf-8")
    try:
        current: bytes | None = path.read_bytes()
    except OSError:
        current = None
    if current != data:
        _write_atomic(path, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=_numba_warning())
        return _exec_module(path, f"secdilemma_nutpie_{digest}", text)


def compile_cached(model: Any) -> Any:
    """``nutpie.compile_pymc_model(model)`` (numba backend), with the sampler-facing wrapper
    cached on disk so that a later process loads instead of compiling it.

    Returns a ``nutpie.compile_pymc.CompiledPyMCModel``; ``with_data`` updates ``pm.Data``
    values as usual.

    Raises
    ------
    UnsafeCacheError
        The cache folder is not private (:func:`private_cache_dir`); checked first.
    """
    import nutpie
    import nutpie.compile_pymc as cp
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    _check_version(nutpie.__version__)
    folder = private_cache_dir()
    (
        n_dim,
        n_expanded,
        logp_fn_pt,
        expand_fn_pt,
        initial_point_fn,
        shape_info,
        reparameterized_names,
    ) = _functions(model)
    logp_jit = logp_fn_pt.vm.jit_fn
    expand_jit = expand_fn_pt.vm.jit_fn
    graph_keys = [CACHED_SRC_FUNCTIONS.get(f.py_func) for f in (logp_jit, expand_jit)]
    if None in graph_keys:
        raise RuntimeError("PyTensor did not give the compiled graph a cache key")
    shared_data, shared_var_keys, slots, logp_args, expand_args = _shared_slots(
        logp_fn_pt, expand_fn_pt
    )
    user_data = cp.make_user_data(shared_var_keys, shared_data)
    ident = (_FORMAT, nutpie.__version__, graph_keys, n_dim, n_expanded, slots, logp_args,
             expand_args)  # fmt: skip
    digest = hashlib.sha256(repr(ident).encode()).hexdigest()[:32]
    _INNER[digest] = (logp_jit, expand_jit)
    text = _render(digest, n_dim, n_expanded, slots, logp_args, expand_args)
    module = _load_wrapper(folder, digest, text)
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparameterized_names)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=module.logp,
        compiled_expand_func=module.expand,
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn_pt,
        expand_func=expand_fn_pt,
        reparameterized_names=reparameterized_names,
    )


def _numba_warning() -> type[Warning]:
    import numba

    return numba.NumbaWarning
