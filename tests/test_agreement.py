"""Two-reader agreement: kappa, specific agreement, matching, instance statistics, the
adjudication queue and breakdowns, each checked against numbers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.agreement import (
    agree,
    box_iou_matrix,
    box_iou_pairs,
    cohen_kappa,
    match_pairs,
    polygon_iou_pairs,
    size_class,
    specific_agreement,
)
from fracatlas_annot.errors import UsageError
from fracatlas_annot.model import Source, make_objects, make_source_images


def make_source(name, rows, images=None, *, polygons=True, labels=None):
    """rows: (image, x0, y0, x1, y1) boxes or (image, shapely geometry)."""
    imgs, geoms, boxes = [], [], []
    for r in rows:
        imgs.append(r[0])
        if isinstance(r[1], shapely.Geometry):
            geoms.append(r[1])
            boxes.append(shapely.bounds(r[1]))
        else:
            geoms.append(shapely.box(*r[1:5]))
            boxes.append(r[1:5])
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    objects = make_objects(
        {
            "image": imgs,
            "label": labels if labels is not None else ["fractured"] * len(rows),
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "geometry": geoms if polygons else [None] * len(rows),
            "file": [f"{name}.json"] * len(rows),
            "loc": [f"annotations[{i}]" for i in range(len(rows))],
        }
    )
    kw = {}
    if images is not None:
        kw["images"] = make_source_images(images, width=[100] * len(images), height=[100] * len(images))
    return Source(name=name, format="coco" if polygons else "voc", objects=objects, geometry="polygon" if polygons else "box", **kw)


# --------------------------------------------------------------------------- kappa


def test_kappa_textbook_example():
    # Wikipedia "Cohen's kappa", worked example (50 grant proposals, two readers):
    # both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    # po = (20 + 15) / 50 = 0.70; p_yes = 25/50 * 30/50 = 0.30; p_no = 25/50 * 20/50 = 0.20
    # pe = 0.50; kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40 (the published value).
    k = cohen_kappa([[20, 5], [10, 15]])
    assert k["po"] == pytest.approx(0.70)
    assert k["pe"] == pytest.approx(0.50)
    assert k["kappa"] == pytest.approx(0.40)
    assert k["reason"] is None


def test_kappa_standard_error_by_hand():
    # Same table as proportions: p11 .4, p12 .1, p21 .2, p22 .3; rows .5 .5; columns .6 .4.
    # Fleiss, Cohen & Everitt (1969), with k = .4, 1 - k = .6, pe = .5, n = 50:
    # A = .4 (1 - (.5 + .6) .6)^2 + .3 (1 - (.5 + .4) .6)^2 = .4 * .1156 + .3 * .2116 = .10972
    # B = .6^2 [ .1 (p.1 + p2.)^2 + .2 (p.2 + p1.)^2 ] = .36 [ .1 * 1.1^2 + .2 * .9^2 ] = .36 * .283 = .10188
    # C = (.4 - .5 * .6)^2 = .01
    # var = (.10972 + .10188 - .01) / (50 * .5^2) = .2016 / 12.5 = .016128; se = .126996
    k = cohen_kappa([[20, 5], [10, 15]])
    assert k["se"] == pytest.approx(math.sqrt(0.016128), rel=1e-9)
    assert k["ci"][0] == pytest.approx(0.4 - 1.959963984540054 * math.sqrt(0.016128))
    assert k["ci"][1] == pytest.approx(0.4 + 1.959963984540054 * math.sqrt(0.016128))


@pytest.mark.parametrize("table", [[[20, 5], [10, 15]], [[88, 7, 5], [10, 40, 10], [22, 6, 12]], [[3, 1], [0, 46]]])
def test_kappa_standard_error_equals_delta_method(table):
    # Independent oracle: the delta method on the multinomial, var = (sum p g^2 - (sum p g)^2) / n
    # with g = d kappa / d p_ij taken numerically. The FCE (1969) formula is exactly this.
    t = np.asarray(table, dtype=float)
    n = t.sum()
    p = t / n

    def kappa_of(q):
        q = q / q.sum()
        po = np.trace(q)
        pe = q.sum(1) @ q.sum(0)
        return (po - pe) / (1 - pe)

    g = np.zeros_like(p)
    h = 1e-7
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            up = p.copy()
            up[i, j] += h
            dn = p.copy()
            dn[i, j] -= h
            # derivative without renormalising: kappa as a function of the raw cell proportions
            g[i, j] = (_kappa_raw(up) - _kappa_raw(dn)) / (2 * h)
    var = (np.sum(p * g**2) - np.sum(p * g) ** 2) / n
    k = cohen_kappa(table)
    assert k["kappa"] == pytest.approx(kappa_of(p))
    assert k["se"] == pytest.approx(math.sqrt(var), rel=1e-5)


def _kappa_raw(q):
    po = np.trace(q)
    pe = q.sum(1) @ q.sum(0)
    return (po - pe) / (1 - pe)


def test_kappa_undefined_cases_are_nan_with_reason():
    none = cohen_kappa([[0, 0], [0, 0]])
    assert math.isnan(none["kappa"]) and "no images" in none["reason"]
    all_negative = cohen_kappa([[30, 0], [0, 0]])  # rows/cols: (negative, positive)
    assert math.isnan(all_negative["kappa"])
    assert "negative" in all_negative["reason"] and "undefined" in all_negative["reason"]
    assert math.isnan(all_negative["se"])


def test_specific_agreement_by_hand():
    # a=20 both positive, b=5, c=10, d=15: p_pos = 40 / 55, p_neg = 30 / 45
    s = specific_agreement(20, 5, 10, 15)
    assert s["positive"] == pytest.approx(40 / 55)
    assert s["negative"] == pytest.approx(30 / 45)
    z = specific_agreement(0, 0, 0, 7)
    assert math.isnan(z["positive"]) and z["positive_reason"] and z["negative"] == 1.0


# --------------------------------------------------------------------------- geometry


def test_box_iou_by_hand():
    # (0,0,10,10) vs (5,0,15,10): intersection 5*10 = 50, union 100 + 100 - 50 = 150 -> 1/3
    # (0,0,10,10) vs (20,20,30,30): disjoint -> 0
    iou, inter = box_iou_pairs(np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    assert iou.tolist() == pytest.approx([1 / 3, 0.0])
    assert inter.tolist() == [50.0, 0.0]
    m = box_iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [0, 0, 10, 10]]))
    assert m.shape == (1, 2) and m[0].tolist() == pytest.approx([1 / 3, 1.0])


def test_polygon_iou_multipolygon_and_triangle_by_hand():
    two_squares = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])  # area 200
    square = shapely.box(0, 0, 10, 10)  # area 100
    triangle = shapely.Polygon([(0, 0), (10, 0), (0, 10)])  # area 50
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # self-intersecting: two triangles of 25
    iou, inter = polygon_iou_pairs(np.array([two_squares, triangle, bowtie, None], dtype=object), np.array([square, square, square, square], dtype=object))
    # multi: 100 / (200 + 100 - 100) = .5 ; triangle: 50 / (50 + 100 - 50) = .5
    # bowtie (made valid: 2 triangles, 50 in all, inside the square): 50 / 100 = .5 ; missing: 0
    assert iou.tolist() == pytest.approx([0.5, 0.5, 0.5, 0.0])
    assert inter.tolist() == pytest.approx([100.0, 50.0, 50.0, 0.0])


def test_size_class_uses_coco_limits():
    assert size_class(np.array([0, 1023.9, 1024, 9215.9, 9216, 1e6])).tolist() == ["small", "small", "medium", "medium", "large", "large"]


# --------------------------------------------------------------------------- matching


def _hungarian_case():
    # Intervals in x (all boxes 0..10 in y, so IoU = interval IoU):
    # a1 = [0,30], a2 = [17.5,47.5]; b1 = [7.5,37.5], b2 = [-10,20]
    # IoU(a1,b1) = 22.5/37.5 = .6 ; IoU(a1,b2) = 20/40 = .5 ; IoU(a2,b1) = 20/40 = .5
    # IoU(a2,b2) = 2.5/(30+30-2.5) = .0435 (under the threshold)
    # Greedy (best pair first) takes a1-b1 (.6) and leaves a2, b2 unmatched: 1 pair.
    # Maximising the total IoU takes a1-b2 + a2-b1 = 1.0: 2 pairs, mean IoU .5.
    a = make_source("a", [("x.jpg", 0, 0, 30, 10), ("x.jpg", 17.5, 0, 47.5, 10)], ["x.jpg"])
    b = make_source("b", [("x.jpg", 7.5, 0, 37.5, 10), ("x.jpg", -10, 0, 20, 10)], ["x.jpg"])
    return a, b


def test_matching_maximises_total_iou_not_greedy():
    a, b = _hungarian_case()
    r = agree(a, b, iou=(0.3,), geometry="box")
    row = r.instance.iloc[0]
    assert (row["tp"], row["fn"], row["fp"]) == (2, 0, 0)
    assert row["mean_iou"] == pytest.approx(0.5)
    pairs = r._matches[("box", 0.3)]
    assert sorted(zip(pairs["ia"], pairs["ib"])) == [(0, 1), (1, 0)]


def test_matching_several_conflicting_images():
    # the Hungarian case on x.jpg and y.jpg, a plain pair on w.jpg between them: 5 pairs
    rows_a, rows_b = [], []
    for img in ("x.jpg", "w.jpg", "y.jpg"):
        if img == "w.jpg":
            rows_a.append((img, 0, 0, 10, 10))
            rows_b.append((img, 0, 0, 10, 10))
            continue
        rows_a += [(img, 0, 0, 30, 10), (img, 17.5, 0, 47.5, 10)]
        rows_b += [(img, 7.5, 0, 37.5, 10), (img, -10, 0, 20, 10)]
    a = make_source("a", rows_a, ["x.jpg", "w.jpg", "y.jpg"])
    b = make_source("b", rows_b, ["x.jpg", "w.jpg", "y.jpg"])
    r = agree(a, b, iou=0.3, geometry="box")
    row = r.instance.iloc[0]
    # 2 + 1 + 2 pairs; mean IoU = (.5 * 4 + 1) / 5
    assert (row["tp"], row["fn"], row["fp"]) == (5, 0, 0)
    assert row["mean_iou"] == pytest.approx(3 / 5)


def test_match_pairs_discards_pairs_under_threshold():
    pairs = pd.DataFrame({"ia": [0, 1], "ib": [0, 1], "image": ["x", "y"], "iou": [0.49, 0.5], "same_label": [True, True]})
    m = match_pairs(pairs, 0.5)
    assert m[["ia", "ib"]].values.tolist() == [[1, 1]]


def _basic_readers():
    # 1.jpg: A (0,0,10,10) = B -> IoU 1 ; A (20,20,30,30) vs B (22,20,32,30): 80 / 120 = 2/3
    # 2.jpg: A (0,0,10,10) vs B (5,0,15,10): 50 / 150 = 1/3
    # 3.jpg: A only (FN) ; 4.jpg: B only (FP) ; 5.jpg: neither (listed by both)
    images = ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"]
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 20, 20, 30, 30), ("2.jpg", 0, 0, 10, 10), ("3.jpg", 0, 0, 10, 10)], images)
    b = make_source("b", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 22, 20, 32, 30), ("2.jpg", 5, 0, 15, 10), ("4.jpg", 50, 50, 60, 60)], images)
    return a, b


def test_instance_statistics_by_hand():
    a, b = _basic_readers()
    r = agree(a, b)
    inst = r.instance.set_index(["geometry", "iou"])
    for g in ("box", "mask"):  # the shapes are the boxes: both geometries agree
        lo = inst.loc[(g, 0.1)]
        # IoU .1 and .3: 3 pairs (1, 2/3, 1/3); FN = 4 - 3 = 1 (3.jpg); FP = 4 - 3 = 1 (4.jpg)
        # F1 = 2*3 / (2*3 + 1 + 1) = .75 ; mean IoU = (1 + 2/3 + 1/3) / 3 = 2/3
        # Dice = 2 IoU / (1 + IoU): 1, .8, .5 -> mean 2.3 / 3
        assert (lo["tp"], lo["fn"], lo["fp"], lo["label_mismatch"]) == (3, 1, 1, 0)
        assert lo["f1"] == pytest.approx(0.75)
        assert lo["mean_iou"] == pytest.approx(2 / 3)
        assert lo["mean_dice"] == pytest.approx(2.3 / 3)
        assert inst.loc[(g, 0.3)]["tp"] == 3
        hi = inst.loc[(g, 0.5)]
        # IoU .5: the 1/3 pair drops out: TP 2, FN 2, FP 2, F1 = 4 / 8, mean IoU (1 + 2/3) / 2
        assert (hi["tp"], hi["fn"], hi["fp"]) == (2, 2, 2)
        assert hi["f1"] == pytest.approx(0.5)
        assert hi["mean_iou"] == pytest.approx(5 / 6)
        assert hi["mean_dice"] == pytest.approx(0.9)


def test_image_level_by_hand():
    a, b = _basic_readers()
    r = agree(a, b)
    il = r.image_level
    # 1, 2 both positive; 3 A only; 4 B only; 5 neither: a=2 b=1 c=1 d=1, n=5
    assert il["table"] == {"both_positive": 2, "a_only_positive": 1, "b_only_positive": 1, "both_negative": 1}
    # po = 3/5; pA+ = pB+ = 3/5 -> pe = .36 + .16 = .52 ; kappa = (.6 - .52) / .48 = 1/6
    assert il["raw_agreement"] == pytest.approx(0.6)
    assert il["expected_agreement"] == pytest.approx(0.52)
    assert il["kappa"] == pytest.approx(1 / 6)
    # p_pos = 4 / (4 + 2) ; p_neg = 2 / (2 + 2)
    assert il["positive_agreement"] == pytest.approx(4 / 6)
    assert il["negative_agreement"] == pytest.approx(0.5)
    assert il["images_only_a"] == [] and il["images_only_b"] == []


def test_mask_and_box_differ_for_a_triangle():
    tri = shapely.Polygon([(0, 0), (10, 0), (0, 10)])
    a = make_source("a", [("1.jpg", tri)], ["1.jpg"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"])
    r = agree(a, b, iou=(0.5, 0.75))
    inst = r.instance.set_index(["geometry", "iou"])
    # box: both extents are (0,0,10,10) -> IoU 1 ; mask: 50 / 100 = .5
    assert inst.loc[("box", 0.75)]["tp"] == 1
    assert inst.loc[("mask", 0.5)]["tp"] == 1 and inst.loc[("mask", 0.5)]["mean_iou"] == pytest.approx(0.5)
    assert inst.loc[("mask", 0.75)]["tp"] == 0
    low = r.disagreements[r.disagreements["kind"] == "low-overlap"]
    assert low["geometry"].tolist() == ["mask"] and low["iou"].tolist() == pytest.approx([0.5])


def test_label_mismatch():
    a = make_source("a", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"], labels=["fractured"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"], labels=["hardware"])
    r = agree(a, b, geometry="box")
    row = r.instance.iloc[0]
    # the pair overlaps perfectly but the labels differ: not agreement -> TP 0, FN 1, FP 1
    assert (row["tp"], row["fn"], row["fp"], row["label_mismatch"]) == (0, 1, 1, 1)
    kinds = r.disagreements["kind"].tolist()
    assert kinds == ["label-mismatch"]
    assert r.disagreements.iloc[0]["label_a"] == "fractured" and r.disagreements.iloc[0]["label_b"] == "hardware"
    r2 = agree(a, b, geometry="box", label_aware=False)
    assert r2.instance.iloc[0]["tp"] == 1 and len(r2.disagreements) == 0


# --------------------------------------------------------------------------- degenerate


def test_identical_readers():
    a, _ = _basic_readers()
    r = agree(a, a.__getitem__(slice(None)))
    il = r.image_level
    assert il["kappa"] == 1.0 and il["kappa_se"] == 0.0 and il["kappa_ci95"] == [1.0, 1.0]
    assert (r.instance["f1"] == 1.0).all() and (r.instance["mean_iou"] == 1.0).all()
    assert len(r.disagreements) == 0


def test_no_positives_at_all():
    imgs = ["1.jpg", "2.jpg", "3.jpg"]
    a = make_source("a", [], imgs)
    b = make_source("b", [], imgs)
    r = agree(a, b)
    il = r.image_level
    assert il["table"]["both_negative"] == 3
    assert il["kappa"] is not None and math.isnan(il["kappa"])
    assert "undefined" in il["kappa_reason"]
    assert math.isnan(il["positive_agreement"]) and il["positive_agreement_reason"]
    assert il["negative_agreement"] == 1.0
    assert (r.instance["tp"] == 0).all() and r.instance["f1"].isna().all()
    d = r.to_dict()
    json.dumps(d, allow_nan=False)  # NaN is written as null
    assert d["image_level"]["kappa"] is None


def test_one_reader_empty():
    a, _ = _basic_readers()
    b = make_source("b", [], ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"])
    r = agree(a, b, geometry="box")
    row = r.instance.iloc[0]
    assert (row["tp"], row["fn"], row["fp"], row["f1"]) == (0, 4, 0, 0.0)
    il = r.image_level
    # A positive on 1, 2, 3; B on none: a=0 b=3 c=0 d=2 -> po = 2/5, pe = (3/5)(0) + (2/5)(1) = 2/5 -> kappa 0
    assert il["table"] == {"both_positive": 0, "a_only_positive": 3, "b_only_positive": 0, "both_negative": 2}
    assert il["kappa"] == pytest.approx(0.0)
    assert sorted(r.disagreements.query("kind == 'missing-in-b'")["image"]) == ["1.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert sorted(r.disagreements.query("kind == 'image-level-mismatch'")["image"]) == ["1.jpg", "2.jpg", "3.jpg"]


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


def test_size_breakdown_by_hand():
    # areas: 10x10 = 100 (small), 40x40 = 1600 (medium), 100x100 = 10000 (large)
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 100, 100, 140, 140), ("2.jpg", 0, 0, 100, 100)], ["1.jpg", "2.jpg"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10), ("2.jpg", 0, 0, 100, 100)], ["1.jpg", "2.jpg"])
    r = agree(a, b, geometry="box", iou=0.5)
    s = r.breakdowns["instance"].set_index("group")
    assert (s.loc["small", "objects_a"], s.loc["small", "f1"]) == (1, 1.0)
    assert (s.loc["medium", "objects_a"], s.loc["medium", "objects_b"], s.loc["medium", "fn"], s.loc["medium", "f1"]) == (1, 0, 1, 0.0)
    assert (s.loc["large", "matched_a"], s.loc["large", "matched_b"]) == (1, 1)


# --------------------------------------------------------------------------- queue and API


def test_disagreements_sorted_worst_first_with_origins():
    a, b = _basic_readers()
    r = agree(a, b, geometry="box")
    d = r.disagreements
    # image level: 3.jpg (A only positive), 4.jpg (B only) ; objects: 3.jpg missing in B,
    # 4.jpg missing in A ; 2.jpg pair at IoU 1/3 < .5 (low overlap); 1.jpg pair at 2/3 is fine
    assert d["kind"].tolist() == ["image-level-mismatch", "image-level-mismatch", "missing-in-b", "missing-in-a", "low-overlap"]
    assert d["image"].tolist() == ["3.jpg", "4.jpg", "3.jpg", "4.jpg", "2.jpg"]
    low = d.iloc[-1]
    assert low["iou"] == pytest.approx(1 / 3)
    assert low["ref_a"] == "a.json (annotations[2])" and low["ref_b"] == "b.json (annotations[2])"
    assert r.disagreement_counts() == {"image-level-mismatch": 2, "missing-in-b[box]": 1, "missing-in-a[box]": 1, "low-overlap[box]": 1}


def test_to_dict_is_json():
    a, b = _basic_readers()
    d = agree(a, b).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["readers"] == ["reader-1", "reader-2"]
    assert {r["geometry"] for r in back["instance"]} == {"box", "mask"}
    assert back["image_level"]["table"]["both_positive"] == 2


def test_bad_arguments():
    a, b = _basic_readers()
    with pytest.raises(UsageError):
        agree(a, b, geometry="polygon")
    with pytest.raises(UsageError):
        agree(a, b, iou=(0.0,))
    with pytest.raises(UsageError):
        agree(a, b, names=("x", "x"))
    box_only = make_source("v", [("1.jpg", 0, 0, 10, 10)], polygons=False)
    with pytest.raises(UsageError, match="no polygons"):
        agree(box_only, b, geometry="mask")
    r = agree(box_only, b)  # "both": mask skipped with a note
    assert r.geometries == ("box",) and any("mask analysis skipped" in n for n in r.notes)


# --------------------------------------------------------------------------- committed fixtures


def _fixture_reader(fixtures_dir, name):
    """A reader's makesense exports (real bytes) read with the per-format readers."""
    from fracatlas_annot.formats import coco, rect_csv, vgg, voc
    from fracatlas_annot.model import Dataset

    root = fixtures_dir / "readers"
    files = json.loads((root / "manifest.json").read_text())["readers"][name]["files"]
    sources = {}
    for fmt, mod in (("coco", coco), ("vgg", vgg), ("voc", voc), ("csv", rect_csv)):
        src, problems = mod.read(root / name / files[fmt], name=fmt)
        assert problems == []
        sources[fmt] = src
    return Dataset(sources=sources)


def _counts(r):
    out = {}
    for row in r.instance.to_dict("records"):
        out[("polygon" if row["geometry"] == "mask" else "box", f"{row['iou']:g}")] = {k: row[k] for k in ("tp", "fp", "fn")}
    return out


def test_fixture_readers_with_dataset_csv(fixtures_dir):
    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())
    r = agree(
        _fixture_reader(fixtures_dir, "reader-1"),
        _fixture_reader(fixtures_dir, "reader-2"),
        meta=fixtures_dir / "fracatlas-mini" / "dataset.csv",
    )
    assert r.inputs["reader-1"] == {"mask": "polygons of source 'coco' (coco)", "box": "rectangles of source 'voc' (voc)"}
    expected = manifest["expected"]
    for (geom, t), got in _counts(r).items():
        assert got == expected[geom][t], (geom, t)
    il = r.image_level
    e = expected["image_table"]
    assert il["table"] == {
        "both_positive": e["both_fracture"], "a_only_positive": e["reader_1_only"],
        "b_only_positive": e["reader_2_only"], "both_negative": e["neither"],
    }
    # a=9 b=1 c=1 d=29, n=40: po = 38/40 = .95 ; pA+ = pB+ = 10/40 -> pe = .0625 + .5625 = .625
    # kappa = (.95 - .625) / (1 - .625) = .325 / .375 = 13/15 ; p_pos = 18/20 ; p_neg = 58/60
    assert il["kappa"] == pytest.approx(13 / 15)
    assert il["positive_agreement"] == pytest.approx(0.9)
    assert il["negative_agreement"] == pytest.approx(58 / 60)
    # mean polygon IoU of the pairs (manifest pair IoUs, 4 decimals): at .5 the ten pairs
    # .9768 .9856 1 1 1 .9775 1 .6273 1 1 -> 9.5672 / 10 ; at .1 also .2179 -> 9.7851 / 11
    inst = r.instance.set_index(["geometry", "iou"])
    assert inst.loc[("mask", 0.5), "mean_iou"] == pytest.approx(9.5672 / 10, abs=1e-4)
    assert inst.loc[("mask", 0.1), "mean_iou"] == pytest.approx(9.7851 / 11, abs=1e-4)
    assert inst.loc[("mask", 0.1), "f1"] == pytest.approx(22 / 26)
    # the planted disagreements, one row each (mask rows; boxes give the same set)
    assert r.disagreement_counts() == {
        "image-level-mismatch": 2,  # IMG0000021 (only reader-2 marked), IMG0000078 (reader-2 never opened it)
        "missing-in-b[box]": 2, "missing-in-b[mask]": 2,  # IMG0000030 object 2, IMG0000078
        "missing-in-a[box]": 2, "missing-in-a[mask]": 2,  # IMG0000023 extra, IMG0000021
        "low-overlap[box]": 1, "low-overlap[mask]": 1,  # IMG0000026 (polygon IoU .2179 < .5)
    }
    d = r.disagreements[r.disagreements["geometry"] == "mask"]
    missed = d[d["kind"] == "missing-in-b"].sort_values("image")
    assert missed["image"].tolist() == ["IMG0000030.jpg", "IMG0000078.jpg"]
    assert missed["ref_a"].iloc[0] == "labels_fracatlas-reader-1_2026-11-20-02-07-03.json (annotations[4])"
    low = d[d["kind"] == "low-overlap"].iloc[0]
    assert low["image"] == "IMG0000026.jpg" and low["iou"] == pytest.approx(0.2179, abs=1e-4)
    # breakdowns exist for every body part and view flag of dataset.csv
    assert set(r.breakdowns["image_level"]["group"]) == {"hand", "leg", "hip", "shoulder", "mixed", "frontal", "lateral", "oblique"}


def test_fixture_readers_with_known_viewing_lists(fixtures_dir):
    # reader-2 never opened IMG0000078: with the images each reader read, that image is
    # "read once", not a disagreement (manifest "expected_viewed_by_both").
    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())
    viewed_b = [k for k in manifest["images"] if k != "IMG0000078.jpg"]
    r = agree(
        _fixture_reader(fixtures_dir, "reader-1"),
        _fixture_reader(fixtures_dir, "reader-2"),
        meta=fixtures_dir / "fracatlas-mini" / "dataset.csv",
        seen=(None, viewed_b),
    )
    expected = manifest["expected_viewed_by_both"]
    for (geom, t), got in _counts(r).items():
        assert got == expected[geom][t], (geom, t)
    il = r.image_level
    assert il["table"] == {"both_positive": 9, "a_only_positive": 0, "b_only_positive": 1, "both_negative": 29}
    assert il["images_only_a"] == ["IMG0000078.jpg"]
    # n = 39: po = 38/39 ; pe = (9*10 + 30*29) / 39^2 = 960/1521 ; kappa = (1482 - 960) / (1521 - 960) = 522/561
    assert il["kappa"] == pytest.approx(522 / 561)
    kinds = r.disagreements["kind"].tolist()
    assert kinds[0] == "image-only-in-a" and kinds.count("image-level-mismatch") == 1


# --------------------------------------------------------------------------- validate rules (FA8xx)


def _findings(dataset, select="FA8"):
    from fracatlas_annot.checks import CheckContext, load_all, select_rules
    from fracatlas_annot.checks.registry import run_rules

    load_all()
    return run_rules(CheckContext(dataset, fast=True, progress=False), select_rules(select))


def test_fa8xx_rules_on_two_reader_sources():
    from fracatlas_annot.model import Dataset

    a, b = _basic_readers()
    a.name, b.name = "reader-1", "reader-2"
    f = _findings(Dataset(sources={"reader-1": a, "reader-2": b}))
    # same conflicts as test_disagreements_sorted_worst_first_with_origins, on masks
    assert f["code"].value_counts().to_dict() == {"FA801": 2, "FA802": 1, "FA803": 2, "FA806": 1}
    missed = f[f["code"] == "FA801"].sort_values("image")
    assert missed[["image", "source", "object", "file", "loc"]].values.tolist() == [
        ["3.jpg", "reader-1", 3, "a.json", "annotations[3]"],
        ["4.jpg", "reader-2", 3, "b.json", "annotations[3]"],
    ]
    assert (f.loc[f["code"] != "FA806", "severity"] == "warning").all()
    low = f[f["code"] == "FA802"].iloc[0]
    assert low["image"] == "2.jpg" and "IoU 0.33" in low["message"]
    summary = f[f["code"] == "FA806"].iloc[0]["message"]
    assert "kappa 0.17" in summary and "mask F1 0.75 at IoU 0.1, 0.50 at IoU 0.5" in summary


def test_fa8xx_rules_group_sources_by_reader_and_fire_only_with_two_readers(fixtures_dir):
    from fracatlas_annot.checks.readers import reader_groups
    from fracatlas_annot.model import Dataset

    r1 = _fixture_reader(fixtures_dir, "reader-1")
    r2 = _fixture_reader(fixtures_dir, "reader-2")
    sources = {f"reader-1/{k}": v for k, v in r1.sources.items()} | {f"reader-2/{k}": v for k, v in r2.sources.items()}
    ds = Dataset(sources=sources)
    assert sorted(reader_groups(ds)) == ["reader-1", "reader-2"]
    f = _findings(ds)
    # without dataset.csv the sparse exports count absent images as negative for each other
    # (11 images listed in all): IMG0000021 and IMG0000078 differ at image level
    assert sorted(f.loc[f["code"] == "FA803", "image"]) == ["IMG0000021.jpg", "IMG0000078.jpg"]
    assert sorted(f.loc[f["code"] == "FA801", "image"]) == ["IMG0000021.jpg", "IMG0000023.jpg", "IMG0000030.jpg", "IMG0000078.jpg"]
    assert f.loc[f["code"] == "FA802", "image"].tolist() == ["IMG0000026.jpg"]
    assert set(f.loc[f["code"] == "FA801", "source"]) == {"reader-1/coco", "reader-2/coco"}
    only_one = Dataset(sources={"coco": r1.sources["coco"], "voc": r1.sources["voc"]})
    assert len(_findings(only_one)) == 0


def test_validate_runs_fa8xx_on_an_archive_with_readers_added(fixtures_dir):
    from fracatlas_annot.agreement import add_readers
    from fracatlas_annot.formats import read
    from fracatlas_annot.validate import validate

    root = fixtures_dir / "readers"
    ds = add_readers(read(fixtures_dir / "fracatlas-mini"), root / "reader-1", root / "reader-2")
    assert {s.meta.get("reader") for s in ds.sources.values()} >= {"reader-1", "reader-2"}
    f = validate(ds, select="FA8", fast=True, progress=False).findings
    # with the archive's dataset.csv (40 images) the planted disagreements, on polygons:
    assert sorted(f.loc[f["code"] == "FA803", "image"]) == ["IMG0000021.jpg", "IMG0000078.jpg"]
    assert sorted(f.loc[f["code"] == "FA801", "image"]) == ["IMG0000021.jpg", "IMG0000023.jpg", "IMG0000030.jpg", "IMG0000078.jpg"]
    assert f.loc[f["code"] == "FA802", "image"].tolist() == ["IMG0000026.jpg"]
    assert set(f.loc[f["code"] == "FA801", "source"]) == {"reader-1/coco", "reader-2/coco"}
    summary = f.loc[f["code"] == "FA806", "message"].iloc[0]
    assert "40 images read by both, kappa 0.87" in summary


def test_fa805_label_mismatch_and_fa804_image_read_once():
    from fracatlas_annot.model import Dataset

    a = make_source("reader-1", [("1.jpg", 0, 0, 10, 10), ("2.jpg", 0, 0, 10, 10)], ["1.jpg", "2.jpg", "3.jpg"], labels=["fractured", "fractured"])
    b = make_source("reader-2", [("1.jpg", 0, 0, 10, 10)], ["1.jpg", "3.jpg"], labels=["hardware"])
    f = _findings(Dataset(sources={"reader-1": a, "reader-2": b}))
    codes = f.set_index("code")
    assert codes.loc["FA805", "image"] == "1.jpg" and "'fractured'" in codes.loc["FA805", "message"] and "'hardware'" in codes.loc["FA805", "message"]
    # both lists hold an image without objects (3.jpg), so 2.jpg, absent from reader-2's list, was read once
    assert codes.loc["FA804", "image"] == "2.jpg"
    assert "FA801" not in codes.index  # the object on 2.jpg is not a miss: reader-2 never read the image
