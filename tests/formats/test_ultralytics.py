"""Reading an Ultralytics dataset (data.yaml + images/ + labels/) back: what convert writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import read
from fracatlas_annot.formats.detect import detect

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("ult") / "seg"
    manifest = convert(MINI, to="yolo-seg", out=out, source="coco", progress=False)
    return out, manifest


def test_detects_folder_and_yaml(written):
    out, _ = written
    assert detect(out) == "ultralytics"
    assert detect(out / "data.yaml") == "ultralytics"


def test_reads_back_every_image_split_and_object(written):
    out, manifest = written
    ds = read(out)
    mini = json.loads((MINI / "manifest.json").read_text())
    assert ds.format == "ultralytics"
    assert len(ds.images) == mini["images"] == 40
    assert ds.labels == ["fractured"]
    src = ds.source("yolo")
    assert src.geometry == "polygon"
    assert len(src.objects) == 13
    assert len(src.images) == 40  # negatives have empty label files and are listed
    # splits come from the folders the images sit in, and match what convert wrote
    by_split = ds.images["split"].value_counts().to_dict()
    written_counts = {k: v["images"] for k, v in manifest["counts"]["per_split"].items() if v["images"]}
    assert by_split == written_counts
    per_split_objects = src.objects.merge(ds.images[["split"]], left_on="image", right_index=True)["split"].value_counts()
    assert per_split_objects.to_dict() == {k: v["objects"] for k, v in manifest["counts"]["per_split"].items() if v["objects"]}
    # objects are back in pixels (scaled with the image headers)
    assert (src.objects["units"] == "px").all()


def test_polygons_survive_the_round_trip(written):
    out, _ = written
    orig = read(MINI).source("coco").objects.sort_values(["image", "x0"]).reset_index(drop=True)
    back = read(out).source("yolo").objects.sort_values(["image", "x0"]).reset_index(drop=True)
    assert orig["image"].tolist() == back["image"].tolist()
    iou = shapely.area(shapely.intersection(orig["geometry"].to_numpy(), back["geometry"].to_numpy())) / shapely.area(
        shapely.union(orig["geometry"].to_numpy(), back["geometry"].to_numpy())
    )
    assert iou.min() > 0.999


def test_missing_label_file_is_a_negative(written, tmp_path):
    import shutil

    out, _ = written
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    data = (copy / "data.yaml").read_text().replace(str(out), str(copy))
    (copy / "data.yaml").write_text(data)
    empties = [p for p in (copy / "labels" / "train").glob("*.txt") if p.stat().st_size == 0]
    empties[0].unlink()
    ds = read(copy)
    assert empties[0].stem + ".jpg" in ds.source("yolo").images.index
    assert len(ds.source("yolo").objects) == 13


def test_missing_split_folder_is_a_problem(tmp_path):
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    from PIL import Image

    Image.new("L", (64, 48), 128).save(tmp_path / "images" / "train" / "a.jpg")
    (tmp_path / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2")
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: images/train\nval: images/nowhere\nnames:\n  0: fractured\n")
    ds = read(tmp_path)
    assert ds.format == "ultralytics"
    probs = ds.problems
    assert (probs["message"].str.contains("val split 'images/nowhere' does not exist")).any()
    assert ds.labels == ["fractured"]
    box = ds.source("yolo").objects.iloc[0]
    assert (box["x0"], box["y0"], box["x1"], box["y1"]) == pytest.approx((25.6, 19.2, 38.4, 28.8))
    assert ds.images.loc["a.jpg", "split"] == "train"
