"""FA2xx: boxes against polygons. Each box source (VOC, YOLO, CSV) is matched one to one
with the reference polygon source (COCO, else VGG) per image; COCO's own bbox and area are
compared with its polygons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ._common import match_sources
from ._findings import concat, fmt, object_findings
from ._keys import counts_array, keyspace
from ._sources import compared_pairs
from .registry import CheckContext, Severity, findings, rule

#: A matched box/polygon pair is reported when its IoU is below ``ctx.iou_threshold`` and
#: a corner is further than this from the polygon's extent (VOC rounds to integers: 0.5 px).
OFFSET_TOLERANCE_PX = 2.0


def box_polygon_pairs(ctx: CheckContext) -> list[tuple[str, str]]:
    """(box source, polygon reference) pairs."""
    ds = ctx.dataset
    return [
        (s, r)
        for s, r in compared_pairs(ctx)
        if ds.sources[s].geometry != "polygon" and ds.sources[r].geometry == "polygon"
    ]


@rule("FA201", "unmatched-box-or-polygon", Severity.ERROR, caches=("match",))
def unmatched_box_or_polygon(ctx: CheckContext):
    """A box has no polygon on the same image, or a polygon has no box.

    ## What it does
    On each image that both a box source (VOC, YOLO, CSV) and the polygon source (COCO)
    list, boxes and polygons are matched one to one by the IoU of the box with the
    polygon's extent (Hungarian assignment). A box left without an overlapping polygon, or
    a polygon left without a box, is reported on its own source.

    ## Why is this bad?
    The detection and segmentation train sets then disagree about where the fractures
    are: one model learns a fracture the other is told is background.

    ## Example
    `IMG0000019.xml` has two `<object>` boxes, `COCO_fracture_masks.json` one polygon on
    that image, overlapping the first box only. Use instead: a polygon for every box.
    """
    parts = []
    ds = ctx.dataset
    for box, poly in box_polygon_pairs(ctx):
        m = match_sources(ctx, box, poly)
        ua = ds.sources[box].objects.loc[m["unmatched_a"]]
        ub = ds.sources[poly].objects.loc[m["unmatched_b"]]
        if len(ua):
            parts.append(object_findings(box, ua, f"box has no matching polygon in `{poly}`"))
        if len(ub):
            parts.append(object_findings(poly, ub, f"polygon has no matching box in `{box}`"))
    return concat(parts)


@rule("FA202", "box-polygon-low-iou", Severity.ERROR, caches=("match",))
def box_polygon_low_iou(ctx: CheckContext):
    """A box and its matched polygon disagree: low IoU with the polygon's extent.

    ## What it does
    For each matched box/polygon pair, reports the pair when the IoU of the box with the
    polygon's extent is below the threshold (default 0.75) and a corner is more than 2 px
    off (VOC's integer rounding moves a corner by at most 0.5 px; FracAtlas's boxes equal
    the polygon extents to within 1 px). The message gives the IoU and the offset.

    ## Why is this bad?
    The box was drawn on another fracture, moved, or the coordinates were transformed
    wrongly (scaled, un-rotated): detection and segmentation labels describe different
    places.

    ## Example
    Polygon extent `100,100 to 140,130`; VOC box `<xmin>130</xmin><ymin>100</ymin><xmax>170</xmax><ymax>130</ymax>`
    (IoU 0.14, 30 px off). Use instead: the polygon's extent as the box.
    """
    parts = []
    ds = ctx.dataset
    for box, poly in box_polygon_pairs(ctx):
        pairs = match_sources(ctx, box, poly)["pairs"]
        bad = pairs[(pairs["iou"] < ctx.iou_threshold) & (pairs["offset"] > OFFSET_TOLERANCE_PX)]
        if len(bad):
            rows = ds.sources[box].objects.loc[bad["a"].to_numpy()]
            ploc = ds.sources[poly].objects.loc[bad["b"].to_numpy(), "loc"].to_numpy()
            msgs = [
                f"box matches `{poly}` polygon ({l}) with IoU {i:.2f}, corners up to {fmt(o)} px apart"
                for i, o, l in zip(bad["iou"], bad["offset"], ploc)
            ]
            parts.append(object_findings(box, rows, msgs))
    return concat(parts)


@rule("FA203", "box-polygon-count-mismatch", Severity.ERROR, caches=("match", "counts_array", "object_codes"))
def box_polygon_count_mismatch(ctx: CheckContext):
    """An image has a different number of boxes than polygons.

    ## What it does
    For each image that a box source and the polygon source both list, compares the
    number of boxes with the number of polygons and reports the image once per box source.

    ## Why is this bad?
    The fracture count of the image depends on which export is used: detection and
    segmentation models are trained and evaluated on different instance sets (FracAtlas's
    own seg and det runs counted 117 and 91 instances on the same 82 images).

    ## Example
    `IMG0000019.txt` has 2 lines; COCO has 1 polygon for `IMG0000019.jpg`. Use instead:
    one box per polygon.
    """
    parts = []
    ds = ctx.dataset
    for box, poly in box_polygon_pairs(ctx):
        B = ds.sources[box]
        common = keyspace(ctx).get_indexer(match_sources(ctx, box, poly)["images"])
        nb = counts_array(ctx, box)[common]
        npoly = counts_array(ctx, poly)[common]
        diff = nb != npoly
        if diff.any():
            keys = keyspace(ctx).to_numpy(dtype=object)[common[diff]]
            file_of = B.images["file"][~B.images.index.duplicated()] if len(B.images) else pd.Series(dtype=object)
            parts.append(
                findings(
                    image=keys,
                    source=box,
                    message=[
                        f"{a} box(es) in `{box}`, {b} polygon(s) in `{poly}`" for a, b in zip(nb[diff], npoly[diff])
                    ],
                    file=B.derive_files(file_of.reindex(keys).to_numpy(dtype=object), keys) if len(file_of) else None,
                )
            )
    return concat(parts)


@rule("FA204", "coco-bbox-not-polygon-extent", Severity.ERROR)
def coco_bbox_not_polygon_extent(ctx: CheckContext):
    """A COCO annotation's `bbox` is not the extent of its own polygon.

    ## What it does
    Compares each COCO `bbox` (`[x, y, w, h]`) with the bounds of the annotation's
    `segmentation` and reports a difference above 1 px (makesense computes the bbox from
    the vertices exactly).

    ## Why is this bad?
    Detection training from COCO uses `bbox`, segmentation uses the polygon: they then
    describe different objects. A stale bbox usually means the polygon was edited by a
    script that forgot to update it.

    ## Example

        "segmentation": [[100, 100, 140, 100, 140, 130, 100, 130]], "bbox": [100, 100, 60, 30]

    Use instead: `"bbox": [100, 100, 40, 30]`.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if "bbox_x0" not in obj or not len(obj):
            continue
        geom = obj["geometry"].to_numpy()
        decl = obj[["bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"]].to_numpy(dtype="float64", na_value=np.nan)
        has = ~shapely.is_missing(geom) & ~shapely.is_empty(geom) & np.isfinite(decl).all(axis=1)
        if not has.any():
            continue
        b = np.full_like(decl, np.nan)
        b[has] = shapely.bounds(geom[has])
        with np.errstate(invalid="ignore"):
            diff = np.abs(decl - b).max(axis=1)
        bad = has & (diff > ctx.bbox_tolerance_px)
        if bad.any():
            msgs = [
                f"bbox {fmt(d[0])},{fmt(d[1])} to {fmt(d[2])},{fmt(d[3])} differs from the polygon's extent "
                f"{fmt(e[0])},{fmt(e[1])} to {fmt(e[2])},{fmt(e[3])} by {fmt(x)} px"
                for d, e, x in zip(decl[bad], b[bad], diff[bad])
            ]
            parts.append(object_findings(name, obj[bad], msgs))
    return concat(parts)


#: An ``area`` within this many pixels per pixel of outline of the polygon's own area is
#: accepted too: how far a rasteriser's pixel count strays from the polygon (each boundary
#: pixel is in or out). Measured on the 922 polygons of the real FracAtlas COCO file,
#: pycocotools' mask area is at most 0.25 px per px of perimeter off the shoelace area
#: (median 0.02), while a bbox area ``w * h`` is further off on all but 2 of them.
AREA_PERIMETER_TOLERANCE = 0.25


def _area_matches(declared: np.ndarray, ref: np.ndarray, rel_tol: float) -> np.ndarray:
    """``declared`` within ``max(1 px², rel_tol * ref)`` of ``ref`` (False where ``ref`` is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.abs(declared - ref) <= np.maximum(1.0, rel_tol * np.abs(ref))


@rule("FA205", "coco-area-not-polygon-area", Severity.ERROR)
def coco_area_not_polygon_area(ctx: CheckContext):
    """A COCO annotation's `area` is neither its polygon's area nor its rasterised mask's.

    ## What it does
    Producers compute `area` in two ways: makesense (and FracAtlas) write the shoelace area
    of the `segmentation`; CVAT (datumaro), detectron2 and Label Studio write the pixel
    count of the polygon rasterised by pycocotools (`mask.area(mask.frPyObjects(...))`),
    a few percent off the polygon's own area on small objects. An `area` is accepted when
    it is within 2 % (or 1 px²) of either, or within a quarter pixel per pixel of outline
    of the polygon's area (another rasteriser); otherwise it is reported with both areas.
    An RLE annotation's `area` is compared with its mask's pixel count. A missing `area`
    is reported too (pycocotools' evaluation needs it for its small/medium/large ranges).

    ## Why is this bad?
    COCO evaluation sorts objects into size ranges by `area`; a bbox area (`w * h`) or a
    stale value puts fractures in the wrong range, and `area = 0` objects are ignored.

    ## Example

        "segmentation": [[100, 100, 140, 100, 140, 130, 100, 130]], "area": 4800

    (the box of a 1200 px² polygon, or a stale value). Use instead: `"area": 1200`.
    """
    from ..formats.coco.rle import mask_areas

    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if src.format != "coco" or not len(obj):
            continue
        geom = obj["geometry"].to_numpy()
        actual = shapely.area(geom)
        has = ~shapely.is_missing(geom) & ~shapely.is_empty(geom) & np.isfinite(actual)  # NaN vertices: FA1xx
        if not has.any():
            continue
        declared = (
            obj["area"].to_numpy(dtype="float64", na_value=np.nan) if "area" in obj else np.full(len(obj), np.nan)
        )
        missing = has & np.isnan(declared)
        rle = obj["rle"].to_numpy(dtype=object) if "rle" in obj else np.full(len(obj), None, dtype=object)
        is_rle = np.array([isinstance(v, dict) for v in rle], dtype=bool)
        perimeter = shapely.length(geom)
        with np.errstate(invalid="ignore"):
            near = np.abs(declared - actual) <= AREA_PERIMETER_TOLERANCE * perimeter
        ok = (_area_matches(declared, actual, ctx.area_rel_tolerance) | near) & ~is_rle
        cand = np.flatnonzero(has & ~missing & ~ok)
        if len(cand):  # rasterise only what the polygon's own area does not explain
            size = src.images[["width", "height"]] if len(src.images) and "width" in src.images else None
            if size is not None:
                size = size[~size.index.duplicated()].reindex(obj["image"].to_numpy()[cand])
                w = size["width"].to_numpy(dtype="float64", na_value=np.nan)
                h = size["height"].to_numpy(dtype="float64", na_value=np.nan)
            else:
                w = h = np.full(len(cand), np.nan)
            mask = mask_areas(geom[cand], w, h, rle[cand])
            bad_c = ~_area_matches(declared[cand], mask, ctx.area_rel_tolerance)
            bad_c &= ~(is_rle[cand] & np.isnan(mask))  # an unusable RLE is the reader's problem
            bad = cand[bad_c]
            if len(bad):
                msgs = []
                for d, a, m, r in zip(declared[bad], actual[bad], mask[bad_c], is_rle[bad]):
                    rel = abs(d - a) / max(a, 1e-12)
                    if r:
                        msgs.append(f"area {fmt(d)} but the mask has {fmt(m)} pixels")
                    elif np.isnan(m):
                        msgs.append(f"area {fmt(d)} but the polygon's area is {fmt(a)} ({rel:.0%} off)")
                    else:
                        msgs.append(
                            f"area {fmt(d)} but the polygon's area is {fmt(a)} ({rel:.0%} off) "
                            f"and its rasterised mask has {fmt(m)} pixels"
                        )
                parts.append(object_findings(name, obj.iloc[bad], msgs))
        if missing.any():
            parts.append(object_findings(name, obj[missing], "annotation has no area"))
    return concat(parts)
