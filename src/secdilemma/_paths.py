"""Where the bundled data and model specs live.

In a source checkout (editable install) they are the top-level ``data/`` and
``models/`` folders; in a wheel they are copied to ``secdilemma/_bundled/``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_REPO = _PKG.parent.parent


def _pick(bundled: Path, repo: Path) -> Path:
    return bundled if bundled.exists() else repo


def cases_dir() -> Path:
    """Folder holding the curated case data sets (one sub-folder per case)."""
    return _pick(_PKG / "_bundled" / "cases", _REPO / "data" / "cases")


def raw_dir() -> Path:
    """Folder holding the raw public source files the cases are derived from."""
    return _pick(_PKG / "_bundled" / "raw", _REPO / "data" / "raw")


def models_dir() -> Path:
    """Folder holding the bundled model specs (TOML)."""
    return _pick(_PKG / "_bundled" / "models", _REPO / "models")
