"""Labels drawn on the stored pixels of an EXIF-rotated photo, turned into the displayed frame.

Ultralytics reads images upright (``cv2.imread`` applies the EXIF orientation of a JPEG;
``ultralytics.data.utils.exif_size`` checks labels against the EXIF-corrected size), and so does
every writer here: the written labels must be in the displayed frame. A tool that ignores
EXIF (LabelImg: ``QImage.fromData``) draws on the stored pixels and declares the stored size.

For each image with an EXIF orientation whose source declares the stored (raw) size and not the
displayed one, the source's objects are in the stored frame and are turned into the displayed
frame (recorded as ``exif-frame-rotated``), unless another source on that image, declaring the
displayed size, shows that the boxes are already displayed (only the size is swapped: FA504's
other story). A source that proved to use the stored frame on such an image is taken to use it
on its other EXIF-oriented images too (orientations 2-4, square photos: the size says nothing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..model import Dataset, Source
from .geometry import box_iou_matrix
from .manifest import Recorder

__all__ = ["stored_to_displayed", "to_displayed_frame"]

#: orientations that swap width and height
_SWAP = {5, 6, 7, 8}


def stored_to_displayed(xy: np.ndarray, orientation: int, raw_w: float, raw_h: float) -> np.ndarray:
    """Points ``(n, 2)`` of the stored pixel frame (``raw_w`` x ``raw_h``) in the frame that
    ``PIL.ImageOps.exif_transpose`` shows for ``orientation``."""
    x, y = xy[:, 0], xy[:, 1]
    W, H = raw_w, raw_h
    table = {
        1: (x, y),
        2: (W - x, y),  # mirrored
        3: (W - x, H - y),  # 180
        4: (x, H - y),  # flipped
        5: (y, x),  # transpose
        6: (H - y, x),  # 90 clockwise
        7: (H - y, W - x),  # transverse
        8: (y, W - x),  # 90 counter-clockwise
    }
    nx, ny = table.get(int(orientation), (x, y))
    return np.column_stack([nx, ny])


def _declared(src: Source) -> pd.DataFrame:
    si = src.images
    if si is None or not len(si) or "width" not in si:
        return pd.DataFrame(columns=["dw", "dh"])
    si = si[~si.index.duplicated()]
    return pd.DataFrame(
        {c: pd.to_numeric(si[k], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
         for c, k in (("dw", "width"), ("dh", "height"))},
        index=si.index,
    )  # fmt: skip


def _frames(dataset: Dataset, src: Source) -> pd.DataFrame:
    """Per image of the dataset with an EXIF orientation other than 1: ``o, rw, rh, w, h`` and
    what ``src`` declares there: ``frame`` = stored / displayed / None (nothing declared or
    a size that proves nothing)."""
    im = dataset.images
    if not len(im) or "orientation" not in im:
        return pd.DataFrame()
    im = im[~im.index.duplicated()]
    o = pd.to_numeric(im["orientation"], errors="coerce")
    im = im[(o.notna() & (o != 1)).to_numpy()]
    if not len(im):
        return pd.DataFrame()
    t = pd.DataFrame({c: pd.to_numeric(im[c], errors="coerce").to_numpy(dtype=float)
                      for c in ("orientation", "raw_width", "raw_height", "width", "height")}, index=im.index)  # fmt: skip
    t.columns = ["o", "rw", "rh", "w", "h"]
    d = _declared(src).reindex(t.index)
    informative = (t["rw"] != t["rh"]).to_numpy() & t["o"].isin(list(_SWAP)).to_numpy()
    stored = informative & (d["dw"] == t["rw"]).to_numpy() & (d["dh"] == t["rh"]).to_numpy()
    shown = informative & (d["dw"] == t["w"]).to_numpy() & (d["dh"] == t["h"]).to_numpy()
    t["frame"] = np.where(stored, "stored", np.where(shown, "displayed", None))
    return t


def _moved(objects: pd.DataFrame, rows: np.ndarray, t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """New corners (n, 4) and geometries of ``objects`` rows, turned into the displayed frame."""
    f = t.reindex(objects["image"].to_numpy(dtype=object)[rows])
    o, rw, rh = (f[c].to_numpy(dtype=float) for c in ("o", "rw", "rh"))
    box = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)[rows]
    a, b = np.empty((len(rows), 2)), np.empty((len(rows), 2))
    for k in np.unique(o):
        sel = o == k
        a[sel] = stored_to_displayed(box[sel][:, :2], int(k), rw[sel], rh[sel])
        b[sel] = stored_to_displayed(box[sel][:, 2:], int(k), rw[sel], rh[sel])
    corners = np.column_stack([np.minimum(a, b), np.maximum(a, b)])
    g_col = objects["geometry"].to_numpy(dtype=object)[rows] if "geometry" in objects else np.full(len(rows), None)
    geoms = np.full(len(rows), None, dtype=object)
    for j, g in enumerate(g_col):
        if g is not None and not shapely.is_missing(g):
            geoms[j] = shapely.transform(g, lambda xy, j=j: stored_to_displayed(xy, int(o[j]), rw[j], rh[j]))
    return corners, geoms


def _matches_reference(objects: pd.DataFrame, rows: np.ndarray, moved: np.ndarray, refs: list[np.ndarray]) -> bool:
    """True when the objects as read overlap the reference boxes better than turned ones."""
    ref = np.concatenate(refs)
    as_read = objects.iloc[rows][["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)

    def best(boxes: np.ndarray) -> float:
        return float(box_iou_matrix(boxes, ref).max(axis=1).mean())

    return best(as_read) > best(moved)


def to_displayed_frame(dataset: Dataset, src: Source, objects: pd.DataFrame, recorder: Recorder) -> tuple[pd.DataFrame, list[str]]:
    """``objects`` (pixel units) with the rows of stored-frame images turned into the displayed
    frame, each recorded as ``exif-frame-rotated``; and notes for images left as read."""
    t = _frames(dataset, src)
    if not len(t) or not len(objects):
        return objects, []
    px = (objects["units"] == "px").to_numpy() if "units" in objects else np.ones(len(objects), bool)
    on = objects["image"].isin(t.index).to_numpy() & px
    if not on.any():
        return objects, []
    proven_stored = set(t.index[t["frame"] == "stored"])
    proven_shown = set(t.index[t["frame"] == "displayed"])
    # a source that drew on stored pixels where the size proves it did so everywhere, and vice versa
    source_stored = bool(proven_stored) and not proven_shown
    refs = _reference_boxes(dataset, src, t)
    objects = objects.copy()
    image_of = objects["image"].to_numpy(dtype=object)
    by_image: dict[Any, list[int]] = {}
    for r in np.flatnonzero(on):
        by_image.setdefault(image_of[r], []).append(int(r))
    turn: list[np.ndarray] = []
    kept_swapped, unknown = [], []
    for key in sorted(by_image, key=str):
        if key in proven_shown:
            continue
        if key not in proven_stored and not source_stored:
            if not proven_shown:  # the source never shows which frame it draws in
                unknown.append(key)
            continue
        rows = np.asarray(by_image[key])
        if key in refs and _matches_reference(objects, rows, _moved(objects, rows, t)[0], refs[key]):
            kept_swapped.append(key)  # the boxes are displayed already; only the declared size is the raw one
            continue
        turn.append(rows)
    if turn:
        rows = np.concatenate(turn)
        corners, geoms = _moved(objects, rows, t)
        idx = objects.index[rows]
        objects.loc[idx, ["x0", "y0", "x1", "y1"]] = corners
        if "geometry" in objects:
            objects.loc[idx, "geometry"] = pd.Series(geoms, index=idx, dtype=object)
        for c in ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"):
            if c in objects:  # a declared COCO bbox is in the same frame as the geometry
                objects.loc[idx, c] = np.nan
        f = t.reindex(image_of[rows])
        msgs = [
            f"in the stored pixels of an image with EXIF orientation {int(o)} "
            f"({'the source declares the stored size' if k in proven_stored else 'the source draws on stored pixels elsewhere'}, "
            f"{int(rw)}x{int(rh)}): turned into the displayed {int(w)}x{int(h)} frame that Ultralytics reads"
            for k, o, rw, rh, w, h in zip(image_of[rows], f["o"], f["rw"], f["rh"], f["w"], f["h"])
        ]
        recorder.add("exif-frame-rotated", objects.loc[idx], msgs)
    notes = []
    if kept_swapped:
        notes.append(f"{len(kept_swapped)} image(s) whose source declares the stored (raw) size but whose boxes match "
                     f"another source in the displayed frame: written as read: {', '.join(map(str, kept_swapped[:10]))}")  # fmt: skip
    declared = _declared(src)
    unknown = [k for k in unknown if k in declared.index and declared.loc[k].notna().all()]
    if unknown:
        notes.append(f"{len(unknown)} image(s) with an EXIF orientation whose declared size cannot tell the stored from "
                     f"the displayed frame: labels written as read (displayed frame assumed): {', '.join(map(str, unknown[:10]))}")  # fmt: skip
    return objects, notes


def _reference_boxes(dataset: Dataset, src: Source, t: pd.DataFrame) -> dict[Any, list[np.ndarray]]:
    """Per oriented image, the boxes of other sources that declare its displayed size."""
    refs: dict[Any, list[np.ndarray]] = {}
    for name, other in dataset.sources.items():
        if name == src.name or not len(other.objects):
            continue
        ft = _frames(dataset, other)
        shown = ft.index[ft["frame"] == "displayed"] if len(ft) else []
        if not len(shown):
            continue
        o = other.objects[other.objects["image"].isin(shown)]
        if "units" in o:
            o = o[(o["units"] == "px").to_numpy()]
        for key, grp in o.groupby("image", sort=False):
            refs.setdefault(key, []).append(grp[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float))
    return refs
