"""FA6xx: duplicate images and the leakage they cause. Each group is reported once: as an
error when its members carry conflicting labels or sit in different splits, else as a
warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._findings import dataset_files
from .registry import CheckContext, Severity, rule


def _image_labels(ctx: CheckContext) -> pd.Series:
    """Per image: 'fractured' / 'not fractured' (dataset.csv, else: objects in any source)."""
    ds = ctx.dataset
    im = ds.images
    if ds.has_csv:
        from ._csv import csv_numeric

        fr = csv_numeric(ctx, "fractured")
        lab = pd.Series(
            np.where(fr == 1, "fractured", np.where(fr == 0, "not fractured", None)), index=im.index, dtype=object
        )
    else:
        lab = pd.Series([None] * len(im), index=im.index, dtype=object)
    labelled = set()
    for src in ds.sources.values():
        labelled.update(src.objects["image"].dropna().unique())
    missing = lab.isna().to_numpy()
    lab[missing] = np.where(im.index[missing].isin(list(labelled)), "fractured", "not fractured")
    return lab


def _group_findings(ctx: CheckContext, kind: str, what: str) -> list[dict] | None:
    groups = ctx.duplicate_groups
    groups = groups[groups["kind"] == kind]
    if not len(groups):
        return None
    ds = ctx.dataset
    labels = _image_labels(ctx)
    split = ds.images["split"] if "split" in ds.images else pd.Series(dtype=object)
    paths = ds.images["path"]
    out = []
    for _, g in groups.groupby("group", sort=True):
        members = sorted(g["image"])
        labs = labels.reindex(members)
        spl = split.reindex(members)
        conflict = labs.nunique(dropna=True) > 1
        splits = sorted(set(spl.dropna()))
        leak = len(splits) > 1
        parts = [f"{len(members)} images {what}: {', '.join(members)}"]
        if conflict:
            parts.append("conflicting labels: " + ", ".join(f"{m} {l}" for m, l in zip(members, labs)))
        if leak:
            parts.append(
                "in different splits (leakage): "
                + ", ".join(f"{m} {s}" for m, s in zip(members, spl) if isinstance(s, str))
            )
        out.append(
            {
                "image": members[0],
                "message": "; ".join(parts),
                "severity": "error" if (conflict or leak) else "warning",
                "file": dataset_files(ctx, [paths.get(members[0])])[0],
                "related": members,
            }
        )
    return out


_SEVERITY_NOTE = """
    Each group is reported once, on its first image: as an **error** when its members
    carry conflicting labels (`dataset.csv` fractured, else whether any source labels
    them) or sit in different splits (leakage), as a **warning** otherwise.
"""


@rule("FA601", "byte-identical-images", Severity.WARNING, reads_scan=True)
def byte_identical_images(ctx: CheckContext):
    """Several image files are byte-identical.

    ## What it does
    Finds files with identical bytes (hashing only files whose size collides, so it runs
    even with `--fast`). Each group is reported once, on its first image: as an error
    when its members carry conflicting labels (`dataset.csv` fractured, else whether any
    source labels them) or sit in different splits (leakage), as a warning otherwise.

    ## Why is this bad?
    The same radiograph counts twice: in two splits it leaks test images into training;
    with conflicting labels the model is told one image is both fractured and not.
    FracAtlas v7 has 12 exact-byte groups.

    ## Example
    `IMG0000100.jpg` and `IMG0000101.jpg` with the same bytes, one in train, one in test.
    Use instead: keep one, or split by duplicate group.
    """
    return _group_findings(ctx, "byte", "are byte-identical")


@rule("FA602", "identical-pixel-images", Severity.WARNING, needs_pixels=True)
def identical_pixel_images(ctx: CheckContext):
    """Several images have identical pixels after EXIF correction (different bytes).

    ## What it does
    Decodes every image, applies its EXIF orientation, converts to grayscale and hashes
    the pixels; groups of equal hashes whose files are not all byte-identical are
    reported once (error on conflicting labels or different splits, else warning).
    Skipped with `--fast`.

    ## Why is this bad?
    Re-saved or re-tagged copies of one radiograph are invisible to a byte comparison
    but identical to the model. FracAtlas v7 has 79 such groups (84 redundant files).

    ## Example
    `IMG0000100.jpg` and a copy re-saved with a different EXIF block. Use instead: one copy.
    """
    return _group_findings(ctx, "pixel", "have identical pixels after EXIF correction")


@rule("FA603", "near-duplicate-images", Severity.WARNING, needs_pixels=True)
def near_duplicate_images(ctx: CheckContext):
    """Several images are near-duplicates by perceptual hash.

    ## What it does
    Computes a 64-bit DCT perceptual hash (32x32 area-resized grayscale, 8x8 lowest
    frequencies against their median) of each EXIF-corrected image and groups images
    whose hashes differ in at most 6 bits (connected components; re-encoding a JPEG at
    quality 60 moves the hash by a few bits). Groups not already identical in pixels are
    reported once (error on conflicting labels or different splits, else warning).
    Skipped with `--fast`.

    ## Why is this bad?
    Re-encoded, resized or slightly cropped copies leak between splits just as exact
    copies do; FracAtlas has 97 candidate pairs, 18 records in mixed-label components.

    ## Example
    `IMG0000100.jpg` and `IMG0003500.jpg`, the same radiograph saved at two JPEG
    qualities, one fractured and one not. Use instead: resolve the label, keep one.
    """
    return _group_findings(ctx, "near", "are near-duplicates (perceptual hash)")
