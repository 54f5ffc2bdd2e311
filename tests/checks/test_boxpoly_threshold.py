"""FA202 at its threshold: a pair is reported when its IoU is *below* the threshold, not at it."""

from __future__ import annotations

import pytest

from .builders import box_source, coco_source, dataset, run, square

A = "IMG0000019.jpg"


@pytest.mark.parametrize(
    ("box_height", "reported"),
    [
        pytest.param(75, False, id="iou-exactly-0.75-not-reported"),
        pytest.param(74, True, id="iou-0.74-reported"),
    ],
)
def test_box_polygon_iou_exactly_at_the_threshold(box_height: int, reported: bool) -> None:
    # polygon extent 100 x 100; the box covers its top `box_height` rows, so IoU = box_height / 100
    # exactly (7500 / 10000 is exact in binary floating point) and a corner is 25+ px off (> 2 px)
    coco = coco_source([(A, square(100, 100, 100))])
    voc = box_source([(A, (100, 100, 200, 100 + box_height))])
    f = run("FA202", dataset({A: {}}, [coco, voc]), iou_threshold=0.75)
    assert (len(f) == 1) is reported
    if reported:
        assert "IoU 0.74" in f.iloc[0].message


def test_default_threshold_is_0_75() -> None:
    coco = coco_source([(A, square(100, 100, 100))])
    at = dataset({A: {}}, [coco, box_source([(A, (100, 100, 200, 175))])])
    below = dataset({A: {}}, [coco, box_source([(A, (100, 100, 200, 174))])])
    assert (len(run("FA202", at)), len(run("FA202", below))) == (0, 1)
