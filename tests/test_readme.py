"""The README's examples run as written, and the commands it lists exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secdilemma.interfaces.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    setup = TEXT.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(blocks) == 1
    commands = [ln for ln in blocks[0].splitlines() if ln.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["./dev.sh main", "./dev.sh test"]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev.sh test" in ci


@pytest.mark.parametrize("i", range(len(_blocks("python"))))
def test_readme_python_block_runs(i, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_blocks("python")[i], f"README.md python block {i}", "exec"), {})
    out = capsys.readouterr().out
    # the misperception figures quoted next to the code
    if "compare_observers" in _blocks("python")[i]:
        aware, naive = (float(x) for x in re.findall(r"\[([\d.]+)\s+([\d.]+)\]", out)[0])
        assert aware < 0.02
        assert naive > 0.95


def test_every_cli_command_in_the_readme_exists():
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    used = set()
    for block in _blocks("bash"):
        for line in block.splitlines():
            m = re.match(r"\s*secdilemma (\w+)", line)
            if m and not m.group(1).startswith("-"):
                used.add(m.group(1))
    assert used
    assert used <= names, f"README mentions unknown commands {used - names}"
