"""Vectorised polygon handling for writers: parts, rings, clamping, rounding, bridging.

Rings are carried as flat vertex arrays (``xy``, shape (m, 2)) plus per-ring lengths and
per-ring owner (object row), never as one Python object per vertex. Only objects drawn as
several polygons go through a small per-object loop (bridging), as Ultralytics does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["Rings", "box_area", "box_iou_matrix", "box_iou_pairs", "bridge", "clean_rings", "exterior_rings", "nonfinite", "ring_starts", "signed_areas", "subset"]


def nonfinite(geoms: np.ndarray) -> np.ndarray:
    """True for each geometry with a NaN or infinite coordinate (a ``1e999`` or ``NaN`` in a
    JSON export). GEOS cannot work on them (``make_valid`` raises) and no clamp can place
    them: callers report them, never clamp or drop them silently."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=bool)
    if not len(geoms):
        return out
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    out[owner[bad]] = True
    return out


@dataclass
class Rings:
    """Exterior rings of many objects: vertices (not closed), lengths, owners."""

    xy: np.ndarray  # (m, 2) float64
    lengths: np.ndarray  # (r,) int64
    owner: np.ndarray  # (r,) int64, object row

    def split(self) -> list[np.ndarray]:
        return np.split(self.xy, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []


def ring_starts(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(lengths) else np.zeros(0, np.int64)


def exterior_rings(geoms: np.ndarray) -> tuple[Rings, np.ndarray, np.ndarray]:
    """Exterior rings of every polygon part of ``geoms`` (Polygon / MultiPolygon / None).

    Returns ``(rings, n_parts, n_holes)`` where ``n_parts`` and ``n_holes`` count, per
    object, the non-empty parts and the interior rings (holes).
    """
    n = len(geoms)
    if n and (shapely.get_type_id(geoms) == 3).all():  # all single polygons: no parts to split
        parts, owner = geoms, np.arange(n)
    else:
        parts, owner = shapely.get_parts(geoms, return_index=True)
    nonempty = ~shapely.is_empty(parts)
    parts, owner = parts[nonempty], owner[nonempty]
    n_parts = np.bincount(owner, minlength=n)
    n_holes = np.bincount(owner, weights=shapely.get_num_interior_rings(parts), minlength=n).astype(np.int64)
    rings = shapely.get_exterior_ring(parts)
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    lengths = np.bincount(ridx, minlength=len(rings)).astype(np.int64)
    # shapely rings are closed: drop each ring's last vertex
    last = np.cumsum(lengths) - 1
    keep = np.ones(len(xy), dtype=bool)
    keep[last[lengths > 0]] = False
    lengths = np.maximum(lengths - 1, 0)
    return Rings(xy[keep], lengths, owner.astype(np.int64)), n_parts, n_holes


def clean_rings(rings: Rings) -> tuple[Rings, np.ndarray, np.ndarray]:
    """Merge repeated consecutive vertices (cyclically) and flag degenerate rings.

    Returns ``(rings, merged, valid)``: ``merged[i]`` counts the vertices removed from ring
    i, ``valid[i]`` is True when ring i keeps >= 3 distinct vertices and a non-zero area.
    """
    xy, lengths = rings.xy, rings.lengths
    r = len(lengths)
    if r == 0:
        return rings, np.zeros(0, np.int64), np.zeros(0, bool)
    ring_of = np.repeat(np.arange(r), lengths)
    starts = ring_starts(lengths)
    idx = np.arange(len(xy))
    prev = idx - 1
    nz = lengths > 0
    prev[starts[nz]] = starts[nz] + lengths[nz] - 1
    dup = np.all(xy == xy[prev], axis=1) if len(xy) else np.zeros(0, bool)
    # a ring whose vertices are all equal would lose them all: keep its first one
    all_dup = np.bincount(ring_of, weights=dup, minlength=r) == lengths
    dup[starts[all_dup & nz]] = False
    new_lengths = np.bincount(ring_of[~dup], minlength=r).astype(np.int64)
    merged = lengths - new_lengths
    xy = xy[~dup]
    out = Rings(xy, new_lengths, rings.owner)
    valid = (new_lengths >= 3) & (np.abs(signed_areas(out)) > 0)
    return out, merged, valid


def signed_areas(rings: Rings) -> np.ndarray:
    """Shoelace area of each ring (vectorised)."""
    xy, lengths = rings.xy, rings.lengths
    r = len(lengths)
    if r == 0 or len(xy) == 0:
        return np.zeros(r)
    starts = ring_starts(lengths)
    nxt = np.arange(len(xy)) + 1
    ends = starts + lengths
    nz = lengths > 0
    nxt[ends[nz] - 1] = starts[nz]
    cross = xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1]
    ring_of = np.repeat(np.arange(r), lengths)
    return np.bincount(ring_of, weights=cross, minlength=r) / 2.0


def subset(rings: Rings, mask: np.ndarray) -> Rings:
    """Keep the rings where ``mask`` is True."""
    vmask = np.repeat(mask, rings.lengths)
    return Rings(rings.xy[vmask], rings.lengths[mask], rings.owner[mask])


def _min_index(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    i = int(np.argmin(d))
    return i // d.shape[1], i % d.shape[1]


def bridge(parts: list[np.ndarray], scale: np.ndarray | None = None) -> np.ndarray:
    """Join several rings into one with zero-width bridges at their closest vertices.

    The same construction as Ultralytics' ``merge_multi_segment`` (forward pass, then back):
    the output visits every part once and walks each bridge twice, so the filled area is the
    union of the parts. ``scale`` (w, h) measures distances in pixels when ``parts`` are
    normalised.
    """
    s = np.ones(2) if scale is None else np.asarray(scale, dtype=float)
    segs = [np.asarray(p, dtype=float) for p in parts]
    idx_list: list[list[int]] = [[] for _ in segs]
    for i in range(1, len(segs)):
        a, b = _min_index(segs[i - 1] * s, segs[i] * s)
        idx_list[i - 1].append(a)
        idx_list[i].append(b)
    out: list[np.ndarray] = []
    last = len(idx_list) - 1
    for i, idx in enumerate(idx_list):
        if len(idx) == 2 and idx[0] > idx[1]:
            idx = [len(segs[i]) - 1 - x for x in idx]
            segs[i] = segs[i][::-1]
        segs[i] = np.roll(segs[i], -idx[0], axis=0)
        segs[i] = np.concatenate([segs[i], segs[i][:1]])
        if i in (0, last):
            out.append(segs[i])
        else:
            out.append(segs[i][: idx[1] - idx[0] + 1])
    for i in range(last - 1, 0, -1):
        idx = idx_list[i]
        out.append(segs[i][abs(idx[1] - idx[0]) :])
    return np.concatenate(out)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas of (n, 4) x0, y0, x1, y1 boxes (an inverted side counts as 0)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0.0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0.0, None)


def box_iou_pairs(a: np.ndarray, b: np.ndarray, *, identical_empty: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection area of paired boxes ``a[i]`` / ``b[i]`` given as (n, 4) corners.

    Two boxes without area have no IoU (0 / 0): it is ``identical_empty`` when their
    corners are equal, else 0. Agreement keeps the default 0 (a point is no fracture
    outline); the cross-format rules pass 1 (the same point in two formats agrees).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0.0, None)
    inter = iw * ih
    union = box_area(a) + box_area(b) - inter
    empty = np.where((a == b).all(axis=1), identical_empty, 0.0) if identical_empty else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, empty)
    return iou, inter


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU matrix of two box arrays: :func:`box_iou_pairs` of every (a, b) pair."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ia, ib = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
    iou, _ = box_iou_pairs(a[ia.ravel()], b[ib.ravel()])
    return iou.reshape(len(a), len(b))
