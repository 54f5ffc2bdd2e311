"""Read the committed fracatlas-mini fixture into a Dataset for the converter tests.

Uses :func:`fracatlas_annot.formats.read` when the archive reader exists; until then the
dataset is assembled here from dataset.csv, the image headers, the split lists and the
per-format readers (``formats.coco`` / ``formats.voc``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from fracatlas_annot.model import Dataset

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"


def read_mini(root: Path = MINI) -> Dataset:
    try:
        from fracatlas_annot.formats import read  # type: ignore[attr-defined]
    except ImportError:
        read = None
    if read is not None:
        return read(root)
    return assemble(root)


def assemble(root: Path) -> Dataset:
    from fracatlas_annot.formats import coco, voc

    csv = pd.read_csv(root / "dataset.csv", dtype={"image_id": object})
    rows = []
    for rec in csv.to_dict("records"):
        key = rec["image_id"]
        folder = "Fractured" if rec["fractured"] else "Non_fractured"
        path = root / "images" / folder / key
        with Image.open(path) as im:
            raw_w, raw_h = im.size
            orient = im.getexif().get(0x0112, 1)
        w, h = (raw_h, raw_w) if orient in (5, 6, 7, 8) else (raw_w, raw_h)
        rows.append({"image": key, "path": str(path), "folder": folder, "width": w, "height": h, "raw_width": raw_w,
                     "raw_height": raw_h, "orientation": orient, "file_size": path.stat().st_size, "header_error": None,
                     "split": None, "in_csv": True, **{k: v for k, v in rec.items() if k != "image_id"}})
    images = pd.DataFrame(rows).set_index("image")
    images.index = pd.Index(images.index, dtype=object, name="image")
    for c in ("width", "height", "raw_width", "raw_height", "orientation", "file_size"):
        images[c] = images[c].astype("Int64")
    images["path"] = images["path"].astype(object)
    lists = []
    for name in ("train", "valid", "test"):
        f = root / "Utilities" / "Fracture Split" / f"{name}.csv"
        ids = pd.read_csv(f, dtype=object)["image_id"].tolist()
        lists += [(name, k, f"Utilities/Fracture Split/{name}.csv", i + 2) for i, k in enumerate(ids)]
    split_lists = pd.DataFrame(lists, columns=["split", "image", "file", "line"])
    c, _ = coco.read(root / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json", base=root)
    v, _ = voc.read(root / "Annotations" / "PASCAL VOC", base=root)
    return Dataset(images=images, labels=["fractured"], sources={"coco": c, "voc": v}, split_lists=split_lists,
                   root=root, format="fracatlas")
