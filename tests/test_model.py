"""The columnar model: construction, validation, filtering, normalised -> pixel scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.model import (
    Dataset,
    Problem,
    Source,
    concat_objects,
    empty_objects,
    make_objects,
    make_source_images,
    polygons_from_flat,
    problems_frame,
    resolve_normalized,
    validate_objects,
)


def test_empty_objects_is_typed():
    frame = empty_objects(extra=["ann_id", "area"])
    assert len(frame) == 0
    assert frame["x0"].dtype == np.float64
    assert frame["class_id"].dtype == "Int64"
    assert frame["geometry"].dtype == object
    assert "area" in frame.columns


def test_make_objects_fills_defaults():
    frame = make_objects({"image": ["a.jpg"], "x0": [1.0], "y0": [2.0], "x1": [3.0], "y1": [4.0]})
    row = frame.iloc[0]
    assert row["units"] == "px"
    assert row["geometry"] is None
    assert pd.isna(row["class_id"])
    assert pd.isna(row["line"])


@pytest.mark.parametrize(
    "columns, message",
    [
        pytest.param({"image": ["a"], "x0": [1], "y0": [0.0], "x1": [1.0], "y1": [1.0], "units": ["cm"]}, "units", id="bad-units"),
    ],
)
def test_make_objects_rejects(columns, message):
    with pytest.raises(ValueError, match=message):
        make_objects(columns)


def test_validate_objects_names_missing_column():
    frame = empty_objects().drop(columns=["loc"])
    with pytest.raises(ValueError, match="lacks columns \\['loc'\\]"):
        validate_objects(frame)


def test_validate_objects_wants_float_boxes():
    frame = empty_objects()
    frame["x1"] = frame["x1"].astype("int64")
    with pytest.raises(ValueError, match="float64, got int64 in 'x1'"):
        validate_objects(frame)


def test_polygons_from_flat_vectorised_and_degenerate():
    geoms = polygons_from_flat([[0, 0, 10, 0, 10, 10], [1, 1, 2, 2], [0, 0, 4, 0, 4, 4, 0, 4]])
    assert shapely.area(geoms).tolist() == [50.0, 0.0, 16.0]
    assert shapely.is_empty(geoms[1])


def test_source_mask_filter_returns_source():
    objects = make_objects(
        {"image": ["a.jpg", "b.jpg"], "label": ["fractured", None], "x0": [0.0, 1.0], "y0": [0.0, 1.0], "x1": [2.0, 3.0], "y1": [2.0, 3.0]}
    )
    src = Source(name="voc", format="voc", objects=objects, labels=["fractured"])
    sub = src[src.objects["label"].notna()]
    assert isinstance(sub, Source)
    assert len(sub) == 1 and sub.objects["image"].tolist() == ["a.jpg"]
    assert len(src) == 2  # the original is untouched


def test_resolve_normalized_scales_boxes_and_polygons():
    geoms = polygons_from_flat([[0.1, 0.1, 0.5, 0.1, 0.5, 0.5]])
    objects = make_objects(
        {
            "image": ["a.jpg", "nosize.jpg"],
            "x0": [0.1, 0.2],
            "y0": [0.1, 0.2],
            "x1": [0.5, 0.4],
            "y1": [0.5, 0.4],
            "geometry": np.array([geoms[0], None], dtype=object),
            "units": ["norm", "norm"],
        }
    )
    images = pd.DataFrame({"width": pd.array([373], dtype="Int64"), "height": pd.array([454], dtype="Int64")}, index=pd.Index(["a.jpg"], name="image"))
    out = resolve_normalized(objects, images)
    assert out.loc[0, "units"] == "px"
    assert out.loc[0, "x1"] == pytest.approx(0.5 * 373)
    assert out.loc[0, "y1"] == pytest.approx(0.5 * 454)
    assert shapely.bounds(out.loc[0, "geometry"]).tolist() == pytest.approx([37.3, 45.4, 186.5, 227.0])
    # no known size: stays normalised, untouched
    assert out.loc[1, "units"] == "norm" and out.loc[1, "x1"] == 0.4
    # the input table is not modified
    assert objects.loc[0, "units"] == "norm"


def test_problem_renders_location():
    p = Problem(kind="bad-value", message="4 fields, expected 5", file="Annotations/YOLO/IMG1.txt", line=3)
    assert str(p) == "Annotations/YOLO/IMG1.txt:3: 4 fields, expected 5"
    q = Problem(kind="missing-key", message="no <filename>", file="a.xml", loc="/annotation")
    assert str(q) == "a.xml (/annotation): no <filename>"
    frame = problems_frame([p, q])
    assert frame["line"].tolist()[0] == 3 and pd.isna(frame["line"].tolist()[1])


def test_dataset_summary_and_source_lookup():
    objects = make_objects({"image": ["a.jpg"], "x0": [0.0], "y0": [0.0], "x1": [1.0], "y1": [1.0]})
    src = Source(name="coco", format="coco", objects=objects, images=make_source_images(["a.jpg"], width=[10], height=[10]))
    ds = Dataset(sources={"coco": src}, labels=["fractured"], format="coco")
    ds.add_problems([Problem(kind="parse-error", message="bad", file="x.json", line=1)])
    summary = ds.summary()
    assert summary["sources"]["coco"]["objects"] == 1
    assert summary["sources"]["coco"]["images"] == 1
    assert summary["problems"][0]["file"] == "x.json" and summary["problems"][0]["line"] == 1
    with pytest.raises(KeyError, match="did you mean 'coco'"):
        ds.source("cocoo")


def test_concat_objects_keeps_geometry_object_dtype():
    a = make_objects({"image": ["a"], "x0": [0.0], "y0": [0.0], "x1": [1.0], "y1": [1.0], "geometry": polygons_from_flat([[0, 0, 1, 0, 1, 1]])})
    b = empty_objects()
    out = concat_objects([a, b, a])
    assert len(out) == 2 and out["geometry"].dtype == object
