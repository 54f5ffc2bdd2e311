"""The adjudication queue: every disagreement of the two readers, worst first, and the
files the senior reader works from.

Reader A is the first argument of :func:`~fracatlas_annot.agreement.agree`, reader B the
second. An object of A that B lacks is ``missing-in-b`` (counted as FN), an object of B
that A lacks is ``missing-in-a`` (FP). :func:`write_adjudication` writes, each file
atomically: ``disagreements.csv`` and ``disagreements.json`` (the queue),
``agreement.json`` (every table), and with a consensus ``consensus-queue.csv`` (objects
left for the senior reader) and ``consensus/`` (COCO JSON written by ``convert``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from ..runtime.atomic import write_text_atomic

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Source
    from .inputs import ReaderInput
    from .result import AgreementResult

__all__ = ["DISAGREEMENT_COLUMNS", "DISAGREEMENT_KINDS", "disagreement_counts", "disagreements", "write_adjudication"]

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


def disagreements(
    ra: "ReaderInput",
    rb: "ReaderInput",
    geoms: Sequence[str],
    thresholds: Sequence[float],
    pairs: dict[str, pd.DataFrame],
    matches: dict[tuple[str, float], pd.DataFrame],
    images: pd.DataFrame,
    names: Sequence[str],
) -> pd.DataFrame:
    """The adjudication queue (:data:`DISAGREEMENT_COLUMNS`), one row per conflict, sorted by
    kind (:data:`DISAGREEMENT_KINDS`), then IoU ascending, then object size descending.

    Objects are matched at the lowest threshold; matched pairs under the highest one are
    ``low-overlap``.
    """
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
    return queue_rows(images, kind, DISAGREEMENT_COLUMNS, ("iou", "area_a", "area_b"), **cols)


def queue_rows(images: np.ndarray, kind: str, columns: Sequence[str], floats: Sequence[str], **cols: Any) -> pd.DataFrame:
    """Rows of a queue frame with ``columns`` (``image``, ``kind``, then the others): one row
    per image, each other column a scalar for every row or one value per row (``floats``
    as float64, NaN when absent; the rest as objects, None when absent)."""
    n = len(images)
    data: dict[str, Any] = {"image": np.asarray(images, dtype=object), "kind": np.full(n, kind, dtype=object)}
    for c in columns[2:]:
        v = cols.get(c)
        if c in floats:
            data[c] = np.full(n, np.nan) if v is None else np.asarray(v, dtype=np.float64)
        else:
            arr = np.empty(n, dtype=object)
            arr[:] = [v] * n if (v is None or isinstance(v, str)) else list(v)
            data[c] = arr
    return pd.DataFrame(data, columns=list(columns))


def disagreement_counts(d: pd.DataFrame) -> dict[str, int]:
    """Rows of an adjudication queue per kind (and geometry where it applies), worst kind first."""
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


# --------------------------------------------------------------------------- files


def write_adjudication(out: str | Path, result: "AgreementResult", consensus: "Source | None" = None) -> list[str]:
    """Write the adjudication files of ``result`` into the folder ``out`` (created if needed).

    Returns the paths written, in order: ``disagreements.csv``, ``disagreements.json``,
    ``agreement.json`` (``result.to_dict`` with the consensus summary), with a model
    ``model-queue.csv`` and ``model-queue.json`` (:meth:`ModelAgreement.write
    <fracatlas_annot.agreement.thirdreader.ModelAgreement.write>`), and with a
    consensus ``consensus-queue.csv`` (when objects were queued) and the ``consensus``
    folder (COCO JSON through :func:`fracatlas_annot.convert.convert`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    data = result.to_dict(consensus=consensus)
    write_text_atomic(out / "disagreements.csv", result.disagreements.to_csv(index=False))
    written.append(str(out / "disagreements.csv"))
    write_text_atomic(out / "disagreements.json", json.dumps(data["disagreements"], indent=1, ensure_ascii=False))
    written.append(str(out / "disagreements.json"))
    write_text_atomic(out / "agreement.json", json.dumps(data, indent=1, ensure_ascii=False))
    written.append(str(out / "agreement.json"))
    if result.model is not None:
        written += result.model.write(out)
    if consensus is not None:
        queue = consensus.meta.get("queue")
        if queue is not None and len(queue):
            write_text_atomic(out / "consensus-queue.csv", queue.drop(columns=["geometry"]).to_csv(index=False))
            written.append(str(out / "consensus-queue.csv"))
        from ..convert import (
            convert,  # the one COCO writer (convert sits beside agreement)
        )

        target = out / "consensus"
        convert(consensus, to="coco", out=target, overwrite=True, progress=False)
        written.append(str(target))
    return written
