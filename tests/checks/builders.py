"""In-memory datasets for rule tests: a few images, a COCO-like polygon source and box
sources, built with the model's own helpers (no files)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from fracatlas_annot.checks import load_all
from fracatlas_annot.checks.registry import RULES, CheckContext, normalize_result
from fracatlas_annot.model import (
    Dataset,
    Problem,
    Source,
    empty_objects,
    make_objects,
    make_source_images,
    polygons_from_flat,
    problems_frame,
)
from fracatlas_annot.validate import IMAGING_FACTS

load_all()


def images_table(spec: dict[str, dict[str, Any]], *, csv: bool = True) -> pd.DataFrame:
    """spec: key -> {width, height, [raw_width, raw_height, orientation, folder, fractured, fracture_count, path, split]}."""
    rows = []
    for s in spec.values():
        w, h = s.get("width", 373), s.get("height", 454)
        o = s.get("orientation")
        rw, rh = (h, w) if o in (5, 6, 7, 8) else (w, h)
        row = {
            "path": s.get("path"),
            "folder": s.get("folder", "Fractured" if s.get("fractured", 0) else "Non_fractured"),
            "width": w,
            "height": h,
            "raw_width": s.get("raw_width", rw),
            "raw_height": s.get("raw_height", rh),
            "orientation": o,
            "file_size": s.get("file_size", 1000),
            "header_error": s.get("header_error"),
            "split": s.get("split"),
            "in_csv": s.get("in_csv", True),
        }
        if csv:
            fr = s.get("fractured", 0)
            row["fractured"] = fr
            row["fracture_count"] = s.get("fracture_count", fr)
        rows.append(row)
    if not rows:
        from fracatlas_annot.model import empty_images

        return empty_images()
    df = pd.DataFrame(rows, index=pd.Index(list(spec), dtype=object, name="image"))
    for c in ("width", "height", "raw_width", "raw_height", "orientation", "file_size"):
        df[c] = pd.array(df[c].tolist(), dtype="Int64")
    for c in ("path", "folder", "header_error", "split"):
        df[c] = df[c].astype(object)
    df["in_csv"] = df["in_csv"].astype(bool)
    return df


def coco_source(
    polys: Sequence[tuple[str, Sequence[float]]],
    *,
    images: dict[str, tuple[int, int]] | None = None,
    name: str = "coco",
    labels: Sequence[str] = ("fractured",),
    category: Sequence[int | None] | None = None,
    extra: dict[str, Any] | None = None,
) -> Source:
    """polys: (image, flat [x, y, ...]) pairs; bbox/area default to the polygon's own."""
    geom = polygons_from_flat([p for _, p in polys])
    b = shapely.bounds(geom) if len(geom) else np.empty((0, 4))
    cats = list(category) if category is not None else [1] * len(polys)
    label_ids = {i + 1: l for i, l in enumerate(labels)}
    cols: dict[str, Any] = {
        "image": [k for k, _ in polys],
        "label": [label_ids.get(c) if c is not None else None for c in cats],
        "class_id": cats,
        "x0": b[:, 0],
        "y0": b[:, 1],
        "x1": b[:, 2],
        "y1": b[:, 3],
        "geometry": geom,
        "file": ["coco.json"] * len(polys),
        "loc": [f"annotations[{i}]" for i in range(len(polys))],
        "ann_id": list(range(len(polys))),
        "iscrowd": [0] * len(polys),
        "bbox_x0": b[:, 0],
        "bbox_y0": b[:, 1],
        "bbox_x1": b[:, 2],
        "bbox_y1": b[:, 3],
        "area": shapely.area(geom) if len(geom) else np.empty(0),
        "n_parts": [1] * len(polys),
        "n_vertices": [len(set(zip(p[::2], p[1::2]))) for _, p in polys],
    }
    cols.update(extra or {})
    objects = make_objects(cols) if len(polys) else empty_objects()
    keys = list(images) if images is not None else sorted({k for k, _ in polys})
    imgs = make_source_images(
        keys,
        width=[images[k][0] if images else 373 for k in keys],
        height=[images[k][1] if images else 454 for k in keys],
        file=["coco.json"] * len(keys),
        loc=[f"images[{i}]" for i in range(len(keys))],
    )
    return Source(
        name=name,
        format="coco",
        objects=objects,
        images=imgs,
        labels=list(labels),
        label_ids=label_ids,
        geometry="polygon",
        path="coco.json",
    )


def box_source(
    boxes: Sequence[tuple[str, Sequence[float]]],
    *,
    name: str = "voc",
    fmt: str | None = None,
    images: dict[str, tuple[int | None, int | None]] | None = None,
    labels: Sequence[str | None] | None = None,
    class_ids: Sequence[int | None] | None = None,
    label_list: Sequence[str] = ("fractured",),
    units: str = "px",
) -> Source:
    """boxes: (image, (x0, y0, x1, y1)) pairs."""
    fmt = fmt or name
    arr = np.asarray([b for _, b in boxes], dtype=float).reshape(-1, 4)
    n = len(boxes)
    if labels is None:
        labels = (
            [label_list[c] if c is not None and 0 <= c < len(label_list) else None for c in class_ids]
            if class_ids is not None
            else ["fractured"] * n
        )
    ext = {"voc": "xml", "yolo": "txt", "csv": "csv"}.get(fmt, "txt")
    cols = {
        "image": [k for k, _ in boxes],
        "label": list(labels),
        "class_id": list(class_ids) if class_ids is not None else [0 if fmt == "yolo" else None] * n,
        "x0": arr[:, 0],
        "y0": arr[:, 1],
        "x1": arr[:, 2],
        "y1": arr[:, 3],
        "units": [units] * n,
        "file": [f"{k.rsplit('.', 1)[0]}.{ext}" for k, _ in boxes],
        "loc": [f"object[{i + 1}]" for i in range(n)],
        "line": [i + 1 for i in range(n)] if fmt in ("yolo", "csv") else [None] * n,
    }
    objects = make_objects(cols) if n else empty_objects()
    keys = list(images) if images is not None else sorted({k for k, _ in boxes})
    imgs = make_source_images(
        keys,
        width=[images[k][0] if images else None for k in keys],
        height=[images[k][1] if images else None for k in keys],
        file=[f"{k.rsplit('.', 1)[0]}.{ext}" for k in keys],
        loc=[None] * len(keys),
    )
    label_ids = dict(enumerate(label_list)) if fmt == "yolo" else {}
    return Source(
        name=name,
        format=fmt,
        objects=objects,
        images=imgs,
        labels=list(label_list),
        label_ids=label_ids,
        geometry="box",
        path=name,
    )


def dataset(
    images: dict[str, dict[str, Any]] | None = None,
    sources: Sequence[Source] = (),
    *,
    csv: bool = True,
    problems: Sequence[Problem] = (),
    files: pd.DataFrame | None = None,
    split_lists: pd.DataFrame | None = None,
    labels: Sequence[str] = ("fractured",),
) -> Dataset:
    ds = Dataset(
        images=images_table(images or {}, csv=csv),
        labels=list(labels),
        sources={s.name: s for s in sources},
        problems=problems_frame(problems),
        format="fracatlas",
    )
    if files is not None:
        ds.files = files
    if split_lists is not None:
        ds.split_lists = split_lists
    return ds


def run(code: str, ds: Dataset, **options: Any) -> pd.DataFrame:
    """Run one rule; returns its findings table."""
    ctx = CheckContext(dataset=ds, progress=False, **{"pixel_facts": IMAGING_FACTS, **options})
    return normalize_result(RULES[code], RULES[code].func(ctx))


def square(x: float, y: float, s: float) -> list[float]:
    return [x, y, x + s, y, x + s, y + s, x, y + s]
