"""A consensus of two readers, as a new :class:`~fracatlas_annot.model.Source`.

Matched pairs (same label, IoU at or above the consensus threshold) become one object:

========== ==================================== =====================================
method     boxes                                polygons
========== ==================================== =====================================
intersect  overlap of the two boxes             shapely intersection of the shapes
union      smallest box holding both            shapely union of the shapes
mean       corner-wise mean of the two boxes    (box only: the result has no polygons)
prefer-a   reader A's object                    reader A's shape
prefer-b   reader B's object                    reader B's shape
========== ==================================== =====================================

Objects only one reader drew (and pairs matched across labels) follow ``unmatched``:
``keep`` puts them in the consensus as they are, ``drop`` leaves them out (counted in
``meta["dropped"]``), ``queue`` leaves them out and lists them in ``meta["queue"]`` for the
senior reader. Every object records in its ``readers`` column who drew it
(``"reader-1,reader-2"`` for a pair). The images list holds every image of the agreement
(negatives included), so a converter writes empty label files for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ..errors import UsageError
from ..model import Source, make_objects, make_source_images

if TYPE_CHECKING:  # pragma: no cover
    from .result import AgreementResult

__all__ = ["METHODS", "QUEUE_COLUMNS", "UNMATCHED", "build_consensus", "consensus_summary"]

METHODS: tuple[str, ...] = ("intersect", "union", "mean", "prefer-a", "prefer-b")
UNMATCHED: tuple[str, ...] = ("keep", "drop", "queue")

QUEUE_COLUMNS: list[str] = ["image", "reader", "label", "object", "ref", "reason", "x0", "y0", "x1", "y1", "geometry"]


def build_consensus(
    result: "AgreementResult",
    *,
    method: str = "intersect",
    unmatched: str = "keep",
    iou: float | None = None,
    geometry: str | None = None,
    name: str = "consensus",
) -> Source:
    """Build the consensus Source of an :class:`~fracatlas_annot.agreement.AgreementResult`
    (called by :meth:`AgreementResult.consensus <fracatlas_annot.agreement.AgreementResult.consensus>`).

    Args:
        method: ``intersect``, ``union``, ``mean``, ``prefer-a`` or ``prefer-b`` (see the module docstring).
        unmatched: ``keep``, ``drop`` or ``queue`` for objects only one reader drew.
        iou: the IoU threshold that makes two objects a pair; default: the lowest threshold
            of the agreement (the readers marked the same fracture, with different extents).
        geometry: ``mask`` (polygons, the default when both readers have them) or ``box``.
        name: the new source's name.

    Returns:
        A Source with format ``consensus``; polygon geometry unless ``geometry="box"`` or
        ``method="mean"``. ``meta`` holds method, unmatched, iou, matched_on, readers, counts and queue.
    """
    if method not in METHODS:
        raise UsageError(f"consensus method must be one of {', '.join(METHODS)}, got {method!r}")
    if unmatched not in UNMATCHED:
        raise UsageError(f"unmatched must be one of {', '.join(UNMATCHED)}, got {unmatched!r}")
    if result.readers is None or result.images is None:
        raise UsageError("this AgreementResult carries no reader tables (was it built by agree()?)")
    if geometry is None:
        geometry = "mask" if "mask" in result.geometries else "box"
    if geometry not in result.geometries:
        raise UsageError(f"no {geometry} agreement to build a consensus from (have: {', '.join(result.geometries) or 'none'})")
    t = float(iou) if iou is not None else result.thresholds[0]
    m = result.match(geometry, t)
    ra, rb = result.readers
    ta, tb = ra.tables[geometry], rb.tables[geometry]
    na, nb = result.names
    ok = m[m["label_match"].to_numpy()]
    ia = ok["ia"].to_numpy()
    ib = ok["ib"].to_numpy()
    polygons = geometry == "mask" and method != "mean"

    box_a = ta[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ia]
    box_b = tb[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ib]
    geo = np.full(len(ok), None, dtype=object)
    if method == "intersect":
        box = np.concatenate([np.maximum(box_a[:, :2], box_b[:, :2]), np.minimum(box_a[:, 2:], box_b[:, 2:])], axis=1)
    elif method == "union":
        box = np.concatenate([np.minimum(box_a[:, :2], box_b[:, :2]), np.maximum(box_a[:, 2:], box_b[:, 2:])], axis=1)
    elif method == "mean":
        box = (box_a + box_b) / 2.0
    elif method == "prefer-a":
        box = box_a
    else:
        box = box_b
    if polygons and len(ok):
        ga = ta["geometry"].to_numpy(dtype=object)[ia]
        gb = tb["geometry"].to_numpy(dtype=object)[ib]
        if method == "intersect":
            geo = _polygonal(shapely.intersection(ga, gb))
        elif method == "union":
            geo = _polygonal(shapely.union(ga, gb))
        elif method == "prefer-a":
            geo = ga.copy()
        else:
            geo = gb.copy()
        box = np.asarray(shapely.bounds(geo), dtype=np.float64).reshape(-1, 4)
    label = ta["label"].to_numpy(dtype=object)[ia] if method != "prefer-b" else tb["label"].to_numpy(dtype=object)[ib]
    pair_origin = [f"{na}: {x}; {nb}: {y}" for x, y in zip(ta["ref"].to_numpy(dtype=object)[ia], tb["ref"].to_numpy(dtype=object)[ib])]
    paired = {
        "image": ok["image"].to_numpy(dtype=object),
        "label": label,
        "box": box,
        "geometry": geo,
        "readers": np.full(len(ok), f"{na},{nb}", dtype=object),
        "origin": np.asarray(pair_origin, dtype=object),
        "iou": ok["iou"].to_numpy(dtype=np.float64),
    }

    # objects only one reader drew (or matched across labels), on images both readers saw
    images = result.images
    both = pd.Series(images["seen_a"].to_numpy() & images["seen_b"].to_numpy(), index=images.index)
    used_a = np.zeros(len(ta), dtype=bool)
    used_b = np.zeros(len(tb), dtype=bool)
    used_a[ia] = True
    used_b[ib] = True
    lone_a = np.flatnonzero(~used_a)
    lone_b = np.flatnonzero(~used_b)
    mism_a = set(m.loc[~m["label_match"].to_numpy(), "ia"].tolist())
    mism_b = set(m.loc[~m["label_match"].to_numpy(), "ib"].tolist())
    lone = []
    for table, idx, reader, mism, other in ((ta, lone_a, na, mism_a, nb), (tb, lone_b, nb, mism_b, na)):
        seen_both = both.reindex(table["image"].to_numpy(dtype=object)[idx], fill_value=False).to_numpy()
        reason = np.where(
            np.isin(idx, list(mism)), "label-mismatch", np.where(seen_both, f"missing-in-{'b' if reader == na else 'a'}", f"only {reader} read the image")
        )
        lone.append(
            pd.DataFrame(
                {
                    "image": table["image"].to_numpy(dtype=object)[idx],
                    "reader": reader,
                    "label": table["label"].to_numpy(dtype=object)[idx],
                    "object": table["object"].to_numpy()[idx],
                    "ref": table["ref"].to_numpy(dtype=object)[idx],
                    "reason": reason.astype(object),
                    "x0": table["x0"].to_numpy()[idx],
                    "y0": table["y0"].to_numpy()[idx],
                    "x1": table["x1"].to_numpy()[idx],
                    "y1": table["y1"].to_numpy()[idx],
                    "geometry": table["geometry"].to_numpy(dtype=object)[idx] if polygons else np.full(len(idx), None, dtype=object),
                },
                columns=QUEUE_COLUMNS,
            )
        )
    lone_frame = pd.concat(lone, ignore_index=True)

    parts = [paired]
    if unmatched == "keep" and len(lone_frame):
        parts.append(
            {
                "image": lone_frame["image"].to_numpy(dtype=object),
                "label": lone_frame["label"].to_numpy(dtype=object),
                "box": lone_frame[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64),
                "geometry": lone_frame["geometry"].to_numpy(dtype=object),
                "readers": lone_frame["reader"].to_numpy(dtype=object),
                "origin": np.asarray([f"{r}: {x}" for r, x in zip(lone_frame["reader"], lone_frame["ref"])], dtype=object),
                "iou": np.full(len(lone_frame), np.nan),
            }
        )
    cols = {k: np.concatenate([p[k] for p in parts]) if k != "box" else np.concatenate([p["box"].reshape(-1, 4) for p in parts]) for k in parts[0]}
    keep = np.ones(len(cols["image"]), dtype=bool)
    if polygons:
        empty = shapely.is_empty(cols["geometry"]) | shapely.is_missing(cols["geometry"])
        keep &= ~empty  # an intersection can vanish only at IoU 0; never for a matched pair
    labels = _labels(ra.labels, rb.labels, cols["label"])
    order = np.lexsort((cols["box"][:, 1], cols["box"][:, 0], cols["image"].astype(str)))
    order = order[keep[order]]
    label_index = {lb: i for i, lb in enumerate(labels)}
    objects = make_objects(
        {
            "image": cols["image"][order],
            "label": cols["label"][order],
            "class_id": [label_index.get(lb) for lb in cols["label"][order]],
            "x0": cols["box"][order, 0],
            "y0": cols["box"][order, 1],
            "x1": cols["box"][order, 2],
            "y1": cols["box"][order, 3],
            "geometry": cols["geometry"][order],
            "file": None,
            "loc": [f"consensus[{i}]" for i in range(len(order))],
            "readers": cols["readers"][order],
            "origin": cols["origin"][order],
            "agreement_iou": cols["iou"][order],
        }
    )
    objects["agreement_iou"] = objects["agreement_iou"].astype(np.float64)
    src_images = make_source_images(
        list(images.index),
        width=images["width"].to_numpy(dtype=object, na_value=None),
        height=images["height"].to_numpy(dtype=object, na_value=None),
    )
    meta: dict[str, Any] = {
        "method": method,
        "unmatched": unmatched,
        "iou": t,
        "matched_on": geometry,  # the geometry whose IoU paired the objects
        "readers": [na, nb],
        "pairs": int(len(ok)),
        "kept_unmatched": int(len(lone_frame)) if unmatched == "keep" else 0,
        "dropped": int(len(lone_frame)) if unmatched == "drop" else 0,
        "queued": int(len(lone_frame)) if unmatched == "queue" else 0,
        "queue": lone_frame if unmatched == "queue" else lone_frame.iloc[0:0],
    }
    return Source(
        name=name,
        format="consensus",
        objects=objects,
        images=src_images,
        labels=labels,
        label_ids={i: lb for i, lb in enumerate(labels)},
        geometry="polygon" if polygons else "box",
        path=None,
        meta=meta,
    )


def consensus_summary(src: Source) -> dict[str, Any]:
    """A consensus Source in a few numbers (name, geometry, objects, images, objects per
    reader combination) with its ``meta`` except the queue: the ``consensus`` entry of
    ``agreement.json`` and of ``agree --json``."""
    meta = {k: v for k, v in src.meta.items() if k != "queue"}
    return {
        "name": src.name,
        "geometry": src.geometry,
        "objects": int(len(src.objects)),
        "images": int(len(src.images)),
        "by_readers": {str(k): int(v) for k, v in src.objects["readers"].value_counts().items()},
        **meta,
    }


def _labels(a: list[str], b: list[str], used: np.ndarray) -> list[str]:
    out: list[str] = []
    for lb in list(a) + list(b) + [x for x in pd.unique(pd.Series(used, dtype=object).dropna())]:
        if lb is not None and lb not in out:
            out.append(lb)
    return out


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygon parts of set-operation results (drop touching lines / points)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    tid = shapely.get_type_id(geoms)
    odd = np.flatnonzero((tid != 3) & (tid != 6))  # not Polygon / MultiPolygon
    for i in odd:
        parts = shapely.get_parts(geoms[i])
        polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
        flat = []
        for p in polys:
            flat.extend(shapely.get_parts(p))
        if not flat:
            geoms[i] = shapely.Polygon()
        elif len(flat) == 1:
            geoms[i] = flat[0]
        else:
            geoms[i] = shapely.MultiPolygon(flat)
    return geoms
