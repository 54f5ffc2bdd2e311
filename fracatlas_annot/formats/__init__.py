"""Readers for makesense.ai exports and the FracAtlas archive, behind one ``read()``.

    >>> from fracatlas_annot.formats import read
    >>> ds = read("fixtures/fracatlas-mini")           # FracAtlas archive: coco, voc, yolo, vgg
    >>> ds = read("fixtures/readers/reader-1")          # one reader's exports: coco, vgg, yolo, voc, csv
    >>> ds = read("labels_x_2024-03-23-07-10-18.zip", format="yolo", names=["fractured"])

Per-format modules (``coco``, ``voc``, ``yolo``, ``vgg``, ``rect_csv``, ``fracatlas``) each
have ``read(path, *, name=..., base=...) -> (Source, problems)``; this module picks one
with :func:`detect.detect` and assembles a :class:`~fracatlas_annot.model.Dataset`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..imaging.headers import read_headers
from ..model import (
    IMAGE_COLUMNS,
    Dataset,
    Problem,
    Source,
    empty_images,
    problems_frame,
    resolve_normalized,
)
from .detect import FORMATS, UnknownFormat, detect, export_files, normalize_format
from .fracatlas import declared_sizes

__all__ = ["FORMATS", "detect", "read"]

#: Label-list preference when a dataset has several sources.
_LABEL_ORDER = ("coco", "yolo", "voc", "csv", "vgg")


def _reader(fmt: str) -> Callable[..., tuple[Source, list[Problem]]]:
    from . import coco, rect_csv, vgg, voc, yolo

    return {"coco": coco.read, "vgg": vgg.read, "voc": voc.read, "yolo": yolo.read, "csv": rect_csv.read}[fmt]


def read(path: str | os.PathLike[str], *, format: str | None = None, names: Sequence[str] | None = None) -> Dataset:
    """Read whatever is at ``path`` into a :class:`Dataset`.

    Args:
        path: a FracAtlas archive (or its parent), a makesense export file (COCO / VGG JSON,
            VOC / YOLO zip, rect CSV), a folder of VOC XML or YOLO txt files, a folder with one
            reader's makesense exports, or a folder of images.
        format: force a format (see :data:`FORMATS`) instead of detecting it.
        names: YOLO class names (index order), when no labels.txt / classes.txt is at hand.

    Returns:
        The dataset; reading problems are in ``Dataset.problems`` (never raised).

    Raises:
        InputError: nothing at all could be read (missing path, unknown format, or every
            file unreadable); the message lists what was looked for or what went wrong.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file or folder")
    try:
        fmt = normalize_format(format) if format else detect(p)
    except ValueError as exc:
        raise InputError(p, str(exc)) from None
    except UnknownFormat as exc:
        raise InputError(p, str(exc)) from None
    names = list(names) if names is not None else None
    if fmt == "fracatlas":
        from . import fracatlas

        if fracatlas.find_root(p) is None:
            raise InputError(p, "not a FracAtlas archive: no dataset.csv next to an Annotations/ folder here or in FracAtlas/")
        ds = fracatlas.read(p, names=names)
    elif fmt == "makesense":
        if not p.is_dir():
            raise InputError(p, "--format makesense needs a folder of makesense export files")
        ds = _read_exports(p, names=names)
    elif fmt == "ultralytics":
        from . import ultralytics

        if ultralytics.find_yaml(p) is None:
            raise InputError(p, "--format ultralytics needs a data.yaml (or the folder holding it)")
        ds = ultralytics.read(p)
    elif fmt == "folder":
        if not p.is_dir():
            raise InputError(p, "--format folder needs a folder of images")
        ds = _assemble(p, {}, [], fmt="folder")
    else:
        target = p
        if fmt == "voc" and p.is_dir() and not any(n.lower().endswith(".xml") for n in os.listdir(p)):
            from .detect import voc_folder

            target = voc_folder(p) or p  # a VOC layout: the XML files sit in Annotations/
        source, problems = _read_one(fmt, target, name=fmt, names=names, base=p if p.is_dir() else p.parent)
        ds = _assemble(p, {fmt: source}, problems, fmt=fmt)
    _raise_if_empty(ds, p)
    return ds


def _read_one(fmt: str, path: Path, *, name: str, names: Sequence[str] | None, base: Path) -> tuple[Source, list[Problem]]:
    kwargs: dict[str, Any] = {"name": name, "base": base}
    if fmt == "yolo" and names is not None:
        kwargs["names"] = list(names)
    source, problems = _reader(fmt)(path, **kwargs)
    for pr in problems:
        if pr.source is None:
            pr.source = name
    return source, problems


def _read_exports(folder: Path, *, names: Sequence[str] | None) -> Dataset:
    """One reader's makesense exports: one source per file, named by format."""
    sources: dict[str, Source] = {}
    problems: list[Problem] = []
    files: dict[str, str] = {}
    for fmt, f in export_files(folder):
        name = fmt
        k = 2
        while name in sources:
            name = f"{fmt}-{k}"
            k += 1
        source, probs = _read_one(fmt, f, name=name, names=names, base=folder)
        source.name = name
        sources[name] = source
        problems += probs
        files[name] = f.name
    _names_from_coco(sources)
    ds = _assemble(folder, sources, problems, fmt="makesense")
    ds.meta["reader"] = folder.name
    ds.meta["exports"] = files  # not a scalar: stays out of summary()
    return ds


def _names_from_coco(sources: dict[str, Source]) -> None:
    """A makesense YOLO zip has no labels.txt; the same project's COCO export lists every
    label in project order (category id = class index + 1), so name the classes from it."""
    coco = next((s for s in sources.values() if s.format == "coco" and s.labels), None)
    if coco is None:
        return
    for s in sources.values():
        if s.format != "yolo" or s.label_ids or not len(s.objects):
            continue
        ids = {i: name for i, name in enumerate(coco.labels)}
        cls = s.objects["class_id"].to_numpy(dtype=float, na_value=np.nan)
        s.objects["label"] = pd.Series([None if np.isnan(c) else ids.get(int(c)) for c in cls], dtype=object)
        s.label_ids = ids
        s.labels = list(coco.labels)
        s.meta["names_from"] = f"categories of the COCO export {Path(coco.path or '').name}"


def _list_images(folder: Path) -> pd.DataFrame:
    from .fracatlas import IMAGE_SUFFIXES

    with os.scandir(folder) as it:
        names = sorted(e.name for e in it if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES))
    base = str(folder) + os.sep
    return pd.DataFrame({"image": names, "path": [base + n for n in names], "folder": [folder.name] * len(names)}, dtype=object)


def _assemble(folder: Path, sources: dict[str, Source], problems: list[Problem], *, fmt: str,
              images_from: Sequence[Path] | None = None) -> Dataset:
    """A Dataset around sources read from plain exports: images = image files directly in
    ``folder`` when it is a folder (or the ``images_from`` paths; headers read) plus every image
    a source names; YOLO scaled with the known sizes (image headers, then sizes declared by
    VOC / CSV / COCO)."""
    if images_from is not None:
        files = pd.DataFrame({"image": [p.name for p in images_from], "path": [str(p) for p in images_from],
                              "folder": [p.parent.name for p in images_from]}, dtype=object)
    elif folder.is_dir():
        files = _list_images(folder)
    else:
        files = pd.DataFrame(columns=["image", "path", "folder"], dtype=object)
    head = read_headers(files["path"].tolist()) if len(files) else None
    files["file_size"] = head["file_size"].to_numpy() if head is not None else pd.array([], dtype="Int64")
    keys: list[str] = list(dict.fromkeys(files["image"].tolist()))
    seen = set(keys)
    for s in sources.values():
        for k in list(s.images.index) + s.objects["image"].dropna().tolist():
            if k not in seen:
                seen.add(k)
                keys.append(k)
    images = empty_images().reindex(pd.Index(keys, dtype=object, name="image"))
    images["in_csv"] = False
    images["path"] = pd.Series(None, index=images.index, dtype=object)
    images["folder"] = pd.Series(None, index=images.index, dtype=object)
    images["header_error"] = pd.Series(None, index=images.index, dtype=object)
    images["split"] = pd.Series(None, index=images.index, dtype=object)
    if head is not None:
        first = files.drop_duplicates("image")
        rows = first.index.to_numpy()
        idx = pd.Index(first["image"].to_numpy(dtype=object))
        images.loc[idx, "path"] = first["path"].to_numpy(dtype=object)
        images.loc[idx, "folder"] = first["folder"].to_numpy(dtype=object)
        for col in ("width", "height", "raw_width", "raw_height", "orientation", "file_size"):
            images[col] = pd.Series(head[col].iloc[rows].to_numpy(), index=idx, dtype="Int64").reindex(images.index)
        err = head["header_error"].iloc[rows].to_numpy(dtype=object)
        images.loc[idx, "header_error"] = err
        images["truncated"] = pd.Series(head["truncated"].iloc[rows].to_numpy(), index=idx).reindex(images.index).fillna(False).astype(bool)
    images = images[[c for c in IMAGE_COLUMNS] + [c for c in images.columns if c not in IMAGE_COLUMNS]]
    for s in sources.values():
        if (s.objects["units"] == "norm").any():
            s.objects = resolve_normalized(s.objects, declared_sizes(images, sources))
    labels: list[str] = []
    for name in _LABEL_ORDER:
        for s in sources.values():
            if s.format == name and s.labels:
                labels = list(s.labels)
                break
        if labels:
            break
    return Dataset(
        images=images,
        labels=labels,
        sources=sources,
        problems=problems_frame(problems),
        files=files[["image", "path", "folder", "file_size"]].reset_index(drop=True),
        root=folder,
        format=fmt,
        meta={},
    )


def _raise_if_empty(ds: Dataset, path: Path) -> None:
    """InputError when the dataset holds nothing at all (no image, no object, no source image)."""
    has_images = len(ds.images) > 0 or len(ds.files) > 0
    has_objects = any(len(s.objects) or len(s.images) for s in ds.sources.values())
    if has_images or has_objects:
        return
    if len(ds.problems):
        first = ds.problems.iloc[0]
        where = first["file"] or str(path)
        line = f":{int(first['line'])}" if pd.notna(first["line"]) else ""
        more = f" (and {len(ds.problems) - 1} more problems)" if len(ds.problems) > 1 else ""
        raise InputError(path, f"nothing could be read: {where}{line}: {first['message']}{more}")
    if ds.format == "makesense" and not ds.sources:
        raise InputError(path, "no makesense export file found")
    if ds.sources:
        return  # a valid export with no annotations (e.g. makesense's `{}`, a header-only CSV)
    raise InputError(path, "nothing could be read")
