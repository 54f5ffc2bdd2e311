"""agreement.inputs: which images each reader saw, dataset.csv metadata, the sources used."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from fracatlas_annot.agreement import agree, read_image_list, read_meta, source_preference
from fracatlas_annot.errors import InputError

from .builders import make_source


def test_images_missing_from_one_side_are_listed_not_dropped():
    # Both inputs list their images (negatives included), so absence means "not read".
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("9.jpg", 0, 0, 10, 10)], ["1.jpg", "2.jpg", "9.jpg"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10), ("8.jpg", 5, 5, 9, 9)], ["1.jpg", "2.jpg", "8.jpg", "7.jpg"])
    r = agree(a, b, geometry="box")
    il = r.image_level
    assert il["images_only_a"] == ["9.jpg"]
    assert sorted(il["images_only_b"]) == ["7.jpg", "8.jpg"]
    # the 2x2 table covers 1.jpg (both +) and 2.jpg (both -) only
    assert il["n"] == 2 and il["table"]["both_positive"] == 1 and il["table"]["both_negative"] == 1
    d = r.disagreements
    assert d["kind"].tolist()[:3] == ["image-only-in-a", "image-only-in-b", "image-only-in-b"]
    # objects on images only one reader read are not "missing": they are in the image-only rows
    assert not d["kind"].isin(["missing-in-a", "missing-in-b"]).any()
    # objects on images one reader never read are not misses: 9.jpg (A) and 8.jpg (B)
    # are left out of the instance counts -> 1 object each side, TP 1, FN 0, FP 0
    row = r.instance.iloc[0]
    assert (row["objects_a"], row["objects_b"], row["tp"], row["fn"], row["fp"]) == (1, 1, 1, 0, 0)
    assert any("left out of the instance statistics" in n for n in r.notes)


def test_sparse_exports_count_absent_images_as_negative_with_meta():
    # makesense-style: only images with labels are listed. With dataset.csv (meta) the
    # other images of the csv are negatives for both.
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("2.jpg", 0, 0, 10, 10)])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10)])
    meta = pd.DataFrame({"image_id": ["1.jpg", "2.jpg", "3.jpg", "4.jpg"], "hand": [1, 1, 0, 0], "leg": [0, 0, 1, 1], "frontal": [1, 0, 1, 0]})
    r = agree(a, b, meta=meta, geometry="box")
    il = r.image_level
    # a=1 (1.jpg) b=1 (2.jpg) c=0 d=2 (3, 4): po = 3/4 ; pA+ = 1/2, pB+ = 1/4 -> pe = 1/8 + 3/8 = 1/2 ; kappa = 1/2
    assert il["table"] == {"both_positive": 1, "a_only_positive": 1, "b_only_positive": 0, "both_negative": 2}
    assert il["kappa"] == pytest.approx(0.5)
    assert any("absent from it counts as 'no fracture'" in n for n in r.notes)
    # breakdown by body part: hand = {1, 2}: a=1, b=1 -> raw agreement 1/2; leg = {3, 4}: both negative
    bi = r.breakdowns["image_level"].set_index("group")
    assert bi.loc["hand", "images"] == 2 and bi.loc["hand", "raw_agreement"] == pytest.approx(0.5)
    assert bi.loc["leg", "both_negative"] == 2 and math.isnan(bi.loc["leg", "kappa"])
    assert bi.loc["frontal", "both_positive"] == 1 and bi.loc["frontal", "both_negative"] == 1
    inst = r.breakdowns["instance"]
    hand = inst[(inst["group"] == "hand") & (inst["iou"] == 0.5)].iloc[0]
    # hand: A 2 objects, B 1, 1 pair -> F1 = (1 + 1) / (2 + 1)
    assert (hand["objects_a"], hand["objects_b"], hand["fn"], hand["fp"]) == (2, 1, 1, 0)
    assert hand["f1"] == pytest.approx(2 / 3)


def test_sparse_exports_without_meta_warn():
    a = make_source("a", [("1.jpg", 0, 0, 10, 10)])
    b = make_source("b", [("2.jpg", 0, 0, 10, 10)])
    r = agree(a, b, geometry="box")
    # only the union of listed images is known: 1 A only, 2 B only, no negatives
    assert r.image_level["table"] == {"both_positive": 0, "a_only_positive": 1, "b_only_positive": 1, "both_negative": 0}
    assert any("--meta" in n for n in r.notes)



# --------------------------------------------------------------------------- dataset.csv and image lists

CSV_HEADER = "image_id,hand,leg,hip,shoulder,mixed,hardware,multiscan,fractured,fracture_count,frontal,lateral,oblique\n"


def test_meta_csv_is_read_by_the_fracatlas_reader(tmp_path):
    # the archive reader's rules: BOM tolerated, first row per image id, flags as integers
    # (a second row for 1.jpg used to crash the breakdowns with a non-unique index)
    csv = tmp_path / "dataset.csv"
    csv.write_bytes(
        ("\ufeff" + CSV_HEADER + "1.jpg,1,0,0,0,0,0,0,1,1,1,0,0\n1.jpg,0,1,0,0,0,0,0,1,1,0,1,0\n2.jpg,1,0,0,0,0,0,0,0,0,1,0,0\n").encode()
    )
    meta = read_meta(tmp_path)  # the folder holding dataset.csv
    assert meta.index.tolist() == ["1.jpg", "2.jpg"] and meta.loc["1.jpg", "hand"] == 1 and meta.loc["1.jpg", "leg"] == 0
    a = make_source("a", [("1.jpg", 0, 0, 10, 10)])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10)])
    r = agree(a, b, meta=csv, geometry="box")
    assert r.image_level["table"] == {"both_positive": 1, "a_only_positive": 0, "b_only_positive": 0, "both_negative": 1}
    hand = r.breakdowns["image_level"].set_index("group").loc["hand"]
    assert (hand["images"], hand["both_positive"], hand["both_negative"]) == (2, 1, 1)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a,b\n1,2\n", "no 'image_id' column (header: a, b) (line 1)"),
        (b"", "empty file (line 1)"),
        (b"image_id,hand\n\xff\xfe,1\n", "not UTF-8: invalid byte at offset 14 (line 2)"),
    ],
)
def test_unreadable_meta_csv_is_an_input_error_with_its_line(tmp_path, content, message):
    csv = tmp_path / "dataset.csv"
    csv.write_bytes(content)
    with pytest.raises(InputError) as err:
        agree(make_source("a", []), make_source("b", []), meta=csv)
    assert str(err.value) == f"cannot read {csv}: cannot read dataset.csv metadata: {message}"


def test_image_list_file(tmp_path):
    path = tmp_path / "read.txt"
    path.write_text("\ufeff# reader-2's worklist\n\nscans/1.jpg\n  2.jpg  \n# 3.jpg\n", encoding="utf-8")
    assert read_image_list(path) == ["1.jpg", "2.jpg"]
    with pytest.raises(InputError, match="nope.txt"):
        read_image_list(tmp_path / "nope.txt")


# --------------------------------------------------------------------------- which export is used


def test_source_preference_picks_voc_boxes_over_yolo_and_coco_polygons_over_vgg():
    from fracatlas_annot.model import Dataset

    poly = make_source("p", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"])
    boxes = make_source("b", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"], polygons=False)
    reader = Dataset(
        sources={
            "yolo": dataclasses.replace(boxes, name="yolo", format="yolo"),
            "voc": dataclasses.replace(boxes, name="voc", format="voc"),
            "vgg": dataclasses.replace(poly, name="vgg", format="vgg"),
            "coco": dataclasses.replace(poly, name="coco", format="coco"),
        }
    )
    # the formats registry owns the order: pixel formats before normalised ones
    assert source_preference("polygon") == ("coco", "vgg", "yolo")
    assert source_preference("box") == ("voc", "csv", "yolo")
    r = agree(reader, reader)
    assert r.inputs["reader-1"] == {"mask": "polygons of source 'coco' (coco)", "box": "rectangles of source 'voc' (voc)"}
    no_rects = Dataset(sources={"vgg": reader.sources["vgg"]})
    assert agree(no_rects, reader).inputs["reader-1"]["box"] == "extents of the polygons of source 'vgg' (vgg)"
