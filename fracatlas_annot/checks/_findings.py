"""Building findings: rows pointing at objects, joining the parts of a rule's result, numbers
in messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .registry import findings


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
