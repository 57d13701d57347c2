"""Sweeps on Dask: a real LocalCluster (2 worker processes, loopback only) gives the local result
exactly, survives a worker killed mid-sweep, and a sweep killed half-way resumes to the same
result. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma.errors import ParameterError
from secdilemma.whatif import ChunkError, ClusterError, sweep
from secdilemma.whatif.execute import connect

AXES = {"omega": np.round(np.linspace(0.0, 1.0, 11), 2), "delta": [0.1, 0.5, 0.9],
        "prior_greedy": [0.2, 0.4, 0.6, 0.8]}  # fmt: skip
OPTS = {"n_sims": 100, "chunks": 12}  # 132 cells in 11 chunks


@pytest.fixture(scope="module")
def study():
    return sd.Study("us_ussr", params="default")


@pytest.fixture(scope="module")
def local(study):
    return sweep(study, **OPTS, **AXES)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_scheduler_that_does_not_answer_is_a_clear_error_in_bounded_time(study):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as err:
        sweep(study, omega=[0.5], scheduler=address, timeout=2)
    assert time.monotonic() - t0 < 20
    assert address in str(err.value)
    assert "did not answer" in str(err.value)
    with pytest.raises(ParameterError, match="not both"), connect(address, workers=2):
        pass


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as c:
        yield c


def _listening(pid: int) -> list[str]:
    import psutil

    socks = psutil.Process(pid).net_connections(kind="inet")
    return [s.laddr.ip for s in socks if s.status == psutil.CONN_LISTEN]


@pytest.mark.slow
@pytest.mark.ci
def test_the_cluster_listens_on_loopback_only(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(a.startswith("tcp://127.0.0.1:") for a in workers)
    pids = [os.getpid(), *client.run(os.getpid).values()]
    addresses = [ip for pid in pids for ip in _listening(pid)]
    assert addresses
    assert set(addresses) <= {"127.0.0.1", "::1"}, addresses


@pytest.mark.slow
@pytest.mark.ci
def test_the_distributed_result_equals_the_local_one_exactly(study, local, client):
    dist = sweep(study, client=client, **OPTS, **AXES)
    xr.testing.assert_identical(dist, local)


@pytest.mark.slow
@pytest.mark.ci
def test_a_study_with_signal_channels_gives_the_local_result_on_the_cluster(client):
    """The rival's signals and the calibrated intercepts travel with the pickled study."""
    study = sd.Study("russia_nato")
    assert study.exact_params().signals is not None
    axes = {"omega": [0.2, 0.5, 0.8], "prior_greedy": [0.3, 0.6]}
    opts = {"n_sims": 50, "chunks": 2, "policy": ["grit", "belief_threshold"], "policy_sims": 20}
    local = sweep(study, **opts, **axes)
    xr.testing.assert_identical(sweep(study, client=client, **opts, **axes), local)


class _KillOnce:
    """Worker plugin: the first worker to start its second sweep task exits at once."""

    name = "whatif-kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.started = 0

    def setup(self, worker):  # pragma: no cover - runs in the worker
        self.started = 0

    def transition(self, key, start, finish, **kwargs):  # pragma: no cover - in the worker
        if finish == "executing" and str(key).startswith("whatif-"):
            self.started += 1
            if self.started == 2:
                try:
                    os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return
                os._exit(1)


@pytest.mark.slow
@pytest.mark.ci
def test_a_worker_killed_mid_sweep_loses_nothing(study, local, client, tmp_path):
    import cloudpickle
    from distributed import WorkerPlugin

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    plugin = type("KillOnce", (_KillOnce, WorkerPlugin), {})(str(tmp_path / "killed"))
    client.register_plugin(plugin)
    try:
        res = sweep(study, client=client, **OPTS, **AXES)
    finally:
        client.unregister_worker_plugin(_KillOnce.name)
    assert (tmp_path / "killed").exists()  # a worker did die mid-sweep
    xr.testing.assert_identical(res, local)
    client.wait_for_workers(2, timeout=60)


@pytest.mark.slow
@pytest.mark.ci
def test_an_interrupted_cluster_sweep_resumes_to_the_same_result(study, local, client, tmp_path):
    store = tmp_path / "s.zarr"
    seen = []

    def stop(i):
        seen.append(i)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(study, client=client, store=store, on_chunk=stop, **OPTS, **AXES)
    assert not store.exists()
    rest = []
    res = sweep(study, client=client, store=store, resume=True, on_chunk=rest.append,
                **OPTS, **AXES)  # fmt: skip
    assert len(rest) == 11 - 4
    xr.testing.assert_identical(res.load().drop_attrs(), local.drop_attrs())


@pytest.mark.slow
@pytest.mark.ci
def test_a_failing_chunk_on_the_cluster_names_its_cell(study, client):
    with pytest.raises(ChunkError, match="losses_exploit_offense=1e\\+308"):
        sweep(study, client=client, retries=0, n_sims=50, losses_exploitation=[1e307],
              losses_exploit_offense=[1.0, 1e308])  # fmt: skip


_KILLED_RUN = """
import os, signal, numpy as np, secdilemma as sd
from secdilemma.whatif import sweep
done = []
def kill_after_five(i):
    done.append(i)
    if len(done) == 5:
        os.kill(os.getpid(), signal.SIGKILL)
sweep(sd.Study("us_ussr", params="default"), store={store!r}, on_chunk=kill_after_five,
      n_sims=100, chunks=12, omega=np.round(np.linspace(0.0, 1.0, 11), 2), delta=[0.1, 0.5, 0.9],
      prior_greedy=[0.2, 0.4, 0.6, 0.8])
"""


@pytest.mark.slow
@pytest.mark.ci
def test_a_sweep_killed_half_way_resumes_to_the_uninterrupted_result(study, local, tmp_path):
    store = tmp_path / "s.zarr"
    code = textwrap.dedent(_KILLED_RUN.format(store=str(store)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not store.exists()
    finished = len(os.listdir(tmp_path / ".s.zarr.whatif" / "done"))
    assert 5 <= finished < 11
    rest = []
    res = sweep(study, store=store, resume=True, on_chunk=rest.append, **OPTS, **AXES)
    assert len(rest) == 11 - finished
    xr.testing.assert_identical(res.load().drop_attrs(), local.drop_attrs())
    assert not (tmp_path / ".s.zarr.whatif").exists()
