"""Every annotation format: its reader beside its writer, behind one ``read()`` and one registry.

    >>> from fracatlas_annot.formats import read
    >>> ds = read("fixtures/fracatlas-mini")           # FracAtlas archive: coco, voc, yolo, vgg
    >>> ds = read("fixtures/readers/reader-1")          # one reader's exports: coco, vgg, yolo, voc, csv
    >>> ds = read("labels_x_2024-03-23-07-10-18.zip", format="yolo", names=["fractured"])

Each format is a module (``coco/``, ``voc/``, ``yolo``, ``vgg``, ``rect_csv``, ``fracatlas``,
``ultralytics``, ``makesense``, ``yolo_cls``) with its reader and, where it has one, its
writer, and one :class:`~fracatlas_annot.formats.registry.Format` record in
:data:`~fracatlas_annot.formats.registry.FORMATS`; :func:`detect.detect` and :func:`read`
work from that registry alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..model import Dataset
from .assemble import raise_if_empty
from .detect import UnknownFormat, detect
from .names import drop_unsafe_names
from .registry import FORMATS, Format, get_format

__all__ = ["FORMATS", "Format", "detect", "read", "takes_images"]


def read(path: str | os.PathLike[str], *, format: str | None = None, names: Sequence[str] | None = None,
         images: str | os.PathLike[str] | None = None) -> Dataset:
    """Read whatever is at ``path`` into a :class:`Dataset`.

    Args:
        path: a FracAtlas archive (or its parent), a makesense export file (COCO / VGG JSON,
            VOC / YOLO zip, rect CSV), a folder of VOC XML or YOLO txt files, a folder with one
            reader's makesense exports, a written train set, or a folder of images.
        format: force a format (a name or alias in :data:`FORMATS`) instead of detecting it.
        names: YOLO class names (index order), when no labels.txt / classes.txt is at hand.
        images: the folder holding the image files of an export (default: beside it, or its
            ``images/`` sibling); names in the export are matched by base name in it.

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
        fmt = get_format(format) if format else FORMATS[detect(p)]
    except (ValueError, UnknownFormat) as exc:
        raise InputError(p, str(exc)) from None
    ds = drop_unsafe_names(fmt.read_dataset(p, names=list(names) if names is not None else None, images=images))
    raise_if_empty(ds, p)
    return ds


def takes_images(path: str | os.PathLike[str], *, format: str | None = None) -> bool:
    """True when the format at ``path`` (or ``format``) reads its images from a folder that
    ``read(..., images=DIR)`` may name; False for a layout that places its own images, or
    when nothing known is there (``read`` then says why)."""
    try:
        fmt = get_format(format) if format else FORMATS[detect(Path(path))]
    except (ValueError, UnknownFormat, OSError):
        return False
    return fmt.takes_images
