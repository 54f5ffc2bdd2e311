"""Decoding, pixel and perceptual hashes, and the pixel scan, on real JPEG bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from fixtures.generate import jpeg_bytes, plan_archive
from fracatlas_annot.imaging import decode
from fracatlas_annot.runtime.progress import use_reporter

from runtime.recording import RecordingReporter

from .samples import SPECS, reencode, with_comment, write


def test_phash_survives_jpeg_quality_60_and_separates_distinct_images() -> None:
    originals = [jpeg_bytes(s) for s in SPECS]
    hashes = [decode.phash(decode.decode(io.BytesIO(b))) for b in originals]
    for data, h in zip(originals, hashes):
        again = decode.phash(decode.decode(io.BytesIO(reencode(data, 60))))
        assert int(decode.hamming(h, again)) <= decode.PHASH_THRESHOLD
    # distinct radiographs: either far apart in pHash, or rejected by the thumbnail correlation
    thumbs = np.stack([np.frombuffer(decode.thumbnail(decode.decode(io.BytesIO(b))), np.uint8) for b in originals])
    for i in range(len(originals)):
        for j in range(i + 1, len(originals)):
            near = int(decode.hamming(hashes[i], hashes[j])) <= decode.PHASH_THRESHOLD
            corr = float(decode.thumbnail_correlation(thumbs[i : i + 1], thumbs[j : j + 1])[0])
            assert not (near and corr >= decode.NEAR_CORRELATION)


def test_pixel_hash_ignores_bytes_outside_the_pixels() -> None:
    data = jpeg_bytes(SPECS[0])
    a = decode.decode(io.BytesIO(data))
    b = decode.decode(io.BytesIO(with_comment(data)))
    assert a.shape == (454, 373) and a.dtype == np.uint8
    assert decode.pixel_hash(a) == decode.pixel_hash(b)
    assert decode.pixel_hash(a) != decode.pixel_hash(decode.decode(io.BytesIO(jpeg_bytes(SPECS[1]))))


def test_scan_on_two_processes_equals_inline(tmp_path: Path) -> None:
    paths = [write(tmp_path, f"{i}.jpg", jpeg_bytes(s)) for i, s in enumerate(plan_archive(20, seed=5))]
    par = decode.scan(paths, workers=2, progress=False)
    seq = decode.scan(paths, workers=1, progress=False)
    assert par.drop(columns="thumb").equals(seq.drop(columns="thumb"))
    assert list(par["thumb"]) == list(seq["thumb"])
    assert list(par.index) == paths and par["error"].isna().all()


def test_scan_reports_broken_files_as_rows(tmp_path: Path) -> None:
    good = jpeg_bytes(SPECS[0])
    paths = [
        write(tmp_path, "good.jpg", good),
        write(tmp_path, "cut.jpg", good[: len(good) * 6 // 10]),
        write(tmp_path, "text.jpg", b"<html>404</html>"),
    ]
    frame = decode.scan(paths, keys=["g", "c", "t"], progress=False)
    assert list(frame.index) == ["g", "c", "t"]
    assert pd.isna(frame.loc["g", "error"]) and not frame.loc["g", "truncated"]
    assert frame.loc["c", "truncated"] and pd.isna(frame.loc["c", "error"])
    assert frame.loc["c", "width"] == 373 and frame.loc["c", "height"] == 454
    assert "Error" in frame.loc["t", "error"] and pd.isna(frame.loc["t", "pixel_hash"])


def test_scan_reports_progress_only_when_asked(tmp_path: Path) -> None:
    paths = [write(tmp_path, f"{i}.jpg", jpeg_bytes(s)) for i, s in enumerate(SPECS[:3])]
    rec = RecordingReporter()
    with use_reporter(rec):
        decode.scan(paths, workers=1, progress=False)
        assert rec.events == []
        decode.scan(paths, workers=1)
    assert rec.bars() == [("decoding images", 3)] and sum(rec.advances("decoding images")) == 3


def test_byte_identical_files_are_decoded_once_and_get_the_same_rows(tmp_path: Path, monkeypatch) -> None:
    a, b = jpeg_bytes(SPECS[0]), jpeg_bytes(SPECS[1])
    cut = a[: len(a) * 6 // 10]
    same_size_other = bytearray(b)
    same_size_other[len(b) // 2] ^= 0xFF  # same size as b, other bytes: decoded on its own
    paths = [
        write(tmp_path, "a.jpg", a), write(tmp_path, "b.jpg", b), write(tmp_path, "a2.jpg", a),
        write(tmp_path, "b2.jpg", bytes(same_size_other)), write(tmp_path, "a3.jpg", a),
        write(tmp_path, "cut.jpg", cut), write(tmp_path, "cut2.jpg", cut),
        write(tmp_path, "text.jpg", b"<html>404</html>"), write(tmp_path, "text2.jpg", b"<html>404</html>"),
    ]  # fmt: skip
    expected = pd.DataFrame([decode.scan_one(p) for p in paths], columns=decode.SCAN_COLUMNS,
                            index=pd.Index(paths, dtype=object, name="image"))  # fmt: skip
    expected["phash"] = expected["phash"].astype(object)
    assert list(decode.same_bytes(paths)) == [0, 1, 0, 3, 0, 5, 5, 7, 7]
    assert list(decode.same_bytes(paths, workers=2)) == [0, 1, 0, 3, 0, 5, 5, 7, 7]  # stats and digests in workers
    decoded: list[str] = []
    real = decode._decode_checked
    monkeypatch.setattr(decode, "_decode_checked", lambda p: decoded.append(p) or real(p))
    frame = decode.scan(paths, workers=1, progress=False)
    # the whole pixels are hashed only where shape and 32x32 image repeat (none here):
    # the pixel hashes differ from scan_one's, but are equal exactly where scan_one's are
    pd.testing.assert_frame_equal(frame.drop(columns="pixel_hash"), expected.drop(columns="pixel_hash"))
    assert list(pd.factorize(frame["pixel_hash"])[0]) == list(pd.factorize(expected["pixel_hash"])[0])
    # a.jpg, b.jpg, b2.jpg, cut.jpg once each; text.jpg fails, so its copy is decoded too:
    # each error message names its own file
    assert sorted(decoded) == sorted(paths[i] for i in (0, 1, 3, 5, 7, 8))
    assert frame.loc[paths[6], "truncated"] and frame["error"].notna().sum() == 2


def test_whole_pixels_are_hashed_only_where_shape_and_32x32_image_repeat(tmp_path: Path, monkeypatch) -> None:
    import cv2

    data = jpeg_bytes(SPECS[0])
    base = np.tile(np.arange(64, dtype=np.uint8) * 3, (64, 1))
    swapped = base.copy()
    swapped[0, 0], swapped[0, 1] = base[0, 1], base[0, 0]  # other pixels, same 2x2 area means
    assert decode.thumbnail(base) == decode.thumbnail(swapped)
    png = lambda a: cv2.imencode(".png", a)[1].tobytes()  # lossless: the pixels as written
    paths = [
        write(tmp_path, "a.jpg", data), write(tmp_path, "a_comment.jpg", with_comment(data)),  # same pixels, other bytes
        write(tmp_path, "base.png", png(base)), write(tmp_path, "swapped.png", png(swapped)),  # same key, other pixels
        write(tmp_path, "other.jpg", jpeg_bytes(SPECS[1])),  # a unique image
    ]  # fmt: skip
    decoded: list[str] = []
    real = decode._decode_checked
    monkeypatch.setattr(decode, "_decode_checked", lambda p: decoded.append(p) or real(p))
    frame = decode.scan(paths, workers=1, progress=False)
    full = [decode.pixel_hash(decode.decode(p)) for p in paths]
    ph = frame["pixel_hash"].tolist()
    assert ph[:4] == full[:4] and ph[0] == ph[1] and ph[2] != ph[3]  # the repeated keys: whole pixels hashed
    assert ph[4] != full[4] and ph[4] not in ph[:4]  # the unique one keeps its key hash, unlike every other
    assert sorted(decoded) == sorted(paths + paths[:4])  # decoded once, and again where the key repeats


def test_whole_block_thumbnails_equal_opencv_area_resize() -> None:
    import cv2

    rng = np.random.default_rng(7)
    shapes = [(2880, 2304), (2304, 2880), (64, 64), (64, 96), (96, 96), (96, 160), (320, 32 * 7), (33 * 32, 32)]
    for shape in shapes:
        for a in (rng.integers(0, 256, shape, dtype=np.uint8), np.full(shape, 200, np.uint8),
                  np.tile((np.arange(shape[1]) % 256).astype(np.uint8), (shape[0], 1))):  # fmt: skip
            ref = cv2.resize(a, (32, 32), interpolation=cv2.INTER_AREA)
            assert decode.thumbnail(a) == ref.tobytes(), shape
            low = cv2.dct(ref.astype(np.float32))[:8, :8].ravel()
            assert decode.phash(a) == int(np.packbits(low > np.median(low)).view(">u8")[0])
