"""FA8xx: two-reader agreement. These rules run when a dataset holds the exports of two
readers: sources named ``reader-*`` (``reader-1``, ``reader-2/coco`` ...) or sources whose
``meta["reader"]`` names the reader. All the work is :func:`fracatlas_annot.agreement.agree`
(computed once per context); the rules only turn its adjudication queue into findings.

Objects are compared on polygons when both readers have them, else on boxes, at the
lowest threshold (0.1: the readers marked the same fracture) and at the context's
``reader_iou_threshold`` (0.5: they drew it alike).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd

from ._findings import concat
from .registry import CheckContext, Severity, findings, rule

_READER_RE = re.compile(r"^(reader[-_ ]?[^/:]*)", re.IGNORECASE)
LOW_THRESHOLD = 0.1


def reader_groups(dataset: Any) -> dict[str, dict[str, Any]]:
    """Reader name -> {source name: Source} for the dataset's reader sources."""
    groups: dict[str, dict[str, Any]] = {}
    for name, src in dataset.sources.items():
        reader = src.meta.get("reader") if isinstance(src.meta, dict) else None
        if not reader:
            m = _READER_RE.match(name)
            reader = m.group(1) if m else None
        if reader:
            groups.setdefault(str(reader), {})[name] = src
    return groups


def _agreement(ctx: CheckContext) -> Any:
    """The AgreementResult of the two readers, or None when the dataset has not exactly two."""

    def compute() -> Any:
        from ..agreement import agree
        from ..model import Dataset

        groups = reader_groups(ctx.dataset)
        if len(groups) != 2:
            return None
        (na, sa), (nb, sb) = sorted(groups.items())
        thresholds = sorted({LOW_THRESHOLD, float(ctx.reader_iou_threshold)})
        ds = ctx.dataset
        meta = ds if ds.has_csv else None
        # findings name sources by their key in the dataset ("reader-1/coco")
        sa = {k: dataclasses.replace(v, name=k) for k, v in sa.items()}
        sb = {k: dataclasses.replace(v, name=k) for k, v in sb.items()}
        return agree(Dataset(sources=sa), Dataset(sources=sb), names=(na, nb), iou=thresholds, geometry="both", meta=meta)

    return ctx.shared("readers.agreement", compute)


def _rows(ctx: CheckContext, kinds: tuple[str, ...]) -> tuple[Any, pd.DataFrame]:
    result = _agreement(ctx)
    if result is None:
        return None, pd.DataFrame()
    d = result.disagreements
    primary = result.geometries[0] if result.geometries else None  # "mask" first when analysed
    sel = d["kind"].isin(kinds).to_numpy() & (d["geometry"].isna().to_numpy() | (d["geometry"] == primary).to_numpy())
    return result, d[sel]


def _object_findings(ctx: CheckContext, result: Any, rows: pd.DataFrame, side: str, message: Any) -> pd.DataFrame:
    reader = result.readers[0 if side == "a" else 1]
    geometry = rows["geometry"].iloc[0]
    table = reader.tables[geometry]
    src_name = str(table["source"].iloc[0]) if len(table) else reader.name
    src = ctx.dataset.sources.get(src_name)
    obj = rows[f"object_{side}"].to_numpy(dtype=object, na_value=None)
    files = lines = locs = None
    if src is not None:
        o = src.objects
        pos = [int(i) for i in obj]
        files = o["file"].reindex(pos).to_numpy(dtype=object)
        lines = o["line"].reindex(pos).to_numpy(dtype=object, na_value=None)
        locs = o["loc"].reindex(pos).to_numpy(dtype=object)
    return findings(image=rows["image"], source=src_name, object=obj, message=message, file=files, line=lines, loc=locs)


@rule("FA801", "reader-missed-object", Severity.WARNING)
def reader_missed_object(ctx: CheckContext):
    """One reader drew a fracture the other reader did not mark.

    ## What it does
    Matches the two readers' objects one to one per image (maximum total IoU) and reports
    every object with no partner at IoU 0.1 on an image both readers read. The finding
    points at the object of the reader who drew it.

    ## Why is this bad?
    Either one reader missed a fracture or the other marked something that is not one;
    the senior reader has to decide before the labels train a model.

    ## Example
    `reader-1` drew two fractures on `IMG0000030.jpg`, `reader-2` one: the unmatched
    polygon of `reader-1` is reported. Use instead: an adjudicated label set
    (`fracatlas-annot agree ... --consensus intersect --unmatched queue`).
    """
    result, rows = _rows(ctx, ("missing-in-a", "missing-in-b"))
    if result is None or not len(rows):
        return None
    na, nb = result.names
    parts = []
    for kind, side, other in (("missing-in-b", "a", nb), ("missing-in-a", "b", na)):
        sub = rows[rows["kind"] == kind]
        if len(sub):
            msg = [f"{other} did not mark this {g} (best IoU {v:.2f})" for g, v in zip(sub["geometry"], sub["iou"])]
            parts.append(_object_findings(ctx, result, sub, side, msg))
    return concat(parts)


@rule("FA802", "reader-low-overlap", Severity.WARNING)
def reader_low_overlap(ctx: CheckContext):
    """The two readers marked the same fracture with clearly different outlines.

    ## What it does
    Reports matched pairs (IoU at least 0.1) whose IoU is below the validation IoU threshold
    (0.5 by default), pointing at the first reader's object and giving the IoU.

    ## Why is this bad?
    The readers agree that a fracture is there but not where it ends: a mask or box model
    trained on either outline learns a different extent.

    ## Example
    `reader-1` and `reader-2` outline the fracture of `IMG0000026.jpg` with IoU 0.22.
    Use instead: outlines redrawn after adjudication, or a consensus (intersection or union).
    """
    result, rows = _rows(ctx, ("low-overlap",))
    if result is None or not len(rows):
        return None
    na, nb = result.names
    msg = [f"{na} and {nb} outline this fracture with {g} IoU {v:.2f}" for g, v in zip(rows["geometry"], rows["iou"])]
    return _object_findings(ctx, result, rows, "a", msg)


@rule("FA803", "reader-image-level-disagreement", Severity.WARNING)
def reader_image_level_disagreement(ctx: CheckContext):
    """One reader marked a fracture on an image the other reader left without any.

    ## What it does
    Compares, per image both readers read, "at least one fracture" between the readers.
    Images a reader's makesense export omits count as "no fracture" (makesense writes
    nothing for an unlabelled image).

    ## Why is this bad?
    The image's class (fractured or not) differs between the readers; it decides the
    classification label and the FracAtlas folder.

    ## Example
    `reader-2` marked a fracture on `IMG0000021.jpg`, `reader-1` nothing. Use instead:
    a senior decision recorded in the final labels.
    """
    result, rows = _rows(ctx, ("image-level-mismatch",))
    if result is None or not len(rows):
        return None
    return findings(image=rows["image"], source=None, message=rows["message"])


@rule("FA804", "reader-image-missing", Severity.WARNING)
def reader_image_missing(ctx: CheckContext):
    """An image was read by only one of the two readers.

    ## What it does
    Lists images one reader's input lists and the other's does not, when that other input
    lists every image it read (an export with negatives, or a folder of images); with
    `dataset.csv`, also images outside the csv that only one reader exported.

    ## Why is this bad?
    The double reading the protocol requires did not happen for these images: their labels
    rest on one reader only.

    ## Example
    `IMG0000078.jpg` is in `reader-1`'s export and absent from every file of `reader-2`.
    Use instead: a second reading of the image.
    """
    result, rows = _rows(ctx, ("image-only-in-a", "image-only-in-b"))
    if result is None or not len(rows):
        return None
    return findings(image=rows["image"], source=None, message=rows["message"])


@rule("FA805", "reader-label-mismatch", Severity.WARNING)
def reader_label_mismatch(ctx: CheckContext):
    """The two readers drew the same object with different labels.

    ## What it does
    Reports pairs that overlap (IoU at least 0.1) but carry different labels, after the
    objects with equal labels were matched.

    ## Why is this bad?
    The class of the object differs between readers; a detector trained on either learns
    a different class for the same finding.

    ## Example
    `reader-1` says `fractured`, `reader-2` says `hardware` for the same box.
    Use instead: one label, decided by the senior reader.
    """
    result, rows = _rows(ctx, ("label-mismatch",))
    if result is None or not len(rows):
        return None
    return _object_findings(ctx, result, rows, "a", rows["message"])


@rule("FA806", "reader-agreement-summary", Severity.INFO)
def reader_agreement_summary(ctx: CheckContext):
    """How well the two readers agree overall (kappa and instance F1).

    ## What it does
    Reports one finding with the image-level Cohen's kappa (95 % CI), the positive
    specific agreement, and the instance agreement F1 at IoU 0.1 and at the validation
    threshold.

    ## Why is this bad?
    It is not a defect: it tells how much to trust single-reader labels of this dataset,
    next to the individual disagreements (FA801-FA805).

    ## Example
    `kappa 0.87 (95% CI 0.69 to 1.00), positive agreement 0.90; mask F1 0.85 at IoU 0.1,
    0.77 at IoU 0.5`.
    """
    result = _agreement(ctx)
    if result is None:
        return None
    il = result.image_level
    kappa = "undefined" if il["kappa_reason"] else f"{il['kappa']:.2f} (95% CI {il['kappa_ci95'][0]:.2f} to {il['kappa_ci95'][1]:.2f})"
    pos = "-" if il["positive_agreement_reason"] else f"{il['positive_agreement']:.2f}"
    inst = []
    for g in result.geometries[:1]:
        rows = result.instance[result.instance["geometry"] == g]
        parts = [f"{r['f1']:.2f} at IoU {r['iou']:g}" if np.isfinite(r["f1"]) else f"- at IoU {r['iou']:g}" for r in rows.to_dict("records")]
        inst.append(f"{g} F1 " + ", ".join(parts))
    na, nb = result.names
    msg = f"{na} vs {nb}: {il['n']} images read by both, kappa {kappa}, positive agreement {pos}; " + "; ".join(inst)
    return findings(image=None, source=None, message=[msg])
