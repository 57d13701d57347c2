"""Progress of long work (fits, reference builds, sweeps), the same way everywhere.

On a terminal a rich progress bar (transient: it disappears when the work ends); otherwise
(a log file, a CI job, a pipe) one line on the stream every ``every`` seconds, such as
``fit: 40 % of draws (12 s)``, or ``fit: running (12 s)`` while the total is unknown, and a
last line when the work ends. The lines come from a daemon thread, so they keep coming while
the work itself blocks (a sampler that runs in native code, a long chunk).

This module sits on floor 0: the standard library only; rich is imported when a bar is
actually drawn.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> with progress("fit", total=200, unit="draws", stream=out, bar=False, every=3600) as rep:
...     rep.update(80)
...     rep.line()
'fit: 40 % of draws (0 s)'
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from secdilemma.errors import ParameterError

__all__ = ["DEFAULT_EVERY", "Reporter", "format_seconds", "progress"]

#: Seconds between two progress lines when the stream is not a terminal.
DEFAULT_EVERY = 15.0


def format_seconds(seconds: float) -> str:
    """Elapsed time for a progress line: ``"12 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``.

    >>> format_seconds(12.4), format_seconds(185), format_seconds(3725)
    ('12 s', '3 min 05 s', '1 h 02 min')
    """
    s = max(int(float(seconds) + 0.5), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class Reporter:
    """Reports how far one piece of long work has got (thread-safe).

    Use :func:`progress`, which starts and closes it. ``update``/``advance`` may be called
    from any thread (e.g. a sampler's callback thread).

    Parameters
    ----------
    what
        What runs, the head of each line (``"fit"``, ``"reference"``, ``"sweep"``).
    total
        How much work there is, in ``unit`` (``None``: unknown, only elapsed time shown).
    unit
        What is counted (``"draws"``, ``"chunks"``).
    stream
        Where to write (default ``sys.stderr``).
    every
        Seconds between two lines when the stream is not a terminal.
    bar
        Draw a rich bar (default: when ``stream`` is a terminal); ``False``: lines.
    enabled
        ``False``: report nothing at all.
    clock
        Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        what: str,
        *,
        total: float | None = None,
        unit: str = "",
        stream: TextIO | None = None,
        every: float = DEFAULT_EVERY,
        bar: bool | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(every, int | float) or isinstance(every, bool) or not every > 0:
            raise ParameterError(
                f"progress: `every` must be a number of seconds > 0; got {every!r}."
            )
        self.what, self.unit, self.enabled = what, unit, enabled
        self.stream: TextIO = sys.stderr if stream is None else stream
        self.every = float(every)
        self.total = total
        self.done = 0.0
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._task: Any = None
        if bar is None:
            bar = _isatty(self.stream)
        self.bar = bool(bar) and enabled

    # -- state ----------------------------------------------------------------------------
    def update(self, done: float, total: float | None = None) -> None:
        """Set how much is done (and the total, when it becomes known)."""
        with self._lock:
            self.done = float(done)
            if total is not None:
                self.total = float(total)
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done, total=self.total)

    def advance(self, n: float = 1.0) -> None:
        """Add ``n`` to what is done."""
        with self._lock:
            done = self.done + n
        self.update(done)

    def elapsed(self) -> float:
        """Seconds since the reporter started."""
        return self._clock() - self._start

    def line(self) -> str:
        """The progress line now: ``"fit: 40 % of draws (12 s)"`` or ``"fit: running (12 s)"``."""
        with self._lock:
            done, total = self.done, self.total
        t = format_seconds(self.elapsed())
        if total:
            pct = min(max(100.0 * done / total, 0.0), 100.0)
            of = f" of {self.unit}" if self.unit else ""
            return f"{self.what}: {pct:.0f} %{of} ({t})"
        if done and self.unit:
            return f"{self.what}: {done:,.0f} {self.unit} ({t})"
        return f"{self.what}: running ({t})"

    # -- life -----------------------------------------------------------------------------
    def start(self) -> Reporter:
        """Draw the bar, or start the thread that writes a line every ``every`` seconds."""
        if not self.enabled:
            return self
        self._start = self._clock()
        if self.bar:
            from rich.console import Console  # here: `import secdilemma` stays light
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                TimeElapsedColumn(), console=Console(file=self.stream), transient=True,
            )  # fmt: skip
            label = f"{self.what} ({self.unit})" if self.unit else self.what
            self._task = self._bar.add_task(label, total=self.total, completed=self.done)
            self._bar.start()
        else:
            self._thread = threading.Thread(target=self._tick, name="secdilemma-progress")
            self._thread.daemon = True
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self._write(self.line())

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream must not break the work
            pass

    def close(self, failed: bool = False) -> None:
        """Stop the bar or the lines; without a bar, one last line says how it ended."""
        if not self.enabled:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            return
        how = "stopped" if failed else "done"
        self._write(f"{self.what}: {how} after {format_seconds(self.elapsed())}")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def progress(
    what: str,
    *,
    total: float | None = None,
    unit: str = "",
    stream: TextIO | None = None,
    every: float = DEFAULT_EVERY,
    bar: bool | None = None,
    enabled: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Reporter]:
    """Report the progress of the work in the ``with`` block (see :class:`Reporter`).

    A bar on a terminal; otherwise a line every ``every`` seconds and one at the end
    (``"fit: done after 42 s"``, or ``"stopped"`` when the block raised). ``enabled=False``
    reports nothing, so callers need no second code path.
    """
    rep = Reporter(
        what, total=total, unit=unit, stream=stream, every=every, bar=bar, enabled=enabled,
        clock=clock,
    )  # fmt: skip
    rep.start()
    failed = True
    try:
        yield rep
        failed = False
    finally:
        rep.close(failed)
