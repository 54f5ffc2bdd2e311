"""Image sizes and object extents in pixels: the frame each source's labels live in (the file's
EXIF-corrected size, else a size an annotation source declares), computed once per context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from ._keys import keyspace
from .registry import CheckContext


def image_sizes(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    """Width and height (float, NaN if unknown) of the frame the labels live in, per key of
    :func:`~._keys.keyspace`.

    The EXIF-corrected size read from the file wins; without a file, the first size an
    annotation source declares (COCO ``images[]``, VOC ``<size>``, CSV) is used. Cached:
    two float arrays over the key codes, not a frame with an index of its own.
    """
    key = "image_sizes"
    if key in ctx.cache:
        return ctx.cache[key]
    K = keyspace(ctx)
    w = np.full(len(K), np.nan)
    h = np.full(len(K), np.nan)
    im = ctx.dataset.images
    if len(im) and "width" in im:
        _fill(w, h, K, im.index, im["width"], im["height"])
    for src in ctx.dataset.sources.values():
        si = src.images
        if len(si) and "width" in si:
            _fill(w, h, K, si.index, si["width"], si["height"], both=True)
    ctx.cache[key] = (w, h)
    return w, h


def _fill(w: np.ndarray, h: np.ndarray, K: pd.Index, keys: pd.Index, width: pd.Series, height: pd.Series,
          *, both: bool = False) -> None:  # fmt: skip
    """Fill the NaN cells of ``w``/``h`` (over ``K``) from the first row of each key; with
    ``both``, only rows that know both sides count."""
    ww = width.to_numpy(dtype="float64", na_value=np.nan)
    hh = height.to_numpy(dtype="float64", na_value=np.nan)
    rows = np.ones(len(keys), dtype=bool) if keys.is_unique else ~keys.duplicated()
    if both:
        rows &= ~(np.isnan(ww) | np.isnan(hh))
    if not rows.any():
        return
    codes = K.get_indexer(keys) if keys is not K else np.arange(len(K))
    rows &= codes >= 0
    c = codes[rows]
    for out, vals in ((w, ww[rows]), (h, hh[rows])):
        miss = np.isnan(out[c])
        out[c[miss]] = vals[miss]


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
    miss = np.isnan(w) | np.isnan(h)
    d = _declared(src)
    if miss.any() and d is not None and len(d):
        dd = d.reindex(keys[miss])
        w[miss] = dd["w"].to_numpy()
        h[miss] = dd["h"].to_numpy()
    miss = np.isnan(w) | np.isnan(h)
    if miss.any():
        all_w, all_h = image_sizes(ctx)
        codes = keyspace(ctx).get_indexer(keys[miss])
        found = codes >= 0
        rows = np.flatnonzero(miss)
        w[rows] = np.where(found, all_w[codes], np.nan)
        h[rows] = np.where(found, all_h[codes], np.nan)
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
