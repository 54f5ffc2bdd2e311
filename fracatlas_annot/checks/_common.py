"""Helpers shared by the rule families: object tables with their source, image frames,
reference sources and the one-to-one matching of two sources' objects (computed once per
context, with the IoU and assignment of :mod:`fracatlas_annot.agreement.matching`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..agreement.matching import assign_max_iou, box_iou_pairs
from .registry import CheckContext, findings

#: Formats whose exports list only images that carry objects (makesense never writes an
#: empty COCO ``images[]`` entry, VGG key, YOLO file or CSV row for a negative image).
POSITIVES_ONLY_FORMATS = {"coco", "vgg"}


def sources(ctx: CheckContext) -> list[tuple[str, Any]]:
    """(name, Source) pairs in reading order."""
    return list(ctx.dataset.sources.items())


def source_file(src: Any) -> str | None:
    """The file a source was read from, as its rows name it (relative to the dataset root)."""
    for frame in (src.objects, src.images):
        if len(frame) and "file" in frame:
            f = frame["file"].dropna()
            if len(f):
                return str(f.iat[0])
    return src.path


def object_findings(name: str, obj: pd.DataFrame, message: Any, *, image: Any = None) -> pd.DataFrame:
    """Findings pointing at rows of a source's objects table (``obj`` is a filtered view)."""
    return findings(
        image=obj["image"] if image is None else image,
        source=name,
        object=obj.index,
        message=message,
        file=obj["file"],
        line=obj["line"],
        loc=obj["loc"],
    )


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame | None:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def fmt(v: float) -> str:
    """A coordinate for a message: integers without decimals, others with up to 2."""
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def image_sizes(ctx: CheckContext) -> pd.DataFrame:
    """Per image key: ``w``, ``h`` of the frame the labels live in (float, NaN if unknown).

    The EXIF-corrected size read from the file wins; without a file, the first size an
    annotation source declares (COCO ``images[]``, VOC ``<size>``, CSV) is used. Cached.
    """
    key = "image_sizes"
    if key in ctx.cache:
        return ctx.cache[key]
    im = ctx.dataset.images
    if len(im) and "width" in im:
        out = pd.DataFrame(
            {
                "w": im["width"].to_numpy(dtype="float64", na_value=np.nan),
                "h": im["height"].to_numpy(dtype="float64", na_value=np.nan),
            },
            index=im.index,
        )
        out = out[~out.index.duplicated()]
    else:
        out = pd.DataFrame({"w": pd.Series([], dtype="float64"), "h": pd.Series([], dtype="float64")})
    for src in ctx.dataset.sources.values():
        d = _declared(src)
        if d is not None and len(d):
            out = out.combine_first(d) if len(out) else d
    ctx.cache[key] = out
    return out


def _declared(src: Any) -> pd.DataFrame | None:
    si = src.images
    if not len(si) or "width" not in si:
        return None
    w = si["width"].to_numpy(dtype="float64", na_value=np.nan)
    h = si["height"].to_numpy(dtype="float64", na_value=np.nan)
    ok = ~(np.isnan(w) | np.isnan(h))
    if not ok.any():
        return None
    d = pd.DataFrame({"w": w[ok], "h": h[ok]}, index=si.index[ok])
    return d[~d.index.duplicated()]


def frame_size(ctx: CheckContext, src: Any, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height and a "known" mask of the frame the labels of ``keys`` live in:
    the image file's EXIF-corrected size, else the source's own declared size, else
    another source's (see :func:`image_sizes`)."""
    im = ctx.dataset.images
    if len(im) and "width" in im and im["width"].notna().any():
        base = im[["width", "height"]][~im.index.duplicated()].reindex(keys)
        w = base["width"].to_numpy(dtype="float64", na_value=np.nan).copy()
        h = base["height"].to_numpy(dtype="float64", na_value=np.nan).copy()
    else:
        w = np.full(len(keys), np.nan)
        h = np.full(len(keys), np.nan)
    for d in (_declared(src), image_sizes(ctx)):
        miss = np.isnan(w) | np.isnan(h)
        if not miss.any() or d is None or not len(d):
            continue
        dd = d.reindex(keys[miss])
        w[miss] = dd["w"].to_numpy()
        h[miss] = dd["h"].to_numpy()
    known = ~(np.isnan(w) | np.isnan(h))
    return w, h, known


def px_extents(ctx: CheckContext, name: str) -> np.ndarray:
    """(n, 4) pixel extents of a source's objects; normalised rows (YOLO without a known
    image size when read) are scaled with :func:`frame_size`; NaN where that is unknown."""
    key = f"px_extents:{name}"
    if key in ctx.cache:
        return ctx.cache[key]
    src = ctx.dataset.sources[name]
    obj = src.objects
    e = extents(obj)
    norm = obj["units"].to_numpy() == "norm"
    if norm.any():
        w, h, known = frame_size(ctx, src, obj["image"].to_numpy()[norm])
        sub = e[norm]
        sub[:, [0, 2]] *= w[:, None]
        sub[:, [1, 3]] *= h[:, None]
        sub[~known] = np.nan
        e[norm] = sub
    ctx.cache[key] = e
    return e


def extents(obj: pd.DataFrame) -> np.ndarray:
    """(n, 4) x0, y0, x1, y1: the polygon's bounds where there is a polygon, else the box."""
    box = obj[["x0", "y0", "x1", "y1"]].to_numpy(dtype="float64", copy=True)
    geom = obj["geometry"].to_numpy()
    has = ~shapely.is_missing(geom)
    if has.any():
        b = shapely.bounds(geom[has])
        ok = ~np.isnan(b).any(axis=1)
        rows = np.flatnonzero(has)[ok]
        box[rows] = b[ok]
    return box


def listed(src: Any) -> pd.Index:
    """Images a source mentions (its image list plus the images of its objects), unique."""
    idx = src.images.index
    extra = pd.Index(src.objects["image"].dropna().unique(), dtype=object)
    if len(extra) and not extra.isin(idx).all():
        idx = idx.append(extra[~extra.isin(idx)])
    return idx[~idx.duplicated()]


# --------------------------------------------------------------------------- key space
# Set operations on 10^5 file names are the slow part of per-image rules: every image key
# is given an integer code once per context, and per-source facts become arrays over it.


def keyspace(ctx: CheckContext) -> pd.Index:
    """Every image key the dataset or any source mentions, once (cached)."""
    if "keyspace" not in ctx.cache:
        parts = [np.asarray(ctx.dataset.images.index, dtype=object)]
        for src in ctx.dataset.sources.values():
            parts.append(np.asarray(src.images.index, dtype=object))
            parts.append(src.objects["image"].dropna().to_numpy(dtype=object))
        ctx.cache["keyspace"] = pd.Index(pd.unique(np.concatenate(parts)) if parts else [], dtype=object)
    return ctx.cache["keyspace"]


def object_codes(ctx: CheckContext, name: str) -> np.ndarray:
    """Key codes of a source's objects' images (-1 for a missing image)."""
    key = f"object_codes:{name}"
    if key not in ctx.cache:
        ctx.cache[key] = keyspace(ctx).get_indexer(ctx.dataset.sources[name].objects["image"].to_numpy(dtype=object))
    return ctx.cache[key]


def listed_mask(ctx: CheckContext, name: str) -> np.ndarray:
    """Boolean array over :func:`keyspace`: images the source lists or has objects on."""
    key = f"listed_mask:{name}"
    if key not in ctx.cache:
        K = keyspace(ctx)
        m = np.zeros(len(K), dtype=bool)
        codes = K.get_indexer(np.asarray(ctx.dataset.sources[name].images.index, dtype=object))
        m[codes[codes >= 0]] = True
        oc = object_codes(ctx, name)
        m[oc[oc >= 0]] = True
        ctx.cache[key] = m
    return ctx.cache[key]


def counts_array(ctx: CheckContext, name: str) -> np.ndarray:
    """Objects per key of :func:`keyspace` for a source (int array)."""
    key = f"counts_array:{name}"
    if key not in ctx.cache:
        oc = object_codes(ctx, name)
        ctx.cache[key] = np.bincount(oc[oc >= 0], minlength=len(keyspace(ctx)))
    return ctx.cache[key]


def dataset_array(ctx: CheckContext, values: pd.Series, fill: Any = np.nan) -> np.ndarray:
    """A column of the images table laid over :func:`keyspace` (``fill`` where absent)."""
    K = keyspace(ctx)
    im = ctx.dataset.images
    out = np.full(len(K), fill, dtype=values.dtype if values.dtype != object else object)
    codes = K.get_indexer(np.asarray(im.index, dtype=object))
    out[codes] = values.to_numpy()
    return out


def listed_cached(ctx: CheckContext, name: str) -> pd.Index:
    key = f"listed:{name}"
    if key not in ctx.cache:
        ctx.cache[key] = listed(ctx.dataset.sources[name])
    return ctx.cache[key]


def lists_negatives(src: Any) -> bool:
    """True when the source lists images without objects (a full listing, like FracAtlas's
    VOC and YOLO folders), so that a missing negative image means something."""
    if src.format in POSITIVES_ONLY_FORMATS or not len(src.images):
        return False
    with_objects = set(src.objects["image"].dropna().unique())
    return bool((~src.images.index.isin(list(with_objects))).any())


def reference_source(ctx: CheckContext) -> str | None:
    """The source every other one is compared with: the first polygon source (COCO first),
    else the first source."""
    srcs = ctx.dataset.sources
    if not srcs:
        return None
    poly = [n for n, s in srcs.items() if s.geometry == "polygon"]
    coco = [n for n in poly if srcs[n].format == "coco"]
    if coco:
        return coco[0]
    if poly:
        return poly[0]
    return next(iter(srcs))


# --------------------------------------------------------------------------- matching


def match_sources(ctx: CheckContext, a_name: str, b_name: str) -> dict[str, Any]:
    """Match the objects of source ``a`` one to one with those of ``b``, per image.

    Objects are compared by the IoU of their extents (a box against the polygon's bounds).
    On each image both sources list, the assignment maximising total IoU is taken
    (``scipy.optimize.linear_sum_assignment``); a pair with no overlap counts as a match
    only when the image holds exactly one object in each source.

    Returns a dict with ``pairs`` (DataFrame: image, a, b (row indices), iou, offset
    (largest corner difference in pixels)), ``unmatched_a`` / ``unmatched_b`` (row index
    arrays) and ``images`` (the images both sources list). Cached per context.
    """
    key = f"match:{a_name}:{b_name}"
    if key in ctx.cache:
        return ctx.cache[key]
    ds = ctx.dataset
    A, B = ds.sources[a_name], ds.sources[b_name]
    K = keyspace(ctx)
    common = listed_mask(ctx, a_name) & listed_mask(ctx, b_name)
    ao, bo = A.objects, B.objects
    ac, bc = object_codes(ctx, a_name), object_codes(ctx, b_name)
    ea_all, eb_all = px_extents(ctx, a_name), px_extents(ctx, b_name)
    a_ok = np.isfinite(ea_all).all(axis=1) & (ac >= 0)
    b_ok = np.isfinite(eb_all).all(axis=1) & (bc >= 0)
    # an image where some object cannot be placed (no size for normalised rows, NaN) is
    # left to the rules that report those objects: matching it would invent mismatches
    common[ac[~a_ok & (ac >= 0)]] = False
    common[bc[~b_ok & (bc >= 0)]] = False
    amask = a_ok & common[np.maximum(ac, 0)]
    bmask = b_ok & common[np.maximum(bc, 0)]
    ae = pd.DataFrame(ea_all[amask], columns=["ax0", "ay0", "ax1", "ay1"])
    ae["image"] = ac[amask]
    ae["a"] = np.flatnonzero(amask)
    be = pd.DataFrame(eb_all[bmask], columns=["bx0", "by0", "bx1", "by1"])
    be["image"] = bc[bmask]
    be["b"] = np.flatnonzero(bmask)
    cand = ae.merge(be, on="image", how="inner", sort=True)
    ea = cand[["ax0", "ay0", "ax1", "ay1"]].to_numpy()
    eb = cand[["bx0", "by0", "bx1", "by1"]].to_numpy()
    cand["iou"], _ = box_iou_pairs(ea, eb, identical_empty=1.0)
    cand["offset"] = np.abs(ea - eb).max(axis=1) if len(cand) else np.empty(0)
    na = np.bincount(ae["image"].to_numpy(), minlength=len(K))
    nb = np.bincount(be["image"].to_numpy(), minlength=len(K))
    img = cand["image"].to_numpy()
    cand["single"] = (na[img] == 1) & (nb[img] == 1)
    chosen = assign_max_iou(cand, a="a", b="b", group="image")
    # a pair with no overlap counts only on an image with one object in each source
    chosen = chosen[(chosen["iou"].to_numpy() > 0) | chosen["single"].to_numpy(dtype=bool)]
    pairs_df = chosen[["image", "a", "b", "iou", "offset"]].reset_index(drop=True)
    pairs_df["image"] = K.to_numpy(dtype=object)[pairs_df["image"].to_numpy(dtype=int)]
    pairs_df["a"] = pairs_df["a"].astype(int)
    pairs_df["b"] = pairs_df["b"].astype(int)
    # map positional rows back to the objects' index labels
    pairs_df["a"] = ao.index.to_numpy()[pairs_df["a"].to_numpy()]
    pairs_df["b"] = bo.index.to_numpy()[pairs_df["b"].to_numpy()]
    in_common_a = ao.index[amask]
    in_common_b = bo.index[bmask]
    result = {
        "pairs": pairs_df,
        "unmatched_a": np.setdiff1d(in_common_a.to_numpy(), pairs_df["a"].to_numpy()),
        "unmatched_b": np.setdiff1d(in_common_b.to_numpy(), pairs_df["b"].to_numpy()),
        "images": K[common],
    }
    ctx.cache[key] = result
    return result


def compared_pairs(ctx: CheckContext) -> list[tuple[str, str]]:
    """(other, reference) source pairs that the cross-source rules compare."""
    ref = reference_source(ctx)
    if ref is None:
        return []
    return [(n, ref) for n in ctx.dataset.sources if n != ref]


def object_counts(src: Any) -> pd.Series:
    """Objects per image of a source."""
    return src.objects["image"].value_counts(sort=False)


def counts_cached(ctx: CheckContext, name: str) -> pd.Series:
    key = f"counts:{name}"
    if key not in ctx.cache:
        ctx.cache[key] = object_counts(ctx.dataset.sources[name])
    return ctx.cache[key]


def csv_numeric(ctx: CheckContext, column: str) -> pd.Series:
    """A ``dataset.csv`` column as float (NaN where not a number), converted once."""
    key = f"csv:{column}"
    if key not in ctx.cache:
        col = ctx.dataset.images[column]
        if col.dtype.kind in "iuf" or str(col.dtype) in ("Int64", "Float64"):
            ctx.cache[key] = pd.Series(col.to_numpy(dtype="float64", na_value=np.nan), index=col.index)
        else:
            try:  # digits as text: numpy parses them ~20x faster than pd.to_numeric
                vals = col.to_numpy(dtype=object, na_value=np.nan).astype("float64")
            except (TypeError, ValueError):
                vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            ctx.cache[key] = pd.Series(vals, index=col.index)
    return ctx.cache[key]


def in_csv(ctx: CheckContext) -> np.ndarray:
    """Boolean mask of the images table: rows listed in ``dataset.csv``."""
    im = ctx.dataset.images
    if "in_csv" not in im:
        return np.ones(len(im), dtype=bool)
    return im["in_csv"].fillna(False).to_numpy(dtype=bool)
