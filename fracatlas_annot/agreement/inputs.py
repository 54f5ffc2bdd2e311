"""What each reader contributes, and which images each one saw.

* **Which source of a reader export is used** (:func:`source_preference`, from the formats registry). A reader export
  folder holds several makesense exports of the same project. For ``mask`` the polygon
  source is used (COCO preferred, then VGG). For ``box`` the reader's own rectangle export
  is used when there is one in pixels (VOC preferred, then the rect CSV, then YOLO once its
  coordinates are resolved to pixels), because in makesense rectangles and polygons are
  separate labels that a reader draws separately; when the export has no rectangles, the
  boxes are the extents of the reader's polygons. ``ReaderInput.inputs`` says which was used.
* **Which images each reader saw.** makesense writes no entry for an image without labels,
  so an image absent from a reader's export is read as "no fracture" for that reader. A
  reader whose input lists images without objects (a COCO ``images[]`` entry with no
  annotation, a YOLO folder with empty files, a folder with the image files) is taken to
  list every image it saw: an image absent from it is "not seen". With ``meta``
  (``dataset.csv``, read by the FracAtlas reader :func:`fracatlas_annot.formats.fracatlas.read_csv`)
  every image of the csv is one both readers were given.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, UsageError
from ..model import Dataset, Source
from .matching import box_area, valid_geometries

__all__ = [
    "ReaderInput",
    "add_readers",
    "image_table",
    "read_image_list",
    "read_meta",
    "reader_input",
    "source_preference",
]

def source_preference(geometry: str) -> tuple[str, ...]:
    """The formats a reader's ``polygon`` or ``box`` objects are taken from, best first
    (the formats registry's order: pixel formats before normalised ones)."""
    from ..formats.registry import source_preference as ranked

    return ranked(geometry)


@dataclass
class ReaderInput:
    """What one reader contributes: objects per geometry, the images it saw, where they came from."""

    name: str
    tables: dict[str, pd.DataFrame]  # geometry -> objects (image, label, x0..y1, geometry, ref, object, area, source, both_read)
    seen: pd.Index  # image keys the reader's input lists
    complete: bool  # the input lists images without objects, so absence means "not seen"
    sizes: pd.DataFrame  # declared width / height per image (may be empty)
    inputs: dict[str, str]  # geometry -> description of the source used
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    def positives(self) -> pd.Series:
        """Objects per image (max over the geometries analysed)."""
        counts = [t["image"].value_counts() for t in self.tables.values() if len(t)]
        if not counts:
            return pd.Series([], dtype=np.int64, index=pd.Index([], dtype=object))
        out = pd.concat(counts, axis=1).fillna(0).max(axis=1).astype(np.int64)
        out.index = pd.Index(out.index, dtype=object)
        return out

    def restrict_seen(self, keys: Iterable[str]) -> None:
        """The reader read exactly ``keys`` (plus the images it drew on): absence now means "not seen"."""
        listed = pd.Index([str(k) for k in keys], dtype=object)
        self.seen = listed.union(self.seen.intersection(self.positives().index), sort=False)
        self.complete = True


# --------------------------------------------------------------------------- reading


def as_dataset(x: Any, name: str) -> Dataset | Source:
    """A reader's input as given (Dataset or Source) or read from a path."""
    if isinstance(x, (Dataset, Source)):
        return x
    if isinstance(x, (str, Path)):
        from ..formats import read

        return read(x)
    raise UsageError(f"{name}: expected a path, a Dataset or a Source, got {type(x).__name__}")


def pick_source(sources: dict[str, Source], geometry: str) -> Source | None:
    """The reader's source for ``polygon`` or ``box`` objects, by :func:`source_preference`
    (a box source with normalised rows counts only when some rows are in pixels)."""
    preference = source_preference(geometry)
    cands = [s for s in sources.values() if s.geometry == geometry and len(s.objects) and not (s.objects["units"] == "norm").any()]
    if geometry == "box":
        cands += [s for s in sources.values() if s.geometry == "box" and len(s.objects) and (s.objects["units"] == "norm").any() and (s.objects["units"] == "px").any()]
    if not cands:
        return None

    def rank(s: Source) -> tuple[int, str]:
        for i, p in enumerate(preference):
            if s.format == p or s.name == p:
                return (i, s.name)
        return (len(preference), s.name)

    return sorted(cands, key=rank)[0]


def _ref(frame: pd.DataFrame, source_name: str) -> np.ndarray:
    files = frame["file"].to_numpy(dtype=object)
    locs = frame["loc"].to_numpy(dtype=object)
    lines = frame["line"].to_numpy(dtype=object, na_value=None)
    out = np.empty(len(frame), dtype=object)
    for i, (f, lc, ln) in enumerate(zip(files, locs, lines)):
        f = None if f is None or (isinstance(f, float) and math.isnan(f)) else str(f)
        lc = None if lc is None or (isinstance(lc, float) and math.isnan(lc)) else str(lc)
        where = f or source_name
        if ln is not None:
            where += f":{int(ln)}"
        elif lc:
            where += f" ({lc})"
        out[i] = where
    return out


def object_table(src: Source, geometry: str, *, from_polygons: bool = False) -> tuple[pd.DataFrame, int]:
    """The analysis table of one source (image, label, box, geometry, ref, object, area,
    source) and the number of objects left out (no polygon, for ``mask``)."""
    obj = src.objects
    if geometry == "box" and (obj["units"] == "norm").any():
        obj = obj[(obj["units"] == "px").to_numpy()]
    dropped = 0
    geoms = obj["geometry"].to_numpy(dtype=object)
    if geometry == "mask" or from_polygons:
        has = ~shapely.is_missing(geoms)
        if geometry == "mask":
            dropped = int((~has).sum())
            obj = obj[has]
            geoms = geoms[has]
    box = obj[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64, copy=True)
    if from_polygons or geometry == "mask":
        # boxes = extents of the shapes where the reader left them blank
        nan = np.isnan(box).any(axis=1) & ~shapely.is_missing(geoms)
        if nan.any():
            box[nan] = shapely.bounds(geoms[nan])
    frame = pd.DataFrame(
        {
            "image": obj["image"].to_numpy(dtype=object),
            "label": obj["label"].to_numpy(dtype=object),
            "x0": box[:, 0],
            "y0": box[:, 1],
            "x1": box[:, 2],
            "y1": box[:, 3],
            "geometry": geoms if geometry == "mask" else np.full(len(obj), None, dtype=object),
            "ref": _ref(obj, src.name),
            "object": obj.index.to_numpy(),
        }
    )
    if geometry == "mask":
        frame["geometry"] = valid_geometries(frame["geometry"].to_numpy(dtype=object))
        frame["area"] = shapely.area(frame["geometry"].to_numpy(dtype=object))
    else:
        frame["area"] = box_area(box)
    frame["source"] = src.name
    return frame, dropped


def reader_input(x: Any, name: str, geometries: Sequence[str]) -> ReaderInput:
    """Pick a reader's polygon and box sources (see the module docstring) and list what it saw."""
    obj = as_dataset(x, name)
    if isinstance(obj, Source):
        sources = {obj.name: obj}
        ds_images = pd.Index([], dtype=object)
    else:
        sources = dict(obj.sources)
        ds_images = pd.Index(obj.images.index, dtype=object) if len(obj.images) else pd.Index([], dtype=object)
    poly = pick_source(sources, "polygon")
    rect = pick_source(sources, "box")
    tables: dict[str, pd.DataFrame] = {}
    inputs: dict[str, str] = {}
    notes: list[str] = []
    used: list[Source] = []
    if "mask" in geometries and poly is not None:
        tables["mask"], dropped = object_table(poly, "mask")
        inputs["mask"] = f"polygons of source '{poly.name}' ({poly.format})"
        used.append(poly)
        if dropped:
            notes.append(f"{name}: {dropped} object(s) of '{poly.name}' have no polygon and are left out of the mask analysis")
    if "box" in geometries:
        if rect is not None:
            tables["box"], _ = object_table(rect, "box")
            inputs["box"] = f"rectangles of source '{rect.name}' ({rect.format})"
            used.append(rect)
            n_norm = int((rect.objects["units"] == "norm").sum())
            if n_norm:
                notes.append(f"{name}: {n_norm} box(es) of '{rect.name}' have no image size (normalised) and are left out")
        elif poly is not None:
            tables["box"], _ = object_table(poly, "box", from_polygons=True)
            inputs["box"] = f"extents of the polygons of source '{poly.name}' ({poly.format})"
            if not any(u is poly for u in used):
                used.append(poly)
    if not tables and not any(len(s.objects) for s in sources.values()):
        # a reader who drew nothing: empty tables, every image negative
        empty = Source.empty(name, "empty", geometry="polygon")
        for g in geometries:
            tables[g], _ = object_table(empty, g)
            inputs[g] = "no objects in the export"
        notes.append(f"{name}: the export holds no objects")
    seen_parts = [ds_images]
    size_parts = []
    for s in used or list(sources.values()):
        seen_parts.append(pd.Index(s.images.index, dtype=object))
        seen_parts.append(pd.Index(pd.unique(s.objects["image"].to_numpy(dtype=object)), dtype=object))
        if len(s.images):
            size_parts.append(s.images[["width", "height"]])
    seen = seen_parts[0]
    for p in seen_parts[1:]:
        seen = seen.union(p, sort=False)
    with_objects = pd.Index([], dtype=object)
    for t in tables.values():
        with_objects = with_objects.union(pd.Index(pd.unique(t["image"].to_numpy(dtype=object)), dtype=object), sort=False)
    complete = bool(len(seen.difference(with_objects)))
    if size_parts:
        sizes = pd.concat(size_parts)
        sizes = sizes[~sizes.index.duplicated(keep="first")]
    else:
        sizes = pd.DataFrame({"width": pd.Series([], dtype="Int64"), "height": pd.Series([], dtype="Int64")}, index=pd.Index([], dtype=object))
    labels: list[str] = []
    for s in used:
        labels += [lb for lb in s.labels if lb not in labels]
    for t in tables.values():
        labels += [lb for lb in pd.unique(t["label"].dropna()) if lb not in labels]
    return ReaderInput(name=name, tables=tables, seen=seen, complete=complete, sizes=sizes, inputs=inputs, labels=labels, notes=notes)


def read_meta(meta: Any) -> pd.DataFrame | None:
    """``dataset.csv`` metadata as a DataFrame indexed by image key.

    ``meta``: a path to the csv or to the folder holding it (parsed by the FracAtlas reader,
    :func:`fracatlas_annot.formats.fracatlas.read_csv`: first row per image id, flag columns
    as nullable integers), a DataFrame (``image_id`` column or image index) or a Dataset
    (its images table). A csv that cannot be read is an :class:`~fracatlas_annot.errors.InputError`
    naming the file and line.
    """
    if meta is None:
        return None
    if isinstance(meta, Dataset):
        frame = meta.images
    elif isinstance(meta, pd.DataFrame):
        frame = meta
    else:
        from ..formats.fracatlas import CSV_NAME, read_csv

        path = Path(meta)
        if path.is_dir():
            path = path / CSV_NAME
        frame, problems = read_csv(path, file=str(path))
        if frame is None:
            p = problems[0]
            where = f" (line {p.line})" if p.line is not None else ""
            raise InputError(path, f"cannot read dataset.csv metadata: {p.message}{where}")
    if "image_id" in frame.columns:
        frame = frame.set_index("image_id")
    frame = frame.copy()
    keys = pd.Series(frame.index.to_numpy(dtype=object), dtype=object).astype(str).str.strip()
    frame.index = pd.Index(keys.to_numpy(dtype=object), dtype=object, name="image")
    return frame


def read_image_list(path: str | Path) -> list[str]:
    """Image names from a text file, one a line (blank lines and ``#`` comments skipped;
    a path keeps its file name): the images a reader read, for ``agree(seen=...)``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, str(exc)) from None
    return [Path(line.strip()).name for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def add_readers(dataset: Dataset, a: Any, b: Any, *, names: Sequence[str] = ("reader-1", "reader-2")) -> Dataset:
    """A copy of ``dataset`` with each reader's sources added (for the FA8xx rules of ``validate``).

    Each reader (a path, Dataset or Source) contributes its sources as ``"<name>/<source>"``
    with ``meta["reader"] = name``; the dataset's own images, csv metadata and sources stay.

    Example:
        ```python
        ds = add_readers(read("FracAtlas"), "exports/reader-1", "exports/reader-2")
        findings = validate(ds, select="FA8")
        ```
    """
    sources = dict(dataset.sources)
    for x, name in zip((a, b), names):
        obj = as_dataset(x, name)
        srcs = {obj.name: obj} if isinstance(obj, Source) else obj.sources
        for key, src in srcs.items():
            full = f"{name}/{key}"
            sources[full] = dataclasses.replace(src, name=full, meta={**src.meta, "reader": name})
    return dataclasses.replace(dataset, sources=sources)


# --------------------------------------------------------------------------- images


def image_table(ra: ReaderInput, rb: ReaderInput, meta: pd.DataFrame | None) -> pd.DataFrame:
    """One row per image of the universe: objects and "seen" per reader, ``in_meta``, declared size."""
    universe = ra.seen.union(rb.seen, sort=False)
    if meta is not None:
        universe = pd.Index(meta.index, dtype=object).union(universe, sort=False)
    universe = pd.Index(pd.unique(universe.to_numpy(dtype=object)), dtype=object, name="image")
    pa = ra.positives().reindex(universe, fill_value=0).to_numpy()
    pb = rb.positives().reindex(universe, fill_value=0).to_numpy()
    in_meta = universe.isin(meta.index) if meta is not None else np.zeros(len(universe), dtype=bool)

    def seen(r: ReaderInput, n_objects: np.ndarray) -> np.ndarray:
        listed = universe.isin(r.seen) | (n_objects > 0)
        if r.complete:  # the reader lists every image it read: absent = not seen
            return listed
        # a sparse export (makesense) omits images without labels: absent = negative for
        # every image of the csv (or, without a csv, every image the other reader listed)
        return listed | (in_meta if meta is not None else np.ones(len(universe), dtype=bool))

    frame = pd.DataFrame(
        {"objects_a": pa, "objects_b": pb, "seen_a": seen(ra, pa), "seen_b": seen(rb, pb), "in_meta": in_meta}, index=universe
    )
    # declared sizes (first reader that declares them)
    sizes = pd.concat([ra.sizes, rb.sizes])
    sizes = sizes[~sizes.index.duplicated(keep="first")].reindex(universe)
    frame["width"] = pd.array(sizes["width"].to_numpy(dtype=object, na_value=None), dtype="Int64") if len(sizes) else pd.array([None] * len(universe), dtype="Int64")
    frame["height"] = pd.array(sizes["height"].to_numpy(dtype=object, na_value=None), dtype="Int64") if len(sizes) else pd.array([None] * len(universe), dtype="Int64")
    return frame


def image_notes(ra: ReaderInput, rb: ReaderInput, meta: pd.DataFrame | None) -> list[str]:
    """What the image-level numbers assume about images a reader's export omits."""
    notes = []
    for r in (ra, rb):
        if not r.complete:
            notes.append(
                f"{r.name}: the export lists only images with labels (makesense writes nothing for an unlabelled image); "
                f"an image absent from it counts as 'no fracture' for {r.name}"
            )
    if meta is None and not (ra.complete or rb.complete):
        notes.append("no image list without labels was given: pass --meta dataset.csv so that images neither reader labelled count as agreed negatives")
    return notes


def mark_both_read(readers: Sequence[ReaderInput], images: pd.DataFrame, primary: str | None) -> list[str]:
    """Add the ``both_read`` column (the object's image was read by both readers) to every
    table; notes for the objects of the ``primary`` geometry left out of the instance statistics."""
    both = pd.Series(images["seen_a"].to_numpy() & images["seen_b"].to_numpy(), index=images.index)
    notes = []
    for r in readers:
        for g, t in r.tables.items():
            t["both_read"] = both.reindex(t["image"].to_numpy(dtype=object), fill_value=False).to_numpy(dtype=bool)
            single = int((~t["both_read"]).sum())
            if single and g == (primary or g):
                notes.append(f"{r.name}: {single} object(s) on images only {r.name} read are left out of the instance statistics (see image-only rows)")
    return notes
