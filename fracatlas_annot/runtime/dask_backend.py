"""A :class:`~fracatlas_annot.runtime.parallel.Backend` on a Dask cluster (``dask.distributed``).

Installed with :func:`~fracatlas_annot.runtime.parallel.use_backend` (the CLI does it for
``--scheduler tcp://HOST:8786`` or ``DASK_SCHEDULER_ADDRESS``), it sends each batch of
:func:`~fracatlas_annot.runtime.parallel.parallel_map` to the cluster as one task (never one
task per file) and yields the results in batch order, keeping a bounded number of batches
running; the results wait on the workers until the driver takes them. The per-file functions
return compact results (sizes, hashes, 32x32 thumbnails, findings), so the driver's memory
does not grow with pixel data.

The workers must import this package (the same version) and see the input files at the same
paths: a shared file system, and absolute paths (a relative path is relative to each
worker's own working directory).

This module imports ``distributed`` when a backend is made, not before: the extra
``fracatlas-annot[distributed]`` is optional.
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..errors import UsageError

__all__ = ["MISSING_EXTRA", "DaskBackend", "connect"]

R = TypeVar("R")

MISSING_EXTRA = "--scheduler needs dask.distributed: install fracatlas-annot[distributed]"

#: The name of the batch tasks on the scheduler (their keys are ``fracatlas_batch-<uuid>``).
TASK_PREFIX = "fracatlas_batch"

#: Batches in flight per worker thread of the cluster (enough to keep them busy).
IN_FLIGHT_PER_THREAD = 4


def _apply_batch(func: Callable[[Any], R], batch: Sequence[Any]) -> list[R]:
    return [func(item) for item in batch]


class DaskBackend:
    """Runs batches as tasks of a ``distributed.Client``.

    Args:
        client: a connected ``distributed.Client``.
        workers: batches are cut for this many workers (``--workers N``); default: the
            cluster's worker threads when the map starts.
    """

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        self.client = client
        self.workers = workers

    def _threads(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a scheduler that does not answer: one batch at a time
            return 1

    def workers_for(self, n_items: int, workers: int | None, min_items: int) -> int:
        """Workers to cut ``n_items`` items for: ``workers`` when forced, else ours, else the
        cluster's threads. Every map goes to the cluster, small or not (``min_items`` is a
        local-process policy)."""
        w = workers or self.workers or self._threads()
        return max(1, min(w, n_items))

    def map_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> Iterator[list[R]]:
        running = self.start_batches(func, batches, workers=workers)
        try:
            yield from running
        finally:  # the caller stopped early or a batch failed: drop what is still queued
            running.close()

    def start_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> _Running:
        """Like :meth:`map_batches`, but the first window of batches is submitted now, so
        the cluster works while the driver does something else."""
        return _Running(self.client, func, batches, max(2, IN_FLIGHT_PER_THREAD * max(workers, self._threads())))


class _Running:
    """Batches on the cluster, at most ``window`` of them running at once: each one that
    finishes submits the next (a done callback), so the cluster keeps working while the
    driver does something else; finished results wait on the workers until iterating
    yields them, in batch order. :meth:`close` cancels what has not been yielded."""

    def __init__(self, client: Any, func: Callable[[Any], Any], batches: Sequence[Sequence[Any]], window: int) -> None:
        self.client, self.func, self.window = client, func, window
        self.todo = iter(batches)
        self.pending: collections.deque = collections.deque()
        self.running = 0
        self.lock = threading.RLock()  # the callback may run while _fill holds it
        self._fill()

    def _fill(self) -> None:
        with self.lock:
            while self.running < self.window:
                b = next(self.todo, None)
                if b is None:
                    return
                key = f"{TASK_PREFIX}-{uuid.uuid4().hex}"  # named on the dashboard and the scheduler
                future = self.client.submit(_apply_batch, self.func, list(b), key=key, pure=False)
                self.running += 1
                self.pending.append(future)
                future.add_done_callback(self._done)

    def _done(self, _future: Any) -> None:
        with self.lock:
            self.running -= 1
        self._fill()

    def __iter__(self) -> Iterator[list]:
        try:
            while True:
                with self.lock:
                    if not self.pending:
                        return
                    future = self.pending.popleft()
                yield future.result()
        finally:
            self.close()

    def close(self) -> None:
        with self.lock:
            self.todo = iter(())
            pending, self.pending = list(self.pending), collections.deque()
        if pending:
            self.client.cancel(pending)


def connect(address: str, *, workers: int | None = None, timeout: float = 10.0) -> DaskBackend:
    """A :class:`DaskBackend` on the scheduler at ``address`` (``tcp://HOST:8786``).

    Raises :class:`~fracatlas_annot.errors.UsageError` (exit 2) when ``distributed`` is not
    installed or the scheduler cannot be reached within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return DaskBackend(client, workers=workers)
