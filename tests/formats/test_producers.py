"""Other producers' files (fixtures/producers/, truth in its manifest.json) read right and
judged fairly (issue 11): exact objects, geometry kind, findings and convert outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fracatlas_annot as fa
from fracatlas_annot.cli import main

PRODUCERS = Path(__file__).resolve().parents[2] / "fixtures" / "producers"


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads((PRODUCERS / "manifest.json").read_text(encoding="utf-8"))["cases"]


def _codes(result: Any) -> dict[str, int]:
    f = result.findings
    return {str(k): int(v) for k, v in f["code"].value_counts().sort_index().items()} if len(f) else {}


def _boxes(src: Any) -> list[tuple[str, str, list[float]]]:
    o = src.objects.sort_values(["image", "x0", "y0"])
    return [(i, lbl, [round(float(v), 3) for v in (x0, y0, x1 - x0, y1 - y0)])
            for i, lbl, x0, y0, x1, y1 in zip(o["image"], o["label"], o["x0"], o["y0"], o["x1"], o["y1"])]


def _truth_boxes(case: dict[str, Any]) -> list[tuple[str, str, list[float]]]:
    rows = [(name, ob["label"], [round(float(v), 3) for v in ob["bbox"]])
            for name, im in case["images"].items() for ob in im["objects"]]
    return sorted(rows, key=lambda r: (r[0], r[2][0], r[2][1]))


# --------------------------------------------------------------------------- #2 box-only COCO


def test_cvat_box_coco_is_a_detection_set_without_fa108(truth: dict[str, Any]) -> None:
    path = PRODUCERS / "cvat-coco-boxes" / "annotations" / "instances_default.json"
    ds = fa.read(path)
    src = ds.sources["coco"]
    assert src.geometry == "box"
    assert _boxes(src) == _truth_boxes(truth["cvat-coco-boxes"])
    result = fa.validate(path)
    assert "FA108" not in _codes(result)


def test_mixed_coco_still_reports_polygon_missing(tmp_path: Path) -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "fracture"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "segmentation": []},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 50,
             "segmentation": [[50, 50, 60, 50, 60, 60]]},
        ],
    }
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc))
    assert fa.read(path).sources["coco"].geometry == "polygon"
    found = fa.validate(path).findings
    assert found[found["code"] == "FA108"]["message"].tolist() == ["object has no polygon"]
