"""COCO (formats/coco/): the reader on makesense.ai bytes (reference/makesense-exports.md §6),
generic COCO and bad input; the one RLE decoder; the writer (pycocotools loads it, COCOeval
against itself is 1.0, polygons and RLE kept)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import coco
from fracatlas_annot.formats.coco import rle as rle_module
from fracatlas_annot.model import Problem, Source

from _mini import read_mini, rle_source

# The §6 example, byte for byte: compact, one line, no trailing newline.
MAKESENSE = (
    b'{"info":{"description":"my-project-name"},"images":[{"id":1,"width":373,"height":454,"file_name":"IMG0000019.jpg"}],'
    b'"annotations":[{"id":0,"iscrowd":0,"image_id":1,"category_id":1,"segmentation":[[101.2340425531915,150.87234042553192,140.5,148.25531914893617,150.1063829787234,190.4468085106383,99,195.5]],'
    b'"bbox":[99,148.25531914893617,51.10638297872339,47.24468085106383],"area":1975.6492756903572}],'
    b'"categories":[{"id":1,"name":"fractured"}]}'
)


def dumps(doc: object) -> bytes:
    """Serialise like makesense: JSON.stringify, compact, no trailing newline."""
    return json.dumps(doc, separators=(",", ":")).encode()


def doc(annotations: list, images: list | None = None, categories: list | None = None) -> bytes:
    images = images if images is not None else [{"id": 1, "width": 373, "height": 454, "file_name": "IMG0000019.jpg"}]
    categories = categories if categories is not None else [{"id": 1, "name": "fractured"}]
    return dumps({"info": {"description": "p"}, "images": images, "annotations": annotations, "categories": categories})


def ann(seg: object = None, **extra: object) -> dict:
    out = {"id": 0, "iscrowd": 0, "image_id": 1, "category_id": 1}
    if seg is not None:
        out["segmentation"] = seg
    out.update(extra)
    return out


SQUARE = [[10, 10, 50, 10, 50, 40, 10, 40]]


def parse(data: bytes) -> tuple[Source, list[Problem]]:
    source, problems = coco.parse(data, file="Annotations/COCO JSON/COCO_fracture_masks.json")
    assert isinstance(source, Source)
    return source, problems


# --------------------------------------------------------------------------- makesense bytes


def test_makesense_example_bytes() -> None:
    assert not MAKESENSE.endswith(b"\n") and b" " not in MAKESENSE
    source, problems = parse(MAKESENSE)
    assert problems == []
    assert (source.name, source.format, source.geometry) == ("coco", "coco", "polygon")
    assert source.labels == ["fractured"] and source.label_ids == {1: "fractured"}
    assert source.meta["info"] == {"description": "my-project-name"}
    row = source.objects.iloc[0]
    assert len(source.objects) == 1
    assert row["image"] == "IMG0000019.jpg" and row["label"] == "fractured" and row["class_id"] == 1
    assert row["ann_id"] == 0 and row["iscrowd"] == 0
    assert (row["file"], row["loc"], row["units"]) == ("Annotations/COCO JSON/COCO_fracture_masks.json", "annotations[0]", "px")
    assert pd.isna(row["line"])
    # the unclosed makesense ring is closed by the geometry; 4 distinct vertices
    assert row["geometry"].geom_type == "Polygon"
    coords = shapely.get_coordinates(row["geometry"])
    assert len(coords) == 5 and tuple(coords[0]) == tuple(coords[-1]) == (101.2340425531915, 150.87234042553192)
    assert row["n_vertices"] == 4 and row["n_parts"] == 1
    # geometry extent equals the declared (tight) bbox; area kept as declared
    assert (row["x0"], row["y0"], row["x1"], row["y1"]) == pytest.approx((99, 148.25531914893617, 150.1063829787234, 195.5))
    assert (row["bbox_x0"], row["bbox_y0"]) == (99, 148.25531914893617)
    assert row["bbox_x1"] == pytest.approx(150.1063829787234) and row["bbox_y1"] == pytest.approx(195.5)
    assert row["area"] == 1975.6492756903572
    images = source.images
    assert list(images.index) == ["IMG0000019.jpg"]
    img = images.loc["IMG0000019.jpg"]
    assert (img["width"], img["height"], img["coco_id"], img["loc"]) == (373, 454, 1, "images[0]")


def test_unlabelled_polygon_has_no_category_id() -> None:
    # §6: JSON.stringify drops category_id for a polygon without label
    data = doc([ann(SQUARE), {"id": 1, "iscrowd": 0, "image_id": 1, "segmentation": SQUARE, "bbox": [10, 10, 40, 30], "area": 1200}])
    source, problems = parse(data)
    assert problems == []
    assert source.objects["label"].tolist() == ["fractured", None]
    assert source.objects["class_id"].isna().tolist() == [False, True]
    assert source.objects["ann_id"].tolist() == [0, 1]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(b"5.684341886080802e-14", 5.684341886080802e-14, id="small-exponent"),
        pytest.param(b"1e-7", 1e-7, id="bare-exponent"),
        pytest.param(b"3.73E+2", 373.0, id="upper-exponent"),
        pytest.param(b"-0", 0.0, id="negative-zero"),
    ],
)
def test_exponent_floats(text: bytes, expected: float) -> None:
    data = doc([ann([[0, 0, 100, 0, 100, 100, 0, 100]])]).replace(b"[[0,0,", b"[[" + text + b",0,", 1)
    source, problems = parse(data)
    assert problems == []
    assert shapely.get_coordinates(source.objects.at[0, "geometry"])[0, 0] == expected
    assert source.objects.at[0, "x0"] == min(expected, 0.0)


def test_images_keyed_by_file_name_not_id() -> None:
    """makesense renumbers ids on every export: the same file gets the same key."""
    images_a = [{"id": 1, "width": 373, "height": 454, "file_name": "IMG0000019.jpg"}, {"id": 2, "width": 454, "height": 373, "file_name": "IMG0000030.jpg"}]
    images_b = [{"id": 7, "width": 454, "height": 373, "file_name": "IMG0000030.jpg"}, {"id": 3, "width": 373, "height": 454, "file_name": "IMG0000019.jpg"}]
    a, _ = parse(doc([ann(SQUARE, image_id=2)], images=images_a))
    b, _ = parse(doc([ann(SQUARE, image_id=7)], images=images_b))
    assert a.objects["image"].tolist() == b.objects["image"].tolist() == ["IMG0000030.jpg"]
    assert a.images.loc["IMG0000030.jpg", "coco_id"] == 2 and b.images.loc["IMG0000030.jpg", "coco_id"] == 7


def test_file_name_with_folder_keys_by_bare_name() -> None:
    images = [{"id": 1, "width": 10, "height": 10, "file_name": "images/Fractured/IMG0000019.jpg"}]
    source, problems = parse(doc([ann(SQUARE)], images=images))
    assert problems == [] and source.objects.at[0, "image"] == "IMG0000019.jpg"
    assert source.images.loc["IMG0000019.jpg", "file_name"] == "images/Fractured/IMG0000019.jpg"


@pytest.mark.parametrize(
    "seg, n_vertices, check",
    [
        pytest.param([[10, 10, 20, 20]], 2, lambda g: g.is_empty, id="two-vertices"),
        pytest.param([[0, 0, 5, 5, 10, 10]], 3, lambda g: g.area == 0, id="collinear-zero-area"),
        pytest.param([[0, 0, 10, 10, 10, 0, 0, 10]], 4, lambda g: not g.is_valid, id="self-intersecting"),
        pytest.param([[0, 0, 10, 0, 10, 10, 0, 0]], 3, lambda g: g.area == 50, id="closed-ring-first-repeated"),
        pytest.param([[0, 0, 10, 0, 10, 0, 10, 10]], 3, lambda g: g.area == 50, id="repeated-vertex"),
        pytest.param([[1, 1, 1, 1, 1, 1]], 1, lambda g: g.is_empty, id="one-point-thrice"),
        pytest.param([[]], 0, lambda g: g.is_empty, id="empty-ring"),
    ],
)
def test_degenerate_polygons_are_kept(seg: list, n_vertices: int, check) -> None:
    source, problems = parse(doc([ann(seg, bbox=[0, 0, 1, 1])]))
    assert problems == []
    row = source.objects.iloc[0]
    assert row["n_vertices"] == n_vertices and row["n_parts"] == 1
    assert check(row["geometry"])


def test_nan_vertex_kept() -> None:
    data = doc([ann([[0, 0, 10, 0, 10, 10, 0, 10]])]).replace(b"[[0,0,10,0,", b"[[NaN,0,10,0,")
    source, problems = parse(data)
    assert problems == []
    g = source.objects.at[0, "geometry"]
    assert np.isnan(shapely.get_coordinates(g)).any() and not shapely.is_valid(g)
    assert source.objects.at[0, "x0"] == 0  # extent ignores the NaN vertex


def test_unknown_category_and_duplicate_annotation_ids_stay_for_validate() -> None:
    source, problems = parse(doc([ann(SQUARE, category_id=7), ann(SQUARE)]))
    assert problems == []
    assert source.objects["class_id"].tolist() == [7, 1]
    assert source.objects["label"].tolist() == [None, "fractured"]
    assert source.objects["ann_id"].tolist() == [0, 0]


# --------------------------------------------------------------------------- generic COCO


def _rle_with_hole() -> tuple[dict, np.ndarray]:
    m = np.zeros((40, 50), dtype=np.uint8)
    m[5:30, 10:40] = 1
    m[12:20, 18:28] = 0  # the hole
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}, m


def _uncompressed(m: np.ndarray) -> dict:
    flat = np.asfortranarray(m).ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.r_[0, change, flat.size]
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": list(m.shape), "counts": counts}


@pytest.mark.parametrize(
    ("seg", "words"),
    [
        pytest.param({"size": [10, 10], "counts": [0, 200]}, "summing to 10*10", id="list-overruns"),
        pytest.param({"size": [10, 10], "counts": "0\\"}, "do not decode to 10*10", id="string-overruns"),
        pytest.param({"size": [10], "counts": [100]}, "'size' must be [height, width]", id="bad-size"),
        pytest.param({"size": [20000, 20000], "counts": [400000000]}, "too large to decode", id="too-large"),
        pytest.param({"size": [10, 10], "counts": 7}, "'counts' must be a string or a list", id="bad-counts"),
        pytest.param([1, 2], "must be an object", id="not-an-object"),
    ],
)
def test_the_one_rle_decoder_refuses_what_pycocotools_would_overrun(seg, words) -> None:
    assert words in rle_module.decode(seg)
    assert words in rle_module.rle_polygons(seg)
    assert rle_module.mask_iou(shapely.box(0, 0, 5, 5), seg) == 0.0


def test_rle_decode_and_mask_iou_of_the_traced_outline() -> None:
    seg, m = _rle_with_hole()
    assert (rle_module.decode(seg) == m).all()
    assert (rle_module.decode(_uncompressed(m)) == m).all()
    geometry, n_parts, _, _ = rle_module.rle_polygons(seg)
    assert n_parts == 1 and len(geometry.interiors) == 1
    # a polygon target fills the hole: the same outline covers the solid mask, less the hole
    solid = m.copy()
    solid[12:20, 18:28] = 1
    enc = mask_utils.encode(np.asfortranarray(solid))
    solid_seg = {"size": enc["size"], "counts": enc["counts"].decode("ascii")}
    iou_solid = rle_module.mask_iou(geometry, solid_seg)
    assert 0.9 < iou_solid < 1
    assert 0.75 < rle_module.mask_iou(geometry, seg) < iou_solid
    assert rle_module.mask_iou(None, seg) == 0.0


def test_generic_coco_multipolygon_rle_and_box_only() -> None:
    rle, m = _rle_with_hole()
    annotations = [
        ann([[0, 0, 10, 0, 10, 10, 0, 10], [20, 20, 30, 20, 30, 25]], id=11),
        ann(rle, id=12, iscrowd=1, bbox=[10, 5, 30, 25], area=int(m.sum())),
        ann(_uncompressed(m), id=13, iscrowd=1),
        ann(None, id=14, bbox=[5, 6, 7, 8]),
        ann([], id=15, bbox=[1, 2, 3, 4]),
    ]
    images = [{"id": 1, "width": 50, "height": 40, "file_name": "a.png"}]
    categories = [{"id": 1, "name": "fractured", "supercategory": "bone"}, {"id": 2, "name": "plate", "supercategory": "hw"}]
    source, problems = parse(dumps({"images": images, "annotations": annotations, "categories": categories, "licenses": []}))
    assert problems == []
    o = source.objects.set_index("ann_id")
    assert source.labels == ["fractured", "plate"] and source.label_ids == {1: "fractured", 2: "plate"}

    multi = o.loc[11]
    assert multi["geometry"].geom_type == "MultiPolygon" and multi["n_parts"] == 2
    assert multi["geometry"].area == 100 + 25
    assert multi["n_vertices"] == 4  # the largest part
    assert (multi["x0"], multi["y0"], multi["x1"], multi["y1"]) == (0, 0, 30, 25)
    assert pd.isna(multi["bbox_x0"])  # no declared bbox

    for ann_id in (12, 13):
        crowd = o.loc[ann_id]
        g = crowd["geometry"]
        assert crowd["iscrowd"] == 1 and isinstance(crowd["rle"], dict)
        assert g.geom_type == "Polygon" and len(g.interiors) == 1, "the hole survives"
        assert g.contains(shapely.Point(14, 8)) and not g.contains(shapely.Point(22, 15))
        # outline through boundary-pixel centres: 0.5 px inside the pixel edges [10, 40] x [5, 30]
        assert (crowd["x0"], crowd["y0"], crowd["x1"], crowd["y1"]) == (10.5, 5.5, 39.5, 29.5)
        assert 0.85 * m.sum() < g.area < m.sum()  # centre-line outline: a little less than the pixel count
    assert o.loc[12, "rle"] == rle and o.loc[12, "area"] == m.sum()
    assert (o.loc[12, "bbox_x0"], o.loc[12, "bbox_x1"]) == (10, 40)

    for ann_id, box in ((14, (5, 6, 12, 14)), (15, (1, 2, 4, 6))):
        row = o.loc[ann_id]
        assert row["geometry"] is None and pd.isna(row["n_parts"]) and pd.isna(row["n_vertices"])
        assert (row["x0"], row["y0"], row["x1"], row["y1"]) == box


# --------------------------------------------------------------------------- bad input

NOT_UTF8 = MAKESENSE.replace(b"IMG0000019", b"IMG\xff000019")
BAD_AT = MAKESENSE.index(b"IMG0000019") + 3
BROKEN_MULTILINE = b'{\n  "images": [],\n  "annotations": [,\n  "categories": []\n}'


@pytest.mark.parametrize(
    "data, kind, loc, line, words",
    [
        pytest.param(b'{"images":[}', "parse-error", "column 12", 1, "invalid JSON", id="broken-json"),
        pytest.param(MAKESENSE[: len(MAKESENSE) // 2], "parse-error", None, 1, "invalid JSON", id="truncated"),
        pytest.param(BROKEN_MULTILINE, "parse-error", "column 19", 3, "line 3 column 19", id="error-on-line-3"),
        pytest.param(NOT_UTF8, "parse-error", f"byte {BAD_AT}", 1, f"invalid byte 0xff at byte offset {BAD_AT}", id="not-utf8"),
        pytest.param(b"", "parse-error", "byte 0", None, "empty file", id="empty-file"),
        pytest.param(b"  \n", "parse-error", "byte 0", None, "whitespace", id="whitespace-only"),
        pytest.param(b"[]", "parse-error", "$", None, "top level is a JSON list", id="top-level-list"),
        pytest.param(b"null", "parse-error", "$", None, "NoneType", id="top-level-null"),
        pytest.param(b'{"images":[],"annotations":[]}', "missing-key", "$", None, "'categories'", id="missing-categories"),
        pytest.param(b'{"annotations":[],"categories":[]}', "missing-key", "$", None, "'images'", id="missing-images"),
        pytest.param(b'{"images":[],"categories":[]}', "missing-key", "$", None, "'annotations'", id="missing-annotations"),
        pytest.param(b'{"images":{},"annotations":[],"categories":[]}', "bad-value", "images", None, "expected a list", id="images-not-list"),
        pytest.param(b"[" * 100_000, "parse-error", None, None, "invalid JSON", id="deep-nesting"),
    ],
)
def test_unreadable_documents(data: bytes, kind: str, loc: str | None, line: int | None, words: str) -> None:
    source, problems = parse(data)
    assert len(source.objects) == 0
    assert [p.kind for p in problems] == [kind]
    p = problems[0]
    assert p.file == "Annotations/COCO JSON/COCO_fracture_masks.json" and p.source == "coco"
    if loc is not None:
        assert p.loc == loc
    assert p.line == line
    assert words in p.message


@pytest.mark.parametrize(
    "annotations, kind, loc, kept",
    [
        pytest.param([ann(SQUARE), ann(SQUARE, image_id=9)], "orphan-annotation", "annotations[1]", 1, id="orphan"),
        pytest.param([ann(SQUARE), {"id": 1, "segmentation": SQUARE}], "missing-key", "annotations[1]", 1, id="no-image-id"),
        pytest.param([ann([[10, "x", 50, 10, 50, 40]]), ann(SQUARE)], "bad-value", "annotations[0]", 1, id="non-numeric-coordinate"),
        pytest.param([ann([[10, None, 50, 10, 50, 40]])], "bad-value", "annotations[0]", 0, id="null-coordinate"),
        pytest.param([ann([[10, True, 50, 10, 50, 40]])], "bad-value", "annotations[0]", 0, id="boolean-coordinate"),
        pytest.param([ann([[10, 10, 50, 10, 50]])], "bad-value", "annotations[0]", 0, id="odd-coordinate-count"),
        pytest.param([ann("10,10,50,10")], "bad-value", "annotations[0]", 0, id="segmentation-string"),
        pytest.param([ann([10, 10, 50, 10, 50, 40])], "bad-value", "annotations[0]", 0, id="flat-list-not-nested"),
        pytest.param([ann({"size": [4, 4], "counts": [3, 2]})], "bad-value", "annotations[0]", 0, id="rle-counts-short"),
        pytest.param([ann({"size": [4, 4], "counts": [3, 20]})], "bad-value", "annotations[0]", 0, id="rle-counts-overrun"),
        pytest.param([ann({"size": [4, 4], "counts": "~~~"})], "bad-value", "annotations[0]", 0, id="rle-bad-string"),
        pytest.param([ann({"size": [100000, 100000], "counts": [10**10]})], "bad-value", "annotations[0]", 0, id="rle-too-large"),
        pytest.param([ann({"counts": [16]})], "bad-value", "annotations[0]", 0, id="rle-no-size"),
        pytest.param([ann(None)], "bad-value", "annotations[0]", 0, id="no-segmentation-no-bbox"),
        pytest.param([ann(None, bbox=[1, 2, "w", 4])], "bad-value", "annotations[0]", 0, id="box-only-bad-bbox"),
        pytest.param([7, ann(SQUARE)], "bad-value", "annotations[0]", 1, id="annotation-not-object"),
    ],
)
def test_bad_annotations(annotations: list, kind: str, loc: str, kept: int) -> None:
    source, problems = parse(doc(annotations))
    assert [(p.kind, p.loc) for p in problems] == [(kind, loc)]
    assert problems[0].severity == "error"
    assert len(source.objects) == kept
    assert loc not in source.objects["loc"].tolist()


def test_bad_declared_bbox_is_a_warning_when_geometry_places_the_row() -> None:
    source, problems = parse(doc([ann(SQUARE, bbox=[1, 2, 3])]))
    assert [(p.kind, p.severity, p.loc) for p in problems] == [("bad-value", "warning", "annotations[0]")]
    assert len(source.objects) == 1 and pd.isna(source.objects.at[0, "bbox_x0"])


def test_duplicate_image_id_keeps_first_mapping() -> None:
    images = [{"id": 1, "width": 10, "height": 10, "file_name": "a.jpg"}, {"id": 1, "width": 10, "height": 10, "file_name": "b.jpg"}]
    source, problems = parse(doc([ann(SQUARE)], images=images))
    assert [(p.kind, p.loc, p.image) for p in problems] == [("duplicate-image-id", "images[1]", "b.jpg")]
    assert source.objects["image"].tolist() == ["a.jpg"]
    assert list(source.images.index) == ["a.jpg", "b.jpg"]


def test_duplicate_file_name_is_listed_once_and_never_merged() -> None:
    """Two image ids with one file name: the second id's annotations are reported and not read,
    never written onto the first image (issue 12)."""
    images = [{"id": 1, "width": 10, "height": 10, "file_name": "a.jpg"}, {"id": 2, "width": 10, "height": 10, "file_name": "a.jpg"}]
    source, problems = parse(doc([ann(SQUARE), ann(SQUARE, image_id=2)], images=images))
    assert [(p.kind, p.severity, p.loc) for p in problems] == [
        ("duplicate-image-id", "warning", "images[1]"), ("duplicate-image-id", "error", "annotations[1]")]
    assert "images[1]" in problems[1].message and "not merged" in problems[1].message
    assert source.objects["loc"].tolist() == ["annotations[0]"]
    assert list(source.images.index) == ["a.jpg"]


@pytest.mark.parametrize("ids", [(1, 2), ("x", 2)], ids=["int-ids", "mixed-ids"])
def test_duplicate_file_name_first_image_keeps_its_annotations(ids) -> None:
    images = [{"id": ids[0], "width": 10, "height": 10, "file_name": "a.jpg"},
              {"id": ids[1], "width": 10, "height": 10, "file_name": "a.jpg"}]
    source, problems = parse(doc([ann(SQUARE, image_id=ids[1]), ann(SQUARE, image_id=ids[0])], images=images))
    assert source.objects["loc"].tolist() == ["annotations[1]"]
    assert [p.loc for p in problems if p.severity == "error"] == ["annotations[0]"]


def test_unhashable_image_id_with_a_repeated_file_name_places_nothing() -> None:
    """A list as image id on two entries with one file name raised TypeError (found by the
    hypothesis document test); each bad id is a finding and no annotation is placed by it."""
    images = [{"id": [1], "width": 10, "height": 10, "file_name": "a.jpg"},
              {"id": [1], "width": 10, "height": 10, "file_name": "a.jpg"}]
    source, problems = parse(doc([ann(SQUARE, image_id=[1])], images=images))
    assert len(source.objects) == 0
    assert any(p.loc == "images[1]" and p.kind == "duplicate-image-id" for p in problems)
    assert any(p.loc == "annotations[0]" and p.severity == "error" for p in problems)


def test_duplicate_category_id_is_reported() -> None:
    cats = [{"id": 1, "name": "fractured"}, {"id": 1, "name": "healed"}, {"id": 1, "name": "fractured"}]
    source, problems = parse(doc([ann(SQUARE)], categories=cats))
    assert [(p.loc, p.severity) for p in problems] == [("categories[1]", "error"), ("categories[2]", "warning")]
    assert "category id 1 is declared again ('healed', first 'fractured'" in problems[0].message
    assert source.label_ids == {1: "fractured"} and source.labels == ["fractured"]


@pytest.mark.parametrize("name", [None, "", "  "])
def test_null_category_name_is_reported_never_the_label_none(name) -> None:
    source, problems = parse(doc([ann(SQUARE)], categories=[{"id": 1, "name": name}]))
    [p] = problems
    assert (p.kind, p.loc) == ("bad-value", "categories[0].name") and "name" in p.message
    assert source.labels == [] and source.objects["label"].isna().all()


@pytest.mark.parametrize(
    "first",
    [
        pytest.param({"id": 1, "width": 10, "height": 10}, id="no-file-name"),
        pytest.param({"id": 1, "file_name": "images/"}, id="folder-only"),
        pytest.param({"id": 1, "file_name": 19}, id="number"),
    ],
)
def test_image_without_file_name_orphans_its_annotations(first: dict) -> None:
    images = [first, {"id": 2, "width": 10, "height": 10, "file_name": "b.jpg"}]
    source, problems = parse(doc([ann(SQUARE), ann(SQUARE, image_id=2)], images=images))
    assert [(p.kind, p.loc) for p in problems] == [("missing-key", "images[0]"), ("orphan-annotation", "annotations[0]")]
    assert "file_name" in problems[0].message
    assert source.objects["image"].tolist() == ["b.jpg"]


def test_missing_images_reports_once_not_per_annotation() -> None:
    source, problems = parse(dumps({"annotations": [ann(SQUARE)] * 5, "categories": []}))
    assert [(p.kind, p.loc) for p in problems] == [("missing-key", "$")]
    source, problems = parse(dumps({"images": "IMG0000019.jpg", "annotations": [ann(SQUARE)] * 5, "categories": []}))
    assert [(p.kind, p.loc) for p in problems] == [("bad-value", "images")]
    assert "'images'" in problems[0].message
    assert len(source.objects) == 0


def test_missing_categories_keeps_rows_without_labels() -> None:
    source, problems = parse(dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [ann(SQUARE)]}))
    assert [(p.kind, p.loc) for p in problems] == [("missing-key", "$")]
    assert source.objects["label"].tolist() == [None] and source.objects["class_id"].tolist() == [1]
    assert source.images["width"].isna().all()


def test_read_names_file_relative_to_base(tmp_path) -> None:
    folder = tmp_path / "Annotations" / "COCO JSON"
    folder.mkdir(parents=True)
    path = folder / "COCO_fracture_masks.json"
    path.write_bytes(MAKESENSE)
    source, problems = coco.read(path, base=tmp_path)
    assert problems == [] and source.path == str(path)
    assert source.objects.at[0, "file"] == "Annotations/COCO JSON/COCO_fracture_masks.json"
    missing, problems = coco.read(tmp_path / "nope.json", name="reader-1")
    assert len(missing.objects) == 0 and missing.name == "reader-1"
    assert [p.kind for p in problems] == ["parse-error"] and problems[0].file == "nope.json"


@pytest.mark.parametrize("reader", ["reader-1", "reader-2"])
def test_committed_reader_export(fixtures_dir, reader: str) -> None:
    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())["readers"][reader]
    path = fixtures_dir / "readers" / reader / manifest["files"]["coco"]
    source, problems = coco.read(path, name=reader, base=fixtures_dir / "readers")
    assert problems == []
    assert source.objects["image"].value_counts().to_dict() == manifest["objects_per_image"]
    assert source.objects["file"].unique().tolist() == [f"{reader}/{path.name}"]
    assert (source.objects["n_vertices"] >= 3).all() and source.objects["ann_id"].iloc[0] == 0
    # declared bbox = polygon extent (makesense computes it from the vertices)
    for a, b in (("x0", "bbox_x0"), ("y0", "bbox_y0"), ("x1", "bbox_x1"), ("y1", "bbox_y1")):
        assert np.allclose(source.objects[a], source.objects[b])


# --------------------------------------------------------------------------- vectorised build == one-by-one

vertex = st.tuples(st.integers(0, 6), st.integers(0, 6))  # a small grid: repeats and collinear rings are common
rings = st.lists(st.lists(vertex, min_size=0, max_size=7), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(objects=st.lists(rings, min_size=1, max_size=6))
def test_vectorised_columns_match_per_object_shapely(objects: list) -> None:
    """n_vertices, n_parts, extent and geometry agree with a plain per-object construction."""
    annotations = [ann([[float(c) for v in ring for c in v] for ring in obj], id=i) for i, obj in enumerate(objects)]
    source, problems = parse(doc(annotations))
    assert problems == [] and len(source.objects) == len(objects)
    for row, obj in zip(source.objects.itertuples(), objects):
        opened = [ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring for ring in obj]
        # rings of 3+ written vertices are built as written (even with repeats); shorter ones are empty
        polys = [shapely.Polygon(r) if r and len(r) - (r[0] == r[-1]) >= 3 else shapely.Polygon() for r in opened]
        largest = max(range(len(obj)), key=lambda k: (abs(_shoelace(opened[k])), -k))
        assert row.n_parts == len(obj)
        assert row.n_vertices == len(set(opened[largest]))
        points = [v for r in opened for v in r]
        if points:
            xs, ys = zip(*points)
            assert (row.x0, row.y0, row.x1, row.y1) == (min(xs), min(ys), max(xs), max(ys))
        if len(obj) == 1:
            assert row.geometry.equals_exact(polys[0], tolerance=0) or (row.geometry.is_empty and polys[0].is_empty)
        else:
            parts = [p for p in polys if not p.is_empty]
            expected = shapely.MultiPolygon(parts) if parts else shapely.Polygon()
            assert row.geometry.equals_exact(expected, tolerance=0) or (row.geometry.is_empty and expected.is_empty)


def _shoelace(ring: list) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1])) / 2


def test_pre_2020_09_export_lists_images_without_polygons() -> None:
    """Before PR #111 every project image got an images[] entry, annotated or not (§11)."""
    images = [{"id": 1, "width": 373, "height": 454, "file_name": "IMG0000019.jpg"}, {"id": 2, "width": 454, "height": 373, "file_name": "IMG0000021.jpg"}]
    source, problems = parse(doc([ann(SQUARE, image_id=2)], images=images))
    assert problems == []
    assert list(source.images.index) == ["IMG0000019.jpg", "IMG0000021.jpg"]
    assert source.objects["image"].tolist() == ["IMG0000021.jpg"]
    assert source.counts() == {"objects": 1, "images": 2, "images_with_objects": 1}


@pytest.mark.parametrize("value", ["373.5", "null", '"373"', "true", "1e30"], ids=["float", "null", "string", "bool", "huge"])
def test_image_size_that_is_not_a_whole_number_is_reported(value):
    data = ('{"images":[{"id":1,"width":%s,"height":454,"file_name":"a.jpg"}],"annotations":[],"categories":[]}' % value).encode()
    source, problems = coco.parse(data, file="x.json")
    assert pd.isna(source.images.loc["a.jpg", "width"]) and source.images.loc["a.jpg", "height"] == 454
    assert [(p.kind, p.loc, p.severity) for p in problems] == [("bad-value", "images[0].width", "warning")]


# --------------------------------------------------------------------------- writer


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def _coco_eval(path: Path, iou_type: str) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(path))
    dets = [dict(a, score=1.0) for a in gt.dataset["annotations"]]
    if iou_type == "bbox":
        dets = [{k: v for k, v in d.items() if k != "segmentation"} for d in dets]
    dt = gt.loadRes(dets)
    ev = COCOeval(gt, dt, iou_type)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_loads_and_evaluates_to_one(mini_ds, tmp_path, iou_type):
    convert(mini_ds, to="coco", out=tmp_path / "c", progress=False)
    assert _coco_eval(tmp_path / "c" / "annotations.json", iou_type) == pytest.approx(1.0)


def test_coco_document_rules(mini_ds, tmp_path):
    m = convert(mini_ds, to="coco", out=tmp_path / "c", progress=False)
    doc = json.loads((tmp_path / "c" / "annotations.json").read_text())
    assert len(doc["images"]) == 40  # negatives too (makesense's own export drops them)
    assert [c["id"] for c in doc["categories"]] == [1] and doc["categories"][0]["name"] == "fractured"
    ids = [a["id"] for a in doc["annotations"]]
    assert len(ids) == len(set(ids)) == 13 and min(ids) >= 1
    assert len({i["id"] for i in doc["images"]}) == 40
    for a in doc["annotations"]:
        (ring,) = a["segmentation"]
        xy = np.asarray(ring).reshape(-1, 2)
        assert a["bbox"] == pytest.approx([xy[:, 0].min(), xy[:, 1].min(), np.ptp(xy[:, 0]), np.ptp(xy[:, 1])])
        assert a["area"] == pytest.approx(shapely.Polygon(xy).area)
    assert m["counts"]["objects_out"] == 13
    # sizes are the EXIF-corrected ones (IMG0000036 has orientation 6: stored 454x373)
    img = next(i for i in doc["images"] if i["file_name"] == "IMG0000036.jpg")
    assert (img["width"], img["height"]) == (373, 454)


def test_coco_reads_back_same_polygons(mini_ds, tmp_path):
    convert(mini_ds, to="coco", out=tmp_path / "c", progress=False)
    back, problems = coco.read(tmp_path / "c" / "annotations.json")
    assert not problems
    src = mini_ds.sources["coco"].objects
    assert back.objects["image"].tolist() == src["image"].tolist()
    for a, b in zip(back.objects["geometry"], src["geometry"]):
        assert shapely.equals_exact(a, b, tolerance=1e-9)
    assert set(back.images.index) == set(mini_ds.images.index)


def test_coco_keeps_multipolygons_and_rle(mini_ds, tmp_path):
    multi = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1,
             "segmentation": [[100, 100, 140, 100, 140, 130], [200, 200, 230, 200, 230, 240, 200, 240]]}
    src, doc = rle_source(mini_ds, extra=[multi])
    rle = doc["annotations"][0]["segmentation"]
    convert(mini_ds, to="coco", source=src, out=tmp_path / "c", progress=False)
    out = json.loads((tmp_path / "c" / "annotations.json").read_text())
    rle_ann, poly_ann = out["annotations"]
    assert rle_ann["segmentation"] == rle and rle_ann["iscrowd"] == 1
    assert rle_ann["area"] == 2400 and rle_ann["bbox"] == [30, 20, 60, 40]
    assert len(poly_ann["segmentation"]) == 2
    assert poly_ann["bbox"] == [100, 100, 130, 140]  # recomputed from the polygons, not the declared [0,0,1,1]
    assert poly_ann["area"] == pytest.approx(600 + 1200)
    assert _coco_eval(tmp_path / "c" / "annotations.json", "segm") == pytest.approx(1.0)


def test_integer_over_python_digit_limit_is_a_parse_error() -> None:
    """Issue 12: a JSON integer of 5,000 digits is a parse-error with its line, not a ValueError."""
    from fracatlas_annot.formats._json import load_json

    data = b'{"images": [],\n "annotations": [{"id": ' + b"7" * 5000 + b"}]}"
    doc, problems = load_json(data, file="labels.json")
    assert doc is None and [(p.kind, p.line, p.file) for p in problems] == [("parse-error", 2, "labels.json")]
    assert "integer of 5000 digits" in problems[0].message


def test_duplicate_top_level_key_is_reported_and_the_file_not_used() -> None:
    """A second ``"annotations": []`` erases the first for every JSON parser (issue 12)."""
    data = doc([ann(SQUARE)])[:-1] + b',\n"annotations": []}'
    source, problems = parse(data)
    [p] = problems
    assert (p.kind, p.severity, p.loc, p.line) == ("parse-error", "error", "annotations", 2)
    assert "duplicate key 'annotations'" in p.message and "file not used" in p.message
    assert len(source.objects) == 0


def test_duplicate_key_with_the_same_value_is_a_warning() -> None:
    data = doc([ann(SQUARE)]).replace(b'"iscrowd":0', b'"iscrowd":0,"iscrowd":0')
    source, problems = parse(data)
    assert [(p.severity, p.loc) for p in problems] == [("warning", "iscrowd")]
    assert len(source.objects) == 1


def test_json_null_document_is_still_a_parse_error() -> None:
    source, problems = parse(b"null")
    assert [p.kind for p in problems] == ["parse-error"] and "NoneType" in problems[0].message


@pytest.mark.parametrize("name, reported", [
    ("../../x.jpg", True), ("..\\x.jpg", True), ("train2017/x.jpg", False), ("/home/u/x.jpg", False), ("x.jpg", False)])
def test_file_name_keyed_by_base_name_and_climbing_out_is_reported(name, reported) -> None:
    images = [{"id": 1, "width": 10, "height": 10, "file_name": name}]
    source, problems = parse(doc([ann(SQUARE)], images=images))
    assert list(source.images.index) == ["x.jpg"] and source.objects["image"].tolist() == ["x.jpg"]
    assert [(p.kind, p.severity, p.loc) for p in problems] == ([("unsafe-name", "warning", "images[0]")] if reported else [])
