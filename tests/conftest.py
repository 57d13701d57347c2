"""Test-wide settings: hypothesis profiles (derandomised in CI, so every run is the same), and
the count of generated bad inputs per public entry point and their outcomes."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# ---------------------------------------------------------------------------------------------
# Outcomes of generated bad input, per public entry point (printed at the end of the run)
# ---------------------------------------------------------------------------------------------
_OUTCOMES: dict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="session")
def outcome() -> Callable[[str, str], None]:
    """``outcome(entry_point, "valid" | "typed error")`` counts one generated input."""

    def record(entry: str, kind: str) -> None:
        _OUTCOMES[entry][kind] += 1

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _OUTCOMES:
        return
    tr = terminalreporter
    tr.section("generated inputs per entry point")
    tr.write_line(f"{'entry point':34s} {'inputs':>7s} {'valid':>7s} {'typed error':>12s}")
    total = Counter[str]()
    for entry in sorted(_OUTCOMES):
        c = _OUTCOMES[entry]
        total.update(c)
        n = sum(c.values())
        tr.write_line(f"{entry:34s} {n:7d} {c['valid']:7d} {c['typed error']:12d}")
    n = sum(total.values())
    tr.write_line(f"{'all':34s} {n:7d} {total['valid']:7d} {total['typed error']:12d}")
