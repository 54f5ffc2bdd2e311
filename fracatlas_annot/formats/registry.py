"""The format registry: one :class:`Format` record per format, in one plain dict.

Everything that needs to know the formats asks here: detection (:mod:`.detect`), ``read``,
the CLI's ``--to`` choices and ``--format`` help, ``convert``'s targets, its default source
and its training layouts, agreement's source preference, and which formats list negatives.
A new format is one module (its reader, and its writer when it has one) and one entry in
:data:`FORMATS`; nothing else changes.

    >>> FORMATS["coco"].read_source("labels_my-project_2024-03-23-07-10-18.json")  # doctest: +SKIP
    >>> writer_of("yolo-seg").name
    'ultralytics'
    >>> source_preference("box")
    ('voc', 'csv', 'yolo')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import coco, fracatlas, makesense, rect_csv, ultralytics, vgg, voc, yolo, yolo_cls
from ..errors import UsageError
from .assemble import is_image_folder, read_export, read_folder

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..model import Dataset, Problem, Source

__all__ = [
    "Format", "FORMATS", "WritePlan", "get_format", "normalize_format", "targets", "writer_of",
    "source_preference", "source_rank", "positives_only", "label_order", "size_order", "export_suffixes",
]  # fmt: skip

GEOMETRIES = ("box", "polygon", "mixed", "none")


class WritePlan(Protocol):
    """What a writer receives: the resolved conversion (``convert.plan.Plan`` implements it).

    The shape policy (clamping, holes, multi-part objects, RLE tracing) and the change record
    belong to ``convert``; a writer asks the plan for shapes and writes them in its format.
    """

    target: str  # the --to name being written (a format may answer several: yolo-detect, yolo-seg)
    images: pd.DataFrame  # index image key: path, width, height (px, float), split, positive
    objects: pd.DataFrame  # the objects to write: source columns + cls, w, h
    names: list[str]  # class names, index = class id
    class_map: list[dict[str, Any]]
    source: Source
    dataset: Dataset
    options: dict[str, Any]
    notes: list[str]
    recorder: Any  # convert.manifest.Recorder: add(kind, objects, messages), raise_if_lossy(allow), keep_kinds(kinds)
    allow_lossy: bool
    version: str  # fracatlas-annot's version, for a document's "written by" note

    def check_stems(self) -> None: ...  # UsageError when two images would share one label file
    def record_crowd(self, target: str) -> None: ...  # crowd objects recorded as iscrowd-cleared
    def geometry(self, *, record: bool) -> np.ndarray: ...  # polygons, RLE traced (recorded when ``record``)
    def boxes(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...  # clamped px boxes, keep mask
    def segments(self, geoms: np.ndarray, *, box_fallback: bool) -> tuple[Any, np.ndarray]: ...  # normalised rings, owner
    def polygon_parts(self, geoms: np.ndarray, *, what: str) -> tuple[list, np.ndarray]: ...  # px parts, area
    def link_images(self, dests: dict[str, Any], *, n_images: int | None = None) -> dict[str, int]: ...
    def counts(self, written: pd.DataFrame) -> dict[str, Any]: ...  # manifest counts of written rows


@dataclass(frozen=True)
class Format:
    """One annotation format: how to recognise it, read it, write it, and what it holds.

    Reading: a layout format (an archive, a data.yaml, a folder tree) has ``read(path, *,
    names) -> Dataset``; an export format (one file, a folder of per-image files, a zip) has
    ``read_source(path, *, name, base) -> (Source, problems)`` and gets a Dataset around it.
    Detection: a file is scored by the ``sniff`` of each format claiming its suffix (highest
    wins, ties go to the earlier format); a zip or a folder of per-image files goes to the
    format whose ``entry`` matches most names; a folder is offered to ``sniff_folder`` in
    ``folder_rank`` order.
    """

    name: str  # key in FORMATS, the --format value and Source.format
    summary: str  # what a path of this format is (detection's "looked for" message)
    aliases: tuple[str, ...] = ()  # other --format spellings
    read: Callable[..., Dataset] | None = None  # a layout: (path, *, names) -> Dataset
    read_source: Callable[..., tuple[Source, list[Problem]]] | None = None  # an export: (path, *, name, base)
    suffixes: tuple[str, ...] = ()  # lower-case endings of a single file of this format
    sniff: Callable[[Path], int] | None = None  # score of such a file by content (default: 1)
    entry: Callable[[str], bool] | None = None  # lower-case base name of one of its per-image files
    sniff_folder: Callable[[Path], bool] | None = None  # a folder laid out as this format
    folder_rank: int = 100  # order in which sniff_folder is tried (low first)
    makesense_export: tuple[str, ...] = ()  # suffixes of its files in a makesense export folder
    write: Callable[[WritePlan, Path, Path], dict[str, Any]] | None = None  # (plan, tmp, final) -> result
    targets: tuple[str, ...] = ()  # convert --to names the writer answers (default: the name)
    writes: str = ""  # what the writer leaves in OUT (CLI help)
    splits: bool = False  # the written layout is split into train/val/test folders
    geometry: str = "none"  # "box" | "polygon" | "mixed" (boxes or segments) | "none" (images only)
    units: str = "px"  # "px", or "norm" (coordinates relative to the image size)
    lists_negatives: bool = False  # can list an image without objects (a negative)
    source_rank: int | None = None  # convert's default source (low first); None: never preferred
    labels_rank: int | None = None  # whose class list names a dataset (low first)
    sizes_rank: int | None = None  # whose declared image sizes stand in for a missing file (low first)

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"{self.name}: geometry must be one of {GEOMETRIES}, got {self.geometry!r}")
        if self.read is None and self.read_source is None:
            raise ValueError(f"{self.name}: a format needs read or read_source")
        if self.write is not None and not self.targets:
            object.__setattr__(self, "targets", (self.name,))

    @property
    def takes_images(self) -> bool:
        """Its reader takes the folder of the image files (``--images DIR``); a layout that
        places its own images (an archive, a data.yaml) does not."""
        return self.read is None or "images" in inspect.signature(self.read).parameters

    @property
    def declares_sizes(self) -> bool:
        """The format states each image's width and height."""
        return self.sizes_rank is not None

    def read_dataset(self, path: Path, *, names: Any = None, images: Any = None) -> Dataset:
        """Read ``path`` as this format into a Dataset; ``images``: the folder of its image
        files (``--images DIR``), for a format whose reader takes one (UsageError otherwise)."""
        if self.read is not None:
            if images is None:
                return self.read(path, names=names)
            if not self.takes_images:
                raise UsageError(f"--images is not used by the {self.name} format (its layout places the images)")
            return self.read(path, names=names, images=images)
        return read_export(Path(path), fmt=self.name, read_source=self.read_source, names=names, images=images)


#: Every format, in the order detection breaks ties and help lists them.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            name="fracatlas", summary="a FracAtlas archive root (dataset.csv + Annotations/), or its parent holding FracAtlas/",
            read=fracatlas.read, suffixes=(".csv",), sniff=fracatlas.sniff, sniff_folder=fracatlas.sniff_folder,
            folder_rank=10, geometry="mixed",
        ),
        Format(
            name="coco", summary="a COCO JSON file (makesense POLYGON export), a Roboflow COCO root "
            "(train/ valid/ test/ with _annotations.coco.json) or a CVAT export (annotations/*.json + images/)",
            read=coco.read_layout, read_source=coco.read, suffixes=(".json",), sniff=coco.sniff,
            sniff_folder=coco.sniff_folder, folder_rank=22, makesense_export=(".json",),
            write=coco.write, writes="annotations.json", geometry="polygon",
            source_rank=10, labels_rank=1, sizes_rank=3,
        ),
        Format(
            name="vgg", summary="a VGG/VIA JSON file (makesense POLYGON export)", aliases=("via",),
            read_source=vgg.read, suffixes=(".json",), sniff=vgg.sniff, makesense_export=(".json",),
            geometry="polygon", source_rank=30, labels_rank=5,
        ),
        Format(
            name="voc", summary="Pascal VOC XML: a .xml file, a folder of them, or a makesense VOC zip",
            aliases=("pascal-voc", "pascal_voc"), read=voc.read_layout, read_source=voc.read, suffixes=(".xml",),
            entry=voc.is_entry, sniff_folder=voc.sniff_folder, folder_rank=30,
            makesense_export=(".zip",), write=voc.write, writes="Annotations/*.xml", geometry="box",
            lists_negatives=True, source_rank=40, labels_rank=3, sizes_rank=1,
        ),
        Format(
            name="yolo", summary="YOLO txt: a .txt file, a folder of them, a makesense YOLO zip, or an Ultralytics "
            "predict folder (images + labels/*.txt with a confidence column)",
            read=yolo.read_layout, read_source=yolo.read, suffixes=(".txt",), sniff=yolo.sniff, entry=yolo.is_entry,
            sniff_folder=yolo.sniff_folder, folder_rank=45, makesense_export=(".zip",),
            geometry="mixed", units="norm", lists_negatives=True, source_rank=50, labels_rank=2,
        ),
        Format(
            name="csv", summary="a makesense rect CSV file", aliases=("rect-csv", "rect_csv"),
            read_source=rect_csv.read, suffixes=(".csv",), makesense_export=(".csv",),
            geometry="box", source_rank=60, labels_rank=4, sizes_rank=2,
        ),
        Format(
            name="ultralytics",
            summary="an Ultralytics YOLO dataset: data.yaml + images/<split>/ + labels/<split>/ (what convert writes)",
            aliases=("yolov8", "data.yaml"), read=ultralytics.read, suffixes=(".yaml", ".yml"),
            sniff=ultralytics.sniff, sniff_folder=ultralytics.is_dataset, folder_rank=20,
            write=ultralytics.write, targets=tuple(ultralytics.TASKS), splits=True,
            writes="Ultralytics datasets: images/, labels/, data.yaml", geometry="mixed", units="norm",
            lists_negatives=True,
        ),
        Format(
            name="yolo-cls", summary="Ultralytics classification folders: <split>/<class>/ images (what convert writes)",
            aliases=("yolo_cls", "cls"), read=yolo_cls.read, sniff_folder=yolo_cls.sniff_folder, folder_rank=50,
            write=yolo_cls.write, splits=True, writes="split/class folders",
        ),
        Format(
            name="makesense", summary="a folder holding one reader's makesense exports (.json / .zip / .csv)",
            aliases=("exports", "reader"), read=makesense.read, sniff_folder=makesense.sniff_folder, folder_rank=40,
            write=makesense.write, writes="labels_yolo.zip with labels.txt, labels_coco.json", geometry="mixed",
        ),
        Format(
            name="folder", summary="a folder of images only", aliases=("images",),
            read=read_folder, sniff_folder=is_image_folder, folder_rank=90,
        ),
    )
}

#: Sources that are not read from a file but rank among the formats for ``convert``'s default
#: source: agreement's consensus (two readers' polygons, reviewed) comes right after COCO.
OTHER_SOURCE_RANKS: dict[str, int] = {"consensus": 20}


def normalize_format(name: str) -> str:
    """``--format`` value (a name or an alias, any case) -> a key of :data:`FORMATS`;
    raises ValueError naming the choices."""
    key = name.strip().lower()
    aliases = {a: f.name for f in FORMATS.values() for a in f.aliases}
    key = aliases.get(key, key)
    if key not in FORMATS:
        from ..runtime.suggest import did_you_mean

        raise ValueError(f"unknown format '{name}' (choose from {', '.join(FORMATS)}){did_you_mean(key, list(FORMATS))}")
    return key


def get_format(name: str) -> Format:
    """The :class:`Format` for a name or alias (ValueError when unknown)."""
    return FORMATS[normalize_format(name)]


def targets() -> tuple[str, ...]:
    """Every ``convert --to`` name, in registry order."""
    return tuple(t for f in FORMATS.values() if f.write is not None for t in f.targets)


def writer_of(target: str) -> Format:
    """The format whose writer answers ``target`` (KeyError when none does)."""
    for f in FORMATS.values():
        if f.write is not None and target in f.targets:
            return f
    raise KeyError(target)


def source_rank(fmt: str) -> int:
    """Rank of a source format for ``convert``'s default source (lower is preferred)."""
    ranks = {f.name: f.source_rank for f in FORMATS.values() if f.source_rank is not None} | OTHER_SOURCE_RANKS
    return ranks.get(fmt, max(ranks.values()) + 1)


def source_preference(geometry: str | None = None) -> tuple[str, ...]:
    """Source formats, most preferred first.

    Without ``geometry``: ``convert``'s default-source order (polygon sources first: their
    boxes are exact extents). With ``"polygon"`` or ``"box"``: the formats that can hold that
    geometry, those in pixels before those in normalised units (which need image sizes
    before they can be compared), as agreement picks a reader's polygons and boxes.
    """
    ranked = sorted(((f.source_rank, f) for f in FORMATS.values() if f.source_rank is not None), key=lambda t: t[0])
    if geometry is None:
        ranks = [(r, f.name) for r, f in ranked] + [(r, n) for n, r in OTHER_SOURCE_RANKS.items()]
        return tuple(n for _, n in sorted(ranks))
    fits = [f for _, f in ranked if f.geometry in (geometry, "mixed")]
    return tuple(f.name for f in sorted(fits, key=lambda f: f.units == "norm"))


def positives_only() -> frozenset[str]:
    """Source formats whose exports list only images that carry objects (a missing negative
    there means nothing)."""
    return frozenset(f.name for f in FORMATS.values() if f.read_source is not None and not f.lists_negatives)


def label_order() -> tuple[str, ...]:
    """Formats whose class list names a dataset, first choice first (declared lists before
    lists of the labels used)."""
    return tuple(f.name for f in sorted((f for f in FORMATS.values() if f.labels_rank is not None), key=lambda f: f.labels_rank))


def size_order() -> tuple[str, ...]:
    """Formats that declare image sizes, in the order their sizes stand in for a missing file."""
    return tuple(f.name for f in sorted((f for f in FORMATS.values() if f.declares_sizes), key=lambda f: f.sizes_rank))


def export_suffixes() -> tuple[str, ...]:
    """Suffixes of the files a makesense export folder may hold."""
    return tuple(dict.fromkeys(s for f in FORMATS.values() for s in f.makesense_export))
