"""``smoke``: the end-to-end check to run before a long training.

Convert (or take an already converted set), copy a small sample, train a small model for a
few epochs on the CPU, and check three things: every label line was loaded (no image or
object dropped), Ultralytics logged no label warning, and the training loss fell.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from fracatlas_annot.errors import InputError, UsageError
from fracatlas_annot.formats.ultralytics import dataset_root
from fracatlas_annot.formats.yolo import find_data_yaml

from .fit import read_data_yaml, train

SMOKE_SETTINGS: dict[str, Any] = {
    # From scratch on a few dozen images: no warm-up (it would last the whole run), one
    # optimizer step per batch (nbs = batch), AdamW, validation only at the end.
    "warmup_epochs": 0, "optimizer": "AdamW", "lr0": 0.002, "val": False,
}


def _label_task(data_yaml: Path) -> str:
    """``segment`` when label lines carry polygons (more than 5 fields), else ``detect``."""
    root = dataset_root(data_yaml, read_data_yaml(data_yaml))
    for f in (root / "labels").rglob("*.txt"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                return "segment" if len(line.split()) > 5 else "detect"
    return "detect"


def _split_images(data_yaml: Path, split: str) -> list[Path]:
    doc = read_data_yaml(data_yaml)
    root = dataset_root(data_yaml, doc)
    entry = doc.get(split)
    if not entry:
        return []
    folders = entry if isinstance(entry, list) else [entry]
    files: list[Path] = []
    for folder in folders:
        d = root / folder
        if d.is_dir():
            files += sorted(p for p in d.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"))
    return files


def _label_for(image: Path) -> Path:
    parts = list(image.parts)
    i = len(parts) - 1 - parts[::-1].index("images")
    parts[i] = "labels"
    return Path(*parts).with_suffix(".txt")


def make_sample(data_yaml: Path, out: Path, n_images: int) -> tuple[Path, int]:
    """Copy up to ``n_images`` train and ``n_images // 2`` val images (with labels) into
    ``out``; return the sample's data.yaml and its number of label lines."""
    doc = read_data_yaml(data_yaml)
    train_imgs = _split_images(data_yaml, "train")
    if not train_imgs:
        raise InputError(data_yaml, "the train split has no images")
    val_imgs = _split_images(data_yaml, "val") or train_imgs
    n_lines = 0
    for split, imgs, n in (("train", train_imgs, n_images), ("val", val_imgs, max(2, n_images // 2))):
        # spread the sample over the list (id blocks in FracAtlas differ by image size)
        step = max(1, len(imgs) // n)
        chosen = imgs[::step][:n]
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for img in chosen:
            shutil.copyfile(img, out / "images" / split / img.name)
            label = _label_for(img)
            text = label.read_text(encoding="utf-8") if label.is_file() else ""
            (out / "labels" / split / f"{img.stem}.txt").write_text(text, encoding="utf-8")
            if split == "train":
                n_lines += sum(1 for line in text.splitlines() if line.strip())
    sample = {"path": str(out), "train": "images/train", "val": "images/val", "names": doc["names"]}
    (out / "data.yaml").write_text(yaml.safe_dump(sample, sort_keys=False), encoding="utf-8")
    return out / "data.yaml", n_lines


def loss_fell(losses: list[float]) -> bool:
    """True when the mean loss of the last three epochs is below 90 % of the highest loss
    before them.

    Trained from scratch, the loss first *rises*: until the assigner matches predictions
    to objects, the box and DFL terms are zero. A set the model can learn then falls from
    that peak; a set whose labels do not match the pixels (shifted, swapped) stays up.
    """
    losses = [v for v in losses if not math.isnan(v)]
    if len(losses) < 5:
        return False
    peak = max(losses[:-3])
    tail = sum(losses[-3:]) / 3
    return tail < 0.9 * peak


def smoke(
    path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    tasks: tuple[str, ...] | None = None,
    source: str | None = None,
    model: str = "yolov8n",
    epochs: int = 30,
    imgsz: int = 96,
    batch: int = 4,
    n_images: int = 16,
    seed: int = 0,
    config_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run the smoke check on ``path`` (a dataset to convert, or a converted set / its
    data.yaml). Returns ``{"ok": bool, "runs": [...]}``; each run lists its checks.

    ``tasks`` defaults to both detect and segment for a dataset to convert (segment only
    when the source has polygons) and to the label kind of a converted set. Everything is
    written under ``out`` (a temporary folder, removed afterwards, when None).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    keep = out is not None
    work = Path(out).resolve() if out is not None else Path(tempfile.mkdtemp(prefix="fracatlas-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sets = _converted_sets(path, work, tasks, source)
        runs = []
        for task, data_yaml, convert_info in sets:
            sample_yaml, n_lines = make_sample(data_yaml, work / f"sample-{task}", n_images)
            labels_seen: list[int] = []

            def _count(trainer: Any, _seen: list[int] = labels_seen) -> None:
                _seen.append(sum(len(lb["cls"]) for lb in trainer.train_loader.dataset.labels))

            result = train(
                sample_yaml, task=task, model=model, epochs=epochs, imgsz=imgsz, batch=batch, nbs=batch,
                seed=seed, device="cpu", out=work / "runs", name=task, exist_ok=True, fracatlas=False,
                config_dir=config_dir, callbacks={"on_train_start": _count}, **SMOKE_SETTINGS,
            )
            loaded = labels_seen[0] if labels_seen else None
            checks = [
                {"check": "labels-loaded", "ok": loaded == n_lines,
                 "message": f"{loaded} of {n_lines} train label lines loaded by Ultralytics"},
                {"check": "no-label-warnings", "ok": not result["label_warnings"],
                 "message": "; ".join(result["label_warnings"][:5]) or "no label warning from Ultralytics"},
                {"check": "loss-falls", "ok": loss_fell(result["train_loss"]),
                 "message": "train loss per epoch: " + ", ".join(f"{v:.2f}" for v in result["train_loss"])},
            ]
            runs.append({"task": task, "data": str(data_yaml), "convert": convert_info, "ok": all(c["ok"] for c in checks),
                         "checks": checks, "metrics": result["metrics"], "wall_seconds": result["wall_seconds"],
                         "run_dir": result["run_dir"] if keep else None})
        return {"ok": all(r["ok"] for r in runs), "runs": runs, "out": str(work) if keep else None}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _converted_sets(path: Path, work: Path, tasks: tuple[str, ...] | None, source: str | None) -> list[tuple[str, Path, dict | None]]:
    data_yaml = find_data_yaml(path)
    if data_yaml is not None:
        kind = _label_task(data_yaml)
        if tasks and any(t != kind for t in tasks):
            raise UsageError(f"{data_yaml} holds {kind} labels; it cannot be smoke-tested as {', '.join(tasks)}")
        return [(kind, data_yaml, None)]
    from fracatlas_annot.convert import convert
    from fracatlas_annot.formats import read

    dataset = read(path)
    if tasks is None:
        src = dataset.source(source) if source else None
        has_polygons = any(s.has_geometry for s in dataset.sources.values()) if src is None else src.has_geometry
        tasks = ("detect", "segment") if has_polygons else ("detect",)
    sets = []
    for task in tasks:
        to = "yolo-seg" if task == "segment" else "yolo-detect"
        manifest = convert(dataset, to=to, out=work / f"converted-{task}", source=source, progress=False, overwrite=True)
        sets.append((task, work / f"converted-{task}" / "data.yaml",
                     {"target": to, "source": manifest.get("inputs", {}).get("source"), "counts": manifest.get("counts", {}).get("per_split")}))
    return sets
