"""Shared inputs for the converter tests: the committed fracatlas-mini fixture (read with
:func:`fracatlas_annot.formats.read`) and a COCO document holding one RLE mask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fracatlas_annot.model import Dataset, Source

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"


def read_mini(root: Path = MINI) -> Dataset:
    from fracatlas_annot.formats import read

    return read(root)


def rle_doc(width: int, height: int, *, key: str = "IMG0000019.jpg", extra: list | None = None) -> dict:
    """A COCO document with one crowd RLE mask (rows 20:60, columns 30:90) on ``key``."""
    from pycocotools import mask as mask_utils

    m = np.zeros((height, width), dtype=np.uint8)
    m[20:60, 30:90] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    ann = {"id": 0, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [30, 20, 60, 40], "area": 2400,
           "segmentation": {"size": [height, width], "counts": rle["counts"].decode()}}
    return {"images": [{"id": 1, "width": width, "height": height, "file_name": key}],
            "annotations": [ann, *(extra or [])], "categories": [{"id": 1, "name": "fractured"}]}


def rle_source(dataset: Dataset, *, extra: list | None = None) -> tuple[Source, dict]:
    """The RLE document for IMG0000019.jpg parsed by the COCO reader, and the document."""
    from fracatlas_annot.formats.coco import parse

    w, h = (int(v) for v in dataset.images.loc["IMG0000019.jpg", ["width", "height"]])
    doc = rle_doc(w, h, extra=extra)
    src, problems = parse(json.dumps(doc).encode(), file="rle.json")
    assert not problems
    return src, doc
