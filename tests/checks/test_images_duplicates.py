"""FA5xx (image files) and FA6xx (duplicates) on real JPEG bytes written to tmp_path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from fixtures.generate import jpeg_bytes, plan_archive
from fracatlas_annot import pixels
from fracatlas_annot.duplicates import duplicate_groups

from .builders import box_source, coco_source, dataset, run, square

SPECS = [s for s in plan_archive(40, seed=3) if s.width == 373 and s.height == 454 and s.orientation == 1][:6]


def _write(tmp: Path, name: str, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return str(p)


def _reencode(data: bytes, quality: int, **kw) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def test_phash_survives_jpeg_quality_60_and_separates_distinct_images() -> None:
    originals = [jpeg_bytes(s) for s in SPECS]
    hashes = [pixels.phash(pixels.decode(io.BytesIO(b))) for b in originals]
    for data, h in zip(originals, hashes):
        again = pixels.phash(pixels.decode(io.BytesIO(_reencode(data, 60))))
        assert int(pixels.hamming(h, again)) <= pixels.PHASH_THRESHOLD
    # distinct radiographs: either far apart in pHash, or rejected by the thumbnail correlation
    thumbs = np.stack([np.frombuffer(pixels.thumbnail(pixels.decode(io.BytesIO(b))), np.uint8) for b in originals])
    for i in range(len(originals)):
        for j in range(i + 1, len(originals)):
            near = int(pixels.hamming(hashes[i], hashes[j])) <= pixels.PHASH_THRESHOLD
            corr = float(pixels.thumbnail_correlation(thumbs[i : i + 1], thumbs[j : j + 1])[0])
            assert not (near and corr >= pixels.NEAR_CORRELATION)


def _dup_dataset(tmp: Path, *, fractured: dict[str, int], splits: dict[str, str | None] | None = None):
    a = jpeg_bytes(SPECS[0])
    files = {
        "IMG0000001.jpg": a,
        "IMG0000002.jpg": a,  # byte copy
        "IMG0000003.jpg": jpeg_bytes(SPECS[1]),
        "IMG0000004.jpg": None,  # same pixels, other bytes (a JPEG comment)
        "IMG0000005.jpg": _reencode(jpeg_bytes(SPECS[2]), 95),
        "IMG0000006.jpg": _reencode(jpeg_bytes(SPECS[2]), 60),  # near duplicate of 5
        "IMG0000007.jpg": jpeg_bytes(SPECS[3]),
    }
    files["IMG0000004.jpg"] = _with_comment(files["IMG0000003.jpg"])
    imgs = {}
    for k, data in files.items():
        imgs[k] = {
            "path": _write(tmp, k, data),
            "file_size": len(data),
            "fractured": fractured.get(k, 0),
            "split": (splits or {}).get(k),
        }
    return dataset(imgs)


def _with_comment(data: bytes) -> bytes:
    # insert a COM segment after SOI: bytes differ, pixels do not
    com = b"\xff\xfe" + (len(b"copy") + 2).to_bytes(2, "big") + b"copy"
    return data[:2] + com + data[2:]


def test_duplicate_groups_kinds(tmp_path: Path) -> None:
    ds = _dup_dataset(tmp_path, fractured={})
    g = duplicate_groups(ds, progress=False)
    groups = {
        kind: sorted(map(tuple, (sorted(x["image"]) for _, x in g[g.kind == kind].groupby("group"))))
        for kind in ("byte", "pixel", "near")
    }
    assert groups["byte"] == [("IMG0000001.jpg", "IMG0000002.jpg")]
    assert groups["pixel"] == [("IMG0000003.jpg", "IMG0000004.jpg")]
    assert groups["near"] == [("IMG0000005.jpg", "IMG0000006.jpg")]
    # without pixels, byte groups only (no decoding)
    fast = duplicate_groups(ds, pixels=False, progress=False)
    assert set(fast["kind"]) == {"byte"}


def test_group_severity_conflict_leakage_or_warning(tmp_path: Path) -> None:
    ds = _dup_dataset(
        tmp_path,
        fractured={"IMG0000003.jpg": 1},  # pixel group with conflicting labels
        splits={"IMG0000005.jpg": "train", "IMG0000006.jpg": "test"},  # near group across splits
    )
    byte = run("FA601", ds)
    assert byte[["image", "severity"]].values.tolist() == [["IMG0000001.jpg", "warning"]]
    pix = run("FA602", ds)
    assert pix.iloc[0].severity == "error" and "conflicting labels" in pix.iloc[0].message
    near = run("FA603", ds)
    assert near.iloc[0].severity == "error" and "(leakage)" in near.iloc[0].message
    # --fast: pixel rules are skipped, byte groups are still found
    from fracatlas_annot.checks.registry import RULES, CheckContext, run_rules

    fast = run_rules(
        CheckContext(dataset=ds, fast=True, progress=False), [RULES[c] for c in ("FA601", "FA602", "FA603")]
    )
    assert fast["code"].tolist() == ["FA601"]


def test_scan_on_two_processes_equals_inline(tmp_path: Path) -> None:
    paths = [_write(tmp_path, f"{i}.jpg", jpeg_bytes(s)) for i, s in enumerate(plan_archive(20, seed=5))]
    par = pixels.scan(paths, workers=2, progress=False)
    seq = pixels.scan(paths, workers=1, progress=False)
    assert par.drop(columns="thumb").equals(seq.drop(columns="thumb"))
    assert list(par["thumb"]) == list(seq["thumb"])


def _exif_jpeg(w: int, h: int, orientation: int) -> bytes:
    im = Image.fromarray(np.full((h, w), 128, np.uint8), "L")
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_image_rules(tmp_path: Path) -> None:
    good = jpeg_bytes(SPECS[0])
    rot = _exif_jpeg(454, 373, 6)  # stored 454x373, displayed 373x454
    imgs = {
        "A.jpg": {"path": _write(tmp_path, "A.jpg", good)},
        "R.jpg": {"path": _write(tmp_path, "R.jpg", rot), "orientation": 6, "width": 373, "height": 454},
        "T.jpg": {"path": _write(tmp_path, "T.jpg", good[: len(good) * 6 // 10])},
        "H.jpg": {"path": _write(tmp_path, "H.jpg", b"<html>404</html>"), "header_error": "cannot identify image file"},
        "S.jpg": {"path": _write(tmp_path, "S.jpg", _exif_jpeg(8, 8, 1)), "width": 8, "height": 8},
        "W.jpg": {"path": _write(tmp_path, "W.jpg", good)},
    }
    coco = coco_source(
        [("A.jpg", square(10, 10, 20)), ("R.jpg", square(10, 10, 20)), ("W.jpg", square(10, 10, 20))],
        images={"A.jpg": (373, 454), "R.jpg": (454, 373), "W.jpg": (746, 908)},
    )
    ds = dataset(imgs, [coco])
    assert run("FA501", ds)["image"].tolist() == ["H.jpg"]
    assert run("FA502", ds)["image"].tolist() == ["T.jpg"]
    raw = run("FA504", ds)
    assert raw["image"].tolist() == ["R.jpg"]
    assert "EXIF orientation 6 makes the image 373x454" in raw.iloc[0].message
    assert run("FA503", ds)["image"].tolist() == ["W.jpg"]
    assert run("FA505", ds)["image"].tolist() == ["R.jpg"]
    assert run("FA506", ds)["image"].tolist() == ["S.jpg"]


def test_labels_in_rotated_frame_are_silent(tmp_path: Path) -> None:
    rot = _exif_jpeg(454, 373, 6)
    imgs = {"R.jpg": {"path": _write(tmp_path, "R.jpg", rot), "orientation": 6, "width": 373, "height": 454}}
    coco = coco_source([("R.jpg", [10, 400, 60, 400, 60, 454])], images={"R.jpg": (373, 454)})
    voc = box_source([("R.jpg", (10, 400, 60, 454))], images={"R.jpg": (373, 454)})
    ds = dataset(imgs, [coco, voc])
    for code in ("FA105", "FA201", "FA202", "FA503", "FA504"):
        assert len(run(code, ds)) == 0, code
