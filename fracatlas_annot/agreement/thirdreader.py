"""The model as a third reader: does it disagree with the readers more than they disagree
with each other?

:func:`compare_model` takes an :class:`~fracatlas_annot.agreement.AgreementResult` of two
readers and a model's :class:`~fracatlas_annot.agreement.predictions.Predictions`, and
compares, with the same matching and the same statistics as reader against reader:

* ``reader-A vs reader-B`` (the baseline: the readers' own agreement);
* ``model vs reader-A``, ``model vs reader-B`` and ``model vs consensus`` (the objects both
  readers drew, intersected: ``result.consensus("intersect", unmatched="drop")`` per geometry).

The reference is on the left: FN counts its objects the model missed, FP the model's
objects it lacks; kappa and F1 are symmetric. The images compared are the images both
readers read; an image is positive for the model when it holds a prediction scoring at or
above the confidence threshold (an absent image has none). Every statistic is computed at
each threshold of ``sweep`` (the chosen ``conf`` included). The model queue
(:data:`MODEL_QUEUE_COLUMNS`) lists where the model disagrees with both readers who agree
with each other, at ``conf`` and the lowest IoU threshold, worst first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from ..runtime.atomic import write_text_atomic
from ..runtime.jsonsafe import jsonable
from . import stats
from .consensus import build_consensus
from .inputs import object_table
from .matching import box_area, candidate_pairs, match_pairs, valid_geometries
from .predictions import Predictions, check_conf
from .queue import queue_rows

if TYPE_CHECKING:  # pragma: no cover
    from .result import AgreementResult

__all__ = ["DEFAULT_SWEEP", "MODEL_QUEUE_COLUMNS", "MODEL_QUEUE_KINDS", "ModelAgreement", "compare_model", "parse_sweep"]

#: The confidence thresholds of the sweep: 0.05, 0.10, ..., 0.95.
DEFAULT_SWEEP: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))

#: Kinds of the model queue, worst first.
MODEL_QUEUE_KINDS: tuple[str, ...] = ("image-missed-by-model", "image-only-in-model", "missed-by-model", "only-in-model")

MODEL_QUEUE_COLUMNS: list[str] = ["image", "kind", "geometry", "score", "iou", "label", "object", "ref_model", "ref_a", "ref_b", "area", "message"]

MODEL = "model"
CONSENSUS = "consensus"


def parse_sweep(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """Confidence thresholds from ``"0.05:0.95:0.05"`` (start:stop:step, both ends included),
    ``"0.1,0.25,0.5"``, a sequence, or ``None``/``""``/``"none"`` (no sweep)."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "none")):
        return ()
    if isinstance(text, str):
        from ..errors import UsageError

        try:
            if ":" in text:
                start, stop, step = (float(v) for v in text.split(":"))
                if step <= 0:
                    raise ValueError
                n = math.floor((stop - start) / step + 1e-9) + 1
                vals = [round(start + i * step, 6) for i in range(max(n, 0))]
            else:
                vals = [float(v) for v in text.replace(" ", "").split(",") if v]
        except ValueError:
            raise UsageError(f"--sweep: expected start:stop:step like 0.05:0.95:0.05 or numbers like 0.1,0.25,0.5, got {text!r}") from None
    else:
        vals = [float(v) for v in text]
    return tuple(sorted({check_conf(v, "--sweep") for v in vals}))


@dataclass
class ModelAgreement:
    """The model against each reader and their consensus, beside reader against reader.

    Attributes
    ----------
    names: (reader A, reader B).
    conf: the chosen confidence threshold; ``sweep``: every threshold computed (``conf`` included).
    thresholds, geometries: the IoU thresholds and geometries of the agreement.
    image_level: one row per comparison and confidence: ``comparison``, ``reference``,
        ``compared``, ``conf`` (NaN for the readers' row), ``images``, the 2x2 table
        (``both_positive``, ``reference_only``, ``compared_only``, ``both_negative``),
        ``positive_reference``, ``positive_compared``, ``raw_agreement``, ``kappa``,
        ``kappa_ci95``, ``positive_agreement``.
    instance: one row per comparison, confidence, geometry and IoU: objects of each side,
        ``tp``, ``fn`` (reference objects the compared side lacks), ``fp``,
        ``label_mismatch``, ``f1``, ``mean_iou``, ``mean_dice``.
    queue: where the model disagrees with both readers who agree (:data:`MODEL_QUEUE_COLUMNS`).
    source: what was read; notes: what the numbers rest on.
    """

    names: tuple[str, str]
    conf: float
    sweep: tuple[float, ...]
    thresholds: tuple[float, ...]
    geometries: tuple[str, ...]
    image_level: pd.DataFrame
    instance: pd.DataFrame
    queue: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def comparisons(self) -> list[str]:
        na, nb = self.names
        return [f"{na} vs {nb}", f"{MODEL} vs {na}", f"{MODEL} vs {nb}", f"{MODEL} vs {CONSENSUS}"]

    def at(self, conf: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(image-level rows, instance rows) at one confidence (default: the chosen one),
        the readers' row first."""
        c = self.conf if conf is None else float(conf)

        def pick(df: pd.DataFrame) -> pd.DataFrame:
            keep = df["conf"].isna().to_numpy() | np.isclose(df["conf"].to_numpy(dtype=np.float64), c)
            return df[keep].reset_index(drop=True)

        return pick(self.image_level), pick(self.instance)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (NaN -> None): the ``model`` section of ``agree --json``."""
        img, inst = self.at()
        return jsonable(
            {
                "source": self.source,
                "readers": list(self.names),
                "comparisons": self.comparisons,
                "conf": self.conf,
                "sweep": list(self.sweep),
                "thresholds": list(self.thresholds),
                "geometries": list(self.geometries),
                "at_conf": {"image_level": img.to_dict("records"), "instance": inst.to_dict("records")},
                "image_level": self.image_level.to_dict("records"),
                "instance": self.instance.to_dict("records"),
                "queue": self.queue.to_dict("records"),
                "queue_counts": {k: int(v) for k, v in self.queue["kind"].value_counts().items()},
                "notes": self.notes,
            }
        )

    def write(self, out_dir: str | Path) -> list[str]:
        """Write ``model-queue.csv`` and ``model-queue.json`` into ``out_dir``; return their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "model-queue.csv", self.queue.to_csv(index=False))
        write_text_atomic(out / "model-queue.json", json.dumps(jsonable(self.queue.to_dict("records")), indent=1, ensure_ascii=False))
        return [str(out / "model-queue.csv"), str(out / "model-queue.json")]


# --------------------------------------------------------------------------- tables


def model_tables(pred: Predictions, geometries: Sequence[str]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The model's analysis tables (as :func:`~fracatlas_annot.agreement.inputs.object_table`
    builds a reader's, plus ``score``): every detection's box; the detections with a polygon
    for ``mask``."""
    obj = pred.objects
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for g in geometries:
        sub = obj
        geoms = sub["geometry"].to_numpy(dtype=object)
        if g == "mask":
            has = np.array([x is not None for x in geoms], dtype=bool)
            if len(sub) and not has.any():
                notes.append("mask comparison of the model skipped: its predictions carry no polygons (a detect model)")
                continue
            if (~has).any():
                notes.append(f"model: {int((~has).sum())} detection(s) without a polygon are left out of the mask comparison")
            sub, geoms = sub[has], geoms[has]
        box = sub[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)
        t = pd.DataFrame(
            {
                "image": sub["image"].to_numpy(dtype=object),
                "label": sub["label"].to_numpy(dtype=object),
                "x0": box[:, 0],
                "y0": box[:, 1],
                "x1": box[:, 2],
                "y1": box[:, 3],
                "geometry": valid_geometries(geoms) if g == "mask" else np.full(len(sub), None, dtype=object),
                "ref": sub["ref"].to_numpy(dtype=object),
                "object": sub.index.to_numpy(),
                "score": sub["score"].to_numpy(dtype=np.float64),
            }
        )
        if g == "mask":
            import shapely

            t["area"] = shapely.area(t["geometry"].to_numpy(dtype=object))
        else:
            t["area"] = box_area(box)
        t["source"] = MODEL
        tables[g] = t
    return tables, notes


def _within(table: pd.DataFrame, universe: pd.Index) -> pd.DataFrame:
    return table[table["image"].isin(universe).to_numpy()].reset_index(drop=True)


def _counts(table: pd.DataFrame, universe: pd.Index) -> np.ndarray:
    return table["image"].value_counts().reindex(universe, fill_value=0).to_numpy()


# --------------------------------------------------------------------------- comparison


def compare_model(result: "AgreementResult", pred: Predictions, *, conf: float = 0.25, sweep: Sequence[float] = DEFAULT_SWEEP) -> ModelAgreement:
    """Compare ``pred`` with both readers of ``result`` and their consensus (module docstring)."""
    conf = check_conf(conf)
    sweep_all = tuple(sorted(set(parse_sweep(list(sweep))) | {conf}))
    if result.readers is None or result.images is None:
        from ..errors import UsageError

        raise UsageError("this AgreementResult carries no reader tables (was it built by agree()?)")
    ra, rb = result.readers
    na, nb = result.names
    images = result.images
    universe = pd.Index(images.index[images["seen_a"].to_numpy() & images["seen_b"].to_numpy()], dtype=object)
    notes = list(pred.notes)
    mt, mnotes = model_tables(pred, result.geometries)
    notes += mnotes
    outside = int((~pred.objects["image"].isin(universe)).sum())
    if outside:
        notes.append(f"model: {outside} detection(s) on images not read by both readers are left out")
    geoms = tuple(g for g in result.geometries if g in mt)
    model = {g: _within(mt[g], universe) for g in geoms}

    refs: dict[str, dict[str, pd.DataFrame]] = {
        na: {g: _within(ra.tables[g], universe) for g in geoms},
        nb: {g: _within(rb.tables[g], universe) for g in geoms},
    }
    cons: dict[str, pd.DataFrame] = {}
    for g in geoms:
        src = build_consensus(result, method="intersect", unmatched="drop", geometry=g)
        cons[g], _ = object_table(src, g)
    refs[CONSENSUS] = {g: _within(cons[g], universe) for g in geoms}

    def positives(tables: dict[str, pd.DataFrame]) -> np.ndarray:
        if not tables:
            return np.zeros(len(universe), dtype=np.int64)
        return np.max([_counts(t, universe) for t in tables.values()], axis=0)

    img_rows: list[dict[str, Any]] = []
    inst_rows: list[dict[str, Any]] = []
    matches: dict[tuple[str, str, float], pd.DataFrame] = {}  # (reference, geometry, iou) at conf, for the queue
    pairs_of: dict[tuple[str, str], pd.DataFrame] = {}

    def image_row(comparison: str, ref: str, compared: str, c: float, pa: np.ndarray, pb: np.ndarray) -> None:
        frame = pd.DataFrame({"seen_a": True, "seen_b": True, "objects_a": pa, "objects_b": pb}, index=universe)
        lvl = stats.image_level(frame, (ref, compared))
        t = lvl["table"]
        img_rows.append(
            {
                "comparison": comparison, "reference": ref, "compared": compared, "conf": c, "images": lvl["n"],
                "both_positive": t["both_positive"], "reference_only": t["a_only_positive"], "compared_only": t["b_only_positive"],
                "both_negative": t["both_negative"], "positive_reference": lvl["positive_a"], "positive_compared": lvl["positive_b"],
                "raw_agreement": lvl["raw_agreement"], "kappa": lvl["kappa"], "kappa_ci95": lvl["kappa_ci95"],
                "positive_agreement": lvl["positive_agreement"],
            }
        )

    def instance_rows(comparison: str, ref: str, compared: str, c: float, g: str, ta: pd.DataFrame, n_b: int, pairs: pd.DataFrame) -> None:
        for t in result.thresholds:
            m = match_pairs(pairs, t, label_aware=result.label_aware)
            if compared == MODEL and math.isclose(c, conf):
                matches[(ref, g, t)] = m
            inst_rows.append({"comparison": comparison, "reference": ref, "compared": compared, "conf": c, "geometry": g, "iou": t, **_instance(len(ta), n_b, m)})

    # the readers' own agreement, on the same images and with the same code
    base = f"{na} vs {nb}"
    image_row(base, na, nb, math.nan, positives(refs[na]), positives(refs[nb]))
    for g in geoms:
        instance_rows(base, na, nb, math.nan, g, refs[na][g], len(refs[nb][g]), candidate_pairs(refs[na][g], refs[nb][g], g))
    for ref in (na, nb, CONSENSUS):
        pa = positives(refs[ref])
        for g in geoms:
            pairs_of[(ref, g)] = candidate_pairs(refs[ref][g], model[g], g)
        comparison = f"{MODEL} vs {ref}"
        for c in sweep_all:
            keep = {g: model[g]["score"].to_numpy() >= c for g in geoms}
            image_row(comparison, ref, MODEL, c, pa, positives({g: model[g][keep[g]] for g in geoms}))
            for g in geoms:
                p = pairs_of[(ref, g)]
                instance_rows(comparison, ref, MODEL, c, g, refs[ref][g], int(keep[g].sum()), p[keep[g][p["ib"].to_numpy()]])
    img_cols = list(img_rows[0])
    inst_cols = ["comparison", "reference", "compared", "conf", "geometry", "iou", "objects_reference", "objects_compared", "tp", "fn", "fp", "label_mismatch", "f1", "mean_iou", "mean_dice"]
    queue = model_queue(result, refs, model, pairs_of, matches, universe, conf)
    return ModelAgreement(
        names=(na, nb),
        conf=conf,
        sweep=sweep_all,
        thresholds=tuple(result.thresholds),
        geometries=geoms,
        image_level=pd.DataFrame(img_rows, columns=img_cols),
        instance=pd.DataFrame(inst_rows, columns=inst_cols),
        queue=queue,
        source=pred.describe(),
        notes=notes,
    )


def _instance(n_a: int, n_b: int, m: pd.DataFrame) -> dict[str, Any]:
    row = stats.instance_row(n_a, n_b, m)
    row["objects_reference"] = row.pop("objects_a")
    row["objects_compared"] = row.pop("objects_b")
    return row


# --------------------------------------------------------------------------- queue


def model_queue(
    result: "AgreementResult",
    refs: dict[str, dict[str, pd.DataFrame]],
    model: dict[str, pd.DataFrame],
    pairs_of: dict[tuple[str, str], pd.DataFrame],
    matches: dict[tuple[str, str, float], pd.DataFrame],
    universe: pd.Index,
    conf: float,
) -> pd.DataFrame:
    """Images and objects where the model, at ``conf``, disagrees with both readers who agree.

    * ``image-missed-by-model``: both readers marked a fracture, the model nothing;
    * ``image-only-in-model``: neither reader marked one, the model did;
    * ``missed-by-model``: a pair of the readers (same label, matched at the lowest IoU
      threshold) that the model matches with neither reader's object;
    * ``only-in-model``: a detection matching no object of either reader.

    Sorted by kind, then confidence (highest first), then object size (largest first).
    """
    na, nb = result.names
    lo = result.thresholds[0]
    rows: list[pd.DataFrame] = []
    geoms = list(model)
    ca = np.max([_counts(refs[na][g], universe) for g in geoms], axis=0) if geoms else np.zeros(len(universe), dtype=np.int64)
    cb = np.max([_counts(refs[nb][g], universe) for g in geoms], axis=0) if geoms else ca
    cm = np.max([_counts(model[g][model[g]["score"].to_numpy() >= conf], universe) for g in geoms], axis=0) if geoms else ca
    top = pd.Series(dtype=np.float64)
    if geoms:
        sub = pd.concat([model[g][model[g]["score"].to_numpy() >= conf] for g in geoms])
        top = sub.groupby("image")["score"].max() if len(sub) else top
    keys = universe.to_numpy(dtype=object)
    missed = (ca > 0) & (cb > 0) & (cm == 0)
    extra = (ca == 0) & (cb == 0) & (cm > 0)
    if missed.any():
        rows.append(_queue_rows(keys[missed], "image-missed-by-model", message=[f"{na} and {nb} both marked a fracture ({x} and {y} object(s)); the model found none at conf {conf:g}" for x, y in zip(ca[missed], cb[missed])]))
    if extra.any():
        sc = top.reindex(keys[extra]).to_numpy(dtype=np.float64)
        rows.append(_queue_rows(keys[extra], "image-only-in-model", score=sc, message=[f"neither {na} nor {nb} marked a fracture; the model found {k} (best score {s:.2f})" for k, s in zip(cm[extra], sc)]))
    for g in geoms:
        ta, tb, tm = refs[na][g], refs[nb][g], model[g]
        ab = result.match(g, lo)
        ab = ab[ab["label_match"].to_numpy()]
        # the readers' pairs as rows of the (universe-restricted) tables
        pos_a = pd.Series(np.arange(len(ta)), index=ta["object"].to_numpy())
        pos_b = pd.Series(np.arange(len(tb)), index=tb["object"].to_numpy())
        ra_tab, rb_tab = result.readers[0].tables[g], result.readers[1].tables[g]
        ia = pos_a.reindex(ra_tab["object"].to_numpy()[ab["ia"].to_numpy()]).to_numpy()
        ib = pos_b.reindex(rb_tab["object"].to_numpy()[ab["ib"].to_numpy()]).to_numpy()
        ok = ~(np.isnan(ia) | np.isnan(ib))
        ia, ib = ia[ok].astype(np.int64), ib[ok].astype(np.int64)
        ma, mb = matches[(na, g, lo)], matches[(nb, g, lo)]
        hit_a = np.zeros(len(ta), dtype=bool)
        hit_b = np.zeros(len(tb), dtype=bool)
        hit_a[ma.loc[ma["label_match"].to_numpy(), "ia"].to_numpy()] = True
        hit_b[mb.loc[mb["label_match"].to_numpy(), "ia"].to_numpy()] = True
        lost = ~hit_a[ia] & ~hit_b[ib]
        if lost.any():
            best = _best(pairs_of[(na, g)], "ia", len(ta), tm, conf)[ia[lost]]
            best = np.fmax(best, _best(pairs_of[(nb, g)], "ia", len(tb), tm, conf)[ib[lost]])
            ja, jb = ia[lost], ib[lost]
            rows.append(
                _queue_rows(
                    ta["image"].to_numpy(dtype=object)[ja], "missed-by-model", geometry=g, iou=best,
                    label=ta["label"].to_numpy(dtype=object)[ja], ref_a=ta["ref"].to_numpy(dtype=object)[ja], ref_b=tb["ref"].to_numpy(dtype=object)[jb],
                    area=ta["area"].to_numpy()[ja],
                    message=[f"{na} and {nb} agree on this {g}; no detection matches it (best IoU {v:.2f} < {lo:g}) at conf {conf:g}" for v in best],
                )
            )
        used = np.zeros(len(tm), dtype=bool)
        for m in (ma, mb):
            used[m.loc[m["label_match"].to_numpy(), "ib"].to_numpy()] = True
        alone = np.flatnonzero(~used & (tm["score"].to_numpy() >= conf))
        if len(alone):
            best = np.fmax(_best(pairs_of[(na, g)], "ib", len(tm), None, conf), _best(pairs_of[(nb, g)], "ib", len(tm), None, conf))[alone]
            rows.append(
                _queue_rows(
                    tm["image"].to_numpy(dtype=object)[alone], "only-in-model", geometry=g, score=tm["score"].to_numpy()[alone], iou=best,
                    label=tm["label"].to_numpy(dtype=object)[alone], object=tm["object"].to_numpy()[alone],
                    ref_model=tm["ref"].to_numpy(dtype=object)[alone], area=tm["area"].to_numpy()[alone],
                    message=[f"score {s:.2f}: neither {na} nor {nb} drew this {g} (best IoU {v:.2f} < {lo:g})" for s, v in zip(tm["score"].to_numpy()[alone], best)],
                )
            )
    if not rows:
        return _queue_rows(np.empty(0, dtype=object), "only-in-model")
    out = pd.concat(rows, ignore_index=True)
    rank = out["kind"].map({k: i for i, k in enumerate(MODEL_QUEUE_KINDS)}).to_numpy()
    order = np.lexsort(
        (out["image"].to_numpy(dtype=str), -np.nan_to_num(out["area"].to_numpy(dtype=np.float64)), -np.nan_to_num(out["score"].to_numpy(dtype=np.float64)), rank)
    )
    out = out.iloc[order].reset_index(drop=True)
    out["object"] = pd.array(out["object"].to_numpy(dtype=object, na_value=None), dtype="Int64")
    return out


def _best(pairs: pd.DataFrame, side: str, n: int, model: pd.DataFrame | None, conf: float) -> np.ndarray:
    """Best candidate IoU per object of ``side`` (model detections under ``conf`` ignored)."""
    best = np.zeros(n)
    if len(pairs):
        p = pairs
        if model is not None:
            p = p[model["score"].to_numpy()[p["ib"].to_numpy()] >= conf]
        np.maximum.at(best, p[side].to_numpy(), p["iou"].to_numpy())
    return best


def _queue_rows(images: np.ndarray, kind: str, **cols: Any) -> pd.DataFrame:
    return queue_rows(images, kind, MODEL_QUEUE_COLUMNS, ("score", "iou", "area"), **cols)
