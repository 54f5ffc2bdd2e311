"""JSON-safe values: numpy scalars and arrays, pandas missing values, NaN, dates.

* :func:`plain` turns one value into a plain Python value where it is a numpy scalar or a
  missing value (for tables turned into records);
* :func:`json_default` is the ``default=`` of :func:`json.dumps` (anything else becomes
  its ISO date or its text);
* :func:`dumps` is one UTF-8 JSON document with that default.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "json_default", "jsonable", "plain"]


def _isna(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # containers: not a missing scalar
        return False


def plain(v: Any) -> Any:
    """numpy integers, floats and booleans as Python values; missing values (None, NaN,
    ``pd.NA``, ``NaT``) as None; anything else unchanged."""
    import numpy as np

    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is None or _isna(v):
        return None
    return v


def jsonable(obj: Any) -> Any:
    """``obj`` (nested dicts, lists, tuples, numpy arrays and scalars) as plain JSON values:
    keys as strings, NaN and missing values as None, anything unknown as its ``str``."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is pd.NA or obj is None:
        return None
    if isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    return str(obj)


def json_default(obj: Any) -> Any:
    """``default=`` for :func:`json.dumps`: numpy and pandas values as plain JSON values,
    dates as ISO text, anything else as its text."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    value = plain(obj)
    if value is not obj:
        return value
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """One JSON document (UTF-8 text, not ASCII-escaped) with :func:`json_default`."""
    return json.dumps(obj, indent=indent, default=json_default, ensure_ascii=False)
