"""coco and voc targets: pycocotools loads, COCOeval against itself is 1.0, every image
kept, ids and categories right, bbox/area consistent; VOC -> COCO -> VOC identical boxes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from lxml import etree

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import coco as coco_reader
from fracatlas_annot.formats import voc as voc_reader
from fracatlas_annot.model import Source, make_objects

from ._mini import read_mini, rle_source


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
    back, problems = coco_reader.read(tmp_path / "c" / "annotations.json")
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


def test_voc_files_valid_and_exif_sizes(mini_ds, tmp_path):
    convert(mini_ds, to="voc", source="voc", out=tmp_path / "v", progress=False)
    files = sorted((tmp_path / "v" / "Annotations").glob("*.xml"))
    assert len(files) == 40
    for f in files:
        tree = etree.parse(str(f))
        for tag in ("difficult", "truncated"):
            assert all(e.text in ("0", "1") for e in tree.iter(tag))
        for tag in ("xmin", "ymin", "xmax", "ymax", "width", "height"):
            assert all(str(int(e.text)) == e.text for e in tree.iter(tag))
    t = etree.parse(str(tmp_path / "v" / "Annotations" / "IMG0000036.xml"))
    assert (t.findtext("size/width"), t.findtext("size/height")) == ("373", "454")
    # `Unspecified` in the source became the integer 0
    t = etree.parse(str(tmp_path / "v" / "Annotations" / "IMG0000026.xml"))
    assert t.findtext("object/difficult") == "0" and t.findtext("object/truncated") == "0"


def test_voc_escapes_label_names(mini_ds, tmp_path):
    name = 'frac <a> & "b"'
    objects = make_objects({"image": ["IMG0000019.jpg"], "label": [name], "x0": [10.0], "y0": [10.0], "x1": [40.0], "y1": [30.0]})
    src = Source(name="s", format="voc", objects=objects, labels=[name])
    convert(mini_ds, to="voc", source=src, out=tmp_path / "v", progress=False)
    raw = (tmp_path / "v" / "Annotations" / "IMG0000019.xml").read_bytes()
    assert b"&lt;a&gt; &amp;" in raw
    assert etree.fromstring(raw).findtext("object/name") == name


def test_voc_coco_voc_identical_boxes(mini_ds, tmp_path):
    convert(mini_ds, to="coco", source="voc", out=tmp_path / "c", progress=False)
    coco_src, problems = coco_reader.read(tmp_path / "c" / "annotations.json")
    assert not problems
    assert len(coco_src.images) == 40  # negatives survive VOC -> COCO
    convert(mini_ds, to="voc", source=coco_src, out=tmp_path / "v", progress=False)
    back, problems = voc_reader.read(tmp_path / "v" / "Annotations")
    assert not problems
    orig = mini_ds.sources["voc"]
    cols = ["image", "x0", "y0", "x1", "y1"]
    a = orig.objects[cols].sort_values(cols).reset_index(drop=True)
    b = back.objects[cols].sort_values(cols).reset_index(drop=True)
    assert a.equals(b)
    assert set(back.images.index) == set(orig.images.index)  # negatives survive COCO -> VOC


def test_yolo_boxes_to_coco_in_pixels(mini_ds, tmp_path):
    """Normalised YOLO boxes are scaled with the EXIF-corrected sizes before writing COCO."""
    convert(mini_ds, to="coco", source="yolo", out=tmp_path / "c", progress=False)
    doc = json.loads((tmp_path / "c" / "annotations.json").read_text())
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    got = sorted((names[a["image_id"]], *np.round(a["bbox"], 3)) for a in doc["annotations"])
    voc = mini_ds.sources["voc"].objects
    want = sorted((k, x0, y0, x1 - x0, y1 - y0) for k, x0, y0, x1, y1 in voc[["image", "x0", "y0", "x1", "y1"]].itertuples(index=False))
    assert [g[0] for g in got] == [w[0] for w in want]
    assert np.abs(np.array([g[1:] for g in got]) - np.array([w[1:] for w in want])).max() <= 1.0
    assert all(a["segmentation"] == [] for a in doc["annotations"])  # box-only source: no invented masks
