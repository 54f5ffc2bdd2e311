"""The end-to-end proof: a correctly converted learnable set trains to a clearly useful
model; the same set converted with x and y swapped does not.

Measured with tests/trainer/measure_margins.py (see the floors below for the numbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import trainer

from tests.trainer._e2e import SETTINGS, write_sets

pytestmark = pytest.mark.slow

#: val mAP50 floors and ceilings, from measured runs (training seeds 0, 1, 2 on the seed-0
#: archive; see module docstring of measure_margins.py and the trainer report):
#: detect ok 0.60-0.8x, swapped <= 0.01; segment ok box/mask 0.6x-0.8x, swapped <= 0.01.
FLOOR = {"detect": {"box": 0.35}, "segment": {"box": 0.35, "mask": 0.30}}
CEILING = 0.10


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_correct_conversion_learns_and_swapped_does_not(task: str, learnable: Path, tmp_path: Path) -> None:
    scores = {}
    for variant in ("ok", "swap"):
        data = write_sets(learnable, tmp_path, task, variant)
        result = trainer.train(data, task=task, out=tmp_path / "runs", name=variant, **SETTINGS)
        assert result["label_warnings"] == []
        scores[variant] = result["metrics"]
    for part, floor in FLOOR[task].items():
        ok, bad = scores["ok"][part]["mAP50"], scores["swap"][part]["mAP50"]
        assert ok > floor, (part, scores)
        assert bad < CEILING, (part, scores)
        assert ok - bad > floor - CEILING, (part, scores)
