"""Thumbnails: EXIF correction, overlay placement, highlight, placeholders, parallel rendering."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from fracatlas_annot.report.thumbs import HIGHLIGHT, Shape, ThumbJob, render_all, render_job, rings_of
from fracatlas_annot.runtime.progress import use_reporter
from runtime.recording import RecordingReporter


def decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert im.format == "JPEG"
    return np.asarray(im.convert("RGB")).astype(int)


def red_mask(px: np.ndarray) -> np.ndarray:
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    return (r > 170) & (g < 100) & (b < 100)


@pytest.fixture
def rotated_jpeg(tmp_path: Path) -> Path:
    """Stored 200 wide x 100 high, EXIF orientation 6: displayed 100 wide x 200 high."""
    path = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("L", (200, 100), 40).save(path, exif=exif, quality=95)
    return path


def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def test_exif_rotated_image_is_drawn_in_the_displayed_frame(rotated_jpeg: Path) -> None:
    # the labelled object sits bottom-left of the *displayed* image (makesense's frame)
    job = ThumbJob(path=str(rotated_jpeg), shapes=[Shape(source=0, rings=[box(10, 150, 40, 190)], box=True)], variants=[(0,)])
    (uri,) = render_job(job, size=100)
    px = decode(uri)
    assert px.shape[:2] == (100, 50)  # height 100, width 50: rotated, shrunk to 100 px
    red = red_mask(px)
    ys, xs = np.nonzero(red)
    assert red.sum() > 20
    assert xs.max() < 25 and ys.min() > 70  # bottom-left quarter only


def test_only_the_highlighted_object_is_red(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("L", (400, 400), 30).save(path)
    shapes = [Shape(source=1, rings=[box(20, 20, 120, 120)], box=True), Shape(source=0, rings=[box(250, 250, 380, 380)])]
    job = ThumbJob(path=str(path), shapes=shapes, variants=[(), (1,)])
    plain, flagged = (decode(u) for u in render_job(job, size=100))
    assert not red_mask(plain).any()
    ys, xs = np.nonzero(red_mask(flagged))
    assert xs.min() >= 55 and ys.min() >= 55  # the second object, in the lower right
    # the first object is drawn in its source colour (palette entry 1: sky blue) in both
    blue = (plain[..., 2] > 170) & (plain[..., 0] < 140)
    assert blue[:35, :35].any()


def test_missing_or_broken_file_gives_placeholder_with_the_labels(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    shapes = [Shape(source=0, rings=[box(0, 0, 100, 300)], box=True)]
    for path in (None, str(bad), str(tmp_path / "absent.jpg")):
        job = ThumbJob(path=path, shapes=shapes, variants=[(0,)], width=200, height=400)
        (uri,) = render_job(job, size=80)
        px = decode(uri)
        assert px.shape[:2] == (80, 40)  # declared aspect kept
        assert red_mask(px).any()


def test_parallel_rendering_keeps_order_and_bytes(tmp_path: Path) -> None:
    jobs = []
    for i in range(5):
        path = tmp_path / f"{i}.png"
        Image.new("L", (200, 40 + 30 * i), 20 * i).save(path)
        jobs.append(ThumbJob(path=str(path), shapes=[Shape(0, [box(5, 5, 50, 50)])], variants=[(), (0,)]))
    rec = RecordingReporter()
    with use_reporter(rec):
        serial = render_all(jobs, size=64, workers=1)
        parallel = render_all(jobs, size=64, workers=2, chunk=1, progress=False)
    assert parallel == serial
    assert rec.bars() == [("rendering thumbnails", 5)] and sum(rec.advances("rendering thumbnails")) == 5
    heights = [decode(u[0]).shape[0] for u in parallel]
    assert heights == sorted(heights) and len(set(heights)) == 5  # order preserved


def test_rings_of_multipolygon_and_empty() -> None:
    mp = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    rings = rings_of(mp)
    assert len(rings) == 2 and all(len(r) == 10 for r in rings)
    assert rings_of(None) == [] and rings_of(shapely.Polygon()) == []


def test_highlight_colour_is_not_a_source_colour() -> None:
    from fracatlas_annot.report.thumbs import PALETTE

    assert HIGHLIGHT not in PALETTE


def test_nan_and_huge_coordinates_are_drawn_quickly(tmp_path: Path) -> None:
    # a NaN vertex (FA106) and a vertex at 1e12 (FA105) once made Pillow rasterise for minutes
    path = tmp_path / "p.png"
    Image.new("L", (300, 300), 30).save(path)
    nan = float("nan")
    shapes = [Shape(0, [[10, 10, 100, nan, 100, 100, 10, 100]]), Shape(1, [[20, 20, 1e12, 20, 20, 1e12]])]
    job = ThumbJob(path=str(path), shapes=shapes, variants=[(0,), (1,)])
    a, b = (decode(u) for u in render_job(job, size=100))
    assert red_mask(a).any() and red_mask(b).any()
