"""`import secdilemma` reads no data file: case tables and raw files load on first use."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from secdilemma._paths import cases_dir, raw_dir
roots = (str(cases_dir()), str(raw_dir()))
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(roots):
        opened.append(args[0])
sys.addaudithook(hook)
import secdilemma, secdilemma.data
print("OPENED", opened)
print("OPENPYXL", "openpyxl" in sys.modules)
secdilemma.data.load_case("us_ussr")
print("AFTER", len(opened) > 0)
"""


def test_import_reads_no_data_file() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "OPENED []" in out
    assert "OPENPYXL False" in out
    assert "AFTER True" in out  # the hook does see the files once a case is loaded
