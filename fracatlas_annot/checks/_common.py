"""The one-to-one object matcher of the box-vs-polygon, cross-format and structure rules
(IoU of extents, optimal assignment per image, with the IoU and assignment of
:mod:`fracatlas_annot.agreement.matching`), computed once per context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..agreement.matching import assign_max_iou, box_iou_pairs
from ._keys import keyspace, listed_mask, object_codes
from ._sizes import px_extents
from .registry import CheckContext


def _count_of(codes: np.ndarray, which: np.ndarray) -> np.ndarray:
    """How often each of ``which`` (all present in ``codes``) occurs in ``codes``: sorted
    counts of the codes there are, not an array over every key."""
    values, counts = np.unique(codes, return_counts=True)
    return counts[np.searchsorted(values, which)]


def _join_on_image(ac: np.ndarray, amask: np.ndarray, bc: np.ndarray, bmask: np.ndarray) -> pd.DataFrame:
    """Every pair of an ``a`` row and a ``b`` row (positions where ``amask`` / ``bmask``) on
    the same image code: columns ``image``, ``a``, ``b``, in the order of an inner
    ``merge(on="image", sort=True)`` (by image, then ``a``, then ``b``). Three integer
    columns instead of a merge of both extent tables (issue 13, point 3: ~8 MiB less at 10^5
    images per pair of sources)."""
    ai = np.flatnonzero(amask)
    ai = ai[np.argsort(ac[ai], kind="stable")]
    bi = np.flatnonzero(bmask)
    bi = bi[np.argsort(bc[bi], kind="stable")]
    ak, bk = ac[ai], bc[bi]
    lo = np.searchsorted(bk, ak, side="left")
    n = np.searchsorted(bk, ak, side="right") - lo
    rep = np.repeat(np.arange(len(ai)), n)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)
    return pd.DataFrame({"image": ak[rep], "a": ai[rep], "b": bi[np.repeat(lo, n) + within]})


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
    cand = _join_on_image(ac, amask, bc, bmask)
    ea, eb = ea_all[cand["a"].to_numpy()], eb_all[cand["b"].to_numpy()]
    cand["iou"], _ = box_iou_pairs(ea, eb, identical_empty=1.0)
    cand["offset"] = np.abs(ea - eb).max(axis=1) if len(cand) else np.empty(0)
    del ea, eb
    img = cand["image"].to_numpy()
    cand["single"] = (_count_of(ac[amask], img) == 1) & (_count_of(bc[bmask], img) == 1)
    chosen = assign_max_iou(cand, a="a", b="b", group="image")
    # a pair with no overlap counts only on an image with one object in each source
    chosen = chosen[(chosen["iou"].to_numpy() > 0) | chosen["single"].to_numpy(dtype=bool)]
    pairs_df = chosen[["image", "a", "b", "iou", "offset"]].reset_index(drop=True)
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
