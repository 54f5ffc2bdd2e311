"""Shared CLI plumbing: console, the progress-bar reporter, JSON output, error handling."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import FracatlasError
from ..runtime.jsonsafe import dumps
from ..runtime.paths import escape_controls
from ..runtime.progress import Advance


def _no_color() -> bool:
    return "NO_COLOR" in os.environ


console = Console(no_color=_no_color(), highlight=False, soft_wrap=False)
err_console = Console(stderr=True, no_color=_no_color(), highlight=False)


def echo_json(obj: Any) -> None:
    """Print one JSON document to stdout (no colour, no wrapping)."""
    click.echo(dumps(obj, indent=2))


@contextlib.contextmanager
def rich_progress(description: str, total: int | None) -> Iterator[Advance]:
    """The progress reporter every command installs (see :mod:`fracatlas_annot.runtime.progress`).

    A rich bar on stderr when stderr is a terminal; ``FRACATLAS_PROGRESS=1`` forces it,
    ``FRACATLAS_PROGRESS=0`` hides it. The bar has no refresh thread (it redraws from
    ``advance``, at most ten times a second), so forking workers under it is safe.
    """
    env = os.environ.get("FRACATLAS_PROGRESS")
    ctx = click.get_current_context(silent=True)
    hidden = ctx is not None and ctx.find_root().meta.get(NO_PROGRESS, False)
    if hidden or not ((env == "1" or err_console.is_terminal) and env != "0"):
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
        auto_refresh=False,
    )
    last = 0.0

    def advance(n: int = 1) -> None:
        nonlocal last
        bar.advance(task_id, n)
        now = time.monotonic()
        if now - last >= 0.1:
            last = now
            bar.refresh()

    with bar:
        task_id = bar.add_task(description, total=total)
        yield advance


#: Exit codes a command may end with (130: interrupted); anything else becomes 2.
EXIT_CODES = frozenset({0, 1, 2, 130})


def internal_error(exc: BaseException, *, verbose: bool) -> int:
    """Report an exception no one expected: the traceback with ``verbose``, else one line.
    Returns the exit code, 2 (a command never exits 3)."""
    if verbose:
        err_console.print_exception()
    text = escape_controls(" ".join(str(exc).split()))
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
        err_console.print(f"[bold red]error:[/] {escape(escape_controls(str(exc)))}", markup=True, highlight=False)
        raise SystemExit(exc.exit_code if exc.exit_code in EXIT_CODES else 2) from None
    except (KeyboardInterrupt, BrokenPipeError):
        raise SystemExit(130) from None
    except click.exceptions.ClickException:
        raise
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        raise SystemExit(internal_error(exc, verbose=verbose)) from None


#: Help of ``--images DIR`` (info, validate, convert; agree and report share the flag with ``--model``).
IMAGES_HELP = ("The folder holding the image files of an export that does not hold them (default: beside the file, its "
               "images/ folder, or images/ beside annotations/); names in the export are matched by base name in it only.")


def images_option(f: Any) -> Any:
    """``--images DIR``: where an export's image files are (see :func:`fracatlas_annot.formats.read`)."""
    return click.option("--images", "images", type=click.Path(exists=True, file_okay=False), default=None,
                        metavar="DIR", help=IMAGES_HELP)(f)


NO_PROGRESS = "fracatlas_annot.no_progress"


def progress_option(f: Any) -> Any:
    """``--no-progress``: no bar on stderr for this command (also ``FRACATLAS_PROGRESS=0``)."""

    def hide(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().meta[NO_PROGRESS] = True

    return click.option("--no-progress", is_flag=True, expose_value=False, callback=hide,
                        help="No progress bar (bars are drawn only when stderr is a terminal).")(f)


def verbose_option(f: Any) -> Any:
    return click.option("--verbose", "-v", is_flag=True, help="Show tracebacks for unexpected errors.")(f)


def cluster_options(f: Any) -> Any:
    """``--scheduler`` and ``--workers``: where the per-file work runs (see :func:`execution`)."""
    f = click.option(
        "--workers", type=click.IntRange(1), default=None, metavar="N",
        help="Worker processes on this machine (default: 2 for large inputs); with --scheduler, batches are cut for N workers.",
    )(f)  # fmt: skip
    return click.option(
        "--scheduler", envvar="DASK_SCHEDULER_ADDRESS", default=None, metavar="ADDR",
        help="Run the per-file work on a Dask cluster (tcp://HOST:8786; env DASK_SCHEDULER_ADDRESS). "
        "Inputs must be on a path every worker sees; needs fracatlas-annot[distributed].",
    )(f)  # fmt: skip


@contextlib.contextmanager
def execution(scheduler: str | None, workers: int | None) -> Iterator[None]:
    """Install the backend of ``--scheduler`` / ``--workers`` around a command.

    No scheduler: local processes, ``workers`` of them when given. A scheduler: a
    :class:`~fracatlas_annot.runtime.dask_backend.DaskBackend` on it (imported only then),
    closed at the end; a missing extra or an unreachable scheduler exits 2.
    """
    from ..runtime.parallel import use_backend, use_workers

    if not scheduler:
        with use_workers(workers):
            yield
        return
    from ..runtime.dask_backend import connect

    backend = connect(scheduler, workers=workers)
    try:
        with use_backend(backend):
            yield
    finally:
        backend.client.close()
