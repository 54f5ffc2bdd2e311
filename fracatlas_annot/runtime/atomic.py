"""Atomic writes: files and folders are built beside their target, then renamed into place.

A failed write leaves the target exactly as it was; a temporary name is unpredictable
(:mod:`tempfile`) and lives in the target's own folder, so the final :func:`os.replace` is a
rename on one file system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import OutputExistsError, UsageError

__all__ = ["atomic_directory", "check_not_input", "check_target", "link_or_copy", "remove_stale_partials", "write_bytes_atomic", "write_text_atomic"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The process umask, read once: a written file gets the mode ``open()`` would give it.
_UMASK = _umask()


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename.

    Missing parent folders are created. The file gets the mode a plain ``open(path, "w")``
    gives (``0o666`` less the umask), not the temporary file's private ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if hasattr(os, "fchmod"):  # absent on Windows, where mkstemp's mode is moot
                os.fchmod(fh.fileno(), 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """:func:`write_bytes_atomic` of ``text`` encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _real(path: str | os.PathLike[str]) -> Path:
    """``path`` absolute with symlinks resolved as far as it exists (a missing tail is kept)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def check_not_input(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], *,
                    folder: bool = True) -> None:  # fmt: skip
    """Refuse (:class:`UsageError`, exit 2) an output ``target`` that would write into an input.

    A folder output (``folder``) may not be an input, contain one, or lie inside an input
    folder; a file output may not be an input, contain one, nor replace an existing file inside
    an input folder (a new file there, such as ``report.html``, is allowed). Paths are compared
    with symlinks resolved, so a link to the input does not get past the check.
    """
    real = _real(target)
    shown = Path(target)
    for p in inputs:
        if p is None:
            continue
        inp = _real(p)
        if inp == real:
            raise UsageError(f"output {shown} is the input {p}: choose an output outside the input")
        if real in inp.parents:
            raise UsageError(f"output {shown} contains the input {p}: choose an output outside the input")
        if inp in real.parents and inp.is_dir():
            if folder:
                raise UsageError(f"output {shown} lies inside the input {p}: choose a folder outside the input")
            if os.path.lexists(real):
                raise UsageError(f"output {shown} would replace a file of the input {p}: write it outside the input")


def check_target(target: Path, *, overwrite: bool, protected: Iterable[Path] = ()) -> None:
    """Refuse a target that exists and is not empty (unless ``overwrite``), that is a file,
    or that is, contains or lies inside one of the ``protected`` inputs (:func:`check_not_input`)."""
    target = Path(target).absolute()
    check_not_input(target, protected)
    if target.exists():
        if not target.is_dir():
            raise OutputExistsError(f"output {target} exists and is a file")
        if any(target.iterdir()) and not overwrite:
            raise OutputExistsError(f"output {target} exists and is not empty (pass --overwrite to replace it)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep its folder
    return True


def remove_stale_partials(target: Path) -> list[str]:
    """Delete the temporary folders a killed :func:`atomic_directory` left beside ``target``
    (``.<name>.<pid>_<random>.partial``); a folder whose process still runs is kept (a
    concurrent write), one without a readable pid is stale. Returns the names removed."""
    target = Path(target)
    prefix = f".{target.name}."
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for e in entries:
        if not (e.name.startswith(prefix) and e.name.endswith(".partial")) or not e.is_dir(follow_symlinks=False):
            continue
        pid = e.name[len(prefix):].split("_", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        removed.append(e.name)
    return removed


@contextlib.contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it becomes ``target``.

    On any exception the temporary folder is deleted and ``target`` is untouched.
    """
    target = Path(target).absolute()
    check_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}_", suffix=".partial", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    try:
        if target.exists():
            if any(target.iterdir()):
                old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(target, old)
            else:
                target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def link_or_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> bool:
    """Hard-link ``src`` to ``dst`` (True), or copy it when linking is impossible (False).

    The source is only read. A hard link shares the file: tools that rewrite images must
    replace them (Ultralytics >= 8.3 does), never edit them in place. A symlink source is
    resolved first: the output gets the file, never a link (Linux's ``link()`` would link the
    symlink itself).
    """
    src = os.path.realpath(src)
    try:
        os.link(src, dst)
        return True
    except OSError:
        shutil.copyfile(src, dst)
        return False
