"""Atomic writes (convert/atomic.py), existing targets, stale caches, and the protections around them."""

from __future__ import annotations

import os

import pytest

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import ultralytics as yolo_writer
from fracatlas_annot.errors import OutputExistsError, UsageError

from _mini import MINI, read_mini


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


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


def test_overwrite_removes_stale_caches(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    (out / "labels" / "train.cache").write_bytes(b"stale")
    m = convert(mini_ds, to="yolo-seg", out=out, progress=False, overwrite=True)
    assert m["removed_caches"] == ["labels/train.cache"]
    assert not list(out.rglob("*.cache"))
