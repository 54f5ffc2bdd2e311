"""Two readers: matching, agreement statistics and the adjudication queue.

In FracAtlas each scan was labelled independently by two radiologists; this module takes
each reader's own export and says how well they agree, where they disagree, and (see
:mod:`fracatlas_annot.agreement_consensus`) builds a consensus to train on.

Conventions
-----------
* Reader A is the first argument, reader B the second. An object of A that B lacks is
  ``missing-in-b`` (counted as FN), an object of B that A lacks is ``missing-in-a`` (FP).
  The statistics are symmetric: agreement F1 = 2TP / (2TP + FP + FN).
* **Which source of a reader export is used.** A reader export folder holds several
  makesense exports of the same project. For ``mask`` the polygon source is used (COCO
  preferred, then VGG). For ``box`` the reader's own rectangle export is used when there is
  one in pixels (VOC preferred, then the rect CSV, then YOLO once its coordinates are
  resolved to pixels), because in makesense rectangles and polygons are separate labels
  that a reader draws separately; when the export has no rectangles, the boxes are the
  extents of the reader's polygons. ``AgreementResult.inputs`` says which was used.
* **Which images each reader saw.** makesense writes no entry for an image without labels,
  so an image absent from a reader's export is read as "no fracture" for that reader. A
  reader whose input lists images without objects (a COCO ``images[]`` entry with no
  annotation, a YOLO folder with empty files, a folder with the image files) is taken to
  list every image it saw: an image absent from it is "not seen", reported as
  ``image-only-in-a`` / ``image-only-in-b`` and left out of the 2x2 table, never dropped
  silently. With ``meta`` (``dataset.csv``) every image of the csv is one both readers
  were given.
* **Matching**, per image: one-to-one assignment maximising the total IoU
  (:func:`scipy.optimize.linear_sum_assignment` on the IoU matrix, with entries under the
  threshold set to zero and such pairs discarded). Candidate pairs are the same-image pairs
  whose boxes intersect (the envelope test an STRtree query does; grouping by image makes a
  tree unnecessary); box IoU is numpy arithmetic on the pair arrays, polygon IoU uses
  shapely 2's vectorised ``intersection`` / ``area`` on the pair arrays, so multi-part
  objects (MultiPolygon) count with all their parts. Images where every candidate pair is
  disjoint from the others (the common case: one fracture per reader) are matched without
  calling the solver. With ``label_aware`` pairs are first matched within a label, then
  the leftovers across labels: such pairs are ``label-mismatch`` (not agreement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from .errors import UsageError
from .model import Dataset, Source

__all__ = [
    "AgreementResult",
    "add_readers",
    "agree",
    "box_iou_pairs",
    "cohen_kappa",
    "match_pairs",
    "polygon_iou_pairs",
    "specific_agreement",
    "DISAGREEMENT_KINDS",
    "SIZE_THRESHOLDS",
]

#: Kinds of disagreement, worst first (the sort order of the adjudication queue).
DISAGREEMENT_KINDS: tuple[str, ...] = (
    "image-only-in-a",
    "image-only-in-b",
    "image-level-mismatch",
    "missing-in-b",
    "missing-in-a",
    "label-mismatch",
    "low-overlap",
)

#: COCO object-size limits (pixel area): small < 32^2 <= medium < 96^2 <= large.
SIZE_THRESHOLDS: tuple[float, float] = (32.0**2, 96.0**2)

#: dataset.csv flag columns used for the breakdowns.
BODY_PARTS: tuple[str, ...] = ("hand", "leg", "hip", "shoulder", "mixed")
VIEWS: tuple[str, ...] = ("frontal", "lateral", "oblique")

_POLYGON_PREFERENCE = ("coco", "vgg")
_BOX_PREFERENCE = ("voc", "csv", "yolo")
_Z95 = 1.959963984540054  # two-sided 95 % normal quantile

DISAGREEMENT_COLUMNS: list[str] = [
    "image",
    "kind",
    "geometry",
    "iou",
    "label_a",
    "label_b",
    "object_a",
    "object_b",
    "ref_a",
    "ref_b",
    "area_a",
    "area_b",
    "message",
]


# =========================================================================== statistics


def cohen_kappa(table: Any, *, z: float = _Z95) -> dict[str, Any]:
    """Cohen's kappa of a k x k agreement table (rows: reader A, columns: reader B).

    Returns ``kappa``, its large-sample standard error ``se``, the confidence interval
    ``ci`` (kappa +/- z*se, clipped to [-1, 1]), the observed and chance agreement ``po``,
    ``pe``, ``n``, and ``reason`` (why kappa is undefined, else None).

    kappa = (po - pe) / (1 - pe) (Cohen 1960, Educ. Psychol. Meas. 20:37-46). The standard
    error is the non-null large-sample formula of Fleiss, Cohen & Everitt (1969, Psychol.
    Bull. 72:323-327), as given in Fleiss, Levin & Paik, *Statistical Methods for Rates
    and Proportions*, 3rd ed. (2003), ch. 18::

        var = [ sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2
                + (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
                - (k - pe (1 - k))^2 ] / (n (1 - pe)^2)

    kappa is undefined (NaN, with a reason) when there are no ratings or when chance
    agreement is 1 (both readers put every image in the same single category, e.g. no
    positives at all).
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"agreement table must be square, got shape {t.shape}")
    n = float(t.sum())
    out: dict[str, Any] = {"kappa": math.nan, "se": math.nan, "ci": [math.nan, math.nan], "po": math.nan, "pe": math.nan, "n": int(n), "reason": None}
    if n == 0:
        out["reason"] = "no images rated by both readers"
        return out
    p = t / n
    rows = p.sum(axis=1)
    cols = p.sum(axis=0)
    po = float(np.trace(p))
    pe = float(rows @ cols)
    out["po"], out["pe"] = po, pe
    if pe >= 1.0 - 1e-12:
        cat = "positive" if t.shape[0] == 2 and t[1, 1] == n else ("negative" if t.shape[0] == 2 and t[0, 0] == n else "the same category")
        out["reason"] = f"chance agreement is 1 (both readers rated every image {cat}): kappa is undefined"
        return out
    k = (po - pe) / (1.0 - pe)
    diag = np.diag(p)
    term_a = float(np.sum(diag * (1.0 - (rows + cols) * (1.0 - k)) ** 2))
    off = p.copy()
    np.fill_diagonal(off, 0.0)
    # (p_.i + p_j.) for cell (i, j): column marginal of i plus row marginal of j
    weights = (cols[:, None] + rows[None, :]) ** 2
    term_b = (1.0 - k) ** 2 * float(np.sum(off * weights))
    term_c = (k - pe * (1.0 - k)) ** 2
    var = max(term_a + term_b - term_c, 0.0) / (n * (1.0 - pe) ** 2)
    se = math.sqrt(var)
    out["kappa"] = float(k)
    out["se"] = se
    out["ci"] = [max(-1.0, k - z * se), min(1.0, k + z * se)]
    return out


def specific_agreement(a: int, b: int, c: int, d: int) -> dict[str, Any]:
    """Positive and negative specific agreement of a 2x2 table.

    ``a`` both positive, ``b`` A only, ``c`` B only, ``d`` both negative.
    p_pos = 2a / (2a + b + c), p_neg = 2d / (2d + b + c) (Fleiss 1975; Cicchetti & Feinstein
    1990): unlike kappa they do not collapse when prevalence is low (FracAtlas: ~18 %).
    NaN with a reason when the denominator is zero.
    """
    out: dict[str, Any] = {"positive": math.nan, "negative": math.nan, "positive_reason": None, "negative_reason": None}
    den_p = 2 * a + b + c
    den_n = 2 * d + b + c
    if den_p:
        out["positive"] = 2 * a / den_p
    else:
        out["positive_reason"] = "no image rated positive by either reader"
    if den_n:
        out["negative"] = 2 * d / den_n
    else:
        out["negative_reason"] = "no image rated negative by either reader"
    return out


# =========================================================================== geometry


def box_iou_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection area of paired boxes ``a[i]`` / ``b[i]`` given as (n, 4) corners."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0.0, None)
    inter = iw * ih
    union = _box_area(a) + _box_area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou, inter


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU matrix of two box arrays (numpy broadcasting)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0, None)
    inter = iw * ih
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def polygon_iou_pairs(ga: np.ndarray, gb: np.ndarray, *, repair: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection area of paired shapely geometries (vectorised, shapely 2).

    Invalid shapes (self-intersecting rings) are repaired with ``make_valid`` first;
    MultiPolygon areas include every part. Missing or empty shapes give IoU 0.
    """
    ga = np.asarray(ga, dtype=object)
    gb = np.asarray(gb, dtype=object)
    if repair:  # the analysis tables are repaired once, when built
        ga, gb = _valid(ga), _valid(gb)
    inter = shapely.area(shapely.intersection(ga, gb))
    inter = np.nan_to_num(np.asarray(inter, dtype=np.float64))
    union = np.nan_to_num(shapely.area(ga)) + np.nan_to_num(shapely.area(gb)) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou, inter


def _valid(geoms: np.ndarray) -> np.ndarray:
    geoms = geoms.copy()
    missing = shapely.is_missing(geoms)
    if missing.any():
        geoms[missing] = shapely.Polygon()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def _box_area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0.0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0.0, None)


# =========================================================================== matching


def candidate_pairs(ta: pd.DataFrame, tb: pd.DataFrame, geometry: str) -> pd.DataFrame:
    """Same-image pairs of objects whose boxes intersect, with their IoU.

    Columns: ``ia``, ``ib`` (row positions in ``ta`` / ``tb``), ``image``, ``iou``,
    ``same_label``.
    """
    left = pd.DataFrame({"image": ta["image"].to_numpy(dtype=object), "ia": np.arange(len(ta))})
    right = pd.DataFrame({"image": tb["image"].to_numpy(dtype=object), "ib": np.arange(len(tb))})
    pairs = left.merge(right, on="image", how="inner", sort=False)
    ia = pairs["ia"].to_numpy()
    ib = pairs["ib"].to_numpy()
    boxes_a = ta[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ia]
    boxes_b = tb[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ib]
    biou, binter = box_iou_pairs(boxes_a, boxes_b)
    if geometry == "mask":
        touch = binter > 0
        iou = np.zeros(len(pairs))
        if touch.any():
            iou[touch], _ = polygon_iou_pairs(
                ta["geometry"].to_numpy(dtype=object)[ia[touch]], tb["geometry"].to_numpy(dtype=object)[ib[touch]], repair=False
            )
    else:
        iou = biou
    la = ta["label"].to_numpy(dtype=object)[ia]
    lb = tb["label"].to_numpy(dtype=object)[ib]
    same = np.fromiter((x == y for x, y in zip(la, lb)), dtype=bool, count=len(la))
    out = pd.DataFrame(
        {"ia": ia.astype(np.int64), "ib": ib.astype(np.int64), "image": pairs["image"].to_numpy(dtype=object), "iou": iou, "same_label": same}
    )
    return out[out["iou"] > 0].reset_index(drop=True)


def _assign(cand: pd.DataFrame) -> pd.DataFrame:
    """Maximum-total-IoU one-to-one assignment of candidate pairs, per image."""
    if not len(cand):
        return cand.iloc[0:0]
    cand = cand.reset_index(drop=True)
    dup = cand["ia"].duplicated(keep=False) | cand["ib"].duplicated(keep=False)
    if not dup.any():
        return cand
    hard_images = pd.unique(cand.loc[dup, "image"])
    hard_mask = cand["image"].isin(hard_images).to_numpy()
    keep = [np.flatnonzero(~hard_mask)]
    ia_all = cand["ia"].to_numpy()
    ib_all = cand["ib"].to_numpy()
    iou_all = cand["iou"].to_numpy()
    for pos in cand[hard_mask].groupby("image", sort=False).indices.values():
        pos = np.flatnonzero(hard_mask)[pos]  # positions in cand
        ua, ra = np.unique(ia_all[pos], return_inverse=True)
        ub, rb = np.unique(ib_all[pos], return_inverse=True)
        m = np.zeros((len(ua), len(ub)))
        m[ra, rb] = iou_all[pos]
        rows, cols = linear_sum_assignment(m, maximize=True)
        chosen = np.zeros((len(ua), len(ub)), dtype=bool)
        chosen[rows, cols] = True
        keep.append(pos[chosen[ra, rb]])
    return cand.iloc[np.sort(np.concatenate(keep))]


def match_pairs(pairs: pd.DataFrame, threshold: float, *, label_aware: bool = True) -> pd.DataFrame:
    """Match objects one-to-one at an IoU threshold.

    Returns the matched rows of ``pairs`` with a ``label_match`` column: True for agreeing
    pairs (TP), False for pairs matched across labels (``label-mismatch``, only when
    ``label_aware``).
    """
    cand = pairs[pairs["iou"] >= threshold]
    if not label_aware:
        m = _assign(cand).copy()
        m["label_match"] = True
        return m.reset_index(drop=True)
    first = _assign(cand[cand["same_label"]]).copy()
    first["label_match"] = True
    rest = cand[~cand["same_label"] & ~cand["ia"].isin(first["ia"]) & ~cand["ib"].isin(first["ib"])]
    second = _assign(rest).copy()
    second["label_match"] = False
    return pd.concat([first, second], ignore_index=True)


# =========================================================================== readers' inputs


@dataclass
class ReaderInput:
    """What one reader contributes: objects per geometry, the images it saw, where they came from."""

    name: str
    tables: dict[str, pd.DataFrame]  # geometry -> objects (image, label, x0..y1, geometry, ref, area)
    seen: pd.Index  # image keys the reader's input lists
    complete: bool  # the input lists images without objects, so absence means "not seen"
    sizes: pd.DataFrame  # declared width / height per image (may be empty)
    inputs: dict[str, str]  # geometry -> description of the source used
    labels: list[str]
    notes: list[str] = field(default_factory=list)


def _as_dataset(x: Any, name: str) -> Dataset | Source:
    if isinstance(x, (Dataset, Source)):
        return x
    if isinstance(x, (str, Path)):
        from .formats import read

        return read(x)
    raise UsageError(f"{name}: expected a path, a Dataset or a Source, got {type(x).__name__}")


def _pick(sources: dict[str, Source], preference: Sequence[str], geometry: str) -> Source | None:
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


def _object_table(src: Source, geometry: str, *, from_polygons: bool = False) -> tuple[pd.DataFrame, int]:
    """The analysis table of one source: image, label, box, geometry, area, origin."""
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
        frame["geometry"] = _valid(frame["geometry"].to_numpy(dtype=object))
        frame["area"] = shapely.area(frame["geometry"].to_numpy(dtype=object))
    else:
        frame["area"] = _box_area(box)
    frame["source"] = src.name
    return frame, dropped


def reader_input(x: Any, name: str, geometries: Sequence[str]) -> ReaderInput:
    """Pick a reader's polygon and box sources (see the module docstring) and list what it saw."""
    obj = _as_dataset(x, name)
    if isinstance(obj, Source):
        sources = {obj.name: obj}
        ds_images = pd.Index([], dtype=object)
    else:
        sources = dict(obj.sources)
        ds_images = pd.Index(obj.images.index, dtype=object) if len(obj.images) else pd.Index([], dtype=object)
    poly = _pick(sources, _POLYGON_PREFERENCE, "polygon")
    rect = _pick(sources, _BOX_PREFERENCE, "box")
    tables: dict[str, pd.DataFrame] = {}
    inputs: dict[str, str] = {}
    notes: list[str] = []
    used: list[Source] = []
    if "mask" in geometries and poly is not None:
        tables["mask"], dropped = _object_table(poly, "mask")
        inputs["mask"] = f"polygons of source '{poly.name}' ({poly.format})"
        used.append(poly)
        if dropped:
            notes.append(f"{name}: {dropped} object(s) of '{poly.name}' have no polygon and are left out of the mask analysis")
    if "box" in geometries:
        if rect is not None:
            tables["box"], _ = _object_table(rect, "box")
            inputs["box"] = f"rectangles of source '{rect.name}' ({rect.format})"
            used.append(rect)
            n_norm = int((rect.objects["units"] == "norm").sum())
            if n_norm:
                notes.append(f"{name}: {n_norm} box(es) of '{rect.name}' have no image size (normalised) and are left out")
        elif poly is not None:
            tables["box"], _ = _object_table(poly, "box", from_polygons=True)
            inputs["box"] = f"extents of the polygons of source '{poly.name}' ({poly.format})"
            if not any(u is poly for u in used):
                used.append(poly)
    if not tables and not any(len(s.objects) for s in sources.values()):
        # a reader who drew nothing: empty tables, every image negative
        empty = Source.empty(name, "empty", geometry="polygon")
        for g in geometries:
            tables[g], _ = _object_table(empty, g)
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
    """``dataset.csv`` metadata as a DataFrame indexed by image key (path, DataFrame or Dataset)."""
    if meta is None:
        return None
    if isinstance(meta, Dataset):
        frame = meta.images
    elif isinstance(meta, pd.DataFrame):
        frame = meta
    else:
        path = Path(meta)
        if path.is_dir():
            path = path / "dataset.csv"
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"image_id": object})
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            from .errors import InputError

            raise InputError(path, f"cannot read dataset.csv metadata: {exc}") from None
    if "image_id" in frame.columns:
        frame = frame.set_index("image_id")
    frame = frame.copy()
    keys = pd.Series(frame.index.to_numpy(dtype=object), dtype=object).astype(str).str.strip()
    frame.index = pd.Index(keys.to_numpy(dtype=object), dtype=object, name="image")
    return frame


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
    import dataclasses

    sources = dict(dataset.sources)
    for x, name in zip((a, b), names):
        obj = _as_dataset(x, name)
        srcs = {obj.name: obj} if isinstance(obj, Source) else obj.sources
        for key, src in srcs.items():
            full = f"{name}/{key}"
            sources[full] = dataclasses.replace(src, name=full, meta={**src.meta, "reader": name})
    return dataclasses.replace(dataset, sources=sources)


# =========================================================================== result


@dataclass
class AgreementResult:
    """Everything :func:`agree` found. See the attributes; :meth:`to_dict` is the JSON form.

    Attributes
    ----------
    names: (name of reader A, name of reader B).
    thresholds: the IoU thresholds, ascending.
    geometries: the geometries analysed (``box`` and/or ``mask``).
    image_level: the 2x2 table (fracture present or not), raw agreement, Cohen's kappa with
        its 95 % CI, positive / negative specific agreement, and the images only one
        reader saw.
    instance: one row per geometry and IoU threshold: objects of A and B, TP, FN
        (missing in B), FP (missing in A), label mismatches, F1 = 2TP/(2TP+FP+FN), mean IoU
        and mean Dice of the agreeing pairs.
    breakdowns: ``{"image_level": DataFrame, "instance": DataFrame}`` by body part and view
        (with ``dataset.csv`` metadata) and, for instances, by object size (COCO areas).
    disagreements: the adjudication queue, one row per conflict, worst first.
    inputs: which source of each reader was used for each geometry.
    notes: what the numbers rest on (assumptions, objects left out).
    """

    names: tuple[str, str]
    thresholds: tuple[float, ...]
    geometries: tuple[str, ...]
    image_level: dict[str, Any]
    instance: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    disagreements: pd.DataFrame
    inputs: dict[str, dict[str, str]]
    notes: list[str]
    label_aware: bool = True
    # internal state for consensus()
    _readers: tuple[ReaderInput, ReaderInput] | None = field(default=None, repr=False)
    _pairs: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _matches: dict[tuple[str, float], pd.DataFrame] = field(default_factory=dict, repr=False)
    _images: pd.DataFrame | None = field(default=None, repr=False)

    def consensus(
        self,
        method: str = "intersect",
        unmatched: str = "keep",
        *,
        iou: float | None = None,
        geometry: str | None = None,
        name: str = "consensus",
    ) -> Source:
        """A consensus Source built from the matched pairs.

        See :func:`fracatlas_annot.agreement_consensus.build_consensus`.
        """
        from .agreement_consensus import build_consensus

        return build_consensus(self, method=method, unmatched=unmatched, iou=iou, geometry=geometry, name=name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN -> None) of every table."""
        return _jsonable(
            {
                "readers": list(self.names),
                "thresholds": list(self.thresholds),
                "geometries": list(self.geometries),
                "label_aware": self.label_aware,
                "inputs": self.inputs,
                "image_level": self.image_level,
                "instance": self.instance.to_dict("records"),
                "breakdowns": {k: v.to_dict("records") for k, v in self.breakdowns.items()},
                "disagreements": self.disagreements.to_dict("records"),
                "disagreement_counts": self.disagreement_counts(),
                "notes": list(self.notes),
            }
        )

    def disagreement_counts(self) -> dict[str, int]:
        """Rows of the adjudication queue per kind (and geometry where it applies)."""
        d = self.disagreements
        out: dict[str, int] = {}
        for kind in DISAGREEMENT_KINDS:
            sub = d[d["kind"] == kind]
            if not len(sub):
                continue
            geoms = sub["geometry"].dropna().unique()
            if len(geoms):
                for g in sorted(geoms):
                    out[f"{kind}[{g}]"] = int((sub["geometry"] == g).sum())
            else:
                out[kind] = int(len(sub))
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is pd.NA or obj is None:
        return None
    if isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    return str(obj)


# =========================================================================== agree()


def _parse_thresholds(iou: Iterable[float] | float | str) -> tuple[float, ...]:
    if isinstance(iou, str):
        parts = [p for p in iou.replace(" ", "").split(",") if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise UsageError(f"--iou: expected numbers like 0.1,0.3,0.5, got {iou!r}") from None
    elif isinstance(iou, (int, float)):
        vals = [float(iou)]
    else:
        vals = [float(v) for v in iou]
    if not vals:
        raise UsageError("at least one IoU threshold is needed")
    bad = [v for v in vals if not (0.0 < v <= 1.0)]
    if bad:
        raise UsageError(f"IoU thresholds must be in (0, 1], got {bad}")
    return tuple(sorted(set(vals)))


def agree(
    a: Any,
    b: Any,
    *,
    names: Sequence[str] = ("reader-1", "reader-2"),
    iou: Iterable[float] | float | str = (0.1, 0.3, 0.5),
    geometry: str = "both",
    meta: Any = None,
    label_aware: bool = True,
    seen: tuple[Iterable[str] | None, Iterable[str] | None] | None = None,
) -> AgreementResult:
    """Measure how well two readers agree, at image and instance level.

    Args:
        a, b: each reader's annotations: a path (file, folder or zip read with
            :func:`fracatlas_annot.formats.read`), a :class:`~fracatlas_annot.model.Dataset`
            or a :class:`~fracatlas_annot.model.Source`.
        names: the readers' names, used in the tables and in the consensus ``readers`` column.
        iou: IoU thresholds (e.g. ``(0.1, 0.3, 0.5)``: thin oblique fractures give low box
            IoU even when readers agree).
        geometry: ``"box"``, ``"mask"`` or ``"both"`` (mask is skipped, with a note, when a
            reader has no polygons).
        meta: ``dataset.csv`` (path, DataFrame or the archive's Dataset) for the body-part
            and view breakdowns; its images are the ones both readers were given.
        label_aware: pairs with different labels are label mismatches, not agreement.
        seen: the images each reader read, ``(images_a, images_b)`` (either may be None),
            when known from elsewhere: a makesense export cannot tell an image read and left
            unlabelled from one never opened. An image missing from a reader's list is "not
            read" by that reader: reported as ``image-only-in-*`` and left out of the
            statistics.

    Returns:
        An :class:`AgreementResult`.

    Example:
        ```python
        from fracatlas_annot.agreement import agree
        r = agree("fixtures/readers/reader-1", "fixtures/readers/reader-2",
                  meta="fixtures/fracatlas-mini/dataset.csv")
        r.image_level["kappa"], r.instance, r.disagreements.head()
        seg = r.consensus("intersect", unmatched="queue")
        ```
    """
    if geometry not in ("box", "mask", "both"):
        raise UsageError(f"geometry must be box, mask or both, got {geometry!r}")
    names = tuple(str(n) for n in names)
    if len(names) != 2 or names[0] == names[1]:
        raise UsageError(f"names must be two different reader names, got {list(names)}")
    thresholds = _parse_thresholds(iou)
    wanted = ("box", "mask") if geometry == "both" else (geometry,)
    ra = reader_input(a, names[0], wanted)
    rb = reader_input(b, names[1], wanted)
    if seen is not None:
        for r, keys in zip((ra, rb), seen):
            if keys is not None:
                listed = pd.Index([str(k) for k in keys], dtype=object)
                r.seen = listed.union(r.seen.intersection(_positives(r).index), sort=False)
                r.complete = True
    notes = ra.notes + rb.notes
    geoms: list[str] = []
    for g in ("mask", "box"):
        if g not in wanted:
            continue
        missing = [r.name for r in (ra, rb) if g not in r.tables]
        if missing:
            if geometry == g:
                raise UsageError(f"no {'polygons' if g == 'mask' else 'boxes'} in the export of {', '.join(missing)}: cannot compare {'masks' if g == 'mask' else 'boxes'}")
            notes.append(f"{g} analysis skipped: no {'polygons' if g == 'mask' else 'boxes'} from {', '.join(missing)}")
            continue
        geoms.append(g)
    if not geoms and not wanted:
        raise UsageError("nothing to compare")
    meta_frame = read_meta(meta)
    images = _image_table(ra, rb, meta_frame)
    notes += _image_notes(ra, rb, meta_frame)
    both = pd.Series(images["seen_a"].to_numpy() & images["seen_b"].to_numpy(), index=images.index)
    for r in (ra, rb):
        for g, t in r.tables.items():
            t["both_read"] = both.reindex(t["image"].to_numpy(dtype=object), fill_value=False).to_numpy(dtype=bool)
            single = int((~t["both_read"]).sum())
            if single and g == (geoms[0] if geoms else g):
                notes.append(f"{r.name}: {single} object(s) on images only {r.name} read are left out of the instance statistics (see image-only rows)")

    pairs: dict[str, pd.DataFrame] = {}
    matches: dict[tuple[str, float], pd.DataFrame] = {}
    for g in geoms:
        pairs[g] = candidate_pairs(ra.tables[g], rb.tables[g], g)
        for t in thresholds:
            matches[(g, t)] = match_pairs(pairs[g], t, label_aware=label_aware)

    image_level = _image_level(images, names)
    instance = _instance_table(ra, rb, geoms, thresholds, matches)
    breakdowns = _breakdowns(ra, rb, geoms, thresholds, matches, images, meta_frame)
    disagreements = _disagreements(ra, rb, geoms, thresholds, pairs, matches, images, names)
    inputs = {ra.name: ra.inputs, rb.name: rb.inputs}
    return AgreementResult(
        names=names,  # type: ignore[arg-type]
        thresholds=thresholds,
        geometries=tuple(geoms),
        image_level=image_level,
        instance=instance,
        breakdowns=breakdowns,
        disagreements=disagreements,
        inputs=inputs,
        notes=notes,
        label_aware=label_aware,
        _readers=(ra, rb),
        _pairs=pairs,
        _matches=matches,
        _images=images,
    )


# --------------------------------------------------------------------------- images


def _positives(r: ReaderInput) -> pd.Series:
    """Objects per image for a reader (max over the geometries analysed)."""
    counts = [t["image"].value_counts() for t in r.tables.values() if len(t)]
    if not counts:
        return pd.Series([], dtype=np.int64, index=pd.Index([], dtype=object))
    out = pd.concat(counts, axis=1).fillna(0).max(axis=1).astype(np.int64)
    out.index = pd.Index(out.index, dtype=object)
    return out


def _image_table(ra: ReaderInput, rb: ReaderInput, meta: pd.DataFrame | None) -> pd.DataFrame:
    """One row per image of the universe: seen / objects per reader, status a / b."""
    universe = ra.seen.union(rb.seen, sort=False)
    if meta is not None:
        universe = pd.Index(meta.index, dtype=object).union(universe, sort=False)
    universe = pd.Index(pd.unique(universe.to_numpy(dtype=object)), dtype=object, name="image")
    pa = _positives(ra).reindex(universe, fill_value=0).to_numpy()
    pb = _positives(rb).reindex(universe, fill_value=0).to_numpy()
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


def _image_notes(ra: ReaderInput, rb: ReaderInput, meta: pd.DataFrame | None) -> list[str]:
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


def _image_level(images: pd.DataFrame, names: tuple[str, str]) -> dict[str, Any]:
    both = images["seen_a"].to_numpy() & images["seen_b"].to_numpy()
    pa = images["objects_a"].to_numpy() > 0
    pb = images["objects_b"].to_numpy() > 0
    a = int((both & pa & pb).sum())
    b = int((both & pa & ~pb).sum())
    c = int((both & ~pa & pb).sum())
    d = int((both & ~pa & ~pb).sum())
    k = cohen_kappa([[d, c], [b, a]])  # categories ordered (negative, positive)
    sp = specific_agreement(a, b, c, d)
    only_a = images.index[images["seen_a"].to_numpy() & ~images["seen_b"].to_numpy()].tolist()
    only_b = images.index[~images["seen_a"].to_numpy() & images["seen_b"].to_numpy()].tolist()
    n = a + b + c + d
    return {
        "table": {"both_positive": a, "a_only_positive": b, "b_only_positive": c, "both_negative": d},
        "n": n,
        "positive_a": a + b,
        "positive_b": a + c,
        "prevalence_a": (a + b) / n if n else math.nan,
        "prevalence_b": (a + c) / n if n else math.nan,
        "raw_agreement": (a + d) / n if n else math.nan,
        "expected_agreement": k["pe"],
        "kappa": k["kappa"],
        "kappa_se": k["se"],
        "kappa_ci95": k["ci"],
        "kappa_reason": k["reason"],
        "positive_agreement": sp["positive"],
        "negative_agreement": sp["negative"],
        "positive_agreement_reason": sp["positive_reason"],
        "negative_agreement_reason": sp["negative_reason"],
        "images_only_a": only_a,
        "images_only_b": only_b,
        "reader_a": names[0],
        "reader_b": names[1],
    }


# --------------------------------------------------------------------------- instance


def _matched_flags(n_a: int, n_b: int, m: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    fa = np.zeros(n_a, dtype=bool)
    fb = np.zeros(n_b, dtype=bool)
    ok = m[m["label_match"]]
    fa[ok["ia"].to_numpy()] = True
    fb[ok["ib"].to_numpy()] = True
    return fa, fb


def _instance_row(n_a: int, n_b: int, m: pd.DataFrame) -> dict[str, Any]:
    ok = m[m["label_match"]]
    tp = int(len(ok))
    fn = n_a - tp
    fp = n_b - tp
    den = 2 * tp + fp + fn
    ious = ok["iou"].to_numpy()
    dice = 2 * ious / (1 + ious)
    return {
        "objects_a": n_a,
        "objects_b": n_b,
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "label_mismatch": int((~m["label_match"]).sum()),
        "f1": 2 * tp / den if den else math.nan,
        "mean_iou": float(ious.mean()) if tp else math.nan,
        "mean_dice": float(dice.mean()) if tp else math.nan,
    }


def _instance_table(ra, rb, geoms, thresholds, matches) -> pd.DataFrame:
    rows = []
    for g in geoms:
        for t in thresholds:
            rows.append({"geometry": g, "iou": t, **_instance_row(int(ra.tables[g]["both_read"].sum()), int(rb.tables[g]["both_read"].sum()), matches[(g, t)])})
    cols = ["geometry", "iou", "objects_a", "objects_b", "tp", "fn", "fp", "label_mismatch", "f1", "mean_iou", "mean_dice"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- breakdowns


def size_class(area: np.ndarray) -> np.ndarray:
    """COCO size class of pixel areas: ``small`` < 32^2 <= ``medium`` < 96^2 <= ``large``."""
    area = np.asarray(area, dtype=np.float64)
    out = np.full(len(area), "large", dtype=object)
    out[area < SIZE_THRESHOLDS[1]] = "medium"
    out[area < SIZE_THRESHOLDS[0]] = "small"
    return out


def _group_instance(by: str, group: str, g: str, t: float, in_a: np.ndarray, in_b: np.ndarray, fa: np.ndarray, fb: np.ndarray) -> dict[str, Any]:
    n_a = int(in_a.sum())
    n_b = int(in_b.sum())
    ma = int((in_a & fa).sum())
    mb = int((in_b & fb).sum())
    den = n_a + n_b
    return {
        "by": by,
        "group": group,
        "geometry": g,
        "iou": t,
        "objects_a": n_a,
        "objects_b": n_b,
        "matched_a": ma,
        "matched_b": mb,
        "fn": n_a - ma,
        "fp": n_b - mb,
        # 2TP/(2TP+FP+FN) with TP counted from each side: (matched_a + matched_b) / (n_a + n_b)
        "f1": (ma + mb) / den if den else math.nan,
    }


def _breakdowns(ra, rb, geoms, thresholds, matches, images, meta) -> dict[str, pd.DataFrame]:
    # group membership as a boolean per row of ``images`` (one hash lookup per image)
    groups: list[tuple[str, str, np.ndarray]] = []
    if meta is not None:
        pos = meta.index.get_indexer(images.index)
        for by, cols in (("body part", BODY_PARTS), ("view", VIEWS)):
            for c in cols:
                if c in meta.columns:
                    flag = pd.to_numeric(meta[c], errors="coerce").fillna(0).to_numpy() == 1
                    groups.append((by, c, np.where(pos >= 0, flag[np.clip(pos, 0, None)], False)))
    img_rows = []
    for by, group, member in groups:
        sub = images[member]
        lvl = _image_level(sub, (ra.name, rb.name))
        img_rows.append(
            {
                "by": by,
                "group": group,
                "images": lvl["n"],
                **lvl["table"],
                "raw_agreement": lvl["raw_agreement"],
                "kappa": lvl["kappa"],
                "positive_agreement": lvl["positive_agreement"],
                "negative_agreement": lvl["negative_agreement"],
            }
        )
    img_cols = ["by", "group", "images", "both_positive", "a_only_positive", "b_only_positive", "both_negative", "raw_agreement", "kappa", "positive_agreement", "negative_agreement"]
    inst_rows = []
    for g in geoms:
        ta, tb = ra.tables[g], rb.tables[g]
        sa = size_class(ta["area"].to_numpy())
        sb = size_class(tb["area"].to_numpy())
        ra_both = ta["both_read"].to_numpy(dtype=bool)
        rb_both = tb["both_read"].to_numpy(dtype=bool)
        pa = images.index.get_indexer(ta["image"].to_numpy(dtype=object))
        pb = images.index.get_indexer(tb["image"].to_numpy(dtype=object))
        for t in thresholds:
            fa, fb = _matched_flags(len(ta), len(tb), matches[(g, t)])
            for by, group, member in groups:
                inst_rows.append(_group_instance(by, group, g, t, member[pa] & ra_both, member[pb] & rb_both, fa, fb))
            for s in ("small", "medium", "large"):
                inst_rows.append(_group_instance("size", s, g, t, (sa == s) & ra_both, (sb == s) & rb_both, fa, fb))
    inst_cols = ["by", "group", "geometry", "iou", "objects_a", "objects_b", "matched_a", "matched_b", "fn", "fp", "f1"]
    return {"image_level": pd.DataFrame(img_rows, columns=img_cols), "instance": pd.DataFrame(inst_rows, columns=inst_cols)}


# --------------------------------------------------------------------------- disagreements


def _disagreements(ra, rb, geoms, thresholds, pairs, matches, images, names) -> pd.DataFrame:
    lo, hi = thresholds[0], thresholds[-1]
    parts: list[pd.DataFrame] = []
    na, nb = names
    # image level
    sa, sb = images["seen_a"].to_numpy(), images["seen_b"].to_numpy()
    oa, ob = images["objects_a"].to_numpy(), images["objects_b"].to_numpy()
    idx = images.index.to_numpy(dtype=object)
    only_a = sa & ~sb
    only_b = ~sa & sb
    mism = sa & sb & ((oa > 0) != (ob > 0))
    if only_a.any():
        parts.append(_rows(idx[only_a], "image-only-in-a", message=[f"only {na} read this image ({k} object(s)); {nb} never saw it" for k in oa[only_a]]))
    if only_b.any():
        parts.append(_rows(idx[only_b], "image-only-in-b", message=[f"only {nb} read this image ({k} object(s)); {na} never saw it" for k in ob[only_b]]))
    if mism.any():
        msg = [
            f"{na} marked {x} fracture(s), {nb} none" if x > 0 else f"{nb} marked {y} fracture(s), {na} none"
            for x, y in zip(oa[mism], ob[mism])
        ]
        parts.append(_rows(idx[mism], "image-level-mismatch", message=msg))
    for g in geoms:
        ta, tb = ra.tables[g], rb.tables[g]
        p = pairs[g]
        m = matches[(g, lo)]
        best_a = np.zeros(len(ta))
        best_b = np.zeros(len(tb))
        if len(p):
            np.maximum.at(best_a, p["ia"].to_numpy(), p["iou"].to_numpy())
            np.maximum.at(best_b, p["ib"].to_numpy(), p["iou"].to_numpy())
        used_a = np.zeros(len(ta), dtype=bool)
        used_b = np.zeros(len(tb), dtype=bool)
        used_a[m["ia"].to_numpy()] = True
        used_b[m["ib"].to_numpy()] = True
        # only objects on images both readers saw: the rest is in the image-only rows
        for t, used, best, side, kind, other in ((ta, used_a, best_a, "a", "missing-in-b", nb), (tb, used_b, best_b, "b", "missing-in-a", na)):
            miss = np.flatnonzero(~used & t["both_read"].to_numpy(dtype=bool))
            if not len(miss):
                continue
            cols = {
                f"label_{side}": t["label"].to_numpy(dtype=object)[miss],
                f"object_{side}": t["object"].to_numpy()[miss],
                f"ref_{side}": t["ref"].to_numpy(dtype=object)[miss],
                f"area_{side}": t["area"].to_numpy()[miss],
            }
            msg = [f"{other} has no matching {g} (best IoU {v:.2f} < {lo:g})" for v in best[miss]]
            parts.append(_rows(t["image"].to_numpy(dtype=object)[miss], kind, geometry=g, iou=best[miss], message=msg, **cols))
        for kind, sel in (("label-mismatch", ~m["label_match"].to_numpy()), ("low-overlap", m["label_match"].to_numpy() & (m["iou"].to_numpy() < hi))):
            sub = m[sel]
            if not len(sub):
                continue
            ia, ib = sub["ia"].to_numpy(), sub["ib"].to_numpy()
            la, lb = ta["label"].to_numpy(dtype=object)[ia], tb["label"].to_numpy(dtype=object)[ib]
            if kind == "label-mismatch":
                msg = [f"{na} says {x!r}, {nb} says {y!r} (IoU {v:.2f})" for x, y, v in zip(la, lb, sub["iou"])]
            else:
                plural = "masks" if g == "mask" else "boxes"
                msg = [f"{plural} overlap with IoU {v:.2f} < {hi:g}" for v in sub["iou"]]
            parts.append(
                _rows(
                    sub["image"].to_numpy(dtype=object), kind, geometry=g, iou=sub["iou"].to_numpy(), label_a=la, label_b=lb,
                    object_a=ta["object"].to_numpy()[ia], object_b=tb["object"].to_numpy()[ib],
                    ref_a=ta["ref"].to_numpy(dtype=object)[ia], ref_b=tb["ref"].to_numpy(dtype=object)[ib],
                    area_a=ta["area"].to_numpy()[ia], area_b=tb["area"].to_numpy()[ib], message=msg,
                )
            )
    if not parts:
        return _rows(np.empty(0, dtype=object), "low-overlap").iloc[0:0]
    out = pd.concat(parts, ignore_index=True)
    rank = out["kind"].map({k: i for i, k in enumerate(DISAGREEMENT_KINDS)}).to_numpy()
    size = np.fmax(out["area_a"].to_numpy(dtype=np.float64), out["area_b"].to_numpy(dtype=np.float64))
    order = np.lexsort((out["image"].to_numpy(dtype=str), -np.nan_to_num(size, nan=0.0), np.nan_to_num(out["iou"].to_numpy(dtype=np.float64), nan=-1.0), rank))
    out = out.iloc[order].reset_index(drop=True)
    out["object_a"] = pd.array(out["object_a"].to_numpy(dtype=object, na_value=None), dtype="Int64")
    out["object_b"] = pd.array(out["object_b"].to_numpy(dtype=object, na_value=None), dtype="Int64")
    return out


def _rows(images: np.ndarray, kind: str, **cols: Any) -> pd.DataFrame:
    n = len(images)
    data: dict[str, Any] = {"image": np.asarray(images, dtype=object), "kind": np.full(n, kind, dtype=object)}
    for c in DISAGREEMENT_COLUMNS[2:]:
        v = cols.get(c)
        if c in ("iou", "area_a", "area_b"):
            data[c] = np.full(n, np.nan) if v is None else np.asarray(v, dtype=np.float64)
        else:
            arr = np.empty(n, dtype=object)
            arr[:] = [v] * n if (v is None or isinstance(v, str)) else list(v)
            data[c] = arr
    return pd.DataFrame(data, columns=DISAGREEMENT_COLUMNS)
