"""Header-only image sizes: EXIF orientation, RGB/grayscale, truncated and non-image files."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from fracatlas_annot.imaging.headers import read_header, read_headers

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini"


def _jpeg(size=(60, 40), mode="L", orientation=None, **kwargs) -> bytes:
    arr = np.random.default_rng(0).integers(0, 255, size=(size[1], size[0]) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    im = Image.fromarray(arr, mode)
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _app1_big_endian(orientation: int) -> bytes:
    """An APP1 Exif segment in Motorola byte order (what many cameras and DICOM converters write)."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    tiff = b"MM" + struct.pack(">HI", 42, 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def test_mini_fixture_matches_pillow_exif_transpose() -> None:
    paths = sorted(MINI.glob("images/*/*.jpg"))
    frame = read_headers(paths)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            shown = ImageOps.exif_transpose(im)
            assert (frame.at[i, "raw_width"], frame.at[i, "raw_height"]) == im.size
            assert (frame.at[i, "width"], frame.at[i, "height"]) == shown.size
            assert frame.at[i, "file_size"] == p.stat().st_size
    assert frame["header_error"].isna().all() and not frame["truncated"].any()
    rotated = frame[frame["orientation"].notna()]
    assert sorted(rotated["orientation"].tolist()) == [6, 8]


@pytest.mark.parametrize(
    ("orientation", "raw", "shown"),
    [(None, (60, 40), (60, 40)), (1, (60, 40), (60, 40)), (3, (60, 40), (60, 40)),
     (5, (60, 40), (40, 60)), (6, (60, 40), (40, 60)), (8, (60, 40), (40, 60))],
    ids=["no-exif", "1", "3", "5", "6", "8"],
)  # fmt: skip
def test_orientation_swaps_width_and_height(tmp_path: Path, orientation, raw, shown) -> None:
    f = tmp_path / "a.jpg"
    f.write_bytes(_jpeg(size=raw, orientation=orientation))
    w, h, rw, rh, o, _size, err, trunc, _trailing = read_header(f)
    assert (rw, rh) == raw and (w, h) == shown and o == orientation and err is None and not trunc


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_gray_and_rgb(tmp_path: Path, mode: str) -> None:
    f = tmp_path / "a.jpg"
    f.write_bytes(_jpeg(size=(373, 454), mode=mode))
    assert read_header(f)[:4] == (373, 454, 373, 454)


def test_progressive_jpeg_and_big_endian_exif(tmp_path: Path) -> None:
    data = _jpeg(size=(50, 30), progressive=True)
    f = tmp_path / "p.jpg"
    f.write_bytes(data[:2] + _app1_big_endian(6) + data[2:])
    assert read_header(f)[:5] == (30, 50, 50, 30, 6)
    with Image.open(f) as im:  # Pillow agrees with the hand-built segment
        assert im.getexif()[0x0112] == 6


def test_large_segment_before_the_frame_header_is_skipped(tmp_path: Path) -> None:
    data = _jpeg(size=(80, 20), orientation=8)
    big = b"\xff\xe2" + struct.pack(">H", 40002) + b"\x00" * 40000  # an ICC-sized APP2 segment
    f = tmp_path / "big.jpg"
    f.write_bytes(data[:2] + big + data[2:])
    assert read_header(f)[:5] == (20, 80, 80, 20, 8)


def test_truncated_jpeg_keeps_its_size_and_says_why(tmp_path: Path) -> None:
    data = _jpeg(size=(64, 64))
    f = tmp_path / "cut.jpg"
    f.write_bytes(data[: len(data) * 2 // 3])
    w, h, *_, err, trunc, _trailing = read_header(f)
    assert (w, h) == (64, 64) and trunc and "end-of-image" in err


def test_jpeg_cut_inside_its_header(tmp_path: Path) -> None:
    data = _jpeg(size=(64, 64), orientation=6)
    f = tmp_path / "head.jpg"
    f.write_bytes(data[:30])
    row = read_header(f)
    assert row[0] is None and row[5] == 30 and row[6].startswith("truncated JPEG header") and row[7]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b"hello, not an image\n", "not an image"), (b"\xff\xd8\xff\xd9", "end of image before the frame header")],
    ids=["empty", "text", "soi-eoi-only"],
)
def test_files_that_are_not_images(tmp_path: Path, content: bytes, expected: str) -> None:
    f = tmp_path / "x.jpg"
    f.write_bytes(content)
    row = read_header(f)
    assert row[0] is None and expected in row[6]


def test_png_goes_through_pillow(tmp_path: Path) -> None:
    f = tmp_path / "a.png"
    Image.new("L", (31, 17)).save(f)
    assert read_header(f)[:4] == (31, 17, 31, 17)


def test_missing_file_is_a_row_not_an_exception(tmp_path: Path) -> None:
    frame = read_headers([tmp_path / "nope.jpg"])
    assert frame.at[0, "header_error"] == "file not found" and frame["width"].isna().all()


def test_two_processes_give_the_same_table(tmp_path: Path) -> None:
    paths = []
    for i, o in enumerate([None, 6, 8, None, 3]):
        f = tmp_path / f"{i}.jpg"
        f.write_bytes(_jpeg(size=(20 + i, 30), orientation=o))
        paths.append(f)
    one = read_headers(paths, workers=1)
    two = read_headers(paths, workers=2)
    assert one.equals(two)
    assert one["width"].tolist() == [20, 30, 30, 23, 24]
    assert str(one["width"].dtype) == "Int64" and one["header_error"].dtype == object


def test_non_image_after_ultralytics_patched_pil(tmp_path, monkeypatch) -> None:
    """Ultralytics replaces PIL.Image.open with a version that imports the optional pi_heif
    plugin for unknown files; offline that raises ImportError. We still report 'not an image'."""
    import os

    from PIL import Image

    from fracatlas_annot.imaging.decode import _open

    def patched_open(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'pi_heif'")

    monkeypatch.setattr(Image, "open", patched_open)
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a jpeg at all")
    row = read_header(bad)
    assert row[6] and "not an image" in row[6]
    from PIL import UnidentifiedImageError

    with pytest.raises(UnidentifiedImageError):
        _open(bad, allow_truncated=True)
    assert os.path.exists(bad)


# --------------------------------------------------------------------------- truncated = the decoder cannot finish


def _pillow_finishes(data: bytes) -> bool:
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except OSError:
        return False
    return True


def _thumbnail_app1(thumb: bytes) -> bytes:
    """An APP1 segment carrying a whole JPEG (its own scan and end marker), as an EXIF thumbnail does."""
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + b"\x00\x00" + thumb
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


@pytest.mark.parametrize(
    ("make", "truncated", "trailing"),
    [
        (lambda d: d, False, 0),
        (lambda d: d + b"\x00" * 325 + d[600:2600].replace(b"\xff\xd9", b""), False, 325 + 2000),  # FracAtlas' padded files
        (lambda d: d[: len(d) - 40], True, 0),  # cut in the scan data: no end marker at all
        (lambda d: d[:2] + _thumbnail_app1(_jpeg((16, 16))) + d[2 : len(d) - 40], True, 0),  # the thumbnail's FFD9 does not count
    ],
    ids=["complete", "stray-after-eoi", "cut", "cut-with-exif-thumbnail"],
)
def test_truncated_means_the_decoder_cannot_finish(tmp_path: Path, make, truncated: bool, trailing) -> None:
    from fracatlas_annot.imaging.decode import scan_one
    from fracatlas_annot.imaging.headers import jpeg_end

    data = make(_jpeg((64, 64), quality=90))
    f = tmp_path / "x.jpg"
    f.write_bytes(data)
    assert _pillow_finishes(data) is not truncated  # the truth: Pillow without LOAD_TRUNCATED_IMAGES
    row = read_header(f)
    assert row[7] is truncated  # header pass (--fast)
    assert row[8] == trailing
    assert scan_one(f)["truncated"] is truncated  # pixel scan (full): the same answer
    assert jpeg_end(data)[0] is not truncated
