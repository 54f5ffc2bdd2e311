"""Images over the pixel budget (issue 12): a PNG over Pillow's decompression-bomb limit
and a small JPEG that declares 32000 x 32000 are findings with their size, never an
exception and never a decoded frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.hostile.build import jpeg_declaring, png_bytes
from fracatlas_annot.imaging import decode as dec
from fracatlas_annot.imaging.headers import PIXEL_BUDGET, ImageTooLarge, open_image, over_budget, read_header


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bombs")
    png = d / "bomb.png"
    png.write_bytes(png_bytes(15000, 13000))  # 195 Mpx of zeros, ~200 KB
    jpg = d / "huge.jpg"
    jpg.write_bytes(jpeg_declaring(32000, 32000))  # 1 Gpx declared, 10 KB
    return {"png": png, "jpg": jpg}


def test_budget_is_pillows_error_limit():
    assert PIXEL_BUDGET == 2 * Image.MAX_IMAGE_PIXELS
    assert over_budget(15000, 13000) and not over_budget(13000, 13000)
    assert not over_budget(32000, 32000, scale=8)  # JPEG draft at 1/8: 4000 x 4000
    assert not over_budget(None, 5)


def test_headers_read_the_declared_size_of_a_bomb(bombs):
    w, h, rw, rh, _, _, err, _, _ = read_header(bombs["png"])
    assert (w, h, rw, rh, err) == (15000, 13000, 15000, 13000, None)
    w, h, *_rest = read_header(bombs["jpg"])
    assert (w, h) == (32000, 32000)


def test_open_image_raises_an_oserror_with_the_size(bombs):
    with pytest.raises(ImageTooLarge) as info:
        open_image(bombs["png"])
    assert isinstance(info.value, OSError)
    assert (info.value.width, info.value.height) == (15000, 13000)
    assert "195000000 pixels" in str(info.value)


@pytest.mark.parametrize("kind, size", [("png", "15000 x 13000"), ("jpg", "32000 x 32000")])
def test_scan_reports_without_decoding(bombs, kind, size, monkeypatch):
    def no_decode(*args, **kwargs):
        raise AssertionError("a decoder ran on an image over the pixel budget")

    monkeypatch.setattr(dec, "_decode_cv2", no_decode)
    out = dec.scan_one(str(bombs[kind]))
    assert out["error"].startswith("ImageTooLarge") and size in out["error"]
    assert out["pixel_hash"] is None and out["width"] is None


def test_scan_still_decodes_an_image_under_the_budget(tmp_path):
    p = tmp_path / "ok.png"
    Image.fromarray(np.full((40, 30), 7, dtype=np.uint8)).save(p)
    out = dec.scan_one(str(p))
    assert out["error"] is None and (out["width"], out["height"]) == (30, 40)


def test_report_thumbnail_of_a_bomb_is_a_placeholder(bombs):
    from fracatlas_annot.report.thumbs import Shape, ThumbJob, render_job

    for path in bombs.values():
        job = ThumbJob(path=str(path), shapes=[Shape(source=0, rings=[[0, 0, 100, 0, 100, 100]], box=True)],
                       variants=[(0,)], width=200, height=200)
        (uri,) = render_job(job, size=64)
        assert uri.startswith("data:image/jpeg;base64,")
