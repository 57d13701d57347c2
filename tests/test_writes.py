"""Writing results never destroys data: all-or-nothing runs, no leftovers, the user's umask.

A run killed at any moment leaves its folder absent or complete; the next run to the same
place cleans what a killed one left and succeeds.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from secdilemma.errors import OutputError, OutputExistsError
from secdilemma.io import OutputRun, atomic_write, load_dataset, save_dataset


def test_output_run_is_all_or_nothing(tmp_path):
    out = tmp_path / "run"

    def crash() -> None:
        with OutputRun(out, ["a.txt", "b/c.txt"]) as run:
            run.path("a.txt").write_text("a")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # the staging folder went too
    with OutputRun(out, ["a.txt", "b/c.txt"]) as run:
        run.path("a.txt").write_text("a")
        run.path("b/c.txt").write_text("c")
    assert (out / "b" / "c.txt").read_text() == "c"


def test_output_run_checks_every_path_before_any_work(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "b.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match=r"b\.txt"):
        OutputRun(out, ["a.txt", "b.txt"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        OutputRun(tmp_path / "file" / "run", ["a.txt"])
    with OutputRun(out, ["a.txt", "b.txt"], overwrite=True) as run:
        run.path("a.txt").write_text("a")
        run.path("b.txt").write_text("new")
    assert (out / "b.txt").read_text() == "new"


def test_unwritable_places_are_typed_errors(tmp_path):
    def write(folder: Path) -> None:
        with OutputRun(folder, ["a.txt"]) as run:
            run.path("a.txt").write_text("a")

    for bad in (Path("/proc/secdilemma-test/run"), Path("/dev/null/run")):
        with pytest.raises(OutputError):
            write(bad)


def test_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = save_dataset(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "r.nc")
        with OutputRun(tmp_path / "run", ["f.txt"]) as run:
            run.path("f.txt").write_text("f")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run" / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755


def test_a_killed_write_leaves_temporaries_that_the_next_write_removes(tmp_path):
    stale = tmp_path / ".r.nc.abc123.tmp"
    stale.write_bytes(b"half")
    atomic_write(tmp_path / "r.nc", lambda p: p.write_bytes(b"whole"))
    assert not stale.exists()
    assert (tmp_path / "r.nc").read_bytes() == b"whole"


def _complete(folder: Path, files: list[str]) -> bool:
    for f in files:
        if not (folder / f).is_file():
            return False
        if f.endswith(".nc"):
            load_dataset(folder / f)
    return True


@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.parametrize(
    ("argv", "files"),
    [
        (["filter", "us_china"], ["posterior.nc", "posterior.png"]),
        (
            ["decide", "us_ussr", "--n-sims", "300"],
            ["posterior.nc", "posterior.png", "decision.nc", "decision.png"],
        ),
        (
            ["fit", "anglo_german_naval", "--chains", "2", "--draws", "100", "--tune", "100"],
            ["fit.nc", "summary.json", "fit.png"],
        ),
    ],
)
def test_killed_runs_leave_a_whole_run_or_nothing(tmp_path, argv, files):
    rng = random.Random(20261130)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "secdilemma", *argv]
    outcomes = set()
    for i in range(4):
        out = tmp_path / f"run{i}"
        proc = subprocess.Popen([*cmd, "--out", str(out)], env=env, stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 4.0 if argv[0] != "fit" else 9.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists() or _complete(out, files), f"partial run in {out}"
        outcomes.add(out.exists())
        done = subprocess.run(
            [*cmd, "--out", str(out), "--overwrite"], env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr
        assert _complete(out, files)
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert not leftovers, f"temporaries left behind: {leftovers}"
