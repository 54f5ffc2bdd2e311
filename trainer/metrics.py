"""Ultralytics metric dicts and ``results.csv`` files as plain, named JSON values."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Mapping

_KEYS = {
    "precision": "metrics/precision({})",
    "recall": "metrics/recall({})",
    "mAP50": "metrics/mAP50({})",
    "mAP50-95": "metrics/mAP50-95({})",
}


def named_metrics(results: Mapping[str, Any], task: str) -> dict[str, dict[str, float]]:
    """``{"box": {precision, recall, mAP50, mAP50-95}, "mask": {...}}`` from an Ultralytics results dict."""
    out: dict[str, dict[str, float]] = {}
    for part, letter in (("box", "B"), ("mask", "M")):
        if part == "mask" and task != "segment":
            continue
        out[part] = {name: _num(results.get(key.format(letter))) for name, key in _KEYS.items()}
    return out


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def read_results_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows of an Ultralytics ``results.csv`` (column names stripped, values as floats)."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k.strip(): _num(v) for k, v in row.items() if k is not None} for row in rows]


def train_losses(rows: list[dict[str, float]]) -> list[float]:
    """Total training loss per epoch (sum of the ``train/*_loss`` columns)."""
    losses = []
    for row in rows:
        parts = [v for k, v in row.items() if k.startswith("train/") and k.endswith("_loss") and not math.isnan(v)]
        if parts:
            losses.append(float(sum(parts)))
    return losses


def epoch_times(rows: list[dict[str, float]]) -> list[float]:
    """Seconds per epoch, from the cumulative ``time`` column (empty when absent)."""
    times = [row["time"] for row in rows if "time" in row and not math.isnan(row["time"])]
    return [b - a for a, b in zip([0.0, *times[:-1]], times)]
