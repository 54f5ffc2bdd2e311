"""The progress protocol: the library reports, the front end (``commands/``) draws.

Library code wraps long work in :func:`task`::

    with task("decoding images", total=len(paths)) as advance:
        for p in paths:
            ...
            advance(1)

By default nothing is drawn. A front end installs a *reporter* for the duration of a command
with :func:`use_reporter`; a reporter is any callable ``(description, total)`` returning a
context manager that yields ``advance(n=1)``. The reporter lives in a context variable, so
threads and nested commands do not see each other's bars.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, ContextManager, Iterator, Protocol

__all__ = ["Advance", "Reporter", "task", "use_reporter"]

Advance = Callable[..., None]


class Reporter(Protocol):
    def __call__(self, description: str, total: int | None) -> ContextManager[Advance]: ...


def _ignore(n: int = 1) -> None:
    return None


@contextlib.contextmanager
def _silent(description: str, total: int | None) -> Iterator[Advance]:
    yield _ignore


_REPORTER: contextvars.ContextVar[Reporter] = contextvars.ContextVar("fracatlas_progress", default=_silent)


@contextlib.contextmanager
def task(description: str, total: int | None = None, *, enabled: bool = True) -> Iterator[Advance]:
    """A unit of long work; yields ``advance(n=1)``. Silent unless a reporter is installed."""
    if not enabled:
        yield _ignore
        return
    with _REPORTER.get()(description, total) as advance:
        yield advance


@contextlib.contextmanager
def use_reporter(reporter: Reporter) -> Iterator[None]:
    """Install ``reporter`` for the library calls made inside this block."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)
