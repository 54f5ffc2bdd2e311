"""The one parallel map: order, batches, the worker policy, dead workers, pluggable backends."""

from __future__ import annotations

import os
import threading
from functools import partial

import pytest

from fracatlas_annot.runtime import parallel
from fracatlas_annot.runtime.parallel import (
    PARALLEL_MIN_ITEMS,
    LocalProcesses,
    default_workers,
    parallel_map,
    run_chunks,
    split_chunks,
    use_backend,
)
from fracatlas_annot.runtime.progress import use_reporter

from .recording import RecordingReporter

PARENT = os.getpid()


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _die_in_a_worker_on(bad: int, x: int) -> int:
    """Kills the worker process that gets ``bad``; in the parent it just computes."""
    if x == bad and os.getpid() != PARENT:
        os._exit(13)
    return -x


class _FakeBackend:
    """Runs batches in this process and records them (the shape of a distributed backend)."""

    def __init__(self) -> None:
        self.seen: list[tuple[list, int]] = []

    def map_batches(self, func, batches, *, workers):
        for b in batches:
            self.seen.append((list(b), workers))
            yield [func(x) for x in b]


@pytest.mark.parametrize("n, k, sizes", [(10, 2, [5, 5]), (5, 2, [3, 2]), (1, 2, [1]), (0, 2, [0]), (7, 1, [7])])
def test_split_chunks_keeps_order(n, k, sizes):
    chunks = split_chunks(list(range(n)), k)
    assert [len(c) for c in chunks] == sizes
    assert [x for c in chunks for x in c] == list(range(n))


@pytest.mark.parametrize(
    "n, workers, env, expected",
    [(100, None, "", 1), (PARALLEL_MIN_ITEMS + 1, 1, "", 1), (10, 2, "", 2), (1, 2, "", 1),
     (10, None, "2", 2), (100_000, None, "1", 1)],
)  # fmt: skip
def test_default_workers(monkeypatch, n, workers, env, expected):
    monkeypatch.setenv("FRACATLAS_WORKERS", env)
    assert default_workers(n, workers) == expected


def test_default_workers_from_min_items(monkeypatch):
    monkeypatch.setenv("FRACATLAS_WORKERS", "")
    assert default_workers(16, min_items=16) == 1
    assert default_workers(17, min_items=16) == min(2, os.cpu_count() or 1)


def test_no_automatic_fork_next_to_a_live_thread(monkeypatch):
    monkeypatch.setenv("FRACATLAS_WORKERS", "")
    n = PARALLEL_MIN_ITEMS + 1
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert default_workers(n) == 1
        assert default_workers(n, 2) == 2  # an explicit request is honoured
    finally:
        stop.set()
        t.join()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_parallel_map_keeps_input_order(workers, batch_size):
    items = list(range(53))
    out = parallel_map(_square_and_pid, items, workers=workers, batch_size=batch_size)
    assert [v for v, _ in out] == [x * x for x in items]
    pids = {pid for _, pid in out}
    if workers == 1:
        assert pids == {os.getpid()}
    else:  # really in worker processes
        assert os.getpid() not in pids


def test_parallel_map_of_nothing():
    assert parallel_map(_square_and_pid, [], workers=2) == []


def test_batches_default_to_at_least_one_per_worker():
    fake = _FakeBackend()
    with use_backend(fake):
        assert parallel_map(abs, [1, 2, 3], workers=2) == [1, 2, 3]
        assert parallel_map(abs, list(range(100)), workers=1) == list(range(100))
        assert parallel_map(abs, list(range(1000)), workers=2, max_batch=16) == list(range(1000))
    sizes = [len(b) for b, _ in fake.seen]
    assert sizes[:2] == [2, 1]  # three items, two workers: two batches
    assert sizes[2:11] == [12] * 8 + [4]  # 100 items, one worker: about eight batches
    assert sizes[11:] == [16] * 62 + [8]  # costly items: batches capped by max_batch


def test_a_dead_workers_batch_is_redone_here():
    items = list(range(40))
    out = parallel_map(partial(_die_in_a_worker_on, 17), items, workers=2, batch_size=5)
    assert out == [-x for x in items]
    assert run_chunks(partial(_die_in_a_worker_on, 3), [1, 2, 3, 4]) == [-1, -2, -3, -4]


def test_run_chunks_keeps_order_and_runs_each_chunk_whole():
    chunks = split_chunks(list(range(100)), 3)
    assert run_chunks(sum, chunks) == [sum(c) for c in chunks]
    assert run_chunks(sum, [[1, 2]]) == [3]
    assert run_chunks(sum, []) == []


def test_use_backend_routes_every_parallel_map_and_is_undone():
    fake = _FakeBackend()
    with use_backend(fake):
        out = parallel_map(abs, [-3, -2, -1, 0, 1], workers=2, batch_size=2)
        chunks = run_chunks(sum, [[1, 2], [3]])
    assert out == [3, 2, 1, 0, 1] and chunks == [3, 3]
    assert fake.seen == [([-3, -2], 2), ([-1, 0], 2), ([1], 2), ([[1, 2]], 2), ([[3]], 2)]
    assert isinstance(parallel._BACKEND.get(), LocalProcesses)  # restored after the block


def test_progress_advances_per_batch_only_with_a_label():
    rec = RecordingReporter()
    with use_reporter(rec):
        parallel_map(abs, list(range(10)), workers=1, batch_size=4)
        assert rec.events == []
        parallel_map(abs, list(range(10)), workers=1, batch_size=4, label="counting")
    assert rec.bars() == [("counting", 10)] and rec.advances("counting") == [4, 4, 2]


def _touch(folder: str, x: int) -> int:
    """Writes ``folder/x`` (so that the caller can see the item ran) and returns ``x``."""
    with open(os.path.join(folder, str(x)), "w") as f:
        f.write(str(os.getpid()))
    return x


def test_a_started_map_runs_while_the_caller_works_and_gives_parallel_maps_result(tmp_path):
    items = list(range(24))
    started = parallel.parallel_map_start(partial(_touch, str(tmp_path)), items, workers=2, batch_size=3)
    try:
        # the workers run the items before anyone asks for the result
        deadline = 600
        while len(os.listdir(tmp_path)) < len(items) and deadline:
            threading.Event().wait(0.1)
            deadline -= 1
        assert sorted(int(n) for n in os.listdir(tmp_path)) == items
        assert {(tmp_path / str(x)).read_text() for x in items} - {str(os.getpid())}  # in other processes
        # a map made while the pool runs stays in this process (no fork next to its threads)
        assert {pid for _, pid in parallel_map(_square_and_pid, list(range(10)), workers=2, batch_size=2)} == {os.getpid()}
        assert started.result() == items == parallel_map(abs, items)
        assert started.result() == items  # collected once, kept
    finally:
        started.close()
    assert not parallel._LIVE  # the pool is stopped
    assert os.getpid() not in {pid for _, pid in parallel_map(_square_and_pid, list(range(10)), workers=2, batch_size=2)}


def test_a_started_map_dropped_unread_stops_its_pool():
    import gc
    import multiprocessing

    started = parallel.parallel_map_start(_square_and_pid, list(range(100)), workers=2, batch_size=1)
    assert len(parallel._LIVE) == 1 and len(multiprocessing.active_children()) == 2
    started.close()
    started.close()  # idempotent
    assert not parallel._LIVE and multiprocessing.active_children() == []
    with pytest.raises(RuntimeError, match="closed"):
        started.result()  # never a silently empty list
    # one dropped without close() does not keep later maps serial
    parallel.parallel_map_start(_square_and_pid, list(range(100)), workers=2, batch_size=1)
    gc.collect()
    assert not parallel._LIVE
    assert os.getpid() not in {pid for _, pid in parallel_map(_square_and_pid, list(range(10)), workers=2, batch_size=2)}


def _ignores_sigint(_: int) -> int:
    import signal

    return int(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_workers_leave_ctrl_c_to_the_command():
    # Ctrl-C reaches the whole process group: the command stops the pool; a worker waiting
    # for work would otherwise print a traceback of its own
    assert parallel_map(_ignores_sigint, list(range(4)), workers=2, batch_size=1) == [1, 1, 1, 1]


def test_a_started_map_on_a_backend_without_start_runs_when_collected():
    fake = _FakeBackend()
    with use_backend(fake):
        started = parallel.parallel_map_start(abs, [-1, -2, -3], workers=2, batch_size=2)
        assert fake.seen == []  # a plain backend starts when collected
        assert started.result() == [1, 2, 3]
    assert fake.seen == [([-1, -2], 2), ([-3], 2)]
    assert parallel.parallel_map_start(abs, []).result() == []


def test_a_started_maps_dead_worker_batch_is_redone_here():
    items = list(range(40))
    started = parallel.parallel_map_start(partial(_die_in_a_worker_on, 17), items, workers=2, batch_size=5)
    assert started.result() == [-x for x in items]
