""":func:`agree` and the :class:`AgreementResult` it returns.

``agree`` reads each reader's input (:mod:`.inputs`), builds the per-image table, finds the
candidate pairs and matches them at every threshold (:mod:`.matching`), computes the
statistics (:mod:`.stats`) and the adjudication queue (:mod:`.queue`). The result keeps the
analysis tables it was computed from (``readers``, ``candidates``, ``matches``, ``images``)
so that :meth:`AgreementResult.consensus` (:mod:`.consensus`) and the FA8 rules build on
them without recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from ..errors import UsageError
from ..model import Source
from ..runtime.jsonsafe import jsonable
from . import queue, stats
from .consensus import build_consensus, consensus_summary
from .inputs import (
    ReaderInput,
    image_notes,
    image_table,
    mark_both_read,
    read_meta,
    reader_input,
)
from .matching import candidate_pairs, match_pairs
from .predictions import Predictions, read_predictions
from .thirdreader import DEFAULT_SWEEP, ModelAgreement, compare_model, parse_sweep

__all__ = ["AgreementResult", "agree"]


@dataclass
class AgreementResult:
    """Everything :func:`agree` found. See the attributes; :meth:`to_dict` is the JSON form.

    Attributes
    ----------
    names: (name of reader A, name of reader B).
    thresholds: the IoU thresholds, ascending.
    geometries: the geometries analysed (``box`` and/or ``mask``, mask first).
    image_level: the 2x2 table (fracture present or not), raw agreement, Cohen's kappa with
        its 95 % CI, positive / negative specific agreement, and the images only one
        reader saw.
    instance: one row per geometry and IoU threshold: objects of A and B, TP, FN
        (missing in B), FP (missing in A), label mismatches, F1 = 2TP/(2TP+FP+FN), mean IoU
        and mean Dice of the agreeing pairs.
    breakdowns: ``{"image_level": DataFrame, "instance": DataFrame}`` by body part and view
        (with ``dataset.csv`` metadata) and, for instances, by object size (COCO areas).
    disagreements: the adjudication queue, one row per conflict, worst first
        (:data:`~fracatlas_annot.agreement.queue.DISAGREEMENT_COLUMNS`).
    inputs: which source of each reader was used for each geometry.
    notes: what the numbers rest on (assumptions, objects left out).
    label_aware: pairs with different labels were matched as label mismatches.
    readers: the two :class:`~fracatlas_annot.agreement.inputs.ReaderInput` (A, B): per
        geometry the analysis table of each reader's objects (``object`` is the row label
        in the source named by ``source``; ``ref`` says where it was read).
    candidates: per geometry, the same-image pairs that overlap
        (:func:`~fracatlas_annot.agreement.matching.candidate_pairs`: ``ia``, ``ib`` are
        row positions in the readers' tables).
    matches: per (geometry, threshold), the one-to-one matches
        (:func:`~fracatlas_annot.agreement.matching.match_pairs`).
    images: one row per image: objects and "seen" per reader, ``in_meta``, declared size.
    model: with a model's predictions (``agree(..., model=PATH)``), the model as a third
        reader (:class:`~fracatlas_annot.agreement.thirdreader.ModelAgreement`), else None.
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
    readers: tuple[ReaderInput, ReaderInput] | None = field(default=None, repr=False)
    candidates: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    matches: dict[tuple[str, float], pd.DataFrame] = field(default_factory=dict, repr=False)
    images: pd.DataFrame | None = field(default=None, repr=False)
    model: ModelAgreement | None = field(default=None, repr=False)

    def match(self, geometry: str, iou: float) -> pd.DataFrame:
        """The one-to-one matches of ``geometry`` at threshold ``iou`` (computed from the
        candidates when ``iou`` is not one of the result's thresholds)."""
        m = self.matches.get((geometry, float(iou)))
        if m is None:
            if geometry not in self.candidates:
                raise UsageError(f"no {geometry} agreement (have: {', '.join(self.geometries) or 'none'})")
            m = match_pairs(self.candidates[geometry], float(iou), label_aware=self.label_aware)
        return m

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

        See :func:`fracatlas_annot.agreement.consensus.build_consensus`.
        """
        return build_consensus(self, method=method, unmatched=unmatched, iou=iou, geometry=geometry, name=name)

    def write(self, out_dir: str | Path, *, consensus: Source | None = None) -> list[str]:
        """Write the adjudication files into ``out_dir`` and return their paths.

        See :func:`fracatlas_annot.agreement.queue.write_adjudication`.
        """
        return queue.write_adjudication(out_dir, self, consensus)

    def to_dict(self, *, consensus: Source | None = None) -> dict[str, Any]:
        """A JSON-able dict (NaN -> None) of every table; with ``consensus``, its summary
        (:func:`~fracatlas_annot.agreement.consensus.consensus_summary`) under ``consensus``."""
        data = {
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
        if consensus is not None:
            data["consensus"] = consensus_summary(consensus)
        if self.model is not None:
            data["model"] = self.model.to_dict()
        return jsonable(data)

    def disagreement_counts(self) -> dict[str, int]:
        """Rows of the adjudication queue per kind (and geometry where it applies)."""
        return queue.disagreement_counts(self.disagreements)


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
    model: Any = None,
    conf: float = 0.25,
    sweep: Sequence[float] | str | None = DEFAULT_SWEEP,
    model_images: Any = None,
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
        model: a model's predictions, read by
            :func:`~fracatlas_annot.agreement.predictions.read_predictions` (an Ultralytics
            ``labels/`` folder with confidences, a COCO results JSON, or what
            ``fracatlas-annot predict`` writes) or given as
            :class:`~fracatlas_annot.agreement.predictions.Predictions`: compared with each
            reader and their consensus (``result.model``).
        conf: the model's confidence threshold; sweep: the thresholds of the sweep
            (``"0.05:0.95:0.05"``, a list, or None).
        model_images: the images the model predicted on (a folder, or a COCO JSON mapping
            ``image_id`` to file names), for the sizes of normalised predictions.

    Returns:
        An :class:`AgreementResult`.

    Example:
        ```python
        from fracatlas_annot.agreement import agree
        r = agree("fixtures/readers/reader-1", "fixtures/readers/reader-2",
                  meta="fixtures/fracatlas-mini/dataset.csv")
        r.image_level["kappa"], r.instance, r.disagreements.head()
        seg = r.consensus("intersect", unmatched="queue")
        r.write("adjudication", consensus=seg)
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
                r.restrict_seen(keys)
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
    meta_frame = read_meta(meta)
    images = image_table(ra, rb, meta_frame)
    notes += image_notes(ra, rb, meta_frame)
    notes += mark_both_read((ra, rb), images, geoms[0] if geoms else None)

    pairs: dict[str, pd.DataFrame] = {}
    matches: dict[tuple[str, float], pd.DataFrame] = {}
    for g in geoms:
        pairs[g] = candidate_pairs(ra.tables[g], rb.tables[g], g)
        for t in thresholds:
            matches[(g, t)] = match_pairs(pairs[g], t, label_aware=label_aware)

    result = AgreementResult(
        names=names,  # type: ignore[arg-type]
        thresholds=thresholds,
        geometries=tuple(geoms),
        image_level=stats.image_level(images, names),
        instance=stats.instance_table(ra, rb, geoms, thresholds, matches),
        breakdowns=stats.breakdowns(ra, rb, geoms, thresholds, matches, images, meta_frame),
        disagreements=queue.disagreements(ra, rb, geoms, thresholds, pairs, matches, images, names),
        inputs={ra.name: ra.inputs, rb.name: rb.inputs},
        notes=notes,
        label_aware=label_aware,
        readers=(ra, rb),
        candidates=pairs,
        matches=matches,
        images=images,
    )
    if model is not None:
        pred = model
        if not isinstance(model, Predictions):
            sizes = images[["width", "height"]].dropna() if len(images) else None
            pred = read_predictions(model, images=model_images, sizes=sizes, labels=_labels(ra, rb), keys=list(images.index))
        result.model = compare_model(result, pred, conf=conf, sweep=parse_sweep(sweep))
        result.notes += result.model.notes
    return result


def _labels(ra: ReaderInput, rb: ReaderInput) -> list[str]:
    """The readers' labels in order (class index -> label for a model's predictions)."""
    return ra.labels + [lb for lb in rb.labels if lb not in ra.labels]
