"""Published YOLOv8s results on FracAtlas (reference/fracatlas-dataset.md §9), and the
side-by-side table the trainer prints when the dataset is FracAtlas."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

#: Original authors' notebook (Train_8s.ipynb, Ultralytics 8.0.49, 30 epochs, imgsz 600->608,
#: batch 16, SGD lr0 0.01, seed 0, COCO-pretrained), best.pt on the 82-image validation split.
AUTHORS: dict[str, dict[str, Any]] = {
    "detect": {
        "source": "FracAtlas authors, Train_8s.ipynb (val, 82 images / 91 instances)",
        "box": {"precision": 0.807, "recall": 0.473, "mAP50": 0.562, "mAP50-95": 0.276},
    },
    "segment": {
        "source": "FracAtlas authors, Train_8s.ipynb (val, 82 images / 117 instances)",
        "box": {"precision": 0.718, "recall": 0.607, "mAP50": 0.627, "mAP50-95": 0.289},
        "mask": {"precision": 0.830, "recall": 0.499, "mAP50": 0.589, "mAP50-95": 0.211},
    },
}

#: Independent reproduction (FLENS, v7 official split, Ultralytics 8.4.149, SGD), validation split.
FLENS: dict[str, dict[str, Any]] = {
    "detect": {
        "source": "FLENS reproduction, batch 16 SGD (val)",
        "box": {"precision": 0.579, "recall": 0.495, "mAP50": 0.470, "mAP50-95": 0.215},
    },
    "segment": {
        "source": "FLENS reproduction, batch 8 SGD (val)",
        "box": {"precision": 0.646, "recall": 0.481, "mAP50": 0.530, "mAP50-95": 0.258},
        "mask": {"precision": 0.763, "recall": 0.424, "mAP50": 0.509, "mAP50-95": 0.192},
    },
}

PUBLISHED: dict[str, list[dict[str, Any]]] = {t: [AUTHORS[t], FLENS[t]] for t in ("detect", "segment")}

_FRACATLAS_PATH = re.compile(r"frac[-_ ]?atlas", re.IGNORECASE)


def is_fracatlas(names: Any, path: str | Path | None) -> bool:
    """True when the class list is exactly ``["fractured"]`` and the path mentions FracAtlas."""
    if isinstance(names, Mapping):
        names = [names[k] for k in sorted(names)]
    if list(names or []) != ["fractured"]:
        return False
    return path is not None and bool(_FRACATLAS_PATH.search(str(path)))


def comparison_rows(ours: Mapping[str, Mapping[str, float]], task: str) -> list[dict[str, Any]]:
    """Rows ``{run, part, precision, recall, mAP50, mAP50-95}``: ours first, then the published runs."""
    rows = []
    for label, metrics in [("this run", ours)] + [(p["source"], p) for p in PUBLISHED[task]]:
        for part in ("box", "mask"):
            if part in metrics:
                rows.append({"run": label, "part": part, **{k: metrics[part][k] for k in ("precision", "recall", "mAP50", "mAP50-95")}})
    return rows
