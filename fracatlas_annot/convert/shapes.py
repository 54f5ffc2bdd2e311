"""From source objects to writable shapes: polygons (RLE traced), parts, clamping, boxes.

The shape policy every writer follows (the writers in ``formats`` ask for it through the
plan); every change goes to the recorder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..formats.coco.rle import mask_iou, rle_polygons
from .geometry import Rings, bridge, clean_rings, exterior_rings, ring_starts, signed_areas, subset
from .manifest import Recorder

__all__ = ["traced_geometry", "seg_instances", "clamped_boxes", "polygon_parts", "CLAMP_TOLERANCE_PX"]

#: Clamping that moves a vertex or box edge by more than this is lossy.
CLAMP_TOLERANCE_PX = 0.5


def _has_rle(objects: pd.DataFrame) -> np.ndarray:
    if "rle" not in objects:
        return np.zeros(len(objects), bool)
    return objects["rle"].map(lambda r: isinstance(r, dict)).to_numpy(dtype=bool)


def traced_geometry(objects: pd.DataFrame, recorder: Recorder | None) -> np.ndarray:
    """The geometry column; an RLE mask is written as the polygons the COCO reader traced
    from it (:func:`~fracatlas_annot.formats.coco.rle.rle_polygons`, traced here when a row
    has none), recorded with the IoU between those outlines and the mask, and the holes that
    a polygon target cannot carry."""
    geoms = objects["geometry"].to_numpy(dtype=object).copy()
    rle = _has_rle(objects)
    if not rle.any():
        return geoms
    rows = np.flatnonzero(rle)
    msgs = []
    for i in rows:
        seg = objects["rle"].iat[i]
        if geoms[i] is None or shapely.is_empty(geoms[i]):
            traced = rle_polygons(seg)
            if isinstance(traced, str):
                geoms[i] = None
                msgs.append(f"RLE mask unusable ({traced}); not traced")
                continue
            geoms[i] = None if shapely.is_empty(traced[0]) else traced[0]
        g = geoms[i]
        parts = 0 if g is None else shapely.get_num_geometries(g)
        holes = 0 if g is None else int(shapely.get_num_interior_rings(shapely.get_parts(g)).sum())
        extra = f", {holes} hole(s) not carried" if holes else ""
        msgs.append(f"RLE mask traced into {parts} polygon(s), IoU {mask_iou(g, seg):.4f} with the mask{extra}")
    if recorder is not None:
        recorder.add("rle-to-polygon", objects.iloc[rows], msgs)
    return geoms


def clamped_boxes(objects: pd.DataFrame, geoms: np.ndarray, recorder: Recorder) -> tuple[np.ndarray, np.ndarray]:
    """Pixel boxes (x0, y0, x1, y1) clamped to each object's image, and a keep mask.

    Boxes come from the polygon extent when there is one, else the source box. A box left
    without area is dropped (lossy); clamps are recorded.
    """
    boxes = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float).copy()
    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if has.any():
        boxes[has] = shapely.bounds(geoms[has])
    w = objects["w"].to_numpy(dtype=float)
    h = objects["h"].to_numpy(dtype=float)
    lo = np.zeros((len(boxes), 4))
    hi = np.stack([w, h, w, h], axis=1)
    clamped = np.clip(boxes, lo, hi)
    moved = np.abs(clamped - boxes)
    moved = np.where(np.isnan(moved), np.inf, moved)
    dist = moved.max(axis=1) if len(boxes) else np.zeros(0)
    some = dist > 0
    far = dist > CLAMP_TOLERANCE_PX
    for kind, mask in (("box-clamped", some & ~far), ("box-clamped-far", far & np.isfinite(dist))):
        if mask.any():
            recorder.add(kind, objects[mask], [f"box clamped to the image, edges moved up to {d:.3g} px" for d in dist[mask]])
    keep = (clamped[:, 2] > clamped[:, 0]) & (clamped[:, 3] > clamped[:, 1])
    if (~keep).any():
        recorder.add("object-dropped", objects[~keep], "box has no area inside the image; not written")
    return clamped, keep


def seg_instances(
    objects: pd.DataFrame,
    geoms: np.ndarray,
    *,
    multipart: str,
    recorder: Recorder,
    box_fallback: bool,
    normalise: bool = True,
    decimals: int = 6,
    record_split: bool = True,
) -> tuple[Rings, np.ndarray]:
    """Polygon instances ready to write: one ring per instance.

    Coordinates are clamped to the image (pixels), then normalised by (w, h) and rounded
    to ``decimals`` (``normalise=False`` keeps pixels, unrounded). Holes are dropped,
    degenerate parts dropped, multi-part objects joined / reduced / split per ``multipart``
    (``bridge`` | ``largest`` | ``split``); objects without a polygon are written as their
    box rectangle when ``box_fallback`` else dropped. Everything is recorded.

    Returns ``(rings, instance_object)``: ``rings.owner`` is the object row of each instance.
    """
    n = len(objects)
    geoms = geoms.copy()
    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if (~has).any():
        no = ~has
        if box_fallback:
            geoms[no] = shapely.box(objects["x0"].to_numpy()[no], objects["y0"].to_numpy()[no], objects["x1"].to_numpy()[no], objects["y1"].to_numpy()[no])
            recorder.add("box-as-polygon", objects[no], "object has no polygon; a segment set cannot hold a box line, so its box rectangle is written as the polygon")
        else:
            recorder.add("object-dropped", objects[no], "object has no polygon; a segment set cannot hold a box line")
            geoms[no] = None
    rings, n_parts, n_holes = exterior_rings(geoms)
    holed = n_holes > 0
    if holed.any():
        recorder.add("hole-dropped", objects[holed], [f"{k} hole(s) filled: the target has no holes" for k in n_holes[holed]])
    # exact repeats in the source carry nothing: merge silently
    rings, _, _ = clean_rings(rings)
    w = objects["w"].to_numpy(dtype=float)
    h = objects["h"].to_numpy(dtype=float)
    vo = np.repeat(rings.owner, rings.lengths)
    wh = np.stack([w[vo], h[vo]], axis=1)
    clamped = np.clip(rings.xy, 0.0, wh)
    d = np.abs(clamped - rings.xy).max(axis=1) if len(clamped) else np.zeros(0)
    d = np.where(np.isnan(d), np.inf, d)
    moved = d > 0
    if moved.any():
        cnt = np.bincount(vo[moved], minlength=n)
        dmax = np.zeros(n)
        np.maximum.at(dmax, vo[moved], d[moved])
        for kind, mask in (("vertex-clamped", (cnt > 0) & (dmax <= CLAMP_TOLERANCE_PX)), ("vertex-clamped-far", dmax > CLAMP_TOLERANCE_PX)):
            if mask.any():
                recorder.add(kind, objects[mask], [f"{c} vertex(es) clamped to the image, moved up to {m:.3g} px" for c, m in zip(cnt[mask], dmax[mask])])
    xy = clamped / wh if normalise else clamped
    if normalise and decimals is not None:
        xy = np.round(xy, decimals)
    rings = Rings(xy, rings.lengths, rings.owner)
    rings, merged, valid = clean_rings(rings)
    if normalise and (merged > 0).any():
        per = np.bincount(rings.owner, weights=merged, minlength=n).astype(int)
        mask = per > 0
        recorder.add("vertices-merged", objects[mask], [f"{k} vertex(es) equal to their neighbour after rounding written once" for k in per[mask]])
    valid_per = np.bincount(rings.owner, weights=valid, minlength=n).astype(int)
    parts_per = np.bincount(rings.owner, minlength=n)
    bad_parts = parts_per - valid_per
    lost_all = (parts_per > 0) & (valid_per == 0)
    lost_some = (bad_parts > 0) & ~lost_all
    if lost_all.any():
        recorder.add("polygon-dropped", objects[lost_all], "polygon has fewer than 3 distinct vertices or no area; object not written")
    if lost_some.any():
        recorder.add("polygon-dropped", objects[lost_some], [f"{k} degenerate part(s) of a multi-part object dropped" for k in bad_parts[lost_some]])
    rings = subset(rings, valid)
    parts = np.bincount(rings.owner, minlength=n)
    multi = np.flatnonzero(parts > 1)
    if len(multi):
        rings = _multipart(rings, objects, multi, parts, multipart=multipart, recorder=recorder, w=w, h=h, normalise=normalise, record_split=record_split)
    return rings, rings.owner


def _multipart(rings: Rings, objects, multi, parts, *, multipart, recorder, w, h, normalise, record_split) -> Rings:
    is_multi = np.isin(rings.owner, multi)
    if multipart == "split":
        if record_split:
            recorder.add("multipart-split", objects.iloc[multi], [f"{k} parts written as {k} instances" for k in parts[multi]])
        return rings
    if multipart == "largest":
        area = np.abs(signed_areas(rings))
        if normalise:
            area = area * w[rings.owner] * h[rings.owner]
        frame = pd.DataFrame({"owner": rings.owner, "area": area, "i": np.arange(len(area))})
        best = frame.sort_values(["owner", "area"], ascending=[True, False]).drop_duplicates("owner")["i"].to_numpy()
        keep = ~is_multi
        keep[best] = True
        total = np.bincount(rings.owner, weights=area, minlength=len(w))
        kept = np.zeros(len(w))
        kept[rings.owner[best]] = area[best]
        recorder.add(
            "multipart-largest",
            objects.iloc[multi],
            [f"kept the largest of {k} parts; {total[o] - kept[o]:.1f} px² of {total[o]:.1f} px² dropped" for k, o in zip(parts[multi], multi)],
        )
        return subset(rings, keep)
    if multipart != "bridge":
        raise ValueError(f"unknown multipart policy {multipart!r}")
    pieces = rings.split()
    out_xy: list[np.ndarray] = []
    out_len: list[int] = []
    out_owner: list[int] = []
    i = 0
    owner = rings.owner
    while i < len(pieces):
        o = owner[i]
        j = i
        while j < len(pieces) and owner[j] == o:
            j += 1
        if j - i == 1:
            ring = pieces[i]
        else:
            scale = np.array([w[o], h[o]]) if normalise else None
            ring = bridge(pieces[i:j], scale)
        out_xy.append(ring)
        out_len.append(len(ring))
        out_owner.append(o)
        i = j
    recorder.add("multipart-bridged", objects.iloc[multi], [f"{k} parts joined by zero-width bridges" for k in parts[multi]])
    return Rings(np.concatenate(out_xy) if out_xy else np.zeros((0, 2)), np.asarray(out_len, np.int64), np.asarray(out_owner, np.int64))


def polygon_parts(objects: pd.DataFrame, geoms: np.ndarray, recorder: Recorder, *, what: str = "COCO") -> tuple[list[list[list[float]]], np.ndarray]:
    """Per object, the flat ``[x1, y1, ...]`` exterior ring of each part (pixels, unclamped),
    and the summed shoelace area. Holes and degenerate parts are recorded as lost."""
    n = len(objects)
    rings, n_parts, n_holes = exterior_rings(geoms)
    holed = n_holes > 0
    if holed.any():
        recorder.add("hole-dropped", objects[holed], [f"{k} hole(s) filled: {what} polygons have no holes" for k in n_holes[holed]])
    rings, _, valid = clean_rings(rings)
    parts_per = np.bincount(rings.owner, minlength=n)
    valid_per = np.bincount(rings.owner, weights=valid, minlength=n).astype(int)
    bad = parts_per - valid_per
    lost = bad > 0
    if lost.any():
        recorder.add("polygon-dropped", objects[lost], [f"{k} part(s) with fewer than 3 distinct vertices or no area not written" for k in bad[lost]])
    rings = subset(rings, valid)
    area = np.bincount(rings.owner, weights=np.abs(signed_areas(rings)), minlength=n)
    out: list[list[list[float]]] = [[] for _ in range(n)]
    flat = rings.xy.ravel().tolist()
    for o, s, k in zip(rings.owner.tolist(), ring_starts(rings.lengths).tolist(), rings.lengths.tolist()):
        out[o].append(flat[2 * s : 2 * (s + k)])
    return out, area
