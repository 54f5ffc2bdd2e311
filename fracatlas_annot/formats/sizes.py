"""Image sizes: the one place where unknown sizes are filled in from what sources declare.

An image's size is its file's EXIF-corrected header size when the file is readable; without
a file, the size a source declares (VOC ``<size>``, rect CSV ``image_width``, COCO
``images[].width``) stands in. :func:`fill_sizes` does the filling for any list of sources;
:func:`declared_sizes` is the dataset-wide order of the registry (``Format.sizes_rank``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..model import Source

__all__ = ["fill_sizes", "declared_sizes"]


def fill_sizes(sizes: pd.DataFrame, sources: Iterable[Source], *, add: bool = False) -> pd.DataFrame:
    """``sizes`` (columns ``width``, ``height``, indexed by image key; missing values unknown)
    completed with the sizes each source declares, the first source first.

    Args:
        sizes: the known sizes (left as they are where known).
        sources: sources whose ``images`` table declares ``width`` / ``height``; an image
            listed twice in one source takes its first row.
        add: also append images that only a source names (with that source's size).

    Returns:
        A new frame; its dtypes follow ``sizes`` (a float frame stays float).
    """
    sizes = sizes[["width", "height"]].copy()
    as_float = all(pd.api.types.is_float_dtype(sizes[c].dtype) for c in ("width", "height"))
    for src in sources:
        if not len(src.images):
            continue
        decl = src.images[["width", "height"]]
        decl = decl[~decl.index.duplicated(keep="first")]
        if as_float:
            decl = decl.apply(pd.to_numeric, errors="coerce").astype("float64")
        if add:
            extra = ~decl.index.isin(sizes.index)
            if extra.any():
                sizes = pd.concat([sizes, decl[extra]])
        if sizes["width"].isna().any() or sizes["height"].isna().any():
            fill = decl.reindex(sizes.index)
            sizes["width"] = sizes["width"].fillna(fill["width"])
            sizes["height"] = sizes["height"].fillna(fill["height"])
    return sizes


def declared_sizes(images: pd.DataFrame, sources: dict[str, Source]) -> pd.DataFrame:
    """Header sizes of ``images``, completed with the sizes the sources declare, in the
    registry's order (VOC, rect CSV, then COCO); images only a source names are added."""
    from .registry import size_order

    order = {name: i for i, name in enumerate(size_order())}
    ranked = sorted((s for s in sources.values() if s.format in order), key=lambda s: order[s.format])
    return fill_sizes(images, ranked, add=True)
