"""The one parallel map, with one worker policy.

Per-file work (annotation files, image headers, the pixel scan, report thumbnails) goes
through :func:`parallel_map`: items are cut into batches, each batch runs ``func`` on its
items in a worker, and results come back in input order. Where the work runs is a
*backend*: :class:`LocalProcesses` (forked processes on this machine, the default) or one
installed with :func:`use_backend` (the distributed backend plugs in here). Worker count
policy lives in :func:`default_workers` only.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from .memory import for_worker
from .progress import task

__all__ = [
    "PARALLEL_MIN_ITEMS",
    "Backend",
    "LocalProcesses",
    "default_workers",
    "Started",
    "parallel_map",
    "parallel_map_start",
    "run_chunks",
    "split_chunks",
    "use_backend",
    "use_workers",
]

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this are worked in this process unless a worker count is forced.
PARALLEL_MIN_ITEMS = 5000


_WORKERS: contextvars.ContextVar[int | None] = contextvars.ContextVar("fracatlas_workers", default=None)


@contextlib.contextmanager
def use_workers(workers: int | None) -> Iterator[None]:
    """Inside this block a :func:`default_workers` call without ``workers`` uses ``workers``
    (the CLI's ``--workers N``); None changes nothing."""
    token = _WORKERS.set(workers)
    try:
        yield
    finally:
        _WORKERS.reset(token)


def default_workers(n_items: int, workers: int | None = None, *, min_items: int = PARALLEL_MIN_ITEMS) -> int:
    """How many processes to use for ``n_items`` items.

    ``workers`` wins when given; else the count set by :func:`use_workers`; else the
    ``FRACATLAS_WORKERS`` environment variable; else
    2 when there are more than ``min_items`` items, 2+ CPUs, ``fork``, and this process
    runs a single thread (forking next to a live thread, e.g. a progress-bar refresher
    holding the stderr lock, can deadlock the child).
    """
    if workers is None:
        workers = _WORKERS.get()
    if workers is None:
        env = os.environ.get("FRACATLAS_WORKERS", "").strip()
        if env.isdigit():
            workers = int(env)
        elif n_items > min_items and threading.active_count() == 1:
            workers = min(2, os.cpu_count() or 1)
        else:
            workers = 1
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return 1  # fork is unsafe on macOS and absent on Windows
    return max(1, min(workers, n_items))


def split_chunks(items: Sequence[T], n: int) -> list[Sequence[T]]:
    """``items`` cut into ``n`` contiguous, nearly equal chunks (order kept)."""
    n = max(1, min(n, len(items))) if len(items) else 1
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        stop = start + size + (1 if i < extra else 0)
        out.append(items[start:stop])
        start = stop
    return out


def run_chunks(func: Callable[[Any], R], chunks: Sequence[Any]) -> list[R]:
    """``[func(c) for c in chunks]``, each chunk a batch of its own on the current backend.

    For callers that cut their work themselves (:func:`split_chunks` with
    :func:`default_workers`): one chunk runs here, several run one per worker.
    """
    if len(chunks) <= 1:
        return [func(c) for c in chunks]
    return parallel_map(func, chunks, workers=len(chunks), batch_size=1)


def _apply_batch(args: tuple[Callable[[Any], R], Sequence[Any]]) -> list[R]:
    func, batch = args
    return [func(item) for item in batch]


class Backend(Protocol):
    """Runs ``func`` over batches; yields each batch's result list in batch order.

    A backend may also define ``workers_for(n_items, workers, min_items) -> int``: the
    worker count :func:`parallel_map` cuts its batches for (default: :func:`default_workers`,
    this machine's policy; a cluster answers with its own size).
    """

    def map_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> Iterator[list[R]]: ...


class LocalProcesses:
    """Forked processes on this machine (``workers`` of them); in this process when ``workers`` is 1.

    A batch whose worker died (or could not be started) is run again in this process, so a
    lost worker never loses items; an exception raised by ``func`` itself is raised here
    by that rerun.
    """

    def map_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> Iterator[list[R]]:
        running = self.start_batches(func, batches, workers=workers)
        try:
            yield from running
        finally:  # also when the caller stops early: pending batches are dropped, not run
            running.close()

    def start_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> _Submitted:
        """Like :meth:`map_batches`, but the batches are handed to the workers now: they
        run while this process does other work, and iterating the result collects them."""
        if workers <= 1 or len(batches) <= 1 or _LIVE:  # never fork next to a running pool's threads
            return _Submitted(None, [], func, batches)
        try:
            executor = ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=multiprocessing.get_context("fork"),
                                           initializer=_worker_init)
        except (OSError, ValueError):
            return _Submitted(None, [], func, batches)
        futures: list = []
        running = _Submitted(executor, futures, func, batches)
        try:
            for b in batches:
                futures.append(executor.submit(_apply_batch, (func, b)))
        except Exception:  # noqa: BLE001 - the pool could not start: the rest runs here
            pass
        return running


#: The pools of this process that are running (a map started while one runs stays here);
#: weak, so that a started map dropped without ``close()`` does not hold the rest serial.
_LIVE: weakref.WeakSet[_Submitted] = weakref.WeakSet()


def _worker_init() -> None:
    """In each forked worker: the allocator setting for workers (:func:`.memory.for_worker`);
    Ctrl-C left to the command (it drops the queued batches and waits for the running ones:
    a worker waiting for work would print a traceback); and on Linux, end with the command
    (``PR_SET_PDEATHSIG``), so a killed command leaves no idle workers behind."""
    for_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass


class _Submitted:
    """Batches handed to a process pool (or none, to run here): iterating yields each
    batch's results in order, rerunning here a batch whose worker died; :meth:`close`
    drops what has not run and stops the pool (idempotent)."""

    def __init__(self, executor: ProcessPoolExecutor | None, futures: list, func: Callable[[Any], Any], batches: Sequence[Sequence[Any]]):
        self.executor, self.futures, self.func, self.batches = executor, futures, func, batches
        if executor is not None:
            _LIVE.add(self)

    def __iter__(self) -> Iterator[list]:
        try:
            for i, b in enumerate(self.batches):
                if i < len(self.futures):
                    try:
                        yield self.futures[i].result()
                        continue
                    except Exception:  # noqa: BLE001 - a dead worker must not lose its items
                        pass
                yield _apply_batch((self.func, b))
        finally:
            self.close()

    def close(self) -> None:
        if self.executor is not None:
            executor, self.executor = self.executor, None
            try:
                executor.shutdown(wait=True, cancel_futures=True)
            finally:
                _LIVE.discard(self)


_BACKEND: contextvars.ContextVar[Backend] = contextvars.ContextVar("fracatlas_backend", default=LocalProcesses())


@contextlib.contextmanager
def use_backend(backend: Backend) -> Iterator[None]:
    """Run the :func:`parallel_map` calls made inside this block on ``backend``."""
    token = _BACKEND.set(backend)
    try:
        yield
    finally:
        _BACKEND.reset(token)


def _cut(items: Sequence[T], workers: int | None, batch_size: int | None, max_batch: int, min_items: int) -> tuple[Backend, list[Sequence[T]], int]:
    """The current backend, ``items`` cut into batches for it, and the worker count."""
    n = len(items)
    backend = _BACKEND.get()
    workers_for = getattr(backend, "workers_for", None)
    w = workers_for(n, workers, min_items) if workers_for else default_workers(n, workers, min_items=min_items)
    if batch_size:
        size = batch_size
    else:  # about eight batches per worker, and at least one for each worker
        size = max(1, min(max_batch, max(8, n // (w * 8)), -(-n // w)))
    return backend, [items[i : i + size] for i in range(0, n, size)], w


def parallel_map(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    batch_size: int | None = None,
    max_batch: int = 256,
    min_items: int = PARALLEL_MIN_ITEMS,
    label: str | None = None,
) -> list[R]:
    """``[func(x) for x in items]`` in input order, in batches on the current backend.

    Args:
        func: a module-level function (or a :func:`functools.partial` of one): it is pickled.
        workers: processes wanted; default: :func:`default_workers` (``min_items`` is the
            size from which the default goes parallel: pass a small one for costly items).
        batch_size: items per batch; default: about eight batches per worker, of 8 to
            ``max_batch`` items, and at least one batch per worker (pass a small
            ``max_batch`` for costly items, so that the progress bar moves).
        label: shows a progress bar through :mod:`.progress` (when a front end installed a
            reporter); None for no bar.
    """
    started = parallel_map_start(
        func, items, workers=workers, batch_size=batch_size, max_batch=max_batch, min_items=min_items, label=label
    )
    return started.result()


def _collect(results: Iterable[list[R]], n: int, label: str | None) -> list[R]:
    out: list[R] = []
    with task(label or "working", total=n, enabled=label is not None) as advance:
        for res in results:
            out.extend(res)
            advance(len(res))
    return out


class Started:
    """A :func:`parallel_map` already running (:func:`parallel_map_start`): :meth:`result`
    waits for it and returns ``[func(x) for x in items]`` in input order (once; the
    progress bar, if any, shows while it waits); :meth:`close` drops what has not run."""

    def __init__(self, results: Iterable[list[Any]], n: int, label: str | None) -> None:
        self._results, self._n, self._label = results, n, label
        self._out: list[Any] | None = None
        self._closed = False

    def result(self) -> list[Any]:
        if self._out is None:
            if self._closed:
                raise RuntimeError("this map was closed (or failed) before its result was collected")
            try:
                self._out = _collect(self._results, self._n, self._label)
            finally:
                self.close()
        return self._out

    def close(self) -> None:
        self._closed = True
        close = getattr(self._results, "close", None)
        if close is not None:
            close()


def parallel_map_start(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    batch_size: int | None = None,
    max_batch: int = 256,
    min_items: int = PARALLEL_MIN_ITEMS,
    label: str | None = None,
) -> Started:
    """:func:`parallel_map` started now and collected later: the batches go to the workers
    at once (on a backend with ``start_batches``; others start when collected), so that
    this process can do other work meanwhile. Same arguments; call ``.result()`` (or
    ``.close()`` to drop it). Other maps made meanwhile run in this process (a live pool
    thread makes forking unsafe, see :func:`default_workers`)."""
    if not len(items):
        return Started([], 0, label)
    backend, batches, w = _cut(items, workers, batch_size, max_batch, min_items)
    start = getattr(backend, "start_batches", None)
    results = start(func, batches, workers=w) if start else backend.map_batches(func, batches, workers=w)
    return Started(results, len(items), label)
