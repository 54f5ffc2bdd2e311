"""Which sources a rule compares, and what a source lists: the reference source, the compared
pairs, whether a format lists its negative images, objects per image."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..formats.registry import positives_only
from .registry import CheckContext


#: Formats whose exports list only images that carry objects (makesense never writes an
#: empty COCO ``images[]`` entry, VGG key or CSV row for a negative image): the registry says.
POSITIVES_ONLY_FORMATS = positives_only()


def source_file(src: Any) -> str | None:
    """The file a source was read from, as its rows name it (relative to the dataset root)."""
    for frame in (src.objects, src.images):
        if len(frame) and "file" in frame:
            f = frame["file"]
            if frame is src.images and src.file_pattern is not None:  # files left out: the first one
                return str(src.derive_files(f.to_numpy(dtype=object)[:1], frame.index[:1])[0])
            f = f.dropna()
            if len(f):
                return str(f.iat[0])
    return src.path


def lists_negatives(src: Any) -> bool:
    """True when the source lists images without objects (a full listing, like FracAtlas's
    VOC and YOLO folders), so that a missing negative image means something."""
    if src.format in POSITIVES_ONLY_FORMATS or not len(src.images):
        return False
    with_objects = set(src.objects["image"].dropna().unique())
    return bool((~src.images.index.isin(list(with_objects))).any())


def reference_source(ctx: CheckContext) -> str | None:
    """The source every other one is compared with: the first polygon source (COCO first),
    else the first source."""
    srcs = ctx.dataset.sources
    if not srcs:
        return None
    poly = [n for n, s in srcs.items() if s.geometry == "polygon"]
    coco = [n for n in poly if srcs[n].format == "coco"]
    if coco:
        return coco[0]
    if poly:
        return poly[0]
    return next(iter(srcs))


def compared_pairs(ctx: CheckContext) -> list[tuple[str, str]]:
    """(other, reference) source pairs that the cross-source rules compare."""
    ref = reference_source(ctx)
    if ref is None:
        return []
    return [(n, ref) for n in ctx.dataset.sources if n != ref]


def object_counts(src: Any) -> pd.Series:
    """Objects per image of a source."""
    return src.objects["image"].value_counts(sort=False)


def counts_cached(ctx: CheckContext, name: str) -> pd.Series:
    key = f"counts:{name}"
    if key not in ctx.cache:
        ctx.cache[key] = object_counts(ctx.dataset.sources[name])
    return ctx.cache[key]
