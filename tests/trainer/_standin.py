"""TEMPORARY stand-in for ``fracatlas_annot.convert.convert`` (tests only), used until the
convert module lands: COCO polygons of a FracAtlas-shaped archive -> Ultralytics folders."""

from __future__ import annotations

import json
from pathlib import Path
import shutil


def write_yolo(archive: Path, out: Path, *, to: str) -> Path:
    coco = json.loads((archive / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json").read_text())
    by_id = {im["id"]: im for im in coco["images"]}
    lines: dict[str, list[str]] = {im["file_name"]: [] for im in coco["images"]}
    for a in coco["annotations"]:
        im = by_id[a["image_id"]]
        w, h = im["width"], im["height"]
        if to == "yolo-seg":
            flat = a["segmentation"][0]
            vals = [f"{v / (w if i % 2 == 0 else h):.6f}" for i, v in enumerate(flat)]
        else:
            x, y, bw, bh = a["bbox"]
            vals = [f"{(x + bw / 2) / w:.6f}", f"{(y + bh / 2) / h:.6f}", f"{bw / w:.6f}", f"{bh / h:.6f}"]
        lines[im["file_name"]].append(" ".join(["0", *vals]))
    split_dir = archive / "Utilities" / "Fracture Split"
    for split, ours in (("train", "train"), ("valid", "val"), ("test", "test")):
        keys = (split_dir / f"{split}.csv").read_text().split()[1:]
        (out / "images" / ours).mkdir(parents=True, exist_ok=True)
        (out / "labels" / ours).mkdir(parents=True, exist_ok=True)
        for k in keys:
            shutil.copyfile(archive / "images" / "Fractured" / k, out / "images" / ours / k)
            (out / "labels" / ours / f"{k[:-4]}.txt").write_text("\n".join(lines[k]) + "\n")
    (out / "data.yaml").write_text(
        f"path: {out}\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n  0: fractured\n"
    )
    return out / "data.yaml"
