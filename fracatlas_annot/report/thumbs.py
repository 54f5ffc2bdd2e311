"""Thumbnails of flagged images with every source's boxes and polygons drawn on top.

The work unit is one image (:class:`ThumbJob`): it is decoded once (JPEG draft mode, so
a 2,000 px radiograph decodes at 1/4 or 1/8 scale), EXIF-corrected with
``ImageOps.exif_transpose`` (labels live in the rotated frame makesense.ai draws in), shrunk
to ``size`` px on its long side, and then drawn once per *variant*: a set of shapes to
highlight (the objects a finding points at). Each variant comes back as a small JPEG
``data:`` URI.

Jobs hold only plain tuples and lists, so they can be sent to worker processes; this module
imports nothing heavier than Pillow so that workers start fast.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Iterable, Sequence

from PIL import Image, ImageDraw, ImageOps

from ..imaging.headers import ImageTooLarge, open_image, over_budget
from ..runtime.parallel import parallel_map

#: Colours given to sources in order (colour-blind-safe Okabe-Ito palette, no red:
#: red is kept for the highlighted object).
PALETTE: tuple[str, ...] = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#cc79a7", "#ffffff", "#999999")
HIGHLIGHT = "#ff1f1f"

#: EXIF orientations that swap width and height.
_SWAPS = {5, 6, 7, 8}


@dataclass
class Shape:
    """One object to draw: its source's index in the legend and its outline.

    ``rings`` holds closed outlines as flat ``[x0, y0, x1, y1, ...]`` lists in pixels of
    the EXIF-corrected image; a box-only object has one ring with its four corners.
    """

    source: int
    rings: list[list[float]]
    box: bool = False


@dataclass
class ThumbJob:
    """One image to render: where it is, its shapes, and the highlight sets to draw."""

    path: str | None
    shapes: list[Shape]
    variants: list[tuple[int, ...]]
    width: int | None = None  # EXIF-corrected size, used when the file cannot be decoded
    height: int | None = None
    label: str = ""
    colors: Sequence[str] = field(default_factory=lambda: PALETTE)


def _open_small(path: str, size: int, mode: str = "RGB") -> Image.Image:
    """Decode ``path`` at reduced scale, EXIF-corrected, in ``mode``, at most ``size`` px a side."""
    with open_image(path) as im:
        raw_w, raw_h = im.size
        try:
            orientation = int(im.getexif().get(0x0112, 1) or 1)
        except Exception:  # noqa: BLE001 - a broken EXIF block: draw unrotated
            orientation = 1
        if im.format == "JPEG":
            im.draft("RGB" if im.mode not in ("L", "LA") else "L", (size, size))
        if over_budget(*im.size):  # the (drafted) frame is what load() would allocate
            raise ImageTooLarge(raw_w, raw_h)
        im.load()
        small = ImageOps.exif_transpose(im)
        if small is None:  # pragma: no cover - older Pillow returned None when unchanged
            small = im
        small = small.convert(mode)
    full_w, full_h = (raw_h, raw_w) if orientation in _SWAPS else (raw_w, raw_h)
    small.thumbnail((size, size), Image.Resampling.BILINEAR)
    small.info["full_size"] = (full_w, full_h)
    return small


def _placeholder(job: ThumbJob, size: int, reason: str) -> Image.Image:
    w = job.width or size
    h = job.height or size
    scale = size / max(w, h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    im = Image.new("RGB", (tw, th), "#3a3a3a")
    d = ImageDraw.Draw(im)
    d.line([(0, 0), (tw - 1, th - 1)], fill="#5a5a5a")
    d.line([(0, th - 1), (tw - 1, 0)], fill="#5a5a5a")
    d.text((4, 4), reason[:28], fill="#ffffff")
    im.info["full_size"] = (w, h)
    return im


def _points(ring: Sequence[float], sx: float, sy: float, *, limit: float) -> list[tuple[float, float]]:
    """Scaled vertices; NaN / infinite ones dropped, far-away ones pulled in to ``limit``
    (Pillow spends minutes rasterising a line to a NaN or 1e12 end point)."""
    out = []
    for k in range(0, len(ring) - 1, 2):
        x, y = ring[k] * sx, ring[k + 1] * sy
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        out.append((min(max(x, -limit), limit), min(max(y, -limit), limit)))
    return out


def _draw(base: Image.Image, job: ThumbJob, highlight: tuple[int, ...]) -> Image.Image:
    im = base.copy()
    full_w, full_h = base.info["full_size"]
    sx = im.width / max(full_w, 1)
    sy = im.height / max(full_h, 1)
    d = ImageDraw.Draw(im)
    hl = set(highlight)
    order = [i for i in range(len(job.shapes)) if i not in hl] + [i for i in highlight if 0 <= i < len(job.shapes)]
    for i in order:
        shape = job.shapes[i]
        colour = job.colors[shape.source % len(job.colors)]
        for ring in shape.rings:
            pts = _points(ring, sx, sy, limit=4.0 * max(im.width, im.height))
            if not pts:
                continue
            if len(pts) == 1:
                pts = pts * 2
            pts.append(pts[0])
            if i in hl:
                d.line(pts, fill=HIGHLIGHT, width=4, joint="curve")
                d.line(pts, fill=colour, width=1)
            else:
                d.line(pts, fill=colour, width=1 if not shape.box else 1)
    return im


def render_large(path: str | None, size: int = 1024, quality: int = 80) -> tuple[str, int, int] | None:
    """The whole image, EXIF-corrected, at most ``size`` px on its long side, as a greyscale
    JPEG ``data:`` URI (the report draws the objects over it as SVG, so no colour is
    needed), with the EXIF-corrected full size the objects' coordinates refer to.
    None when there is no file or it does not decode."""
    if path is None:
        return None
    try:
        im = _open_small(path, size, mode="L")
    except Exception:  # noqa: BLE001 - the per-image view falls back to the outlines alone
        return None
    full_w, full_h = im.info["full_size"]
    return _encode(im, quality), int(full_w), int(full_h)


def render_large_all(paths: Sequence[str | None], *, size: int = 1024, quality: int = 80, workers: int | None = None, progress: bool = True) -> list[tuple[str, int, int] | None]:
    """:func:`render_large` for each path, in order (see :func:`render_all` for ``workers``)."""
    return parallel_map(
        partial(render_large, size=size, quality=quality),
        list(paths),
        workers=workers,
        batch_size=8,
        min_items=64,
        label="rendering large images" if progress else None,
    )


def _encode(im: Image.Image, quality: int) -> str:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_job(job: ThumbJob, size: int = 160, quality: int = 80) -> list[str]:
    """Render every variant of ``job``; one ``data:image/jpeg`` URI per variant.

    A file that is missing or does not decode gives a grey placeholder of the declared size
    with the shapes still drawn, so a finding on a broken image still shows its labels.
    """
    if job.path is None:
        base = _placeholder(job, size, "no image file")
    else:
        try:
            base = _open_small(job.path, size)
        except Exception as exc:  # noqa: BLE001 - any decoding failure becomes a placeholder
            base = _placeholder(job, size, f"unreadable: {type(exc).__name__}")
    return [_encode(_draw(base, job, v), quality) for v in job.variants]


def render_all(
    jobs: Sequence[ThumbJob],
    *,
    size: int = 160,
    quality: int = 80,
    workers: int | None = None,
    chunk: int = 32,
    min_parallel: int = 256,
    progress: bool = True,
) -> list[list[str]]:
    """Render ``jobs`` (in order) through :func:`fracatlas_annot.runtime.parallel.parallel_map`.

    ``workers`` processes when given; by default two from more than ``min_parallel``
    images on (a thumbnail costs about 2 ms, JPEG draft decoding at 1/8 scale, so smaller
    sets are not worth a process). ``chunk`` images go to a worker at a time; ``progress``
    reports "rendering thumbnails".
    """
    return parallel_map(
        partial(render_job, size=size, quality=quality),
        list(jobs),
        workers=workers,
        batch_size=chunk,
        min_items=min_parallel,
        label="rendering thumbnails" if progress else None,
    )


def rings_of(geom: object) -> list[list[float]]:
    """Exterior rings of a shapely Polygon / MultiPolygon as flat coordinate lists."""
    if geom is None:
        return []
    geoms: Iterable = getattr(geom, "geoms", None) or [geom]
    out = []
    for g in geoms:
        ext = getattr(g, "exterior", None)
        if ext is None or g.is_empty:
            continue
        out.append([float(v) for xy in ext.coords for v in xy])
    return out
