"""FA0xx: reading and structure. Read problems reported by the readers, ids, categories,
class indices and label names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..runtime.suggest import did_you_mean
from ..model import PROBLEM_RULES
from ._common import match_sources
from ._findings import concat, object_findings
from ._sources import compared_pairs, source_file
from .registry import REDIRECTS, CheckContext, Severity, findings, rule

# FA016 (unsupported-content, never released) became part of FA000 read-problem
REDIRECTS["FA016"] = "FA000"

#: Problem kind (as the problems table holds it) -> rule code; see model.PROBLEM_RULES.
_RULE_OF_KIND: dict[str, str] = {kind.value: code for kind, code in PROBLEM_RULES.items()}


def _problems(ctx: CheckContext, code: str) -> pd.DataFrame:
    """The reading problems rule ``code`` reports (FA000 takes any kind without a rule)."""
    p = ctx.dataset.problems
    if not len(p):
        return p
    codes = p["kind"].map(_RULE_OF_KIND).fillna("FA000")
    return p[(codes == code).to_numpy()]


def _from_problems(ctx: CheckContext, code: str) -> pd.DataFrame | None:
    p = _problems(ctx, code)
    if not len(p):
        return None
    out = findings(
        image=_problem_images(ctx, p),
        source=p["source"],
        message=p["message"],
        file=p["file"],
        line=p["line"],
        loc=p["loc"],
    )
    if code == "FA000":
        out["severity"] = p["severity"].fillna("error").to_numpy()
        out["message"] = [f"{k}: {m}" for k, m in zip(p["kind"], p["message"])]
    else:  # a reader that could keep going (a bad bbox ignored, a repeated name skipped) says so
        out["severity"] = [s if s in ("warning", "info") else None for s in p["severity"]]
    return out


def _problem_images(ctx: CheckContext, p: pd.DataFrame) -> list:
    """The problem's image, or, for one-file-per-image formats (VOC, YOLO), the dataset image
    whose stem is the file's stem (a VOC file that does not parse still names its image)."""
    images = p["image"].tolist()
    if all(isinstance(i, str) for i in images):
        return images
    stems: dict[str, str] = {}
    for key in ctx.dataset.images.index:
        stems.setdefault(str(key).rsplit(".", 1)[0], key)
    out = []
    for img, f in zip(images, p["file"]):
        if not isinstance(img, str) and isinstance(f, str) and not f.endswith(".json"):
            stem = f.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1].rsplit(".", 1)[0]
            img = stems.get(stem)
        out.append(img if isinstance(img, str) else None)
    return out


def _dedupe(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    return frame.drop_duplicates(subset=["source", "file", "loc", "line", "image"], keep="first")


@rule("FA000", "read-problem", Severity.ERROR)
def read_problem(ctx: CheckContext):
    """A reader reported a problem of a kind no other rule covers.

    ## What it does
    Reports every reading problem (``Dataset.problems``) whose kind has no dedicated rule
    (for example `unsupported`: point or line labels, an unknown VGG shape), with the
    reader's own severity, kind and location.

    ## Why is this bad?
    Something in the input could not be placed in the dataset; whatever it described is
    missing from every later check and from any converted train set.

    ## Example
    A reader meets a construct it does not know how to place and reports it with a kind
    the catalogue has no rule for yet: it is shown as `FA000 read-problem` with its kind.
    """
    return _from_problems(ctx, "FA000")


@rule("FA001", "unparsable-annotation-file", Severity.ERROR)
def unparsable_file(ctx: CheckContext):
    """An annotation file does not parse (syntax error, not UTF-8, or empty).

    ## What it does
    Reports each annotation file that could not be parsed at all: broken JSON or XML,
    bytes that are not UTF-8, or an empty file where content is required.

    ## Why is this bad?
    Every annotation in that file is lost. Loaders such as pycocotools or Ultralytics stop
    with a traceback, or (worse) skip the file and train on an image without its labels.

    ## Example
    A COCO export truncated by an interrupted download:

        {"images":[{"id":1,"width":373,"height":454,"file_name":"IMG0000019.jpg"}],"annot

    Use instead: the complete export, re-downloaded from makesense.ai.
    """
    return _from_problems(ctx, "FA001")


@rule("FA002", "missing-required-key", Severity.ERROR)
def missing_required_key(ctx: CheckContext):
    """A record lacks a key or element its format requires.

    ## What it does
    Reports COCO records without `images`, `file_name`, `segmentation` ..., VOC objects
    without `<bndbox>`, and similar, at the record's location.

    ## Why is this bad?
    The record cannot be placed: an object without coordinates or an image without a name
    is dropped, and the label set silently shrinks.

    ## Example

        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}

    (no `segmentation` in a polygon export). Use instead: export the polygons again.
    """
    return _from_problems(ctx, "FA002")


@rule("FA003", "invalid-field-value", Severity.ERROR)
def invalid_field_value(ctx: CheckContext):
    """A field holds a value of the wrong type or the wrong number of fields.

    ## What it does
    Reports YOLO lines without exactly 5 numbers (or an even polygon list), non-numeric
    coordinates, `NaN` text, CSV rows with the wrong column count, and similar.

    ## Why is this bad?
    Ultralytics drops the whole image for one bad label row; other tools crash on `int()`.

    ## Example

        0 0.403913 0.490768 0.161542

    (4 values). Use instead: `0 0.403913 0.490768 0.161542 0.099541`.
    """
    return _from_problems(ctx, "FA003")


@rule("FA004", "unsafe-archive-content", Severity.ERROR)
def unsafe_archive_content(ctx: CheckContext):
    """A zip entry or an image name escapes its folder, or an XML file uses unsafe constructs.

    ## What it does
    Reports zip entries with absolute paths or `..` components (zip slip), image names that
    are not plain file names (`../x.jpg`, `/tmp/x.jpg`, `a\\b.jpg`, NUL or control characters, in
    a CSV, `dataset.csv`, a COCO `file_name` or on disk), label names with control characters,
    and XML with entity declarations (billion laughs, external entities). They were not read:
    the objects of such an image or label are not converted.

    ## Why is this bad?
    Extracting such an archive, or writing a label file named after such an image, can
    overwrite files outside the dataset; expanding such XML can exhaust memory or read local
    files. A makesense export never contains any of them.

    ## Example
    A zip entry named `../../home/user/.bashrc`, or a CSV row whose `image_name` is
    `../../../../tmp/x.jpg`. Use instead: the export as makesense writes it (flat entries and
    image names that are the images' file names).
    """
    return _from_problems(ctx, "FA004")


@rule("FA005", "duplicate-image-id", Severity.ERROR)
def duplicate_image_id(ctx: CheckContext):
    """Two image records share an id or a file name in one source.

    ## What it does
    Reports COCO `images[]` entries whose `id` or `file_name` repeats, and duplicate keys
    in other image lists.

    ## Why is this bad?
    Annotations pointing at that id are attached to whichever image the loader keeps last
    (pycocotools keeps the last one), so labels land on the wrong image.

    ## Example

        "images": [{"id": 1, "file_name": "IMG0000019.jpg"}, {"id": 1, "file_name": "IMG0000025.jpg"}]

    Use instead: unique ids, one entry per file name.
    """
    out = _from_problems(ctx, "FA005")
    parts = [out]
    for name, src in ctx.dataset.sources.items():
        idx = src.images.index
        dup = idx.duplicated(keep="first")
        if dup.any():
            rows = src.images[dup]
            parts.append(
                findings(
                    image=rows.index,
                    source=name,
                    message=[f"image `{k}` is listed more than once" for k in rows.index],
                    file=rows["file"],
                    loc=rows["loc"],
                )
            )
    return _dedupe(concat(parts))


@rule("FA006", "duplicate-annotation-id", Severity.ERROR)
def duplicate_annotation_id(ctx: CheckContext):
    """Two annotations share an id in one COCO file.

    ## What it does
    Reports each COCO annotation whose `id` was already used by an earlier annotation.

    ## Why is this bad?
    pycocotools indexes annotations by id (`anns[ann['id']] = ann`): all but the last one
    disappear from evaluation, while training loaders still see them, so metrics are
    computed on a different label set than the one trained on.

    ## Example

        "annotations": [{"id": 0, "image_id": 1, ...}, {"id": 0, "image_id": 2, ...}]

    Use instead: unique ids (makesense numbers them 0, 1, 2 ...).
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if "ann_id" not in obj or not len(obj):
            continue
        ids = obj["ann_id"]
        ok = ids.notna()
        # ids are unique per file: a source read from several files (a Roboflow root) repeats them
        per_file = obj["file"].astype(str) + "\0" if "file" in obj else ""
        key = per_file + ids.astype(str)
        dup = key[ok].duplicated(keep="first")
        rows = obj[ok][dup.to_numpy()]
        if len(rows):
            first = key[ok].drop_duplicates(keep="first")
            first_loc = pd.Series(obj.loc[first.index, "loc"].to_numpy(), index=first.to_numpy())
            msgs = [f"annotation id {i} already used at {first_loc.get(k)}" for i, k in
                    zip(rows["ann_id"].astype(str), key[ok][dup.to_numpy()])]
            parts.append(object_findings(name, rows, msgs))
    return _dedupe(concat(parts))


@rule("FA007", "orphan-annotation", Severity.ERROR)
def orphan_annotation(ctx: CheckContext):
    """An annotation refers to an image id that no image record has.

    ## What it does
    Reports COCO annotations whose `image_id` is in no `images[]` entry.

    ## Why is this bad?
    The annotation cannot be attached to a file: every loader drops it (or crashes with a
    KeyError), and the fracture it marks is lost.

    ## Example

        "images": [{"id": 1, ...}], "annotations": [{"id": 0, "image_id": 7, ...}]

    Use instead: an `image_id` that exists in `images`.
    """
    return _from_problems(ctx, "FA007")


def _declared_ids(ctx: CheckContext, src) -> dict[int, str] | None:
    if src.label_ids:
        return {int(k): v for k, v in src.label_ids.items()}
    if src.format == "yolo" and ctx.dataset.labels:
        return dict(enumerate(ctx.dataset.labels))
    return None


@rule("FA008", "missing-label", Severity.ERROR)
def missing_label(ctx: CheckContext):
    """An object has no label: no category id, or an empty label name.

    ## What it does
    Reports COCO annotations without `category_id` (makesense writes none for a polygon
    drawn with no label selected or whose label was deleted), VOC objects with an empty
    `<name>`, CSV rows with an empty `label_name`, VGG regions without `label`.

    ## Why is this bad?
    The object has no class: converters drop it or give it class 0 by accident.

    ## Example

        {"id": 1, "iscrowd": 0, "image_id": 1, "segmentation": [[...]], "bbox": [...], "area": 1975.6}

    Use instead: select a label for the polygon in makesense and export again.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        lab = obj["label"]
        empty = lab.isna() | (lab.astype(str).str.strip() == "")
        bad = empty.to_numpy() & obj["class_id"].isna().to_numpy()
        rows = obj[bad]
        if len(rows):
            what = "no category_id" if src.format == "coco" else "no label"
            parts.append(object_findings(name, rows, f"object has {what}"))
    return _dedupe(concat(parts))


@rule("FA009", "unknown-class", Severity.ERROR)
def unknown_class(ctx: CheckContext):
    """A category id or class index is not in the declared label list.

    ## What it does
    Reports COCO `category_id`s that no `categories[]` entry declares, and YOLO class
    indices at or beyond the number of classes in `classes.txt` (or `data.yaml`).

    ## Why is this bad?
    Ultralytics rejects the whole image ("Label class 1 exceeds dataset class count 1");
    COCO loaders raise a KeyError or drop the object.

    ## Example
    `classes.txt` holds one line, `fractured`, and a label file says

        1 0.403913 0.490768 0.161542 0.099541

    Use instead: class `0` (YOLO classes are 0-based).
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        ids = _declared_ids(ctx, src)
        if not len(obj) or not ids:
            continue
        cid = obj["class_id"]
        known = cid.isin(list(ids)).to_numpy()
        bad = cid.notna().to_numpy() & ~known & (cid.fillna(0).to_numpy() >= 0)
        rows = obj[bad]
        if len(rows):
            if src.format == "yolo":
                msgs = [
                    f"class {int(c)} is beyond the class list ({len(ids)} classes: {', '.join(map(str, ids.values()))})"
                    for c in rows["class_id"]
                ]
            else:
                msgs = [
                    f"category_id {int(c)} is not declared (categories: {', '.join(f'{k}={v}' for k, v in sorted(ids.items()))})"
                    for c in rows["class_id"]
                ]
            parts.append(object_findings(name, rows, msgs))
    return _dedupe(concat(parts))


@rule("FA010", "negative-class-index", Severity.ERROR)
def negative_class_index(ctx: CheckContext):
    """A class index or category id is negative (makesense writes -1 for a deleted label).

    ## What it does
    Reports objects whose class index or category id is below zero.

    ## Why is this bad?
    makesense.ai writes class `-1` when a box's label was deleted from the project (and,
    before June 2022, for a box drawn with no label). Ultralytics rejects the image
    ("negative class labels"); other converters wrap -1 to the last class.

    ## Example

        -1 0.403913 0.490768 0.161542 0.099541

    Use instead: give the box a label in makesense and export again, or delete the box.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        neg = obj["class_id"].fillna(0).to_numpy() < 0
        rows = obj[neg]
        if len(rows):
            parts.append(object_findings(name, rows, [f"class index {int(c)}" for c in rows["class_id"]]))
    return concat(parts)


@rule("FA011", "class-id-offset", Severity.ERROR, caches=("match", "listed_mask", "object_codes", "px_extents"))
def class_id_offset(ctx: CheckContext):
    """Class indices look copied from 1-based COCO category ids into a 0-based format.

    ## What it does
    Matches each object with its counterpart in the reference source (COCO polygons) and
    reports objects whose label differs from the counterpart's while their raw class index
    equals the counterpart's COCO `category_id`: the id was copied instead of mapped
    (category 1 should become YOLO class 0).

    ## Why is this bad?
    The most common conversion bug (ultralytics PR #23930 and a dozen issues): with one
    class, every label is out of range and Ultralytics drops every image; with several, each
    object silently trains as the next class.

    ## Example
    COCO `{"category_id": 1}` (`fractured`, the only category) converted to YOLO as

        1 0.403913 0.490768 0.161542 0.099541

    Use instead: class `category_id - 1`, i.e. `0 0.403913 ...`.
    """
    parts = []
    ds = ctx.dataset
    for other, ref in compared_pairs(ctx):
        S, R = ds.sources[other], ds.sources[ref]
        if R.format != "coco" or S.format == "coco":
            continue
        m = match_sources(ctx, other, ref)
        pairs = m["pairs"]
        if not len(pairs):
            continue
        # the two columns compared, not every column of every matched row (issue 13, point 3)
        sa, rb = pairs["a"].to_numpy(), pairs["b"].to_numpy()
        s_cid = S.objects["class_id"].loc[sa].to_numpy(dtype="float64", na_value=np.nan)
        r_cid = R.objects["class_id"].loc[rb].to_numpy(dtype="float64", na_value=np.nan)
        s_lab = S.objects["label"].loc[sa].to_numpy(dtype=object)
        r_lab = R.objects["label"].loc[rb].to_numpy(dtype=object)
        bad = (s_cid == r_cid) & (s_lab != r_lab)
        if bad.any():
            rows = S.objects.loc[sa[bad]]
            msgs = [
                f"{S.format} class {int(c)} equals {ref} category_id {int(c)} (`{rl}`) but reads as "
                f"{'no label' if sl is None else f'`{sl}`'}: "
                f"category id copied without the 1-based to 0-based shift"
                for c, rl, sl in zip(s_cid[bad], r_lab[bad], s_lab[bad])
            ]
            parts.append(object_findings(other, rows, msgs))
    return concat(parts)


def _reference_labels(ctx: CheckContext) -> list[str]:
    if ctx.dataset.labels:
        return list(dict.fromkeys(ctx.dataset.labels))
    for src in ctx.dataset.sources.values():
        if src.labels:
            return list(dict.fromkeys(src.labels))
    return []


@rule("FA012", "label-name-mismatch", Severity.ERROR)
def label_name_mismatch(ctx: CheckContext):
    """A source uses a label name that the dataset's label list does not have.

    ## What it does
    Compares every source's declared labels and the labels its objects use with the
    dataset's label list (`classes.txt`, or else the first source's list) and reports each
    name that differs, with the closest known name.

    ## Why is this bad?
    `fracture` and `fractured` become two classes when sources are merged, or one of them
    is dropped as unknown; FracAtlas itself is named both ways downstream.

    ## Example
    COCO `categories: [{"id": 1, "name": "fractured"}]` next to a VOC file with

        <name>fracture</name>

    Use instead: one spelling everywhere (`fractured`).
    """
    ref = _reference_labels(ctx)
    if not ref:
        return None
    known = set(ref)
    parts = []
    for name, src in ctx.dataset.sources.items():
        # only formats that declare a label list (COCO categories, classes.txt); VOC, CSV
        # and VGG derive theirs from the objects, reported per object below
        declared_bad = [l for l in src.labels if l not in known] if src.format in ("coco", "yolo") else []
        for l in declared_bad:
            parts.append(
                findings(
                    source=name,
                    message=f"declared label `{l}` is not in the dataset's labels ({', '.join(ref)})" + did_you_mean(l, ref, quote="`"),
                    file=source_file(src),
                )
            )
        obj = src.objects
        if not len(obj):
            continue
        lab = obj["label"]
        bad = (
            lab.notna().to_numpy() & ~lab.isin(list(known)).to_numpy() & (lab.astype(str).str.strip() != "").to_numpy()
        )
        rows = obj[bad]
        if len(rows):
            msgs = [
                f"label `{l}` is not in the dataset's labels ({', '.join(ref)})" + did_you_mean(str(l), ref, quote="`")
                for l in rows["label"]
            ]
            parts.append(object_findings(name, rows, msgs))
    return concat(parts)




@rule("FA013", "duplicate-label-name", Severity.ERROR)
def duplicate_label_name(ctx: CheckContext):
    """Two categories or classes of one source have the same name.

    ## What it does
    Reports label names declared twice in one source (two COCO categories, two lines of
    `classes.txt`).

    ## Why is this bad?
    Importers key classes by name (datumaro#1160): one of the two ids loses its objects,
    or the import fails.

    ## Example

        "categories": [{"id": 1, "name": "fractured"}, {"id": 2, "name": "fractured"}]

    Use instead: one category per name.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        names = list(src.label_ids.values()) if src.label_ids else list(src.labels)
        seen: set[str] = set()
        for n in names:
            if n in seen:
                parts.append(
                    findings(source=name, message=f"label `{n}` is declared more than once", file=source_file(src))
                )
            seen.add(n)
    return concat(parts)


@rule("FA014", "duplicate-object", Severity.WARNING)
def duplicate_object(ctx: CheckContext):
    """The same object (label and coordinates) appears twice on one image in one source.

    ## What it does
    Reports each object identical to an earlier one of the same source and image: same
    label and the same extent to 1e-6 px.

    ## Why is this bad?
    A double click in the annotation tool or a repeated export line doubles the instance:
    Ultralytics removes duplicate rows with a warning, other loaders count it twice and the
    fracture count disagrees with `dataset.csv`.

    ## Example

        0 0.403913 0.490768 0.161542 0.099541
        0 0.403913 0.490768 0.161542 0.099541

    Use instead: one line.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if len(obj) < 2:
            continue
        key = pd.DataFrame(
            {
                "image": obj["image"].astype(object),
                "label": obj["label"].astype(object).fillna("\0"),
                **{c: np.round(obj[c].to_numpy(dtype="float64"), 6) for c in ("x0", "y0", "x1", "y1")},
            }
        )
        if "n_vertices" in obj:
            key["nv"] = obj["n_vertices"].fillna(-1).astype("int64").to_numpy()
        dup = key.duplicated(keep="first").to_numpy()
        rows = obj[dup]
        if len(rows):
            parts.append(
                object_findings(
                    name, rows, "object repeats an earlier object of this image (same label and coordinates)"
                )
            )
    return concat(parts)


@rule("FA015", "crowd-or-rle-object", Severity.WARNING)
def crowd_or_rle_object(ctx: CheckContext):
    """A COCO annotation is a crowd region or an RLE mask.

    ## What it does
    Reports annotations with `iscrowd: 1` or an RLE `segmentation` (`{"counts": ...}`).
    makesense never writes them; they come from other tools.

    ## Why is this bad?
    Converters skip RLE objects (empty labels), drop crowd regions (Ultralytics 8.0.180)
    or crash: the object vanishes from the YOLO set while staying in COCO evaluation.

    ## Example

        {"id": 4, "iscrowd": 1, "segmentation": {"size": [454, 373], "counts": "..."}, ...}

    Use instead: polygons with `iscrowd: 0`, or decide explicitly how to convert them.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if not len(obj):
            continue
        crowd = obj["iscrowd"].fillna(0).to_numpy() == 1 if "iscrowd" in obj else np.zeros(len(obj), bool)
        rle = obj["rle"].notna().to_numpy() if "rle" in obj else np.zeros(len(obj), bool)
        bad = crowd | rle
        rows = obj[bad]
        if len(rows):
            msgs = np.where(rle[bad], "annotation is an RLE mask", "annotation has iscrowd=1")
            parts.append(object_findings(name, rows, msgs))
    return concat(parts)


@rule("FA017", "stale-label-cache", Severity.WARNING)
def stale_label_cache(ctx: CheckContext):
    """An Ultralytics `*.cache` file sits in the dataset.

    ## What it does
    Lists `*.cache` files in the dataset folder and in its direct sub-folders, where
    Ultralytics writes them next to the label folders on the first run
    (`labels/train.cache`, `Annotations/YOLO.cache`).

    ## Why is this bad?
    Ultralytics trusts the cache while its file list hash matches: labels edited in place
    (same file names, new contents) are ignored and the model trains on the old ones
    (yolov5#306, ultralytics#6659).

    ## Example
    `Annotations/YOLO.cache` left from a training run before the labels were corrected.
    Use instead: delete the cache after editing labels (`convert` removes them when it
    writes a YOLO set).
    """
    root = ctx.dataset.root
    if root is None:
        return None
    from pathlib import Path

    root = Path(root)
    if not root.is_dir():
        return None
    import os

    def entries(folder: str) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as it:
                return list(it)
        except OSError:  # unreadable folder, symlink loop: nothing to look at there
            return []

    def is_file(e: os.DirEntry) -> bool:
        try:
            return e.is_file()
        except OSError:
            return False

    def is_dir(e: os.DirEntry) -> bool:
        try:
            return e.is_dir()
        except OSError:
            return False

    hits = []
    subdirs = []
    for e in entries(str(root)):  # the root and its direct sub-folders, not the big leaf folders
        if e.name.endswith(".cache") and is_file(e):
            hits.append(Path(e.path))
        elif is_dir(e):
            subdirs.append(e.path)
    for d in subdirs:
        hits.extend(Path(e.path) for e in entries(d) if e.name.endswith(".cache") and is_file(e))
    hits.sort()
    if not hits:
        return None
    return findings(
        message="Ultralytics label cache (stale once labels are edited)", file=[str(p.relative_to(root)) for p in hits]
    )


@rule("FA018", "coco-iscrowd-missing", Severity.WARNING)
def coco_iscrowd_missing(ctx: CheckContext):
    """A COCO annotation has no `iscrowd` key.

    ## What it does
    Reports COCO annotations without `iscrowd` (makesense always writes `"iscrowd": 0`;
    hand-written or script-made files often omit it). A missing `area` is FA205.

    ## Why is this bad?
    pycocotools' evaluation reads `ann["iscrowd"]` and stops with a KeyError (cocoapi#374,
    torchvision#9092), so the set cannot be evaluated.

    ## Example

        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[...]], "bbox": [...], "area": 812.5}

    Use instead: add `"iscrowd": 0`.
    """
    parts = []
    for name, src in ctx.dataset.sources.items():
        obj = src.objects
        if src.format != "coco" or "iscrowd" not in obj or not len(obj):
            continue
        bad = obj["iscrowd"].isna().to_numpy()
        if bad.any():
            parts.append(object_findings(name, obj[bad], "annotation has no iscrowd"))
    return concat(parts)


@rule("FA019", "image-not-listed", Severity.WARNING)
def image_not_listed(ctx: CheckContext):
    """An image file lies beside an annotation file that does not list it.

    ## What it does
    Reports each image file in a folder whose annotation file lists every image of that
    folder, negatives too (a Roboflow split folder with its `_annotations.coco.json`, a CVAT
    `images/` folder with `annotations/instances_default.json`), but not this one.

    ## Why is this bad?
    A tool that walks the folder trains the image as a negative although nobody labelled
    it; Roboflow exports do this when one image is listed in another split's file, so the
    image may be in two splits or carry labels elsewhere.

    ## Example
    `train/5_png.rf.1ad9....jpg` on disk, listed only in `valid/_annotations.coco.json`.
    Use instead: move the file to the split folder that lists it, or export again.
    """
    return _from_problems(ctx, "FA019")
