"""FA7xx: the split lists (`Utilities/Fracture Split/{train,valid,test}.csv`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._csv import csv_numeric
from .registry import CheckContext, Severity, findings, rule


def _lists(ctx: CheckContext) -> pd.DataFrame:
    sl = ctx.dataset.split_lists
    if sl is None or not len(sl):
        return pd.DataFrame(columns=["split", "image", "file", "line"])
    return sl[sl["image"].notna().to_numpy()]


@rule("FA701", "image-in-several-splits", Severity.ERROR)
def image_in_several_splits(ctx: CheckContext):
    """An image is listed in more than one split list.

    ## What it does
    Reports images that appear in two or more of `train.csv`, `valid.csv`, `test.csv`
    (once per image, at its later listing).

    ## Why is this bad?
    It is trained on and evaluated on: the reported metrics are inflated.

    ## Example
    `IMG0003300.jpg` in both `train.csv` and `test.csv`. Use instead: one split per image.
    """
    sl = _lists(ctx)
    if not len(sl):
        return None
    n = sl.groupby("image")["split"].transform("nunique")
    multi = sl[(n > 1).to_numpy()]
    if not len(multi):
        return None
    desc = multi.groupby("image")["split"].agg(lambda s: ", ".join(sorted(set(s))))
    rows = multi.drop_duplicates(subset=["image"], keep="last")
    return findings(
        image=rows["image"],
        message=[f"listed in several splits: {desc[k]}" for k in rows["image"]],
        file=rows["file"],
        line=rows["line"],
    )


@rule("FA702", "split-entry-not-in-csv", Severity.ERROR)
def split_entry_not_in_csv(ctx: CheckContext):
    """A split list names an image that `dataset.csv` does not have.

    ## What it does
    Reports split-list rows whose image id is not a `dataset.csv` row (or, without a
    CSV, not an image of the dataset).

    ## Why is this bad?
    A typo or a renamed file: the split loses that image, and loaders that join on the id
    crash or drop it silently.

    ## Example
    `IMG000019.jpg` (one digit short) in `train.csv`. Use instead: `IMG0000019.jpg`.
    """
    sl = _lists(ctx)
    ds = ctx.dataset
    if not len(sl) or not len(ds.images):
        return None
    im = ds.images
    known = im.index[im["in_csv"].fillna(False).to_numpy(dtype=bool)] if ds.has_csv and "in_csv" in im else im.index
    bad = sl[~sl["image"].isin(known).to_numpy()]
    if not len(bad):
        return None
    where = "dataset.csv" if ds.has_csv else "the dataset"
    return findings(
        image=bad["image"],
        message=f"split `{'`/`'.join(sorted(set(bad['split'])))}` lists an image not in {where}",
        file=bad["file"],
        line=bad["line"],
    )


@rule("FA703", "non-fractured-image-in-split", Severity.ERROR)
def non_fractured_image_in_split(ctx: CheckContext):
    """A non-fractured image appears in the fractured-only split lists.

    ## What it does
    Reports split-list rows whose image has `fractured=0` in `dataset.csv`. FracAtlas's
    official lists (`Utilities/Fracture Split`) hold only fractured images.

    ## Why is this bad?
    The list and the CSV disagree about the image: either the label or the list is wrong,
    and the official split statistics (574/82/61) no longer hold.

    ## Example
    `IMG0000025.jpg` (`fractured=0`) in `valid.csv`. Use instead: fix the label or the list.
    """
    sl = _lists(ctx)
    ds = ctx.dataset
    if not len(sl) or not ds.has_csv:
        return None
    fr = csv_numeric(ctx, "fractured")
    fr = fr[~fr.index.duplicated()]
    v = fr.reindex(sl["image"]).to_numpy(dtype="float64", na_value=np.nan)
    bad = sl[v == 0]
    if not len(bad):
        return None
    return findings(
        image=bad["image"],
        message=[f"in `{s}` but dataset.csv says fractured=0" for s in bad["split"]],
        file=bad["file"],
        line=bad["line"],
    )


@rule("FA704", "fractured-image-in-no-split", Severity.ERROR)
def fractured_image_in_no_split(ctx: CheckContext):
    """A fractured image is in none of the split lists.

    ## What it does
    Reports images with `fractured=1` in `dataset.csv` that no split list names (only
    when split lists exist). The official lists cover all fractured images.

    ## Why is this bad?
    The image is neither trained on nor evaluated: its fractures are lost to the official
    split.

    ## Example
    `IMG0003375.jpg` fractured in v7 but missing from `test.csv`. Use instead: add it to
    one list.
    """
    sl = _lists(ctx)
    ds = ctx.dataset
    if not len(sl) or not ds.has_csv:
        return None
    im = ds.images
    fr = csv_numeric(ctx, "fractured").to_numpy(dtype="float64", na_value=np.nan)
    listed = im.index.isin(sl["image"].unique())
    bad = (fr == 1) & ~listed
    if "in_csv" in im:
        bad &= im["in_csv"].fillna(False).astype(bool).to_numpy()
    if not bad.any():
        return None
    keys = im.index[bad]
    line = im["csv_line"].reindex(keys).to_numpy(dtype=object) if "csv_line" in im else None
    return findings(
        image=keys,
        message="fractured=1 in dataset.csv but in no split list",
        file=ds.meta.get("csv_path") or "dataset.csv",
        line=line,
    )


@rule("FA705", "duplicate-split-entry", Severity.WARNING)
def duplicate_split_entry(ctx: CheckContext):
    """A split list names the same image twice.

    ## What it does
    Reports the repeated rows of an image within one split list.

    ## Why is this bad?
    The image is over-weighted in training, or counted twice in evaluation.

    ## Example

        image_id
        IMG0000019.jpg
        IMG0000019.jpg

    Use instead: one row.
    """
    sl = _lists(ctx)
    if not len(sl):
        return None
    dup = sl[sl.duplicated(subset=["split", "image"], keep="first").to_numpy()]
    if not len(dup):
        return None
    return findings(
        image=dup["image"], message=[f"listed twice in `{s}`" for s in dup["split"]], file=dup["file"], line=dup["line"]
    )
