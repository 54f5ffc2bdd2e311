"""An Ultralytics YOLO dataset: ``data.yaml`` + ``images/<split>/`` + ``labels/<split>/``.

This is what ``convert --to yolo-detect|yolo-seg`` writes (:func:`write`) and what
Ultralytics trains on, so ``validate`` and ``info`` can read a written set back
(:func:`read`) and check it like any other input.

    >>> from fracatlas_annot.formats import read
    >>> ds = read("out/seg")              # the folder holding data.yaml, or data.yaml itself

Layout rules follow Ultralytics (``ultralytics.data.utils.img2label_paths``): the label file of
``.../images/<split>/x.jpg`` is ``.../labels/<split>/x.txt``; a split entry in ``data.yaml`` is
a folder of images or a ``.txt`` list of image paths, relative to ``path`` (or to the yaml's
folder when ``path`` is missing). Class names come from ``names`` (list or dict).

Written layout: ``images/{train,val,test}/`` (hard links, copies where linking fails),
``labels/{train,val,test}/<stem>.txt`` (one per image, empty for negatives),
``data.yaml`` (absolute ``path``, split folders, ``names``; no ``download`` key).
Segment lines are ``cls x1 y1 x2 y2 ...`` normalised, clamped and rounded to 6 decimals,
with >= 3 distinct vertices; a segment set never holds a box line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from ..errors import InputError
from ..model import Dataset, Problem
from ..runtime.paths import check_names
from . import yolo
from ._files import os_error_problem, scan_files
from ._write import format_rows, group_lines, stems, write_text_files, yolo_boxes
from ._yaml import load_yaml
from .fracatlas import IMAGE_SUFFIXES
from .yolo import find_data_yaml

if TYPE_CHECKING:
    from .registry import WritePlan

__all__ = ["read", "write", "build_lines", "data_yaml", "is_dataset", "dataset_root", "sniff"]

SPLIT_KEYS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
#: The split folders a written dataset may have, in data.yaml order.
SPLITS = ("train", "val", "test")
#: ``convert`` target -> what its label lines hold.
TASKS = {"yolo-detect": "detect", "yolo-seg": "segment"}


# --------------------------------------------------------------------------- reading


def is_dataset(path: Path) -> bool:
    """True when ``path`` is (or holds) a data.yaml that names at least a train split."""
    y = find_data_yaml(path)
    if y is None:
        return False
    try:
        doc, problems = load_yaml(y.read_text(encoding="utf-8"), file=y.name)
    except (OSError, UnicodeDecodeError):
        return False
    return not problems and isinstance(doc, dict) and "train" in doc


def sniff(path: Path) -> int:
    """Detection score of a ``.yaml`` file: 1 when it is a dataset yaml (names a train split)."""
    return int(is_dataset(path))


def dataset_root(yaml_path: Path, doc: dict[str, Any]) -> Path:
    """The folder split entries are relative to: ``path`` from the yaml (relative to the
    yaml's folder), else the yaml's folder."""
    root = Path(str(doc.get("path") or yaml_path.parent))
    return root if root.is_absolute() else (yaml_path.parent / root).resolve()


def _split_images(root: Path, entry: Any, split: str, yaml_file: str, problems: list[Problem]) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    out: list[Path] = []
    for e in entries:
        if e is None:
            continue
        p = Path(str(e))
        p = p if p.is_absolute() else root / p
        if p.is_dir():
            out += [p / n for n in scan_files(p, IMAGE_SUFFIXES, display=f"{e}/", problems=problems)]
        elif p.is_file() and p.suffix == ".txt":
            try:
                data = p.read_bytes()
            except OSError as exc:
                problems.append(os_error_problem(exc, file=str(e)))
                continue
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = data.count(b"\n", 0, exc.start) + 1
                problems.append(Problem(kind="parse-error", file=str(e), line=line, loc=split,
                                        message=f"split list not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; "
                                                "the list is not read"))  # fmt: skip
                continue
            for line in text.splitlines():
                line = line.strip()
                if line:
                    q = Path(line)
                    out.append(q if q.is_absolute() else (p.parent / q).resolve())
        else:
            problems.append(Problem(kind="missing-key", message=f"the {split} split '{e}' does not exist", file=yaml_file, loc=split))
    return out


def read(path: str | os.PathLike[str], *, names: Any = None) -> Dataset:
    """Read an Ultralytics dataset into a Dataset with one source, ``"yolo"``.

    Images keep their split (``train`` / ``val`` / ``test``); an image whose label file is
    missing is a negative for Ultralytics and is listed in the source like an empty file.
    ``names`` is accepted like every reader's and ignored: the yaml's ``names`` win.
    """
    from .assemble import assemble

    yaml_path = find_data_yaml(Path(path))
    if yaml_path is None:
        raise InputError(path, "--format ultralytics needs a data.yaml (or the folder holding it)")
    folder = yaml_path.parent
    problems: list[Problem] = []
    try:
        doc, probs = load_yaml(yaml_path.read_text(encoding="utf-8"), file=yaml_path.name)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(yaml_path, f"cannot read the dataset yaml: {exc}") from None
    if probs:
        raise InputError(yaml_path, str(probs[0]))
    doc = doc if isinstance(doc, dict) else {}
    root = dataset_root(yaml_path, doc)
    ids, probs = yolo.names_of_yaml(doc, file=yaml_path.name)
    problems += [p for p in probs if p.kind != "missing-key"]
    names = [ids[k] for k in sorted(ids)] if ids else None

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
    ds = assemble(folder, sources, problems, fmt="ultralytics", images_from=image_paths)
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


# --------------------------------------------------------------------------- writing


def build_lines(plan: WritePlan, task: str) -> pd.DataFrame:
    """The label lines to write: ``image``, ``cls``, ``text`` (one row per instance), in
    source order; repeated lines on an image are removed and recorded."""
    objects = plan.objects
    rec = plan.recorder
    plan.record_crowd("Ultralytics YOLO")
    if task == "segment":
        geoms = plan.geometry(record=True)
        rings, owner = plan.segments(geoms, box_fallback=True)  # box fallback: lossy, refused unless allow_lossy
        cls = objects["cls"].to_numpy()[owner]
        texts = format_rows(cls.astype(str), rings.xy, rings.lengths * 2)
    else:
        owner, xywh = yolo_boxes(plan)
        cls = objects["cls"].to_numpy()[owner]
        texts = format_rows(cls.astype(str), xywh, np.full(len(owner), 4))
    lines = pd.DataFrame({"row": owner, "image": objects["image"].to_numpy(dtype=object)[owner], "cls": cls, "text": np.asarray(texts, dtype=object)})
    dup = lines.duplicated(["image", "text"]).to_numpy()
    if dup.any():
        rec.add("duplicate-removed", objects.iloc[lines["row"].to_numpy()[dup]], "same label line as another object on this image; written once")
        lines = lines[~dup]
    return lines.reset_index(drop=True)


def data_yaml(root: Path, names: list[str], splits: list[str]) -> str:
    """data.yaml text: absolute path, train/val(/test) folders, names; val falls back to train."""
    doc: dict[str, Any] = {"path": str(root)}
    doc["train"] = "images/train"
    doc["val"] = "images/val" if "val" in splits else "images/train"
    if "test" in splits:
        doc["test"] = "images/test"
    doc["names"] = {i: n for i, n in enumerate(names)}
    head = "# written by fracatlas-annot convert; see manifest.json\n"
    if "val" not in splits:
        head += "# no val split (--split none): val points at train, for smoke tests only\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def write(plan: WritePlan, tmp: Path, final: Path) -> dict[str, Any]:
    """Build the lines (boxes for ``yolo-detect``, segments for ``yolo-seg``), refuse lossy
    steps, then write the dataset into ``tmp`` (its ``data.yaml`` points at ``final``)."""
    plan.check_stems()
    lines = build_lines(plan, TASKS[plan.target])
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    texts = group_lines(lines["image"].to_numpy(dtype=object), lines["text"].to_numpy(dtype=object))
    images = plan.images
    split = images["split"].astype(object)
    used = [s for s in SPLITS if (split == s).any()]
    keys = images.index
    root = os.fspath(tmp)
    sep = os.sep
    check_names(keys.tolist() + [f"{st}.txt" for st in stems(keys).tolist()] + used, root)  # paths built as strings below
    label_paths = [f"{root}{sep}labels{sep}{s}{sep}{st}.txt" for s, st in zip(split.tolist(), stems(keys).tolist())]
    write_text_files(label_paths, [texts.get(k, "") for k in keys.tolist()])
    for s in used:
        (tmp / "images" / s).mkdir(parents=True, exist_ok=True)
    if images["path"].notna().any():
        links = plan.link_images({k: f"{root}{sep}images{sep}{s}{sep}{k}" for k, s in zip(keys.tolist(), split.tolist())})
    else:
        links = plan.link_images({}, n_images=len(keys))
    (tmp / "data.yaml").write_text(data_yaml(final, plan.names, used), encoding="utf-8")
    counts = plan.counts(lines)
    return {"counts": counts, "images": links, "files": ["data.yaml", "images/", "labels/"]}
