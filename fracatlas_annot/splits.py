"""Train / val / test splits: official, stratified, or none; duplicate groups never split.

* ``official``: images named in the FracAtlas split lists (``train.csv``, ``valid.csv``,
  ``test.csv``; fractured images only) keep their list; every other image (the
  non-fractured ones) is drawn with a seeded draw, stratified by body part, in the
  proportions of the official lists.
* ``stratified``: every image is drawn with ``ratios`` and ``seed``, stratified by
  fractured / non-fractured and body part.
* ``none``: every image in ``train`` (no held-out set).

Duplicate groups (from :func:`fracatlas_annot.imaging.duplicates.duplicate_groups`) are drawn as
one unit, so a group always lands in one split. A group that the official lists spread over
several splits is gathered into the split holding most of its listed images (ties go to
train); each moved image is reported with ``reason == "duplicate-group"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import UsageError

__all__ = ["SPLITS", "METHODS", "BODY_PARTS", "make_splits", "body_part", "write_splits_csv", "parse_ratios"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
METHODS: tuple[str, ...] = ("official", "stratified", "none")
#: Body-part flags of dataset.csv, in the order used to name a stratum.
BODY_PARTS: tuple[str, ...] = ("hand", "leg", "hip", "shoulder")
_LIST_NAMES = {"train": "train", "valid": "val", "val": "val", "validation": "val", "test": "test"}
SPLIT_COLUMNS = ["split", "fractured", "stratum", "group", "reason", "listed"]


def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> (0.8, 0.1, 0.1); two values mean no test split. Must sum to 1."""
    try:
        values = [float(v) for v in text.split(",")] if isinstance(text, str) else [float(v) for v in text]
    except (TypeError, ValueError):
        raise UsageError(f"ratios must be 2 or 3 numbers separated by commas (train,val[,test]), got {text!r}") from None
    if len(values) == 2:
        values.append(0.0)
    if len(values) != 3 or any(v < 0 or not np.isfinite(v) for v in values) or abs(sum(values) - 1) > 1e-6:
        raise UsageError(f"ratios must be 2 or 3 non-negative numbers summing to 1 (train,val[,test]), got {text!r}")
    return (values[0], values[1], values[2])


def body_part(images: pd.DataFrame) -> pd.Series:
    """The body-part stratum of each image: hand / leg / hip / shoulder, ``mixed`` when the
    ``mixed`` flag or several part flags are set, ``unknown`` without dataset.csv."""
    cols = [c for c in BODY_PARTS if c in images.columns]
    if not cols:
        return pd.Series("unknown", index=images.index, dtype=object)
    flags = images[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy() > 0
    n = flags.sum(axis=1)
    first = np.array(cols, dtype=object)[flags.argmax(axis=1)]
    part = np.where(n == 0, "other", np.where(n > 1, "mixed", first)).astype(object)
    if "mixed" in images.columns:
        mixed = pd.to_numeric(images["mixed"], errors="coerce").fillna(0).to_numpy() > 0
        part[mixed] = "mixed"
    return pd.Series(part, index=images.index, dtype=object)


def make_splits(
    images: pd.DataFrame,
    *,
    method: str = "official",
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    split_lists: pd.DataFrame | None = None,
    groups: pd.DataFrame | None = None,
    fractured: pd.Series | None = None,
) -> pd.DataFrame:
    """Assign every image of ``images`` (index: image key) to train / val / test.

    Args:
        images: the images table (``hand`` ... ``mixed`` and ``fractured`` columns used when present).
        method: ``official``, ``stratified`` or ``none``.
        ratios: train, val, test proportions for ``stratified``.
        seed: seed of the draw.
        split_lists: raw rows of the official lists (``split``, ``image``); falls back to the
            images table's ``split`` column.
        groups: duplicate groups (``image``, ``group``); images in one group share a split.
        fractured: per-image fractured flag when the images table has no ``fractured`` column.

    Returns:
        DataFrame indexed like ``images`` with ``split``, ``fractured``, ``stratum``,
        ``group``, ``reason`` (``official-list``, ``drawn``, ``duplicate-group``, ``none``)
        and ``listed`` (the official list an image is in, or None).
    """
    if method not in METHODS:
        raise UsageError(f"unknown split method {method!r}; use one of {', '.join(METHODS)}")
    keys = pd.Index(images.index, dtype=object, name="image")
    out = pd.DataFrame(index=keys)
    out["fractured"] = _fractured(images, fractured).to_numpy()
    out["stratum"] = np.where(out["fractured"].to_numpy(), "fractured/", "non_fractured/").astype(object) + body_part(
        images
    ).to_numpy()
    out["group"] = _units(keys, groups)
    out["listed"] = None
    if method == "none":
        out["split"] = "train"
        out["reason"] = "none"
        out["group"] = pd.Series(_group_labels(out["group"].to_numpy(dtype=object)), index=out.index, dtype=object)
        return out[SPLIT_COLUMNS]
    ratios = parse_ratios(ratios)
    out["split"] = None
    out["reason"] = "drawn"
    if method == "official":
        listed = _listed(keys, images, split_lists)
        if listed.notna().sum() == 0:
            raise UsageError("no official split lists found (Utilities/Fracture Split/*.csv); use --split stratified or none")
        out["listed"] = listed.to_numpy()
        counts = listed.value_counts()
        total = int(counts.sum())
        ratios = tuple(float(counts.get(s, 0)) / total for s in SPLITS)  # type: ignore[assignment]
        # units holding listed images follow the list (majority; ties -> train, then val)
        has = out[out["listed"].notna()]
        if len(has):
            order = {s: i for i, s in enumerate(SPLITS)}
            tally = has.groupby(["group", "listed"]).size().reset_index(name="n")
            tally["rank"] = tally["listed"].map(order)
            tally = tally.sort_values(["group", "n", "rank"], ascending=[True, False, True])
            unit_split = tally.drop_duplicates("group").set_index("group")["listed"]
            in_listed_unit = out["group"].isin(unit_split.index).to_numpy()
            out.loc[in_listed_unit, "split"] = out.loc[in_listed_unit, "group"].map(unit_split).to_numpy()
            out.loc[in_listed_unit, "reason"] = "official-list"
            listed_here = out["listed"].notna().to_numpy()
            # unlisted members follow their group; listed members placed elsewhere are moved
            follow = in_listed_unit & ~listed_here
            moved = in_listed_unit & listed_here & (out["split"].to_numpy() != out["listed"].to_numpy())
            out.loc[follow | moved, "reason"] = "duplicate-group"
    todo = out["split"].isna().to_numpy()
    if todo.any():
        out.loc[todo, "split"] = _draw(out[todo], ratios=ratios, seed=seed)
    out["group"] = pd.Series(_group_labels(out["group"].to_numpy(dtype=object)), index=out.index, dtype=object)
    return out[SPLIT_COLUMNS]


def _group_labels(units: np.ndarray) -> np.ndarray:
    """``dup:<n>`` -> ``"<n>"``; singletons -> None."""
    return np.array([u[4:] if isinstance(u, str) and u.startswith("dup:") else None for u in units], dtype=object)


def _fractured(images: pd.DataFrame, fallback: pd.Series | None) -> pd.Series:
    if "fractured" in images.columns:
        fr = pd.to_numeric(images["fractured"], errors="coerce")
        if fallback is not None:
            fr = fr.fillna(fallback.reindex(images.index).astype(float))
        return (fr.fillna(0) > 0).astype(bool)
    if fallback is not None:
        return fallback.reindex(images.index).fillna(False).astype(bool)
    return pd.Series(False, index=images.index)


def _units(keys: pd.Index, groups: pd.DataFrame | None) -> np.ndarray:
    """Unit id of each image: ``dup:<n>`` for members of a duplicate group, else the key.

    An image can sit in several groups (a byte group and a near-duplicate group): groups
    sharing an image are merged (connected components), so the whole chain is one unit.
    """
    unit = np.asarray(keys, dtype=object).copy()
    if groups is None or not len(groups):
        return unit
    g = groups[groups["image"].isin(keys)]
    if not len(g):
        return unit
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    img_pos = keys.get_indexer(g["image"])
    gcodes, _ = pd.factorize(g["group"])
    n = len(keys)
    graph = coo_matrix((np.ones(len(g), dtype=np.int8), (img_pos, n + gcodes)), shape=(n + gcodes.max() + 1,) * 2)
    comp = connected_components(graph, directed=False)[1][:n]
    sizes = np.bincount(comp)
    multi = sizes[comp] > 1
    unit[multi] = np.array([f"dup:{c}" for c in comp[multi]], dtype=object)
    return unit


def has_split_lists(keys: pd.Index, images: pd.DataFrame, split_lists: pd.DataFrame | None) -> bool:
    """True when official split lists (or split folders) name at least one of ``keys``."""
    return bool(_listed(keys, images, split_lists).notna().any())


def _listed(keys: pd.Index, images: pd.DataFrame, split_lists: pd.DataFrame | None) -> pd.Series:
    if split_lists is not None and len(split_lists):
        rows = split_lists[["split", "image"]].copy()
        rows["split"] = rows["split"].astype(str).str.lower().map(_LIST_NAMES)
        rows = rows.dropna().drop_duplicates("image", keep="first")
        return rows.set_index("image")["split"].reindex(keys).astype(object)
    if "split" in images.columns:
        return images["split"].astype(object).where(images["split"].notna(), None).map(
            lambda s: _LIST_NAMES.get(str(s).lower()) if s is not None else None
        )
    return pd.Series(None, index=keys, dtype=object)


def _draw(frame: pd.DataFrame, *, ratios: Sequence[float], seed: int) -> np.ndarray:
    """Seeded draw of whole units, stratified by each unit's stratum (its first image's).

    Units are shuffled within their stratum and laid end to end; a systematic sample with a
    random start per stratum cuts them at the ratio edges, so every stratum gets its
    proportions to within one unit and a one-image stratum still lands in each split with
    the right probability.
    """
    unit_code, units = pd.factorize(frame["group"].to_numpy(dtype=object), sort=True)
    n_units = len(units)
    first = np.full(n_units, len(frame), dtype=np.int64)
    np.minimum.at(first, unit_code, np.arange(len(frame)))
    strata_codes, strata = pd.factorize(frame["stratum"].to_numpy(dtype=object)[first], sort=True)
    size = np.bincount(unit_code, minlength=n_units).astype(float)
    rng = np.random.default_rng(seed)
    key = rng.random(n_units)
    start = rng.random(len(strata))
    order = np.lexsort((key, strata_codes))
    s_codes = strata_codes[order]
    s_size = size[order]
    cum = np.cumsum(s_size)
    total_per = np.bincount(s_codes, weights=s_size, minlength=len(strata))
    before = np.concatenate([[0.0], np.cumsum(total_per)[:-1]])
    cum_in = cum - before[s_codes]
    position = (cum_in - s_size + start[s_codes] * s_size) / total_per[s_codes]
    edges = np.cumsum(np.asarray(ratios, dtype=float))[:-1]
    unit_split = np.empty(n_units, dtype=object)
    unit_split[order] = np.asarray(SPLITS, dtype=object)[np.searchsorted(edges, position, side="right")]
    return unit_split[unit_code]


def write_splits_csv(table: pd.DataFrame, path: Path) -> None:
    """Write the split table as CSV (``image,split,fractured,stratum,group,reason,listed``)."""
    frame = table.reset_index()
    frame["fractured"] = frame["fractured"].astype(int)
    frame.to_csv(path, index=False, lineterminator="\n")


def split_counts(table: pd.DataFrame) -> dict[str, Any]:
    """Images per split, and per split x fractured."""
    out: dict[str, Any] = {}
    for s in SPLITS:
        part = table[table["split"] == s]
        out[s] = {"images": int(len(part)), "fractured": int(part["fractured"].sum())}
    return out
