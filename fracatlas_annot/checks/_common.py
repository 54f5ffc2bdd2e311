"""The one-to-one object matcher of the box-vs-polygon, cross-format and structure rules
(IoU of extents, optimal assignment per image), computed once per context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ._keys import keyspace, listed_mask, object_codes
from ._sizes import px_extents
from .registry import CheckContext


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = ix * iy
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, np.where((a == b).all(axis=1), 1.0, 0.0))
    return iou


def match_sources(ctx: CheckContext, a_name: str, b_name: str) -> dict[str, Any]:
    """Match the objects of source ``a`` one to one with those of ``b``, per image.

    Objects are compared by the IoU of their extents (a box against the polygon's bounds).
    On each image both sources list, the assignment maximising total IoU is taken
    (``scipy.optimize.linear_sum_assignment``); a pair with no overlap counts as a match
    only when the image holds exactly one object in each source.

    Returns a dict with ``pairs`` (DataFrame: image, a, b (row indices), iou, offset
    (largest corner difference in pixels)), ``unmatched_a`` / ``unmatched_b`` (row index
    arrays) and ``images`` (the images both sources list). Cached per context.
    """
    key = f"match:{a_name}:{b_name}"
    if key in ctx.cache:
        return ctx.cache[key]
    ds = ctx.dataset
    A, B = ds.sources[a_name], ds.sources[b_name]
    K = keyspace(ctx)
    common = listed_mask(ctx, a_name) & listed_mask(ctx, b_name)
    ao, bo = A.objects, B.objects
    ac, bc = object_codes(ctx, a_name), object_codes(ctx, b_name)
    ea_all, eb_all = px_extents(ctx, a_name), px_extents(ctx, b_name)
    a_ok = np.isfinite(ea_all).all(axis=1) & (ac >= 0)
    b_ok = np.isfinite(eb_all).all(axis=1) & (bc >= 0)
    # an image where some object cannot be placed (no size for normalised rows, NaN) is
    # left to the rules that report those objects: matching it would invent mismatches
    common[ac[~a_ok & (ac >= 0)]] = False
    common[bc[~b_ok & (bc >= 0)]] = False
    amask = a_ok & common[np.maximum(ac, 0)]
    bmask = b_ok & common[np.maximum(bc, 0)]
    ae = pd.DataFrame(ea_all[amask], columns=["ax0", "ay0", "ax1", "ay1"])
    ae["image"] = ac[amask]
    ae["a"] = np.flatnonzero(amask)
    be = pd.DataFrame(eb_all[bmask], columns=["bx0", "by0", "bx1", "by1"])
    be["image"] = bc[bmask]
    be["b"] = np.flatnonzero(bmask)
    cand = ae.merge(be, on="image", how="inner", sort=True)
    ea = cand[["ax0", "ay0", "ax1", "ay1"]].to_numpy()
    eb = cand[["bx0", "by0", "bx1", "by1"]].to_numpy()
    cand["iou"] = _iou(ea, eb)
    cand["offset"] = np.abs(ea - eb).max(axis=1) if len(cand) else np.empty(0)
    na = np.bincount(ae["image"].to_numpy(), minlength=len(K))
    nb = np.bincount(be["image"].to_numpy(), minlength=len(K))
    img = cand["image"].to_numpy()
    cand["na"] = na[img]
    cand["nb"] = nb[img]
    single = (cand["na"] == 1) & (cand["nb"] == 1)
    pairs = [cand.loc[single, ["image", "a", "b", "iou", "offset"]]]
    multi = cand[~single]
    if len(multi):
        pairs.append(_assign(multi))
    pairs_df = (
        pd.concat([p for p in pairs if len(p)], ignore_index=True)
        if any(len(p) for p in pairs)
        else pd.DataFrame(
            {
                "image": pd.Series([], dtype=int),
                "a": pd.Series([], dtype=int),
                "b": pd.Series([], dtype=int),
                "iou": pd.Series([], dtype=float),
                "offset": pd.Series([], dtype=float),
            }
        )
    )
    pairs_df["image"] = K.to_numpy(dtype=object)[pairs_df["image"].to_numpy(dtype=int)]
    pairs_df["a"] = pairs_df["a"].astype(int)
    pairs_df["b"] = pairs_df["b"].astype(int)
    # map positional rows back to the objects' index labels
    pairs_df["a"] = ao.index.to_numpy()[pairs_df["a"].to_numpy()]
    pairs_df["b"] = bo.index.to_numpy()[pairs_df["b"].to_numpy()]
    in_common_a = ao.index[amask]
    in_common_b = bo.index[bmask]
    result = {
        "pairs": pairs_df,
        "unmatched_a": np.setdiff1d(in_common_a.to_numpy(), pairs_df["a"].to_numpy()),
        "unmatched_b": np.setdiff1d(in_common_b.to_numpy(), pairs_df["b"].to_numpy()),
        "images": K[common],
    }
    ctx.cache[key] = result
    return result


def _assign(multi: pd.DataFrame) -> pd.DataFrame:
    """Optimal one-to-one pairs on images with several objects (candidate rows: image, a, b, iou).

    Where every object of the smaller side has its best partner (highest IoU) in a different
    object, taking those partners reaches the upper bound of the total IoU, so it is the
    optimum: this case is settled with vectorised group maxima. The remaining images go
    through ``scipy.optimize.linear_sum_assignment``. Pairs with no overlap are dropped.
    """
    out = []
    a_side = (multi["na"] <= multi["nb"]).to_numpy()
    settled_images = []
    for side, other, mask in (("a", "b", a_side), ("b", "a", ~a_side)):
        sub = multi[mask]
        if not len(sub):
            continue
        best = sub.loc[sub.groupby(side, sort=False)["iou"].idxmax()]
        distinct = (~best.duplicated(subset=["image", other], keep=False)).groupby(best["image"]).all()
        ok_images = distinct.index[distinct.to_numpy(dtype=bool)]
        out.append(best[best["image"].isin(ok_images).to_numpy()])
        settled_images.append(ok_images)
    settled = np.concatenate([np.asarray(x) for x in settled_images]) if settled_images else np.empty(0, int)
    rest = multi[~multi["image"].isin(settled).to_numpy()].sort_values(["image", "a", "b"], kind="stable")
    if len(rest):
        img = rest["image"].to_numpy()
        starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
        ends = np.r_[starts[1:], len(img)]
        a_col, b_col = rest["a"].to_numpy(), rest["b"].to_numpy()
        iou = rest["iou"].to_numpy()
        keep: list[np.ndarray] = []
        for s, e in zip(starts, ends):
            ua, ia = np.unique(a_col[s:e], return_inverse=True)
            ub, ib = np.unique(b_col[s:e], return_inverse=True)
            m = np.zeros((len(ua), len(ub)))
            pos = np.full((len(ua), len(ub)), -1)
            m[ia, ib] = iou[s:e]
            pos[ia, ib] = np.arange(s, e)
            r, c = linear_sum_assignment(m, maximize=True)
            keep.append(pos[r, c])
        out.append(rest.iloc[np.concatenate(keep)])
    res = (
        pd.concat(out, ignore_index=True)[["image", "a", "b", "iou", "offset"]]
        if out
        else multi.iloc[:0][["image", "a", "b", "iou", "offset"]]
    )
    return res[res["iou"].to_numpy() > 0]
