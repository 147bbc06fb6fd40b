"""Dask scale-out: members split into chunks that run on a Dask cluster.

Results are identical to a single-process run with the same seed whatever the chunk count,
because every draw is keyed by the member's global index (:mod:`standoff.core.rng`) and chunks
start at multiples of :data:`standoff.ensemble.BLOCK`.  If a worker dies, Dask reruns its
chunk elsewhere; the rerun gives the same numbers, so the result is unchanged.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

from .ensemble import BLOCK, Chunk, Plan, chunks, run_chunk
from .errors import StandoffError, install_hint


class DaskExecutor:
    """Run chunks on a Dask cluster: an existing scheduler, or a LocalCluster started here.

    Parameters
    ----------
    address
        Scheduler address (``tcp://host:8786``); ``None`` starts a local cluster.
    n_workers
        Workers of the local cluster (one thread each: the kernel is single-threaded).
    chunks_per_worker
        Chunks per worker, for load balance and a smooth progress bar.
    """

    def __init__(self, address: str | None = None, n_workers: int = 2, chunks_per_worker: int = 8) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the extra
            raise StandoffError(f"Dask is not installed: {install_hint('parallel')}") from None
        self._cluster = None
        if n_workers < 1:
            raise StandoffError("a local Dask cluster needs at least one worker", field="--workers", value=n_workers)
        if address is not None and not _looks_like_address(address):
            raise StandoffError("not a Dask scheduler address: give 'local' or an address such as "
                                "tcp://127.0.0.1:8786", field="--dask", value=address)
        try:
            if address is None:
                self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                             dashboard_address=":0")
                self.client = Client(self._cluster)
            else:
                self.client = Client(address, timeout="10s")
        except (OSError, ValueError, TypeError) as exc:  # TimeoutError is an OSError
            raise StandoffError(f"cannot reach the Dask scheduler: {exc}", field="--dask", value=address) from None
        self.chunks_per_worker = chunks_per_worker

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info()["workers"]))

    def split(self, members: int) -> list[tuple[int, int]]:
        want = self.n_workers * self.chunks_per_worker
        return chunks(members, min(want, math.ceil(members / BLOCK)))

    def map(self, pl: Plan, ranges: list[tuple[int, int]]) -> Iterator[Chunk]:
        from dask.distributed import as_completed
        plan_f = self.client.scatter(pl, broadcast=True)
        futures = [self.client.submit(run_chunk, plan_f, s, n, pure=False, retries=2) for s, n in ranges]
        for fut in as_completed(futures):
            yield fut.result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _looks_like_address(address: str) -> bool:
    """``tcp://host:port``, ``host:port`` and the like: what distributed's Client can dial."""
    import re
    return bool(re.fullmatch(r"(?:(?:tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9._\-\[\]:]+:\d{1,5}(?:/.*)?", address))
