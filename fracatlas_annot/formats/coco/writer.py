"""COCO instances JSON writer: every image (negatives too), categories from 1, unique ids.

Polygons are written as the source had them (one list per part, pixel coordinates, no
clamping); RLE masks are kept as RLE; box-only objects get ``segmentation: []``. ``bbox``
and ``area`` are recomputed from what is written (shoelace area of the polygon parts, RLE
pixel area, or box area), so they always agree with the geometry.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .rle import compressed

if TYPE_CHECKING:
    from ..registry import WritePlan

__all__ = ["to_coco", "write"]


def to_coco(plan: WritePlan) -> tuple[dict[str, Any], pd.DataFrame]:
    """The COCO document and one row per written annotation (``image``, ``cls``)."""
    from pycocotools import mask as mask_utils

    images = plan.images
    objects = plan.objects
    geoms = objects["geometry"].to_numpy(dtype=object)
    has_rle = objects["rle"].map(lambda r: isinstance(r, dict)).to_numpy(dtype=bool) if "rle" in objects else np.zeros(len(objects), bool)
    poly_geoms = geoms.copy()
    poly_geoms[has_rle] = None
    segs, poly_area = plan.polygon_parts(poly_geoms, what="COCO")
    image_id = pd.Series(np.arange(1, len(images) + 1), index=images.index)
    iscrowd = pd.to_numeric(objects["iscrowd"], errors="coerce").fillna(0).astype(int).to_numpy() if "iscrowd" in objects else np.zeros(len(objects), int)
    anns: list[dict[str, Any]] = []
    box = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)
    img_ids = image_id.reindex(objects["image"]).to_numpy()
    cls = objects["cls"].to_numpy()
    encoded = {i: compressed(objects["rle"].iat[i]) for i in np.flatnonzero(has_rle).tolist()}
    unusable = [i for i, enc in encoded.items() if isinstance(enc, str)]
    if unusable:
        plan.recorder.add("polygon-dropped", objects.iloc[unusable],
                          [f"RLE segmentation unusable ({encoded[i]}); written as its box" for i in unusable])
    for i in range(len(objects)):
        enc = encoded.get(i)
        if enc is not None and not isinstance(enc, str):
            rle = dict(objects["rle"].iat[i])
            seg: Any = rle if isinstance(rle.get("counts"), list) else {"size": list(rle["size"]), "counts": enc["counts"].decode()}
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
            "description": f"written by fracatlas-annot {plan.version} from source '{plan.source.name}'",
            "version": plan.version,
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


def write(plan: WritePlan, tmp: Path, final: Path) -> dict[str, Any]:
    """Write ``annotations.json`` into ``tmp``."""
    doc, written = to_coco(plan)
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    (tmp / "annotations.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return {"counts": plan.counts(written), "files": ["annotations.json"]}
