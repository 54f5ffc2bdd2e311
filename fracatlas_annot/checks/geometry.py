"""FA1xx: geometry of single objects: vertex counts, validity, area, degenerate boxes,
coordinates outside the image, non-finite values, multi-part and missing polygons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ._findings import concat, fmt, object_findings
from ._sizes import extents, frame_size, px_extents
from .registry import CheckContext, Severity, rule


def _distinct_vertices(geom: np.ndarray) -> np.ndarray:
    """Distinct vertices of each polygon's largest part (0 for empty / missing)."""
    n = len(geom)
    out = np.zeros(n, dtype=np.int64)
    has = ~shapely.is_missing(geom) & ~shapely.is_empty(geom)
    if not has.any():
        return out
    g = geom[has]
    multi = shapely.get_type_id(g) == 6
    if multi.any():
        g = g.copy()
        parts, idx = shapely.get_parts(g[multi], return_index=True)
        areas = shapely.area(parts)
        order = np.lexsort((-areas, idx))
        first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]]
        g[np.flatnonzero(multi)] = parts[first]
    ext = shapely.get_exterior_ring(g)
    xy, owner = shapely.get_coordinates(ext, return_index=True)
    df = pd.DataFrame({"o": owner, "x": xy[:, 0], "y": xy[:, 1]}).drop_duplicates()
    counts = df.groupby("o").size()
    vals = np.zeros(len(g), dtype=np.int64)
    vals[counts.index.to_numpy()] = counts.to_numpy()
    out[np.flatnonzero(has)] = vals
    return out


#: Shapes whose convex hulls are built (and dropped) together.
HULL_SLICE = 4096


def _poly_info(ctx: CheckContext, name: str) -> pd.DataFrame:
    """Per-object geometry facts of a polygon-carrying source, computed once."""
    key = f"polyinfo:{name}"
    if key in ctx.cache:
        return ctx.cache[key]
    obj = ctx.dataset.sources[name].objects
    geom = obj["geometry"].to_numpy()
    missing = shapely.is_missing(geom)
    if missing.all():
        info = pd.DataFrame({"missing": missing, "n_vertices": 0, "area": np.nan, "finite": True}, index=obj.index)
        ctx.cache[key] = info
        return info
    # the reader's count of distinct vertices when it gave one, else counted here
    declared = (
        obj["n_vertices"].to_numpy(dtype="float64", na_value=np.nan).copy()
        if "n_vertices" in obj
        else np.full(len(obj), np.nan)
    )
    declared[declared < 0] = np.nan
    todo = np.isnan(declared) & ~missing
    nv = np.where(np.isnan(declared), 0, declared).astype(np.int64)
    if todo.any():
        nv[todo] = _distinct_vertices(geom[todo])
    # zero area = all vertices on one line: the convex hull has no area (a symmetric
    # bow-tie also has a net shoelace area of 0, but it is an invalid polygon, FA102)
    coords_finite = np.ones(len(obj), dtype=bool)
    present = ~missing
    rows = np.flatnonzero(present)
    for i in range(0, len(rows), HULL_SLICE):  # the vertices a slice at a time, as the hulls below
        xy, owner = shapely.get_coordinates(geom[rows[i : i + HULL_SLICE]], return_index=True)
        bad = ~np.isfinite(xy).all(axis=1)
        if bad.any():
            coords_finite[rows[i + np.unique(owner[bad])]] = False
    # GEOS refuses NaN / inf coordinates: measure only finite shapes
    ok = present & coords_finite
    area = np.full(len(obj), np.nan)
    if ok.any():
        g = geom[ok]
        # hulls a slice at a time: 10^5 temporary GEOS shapes at once were a peak of the run
        hull = np.concatenate([shapely.area(shapely.convex_hull(g[i : i + HULL_SLICE]))
                               for i in range(0, len(g), HULL_SLICE)])  # fmt: skip
        b = shapely.bounds(g)
        with np.errstate(invalid="ignore"):
            scale = np.maximum(1.0, ((b[:, 2] - b[:, 0]) + (b[:, 3] - b[:, 1])) ** 2)
        # relative to the extent: float noise on collinear vertices (x0 + w / 2) leaves ~1e-12 px²
        area[ok] = np.where(hull <= 1e-9 * scale, 0.0, hull)
    info = pd.DataFrame({"missing": missing, "n_vertices": nv, "area": area, "finite": coords_finite}, index=obj.index)
    ctx.cache[key] = info
    return info


@rule("FA101", "polygon-too-few-vertices", Severity.ERROR, caches=("polyinfo",))
def polygon_too_few_vertices(ctx: CheckContext):
    """A polygon has fewer than 3 distinct vertices.

    ## What it does
    Reports polygons (COCO `segmentation`, VGG regions) whose largest ring has fewer than
    3 distinct vertices once repeated points are removed.

    ## Why is this bad?
    It encloses no area. A 4-number COCO polygon is read as a bbox by pycocotools
    (cocoapi#139), and Ultralytics aborts a segment set that mixes a 2-point polygon with
    real ones.

    ## Example

        "segmentation": [[120.5, 88.0, 140.0, 96.5]]

    Use instead: a polygon with at least 3 vertices around the fracture.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        if not len(src.objects):
            continue
        info = _poly_info(ctx, name)
        bad = ~info["missing"].to_numpy() & (info["n_vertices"].to_numpy() < 3) & info["finite"].to_numpy()
        rows = src.objects[bad]
        if len(rows):
            msgs = [f"polygon has {n} distinct vertices (3 needed)" for n in info["n_vertices"].to_numpy()[bad]]
            parts.append(object_findings(name, rows, msgs))
    return concat(parts)


@rule("FA102", "invalid-polygon", Severity.ERROR, caches=("polyinfo",))
def invalid_polygon(ctx: CheckContext):
    """A polygon is invalid: it crosses itself or its rings overlap (GEOS says why and where).

    ## What it does
    Runs `shapely.is_valid` on every polygon and, for the invalid ones only,
    `shapely.is_valid_reason` (e.g. `Self-intersection[412.5 88.1]`). Polygons already
    reported for too few vertices or zero area are left to those rules.

    ## Why is this bad?
    The COCO `area` of a bow-tie is the net shoelace area (too small); rasterising it
    gives holes where the fracture is; intersection-based metrics (IoU, agreement) are
    undefined for it and raise in GEOS.

    ## Example
    Vertices in the order of a bow-tie:

        "segmentation": [[100, 100, 200, 200, 200, 100, 100, 200]]

    Use instead: the same vertices in boundary order, `[[100, 100, 200, 100, 200, 200, 100, 200]]`.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        info = _poly_info(ctx, name)
        cand = (
            ~info["missing"].to_numpy()
            & (info["n_vertices"].to_numpy() >= 3)
            & info["finite"].to_numpy()
            & (info["area"].to_numpy() > 0)
        )
        if not cand.any():
            continue
        geom = obj["geometry"].to_numpy()
        valid = np.ones(len(obj), dtype=bool)
        valid[cand] = shapely.is_valid(geom[cand])
        bad = ~valid
        if bad.any() and src.format == "yolo":
            bad[np.flatnonzero(bad)[_bridged_rings(geom[bad])]] = False
        if bad.any():
            reasons = shapely.is_valid_reason(geom[bad])
            parts.append(object_findings(name, obj[bad], [f"invalid polygon: {r}" for r in reasons]))
    return concat(parts)


def _bridged_rings(geom: np.ndarray) -> np.ndarray:
    """True for rings that are several parts joined by zero-width bridges: how Ultralytics
    (``merge_multi_segment``) and our ``convert --multipart bridge`` write a multi-part object
    on one segment line. GEOS calls them self-intersecting, but they enclose exactly their
    parts: the ring's shoelace area equals the area of its repaired shape, which has 2+ parts.
    A bow-tie fails this test (its shoelace area is the net of its lobes)."""
    fixed = shapely.make_valid(geom)
    members, owner = shapely.get_parts(fixed, return_index=True)  # collection -> members
    shapes, sub = shapely.get_parts(members, return_index=True)  # multipolygon -> polygons
    owner = owner[sub]
    is_poly = shapely.get_type_id(shapes) == 3
    n_parts = np.bincount(owner[is_poly], minlength=len(geom))
    area_fixed = np.bincount(owner[is_poly], weights=shapely.area(shapes[is_poly]), minlength=len(geom))
    area_ring = shapely.area(geom)
    return (n_parts >= 2) & np.isclose(area_ring, area_fixed, rtol=1e-6, atol=1e-9)


@rule("FA103", "zero-area-polygon", Severity.ERROR, caches=("polyinfo",))
def zero_area_polygon(ctx: CheckContext):
    """A polygon with 3 or more distinct vertices has zero area (all vertices on a line).

    ## What it does
    Reports polygons whose area is 0 although they have at least 3 distinct vertices.

    ## Why is this bad?
    It marks no pixels: the mask is empty, COCO evaluation divides by a zero area, and the
    object counts as a fracture with no extent.

    ## Example

        "segmentation": [[10, 10, 20, 20, 30, 30]]

    Use instead: vertices around the fracture, not along one line.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        info = _poly_info(ctx, name)
        bad = (
            ~info["missing"].to_numpy()
            & (info["n_vertices"].to_numpy() >= 3)
            & info["finite"].to_numpy()
            & ~(info["area"].to_numpy() > 0)
        )
        if bad.any():
            parts.append(object_findings(name, obj[bad], "polygon has zero area (its vertices are collinear)"))
    return concat(parts)


@rule("FA104", "degenerate-box", Severity.ERROR)
def degenerate_box(ctx: CheckContext):
    """A box has zero or negative width or height.

    ## What it does
    Reports box objects (VOC, YOLO, CSV) with `x1 <= x0` or `y1 <= y0`: a VOC `xmax`
    not greater than `xmin`, a YOLO `w` or `h` of 0 or below, a CSV `bbox_width` of 0.

    ## Why is this bad?
    Ultralytics rejects the image ("non-normalized or out of bounds coordinates" /
    zero-size box); VOC loaders produce negative areas and NaN losses.

    ## Example

        <bndbox><xmin>120</xmin><ymin>80</ymin><xmax>120</xmax><ymax>95</ymax></bndbox>

    Use instead: a box with `xmax > xmin` and `ymax > ymin`.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        box_only = shapely.is_missing(obj["geometry"].to_numpy())
        w = (obj["x1"] - obj["x0"]).to_numpy()
        h = (obj["y1"] - obj["y0"]).to_numpy()
        bad = box_only & np.isfinite(w) & np.isfinite(h) & ((w <= 0) | (h <= 0))
        if bad.any():
            unit = np.where(obj["units"].to_numpy()[bad] == "norm", "", " px")
            msgs = [f"box width {fmt(a)}{u}, height {fmt(b)}{u}" for a, b, u in zip(w[bad], h[bad], unit)]
            parts.append(object_findings(name, obj[bad], msgs))
    return concat(parts)


@rule("FA105", "object-outside-image", Severity.ERROR)
def object_outside_image(ctx: CheckContext):
    """A box or polygon vertex lies outside the image.

    ## What it does
    Compares every object's extent (box corners, polygon bounds) with the image frame the
    labels live in (the EXIF-corrected size; without an image file, the size the source
    declares) and reports how far it reaches out. Coordinates exactly on the border are
    fine (makesense clamps shapes to `0 <= x <= width`), and so is floating-point noise:
    the tolerance is `max(0.01 px, 1e-6 x size)`, which covers FracAtlas's normalised
    `1.0000000000000002` and makesense's pre-2021 YOLO overshoot of 5e-7. Numbers written
    normalised (YOLO) also carry their rounding: with 4 decimals (FracAtlas's pylabel files)
    a box edge `cx + w/2` moves by up to `7.5e-5 x size` (0.22 px at 2,880 px), which is
    not reported either. A vertex at `width + 0.4` is reported.

    ## Why is this bad?
    Ultralytics drops the whole image when one value exceeds its tolerance; converters
    that do not clip write labels outside [0, 1]; a box outside the frame usually means
    the labels were drawn on a different (un-rotated or resized) image.

    ## Example
    An image 373 px wide with

        "segmentation": [[373.4, 120.0, 360.0, 140.0, 350.0, 118.0]]

    Use instead: vertices within `0..373`.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        keys = obj["image"].to_numpy()
        W, H, known = frame_size(ctx, src, keys)
        e = px_extents(ctx, name, keep=False)
        # normalised rows whose image size is unknown: checked in [0, 1]
        norm = (obj["units"].to_numpy() == "norm") & ~known
        if norm.any():
            e = e.copy()  # the cached extents stay as they are
            e[norm] = extents(obj[norm])
        W = np.where(norm, 1.0, W)
        H = np.where(norm, 1.0, H)
        known = known | norm
        # numbers written normalised (YOLO) carry their rounding: 4 decimals move an edge by up to 7.5e-5
        rel = np.where(obj["units"].to_numpy() == "norm", max(ctx.border_tolerance_norm, ctx.rounding_tolerance_norm),
                       ctx.border_tolerance_norm)
        tol_x = np.where(norm, rel, np.maximum(ctx.border_tolerance_px, rel * W))
        tol_y = np.where(norm, rel, np.maximum(ctx.border_tolerance_px, rel * H))
        # column by column into two (n, 4) arrays, not stacks of temporaries (issue 13, point 3)
        over = np.empty_like(e)
        out = np.isfinite(e)
        out &= known[:, None]
        with np.errstate(invalid="ignore"):
            np.negative(e[:, 0], out=over[:, 0])
            np.negative(e[:, 1], out=over[:, 1])
            np.subtract(e[:, 2], W, out=over[:, 2])
            np.subtract(e[:, 3], H, out=over[:, 3])
            for j, t in enumerate((tol_x, tol_y, tol_x, tol_y)):
                out[:, j] &= over[:, j] > t
        del tol_x, tol_y, rel
        bad = out.any(axis=1)
        if not bad.any():
            continue
        msgs = []
        sides = ("left", "top", "right", "bottom")
        for i in np.flatnonzero(bad):
            j = int(np.argmax(np.where(out[i], over[i], -np.inf)))
            unit = "" if norm[i] else " px"
            size = f"{fmt(W[i])}x{fmt(H[i])}" if not norm[i] else "normalised 1x1"
            dist = over[i, j]
            msgs.append(
                f"{'box' if shapely.is_missing(obj['geometry'].iat[i]) else 'polygon'} reaches {fmt(dist) if dist >= 0.01 else f'{dist:.2g}'}{unit} "
                f"past the {sides[j]} border of the {size} image"
                f" (extent {fmt(e[i, 0])},{fmt(e[i, 1])} to {fmt(e[i, 2])},{fmt(e[i, 3])})"
            )
        parts.append(object_findings(name, obj[bad], msgs))
    return concat(parts)


@rule("FA106", "non-finite-coordinate", Severity.ERROR, caches=("polyinfo",))
def non_finite_coordinate(ctx: CheckContext):
    """A coordinate is NaN or infinite.

    ## What it does
    Reports objects with a NaN or infinite box value or polygon vertex (for example
    `NaN` or `Infinity` written by a script that divided by a zero image size).

    ## Why is this bad?
    Every comparison with NaN is false, so bounds checks pass it through; training then
    produces NaN losses.

    ## Example

        0 nan 0.490768 0.161542 0.099541

    Use instead: finite numbers.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        info = _poly_info(ctx, name)
        box = obj[["x0", "y0", "x1", "y1"]].to_numpy(dtype="float64")
        box_bad = ~np.isfinite(box).all(axis=1) & info["missing"].to_numpy()
        bad = box_bad | ~info["finite"].to_numpy()
        if bad.any():
            parts.append(object_findings(name, obj[bad], "coordinate is NaN or infinite"))
    return concat(parts)


@rule("FA107", "multi-part-polygon", Severity.WARNING)
def multi_part_polygon(ctx: CheckContext):
    """One object holds several polygons (a COCO segmentation list with more than one ring).

    ## What it does
    Reports objects made of more than one polygon part.

    ## Why is this bad?
    YOLO-seg has one ring per line: converters concatenate the parts into one garbage ring,
    split them into extra instances, or bridge them (JSON2YOLO PR #24, ultralytics#979).
    makesense never writes this; it comes from other tools.

    ## Example

        "segmentation": [[10, 10, 30, 10, 20, 25], [60, 60, 80, 60, 70, 75]]

    Use instead: one annotation per fracture, or convert with an explicit bridge policy.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        geom = obj["geometry"].to_numpy()
        multi = shapely.get_type_id(geom) == 6
        if "n_parts" in obj:
            multi = multi | (obj["n_parts"].fillna(1).to_numpy() > 1)
        if multi.any():
            n = shapely.get_num_geometries(geom[multi])
            if "n_parts" in obj:
                n = np.maximum(n, obj["n_parts"].fillna(1).to_numpy()[multi])
            parts.append(object_findings(name, obj[multi], [f"object has {int(k)} polygon parts" for k in n]))
    return concat(parts)


@rule("FA108", "polygon-missing", Severity.ERROR)
def polygon_missing(ctx: CheckContext):
    """An object in a polygon export has no polygon (a box-only instance in a segment set).

    ## What it does
    Reports objects without a usable polygon (an empty `segmentation`, or a bbox with no
    shape) where polygons are expected: a source that mixes boxes and polygons, or the
    COCO / VGG source of a FracAtlas archive (whose layout promises masks). A box-only COCO
    export (Roboflow, CVAT box sets: every `segmentation` empty) is a detection set and is
    not reported. RLE masks are reported by FA015 instead.

    ## Why is this bad?
    Ultralytics drops **all** segments of a dataset that mixes box-only and polygon labels
    ("Box and segment counts should be equal"); the seg model then trains on nothing.

    ## Example

        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [], "bbox": [10, 10, 20, 20], "area": 400}

    Use instead: a polygon for every instance.
    """
    parts = []
    masks_promised = ctx.dataset.format == "fracatlas"
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        expects = src.geometry == "polygon" or (masks_promised and src.format in ("coco", "vgg"))
        if not expects or not len(obj):
            continue
        geom = obj["geometry"].to_numpy()
        bad = shapely.is_missing(geom)
        if "rle" in obj:
            bad = bad & obj["rle"].isna().to_numpy()
        if bad.any():
            parts.append(object_findings(name, obj[bad], "object has no polygon"))
    return concat(parts)


@rule("FA109", "polygon-with-hole", Severity.WARNING)
def polygon_with_hole(ctx: CheckContext):
    """A polygon has an interior ring (a hole).

    ## What it does
    Reports polygons with one or more holes (possible after decoding a mask).

    ## Why is this bad?
    YOLO-seg stores one outer ring per object: the hole is filled on conversion
    (ultralytics#1106), so the mask covers pixels that were excluded.

    ## Example
    A mask shaped like a ring around intact bone. Use instead: accept the filled outline
    knowingly, or split the object.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        geom = obj["geometry"].to_numpy()
        poly = shapely.get_type_id(geom) == 3
        holes = np.zeros(len(obj), dtype=np.int64)
        if poly.any():
            holes[poly] = shapely.get_num_interior_rings(geom[poly])
        bad = holes > 0
        if bad.any():
            parts.append(object_findings(name, obj[bad], [f"polygon has {h} hole(s)" for h in holes[bad]]))
    return concat(parts)
