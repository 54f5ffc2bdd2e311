"""FA3xx: sources compared with the reference source (COCO first)."""

from __future__ import annotations

from .builders import box_source, coco_source, dataset, run, square

A, B, C = "IMG0000019.jpg", "IMG0000025.jpg", "IMG0000031.jpg"
SIZES = {A: (373, 454), B: (373, 454), C: (373, 454)}


def test_same_kind_count_geometry_and_label() -> None:
    voc = box_source([(A, (10, 10, 30, 30)), (B, (10, 10, 30, 30)), (C, (10, 10, 30, 30))], images=SIZES)
    yolo = box_source(
        [(A, (10, 10, 30, 30)), (A, (50, 50, 70, 70)), (B, (200, 10, 220, 30)), (C, (10, 10, 30, 30))],
        name="yolo", class_ids=[0, 0, 0, 0], labels=["fractured", "fractured", "fractured", "hardware"],
        images={k: (None, None) for k in SIZES},
    )  # fmt: skip
    ds = dataset({k: {} for k in SIZES}, [voc, yolo])  # no polygon source: VOC is the reference
    count = run("FA301", ds)
    assert list(zip(count.source, count.image)) == [("yolo", A)]
    geom = run("FA302", ds)
    assert list(zip(geom.source, geom.image)) == [("yolo", B)]
    label = run("FA303", ds)
    assert list(zip(label.source, label.image)) == [("yolo", C)]
    assert label.iloc[0].message == "label `hardware` but `fractured` in `voc`"


def test_negatives_missing_from_coco_are_by_design() -> None:
    coco = coco_source([(A, square(10, 10, 20))])
    voc = box_source([(A, (10, 10, 30, 30))], images=SIZES)  # lists B and C without objects
    ds = dataset({A: {"fractured": 1}, B: {}, C: {}}, [coco, voc])
    assert len(run("FA304", ds)) == 0


def test_labelled_image_missing_from_coco_and_negative_missing_from_full_listing() -> None:
    coco = coco_source([(A, square(10, 10, 20))])
    voc = box_source([(A, (10, 10, 30, 30)), (B, (10, 10, 30, 30))], images={A: (373, 454), B: (373, 454)})
    ds = dataset({A: {"fractured": 1}, B: {"fractured": 1}, C: {}}, [coco, voc])
    f = run("FA304", ds)
    got = sorted(zip(f.source, f.image))
    # B is labelled in VOC but missing from COCO; this VOC lists no negative, so C is not expected in it
    assert got == [("coco", B)]
    full = box_source([(A, (10, 10, 30, 30))], images={A: (373, 454), B: (373, 454)})  # lists B as a negative
    ds2 = dataset({A: {"fractured": 1}, B: {}, C: {}}, [coco, full])
    f2 = run("FA304", ds2)
    assert sorted(zip(f2.source, f2.image)) == [("voc", C)]


def test_declared_sizes_differ_between_sources() -> None:
    coco = coco_source([(A, square(10, 10, 20))], images={A: (373, 454)})
    voc = box_source([(A, (10, 10, 30, 30))], images={A: (454, 373)})
    f = run("FA305", dataset({A: {}}, [coco, voc]))
    assert len(f) == 1 and "coco 373x454" in f.iloc[0].message and "voc 454x373" in f.iloc[0].message
