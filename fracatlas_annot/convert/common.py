"""What the plan does for every writer: image links, stem clashes, crowd flags, counts."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..formats._write import stems
from ..splits import SPLITS
from ..runtime.atomic import link_or_copy
from ..runtime.progress import task

if TYPE_CHECKING:
    from .plan import Plan

__all__ = ["link_images", "object_counts", "check_stems", "record_crowd"]


def check_stems(plan: Plan, keys: pd.Index) -> None:
    """UsageError when two image names share a stem (they would share one label file)."""
    from ..errors import UsageError

    per_key = pd.Series(stems(keys), index=keys)
    dup = per_key[per_key.duplicated(keep=False)]
    if len(dup):
        pairs = ", ".join(sorted(map(str, dup.index))[:10])
        raise UsageError(f"image names share a stem and would share one label file: {pairs}")


def record_crowd(plan: Plan, objects: pd.DataFrame, target: str) -> None:
    """Record each crowd annotation (COCO ``iscrowd`` 1) as ``iscrowd-cleared``: ``target`` has
    no crowd flag, so the region is written as an ordinary object (lossy; peer-tools §2 #2)."""
    if "iscrowd" not in objects:
        return
    crowd = pd.to_numeric(objects["iscrowd"], errors="coerce").fillna(0).to_numpy() > 0
    if crowd.any():
        plan.recorder.add("iscrowd-cleared", objects[crowd], f"iscrowd 1 written as an ordinary object: {target} has no crowd flag")


def link_images(plan: Plan, dests: dict[str, Any], *, n_images: int | None = None) -> dict[str, int]:
    """Hard-link (or copy) each image key's file to ``dests[key]``; record missing files.

    Without any image file in the input, one note replaces a row per image (``n_images``).
    """
    paths = plan.images["path"]
    if paths.isna().all():
        n = len(dests) if n_images is None else n_images
        if n:
            plan.notes.append(f"no image files in the input: labels written for {n} images, images/ left empty")
        return {"linked": 0, "copied": 0, "missing": n}
    path_of = paths.to_dict()
    linked = copied = 0
    missing: list[str] = []
    made: set[str] = set()
    with task("linking images", total=len(dests), enabled=plan.progress) as advance:
        for key, dst in dests.items():
            advance(1)
            src = path_of.get(key)
            if src is None or not isinstance(src, (str, os.PathLike)) or not os.path.isfile(src):
                missing.append(key)
                continue
            parent = os.path.dirname(dst)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            if link_or_copy(src, dst):
                linked += 1
            else:
                copied += 1
    if missing:
        plan.recorder.add("image-missing", None, "no image file: the image is not in the output", image=np.array(missing, dtype=object))
    return {"linked": linked, "copied": copied, "missing": len(missing)}


def object_counts(plan: Plan, written: pd.DataFrame) -> dict[str, Any]:
    """Counts in (source, per label) and out (per split, per class) for the manifest.

    ``written``: one row per written instance with ``image`` and ``cls``.
    """
    src = plan.objects_in if plan.objects_in is not None else plan.source.objects
    labels_in = src["label"].astype(object).where(src["label"].notna(), "<none>")
    split_of = plan.images["split"]
    out: dict[str, Any] = {}
    w = written.assign(split=split_of.reindex(written["image"]).to_numpy(), name=np.asarray(plan.names, dtype=object)[written["cls"].to_numpy(dtype=int)] if len(written) else [])
    img_split = plan.images.assign(positive=plan.images.index.isin(written["image"]))
    for s in SPLITS:
        part = img_split[img_split["split"] == s]
        if not len(part):
            continue
        ws = w[w["split"] == s]
        out[s] = {
            "images": int(len(part)),
            "negatives": int((~part["positive"]).sum()),
            "objects": int(len(ws)),
            "per_class": {str(k): int(v) for k, v in ws["name"].value_counts().sort_index().items()},
        }
    return {
        "images_in": int(len(plan.images)),
        "objects_in": int(len(src)),
        "objects_in_per_label": {str(k): int(v) for k, v in labels_in.value_counts().sort_index().items()},
        "images_out": int(sum(v["images"] for v in out.values())),
        "objects_out": int(len(written)),
        "per_split": out,
    }
