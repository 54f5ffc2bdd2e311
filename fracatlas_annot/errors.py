"""Exceptions that cross the library/CLI boundary. The CLI maps them to exit codes."""

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

