"""A small in-memory dataset with real JPEG files for the report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fracatlas_annot.model import Dataset, Source, make_objects, polygons_from_flat


def make_dataset(root: Path, n: int = 8) -> Dataset:
    """``n`` grey JPEGs (one with EXIF orientation 6), a polygon source and a box source."""
    rng = np.random.default_rng(0)
    rows = []
    keys = [f"IMG{i:07d}.jpg" for i in range(n)]
    for i, key in enumerate(keys):
        w, h = (373, 454) if i % 3 else (454, 373)
        path = root / key
        if i == 1:  # stored 454 wide, displayed 373 x 454 after EXIF orientation 6
            exif = Image.Exif()
            exif[0x0112] = 6
            Image.fromarray((rng.random((373, 454)) * 60 + 80).astype("uint8")).save(path, exif=exif)
        else:
            Image.fromarray((rng.random((h, w)) * 60 + 80).astype("uint8")).save(path)
        rows.append(
            {
                "image": key, "path": str(path), "folder": "Fractured" if i < 3 else "Non_fractured",
                "width": w, "height": h, "raw_width": h if i == 1 else w, "raw_height": w if i == 1 else h,
                "orientation": 6 if i == 1 else None, "file_size": path.stat().st_size, "header_error": None,
                "split": ["train", "val", "test", None][i % 4], "in_csv": True,
                "fractured": int(i < 3), "hand": int(i % 2 == 0), "leg": int(i % 2 == 1), "hip": 0,
                "shoulder": 0, "mixed": 0, "frontal": 1, "lateral": int(i % 3 == 0), "oblique": 0,
            }
        )  # fmt: skip
    images = pd.DataFrame(rows).set_index("image")
    images["orientation"] = images["orientation"].astype("Int64")
    files = pd.DataFrame(
        {"image": keys, "path": images["path"].tolist(), "folder": images["folder"].tolist(), "file_size": images["file_size"].tolist()}
    )
    flat = [[50, 60, 120, 70, 110, 150, 40, 140], [200, 200, 260, 210, 250, 300], [30, 30, 90, 35, 80, 100, 25, 95]]
    geoms = polygons_from_flat(flat)
    b = np.array([g.bounds for g in geoms])
    on = keys[:3]
    coco = make_objects(
        {"image": on, "label": ["fractured"] * 3, "class_id": [1] * 3, "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2],
         "y1": b[:, 3], "geometry": geoms, "file": "c.json", "loc": [f"annotations[{i}]" for i in range(3)]}
    )  # fmt: skip
    voc = make_objects(
        {"image": on + [keys[3]], "label": ["fractured"] * 4, "x0": [*b[:, 0], 10.0], "y0": [*b[:, 1], 10.0],
         "x1": [*b[:, 2], 60.0], "y1": [*b[:, 3], 80.0], "file": [f"voc/{k[:-4]}.xml" for k in on + [keys[3]]],
         "loc": "/annotation/object[1]"}
    )  # fmt: skip
    return Dataset(
        images=images,
        labels=["fractured"],
        sources={"coco": Source("coco", "coco", coco, geometry="polygon"), "voc": Source("voc", "voc", voc)},
        files=files,
        root=root,
        format="fracatlas",
    )


@pytest.fixture
def small_dataset(tmp_path: Path) -> Dataset:
    root = tmp_path / "ds"
    root.mkdir()
    return make_dataset(root)
