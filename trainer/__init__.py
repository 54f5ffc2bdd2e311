"""Fit YOLOv8s / YOLOv8s-seg on a converted FracAtlas-style set, offline, and prove the data.

Public API (mirrors the CLI commands ``train``, ``evaluate``, ``predict``, ``smoke``)::

    from trainer import train, evaluate, predict, smoke
    result = train("out/seg/data.yaml", task="segment", epochs=30, imgsz=600, out="runs/seg")
    evaluate(result["weights"], "out/seg/data.yaml", split="test", out="runs/seg")
    predict(result["weights"], ["images/"], out="runs/pred")
    smoke("fixtures/fracatlas-mini")

Ultralytics is imported only inside these functions, after :func:`trainer.offline.setup`
has made it offline (see that module).
"""

from __future__ import annotations

from .fit import evaluate, train
from .predict import predict
from .smoke import smoke

__all__ = ["train", "evaluate", "predict", "smoke"]
