"""COCO RLE masks: the one decoder and tracer, used by the reader and by every writer.

A mask is decoded once, with its counts checked, and traced once, by :func:`rle_polygons`:
the reader stores that geometry, and a writer that cannot carry a mask writes it (holes are
recorded as lost by the writer, as for any polygon with holes). :func:`mask_iou` says how
much of the mask a written outline covers.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["compressed", "decode", "mask_areas", "mask_iou", "rle_polygons"]

_MAX_PIXELS = 100_000_000  # a decoded mask above this (100 MB) is refused, not allocated
_MAX_OUTLINE = 10_000_000  # an outline longer than this (pixels) is not rasterised (memory ~ 5 x length)


def compressed(seg: Any) -> dict | str:
    """The pycocotools RLE of a COCO ``segmentation`` object, or why it is unusable.

    Counts are checked before anything is decoded: pycocotools writes past its buffer when
    they sum to more than ``height * width``.
    """
    from pycocotools import mask as mask_utils

    if not isinstance(seg, dict):
        return f"an RLE must be an object with 'size' and 'counts', got {type(seg).__name__}"
    size, counts = seg.get("size"), seg.get("counts")
    if not (type(size) is list and len(size) == 2 and all(type(v) is int and v >= 0 for v in size)):
        return f"'size' must be [height, width] integers, got {size!r}"
    h, w = size
    if h * w > _MAX_PIXELS:
        return f"mask of {h}x{w} pixels is too large to decode"
    if type(counts) is list:
        if not all(type(c) is int and 0 <= c < 2**32 for c in counts) or sum(counts) != h * w:
            return f"uncompressed counts must be non-negative integers summing to {h}*{w}"
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if type(counts) is bytes:
        counts = counts.decode("ascii", errors="replace")
    if type(counts) is str:
        decoded = _string_counts(counts)
        if decoded is None or sum(decoded) != h * w:
            return f"compressed counts do not decode to {h}*{w} pixels"
        return {"size": [h, w], "counts": counts.encode("ascii")}
    return f"'counts' must be a string or a list of integers, got {type(counts).__name__}"


def decode(seg: Any) -> np.ndarray | str:
    """The (height, width) uint8 mask of a COCO RLE object, or a message saying why not."""
    from pycocotools import mask as mask_utils

    rle = compressed(seg)
    if isinstance(rle, str):
        return rle
    h, w = rle["size"]
    if h * w == 0:
        return np.zeros((h, w), dtype=np.uint8)
    with warnings.catch_warnings():  # pycocotools' numpy-2 copy= deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.ascontiguousarray(mask_utils.decode(rle))


def rle_polygons(seg: Any) -> tuple[Any, int, int, np.ndarray] | str:
    """Decode a COCO RLE object with pycocotools and trace it with OpenCV (holes kept).

    Outlines run through the centres of the boundary pixels (pixel ``j`` spans
    ``[j, j + 1]``, so its centre is ``j + 0.5``): they lie up to 0.5 px inside the pixel
    edges, on every side alike; the declared ``bbox`` and ``area`` stay in their columns.
    Returns ``(geometry, n_parts, n_vertices, extent)`` or a message saying why the
    RLE is unusable (see :func:`decode`).
    """
    import cv2
    import shapely

    m = decode(seg)
    if isinstance(m, str):
        return m
    extent = np.full(4, np.nan)
    if m.size == 0:
        return shapely.Polygon(), 0, 0, extent
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return shapely.Polygon(), 0, 0, extent
    parent = hierarchy[0][:, 3]
    shells = [i for i in range(len(contours)) if parent[i] < 0 and len(contours[i]) >= 3]
    if not shells:
        xy = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64) + 0.5
        extent[:] = [*xy.min(axis=0), *xy.max(axis=0)]
        return shapely.Polygon(), 0, 0, extent
    rings, ring_poly = [], []
    for k, shell in enumerate(shells):
        rings.append(contours[shell].reshape(-1, 2))
        ring_poly.append(k)
        for hole in np.flatnonzero(parent == shell):
            if len(contours[hole]) >= 3:
                rings.append(contours[hole].reshape(-1, 2))
                ring_poly.append(k)
    xy = np.concatenate(rings).astype(np.float64) + 0.5
    lr = shapely.linearrings(xy, indices=np.repeat(np.arange(len(rings)), [len(r) for r in rings]))
    polys = shapely.polygons(lr, indices=np.asarray(ring_poly))
    geometry = polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))
    largest = int(np.argmax(shapely.area(polys)))
    n_vertices = len(np.unique(shapely.get_coordinates(shapely.get_exterior_ring(polys[largest]))[:-1], axis=0))
    extent[:] = shapely.bounds(geometry)
    return geometry, len(polys), n_vertices, extent


def mask_iou(geometry: Any, seg: Any) -> float:
    """IoU between an RLE mask and the exterior rings of ``geometry`` rasterised by
    pycocotools (holes filled, as a polygon-only target writes them); 0.0 when either is
    empty or the RLE is unusable."""
    import shapely
    from pycocotools import mask as mask_utils

    rle = compressed(seg)
    if isinstance(rle, str) or geometry is None or shapely.is_empty(geometry):
        return 0.0
    h, w = rle["size"]
    parts = shapely.get_parts(geometry)
    flat = [shapely.get_coordinates(shapely.get_exterior_ring(p))[:-1].ravel().tolist() for p in parts]
    flat = [f for f in flat if len(f) >= 6]
    if not flat or h * w == 0:
        return 0.0
    traced = mask_utils.merge(mask_utils.frPyObjects(flat, h, w))
    return float(mask_utils.iou([traced], [rle], [0])[0][0])


def mask_areas(geometry: np.ndarray, width: np.ndarray, height: np.ndarray, rle: np.ndarray | None = None) -> np.ndarray:
    """The pycocotools mask area (pixels) of each object, as CVAT (datumaro), detectron2 and
    Label Studio compute a COCO ``area``: the exterior rings of ``geometry`` rasterised with
    ``frPyObjects`` on a ``height`` x ``width`` canvas and merged (``mask.area(mask.merge(...))``);
    for a row with an ``rle`` cell, the area of that mask. A canvas size that is unknown (NaN)
    is the object's extent rounded up. NaN where there is nothing to rasterise."""
    import shapely
    from pycocotools import mask as mask_utils

    out = np.full(len(geometry), np.nan)
    for i, g in enumerate(geometry):
        if rle is not None and rle[i] is not None and not (isinstance(rle[i], float) and rle[i] != rle[i]):
            c = compressed(rle[i])
            if not isinstance(c, str):
                out[i] = float(mask_utils.area(c))
            continue
        if g is None or shapely.is_empty(g) or not np.isfinite(shapely.get_coordinates(g)).all():
            continue
        x0, y0, x1, y1 = shapely.bounds(g)
        w, h = width[i], height[i]
        w = int(np.ceil(x1)) + 1 if not np.isfinite(w) or w <= 0 else int(w)
        h = int(np.ceil(y1)) + 1 if not np.isfinite(h) or h <= 0 else int(h)
        if w <= 0 or h <= 0 or w * h > _MAX_PIXELS:
            continue
        if x0 < -1 or y0 < -1 or x1 > w + 1 or y1 > h + 1:  # what lies outside is clipped anyway
            g = shapely.clip_by_rect(g, -1, -1, w + 1, h + 1)
        if shapely.length(g) > _MAX_OUTLINE:  # pycocotools walks every pixel of the outline
            continue
        parts = shapely.get_parts(g)
        flat = [shapely.get_coordinates(shapely.get_exterior_ring(p))[:-1].ravel().tolist() for p in parts]
        flat = [f for f in flat if len(f) >= 6]
        if not flat:
            out[i] = 0.0
            continue
        out[i] = float(mask_utils.area(mask_utils.merge(mask_utils.frPyObjects(flat, h, w))))
    return out


def _string_counts(text: str) -> list[int] | None:
    """COCO's compressed RLE string -> run lengths (pycocotools ``rleFrString``), or None if malformed."""
    counts: list[int] = []
    p, n = 0, len(text)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                return None
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                return None
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        if not 0 <= x < 2**32:
            return None
        counts.append(x)
    return counts
