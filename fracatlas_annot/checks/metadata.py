"""FA4xx: ``dataset.csv`` against the image folders, the annotations and the disk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._csv import csv_numeric, in_csv
from ._findings import concat, dataset_files
from ._keys import counts_array, dataset_array, keyspace, listed_mask
from .registry import CheckContext, Severity, findings, rule

FRACTURED_FOLDERS = {"fractured": 1, "non_fractured": 0, "nonfractured": 0, "non-fractured": 0}


def _csv_int(ctx: CheckContext, col: str) -> pd.Series:
    return csv_numeric(ctx, col)


def _shown(value: object) -> str:
    """A ``dataset.csv`` cell as the messages show it: its repr, an integer as ``np.int64(2)``
    whichever width the column was stored in (the flags are ``Int8``)."""
    return repr(np.int64(value)) if isinstance(value, np.integer) else repr(value)


def _csv_loc(ctx: CheckContext, keys) -> tuple:
    meta = ctx.dataset.meta
    f = meta.get("csv_path") or meta.get("csv") or "dataset.csv"
    im = ctx.dataset.images
    line = im["csv_line"].reindex(keys).to_numpy(dtype=object) if "csv_line" in im else None
    return str(f), line


@rule("FA401", "fractured-flag-vs-folder", Severity.ERROR)
def fractured_flag_vs_folder(ctx: CheckContext):
    """`dataset.csv` says `fractured` but the image sits in the other folder.

    ## What it does
    Compares each image's `fractured` value in `dataset.csv` with its folder
    (`images/Fractured` = 1, `images/Non_fractured` = 0).

    ## Why is this bad?
    Loaders that walk the folders and loaders that read the CSV build different label
    sets. FracAtlas shipped `IMG0003298.jpg` with `fractured=0` in the Fractured folder,
    with a box (fixed in Nov 2023).

    ## Example

        image_id,...,fractured,fracture_count,...
        IMG0003298.jpg,...,0,0,...        (file in images/Fractured/)

    Use instead: `fractured=1` and the right `fracture_count`.
    """
    ds = ctx.dataset
    if not ds.has_csv or "folder" not in ds.images:
        return None
    im = ds.images
    names = im["folder"].astype(object)
    lookup = {f: FRACTURED_FOLDERS.get(str(f).lower()) for f in names.dropna().unique()}
    folder = names.map(lookup).astype("float64")
    fr = _csv_int(ctx, "fractured")
    known = folder.notna().to_numpy() & fr.notna().to_numpy() & in_csv(ctx)
    bad = pd.Series(known & (folder.to_numpy() != fr.to_numpy()), index=im.index)
    if not bad.any():
        return None
    rows = im[bad.to_numpy()]
    f, line = _csv_loc(ctx, rows.index)
    return findings(
        image=rows.index,
        message=[
            f"dataset.csv fractured={int(v)} but the file is in `{fo}`"
            for v, fo in zip(fr[bad.to_numpy()], rows["folder"])
        ],
        file=f,
        line=line,
    )


@rule("FA402", "fractured-flag-vs-annotations", Severity.ERROR, caches=("counts_array",))
def fractured_flag_vs_annotations(ctx: CheckContext):
    """`dataset.csv` says fractured but no source has an object there, or the reverse.

    ## What it does
    Reports images with `fractured=1` that no annotation source labels, and images with
    `fractured=0` that some source labels (once per image, naming the sources).

    ## Why is this bad?
    A classifier trained from the CSV and a detector trained from the annotations disagree
    about the image; a positive without boxes trains the detector that the fracture is
    background.

    ## Example
    `IMG0003298.jpg`: `fractured=0` in `dataset.csv`, one box in its VOC and YOLO files.
    Use instead: `fractured=1`.
    """
    ds = ctx.dataset
    if not ds.has_csv or not ds.sources:
        return None
    mask = in_csv(ctx)
    im = ds.images[mask]
    fr = csv_numeric(ctx, "fractured")[mask]
    # the cached per-key counts (int32 over the key space), not a Series per source
    codes = keyspace(ctx).get_indexer(im.index.to_numpy(dtype=object))
    found = codes >= 0
    has_by = {n: found & (counts_array(ctx, n)[np.where(found, codes, 0)] > 0) for n in ds.sources}
    any_obj = np.zeros(len(im), dtype=bool)
    for has in has_by.values():
        any_obj |= has
    pos_unlabelled = (fr == 1).to_numpy() & ~any_obj
    neg_labelled = (fr == 0).to_numpy() & any_obj
    parts = []
    if pos_unlabelled.any():
        keys = im.index[pos_unlabelled]
        f1, line = _csv_loc(ctx, keys)
        parts.append(
            findings(
                image=keys,
                message="dataset.csv fractured=1 but no annotation source has an object on it",
                file=f1,
                line=line,
            )
        )
    if neg_labelled.any():
        keys = im.index[neg_labelled]
        f1, line = _csv_loc(ctx, keys)
        parts.append(
            findings(
                image=keys,
                message=[
                    "dataset.csv fractured=0 but "
                    + ", ".join(f"`{n}`" for n, h in has_by.items() if h[i])
                    + " label it"
                    for i in np.flatnonzero(neg_labelled)
                ],
                file=f1,
                line=line,
            )
        )
    return concat(parts)


@rule("FA403", "fracture-count-mismatch", Severity.ERROR, caches=("counts_array", "listed_mask"))
def fracture_count_mismatch(ctx: CheckContext):
    """`fracture_count` in `dataset.csv` differs from the number of objects in a source.

    ## What it does
    For each source and each image it lists, compares the object count with the CSV's
    `fracture_count` (FracAtlas's VOC and YOLO counts equal it for every image).

    ## Why is this bad?
    An object was lost or added in that export, or the CSV is stale: instance counts and
    per-split statistics differ from the paper's and from each other.

    ## Example
    `fracture_count=2` for `IMG0000019.jpg`, one `<object>` in its VOC file. Use instead:
    both boxes in the export, or the corrected count.
    """
    ds = ctx.dataset
    if not ds.has_csv or "fracture_count" not in ds.images:
        return None
    fc = _csv_int(ctx, "fracture_count").where(in_csv(ctx))
    fc_all = dataset_array(ctx, fc)
    keys_all = keyspace(ctx).to_numpy(dtype=object)
    parts = []
    for n, src in ds.sources.items():
        have_all = counts_array(ctx, n)
        sel = listed_mask(ctx, n) & ~np.isnan(fc_all) & (have_all != fc_all)
        if sel.any():
            k = keys_all[sel]
            have, want = have_all[sel], fc_all[sel].astype("int64")
            bad = np.ones(len(k), dtype=bool)
            file_of = (
                src.derive_files(src.images["file"][~src.images.index.duplicated()].reindex(k).to_numpy(dtype=object), k)
                if len(src.images)
                else None
            )
            parts.append(
                findings(
                    image=k,
                    source=n,
                    message=[
                        f"dataset.csv fracture_count={w} but `{n}` has {h} object(s)"
                        for w, h in zip(want[bad], have[bad])
                    ],
                    file=file_of,
                )
            )
    return concat(parts)


@rule("FA404", "image-missing-on-disk", Severity.ERROR)
def image_missing_on_disk(ctx: CheckContext):
    """An image listed in `dataset.csv` has no file on disk.

    ## What it does
    Reports each `dataset.csv` row whose image is in neither image folder. When no image
    file exists at all (an annotations-only copy), one dataset-level finding says so
    instead of one per row.

    ## Why is this bad?
    Training fails on the missing file or silently skips it (and its labels).

    ## Example
    `IMG0000019.jpg` in `dataset.csv`, no `images/*/IMG0000019.jpg`. Use instead: the full
    archive.
    """
    ds = ctx.dataset
    if not ds.has_csv or not len(ds.images):
        return None
    im = ds.images
    listed_ = in_csv(ctx)
    missing = listed_ & im["path"].isna().to_numpy()
    if not missing.any():
        return None
    if missing.sum() == listed_.sum():
        return findings(
            message=f"none of the {int(listed_.sum())} images of dataset.csv is on disk (images folder missing?)",
            file=_csv_loc(ctx, [])[0],
        )
    keys = im.index[missing]
    f, line = _csv_loc(ctx, keys)
    return findings(image=keys, message="listed in dataset.csv but not found in the image folders", file=f, line=line)


@rule("FA405", "image-not-in-csv", Severity.ERROR)
def image_not_in_csv(ctx: CheckContext):
    """An image file on disk has no row in `dataset.csv`.

    ## What it does
    Reports image files found in the image folders whose name is not in `dataset.csv`.

    ## Why is this bad?
    Its metadata (fractured, body part, view) is unknown; CSV-driven loaders skip it while
    folder-driven ones include it, so the two see different datasets.

    ## Example
    `images/Non_fractured/IMG0009999.jpg` with no `IMG0009999.jpg` row. Use instead: add the
    row, or remove the file.
    """
    ds = ctx.dataset
    if not ds.has_csv or not len(ds.images):
        return None
    im = ds.images
    bad = ~in_csv(ctx) & im["path"].notna().to_numpy()
    if not bad.any():
        return None
    rows = im[bad]
    return findings(
        image=rows.index, message="image file is not listed in dataset.csv", file=dataset_files(ctx, rows["path"])
    )


@rule("FA406", "image-in-both-folders", Severity.ERROR)
def image_in_both_folders(ctx: CheckContext):
    """The same file name exists in more than one image folder.

    ## What it does
    Reports file names found in two folders (FracAtlas v7 ships `IMG0003375.jpg` and
    `IMG0003376.jpg` in both `Fractured/` and `Non_fractured/`).

    ## Why is this bad?
    Iterating over the folders gives 4,085 files for 4,083 rows, and the stray copy in
    `Non_fractured/` trains as a negative while its labels say fractured. Labels keyed by
    stem overwrite each other (label-studio-converter#132).

    ## Example
    `images/Fractured/IMG0003375.jpg` and `images/Non_fractured/IMG0003375.jpg`. Use instead:
    one copy, in the folder `dataset.csv` implies.
    """
    files = ctx.dataset.files
    if not len(files):
        return None
    dup = files[files["image"].duplicated(keep=False)]
    if not len(dup):
        return None
    g = dup.groupby("image", sort=True)
    keys = list(g.groups)
    msgs = [f"file name found in {len(grp)} places: " + ", ".join(dataset_files(ctx, grp["path"])) for _, grp in g]
    paths = dataset_files(ctx, [grp["path"].iloc[-1] for _, grp in g])
    return findings(image=keys, message=msgs, file=paths)


@rule("FA407", "invalid-csv-metadata", Severity.ERROR)
def invalid_csv_metadata(ctx: CheckContext):
    """A `dataset.csv` flag is not 0/1, or `fracture_count` contradicts `fractured`.

    ## What it does
    Reports flags (`hand` ... `oblique`, `fractured`) that are not 0 or 1, a
    `fracture_count` that is negative or not an integer, `fractured=1` with
    `fracture_count=0`, and `fractured=0` with a positive count.

    ## Why is this bad?
    Stratified splits and per-region statistics read these columns; one bad value
    changes a split or crashes an `astype(int)`.

    ## Example

        IMG0000019.jpg,1,0,0,0,0,0,0,1,0,1,0,0

    (`fractured=1`, `fracture_count=0`). Use instead: the real count.
    """
    ds = ctx.dataset
    if not ds.has_csv:
        return None
    mask = in_csv(ctx)
    im = ds.images[mask]
    flags = [
        c
        for c in (
            "hand",
            "leg",
            "hip",
            "shoulder",
            "mixed",
            "hardware",
            "multiscan",
            "fractured",
            "frontal",
            "lateral",
            "oblique",
        )
        if c in im
    ]
    msgs: dict[int, list[str]] = {}
    bad = np.zeros(len(im), dtype=bool)
    for c in flags:
        v = csv_numeric(ctx, c)[mask]
        b = ~v.isin([0, 1]).to_numpy()
        for i in np.flatnonzero(b):
            msgs.setdefault(int(i), []).append(f"{c}={_shown(im[c].iat[i])} is not 0 or 1")
        bad |= b
    if "fracture_count" in im:
        fcv = csv_numeric(ctx, "fracture_count")[mask].to_numpy(dtype="float64", na_value=np.nan)
        b = ~(np.isfinite(fcv) & (fcv >= 0) & (np.mod(fcv, 1) == 0))
        for i in np.flatnonzero(b):
            msgs.setdefault(int(i), []).append(f"fracture_count={_shown(im['fracture_count'].iat[i])} is not a count")
        bad |= b
        if "fractured" in im:
            fr = csv_numeric(ctx, "fractured")[mask].to_numpy(dtype="float64", na_value=np.nan)
            b1 = (fr == 1) & (fcv == 0)
            b0 = (fr == 0) & (fcv > 0)
            for i in np.flatnonzero(b1):
                msgs.setdefault(int(i), []).append("fractured=1 with fracture_count=0")
            for i in np.flatnonzero(b0):
                msgs.setdefault(int(i), []).append(f"fractured=0 with fracture_count={int(fcv[i])}")
            bad |= b1 | b0
    if not bad.any():
        return None
    keys = im.index[bad]
    f, line = _csv_loc(ctx, keys)
    return findings(image=keys, message=["; ".join(msgs[int(i)]) for i in np.flatnonzero(bad)], file=f, line=line)
