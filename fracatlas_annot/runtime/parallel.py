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
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

from .progress import task

__all__ = [
    "PARALLEL_MIN_ITEMS",
    "Backend",
    "LocalProcesses",
    "default_workers",
    "parallel_map",
    "run_chunks",
    "split_chunks",
    "use_backend",
]

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this are worked in this process unless a worker count is forced.
PARALLEL_MIN_ITEMS = 5000


def default_workers(n_items: int, workers: int | None = None, *, min_items: int = PARALLEL_MIN_ITEMS) -> int:
    """How many processes to use for ``n_items`` items.

    ``workers`` wins when given; else the ``FRACATLAS_WORKERS`` environment variable; else
    2 when there are more than ``min_items`` items, 2+ CPUs, ``fork``, and this process
    runs a single thread (forking next to a live thread, e.g. a progress-bar refresher
    holding the stderr lock, can deadlock the child).
    """
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
    """``[func(c) for c in chunks]``, the first in this process, the rest in forked workers.

    Falls back to running everything here when a worker cannot be started or dies.
    """
    if len(chunks) <= 1:
        return [func(c) for c in chunks]
    try:
        ctx = multiprocessing.get_context("fork")
        executor = ProcessPoolExecutor(max_workers=len(chunks) - 1, mp_context=ctx)
    except (OSError, ValueError):
        return [func(c) for c in chunks]
    with executor:
        try:
            futures = [executor.submit(func, c) for c in chunks[1:]]
        except Exception:  # noqa: BLE001 - pool could not start: do the work here
            return [func(c) for c in chunks]
        first = func(chunks[0])
        rest: list[R] = []
        for chunk, fut in zip(chunks[1:], futures):
            try:
                rest.append(fut.result())
            except Exception:  # noqa: BLE001 - a dead worker must not lose its files
                rest.append(func(chunk))
        return [first, *rest]


def _apply_batch(args: tuple[Callable[[Any], R], Sequence[Any]]) -> list[R]:
    func, batch = args
    return [func(item) for item in batch]


class Backend(Protocol):
    """Runs ``func`` over batches; yields each batch's result list in batch order."""

    def map_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> Iterator[list[R]]: ...


class LocalProcesses:
    """Forked processes on this machine (``workers`` of them); in-process when ``workers`` is 1."""

    def map_batches(self, func: Callable[[Any], R], batches: Sequence[Sequence[Any]], *, workers: int) -> Iterator[list[R]]:
        if workers <= 1 or len(batches) <= 1:
            for b in batches:
                yield _apply_batch((func, b))
            return
        try:
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        except (OSError, ValueError):
            for b in batches:
                yield _apply_batch((func, b))
            return
        with executor:
            futures = [executor.submit(_apply_batch, (func, b)) for b in batches]
            for b, fut in zip(batches, futures):
                try:
                    yield fut.result()
                except Exception:  # noqa: BLE001 - a dead worker must not lose its items
                    yield _apply_batch((func, b))


_BACKEND: contextvars.ContextVar[Backend] = contextvars.ContextVar("fracatlas_backend", default=LocalProcesses())


@contextlib.contextmanager
def use_backend(backend: Backend) -> Iterator[None]:
    """Run the :func:`parallel_map` calls made inside this block on ``backend``."""
    token = _BACKEND.set(backend)
    try:
        yield
    finally:
        _BACKEND.reset(token)


def parallel_map(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    batch_size: int | None = None,
    min_items: int = PARALLEL_MIN_ITEMS,
    label: str | None = None,
) -> list[R]:
    """``[func(x) for x in items]`` in input order, in batches on the current backend.

    ``func`` must be a module-level function (it is pickled). ``label`` shows a progress
    bar through :mod:`.progress` when a front end installed a reporter.
    """
    n = len(items)
    if n == 0:
        return []
    w = default_workers(n, workers, min_items=min_items)
    size = batch_size or max(8, min(256, n // (max(w, 1) * 8) or 1))
    batches = [items[i : i + size] for i in range(0, n, size)]
    out: list[R] = []
    with task(label or "working", total=n, enabled=label is not None) as advance:
        for res in _BACKEND.get().map_batches(func, batches, workers=w):
            out.extend(res)
            advance(len(res))
    return out
