"""When sources disagree on an image (issue 11 #10): one rule for every target, the objects of
the converted source decide; each image where dataset.csv's flag says otherwise is named on
screen and listed under ``decisions`` in manifest.json."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from fracatlas_annot.cli import main

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini"
IMG = "IMG0000073.jpg"  # fractured, in Fractured/, in test.csv, one object in each of the 4 sources


def _set_flag(csv: Path, image: str, value: int) -> None:
    lines = csv.read_bytes().decode("utf-8").splitlines(keepends=True)
    head = lines[0].rstrip("\r\n").split(",")
    col = head.index("fractured")
    for i, line in enumerate(lines):
        cells = line.rstrip("\r\n").split(",")
        if cells[0] == image:
            cells[col] = str(value)
            lines[i] = ",".join(cells) + line[len(line.rstrip("\r\n")):]
    csv.write_bytes("".join(lines).encode("utf-8"))


@pytest.fixture(scope="module")
def flipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fracatlas-mini with IMG0000073's dataset.csv flag set to 0, like FracAtlas's IMG0003298."""
    root = tmp_path_factory.mktemp("flip") / "mini"
    shutil.copytree(MINI, root)
    _set_flag(root / "dataset.csv", IMG, 0)
    return root


def _convert(capsys: pytest.CaptureFixture[str], src: Path, out: Path, *args: str) -> tuple[dict, str]:
    assert main(["convert", str(src), str(out), *args]) == 0
    captured = capsys.readouterr()
    return json.loads((out / "manifest.json").read_text(encoding="utf-8")), captured.out + captured.err


EXPECTED = {
    "image": IMG,
    "sources": {"dataset.csv": {"fractured": 0, "fracture_count": 1},
                "coco": {"objects": 1}, "voc": {"objects": 1}, "yolo": {"objects": 1}, "vgg": {"objects": 1}},
    "picked": "fractured",
    "by": "coco",
    "why": "'coco' has 1 object(s) on it: they are written and the image counts as fractured "
           "(split stratum, yolo-cls class); dataset.csv's fractured=0 is overruled",
}  # fmt: skip


def test_yolo_cls_and_yolo_seg_place_the_image_alike_and_say_so(
    capsys: pytest.CaptureFixture[str], flipped: Path, tmp_path: Path
) -> None:
    cls, cls_screen = _convert(capsys, flipped, tmp_path / "cls", "--to", "yolo-cls")
    seg, seg_screen = _convert(capsys, flipped, tmp_path / "seg", "--to", "yolo-seg")
    # yolo-cls: the fractured class folder (before: non_fractured, after the flag)
    assert (tmp_path / "cls" / "test" / "fractured" / IMG).exists()
    assert not (tmp_path / "cls" / "test" / "non_fractured" / IMG).exists()
    # yolo-seg: its object is written, in the same split
    label = (tmp_path / "seg" / "labels" / "test" / IMG.replace(".jpg", ".txt")).read_text(encoding="utf-8")
    assert len(label.splitlines()) == 1 and label.startswith("0 ")
    for manifest, screen in ((cls, cls_screen), (seg, seg_screen)):
        assert manifest["decisions"] == [EXPECTED]
        assert re.search(r"1 image\(s\) where dataset.csv's fractured flag disagrees with the objects of 'coco'.*"
                         r"IMG0000073\.jpg \(dataset\.csv fractured=0, 1 object\(s\) in coco -> fractured\)",
                         " ".join(screen.split()))  # fmt: skip
    splits = (tmp_path / "seg" / "splits.csv").read_text(encoding="utf-8")
    assert re.search(rf"^{IMG},test,1,", splits, re.MULTILINE)  # stratified and counted as fractured


def test_a_flag_without_objects_is_a_negative_named_as_a_decision(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    negative = "IMG0000038.jpg"  # not fractured, no object in any source
    _set_flag(root / "dataset.csv", negative, 1)
    m, _ = _convert(capsys, root, tmp_path / "det", "--to", "yolo-detect", "--source", "voc")
    [d] = m["decisions"]
    assert (d["image"], d["picked"], d["by"]) == (negative, "not fractured", "voc")
    assert d["sources"]["dataset.csv"]["fractured"] == 1 and d["sources"]["voc"] == {"objects": 0}
    assert "written as a negative" in d["why"]
    split = next(s for s in ("train", "val", "test") if (tmp_path / "det" / "labels" / s / "IMG0000038.txt").exists())
    assert (tmp_path / "det" / "labels" / split / "IMG0000038.txt").read_text(encoding="utf-8") == ""


def test_no_decision_when_the_flag_agrees(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m, screen = _convert(capsys, MINI, tmp_path / "cls", "--to", "yolo-cls")
    assert m["decisions"] == []
    assert "disagrees" not in screen
    assert m["class_map"][0]["source_format"] == "image-level (has objects in source 'coco')"
