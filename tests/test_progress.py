"""Progress reporting: lines on a stream that is not a terminal, a bar on one."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from secdilemma.errors import ParameterError
from secdilemma.progress import Reporter, format_seconds, progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Pipe(io.StringIO):
    """A stream that is not a terminal, safe to write from the reporter's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, s: str) -> int:
        with self.lock:
            return super().write(s)

    def lines(self) -> list[str]:
        with self.lock:
            return self.getvalue().splitlines()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_every_so_often_while_a_fake_job_runs():
    out = Pipe()
    with progress("fit", total=10, unit="draws", stream=out, every=0.02) as rep:
        assert not rep.bar
        for i in range(10):
            rep.update(i + 1)
            time.sleep(0.01)
        deadline = time.monotonic() + 5.0
        while len(out.lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = out.lines()
    assert len(lines) >= 3
    for line in lines[:-1]:
        assert re.fullmatch(r"fit: \d+ % of draws \(\d+ s\)", line), line
    assert re.fullmatch(r"fit: done after \d+ s", lines[-1])


def test_line_text_with_a_fake_clock():
    clock = FakeClock()
    rep = Reporter("fit", total=200, unit="draws", stream=Pipe(), bar=False, clock=clock)
    assert rep.line() == "fit: 0 % of draws (0 s)"
    clock.now += 12.2
    rep.update(80)
    assert rep.line() == "fit: 40 % of draws (12 s)"
    rep.update(500)  # never above 100 %
    assert rep.line() == "fit: 100 % of draws (12 s)"
    unknown = Reporter("reference", stream=Pipe(), bar=False, clock=clock)
    assert unknown.line() == "reference: running (0 s)"
    counted = Reporter("sweep", unit="chunks", stream=Pipe(), bar=False, clock=clock)
    counted.advance(3)
    assert counted.line() == "sweep: 3 chunks (0 s)"
    counted.update(4, total=8)
    assert counted.line() == "sweep: 50 % of chunks (0 s)"


def test_the_last_line_says_how_the_work_ended():
    out = Pipe()
    with pytest.raises(RuntimeError), progress("sweep", stream=out, every=3600):
        raise RuntimeError("boom")
    assert out.lines() == ["sweep: stopped after 0 s"]


def test_disabled_reports_nothing():
    out = Pipe()
    with progress("fit", total=5, stream=out, every=0.001, enabled=False) as rep:
        rep.update(3)
        time.sleep(0.02)
    assert out.getvalue() == ""


def test_a_bar_on_a_terminal_and_no_lines():
    out = Tty()
    with progress("fit", total=4, unit="draws", stream=out, every=0.001) as rep:
        assert rep.bar
        rep.advance(2)
        time.sleep(0.02)
    text = out.getvalue()
    assert "fit: " not in text  # no periodic lines
    assert "done after" not in text


def test_a_broken_stream_does_not_break_the_work():
    out = Pipe()
    out.close()
    with progress("fit", stream=out, every=0.001, bar=False) as rep:
        rep.advance()
        time.sleep(0.01)


@pytest.mark.parametrize("every", [0, -1, "15", True, float("nan")])
def test_every_is_checked(every):
    with pytest.raises(ParameterError, match="every"):
        Reporter("fit", every=every)


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 59.4, 60, 3599, 3600, 7325)] == [
        "0 s", "59 s", "1 min 00 s", "59 min 59 s", "1 h 00 min", "2 h 02 min",
    ]  # fmt: skip


def test_cases_table_fits_80_columns_without_cutting_names():
    """The terminal side of the same issue: `secdilemma cases` at 80 columns."""
    from typer.testing import CliRunner

    from secdilemma.data import list_cases
    from secdilemma.interfaces.cli import app

    res = CliRunner().invoke(app, ["cases"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "…" not in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    for name in list_cases():
        assert name in res.output
    assert "dreadnoughts_cumulative" in res.output
