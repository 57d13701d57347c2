"""A seeded fit gives the same draws from any checkout, whatever the compiled-code caches hold.

Two copies of the package in two folders fit the same small seeded model in two fresh
processes that share PyTensor's and secdilemma's compiled-code caches, empty at the start:
the first process compiles everything, the second loads it. With PyTensor's fast-math numba
code the two got different draws from the first one on (the gradient's last bits depended on
what was compiled and what was loaded); :func:`secdilemma.engines.pymc.sampling
.reproducible_compilation` compiles without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import secdilemma

CHILD = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import secdilemma
    from secdilemma.engines.pymc import PerceptionModel
    from secdilemma.spec import load_spec
    out = {"package": secdilemma.__file__}
    for backend in ("nutpie", "pymc"):
        m = PerceptionModel(load_spec("anglo_german_naval"))
        m.fit(sampler=backend, chains=2, draws=100, tune=100, seed=5, cores=1,
              progressbar=False)
        post = m.idata_["posterior"].to_dataset()
        out[backend] = {str(v): post[v].values.tolist() for v in sorted(post.data_vars)}
    print("RESULT" + json.dumps(out))
    """
)


def _checkout(dest: Path) -> Path:
    """A copy of the package (and, in a source checkout, its data and models) in ``dest``;
    returns the folder to put on ``PYTHONPATH``."""
    pkg = Path(secdilemma.__file__).resolve().parent
    src = dest / "src"
    shutil.copytree(pkg, src / "secdilemma", ignore=shutil.ignore_patterns("__pycache__"))
    if not (pkg / "_bundled").exists():  # an editable install reads the repository's folders
        repo = pkg.parent.parent
        for name in ("data", "models"):
            shutil.copytree(repo / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _fit_in(src: Path, caches: Path) -> dict[str, object]:
    flags = [os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={caches / 'pytensor'}"]
    env = dict(
        os.environ,
        PYTHONPATH=str(src),
        SECDILEMMA_CACHE_DIR=str(caches / "secdilemma"),
        PYTENSOR_FLAGS=",".join(f for f in flags if f),
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    out: dict[str, object] = json.loads(lines[0][len("RESULT") :])
    return out


@pytest.mark.slow
@pytest.mark.ci
def test_a_seeded_fit_gives_the_same_draws_from_two_checkouts(tmp_path: Path) -> None:
    caches = tmp_path / "caches"  # shared by both processes, empty at the start
    first = _fit_in(_checkout(tmp_path / "checkout_a"), caches)  # compiles everything
    second = _fit_in(_checkout(tmp_path / "checkout_b"), caches)  # loads it from the caches
    assert str(first["package"]).startswith(str(tmp_path / "checkout_a"))
    assert str(second["package"]).startswith(str(tmp_path / "checkout_b"))
    for backend in ("nutpie", "pymc"):
        a, b = first[backend], second[backend]
        assert isinstance(a, dict)
        assert isinstance(b, dict)
        assert a.keys() == b.keys()
        for name in a:
            assert a[name] == b[name], (backend, name)  # bit for bit
