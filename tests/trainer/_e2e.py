"""Shared pieces of the end-to-end training tests and of ``measure_margins.py``.

The learnable synthetic archive (fixtures/learnable.py) is read with our readers and
written with our ``convert``: ``yolo-detect`` from the VOC boxes, ``yolo-seg`` from the COCO
polygons. The broken control is the same archive with x and y swapped in the source's
objects (boxes, declared COCO boxes and polygons) before the same ``convert``: what a
converter that mixes up the two axes writes. The marks lie off the image diagonal, so
every swapped box lands on background.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import shapely

from fixtures.learnable import generate
from fracatlas_annot.convert import convert
from fracatlas_annot.formats import read
from fracatlas_annot.model import Dataset

#: Archive size used by the tests: 40 images of 96 x 96 px (24 train / 10 val / 6 test).
ARCHIVE = {"n_images": 40, "size": 96, "seed": 0}

#: yolov8n from scratch at 64 px. No warm-up (100 warm-up iterations would be the whole
#: run), one optimizer step per batch (nbs = batch), AdamW, validation only at the end.
SETTINGS: dict[str, Any] = {
    "model": "yolov8n", "epochs": 40, "imgsz": 64, "batch": 4, "nbs": 4, "optimizer": "AdamW", "lr0": 0.002,
    "warmup_epochs": 0, "val": False, "device": "cpu", "seed": 0,
}

SOURCE = {"detect": "voc", "segment": "coco"}
TARGET = {"detect": "yolo-detect", "segment": "yolo-seg"}


def read_archive(root: Path) -> Dataset:
    """The archive read with our reader (FracAtlas layout detected)."""
    dataset = read(root)
    assert dataset.format == "fracatlas" and dataset.problems.empty, dataset.problems
    return dataset


def swap_xy(dataset: Dataset, source: str) -> Dataset:
    """A copy of ``dataset`` whose ``source`` has x and y swapped everywhere."""
    src = dataset.sources[source]
    o = src.objects.copy()
    o[["x0", "y0", "x1", "y1"]] = o[["y0", "x0", "y1", "x1"]].to_numpy()
    if {"bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"} <= set(o.columns):
        o[["bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"]] = o[["bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1"]].to_numpy()
    g = o["geometry"].to_numpy()
    has = ~shapely.is_missing(g)
    if has.any():
        g = g.copy()
        g[has] = shapely.transform(g[has], lambda c: c[:, ::-1])
        o["geometry"] = g
    return dataclasses.replace(dataset, sources={**dataset.sources, source: dataclasses.replace(src, objects=o)})


def write_sets(root: Path, work: Path, task: str, variant: str) -> Path:
    """Convert the archive at ``root`` for ``task`` (``variant`` "ok" or "swap"); return data.yaml."""
    dataset = read_archive(root)
    if variant == "swap":
        dataset = swap_xy(dataset, SOURCE[task])
    out = work / f"{TARGET[task]}-{variant}"
    convert(dataset, to=TARGET[task], out=out, source=SOURCE[task], split="official", progress=False)
    return out / "data.yaml"


def make_archive(work: Path, **kw: Any) -> Path:
    root = work / "archive"
    generate(root, **{**ARCHIVE, **kw})
    return root
