"""Decoding images the way the labels see them (EXIF-corrected) and hashing their pixels.

* :func:`decode` returns the EXIF-corrected grayscale pixels (X-rays are gray; an RGB
  JPEG of the same radiograph gives the same array).
* :func:`pixel_hash` hashes those pixels and their shape: equal hashes mean identical
  images after EXIF correction, whatever the file bytes.
* :func:`phash` is a 64-bit DCT perceptual hash (resize to 32x32 with area averaging,
  2-D DCT, the 8x8 lowest frequencies compared with their median). Two images whose
  hashes differ in at most :data:`PHASH_THRESHOLD` bits are near-duplicate candidates;
  JPEG re-encoding at quality 60 moves a radiograph's hash by a few bits only (tested).
  Radiographs share a global layout (dark field, bright bone), so distinct images of the
  same body part can also fall within 6 bits: a candidate pair is confirmed only when
  the Pearson correlation of their 32x32 thumbnails (:func:`thumbnail`) is at least
  :data:`NEAR_CORRELATION` (re-encoding at quality 60 gives > 0.9999; distinct synthetic
  radiographs of one size, 2,385 pHash candidate pairs among 400 images, stay below 0.998).
* Decoding uses OpenCV (libjpeg-turbo straight to grayscale, EXIF orientation applied:
  3x faster than Pillow on 2880x2304 radiographs); files OpenCV cannot decode (truncated
  JPEGs, other formats) go through Pillow, which says why.
* :func:`scan` runs all of that over many files through
  :func:`fracatlas_annot.runtime.parallel.parallel_map` (two processes from
  :data:`SCAN_PARALLEL_MIN` files on, by default) and reports progress. It decodes
  byte-identical files once, and hashes the whole pixels only of the images whose shape
  and 32x32 image repeat in the scan (decoded a second time): identical pixels have equal
  keys, and the hash of 6.6 million pixels cost as much as the resize of all of them.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..runtime.parallel import parallel_map, parallel_map_start
from ..runtime.regular import open_regular
from .headers import ImageTooLarge, jpeg_end, open_image, over_budget, read_header

#: Hamming distance (of 64 bits) at or under which two perceptual hashes are near-duplicates.
PHASH_THRESHOLD = 6

#: Minimum Pearson correlation of two 32x32 thumbnails confirming a pHash candidate pair.
NEAR_CORRELATION = 0.999

THUMB = 32

#: More files than this are decoded by two processes by default (a decode costs milliseconds).
SCAN_PARALLEL_MIN = 16

SCAN_COLUMNS = ["pixel_hash", "phash", "thumb", "error", "truncated", "width", "height"]


def _open(path: str | Path, *, allow_truncated: bool) -> np.ndarray:
    from PIL import ImageFile, ImageOps

    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = allow_truncated
    try:
        with open_image(path) as img:
            if over_budget(*img.size):  # never decode (nor copy) a frame over the budget
                raise ImageTooLarge(*img.size)
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode not in ("L", "I;16", "I", "F"):
                img = img.convert("L")
            arr = np.asarray(img)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old
    if arr.dtype != np.uint8:
        arr = _to_uint8(arr)
    return arr


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return ((a - lo) * (255.0 / (hi - lo))).round().astype(np.uint8)


def _decode_cv2(data: np.ndarray) -> np.ndarray | None:
    import cv2

    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)  # applies EXIF orientation; None if it cannot


def decode(path: str | Path | io.BytesIO, *, allow_truncated: bool = True) -> np.ndarray:
    """EXIF-corrected grayscale pixels (uint8, shape (height, width)) of an image file."""
    raw = (
        np.fromfile(path, dtype=np.uint8) if isinstance(path, (str, Path)) else np.frombuffer(path.getvalue(), np.uint8)
    )
    gray = _decode_cv2(raw) if len(raw) else None
    if gray is not None:
        return gray
    return _open(path, allow_truncated=allow_truncated)


def pixel_hash(gray: np.ndarray) -> str:
    """Hash of the pixels and shape (hex, 128 bits); equal for identical images after EXIF
    correction. SHA-256 (CPU instructions on x86 and ARM: 1.4x faster than BLAKE2b on a
    radiograph here), the pixels hashed without a copy."""
    h = hashlib.sha256()
    h.update(np.asarray(gray.shape, dtype=np.int64).tobytes())
    h.update(memoryview(np.ascontiguousarray(gray)).cast("B"))
    return h.hexdigest()[:32]


def _small(gray: np.ndarray) -> np.ndarray:
    """32x32 area-averaged uint8 image (the one resize both hashes share)."""
    import cv2

    if gray.dtype != np.uint8:
        gray = _to_uint8(gray)
    h, w = gray.shape
    if h >= 3 * THUMB and w >= 3 * THUMB and h % THUMB == 0 and w % THUMB == 0:  # (2x2 blocks round otherwise)
        # whole blocks (2880x2304 radiographs): OpenCV's own arithmetic for this case (integer
        # block sums, times 1/area in float32, rounded half to even), 25% faster; tested equal
        fy, fx = h // THUMB, w // THUMB
        sums = gray.reshape(THUMB, fy, w).sum(axis=1, dtype=np.uint32).reshape(THUMB, THUMB, fx).sum(axis=2)
        return np.rint(sums.astype(np.float32) * np.float32(1.0 / (fy * fx))).astype(np.uint8)
    return cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA)


def phash(gray: np.ndarray, *, small: np.ndarray | None = None) -> int:
    """64-bit DCT perceptual hash of a grayscale image (as an unsigned int): the 8x8 lowest
    frequencies of the 32x32 area-averaged image, each bit = coefficient above their median."""
    import cv2

    small = _small(gray) if small is None else small
    low = cv2.dct(small.astype(np.float32))[:8, :8].ravel()
    mid = np.partition(low, (31, 32))  # np.median of the 64, without its overhead
    bits = low > (mid[31] + mid[32]) / np.float32(2)
    return int(np.packbits(bits).view(">u8")[0])


def thumbnail(gray: np.ndarray, *, small: np.ndarray | None = None) -> bytes:
    """A 32x32 area-averaged uint8 thumbnail (1,024 bytes) for confirming near-duplicates."""
    return (_small(gray) if small is None else small).tobytes()


def thumbnail_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of two (n, 1024) thumbnail arrays."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = (a * b).sum(axis=1)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.where((a == b).all(axis=1), 1.0, 0.0))


def hamming(a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray:
    """Number of differing bits between 64-bit hashes (vectorised)."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return np.bitwise_count(x)


def _jpeg_cut(data: np.ndarray) -> bool:
    """A JPEG (starts with FFD8) that the decoder cannot finish: no end-of-image marker after
    its scan data (:func:`~fracatlas_annot.imaging.headers.jpeg_end`, the header pass's test)."""
    if not (len(data) >= 4 and data[0] == 0xFF and data[1] == 0xD8):
        return False
    if data[-2] == 0xFF and data[-1] == 0xD9:  # jpeg_end's first test, without copying the file
        return False
    return not jpeg_end(data.tobytes())[0]


def _decode_checked(path: str | Path) -> tuple[np.ndarray, bool]:
    """The scan's decode of one file: ``(EXIF-corrected gray pixels, truncated)``; raises
    what the decoders raise (a frame over the pixel budget is refused before any decoder runs)."""
    head = read_header(path) if isinstance(path, (str, os.PathLike)) else None
    if head is not None and over_budget(head[2], head[3]):  # checked before any decoder runs
        raise ImageTooLarge(head[2], head[3])
    data = np.fromfile(path, dtype=np.uint8)
    gray = _decode_cv2(data) if len(data) else None
    truncated = False
    if gray is None:  # Pillow says why, and decodes what a truncated JPEG holds
        try:
            gray = _open(path, allow_truncated=False)
        except OSError as exc:
            if "truncated" not in str(exc).lower():
                raise
            gray = _open(path, allow_truncated=True)
            truncated = True
    if not truncated:
        truncated = _jpeg_cut(data)
    return gray, truncated


def _key_hash(shape: tuple[int, ...], small: np.ndarray) -> str:
    """Hash (hex, 128 bits) of a decoded image's shape and 32x32 image: equal for identical
    pixels (both are functions of the pixels), so images whose key hash is unique in a
    scan cannot be pixel-identical to another one (see :func:`scan`)."""
    h = hashlib.sha256(b"shape+32x32 ")
    h.update(np.asarray(shape, dtype=np.int64).tobytes())
    h.update(small.tobytes())
    return h.hexdigest()[:32]


def scan_one(path: str | Path, *, full_hash: bool = True) -> dict:
    """Decode one file: pixel hash, perceptual hash, decode error, truncation, decoded size.

    With ``full_hash=False`` the ``pixel_hash`` is :func:`_key_hash` (shape and 32x32 image)
    instead of :func:`pixel_hash`: :func:`scan` hashes the whole pixels only of the images
    whose key repeats."""
    out = {
        "pixel_hash": None,
        "phash": None,
        "thumb": None,
        "error": None,
        "truncated": False,
        "width": None,
        "height": None,
    }
    try:
        gray, out["truncated"] = _decode_checked(path)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding, not a crash
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    small = _small(gray)
    out["pixel_hash"] = pixel_hash(gray) if full_hash else _key_hash(gray.shape, small)
    out["phash"] = phash(gray, small=small)
    out["thumb"] = thumbnail(gray, small=small)
    out["height"], out["width"] = int(gray.shape[0]), int(gray.shape[1])
    return out


def _scan_light(path: str) -> dict:
    return scan_one(path, full_hash=False)


def _pixel_hash_or_none(path: str) -> str | None:
    """:func:`pixel_hash` of a file decoded as :func:`scan_one` does; None if it now fails."""
    try:
        return pixel_hash(_decode_checked(path)[0])
    except Exception:  # noqa: BLE001 - the first decode succeeded; a changed file keeps its key
        return None


def file_digest(path: str | os.PathLike[str]) -> str:
    """blake2b of a regular file's bytes (hex); a FIFO, device or folder raises OSError
    (:func:`~fracatlas_annot.runtime.regular.open_regular`), never blocks."""
    h = hashlib.blake2b(digest_size=16)
    fd = open_regular(path)
    try:
        for chunk in iter(lambda: os.read(fd, 1 << 20), b""):
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest()


def _digest_or_none(path: str) -> str | None:
    try:
        return file_digest(path)
    except OSError:
        return None


def _regular_size(path: str) -> int:
    """Size of a non-empty regular file (links followed), else -1."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return -1
    return st.st_size if stat.S_ISREG(st.st_mode) and st.st_size > 0 else -1


def same_bytes(paths: Sequence[str], *, workers: int | None = None) -> np.ndarray:
    """For each path, the index of the first path with the same bytes (itself when none).

    Only files whose size equals another file's size are read (a unique size cannot
    repeat any bytes), their digests in the workers; a path that cannot be looked at is
    its own representative (it is decoded, and fails, on its own).
    """
    n = len(paths)
    rep = np.arange(n)
    # the stats go to the workers too from 16,384 files on (10^7 stats on a network file
    # system would keep the driver busy for hours)
    sizes = np.array(parallel_map(_regular_size, list(paths), workers=workers, min_items=SCAN_PARALLEL_MIN * 1024), dtype=np.int64)
    known = np.flatnonzero(sizes >= 0)
    cand = known[pd.Series(sizes[known]).duplicated(keep=False).to_numpy()]
    if not len(cand):
        return rep
    digests = parallel_map(_digest_or_none, [paths[i] for i in cand], workers=workers, min_items=SCAN_PARALLEL_MIN * 64)
    seen: dict[tuple[int, str], int] = {}
    for i, d in zip(cand, digests):
        if d is not None:
            rep[i] = seen.setdefault((int(sizes[i]), d), int(i))
    return rep


def _hash_repeated_keys(rows: list[dict | None], own: np.ndarray, paths: Sequence[str], *, workers: int | None) -> None:
    """Replace the key hash (:func:`_key_hash`) of every row in ``own`` (the files decoded
    on their own, byte copies aside) whose key another row shares by the :func:`pixel_hash` of its whole pixels, decoded again in the workers.

    Identical pixels give identical keys, so a unique key is a unique image: its key hash
    stands for its pixel hash (it differs from every other row's hash exactly when the
    pixels differ). Only the images with a repeated key (pixel-identical ones, and distinct
    ones that happen to share a shape and 32x32 image) are decoded twice."""
    keys = pd.Series([rows[i]["pixel_hash"] for i in own], dtype=object)
    again = own[(keys.notna() & keys.duplicated(keep=False)).to_numpy()]
    if not len(again):
        return
    hashes = parallel_map(_pixel_hash_or_none, [paths[i] for i in again], workers=workers, min_items=SCAN_PARALLEL_MIN, max_batch=64)
    for i, h in zip(again, hashes):
        if h is not None:
            rows[i]["pixel_hash"] = h


#: Files per batch of the scan: small, so that the last batches end together (a batch of 64
#: radiographs of 2880x2304 pixels keeps one worker busy for seconds while the other idles).
SCAN_BATCH = 16


class ScanStarted:
    """A :func:`scan` whose decoding runs in the workers (:func:`scan_start`); :meth:`result`
    finishes it (same frame as :func:`scan`), :meth:`close` drops it."""

    def __init__(self, paths: list[str], index: list, rep: np.ndarray, first: np.ndarray, decoding, workers: int | None) -> None:
        self.paths, self.index, self.rep, self.first, self.decoding, self.workers = paths, index, rep, first, decoding, workers
        self._frame: pd.DataFrame | None = None

    def close(self) -> None:
        self.decoding.close()

    def result(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = self._finish()
        return self._frame

    def _finish(self) -> pd.DataFrame:
        paths, rep, first, workers = self.paths, self.rep, self.first, self.workers
        rows: list[dict | None] = [None] * len(paths)
        for i, row in zip(first, self.decoding.result()):
            rows[i] = row
        copies, again = [], []  # a copy of a file that failed: its own message names its own path
        for i in np.flatnonzero(rep != np.arange(len(paths))):
            row = rows[rep[i]]
            (copies if row is not None and row["error"] is None else again).append(i)
        for i, row in zip(again, parallel_map(_scan_light, [paths[i] for i in again], workers=workers, min_items=SCAN_PARALLEL_MIN)):
            rows[i] = row
        _hash_repeated_keys(rows, np.union1d(first, np.asarray(again, dtype=np.intp)), paths, workers=workers)
        for i in copies:
            rows[i] = dict(rows[rep[i]])
        frame = pd.DataFrame(rows, columns=SCAN_COLUMNS, index=pd.Index(self.index, dtype=object, name="image"))
        frame["phash"] = frame["phash"].astype(object)
        return frame


def scan_start(
    paths: Sequence[str | Path],
    *,
    keys: Sequence[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ScanStarted:
    """:func:`scan`, started: the byte comparison runs now, the decoding goes to the
    workers and runs while this process does other work; ``.result()`` returns the frame."""
    paths = [str(p) for p in paths]
    index = list(keys) if keys is not None else paths
    rep = same_bytes(paths, workers=workers)
    first = np.flatnonzero(rep == np.arange(len(paths)))  # one decode per byte content
    decoding = parallel_map_start(
        _scan_light,
        [paths[i] for i in first],
        workers=workers,
        min_items=SCAN_PARALLEL_MIN,
        max_batch=SCAN_BATCH,
        label="decoding images" if progress else None,
    )
    return ScanStarted(paths, index, rep, first, decoding, workers)


def scan(
    paths: Sequence[str | Path],
    *,
    keys: Sequence[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Decode and hash every file; returns one row per path (index = ``keys`` or the paths).

    Columns: ``pixel_hash`` (str: equal within one scan exactly when the EXIF-corrected
    pixels are identical; the whole pixels are hashed, :func:`pixel_hash`, only for images
    whose shape and 32x32 image repeat in the scan, the others carry :func:`_key_hash`),
    ``phash`` (uint64 as int, None on failure), ``thumb``
    (1,024 bytes), ``error`` (why decoding failed, or None), ``truncated`` (bool),
    ``width``/``height`` (decoded, EXIF-corrected). Byte-identical files are decoded once
    (:func:`same_bytes`) and share that row. ``workers`` processes when given, else
    :func:`~fracatlas_annot.runtime.parallel.default_workers` from more than
    :data:`SCAN_PARALLEL_MIN` files on. ``progress`` reports "decoding images".
    :func:`scan_start` starts it and lets the caller work while the workers decode.
    """
    started = scan_start(paths, keys=keys, workers=workers, progress=progress)
    try:
        return started.result()
    finally:
        started.close()


def iter_phash_pairs(
    hashes: np.ndarray, threshold: int = PHASH_THRESHOLD, block: int | None = None
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Yield (i, j) index arrays (i < j) of hash pairs within ``threshold`` bits, blockwise
    (about 4 M comparisons, 32 MiB, per block)."""
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h)
    block = block or max(1, (1 << 22) // max(n, 1))
    for s in range(0, n, block):
        d = hamming(h[s : s + block, None], h[None, :])
        i, j = np.nonzero(d <= threshold)
        i = i + s
        keep = i < j
        if keep.any():
            yield i[keep], j[keep]
