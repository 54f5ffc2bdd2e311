"""COCO instances JSON: every image (negatives too), categories from 1, unique ids.

Polygons are written as the source had them (one list per part, pixel coordinates, no
clamping); RLE masks are kept as RLE; box-only objects get ``segmentation: []``. ``bbox``
and ``area`` are recomputed from what is written (shoelace area of the polygon parts, RLE
pixel area, or box area), so they always agree with the geometry.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .common import object_counts
from .geometry import clean_rings, exterior_rings, ring_starts, signed_areas, subset
from .plan import Plan

__all__ = ["to_coco", "write", "polygon_parts"]


def polygon_parts(plan: Plan, objects: pd.DataFrame, geoms: np.ndarray, *, what: str = "COCO") -> tuple[list[list[list[float]]], np.ndarray]:
    """Per object, the flat ``[x1, y1, ...]`` exterior ring of each part (pixels, unclamped),
    and the summed shoelace area. Holes and degenerate parts are recorded as lost."""
    n = len(objects)
    rings, n_parts, n_holes = exterior_rings(geoms)
    holed = n_holes > 0
    if holed.any():
        plan.recorder.add("hole-dropped", objects[holed], [f"{k} hole(s) filled: {what} polygons have no holes" for k in n_holes[holed]])
    rings, _, valid = clean_rings(rings)
    parts_per = np.bincount(rings.owner, minlength=n)
    valid_per = np.bincount(rings.owner, weights=valid, minlength=n).astype(int)
    bad = parts_per - valid_per
    lost = bad > 0
    if lost.any():
        plan.recorder.add("polygon-dropped", objects[lost], [f"{k} part(s) with fewer than 3 distinct vertices or no area not written" for k in bad[lost]])
    rings = subset(rings, valid)
    area = np.bincount(rings.owner, weights=np.abs(signed_areas(rings)), minlength=n)
    out: list[list[list[float]]] = [[] for _ in range(n)]
    flat = rings.xy.ravel().tolist()
    for o, s, k in zip(rings.owner.tolist(), ring_starts(rings.lengths).tolist(), rings.lengths.tolist()):
        out[o].append(flat[2 * s : 2 * (s + k)])
    return out, area


def to_coco(plan: Plan) -> tuple[dict[str, Any], pd.DataFrame]:
    """The COCO document and one row per written annotation (``image``, ``cls``)."""
    from pycocotools import mask as mask_utils

    images = plan.images
    objects = plan.objects
    geoms = objects["geometry"].to_numpy(dtype=object)
    has_rle = objects["rle"].map(lambda r: isinstance(r, dict)).to_numpy(dtype=bool) if "rle" in objects else np.zeros(len(objects), bool)
    poly_geoms = geoms.copy()
    poly_geoms[has_rle] = None
    segs, poly_area = polygon_parts(plan, objects, poly_geoms)
    image_id = pd.Series(np.arange(1, len(images) + 1), index=images.index)
    iscrowd = pd.to_numeric(objects["iscrowd"], errors="coerce").fillna(0).astype(int).to_numpy() if "iscrowd" in objects else np.zeros(len(objects), int)
    anns: list[dict[str, Any]] = []
    box = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)
    img_ids = image_id.reindex(objects["image"]).to_numpy()
    cls = objects["cls"].to_numpy()
    for i in range(len(objects)):
        if has_rle[i]:
            rle = dict(objects["rle"].iat[i])
            h, w = rle.get("size", [0, 0])
            enc = mask_utils.frPyObjects(rle, h, w) if isinstance(rle.get("counts"), list) else rle
            seg: Any = rle if isinstance(rle.get("counts"), list) else {"size": list(rle["size"]), "counts": rle["counts"].decode() if isinstance(rle["counts"], bytes) else rle["counts"]}
            bbox = [float(v) for v in mask_utils.toBbox(enc)]
            area = float(mask_utils.area(enc))
        elif segs[i]:
            seg = segs[i]
            xs = np.concatenate([p[0::2] for p in seg])
            ys = np.concatenate([p[1::2] for p in seg])
            bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min())]
            area = float(poly_area[i])
        else:
            seg = []
            x0, y0, x1, y1 = box[i]
            bbox = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
            area = float(bbox[2] * bbox[3])
        anns.append(
            {
                "id": i + 1,
                "image_id": int(img_ids[i]),
                "category_id": int(cls[i]) + 1,
                "iscrowd": int(iscrowd[i]),
                "segmentation": seg,
                "bbox": bbox,
                "area": area,
            }
        )
    w = images["width"].to_numpy(dtype=float)
    h = images["height"].to_numpy(dtype=float)
    doc = {
        "info": {
            "description": f"written by fracatlas-annot {__version__} from source '{plan.source.name}'",
            "version": __version__,
            "date_created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
        "licenses": [],
        "images": [
            {"id": int(i), "file_name": str(k), "width": int(ww) if ww == ww else 0, "height": int(hh) if hh == hh else 0}
            for i, k, ww, hh in zip(image_id.to_numpy(), images.index, w, h)
        ],
        "annotations": anns,
        "categories": [{"id": i + 1, "name": n, "supercategory": n} for i, n in enumerate(plan.names)],
    }
    written = pd.DataFrame({"image": objects["image"].to_numpy(dtype=object), "cls": cls})
    return doc, written


def write(plan: Plan, tmp: Path, final: Path) -> dict[str, Any]:
    doc, written = to_coco(plan)
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    (tmp / "annotations.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return {"counts": object_counts(plan, written), "files": ["annotations.json"]}
