"""The ``fracatlas-annot`` command: thin, delegates to the library.

Each command lives in ``fracatlas_annot/commands/<name>.py`` and exposes ``commands``
(a list of click commands); this file only assembles them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

import click

from ._version import __version__
from .commands._common import rich_progress
from .runtime.memory import tune_allocator
from .runtime.progress import use_reporter

#: Command modules, in the order their commands appear in --help.
COMMAND_MODULES: list[str] = [
    "info",
    "report",
    "agree",
    "convert",
    "validate",
    "train",
]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 clean (or warnings only), 1 errors found, 2 unreadable input or bad command line.",
)
@click.version_option(__version__, prog_name="fracatlas-annot")
def app() -> None:
    """Check, compare and convert fracture X-ray annotations (makesense.ai exports and the
    FracAtlas archive) before training YOLOv8.

    \b
    Typical session:
      fracatlas-annot info fixtures/fracatlas-mini
      fracatlas-annot validate fixtures/fracatlas-mini
      fracatlas-annot convert fixtures/fracatlas-mini --to yolo-seg --source coco out/seg
      fracatlas-annot agree fixtures/readers/reader-1 fixtures/readers/reader-2
    """
    # every command draws the library's progress reports as rich bars on stderr
    click.get_current_context().with_resource(use_reporter(rich_progress))


for _name in COMMAND_MODULES:
    for _cmd in importlib.import_module(f".commands.{_name}", __package__).commands:
        app.add_command(_cmd)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (without the program name); return the exit code.

    The code is 0, 1, 2 or 130 (interrupted), never anything else: an exception that got
    past a command's own handling is reported in one line and exits 2.
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    tune_allocator()
    try:
        app.main(args=args, prog_name="fracatlas-annot", standalone_mode=False)
    except click.exceptions.ClickException as exc:
        exc.show()
        return _allowed(exc.exit_code)
    except click.exceptions.Exit as exc:
        return _allowed(exc.exit_code)
    except click.exceptions.Abort:
        return 130
    except SystemExit as exc:
        return _allowed(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - e.g. raised while printing a result
        from .commands._common import internal_error

        return internal_error(exc, verbose=bool({"-v", "--verbose"} & set(args)))
    return 0


def _allowed(code: int) -> int:
    from .commands._common import EXIT_CODES

    return code if code in EXIT_CODES else 2


def entrypoint() -> None:
    sys.exit(main())
