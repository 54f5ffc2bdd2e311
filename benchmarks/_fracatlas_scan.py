"""The real FracAtlas archive's per-image pHash and 32x32 small image, computed once and cached.

Used by ``bench_hashindex.py`` (realistic hashes) and ``measure_blank.py`` (entropy of the
small image the scan makes). Decoding goes through today's ``fracatlas_annot.pixels``
(``decode``: OpenCV grayscale with EXIF orientation applied; ``_small``: 32x32 area average;
``phash``), imported here only, so the benchmarks follow the scan wherever it moves.

The cache is ``benchmarks/_data/fracatlas_scan.npz`` (git-ignored): ``names`` (relative
paths), ``phash`` (uint64), ``small`` (uint8, n x 32 x 32).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = Path(os.environ.get("FRACATLAS_ARCHIVE", "/work/data/fracatlas"))
CACHE = ROOT / "benchmarks" / "_data" / "fracatlas_scan.npz"


def _decode_api():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:  # after the issue-10 move
        from fracatlas_annot.imaging import decode as mod  # type: ignore[attr-defined]

        return mod.decode, mod._small, mod.phash
    except (ImportError, AttributeError):
        from fracatlas_annot import pixels

        return pixels.decode, pixels._small, pixels.phash


def load(archive: Path = ARCHIVE, cache: Path = CACHE) -> dict[str, np.ndarray]:
    """``names``, ``phash`` and ``small`` of every ``images/**/*.jpg`` of the archive (cached)."""
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    files = sorted((archive / "images").rglob("*.jpg"))
    if not files:
        raise SystemExit(f"no images under {archive / 'images'} (set FRACATLAS_ARCHIVE)")
    decode, small_of, phash = _decode_api()
    t = time.perf_counter()
    names, hashes, smalls = [], [], []
    for k, f in enumerate(files, 1):
        gray = decode(f)
        small = small_of(gray)
        names.append(str(f.relative_to(archive)))
        hashes.append(phash(gray, small=small))
        smalls.append(small)
        if k % 500 == 0:
            print(f"  decoded {k}/{len(files)} ({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
    out = {
        "names": np.asarray(names),
        "phash": np.asarray(hashes, dtype=np.uint64),
        "small": np.stack(smalls).astype(np.uint8),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **out)
    os.replace(tmp, cache)
    print(f"  cached {len(files)} images to {cache} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    return out


if __name__ == "__main__":
    d = load()
    print(len(d["names"]), "images;", len(np.unique(d["phash"])), "distinct pHashes")
