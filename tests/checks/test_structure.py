"""FA0xx on in-memory datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from fracatlas_annot.model import Problem

from .builders import box_source, coco_source, dataset, run, square

A = "IMG0000019.jpg"


@pytest.mark.parametrize(
    "kind, code",
    [
        pytest.param("parse-error", "FA001", id="parse-error"),
        pytest.param("missing-key", "FA002", id="missing-key"),
        pytest.param("bad-value", "FA003", id="bad-value"),
        pytest.param("unsafe-xml", "FA004", id="unsafe-xml"),
        pytest.param("unsafe-zip-entry", "FA004", id="unsafe-zip"),
        pytest.param("duplicate-image-id", "FA005", id="dup-image"),
        pytest.param("orphan-annotation", "FA007", id="orphan"),
        pytest.param("unsupported", "FA000", id="catch-all"),
    ],
)
def test_read_problems_become_findings_with_location(kind: str, code: str) -> None:
    p = Problem(
        kind, "something wrong", file="Annotations/PASCAL VOC/x.xml", loc="/annotation/object[2]", source="voc", image=A
    )
    f = run(code, dataset({A: {}}, problems=[p]))
    assert len(f) == 1
    row = f.iloc[0].to_dict()
    assert (row["code"], row["image"], row["source"], row["file"], row["loc"]) == (
        code,
        A,
        "voc",
        "Annotations/PASCAL VOC/x.xml",
        "/annotation/object[2]",
    )
    # the other structure rules stay silent on it
    others = {"FA000", "FA001", "FA002", "FA003", "FA004", "FA005", "FA007"} - {code}
    assert all(len(run(c, dataset({A: {}}, problems=[p]))) == 0 for c in others)


def test_reader_warning_stays_a_warning() -> None:
    p = Problem(
        "bad-value",
        "bbox 'x' is not [x, y, w, h] numbers; ignored",
        file="c.json",
        loc="annotations[3]",
        severity="warning",
    )
    f = run("FA003", dataset({}, problems=[p]))
    assert f.iloc[0].severity == "warning"
    p_err = Problem("bad-value", "4 fields", file="a.txt", line=1)
    assert run("FA003", dataset({}, problems=[p_err])).iloc[0].severity == "error"


def test_catch_all_keeps_kind_and_severity() -> None:
    p = Problem("unsupported", "point labels are not read", file="x.json", loc="regions.3", severity="warning")
    f = run("FA000", dataset({}, problems=[p]))
    assert f.iloc[0].severity == "warning"
    assert f.iloc[0].message.startswith("unsupported: ")


def test_duplicate_annotation_id_points_at_the_second_use() -> None:
    src = coco_source([(A, square(10, 10, 20)), (A, square(50, 50, 20))], extra={"ann_id": [7, 7]})
    f = run("FA006", dataset({A: {}}, [src]))
    assert f["object"].tolist() == [1]
    assert "annotations[0]" in f.iloc[0].message
    assert len(run("FA006", dataset({A: {}}, [coco_source([(A, square(10, 10, 20)), (A, square(50, 50, 20))])]))) == 0


def test_missing_unknown_and_negative_classes() -> None:
    coco = coco_source(
        [(A, square(10, 10, 20)), (A, square(50, 50, 20)), (A, square(90, 90, 20))], category=[None, 3, 1]
    )
    yolo = box_source(
        [(A, (10, 10, 30, 30)), (A, (50, 50, 70, 70)), (A, (90, 90, 110, 110))], name="yolo", class_ids=[-1, 1, 0]
    )
    ds = dataset({A: {}}, [coco, yolo])
    missing = run("FA008", ds)
    assert list(zip(missing.source, missing.object)) == [("coco", 0)]
    unknown = run("FA009", ds)
    assert sorted(zip(unknown.source, unknown.object)) == [("coco", 1), ("yolo", 1)]
    assert "beyond the class list (1 classes: fractured)" in unknown[unknown.source == "yolo"].iloc[0].message
    negative = run("FA010", ds)
    assert list(zip(negative.source, negative.object)) == [("yolo", 0)]


def test_empty_voc_name_is_a_missing_label() -> None:
    voc = box_source([(A, (10, 10, 30, 30))], labels=[""])
    assert len(run("FA008", dataset({A: {}}, [voc]))) == 1


def test_class_id_offset_copied_category_id() -> None:
    coco = coco_source([(A, square(10, 10, 20))], labels=("fractured", "hardware"))
    yolo_bad = box_source([(A, (10, 10, 30, 30))], name="yolo", class_ids=[1], label_list=("fractured", "hardware"))
    f = run("FA011", dataset({A: {}}, [coco, yolo_bad], labels=("fractured", "hardware")))
    assert list(zip(f.source, f.image)) == [("yolo", A)]
    assert "1-based to 0-based" in f.iloc[0].message
    yolo_ok = box_source([(A, (10, 10, 30, 30))], name="yolo", class_ids=[0], label_list=("fractured", "hardware"))
    assert len(run("FA011", dataset({A: {}}, [coco, yolo_ok], labels=("fractured", "hardware")))) == 0


def test_label_name_mismatch_with_hint() -> None:
    voc = box_source([(A, (10, 10, 30, 30))], labels=["fracture"], label_list=("fracture",))
    f = run("FA012", dataset({A: {}}, [coco_source([(A, square(10, 10, 20))]), voc]))
    assert set(f.source) == {"voc"}
    assert any(m.endswith("did you mean `fractured`?") for m in f.message)
    assert (f.image == A).any()


def test_duplicate_label_name() -> None:
    coco = coco_source([(A, square(10, 10, 20))], labels=("fractured", "fractured"))
    f = run("FA013", dataset({A: {}}, [coco]))
    assert len(f) == 1 and "`fractured`" in f.iloc[0].message


def test_duplicate_object_once() -> None:
    yolo = box_source(
        [(A, (10, 10, 30, 30)), (A, (10, 10, 30, 30)), (A, (10, 10, 31, 30))], name="yolo", class_ids=[0, 0, 0]
    )
    f = run("FA014", dataset({A: {}}, [yolo]))
    assert f["object"].tolist() == [1]


def test_crowd_and_rle() -> None:
    coco = coco_source([(A, square(10, 10, 20)), (A, square(50, 50, 20))], extra={"iscrowd": [0, 1]})
    f = run("FA015", dataset({A: {}}, [coco]))
    assert f["object"].tolist() == [1] and "iscrowd=1" in f.iloc[0].message


def test_stale_label_cache_found_and_symlink_loops_ignored(tmp_path) -> None:
    """FA017 finds Ultralytics *.cache files in the root and its direct sub-folders; a
    symlink loop or unreadable entry there is skipped, not an internal error."""
    import shutil

    from fracatlas_annot.validate import validate

    root = tmp_path / "fracatlas-mini"
    shutil.copytree(Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini", root)
    (root / "Annotations" / "YOLO.cache").write_bytes(b"\x80\x04stale")
    (root / "loop").symlink_to(root / "loop")
    found = validate(root, select="FA017", fast=True, progress=False).findings
    assert found["code"].tolist() == ["FA017"]
    assert found["file"].tolist() == ["Annotations/YOLO.cache"]
