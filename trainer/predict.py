"""Predictions as a COCO results JSON, plus overlays (boxes and masks) as images."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from fracatlas_annot.errors import InputError, UsageError

from ._ultra import ultralytics_session
from .device import resolve_device
from .fit import model_source

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def collect_images(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Image files named directly or found (sorted, recursively) under the folders given."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            found.append(p)
        else:
            raise InputError(p, "no such file or folder")
    if not found:
        raise UsageError("no images to predict on")
    return found


def predict(
    weights: str | os.PathLike[str],
    images: Iterable[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    conf: float = 0.25,
    iou: float = 0.7,
    imgsz: int = 600,
    device: str = "auto",
    overlays: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run local ``weights`` on ``images``; write ``out/predictions.json`` and ``out/overlays/``.

    ``predictions.json`` is a COCO results list: one record per detection with
    ``image_id`` (1-based position in the sorted input), ``file_name``, ``category_id``
    (class index + 1, as COCO category ids start at 1), ``bbox`` ``[x, y, w, h]`` in image
    pixels, ``score`` and, for segmentation models, ``segmentation`` as COCO polygons.
    Returns a summary (paths and counts).
    """
    files = collect_images(images)
    source = model_source("detect", weights=weights)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    overlay_dir = out / "overlays"
    if overlays:
        overlay_dir.mkdir(exist_ok=True)
    dev = resolve_device(device)
    records: list[dict[str, Any]] = []
    with ultralytics_session(config_dir=config_dir):
        import cv2
        from ultralytics import YOLO

        yolo = YOLO(source)
        names = dict(yolo.names)
        for image_id, file in enumerate(files, start=1):
            result = yolo.predict(str(file), conf=conf, iou=iou, imgsz=imgsz, device=dev, save=False, verbose=False)[0]
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy() if boxes is not None else []
            cls = boxes.cls.cpu().numpy().astype(int) if boxes is not None else []
            score = boxes.conf.cpu().numpy() if boxes is not None else []
            polys = result.masks.xy if result.masks is not None else None
            for i in range(len(xyxy)):
                x0, y0, x1, y1 = (float(v) for v in xyxy[i])
                rec: dict[str, Any] = {
                    "image_id": image_id, "file_name": file.name, "category_id": int(cls[i]) + 1,
                    "category_name": names.get(int(cls[i])),
                    "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                    "score": round(float(score[i]), 5),
                }
                if polys is not None:
                    p = polys[i]
                    rec["segmentation"] = [[round(float(v), 2) for v in p.reshape(-1)]] if len(p) >= 3 else []
                records.append(rec)
            if overlays:
                cv2.imwrite(str(overlay_dir / f"{file.stem}.jpg"), result.plot(conf=True, line_width=1))
    path = out / "predictions.json"
    tmp = out / ".predictions.json.tmp"
    tmp.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return {
        "weights": source, "task": yolo.task, "images": len(files), "detections": len(records),
        "predictions": str(path), "overlays": str(overlay_dir) if overlays else None,
        "categories": [{"id": k + 1, "name": v} for k, v in sorted(names.items())],
    }
