"""makesense.ai: a folder of one reader's exports (read) and what makesense imports back (write).

Reading (``makesense-exports.md`` §2-7): every export file directly in the folder (COCO /
VGG JSON, VOC / YOLO zip, rect CSV; recognised by content, see
:func:`~fracatlas_annot.formats.detect.export_files`) becomes one source named by its format.
A YOLO zip has no class list: its classes are named from the same project's COCO export.

Writing (§9):

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
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, UsageError
from ..model import Dataset, Problem, Source
from ..runtime.paths import check_entry_name
from ._write import format_rows, group_lines, stems, yolo_boxes

if TYPE_CHECKING:
    from .registry import WritePlan

__all__ = ["read", "sniff_folder", "label_names", "yolo_lines", "coco_document", "write"]


# --------------------------------------------------------------------------- reading


def sniff_folder(path: Path) -> bool:
    """True when makesense export files lie directly in the folder."""
    from .detect import export_files

    return bool(export_files(path))


def read(path: str | os.PathLike[str], *, names: Sequence[str] | None = None, images: Any = None) -> Dataset:
    """One reader's makesense exports: one source per file, named by format (``coco``,
    ``voc`` ...; a second file of one format is ``coco-2``); images beside them, in their
    ``images/`` sub-folder, or in ``images`` (``--images DIR``)."""
    from .assemble import assemble, read_one
    from .detect import export_files
    from .registry import FORMATS

    folder = Path(path)
    if not folder.is_dir():
        raise InputError(folder, "--format makesense needs a folder of makesense export files")
    sources: dict[str, Source] = {}
    problems: list[Problem] = []
    files: dict[str, str] = {}
    for fmt, f in export_files(folder, problems):
        name = fmt
        k = 2
        while name in sources:
            name = f"{fmt}-{k}"
            k += 1
        source, probs = read_one(FORMATS[fmt].read_source, f, name=name, names=names, base=folder)
        source.name = name
        sources[name] = source
        problems += probs
        files[name] = f.name
    _names_from_coco(sources)
    ds = assemble(folder, sources, problems, fmt="makesense", images=images)
    ds.meta["reader"] = folder.name
    ds.meta["exports"] = files  # not a scalar: stays out of summary()
    return ds


def _names_from_coco(sources: dict[str, Source]) -> None:
    """A makesense YOLO zip has no labels.txt; the same project's COCO export lists every
    label in project order (category id = class index + 1), so name the classes from it."""
    coco = next((s for s in sources.values() if s.format == "coco" and s.labels), None)
    if coco is None:
        return
    for s in sources.values():
        if s.format != "yolo" or s.label_ids or not len(s.objects):
            continue
        ids = {i: name for i, name in enumerate(coco.labels)}
        cls = s.objects["class_id"].to_numpy(dtype=float, na_value=np.nan)
        s.objects["label"] = pd.Series([None if np.isnan(c) else ids.get(int(c)) for c in cls], dtype=object)
        s.label_ids = ids
        s.labels = list(coco.labels)
        s.meta["names_from"] = f"categories of the COCO export {Path(coco.path or '').name}"


# --------------------------------------------------------------------------- writing


def label_names(plan: WritePlan) -> list[str]:
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


def yolo_lines(plan: WritePlan) -> pd.DataFrame:
    """RECT lines (``image``, ``cls``, ``text``) as makesense writes them: clamped, 6 decimals,
    width/height shrunk so the box stays inside [0, 1] (makesense PR #188)."""
    objects = plan.objects
    rows, vals = yolo_boxes(plan, inside=True)
    cls = objects["cls"].to_numpy()[rows]
    texts = format_rows(cls.astype(str), vals, np.full(len(rows), 4))
    return pd.DataFrame({"image": objects["image"].to_numpy(dtype=object)[rows], "cls": cls, "text": np.asarray(texts, dtype=object)})


def coco_document(plan: WritePlan, names: list[str]) -> dict[str, Any]:
    """The POLYGON-tab COCO: polygons only (RLE traced), one list per part, iscrowd 0."""
    objects = plan.objects
    geoms = plan.geometry(record=True)
    segs, area = plan.polygon_parts(geoms, what="makesense")
    n_parts = np.array([len(s) for s in segs])
    multi = n_parts > 1
    if multi.any():
        plan.recorder.add("multipart-split", objects[multi], [f"{k} parts become {k} separate makesense polygons" for k in n_parts[multi]])
    plan.record_crowd("makesense (its COCO importer skips iscrowd 1)")
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


def write(plan: WritePlan, tmp: Path, final: Path) -> dict[str, Any]:
    """Write ``labels_yolo.zip`` and ``labels_coco.json`` into ``tmp``."""
    plan.check_stems()
    clash = [k for k, st in zip(plan.images.index, stems(plan.images.index)) if st == "labels"]
    if clash:
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
        for key, stem in zip(plan.images.index, stems(plan.images.index)):
            zf.writestr(check_entry_name(f"{stem}.txt"), texts.get(key, ""))
    (tmp / "labels_coco.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return {
        "counts": plan.counts(lines),
        "files": ["labels_yolo.zip", "labels_coco.json"],
        "notes": ["unzip labels_yolo.zip and drop all its files (labels.txt too) on makesense's RECT import; drop labels_coco.json on the POLYGON import"],
    }
