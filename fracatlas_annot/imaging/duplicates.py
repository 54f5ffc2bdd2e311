"""Duplicate images: byte-identical files, identical pixels after EXIF correction, and
near-duplicates by perceptual hash. Used by ``validate`` (FA6xx) and by grouped splits.

Groups are connected components: two images are in one ``near`` group when their 64-bit
pHashes differ in at most :data:`~fracatlas_annot.imaging.decode.PHASH_THRESHOLD` bits and
their 32x32 thumbnails correlate at :data:`~fracatlas_annot.imaging.decode.NEAR_CORRELATION`
or more (chains join), in one ``pixel`` group when their EXIF-corrected pixels are
identical, in one ``byte`` group when the files are byte-identical. Each kind lists only
groups that the stricter kinds do not already cover whole.

The input is plain arrays, one entry per image: ``keys`` (the image names the groups list),
``paths`` (the file, or None when there is none) and ``sizes`` (the file size in bytes, or
None), plus optionally a :func:`~fracatlas_annot.imaging.decode.scan` frame indexed by key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .decode import (  # file_digest stays importable from here
    NEAR_CORRELATION,
    PHASH_THRESHOLD,
    file_digest,
    scan,
    thumbnail_correlation,
)
from .hashindex import near_components

GROUP_COLUMNS = ["image", "group", "kind"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image": pd.Series([], dtype=object),
            "group": pd.Series([], dtype="int64"),
            "kind": pd.Series([], dtype=object),
        }
    )


def _present(values: Sequence[Any]) -> np.ndarray:
    """True where a value is given (not None, NaN or <NA>)."""
    return np.asarray(pd.notna(_objects(values)), dtype=bool)


def _objects(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a 1-d object array (their elements as ``list(values)`` gives them),
    without a list of 10^5 items in between."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray, np.ndarray)):
        return np.asarray(values, dtype=object).reshape(-1)
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def byte_hashes(keys: Sequence[str], paths: Sequence[Any], sizes: Sequence[Any]) -> pd.Series:
    """Byte digests (indexed by key) of the files whose size equals another file's size.

    Files of a unique size cannot be byte-identical to anything, so only size collisions
    are read (cheap enough to run even with ``--fast``). Entries without a path or a size
    are left out.
    """
    if not len(keys):
        return pd.Series([], dtype=object)
    keys = _objects(keys)
    paths = _objects(paths)
    sizes = pd.Series(_objects(sizes), dtype=object)
    on_disk = _present(paths) & _present(sizes)
    sizes = sizes[on_disk]
    cand = np.flatnonzero(on_disk)[sizes.duplicated(keep=False).to_numpy()]
    return pd.Series([file_digest(str(p)) for p in paths[cand]], index=pd.Index(keys[cand], dtype=object), dtype=object)


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _groups_from_labels(keys: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    s = pd.Series(keys, dtype=object).groupby(labels).agg(list)
    return [np.asarray(sorted(v), dtype=object) for v in s if len(v) > 1]


def _near_groups(good: pd.DataFrame, threshold: int) -> list[tuple[str, int]]:
    """``(image, group)`` of the near groups among scanned images (rows with a pixel hash).

    Pixel-identical images share their pHash and thumbnail, so they always join one component:
    the graph is built on one representative per pixel hash, then every representative's
    group is expanded to its copies. Pairs come from the multi-index hash search
    (:mod:`.hashindex`) and are confirmed by thumbnail correlation, vectorised, only while
    their ends are not yet connected. A group is reported when it holds two or more distinct
    pixel hashes (one pixel hash is a ``pixel`` group, not a near one).
    """
    if len(good) < 2:
        return []
    ph = good["pixel_hash"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(ph)  # representative k = first row with pixel hash k
    if len(uniques) < 2:
        return []
    first = np.full(len(uniques), len(ph), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(ph)))
    rep = good.iloc[first]
    hashes = np.array([int(h) for h in rep["phash"]], dtype=np.uint64)
    thumbs = np.frombuffer(b"".join(rep["thumb"]), dtype=np.uint8).reshape(len(rep), -1)

    def confirm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return thumbnail_correlation(thumbs[a], thumbs[b]) >= NEAR_CORRELATION

    labels = near_components(hashes, threshold, confirm=confirm)
    sizes = np.bincount(labels)
    if not (sizes > 1).any():
        return []
    # each image takes its representative's component; groups are numbered by their first
    # row in ``good`` and list their members by name
    comp = labels[codes]
    keys = good.index.to_numpy(dtype=object)
    multi = sizes[comp] > 1
    groups = pd.Series(keys[multi], dtype=object).groupby(comp[multi], sort=False).agg(list)
    return [(k, n) for n, g in enumerate(groups) for k in sorted(g)]


def duplicate_groups(
    keys: Sequence[str],
    paths: Sequence[Any],
    sizes: Sequence[Any],
    *,
    pixels: bool = True,
    progress: bool = True,
    scan_result: pd.DataFrame | None = None,
    threshold: int = PHASH_THRESHOLD,
) -> pd.DataFrame:
    """Duplicate groups as rows ``image, group, kind`` (kind: ``byte``, ``pixel``, ``near``).

    ``keys``, ``paths`` and ``sizes`` hold one entry per image (see the module docstring).
    With ``pixels=False`` only byte-identical files are found (no decoding). ``scan_result``
    reuses a :func:`~fracatlas_annot.imaging.decode.scan` of the images (indexed by key);
    without it every image with a path is scanned here.
    """
    rows: list[tuple[str, int, str]] = []
    gid = 0
    bh = byte_hashes(keys, paths, sizes)
    byte_sets: list[frozenset] = []
    if len(bh):
        for g in _groups_from_labels(bh.index.to_numpy(dtype=object), bh.to_numpy(dtype=object)):
            rows.extend((k, gid, "byte") for k in g)
            byte_sets.append(frozenset(g))
            gid += 1
    if pixels:
        if scan_result is None:
            has_path = _present(paths) if len(keys) else np.zeros(0, dtype=bool)
            ok_paths = [p for p, ok in zip(paths, has_path) if ok]
            ok_keys = [k for k, ok in zip(keys, has_path) if ok]
            scan_result = scan(ok_paths, keys=ok_keys, progress=progress) if ok_paths else None
        if scan_result is not None and len(scan_result):
            good = scan_result[scan_result["pixel_hash"].notna()]
            keys = good.index.to_numpy(dtype=object)
            covered = set(byte_sets)
            for g in _groups_from_labels(keys, good["pixel_hash"].to_numpy(dtype=object)):
                fs = frozenset(g)
                if fs in covered:
                    continue
                rows.extend((k, gid, "pixel") for k in g)
                gid += 1
            rows.extend((k, gid + c, "near") for k, c in _near_groups(good, threshold))
    if not rows:
        return _empty()
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    out["group"] = out["group"].astype("int64")
    out["image"] = out["image"].astype(object)
    out["kind"] = out["kind"].astype(object)
    return out
