"""Regeneration: byte-for-byte round trip, --check, raw file hashes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from secdilemma.data import derive


def test_regeneration_round_trip(tmp_path: Path, cases: Path) -> None:
    assert derive.main(["--out", str(tmp_path)]) == 0
    generated = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    committed = sorted(p.relative_to(cases).as_posix() for p in cases.rglob("*.csv"))
    assert generated == committed
    for rel in generated:
        assert (tmp_path / rel).read_bytes() == (cases / rel).read_bytes(), rel
    assert derive.main(["--check"]) == 0


def test_check_detects_change(tmp_path: Path, cases: Path) -> None:
    assert derive.main(["--out", str(tmp_path)]) == 0
    target = tmp_path / "us_ussr" / "us_ussr.csv"
    target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    assert derive.main(["--check", "--out", str(tmp_path)]) == 1
    assert derive.check(tmp_path) == ["us_ussr/us_ussr.csv"]


def test_format_is_deterministic() -> None:
    assert derive.format_value(38741 * 4.8665) == repr(38741 * 4.8665)
    assert derive.format_value(31.0) == "31"
    assert derive.format_value(float("nan")) == ""


def test_raw_readme_hashes(raw: Path) -> None:
    text = (raw / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"`([0-9a-f]{64})`\s+`([^`]+)`", text)[::1])
    pairs = {path: sha for sha, path in listed.items()}
    files = sorted(
        p.relative_to(raw).as_posix()
        for p in raw.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert sorted(pairs) == files
    for rel, sha in pairs.items():
        assert hashlib.sha256((raw / rel).read_bytes()).hexdigest() == sha, rel
