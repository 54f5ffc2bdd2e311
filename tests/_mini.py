"""Shared inputs for the reader, writer and converter tests: the committed fracatlas-mini
fixture (read with :func:`fracatlas_annot.formats.read`), a COCO document holding one RLE
mask, and small in-memory sources for the shape policies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely

from fracatlas_annot.model import Dataset, Source, make_objects

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "fracatlas-mini"

#: One object drawn as two polygons (1600 px² + 2000 px²).
TWO_PARTS = shapely.MultiPolygon([shapely.box(10, 10, 50, 50), shapely.box(100, 100, 150, 140)])


def read_mini(root: Path = MINI) -> Dataset:
    from fracatlas_annot.formats import read

    return read(root)


def label_files(root: Path) -> list[Path]:
    """The label files of a written Ultralytics dataset, sorted."""
    return sorted((root / "labels").rglob("*.txt"))


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


def small_source(geoms, *, boxes=None, image="IMG0000019.jpg", rle=None) -> Source:
    """A COCO-like source ``t`` with one ``fractured`` object per geometry on ``image``."""
    g = np.array(geoms, dtype=object)
    n = len(g)
    if boxes is None:
        b = shapely.bounds(g)
    else:
        b = np.asarray(boxes, dtype=float)
    cols = {"image": [image] * n, "label": ["fractured"] * n, "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3],
            "geometry": g, "file": ["t.json"] * n, "loc": [f"annotations[{i}]" for i in range(n)]}
    if rle is not None:
        cols["rle"] = rle
    return Source(name="t", format="coco", objects=make_objects(cols), labels=["fractured"], label_ids={1: "fractured"}, geometry="polygon")


def object_changes(manifest: dict) -> dict:
    """``manifest`` without the image-level ``jpeg-trimmed`` rows of mini's two JPEGs padded after
    their end marker (tests/convert/test_jpeg_end.py), for tests about what happens to objects."""
    changes = [c for c in manifest["changes"] if c["kind"] != "jpeg-trimmed"]
    counts = {k: v for k, v in manifest["change_counts"].items() if k != "jpeg-trimmed"}
    return {**manifest, "changes": changes, "change_counts": counts}
