"""Did-you-mean hints and JSON-safe values."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from fracatlas_annot.runtime.jsonsafe import dumps, json_default, plain
from fracatlas_annot.runtime.suggest import closest, did_you_mean


def test_did_you_mean() -> None:
    assert did_you_mean("yolo-sge", ["yolo-seg", "coco"]) == "; did you mean 'yolo-seg'?"
    assert did_you_mean("xyz", ["yolo-seg", "coco"]) == ""
    assert did_you_mean("frac", {"fracture": 1}, quote="`") == "; did you mean `fracture`?"
    # the cutoff is the caller's: the rule selectors accept looser matches
    assert closest("FA9", ["FA1", "FA8xx"], cutoff=0.5) == "FA1"
    assert closest("FA9", ["FA1xx"], cutoff=0.6) is None


def test_plain_values() -> None:
    assert plain(np.int64(3)) == 3 and type(plain(np.int64(3))) is int
    assert plain(np.float32(0.5)) == 0.5 and type(plain(np.float32(0.5))) is float
    assert plain(np.bool_(True)) is True
    for missing in (None, math.nan, np.float64("nan"), pd.NA, pd.NaT):
        assert plain(missing) is None
    assert plain("x") == "x" and plain([1, None]) == [1, None]


def test_json_default_and_dumps() -> None:
    doc = {
        "n": np.int32(2),
        "f": np.float32("nan"),  # (np.float64 is a float: json writes it itself)
        "b": np.bool_(False),
        "a": np.arange(3),
        "na": pd.NA,
        "t": dt.date(2024, 1, 2),
        "p": __import__("pathlib").PurePosixPath("a/b"),
        "é": "ü",
    }
    text = dumps(doc)
    assert "ü" in text  # not ASCII-escaped
    assert json.loads(text) == {"n": 2, "f": None, "b": False, "a": [0, 1, 2], "na": None, "t": "2024-01-02", "p": "a/b", "é": "ü"}
    assert json_default(object.__new__(object)).startswith("<object")
