"""A model's predictions, read as a third reader's objects with a confidence ``score``.

Three inputs, all read here (a prediction file is not an annotation export: it carries a
confidence per object, and an image without detections is simply absent):

* **Ultralytics prediction files** (``yolo predict save_txt=True save_conf=True``): a
  ``labels/`` folder (or the run folder holding it) of one ``<stem>.txt`` per image, a line
  per detection: ``class cx cy w h conf`` for a detect model, ``class x1 y1 ... xn yn conf``
  for a segment model, coordinates normalised to the image. A line without the confidence
  column (an odd number of fields) scores 1.0, with a note. The image sizes come from the
  images beside the ``labels/`` folder (Ultralytics saves its drawings there, at the
  original size), from ``images`` (a folder of images or a COCO JSON), or from the sizes
  the readers' exports declare (``sizes``).
* **A COCO results JSON**: a list of ``{"image_id", "category_id", "bbox": [x, y, w, h]
  and/or "segmentation": [[x1, y1, ...], ...], "score"}`` in pixels. ``image_id`` is
  resolved through the ``images[]`` of a COCO file given as ``images`` (its categories name
  the ``category_id``), or is a file name; ``category_id`` without a COCO file is class + 1
  (the convention of ``fracatlas-annot predict``). RLE masks are not decoded: such a
  detection counts with its box only (noted).
* **What ``fracatlas-annot predict`` writes**: its folder or its ``predictions.json``, a
  COCO results list whose records also name ``file_name`` and ``category_name``.

A prediction's label is its class name when the input names it, else the readers' label
of the class index (``labels``), else ``class N``. Every malformed line or record is an
:class:`~fracatlas_annot.errors.InputError` naming the file and the line or record index.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, UsageError
from ..formats._files import stem_of as _stem

__all__ = ["PREDICTION_COLUMNS", "Predictions", "read_predictions"]

PREDICTION_COLUMNS: list[str] = ["image", "label", "class_id", "score", "x0", "y0", "x1", "y1", "geometry", "ref"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Predictions:
    """A model's detections: one row per object (:data:`PREDICTION_COLUMNS`, pixels)."""

    objects: pd.DataFrame
    kind: str  # "ultralytics", "coco-results" or "fracatlas-predict"
    path: str
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.kind} predictions '{self.path}' ({len(self.objects)} detection(s))"


def read_predictions(
    path: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    sizes: pd.DataFrame | None = None,
    labels: Sequence[str] = (),
    keys: Sequence[str] = (),
) -> Predictions:
    """Read a predictions source (see the module docstring).

    Args:
        path: an Ultralytics run or ``labels/`` folder, a COCO results JSON, or the folder
            or ``predictions.json`` of ``fracatlas-annot predict``.
        images: a folder of the images predicted on, or a COCO JSON listing them (ids,
            file names, sizes, categories).
        sizes: declared ``width`` / ``height`` per image key (the readers' exports).
        labels: label names by class index.
        keys: the image keys of the readers, so that a prediction file's stem finds its image.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file or folder")
    coco_images, coco_labels, folder_sizes = _image_info(images)
    if p.is_dir():
        if (p / "predictions.json").is_file():
            return _read_results(p / "predictions.json", coco_images, coco_labels, labels, keys)
        label_dir = p / "labels" if (p / "labels").is_dir() else p
        beside = p if label_dir != p else p.parent
        known = _sizes_frame([folder_sizes, _folder_sizes(beside), sizes])
        return _read_ultralytics(label_dir, known, coco_images, labels, keys)
    if p.suffix.lower() == ".json":
        return _read_results(p, coco_images, coco_labels, labels, keys)
    raise InputError(p, "expected an Ultralytics labels folder, a COCO results JSON or the output folder of `fracatlas-annot predict`")


# --------------------------------------------------------------------------- images


def _image_info(images: Any) -> tuple[pd.DataFrame | None, dict[Any, str], pd.DataFrame | None]:
    """(COCO images table with ``coco_id``, COCO category names by id, sizes of an image folder)."""
    if images is None:
        return None, {}, None
    p = Path(images)
    if p.is_dir():
        return None, {}, _folder_sizes(p)
    if p.is_file() and p.suffix.lower() == ".json":
        from ..formats import coco

        src, problems = coco.read(p)
        if src is None or not len(src.images):
            why = problems[0].message if problems else "no images[] entries"
            raise InputError(p, f"cannot read the images of this COCO file: {why}")
        return src.images, dict(src.label_ids), src.images[["width", "height"]]
    raise InputError(p, "--images: expected a folder of images or a COCO JSON")


def _folder_sizes(folder: Path) -> pd.DataFrame | None:
    """Header sizes of the image files directly in ``folder`` (None when it holds none)."""
    if not folder.is_dir():
        return None
    files = sorted(e for e in folder.iterdir() if e.is_file() and e.name.lower().endswith(_IMAGE_SUFFIXES))
    if not files:
        return None
    from ..imaging.headers import read_headers

    head = read_headers(files)
    return pd.DataFrame(
        {"width": head["width"].to_numpy(dtype=object), "height": head["height"].to_numpy(dtype=object)},
        index=pd.Index([f.name for f in files], dtype=object),
    )


def _sizes_frame(parts: Sequence[pd.DataFrame | None]) -> pd.DataFrame:
    """The first known size per image key, over ``parts`` in order."""
    frames = []
    for f in parts:
        if f is None or not len(f):
            continue
        f = f[["width", "height"]].copy()
        f["width"] = pd.to_numeric(f["width"], errors="coerce")
        f["height"] = pd.to_numeric(f["height"], errors="coerce")
        frames.append(f.dropna())
    if not frames:
        return pd.DataFrame({"width": [], "height": []}, index=pd.Index([], dtype=object))
    out = pd.concat(frames)
    return out[~out.index.duplicated(keep="first")]


def _key_finder(keys: Sequence[str], extra: Sequence[str] = ()) -> dict[str, str]:
    """Image key by file name and by stem (first key wins)."""
    out: dict[str, str] = {}
    for k in list(keys) + list(extra):
        k = str(k)
        out.setdefault(k, k)
        out.setdefault(_stem(k), k)
    return out


def _label(cls: int, named: str | None, labels: Sequence[str]) -> str:
    if named:
        return named
    return labels[cls] if 0 <= cls < len(labels) else f"class {cls}"


# --------------------------------------------------------------------------- Ultralytics


def _read_ultralytics(
    folder: Path, sizes: pd.DataFrame, coco_images: pd.DataFrame | None, labels: Sequence[str], keys: Sequence[str]
) -> Predictions:
    files = sorted(e for e in folder.iterdir() if e.is_file() and e.suffix.lower() == ".txt")
    if not files:
        raise InputError(folder, "no prediction files (<image>.txt) in this folder")
    find = _key_finder(keys, list(sizes.index) + (list(coco_images.index) if coco_images is not None else []))
    rows: list[tuple] = []
    notes: list[str] = []
    no_conf = 0
    unsized: list[str] = []
    for f in files:
        key = find.get(f.stem, f.stem)
        try:
            text = f.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f, f"cannot read: {exc}") from None
        size = sizes.loc[key] if key in sizes.index else None
        for n, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"{f.name}:{n}"
            try:
                vals = [float(v) for v in parts]
            except ValueError:
                raise InputError(f, f"line {n}: expected numbers (class, coordinates, confidence), got {line.strip()[:60]!r}") from None
            if not all(math.isfinite(v) for v in vals) or vals[0] < 0 or vals[0] != int(vals[0]):
                raise InputError(f, f"line {n}: the class must be a whole number >= 0 and every value finite")
            if len(vals) % 2 == 0:
                coords, score = vals[1:-1], vals[-1]
            else:
                coords, score = vals[1:], 1.0
                no_conf += 1
            if not 0.0 <= score <= 1.0:
                raise InputError(f, f"line {n}: confidence {score:g} is outside [0, 1]")
            if len(coords) < 4:
                raise InputError(f, f"line {n}: {len(parts)} field(s); expected 'class cx cy w h conf' or 'class x1 y1 ... xn yn conf'")
            if size is None:
                unsized.append(key)
                continue
            w, h = float(size["width"]), float(size["height"])
            if len(coords) == 4:
                cx, cy, bw, bh = coords
                box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
                geom = None
            else:
                xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2) * (w, h)
                geom = shapely.Polygon(xy) if len(xy) >= 3 else None
                box = tuple(xy.min(axis=0)) + tuple(xy.max(axis=0))
            cls = int(vals[0])
            rows.append((key, _label(cls, None, labels), cls, score, *box, geom, where))
    if no_conf:
        notes.append(f"{no_conf} prediction line(s) have no confidence column (not written with save_conf): scored 1.0")
    if unsized:
        shown = ", ".join(sorted(set(unsized))[:5])
        notes.append(
            f"{len(unsized)} prediction(s) on {len(set(unsized))} image(s) of unknown size left out ({shown}): "
            "pass --images (the images folder or a COCO JSON) so that normalised coordinates can be placed"
        )
    return Predictions(_frame(rows), "ultralytics", str(folder), notes)


# --------------------------------------------------------------------------- COCO results


def _read_results(
    path: Path, coco_images: pd.DataFrame | None, coco_labels: dict[Any, str], labels: Sequence[str], keys: Sequence[str]
) -> Predictions:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, list):
        raise InputError(path, "expected a COCO results list ([{image_id, category_id, bbox, score}, ...])")
    by_id: dict[Any, str] = {}
    if coco_images is not None and "coco_id" in coco_images.columns:
        for k, cid in zip(coco_images.index, coco_images["coco_id"].to_numpy(dtype=object)):
            if cid is not None:
                by_id.setdefault(cid, str(k))
    find = _key_finder(keys, list(coco_images.index) if coco_images is not None else [])
    ours = bool(data) and all(isinstance(r, dict) and "file_name" in r for r in data)
    rows: list[tuple] = []
    rle = 0
    for i, rec in enumerate(data):
        where = f"{path.name} [{i}]"

        def bad(msg: str, i: int = i) -> InputError:
            return InputError(path, f"record [{i}]: {msg}")

        if not isinstance(rec, dict):
            raise bad("expected an object")
        score = rec.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
            raise bad(f"'score' must be a number in [0, 1], got {score!r}")
        if isinstance(rec.get("file_name"), str) and rec["file_name"]:
            name = rec["file_name"]
            key = find.get(name.replace("\\", "/").rsplit("/", 1)[-1]) or find.get(_stem(name), name)
        else:
            iid = rec.get("image_id")
            if iid is None or isinstance(iid, (bool, list, dict)):
                raise bad(f"'image_id' must be an id or a file name, got {iid!r}")
            if iid in by_id:
                key = by_id[iid]
            elif isinstance(iid, str):
                key = find.get(iid) or find.get(_stem(iid), iid)
            else:
                raise bad(f"image_id {iid!r} names no image: pass --images with the COCO JSON whose images[] ids these are")
        cat = rec.get("category_id")
        if isinstance(cat, bool) or not isinstance(cat, (int, float)) or cat != int(cat):
            raise bad(f"'category_id' must be a whole number, got {cat!r}")
        cat = int(cat)
        named = rec.get("category_name") if isinstance(rec.get("category_name"), str) else coco_labels.get(cat)
        geom = None
        seg = rec.get("segmentation")
        if isinstance(seg, dict):
            rle += 1
        elif isinstance(seg, list) and seg:
            rings = seg if isinstance(seg[0], list) else [seg]
            polys = []
            for ring in rings:
                if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2 or not all(_number(v) for v in ring):
                    raise bad("'segmentation' must be polygons [[x1, y1, x2, y2, ...], ...] of at least 3 points")
                polys.append(shapely.Polygon(np.asarray(ring, dtype=np.float64).reshape(-1, 2)))
            geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
        bbox = rec.get("bbox")
        if bbox is not None:
            if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
                raise bad(f"'bbox' must be [x, y, width, height], got {bbox!r}")
            x, y, w, h = (float(v) for v in bbox)
            box = (x, y, x + w, y + h)
        elif geom is not None:
            box = tuple(shapely.bounds(geom))
        else:
            raise bad("no 'bbox' and no polygon 'segmentation'")
        rows.append((key, _label(cat - 1, named, labels), cat - 1, float(score), *box, geom, where))
    notes = [f"{rle} detection(s) carry an RLE mask, not decoded: compared by their box only"] if rle else []
    return Predictions(_frame(rows), "fracatlas-predict" if ours else "coco-results", str(path), notes)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cols = PREDICTION_COLUMNS
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=np.float64 if c in ("score", "x0", "y0", "x1", "y1") else object) for c in cols})
    out = pd.DataFrame(rows, columns=cols)
    out["image"] = out["image"].astype(object)
    out["class_id"] = out["class_id"].astype(np.int64)
    for c in ("score", "x0", "y0", "x1", "y1"):
        out[c] = out[c].astype(np.float64)
    return out


def check_conf(conf: float, name: str = "--conf") -> float:
    """A confidence threshold in [0, 1]."""
    conf = float(conf)
    if not 0.0 <= conf <= 1.0:
        raise UsageError(f"{name}: a confidence threshold is in [0, 1], got {conf:g}")
    return conf
