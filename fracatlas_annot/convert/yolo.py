"""Ultralytics YOLO detect and segment datasets.

Layout: ``images/{train,val,test}/`` (hard links, copies where linking fails),
``labels/{train,val,test}/<stem>.txt`` (one per image, empty for negatives),
``data.yaml`` (absolute ``path``, split folders, ``names``; no ``download`` key).
Segment lines are ``cls x1 y1 x2 y2 ...`` normalised, clamped and rounded to 6 decimals,
with >= 3 distinct vertices; a segment set never holds a box line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..splits import SPLITS
from .common import check_stems, group_lines, link_images, object_counts, record_crowd, stem_of, write_text_files
from .plan import Plan
from .shapes import clamped_boxes, format_rows, seg_instances, traced_geometry

__all__ = ["build_lines", "write", "data_yaml"]


def build_lines(plan: Plan, task: str) -> pd.DataFrame:
    """The label lines to write: ``image``, ``cls``, ``text`` (one row per instance), in
    source order; repeated lines on an image are removed and recorded."""
    objects = plan.objects
    rec = plan.recorder
    record_crowd(plan, objects, "Ultralytics YOLO")
    if task == "segment":
        geoms = traced_geometry(objects, rec)
        rings, owner = seg_instances(
            objects,
            geoms,
            multipart=plan.options.get("multipart", "bridge"),
            recorder=rec,
            box_fallback=True,  # lossy: refused unless allow_lossy
        )
        cls = objects["cls"].to_numpy()[owner]
        texts = format_rows(cls.astype(str), rings.xy, rings.lengths * 2)
    else:
        geoms = traced_geometry(objects, None)
        boxes, keep = clamped_boxes(objects, geoms, rec)
        owner = np.flatnonzero(keep)
        b = boxes[keep]
        w = objects["w"].to_numpy()[keep]
        h = objects["h"].to_numpy()[keep]
        xywh = np.round(np.stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h, (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h], axis=1), 6)
        ok = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
        if (~ok).any():
            rec.add("object-dropped", objects.iloc[owner[~ok]], "box narrower than 1e-6 of the image; not written")
        owner, xywh = owner[ok], xywh[ok]
        cls = objects["cls"].to_numpy()[owner]
        texts = format_rows(cls.astype(str), xywh, np.full(len(owner), 4))
    lines = pd.DataFrame({"row": owner, "image": objects["image"].to_numpy(dtype=object)[owner], "cls": cls, "text": np.asarray(texts, dtype=object)})
    dup = lines.duplicated(["image", "text"]).to_numpy()
    if dup.any():
        rec.add("duplicate-removed", objects.iloc[lines["row"].to_numpy()[dup]], "same label line as another object on this image; written once")
        lines = lines[~dup]
    return lines.reset_index(drop=True)


def data_yaml(root: Path, names: list[str], splits: list[str]) -> str:
    """data.yaml text: absolute path, train/val(/test) folders, names; val falls back to train."""
    doc: dict[str, Any] = {"path": str(root)}
    doc["train"] = "images/train"
    doc["val"] = "images/val" if "val" in splits else "images/train"
    if "test" in splits:
        doc["test"] = "images/test"
    doc["names"] = {i: n for i, n in enumerate(names)}
    head = "# written by fracatlas-annot convert; see manifest.json\n"
    if "val" not in splits:
        head += "# no val split (--split none): val points at train, for smoke tests only\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def write(plan: Plan, tmp: Path, final: Path, task: str) -> dict[str, Any]:
    """Build the lines, refuse lossy steps, then write the dataset into ``tmp``."""
    check_stems(plan, plan.images.index)
    lines = build_lines(plan, task)
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    texts = group_lines(lines["image"].to_numpy(dtype=object), lines["text"].to_numpy(dtype=object))
    images = plan.images
    split = images["split"].astype(object)
    used = [s for s in SPLITS if (split == s).any()]
    keys = images.index
    root = os.fspath(tmp)
    sep = os.sep
    label_paths = [f"{root}{sep}labels{sep}{s}{sep}{st}.txt" for s, st in zip(split.tolist(), stem_of(keys).tolist())]
    write_text_files(label_paths, [texts.get(k, "") for k in keys.tolist()])
    for s in used:
        (tmp / "images" / s).mkdir(parents=True, exist_ok=True)
    if images["path"].notna().any():
        links = link_images(plan, {k: f"{root}{sep}images{sep}{s}{sep}{k}" for k, s in zip(keys.tolist(), split.tolist())})
    else:
        links = link_images(plan, {}, n_images=len(keys))
    (tmp / "data.yaml").write_text(data_yaml(final, plan.names, used), encoding="utf-8")
    counts = object_counts(plan, lines)
    return {"counts": counts, "images": links, "files": ["data.yaml", "images/", "labels/"]}
