"""What `convert` writes, `validate` reads back clean: every annotation target, and a
multi-part object written with zero-width bridges (Ultralytics' own encoding)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely

from fracatlas_annot.checks.geometry import _bridged_rings
from fracatlas_annot.convert import convert
from fracatlas_annot.formats import read
from fracatlas_annot.validate import validate

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "fracatlas-mini"


@pytest.mark.parametrize(
    "target, source, fmt, n_objects",
    [
        pytest.param("yolo-seg", "coco", "ultralytics", 13, id="yolo-seg"),
        pytest.param("yolo-detect", "voc", "ultralytics", 13, id="yolo-detect"),
        pytest.param("coco", "coco", "makesense", 13, id="coco"),  # a folder holding one COCO file
        pytest.param("voc", "voc", "voc", 13, id="voc"),
        pytest.param("makesense", "coco", "makesense", 13, id="makesense"),
    ],
)
def test_written_output_reads_back_and_validates_clean(tmp_path, target, source, fmt, n_objects):
    out = tmp_path / "out"
    convert(MINI, to=target, out=out, source=source, progress=False)
    ds = read(out)
    assert ds.format == fmt
    assert "manifest" not in " ".join(ds.sources)  # our manifest.json is not an annotation source
    assert max(len(s.objects) for s in ds.sources.values()) == n_objects
    findings = validate(ds, fast=True, progress=False).findings
    assert findings[findings["severity"] != "info"].empty, findings[["code", "image", "message"]].to_string()


def test_bridged_multipart_object_is_not_an_invalid_polygon(tmp_path):
    copy = tmp_path / "mini"
    shutil.copytree(MINI, copy)
    coco = copy / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json"
    doc = json.loads(coco.read_text())
    doc["annotations"][0]["segmentation"].append([100, 100, 130, 100, 130, 130, 100, 130])
    coco.write_text(json.dumps(doc, separators=(",", ":")))
    out = tmp_path / "seg"
    manifest = convert(copy, to="yolo-seg", out=out, source="coco", multipart="bridge", progress=False)
    assert manifest["change_counts"]  # the bridge is recorded
    findings = validate(out, fast=True, progress=False).findings
    assert "FA102" not in set(findings["code"])


def test_bridged_ring_test_tells_bridges_from_bow_ties():
    bow_tie = shapely.Polygon([(100, 100), (200, 200), (200, 100), (100, 200)])
    bridged = shapely.Polygon([(0, 0), (10, 0), (10, 10), (20, 10), (20, 0), (30, 0), (30, 10), (20, 10), (10, 10), (0, 10)])
    crossing_parts = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (5, 5), (15, 5), (15, 15), (5, 15), (5, 5)])
    assert not shapely.is_valid(bridged)
    got = _bridged_rings(np.array([bow_tie, bridged, crossing_parts], dtype=object))
    assert got.tolist() == [False, True, False]
