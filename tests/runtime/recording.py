"""A progress reporter for tests: records what the library reports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class RecordingReporter:
    """Install with ``use_reporter(rec)``; ``rec.events`` holds ``("open", description, total)``,
    ``("advance", description, n)`` and ``("close", description, total)`` in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    @contextlib.contextmanager
    def __call__(self, description: str, total: int | None) -> Iterator:
        self.events.append(("open", description, total))
        yield lambda n=1: self.events.append(("advance", description, n))
        self.events.append(("close", description, total))

    def bars(self) -> list[tuple[str, int | None]]:
        """``(description, total)`` of every task opened."""
        return [(d, t) for e, d, t in self.events if e == "open"]

    def advances(self, description: str) -> list[int]:
        return [n for e, d, n in self.events if e == "advance" and d == description]
