"""Open and read *regular* files only.

Opening a FIFO for reading blocks until a writer comes, and a device can stream forever;
every reader of untrusted input opens through :func:`open_regular`, which opens without
blocking and refuses anything but a regular file with :class:`NotRegularFile` (an
:class:`OSError`, so callers that report unreadable files report it the same way).
"""

from __future__ import annotations

import os
import stat

from ..errors import NotRegularFile

#: A file bigger than this is not read whole: no annotation file is that big.
MAX_FILE_BYTES = 256 * 2**20




def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> int:
    """Open a *regular* file for reading and return its descriptor.

    The open is non-blocking (a FIFO would otherwise block until a writer comes) and the
    descriptor is checked with ``fstat``: a FIFO, device or socket raises
    :class:`NotRegularFile` (an :class:`OSError`) without a byte being read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a folder", os.fspath(path))
        raise NotRegularFile(f"{_kind(mode)}, not a regular file; not read")
    return fd


def read_fd(fd: int, limit: int) -> bytes:
    data = os.read(fd, 65536)
    if len(data) < 65536:
        return data
    chunks = [data]
    total = len(data)
    while True:
        more = os.read(fd, 1 << 20)
        if not more:
            break
        chunks.append(more)
        total += len(more)
        if total > limit:
            raise OSError(f"file is over the {limit // 2**20} MiB limit")
    return b"".join(chunks)


def read_regular(path: str | os.PathLike[str], *, limit: int = MAX_FILE_BYTES, head: int | None = None) -> bytes:
    """The bytes of a regular file (at most ``head`` bytes when given); see :func:`open_regular`."""
    fd = open_regular(path)
    try:
        return os.read(fd, head) if head is not None else read_fd(fd, limit)
    finally:
        os.close(fd)
