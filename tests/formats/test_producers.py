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


# --------------------------------------------------------------------------- #1 read problems are losses


def test_convert_refuses_what_the_reader_dropped_and_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "classes.txt").write_text("fracture\n")
    (labels / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (labels / "b.txt").write_bytes(b"0 0.4 0.4 0.1 0.\xff1\n0 0.6 0.6 0.1 0.1\n")  # one bad byte in line 1
    out = tmp_path / "out"
    assert main(["convert", str(labels), str(out), "--to", "yolo-detect", "--split", "none"]) == 1
    err = capsys.readouterr().err
    assert "1 read-problem" in err and "b.jpg (b.txt line 1): read-problem:" in err
    assert not out.exists()
    assert main(["convert", str(labels), str(out), "--to", "yolo-detect", "--split", "none", "--allow-lossy"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    lost = [c for c in m["changes"] if c["kind"] == "read-problem"]
    assert [(c["image"], c["file"], c["loc"], c["lossy"]) for c in lost] == [("b.jpg", "b.txt", "line 1", True)]
    assert "not UTF-8" in lost[0]["message"]
    # the bad byte costs its line only (issue 12): b.txt's second line is read and written
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == 2
    assert sorted(p.name for p in out.glob("labels/*/*.txt")) == ["a.txt", "b.txt"]
    (b_txt,) = out.glob("labels/*/b.txt")
    assert b_txt.read_text().splitlines() == ["0 0.600000 0.600000 0.100000 0.100000"]


def test_problems_of_another_source_do_not_block(tmp_path: Path) -> None:
    from fracatlas_annot.convert.manifest import Recorder
    from fracatlas_annot.convert.plan import record_read_problems
    from fracatlas_annot.model import Dataset, Problem, Source

    coco, voc = Source.empty("coco", "coco", "polygon"), Source.empty("voc", "voc")
    ds = Dataset(sources={"coco": coco, "voc": voc})
    ds.add_problems([Problem("bad-value", "bad box", file="x.xml", source="voc", image="x.jpg"),
                     Problem("bad-value", "odd but kept", file="c.json", source="coco", severity="warning")])
    rec = Recorder()
    assert record_read_problems(rec, ds, coco) == 0
    assert record_read_problems(rec, ds, voc) == 1
    assert rec.frame()["message"].tolist() == ["bad-value: bad box"]


# --------------------------------------------------------------------------- #4 #5 labels-only copy, --names, data.yaml


def _labels_only(tmp_path: Path, *, yaml: bool) -> Path:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(PRODUCERS / "fracatlas-copy-labels-only", copy)
    if not yaml:
        (copy / "data.yaml").unlink()
    return copy


def test_labels_only_copy_with_empty_labels_txt_converts_with_names(tmp_path: Path, truth: dict[str, Any],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    copy = _labels_only(tmp_path, yaml=False)
    ds = fa.read(copy)
    assert ds.problems[["kind", "file"]].values.tolist() == [["missing-key", "Annotations/YOLO/labels.txt"]]
    assert main(["convert", str(copy), str(tmp_path / "no"), "--to", "yolo-detect"]) == 1  # no class names: refused
    assert "5 object-dropped" in capsys.readouterr().err
    out = tmp_path / "det"
    assert main(["convert", str(copy), str(out), "--to", "yolo-detect", "--names", "fractured"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert [c["name"] for c in m["class_map"]] == ["fractured"]
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == truth["fracatlas-copy-labels-only"]["counts"]["objects"]
    assert m["lossy"] is False
    # normalised in, normalised out: the 6-decimal lines come back as they were
    src = (copy / "Annotations/YOLO/IMG0000025.txt").read_text().split("\n")
    written = next(out.glob("labels/*/IMG0000025.txt")).read_text().split("\n")
    assert [w.split() for w in written if w] == [s.split() for s in src if s]
    assert (out / "data.yaml").read_text().count("0: fractured") == 1


def test_labels_only_copy_takes_class_names_from_data_yaml(tmp_path: Path) -> None:
    copy = _labels_only(tmp_path, yaml=True)
    ds = fa.read(copy)
    assert ds.sources["yolo"].labels == ["fractured"]
    assert ds.problems["message"].tolist() == [
        "the class list is empty; class names unknown; class names taken from data.yaml"]
    assert main(["convert", str(copy), str(tmp_path / "det"), "--to", "yolo-detect"]) == 0


# --------------------------------------------------------------------------- #6 default split


def test_default_split_without_lists_is_a_seeded_stratified_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = PRODUCERS / "cvat-coco-boxes" / "annotations" / "instances_default.json"
    assert main(["convert", str(path), str(tmp_path / "a"), "--to", "yolo-detect"]) == 0
    err = capsys.readouterr().err
    assert "no official split lists in the input: split drawn at random" in " ".join(err.split())
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["splits"]["method"] == "stratified" and m["options"]["seed"] == 0
    assert m["options"]["split_default"] == "no official split lists: seeded stratified draw"
    assert main(["convert", str(path), str(tmp_path / "b"), "--to", "yolo-detect"]) == 0
    assert (tmp_path / "a" / "splits.csv").read_bytes() == (tmp_path / "b" / "splits.csv").read_bytes()
    assert main(["convert", str(path), str(tmp_path / "c"), "--to", "yolo-detect", "--split", "official"]) == 2


# --------------------------------------------------------------------------- #8 VIA polylines, prediction files


def test_via_closed_polylines_are_polygons_and_the_open_one_is_reported(truth: dict[str, Any]) -> None:
    case = truth["via2-polyline"]
    ds = fa.read(PRODUCERS / "via2-polyline")
    src = ds.sources["vgg"]
    got = sorted((i, lbl, [tuple(map(float, p)) for p in np.asarray(g.exterior.coords)[:-1]])
                 for i, lbl, g in zip(src.objects["image"], src.objects["label"], src.objects["geometry"]))
    want = sorted((name, ob["label"], [tuple(p) for p in ob["points"]])
                  for name, im in case["images"].items() for ob in im["objects"] if ob["kind"] == "polygon")
    assert got == want and len(got) == 4
    probs = ds.problems
    assert probs[["kind", "image", "loc"]].values.tolist() == [["unsupported", "wrist_03.jpg", "wrist_03.jpg1698/regions/1"]]
    assert probs["message"].iloc[0].startswith("polyline is open")


def test_via_open_polyline_makes_convert_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["convert", str(PRODUCERS / "via2-polyline"), str(tmp_path / "o"), "--to", "yolo-seg", "--split", "none"]
    assert main(args) == 1
    assert "1 read-problem" in capsys.readouterr().err
    assert main(args + ["--allow-lossy"]) == 0
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == 4
    assert m["change_counts"]["read-problem"] == 1


@pytest.mark.parametrize(
    ("case", "geometry", "scores"),
    [("yolo-predictions-detect", "box", [0.873151, 0.412907, 0.664218, 0.253372]),
     ("yolo-predictions-segment", "polygon", [0.912034, 0.30581, 0.581776])],
)
def test_prediction_files_keep_their_confidence(case: str, geometry: str, scores: list[float]) -> None:
    ds = fa.read(PRODUCERS / case / "labels", names=["fracture"])
    src = ds.sources["yolo"]
    assert len(ds.problems) == 0
    assert src.geometry == geometry
    assert src.objects["score"].round(6).tolist() == scores
    assert set(src.objects["label"]) == {"fracture"}
