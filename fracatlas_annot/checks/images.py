"""FA5xx: the image files: decoding, truncation, declared sizes against the real (EXIF-
corrected) size, EXIF orientation, tiny images."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._findings import concat, dataset_files
from .registry import CheckContext, Severity, findings, rule


@rule("FA501", "image-unreadable", Severity.ERROR, reads_scan=True)
def image_unreadable(ctx: CheckContext):
    """An image file cannot be read or decoded.

    ## What it does
    Reports files whose header cannot be read (not an image, empty, unknown format) and,
    unless `--fast`, files whose pixels fail to decode even with truncation allowed.

    ## Why is this bad?
    Training aborts on the file or skips it with a warning, and its labels go with it.

    ## Example
    `images/Fractured/IMG0000019.jpg` holding an HTML error page from a failed download.
    Use instead: the original file.
    """
    im = ctx.dataset.images
    parts = []
    if len(im) and "header_error" in im:
        sel = im["header_error"].notna().to_numpy() & im["path"].notna().to_numpy()
        if "truncated" in im:  # FA502
            sel &= ~im["truncated"].fillna(False).to_numpy(dtype=bool)
        bad = im[sel]
        if len(bad):
            parts.append(
                findings(
                    image=bad.index,
                    message=[f"cannot read the image header: {e}" for e in bad["header_error"]],
                    file=dataset_files(ctx, bad["path"]),
                )
            )
    scan = ctx.pixel_scan
    if scan is not None and len(scan):
        bad = scan[scan["error"].notna()]
        if len(bad):
            paths = im["path"].reindex(bad.index)
            parts.append(
                findings(
                    image=bad.index,
                    message=[f"cannot decode the image: {e}" for e in bad["error"]],
                    file=dataset_files(ctx, paths),
                )
            )
    return concat(parts)


@rule("FA502", "image-truncated", Severity.WARNING, reads_scan=True)
def image_truncated(ctx: CheckContext):
    """A JPEG is truncated: the decoder cannot finish it.

    ## What it does
    Reports JPEGs with no end-of-image marker after their scan data: the decoder runs out
    of bytes (one definition, the same with and without `--fast`; a full run also reports
    files that Pillow decodes only with `LOAD_TRUNCATED_IMAGES` on). Stray bytes after the
    end marker are not truncation (FA509). FracAtlas has 59 such files.

    ## Why is this bad?
    The bottom of the radiograph is grey filler: a fracture there is labelled but not
    visible. Pillow-based loaders raise unless the global flag is set; Ultralytics
    re-saves the file ("corrupt JPEG restored").

    ## Example
    A JPEG cut after 60 % of its bytes. Use instead: the complete file.
    """
    im = ctx.dataset.images
    keys = pd.Index([], dtype=object)
    if len(im) and "truncated" in im:
        keys = im.index[im["truncated"].fillna(False).to_numpy(dtype=bool)]
    scan = ctx.pixel_scan
    if scan is not None and len(scan):
        more = scan.index[scan["truncated"].fillna(False).to_numpy(dtype=bool) & scan["error"].isna().to_numpy()]
        keys = keys.append(more[~more.isin(keys)])
    if not len(keys):
        return None
    keys = keys.sort_values()
    paths = im["path"][~im.index.duplicated()].reindex(keys)
    return findings(
        image=keys,
        message="JPEG data is truncated (the file ends before its end-of-image marker)",
        file=dataset_files(ctx, paths),
    )


@rule("FA509", "bytes-after-end-of-image", Severity.INFO)
def bytes_after_end_of_image(ctx: CheckContext):
    """A JPEG has stray bytes after its end-of-image marker.

    ## What it does
    Reports JPEGs whose end-of-image marker (FFD9) is followed by more bytes: padding or
    leftovers of a copy tool. The image decodes completely (it is not truncated, FA502);
    the message says how many bytes follow. FracAtlas has 28 such files, padded to
    16,384 bytes.

    ## Why is this bad?
    It is harmless to decoders, but a byte-level comparison (checksums, FA601) sees two
    copies of one radiograph as different files, and a tool that trusts the last two bytes
    calls the file truncated.

    ## Example
    `... FF D9 00 00 00 ...` (1,322 bytes after the marker). Use instead: the file cut at
    its end marker, if byte identity matters.
    """
    im = ctx.dataset.images
    if not len(im) or "trailing_bytes" not in im:
        return None
    im = im[~im.index.duplicated()]
    n = pd.to_numeric(im["trailing_bytes"], errors="coerce").fillna(0).to_numpy()
    sel = n > 0
    if not sel.any():
        return None
    return findings(
        image=im.index[sel],
        message=[f"{int(k):,} stray byte(s) after the end-of-image marker (the image decodes completely)" for k in n[sel]],
        file=dataset_files(ctx, im["path"][sel]),
    )


def _declared_vs_actual(ctx: CheckContext) -> pd.DataFrame:
    """One row per (source, image) with a declared size and a known real size."""
    key = "declared_vs_actual"
    if key in ctx.cache:
        return ctx.cache[key]
    im = ctx.dataset.images
    frames = []
    if len(im) and im["width"].notna().any():
        im = im[~im.index.duplicated()]
        for n, src in ctx.dataset.sources.items():
            si = src.images
            if not len(si) or "width" not in si:
                continue
            si = si[si["width"].notna().to_numpy() & si["height"].notna().to_numpy()]
            si = si[~si.index.duplicated()]
            if not len(si):
                continue
            keys = si.index
            real = im[["width", "height", "raw_width", "raw_height", "orientation"]].reindex(keys)
            f = pd.DataFrame(
                {
                    "image": keys.to_numpy(dtype=object),
                    "source": n,
                    "dw": si["width"].to_numpy(dtype="float64"),
                    "dh": si["height"].to_numpy(dtype="float64"),
                    "w": real["width"].to_numpy(dtype="float64", na_value=np.nan),
                    "h": real["height"].to_numpy(dtype="float64", na_value=np.nan),
                    "rw": real["raw_width"].to_numpy(dtype="float64", na_value=np.nan),
                    "rh": real["raw_height"].to_numpy(dtype="float64", na_value=np.nan),
                    "orientation": real["orientation"].to_numpy(dtype="float64", na_value=np.nan),
                    "file": src.derive_files(si["file"].to_numpy(dtype=object), keys),
                    "loc": si["loc"].to_numpy(dtype=object),
                }
            )
            frames.append(f[~np.isnan(f["w"].to_numpy()) & ~np.isnan(f["h"].to_numpy())])
    out = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["image", "source", "dw", "dh", "w", "h", "rw", "rh", "orientation", "file", "loc"])
    )
    out["ok"] = (out["dw"] == out["w"]) & (out["dh"] == out["h"])
    out["raw"] = ~out["ok"] & (out["dw"] == out["rw"]) & (out["dh"] == out["rh"])
    ctx.cache[key] = out
    return out


def _size(w, h) -> str:
    return f"{int(w)}x{int(h)}"


@rule("FA503", "declared-size-mismatch", Severity.ERROR)
def declared_size_mismatch(ctx: CheckContext):
    """The width/height an annotation file declares is not the image's size.

    ## What it does
    Compares COCO `images[].width/height`, VOC `<size>` and CSV `image_width/height` with
    the size of the file (after EXIF orientation) and reports a mismatch that is not the
    EXIF trap (FA504).

    ## Why is this bad?
    The labels were made on a different image (resized, cropped, or another file with the
    same name): normalised coordinates computed from the declared size land in the wrong
    place.

    ## Example
    VOC `<width>373</width><height>454</height>` for a 746x908 file. Use instead: the
    labels of this file, or the file the labels were made on.
    """
    d = _declared_vs_actual(ctx)
    bad = d[~d["ok"] & ~d["raw"]]
    if not len(bad):
        return None
    msgs = [
        f"declared size {_size(a, b)} but the image is {_size(c, e)}"
        for a, b, c, e in zip(bad["dw"], bad["dh"], bad["w"], bad["h"])
    ]
    return findings(image=bad["image"], source=bad["source"], message=msgs, file=bad["file"], loc=bad["loc"])


@rule("FA504", "declared-size-is-raw-exif-size", Severity.ERROR)
def declared_size_is_raw_exif_size(ctx: CheckContext):
    """The declared size matches the raw, un-rotated pixels, not the EXIF-corrected image.

    ## What it does
    Reports declared sizes that equal the stored (raw) size of a JPEG whose EXIF
    orientation rotates it by 90 degrees, while the labels' frame is the rotated one.

    ## Why is this bad?
    This is the EXIF trap: makesense (in the browser) labels the rotated image, but a
    tool that reads the size without applying EXIF gets width and height swapped, and
    every normalised coordinate lands in the wrong place. FLENS found 22 VOC records and
    1 COCO record of FracAtlas that look swapped this way. Desktop tools that ignore EXIF
    (LabelImg) go one step further and draw the boxes on the stored pixels too.

    `convert` writes labels in the displayed frame, as Ultralytics loads the image: boxes
    drawn on the stored pixels are turned (a change `exif-frame-rotated` in
    `manifest.json`), and boxes that another source shows to be upright already are written
    as read, with a note. Fix the declared size all the same: other tools trust it.

    ## Example
    A JPEG stored 454x373 with `Orientation=6` (displayed 373x454) and a VOC file with
    `<width>454</width><height>373</height>`. Use instead: `<width>373</width><height>454</height>`,
    the size as displayed.
    """
    d = _declared_vs_actual(ctx)
    bad = d[d["raw"]]
    if not len(bad):
        return None
    msgs = [
        f"declared size {_size(a, b)} is the raw size; EXIF orientation {'?' if np.isnan(o) else int(o)} makes the image {_size(c, e)}"
        for a, b, c, e, o in zip(bad["dw"], bad["dh"], bad["w"], bad["h"], bad["orientation"])
    ]
    return findings(image=bad["image"], source=bad["source"], message=msgs, file=bad["file"], loc=bad["loc"])


@rule("FA505", "exif-orientation", Severity.INFO)
def exif_orientation(ctx: CheckContext):
    """An image carries an EXIF orientation other than 1.

    ## What it does
    Lists images whose EXIF `Orientation` tag rotates or mirrors them (values 2-8). This
    is not a defect when the labels are in the rotated frame (makesense draws on the
    rotated image); FA504 reports sizes that are not.

    ## Why is this bad?
    Tools that ignore EXIF (plain `PIL.Image.open`, some converters) place the labels on
    the un-rotated pixels: boxes land in the wrong place. FracAtlas has 25 such images.

    ## Example
    `IMG0000019.jpg` stored 454x373 with `Orientation=6`. Use instead: apply
    `ImageOps.exif_transpose` everywhere, or bake the rotation into the pixels.
    """
    im = ctx.dataset.images
    if not len(im) or "orientation" not in im:
        return None
    o = im["orientation"].to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isnan(o) & (o != 1)
    if not bad.any():
        return None
    rows = im[bad]
    return findings(
        image=rows.index,
        message=[f"EXIF orientation {int(v)}" for v in o[bad]],
        file=dataset_files(ctx, rows["path"]),
    )


@rule("FA506", "image-too-small", Severity.WARNING)
def image_too_small(ctx: CheckContext):
    """An image is smaller than 10 px on a side.

    ## What it does
    Reports images whose width or height is below 10 px.

    ## Why is this bad?
    Ultralytics rejects such images ("image size <10 pixels"); in an X-ray set it is a
    thumbnail or a broken conversion, not a radiograph.

    ## Example
    A 8x8 `IMG0000019.jpg`. Use instead: the full-resolution image.
    """
    im = ctx.dataset.images
    if not len(im):
        return None
    w = im["width"].to_numpy(dtype="float64", na_value=np.nan)
    h = im["height"].to_numpy(dtype="float64", na_value=np.nan)
    bad = (w < 10) | (h < 10)
    if not bad.any():
        return None
    rows = im[bad]
    return findings(
        image=rows.index,
        message=[f"image is {_size(a, b)} px" for a, b in zip(w[bad], h[bad])],
        file=dataset_files(ctx, rows["path"]),
    )


#: A decoded image is blank when its 32x32 area-averaged image (the scan's thumbnail) has a
#: standard deviation under this many gray levels ... (benchmarks/measure_blank.py: the real
#: FracAtlas archive's lowest is far above; JPEG noise on a uniform image stays under 1)
BLANK_STD = 4.0
#: ... or a gray-level entropy under this many bits (of at most 10 for 1,024 pixels).
BLANK_ENTROPY = 1.0


def _thumb_stats(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviation (gray levels) and Shannon entropy (bits) of each row of (n, 1024) uint8."""
    std = thumbs.astype(np.float64).std(axis=1)
    counts = np.zeros((len(thumbs), 256), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(thumbs)), thumbs.shape[1]), thumbs.ravel()), 1)
    p = counts / thumbs.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1) + 0.0
    return std, ent


@rule("FA507", "blank-image", Severity.ERROR, needs_pixels=True)
def blank_image(ctx: CheckContext):
    """An image carries no information: its pixels are uniform or nearly so.

    ## What it does
    Unless `--fast`, measures the 32x32 area-averaged image the pixel scan makes: blank
    when its standard deviation is under 4 gray levels or its gray-level entropy under
    1 bit. No image of the real FracAtlas archive comes near (benchmarks/measure_blank.py).
    Images under 10 px a side are left to FA506.

    ## Why is this bad?
    A failed export (all black, all white, one grey level) still has a valid header and
    often labels: the model is taught that a fracture looks like nothing.

    ## Example
    `IMG0000019.jpg` saved as a uniform grey 373x454 JPEG. Use instead: the radiograph.
    """
    scan = ctx.pixel_scan
    if scan is None or not len(scan):
        return None
    w = scan["width"].to_numpy(dtype="float64", na_value=np.nan)
    h = scan["height"].to_numpy(dtype="float64", na_value=np.nan)
    sized = (w >= 10) & (h >= 10)  # smaller ones are FA506's: their 32x32 image is an enlargement
    ok = scan[scan["error"].isna().to_numpy() & scan["thumb"].notna().to_numpy() & sized]
    if not len(ok):
        return None
    thumbs = np.frombuffer(b"".join(ok["thumb"]), dtype=np.uint8).reshape(len(ok), -1)
    std, ent = _thumb_stats(thumbs)
    bad = (std < BLANK_STD) | (ent < BLANK_ENTROPY)
    if not bad.any():
        return None
    keys = ok.index[bad]
    paths = ctx.dataset.images["path"][~ctx.dataset.images.index.duplicated()].reindex(keys)
    return findings(
        image=keys,
        message=[
            f"image is blank: std {d:.2f} gray levels, entropy {e:.2f} bits (32x32 image)"
            for d, e in zip(std[bad], ent[bad])
        ],
        file=dataset_files(ctx, paths),
    )
