"""JSON-safe values: numpy scalars and arrays, pandas missing values, NaN, dates."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["json_default", "dumps"]


def json_default(obj: Any) -> Any:
    """``default=`` for :func:`json.dumps`: numpy and pandas values as plain JSON values."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """One JSON document (UTF-8 text, not ASCII-escaped) with :func:`json_default`."""
    return json.dumps(obj, indent=indent, default=json_default, ensure_ascii=False)
