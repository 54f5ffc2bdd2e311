"""Hand-built reader sources and the committed reader exports, for the agreement tests."""

from __future__ import annotations

import json

import numpy as np
import shapely

from fracatlas_annot.model import Source, make_objects, make_source_images


def make_source(name, rows, images=None, *, polygons=True, labels=None):
    """rows: (image, x0, y0, x1, y1) boxes or (image, shapely geometry)."""
    imgs, geoms, boxes = [], [], []
    for r in rows:
        imgs.append(r[0])
        if isinstance(r[1], shapely.Geometry):
            geoms.append(r[1])
            boxes.append(shapely.bounds(r[1]))
        else:
            geoms.append(shapely.box(*r[1:5]))
            boxes.append(r[1:5])
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    objects = make_objects(
        {
            "image": imgs,
            "label": labels if labels is not None else ["fractured"] * len(rows),
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "geometry": geoms if polygons else [None] * len(rows),
            "file": [f"{name}.json"] * len(rows),
            "loc": [f"annotations[{i}]" for i in range(len(rows))],
        }
    )
    kw = {}
    if images is not None:
        kw["images"] = make_source_images(images, width=[100] * len(images), height=[100] * len(images))
    return Source(name=name, format="coco" if polygons else "voc", objects=objects, geometry="polygon" if polygons else "box", **kw)


def basic_readers():
    # 1.jpg: A (0,0,10,10) = B -> IoU 1 ; A (20,20,30,30) vs B (22,20,32,30): 80 / 120 = 2/3
    # 2.jpg: A (0,0,10,10) vs B (5,0,15,10): 50 / 150 = 1/3
    # 3.jpg: A only (FN) ; 4.jpg: B only (FP) ; 5.jpg: neither (listed by both)
    images = ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"]
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 20, 20, 30, 30), ("2.jpg", 0, 0, 10, 10), ("3.jpg", 0, 0, 10, 10)], images)
    b = make_source("b", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 22, 20, 32, 30), ("2.jpg", 5, 0, 15, 10), ("4.jpg", 50, 50, 60, 60)], images)
    return a, b


def fixture_reader(fixtures_dir, name):
    """A reader's makesense exports (real bytes) read with the per-format readers."""
    from fracatlas_annot.formats import coco, rect_csv, vgg, voc
    from fracatlas_annot.model import Dataset

    root = fixtures_dir / "readers"
    files = json.loads((root / "manifest.json").read_text())["readers"][name]["files"]
    sources = {}
    for fmt, mod in (("coco", coco), ("vgg", vgg), ("voc", voc), ("csv", rect_csv)):
        src, problems = mod.read(root / name / files[fmt], name=fmt)
        assert problems == []
        sources[fmt] = src
    return Dataset(sources=sources)

