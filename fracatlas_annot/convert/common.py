"""What the plan does for every writer: image links, stem clashes, crowd flags, counts."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..formats._write import stems
from ..imaging.headers import jpeg_end
from ..runtime.atomic import link_or_copy, write_bytes_atomic
from ..splits import SPLITS
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

    A JPEG that does not end with its end-of-image marker is looked at whole
    (:func:`~fracatlas_annot.imaging.headers.jpeg_end`): one padded after the marker
    (FracAtlas' 28 files of 16,384 bytes) is written cut at the marker, the same pixels,
    so that Ultralytics, which calls any such JPEG corrupt and re-encodes it, leaves it alone
    (``jpeg-trimmed``); one the decoder cannot finish is linked as it is and recorded
    (``image-truncated``: Ultralytics skips it, with its labels). Without any image file in
    the input, one note replaces a row per image (``n_images``).
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
    trimmed: dict[str, int] = {}
    truncated: list[str] = []
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
            cut = _jpeg_cut(src)
            if cut is None:
                truncated.append(key)
            elif cut:
                with open(src, "rb") as f:
                    data = f.read()
                write_bytes_atomic(dst, data[: len(data) - cut])
                trimmed[key] = cut
                copied += 1
                continue
            if link_or_copy(src, dst):
                linked += 1
            else:
                copied += 1
    if trimmed:
        keys = np.array(list(trimmed), dtype=object)
        plan.recorder.add("jpeg-trimmed", None, [f"{n:,} stray byte(s) after the end-of-image marker not copied (the same pixels)"
                                                 for n in trimmed.values()], image=keys)
    if truncated:
        plan.recorder.add("image-truncated", None, "the decoder cannot finish this JPEG (no end-of-image marker): "
                          "linked as it is; Ultralytics skips it and its labels", image=np.array(truncated, dtype=object))
        plan.notes.append(f"{len(truncated)} JPEG(s) cannot be decoded to the end (FA502): written as they are, "
                          "Ultralytics will skip them; see image-truncated in manifest.json")
    if missing:
        plan.recorder.add("image-missing", None, "no image file: the image is not in the output", image=np.array(missing, dtype=object))
    return {"linked": linked, "copied": copied, "missing": len(missing)}


def _jpeg_cut(path: str) -> int | None:
    """Bytes after a JPEG's end-of-image marker (0 for a file ending with it or not a JPEG),
    or None when there is no marker (truncated). Only the last 2 bytes are read when they are
    the marker, as they are for nearly every file."""
    if not path.lower().endswith((".jpg", ".jpeg", ".jpe", ".jfif")):
        return 0
    with open(path, "rb") as f:
        head = f.read(2)
        if head != b"\xff\xd8":  # not a JPEG whatever its name says: the image rules report it
            return 0
        f.seek(0, os.SEEK_END)
        if f.tell() >= 4:
            f.seek(-2, os.SEEK_END)
            if f.read(2) == b"\xff\xd9":
                return 0
        f.seek(0)
        complete, trailing = jpeg_end(f.read())
    return trailing if complete else None


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
