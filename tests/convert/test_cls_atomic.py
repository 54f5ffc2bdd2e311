"""yolo-cls layout, atomic writes, existing targets, and the protections around them."""

from __future__ import annotations

import json
import os

import pytest

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import ultralytics as yolo_writer
from fracatlas_annot.errors import OutputExistsError, UsageError

from ._mini import MINI, read_mini


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


def test_failure_mid_write_leaves_no_target(mini_ds, tmp_path, monkeypatch):
    real = yolo_writer.write_text_files

    def boom(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(yolo_writer, "write_text_files", boom)
    with pytest.raises(RuntimeError):
        convert(mini_ds, to="yolo-seg", out=tmp_path / "seg", progress=False)
    assert not (tmp_path / "seg").exists()
    assert os.listdir(tmp_path) == []  # no temp folder left behind


def test_failure_keeps_the_old_target(mini_ds, tmp_path, monkeypatch):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    monkeypatch.setattr(yolo_writer, "data_yaml", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        convert(mini_ds, to="yolo-seg", out=out, progress=False, overwrite=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert sorted(os.listdir(tmp_path)) == ["seg"]


def test_existing_nonempty_target_refused(mini_ds, tmp_path):
    out = tmp_path / "seg"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        convert(mini_ds, to="yolo-seg", out=out, progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    convert(mini_ds, to="yolo-seg", out=out, progress=False, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "data.yaml").exists()


def test_existing_empty_target_is_fine(mini_ds, tmp_path):
    (tmp_path / "seg").mkdir()
    convert(mini_ds, to="yolo-detect", out=tmp_path / "seg", progress=False)
    assert (tmp_path / "seg" / "data.yaml").exists()


def test_output_that_would_replace_the_input_refused(tmp_path):
    with pytest.raises(UsageError):
        convert(MINI, to="coco", out=MINI, overwrite=True, progress=False)
    with pytest.raises(UsageError):
        convert(MINI / "Annotations", to="coco", out=MINI, overwrite=True, progress=False)
    assert (MINI / "dataset.csv").exists()


def test_images_copied_when_hard_links_fail(mini_ds, tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    m = convert(mini_ds, to="yolo-detect", out=tmp_path / "d", progress=False)
    assert m["images"] == {"linked": 0, "copied": 40, "missing": 0}
    img = next((tmp_path / "d" / "images" / "train").iterdir())
    src = mini_ds.images.loc[img.name, "path"]
    assert img.read_bytes() == open(src, "rb").read() and os.stat(img).st_ino != os.stat(src).st_ino
