"""The notebooks in notebooks/ run from top to bottom (docs/model.md section 6).

Every notebook reads one documented setting, the environment variable ``SECDILEMMA_FAST``:
with ``SECDILEMMA_FAST=1`` (what this test sets) it runs the same steps small (short MCMC
chains, few simulated futures, coarse what-if grids), so that all of them together fit in
CI; without it, at full size. Each notebook runs in a fresh kernel (so none depends on
another's outputs), in a temporary working directory (so none writes into the repository),
on the Agg backend. The kernel is pinned to the interpreter that runs pytest through a
kernel spec written for the test, so a ``python3`` kernel spec elsewhere on the machine
(e.g. a user-level one for another Python) cannot be picked up instead.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "00_quickstart.ipynb",
    "01_anglo_german_naval.ipynb",
    "02_us_ussr_cold_war.ipynb",
    "03_us_china.ipynb",
    "04_russia_nato.ipynb",
    "05_any_dyad.ipynb",
}
#: Retired: their material lives on in 00 (observers) and 01 (decision, tests, policies).
RETIRED = {"01_tutorial_observers.ipynb", "02_case_study_deter_or_reassure.ipynb"}
#: The switch every notebook reads in its first code cell (the test sets it to "1").
FAST_SWITCH = 'FAST = os.environ.get("SECDILEMMA_FAST") == "1"'
KERNEL = "secdilemma-tests"
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernel spec that runs ipykernel in this very interpreter, with Agg as the backend."""
    root = tmp_path_factory.mktemp("kernels")
    spec_dir = root / KERNEL
    spec_dir.mkdir()
    spec = {
        "argv": [
            sys.executable,
            "-Xfrozen_modules=off",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": "secdilemma tests",
        "language": "python",
        "env": {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "SECDILEMMA_FAST": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(root)])


def test_the_notebooks_are_there_and_committed_without_outputs():
    names = {p.name for p in NOTEBOOKS}
    assert names == EXPECTED, f"missing {EXPECTED - names}, unexpected {names - EXPECTED}"
    assert not names & RETIRED
    for path in NOTEBOOKS:
        assert path.name[:2].isdigit(), f"{path.name}: notebooks are numbered (NN_name.ipynb)"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: start with a narrative cell"
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                hint = (
                    f"{path.name}, cell {i}: clear the outputs before committing "
                    "(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)"
                )
                assert not cell.outputs, hint
                assert cell.execution_count is None, hint
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert FAST_SWITCH in first.source, (
            f"{path.name}: the first code cell must read the fast-mode switch ({FAST_SWITCH})"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, kernel_specs: KernelSpecManager):
    nb = nbformat.read(path, as_version=4)
    before = path.read_bytes()
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    assert km.kernel_spec is not None
    assert km.kernel_spec.argv[0] == sys.executable
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,  # any cell that raises fails the test (CellExecutionError)
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        # the client leaves a kernel manager it was given running; stop the kernel here
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    elapsed = time.perf_counter() - start
    print(f"{path.name}: executed in {elapsed:.1f} s")

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.execution_count is not None for c in code)
    # a tutorial shows no warnings or tracebacks to its reader
    stderr = [
        o.text
        for c in code
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr" and o.text.strip()
    ]
    assert not stderr, f"{path.name} wrote to stderr:\n" + "\n".join(stderr)
    assert path.read_bytes() == before, "the notebook file must not be rewritten by the test"
