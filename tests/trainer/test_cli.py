"""train / evaluate / predict / smoke from the CLI, on tiny sets written by our convert."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pycocotools import mask as mask_utils

from fracatlas_annot.cli import main

from tests.trainer._e2e import write_sets

TINY = ["--model", "yolov8n", "--epochs", "2", "--imgsz", "64", "--batch", "4", "--device", "cpu",
        "--set", "warmup_epochs=0", "--set", "nbs=4"]


def run_json(argv: list[str]) -> tuple[int, Any]:
    """Run the CLI with --json; stdout must hold exactly one JSON document."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main([*argv, "--json"])
    return code, json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def trained(tiny: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cli-runs")
    runs = {}
    for task in ("detect", "segment"):
        code, doc = run_json(["train", str(tiny[task]), "--task", task, *TINY, "--out", str(out), "--name", task])
        assert code == 0
        runs[task] = doc
    return runs


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_train_writes_run_folder_and_metrics(task: str, trained: dict[str, Any]) -> None:
    doc = trained[task]
    run_dir = Path(doc["run_dir"])
    assert (run_dir / "weights" / "best.pt").is_file() and (run_dir / "results.csv").is_file()
    metrics_file = Path(doc["metrics_file"])
    assert metrics_file == run_dir.parent / f"{run_dir.name}-metrics.json"
    assert json.loads(metrics_file.read_text())["metrics"] == doc["metrics"]
    parts = {"detect": {"box"}, "segment": {"box", "mask"}}[task]
    assert set(doc["metrics"]) == parts
    for part in parts:
        assert set(doc["metrics"][part]) == {"precision", "recall", "mAP50", "mAP50-95"}
        assert all(0.0 <= v <= 1.0 for v in doc["metrics"][part].values())
    assert doc["model"] == ("yolov8n.yaml" if task == "detect" else "yolov8n-seg.yaml")
    assert doc["settings"]["epochs"] == 2 and doc["settings"]["deterministic"] is True
    assert doc["settings"]["warmup_epochs"] == 0 and len(doc["train_loss"]) == 2
    assert doc["label_warnings"] == [] and "published" not in doc


def test_train_shows_published_results_for_fracatlas(tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", str(tiny["detect"]), *TINY, "--epochs", "1", "--out", str(tmp_path), "--fracatlas"])
    assert code == 0
    out = capsys.readouterr().out
    assert "this run" in out and "FracAtlas authors" in out and "0.562" in out and "0.807" in out
    doc = json.loads((tmp_path / "train-metrics.json").read_text())
    assert doc["published"][0]["box"]["mAP50"] == 0.562


def test_evaluate_one_split(trained: dict[str, Any], tiny: dict[str, Path], tmp_path: Path) -> None:
    code, doc = run_json(["evaluate", trained["segment"]["weights"], str(tiny["segment"]), "--split", "test",
                          "--imgsz", "64", "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    assert doc["split"] == "test" and doc["task"] == "segment" and set(doc["metrics"]) == {"box", "mask"}
    assert json.loads((tmp_path / "evaluate-test-metrics.json").read_text())["metrics"] == doc["metrics"]


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_predict_writes_coco_results_and_overlays(task: str, trained: dict[str, Any], tiny: dict[str, Path], tmp_path: Path) -> None:
    images = sorted((tiny[task].parent / "images" / "val").iterdir())
    code, doc = run_json(["predict", trained[task]["weights"], *map(str, images[:3]), "--out", str(tmp_path),
                          "--conf", "0.0001", "--imgsz", "64", "--device", "cpu"])
    assert code == 0 and doc["images"] == 3
    records = json.loads((tmp_path / "predictions.json").read_text())
    assert len(records) == doc["detections"] > 0
    assert {r["file_name"] for r in records} <= {p.name for p in images[:3]}
    assert {r["image_id"] for r in records} <= {1, 2, 3}
    for r in records:
        assert r["category_id"] == 1 and r["category_name"] == "fractured"  # YOLO class 0 -> COCO id 1
        x, y, w, h = r["bbox"]
        assert -1 <= x and -1 <= y and w >= 0 and h >= 0 and x + w <= 65 and y + h <= 65
        assert 0 < r["score"] <= 1
        if task == "segment":
            polys = [p for p in r["segmentation"] if len(p) >= 6]
            if polys:
                rle = mask_utils.merge(mask_utils.frPyObjects(polys, 64, 64))
                assert mask_utils.area(rle) > 0
        else:
            assert "segmentation" not in r
    assert sorted(p.name for p in (tmp_path / "overlays").iterdir()) == sorted(f"{p.stem}.jpg" for p in images[:3])


def test_smoke_converts_an_archive_and_passes(learnable: Path, tmp_path: Path) -> None:
    """The smoke defaults (30 epochs at 96 px, the archive's own size) on the learnable archive: the
    loss rises while the assigner starts matching, then falls (measured: median of the first ten
    epochs 8.7, of the last ten 5.8). At 64 px the same 30 epochs only reach the plateau (medians
    1.8 then 7.2): the peak rule of old called that "ok", the medians do not."""
    code, doc = run_json(["smoke", str(learnable), "--task", "detect", "--source", "voc", "--epochs", "30", "--imgsz", "96",
                          "--batch", "4", "--n-images", "16", "--out", str(tmp_path / "smoke")])
    assert code == 0, doc
    (run,) = doc["runs"]
    assert run["task"] == "detect" and run["convert"]["target"] == "yolo-detect" and run["convert"]["source"] == "voc"
    assert (tmp_path / "smoke" / "converted-detect" / "manifest.json").is_file()
    assert [c["check"] for c in run["checks"]] == ["labels-loaded", "no-label-warnings", "loss-falls"]
    assert all(c["ok"] for c in run["checks"])
    n_lines = sum(1 for f in (tmp_path / "smoke" / "sample-detect" / "labels" / "train").glob("*.txt")
                  for line in f.read_text().splitlines() if line.strip())
    assert run["checks"][0]["message"].startswith(f"{n_lines} of {n_lines} ")
    assert "median of the first third" in run["checks"][2]["message"]
    assert run["sample"]["train"]["images"] == 16 and run["sample"]["train"]["with_objects"] >= 12


def test_smoke_on_fracatlas_mini_loads_every_label(fixtures_dir: Path, tmp_path: Path) -> None:
    """The clean mini archive (EXIF-rotated images, vertices on the border, RGB and gray)
    goes through convert and Ultralytics without a dropped label, for detect and segment.
    Two epochs cannot show the loss falling (five are needed), so that check fails: exit 1."""
    code, doc = run_json(["smoke", str(fixtures_dir / "fracatlas-mini"), "--epochs", "2", "--imgsz", "64",
                          "--n-images", "8", "--out", str(tmp_path / "smoke")])
    assert [r["task"] for r in doc["runs"]] == ["detect", "segment"]
    for run in doc["runs"]:
        checks = {c["check"]: c["ok"] for c in run["checks"]}
        assert checks == {"labels-loaded": True, "no-label-warnings": True, "loss-falls": False}, run["checks"]
    assert code == 1 and doc["ok"] is False


def test_smoke_with_an_unknown_source_exits_2_naming_the_sources(fixtures_dir: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Dataset.source's error is a usage error (exit 2), not an internal one (it was exit 3)."""
    code = main(["smoke", str(fixtures_dir / "fracatlas-mini"), "--source", "cocoo", "--out", str(tmp_path / "smoke")])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: no source named 'cocoo' (have: coco, voc, yolo, vgg); did you mean 'coco'?" in " ".join(err.split())
    assert "internal error" not in err


def test_train_on_converted_fracatlas_shows_published(fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fracatlas_annot.convert import convert

    out = tmp_path / "FracAtlas-seg"
    convert(fixtures_dir / "fracatlas-mini", to="yolo-seg", out=out, source="coco", progress=False)
    code = main(["train", str(out / "data.yaml"), "--task", "segment", *TINY, "--epochs", "1", "--out", str(tmp_path / "runs")])
    assert code == 0
    text = capsys.readouterr().out
    assert "FracAtlas authors" in text and "0.589" in text and "0.830" in text  # §9 mask mAP50, mask P
    doc = json.loads((tmp_path / "runs" / "train-metrics.json").read_text())
    assert doc["published"][0]["mask"]["mAP50-95"] == 0.211 and doc["label_warnings"] == []


def test_smoke_allow_lossy_runs_on_a_set_with_one_unlabelled_object(tiny: dict[str, Path], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "archive"
    shutil.copytree(tiny["archive"], root)
    xml = next(p for p in sorted((root / "Annotations" / "PASCAL VOC").glob("*.xml")) if "<object>" in p.read_text())
    xml.write_text(re.sub(r"<name>[^<]*</name>", "<name></name>", xml.read_text(), count=1))
    argv = ["smoke", str(root), "--task", "detect", "--source", "voc", "--epochs", "2", "--imgsz", "64", "--n-images", "8"]
    assert main(argv) == 1  # refused, as `convert` refuses, before any training
    err = capsys.readouterr().err
    assert "--allow-lossy" in err and xml.stem in err and "object-dropped" in err
    code, doc = run_json([*argv, "--allow-lossy", "--out", str(tmp_path / "smoke")])
    (run,) = doc["runs"]
    assert run["convert"]["lossy_changes"] == 1 and run["convert"]["lossy_kinds"] == ["object-dropped"]
    checks = {c["check"]: c["ok"] for c in run["checks"]}
    assert checks == {"labels-loaded": True, "no-label-warnings": True, "loss-falls": False}  # 2 epochs: no trend
    n_train = len(list((tmp_path / "smoke" / "converted-detect" / "images" / "train").iterdir()))
    assert code == 1 and run["sample"]["train"]["images"] == min(8, n_train)


@pytest.mark.parametrize(
    "bad_line, warning",
    [
        pytest.param("1 0.5 0.5 0.2 0.2", "exceeds dataset class count", id="class-out-of-range"),
        pytest.param("DUP", "duplicate labels removed", id="duplicate-row"),
    ],
)
def test_smoke_fails_on_labels_ultralytics_drops(bad_line: str, warning: str, tiny: dict[str, Path], tmp_path: Path) -> None:
    src = tiny["detect"].parent
    data_dir = tmp_path / "set"
    shutil.copytree(src, data_dir, symlinks=False)
    doc_yaml = (data_dir / "data.yaml").read_text().replace(str(src), str(data_dir))
    (data_dir / "data.yaml").write_text(doc_yaml)
    label = sorted((data_dir / "labels" / "train").glob("*.txt"))[0]
    text = label.read_text().strip()
    extra = text.splitlines()[0] if bad_line == "DUP" else bad_line
    label.write_text(f"{text}\n{extra}\n")
    code, doc = run_json(["smoke", str(data_dir), "--epochs", "2", "--imgsz", "64", "--batch", "4", "--n-images", "8"])
    assert code == 1
    checks = {c["check"]: c for c in doc["runs"][0]["checks"]}
    assert not checks["no-label-warnings"]["ok"] and warning in checks["no-label-warnings"]["message"]
    assert not checks["labels-loaded"]["ok"]
