"""Every producer case of ``fixtures/producers`` through the CLI as a user runs it (issue 11,
"done when"): ``info`` counts and geometry kind, ``validate`` exit code and exact findings by
rule, and the ``convert`` outcome (exit code, objects in and out, what ``manifest.json`` lists
as lost). The expected values come from the case's truth in ``manifest.json`` where it states
them; the findings are pinned exactly so that a new false error on a real producer's bytes fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fracatlas_annot.cli import main

PRODUCERS = Path(__file__).resolve().parents[1] / "fixtures" / "producers"
TRUTH = json.loads((PRODUCERS / "manifest.json").read_text(encoding="utf-8"))["cases"]

# case, extra args, validate exit, findings by rule, convert target, convert exit (no --allow-lossy),
# objects written, read problems listed as lost
CASES = [
    ("roboflow-coco", [], 0, {"FA000": 3, "FA019": 1}, "yolo-detect", 0, 6, 0),  # 3 placeholder notes, 1 unlisted image
    ("cvat-coco-boxes", [], 0, {}, "yolo-detect", 0, 4, 0),
    ("cvat-coco-polygons", [], 0, {}, "yolo-seg", 0, 4, 0),  # rasterised areas are not FA205
    ("via2-polyline", [], 1, {"FA000": 1}, "yolo-seg", 1, 4, 1),  # the open polyline: an error, lost
    ("yolo-predictions-detect", ["--names", "fracture"], 0, {}, "yolo-detect", 0, 4, 0),
    ("yolo-predictions-segment", ["--names", "fracture"], 0, {}, "yolo-seg", 0, 3, 0),
    ("makesense-csv-spaces", [], 0, {}, "yolo-detect", 0, 4, 0),
    ("labelimg-voc-jpg", [], 1, {"FA504": 2, "FA505": 2}, "yolo-detect", 0, 4, 0),  # raw declared size: an error to fix
    ("fracatlas-copy-labels-only", ["--names", "fractured"], 1, {"FA404": 1}, "yolo-detect", 0, 5, 0),  # no image file
]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("case", "extra", "v_exit", "by_rule", "target", "c_exit", "written", "lost"), CASES,
                         ids=[c[0] for c in CASES])
def test_producer_case_end_to_end(case: str, extra: list[str], v_exit: int, by_rule: dict[str, int], target: str,
                                  c_exit: int, written: int, lost: int, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    truth: dict[str, Any] = TRUTH[case]
    path = str(PRODUCERS / case)

    code, out = _run(["info", path, *extra, "--json"], capsys)
    info = json.loads(out)
    assert code == 0
    (source,) = info["sources"].values()
    expected_info = truth["expected"]["info"]
    assert source["geometry"] == expected_info.get("geometry", truth["geometry"]) == truth["geometry"]
    assert source["objects"] == truth["counts"]["objects"] - lost
    assert info["images"] == truth["counts"]["images"]
    if "images_on_disk" in expected_info:
        assert info["images_on_disk"] == expected_info["images_on_disk"]
    else:
        assert info["images_on_disk"] == info["images"]  # every image found, beside or in images/
    # the labels drawn; a CVAT file also lists its project's unused labels ('plate')
    assert set(truth["labels"]) <= set(source["labels"]) <= set(truth["labels"]) | {"plate"}

    code, out = _run(["validate", path, *extra, "--output-format", "json", "--no-progress"], capsys)
    doc = json.loads(out)
    assert (code, doc["summary"]["by_rule"]) == (v_exit, by_rule)
    assert not set(truth["expected"].get("validate", {}).get("must_not_report", [])) & set(by_rule)
    assert all(not Path(f["file"]).is_absolute() for f in doc["findings"] if f.get("file"))

    out_dir = tmp_path / "out"
    code, _ = _run(["convert", path, *extra, "--to", target, str(out_dir), "--no-progress"], capsys)
    assert code == c_exit
    if c_exit:  # refused: nothing written; accepted with --allow-lossy, the loss is listed
        assert not out_dir.exists()
        code, _ = _run(["convert", path, *extra, "--to", target, str(out_dir), "--no-progress", "--allow-lossy"], capsys)
        assert code == 0
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["counts"]["objects_in"], manifest["counts"]["objects_out"]) == (written, written)
    assert manifest["change_counts"].get("read-problem", 0) == lost
    rows = [line for p in (out_dir / "labels").rglob("*.txt") for line in p.read_text().splitlines()]
    assert len(rows) == written
    fields = {len(r.split()) for r in rows}
    assert fields == {5} if target == "yolo-detect" else min(fields) >= 7 and all(f % 2 for f in fields)
