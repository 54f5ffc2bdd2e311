"""Image sizes (formats/sizes.py): the one filler used by the readers and by convert's plan."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fracatlas_annot.formats.sizes import declared_sizes, fill_sizes
from fracatlas_annot.model import Source, make_objects, make_source_images


def _src(fmt: str, keys: list[str], w: list, h: list) -> Source:
    return Source(name=fmt, format=fmt, objects=make_objects({}), images=make_source_images(keys, width=w, height=h))


def _sizes(rows: dict, dtype: str) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["width", "height"])
    frame.index = pd.Index(frame.index, dtype=object, name="image")
    return frame.astype(dtype)


def test_known_sizes_stay_and_the_first_source_fills_first():
    sizes = _sizes({"a.jpg": [10, 20], "b.jpg": [None, None], "c.jpg": [None, None]}, "Int64")
    first = _src("voc", ["b.jpg", "b.jpg", "a.jpg"], [30, 99, 1], [40, 99, 1])  # b twice: its first row counts
    second = _src("coco", ["b.jpg", "c.jpg", "d.jpg"], [5, 50, 70], [6, 60, 80])
    out = fill_sizes(sizes, [first, second])
    assert out.loc[["a.jpg", "b.jpg", "c.jpg"]].astype(int).values.tolist() == [[10, 20], [30, 40], [50, 60]]
    assert "d.jpg" not in out.index and out["width"].dtype == "Int64"
    added = fill_sizes(sizes, [first, second], add=True)
    assert added.loc["d.jpg"].tolist() == [70, 80]


def test_a_float_frame_stays_float_and_bad_declared_values_stay_unknown():
    sizes = _sizes({"a.jpg": [np.nan, np.nan], "b.jpg": [np.nan, np.nan]}, "float64")
    out = fill_sizes(sizes, [_src("coco", ["a.jpg", "b.jpg"], [12, None], [34, None])])
    assert out["width"].dtype == np.float64
    assert out.loc["a.jpg"].tolist() == [12.0, 34.0] and out.loc["b.jpg"].isna().all()


def test_declared_sizes_follow_the_registry_order_voc_csv_coco():
    images = _sizes({"a.jpg": [None, None]}, "Int64")
    sources = {"coco": _src("coco", ["a.jpg"], [1], [1]), "csv": _src("csv", ["a.jpg"], [2], [2]),
               "voc": _src("voc", ["a.jpg"], [3], [3]), "vgg": _src("vgg", ["a.jpg", "z.jpg"], [4, 4], [4, 4])}
    out = declared_sizes(images, sources)
    assert out.loc["a.jpg"].tolist() == [3, 3]  # VOC first
    assert "z.jpg" not in out.index  # VGG declares no image size
    del sources["voc"]
    assert declared_sizes(images, sources).loc["a.jpg"].tolist() == [2, 2]
