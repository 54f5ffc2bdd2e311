"""``smoke``: the end-to-end check to run before a long training.

Convert (or take an already converted set), copy a small sample, train a small model for a
few epochs on the CPU, and check three things: every label line was loaded (no image or
object dropped), Ultralytics logged no label warning, and the training loss fell.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
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


#: Share of the sample drawn from images with objects (the rest: negatives). A FracAtlas train
#: split is mostly negative; an even draw would leave the model almost nothing to learn from.
POSITIVE_SHARE = 0.75


def _label_lines(image: Path) -> str:
    label = _label_for(image)
    return label.read_text(encoding="utf-8") if label.is_file() else ""


def _spread(items: list[Path], k: int) -> list[Path]:
    """``k`` items spread evenly over ``items`` (FracAtlas id blocks differ by image size)."""
    if k >= len(items):
        return list(items)
    return [items[(i * len(items)) // k] for i in range(k)]


def pick_sample(images: list[Path], n: int, *, positive_share: float = POSITIVE_SHARE) -> list[Path]:
    """Up to ``n`` of ``images``, mostly (``positive_share``) images whose label file holds an
    object, the rest negatives; when one kind runs short the other fills in. Deterministic,
    in the order of ``images``."""
    with_objects = [p for p in images if _label_lines(p).strip()]
    negatives = [p for p in images if p not in set(with_objects)]
    n = min(n, len(images))
    n_neg = min(len(negatives), n - min(len(with_objects), math.ceil(positive_share * n)))
    n_pos = min(len(with_objects), n - n_neg)
    chosen = set(_spread(with_objects, n_pos)) | set(_spread(negatives, n_neg))
    return [p for p in images if p in chosen]


def make_sample(data_yaml: Path, out: Path, n_images: int) -> tuple[Path, int, dict[str, dict[str, int]]]:
    """Copy up to ``n_images`` train and ``n_images // 2`` val images (with labels), drawn mostly
    from images with objects (:func:`pick_sample`), into ``out``; return the sample's data.yaml,
    its number of train label lines and, per split, how many images it holds and how many of
    them carry an object."""
    doc = read_data_yaml(data_yaml)
    train_imgs = _split_images(data_yaml, "train")
    if not train_imgs:
        raise InputError(data_yaml, "the train split has no images")
    val_imgs = _split_images(data_yaml, "val") or train_imgs
    n_lines = 0
    composition: dict[str, dict[str, int]] = {}
    for split, imgs, n in (("train", train_imgs, n_images), ("val", val_imgs, max(2, n_images // 2))):
        chosen = pick_sample(imgs, n)
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        with_objects = 0
        for img in chosen:
            shutil.copyfile(img, out / "images" / split / img.name)
            text = _label_lines(img)
            (out / "labels" / split / f"{img.stem}.txt").write_text(text, encoding="utf-8")
            lines = sum(1 for line in text.splitlines() if line.strip())
            with_objects += lines > 0
            if split == "train":
                n_lines += lines
        composition[split] = {"images": len(chosen), "with_objects": with_objects}
    sample = {"path": str(out), "train": "images/train", "val": "images/val", "names": doc["names"]}
    (out / "data.yaml").write_text(yaml.safe_dump(sample, sort_keys=False), encoding="utf-8")
    return out / "data.yaml", n_lines, composition


#: The last third's median must be below this share of the first third's.
LOSS_RATIO = 0.9


def loss_trend(losses: list[float]) -> dict[str, Any]:
    """Compare the median train loss of the first and the last third of the epochs.

    ``ok`` when the last third's median is below 90 % of the first third's. Medians, not a
    peak: a from-scratch loss is noisy (one epoch can spike to 8 or 70 and fall back), and a
    run whose loss went 3.12, 1.52, 8.28 ... 3.10 has not learnt anything although its end is
    far below its peak. The thirds are ``ceil(n / 3)`` epochs long, so on a short run they
    reach past the first epochs, where the loss sits low until the assigner matches
    predictions to objects (the box and DFL terms are zero until then). Fewer than 5 epochs
    (NaN epochs left out) cannot show a trend: not ok.
    """
    values = [float(v) for v in losses if not math.isnan(v)]
    if len(values) < 5:
        return {"ok": False, "first": None, "last": None, "epochs": len(values)}
    k = math.ceil(len(values) / 3)
    first, last = statistics.median(values[:k]), statistics.median(values[-k:])
    return {"ok": last < LOSS_RATIO * first, "first": first, "last": last, "epochs": len(values)}


def loss_fell(losses: list[float]) -> bool:
    """True when the loss fell: see :func:`loss_trend`."""
    return bool(loss_trend(losses)["ok"])


def _loss_message(losses: list[float]) -> str:
    trend = loss_trend(losses)
    text = "train loss per epoch: " + ", ".join(f"{v:.2f}" for v in losses)
    if trend["first"] is None:
        return f"{text} (fewer than 5 epochs: no trend)"
    return (f"{text}; median of the first third {trend['first']:.2f}, of the last third {trend['last']:.2f}"
            f" (falls when below {LOSS_RATIO:.0%} of the first)")


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
    allow_lossy: bool = False,
    config_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run the smoke check on ``path`` (a dataset to convert, or a converted set / its
    data.yaml). Returns ``{"ok": bool, "runs": [...]}``; each run lists its checks.

    ``tasks`` defaults to both detect and segment for a dataset to convert (segment only
    when the source has polygons) and to the label kind of a converted set. Everything is
    written under ``out`` (a temporary folder, removed afterwards, when None).
    ``allow_lossy`` lets the conversion write a set that loses information (as ``convert
    --allow-lossy``); the run then lists the lossy changes under ``convert``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    keep = out is not None
    work = Path(out).resolve() if out is not None else Path(tempfile.mkdtemp(prefix="fracatlas-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sets = _converted_sets(path, work, tasks, source, allow_lossy)
        runs = []
        for task, data_yaml, convert_info in sets:
            sample_yaml, n_lines, composition = make_sample(data_yaml, work / f"sample-{task}", n_images)
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
                {"check": "loss-falls", "ok": loss_fell(result["train_loss"]), "message": _loss_message(result["train_loss"])},
            ]
            runs.append({"task": task, "data": str(data_yaml), "convert": convert_info, "sample": composition,
                         "ok": all(c["ok"] for c in checks),
                         "checks": checks, "metrics": result["metrics"], "wall_seconds": result["wall_seconds"],
                         "run_dir": result["run_dir"] if keep else None})
        return {"ok": all(r["ok"] for r in runs), "runs": runs, "out": str(work) if keep else None}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _converted_sets(
    path: Path, work: Path, tasks: tuple[str, ...] | None, source: str | None, allow_lossy: bool = False
) -> list[tuple[str, Path, dict | None]]:
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
        manifest = convert(dataset, to=to, out=work / f"converted-{task}", source=source, progress=False, overwrite=True,
                           allow_lossy=allow_lossy)
        lossy = [c for c in manifest.get("changes", []) if c.get("lossy")]
        sets.append((task, work / f"converted-{task}" / "data.yaml",
                     {"target": to, "source": manifest.get("inputs", {}).get("source"), "counts": manifest.get("counts", {}).get("per_split"),
                      "lossy_changes": len(lossy), "lossy_kinds": sorted({str(c.get("kind")) for c in lossy})}))
    return sets
