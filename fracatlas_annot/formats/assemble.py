"""A :class:`Dataset` around sources read from plain exports (no archive layout).

:func:`read_export` reads one export (a COCO file, a VOC folder, a YOLO zip ...) with its
format's ``read_source`` and :func:`assemble` builds the images table around it: image files
beside it, every image a source names, YOLO rows scaled with the known sizes.
:func:`read_folder` is the "folder" format (images only).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, UsageError
from ..imaging.headers import read_headers
from ..model import IMAGE_COLUMNS, Dataset, Problem, Source, empty_images, problems_frame, resolve_normalized
from ._files import scan_files
from .fracatlas import IMAGE_SUFFIXES
from .sizes import declared_sizes

__all__ = ["assemble", "image_folder", "images_option_dir", "read_export", "read_one", "read_folder", "raise_if_empty"]

#: Where an export's images lie when not beside it: a sub-folder ``images/`` of the export's
#: folder (makesense CSV + ``images/``), or, for a file in ``annotations/`` (CVAT, COCO), the
#: ``images/`` folder beside ``annotations/``.
IMAGES_FOLDER = "images"
ANNOTATIONS_FOLDERS = ("annotations",)

SourceReader = Callable[..., tuple[Source, list[Problem]]]


def read_one(read_source: SourceReader, path: Path, *, name: str, names: Sequence[str] | None,
             base: Path) -> tuple[Source, list[Problem]]:
    """``read_source(path, name=, base=)`` (plus ``names=`` when given and the reader takes
    class names); problems without a source get ``name``."""
    kwargs: dict[str, Any] = {"name": name, "base": base}
    if names is not None and "names" in inspect.signature(read_source).parameters:
        kwargs["names"] = list(names)
    source, problems = read_source(path, **kwargs)
    for pr in problems:
        if pr.source is None:
            pr.source = name
    return source, problems


def image_folder(folder: Path, images: str | os.PathLike[str] | None = None) -> Path | None:
    """The one folder whose image files are an export's images: ``images`` when given (the
    ``--images DIR`` option), else ``folder`` itself when images lie directly in it, else its
    ``images/`` sub-folder, else, for ``annotations/``, the ``images/`` folder beside it; None
    when none holds an image. Names in an export are matched by base name within this
    folder only (never followed as paths)."""
    if images is not None:
        return images_option_dir(images)
    if not folder.is_dir():
        return None
    candidates = [folder, folder / IMAGES_FOLDER]
    if folder.name.lower() in ANNOTATIONS_FOLDERS:
        candidates.append(folder.parent / IMAGES_FOLDER)
    for c in candidates:
        if c.is_dir() and is_image_folder(c):
            return c
    return None


def images_option_dir(images: str | os.PathLike[str]) -> Path:
    """``--images DIR`` checked: an existing folder (UsageError otherwise)."""
    d = Path(images)
    if not d.is_dir():
        raise UsageError(f"--images {d}: not a folder")
    return d


def read_export(path: Path, *, fmt: str, read_source: SourceReader, names: Sequence[str] | None = None,
                target: Path | None = None, images: str | os.PathLike[str] | None = None) -> Dataset:
    """A Dataset with one source, ``fmt``, read from ``target`` (default: ``path``); the image
    files of :func:`image_folder` (beside the export, in its ``images/`` sibling, or
    ``images``) are the images."""
    source, problems = read_one(read_source, target or path, name=fmt, names=names,
                                base=path if path.is_dir() else path.parent)
    return assemble(path, {fmt: source}, problems, fmt=fmt, images=images)


def read_folder(path: str | os.PathLike[str], *, names: Any = None, images: Any = None) -> Dataset:
    """The "folder" format: a folder of images, no annotation (``images``: read that folder)."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(p, "--format folder needs a folder of images")
    return assemble(p, {}, [], fmt="folder", images=images)


def is_image_folder(path: Path) -> bool:
    """True when image files lie directly in the folder."""
    return bool(scan_files(path, IMAGE_SUFFIXES))


def _list_images(folder: Path, problems: list[Problem]) -> pd.DataFrame:
    names = scan_files(folder, IMAGE_SUFFIXES, display=f"{folder.name}/", problems=problems)
    base = str(folder) + os.sep
    return pd.DataFrame({"image": names, "path": [base + n for n in names], "folder": [folder.name] * len(names)}, dtype=object)


def assemble(folder: Path, sources: dict[str, Source], problems: list[Problem], *, fmt: str,
             images_from: Sequence[Path] | None = None, images: str | os.PathLike[str] | None = None) -> Dataset:
    """A Dataset around sources read from plain exports: images = the image files of
    :func:`image_folder` (``folder``, or the folder of the file ``folder``; ``images`` when
    given), or the ``images_from`` paths (headers read), plus every image a source names; YOLO
    scaled with the known sizes (image headers, then sizes declared by the sources, see
    :func:`~fracatlas_annot.formats.sizes.declared_sizes`)."""
    from .registry import label_order

    if images_from is not None:
        files = pd.DataFrame({"image": [p.name for p in images_from], "path": [str(p) for p in images_from],
                              "folder": [p.parent.name for p in images_from]}, dtype=object)
    elif (where := image_folder(folder if folder.is_dir() else folder.parent, images)) is not None:
        files = _list_images(where, problems)
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
        images["trailing_bytes"] = pd.Series(head["trailing_bytes"].iloc[rows].to_numpy(), index=idx, dtype="Int64").reindex(images.index)
    images = images[[c for c in IMAGE_COLUMNS] + [c for c in images.columns if c not in IMAGE_COLUMNS]]
    for s in sources.values():
        if (s.objects["units"] == "norm").any():
            s.objects = resolve_normalized(s.objects, declared_sizes(images, sources))
    labels: list[str] = []
    for name in label_order():
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


def raise_if_empty(ds: Dataset, path: Path) -> None:
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
