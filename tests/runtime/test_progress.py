"""The progress protocol: silent by default, a reporter sees every task, scoped to its block."""

from __future__ import annotations

import threading

from fracatlas_annot.runtime.progress import task, use_reporter

from .recording import RecordingReporter


def test_silent_by_default(capfd) -> None:
    with task("anything", total=3) as advance:
        advance()
        advance(2)
    assert capfd.readouterr() == ("", "")


def test_a_reporter_sees_totals_and_advances() -> None:
    rec = RecordingReporter()
    with use_reporter(rec):
        with task("decoding images", total=3) as advance:
            advance()
            advance(2)
        with task("off", total=1, enabled=False) as advance:
            advance()
    assert rec.events == [
        ("open", "decoding images", 3),
        ("advance", "decoding images", 1),
        ("advance", "decoding images", 2),
        ("close", "decoding images", 3),
    ]
    with task("after the block", total=1) as advance:  # the reporter is gone again
        advance()
    assert len(rec.events) == 4


def test_reporters_nest_and_other_threads_do_not_see_them() -> None:
    outer, inner = RecordingReporter(), RecordingReporter()
    seen_in_thread: list[RecordingReporter] = []
    with use_reporter(outer):
        with use_reporter(inner):
            with task("a", total=None):
                pass

            def work() -> None:
                with task("thread", total=1) as advance:
                    advance()
                seen_in_thread.append(outer)

            t = threading.Thread(target=work)
            t.start()
            t.join()
        with task("b", total=2):
            pass
    assert [e[1] for e in inner.events] == ["a", "a"]
    assert [e[1] for e in outer.events] == ["b", "b"]  # nothing from the thread reached either
