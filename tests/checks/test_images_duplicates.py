"""FA5xx (image files) and FA6xx (duplicates) on real JPEG bytes written to tmp_path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from fixtures.generate import jpeg_bytes
from imaging.samples import SPECS, duplicate_files
from imaging.samples import write as _write

from fracatlas_annot.imaging import decode
from fracatlas_annot.runtime.parallel import use_workers

from .builders import box_source, coco_source, dataset, run, square


def _dup_dataset(tmp: Path, *, fractured: dict[str, int], splits: dict[str, str | None] | None = None):
    imgs = {}
    for k, data in duplicate_files().items():
        imgs[k] = {
            "path": _write(tmp, k, data),
            "file_size": len(data),
            "fractured": fractured.get(k, 0),
            "split": (splits or {}).get(k),
        }
    return dataset(imgs)


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
    from fracatlas_annot.validate import IMAGING_FACTS

    fast = run_rules(
        CheckContext(dataset=ds, fast=True, progress=False, pixel_facts=IMAGING_FACTS),
        [RULES[c] for c in ("FA601", "FA602", "FA603")],
    )
    assert fast["code"].tolist() == ["FA601"]


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


def _jpeg(arr: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, "L").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_blank_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    noisy = np.clip(118 + rng.normal(0, 2, (454, 373)), 0, 255).astype(np.uint8)  # sensor noise, no picture
    two = np.full((454, 373), 0, np.uint8)
    two[:3, :3] = 255  # one bright speck on black: the 32x32 image is almost one level
    files = {
        "U.jpg": _jpeg(np.full((454, 373), 118, np.uint8)),
        "B.jpg": _jpeg(np.zeros((454, 373), np.uint8)),
        "N.jpg": _jpeg(noisy, quality=60),
        "D.jpg": _jpeg(two),
        "A.jpg": jpeg_bytes(SPECS[0]),  # a synthetic radiograph
        "S.jpg": _jpeg(np.full((8, 8), 118, np.uint8)),  # too small: FA506's, not FA507's
        "H.jpg": b"<html>404</html>",  # unreadable: FA501's
    }
    imgs = {k: {"path": _write(tmp_path, k, v)} for k, v in files.items()}
    ds = dataset(imgs)
    got = run("FA507", ds)
    assert sorted(got["image"]) == ["B.jpg", "D.jpg", "N.jpg", "U.jpg"]
    assert set(got["severity"]) == {"error"}
    assert got.set_index("image").loc["U.jpg", "message"].startswith("image is blank: std 0.00 gray levels, entropy 0.00 bits")
    assert all(str(f).endswith(i) for f, i in zip(got["file"], got["image"]))
    from fracatlas_annot.checks.registry import RULES

    assert RULES["FA507"].needs_pixels


def test_labels_in_rotated_frame_are_silent(tmp_path: Path) -> None:
    rot = _exif_jpeg(454, 373, 6)
    imgs = {"R.jpg": {"path": _write(tmp_path, "R.jpg", rot), "orientation": 6, "width": 373, "height": 454}}
    coco = coco_source([("R.jpg", [10, 400, 60, 400, 60, 454])], images={"R.jpg": (373, 454)})
    voc = box_source([("R.jpg", (10, 400, 60, 454))], images={"R.jpg": (373, 454)})
    ds = dataset(imgs, [coco, voc])
    for code in ("FA105", "FA201", "FA202", "FA503", "FA504"):
        assert len(run(code, ds)) == 0, code


class _RecordingFacts:
    """A pixel-facts provider that records what the rule context asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def scan(self, paths, *, keys, progress):
        self.calls.append(("scan", {"keys": list(keys)}))
        from fracatlas_annot.validate import IMAGING_FACTS

        return IMAGING_FACTS.scan(paths, keys=keys, progress=progress)

    def duplicate_groups(self, keys, paths, sizes, *, pixels, progress, scan_result, threshold):
        self.calls.append(("duplicate_groups", {"pixels": pixels, "scanned": scan_result is not None}))
        from fracatlas_annot.validate import IMAGING_FACTS

        return IMAGING_FACTS.duplicate_groups(
            keys, paths, sizes, pixels=pixels, progress=progress, scan_result=scan_result, threshold=threshold
        )


def test_pixel_facts_come_from_the_context_builder_lazily(tmp_path: Path) -> None:
    import pytest

    from fracatlas_annot.checks.registry import CheckContext, run_rules, select_rules
    from fracatlas_annot.errors import UsageError

    ds = _dup_dataset(tmp_path, fractured={})
    facts = _RecordingFacts()
    run_rules(CheckContext(dataset=ds, progress=False, pixel_facts=facts), select_rules("FA1"))
    assert facts.calls == []  # rules that need no pixels ask nothing
    run_rules(CheckContext(dataset=ds, fast=True, progress=False, pixel_facts=facts), select_rules("FA6"))
    assert facts.calls == [("duplicate_groups", {"pixels": False, "scanned": False})]  # --fast: bytes only
    facts.calls.clear()
    found = run_rules(CheckContext(dataset=ds, progress=False, pixel_facts=facts), select_rules(["FA5", "FA6"]))
    assert [c[0] for c in facts.calls] == ["scan", "duplicate_groups"]  # one scan, shared
    assert facts.calls[1][1] == {"pixels": True, "scanned": True}
    assert sorted(facts.calls[0][1]["keys"]) == sorted(ds.images.index)
    assert {"FA601", "FA602", "FA603"} <= set(found["code"])
    with pytest.raises(UsageError, match="no pixel facts"):
        run_rules(CheckContext(dataset=ds, progress=False), select_rules("FA6"))


class _StartingFacts(_RecordingFacts):
    """Also starts the scan early (``start_scan``), as ``validate.IMAGING_FACTS`` does."""

    def start_scan(self, paths, *, keys, progress):
        from fracatlas_annot.validate import IMAGING_FACTS

        from fracatlas_annot.runtime import parallel

        self.calls.append(("start_scan", {"keys": list(keys)}))
        started = IMAGING_FACTS.start_scan(paths, keys=keys, progress=progress)
        self.pool_started = bool(parallel._LIVE)  # workers decoding while the rules run
        calls = self.calls

        class _Collect:
            def result(self):
                calls.append(("scan collected", {}))
                return started.result()

            def close(self):
                started.close()

        return _Collect()


def test_the_scan_starts_before_the_other_rules_which_run_while_it_decodes(tmp_path: Path, monkeypatch) -> None:
    import dataclasses

    import pandas as pd

    from fracatlas_annot.checks.registry import CheckContext, run_rules, select_rules

    ds = _dup_dataset(tmp_path, fractured={})
    rules = select_rules(["FA1", "FA5", "FA6"])
    plain = run_rules(CheckContext(dataset=ds, progress=False, pixel_facts=_RecordingFacts()), rules)
    monkeypatch.setattr(decode, "SCAN_BATCH", 2)  # several batches: the scan really runs in two workers

    facts = _StartingFacts()

    def recorded(r):
        def func(ctx):
            facts.calls.append(("rule", {"code": r.code, "reads_scan": r.reads_scan}))
            return r.func(ctx)

        return dataclasses.replace(r, func=func)

    with use_workers(2):
        found = run_rules(CheckContext(dataset=ds, progress=False, pixel_facts=facts), [recorded(r) for r in rules])
    assert facts.pool_started
    names = [c[0] for c in facts.calls]
    assert names[0] == "start_scan" and "scan" not in names  # started once, before any rule
    ran = [c[1] for c in facts.calls if c[0] == "rule"]
    assert {r["code"] for r in ran} == {r.code for r in rules}
    flags = [r["reads_scan"] for r in ran]
    assert flags == sorted(flags) and flags[0] is False and flags[-1] is True  # readers of the scan last
    first_reader = names.index("rule") + flags.index(True)
    assert names.index("scan collected") > first_reader  # collected by the first rule that reads it
    assert {r["code"] for r in ran if r["reads_scan"]} >= {"FA501", "FA502", "FA507", "FA601", "FA602", "FA603"}
    pd.testing.assert_frame_equal(found, plain)  # the order of the rules does not change the findings


def test_a_started_scan_nobody_reads_is_dropped(tmp_path: Path, monkeypatch) -> None:
    from fracatlas_annot.checks.registry import CheckContext
    from fracatlas_annot.runtime import parallel

    import multiprocessing

    ds = _dup_dataset(tmp_path, fractured={})
    monkeypatch.setattr(decode, "SCAN_BATCH", 2)
    ctx = CheckContext(dataset=ds, progress=False, pixel_facts=_StartingFacts())
    with use_workers(2):
        ctx.start_pixel_scan()
    assert "_scan_started" in ctx.cache and ctx.pixel_facts.pool_started
    ctx.close()
    assert "_scan_started" not in ctx.cache and not parallel._LIVE and multiprocessing.active_children() == []
    fast = CheckContext(dataset=ds, fast=True, progress=False, pixel_facts=_StartingFacts())
    fast.start_pixel_scan()  # --fast: nothing to start
    assert fast.pixel_facts.calls == [] and fast.pixel_scan is None


def test_no_provider_and_no_image_files_still_no_findings_and_no_error() -> None:
    from fracatlas_annot.checks.registry import CheckContext, run_rules, select_rules

    from .builders import dataset as build

    ds = build({"A.jpg": {}, "B.jpg": {}})  # labels only: no image files on disk
    assert len(run_rules(CheckContext(dataset=ds, progress=False), select_rules("FA5"))) == 0
