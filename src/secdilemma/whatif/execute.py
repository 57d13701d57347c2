"""Running a sweep's chunks with Dask: in this process, on a local cluster, or on a remote one.

* **In process** (the default): Dask's threaded scheduler runs the chunks; nothing listens
  on the network.
* **``workers=N``**: a ``distributed.LocalCluster`` of ``N`` worker processes whose
  scheduler, workers and HTTP endpoints bind to 127.0.0.1 only (the dashboard too).
* **``scheduler="tcp://HOST:PORT"``** or a ``distributed.Client``: the same chunks on that
  cluster; results come back to this process, which writes them (the cluster needs no
  shared file system). A scheduler that does not answer within ``timeout`` seconds is a
  :class:`~secdilemma.whatif.errors.ClusterError`. For a cluster across machines use TLS::

      from distributed.security import Security
      sec = Security(tls_ca_file="ca.pem", tls_client_cert="client.pem",
                     tls_client_key="client-key.pem", require_encryption=True)
      sweep(study, omega=..., scheduler="tls://scheduler.example.org:8786", security=sec)

  (``secdilemma whatif ... --scheduler tls://HOST:PORT --tls-ca-file ca.pem --tls-cert
  client.pem --tls-key client-key.pem``). Dask reruns the chunks of a worker that dies, and
  retries a chunk that raises (``retries``) before giving up.

Finished chunks go to a sink as they complete: arrays in memory, or a Zarr store
(:class:`ZarrSink`) with a marker per finished chunk, so an interrupted sweep resumes from
its finished chunks. Progress is a rich bar on a terminal (:mod:`secdilemma.progress`) and
a log line (logger ``secdilemma.whatif``) every ``log_every`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from secdilemma.errors import OutputExistsError, ParameterError
from secdilemma.progress import Reporter
from secdilemma.whatif.errors import ClusterError
from secdilemma.whatif.plan import SweepPlan

__all__ = ["MemorySink", "Progress", "ZarrSink", "connect", "run_plan"]

log = logging.getLogger("secdilemma.whatif")

#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 10.0


class MemorySink:
    """Results in preallocated arrays (thread-safe: every chunk writes its own region)."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        sizes = {**dict(zip(plan.dims, plan.shape, strict=True)), **plan.extra_sizes()}
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        for name, (extra, dt) in plan.variables().items():
            shape = (*plan.shape, *(sizes[d] for d in extra))
            self.arrays[name] = np.empty(shape, dtype=dt)

    def done(self, i: int) -> bool:
        return False

    def write(self, i: int, result: dict[str, npt.NDArray[Any]]) -> None:
        sl = self.plan.box(i)
        for name, arr in result.items():
            self.arrays[name][sl] = arr

    def dataset(self) -> xr.Dataset:
        plan = self.plan
        data = {
            name: ((*plan.dims, *extra), self.arrays[name])
            for name, (extra, _) in plan.variables().items()
        }
        return plan.label(xr.Dataset(data, coords=plan.coords(), attrs=plan.attrs()))


class ZarrSink:
    """Chunks written to a Zarr store as they finish; the store is renamed into place at the
    end, so ``path`` holds a whole sweep or nothing.

    While running, the store lives in ``.<name>.whatif/`` beside ``path`` with a ``done/``
    marker per finished chunk and the sweep's definition; ``resume=True`` keeps the finished
    chunks of a store with the same definition.
    """

    def __init__(
        self, plan: SweepPlan, path: str | os.PathLike[str], *, resume: bool, overwrite: bool
    ) -> None:
        self.plan = plan
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise OutputExistsError(
                f"{self.path} already exists; choose another store or pass overwrite=True."
            )
        self.stage = self.path.parent / f".{self.path.name}.whatif"
        self.store = self.stage / "store.zarr"
        self.marks = self.stage / "done"
        self.resumed = 0
        definition = json.dumps(plan.definition(), sort_keys=True, default=str)
        old = self.stage / "definition.json"
        same = old.is_file() and old.read_text(encoding="utf-8") == definition
        left = len(list(self.marks.iterdir())) if self.marks.is_dir() else 0
        if resume and same:
            self.resumed = left
            return
        if self.stage.exists() and not overwrite and (same or not resume):
            raise OutputExistsError(
                f"{self.stage} holds {left} finished chunk(s) of an interrupted sweep"
                f"{'' if same else ' with another definition'}; resume it (resume=True, "
                "--resume) or start afresh (overwrite=True, --overwrite)."
            )
        if resume and not same and self.stage.exists():
            log.warning("whatif: %s holds another sweep's chunks; starting afresh", self.stage)
        shutil.rmtree(self.stage, ignore_errors=True)
        self.marks.mkdir(parents=True)
        plan.template().to_zarr(self.store, compute=False, mode="w", zarr_format=2)
        old.write_text(definition, encoding="utf-8")

    def done(self, i: int) -> bool:
        return (self.marks / str(i)).exists()

    def write(self, i: int, result: dict[str, npt.NDArray[Any]]) -> None:
        import zarr  # here: `import secdilemma` stays light

        root = zarr.open_group(str(self.store), mode="r+")
        sl = self.plan.box(i)
        for name, arr in result.items():
            target = root[name]
            assert isinstance(target, zarr.Array)
            target[sl] = arr
        (self.marks / str(i)).touch()

    def finish(self, overwrite: bool) -> xr.Dataset:
        if self.path.exists():
            if not overwrite:
                raise OutputExistsError(f"{self.path} appeared while the sweep ran.")
            shutil.rmtree(self.path)
        os.replace(self.store, self.path)
        shutil.rmtree(self.stage, ignore_errors=True)
        return xr.open_zarr(self.path, consolidated=True)


class Progress:
    """A rich progress bar on a terminal, and a log line every ``log_every`` seconds."""

    def __init__(self, plan: SweepPlan, todo: int, *, bar: bool | None, log_every: float):
        self.total, self.todo, self.done = plan.n_boxes, todo, 0
        self.cells_per_box = max(plan.n_cells // max(plan.n_boxes, 1), 1)
        self.start = self.last = time.monotonic()
        self.log_every = log_every
        self._bar: Any = None
        if bar if bar is not None else sys.stderr.isatty():  # the bar of every long job
            unit = f"chunks, {plan.n_cells:,} cells"
            self._bar = Reporter("sweep", total=todo, unit=unit, bar=True).start()

    def update(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.advance()
        now = time.monotonic()
        if now - self.last >= self.log_every or self.done == self.todo:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            left = (self.todo - self.done) / rate if rate > 0 else float("nan")
            log.info(
                "whatif: %d/%d chunks done (%d of the sweep's %d), %.0f s elapsed, about %.0f s "
                "left",
                self.done, self.todo, self.done + self.total - self.todo, self.total,
                now - self.start, left,
            )  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _run_local(
    plan: SweepPlan, todo: list[int], sink: Any, on_done: Callable[[int], None], workers: int
) -> None:
    """Dask's threaded scheduler; each chunk writes its own region of the sink."""
    from dask.callbacks import Callback
    from dask.threaded import get

    def task(i: int) -> int:
        sink.write(i, plan.compute(i))
        return i

    dsk = {("box", i): (task, i) for i in todo}

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        on_done(int(result))

    with Callback(posttask=posttask):
        get(dsk, list(dsk), num_workers=workers)


def _run_box(plan: SweepPlan, i: int) -> dict[str, npt.NDArray[Any]]:
    return plan.compute(i)


def _run_distributed(
    plan: SweepPlan, todo: list[int], sink: Any, on_done: Callable[[int], None], client: Any,
    retries: int,
) -> None:  # fmt: skip
    """Chunks on the cluster; results come back here and are written as they finish."""
    from distributed import as_completed

    shared = client.scatter(plan, broadcast=True, hash=False)  # a new key: never a released one
    # Task keys are new for every run too: a resumed sweep must not meet the keys of the
    # interrupted run's futures while the scheduler is still cancelling them.
    run = uuid.uuid4().hex[:12]
    futures = client.map(
        _run_box, [shared] * len(todo), todo, retries=retries, key=[
            f"whatif-{plan.key()}-{run}-{i}" for i in todo
        ],
    )  # fmt: skip
    index = {f.key: i for f, i in zip(futures, todo, strict=True)}
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            sink.write(i, fut.result())
            fut.release()
            on_done(i)
    except BaseException:
        client.cancel(futures)
        raise


def _local_cluster(workers: int) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address=None,
    )


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    security: Any = None,
    timeout: float = CONNECT_TIMEOUT,
) -> Iterator[Any]:
    """A ``distributed.Client``: of a new loopback ``LocalCluster`` of ``workers`` processes,
    or of the scheduler at ``scheduler`` (a :class:`ClusterError` if it does not answer)."""
    from distributed import Client

    if scheduler is not None and workers is not None:
        raise ParameterError("whatif: give `scheduler` (a running cluster) or `workers`, not both.")
    if scheduler is None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ParameterError(f"whatif: `workers` must be an integer >= 1; got {workers!r}.")
        with _local_cluster(workers) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=timeout, security=security)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"whatif: the Dask scheduler at {scheduler!r} did not answer within {timeout:g} s "
            f"({type(exc).__name__}: {exc}). Check the address (tcp://HOST:PORT, or tls://… "
            "with TLS settings), that the scheduler runs and that this machine may reach it; "
            "or run in this process (no --scheduler) or on a local cluster (--workers N)."
        ) from None
    with client:
        yield client


def run_plan(
    plan: SweepPlan,
    sink: Any,
    *,
    client: Any = None,
    threads: int | None = None,
    retries: int = 2,
    progress: bool | None = None,
    log_every: float = 10.0,
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Run the chunks the sink does not hold yet, writing each as it finishes."""
    todo = [i for i in plan.boxes() if not sink.done(i)]
    bar = Progress(plan, len(todo), bar=progress, log_every=log_every)

    def on_done(i: int) -> None:
        bar.update()
        if on_chunk is not None:
            on_chunk(i)

    try:
        if not todo:
            return
        if client is not None:
            _run_distributed(plan, todo, sink, on_done, client, retries)
        else:
            _run_local(plan, todo, sink, on_done, threads or (os.cpu_count() or 1))
    finally:
        bar.close()
