"""Ultralytics datasets (formats/ultralytics.py): the writer (yolo-detect, yolo-seg: Ultralytics
accepts every label file, counts match the manifest, data.yaml, negatives) and the reader
(data.yaml + images/ + labels/, what the writer leaves)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import read
from fracatlas_annot.formats.detect import detect

from _mini import MINI, label_files, read_mini


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


# --------------------------------------------------------------------------- writer


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def _image_for(label: Path, root: Path) -> Path:
    split = label.parent.name
    return next((root / "images" / split).glob(label.stem + ".*"))


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_ultralytics_accepts_every_label_file(mini_ds, tmp_path, yolo_env, task):
    from ultralytics.data.utils import verify_image_label

    out = tmp_path / task
    m = convert(mini_ds, to=f"yolo-{'seg' if task == 'segment' else 'detect'}", out=out, progress=False)
    labels = label_files(out)
    assert len(labels) == 40
    padded = json.loads((MINI / "manifest.json").read_text())["bytes_after_end_of_image"]
    seen = 0
    for lb in labels:
        im = _image_for(lb, out)
        res = verify_image_label((str(im), str(lb), "", False, 1, 0, 0, False))
        im_file, lab, shape, segments, _, nm, nf, ne, nc, msg = res
        # Ultralytics trusts the last two bytes and would re-encode ("restore") a JPEG padded after
        # its end marker (FA509); convert writes those cut at the marker, so every image passes untouched
        assert msg == "", msg
        if im.name in padded:
            assert len(im.read_bytes()) < len(next(MINI.glob(f"images/*/{im.name}")).read_bytes())
        assert im.read_bytes()[-2:] == b"\xff\xd9"
        assert nc == 0 and nf == 1
        seen += len(lab)
        if task == "segment":
            assert len(segments) == len(lab)
            assert all(len(s) >= 3 for s in segments)
    assert seen == m["counts"]["objects_out"] == 13


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_ultralytics_dataset_counts_match_manifest(mini_ds, tmp_path, yolo_env, task):
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    out = tmp_path / "set"
    m = convert(mini_ds, to="yolo-seg" if task == "segment" else "yolo-detect", out=out, progress=False)
    data = check_det_dataset(str(out / "data.yaml"))
    assert data["names"] == {0: "fractured"} and data["nc"] == 1
    for split, counts in m["counts"]["per_split"].items():
        ds = YOLODataset(img_path=data[split], data=data, task=task, imgsz=320, augment=False)
        assert len(ds.labels) == counts["images"]
        assert sum(len(lb["cls"]) for lb in ds.labels) == counts["objects"]
        assert sum(len(lb["cls"]) == 0 for lb in ds.labels) == counts["negatives"]
        if task == "segment":
            assert sum(len(lb["segments"]) for lb in ds.labels) == counts["objects"]


def test_data_yaml_and_layout(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert doc["path"] == str(out.absolute())
    assert Path(doc["path"]).is_absolute()
    assert (doc["train"], doc["val"], doc["test"]) == ("images/train", "images/val", "images/test")
    assert doc["names"] == {0: "fractured"}
    assert "download" not in doc
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["test", "train", "val"]
    splits = pd.read_csv(out / "splits.csv")
    assert len(splits) == 40 and set(splits["split"]) == {"train", "val", "test"}


def test_negatives_get_emptylabel_files(mini_ds, tmp_path):
    out = tmp_path / "det"
    convert(mini_ds, to="yolo-detect", out=out, progress=False)
    fractured = set(json.loads((MINI / "manifest.json").read_text())["fractured_images"])
    labels = {p.stem + ".jpg": p for p in label_files(out)}
    assert len(labels) == 40
    for key, p in labels.items():
        assert (p.stat().st_size == 0) == (key not in fractured)


def test_coco_to_seg_round_trip_within_1e6(mini_ds, tmp_path):
    """Read the written labels back with our YOLO reader: same polygons within 1e-6."""
    from fracatlas_annot.formats import yolo

    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    back, problems = yolo.read(out / "labels", recursive=True, names=out / "data.yaml")
    assert not problems
    assert len(back.images) == 40  # negatives read back as empty files
    coco = mini_ds.sources["coco"].objects
    sizes = mini_ds.images[["width", "height"]].astype(float)
    assert sorted(back.objects["image"]) == sorted(coco["image"])
    assert set(back.objects["label"]) == {"fractured"}
    for key, objs in coco.groupby("image", sort=False):
        got = back.objects[back.objects["image"] == key].sort_values("line")
        assert len(got) == len(objs)
        w, h = sizes.loc[key]
        for g_back, g_src in zip(got["geometry"], objs["geometry"]):
            xy = np.clip(np.asarray(g_src.exterior.coords)[:-1] / [w, h], 0, 1)
            xy_back = np.asarray(g_back.exterior.coords)[:-1]
            assert xy_back.shape == xy.shape
            assert np.abs(xy_back - xy).max() <= 1e-6


def test_split_none_puts_everything_in_train(mini_ds, tmp_path, yolo_env):
    from ultralytics.data.utils import check_det_dataset

    m = convert(mini_ds, to="yolo-seg", out=tmp_path / "s", split="none", progress=False)
    doc = yaml.safe_load((tmp_path / "s" / "data.yaml").read_text())
    assert doc["val"] == doc["train"] == "images/train" and "test" not in doc
    assert len(list((tmp_path / "s" / "images" / "train").iterdir())) == 40
    assert list(m["counts"]["per_split"]) == ["train"]
    assert check_det_dataset(str(tmp_path / "s" / "data.yaml"))["nc"] == 1
