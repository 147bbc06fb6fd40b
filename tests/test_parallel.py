"""Dask: identical results to a single process whatever the chunking, and after a worker dies."""
import os
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from standoff import simulate  # noqa: E402
from standoff.parallel import DaskExecutor  # noqa: E402

from .conftest import control, make  # noqa: E402


def _same(a, b):
    for name in a.ds.data_vars:
        np.testing.assert_array_equal(a.ds[name].values, b.ds[name].values, err_msg=name)


@pytest.fixture(scope="module")
def executor():
    ex = DaskExecutor(n_workers=2, chunks_per_worker=3)
    yield ex
    ex.close()


def test_dask_gives_bit_identical_results(executor):
    sc = make(members=1300, events=[control(approval={"dist": "uniform", "low": 0.1, "high": 0.5})])
    serial = simulate(sc)
    parallel = simulate(sc, executor=executor)
    _same(serial, parallel)


def test_progress_counts_every_member_once(executor):
    seen = []
    simulate(make(members=900), executor=executor, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (900, 900)
    assert all(b >= a for (a, _), (b, _) in zip(seen, seen[1:]))


def test_a_killed_worker_does_not_change_the_result(executor):
    sc = make(members=2600, horizon_days=400, events=[control()])
    serial = simulate(sc)
    client = executor.client
    victim = sorted(client.scheduler_info()["workers"])[0]

    def kill_soon():
        time.sleep(1.0)
        try:
            client.run(lambda: os._exit(1), workers=[victim])
        except Exception:  # the worker dies while answering
            pass

    th = threading.Thread(target=kill_soon)
    th.start()
    parallel = simulate(sc, executor=executor)
    th.join()
    _same(serial, parallel)
    # the worker really died (its nanny started a new one at a new address)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.scheduler_info()["workers"]
