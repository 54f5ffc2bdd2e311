"""What a conversion changed or could not carry, object by object, and the manifest.

Every change is a row: ``kind``, ``lossy``, ``image``, ``file``, ``loc``, ``ann_id``,
``message``. Lossy rows make :func:`fracatlas_annot.convert.convert` refuse to write
unless ``allow_lossy`` is given (naming each case); the others are only recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import LossyConversionError
from ..runtime.jsonsafe import plain

__all__ = ["CHANGE_KINDS", "Recorder", "write_manifest"]

#: Change kinds, whether they lose information, and what they mean.
CHANGE_KINDS: dict[str, tuple[bool, str]] = {
    "vertex-clamped": (False, "polygon vertices moved onto the image border (at most 0.5 px)"),
    "vertex-clamped-far": (True, "polygon vertices moved onto the image border by more than 0.5 px"),
    "box-clamped": (False, "box edges moved onto the image border (at most 0.5 px)"),
    "box-clamped-far": (True, "box edges moved onto the image border by more than 0.5 px"),
    "vertices-merged": (False, "repeated consecutive vertices (after rounding to 1e-6) written once"),
    "multipart-bridged": (False, "an object drawn as several polygons joined by zero-width bridges"),
    "multipart-split": (False, "an object drawn as several polygons written as one instance per part"),
    "multipart-largest": (True, "an object drawn as several polygons reduced to its largest part"),
    "hole-dropped": (True, "a polygon hole that the target format cannot hold was filled"),
    "rle-to-polygon": (True, "an RLE mask traced into polygons (pixel-centre contours)"),
    "box-as-polygon": (True, "an object without a polygon written as its box rectangle in a segment set"),
    "polygon-dropped": (True, "a degenerate polygon (< 3 distinct vertices or no area) that cannot be written"),
    "object-dropped": (True, "an object that cannot be written at all"),
    "duplicate-removed": (False, "an object whose written line repeats another one on the same image"),
    "iscrowd-cleared": (True, "a crowd annotation (iscrowd 1) written as an ordinary object: the target has no crowd flag"),
    "label-renamed": (True, "a label name changed to satisfy the target format"),
    "image-missing": (False, "an image with no file on disk: labels written, image not linked"),
    "jpeg-trimmed": (False, "a JPEG padded after its end-of-image marker written cut at the marker (the same pixels), so "
                           "that Ultralytics does not call it corrupt and re-encode it"),
    "image-truncated": (False, "a JPEG the decoder cannot finish, linked as it is: Ultralytics skips it and its labels "
                              "(validate reports it as FA502)"),
    "image-size-unknown": (True, "an image whose size is unknown: its objects cannot be normalised"),
    "exif-frame-rotated": (False, "an object drawn on the stored pixels of an EXIF-rotated image (the source declares the "
                                  "stored size, as LabelImg does) turned into the displayed frame that Ultralytics reads"),
    "split-moved": (False, "an image moved to another split to keep a duplicate group together"),
    "read-problem": (True, "something the reader reported as unreadable (a bad line, an unsupported shape, unsafe XML, "
                           "an orphan annotation, an unreadable file): what it held is not in the output"),
}

CHANGE_COLUMNS = ["kind", "lossy", "image", "file", "loc", "ann_id", "message"]


class Recorder:
    """Collects change rows (vectorised: one call per kind, many objects)."""

    def __init__(self) -> None:
        self._frames: list[pd.DataFrame] = []

    def add(self, kind: str, objects: pd.DataFrame | None = None, messages: Any = "", *, image: Any = None) -> None:
        """Record ``kind`` for each row of ``objects`` (or for each ``image`` key when no objects)."""
        lossy = CHANGE_KINDS[kind][0]
        if objects is not None:
            n = len(objects)
            if n == 0:
                return
            frame = pd.DataFrame(
                {
                    "image": objects["image"].to_numpy(dtype=object),
                    "file": objects["file"].to_numpy(dtype=object) if "file" in objects else None,
                    "loc": objects["loc"].to_numpy(dtype=object) if "loc" in objects else None,
                    "ann_id": objects["ann_id"].to_numpy(dtype=object) if "ann_id" in objects else None,
                }
            )
        else:
            keys = np.atleast_1d(np.asarray(image, dtype=object))
            n = len(keys)
            if n == 0:
                return
            frame = pd.DataFrame({"image": keys, "file": None, "loc": None, "ann_id": None})
        frame.insert(0, "lossy", lossy)
        frame.insert(0, "kind", kind)
        msg = np.asarray(messages, dtype=object)
        frame["message"] = np.broadcast_to(msg, (n,)) if msg.ndim == 0 else msg
        self._frames.append(frame.astype({c: object for c in CHANGE_COLUMNS if c != "lossy"}))

    def keep_kinds(self, kinds: set[str]) -> None:
        """Forget every recorded row whose kind is not in ``kinds``."""
        self._frames = [f[f["kind"].isin(kinds)] for f in self._frames]
        self._frames = [f for f in self._frames if len(f)]

    def frame(self) -> pd.DataFrame:
        if not self._frames:
            return pd.DataFrame({c: pd.Series([], dtype=bool if c == "lossy" else object) for c in CHANGE_COLUMNS})
        return pd.concat(self._frames, ignore_index=True)

    def lossy_cases(self) -> list[str]:
        frame = self.frame()
        frame = frame[frame["lossy"].astype(bool)]
        return [_case_text(r) for r in frame.to_dict("records")]

    def raise_if_lossy(self, allow_lossy: bool) -> None:
        cases = self.lossy_cases()
        if cases and not allow_lossy:
            kinds = self.frame().query("lossy")["kind"].value_counts()
            summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
            raise LossyConversionError(f"conversion would lose information ({summary})", cases)

    def records(self) -> list[dict[str, Any]]:
        return [{k: plain(v) for k, v in r.items()} for r in self.frame().to_dict("records")]

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame()["kind"].value_counts().sort_index().items()}


def _case_text(row: dict[str, Any]) -> str:
    where = " ".join(str(x) for x in (row.get("file"), row.get("loc")) if plain(x) is not None)
    head = f"{row['image']}" + (f" ({where})" if where else "")
    return f"{head}: {row['kind']}: {row['message']}"


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Write the manifest as indented UTF-8 JSON."""
    Path(path).write_text(json.dumps(manifest, indent=1, ensure_ascii=False, default=plain) + "\n", encoding="utf-8")


def counts_by(frame: pd.DataFrame, by: Iterable[str]) -> dict[str, Any]:
    """Nested ``{a: {b: n}}`` counts of ``frame`` grouped by ``by`` columns."""
    by = list(by)
    if not len(frame):
        return {}
    vc = frame.groupby(by, sort=True, dropna=False).size()
    out: dict[str, Any] = {}
    for key, n in vc.items():
        key = key if isinstance(key, tuple) else (key,)
        d = out
        for k in key[:-1]:
            d = d.setdefault(str(k), {})
        d[str(key[-1])] = int(n)
    return out
