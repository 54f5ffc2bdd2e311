"""An Ultralytics YOLO dataset: ``data.yaml`` + ``images/<split>/`` + ``labels/<split>/``.

This is what ``convert --to yolo-detect|yolo-seg`` writes and what Ultralytics trains on, so
``validate`` and ``info`` can read a written set back and check it like any other input.

    >>> from fracatlas_annot.formats import read
    >>> ds = read("out/seg")              # the folder holding data.yaml, or data.yaml itself

Layout rules follow Ultralytics (``ultralytics.data.utils.img2label_paths``): the label file of
``.../images/<split>/x.jpg`` is ``.../labels/<split>/x.txt``; a split entry in ``data.yaml`` is
a folder of images or a ``.txt`` list of image paths, relative to ``path`` (or to the yaml's
folder when ``path`` is missing). Class names come from ``names`` (list or dict).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import InputError
from ..model import Dataset, Problem
from . import yolo
from .fracatlas import IMAGE_SUFFIXES

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml")
SPLIT_KEYS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def find_yaml(path: Path) -> Path | None:
    """The dataset yaml at ``path`` (a yaml file, or a folder holding one), else None."""
    if path.is_file():
        return path if path.suffix.lower() in (".yaml", ".yml") else None
    for name in YAML_NAMES:
        if (path / name).is_file():
            return path / name
    return None


def is_dataset(path: Path) -> bool:
    """True when ``path`` is (or holds) a data.yaml that names at least a train split."""
    y = find_yaml(path)
    if y is None:
        return False
    try:
        doc = yaml.safe_load(y.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and "train" in doc


def _split_images(root: Path, entry: Any, split: str, yaml_file: str, problems: list[Problem]) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    out: list[Path] = []
    for e in entries:
        if e is None:
            continue
        p = Path(str(e))
        p = p if p.is_absolute() else root / p
        if p.is_dir():
            with os.scandir(p) as it:
                out += sorted(Path(x.path) for x in it if x.is_file() and x.name.lower().endswith(IMAGE_SUFFIXES))
        elif p.is_file() and p.suffix == ".txt":
            for line in p.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line:
                    q = Path(line)
                    out.append(q if q.is_absolute() else (p.parent / q).resolve())
        else:
            problems.append(Problem(kind="missing-key", message=f"the {split} split '{e}' does not exist", file=yaml_file, loc=split))
    return out


def read(path: str | os.PathLike[str]) -> Dataset:
    """Read an Ultralytics dataset into a Dataset with one source, ``"yolo"``.

    Images keep their split (``train`` / ``val`` / ``test``); an image whose label file is
    missing is a negative for Ultralytics and is listed in the source like an empty file.
    """
    from . import _assemble  # late import: formats/__init__ imports this module

    yaml_path = find_yaml(Path(path))
    if yaml_path is None:
        raise InputError(path, f"no {' / '.join(YAML_NAMES)} here")
    folder = yaml_path.parent
    problems: list[Problem] = []
    doc = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    root = Path(str(doc.get("path") or folder))
    if not root.is_absolute():
        root = (folder / root).resolve()
    names = doc.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names, key=int)]
    names = [str(n) for n in names] if isinstance(names, list) else None

    image_paths: list[Path] = []
    splits: list[str] = []
    seen: set[str] = set()
    for key, value in doc.items():
        split = SPLIT_KEYS.get(str(key))
        if split is None:
            continue
        for p in _split_images(root, value, split, yaml_path.name, problems):
            if str(p) in seen:
                continue  # `--split none` points val at train: keep the first split
            seen.add(str(p))
            image_paths.append(p)
            splits.append(split)

    label_dirs = sorted({_label_dir(p) for p in image_paths})
    keys = {p.stem: p.name for p in image_paths}
    sources = {}
    label_dirs = [d for d in label_dirs if d.is_dir()]
    if label_dirs:
        common = Path(os.path.commonpath([str(d) for d in label_dirs]))
        source, probs = yolo.read(common, name="yolo", names=names, image_keys=keys, base=folder, recursive=True)
        problems += probs
        # images without a label file are negatives for Ultralytics
        missing = [k for k in keys.values() if k not in source.images.index]
        if missing:
            extra = pd.DataFrame(index=pd.Index(missing, dtype=object, name="image"), columns=source.images.columns)
            source.images = pd.concat([source.images, extra.astype(source.images.dtypes.to_dict())])
        sources["yolo"] = source
    ds = _assemble(folder, sources, problems, fmt="ultralytics", images_from=image_paths)
    split_of = dict(zip((p.name for p in image_paths), splits))
    ds.images["split"] = pd.Series([split_of.get(k) for k in ds.images.index], index=ds.images.index, dtype=object)
    if names:
        ds.labels = list(names)
    ds.meta["data_yaml"] = str(yaml_path)
    return ds


def _label_dir(image: Path) -> Path:
    """``.../images/train/x.jpg`` -> ``.../labels/train`` (Ultralytics' img2label_paths rule)."""
    parts = list(image.parent.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    return image.parent
