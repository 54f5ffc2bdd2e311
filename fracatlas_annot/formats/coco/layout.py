"""COCO export folders: a Roboflow root and a CVAT (or COCO-style) ``annotations/`` folder.

* Roboflow "COCO JSON" export: ``train/``, ``valid/``, ``test/``, each with
  ``_annotations.coco.json`` beside its images (README.*.txt at the root). Read as one data
  set: one ``coco`` source holding every file's images and objects, each image in the split of
  the file that lists it (``valid`` -> ``val``). An image file in a split folder that this
  folder's file does not list is reported (``unlisted-image``): never a silent negative.
* CVAT "COCO 1.0": ``annotations/instances_<subset>.json`` + ``images/`` (or
  ``images/<subset>/``). Each file is read; a subset named like a split gives that split.

Image names in a file are matched by base name among the image files of the layout's own
folders, never followed as paths.

    >>> ds = read_layout("export-roboflow")        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ...model import Problem, Source
from .._files import scan_files
from .._json import sniff_json
from .reader import read

__all__ = ["ROBOFLOW_FILE", "coco_files", "read_layout", "sniff_folder"]

#: The annotation file Roboflow writes in each split folder.
ROBOFLOW_FILE = "_annotations.coco.json"
#: Split folder (or CVAT subset) name -> split.
SPLIT_NAMES = {"train": "train", "valid": "val", "val": "val", "validation": "val", "test": "test"}
ANNOTATIONS = "annotations"
IMAGES = "images"


def _roboflow(path: Path) -> list[tuple[Path, Path, str | None]]:
    """``(file, image folder, split)`` of each split folder of a Roboflow root (sorted)."""
    try:
        names = os.listdir(path) if path.is_dir() else []
    except OSError:
        return []
    out = []
    for name in names:
        sub = path / name
        if name.lower() in SPLIT_NAMES and not sub.is_symlink() and (sub / ROBOFLOW_FILE).is_file():
            out.append((sub / ROBOFLOW_FILE, sub, SPLIT_NAMES[name.lower()]))
    order = list(dict.fromkeys(SPLIT_NAMES.values()))
    return sorted(out, key=lambda t: (order.index(t[2]), t[1].name))


def _annotations_folder(path: Path) -> list[tuple[Path, Path | None, str | None]]:
    """``(file, image folder, split)`` of each COCO file in ``path/annotations/`` (sorted)."""
    folder = path / ANNOTATIONS
    if not folder.is_dir():
        return []
    out = []
    for name in scan_files(folder, (".json",)):
        f = folder / name
        if sniff_json(f) != "coco":
            continue
        subset = name[:-5].split("_", 1)[-1] if name.lower().startswith("instances_") else name[:-5]
        inside = subset.strip(".") and not (path / IMAGES / subset).is_symlink()  # never images/.. nor a link out
        images = path / IMAGES / subset if inside and (path / IMAGES / subset).is_dir() else path / IMAGES
        usable = images.is_dir() and not images.is_symlink()
        out.append((f, images if usable else None, SPLIT_NAMES.get(subset.lower())))
    return out


def coco_files(path: Path) -> list[tuple[Path, Path | None, str | None]]:
    """The COCO files of a Roboflow root or an ``annotations/`` export folder at ``path``."""
    return _roboflow(path) or _annotations_folder(path)


def sniff_folder(path: Path) -> bool:
    """True for a Roboflow COCO root or a folder holding ``annotations/*.json`` COCO files."""
    return bool(coco_files(path))


def _merge(parts: list[tuple[Source, str | None]], problems: list[Problem], root: str) -> Source:
    """One ``coco`` source from the sources of several files (a repeated image name: the
    first file keeps it, a warning names both)."""
    seen: dict[str, str] = {}
    images, objects, labels, label_ids = [], [], [], {}
    for src, _ in parts:
        im = src.images
        files = src.derive_files(im["file"].to_numpy(dtype=object), im.index) if "file" in im else [src.path] * len(im)
        again = [k in seen for k in im.index]
        for k, f, dup in zip(im.index, files, again):
            if dup:
                problems.append(Problem("duplicate-image-id", f"'{k}' is listed in {seen[k]} and again here; keeping the first",
                                        file=f, image=k, source="coco", severity="warning"))
            else:
                seen[k] = f
        images.append(im[[not d for d in again]])
        objects.append(src.objects)
        for lbl in src.labels:
            if lbl not in labels:
                labels.append(lbl)
        for i, lbl in src.label_ids.items():
            label_ids.setdefault(i, lbl)
    first = parts[0][0]
    geometry = "polygon" if any(s.geometry == "polygon" for s, _ in parts) else "box"
    return Source(name="coco", format="coco", objects=pd.concat(objects, ignore_index=True),
                  images=pd.concat(images), labels=labels, label_ids=label_ids, geometry=geometry,
                  path=root, meta=dict(first.meta))  # fmt: skip


def _unlisted(files: pd.DataFrame, listed: dict[str, set[str]], file_of: dict[str, str], root: Path) -> list[Problem]:
    """An image file in a folder whose COCO file (which lists negatives too) does not list it."""
    out = []
    for key, path in zip(files["image"], files["path"]):
        folder = os.path.dirname(path)
        if folder not in listed or key in listed[folder]:
            continue
        where = os.path.relpath(path, root)
        elsewhere = [file_of[f] for f in listed if f != folder and key in listed[f]]
        fate = (f"it is listed in {elsewhere[0]}, whose split it takes" if elsewhere
                else "it is kept as an image without objects, which nobody may have labelled")
        msg = (f"image file {where} is not listed in {file_of[folder]} beside it, which lists every image it "
               f"covers (negatives too); {fate}")
        out.append(Problem("unlisted-image", msg, file=file_of[folder], image=key, source="coco", severity="warning"))
    return out


def read_layout(path: str | os.PathLike[str], *, names: Any = None, images: Any = None) -> Any:
    """A COCO export as a Dataset: one file (images beside it, in ``images/`` or in
    ``images``), a Roboflow root or an ``annotations/`` export folder (see the module)."""
    from ..assemble import assemble, image_folder, read_export

    p = Path(path)
    found = coco_files(p) if p.is_dir() else []
    if not found:
        ds = read_export(p, fmt="coco", read_source=read, images=images)
        src = ds.sources["coco"]
        if p.is_file() and len(ds.files) and _lists_negatives(src):
            folder = os.path.dirname(ds.files["path"].iloc[0])
            _add_problems(ds, _unlisted(ds.files, {folder: set(src.images.index)}, {folder: p.name}, p.parent))
        return ds
    problems: list[Problem] = []
    parts: list[tuple[Source, str | None]] = []
    for f, _, split in found:
        src, probs = read(f, base=p)
        problems += probs
        parts.append((src, split))
    source = _merge(parts, problems, os.fspath(p))
    if images is not None:
        folders = [image_folder(p, images)]
    else:
        folders = list(dict.fromkeys(d for _, d, _ in found if d is not None))
    paths = [Path(d) / n for d in folders for n in scan_files(d, _image_suffixes())]
    ds = assemble(p, {"coco": source}, problems, fmt="coco", images_from=paths)
    split_of: dict[str, str] = {}
    for src, split in parts:
        for k in src.images.index:
            if split is not None:
                split_of.setdefault(k, split)
    if split_of:
        ds.images["split"] = pd.Series([split_of.get(k) for k in ds.images.index], index=ds.images.index, dtype=object)
        used = [d.name + "/" for f, d, s in found if s is not None and d is not None]
        ds.meta["splits_from"] = f"the export's split folders {', '.join(used)}" if used else "the export's subsets"
    if images is None:
        listed: dict[str, set[str]] = {}
        file_of: dict[str, str] = {}
        for (f, d, _), (src, _) in zip(found, parts):
            if d is not None:
                listed.setdefault(str(d), set()).update(src.images.index)
                rel = os.path.relpath(f, p)
                file_of[str(d)] = f"{file_of[str(d)]} or {rel}" if str(d) in file_of else rel
        _add_problems(ds, _unlisted(ds.files, listed, file_of, p))
    ds.meta["annotation_files"] = ", ".join(os.path.relpath(f, p) for f, _, _ in found)
    return ds


def _lists_negatives(src: Source) -> bool:
    """The file lists an image without annotations (Roboflow, CVAT: every image; makesense
    lists only images with polygons, so an image it does not list may be a negative)."""
    return bool(len(src.images)) and not src.images.index.isin(src.objects["image"]).all()


def _add_problems(ds: Any, extra: list[Problem]) -> None:
    if extra:
        from ...model import problems_frame

        ds.problems = pd.concat([ds.problems, problems_frame(extra)], ignore_index=True)


def _image_suffixes() -> tuple[str, ...]:
    from ..fracatlas import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES
