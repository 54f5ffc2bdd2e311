"""The C allocator's side of the memory budget (issue 13, point 3).

glibc raises its mmap threshold each time a large block (a numpy column, a pandas
hash table) is freed, up to 32 MiB; the blocks after that come from the heap, where a
freed one is rarely handed back to the system and the peak RSS climbs with each
table built and dropped. :func:`tune_allocator` pins the threshold at its
default, 128 KiB, so that large blocks (pickled worker results, hash tables, columns)
keep being mapped and unmapped (x25 ``validate --fast``: 278 -> 255 MiB peak; 2 MiB gave
258-260 MiB); :func:`release` hands the
heap's free pages back (``malloc_trim``) after a big stage frees its intermediates.
The pin is for the command's own process; worker processes forked from it call
:func:`for_worker`, which sets the threshold to glibc's own ceiling (32 MiB) instead: a
decoder that allocates a 6.6 MB buffer per radiograph would otherwise map, fault in and
unmap it for every image (full ``validate`` of FracAtlas: 5.3 s of system time against
1.1 s). All three do nothing off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
#: glibc's ceiling for its dynamic threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
WORKER_MMAP_THRESHOLD = 32 * 1024 * 1024

_libc: ctypes.CDLL | None = None
_tuned = False


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                _libc = lib
        except OSError:
            _libc = None
    return _libc


def tune_allocator() -> bool:
    """Pin glibc's mmap threshold (once per process); True when it took effect."""
    global _tuned
    lib = _glibc()
    if lib is None:
        return False
    if not _tuned:
        _tuned = bool(lib.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _tuned


def release() -> None:
    """Hand the C heap's free pages back to the system (``malloc_trim(0)``)."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


def for_worker() -> None:
    """In a worker process forked from a tuned one: large blocks from the heap again, reused
    from image to image (see the module docstring)."""
    lib = _glibc()
    if lib is not None and _tuned:
        lib.mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD)
        # as glibc's dynamic mode does: keep twice that at the top of the heap, or every
        # freed buffer is trimmed away and faulted in again for the next image
        lib.mallopt(_M_TRIM_THRESHOLD, 2 * WORKER_MMAP_THRESHOLD)
