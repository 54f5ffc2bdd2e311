"""What makesense.ai can import back (``makesense-exports.md`` §9).

* ``labels_yolo.zip`` (RECT tab): flat zip (STORE) of ``<stem>.txt`` per image plus the
  ``labels.txt`` its YOLO importer demands. Lines are exactly ``class cx cy w h`` with
  single spaces, LF, values in [0, 1] printed with 6 decimals (``toFixed(6)``), class in
  range; label names have no whitespace and are unique (the importer deletes whitespace:
  a renamed label is recorded as lossy).
* ``labels_coco.json`` (POLYGON tab): keys ``info``, ``images``, ``annotations``,
  ``categories``; one flat polygon list per part (makesense makes each part its own
  polygon: recorded as ``multipart-split``), never RLE (traced, recorded), ``iscrowd`` 0
  (makesense skips crowd annotations), every ``category_id`` in ``categories``, ``bbox``
  on every annotation (the RECT tab reads it).

Unzip ``labels_yolo.zip`` and drop all its files (with labels.txt) on the RECT import, or
drop ``labels_coco.json`` on the POLYGON import.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .coco import polygon_parts
from .common import check_stems, group_lines, object_counts, record_crowd, stem_of
from .plan import Plan
from .shapes import clamped_boxes, format_rows, traced_geometry

__all__ = ["label_names", "yolo_lines", "coco_document", "write"]


def label_names(plan: Plan) -> list[str]:
    """Names makesense keeps as they are: no whitespace, non-empty, unique (changes recorded)."""
    out: list[str] = []
    for i, n in enumerate(plan.names):
        new = re.sub(r"\s+", "_", str(n).strip()) or f"label_{i}"
        base, k = new, 1
        while new in out:
            k += 1
            new = f"{base}_{k}"
        if new != n:
            used = plan.objects[plan.objects["cls"] == i]
            msg = f"label {n!r} renamed {new!r} (makesense's labels.txt importer deletes whitespace and needs unique names)"
            if len(used):
                plan.recorder.add("label-renamed", used, msg)
            else:
                plan.notes.append(msg)
        out.append(new)
    return out


def yolo_lines(plan: Plan) -> pd.DataFrame:
    """RECT lines (``image``, ``cls``, ``text``) as makesense writes them: clamped, 6 decimals,
    width/height shrunk so the box stays inside [0, 1] (makesense PR #188)."""
    objects = plan.objects
    geoms = traced_geometry(objects, None)
    boxes, keep = clamped_boxes(objects, geoms, plan.recorder)
    rows = np.flatnonzero(keep)
    b = boxes[keep]
    w = objects["w"].to_numpy()[keep]
    h = objects["h"].to_numpy()[keep]
    cx = np.round((b[:, 0] + b[:, 2]) / 2 / w, 6)
    cy = np.round((b[:, 1] + b[:, 3]) / 2 / h, 6)
    bw = np.round((b[:, 2] - b[:, 0]) / w, 6)
    bh = np.round((b[:, 3] - b[:, 1]) / h, 6)
    bw = np.minimum(bw, np.round(2 * np.minimum(cx, 1 - cx), 6))
    bh = np.minimum(bh, np.round(2 * np.minimum(cy, 1 - cy), 6))
    vals = np.clip(np.stack([cx, cy, bw, bh], axis=1), 0.0, 1.0)
    ok = (vals[:, 2] > 0) & (vals[:, 3] > 0)
    if (~ok).any():
        plan.recorder.add("object-dropped", objects.iloc[rows[~ok]], "box narrower than 1e-6 of the image; not written")
    rows, vals = rows[ok], vals[ok]
    cls = objects["cls"].to_numpy()[rows]
    texts = format_rows(cls.astype(str), vals, np.full(len(rows), 4))
    return pd.DataFrame({"image": objects["image"].to_numpy(dtype=object)[rows], "cls": cls, "text": np.asarray(texts, dtype=object)})


def coco_document(plan: Plan, names: list[str]) -> dict[str, Any]:
    """The POLYGON-tab COCO: polygons only (RLE traced), one list per part, iscrowd 0."""
    objects = plan.objects
    geoms = traced_geometry(objects, plan.recorder)
    segs, area = polygon_parts(plan, objects, geoms, what="makesense")
    n_parts = np.array([len(s) for s in segs])
    multi = n_parts > 1
    if multi.any():
        plan.recorder.add("multipart-split", objects[multi], [f"{k} parts become {k} separate makesense polygons" for k in n_parts[multi]])
    record_crowd(plan, objects, "makesense (its COCO importer skips iscrowd 1)")
    boxes = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float).copy()
    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if has.any():
        boxes[has] = shapely.bounds(geoms[has])
    image_id = pd.Series(np.arange(1, len(plan.images) + 1), index=plan.images.index)
    img_ids = image_id.reindex(objects["image"]).to_numpy()
    cls = objects["cls"].to_numpy()
    anns = []
    for i in range(len(objects)):
        x0, y0, x1, y1 = boxes[i]
        anns.append(
            {
                "id": i + 1,
                "iscrowd": 0,
                "image_id": int(img_ids[i]),
                "category_id": int(cls[i]) + 1,
                "segmentation": segs[i],
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "area": float(area[i]) if segs[i] else float((x1 - x0) * (y1 - y0)),
            }
        )
    w = plan.images["width"].to_numpy(dtype=float)
    h = plan.images["height"].to_numpy(dtype=float)
    return {
        "info": {"description": "fracatlas-annot export for makesense.ai"},
        "images": [
            {"id": int(i), "width": int(ww) if ww == ww else 0, "height": int(hh) if hh == hh else 0, "file_name": str(k)}
            for i, k, ww, hh in zip(image_id.to_numpy(), plan.images.index, w, h)
        ],
        "annotations": anns,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)],
    }


def write(plan: Plan, tmp: Path, final: Path) -> dict[str, Any]:
    check_stems(plan, plan.images.index)
    clash = [k for k, st in zip(plan.images.index, stem_of(plan.images.index)) if st == "labels"]
    if clash:
        from ..errors import UsageError

        msg = (f"image {clash[0]!r} would write labels.txt, the file makesense's YOLO importer reads as the class "
               "list; rename the image (makesense matches labels to images by file name)")
        raise UsageError(msg)
    names = label_names(plan)
    lines = yolo_lines(plan)
    doc = coco_document(plan, names)
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    texts = {k: v[:-1] for k, v in group_lines(lines["image"].to_numpy(dtype=object), lines["text"].to_numpy(dtype=object)).items()}
    with zipfile.ZipFile(tmp / "labels_yolo.zip", "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("labels.txt", "\n".join(names))
        for key, stem in zip(plan.images.index, stem_of(plan.images.index)):
            zf.writestr(f"{stem}.txt", texts.get(key, ""))
    (tmp / "labels_coco.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return {
        "counts": object_counts(plan, lines),
        "files": ["labels_yolo.zip", "labels_coco.json"],
        "notes": ["unzip labels_yolo.zip and drop all its files (labels.txt too) on makesense's RECT import; drop labels_coco.json on the POLYGON import"],
    }
