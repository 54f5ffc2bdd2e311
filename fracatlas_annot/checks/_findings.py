"""Building findings: rows pointing at objects, joining the parts of a rule's result, numbers
in messages."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .registry import CheckContext, findings


def object_findings(name: str, obj: pd.DataFrame, message: Any, *, image: Any = None) -> pd.DataFrame:
    """Findings pointing at rows of a source's objects table (``obj`` is a filtered view)."""
    return findings(
        image=obj["image"] if image is None else image,
        source=name,
        object=obj.index,
        message=message,
        file=obj["file"],
        line=obj["line"],
        loc=obj["loc"],
    )


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame | None:
    """The non-empty parts of a rule's result as one table; None when there is none."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def fmt(v: float) -> str:
    """A coordinate for a message: integers without decimals, others with up to 2."""
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def dataset_files(ctx: CheckContext, paths: Any) -> list[str | None]:
    """The ``file`` of findings about files on disk (images): relative to the dataset root
    (its folder, or the folder of the file that was read) like every reader's ``file``, or
    the path as found when it lies elsewhere (``--images DIR``, another drive); None stays None."""
    root = ctx.dataset.root
    base = None
    if root is not None:
        base = os.path.abspath(root if os.path.isdir(root) else os.path.dirname(os.fspath(root)) or ".")
    out: list[str | None] = []
    for p in paths:
        if p is None or (not isinstance(p, (str, os.PathLike)) and pd.isna(p)):
            out.append(None)
            continue
        text = os.fspath(p)
        if base is not None:
            try:
                rel = os.path.relpath(os.path.abspath(text), base)
            except ValueError:  # another drive
                rel = os.pardir
            if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
                text = rel
        out.append(text.replace(os.sep, "/"))
    return out
