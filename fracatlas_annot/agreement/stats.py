"""Agreement statistics: Cohen's kappa with its CI, specific agreement, instance F1 / IoU /
Dice, and the breakdowns by body part, view and object size.

Everything here is arithmetic on tables the other modules built: the per-image table of
:func:`fracatlas_annot.agreement.inputs.image_table`, the readers' analysis tables and the
matches of :func:`fracatlas_annot.agreement.matching.match_pairs`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .inputs import ReaderInput

__all__ = [
    "BODY_PARTS",
    "SIZE_THRESHOLDS",
    "VIEWS",
    "breakdowns",
    "cohen_kappa",
    "image_level",
    "instance_table",
    "size_class",
    "specific_agreement",
]

#: COCO object-size limits (pixel area): small < 32^2 <= medium < 96^2 <= large.
SIZE_THRESHOLDS: tuple[float, float] = (32.0**2, 96.0**2)

#: dataset.csv flag columns used for the breakdowns.
BODY_PARTS: tuple[str, ...] = ("hand", "leg", "hip", "shoulder", "mixed")
VIEWS: tuple[str, ...] = ("frontal", "lateral", "oblique")

_Z95 = 1.959963984540054  # two-sided 95 % normal quantile


# --------------------------------------------------------------------------- kappa


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


# --------------------------------------------------------------------------- image level


def image_level(images: pd.DataFrame, names: Sequence[str]) -> dict[str, Any]:
    """The image-level statistics of a per-image table (``seen_a``, ``seen_b``,
    ``objects_a``, ``objects_b``): the 2x2 table of "fracture present" over the images both
    readers read, kappa with its 95 % CI, specific agreement, the images only one read."""
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


# --------------------------------------------------------------------------- instance level


def matched_flags(n_a: int, n_b: int, m: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per object of A and of B: True when it is in an agreeing (same-label) pair of ``m``."""
    fa = np.zeros(n_a, dtype=bool)
    fb = np.zeros(n_b, dtype=bool)
    ok = m[m["label_match"]]
    fa[ok["ia"].to_numpy()] = True
    fb[ok["ib"].to_numpy()] = True
    return fa, fb


def instance_row(n_a: int, n_b: int, m: pd.DataFrame) -> dict[str, Any]:
    """TP / FN / FP, label mismatches, F1 = 2TP/(2TP+FP+FN), mean IoU and mean Dice of a matching."""
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


def instance_table(
    ra: "ReaderInput", rb: "ReaderInput", geoms: Sequence[str], thresholds: Sequence[float], matches: dict[tuple[str, float], pd.DataFrame]
) -> pd.DataFrame:
    """One :func:`instance_row` per geometry and threshold, over the objects on images both read."""
    rows = []
    for g in geoms:
        for t in thresholds:
            rows.append({"geometry": g, "iou": t, **instance_row(int(ra.tables[g]["both_read"].sum()), int(rb.tables[g]["both_read"].sum()), matches[(g, t)])})
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


def breakdowns(
    ra: "ReaderInput",
    rb: "ReaderInput",
    geoms: Sequence[str],
    thresholds: Sequence[float],
    matches: dict[tuple[str, float], pd.DataFrame],
    images: pd.DataFrame,
    meta: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """``{"image_level": ..., "instance": ...}``: image-level agreement by body part and view
    (with ``dataset.csv`` metadata) and instance F1 by those groups and by COCO size class."""
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
        lvl = image_level(images[member], (ra.name, rb.name))
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
            fa, fb = matched_flags(len(ta), len(tb), matches[(g, t)])
            for by, group, member in groups:
                inst_rows.append(_group_instance(by, group, g, t, member[pa] & ra_both, member[pb] & rb_both, fa, fb))
            for s in ("small", "medium", "large"):
                inst_rows.append(_group_instance("size", s, g, t, (sa == s) & ra_both, (sb == s) & rb_both, fa, fb))
    inst_cols = ["by", "group", "geometry", "iou", "objects_a", "objects_b", "matched_a", "matched_b", "fn", "fp", "f1"]
    return {"image_level": pd.DataFrame(img_rows, columns=img_cols), "instance": pd.DataFrame(inst_rows, columns=inst_cols)}
