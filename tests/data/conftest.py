"""Shared helpers for the case-data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from secdilemma._paths import cases_dir, raw_dir


@pytest.fixture(scope="session")
def raw() -> Path:
    return raw_dir()


@pytest.fixture(scope="session")
def cases() -> Path:
    return cases_dir()
