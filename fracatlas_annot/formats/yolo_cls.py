"""Ultralytics classification folders: ``{train,val,test}/{fractured,non_fractured}/``.

Written: an image is ``fractured`` when the converted source has at least one object on it,
as in every other target (:mod:`fracatlas_annot.convert.picks`; an image whose dataset.csv flag
disagrees is listed under ``decisions`` in manifest.json). Images are hard-linked (copied where
linking fails).

Read back: every image in ``<split>/<class>/``, with its ``split`` and its ``class`` (the
folder name); the dataset's labels are the class folders in Ultralytics' (sorted) order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import Dataset
from ..runtime.paths import output_path
from ._files import scan_files
from .fracatlas import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from .registry import WritePlan

__all__ = ["read", "sniff_folder", "write", "CLASS_NAMES"]

CLASS_NAMES = ("fractured", "non_fractured")
#: Split folder names Ultralytics' classification loader knows.
SPLIT_FOLDERS = {"train": "train", "val": "val", "valid": "val", "test": "test"}


# --------------------------------------------------------------------------- reading


def _images(path: Path) -> list[tuple[Path, str, str]]:
    """``(image path, split, class)`` for each image in ``<split>/<class>/``, sorted; empty
    when ``path`` is not laid out that way (an image or a file beside the class folders)."""
    out: list[tuple[Path, str, str]] = []
    for split_dir in sorted(d for d in path.iterdir() if d.is_dir() and d.name in SPLIT_FOLDERS):
        entries = sorted(split_dir.iterdir())
        if any(e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES) for e in entries):
            return []
        for cls_dir in (e for e in entries if e.is_dir()):
            names = scan_files(cls_dir, IMAGE_SUFFIXES)
            out += [(cls_dir / n, SPLIT_FOLDERS[split_dir.name], cls_dir.name) for n in names]
    return out


def sniff_folder(path: Path) -> bool:
    """True when images lie in ``<split>/<class>/`` folders (what ``convert --to yolo-cls`` writes)."""
    return bool(_images(path))


def read(path: str | os.PathLike[str], *, names: Any = None) -> Dataset:
    """Read a classification tree: images with their ``split`` and ``class``; no source."""
    from .assemble import assemble

    folder = Path(path)
    found = _images(folder) if folder.is_dir() else []
    if not found:
        raise InputError(folder, "--format yolo-cls needs <split>/<class>/ folders of images (train/, val/, test/)")
    ds = assemble(folder, {}, [], fmt="yolo-cls", images_from=[p for p, _, _ in found])
    first: dict[str, tuple[str, str]] = {}
    for p, split, cls in found:
        first.setdefault(p.name, (split, cls))
    ds.images["split"] = pd.Series([first[k][0] for k in ds.images.index], index=ds.images.index, dtype=object)
    ds.images["class"] = pd.Series([first[k][1] for k in ds.images.index], index=ds.images.index, dtype=object)
    ds.labels = sorted({cls for _, _, cls in found})
    return ds


# --------------------------------------------------------------------------- writing


def write(plan: WritePlan, tmp: Path, final: Path) -> dict[str, Any]:
    """Link every image into ``tmp/<split>/<class>/``."""
    # image-level task: object-level changes of the plan (unknown labels ...) do not apply
    plan.recorder.keep_kinds({"split-moved"})
    basis = f"has objects in source '{plan.source.name}'"  # convert.picks: the same rule for every target
    # Ultralytics numbers class folders in sorted order
    plan.class_map = [{"class": i, "name": n, "source_id": None, "source_format": f"image-level ({basis})"} for i, n in enumerate(CLASS_NAMES)]
    images = plan.images
    positive = images["positive"].to_numpy(dtype=bool)
    cls = np.where(positive, CLASS_NAMES[0], CLASS_NAMES[1])
    dests = {k: output_path(tmp, str(s), c, k) for k, s, c in zip(images.index, images["split"], cls)}
    links = plan.link_images(dests)
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
