"""The one IoU and one-to-one assignment code of the project.

Two readers' objects (:func:`fracatlas_annot.agreement.agree`) and two formats' objects
(the box-vs-polygon and cross-format rules, ``checks._common.match_sources``) are matched
here, with the same arithmetic and the same solver:

* **IoU.** Box IoU is numpy arithmetic on paired (n, 4) corner arrays
  (:func:`box_iou_pairs`, defined in ``convert.geometry``, the lowest layer that needs it,
  and re-exported here); mask IoU uses shapely 2's vectorised ``intersection`` / ``area``
  on paired geometry arrays (:func:`polygon_iou_pairs`), so multi-part objects
  (MultiPolygon) count with all their parts.
* **Candidates.** Only same-image pairs are compared; on an image with many objects an
  STRtree over the boxes gives the pairs whose boxes intersect, and pairs whose boxes do not
  intersect are pruned before the polygon IoU (:func:`candidate_pairs`).
* **Assignment.** Per image, the one-to-one assignment maximising the total IoU
  (:func:`assign_max_iou`): :func:`scipy.optimize.linear_sum_assignment` on the IoU matrix,
  called only for the images that need it. :func:`match_pairs` applies a threshold and,
  with ``label_aware``, matches within a label first, then the leftovers across labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..convert.geometry import box_area, box_iou_matrix, box_iou_pairs, nonfinite

__all__ = [
    "assign_max_iou",
    "box_area",
    "box_iou_matrix",
    "box_iou_pairs",
    "candidate_pairs",
    "match_pairs",
    "polygon_iou_pairs",
    "valid_geometries",
]


# --------------------------------------------------------------------------- IoU


def polygon_iou_pairs(ga: np.ndarray, gb: np.ndarray, *, repair: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection area of paired shapely geometries (vectorised, shapely 2).

    Invalid shapes (self-intersecting rings) are repaired with ``make_valid`` first
    (:func:`valid_geometries`; ``repair=False`` when the arrays are already valid);
    MultiPolygon areas include every part. Missing or empty shapes give IoU 0.
    """
    ga = np.asarray(ga, dtype=object)
    gb = np.asarray(gb, dtype=object)
    if repair:
        ga, gb = valid_geometries(ga), valid_geometries(gb)
    inter = shapely.area(shapely.intersection(ga, gb))
    inter = np.nan_to_num(np.asarray(inter, dtype=np.float64))
    union = np.nan_to_num(shapely.area(ga)) + np.nan_to_num(shapely.area(gb)) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou, inter


def valid_geometries(geoms: np.ndarray) -> np.ndarray:
    """A copy of a geometry array with missing shapes and shapes with a NaN or infinite
    coordinate (which GEOS refuses) as empty polygons, and invalid ones repaired by
    ``shapely.make_valid``."""
    geoms = np.asarray(geoms, dtype=object).copy()
    missing = shapely.is_missing(geoms) | nonfinite(geoms)
    if missing.any():
        geoms[missing] = shapely.Polygon()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


# --------------------------------------------------------------------------- candidates


#: Above this many object pairs on one image, its candidates come from an STRtree query
#: instead of every pair (2,000 x 5,000 polygons on one image: 10^7 pairs, gigabytes).
TREE_PAIRS = 256


def _same_image_pairs(ta: pd.DataFrame, tb: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(ia, ib)`` of the same-image pairs whose boxes may intersect.

    Images with few pairs give every pair (one vectorised merge); an image with more than
    :data:`TREE_PAIRS` pairs is pruned with a :class:`shapely.STRtree` over its boxes (a box
    is its own envelope, so the query returns every pair of intersecting boxes, touching
    ones included). Rows whose box is not finite pair with every object of their image, as
    before (their IoU decides). The order is the merge order: by ``ia``, then ``ib``.
    """
    img_a = ta["image"].to_numpy(dtype=object)
    img_b = tb["image"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(np.concatenate([img_a, img_b]), sort=False)
    ca, cb = codes[: len(img_a)], codes[len(img_a) :]
    n_img = len(uniques)
    na = np.bincount(ca[ca >= 0], minlength=n_img)
    nb = np.bincount(cb[cb >= 0], minlength=n_img)
    big = (na * nb) > TREE_PAIRS
    small_a = np.flatnonzero((ca >= 0) & ~big[np.maximum(ca, 0)])
    small_b = np.flatnonzero((cb >= 0) & ~big[np.maximum(cb, 0)])
    left = pd.DataFrame({"c": ca[small_a], "ia": small_a})
    right = pd.DataFrame({"c": cb[small_b], "ib": small_b})
    merged = left.merge(right, on="c", how="inner", sort=False)
    parts_a = [merged["ia"].to_numpy(dtype=np.int64)]
    parts_b = [merged["ib"].to_numpy(dtype=np.int64)]
    if big.any():
        boxes_a = ta[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)
        boxes_b = tb[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)
        fin_a = np.isfinite(boxes_a).all(axis=1)
        fin_b = np.isfinite(boxes_b).all(axis=1)
        for c in np.flatnonzero(big).tolist():
            ra = np.flatnonzero(ca == c)
            rb = np.flatnonzero(cb == c)
            fa, fb = ra[fin_a[ra]], rb[fin_b[rb]]
            if len(fa) and len(fb):
                ba, bb = boxes_a[fa], boxes_b[fb]
                tree = shapely.STRtree(shapely.box(np.minimum(bb[:, 0], bb[:, 2]), np.minimum(bb[:, 1], bb[:, 3]),
                                                   np.maximum(bb[:, 0], bb[:, 2]), np.maximum(bb[:, 1], bb[:, 3])))
                qa, qb = tree.query(shapely.box(np.minimum(ba[:, 0], ba[:, 2]), np.minimum(ba[:, 1], ba[:, 3]),
                                                np.maximum(ba[:, 0], ba[:, 2]), np.maximum(ba[:, 1], ba[:, 3])))
                parts_a.append(fa[qa])
                parts_b.append(fb[qb])
            # non-finite boxes: every pair with them, as the full product would give
            na_rows, nb_rows = ra[~fin_a[ra]], rb[~fin_b[rb]]
            if len(na_rows):
                parts_a.append(np.repeat(na_rows, len(rb)))
                parts_b.append(np.tile(rb, len(na_rows)))
            if len(nb_rows):
                fa_all = ra[fin_a[ra]]
                parts_a.append(np.repeat(fa_all, len(nb_rows)))
                parts_b.append(np.tile(nb_rows, len(fa_all)))
    ia = np.concatenate(parts_a)
    ib = np.concatenate(parts_b)
    if len(parts_a) > 1:  # back to the merge order
        order = np.lexsort((ib, ia))
        ia, ib = ia[order], ib[order]
    return ia, ib


def candidate_pairs(ta: pd.DataFrame, tb: pd.DataFrame, geometry: str) -> pd.DataFrame:
    """Same-image pairs of objects whose boxes intersect, with their IoU.

    ``ta`` / ``tb`` are analysis tables (columns ``image``, ``label``, ``x0``..``y1`` and,
    for ``geometry="mask"``, valid shapes in ``geometry``). Returns the pairs with IoU > 0:
    ``ia``, ``ib`` (row positions in ``ta`` / ``tb``), ``image``, ``iou``, ``same_label``.
    Pairs of an image with many objects are pruned with a spatial index first
    (:func:`_same_image_pairs`), so the work follows the overlapping pairs, not all pairs.
    """
    ia, ib = _same_image_pairs(ta, tb)
    boxes_a = ta[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ia]
    boxes_b = tb[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)[ib]
    biou, binter = box_iou_pairs(boxes_a, boxes_b)
    if geometry == "mask":
        touch = binter > 0
        iou = np.zeros(len(ia))
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
        {"ia": ia.astype(np.int64), "ib": ib.astype(np.int64), "image": ta["image"].to_numpy(dtype=object)[ia], "iou": iou, "same_label": same}
    )
    return out[out["iou"] > 0].reset_index(drop=True)


# --------------------------------------------------------------------------- assignment


def assign_max_iou(cand: pd.DataFrame, *, a: str = "ia", b: str = "ib", group: str = "image") -> pd.DataFrame:
    """The rows of ``cand`` that form, per group, the one-to-one assignment maximising total IoU.

    ``cand`` holds one row per candidate pair: the group (image) in column ``group``, the
    objects' ids in ``a`` and ``b`` (each id belongs to one group) and ``iou``. A pair absent
    from ``cand`` counts as IoU 0 and is never returned; a returned pair may have IoU 0 when
    ``cand`` holds such pairs (callers filter). Three steps, each exact:

    1. a group where no object has two candidates (one fracture per reader or per format,
       the common case) is taken as it is;
    2. a group where every object of its smaller side has its best partner (highest IoU, the
       first such row on ties) in a distinct object reaches the upper bound of the total IoU
       with those partners: settled with vectorised group maxima;
    3. the other groups go through :func:`scipy.optimize.linear_sum_assignment` on their
       IoU matrix (rows and columns in ascending id order).

    Returns the chosen rows of ``cand`` (index reset) in their order in ``cand``: ``cand``
    itself when every row is chosen and its index is 0..n-1 already (callers copy before
    changing it).
    """
    idx = cand.index
    if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
        cand = cand.reset_index(drop=True)  # a copy of every column: only when needed (issue 13, point 3)
    if not len(cand):
        return cand
    a_ids = cand[a].to_numpy()
    b_ids = cand[b].to_numpy()
    dup = pd.Series(a_ids).duplicated(keep=False).to_numpy() | pd.Series(b_ids).duplicated(keep=False).to_numpy()
    if not dup.any():
        return cand
    # step 1: groups without a shared object are taken whole
    hard = cand[group].isin(pd.unique(cand.loc[dup, group])).to_numpy()
    keep = [np.flatnonzero(~hard)]
    rows = np.flatnonzero(hard)  # positions in cand of the groups left
    g, uniques = pd.factorize(cand[group].to_numpy()[rows], sort=False)
    n_groups = len(uniques)
    iou = cand["iou"].to_numpy(dtype=np.float64)

    # step 2: the side with fewer distinct objects in the group picks its best partners
    def distinct(ids: np.ndarray) -> np.ndarray:
        _, first = np.unique(ids, return_index=True)
        return np.bincount(g[first], minlength=n_groups)

    a_side = (distinct(a_ids[rows]) <= distinct(b_ids[rows]))[g]
    settled = np.zeros(n_groups, dtype=bool)
    for side_ids, other_ids, on in ((a_ids[rows], b_ids[rows], a_side), (b_ids[rows], a_ids[rows], ~a_side)):
        idx = np.flatnonzero(on)
        if not len(idx):
            continue
        order = idx[np.lexsort((idx, -iou[rows[idx]], side_ids[idx]))]  # per object: best IoU, first row on ties
        first = np.r_[True, side_ids[order][1:] != side_ids[order][:-1]]
        best = order[first]
        _, inverse, counts = np.unique(other_ids[best], return_inverse=True, return_counts=True)
        clash = np.zeros(n_groups, dtype=bool)
        clash[g[best][counts[inverse] > 1]] = True
        ok = best[~clash[g[best]]]
        keep.append(rows[ok])
        settled[g[ok]] = True

    # step 3: the solver, one IoU matrix per remaining group
    left = np.flatnonzero(~settled[g])
    if len(left):
        left = left[np.argsort(g[left], kind="stable")]
        # imported here, not at the top: scipy.optimize costs every command ~35 MiB of RSS
        from scipy.optimize import linear_sum_assignment

        rest, rc = rows[left], g[left]
        starts = np.flatnonzero(np.r_[True, rc[1:] != rc[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], len(rest)]):
            pos = rest[s:e]
            ua, ra = np.unique(a_ids[pos], return_inverse=True)
            ub, rb = np.unique(b_ids[pos], return_inverse=True)
            m = np.zeros((len(ua), len(ub)))
            where = np.full((len(ua), len(ub)), -1)
            m[ra, rb] = iou[pos]
            where[ra, rb] = pos
            r, c = linear_sum_assignment(m, maximize=True)
            chosen = where[r, c]
            keep.append(chosen[chosen >= 0])
    return cand.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)


def match_pairs(pairs: pd.DataFrame, threshold: float, *, label_aware: bool = True) -> pd.DataFrame:
    """Match objects one-to-one at an IoU threshold (candidates from :func:`candidate_pairs`).

    Returns the matched rows of ``pairs`` with a ``label_match`` column: True for agreeing
    pairs (TP), False for pairs matched across labels (``label-mismatch``, only when
    ``label_aware``).
    """
    cand = pairs[pairs["iou"] >= threshold]
    if not label_aware:
        m = assign_max_iou(cand).copy()
        m["label_match"] = True
        return m.reset_index(drop=True)
    first = assign_max_iou(cand[cand["same_label"]]).copy()
    first["label_match"] = True
    rest = cand[~cand["same_label"] & ~cand["ia"].isin(first["ia"]) & ~cand["ib"].isin(first["ib"])]
    second = assign_max_iou(rest).copy()
    second["label_match"] = False
    return pd.concat([first, second], ignore_index=True)
