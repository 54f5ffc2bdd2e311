"""Real JPEG bytes for the imaging and duplicate-rule tests: synthetic radiographs, re-encodings,
byte and pixel copies."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from fixtures.generate import jpeg_bytes, plan_archive

#: Six distinct synthetic radiographs of one size (373x454, no EXIF rotation).
SPECS = [s for s in plan_archive(40, seed=3) if s.width == 373 and s.height == 454 and s.orientation == 1][:6]


def write(tmp: Path, name: str, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return str(p)


def reencode(data: bytes, quality: int, **kw) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def with_comment(data: bytes) -> bytes:
    """The same JPEG with a COM segment after SOI: the bytes differ, the pixels do not."""
    com = b"\xff\xfe" + (len(b"copy") + 2).to_bytes(2, "big") + b"copy"
    return data[:2] + com + data[2:]


def duplicate_files() -> dict[str, bytes]:
    """Seven images: 1 and 2 byte-identical, 3 and 4 pixel-identical, 5 and 6 near duplicates
    (one radiograph at JPEG quality 95 and 60), 7 alone."""
    a = jpeg_bytes(SPECS[0])
    three = jpeg_bytes(SPECS[1])
    return {
        "IMG0000001.jpg": a,
        "IMG0000002.jpg": a,
        "IMG0000003.jpg": three,
        "IMG0000004.jpg": with_comment(three),
        "IMG0000005.jpg": reencode(jpeg_bytes(SPECS[2]), 95),
        "IMG0000006.jpg": reencode(jpeg_bytes(SPECS[2]), 60),
        "IMG0000007.jpg": jpeg_bytes(SPECS[3]),
    }
