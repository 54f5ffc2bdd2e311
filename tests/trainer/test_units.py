"""Fast tests of the trainer's pieces (no training)."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest
import yaml

from fracatlas_annot.cli import main
from fracatlas_annot.errors import InputError, UsageError
from trainer import device, offline, published
from trainer.fit import model_source, read_data_yaml
from trainer.metrics import epoch_times, named_metrics, read_results_csv, train_losses
from trainer.smoke import loss_fell, loss_trend, make_sample, pick_sample


@pytest.mark.parametrize(
    "task, model, expected",
    [
        pytest.param("detect", "yolov8s", "yolov8s.yaml", id="detect-yaml"),
        pytest.param("segment", "yolov8s", "yolov8s-seg.yaml", id="segment-adds-seg"),
        pytest.param("segment", "yolov8n-seg", "yolov8n-seg.yaml", id="segment-already-seg"),
        pytest.param("detect", "custom.yaml", "custom.yaml", id="yaml-as-is"),
    ],
)
def test_model_source_builds_from_yaml(task: str, model: str, expected: str) -> None:
    assert model_source(task, model) == expected


def test_model_source_refuses_hub_names_and_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="would be downloaded"):
        model_source("detect", "yolov8s.pt")
    with pytest.raises(InputError, match="never downloaded"):
        model_source("detect", weights=tmp_path / "nope.pt")
    with pytest.raises(UsageError, match="unknown task"):
        model_source("classify")
    w = tmp_path / "w.pt"
    w.write_bytes(b"x")
    assert model_source("segment", weights=w) == str(w.resolve())


def test_device_auto_follows_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.resolve_device("auto") == "0"
    assert device.resolve_device(None) == "0"
    assert device.resolve_device("cuda:1") == "1"
    assert device.resolve_device("CPU") == "cpu"


@pytest.mark.parametrize(
    "names, path, expected",
    [
        pytest.param(["fractured"], "/data/FracAtlas/yolo-det", True, id="fracatlas-path"),
        pytest.param({0: "fractured"}, "/data/frac_atlas_seg", True, id="dict-names"),
        pytest.param(["fractured"], "/data/wrist", False, id="other-path"),
        pytest.param(["fractured", "plate"], "/data/FracAtlas", False, id="two-classes"),
    ],
)
def test_is_fracatlas(names, path, expected) -> None:
    assert published.is_fracatlas(names, path) is expected


def test_published_numbers_are_section_9() -> None:
    assert published.AUTHORS["detect"]["box"] == {"precision": 0.807, "recall": 0.473, "mAP50": 0.562, "mAP50-95": 0.276}
    assert published.AUTHORS["segment"]["mask"]["mAP50"] == 0.589
    assert published.AUTHORS["segment"]["box"]["mAP50-95"] == 0.289
    rows = published.comparison_rows({"box": dict.fromkeys(("precision", "recall", "mAP50", "mAP50-95"), 0.5)}, "detect")
    assert [r["run"] for r in rows][0] == "this run" and len(rows) == 3


def test_named_metrics_and_results_csv(tmp_path: Path) -> None:
    res = {"metrics/precision(B)": 0.5, "metrics/recall(B)": 0.25, "metrics/mAP50(B)": 0.4, "metrics/mAP50-95(B)": 0.2,
           "metrics/precision(M)": 0.3, "metrics/recall(M)": 0.2, "metrics/mAP50(M)": 0.1, "metrics/mAP50-95(M)": 0.05}
    assert named_metrics(res, "detect") == {"box": {"precision": 0.5, "recall": 0.25, "mAP50": 0.4, "mAP50-95": 0.2}}
    assert named_metrics(res, "segment")["mask"]["mAP50"] == 0.1
    # the header Ultralytics writes (padded names in older versions, plain in 8.4)
    csv = tmp_path / "results.csv"
    csv.write_text("epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,lr/pg0\n"
                   "1,2.5,1.0,2.0,0.5,0.01\n2,4.0,0.5,1.0,0.5,0.01\n")
    rows = read_results_csv(csv)
    assert train_losses(rows) == [3.5, 2.0]
    assert epoch_times(rows) == [2.5, 1.5]
    assert read_results_csv(tmp_path / "missing.csv") == []


#: The two runs of issue 14 that the old rule (tail below 90 % of the peak) judged "ok". The issue
#: gives their first three epochs and their last; the epochs between are filled in here as what the
#: ends say: no fall, noise around the level the run started at.
ISSUE14_FIXTURE_SEGMENT = [3.12, 1.52, 8.28, 3.4, 2.9, 3.3, 3.0, 3.2, 3.1, 2.95, 3.25, 3.05, 3.15, 2.98, 3.22,
                           3.08, 3.18, 3.02, 3.12, 3.06, 3.2, 3.0, 3.14, 3.09, 3.17, 3.04, 3.11, 3.13, 3.07, 3.10]
ISSUE14_REAL_ARCHIVE = [1.41, 5.84, 73.92, 9.8, 4.2, 3.1, 2.6, 2.4, 2.2, 2.3, 2.5, 2.8, 2.7, 2.9, 3.0,
                        2.8, 2.9, 3.1, 2.9, 2.8, 3.0, 2.9, 3.0, 2.8, 2.9, 3.1, 2.9, 3.0, 2.95, 2.90]


@pytest.mark.parametrize(
    "losses, expected",
    [
        pytest.param([0.8, 7.0, 6.5, 6.0, 5.0, 4.5, 4.2, 4.0], True, id="scratch-start-low-then-falls"),
        pytest.param([9.0, 8.0, 7.5, 7.0, 6.0, 5.5], True, id="falls"),
        pytest.param([0.3, 4.8, 3.9, 7.6, 5.3, 6.0, 7.9, 7.9], False, id="rises"),
        pytest.param([0.31, 0.25, 0.22, 0.5, 1.75, 5.53, 7.81, 8.51, 7.88, 7.87, 7.85, 7.69], False, id="still-at-peak"),
        pytest.param([5.0, 5.0, 5.0, 5.0, 5.0, 5.0], False, id="flat"),
        pytest.param([9.0, 5.0, 1.0, 1.0], False, id="too-short"),
        pytest.param(ISSUE14_FIXTURE_SEGMENT, False, id="issue14-noisy-peak-no-fall"),
        pytest.param(ISSUE14_REAL_ARCHIVE, False, id="issue14-real-archive-spike-no-fall"),
        pytest.param([0.4, 0.3, 6.5, 7.2, 6.8, 6.1, 5.9, 5.5, 5.2, 5.0, 4.7, 4.5, 4.3, 4.0, 3.8,
                      3.6, 3.5, 3.3, 3.2, 3.0, 2.9, 2.8, 2.8, 2.7, 2.6, 2.6, 2.5, 2.5, 2.4, 2.4], True,
                     id="scratch-30-epochs-low-start-then-falls"),
        pytest.param([8.0, 7.6, 7.1, 6.8, 6.2, 5.9, 5.5, 5.1, 4.8, 30.0, 4.4, 4.2], True, id="late-spike-does-not-hide-a-fall"),
        pytest.param([5.0, float("nan"), 4.8, 4.0, float("nan"), 3.0, 2.0, 1.9], True, id="nan-epochs-left-out"),
    ],
)  # fmt: skip
def test_loss_fell(losses, expected) -> None:
    assert loss_fell(losses) is expected


@pytest.mark.parametrize("losses", [ISSUE14_FIXTURE_SEGMENT, ISSUE14_REAL_ARCHIVE])
def test_issue14_runs_fooled_the_peak_rule_but_not_the_medians(losses: list[float]) -> None:
    peak_rule = sum(losses[-3:]) / 3 < 0.9 * max(losses[:-3])  # the rule before issue 14
    trend = loss_trend(losses)
    assert peak_rule is True and trend["ok"] is False
    assert trend["epochs"] == 30  # thirds of 10 epochs
    assert (trend["first"], trend["last"]) == (statistics.median(losses[:10]), statistics.median(losses[-10:]))


def test_loss_trend_thirds_are_ceil_n_over_3() -> None:
    trend = loss_trend([10.0, 9.0, 8.0, 1.0, 4.0, 3.0, 2.0])  # 7 epochs: thirds of 3
    assert (trend["first"], trend["last"], trend["ok"]) == (9.0, 3.0, True)
    assert loss_trend([1.0, 2.0, float("nan"), 3.0])["first"] is None


def _converted_set(root: Path, train: list[int], val: list[int]) -> Path:
    """A yolo-detect set: one image per entry, holding that many label lines."""
    for split, counts in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i, n in enumerate(counts):
            (root / "images" / split / f"IMG{i:04d}.jpg").write_bytes(b"\xff\xd8 not decoded here \xff\xd9")
            (root / "labels" / split / f"IMG{i:04d}.txt").write_text("".join(f"0 0.5 0.5 0.{k + 1} 0.1\n" for k in range(n)))
    (root / "data.yaml").write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val", "names": {0: "fractured"}}))
    return root / "data.yaml"


def test_pick_sample_draws_mostly_images_with_objects(tmp_path: Path) -> None:
    # like a converted FracAtlas train split: 3 in 16 images carry a fracture
    counts = [0] * 64
    for i in (5, 17, 30, 41, 52, 60):
        counts[i] = 1 + i % 3
    data = _converted_set(tmp_path / "set", counts, [0, 1, 0, 0, 2, 0])
    images = sorted((tmp_path / "set" / "images" / "train").glob("*.jpg"))
    chosen = pick_sample(images, 16)
    with_objects = [p for p in chosen if counts[int(p.stem[3:])]]
    assert len(chosen) == 16 and len(with_objects) == 6  # every positive (6 < 12 = 3/4 of 16), 10 negatives fill in
    assert chosen == sorted(chosen)
    chosen8 = pick_sample(images, 8)
    assert sum(1 for p in chosen8 if counts[int(p.stem[3:])]) == 6 and len(chosen8) == 8  # 3/4 of 8 = 6
    assert pick_sample(images, 8) == chosen8  # deterministic
    sample_yaml, n_lines, composition = make_sample(data, tmp_path / "sample", 16)
    assert composition == {"train": {"images": 16, "with_objects": 6}, "val": {"images": 6, "with_objects": 2}}
    assert n_lines == sum(counts)
    written = sorted((tmp_path / "sample" / "labels" / "train").glob("*.txt"))
    assert sum(1 for f in written if f.read_text().strip()) == 6 and len(written) == 16
    assert yaml.safe_load(sample_yaml.read_text())["names"] == {0: "fractured"}


def test_pick_sample_keeps_some_negatives_when_positives_abound(tmp_path: Path) -> None:
    counts = [1] * 40 + [0] * 10
    _converted_set(tmp_path / "set", counts, [1])
    images = sorted((tmp_path / "set" / "images" / "train").glob("*.jpg"))
    chosen = pick_sample(images, 16)
    assert len(chosen) == 16 and sum(1 for p in chosen if counts[int(p.stem[3:])]) == 12  # 3 in 4
    assert pick_sample(images[40:], 16) == images[40:]  # only negatives: all of them
    assert pick_sample(images[:3], 16) == images[:3]  # fewer images than asked


def test_read_data_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such data.yaml"):
        read_data_yaml(tmp_path / "data.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        read_data_yaml(bad)
    bad.write_text("train: images/train\n")
    with pytest.raises(InputError, match="no 'names'"):
        read_data_yaml(bad)


def test_offline_setup_sets_env_and_fonts(yolo_config: Path) -> None:
    import os

    from ultralytics.utils import ONLINE, SETTINGS, USER_CONFIG_DIR

    from trainer import offline

    # setup again (idempotent): a test earlier on this worker may have restored os.environ
    # around its own Ultralytics use; what is checked is what setup() itself does
    offline.setup(Path(os.environ.get("FRACATLAS_YOLO_CONFIG_DIR", yolo_config)))

    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "0"
    assert ONLINE is False
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        assert (Path(USER_CONFIG_DIR) / name).stat().st_size > 100_000
    assert SETTINGS["sync"] is False
    assert str(SETTINGS["runs_dir"]).startswith(str(USER_CONFIG_DIR))


def test_cli_without_train_extra_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("torch", "ultralytics") else real(name, *a))
    for argv in (["train", str(tmp_path / "data.yaml")], ["smoke", str(tmp_path)],
                 ["predict", "w.pt", "a.jpg", "--out", str(tmp_path)], ["evaluate", "w.pt", "d.yaml"]):
        assert main(argv) == 2
        assert "install fracatlas-annot[train]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        pytest.param(["train", "{tmp}/missing.yaml"], "no such data.yaml", id="missing-data"),
        pytest.param(["train", "{data}", "--model", "yolov8s.pt"], "would be downloaded", id="hub-weights"),
        pytest.param(["train", "{data}", "--weights", "{tmp}/none.pt"], "no such weights file", id="missing-weights"),
        pytest.param(["train", "{data}", "--set", "mosaic"], "KEY=VALUE", id="bad-set"),
        pytest.param(["evaluate", "{tmp}/none.pt", "{data}", "--split", "val"], "no such weights file", id="eval-missing-weights"),
        pytest.param(["predict", "{tmp}/w.pt", "{tmp}/none.jpg", "--out", "{tmp}/p"], "no such file", id="predict-missing-image"),
        pytest.param(["smoke", "{tmp}/nothing-here"], "no such file", id="smoke-missing"),
        pytest.param(["evaluate", "{tmp}/w.pt", "{data}"], "has no 'test' split", id="eval-missing-split"),
    ],
)
def test_cli_bad_input_exits_2(argv, message, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.yaml"
    data.write_text(json.dumps({"path": str(tmp_path), "train": "images/train", "val": "images/val", "names": {0: "fractured"}}))
    (tmp_path / "w.pt").write_bytes(b"")
    argv = [a.format(tmp=tmp_path, data=data) for a in argv]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert message in err and "Traceback" not in err
