"""``fracatlas-annot agree`` on the committed reader exports: tables, --json, --out, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fracatlas_annot.cli import main


@pytest.fixture
def readers(fixtures_dir):
    root = fixtures_dir / "readers"
    return str(root / "reader-1"), str(root / "reader-2"), str(fixtures_dir / "fracatlas-mini" / "dataset.csv")


def test_json_output_counts(readers, capsys):
    r1, r2, meta = readers
    code = main(["agree", r1, r2, "--meta", meta, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["readers"] == ["reader-1", "reader-2"]
    il = data["image_level"]
    # 2x2 from fixtures/readers/manifest.json; kappa = (.95 - .625) / .375 = 13/15
    assert il["table"] == {"both_positive": 9, "a_only_positive": 1, "b_only_positive": 1, "both_negative": 29}
    assert il["kappa"] == pytest.approx(13 / 15)
    inst = {(r["geometry"], r["iou"]): r for r in data["instance"]}
    assert (inst[("mask", 0.1)]["tp"], inst[("mask", 0.1)]["fp"], inst[("mask", 0.1)]["fn"]) == (11, 2, 2)
    assert (inst[("box", 0.5)]["tp"], inst[("box", 0.5)]["fp"], inst[("box", 0.5)]["fn"]) == (10, 3, 3)
    assert data["inputs"]["reader-2"]["box"] == "rectangles of source 'voc' (voc)"
    assert data["written"] == []


def test_tables_in_the_terminal(readers, capsys, monkeypatch):
    from fracatlas_annot.commands import _common

    # the console reads COLUMNS once, at import: widen it directly so no line wraps
    monkeypatch.setattr(_common.console, "width", 240)
    r1, r2, meta = readers
    code = main(["agree", r1, r2, "--meta", meta, "--geometry", "mask", "--iou", "0.5", "--top", "3"])
    cap = capsys.readouterr()
    assert code == 0
    out = cap.out
    assert "Image level" in out and "kappa 0.867 (95% CI" in out
    assert "positive agreement 0.900" in out
    assert "Instance level" in out and "0.769" in out  # F1 = 20 / 26 at IoU .5
    assert "by body part and view" in out and "lateral" in out
    # with the single threshold .5 the IMG0000026 pair (IoU .22) is no pair: both objects
    # are missing -> image-level 2, missing-in-b 3 (030, 078, 026), missing-in-a 3 (021, 023, 026)
    assert "(image-level-mismatch 2, missing-in-b[mask] 3, missing-in-a[mask] 3)" in out  # brackets kept
    assert "... 5 more" in out  # 8 rows, 3 shown
    assert "note: reader-1: the export lists only images with labels" in cap.err


def test_out_dir_with_consensus(readers, tmp_path, capsys):
    r1, r2, meta = readers
    out = tmp_path / "adjudication"
    code = main(["agree", r1, r2, "--meta", meta, "--out", str(out), "--consensus", "intersect", "--unmatched", "queue", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    with open(out / "disagreements.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(data["disagreements"]) == 12  # 2 image-level, (2 + 2 + 1) per geometry
    assert rows[0]["kind"] == "image-level-mismatch"
    assert json.loads((out / "disagreements.json").read_text()) == data["disagreements"]
    saved = json.loads((out / "agreement.json").read_text())
    assert saved["image_level"]["table"] == data["image_level"]["table"]
    cons = data["consensus"]
    # 11 pairs at IoU .1 (polygons); the 4 unmatched polygons go to the queue
    assert (cons["objects"], cons["pairs"], cons["queued"], cons["geometry"]) == (11, 11, 4, "polygon")
    with open(out / "consensus-queue.csv", newline="", encoding="utf-8") as fh:
        queue = list(csv.DictReader(fh))
    assert sorted((q["image"], q["reader"]) for q in queue) == [
        ("IMG0000021.jpg", "reader-2"),
        ("IMG0000023.jpg", "reader-2"),
        ("IMG0000030.jpg", "reader-1"),
        ("IMG0000078.jpg", "reader-1"),
    ]
    # the consensus COCO file is written by convert and loads in pycocotools
    from pycocotools.coco import COCO

    coco_files = list((out / "consensus").glob("*.json"))
    ann_file = [f for f in coco_files if f.name != "manifest.json"]
    assert len(ann_file) == 1
    coco = COCO(str(ann_file[0]))
    assert len(coco.getAnnIds()) == 11
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"fractured"}


def test_help_teaches():
    from click.testing import CliRunner

    from fracatlas_annot.cli import app

    res = CliRunner().invoke(app, ["agree", "--help"])
    assert res.exit_code == 0
    assert "fracatlas-annot agree fixtures/readers/reader-1 fixtures/readers/reader-2" in res.output
    assert "--consensus" in res.output and "--unmatched" in res.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--iou", "abc"], "expected comma-separated numbers"),
        (["--iou", "0,0.5"], "must be in (0, 1]"),
        (["--names", "x"], "two different names"),
        (["--geometry", "polygon"], "polygon"),
    ],
)
def test_bad_options_exit_2(readers, capsys, extra, message):
    r1, r2, _ = readers
    code = main(["agree", r1, r2, *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unreadable_input_exit_2_without_traceback(tmp_path, readers, capsys):
    bad = tmp_path / "labels_x.json"
    bad.write_bytes(b'{"images": [')
    assert main(["agree", str(bad), readers[1]]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "labels_x.json" in err


def test_missing_path_exit_2(tmp_path, readers, capsys):
    code = main(["agree", str(tmp_path / "nope"), readers[1]])
    assert code == 2


def test_seen_lists(readers, tmp_path, capsys):
    # reader-2 never opened IMG0000078 (fixtures/readers/manifest.json)
    r1, r2, meta = readers
    images = json.loads((Path(r1).parent / "manifest.json").read_text())["images"]
    seen_b = tmp_path / "reader-2-read.txt"
    seen_b.write_text("# images reader-2 opened\n" + "\n".join(k for k in images if k != "IMG0000078.jpg") + "\n")
    code = main(["agree", r1, r2, "--meta", meta, "--seen-b", str(seen_b), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["image_level"]["images_only_a"] == ["IMG0000078.jpg"]
    assert data["image_level"]["table"] == {"both_positive": 9, "a_only_positive": 0, "b_only_positive": 1, "both_negative": 29}
    inst = {(r["geometry"], r["iou"]): r for r in data["instance"]}
    assert (inst[("mask", 0.1)]["tp"], inst[("mask", 0.1)]["fp"], inst[("mask", 0.1)]["fn"]) == (11, 2, 1)
