"""The conversion plan (convert/plan.py): default source, class map, official and duplicate-aware
splits, unknown labels, normalised sources scaled to pixels, the manifest, sources left untouched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.convert import convert
from fracatlas_annot.errors import LossyConversionError

from _mini import MINI, TWO_PARTS, label_files, object_changes, read_mini, small_source


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


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


def test_official_split_follows_lists(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False, duplicates=False)
    planted = json.loads((MINI / "manifest.json").read_text())["split_images"]
    for name, folder in (("train", "train"), ("valid", "val"), ("test", "test")):
        for key in planted[name]:
            assert (out / "images" / folder / key).exists()
            assert (out / "labels" / folder / (key[:-4] + ".txt")).read_text() != ""


@pytest.mark.parametrize(("archive", "category"), [("fracatlas-mini", 0), ("fracatlas-v7", 1)])
def test_class_map_coco_category_becomes_class_0(archive, category, tmp_path):
    """v6 numbers its one category 0, v7 (as FLENS saw it) 1: both become YOLO class 0."""
    m = convert(MINI.parent / archive, to="yolo-seg", source="coco", out=tmp_path / "s", progress=False)
    assert m["class_map"] == [{"class": 0, "name": "fractured", "source_id": category, "source_format": "coco"}]
    classes = [int(line.split()[0]) for p in label_files(tmp_path / "s") for line in p.read_text().splitlines()]
    assert set(classes) == {0} and len(classes) == 13


def test_sources_never_modified_and_images_hard_linked(mini_ds, tmp_path):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in MINI.rglob("*") if p.is_file()}
    out = tmp_path / "seg"
    m = convert(mini_ds, to="yolo-seg", out=out, progress=False)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in MINI.rglob("*") if p.is_file()}
    assert before == after
    assert m["images"]["linked"] + m["images"]["copied"] == 40
    img = next((out / "images" / "train").iterdir())
    src = Path(mini_ds.images.loc[img.name, "path"])
    if m["images"]["linked"]:
        assert os.stat(img).st_ino == os.stat(src).st_ino
    assert img.read_bytes() == src.read_bytes()


def test_unknown_label_refused_then_dropped(mini_ds, tmp_path):
    src = small_source([shapely.box(10, 10, 40, 30), shapely.box(50, 50, 80, 90)])
    src.objects.loc[1, "label"] = "fracture"
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-detect", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "'fracture'" in str(err.value)
    m = object_changes(convert(mini_ds, to="yolo-detect", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True))
    assert m["counts"]["objects_out"] == 1 and m["change_counts"] == {"object-dropped": 1}


def test_duplicate_groups_land_in_one_split(tmp_path):
    """Two negatives made byte copies of a train and a valid image follow them."""
    import shutil

    from fracatlas_annot.formats import read

    root = tmp_path / "FracAtlas"
    shutil.copytree(MINI, root)
    neg = root / "images" / "Non_fractured"
    shutil.copyfile(root / "images" / "Fractured" / "IMG0000023.jpg", neg / "IMG0000019.jpg")  # train
    shutil.copyfile(root / "images" / "Fractured" / "IMG0000078.jpg", neg / "IMG0000021.jpg")  # valid
    m = convert(read(root), to="yolo-detect", out=tmp_path / "d", progress=False)
    assert m["options"]["duplicates"] is True
    table = pd.read_csv(tmp_path / "d" / "splits.csv").set_index("image")
    assert table.loc["IMG0000019.jpg", "split"] == "train" and table.loc["IMG0000021.jpg", "split"] == "val"
    assert table.loc["IMG0000019.jpg", "reason"] == "duplicate-group"
    assert table.loc["IMG0000019.jpg", "group"] == table.loc["IMG0000023.jpg", "group"]
    assert (tmp_path / "d" / "images" / "val" / "IMG0000021.jpg").exists()


def test_manifest_records_inputs_options_counts(mini_ds, tmp_path):
    src = small_source([TWO_PARTS, shapely.box(5, 5, 30, 30)])
    m = convert(mini_ds, to="yolo-seg", source=src, out=tmp_path / "s", split="stratified", seed=4, progress=False)
    on_disk = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(m))
    assert m["inputs"]["source"] == "t" and m["inputs"]["path"] == str(MINI)
    assert m["options"] | {"split": "stratified", "seed": 4, "multipart": "bridge"} == m["options"]
    assert m["counts"]["objects_in"] == 2 and m["counts"]["objects_out"] == 2
    assert m["counts"]["objects_in_per_label"] == {"fractured": 2}
    (change,) = object_changes(m)["changes"]
    assert change == {"kind": "multipart-bridged", "lossy": False, "image": "IMG0000019.jpg", "file": "t.json",
                      "loc": "annotations[0]", "ann_id": None, "message": "2 parts joined by zero-width bridges"}
    assert sum(v["images"] for v in m["counts"]["per_split"].values()) == 40


def test_a_bare_source_converts_without_a_dataset(tmp_path):
    from fracatlas_annot.formats import coco

    src, _ = coco.read(MINI / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json")
    m = convert(src, to="yolo-seg", out=tmp_path / "s", split="stratified", progress=False)
    assert m["counts"]["images_out"] == 10 and m["counts"]["objects_out"] == 13
    assert m["images"] == {"linked": 0, "copied": 0, "missing": 10}
    assert any("no image files" in n for n in m["notes"])
    assert len(label_files(tmp_path / "s")) == 10
