"""JPEGs that do not end with their end-of-image marker, as convert writes them for Ultralytics.

FracAtlas has 28 files padded after the marker (decode completely) and 59 cut short. Ultralytics
calls every JPEG whose last two bytes are not FF D9 corrupt and re-encodes it (quality 100: other
pixels; versions before 8.3 even wrote it in place, through our hard link, into the input).
So a padded file is written cut at its marker (the same pixels, ``jpeg-trimmed``), and a cut one
is linked as it is and recorded (``image-truncated``). Ultralytics' own label check on the
written set: tests/formats/test_ultralytics.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from fracatlas_annot.cli import main
from fracatlas_annot.imaging.headers import jpeg_end

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini"
PADDED = {"IMG0000079.jpg": 7667, "IMG0000082.jpg": 52}  # fixtures/generate.py pads them like the real 28


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_padded_jpegs_are_written_cut_at_their_marker_with_the_same_pixels(tmp_path: Path, capsys) -> None:
    before = _digests(MINI)
    out = tmp_path / "seg"
    assert main(["convert", str(MINI), "--to", "yolo-seg", "--source", "coco", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 jpeg-trimmed" in printed
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = {c["image"]: c for c in manifest["changes"] if c["kind"] == "jpeg-trimmed"}
    assert set(rows) == set(PADDED) and not any(c["lossy"] for c in rows.values())
    for name, stray in PADDED.items():
        src = MINI / "images" / "Non_fractured" / name
        (dst,) = out.glob(f"images/*/{name}")
        data = src.read_bytes()
        assert f"{stray:,} stray byte(s)" in rows[name]["message"]
        assert dst.read_bytes() == data[: len(data) - stray]
        assert dst.read_bytes()[-2:] == b"\xff\xd9" and jpeg_end(dst.read_bytes()) == (True, 0)
        assert not dst.samefile(src)  # a file of its own, never a link to the input
        np.testing.assert_array_equal(_pixels(dst), _pixels(src))
    # every other image is written as it is (a hard link where the file system allows); the input is unchanged
    others = [p for p in out.glob("images/*/*.jpg") if p.name not in PADDED]
    assert len(others) == 38 and all(p.read_bytes() == next(MINI.glob(f"images/*/{p.name}")).read_bytes() for p in others)
    assert _digests(MINI) == before


def test_a_cut_jpeg_is_linked_as_it_is_and_recorded(tmp_path: Path, capsys) -> None:
    root = tmp_path / "archive"
    shutil.copytree(MINI, root)
    victim = root / "images" / "Non_fractured" / "IMG0000021.jpg"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # no end-of-image marker: the decoder cannot finish
    out = tmp_path / "out"
    assert main(["convert", str(root), "--to", "yolo-detect", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "1 JPEG(s) cannot be decoded to the end (FA502)" in " ".join(printed.split())
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [c["image"] for c in manifest["changes"] if c["kind"] == "image-truncated"] == ["IMG0000021.jpg"]
    (dst,) = out.glob("images/*/IMG0000021.jpg")
    assert dst.samefile(victim)
