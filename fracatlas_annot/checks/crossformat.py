"""FA3xx: the same images across annotation sources: object counts, boxes, labels, image
lists and declared image sizes. Each source is compared with the reference source (COCO
first, see ``_sources.reference_source``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import match_sources
from ._csv import in_csv
from ._findings import concat, dataset_files, fmt, object_findings
from ._keys import counts_array, keyspace, listed_mask
from ._sources import compared_pairs, counts_cached, lists_negatives, source_file
from .registry import CheckContext, Severity, findings, rule


def _same_kind_pairs(ctx: CheckContext) -> list[tuple[str, str]]:
    ds = ctx.dataset
    return [
        (s, r)
        for s, r in compared_pairs(ctx)
        if (ds.sources[s].geometry == "polygon") == (ds.sources[r].geometry == "polygon")
    ]


def _file_of(src, keys) -> np.ndarray | None:
    if not len(src.images):
        return None
    f = src.images["file"][~src.images.index.duplicated()]
    return src.derive_files(f.reindex(keys).to_numpy(dtype=object), keys)


@rule("FA301", "object-count-mismatch", Severity.ERROR, caches=("counts_array", "listed_mask", "object_codes"))
def object_count_mismatch(ctx: CheckContext):
    """An image has a different number of objects in two sources of the same kind.

    ## What it does
    Compares, per image both list, the object count of each source with the reference
    source of the same kind (box with box: VOC, YOLO, CSV; polygon with polygon: COCO, VGG).
    Box against polygon counts are FA203.

    ## Why is this bad?
    One export lost or duplicated an object: which one trains depends on the format picked.

    ## Example
    `IMG0000019.xml` has 2 objects, `IMG0000019.txt` 1 line. Use instead: the same boxes in
    every export.
    """
    parts = []
    ds = ctx.dataset
    for s, r in _same_kind_pairs(ctx):
        S = ds.sources[s]
        common = listed_mask(ctx, s) & listed_mask(ctx, r)
        ns_all, nr_all = counts_array(ctx, s), counts_array(ctx, r)
        diff_all = common & (ns_all != nr_all)
        ns, nr = ns_all[diff_all], nr_all[diff_all]
        diff = np.ones(len(ns), dtype=bool)
        if diff_all.any():
            keys = keyspace(ctx).to_numpy(dtype=object)[diff_all]
            parts.append(
                findings(
                    image=keys,
                    source=s,
                    message=[f"{a} object(s) in `{s}`, {b} in `{r}`" for a, b in zip(ns[diff], nr[diff])],
                    file=_file_of(S, keys),
                )
            )
    return concat(parts)


@rule("FA302", "object-geometry-mismatch", Severity.ERROR, caches=("match", "counts"))
def object_geometry_mismatch(ctx: CheckContext):
    """The same object has a different box or extent in two sources of the same kind.

    ## What it does
    Matches objects one to one (IoU of extents) between a source and the reference source
    of the same kind and reports matched pairs whose IoU is below the threshold (0.75) with
    a corner more than 2 px away, and objects left without a partner on an image whose
    counts agree.

    ## Why is this bad?
    YOLO and VOC describing different boxes means one of them was converted wrongly
    (swapped width and height, a wrong image size, an off-by-one convention).

    ## Example
    VOC `<xmin>100</xmin><ymin>100</ymin><xmax>140</xmax><ymax>130</ymax>` but the YOLO line
    of the same image places the box at x 200..240. Use instead: the same box.
    """
    from .boxpoly import OFFSET_TOLERANCE_PX

    parts = []
    ds = ctx.dataset
    for s, r in _same_kind_pairs(ctx):
        S = ds.sources[s]
        m = match_sources(ctx, s, r)
        pairs = m["pairs"]
        bad = pairs[(pairs["iou"] < ctx.iou_threshold) & (pairs["offset"] > OFFSET_TOLERANCE_PX)]
        if len(bad):
            rows = S.objects.loc[bad["a"].to_numpy()]
            rloc = ds.sources[r].objects.loc[bad["b"].to_numpy(), "loc"].to_numpy()
            msgs = [
                f"object matches `{r}` ({l}) with IoU {i:.2f}, corners up to {fmt(o)} px apart"
                for i, o, l in zip(bad["iou"], bad["offset"], rloc)
            ]
            parts.append(object_findings(s, rows, msgs))
        # unmatched objects on images whose counts agree (count mismatches are FA301)
        ua = S.objects.loc[m["unmatched_a"]]
        if len(ua):
            ns = counts_cached(ctx, s)
            nr = counts_cached(ctx, r)
            same = ns.reindex(ua["image"]).to_numpy() == nr.reindex(ua["image"], fill_value=0).to_numpy()
            ua = ua[same]
            if len(ua):
                parts.append(object_findings(s, ua, f"object overlaps no object of `{r}` on this image"))
    return concat(parts)


@rule("FA303", "label-mismatch", Severity.ERROR, caches=("match",))
def label_mismatch(ctx: CheckContext):
    """The same object carries different labels in two sources.

    ## What it does
    Matches objects one to one (IoU of extents) between each source and the reference
    source and reports matched pairs whose label names differ.

    ## Why is this bad?
    The class an object trains as depends on the export used. With one class this is
    usually a renamed label (see FA012) or a copied class id (FA011).

    ## Example
    COCO `category_id: 1` (`fractured`) and YOLO class `1` (`hardware`) for the same box.
    Use instead: the same label in every export.
    """
    parts = []
    ds = ctx.dataset
    for s, r in compared_pairs(ctx):
        S, R = ds.sources[s], ds.sources[r]
        pairs = match_sources(ctx, s, r)["pairs"]
        if not len(pairs):
            continue
        ls = S.objects.loc[pairs["a"].to_numpy(), "label"].to_numpy(dtype=object)
        lr = R.objects.loc[pairs["b"].to_numpy(), "label"].to_numpy(dtype=object)
        known = pd.notna(ls) & pd.notna(lr)
        bad = known & (ls != lr)
        if bad.any():
            rows = S.objects.loc[pairs["a"].to_numpy()[bad]]
            parts.append(
                object_findings(s, rows, [f"label `{a}` but `{b}` in `{r}`" for a, b in zip(ls[bad], lr[bad])])
            )
    return concat(parts)


@rule("FA304", "image-missing-from-source", Severity.ERROR, caches=("counts_array", "listed_mask"))
def image_missing_from_source(ctx: CheckContext):
    """An image that one annotation source has is missing from another.

    ## What it does
    Reports, per source, images that another source lists with objects but this source
    does not list at all, and, for sources that list negative images too (FracAtlas's VOC
    and YOLO folders: one file per image), images of the dataset they lack.

    makesense drops negative images from its COCO and VGG exports by design (an image
    without polygons gets no `images[]` entry): a negative image missing from COCO alone
    is therefore not a finding. A labelled image missing from COCO is.

    ## Why is this bad?
    The missing image trains as a negative in that format although it has fractures, or it
    disappears from the set.

    ## Example
    `Annotations/PASCAL VOC/IMG0000019.xml` has a box, `COCO_fracture_masks.json` has no
    entry for `IMG0000019.jpg`. Use instead: export all labelled images.
    """
    ds = ctx.dataset
    srcs = ds.sources
    if len(srcs) < 2 and not len(ds.images):
        return None
    K = keyspace(ctx)
    keys = K.to_numpy(dtype=object)
    has = {n: counts_array(ctx, n) > 0 for n in srcs}
    in_dataset = np.zeros(len(K), dtype=bool)
    if len(ds.images):
        keep = in_csv(ctx) if ds.has_csv else ds.images["path"].notna().to_numpy()
        codes = K.get_indexer(np.asarray(ds.images.index[keep], dtype=object))
        in_dataset[codes] = True
    parts = []
    for n, src in srcs.items():
        # the folder, or the one file
        where = dataset_files(ctx, [src.path])[0] if src.format in ("voc", "yolo") else source_file(src)
        mine = listed_mask(ctx, n)
        reported = np.zeros(len(K), dtype=bool)
        for other, labelled in has.items():
            if other == n:
                continue
            lost = labelled & ~mine & ~reported
            if lost.any():
                parts.append(
                    findings(
                        image=np.sort(keys[lost]),
                        source=n,
                        message=f"image has objects in `{other}` but is not in `{n}`",
                        file=where,
                    )
                )
                reported |= lost
        if lists_negatives(src):
            missing = in_dataset & ~mine & ~reported
            for other, labelled in has.items():
                if other != n:
                    missing &= ~labelled
            if missing.any():
                parts.append(
                    findings(
                        image=np.sort(keys[missing]),
                        source=n,
                        message=f"`{n}` lists images without objects but not this one",
                        file=where,
                    )
                )
    return concat(parts)


@rule("FA305", "image-size-mismatch-between-sources", Severity.ERROR)
def image_size_mismatch_between_sources(ctx: CheckContext):
    """Two sources declare different sizes for the same image.

    ## What it does
    Compares the width and height each source declares (COCO `images[]`, VOC `<size>`,
    CSV `image_width`/`image_height`) and reports images with more than one declared size.

    ## Why is this bad?
    Normalised coordinates (YOLO) computed from one size land elsewhere on the other; a
    swapped width/height is the signature of the EXIF trap (see FA504).

    ## Example
    COCO says `"width": 373, "height": 454`, the VOC file `<width>454</width><height>373</height>`.
    Use instead: the size of the image as displayed (EXIF-corrected).
    """
    # integer arrays (key codes), not a frame of strings: at 10^5 images per source the
    # frames and their hash tables were the peak of the whole run (issue 13, point 3)
    K = keyspace(ctx)
    names: list[str] = []
    have = np.zeros(len(K), dtype=bool)  # the first declared size of each key, and whether another differs
    first_w = np.zeros(len(K), dtype=np.int64)
    first_h = np.zeros(len(K), dtype=np.int64)
    several = np.zeros(len(K), dtype=bool)
    def declared(src: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Rows, key codes, widths and heights of the sizes ``src`` declares (first row per key)."""
        im = src.images
        if not len(im) or "width" not in im:
            return None
        ok = im["width"].notna().to_numpy() & im["height"].notna().to_numpy()
        if not ok.any():
            return None
        rows = np.flatnonzero(ok)
        if im.index is K:  # a VOC folder's table shares the archive's index: codes are rows
            codes = rows
        else:
            codes = K.get_indexer(im.index.to_numpy(dtype=object)[rows])
        if not im.index.is_unique:  # one row per (image, source): the first
            _, once = np.unique(codes, return_index=True)
            once.sort()
            rows, codes = rows[once], codes[once]
        w = im["width"].iloc[rows].to_numpy(dtype="int64", na_value=0)
        h = im["height"].iloc[rows].to_numpy(dtype="int64", na_value=0)
        return rows, codes, w, h

    for n, src in ctx.dataset.sources.items():
        got = declared(src)
        if got is None:
            continue
        _, codes, w, h = got
        new = ~have[codes]
        first_w[codes[new]], first_h[codes[new]], have[codes[new]] = w[new], h[new], True
        old = ~new
        c = codes[old]
        several[c[(w[old] != first_w[c]) | (h[old] != first_h[c])]] = True
        names.append(n)
        del got, codes, w, h, new, old, c
    del have, first_w, first_h
    if len(names) < 2:
        return None
    # the rows of the images declared with more than one (width, height), source by source,
    # read again rather than kept from the first pass (issue 13, point 3)
    picked = []
    for si, n in enumerate(names):
        rows, codes, w, h = declared(ctx.dataset.sources[n])  # type: ignore[misc]
        sel = several[codes]
        picked.append((codes[sel], si, w[sel], h[sel], rows[sel]))
        del rows, codes, w, h, sel
    img = np.concatenate([p[0] for p in picked])
    si = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in picked])
    w, h, row = (np.concatenate([p[i] for p in picked]) for i in (2, 3, 4))
    pick = np.ones(len(img), dtype=bool)
    srcs = ctx.dataset.sources
    bad = pd.DataFrame(
        {
            "image": K.to_numpy(dtype=object)[img[pick]],
            "source": np.array(names, dtype=object)[si[pick]],
            "w": w[pick],
            "h": h[pick],
            "row": row[pick],
        }
    )
    for col in ("file", "loc"):  # looked up for the reported rows only
        values = [srcs[n].images[col].iat[r] for n, r in zip(bad["source"], bad["row"])]
        if col == "file":
            values = [srcs[n].derive_files([v], [k])[0] for n, v, k in zip(bad["source"], values, bad["image"])]
        bad[col] = pd.Series(values, index=bad.index, dtype=object)
    bad["size"] = bad["w"].astype(str) + "x" + bad["h"].astype(str)
    if not len(bad):
        return None
    # report the sources that differ from the image file's size, or, without a file,
    # from the size most sources declare (ties: the first source's)
    desc = {
        k: ", ".join(f"{src} {z}" for src, z in zip(g["source"], g["size"]))
        for k, g in bad.groupby("image", sort=False)
    }
    im = ctx.dataset.images
    real = im[["width", "height"]][~im.index.duplicated()].reindex(list(desc)) if len(im) else None
    ref: dict[str, str] = {}
    for k, g in bad.groupby("image", sort=False):
        if real is not None and pd.notna(real.at[k, "width"]) and pd.notna(real.at[k, "height"]):
            ref[k] = f"{int(real.at[k, 'width'])}x{int(real.at[k, 'height'])}"
        else:
            ref[k] = g["size"].value_counts(sort=True).index[0]
    odd = bad[bad["size"].to_numpy() != bad["image"].map(ref).to_numpy()]
    if not len(odd):
        odd = bad.drop_duplicates(subset=["image"], keep="last")
    return findings(
        image=odd["image"],
        source=odd["source"],
        message=[f"declared sizes differ: {desc[k]}" for k in odd["image"]],
        file=odd["file"],
        loc=odd["loc"],
    )
