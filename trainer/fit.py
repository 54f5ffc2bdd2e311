"""Training and evaluation of YOLOv8 models on a written YOLO dataset (``data.yaml``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from fracatlas_annot.errors import InputError, UsageError

from . import metrics as M
from . import published
from ._ultra import ultralytics_session
from .device import resolve_device

TASKS = ("detect", "segment")

#: The FracAtlas authors' published settings (reference §9); the defaults of :func:`train`.
AUTHOR_SETTINGS: dict[str, Any] = {"epochs": 30, "imgsz": 600, "batch": 16, "lr0": 0.01, "optimizer": "SGD", "seed": 0}


def read_data_yaml(data: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``data.yaml`` (raises :class:`InputError` when it is missing or not a mapping)."""
    path = Path(data)
    if not path.is_file():
        raise InputError(path, "no such data.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or "names" not in doc:
        raise InputError(path, "not an Ultralytics data.yaml (no 'names')")
    return doc


def model_source(task: str, model: str = "yolov8s", weights: str | os.PathLike[str] | None = None) -> str:
    """What to hand ``YOLO()``: a local weights file, or the model YAML for ``task`` (never a hub name).

    ``model="yolov8s"`` gives ``yolov8s.yaml`` (detect) or ``yolov8s-seg.yaml`` (segment): a
    model built from scratch, nothing downloaded.
    """
    if task not in TASKS:
        raise UsageError(f"unknown task '{task}': use detect or segment")
    if weights is not None:
        w = Path(weights)
        if not w.is_file():
            raise InputError(w, "no such weights file (weights are never downloaded; give a local .pt)")
        return str(w.resolve())
    name = str(model)
    if name.endswith(".pt"):
        if Path(name).is_file():
            return str(Path(name).resolve())
        raise UsageError(f"--model {name}: a .pt name would be downloaded; build from the YAML (--model {name[:-3]}) or pass a local file with --weights")
    if name.endswith((".yaml", ".yml")):
        return name
    if task == "segment" and not name.endswith("-seg"):
        name += "-seg"
    return f"{name}.yaml"


def _check_task(model: Any, task: str, source: str) -> None:
    if model.task != task:
        raise UsageError(f"{source} is a {model.task} model, not {task}")


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def train(
    data: str | os.PathLike[str],
    *,
    task: str = "detect",
    model: str = "yolov8s",
    weights: str | os.PathLike[str] | None = None,
    epochs: int = 30,
    imgsz: int = 600,
    batch: int = 16,
    lr0: float = 0.01,
    optimizer: str = "SGD",
    seed: int = 0,
    device: str = "auto",
    out: str | os.PathLike[str] = "runs/fracatlas-annot",
    name: str = "train",
    fracatlas: bool | None = None,
    config_dir: str | os.PathLike[str] | None = None,
    callbacks: dict[str, Callable[[Any], None]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train a YOLOv8 model on ``data`` and return (and write) its metrics.

    The run folder is ``out/name`` (Ultralytics layout: ``weights/best.pt``, ``results.csv``);
    the metrics go to ``out/name-metrics.json``. Defaults follow the FracAtlas authors' run
    (§9: 30 epochs, imgsz 600, batch 16, SGD lr0 0.01, seed 0), with ``workers=0``,
    ``deterministic=True``, ``plots=False``; ``overrides`` go to ``YOLO.train`` as is.
    ``fracatlas=None`` detects FracAtlas from the class list and path, and then adds the
    published results to the returned document (key ``published``). ``callbacks`` maps
    Ultralytics callback events (``on_train_start`` ...) to functions of the trainer.

    Example:
        >>> train("out/seg/data.yaml", task="segment", epochs=1, imgsz=64, out="/tmp/r")  # doctest: +SKIP
    """
    data = Path(data).resolve()
    doc = read_data_yaml(data)
    source = model_source(task, model, weights)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    args: dict[str, Any] = {
        "data": str(data), "epochs": epochs, "imgsz": imgsz, "batch": batch, "lr0": lr0,
        "optimizer": optimizer, "seed": seed, "deterministic": True, "workers": 0, "device": dev,
        "project": str(out), "name": name, "plots": False, "amp": dev != "cpu", "verbose": False,
    }
    args.update(overrides)
    epoch_memory: list[float] = []
    with ultralytics_session(config_dir=config_dir) as log:
        from ultralytics import YOLO

        yolo = YOLO(source, task=task)
        _check_task(yolo, task, source)

        def _on_epoch_end(trainer: Any) -> None:
            import torch

            if torch.cuda.is_available() and dev != "cpu":
                epoch_memory.append(torch.cuda.max_memory_allocated() / 2**30)

        yolo.add_callback("on_train_epoch_end", _on_epoch_end)
        for event, func in (callbacks or {}).items():
            yolo.add_callback(event, func)
        start = time.perf_counter()
        yolo.train(**args)
        wall = time.perf_counter() - start
        trainer = yolo.trainer
        save_dir = Path(trainer.save_dir)
        results = dict(trainer.metrics or {})
    rows = M.read_results_csv(save_dir / "results.csv")
    rows = [r for r in rows if r.get("epoch", 0) <= epochs]
    result: dict[str, Any] = {
        "task": task,
        "data": str(data),
        "model": source if weights is not None else Path(source).name,
        "device": dev,
        "settings": {k: v for k, v in args.items() if k not in ("data", "project", "name")},
        "run_dir": str(save_dir),
        "weights": str(save_dir / "weights" / "best.pt"),
        "metrics": M.named_metrics(results, task),
        "train_loss": M.train_losses(rows),
        "epoch_seconds": M.epoch_times(rows),
        "wall_seconds": round(wall, 2),
        "gpu_max_memory_gib": max(epoch_memory) if epoch_memory else None,
        "label_warnings": log.label_warnings(),
    }
    if fracatlas is None:
        fracatlas = published.is_fracatlas(doc.get("names"), doc.get("path", data.parent))
    if fracatlas:
        result["published"] = published.PUBLISHED[task]
    metrics_path = save_dir.parent / f"{save_dir.name}-metrics.json"
    result["metrics_file"] = str(metrics_path)
    _write_json(metrics_path, result)
    return result


def evaluate(
    weights: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    split: str = "val",
    imgsz: int = 600,
    batch: int = 16,
    device: str = "auto",
    out: str | os.PathLike[str] = "runs/fracatlas-annot",
    name: str | None = None,
    config_dir: str | os.PathLike[str] | None = None,
    conf: float | None = None,
    iou: float = 0.7,
) -> dict[str, Any]:
    """Evaluate local ``weights`` on one split of ``data``; write ``out/<name>-metrics.json``."""
    data = Path(data).resolve()
    doc = read_data_yaml(data)
    if split not in doc:
        raise UsageError(f"{data} has no '{split}' split (it has: {', '.join(k for k in ('train', 'val', 'test') if k in doc)})")
    source = model_source("detect", weights=weights)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    name = name or f"evaluate-{split}"
    with ultralytics_session(config_dir=config_dir) as log:
        from ultralytics import YOLO

        yolo = YOLO(source)
        task = yolo.task
        kwargs: dict[str, Any] = {"data": str(data), "split": split, "imgsz": imgsz, "batch": batch, "device": dev,
                                  "workers": 0, "plots": False, "project": str(out), "name": name, "exist_ok": True,
                                  "verbose": False, "iou": iou}
        if conf is not None:
            kwargs["conf"] = conf
        res = yolo.val(**kwargs)
        results = dict(res.results_dict)
        save_dir = Path(res.save_dir) if getattr(res, "save_dir", None) else out / name
    result = {
        "task": task, "data": str(data), "split": split, "weights": source, "device": dev,
        "metrics": M.named_metrics(results, task), "label_warnings": log.label_warnings(),
    }
    if published.is_fracatlas(doc.get("names"), doc.get("path", data.parent)):
        result["published"] = published.PUBLISHED[task]
    path = out / f"{name}-metrics.json"
    result["metrics_file"] = str(path)
    _write_json(path, result)
    return result
