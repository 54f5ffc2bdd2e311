"""FracAtlas v7 ships two images in both folders: convert writes one file per name and says so."""

from __future__ import annotations

import shutil
from pathlib import Path

from fracatlas_annot.convert import convert

V7 = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-v7"


def test_stray_copies_are_named_in_the_manifest(tmp_path):
    m = convert(V7, to="yolo-detect", source="voc", out=tmp_path / "out", progress=False)
    assert m["counts"]["images_out"] == 40  # not 42: one file per name
    (note,) = [n for n in m["notes"] if "several folders" in n]
    assert "IMG0000073.jpg -> " in note and "Fractured" in note and "DIFFER" not in note


def test_copies_that_differ_are_called_out(tmp_path):
    copy = tmp_path / "v7"
    shutil.copytree(V7, copy)
    shutil.copyfile(copy / "images" / "Non_fractured" / "IMG0000019.jpg", copy / "images" / "Non_fractured" / "IMG0000073.jpg")
    m = convert(copy, to="yolo-detect", source="voc", out=tmp_path / "out", progress=False)
    (note,) = [n for n in m["notes"] if "several folders" in n]
    assert "DIFFER in size for: IMG0000073.jpg" in note
