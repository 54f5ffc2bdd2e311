"""The in-memory dataset: tables, not one Python object per shape.

A :class:`Dataset` holds

* ``images``: one row per image, indexed by the image key (the bare file name,
  e.g. ``IMG0000019.jpg``), never by a format's numeric id;
* ``sources``: named :class:`Source` objects (``"coco"``, ``"voc"``, ``"yolo"``,
  ``"reader-1"`` ...), each with an objects table (one row per box / polygon) and a
  table of the images that source lists;
* ``problems``: what could not be read, each with a file and a location;
* ``files``: every physical image file found (a name can appear in two folders);
* ``split_lists``: the raw rows of the split lists (``train.csv`` ...).

Objects are stored column-wise (pandas + a numpy object column of shapely
geometries), like supervision's ``Detections``. Every object keeps its origin
(file plus line, XML element or JSON index) so that a finding can point at it.

Coordinates are absolute pixels in the EXIF-corrected image frame (the frame
makesense.ai draws in). Formats that store normalised values (YOLO) are scaled by
:func:`resolve_normalized` once image sizes are known; until then their rows keep
``units == "norm"``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import shapely

from .errors import UnknownSourceError

# --------------------------------------------------------------------------- objects

#: Required object columns and their dtypes. ``geometry`` holds shapely
#: Polygon / MultiPolygon or None (box-only formats).
OBJECT_COLUMNS: dict[str, str] = {
    "image": "object",  # image key (bare file name)
    "label": "object",  # label name, None when unlabelled / unknown
    "class_id": "Int64",  # raw class index or category id as written (YOLO class, COCO category_id)
    "x0": "float64",
    "y0": "float64",
    "x1": "float64",
    "y1": "float64",
    "geometry": "object",
    "units": "object",  # "px" (absolute pixels) or "norm" (normalised, not yet resolved)
    "file": "object",  # origin file, relative to the dataset root when possible; "a.zip!b.txt" in zips
    "loc": "object",  # "line 3", "object[2]", "annotations[5]", "regions.0"
    "line": "Int64",  # 1-based line number for text formats, else <NA>
}

#: Optional object columns a reader may add (all nullable).
OPTIONAL_OBJECT_COLUMNS: dict[str, str] = {
    "ann_id": "object",  # COCO annotation id as written (may be duplicated / odd)
    "iscrowd": "Int64",
    "bbox_x0": "float64",  # COCO declared bbox, as corners
    "bbox_y0": "float64",
    "bbox_x1": "float64",
    "bbox_y1": "float64",
    "area": "float64",  # COCO declared area
    "n_parts": "Int64",  # polygons in the object (COCO segmentation list length)
    "n_vertices": "Int64",  # distinct vertices of the largest part
    "rle": "object",  # COCO RLE dict, kept as written
    "difficult": "object",  # VOC raw text
    "truncated": "object",
    "readers": "object",  # consensus: which readers contributed
    "score": "float64",  # a prediction's confidence (YOLO --save-conf: the line's last value)
}

#: Columns of the per-source image list (images the source mentions).
SOURCE_IMAGE_COLUMNS: dict[str, str] = {
    "width": "Int64",  # declared width (COCO images[], VOC <size>, CSV), <NA> if the format has none
    "height": "Int64",
    "file": "object",
    "loc": "object",
}

#: Columns of the images table (index: image key).
IMAGE_COLUMNS: dict[str, str] = {
    "path": "object",  # path on disk or None
    "folder": "object",  # e.g. "Fractured" / "Non_fractured" for the FracAtlas layout
    "width": "Int64",  # EXIF-corrected size, read from the header
    "height": "Int64",
    "raw_width": "Int64",  # size as stored, before EXIF orientation
    "raw_height": "Int64",
    "orientation": "Int64",  # EXIF orientation tag (1..8), <NA> when absent
    "file_size": "Int64",
    "header_error": "object",  # why the header could not be read, or None
    "split": "object",  # "train" / "val" / "test" or None
    "in_csv": "bool",  # listed in dataset.csv
}

PROBLEM_COLUMNS: list[str] = ["kind", "severity", "source", "image", "file", "loc", "line", "message"]

FILE_COLUMNS: list[str] = ["image", "path", "folder", "file_size"]
SPLIT_LIST_COLUMNS: list[str] = ["split", "image", "file", "line"]


def empty_objects(extra: Iterable[str] = ()) -> pd.DataFrame:
    """Return a typed, zero-length objects table."""
    cols = dict(OBJECT_COLUMNS)
    for name in extra:
        cols[name] = OPTIONAL_OBJECT_COLUMNS[name]
    return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in cols.items()})


def make_objects(columns: dict[str, Any]) -> pd.DataFrame:
    """Build an objects table from column arrays, filling defaults and dtypes.

    Missing required columns get their null value (``units`` defaults to ``"px"``);
    the result is validated with :func:`validate_objects`.
    """
    n = None
    for v in columns.values():
        if v is not None and not np.isscalar(v):
            n = len(v)
            break
    if n is None:
        n = 0
    data: dict[str, Any] = {}
    for name, dtype in OBJECT_COLUMNS.items():
        if name in columns:
            values = columns[name]
        elif name == "units":
            values = ["px"] * n
        elif name == "geometry":
            values = np.full(n, None, dtype=object)
        elif dtype == "float64":
            values = np.full(n, np.nan)
        else:
            values = [None] * n
        data[name] = _as_dtype(values, dtype, n)
    for name, values in columns.items():
        if name in OBJECT_COLUMNS:
            continue
        dtype = OPTIONAL_OBJECT_COLUMNS.get(name, "object")
        data[name] = _as_dtype(values, dtype, n)
    frame = pd.DataFrame(data)
    validate_objects(frame)
    return frame


def _as_dtype(values: Any, dtype: str, n: int) -> pd.Series:
    if values is None and dtype == "Int64":  # all <NA>: no list of n Nones to convert
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)))
    if dtype == "object" and (np.isscalar(values) or values is None):  # one value: no list of n copies
        arr = np.empty(n, dtype=object)
        arr.fill(values)
        return pd.Series(arr, dtype=object)
    if np.isscalar(values) or values is None:
        values = [values] * n
    if dtype == "object":
        arr = np.empty(n, dtype=object)
        arr[:] = values if isinstance(values, (list, np.ndarray)) else list(values)
        return pd.Series(arr, dtype=object)
    if dtype == "Int64":
        return pd.Series(pd.array(list(values) if not isinstance(values, np.ndarray) else values, dtype="Int64"))
    return pd.Series(np.asarray(values, dtype=dtype))


def validate_objects(frame: pd.DataFrame) -> None:
    """Check an objects table once, at construction; raise ValueError saying what is wrong."""
    missing = [c for c in OBJECT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"objects table lacks columns {missing}; got {list(frame.columns)}")
    for c in ("x0", "y0", "x1", "y1"):
        if frame[c].dtype != np.float64:
            raise ValueError(f"box columns must be float64, got {frame[c].dtype} in '{c}'")
    if frame["geometry"].dtype != object:
        raise ValueError(f"geometry column must be object (shapely or None), got {frame['geometry'].dtype}")
    bad_units = set(frame["units"].dropna().unique()) - {"px", "norm"}
    if bad_units:
        raise ValueError(f"units must be 'px' or 'norm', got {sorted(bad_units)}")


def concat_objects(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate objects tables (ignoring empty ones), keeping dtypes."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_objects()
    out = pd.concat(frames, ignore_index=True)
    out["geometry"] = out["geometry"].astype(object)
    return out


def empty_source_images() -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in SOURCE_IMAGE_COLUMNS.items()})
    frame.index = pd.Index([], dtype=object, name="image")
    return frame


def make_source_images(keys: Sequence[str], **columns: Any) -> pd.DataFrame:
    """Build a source's image list: index = image key; columns width, height, file, loc (+extras)."""
    n = len(keys)
    data: dict[str, Any] = {}
    for name, dtype in SOURCE_IMAGE_COLUMNS.items():
        data[name] = _as_dtype(columns.pop(name, None), dtype, n)
    for name, values in columns.items():
        data[name] = _as_dtype(values, "object", n)
    frame = pd.DataFrame(data, copy=False)  # the columns were just built: not copied again
    keys = keys if isinstance(keys, list) or (isinstance(keys, np.ndarray) and keys.dtype == object) else list(keys)
    frame.index = pd.Index(_as_dtype(keys, "object", n).to_numpy(), dtype=object, name="image")
    return frame


# --------------------------------------------------------------------------- problems


class ProblemKind(str, enum.Enum):
    """What kind of reading problem a :class:`Problem` is: a stable machine name.

    Every kind is reported by exactly one rule (:data:`PROBLEM_RULES`, below); the message
    says the details (``not UTF-8``, ``empty file``, ``XML syntax error`` ... are all
    ``parse-error``). A new kind is added here together with its rule.
    """

    PARSE_ERROR = "parse-error"  # the file (or zip, or zip entry) cannot be read or parsed at all
    MISSING_KEY = "missing-key"  # a required key, element, column or file is absent
    BAD_VALUE = "bad-value"  # a value of the wrong type, range or count of fields
    UNSAFE_ZIP_ENTRY = "unsafe-zip-entry"  # zip slip, a link, a zip bomb: not extracted
    UNSAFE_XML = "unsafe-xml"  # DOCTYPE / entity declarations: not expanded
    UNSAFE_NAME = "unsafe-name"  # an image name that is not a plain file name (../x, /abs, NUL ...) or a link out of the input: not used
    DUPLICATE_IMAGE_ID = "duplicate-image-id"  # an image id or name listed twice
    ORPHAN_ANNOTATION = "orphan-annotation"  # an annotation whose image id no image has
    UNSUPPORTED = "unsupported"  # content the reader knows but does not carry (points, lines ...)
    UNLISTED_IMAGE = "unlisted-image"  # an image file beside an annotation file that does not list it

    def __str__(self) -> str:
        return self.value

    @property
    def rule(self) -> str:
        """The code of the rule that reports this kind (see :data:`PROBLEM_RULES`)."""
        return PROBLEM_RULES[self]


#: Problem kind -> the code of the rule that reports it. Kinds without a rule of their own
#: go to FA000 (``read-problem``), which shows the kind in its message.
PROBLEM_RULES: dict[ProblemKind, str] = {
    ProblemKind.PARSE_ERROR: "FA001",
    ProblemKind.MISSING_KEY: "FA002",
    ProblemKind.BAD_VALUE: "FA003",
    ProblemKind.UNSAFE_ZIP_ENTRY: "FA004",
    ProblemKind.UNSAFE_XML: "FA004",
    ProblemKind.UNSAFE_NAME: "FA004",
    ProblemKind.DUPLICATE_IMAGE_ID: "FA005",
    ProblemKind.ORPHAN_ANNOTATION: "FA007",
    ProblemKind.UNSUPPORTED: "FA000",
    ProblemKind.UNLISTED_IMAGE: "FA019",
}


@dataclass
class Problem:
    """Something a reader could not read, with where it happened.

    ``kind`` is a :class:`ProblemKind` (a plain string such as ``"parse-error"`` is accepted
    and converted; an unknown kind raises ``ValueError`` here, at construction). The checks
    map kinds to rule codes through :data:`PROBLEM_RULES`; readers never import checks.
    """

    kind: ProblemKind
    message: str
    file: str | None = None
    loc: str | None = None
    line: int | None = None
    image: str | None = None
    source: str | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ProblemKind):
            try:
                self.kind = ProblemKind(self.kind)
            except ValueError:
                known = ", ".join(k.value for k in ProblemKind)
                raise ValueError(f"unknown problem kind {self.kind!r} (known: {known})") from None

    def where(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
        text = ":".join(parts)
        if self.loc and self.line is None:
            text += f" ({self.loc})"
        return text

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    rows = [
        {
            "kind": p.kind.value,
            "severity": p.severity,
            "source": p.source,
            "image": p.image,
            "file": p.file,
            "loc": p.loc,
            "line": p.line,
            "message": p.message,
        }
        for p in problems
    ]
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    frame = frame.astype({c: object for c in PROBLEM_COLUMNS if c != "line"})
    frame["line"] = pd.array(frame["line"].tolist(), dtype="Int64")
    return frame


# --------------------------------------------------------------------------- sources


@dataclass
class Source:
    """One named set of annotations (a format export, or one reader's export).

    Attributes
    ----------
    name: the source name (``"coco"``, ``"voc"``, ``"reader-1"`` ...).
    format: the format it was read from (``coco``, ``voc``, ``yolo``, ``csv``, ``vgg``, ``consensus``).
    objects: the objects table (see :data:`OBJECT_COLUMNS`).
    images: the images this source lists (index: image key; declared width/height if any).
        A makesense COCO export lists only images with polygons; a FracAtlas YOLO folder
        lists every image (empty files for negatives).
    labels: the label list as the source declares it, in its order
        (COCO ``categories`` order, ``classes.txt`` lines, VOC first appearance).
    label_ids: raw id -> label name as the source declares it (COCO category id -> name,
        YOLO class index -> name).
    geometry: ``"polygon"`` when objects carry shapes, ``"box"`` for box-only formats.
    path: what was read (file, folder or zip).
    """

    name: str
    format: str
    objects: pd.DataFrame
    images: pd.DataFrame = field(default_factory=empty_source_images)
    labels: list[str] = field(default_factory=list)
    label_ids: dict[int, str] = field(default_factory=dict)
    geometry: str = "box"
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: ``(prefix, suffix)`` when the images table stores ``file`` as None where it is
    #: ``prefix + stem of the key + suffix`` (a FracAtlas VOC or YOLO folder: one file per
    #: image, named after it); :meth:`derive_files` puts those back. None: stored as read.
    file_pattern: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        validate_objects(self.objects)

    def derive_files(self, files: Any, keys: Any) -> np.ndarray:
        """``files`` (values of ``images["file"]`` for the image ``keys``) with the ones left
        out by :attr:`file_pattern` derived from their key; other values as given."""
        out = np.array(files, dtype=object)
        if self.file_pattern is None or not len(out):
            return out
        prefix, suffix = self.file_pattern
        keys = np.asarray(keys, dtype=object)
        for i in np.flatnonzero(np.fromiter((v is None for v in out), dtype=bool, count=len(out))):
            out[i] = pattern_file(prefix, keys[i], suffix)
        return out

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, mask: Any) -> "Source":
        """Filter objects with a boolean mask / index; returns a Source of the same kind."""
        objects = self.objects[mask].reset_index(drop=True)
        return Source(
            name=self.name,
            format=self.format,
            objects=objects,
            images=self.images,
            labels=list(self.labels),
            label_ids=dict(self.label_ids),
            geometry=self.geometry,
            path=self.path,
            meta=dict(self.meta),
            file_pattern=self.file_pattern,
        )

    @classmethod
    def empty(cls, name: str, format: str, geometry: str = "box") -> "Source":
        return cls(name=name, format=format, objects=empty_objects(), geometry=geometry)

    @property
    def has_geometry(self) -> bool:
        return self.geometry == "polygon"

    def counts(self) -> dict[str, int]:
        return {
            "objects": int(len(self.objects)),
            "images": int(len(self.images)),
            "images_with_objects": int(self.objects["image"].nunique()) if len(self.objects) else 0,
        }


def pattern_file(prefix: str, key: Any, suffix: str) -> str | None:
    """``prefix + key without its extension + suffix`` (see :attr:`Source.file_pattern`);
    None for a key without an extension or that is not a string."""
    if not isinstance(key, str):
        return None
    stem, dot, _ = key.rpartition(".")
    return prefix + stem + suffix if dot and stem else None


def leave_out_files(files: Sequence[Any], keys: Sequence[Any], prefix: str, suffix: str) -> list[Any]:
    """``files`` with None where a file is :func:`pattern_file` of its key (what
    :meth:`Source.derive_files` puts back)."""
    return [None if f == pattern_file(prefix, k, suffix) else f for f, k in zip(files, keys)]


# --------------------------------------------------------------------------- dataset


def empty_images() -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in IMAGE_COLUMNS.items()})
    frame.index = pd.Index([], dtype=object, name="image")
    return frame


@dataclass
class Dataset:
    """Images, labels and named annotation sources, plus what could not be read.

    Attributes
    ----------
    images: one row per image key (see :data:`IMAGE_COLUMNS`), plus the ``dataset.csv``
        metadata columns (``hand``, ``leg`` ... ``fracture_count`` ...) when present.
    labels: the dataset's label list (class index i = ``labels[i]``).
    sources: named sources, in reading order.
    problems: reading problems (see :data:`PROBLEM_COLUMNS`).
    files: every physical image file found (``image``, ``path``, ``folder``, ``file_size``);
        the same key can appear twice (FracAtlas v7 stray copies).
    split_lists: raw split-list rows (``split``, ``image``, ``file``, ``line``).
    root: the folder or file that was read.
    format: what was detected (``fracatlas``, ``coco``, ``voc``, ``yolo``, ``csv``, ``vgg``, ``folder``).
    meta: free-form facts (archive version guess, csv path ...).
    """

    images: pd.DataFrame = field(default_factory=empty_images)
    labels: list[str] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: problems_frame([]))
    files: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FILE_COLUMNS))
    split_lists: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SPLIT_LIST_COLUMNS))
    root: Path | None = None
    format: str = "unknown"
    meta: dict[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> Source:
        """The source called ``name``; raises :class:`~fracatlas_annot.errors.UnknownSourceError`
        (a ``KeyError``) naming the sources there are."""
        try:
            return self.sources[name]
        except KeyError:
            from .runtime.suggest import did_you_mean

            extra = did_you_mean(name, self.sources)
            raise UnknownSourceError(f"no source named '{name}' (have: {', '.join(self.sources) or 'none'}){extra}") from None

    def add_problems(self, problems: Iterable[Problem]) -> None:
        new = problems_frame(problems)
        if len(new):
            self.problems = pd.concat([self.problems, new], ignore_index=True) if len(self.problems) else new

    @property
    def has_csv(self) -> bool:
        return "fractured" in self.images.columns

    def summary(self) -> dict[str, Any]:
        """The `info --json` object (format, images, sources, labels, splits, problems)."""
        splits: dict[str, int] = {}
        if len(self.images) and "split" in self.images:
            vc = self.images["split"].fillna("none").value_counts()
            splits = {str(k): int(v) for k, v in vc.items()}
        out: dict[str, Any] = {
            "format": self.format,
            "root": str(self.root) if self.root else None,
            "images": int(len(self.images)),
            "images_on_disk": int(self.images["path"].notna().sum()) if len(self.images) else 0,
            "labels": list(self.labels),
            "sources": {
                name: {"format": s.format, "geometry": s.geometry, **s.counts(), "labels": list(s.labels)}
                for name, s in self.sources.items()
            },
            "splits": splits,
            "problems": [
                {k: (None if pd.isna(v) else (int(v) if k == "line" else v)) for k, v in row.items()}
                for row in self.problems.to_dict("records")
            ],
        }
        if self.has_csv:
            fr = pd.to_numeric(self.images["fractured"], errors="coerce")
            out["fractured"] = int((fr == 1).sum())
            out["non_fractured"] = int((fr == 0).sum())
        out.update({k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool))})
        return out


# --------------------------------------------------------------------------- geometry helpers


def polygons_from_flat(flat: Sequence[Sequence[float]]) -> np.ndarray:
    """Build shapely polygons from flat ``[x1, y1, x2, y2, ...]`` lists, vectorised.

    A list with fewer than 3 vertices yields a polygon built from the vertices that exist
    (shapely accepts 1- and 2-vertex rings once closed when given >= 4 coordinates);
    lists with < 3 points become an empty polygon so that checks can flag them.
    """
    n = len(flat)
    if n == 0:
        return np.empty(0, dtype=object)
    lengths = np.fromiter((len(f) // 2 for f in flat), dtype=np.int64, count=n)
    coords = np.fromiter((v for f in flat for v in f[: 2 * (len(f) // 2)]), dtype=np.float64, count=int(lengths.sum()) * 2)
    return polygons_from_ragged(coords.reshape(-1, 2), lengths)


def polygons_from_ragged(xy: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Polygons from stacked vertices ``xy`` (m, 2) and per-polygon vertex counts.

    Rings are closed automatically. Fewer than 3 vertices give ``POLYGON EMPTY``; the
    checks report those from the raw vertex count, not from the shape.
    """
    n = len(lengths)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    ok = lengths >= 3
    if ok.all():
        owner = np.repeat(np.arange(n), lengths)
        rings = shapely.linearrings(xy, indices=owner)
        out[:] = shapely.polygons(rings)
        return out
    keep_vertex = np.repeat(ok, lengths)
    good = np.flatnonzero(ok)
    if len(good):
        owner = np.repeat(np.arange(len(good)), lengths[good])
        rings = shapely.linearrings(xy[keep_vertex], indices=owner)
        out[good] = shapely.polygons(rings)
    out[~ok] = shapely.Polygon()
    return out


def resolve_normalized(objects: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    """Scale rows with ``units == "norm"`` to pixels using the images table's width/height.

    Rows whose image has no known size stay normalised (``units == "norm"``).
    """
    norm = (objects["units"] == "norm").to_numpy()
    if not norm.any():
        return objects
    objects = objects.copy()
    keys = objects.loc[norm, "image"].to_numpy()
    w = images["width"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan)
    h = images["height"].reindex(keys).to_numpy(dtype="float64", na_value=np.nan)
    known = ~(np.isnan(w) | np.isnan(h))
    rows = np.flatnonzero(norm)[known]
    w, h = w[known], h[known]
    if len(rows) == 0:
        return objects
    for c, s in (("x0", w), ("x1", w), ("y0", h), ("y1", h)):
        col = objects[c].to_numpy(copy=True)
        col[rows] = col[rows] * s
        objects[c] = col
    geoms = objects["geometry"].to_numpy(copy=True)
    sub = geoms[rows]
    has = ~shapely.is_missing(sub)
    if has.any():
        g = sub[has]  # fancy indexing: a new array, safe to update in place
        coords, owner = shapely.get_coordinates(g, return_index=True)
        scale = np.stack([w[has][owner], h[has][owner]], axis=1)
        g = shapely.set_coordinates(g, coords * scale)
        sub = sub.copy()
        sub[has] = g
        geoms[rows] = sub
    objects["geometry"] = pd.Series(geoms, index=objects.index, dtype=object)
    units = objects["units"].to_numpy(copy=True)
    units[rows] = "px"
    objects["units"] = pd.Series(units, index=objects.index, dtype=object)
    return objects
