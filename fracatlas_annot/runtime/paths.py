"""Names that become paths: plain file names only, and every written path inside its folder.

An image key (``IMG0000019.jpg``) comes from the input (a CSV cell, a COCO ``file_name``, a
file on disk) and becomes part of output paths (``labels/train/IMG0000019.txt``, a zip entry).
:func:`unsafe_name_reason` says why a name is not a plain file name; the readers report such a
name and drop what it names (see :func:`fracatlas_annot.formats.names.drop_unsafe_names`), and
every writer builds its paths with :func:`output_path`, which refuses a name that would leave
the output folder, so that a name the readers missed still cannot write elsewhere.

:func:`escape_controls` makes a name from the input safe to print on a terminal.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from ..errors import UnsafePathError, UsageError  # noqa: F401  (UnsafePathError raised here)

__all__ = ["UnsafePathError", "check_entry_name", "check_names", "escape_controls", "output_path", "unsafe_name_reason"]

#: C0 and C1 control characters and DEL: never part of a plain name, never echoed raw.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Characters that are folder separators on some system (``:`` only as a drive, see below).
_SEPARATORS = ("/", "\\")




def escape_controls(text: object) -> str:
    """``text`` with every control character written as ``\\xNN`` (``\\n``, ``\\t`` included)."""
    s = str(text)
    if not _CONTROL.search(s):
        return s
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def unsafe_name_reason(name: object) -> str | None:
    """Why ``name`` is not a plain file name (one that stays in the folder it is joined to), or
    None when it is one.

    Refused: not a string, empty, ``.`` or ``..``, a ``/`` or ``\\`` anywhere (a folder part,
    an absolute path, a Windows path), a drive (``C:...``), NUL or another control character.
    """
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not a file name"
    if not name.strip():
        return "is empty"
    if name in (".", ".."):
        return f"is {name!r}, a folder"
    if any(sep in name for sep in _SEPARATORS):
        if name.startswith(_SEPARATORS):
            return "is an absolute path"
        if any(part == ".." for part in re.split(r"[/\\]", name)):
            return "climbs out of its folder ('..')"
        return "has a folder separator ('/' or '\\')"
    if len(name) > 1 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return "is a Windows drive path"
    if "\x00" in name:
        return "has a NUL character"
    if _CONTROL.search(name):
        return "has a control character"
    return None


def output_path(root: str | os.PathLike[str], *names: str) -> Path:
    """``root / names[0] / names[1] ...`` after checking that each name is a plain file name, so
    that the path lies inside ``root``; raises :class:`UnsafePathError` otherwise.

    Every writer builds the paths it writes from input names with this (a folder it names
    itself, such as ``labels/train``, may be given as several names).
    """
    for name in names:
        reason = unsafe_name_reason(name)
        if reason is not None:
            raise UnsafePathError(
                f"refusing to write {escape_controls(repr(name))}: the name {reason}; "
                f"every output stays inside {escape_controls(os.fspath(root))}"
            )
    return Path(root, *names)


def check_names(names: Iterable[object], root: str | os.PathLike[str]) -> None:
    """:func:`output_path` for many names at once (the writers that build 10^5 paths as
    strings check their names with this first)."""
    for name in names:
        if unsafe_name_reason(name) is not None:
            output_path(root, name)  # type: ignore[arg-type]


def check_entry_name(name: str) -> str:
    """A zip entry name the writer makes from input names: plain names joined by ``/``;
    raises :class:`UnsafePathError` otherwise. Returns ``name``."""
    for part in name.split("/"):
        output_path(".", part)
    return name
