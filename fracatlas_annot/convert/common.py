"""Helpers shared by writers: image links, per-image text files, counts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..splits import SPLITS
from .atomic import link_or_copy
from .plan import Plan

__all__ = ["link_images", "write_text_files", "object_counts", "stem_of"]


def stem_of(keys: pd.Index | np.ndarray) -> np.ndarray:
    """File name without its last extension (``IMG1.jpg`` -> ``IMG1``), as makesense and Ultralytics do."""
    return np.array([os.path.splitext(str(k))[0] for k in keys], dtype=object)


def check_stems(plan: Plan, keys: pd.Index) -> None:
    from ..errors import UsageError

    stems = pd.Series(stem_of(keys), index=keys)
    dup = stems[stems.duplicated(keep=False)]
    if len(dup):
        pairs = ", ".join(sorted(map(str, dup.index))[:10])
        raise UsageError(f"image names share a stem and would share one label file: {pairs}")


def link_images(plan: Plan, dests: dict[str, Path], *, progress: Any = None) -> dict[str, int]:
    """Hard-link (or copy) each image key's file to ``dests[key]``; record missing files."""
    paths = plan.images["path"]
    linked = copied = 0
    missing: list[str] = []
    made: set[Path] = set()
    for key, dst in dests.items():
        src = paths.get(key)
        if src is None or not isinstance(src, (str, os.PathLike)) or not os.path.isfile(src):
            missing.append(key)
            continue
        if dst.parent not in made:
            dst.parent.mkdir(parents=True, exist_ok=True)
            made.add(dst.parent)
        if link_or_copy(src, dst):
            linked += 1
        else:
            copied += 1
        if progress:
            progress(1)
    if missing:
        plan.recorder.add("image-missing", None, "no image file: the image is not in the output", image=np.array(missing, dtype=object))
    return {"linked": linked, "copied": copied, "missing": len(missing)}


def write_text_files(folder_of: dict[str, Path], names: dict[str, str], texts: dict[str, str]) -> int:
    """Write one text file per image key (empty for keys without text); returns files written."""
    made: set[Path] = set()
    n = 0
    for key, folder in folder_of.items():
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        with open(folder / names[key], "w", encoding="utf-8", newline="\n") as f:
            f.write(texts.get(key, ""))
        n += 1
    return n


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
