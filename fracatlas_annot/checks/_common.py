"""Helpers shared by the rule families: object tables with their source, image frames,
reference sources and the one-to-one object matcher (computed once per context)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from .registry import CheckContext, findings

#: Formats whose exports list only images that carry objects (makesense never writes an
#: empty COCO ``images[]`` entry, VGG key, YOLO file or CSV row for a negative image).
POSITIVES_ONLY_FORMATS = {"coco", "vgg"}


def sources(ctx: CheckContext) -> list[tuple[str, Any]]:
    """(name, Source) pairs in reading order."""
    return list(ctx.dataset.sources.items())


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


def frame_size(ctx: CheckContext, src: Any, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height and a "known" mask of the frame the labels of ``keys`` live in.

    The EXIF-corrected size read from the image file wins; without a file, the size the
    source itself declares (COCO ``images[]``, VOC ``<size>``, CSV columns) is used.
    """
    images = ctx.dataset.images
    w = images["width"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan) if len(images) else np.full(len(keys), np.nan)
    h = images["height"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan) if len(images) else np.full(len(keys), np.nan)
    if len(src.images) and "width" in src.images:
        declared = src.images[~src.images.index.duplicated()]
        dw = declared["width"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan)
        dh = declared["height"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan)
        miss = np.isnan(w) | np.isnan(h)
        w = np.where(miss, dw, w)
        h = np.where(miss, dh, h)
    known = ~(np.isnan(w) | np.isnan(h))
    return w, h, known


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


def listed(src: Any) -> set[str]:
    """Images a source mentions: its image list plus the images of its objects."""
    keys = set(src.images.index.tolist())
    keys.update(src.objects["image"].dropna().tolist())
    return keys


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


def usable(obj: pd.DataFrame) -> np.ndarray:
    """Rows that can be placed in pixels: finite extent, pixel units."""
    e = extents(obj)
    return np.isfinite(e).all(axis=1) & (obj["units"].to_numpy() == "px")


# --------------------------------------------------------------------------- matching


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = ix * iy
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, np.where((a == b).all(axis=1), 1.0, 0.0))
    return iou


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
    from scipy.optimize import linear_sum_assignment

    ds = ctx.dataset
    A, B = ds.sources[a_name], ds.sources[b_name]
    common = listed(A) & listed(B)
    ao, bo = A.objects, B.objects
    amask = ao["image"].isin(common).to_numpy() & usable(ao)
    bmask = bo["image"].isin(common).to_numpy() & usable(bo)
    ae = pd.DataFrame(extents(ao[amask]), columns=["ax0", "ay0", "ax1", "ay1"])
    ae["image"] = ao["image"].to_numpy()[amask]
    ae["a"] = np.flatnonzero(amask)
    be = pd.DataFrame(extents(bo[bmask]), columns=["bx0", "by0", "bx1", "by1"])
    be["image"] = bo["image"].to_numpy()[bmask]
    be["b"] = np.flatnonzero(bmask)
    cand = ae.merge(be, on="image", how="inner", sort=True)
    ea = cand[["ax0", "ay0", "ax1", "ay1"]].to_numpy()
    eb = cand[["bx0", "by0", "bx1", "by1"]].to_numpy()
    cand["iou"] = _iou(ea, eb)
    cand["offset"] = np.abs(ea - eb).max(axis=1) if len(cand) else np.empty(0)
    na = ae.groupby("image").size()
    nb = be.groupby("image").size()
    cand["na"] = na.reindex(cand["image"]).to_numpy()
    cand["nb"] = nb.reindex(cand["image"]).to_numpy()
    single = (cand["na"] == 1) & (cand["nb"] == 1)
    pairs = [cand.loc[single, ["image", "a", "b", "iou", "offset"]]]
    multi = cand[~single]
    if len(multi):
        img = multi["image"].to_numpy()
        starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
        ends = np.r_[starts[1:], len(img)]
        a_col, b_col = multi["a"].to_numpy(), multi["b"].to_numpy()
        iou, off = multi["iou"].to_numpy(), multi["offset"].to_numpy()
        keep: list[np.ndarray] = []
        for s, e in zip(starts, ends):
            ua, ia = np.unique(a_col[s:e], return_inverse=True)
            ub, ib = np.unique(b_col[s:e], return_inverse=True)
            m = np.zeros((len(ua), len(ub)))
            pos = np.full((len(ua), len(ub)), -1)
            m[ia, ib] = iou[s:e]
            pos[ia, ib] = np.arange(s, e)
            r, c = linear_sum_assignment(m, maximize=True)
            chosen = pos[r, c]
            keep.append(chosen[iou[chosen] > 0])
        if keep:
            idx = np.concatenate(keep)
            pairs.append(pd.DataFrame({"image": img[idx], "a": a_col[idx], "b": b_col[idx], "iou": iou[idx], "offset": off[idx]}))
    pairs_df = pd.concat([p for p in pairs if len(p)], ignore_index=True) if any(len(p) for p in pairs) else pd.DataFrame(
        {"image": pd.Series([], dtype=object), "a": pd.Series([], dtype=int), "b": pd.Series([], dtype=int),
         "iou": pd.Series([], dtype=float), "offset": pd.Series([], dtype=float)}
    )
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
        "images": common,
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
    return src.objects.groupby("image", sort=False).size()
