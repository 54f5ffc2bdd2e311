"""LabelImg VOC beside EXIF-rotated phone photos (issue 11): the boxes are in the stored frame
(LabelImg ignores EXIF); Ultralytics reads the images upright, so convert turns them into the
displayed frame and records it, never writing misplaced boxes with exit 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from fracatlas_annot.cli import main
from fracatlas_annot.convert.exif_frame import stored_to_displayed

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
LABELIMG = ROOT / "producers" / "labelimg-voc-jpg"


def _truth() -> dict:
    return json.loads((ROOT / "producers" / "manifest.json").read_text(encoding="utf-8"))["cases"]["labelimg-voc-jpg"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labelimg") / "det"
    assert main(["convert", str(LABELIMG), str(out), "--to", "yolo-detect", "--split", "none"]) == 0
    return out


def test_rotated_photos_get_their_displayed_boxes(converted: Path) -> None:
    label = (converted / "labels" / "train" / "IMG_20240312_101500.txt").read_text(encoding="utf-8")
    assert label == "0 0.572917 0.394531 0.229167 0.164062\n"  # before: 0.526042 0.320312 0.218750 0.171875
    assert (converted / "labels" / "train" / "IMG_20240312_101604.txt").read_text(encoding="utf-8") == (
        "0 0.645833 0.390625 0.250000 0.187500\n"
    )
    # every written box is the manifest's displayed truth, normalised by the size Ultralytics sees
    for name, im in _truth()["images"].items():
        with Image.open(LABELIMG / name) as img:
            w, h = ImageOps.exif_transpose(img).size
        assert [w, h] == im["displayed_size"]
        want = sorted(
            f"0 {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}"
            for x, y, bw, bh in (o["displayed_bbox"] for o in im["objects"])
        )
        got = (converted / "labels" / "train" / Path(name).with_suffix(".txt").name).read_text(encoding="utf-8")
        assert sorted(got.splitlines()) == want, name


def test_the_turn_is_recorded_as_a_change(converted: Path) -> None:
    m = json.loads((converted / "manifest.json").read_text(encoding="utf-8"))
    assert m["change_counts"] == {"exif-frame-rotated": 2}
    assert not m["lossy"]
    rows = sorted((c["image"], c["file"], c["message"]) for c in m["changes"])
    assert rows[0] == (
        "IMG_20240312_101500.JPG",
        "IMG_20240312_101500.xml",
        ("in the stored pixels of an image with EXIF orientation 6 (the source declares the stored size, 128x96): "
         "turned into the displayed 96x128 frame that Ultralytics reads"),
    )
    assert rows[1][0] == "IMG_20240312_101604.JPG" and "EXIF orientation 8" in rows[1][2]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_turn_is_what_exif_transpose_does_to_the_pixels(tmp_path: Path, orientation: int) -> None:
    stored = np.zeros((6, 10), dtype=np.uint8)  # 10 x 6 stored
    stored[1, 7] = 255  # the pixel spanning x 7..8, y 1..2
    p = tmp_path / "a.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(p, exif=exif)
    with Image.open(p) as img:
        shown = np.asarray(ImageOps.exif_transpose(img))
    ys, xs = np.nonzero(shown)
    corners = stored_to_displayed(np.array([[7.0, 1.0], [8.0, 2.0]]), orientation, 10, 6)
    assert (corners[:, 0].min(), corners[:, 1].min()) == (xs[0], ys[0])
    assert (corners[:, 0].max(), corners[:, 1].max()) == (xs[0] + 1, ys[0] + 1)


def test_a_swapped_size_with_displayed_boxes_is_written_as_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # defects: IMG0000019 (orientation 6) has a VOC <size> of the raw 454x373, but its box is in the
    # displayed frame, where the COCO polygon (declaring 373x454) lies: no turn, and a note says so
    out = tmp_path / "det"
    assert main(["convert", str(ROOT / "defects"), str(out), "--to", "yolo-detect", "--source", "voc",
                 "--split", "none", "--allow-lossy"]) == 0  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert ("1 image(s) whose source declares the stored (raw) size but whose boxes match another source in the "
            "displayed frame: written as read: IMG0000019.jpg") in err  # fmt: skip
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "exif-frame-rotated" not in m["change_counts"]


def test_a_source_that_draws_on_stored_pixels_does_so_on_every_rotated_photo(tmp_path: Path) -> None:
    # a copy whose 101604 XML gives no evidence of its frame: its <size> removed (LabelImg always
    # writes one, but a hand-edited file may not); the other photo proves the stored frame
    root = tmp_path / "labelimg"
    shutil.copytree(LABELIMG, root)
    xml = root / "IMG_20240312_101604.xml"
    text = xml.read_text(encoding="utf-8")
    start, end = text.index("\t<size>"), text.index("</size>\n") + len("</size>\n")
    xml.write_text(text[:start] + text[end:], encoding="utf-8")
    out = tmp_path / "det"
    assert main(["convert", str(root), str(out), "--to", "yolo-detect", "--split", "none"]) == 0
    assert (out / "labels" / "train" / "IMG_20240312_101604.txt").read_text(encoding="utf-8") == (
        "0 0.645833 0.390625 0.250000 0.187500\n"
    )
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    msg = next(c["message"] for c in m["changes"] if c["image"] == "IMG_20240312_101604.JPG")
    assert "(the source draws on stored pixels elsewhere, 128x96)" in msg
