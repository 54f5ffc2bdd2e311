"""The shape policy (convert/shapes.py, convert/geometry.py): multi-part objects, box-only
objects, degenerate polygons, clamping, holes, RLE masks and crowd flags, each refused when
lossy and recorded; seen through the yolo-seg / yolo-detect / voc writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.convert import convert
from fracatlas_annot.errors import LossyConversionError

from _mini import TWO_PARTS, label_files, object_changes, read_mini, rle_source, small_source


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def _rows(path: Path) -> list[list[float]]:
    text = path.read_text()
    return [[float(v) for v in line.split(" ")] for line in text.splitlines()]


# ---------------------------------------------------------------- policies on small sources


def _seg_lines(out: Path) -> list[list[float]]:
    (label,) = [p for p in label_files(out) if p.stat().st_size]
    return _rows(label)


@pytest.mark.parametrize(
    "policy, lines, kind, lossy",
    [
        pytest.param("bridge", 1, "multipart-bridged", False, id="bridge"),
        pytest.param("split", 2, "multipart-split", False, id="split"),
        pytest.param("largest", 1, "multipart-largest", True, id="largest"),
    ],
)
def test_multipart_policies(mini_ds, tmp_path, policy, lines, kind, lossy):
    src = small_source([TWO_PARTS])
    kwargs = dict(to="yolo-seg", source=src, split="none", multipart=policy, progress=False)
    if lossy:
        with pytest.raises(LossyConversionError) as err:
            convert(mini_ds, out=tmp_path / "refused", **kwargs)
        assert "annotations[0]" in str(err.value) and kind in str(err.value)
        assert not (tmp_path / "refused").exists()
    m = object_changes(convert(mini_ds, out=tmp_path / "o", allow_lossy=lossy, **kwargs))
    rows = _seg_lines(tmp_path / "o")
    assert len(rows) == lines
    assert [c["kind"] for c in m["changes"]] == [kind]
    assert m["changes"][0]["loc"] == "annotations[0]"
    w, h = mini_ds.images.loc["IMG0000019.jpg", ["width", "height"]].astype(float)
    polys = [shapely.Polygon(np.asarray(r[1:]).reshape(-1, 2) * [w, h]) for r in rows]
    area = sum(shapely.area(shapely.make_valid(p)) for p in polys)
    expect = {"bridge": 1600 + 2000, "split": 1600 + 2000, "largest": 2000}[policy]
    assert area == pytest.approx(expect, rel=1e-4)


def test_bridge_matches_ultralytics_merge_multi_segment():
    from ultralytics.data.converter import merge_multi_segment

    from fracatlas_annot.convert.geometry import bridge

    rng = np.random.default_rng(3)
    parts = [rng.uniform(0, 100, size=(k, 2)) + off for k, off in ((5, 0), (4, 200), (6, 400))]
    ours = bridge(parts)
    theirs = np.concatenate(merge_multi_segment([p.ravel().tolist() for p in parts]))
    np.testing.assert_allclose(ours, theirs)


def test_box_only_object_never_becomes_a_box_line(mini_ds, tmp_path):
    src = small_source([None, shapely.box(10, 10, 40, 30)], boxes=[[100, 100, 150, 120], [10, 10, 40, 30]])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "box-as-polygon" in str(err.value) and "annotations[0]" in str(err.value)
    m = object_changes(convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True))
    rows = _seg_lines(tmp_path / "y")
    assert [len(r) for r in rows] == [9, 9]  # never 5 columns in a segment file
    assert m["change_counts"] == {"box-as-polygon": 1}


def test_two_point_polygon_is_never_written(mini_ds, tmp_path):
    flat = shapely.Polygon([(10, 10), (50, 50), (10, 10.0000001)])  # collapses to 2 points after rounding
    src = small_source([flat, shapely.box(10, 10, 40, 30)])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "polygon-dropped" in str(err.value)
    convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    rows = _seg_lines(tmp_path / "y")
    assert len(rows) == 1 and len(rows[0]) == 9


@pytest.mark.parametrize(
    "dx, kind, lossy",
    [pytest.param(1e-13, "vertex-clamped", False, id="float-noise"), pytest.param(0.4, "vertex-clamped", False, id="0.4px"),
     pytest.param(3.0, "vertex-clamped-far", True, id="3px")],
)
def test_vertices_clamped_and_recorded(mini_ds, tmp_path, dx, kind, lossy):
    w = float(mini_ds.images.loc["IMG0000019.jpg", "width"])
    poly = shapely.Polygon([(w - 20, 10), (w + dx, 20), (w - 30, 40)])
    src = small_source([poly])
    kwargs = dict(to="yolo-seg", source=src, split="none", progress=False)
    if lossy:
        with pytest.raises(LossyConversionError):
            convert(mini_ds, out=tmp_path / "x", **kwargs)
    m = object_changes(convert(mini_ds, out=tmp_path / "y", allow_lossy=lossy, **kwargs))
    (row,) = _seg_lines(tmp_path / "y")
    assert max(row[1::2]) == 1.0
    assert m["change_counts"] == {kind: 1}
    assert m["changes"][0]["image"] == "IMG0000019.jpg"


def test_hole_is_recorded_as_lossy(mini_ds, tmp_path):
    holed = shapely.Polygon(shapely.box(10, 10, 100, 100).exterior.coords, [shapely.box(40, 40, 60, 60).exterior.coords])
    src = small_source([holed])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "hole-dropped" in str(err.value)


def test_rle_object_is_traced_and_recorded(mini_ds, tmp_path):
    src, doc = rle_source(mini_ds)
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "rle-to-polygon" in str(err.value)
    m = object_changes(convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True))
    (row,) = _seg_lines(tmp_path / "y")
    w, h = doc["images"][0]["width"], doc["images"][0]["height"]
    xy = np.asarray(row[1:]).reshape(-1, 2) * [w, h]
    assert shapely.Polygon(xy).area == pytest.approx(59 * 39, rel=0.02)
    # the RLE is a crowd annotation (iscrowd 1): YOLO has no crowd flag, which is recorded too
    assert m["change_counts"] == {"rle-to-polygon": 1, "iscrowd-cleared": 1}
    rle_change = next(c for c in m["changes"] if c["kind"] == "rle-to-polygon")
    assert "IoU" in rle_change["message"]


@pytest.mark.parametrize("target", ["yolo-seg", "yolo-detect", "voc"])
def test_crowd_polygon_is_refused_then_recorded(mini_ds, tmp_path, target):
    """A COCO crowd region (iscrowd 1) would become an ordinary object: never silently."""
    src = small_source([shapely.box(10, 10, 40, 30), shapely.box(50, 50, 80, 90)])
    src.objects["iscrowd"] = pd.array([0, 1], dtype="Int64")
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to=target, source=src, split="none", out=tmp_path / "x", progress=False)
    assert "iscrowd" in str(err.value)
    m = object_changes(convert(mini_ds, to=target, source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True))
    assert m["change_counts"] == {"iscrowd-cleared": 1}




def _holed_rle_doc() -> dict:
    """A COCO document whose one RLE mask is a 40x40 square with a 10x10 hole."""
    from pycocotools import mask as mask_utils

    m = np.zeros((80, 100), dtype=np.uint8)
    m[10:50, 10:50] = 1
    m[25:35, 25:35] = 0
    rle = mask_utils.encode(np.asfortranarray(m))
    seg = {"size": [80, 100], "counts": rle["counts"].decode()}
    return {"images": [{"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"}],
            "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": seg}],
            "categories": [{"id": 1, "name": "fractured"}]}


def test_rle_object_has_one_geometry_read_and_written(tmp_path):
    """The converter writes the outline the COCO reader traced (one decoder), and what it
    records (IoU, holes) describes that outline."""
    import json

    from fracatlas_annot.formats import coco
    from fracatlas_annot.formats.coco.rle import mask_iou

    doc = _holed_rle_doc()
    src, problems = coco.parse(json.dumps(doc).encode(), file="rle.json")
    assert not problems
    read_geom = src.objects["geometry"].iat[0]
    assert len(read_geom.interiors) == 1
    m = convert(src, to="yolo-seg", split="none", out=tmp_path / "o", allow_lossy=True, progress=False)
    (row,) = _seg_lines(tmp_path / "o")
    written = np.asarray(row[1:]).reshape(-1, 2) * [100, 80]
    exterior = np.asarray(read_geom.exterior.coords)[:-1]
    assert written.shape == exterior.shape and np.abs(written - exterior).max() < 1e-3
    changes = {c["kind"]: c["message"] for c in m["changes"]}
    seg = doc["annotations"][0]["segmentation"]
    iou = mask_iou(read_geom, seg)
    assert 0.8 < iou < 1
    assert changes["rle-to-polygon"] == f"RLE mask traced into 1 polygon(s), IoU {iou:.4f} with the mask, 1 hole(s) not carried"
    assert changes["hole-dropped"] == "1 hole(s) filled: the target has no holes"


def test_unusable_rle_in_a_hand_made_source_is_recorded_not_decoded(mini_ds, tmp_path):
    """Counts that overrun the mask are refused by the one decoder (pycocotools would write
    past its buffer), also for a source that did not come from the COCO reader."""
    src = small_source([None], boxes=[[30, 20, 90, 60]], rle=[{"size": [10, 10], "counts": [0, 200]}])
    m = object_changes(convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "o", allow_lossy=True, progress=False))
    msgs = {c["kind"]: c["message"] for c in m["changes"]}
    assert msgs["rle-to-polygon"].startswith("RLE mask unusable (uncompressed counts must be non-negative integers summing to 10*10)")
    assert "box-as-polygon" in msgs  # written as its box rectangle, recorded


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("to", ["voc", "yolo-seg", "yolo-detect"])
def test_non_finite_vertex_is_a_loss_never_clamped(mini_ds, tmp_path, bad, to):
    """A COCO vertex of NaN / 1e999 (valid JSON for Python): never clamped to the image edge
    (inf) nor dropped silently (NaN); the object is a named loss (issue 12)."""
    import shapely as shp

    with np.errstate(invalid="ignore"):
        poly = shp.polygons([[10, 10], [bad, 10], [40, 30], [10, 30]])
    src = small_source([poly, shapely.box(10, 10, 40, 30)], boxes=[[10, 10, 40, 30], [10, 10, 40, 30]])
    kwargs = dict(to=to, source=src, out=tmp_path / "x", progress=False)
    if to != "voc":
        kwargs["split"] = "none"
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, **kwargs)
    assert "annotations[0]" in str(err.value) and "NaN or infinite" in str(err.value)
    kwargs["out"] = tmp_path / "y"
    m = object_changes(convert(mini_ds, allow_lossy=True, **kwargs))
    dropped = [c for c in m["changes"] if c["kind"] == "object-dropped"]
    assert [c["loc"] for c in dropped] == ["annotations[0]"]
