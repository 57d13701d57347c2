"""The on-disk cache of nutpie's compiled wrapper (:mod:`secdilemma.engines.pymc._nutpie_cache`).

The reference is nutpie's own ``compile_pymc_model``: the same PyTensor graph behind either
wrapper, so the same seed must give the very same draws, also after ``with_data``. Both are
compiled through ``compile_nutpie`` (PyTensor's numba code without fast-math). The cache
folder must be private: one that others can write to is refused with a warning.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

pm = pytest.importorskip("pymc")
nutpie = pytest.importorskip("nutpie")

from secdilemma.engines.pymc import _nutpie_cache  # noqa: E402
from secdilemma.engines.pymc.sampling import compile_nutpie  # noqa: E402

Y = np.array([0.3, -0.2, 1.1, 0.4, 0.9, -0.5, 0.2, 0.8])
X = np.column_stack([np.ones(8), np.linspace(-1, 1, 8)])


def _model(y: np.ndarray = Y) -> pm.Model:
    """Data of rank 0, 1 and 2 (all ``pm.Data``), a transformed and a vector parameter."""
    with pm.Model(coords={"obs": range(len(y)), "coef": ["a", "b"]}) as model:
        yd = pm.Data("y", y, dims="obs")
        xd = pm.Data("X", X, dims=("obs", "coef"))
        scale = pm.Data("scale", 2.0)
        beta = pm.Normal("beta", 0.0, scale, dims="coef")
        sd = pm.HalfNormal("sd", 1.0)
        pm.Normal("lik", xd @ beta, sd, observed=yd, dims="obs")
    return model


def _draws(compiled: object) -> np.ndarray:
    idata = nutpie.sample(
        compiled, draws=60, tune=60, chains=2, cores=1, seed=11, progress_bar=False
    )
    post = idata["posterior"]
    return np.concatenate([post["beta"].values.reshape(-1), post["sd"].values.reshape(-1)])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object, Path, Path]:
    """Our wrapper (cache in ``cache``), and nutpie's own through ``compile_nutpie`` with
    the cache switched off (its cache directory ``off`` must stay empty)."""
    cache = tmp_path_factory.mktemp("nutpie-cache")
    off = tmp_path_factory.mktemp("nutpie-cache-off")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECDILEMMA_CACHE_DIR", str(cache))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # the cache must not fall back
            ours = compile_nutpie(_model())
        mp.setenv("SECDILEMMA_CACHE_DIR", str(off))
        mp.setenv("SECDILEMMA_NUTPIE_CACHE", "0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = compile_nutpie(_model())
    return ours, theirs, cache, off


def test_same_draws_as_nutpies_own_wrapper(compiled: tuple[object, object, Path, Path]) -> None:
    ours, theirs, _, _ = compiled
    assert ours.compiled_logp_func._pyfunc.__module__.startswith("secdilemma_nutpie_")  # type: ignore[attr-defined]
    np.testing.assert_array_equal(_draws(ours), _draws(theirs))


def test_with_data_reads_the_new_arrays(compiled: tuple[object, object, Path, Path]) -> None:
    ours, theirs, _, _ = compiled
    y2 = Y[::-1] * 3.0 + 1.0
    new = {"y": y2, "scale": 0.5}
    a = _draws(ours.with_data(**new))  # type: ignore[attr-defined]
    b = _draws(theirs.with_data(**new))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a, b)
    # and the data matter: the draws differ from those on the old data
    assert not np.array_equal(a, _draws(ours))


def test_the_generated_file_is_named_by_graph_and_rewritten_when_altered(
    compiled: tuple[object, object, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, cache, _ = compiled
    files = sorted((cache / "nutpie").glob("sdnutpie_*.py"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "PyTensor graph key:" in text
    assert "cache=True" in text
    files[0].write_text("raise RuntimeError('tampered')\n")
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(cache))
    again = compile_nutpie(_model())
    assert files[0].read_text() == text  # restored, byte for byte
    np.testing.assert_array_equal(_draws(again), _draws(compiled[0]))


def test_a_failing_cache_falls_back_to_nutpie_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(model: object) -> object:
        raise OSError("read-only file system")

    sentinel = object()
    monkeypatch.setattr(_nutpie_cache, "compile_cached", broken)
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model: sentinel)
    with pytest.warns(RuntimeWarning, match="read-only file system.*SECDILEMMA_NUTPIE_CACHE=0"):
        assert compile_nutpie(_model()) is sentinel


def test_switching_the_cache_off_gives_nutpies_own_wrapper_and_writes_nothing(
    compiled: tuple[object, object, Path, Path],
) -> None:
    _, theirs, _, off = compiled
    assert theirs.compiled_logp_func._pyfunc.__module__ == "nutpie.compile_pymc"  # type: ignore[attr-defined]
    assert not any(off.iterdir())


def test_another_nutpie_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nutpie, "__version__", "0.99.0")
    with pytest.raises(RuntimeError, match=r"nutpie 0\.99\.0.*0\.16\.x only"):
        _nutpie_cache.compile_cached(_model())


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", "/some/where")
    assert _nutpie_cache.cache_dir() == Path("/some/where/nutpie")
    monkeypatch.delenv("SECDILEMMA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert _nutpie_cache.cache_dir() == Path("/xdg/secdilemma/nutpie")


CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from test_nutpie_cache import _model, _draws
    from secdilemma.engines.pymc.sampling import compile_nutpie
    c = compile_nutpie(_model())
    print("RESULT" + json.dumps({"hits": c.compiled_logp_func.cache_hits,
                                 "expand_hits": c.compiled_expand_func.cache_hits,
                                 "draws": _draws(c).tolist()}))
    """
)


@pytest.mark.slow
@pytest.mark.ci
def test_a_second_process_loads_the_wrapper_instead_of_compiling(tmp_path: Path) -> None:
    env = dict(os.environ, SECDILEMMA_CACHE_DIR=str(tmp_path))
    out = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
        assert lines, proc.stderr[-3000:]
        out.append(json.loads(lines[0][6:]))
    assert (out[0]["hits"], out[0]["expand_hits"]) == (0, 0)  # compiled, then stored
    assert (out[1]["hits"], out[1]["expand_hits"]) == (1, 1)  # loaded from numba's cache
    assert out[0]["draws"] == out[1]["draws"]


# -- the cache folder must be private --------------------------------------------------------
def _refused(monkeypatch: pytest.MonkeyPatch, root: Path, match: str) -> None:
    """compile_nutpie with the cache under ``root`` falls back to nutpie's own compilation
    with a RuntimeWarning matching ``match``, and writes nothing there."""
    sentinel = object()
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(root))
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model: sentinel)
    before = sorted(root.rglob("*"))
    with pytest.warns(RuntimeWarning, match=match):
        assert compile_nutpie(_model()) is sentinel
    assert sorted(root.rglob("*")) == before


def test_a_world_writable_cache_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "nutpie"
    folder.mkdir()
    folder.chmod(0o777)
    _refused(
        monkeypatch, tmp_path, rf"refusing .*{folder}.*world-writable \(mode 0777\).*chmod 700"
    )


def test_a_group_writable_cache_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "nutpie"
    folder.mkdir()
    folder.chmod(0o770)
    _refused(monkeypatch, tmp_path, r"group-writable \(mode 0770\)")


def test_a_cache_folder_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nutpie").mkdir(mode=0o700)
    me = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: me + 1)  # the folder now belongs to "another"
    _refused(monkeypatch, tmp_path, rf"owned by user id {me}, not by you \({me + 1}\)")


def test_a_folder_above_that_others_can_write_to_is_refused_unless_sticky(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "nutpie").mkdir(mode=0o700)
    shared.chmod(0o777)  # others could rename our private folder and put theirs in its place
    _refused(monkeypatch, shared, rf"{shared} is world-writable")
    shared.chmod(0o777 | stat.S_ISVTX)  # as /tmp: others cannot rename what is ours
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(shared))
    assert _nutpie_cache.private_cache_dir() == shared / "nutpie"


def test_a_new_cache_folder_is_created_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "new" / "deeper"
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(root))
    old = os.umask(0o002)  # a permissive umask: the folders are 0700 all the same
    try:
        folder = _nutpie_cache.private_cache_dir()
    finally:
        os.umask(old)
    assert folder == root / "nutpie"
    for made in (tmp_path / "new", root, folder, folder / "__pycache__"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made


def test_the_module_runs_the_compared_text_not_what_the_file_holds_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file swapped between the comparison and the import changes nothing that runs."""
    monkeypatch.setenv("SECDILEMMA_CACHE_DIR", str(tmp_path))
    folder = _nutpie_cache.private_cache_dir()

    def swap(path: Path, data: bytes) -> None:  # writes, then someone swaps the file
        path.write_bytes(b"raise RuntimeError('swapped in')\n")

    monkeypatch.setattr(_nutpie_cache, "_write_atomic", swap)
    name = "secdilemma_nutpie_testswap"
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = _nutpie_cache._load_wrapper(folder, "testswap", "VALUE = 41 + 1\n")
    assert module.VALUE == 42
    assert module.__file__ == str(folder / "sdnutpie_testswap.py")
    sys.modules.pop(name, None)


def test_a_call_with_many_arguments_compiles_in_numba() -> None:
    """A model with more than 30 shared arrays: Python 3.12 builds such a call through a list,
    which numba refuses; the generated call passes one star-argument of chunked tuples."""
    import numba

    from secdilemma.engines.pymc._nutpie_cache import _call_args

    names = [f"a{i}" for i in range(41)]
    ns: dict[str, object] = {}
    exec(f"def inner({', '.join(names)}):\n    return a0 + 2 * a40\n", ns)
    inner = numba.njit(ns["inner"])
    call = _call_args(["x"] * 41)
    assert call.startswith("*(")
    glob: dict[str, object] = {"inner": inner}
    exec(f"def outer(x):\n    return inner({call})\n", glob)
    ns["outer"] = glob["outer"]
    assert numba.njit(ns["outer"])(1.5) == 4.5
    assert _call_args(["x", "s0"]) == "x, s0"
