"""The key space: every image key the dataset or a source mentions gets an integer code once
per context, and per-source facts become arrays over it.

Set operations on 10^5 file names are the slow part of per-image rules; on integer codes
they are numpy indexing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .registry import CheckContext


def keyspace(ctx: CheckContext) -> pd.Index:
    """Every image key the dataset or any source mentions, once (cached)."""
    if "keyspace" not in ctx.cache:
        base = ctx.dataset.images.index
        parts = [np.asarray(src, dtype=object) for src in _source_keys(ctx)]
        if base.is_unique:
            # the images table's own index (and its hash table) when it holds every key,
            # else it followed by the keys it lacks, in order of appearance: a second index
            # and hash table of 10^5 keys per run otherwise (issue 13, point 3)
            missing = [p[base.get_indexer(p) < 0] for p in parts]
            missing = [m for m in missing if len(m)]
            if missing or base.dtype != object:
                extra = pd.unique(np.concatenate(missing)) if missing else []
                base = pd.Index(np.concatenate([base.to_numpy(dtype=object), np.asarray(extra, dtype=object)]), dtype=object)
            ctx.cache["keyspace"] = base
        else:
            ctx.cache["keyspace"] = pd.Index(pd.unique(np.concatenate([np.asarray(base, dtype=object), *parts])),
                                             dtype=object)  # fmt: skip
    return ctx.cache["keyspace"]


def _source_keys(ctx: CheckContext) -> list[Any]:
    out: list[Any] = []
    for src in ctx.dataset.sources.values():
        out.append(src.images.index)
        out.append(src.objects["image"].dropna())
    return out


def object_codes(ctx: CheckContext, name: str) -> np.ndarray:
    """Key codes of a source's objects' images (-1 for a missing image)."""
    key = f"object_codes:{name}"
    if key not in ctx.cache:
        ctx.cache[key] = keyspace(ctx).get_indexer(ctx.dataset.sources[name].objects["image"].to_numpy(dtype=object))
    return ctx.cache[key]


def listed_mask(ctx: CheckContext, name: str) -> np.ndarray:
    """Boolean array over :func:`keyspace`: images the source lists or has objects on."""
    key = f"listed_mask:{name}"
    if key not in ctx.cache:
        K = keyspace(ctx)
        m = np.zeros(len(K), dtype=bool)
        codes = K.get_indexer(np.asarray(ctx.dataset.sources[name].images.index, dtype=object))
        m[codes[codes >= 0]] = True
        oc = object_codes(ctx, name)
        m[oc[oc >= 0]] = True
        ctx.cache[key] = m
    return ctx.cache[key]


def counts_array(ctx: CheckContext, name: str) -> np.ndarray:
    """Objects per key of :func:`keyspace` for a source (int array)."""
    key = f"counts_array:{name}"
    if key not in ctx.cache:
        oc = object_codes(ctx, name)
        # int32: one of these per source over every key stays cached for the whole run
        ctx.cache[key] = np.bincount(oc[oc >= 0], minlength=len(keyspace(ctx))).astype(np.int32)
    return ctx.cache[key]


def dataset_array(ctx: CheckContext, values: pd.Series, fill: Any = np.nan) -> np.ndarray:
    """A column of the images table laid over :func:`keyspace` (``fill`` where absent)."""
    K = keyspace(ctx)
    im = ctx.dataset.images
    out = np.full(len(K), fill, dtype=values.dtype if values.dtype != object else object)
    codes = K.get_indexer(np.asarray(im.index, dtype=object))
    out[codes] = values.to_numpy()
    return out
