"""agreement.stats: kappa, specific agreement, instance F1 / IoU / Dice and the breakdowns,
each checked against numbers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fracatlas_annot.agreement import agree
from fracatlas_annot.agreement.stats import cohen_kappa, size_class, specific_agreement

from .builders import basic_readers, make_source


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


def test_size_class_uses_coco_limits():
    assert size_class(np.array([0, 1023.9, 1024, 9215.9, 9216, 1e6])).tolist() == ["small", "small", "medium", "medium", "large", "large"]


def test_instance_statistics_by_hand():
    a, b = basic_readers()
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
    a, b = basic_readers()
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


def test_size_breakdown_by_hand():
    # areas: 10x10 = 100 (small), 40x40 = 1600 (medium), 100x100 = 10000 (large)
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("1.jpg", 100, 100, 140, 140), ("2.jpg", 0, 0, 100, 100)], ["1.jpg", "2.jpg"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10), ("2.jpg", 0, 0, 100, 100)], ["1.jpg", "2.jpg"])
    r = agree(a, b, geometry="box", iou=0.5)
    s = r.breakdowns["instance"].set_index("group")
    assert (s.loc["small", "objects_a"], s.loc["small", "f1"]) == (1, 1.0)
    assert (s.loc["medium", "objects_a"], s.loc["medium", "objects_b"], s.loc["medium", "fn"], s.loc["medium", "f1"]) == (1, 0, 1, 0.0)
    assert (s.loc["large", "matched_a"], s.loc["large", "matched_b"]) == (1, 1)


def test_identical_readers():
    a, _ = basic_readers()
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
    a, _ = basic_readers()
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

