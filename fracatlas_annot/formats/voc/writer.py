"""Pascal VOC writer: one XML per image (negatives too) under ``Annotations/``.

Boxes are clamped to the EXIF-corrected image and rounded to integers (0-based pixels,
round half up, as makesense writes them); ``difficult`` and ``truncated`` are integers
(``Unspecified`` becomes 0); names are escaped by lxml.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from lxml import etree

from ...imaging.headers import open_image
from ...runtime.paths import output_path
from .._write import stems

if TYPE_CHECKING:
    from ..registry import WritePlan

__all__ = ["build", "write"]


def _flag(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=int)
    num = pd.to_numeric(values, errors="coerce").fillna(0).to_numpy()
    return (num > 0).astype(int)


def _depth(path: Any) -> int:
    if not isinstance(path, str) or not os.path.isfile(path):
        return 3
    try:
        with open_image(path) as im:
            return len(im.getbands())
    except OSError:
        return 3


def build(plan: WritePlan) -> tuple[dict[str, bytes], pd.DataFrame]:
    """XML bytes per image key, and one row per written object."""
    objects = plan.objects
    plan.record_crowd("Pascal VOC")
    geoms = plan.geometry(record=False)
    boxes, keep = plan.boxes(geoms)
    ib = np.floor(boxes + 0.5).astype(np.int64)
    flat = keep & (ib[:, 2] > ib[:, 0]) & (ib[:, 3] > ib[:, 1])
    lost = keep & ~flat
    if lost.any():
        plan.recorder.add("object-dropped", objects[lost], "box thinner than one pixel after rounding to integers; not written")
    keep = flat
    difficult = _flag(objects.get("difficult"), len(objects))
    truncated = _flag(objects.get("truncated"), len(objects))
    per_image: dict[Any, list[int]] = {}
    for i in np.flatnonzero(keep).tolist():
        per_image.setdefault(objects["image"].iat[i], []).append(i)
    out: dict[str, bytes] = {}
    names = plan.names
    cls = objects["cls"].to_numpy()
    for key, row in plan.images.iterrows():
        root = etree.Element("annotation")
        etree.SubElement(root, "folder").text = "images"
        etree.SubElement(root, "filename").text = str(key)
        etree.SubElement(root, "path").text = str(row["path"]) if isinstance(row["path"], str) else str(key)
        src = etree.SubElement(root, "source")
        etree.SubElement(src, "database").text = "fracatlas-annot"
        size = etree.SubElement(root, "size")
        w, h = row["width"], row["height"]
        etree.SubElement(size, "width").text = str(int(w)) if w == w else "0"
        etree.SubElement(size, "height").text = str(int(h)) if h == h else "0"
        etree.SubElement(size, "depth").text = str(_depth(row["path"]))
        etree.SubElement(root, "segmented").text = "0"
        for i in per_image.get(key, []):
            obj = etree.SubElement(root, "object")
            etree.SubElement(obj, "name").text = names[int(cls[i])]
            etree.SubElement(obj, "pose").text = "Unspecified"
            etree.SubElement(obj, "truncated").text = str(int(truncated[i]))
            etree.SubElement(obj, "difficult").text = str(int(difficult[i]))
            bb = etree.SubElement(obj, "bndbox")
            for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), ib[i]):
                etree.SubElement(bb, tag).text = str(int(v))
        out[key] = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8")
    written = pd.DataFrame({"image": objects["image"].to_numpy(dtype=object)[keep], "cls": cls[keep]})
    return out, written


def write(plan: WritePlan, tmp: Path, final: Path) -> dict[str, Any]:
    """Write ``Annotations/<stem>.xml`` for every image into ``tmp``."""
    plan.check_stems()
    docs, written = build(plan)
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    folder = tmp / "Annotations"
    folder.mkdir()
    for key, stem in zip(plan.images.index, stems(plan.images.index)):
        output_path(folder, f"{stem}.xml").write_bytes(docs[key])
    return {"counts": plan.counts(written), "files": ["Annotations/"]}
