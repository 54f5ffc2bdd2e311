"""FA2xx: boxes matched one to one with polygons (Hungarian on IoU of extents)."""

from __future__ import annotations

import pytest

from .builders import box_source, coco_source, dataset, run, square

A, B = "IMG0000019.jpg", "IMG0000025.jpg"


def test_matching_is_one_to_one_and_reports_the_unmatched_side() -> None:
    coco = coco_source([(A, square(100, 100, 40)), (A, square(300, 300, 20)), (B, square(10, 10, 20))])
    # A: two boxes, the second nowhere near the second polygon; B: matches exactly
    voc = box_source([(A, (100, 100, 140, 140)), (A, (10, 400, 30, 420)), (B, (10, 10, 30, 30))])
    ds = dataset({A: {}, B: {}}, [coco, voc])
    f = run("FA201", ds)
    assert sorted(zip(f.source, f.image, f.object)) == [("coco", A, 1), ("voc", A, 1)]
    assert len(run("FA203", ds)) == 0  # counts agree


def test_low_iou_reports_iou_and_offset() -> None:
    coco = coco_source([(A, [100, 100, 140, 100, 140, 130, 100, 130])])
    voc = box_source([(A, (130, 100, 170, 130))])
    f = run("FA202", dataset({A: {}}, [coco, voc]))
    assert len(f) == 1
    assert "IoU 0.14, corners up to 30 px apart" in f.iloc[0].message


def test_voc_rounding_and_one_pixel_differences_are_silent() -> None:
    coco = coco_source([(A, [100.4, 100.4, 108.6, 100.4, 108.6, 108.6, 100.4, 108.6])])  # a small 8 px object
    voc = box_source([(A, (100, 100, 109, 109))])  # Math.round of each corner
    yolo = box_source([(A, (100.4, 100.4, 109.6, 108.6))], name="yolo", class_ids=[0])  # 1 px wider
    ds = dataset({A: {}}, [coco, voc, yolo])
    for code in ("FA201", "FA202", "FA203"):
        assert len(run(code, ds)) == 0, code


def test_count_mismatch_once_per_box_source_and_image() -> None:
    coco = coco_source([(A, square(100, 100, 40))])
    voc = box_source([(A, (100, 100, 140, 140)), (A, (200, 200, 240, 240))])
    f = run("FA203", dataset({A: {}}, [coco, voc]))
    assert list(zip(f.source, f.image)) == [("voc", A)]
    assert f.iloc[0].message == "2 box(es) in `voc`, 1 polygon(s) in `coco`"


def test_images_missing_from_coco_are_not_matched() -> None:
    # a negative image listed by VOC only (makesense COCO drops negatives): nothing to match
    coco = coco_source([(A, square(100, 100, 40))])
    voc = box_source([(A, (100, 100, 140, 140))], images={A: (373, 454), B: (373, 454)})
    ds = dataset({A: {}, B: {}}, [coco, voc])
    for code in ("FA201", "FA202", "FA203"):
        assert len(run(code, ds)) == 0, code


def test_coco_bbox_and_area_against_polygon() -> None:
    poly = [100, 100, 140, 100, 140, 130, 100, 130]
    coco = coco_source(
        [(A, poly), (A, poly), (A, poly), (A, poly)],
        extra={"bbox_x1": [140.0, 160.0, 140.0, 140.0], "area": [1200.0, 1200.0, 4800.0, 1200.0 * 1.01]},
    )
    ds = dataset({A: {}}, [coco])
    bbox = run("FA204", ds)
    assert bbox["object"].tolist() == [1]
    assert "by 20 px" in bbox.iloc[0].message
    area = run("FA205", ds)
    assert area["object"].tolist() == [2]
    assert area.iloc[0].message == "area 4800 but the polygon's area is 1200 (300% off) and its rasterised mask has 1200 pixels"


def test_missing_coco_area_reported() -> None:
    import numpy as np

    coco = coco_source([(A, square(10, 10, 20))], extra={"area": [np.nan]})
    f = run("FA205", dataset({A: {}}, [coco]))
    assert f.iloc[0].message == "annotation has no area"
