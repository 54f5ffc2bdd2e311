"""Atomic output folders: build beside the target, rename at the end.

A conversion writes into a hidden temporary folder next to the target (same file system,
so the final ``os.replace`` is a rename). If anything fails, the temporary folder is
removed and the target is left exactly as it was. An existing non-empty target is refused
unless ``overwrite`` is given; the old content is then swapped out and deleted only after
the new folder is in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

from ..errors import OutputExistsError, UsageError

__all__ = ["atomic_directory", "check_target", "stale_caches", "link_or_copy"]


def check_target(target: Path, *, overwrite: bool, protected: list[Path] = ()) -> None:  # type: ignore[assignment]
    """Refuse a target that exists and is not empty (unless ``overwrite``), that is a file,
    or that equals or contains one of the ``protected`` input paths."""
    target = Path(target).absolute()
    for p in protected:
        p = Path(p).absolute()
        if p == target or target in p.parents:
            raise UsageError(f"output {target} would replace the input {p}; choose another folder")
    if target.exists():
        if not target.is_dir():
            raise OutputExistsError(f"output {target} exists and is a file")
        if any(target.iterdir()) and not overwrite:
            raise OutputExistsError(f"output {target} exists and is not empty (pass --overwrite to replace it)")


def stale_caches(target: Path) -> list[str]:
    """Ultralytics label caches (``*.cache``) inside an existing target, relative paths."""
    target = Path(target)
    if not target.is_dir():
        return []
    return sorted(str(p.relative_to(target)) for p in target.rglob("*.cache"))


@contextlib.contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it becomes ``target``.

    On any exception the temporary folder is deleted and ``target`` is untouched.
    """
    target = Path(target).absolute()
    check_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
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
    replace them (Ultralytics >= 8.3 does), never edit them in place.
    """
    try:
        os.link(src, dst)
        return True
    except OSError:
        shutil.copyfile(src, dst)
        return False
