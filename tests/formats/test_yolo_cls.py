"""Ultralytics classification folders (formats/yolo_cls.py): the writer's layout (every split
has both class folders, Ultralytics loads it) and the reader (images with split and class)."""

from __future__ import annotations

import json
import shutil

import pytest

from fracatlas_annot.convert import convert
from fracatlas_annot.errors import InputError
from fracatlas_annot.formats import read
from fracatlas_annot.formats.detect import detect

from _mini import MINI, read_mini


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def test_cls_layout(mini_ds, tmp_path, yolo_env):
    m = convert(mini_ds, to="yolo-cls", out=tmp_path / "cls", progress=False)
    fractured = set(json.loads((MINI / "manifest.json").read_text())["fractured_images"])
    found = {}
    for p in (tmp_path / "cls").glob("*/*/*.jpg"):
        split, cls = p.parts[-3], p.parts[-2]
        assert split in ("train", "val", "test") and cls in ("fractured", "non_fractured")
        found[p.name] = cls
    assert len(found) == 40
    assert {k for k, c in found.items() if c == "fractured"} == fractured
    assert m["counts"]["images_out"] == 40
    from ultralytics.data.utils import check_cls_dataset

    data = check_cls_dataset(str(tmp_path / "cls"))
    assert data["nc"] == 2 and sorted(data["names"].values()) == ["fractured", "non_fractured"]


def test_cls_every_split_has_both_class_folders(mini_ds, tmp_path, yolo_env):
    """A split without fractured images still gets an empty fractured/ folder, so Ultralytics'
    ImageFolder numbers the classes the same way in every split."""
    out = tmp_path / "cls"
    convert(mini_ds, to="yolo-cls", out=out, split="stratified", ratios=(0.9, 0.05, 0.05), seed=0, progress=False)
    for split in ("train", "val", "test"):
        assert sorted(p.name for p in (out / split).iterdir()) == ["fractured", "non_fractured"]
    from torchvision.datasets import ImageFolder

    # what Ultralytics builds for a split (allow_empty, as its ClassificationDataset does)
    assert ImageFolder(str(out / "val"), allow_empty=True).class_to_idx == {"fractured": 0, "non_fractured": 1}



@pytest.fixture(scope="module")
def written(mini_ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("cls") / "cls"
    manifest = convert(mini_ds, to="yolo-cls", out=out, progress=False)
    return out, manifest


def test_reader_gets_every_image_with_its_split_and_class(written):
    out, manifest = written
    assert detect(out) == "yolo-cls"
    ds = read(out)
    assert ds.format == "yolo-cls" and not ds.sources
    assert ds.labels == ["fractured", "non_fractured"]
    fractured = set(json.loads((MINI / "manifest.json").read_text())["fractured_images"])
    assert set(ds.images.index[ds.images["class"] == "fractured"]) == fractured
    assert len(ds.images) == 40 and ds.images["width"].notna().all()  # headers read
    per_split = ds.images.groupby("split")["class"].value_counts().to_dict()
    assert per_split == {(s, c): n for s, v in manifest["counts"]["per_split"].items() for c, n in v.items()}


def test_reader_refuses_a_tree_with_images_beside_the_class_folders(written, tmp_path):
    out, _ = written
    copy = tmp_path / "c"
    shutil.copytree(out, copy)
    stray = next((copy / "train" / "fractured").iterdir())
    shutil.copyfile(stray, copy / "train" / stray.name)
    with pytest.raises(InputError, match="holds no annotation file or image"):
        read(copy)
    with pytest.raises(InputError, match="--format yolo-cls needs"):
        read(copy, format="yolo-cls")
