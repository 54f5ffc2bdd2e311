"""Image sizes and EXIF orientation from file headers, without decoding pixels.

JPEG files are read with a small marker walker (SOFn for the stored size, APP1 Exif IFD0 for
tag 0x0112), which only touches the first few kilobytes and the last bytes of each file;
anything else (PNG, odd JPEGs) falls back to Pillow's lazy ``Image.open``.

Example::

    from fracatlas_annot.imaging.headers import read_headers
    read_headers(["fixtures/fracatlas-mini/images/Fractured/IMG0000036.jpg"])
    #    width  height  raw_width  raw_height  orientation  file_size header_error  truncated
    # 0    373     454        454         373            6       8825         None      False
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..runtime.parallel import parallel_map
from ..runtime.regular import NotRegularFile, open_regular

HEADER_COLUMNS = ["width", "height", "raw_width", "raw_height", "orientation", "file_size", "header_error", "truncated",
                  "trailing_bytes"]

#: Above this many files, headers are read by two processes by default.
PARALLEL_MIN = 20_000
_HEAD = 4096
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8}


from ..errors import HeaderError, ImageTooLarge  # noqa: E402  (defined with the other library errors)

_EOI = b"\xff\xd9"


def _first_scan(buf: bytes) -> int | None:
    """Offset of the first scan's entropy-coded data in a whole JPEG file (the marker walk
    skips APPn segments, so an EXIF thumbnail's scan and end marker are not taken)."""
    pos, n = 2, len(buf)
    while pos + 4 <= n:
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _NO_LENGTH:
            pos += 2
            continue
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if marker == 0xDA:
            return pos + 2 + length
        if marker == 0xD9 or length < 2:
            return None
        pos += 2 + length
    return None


def jpeg_end(buf: bytes) -> tuple[bool, int]:
    """``(complete, trailing_bytes)`` of a whole JPEG file: the one definition of a
    truncated JPEG, shared by the header pass (``--fast``) and the pixel scan.

    ``complete`` is False exactly when no end-of-image marker (FFD9) follows the start of
    the first scan's data: the decoder runs out of bytes before it can finish (FracAtlas'
    59 cut files). Inside entropy-coded data every FF byte is followed by 00 or a restart
    marker, so the first FFD9 after the scan start is the image's end; ``trailing_bytes``
    counts what follows it (FracAtlas' 28 files padded to 16,384 bytes decode completely
    and are not truncated). A file ending with FFD9 is complete with 0 trailing bytes.
    """
    if bytes(buf[-2:]) == _EOI:
        return True, 0
    start = _first_scan(buf)
    if start is None:
        return False, 0
    end = buf.find(_EOI, start)
    if end < 0:
        return False, 0
    return True, len(buf) - end - 2


#: Most pixels an image may have to be decoded (Pillow's decompression-bomb error limit,
#: ``2 * PIL.Image.MAX_IMAGE_PIXELS``): a 14000 x 13000 scan or a 10 KB JPEG declaring
#: 32000 x 32000 is a finding with its file, never decoded and never an exception.
PIXEL_BUDGET = 178_956_970


def over_budget(width: Any, height: Any, *, scale: int = 1) -> bool:
    """True when a ``width`` x ``height`` image (decoded at 1/``scale``) is over :data:`PIXEL_BUDGET`."""
    try:
        w, h = -(-int(width) // scale), -(-int(height) // scale)
    except (TypeError, ValueError):
        return False
    return w * h > PIXEL_BUDGET


def _exif_orientation(seg: bytes) -> int | None:
    """Orientation tag (0x0112) from an APP1 payload starting with ``Exif\\0\\0``."""
    tiff = seg[6:]
    if len(tiff) < 8:
        return None
    order = tiff[:2]
    if order == b"II":
        e = "<"
    elif order == b"MM":
        e = ">"
    else:
        return None
    (ifd,) = struct.unpack_from(e + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return None
    (n,) = struct.unpack_from(e + "H", tiff, ifd)
    for i in range(n):
        off = ifd + 2 + 12 * i
        if off + 12 > len(tiff):
            return None
        tag, typ, _count = struct.unpack_from(e + "HHI", tiff, off)
        if tag == 0x0112:
            if typ == 3:  # SHORT
                return struct.unpack_from(e + "H", tiff, off + 8)[0]
            if typ == 4:  # LONG (non-standard but seen)
                return struct.unpack_from(e + "I", tiff, off + 8)[0]
            return None
    return None


def jpeg_header(fd: int, file_size: int, head: bytes | None = None) -> tuple[int, int, int | None, bool]:
    """Walk the JPEG markers of the file open as descriptor ``fd``.

    Returns ``(raw_width, raw_height, orientation or None, (complete, trailing_bytes))``
    with the end state of :func:`jpeg_end` (the whole file is read only when it does not
    end with the end-of-image marker). Raises
    :class:`HeaderError` when the markers end before a frame header. Only the segments it
    needs are read (``os.pread``; large APP segments such as EXIF thumbnails are skipped).
    """
    buf = head if head is not None else os.pread(fd, _HEAD, 0)
    base = 0

    def window(start: int, n: int) -> bytes:
        nonlocal buf, base
        if start < base or start + n > base + len(buf):
            buf, base = os.pread(fd, max(n, _HEAD), start), start
            if len(buf) < n:
                raise HeaderError(f"truncated JPEG header: the file ends at byte {file_size} before the frame header")
        return buf[start - base : start - base + n]

    if buf[:2] != b"\xff\xd8":
        raise HeaderError("not a JPEG file (no SOI marker)")
    pos = 2
    orientation: int | None = None
    while True:
        off = pos - base
        if off < 0 or off + 4 > len(buf):
            buf, base = os.pread(fd, _HEAD, pos), pos
            off = 0
            if len(buf) < 2:
                raise HeaderError(f"truncated JPEG header: the file ends at byte {file_size} before the frame header")
        b0, marker = buf[off], buf[off + 1]
        if b0 != 0xFF:
            raise HeaderError(f"corrupt JPEG header: expected a marker at byte {pos}")
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _NO_LENGTH:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            raise HeaderError("corrupt JPEG header: scan data or end of image before the frame header (SOF)")
        if off + 4 > len(buf):
            raise HeaderError(f"truncated JPEG header: the file ends at byte {file_size} before the frame header")
        length = (buf[off + 2] << 8) | buf[off + 3]
        if length < 2:
            raise HeaderError(f"corrupt JPEG header: segment length {length} at byte {pos}")
        if marker in _SOF:
            seg = window(pos + 4, 5)
            raw_h, raw_w = struct.unpack_from(">HH", seg, 1)
            if raw_w == 0 or raw_h == 0:
                raise HeaderError(f"JPEG frame header declares size {raw_w}x{raw_h}")
            tail = os.pread(fd, 2, max(0, file_size - 2))
            end = (True, 0) if tail == _EOI else jpeg_end(os.pread(fd, file_size, 0))
            return raw_w, raw_h, orientation, end
        if marker == 0xE1 and orientation is None and length >= 16:
            seg = window(pos + 4, length - 2)
            if seg[:6] == b"Exif\x00\x00":
                try:
                    orientation = _exif_orientation(seg)
                except struct.error:
                    orientation = None
        pos += 2 + length


def open_image(path: str | os.PathLike[str]) -> Any:
    """``PIL.Image.open``, except that a file Pillow cannot identify always raises
    ``UnidentifiedImageError``: once Ultralytics is imported it patches ``Image.open`` to try
    the optional ``pi_heif`` plugin on unknown files, which raises ImportError offline.

    Over Pillow's decompression-bomb limit it raises :class:`ImageTooLarge` (an ``OSError``)
    with the declared size, so callers that treat an unreadable image as a finding treat it
    the same way.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(path)
    except ImportError:
        raise UnidentifiedImageError(f"cannot identify image file {os.fspath(path)!r}") from None
    except Image.DecompressionBombError:
        size = _unchecked_size(path)
        raise ImageTooLarge(*(size or (None, None))) from None


def _unchecked_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The declared size of an image Pillow refuses to open as a decompression bomb: its
    format plugin reads the header (as ``Image.open`` does) without the size check; no pixel
    is decoded."""
    import struct as _struct

    from PIL import Image

    Image.init()
    try:
        with open(path, "rb") as fp:
            prefix = fp.read(16)
            for fmt in Image.ID:
                factory, accept = Image.OPEN[fmt]
                if accept is not None and not accept(prefix):
                    continue
                fp.seek(0)
                try:
                    im = factory(fp, os.fspath(path))
                except (SyntaxError, IndexError, TypeError, ValueError, OSError, _struct.error):
                    continue
                w, h = im.size
                return int(w), int(h)
    except OSError:
        return None
    return None


def _pil_header(path: str) -> tuple[int, int, int | None]:
    from PIL import UnidentifiedImageError

    try:
        with open_image(path) as im:
            w, h = im.size
            try:
                o = im.getexif().get(0x0112)
            except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image
                o = None
    except ImageTooLarge as exc:  # the header is fine: its size is the finding (not decoded later)
        if exc.width is None or exc.height is None:
            raise HeaderError(str(exc)) from None
        return exc.width, exc.height, None
    except UnidentifiedImageError:
        raise HeaderError("not an image file Pillow can identify") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise HeaderError(f"unreadable image header: {exc}") from None
    return int(w), int(h), (int(o) if isinstance(o, int) else None)


def read_header(path: str | os.PathLike[str]) -> tuple:
    """One file's ``(width, height, raw_width, raw_height, orientation, file_size, header_error,
    truncated, trailing_bytes)`` (``trailing_bytes``: stray bytes after a JPEG's end marker)."""
    p = os.fspath(path)
    size: int | None = None
    try:
        fd = open_regular(p)  # a FIFO, device or socket is reported, never opened blocking
    except FileNotFoundError:
        return (None, None, None, None, None, None, "file not found", False, None)
    except NotRegularFile as exc:
        return (None, None, None, None, None, None, str(exc), False, None)
    except OSError as exc:
        return (None, None, None, None, None, None, f"cannot open: {exc.strerror or exc}", False, None)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return (None, None, None, None, None, 0, "empty file", False, None)
        head = os.pread(fd, _HEAD, 0)
        truncated, trailing = False, None
        if head[:2] == b"\xff\xd8":
            rw, rh, orient, (complete, trailing) = jpeg_header(fd, size, head)
            truncated = not complete
        else:
            rw, rh, orient = _pil_header(p)
    except HeaderError as exc:
        return (None, None, None, None, None, size, str(exc), str(exc).startswith("truncated"), None)
    except OSError as exc:
        return (None, None, None, None, None, size, f"cannot read: {exc.strerror or exc}", False, None)
    finally:
        os.close(fd)
    w, h = (rh, rw) if orient in (5, 6, 7, 8) else (rw, rh)
    err = "truncated JPEG: the file ends before the end-of-image marker" if truncated else None
    return (w, h, rw, rh, orient, size, err, truncated, trailing)


def read_headers(paths: Iterable[str | os.PathLike[str]], *, workers: int | None = None) -> pd.DataFrame:
    """Read the header of every path; one row per path, in order (index = position).

    Columns: ``width``/``height`` (EXIF-corrected), ``raw_width``/``raw_height`` (as stored),
    ``orientation`` (EXIF tag 1..8 or <NA>), ``file_size``, ``header_error`` (text or None),
    ``truncated`` (no end-of-image marker after the JPEG's scan data: see :func:`jpeg_end`),
    ``trailing_bytes`` (stray bytes after a JPEG's end marker). Never raises for a bad file.

    Runs through :func:`fracatlas_annot.runtime.parallel.parallel_map`: ``workers`` wins
    when given; by default more than :data:`PARALLEL_MIN` files are shared by two processes
    (see :func:`~fracatlas_annot.runtime.parallel.default_workers`).
    """
    paths = [os.fspath(p) for p in paths]
    return headers_frame(parallel_map(read_header, paths, workers=workers, min_items=PARALLEL_MIN))


def headers_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """Typed DataFrame from ``read_header`` tuples."""
    cols = list(zip(*rows)) if rows else [()] * len(HEADER_COLUMNS)
    data = {}
    for name, values in zip(HEADER_COLUMNS, cols):
        if name == "header_error":
            arr = np.empty(len(values), dtype=object)
            arr[:] = list(values)
            data[name] = pd.Series(arr, dtype=object)
        elif name == "truncated":
            data[name] = pd.Series(np.asarray(values, dtype=bool))
        else:
            data[name] = pd.Series(pd.array(list(values), dtype="Int64"))
    return pd.DataFrame(data)


__all__ = [
    "HEADER_COLUMNS", "PIXEL_BUDGET", "HeaderError", "ImageTooLarge", "headers_frame", "jpeg_end", "jpeg_header",
    "open_image", "over_budget", "read_header", "read_headers",
]

