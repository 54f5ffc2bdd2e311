"""Ultralytics classification folders: ``{train,val,test}/{fractured,non_fractured}/``.

An image is ``fractured`` when dataset.csv says so, or, without dataset.csv, when the
source has at least one object on it. Images are hard-linked (copied where linking fails).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .common import link_images
from .plan import Plan

__all__ = ["write", "CLASS_NAMES"]

CLASS_NAMES = ("fractured", "non_fractured")


def write(plan: Plan, tmp: Path, final: Path) -> dict[str, Any]:
    # image-level task: object-level changes of the plan (unknown labels ...) do not apply
    plan.recorder.keep_kinds({"split-moved"})
    basis = "dataset.csv fractured" if "fractured" in plan.dataset.images.columns else f"has objects in source '{plan.source.name}'"
    # Ultralytics numbers class folders in sorted order
    plan.class_map = [{"class": i, "name": n, "source_id": None, "source_format": f"image-level ({basis})"} for i, n in enumerate(CLASS_NAMES)]
    images = plan.images
    positive = images["positive"].to_numpy(dtype=bool)
    cls = np.where(positive, CLASS_NAMES[0], CLASS_NAMES[1])
    dests = {k: tmp / str(s) / c / str(k) for k, s, c in zip(images.index, images["split"], cls)}
    links = link_images(plan, dests)
    # Every split gets both class folders, even an empty one: Ultralytics' ImageFolder numbers
    # classes from the folders it finds, so a split missing one would renumber the classes.
    for split in images["split"].dropna().unique():
        for name in CLASS_NAMES:
            (tmp / str(split) / name).mkdir(parents=True, exist_ok=True)
    present = pd.Series([d.exists() for d in dests.values()], index=images.index, dtype=bool)
    frame = pd.DataFrame({"split": images["split"].to_numpy(), "cls": cls, "present": present.to_numpy()})
    per_split = {
        str(s): {str(c): int(n) for c, n in g[g["present"]]["cls"].value_counts().sort_index().items()}
        for s, g in frame.groupby("split", sort=False)
    }
    counts = {"images_in": int(len(images)), "images_out": int(present.sum()), "per_split": per_split}
    return {"counts": counts, "images": links, "files": sorted({f"{s}/" for s in images["split"].dropna()})}
