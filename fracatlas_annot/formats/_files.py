"""Iterate the annotation files of a file, a folder or a zip, safely and fast.

Per-image-file formats (VOC ``.xml``, YOLO ``.txt``) come as one file, a folder of files
or a makesense zip (flat, STORE, see ``reference/makesense-exports.md`` §2.2). This module
hands their bytes to the parsers without extracting anything:

* zips are read in place with :mod:`zipfile`; an entry whose name is absolute or has a
  ``..`` component is reported (``unsafe-zip-entry``) and never read, and an entry that
  declares more than :data:`MAX_ENTRY_BYTES` is refused the same way;
* folders are listed once (sorted) and read through a directory file descriptor, which is
  about twice as fast as ``open()`` per file on 10^5 small files (the readers spread big
  folders over processes with :mod:`fracatlas_annot.runtime.parallel`).

Display names (the ``file`` column of objects and problems) are relative to ``base`` when
given, else to the folder read; entries of a zip read ``name.zip!entry``.
"""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from ..model import Problem
from ..runtime.regular import MAX_FILE_BYTES, NotRegularFile, open_regular, read_fd, read_regular  # noqa: F401

#: An entry bigger than this (uncompressed) is not read: no annotation file is that big.
MAX_ENTRY_BYTES = MAX_FILE_BYTES
#: Uncompressed bytes read from one archive, all entries together; entries past it are
#: reported and skipped (each under :data:`MAX_ENTRY_BYTES` can still add up past memory).
MAX_ARCHIVE_BYTES = 512 * 2**20
#: Entries (or files) handed to a parser at once, and their bytes: what is held in memory.
BATCH_ITEMS = 8192
BATCH_BYTES = 64 * 2**20


# --------------------------------------------------------------------------- names


def display_prefix(folder: str | os.PathLike[str], base: str | os.PathLike[str] | None) -> str:
    """The ``file`` prefix of entries in ``folder``: ``""`` or ``"rel/dir/"`` relative to ``base``."""
    if base is None:
        return ""
    rel = os.path.relpath(os.fspath(folder), os.fspath(base))
    if rel == ".":
        return ""
    return rel.replace(os.sep, "/") + "/"


def unsafe_entry_reason(name: str) -> str | None:
    """Why a zip entry name must not be used, or None when it is safe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        return "is an absolute path"
    if any(part == ".." for part in name.replace("\\", "/").split("/")):
        return "has a '..' component"
    if "\x00" in name:
        return "has a NUL character"
    return None


def stem_of(name: str) -> str:
    """File name without folders and without its *last* extension (``a.b.txt`` -> ``a.b``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def _matches(name: str, suffixes: Sequence[str]) -> bool:
    return name.lower().endswith(tuple(s.lower() for s in suffixes))


# --------------------------------------------------------------------------- folders


def is_file(path: str | os.PathLike[str]) -> bool:
    """``Path.is_file`` that answers False, not PermissionError, inside a folder without access."""
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def scan_files(
    folder: str | os.PathLike[str], suffixes: Sequence[str] = (), *, display: str = "", problems: list[Problem] | None = None
) -> list[str]:
    """Sorted names of the regular files (links followed) directly in ``folder`` that end in
    ``suffixes`` (any, when empty); hidden names skipped.

    An entry that cannot be looked at (a symlink loop, a link into a folder without access)
    and a folder that cannot be listed are problems (``display`` + name), never an OSError;
    FIFOs, sockets and devices are not files here (reading one would block).
    """
    ends = tuple(s.lower() for s in suffixes)
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        if problems is not None:
            problems.append(os_error_problem(exc, file=display.rstrip("/") or os.fspath(folder), what="folder"))
        return []
    out: list[str] = []
    for e in entries:
        low = e.name.lower()
        if low[:1] == "." or (ends and not low.endswith(ends)):
            continue
        try:
            if e.is_file():
                out.append(e.name)
        except OSError as exc:
            if problems is not None:
                problems.append(os_error_problem(exc, file=display + e.name))
    out.sort()
    return out



def _keep(low: str, ends: tuple[str, ...], skip: set[str]) -> bool:
    return low.endswith(ends) and low[:1] != "." and low not in skip


def list_folder(
    folder: str | os.PathLike[str],
    suffixes: Sequence[str],
    *,
    recursive: bool = False,
    exclude: Iterable[str] = (),
    problems: list[Problem] | None = None,
    display: str = "",
    source: str | None = None,
) -> list[str]:
    """Sorted relative names (``/``-separated) of the files in ``folder`` ending in ``suffixes``.

    ``exclude`` holds lower-case base names to skip (``classes.txt`` ...). Hidden files
    (``.DS_Store``, ``._IMG.xml`` resource forks) are skipped. With ``problems``, a folder
    that cannot be listed (no access) is a problem naming it (``display``) and no names;
    without, the OSError is raised.
    """
    if problems is not None:
        try:
            return list_folder(folder, suffixes, recursive=recursive, exclude=exclude)
        except OSError as exc:
            problems.append(os_error_problem(exc, file=display.rstrip("/") or os.fspath(folder), source=source, what="folder"))
            return []
    skip = {e.lower() for e in exclude}
    ends = tuple(s.lower() for s in suffixes)
    folder = os.fspath(folder)
    if not recursive:
        names = [n for n in os.listdir(folder) if _keep(n.lower(), ends, skip)]  # no lowered copy of the listing
        names.sort()
        return names
    out: list[str] = []
    def refused(exc: OSError) -> None:
        raise exc

    for dirpath, dirnames, filenames in os.walk(folder, onerror=refused):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out.extend(
            prefix + n
            for n in filenames
            if _matches(n, suffixes) and not n.startswith(".") and n.lower() not in skip
        )
    out.sort()
    return out


def read_folder_files(folder: str, names: Sequence[str]) -> list[bytes | OSError]:
    """Read each relative name under ``folder``; an unreadable file gives its OSError
    (:class:`NotRegularFile` for a FIFO, device or socket, which is never opened blocking)."""
    out: list[bytes | OSError] = []
    if not names:
        return out
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:  # the folder went away or lost its access after listing
        return [exc] * len(names)
    try:
        for name in names:
            try:
                fd = open_regular(name, dir_fd=dir_fd)
            except OSError as exc:
                out.append(exc)
                continue
            try:
                out.append(read_fd(fd, MAX_ENTRY_BYTES))
            except OSError as exc:
                out.append(exc)
            finally:
                os.close(fd)
    finally:
        os.close(dir_fd)
    return out


def foreign_problem(name: str, what: str, *, source: str | None) -> Problem:
    """A file of another format among a reader's files (a mixed folder or zip): reported,
    never silently ignored."""
    return Problem(kind="unsupported", file=name, source=source,
                   message=f"{what} among the files read here: not read (this folder or zip mixes formats; "
                           "read it on its own with its format)")


#: Another format's files: suffix -> (what such a file is, does this head of a file look like one).
Foreign = Mapping[str, tuple[str, Callable[[bytes], bool]]]
_HEAD_BYTES = 1024


def foreign_in_folder(
    folder: str | os.PathLike[str], foreign: Foreign, *, prefix: str, recursive: bool = False,
    exclude: Iterable[str] = (), source: str | None = None,
) -> list[Problem]:
    """:func:`foreign_problem` for each file in ``folder`` with a suffix of ``foreign`` whose
    first bytes look like that format's (a ``notes.txt`` beside VOC files is not a YOLO file)."""
    out = []
    for suffix, (what, looks_like) in foreign.items():
        for name in list_folder(folder, (suffix,), recursive=recursive, exclude=exclude):
            try:
                head = read_regular(os.path.join(os.fspath(folder), name), head=_HEAD_BYTES)
            except OSError:
                continue
            if looks_like(head):
                out.append(foreign_problem(prefix + name, what, source=source))
    return out


def _foreign_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, base: str, foreign: Foreign | None) -> str | None:
    """What a zip entry that the reader does not read is, when it must be reported."""
    if base.lower().endswith(".zip"):
        return "a zip inside the zip (nested archives are never opened)"
    for suffix, (what, looks_like) in (foreign or {}).items():
        if _matches(base, (suffix,)):
            try:
                with archive.open(info) as fh:
                    head = fh.read(_HEAD_BYTES)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, ValueError):
                return None
            return what if looks_like(head) else None
    return None


def os_error_problem(exc: OSError, *, file: str, source: str | None = None, what: str = "file") -> Problem:
    """A ``parse-error`` for a file (or folder) the system refused to read; a symlink loop says so."""
    reason = exc.strerror or str(exc)
    if getattr(exc, "errno", None) == errno.ELOOP:
        reason += " (a symlink loop)"
    return Problem(kind="parse-error", message=f"cannot read {what}: {reason}", file=file, source=source)


# --------------------------------------------------------------------------- zips


def iter_zip(
    path: str | os.PathLike[str],
    suffixes: Sequence[str],
    *,
    display: str,
    problems: list[Problem],
    exclude: Iterable[str] = (),
    source: str | None = None,
    foreign: Foreign | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(display!entry, bytes)`` for matching entries of a zip, in zip order.

    An entry that is itself a zip is reported (nested archives are never opened), and so is
    an entry whose suffix is a key of ``foreign`` (another format's file in a mixed zip).

    Nothing is extracted; entries are read one at a time, as the caller asks for them.
    Unsafe names, oversized entries, entries past :data:`MAX_ARCHIVE_BYTES` read from the
    archive in all, unreadable entries and a file that is not a zip become problems.
    """
    skip = {e.lower() for e in exclude}
    try:
        os.close(open_regular(path))  # a FIFO named .zip is reported, never opened blocking
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.append(
            Problem(kind="parse-error", message=f"not a readable zip file: {exc}", file=display, source=source)
        )
        return
    total = 0
    with archive:
        for info in archive.infolist():
            name = info.filename
            where = f"{display}!{name}"
            reason = unsafe_entry_reason(name)
            if reason is not None:
                problems.append(
                    Problem(
                        kind="unsafe-zip-entry",
                        message=f"zip entry name {name!r} {reason}; entry skipped (never extracted)",
                        file=where,
                        source=source,
                    )
                )
                continue
            if info.is_dir():
                continue
            base = PurePosixPath(name.replace("\\", "/")).name
            if "." not in base and base and not _matches(base, suffixes) and not name.startswith("__MACOSX/"):
                # makesense names a label entry after its image with the last extension replaced;
                # an image without an extension gives an entry without one: say it is skipped
                problems.append(
                    Problem(
                        kind="unsupported",
                        severity="warning",
                        message=f"zip entry {name!r} has no {'/'.join(suffixes)} extension (an image named "
                        "without an extension?); entry skipped",
                        file=where,
                        source=source,
                    )
                )
                continue
            if name.startswith("__MACOSX/") or base.startswith(".") or base.lower() in skip:
                continue
            if not _matches(base, suffixes):
                other = _foreign_entry(archive, info, base, foreign)
                if other is not None:
                    problems.append(foreign_problem(where, other, source=source))
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                problems.append(
                    Problem(
                        kind="unsafe-zip-entry",
                        message=(
                            f"zip entry declares {info.file_size} bytes uncompressed, over the "
                            f"{MAX_ENTRY_BYTES // 2**20} MiB limit; entry skipped"
                        ),
                        file=where,
                        source=source,
                    )
                )
                continue
            if total + info.file_size > MAX_ARCHIVE_BYTES:
                problems.append(
                    Problem(
                        kind="unsafe-zip-entry",
                        message=(
                            f"zip entry declares {info.file_size} bytes uncompressed; with the "
                            f"{total} bytes already read from this archive that is over the "
                            f"{MAX_ARCHIVE_BYTES // 2**20} MiB limit for one archive; entry skipped"
                        ),
                        file=where,
                        source=source,
                    )
                )
                continue
            total += info.file_size
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, ValueError) as exc:
                problems.append(
                    Problem(kind="parse-error", message=f"cannot read zip entry: {exc}", file=where, source=source)
                )
                continue
            yield where, data


def batched(
    entries: Iterable[tuple[str, bytes]], *, items: int | None = None, size: int | None = None
) -> Iterator[tuple[list[str], list[bytes]]]:
    """Group ``(name, bytes)`` pairs into ``(names, datas)`` batches of at most ``items``
    entries or about ``size`` bytes (default :data:`BATCH_ITEMS`, :data:`BATCH_BYTES`), so
    that a reader holds one batch at a time, not a whole zip."""
    items = BATCH_ITEMS if items is None else items
    size = BATCH_BYTES if size is None else size
    names: list[str] = []
    datas: list[bytes] = []
    held = 0
    for name, data in entries:
        names.append(name)
        datas.append(data)
        held += len(data)
        if len(names) >= items or held >= size:
            yield names, datas
            names, datas, held = [], [], 0
    if names:
        yield names, datas


def read_zip_member(
    path: str | os.PathLike[str], member: str, *, display: str, problems: list[Problem], source: str | None = None
) -> bytes | None:
    """Bytes of one entry (matched by base name, case-insensitive) of a zip, or None."""
    for where, data in iter_zip(path, (member,), display=display, problems=problems, source=source):
        if PurePosixPath(where.split("!", 1)[1]).name.lower() == member.lower():
            return data
    return None


# --------------------------------------------------------------------------- any path


def iter_entries(
    path: str | os.PathLike[str],
    suffixes: Sequence[str],
    *,
    base: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    exclude: Iterable[str] = (),
    problems: list[Problem] | None = None,
    source: str | None = None,
    foreign: Foreign | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(display_name, bytes)`` for a single file, a folder (sorted) or a zip.

    Args:
        path: a file (read whatever its suffix), a folder, or a ``.zip``.
        suffixes: file-name endings to keep (``(".xml",)``), case-insensitive.
        base: display names are relative to this folder; default: the folder read (or the
            file's / zip's parent).
        recursive: descend into sub-folders (folders and zips with folders).
        exclude: base names to skip (``classes.txt``).
        problems: list that receives reading problems (unsafe zip entries, unreadable files).
        source: source name stamped on problems.
        foreign: suffix -> what such a file is, for other formats' files that a folder or
            zip may mix in: each is reported (:func:`foreign_problem`), never read.

    Example:
        >>> problems = []
        >>> for name, data in iter_entries("labels.zip", (".txt",), problems=problems):
        ...     ...  # name == "labels.zip!IMG0000019.txt"
    """
    if problems is None:
        problems = []
    p = Path(path)
    if p.is_dir():
        prefix = display_prefix(p, base)
        names = list_folder(p, suffixes, recursive=recursive, exclude=exclude, problems=problems,
                            display=prefix or p.name, source=source)  # fmt: skip
        if foreign:
            problems += foreign_in_folder(p, foreign, prefix=prefix, recursive=recursive, exclude=exclude, source=source)
        for name, data in zip(names, read_folder_files(os.fspath(p), names)):
            if isinstance(data, OSError):
                if not isinstance(data, IsADirectoryError):
                    problems.append(os_error_problem(data, file=prefix + name, source=source))
                continue
            yield prefix + name, data
        return
    display = display_prefix(p.parent, base) + p.name if base is not None else p.name
    if is_zip_path(p):
        yield from iter_zip(p, suffixes, display=display, problems=problems, exclude=exclude, source=source,
                            foreign=foreign)
        return
    try:
        data = read_regular(p)
    except OSError as exc:
        problems.append(os_error_problem(exc, file=display, source=source))
        return
    yield display, data


def is_zip_path(path: str | os.PathLike[str]) -> bool:
    """A file that is named ``.zip`` or starts with a zip signature."""
    p = Path(path)
    if p.suffix.lower() == ".zip":
        return True
    try:
        return read_regular(p, head=4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False
