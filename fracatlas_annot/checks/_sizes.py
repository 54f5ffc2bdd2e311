"""Image sizes and object extents in pixels: the frame each source's labels live in (the file's
EXIF-corrected size, else a size an annotation source declares), computed once per context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from .registry import CheckContext


def frame_size(ctx: CheckContext, src: Any, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height and a "known" mask of the frame the labels of ``keys`` live in:
    the image file's EXIF-corrected size, else the source's own declared size, else
    another source's: the first size an annotation source declares (COCO ``images[]``,
    VOC ``<size>``, CSV), side by side.

    Looked up for ``keys`` only, through an index of the keys asked for: no table or hash
    table over every image is built or kept (issue 13, point 3).
    """
    keys = np.asarray(keys, dtype=object)
    want = pd.Index(pd.unique(keys), dtype=object)
    at = want.get_indexer(keys)
    im = ctx.dataset.images
    if len(im) and "width" in im and im["width"].notna().any():
        w, h = _sizes_at(im, want, at, both=False)
    else:
        w = np.full(len(keys), np.nan)
        h = np.full(len(keys), np.nan)
    miss = np.isnan(w) | np.isnan(h)
    if miss.any():
        d = _sizes_at(src.images, want, at)
        w[miss], h[miss] = d[0][miss], d[1][miss]
    miss = np.isnan(w) | np.isnan(h)
    if miss.any():
        # the sizes of the image file, then of each source in turn, side by side
        ow, oh = _sizes_at(im, want, at, both=False)
        for other in ctx.dataset.sources.values():
            if not (np.isnan(ow[miss]).any() or np.isnan(oh[miss]).any()):
                break
            dw, dh = _sizes_at(other.images, want, at)
            ow = np.where(np.isnan(ow), dw, ow)
            oh = np.where(np.isnan(oh), dh, oh)
        w[miss], h[miss] = ow[miss], oh[miss]
    known = ~(np.isnan(w) | np.isnan(h))
    return w, h, known


def _sizes_at(table: pd.DataFrame, want: pd.Index, at: np.ndarray, *, both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``width`` and ``height`` of ``table`` (indexed by image key) for the keys ``want[at]``:
    the first row of each key (with ``both``, the first row that has both sides); NaN where
    there is none."""
    n = len(at)
    if not len(table) or "width" not in table:
        return np.full(n, np.nan), np.full(n, np.nan)
    if table.index.is_unique:
        # the table's own hash table (the archive's index, built once) looked up for the keys
        # asked for, and their rows only: no array over every row of the table (issue 13, point 3)
        r = table.index.get_indexer(want)
        found = np.flatnonzero(r >= 0)
        w = np.full(len(want), np.nan)
        h = np.full(len(want), np.nan)
        w[found] = table["width"].iloc[r[found]].to_numpy(dtype="float64", na_value=np.nan)
        h[found] = table["height"].iloc[r[found]].to_numpy(dtype="float64", na_value=np.nan)
        if both:
            w[np.isnan(h)] = np.nan
            h[np.isnan(w)] = np.nan
        return w[at], h[at]
    ww = table["width"].to_numpy(dtype="float64", na_value=np.nan)
    hh = table["height"].to_numpy(dtype="float64", na_value=np.nan)
    pos = want.get_indexer(table.index.to_numpy(dtype=object))
    ok = pos >= 0
    if both:
        ok &= ~(np.isnan(ww) | np.isnan(hh))
    rows = np.flatnonzero(ok)
    _, first = np.unique(pos[rows], return_index=True)  # the first row of each key
    rows = rows[first]
    row_of = np.full(len(want), -1, dtype=np.int64)
    row_of[pos[rows]] = rows
    r = row_of[at]
    found = r >= 0
    return np.where(found, ww[r], np.nan), np.where(found, hh[r], np.nan)


def px_extents(ctx: CheckContext, name: str, *, keep: bool = True) -> np.ndarray:
    """(n, 4) pixel extents of a source's objects; normalised rows (YOLO without a known
    image size when read) are scaled with :func:`frame_size`; NaN where that is unknown.
    Cached unless ``keep`` is False: FA105 reads each source's once, after FA011 (the
    matcher) is done with them, so they are not kept through the geometry rules."""
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
    if keep:
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
