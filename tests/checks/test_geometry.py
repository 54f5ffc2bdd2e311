"""FA1xx on in-memory datasets, including the border tolerance makesense needs."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from .builders import box_source, coco_source, dataset, run, square

A = "IMG0000019.jpg"  # 373 x 454


def _coco(*polys, **kw):
    return coco_source([(A, p) for p in polys], **kw)


def test_too_few_vertices_counts_distinct_ones() -> None:
    src = _coco([10, 10, 20, 20, 10, 10], square(50, 50, 10))
    # the reader's vertex count (distinct vertices) drives the rule; recompute from geometry when absent
    f = run("FA101", dataset({A: {}}, [src]))
    assert f["object"].tolist() == [0]
    assert "2 distinct vertices" in f.iloc[0].message


def test_invalid_polygon_says_why_and_where() -> None:
    bowtie = [100, 100, 200, 200, 200, 100, 100, 200]
    f = run("FA102", dataset({A: {}}, [_coco(bowtie, square(10, 10, 20))]))
    assert f["object"].tolist() == [0]
    assert f.iloc[0].message.startswith("invalid polygon: Self-intersection[150 150]")


def test_zero_area_is_not_also_invalid() -> None:
    line = [10, 10, 20, 20, 30, 30]
    ds = dataset({A: {}}, [_coco(line)])
    assert run("FA103", ds)["object"].tolist() == [0]
    assert len(run("FA102", ds)) == 0
    assert len(run("FA101", ds)) == 0


def test_degenerate_boxes() -> None:
    voc = box_source([(A, (120, 80, 120, 95)), (A, (10, 10, 5, 30)), (A, (10, 10, 30, 30))])
    f = run("FA104", dataset({A: {}}, [voc]))
    assert f["object"].tolist() == [0, 1]
    assert "width 0 px" in f.iloc[0].message


@pytest.mark.parametrize(
    "xmax, reported",
    [
        pytest.param(373.0, False, id="exactly-on-border"),
        pytest.param(373.0 * 1.0000000000000002, False, id="fracatlas-float-noise"),
        pytest.param(373.0 * (1 + 5e-7), False, id="makesense-5e-7-overshoot"),
        pytest.param(373.4, True, id="w-plus-0.4"),
    ],
)
def test_border_tolerance_polygons(xmax: float, reported: bool) -> None:
    poly = [xmax, 120.0, 360.0, 140.0, 350.0, 118.0]
    f = run("FA105", dataset({A: {"width": 373, "height": 454}}, [_coco(poly)]))
    assert (len(f) == 1) is reported
    if reported:
        assert "reaches 0.4 px past the right border of the 373x454 image" in f.iloc[0].message


def test_border_tolerance_normalised_yolo_rows() -> None:
    # unresolved YOLO rows (no image size known): checked in [0, 1] with the same tolerance
    yolo = box_source(
        [(A, (0.9, 0.5, 1.0000005, 0.6)), (A, (0.9, 0.5, 1.01, 0.6)), (A, (0.0, 0.0, 0.1, 0.1))],
        name="yolo", class_ids=[0, 0, 0], units="norm",
    )  # fmt: skip
    ds = dataset({}, [yolo])
    f = run("FA105", ds)
    assert f["object"].tolist() == [1]


@pytest.mark.parametrize(("w", "reported"), [(0.1001, False), (0.1010, True)], ids=["4-decimal-rounding", "real-overshoot"])
def test_border_tolerance_covers_four_decimal_yolo_rounding(w: float, reported: bool) -> None:
    """pylabel wrote FracAtlas's YOLO files with 4 decimals: a box on the border of a 2,880 px
    image ends at cx + w/2 = 1.00005 (0.14 px out) from rounding alone; 1.0005 (1.4 px) is out."""
    cx = 0.95
    yolo = box_source([(A, (cx - w / 2, 0.4, cx + w / 2, 0.6))], name="yolo", class_ids=[0], units="norm")
    f = run("FA105", dataset({A: {"width": 2880, "height": 2880}}, [yolo]))
    assert (len(f) == 1) is reported
    # the same overshoot in pixel units (a VOC or COCO source) has no rounding excuse
    px = box_source([(A, (10, 10, 2880 * (cx + 0.1001 / 2), 30))])
    assert len(run("FA105", dataset({A: {"width": 2880, "height": 2880}}, [px]))) == 1


def test_outside_uses_exif_corrected_frame_and_negative_side() -> None:
    # image displayed 373x454 (stored 454x373, orientation 6): a box at y=440 is inside
    voc = box_source([(A, (10, 430, 50, 454)), (A, (-3, 10, 50, 40))])
    f = run("FA105", dataset({A: {"width": 373, "height": 454, "orientation": 6}}, [voc]))
    assert f["object"].tolist() == [1]
    assert "3 px past the left border" in f.iloc[0].message


def test_outside_falls_back_to_declared_size_without_image() -> None:
    coco = coco_source([(A, [400, 10, 420, 10, 420, 30])], images={A: (373, 454)})
    f = run("FA105", dataset({}, [coco]))
    assert len(f) == 1


def test_non_finite() -> None:
    voc = box_source([(A, (np.nan, 10, 30, 30)), (A, (10, 10, np.inf, 30)), (A, (10, 10, 30, 30))])
    f = run("FA106", dataset({A: {}}, [voc]))
    assert f["object"].tolist() == [0, 1]


def test_multi_part_and_missing_polygon_and_hole() -> None:
    multi = shapely.MultiPolygon([shapely.box(10, 10, 30, 30), shapely.box(60, 60, 80, 80)])
    hole = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)], [[(40, 40), (60, 40), (60, 60), (40, 60)]])
    src = _coco(square(10, 10, 20), square(10, 10, 20), square(10, 10, 20), square(10, 10, 20))
    geom = src.objects["geometry"].to_numpy().copy()
    geom[1], geom[2], geom[3] = multi, None, hole
    src.objects["geometry"] = geom
    src.objects["n_parts"] = src.objects["n_parts"].astype("Int64")
    src.objects.loc[1, "n_parts"] = 2
    ds = dataset({A: {}}, [src])
    assert run("FA107", ds)["object"].tolist() == [1]
    assert run("FA108", ds)["object"].tolist() == [2]
    assert run("FA109", ds)["object"].tolist() == [3]


def test_box_sources_have_no_polygon_findings() -> None:
    voc = box_source([(A, (10, 10, 30, 30))])
    ds = dataset({A: {}}, [voc])
    for code in ("FA101", "FA102", "FA103", "FA107", "FA108", "FA109"):
        assert len(run(code, ds)) == 0, code
