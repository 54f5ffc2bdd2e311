"""Every exception the library raises on purpose. The CLI maps them to exit codes.

Each class carries its ``exit_code``: 1 for a result that fails (a lossy conversion
refused), 2 for input that cannot be read or a call that is wrong. Anything else that
reaches the CLI is an internal error and exits 2 too (see
``fracatlas_annot.commands._common.handle_errors``): no command exits with another code.

Hierarchy::

    FracatlasError
      InputError            the input could not be read at all (exit 2)
      UnknownFormat         nothing known at a path (raised by detection; read() turns it into InputError)
      HeaderError           an image header could not be read (also a ValueError)
      UsageError            the command line or API call is wrong (exit 2)
        UnknownSourceError  no source of that name in a Dataset (also a KeyError)
      LossyConversionError  a conversion would lose information (exit 1)
      OutputExistsError     the target exists and is not empty (exit 2)
"""

from __future__ import annotations


class FracatlasError(Exception):
    """Base class: a message for the user, no traceback needed."""

    exit_code = 1


class InputError(FracatlasError):
    """The input could not be read at all (exit code 2). Names the path and the reason."""

    exit_code = 2

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot read {self.path}: {self.reason}"


class UsageError(FracatlasError):
    """The command line or API call is wrong (exit code 2)."""

    exit_code = 2


class UnknownFormat(FracatlasError):
    """Nothing known was found at the path; the message says what was looked for (exit code 2)."""

    exit_code = 2


class HeaderError(FracatlasError, ValueError):
    """The header of an image could not be read; the message says why (exit code 2).

    Readers record it per image (``images.header_error``) rather than letting it escape.
    """

    exit_code = 2


class UnknownSourceError(UsageError, KeyError):
    """A Dataset has no source of the requested name (exit code 2).

    Also a :class:`KeyError`, so ``except KeyError`` around ``Dataset.source`` keeps working.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LossyConversionError(FracatlasError):
    """A conversion would lose information and --allow-lossy was not given (exit code 1).

    ``cases`` lists each object or image concerned, one line each.
    """

    exit_code = 1

    def __init__(self, summary: str, cases: list[str]) -> None:
        super().__init__(summary, cases)
        self.summary = summary
        self.cases = cases

    def __str__(self) -> str:
        shown = "\n".join(f"  - {c}" for c in self.cases[:50])
        more = f"\n  ... and {len(self.cases) - 50} more" if len(self.cases) > 50 else ""
        return f"{self.summary} (pass --allow-lossy to accept):\n{shown}{more}"


class OutputExistsError(FracatlasError):
    """The target exists and is not empty; --overwrite was not given (exit code 2)."""

    exit_code = 2


class UnsafePathError(UsageError):
    """A name would make a writer leave its output folder (exit code 2)."""


class NotRegularFile(FracatlasError, OSError):
    """A path that names a FIFO, a device or a socket: never read (opening a FIFO blocks).
    Readers report it as a problem of the file; it reaches the CLI only as exit 2."""

    exit_code = 2


class ImageTooLarge(FracatlasError, OSError):
    """An image whose declared size is over the pixel budget (``imaging.headers.PIXEL_BUDGET``):
    not decoded; reported as a finding of the image, exit 2 if it ever reaches the CLI."""

    exit_code = 2

    def __init__(self, width: int | None, height: int | None, budget: int = 178_956_970) -> None:
        self.width, self.height = width, height
        if width is not None and height is not None:
            what = f"declares {width} x {height} = {width * height} pixels"
        else:
            what = "declares more pixels than that"
        OSError.__init__(self, f"the image {what}, over the pixel budget of {budget}; not decoded")

    def __str__(self) -> str:
        return OSError.__str__(self)

