"""What every writer starts from: the images to write, the objects with their class, the
class map, the split and the change recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, UsageError
from ..runtime.suggest import did_you_mean
from ..formats.sizes import fill_sizes
from ..model import Dataset, Source, empty_source_images
from .common import check_stems, link_images, object_counts, record_crowd
from .geometry import Rings, nonfinite
from .exif_frame import to_displayed_frame
from .manifest import Recorder
from .picks import decisions_note, fractured_by_objects
from .shapes import clamped_boxes, polygon_parts, seg_instances, traced_geometry

__all__ = ["Plan", "make_plan", "load_dataset", "pick_source", "is_train_target", "record_read_problems"]

#: Reading-problem severities whose content a reader left out (warnings keep what they concern).
_LOST_SEVERITY = "error"


def is_train_target(target: str) -> bool:
    """True for a training layout (split into train/val/test folders: official split by
    default, splits.csv always written), as the target's format record says."""
    from ..formats.registry import writer_of

    return writer_of(target).splits


@dataclass
class Plan:
    """Inputs resolved for one conversion, and the shape policy a writer asks for.

    Writers (in ``formats``) see this as :class:`~fracatlas_annot.formats.registry.WritePlan`:
    they read the tables and call the methods below, which apply the policy of
    :mod:`.shapes` and record every change.
    """

    target: str
    dataset: Dataset
    source: Source
    images: pd.DataFrame  # index image key: path, width, height, split, fractured, stratum, group
    objects: pd.DataFrame  # objects with a class: source columns + cls, w, h
    names: list[str]
    class_map: list[dict[str, Any]]
    splits: pd.DataFrame
    recorder: Recorder = field(default_factory=Recorder)
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    objects_in: pd.DataFrame | None = None
    progress: bool = False
    #: images where the sources disagree and the conversion picked one (see :mod:`.picks`)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def allow_lossy(self) -> bool:
        return bool(self.options.get("allow_lossy"))

    @property
    def version(self) -> str:
        """fracatlas-annot's version (writers name it in their documents)."""
        from .._version import __version__

        return __version__

    # ------------------------------------------------------------------ for the writers

    def check_stems(self) -> None:
        """UsageError when two images would share one label file."""
        check_stems(self, self.images.index)

    def record_crowd(self, target: str) -> None:
        """Record crowd objects as ``iscrowd-cleared`` (``target`` has no crowd flag)."""
        record_crowd(self, self.objects, target)

    def geometry(self, *, record: bool) -> np.ndarray:
        """Polygons of the objects, RLE masks traced (recorded when ``record``)."""
        return traced_geometry(self.objects, self.recorder if record else None)

    def boxes(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel boxes clamped to the image, and the objects that keep an area (recorded)."""
        return clamped_boxes(self.objects, geoms, self.recorder)

    def segments(self, geoms: np.ndarray, *, box_fallback: bool) -> tuple[Rings, np.ndarray]:
        """One normalised ring per instance (the ``multipart`` option applied; recorded)."""
        return seg_instances(self.objects, geoms, multipart=self.options.get("multipart", "bridge"),
                             recorder=self.recorder, box_fallback=box_fallback)

    def polygon_parts(self, geoms: np.ndarray, *, what: str) -> tuple[list[list[list[float]]], np.ndarray]:
        """Per object, its parts as flat pixel rings, and their area (holes recorded)."""
        return polygon_parts(self.objects, geoms, self.recorder, what=what)

    def link_images(self, dests: dict[str, Any], *, n_images: int | None = None) -> dict[str, int]:
        """Hard-link (or copy) each image to ``dests[key]``; missing files recorded."""
        return link_images(self, dests, n_images=n_images)

    def counts(self, written: pd.DataFrame) -> dict[str, Any]:
        """Manifest counts for the written rows (``image``, ``cls``)."""
        return object_counts(self, written)


def load_dataset(dataset_or_path: Any) -> Dataset:
    """A Dataset from a Dataset, a Source, or a path read with :func:`fracatlas_annot.formats.read`."""
    if isinstance(dataset_or_path, Dataset):
        return dataset_or_path
    if isinstance(dataset_or_path, Source):
        src = dataset_or_path
        return Dataset(sources={src.name: src}, labels=list(src.labels), format=src.format)
    path = Path(dataset_or_path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    from ..formats import read

    return read(path)


def pick_source(dataset: Dataset, source: Any, target: str) -> Source:
    """The geometry source: a Source object, a source name, or the default for ``target``."""
    if isinstance(source, Source):
        return source
    if source is not None:
        if source in dataset.sources:
            return dataset.sources[source]
        by_format = [s for s in dataset.sources.values() if s.format == source]
        if len(by_format) == 1:
            return by_format[0]
        names = list(dataset.sources)
        raise UsageError(
            f"no source named '{source}' (have: {', '.join(names) or 'none'}){did_you_mean(str(source), names)}"
        )
    if not dataset.sources:
        raise UsageError("the input holds no annotation source to convert")
    if len(dataset.sources) == 1:
        return next(iter(dataset.sources.values()))
    from ..formats.registry import source_rank

    return sorted(dataset.sources.values(), key=lambda s: source_rank(s.format))[0]


def _class_map(source: Source, dataset: Dataset) -> tuple[list[str], list[dict[str, Any]]]:
    names: list[str] = []
    for n in list(source.labels) or list(dataset.labels):
        if n is not None and n not in names:
            names.append(str(n))
    if not names:
        used = source.objects["label"].dropna().unique().tolist()
        names = sorted(str(u) for u in used)
    raw_of: dict[str, Any] = {}
    for raw, name in sorted(source.label_ids.items(), key=lambda kv: str(kv[0])):
        raw_of.setdefault(str(name), raw)
    cmap = [
        {"class": i, "name": n, "source_id": _plain_id(raw_of.get(n)), "source_format": source.format}
        for i, n in enumerate(names)
    ]
    return names, cmap


def _plain_id(v: Any) -> Any:
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return str(v)


def _float(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _images(dataset: Dataset, source: Source) -> pd.DataFrame:
    """Every image the dataset or the source knows, in dataset order, with its size."""
    ds = dataset.images
    src_imgs = source.images if source.images is not None else empty_source_images()
    keys = list(ds.index)
    seen = set(keys)
    for k in list(src_imgs.index) + source.objects["image"].dropna().tolist():
        if k not in seen:
            seen.add(k)
            keys.append(k)
    index = pd.Index(keys, dtype=object, name="image")
    out = ds.reindex(index) if len(ds) else pd.DataFrame(index=index)
    out = out.copy()
    if "path" not in out:
        out["path"] = None
    out["path"] = out["path"].astype(object).where(out["path"].notna(), None)
    sizes = pd.DataFrame({
        "width": _float(out["width"]) if "width" in out else pd.Series(np.nan, index=index),
        "height": _float(out["height"]) if "height" in out else pd.Series(np.nan, index=index),
    })  # fmt: skip
    sizes = fill_sizes(sizes, [source] if source.images is not None else [])  # no file: the size the source declares
    out["width"] = sizes["width"].astype(float).to_numpy()
    out["height"] = sizes["height"].astype(float).to_numpy()
    return out


def make_plan(
    dataset_or_path: Any,
    *,
    target: str,
    source: Any = None,
    split: str | None = None,
    ratios: Any = (0.8, 0.1, 0.1),
    seed: int = 0,
    duplicates: bool = True,
    progress: bool = False,
    options: dict[str, Any] | None = None,
) -> Plan:
    """Resolve dataset, source, images, class map and split for a conversion to ``target``."""
    from ..splits import has_split_lists, make_splits

    dataset = load_dataset(dataset_or_path)
    src = pick_source(dataset, source, target)
    recorder = Recorder()
    record_read_problems(recorder, dataset, src)
    images = _images(dataset, src)
    names, cmap = _class_map(src, dataset)
    objects_in = src.objects
    unit_framed = pd.Index([], dtype=object)
    if "units" in objects_in and (objects_in["units"] == "norm").any():
        from ..model import resolve_normalized

        sized = images[["width", "height"]].astype("Int64")
        sized, unit_framed = _unit_frames(sized, objects_in, target)
        objects_in = resolve_normalized(objects_in, sized)
    objects = objects_in.copy()
    # labels drawn on the stored pixels of an EXIF-rotated photo (LabelImg) -> the displayed frame
    objects, frame_notes = to_displayed_frame(dataset, src, objects, recorder)
    cls_of = {n: i for i, n in enumerate(names)}
    cls = objects["label"].map(cls_of)
    unknown = cls.isna().to_numpy()
    if unknown.any():
        bad = objects[unknown]
        msgs = np.where(
            bad["label"].isna().to_numpy(),
            "object has no label (or an unknown class id); not written",
            np.array([f"label {lbl!r} is not in the class list {names}; not written" for lbl in bad["label"]], dtype=object),
        )
        recorder.add("object-dropped", bad, msgs)
    objects = objects[~unknown].copy()
    geoms = objects["geometry"].to_numpy(dtype=object) if "geometry" in objects else np.full(len(objects), None)
    corners = objects[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)
    # a NaN / infinite coordinate (FA106): a loss, never clamped to the image edge nor dropped silently
    bad = nonfinite(geoms) | (np.isinf(corners).any(axis=1) if len(corners) else np.zeros(0, dtype=bool))
    if bad.any():
        recorder.add("object-dropped", objects[bad], "a coordinate is NaN or infinite; not written")
        objects, cls = objects[~bad].copy(), cls[~unknown][~bad]
    else:
        cls = cls[~unknown]
    objects["cls"] = cls.astype(np.int64).to_numpy()
    objects["w"] = images["width"].reindex(objects["image"]).to_numpy(dtype=float)
    objects["h"] = images["height"].reindex(objects["image"]).to_numpy(dtype=float)
    framed = objects["image"].isin(unit_framed).to_numpy()
    objects.loc[framed, ["w", "h"]] = float(UNIT_FRAME)
    norm_left = (objects["units"] == "norm").to_numpy() if "units" in objects else np.zeros(len(objects), bool)
    unsized = np.isnan(objects["w"].to_numpy()) | np.isnan(objects["h"].to_numpy()) | norm_left
    if unsized.any():
        recorder.add("image-size-unknown", objects[unsized], "image size unknown: object cannot be placed; not written")
        objects = objects[~unsized].copy()
    objects = objects.reset_index(drop=True)

    # one rule for every target: the converted source's objects say which images are fractured
    fractured, decisions = fractured_by_objects(dataset, src, images)
    method = split or ("official" if is_train_target(target) else "none")
    drawn_by_default = False
    if split is None and method == "official" and not has_split_lists(images.index, images, dataset.split_lists):
        method, drawn_by_default = "stratified", True
    groups = None
    if method != "none" and duplicates:
        groups = _duplicate_groups(dataset, images, progress=progress)
    opts = dict(options or {})
    ratios_t = tuple(ratios) if not isinstance(ratios, str) else ratios
    table = make_splits(
        images.assign(fractured=fractured.astype(np.int64).to_numpy()),
        method=method,
        ratios=ratios_t,
        seed=seed,
        split_lists=dataset.split_lists if dataset.split_lists is not None else None,
        groups=groups,
    )
    moved = table[(table["reason"] == "duplicate-group") & table["listed"].notna()]
    if len(moved):
        recorder.add(
            "split-moved",
            None,
            [f"listed in {a} but its duplicate group is in {b}" for a, b in zip(moved["listed"], moved["split"])],
            image=moved.index.to_numpy(dtype=object),
        )
    images = images.drop(columns=["split"], errors="ignore")
    for col in ("split", "stratum", "group"):
        images[col] = table[col].to_numpy(dtype=object)
    images["positive"] = table["fractured"].to_numpy(dtype=bool)
    opts.update({"split": method, "seed": seed, "duplicates": bool(groups is not None)})
    notes = []
    if drawn_by_default:
        opts["split_default"] = "no official split lists: seeded stratified draw"
        shown = ",".join(f"{r:g}" for r in ratios_t) if not isinstance(ratios_t, str) else ratios_t
        notes.append(f"no official split lists in the input: split drawn at random (--split stratified, ratios {shown}, "
                     f"seed {seed}, stratified by positive/negative); pass --split to choose")
    if method == "official" and dataset.meta.get("splits_from"):
        opts["split_from"] = dataset.meta["splits_from"]
        counts = table["split"].value_counts()
        shown = ", ".join(f"{s} {int(counts[s])}" for s in ("train", "val", "test") if s in counts)
        notes.append(f"split kept from {dataset.meta['splits_from']}: {shown}")
    if method == "official":
        unlisted = table[(table["reason"] == "drawn") & table["fractured"].astype(bool)]
        if len(unlisted):
            shown = ", ".join(map(str, unlisted.index[:10])) + (" ..." if len(unlisted) > 10 else "")
            notes.append(f"{len(unlisted)} fractured image(s) in no official split list were drawn like the negatives: {shown}")
    if method != "none" and duplicates and groups is None:
        notes.append("duplicate detection unavailable (no image files or no duplicates module): groups not enforced")
    if decisions:
        notes.append(decisions_note(decisions))
    notes += frame_notes
    notes += _copies_note(dataset, images)
    if len(unit_framed):
        notes.append(f"{len(unit_framed)} image(s) with neither a file nor a declared size: their normalised "
                     f"coordinates were written as read (a {target} label needs no image size)")
    return Plan(
        target=target,
        dataset=dataset,
        source=src,
        images=images,
        objects=objects,
        names=names,
        class_map=cmap,
        splits=table,
        recorder=recorder,
        options=opts,
        notes=notes,
        objects_in=objects_in,
        progress=progress,
        decisions=decisions,
    )


#: The frame (px) in which normalised coordinates of an image of unknown size travel to a
#: normalised target: a power of two, so that scaling there and back is exact, and large, so
#: that the shape policy's 0.5 px tolerances stay below the 6 decimals written.
UNIT_FRAME = 1 << 20


def _unit_frames(sized: pd.DataFrame, objects: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Index]:
    """For a normalised target (YOLO -> YOLO needs no image), the images of unknown size that
    hold normalised objects get :data:`UNIT_FRAME` as their size; returns the sizes and them."""
    from ..formats.registry import writer_of

    if writer_of(target).units != "norm":
        return sized, pd.Index([], dtype=object)
    keys = objects.loc[(objects["units"] == "norm").to_numpy(), "image"].dropna().unique()
    unknown = sized.index.isin(keys) & sized.isna().any(axis=1).to_numpy()
    if not unknown.any():
        return sized, pd.Index([], dtype=object)
    sized = sized.copy()
    sized.loc[unknown, ["width", "height"]] = UNIT_FRAME
    return sized, sized.index[unknown]


def record_read_problems(recorder: Recorder, dataset: Dataset, source: Source) -> int:
    """Record as lost (``read-problem``) every error-level reading problem of ``source``: a
    bad line, an unsupported shape, unsafe XML, an orphan annotation, an unreadable file.
    Problems of another source of the dataset do not concern this conversion; a problem that
    names no source concerns it when the dataset has at most one source. Returns the count."""
    probs = dataset.problems
    if not len(probs):
        return 0
    mine = probs["source"] == source.name
    if len(dataset.sources) <= 1:
        mine |= probs["source"].isna()
    lost = probs[mine & (probs["severity"] == _LOST_SEVERITY)]
    if not len(lost):
        return 0
    loc = lost["loc"].where(lost["loc"].notna(), lost["line"].map(lambda n: None if pd.isna(n) else f"line {n}"))
    rows = pd.DataFrame({
        "image": lost["image"].where(lost["image"].notna(), None).to_numpy(dtype=object),
        "file": lost["file"].to_numpy(dtype=object),
        "loc": loc.to_numpy(dtype=object),
    })  # fmt: skip
    msgs = [f"{k}: {m}" for k, m in zip(lost["kind"], lost["message"])]
    recorder.add("read-problem", rows, msgs)
    return len(lost)


def _duplicate_groups(dataset: Dataset, images: pd.DataFrame, *, progress: bool) -> pd.DataFrame | None:
    """Duplicate groups from validation's detector, when the image files exist."""
    if images["path"].isna().all():
        return None
    from ..imaging.duplicates import duplicate_groups

    im = dataset.images
    return duplicate_groups(im.index, im["path"], im["file_size"], pixels=True, progress=progress)


def box_rectangles(objects: pd.DataFrame) -> np.ndarray:
    """The box of each object as a rectangle polygon."""
    return shapely.box(objects["x0"], objects["y0"], objects["x1"], objects["y1"])


def has_polygon(geoms: np.ndarray) -> np.ndarray:
    return ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)


def _copies_note(dataset: Dataset, images: pd.DataFrame) -> list[str]:
    """A note naming images whose file name exists in several folders (FracAtlas v7's stray
    copies): one file per name is written, the one in the folder dataset.csv points at."""
    files = dataset.files
    if not len(files) or "image" not in files:
        return []
    multi = files[files["image"].duplicated(keep=False) & files["image"].isin(images.index)]
    if not len(multi):
        return []
    sizes = multi.groupby("image")["file_size"].nunique(dropna=False)
    differ = sorted(sizes[sizes > 1].index.astype(str))
    keys = sorted(multi["image"].astype(str).unique())
    chosen = {k: images.loc[k, "path"] for k in keys}
    text = "; ".join(f"{k} -> {chosen[k]}" for k in keys[:10]) + (" ..." if len(keys) > 10 else "")
    note = f"{len(keys)} image name(s) exist in several folders; one file each was written: {text}"
    if differ:
        note += f". The copies DIFFER in size for: {', '.join(differ[:10])} (check them: validate reports FA406)"
    return [note]
