"""In-memory FracAtlas-shaped datasets with real JPEG files, for the converter tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from fracatlas_annot.model import Dataset, Source, make_objects, make_source_images

# key, displayed width, height, fractured, body part, EXIF orientation, listed split
IMAGES = [
    ("IMG0000001.jpg", 373, 454, 1, "hand", 1, "train"),
    ("IMG0000002.jpg", 454, 373, 1, "leg", 1, "train"),
    ("IMG0000003.jpg", 373, 454, 1, "hip", 6, "valid"),  # stored 454x373, shown rotated
    ("IMG0000004.jpg", 373, 454, 1, "shoulder", 1, "test"),
    ("IMG0000005.jpg", 373, 454, 0, "hand", 1, None),
    ("IMG0000006.jpg", 454, 373, 0, "leg", 1, None),
    ("IMG0000007.jpg", 373, 454, 0, "hip", 1, None),
    ("IMG0000008.jpg", 373, 454, 0, "mixed", 1, None),
]

# polygons in the displayed frame (pixels); IMG2 object 2 has two parts; IMG1 touches the border
POLYGONS = {
    "IMG0000001.jpg": [
        [(100.25, 150.5), (140.5, 148.25), (150.125, 190.75), (99.0, 195.5)],
        [(300.0, 400.0), (373.0, 410.0), (373.0000000000001, 454.0), (310.0, 454.0)],
    ],
    "IMG0000002.jpg": [
        [(10.0, 10.0), (60.0, 12.0), (40.0, 50.0)],
        [[(200.0, 100.0), (240.0, 100.0), (240.0, 140.0)], [(300.0, 200.0), (330.0, 200.0), (330.0, 230.0), (300.0, 230.0)]],
    ],
    "IMG0000003.jpg": [[(20.5, 30.5), (80.0, 30.0), (80.0, 90.0), (20.0, 90.0)]],
    "IMG0000004.jpg": [[(5.0, 5.0), (50.0, 5.0), (27.0, 40.0)]],
}


def _jpeg(path: Path, w: int, h: int, orientation: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if orientation in (5, 6, 7, 8):
        w, h = h, w  # stored transposed
    arr = rng.integers(0, 255, size=(h, w), dtype=np.uint8)
    img = Image.fromarray(arr, mode="L")
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    img.save(path, "JPEG", exif=exif.tobytes(), quality=70)


def _geometry(spec):
    if isinstance(spec[0][0], (list, tuple)):
        return shapely.MultiPolygon([shapely.Polygon(p) for p in spec])
    return shapely.Polygon(spec)


def build_dataset(root: Path, *, with_files: bool = True) -> Dataset:
    """A FracAtlas-shaped Dataset: images on disk, dataset.csv columns, split lists,
    a ``coco`` polygon source and a ``voc`` box source (integer boxes, all images)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (key, w, h, fr, part, orient, _) in enumerate(IMAGES):
        folder = "Fractured" if fr else "Non_fractured"
        path = root / "images" / folder / key
        if with_files:
            path.parent.mkdir(parents=True, exist_ok=True)
            _jpeg(path, w, h, orient, i)
        raw_w, raw_h = (h, w) if orient in (5, 6, 7, 8) else (w, h)
        row = {
            "image": key, "path": str(path) if with_files else None, "folder": folder, "width": w, "height": h,
            "raw_width": raw_w, "raw_height": raw_h, "orientation": orient, "file_size": None, "header_error": None,
            "split": None, "in_csv": True,
        }
        for p in ("hand", "leg", "hip", "shoulder", "mixed"):
            row[p] = int(part == p)
        row.update({"hardware": 0, "multiscan": 0, "fractured": fr, "fracture_count": len(POLYGONS.get(key, []))})
        rows.append(row)
    images = pd.DataFrame(rows).set_index("image")
    images.index = pd.Index(images.index, dtype=object, name="image")
    for c in ("width", "height", "raw_width", "raw_height", "orientation", "file_size"):
        images[c] = images[c].astype("Int64")
    images["path"] = images["path"].astype(object)
    split_lists = pd.DataFrame(
        [(s, k, f"Utilities/Fracture Split/{s}.csv", j + 2) for j, (k, *_, s) in enumerate(IMAGES) if s],
        columns=["split", "image", "file", "line"],
    )
    coco = coco_source(images)
    voc = voc_source(images)
    return Dataset(
        images=images, labels=["fractured"], sources={"coco": coco, "voc": voc}, split_lists=split_lists,
        root=root, format="fracatlas",
    )


def coco_source(images: pd.DataFrame) -> Source:
    keys, geoms, locs, ids = [], [], [], []
    n = 0
    for key, polys in POLYGONS.items():
        for spec in polys:
            keys.append(key)
            geoms.append(_geometry(spec))
            locs.append(f"annotations[{n}]")
            ids.append(n)
            n += 1
    g = np.array(geoms, dtype=object)
    b = shapely.bounds(g)
    objects = make_objects({
        "image": keys, "label": ["fractured"] * n, "class_id": [1] * n,
        "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3], "geometry": g,
        "file": ["Annotations/COCO JSON/COCO_fracture_masks.json"] * n, "loc": locs, "ann_id": ids,
        "n_parts": [shapely.get_num_geometries(x) for x in geoms],
    })
    listed = list(POLYGONS)
    src_images = make_source_images(listed, width=images.loc[listed, "width"].tolist(), height=images.loc[listed, "height"].tolist(),
                                    file=["Annotations/COCO JSON/COCO_fracture_masks.json"] * len(listed),
                                    loc=[f"images[{i}]" for i in range(len(listed))])
    return Source(name="coco", format="coco", objects=objects, images=src_images, labels=["fractured"],
                  label_ids={1: "fractured"}, geometry="polygon", path="Annotations/COCO JSON/COCO_fracture_masks.json")


def voc_source(images: pd.DataFrame) -> Source:
    keys, boxes, locs, files = [], [], [], []
    for key, polys in POLYGONS.items():
        for j, spec in enumerate(polys):
            x0, y0, x1, y1 = shapely.bounds(_geometry(spec))
            w, h = images.loc[key, "width"], images.loc[key, "height"]
            boxes.append([min(round(x0), w), min(round(y0), h), min(round(x1), w), min(round(y1), h)])
            keys.append(key)
            locs.append(f"/annotation/object[{j + 1}]")
            files.append(f"Annotations/PASCAL VOC/{os.path.splitext(key)[0]}.xml")
    b = np.array(boxes, dtype=float)
    n = len(keys)
    objects = make_objects({
        "image": keys, "label": ["fractured"] * n, "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3],
        "file": files, "loc": locs, "difficult": ["0"] * n, "truncated": ["Unspecified"] * n,
    })
    keys_all = list(images.index)
    src_images = make_source_images(keys_all, width=images["width"].tolist(), height=images["height"].tolist(),
                                    file=[f"Annotations/PASCAL VOC/{os.path.splitext(k)[0]}.xml" for k in keys_all])
    return Source(name="voc", format="voc", objects=objects, images=src_images, labels=["fractured"], label_ids={},
                  geometry="box", path="Annotations/PASCAL VOC")


@pytest.fixture
def mini(tmp_path: Path) -> Dataset:
    return build_dataset(tmp_path / "FracAtlas")


@pytest.fixture(scope="session")
def yolo_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ultralytics offline: config dir with fonts, no downloads."""
    cfg = tmp_path_factory.mktemp("yolo_config")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    (cfg / "Ultralytics").mkdir(parents=True, exist_ok=True)
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        (cfg / "Ultralytics" / name).write_bytes(font.read_bytes())
    return cfg
