"""Shared CLI plumbing: console, progress bars, JSON output, error handling."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Iterable, Iterator, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import FracatlasError

T = TypeVar("T")


def _no_color() -> bool:
    return "NO_COLOR" in os.environ


console = Console(no_color=_no_color(), highlight=False, soft_wrap=False)
err_console = Console(stderr=True, no_color=_no_color(), highlight=False)


def echo_json(obj: Any) -> None:
    """Print one JSON document to stdout (no colour, no wrapping)."""
    click.echo(json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(obj: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


@contextlib.contextmanager
def progress(description: str, total: int | None, *, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; a no-op object when disabled or stderr is not a terminal
    (unless FRACATLAS_PROGRESS=1 forces it).

    Usage::

        with progress("hashing images", total=len(paths)) as advance:
            for p in paths:
                ...
                advance(1)
    """
    force = os.environ.get("FRACATLAS_PROGRESS") == "1"
    show = enabled and (force or err_console.is_terminal) and os.environ.get("FRACATLAS_PROGRESS") != "0"
    if not show:
        yield lambda n=1: None
        return
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar (see :func:`progress`)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total) as advance:
        for item in items:
            yield item
            advance(1)


#: Exit codes a command may end with (130: interrupted); anything else becomes 2.
EXIT_CODES = frozenset({0, 1, 2, 130})


def internal_error(exc: BaseException, *, verbose: bool) -> int:
    """Report an exception no one expected: the traceback with ``verbose``, else one line.
    Returns the exit code, 2 (a command never exits 3)."""
    if verbose:
        err_console.print_exception()
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    err_console.print(
        f"[bold red]internal error:[/] {escape(type(exc).__name__)}{': ' if text else ''}{escape(text)}"
        + ("" if verbose else " (run with -v for the traceback)"),
        markup=True,
        highlight=False,
    )
    return 2


@contextlib.contextmanager
def handle_errors(verbose: bool = False) -> Iterator[None]:
    """Turn library exceptions into a message and an exit code; a traceback only with --verbose.

    A :class:`~fracatlas_annot.errors.FracatlasError` exits with its ``exit_code`` (1 or 2);
    any other exception is an internal error: exit 2 with one line naming it.
    """
    try:
        yield
    except FracatlasError as exc:
        if verbose:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
        raise SystemExit(exc.exit_code if exc.exit_code in EXIT_CODES else 2) from None
    except (KeyboardInterrupt, BrokenPipeError):
        raise SystemExit(130) from None
    except click.exceptions.ClickException:
        raise
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        raise SystemExit(internal_error(exc, verbose=verbose)) from None


def verbose_option(f: Any) -> Any:
    return click.option("--verbose", "-v", is_flag=True, help="Show tracebacks for unexpected errors.")(f)
