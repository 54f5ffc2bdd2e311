"""agreement.matching: box and mask IoU, the one-to-one assignment (also used by the
box-vs-polygon rules of checks), label-aware matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.agreement import agree
from fracatlas_annot.agreement.matching import (
    assign_max_iou,
    box_iou_matrix,
    box_iou_pairs,
    match_pairs,
    polygon_iou_pairs,
)

from .builders import make_source


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
    pairs = r.matches[("box", 0.3)]
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



# --------------------------------------------------------------------------- the one assignment


def _random_candidates(seed: int, *, dense: bool) -> pd.DataFrame:
    """Images with 1-4 objects a side; ``dense``: every pair, IoU 0 included (the cross-format
    rules), else only pairs with IoU > 0 (agreement's candidates). IoUs on a coarse grid, so
    ties occur."""
    rng = np.random.default_rng(seed)
    rows, a0, b0 = [], 0, 0
    for img in range(300):
        na, nb = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        m = np.round(rng.random((na, nb)) * 4) / 4 * (rng.random((na, nb)) < 0.7)
        rows += [(f"{img}.jpg", a0 + i, b0 + j, m[i, j]) for i in range(na) for j in range(nb) if dense or m[i, j] > 0]
        a0, b0 = a0 + na, b0 + nb
    return pd.DataFrame(rows, columns=["image", "ia", "ib", "iou"])


@pytest.mark.parametrize("dense", [True, False])
def test_assignment_is_optimal_like_linear_sum_assignment_per_image(dense):
    from scipy.optimize import linear_sum_assignment

    cand = _random_candidates(0, dense=dense)
    got = assign_max_iou(cand)
    assert got["ia"].is_unique and got["ib"].is_unique
    # every chosen row is a candidate row, in the candidates' order
    assert got.merge(cand, on=["image", "ia", "ib", "iou"]).shape[0] == len(got)
    for img, g in cand.groupby("image"):
        m = g.pivot(index="ia", columns="ib", values="iou").fillna(0.0).to_numpy()
        r, c = linear_sum_assignment(m, maximize=True)
        mine = got[got["image"] == img]
        assert mine["iou"].sum() == pytest.approx(m[r, c].sum()), img


def test_assignment_keeps_groups_without_shared_objects_whole():
    # x.jpg: the Hungarian case (a shared object on each side) ; y.jpg: two disjoint pairs
    cand = pd.DataFrame(
        {"image": ["x", "x", "x", "y", "y"], "ia": [0, 0, 1, 2, 3], "ib": [0, 1, 0, 2, 3], "iou": [0.6, 0.5, 0.5, 0.2, 0.3]}
    )
    got = assign_max_iou(cand)
    assert list(zip(got["ia"], got["ib"])) == [(0, 1), (1, 0), (2, 2), (3, 3)]


def test_box_iou_of_identical_empty_boxes():
    point = np.array([[5.0, 5.0, 5.0, 5.0]])
    assert box_iou_pairs(point, point)[0].tolist() == [0.0]  # agreement: a point is no outline
    assert box_iou_pairs(point, point, identical_empty=1.0)[0].tolist() == [1.0]  # cross-format: same point
    assert box_iou_pairs(point, point + 1, identical_empty=1.0)[0].tolist() == [0.0]


def test_box_polygon_rules_and_agreement_give_the_same_iou_and_matches():
    # One box source and one polygon source, compared by the FA2 rules (checks._common.match_sources)
    # and by agree() (reader B's boxes are its polygons' extents): one code, same answer.
    # X.jpg: the Hungarian case shifted by 20 px (greedy would take a1-b1 .6 and stop);
    # Y.jpg: one pair at IoU 50 / 150 ; Z.jpg: two disjoint exact pairs.
    from checks.builders import box_source, coco_source, dataset

    from fracatlas_annot.checks._common import match_sources
    from fracatlas_annot.checks.registry import CheckContext

    def rect(x0, y0, x1, y1):
        return [x0, y0, x1, y0, x1, y1, x0, y1]

    X, Y, Z = "X.jpg", "Y.jpg", "Z.jpg"
    voc = box_source([(X, (20, 100, 50, 110)), (X, (37.5, 100, 67.5, 110)), (Y, (0, 0, 10, 10)), (Z, (0, 0, 10, 10)), (Z, (50, 50, 60, 70))])
    coco = coco_source([(X, rect(27.5, 100, 57.5, 110)), (X, rect(10, 100, 40, 110)), (Y, rect(5, 0, 15, 10)), (Z, rect(50, 50, 60, 70)), (Z, rect(0, 0, 10, 10))])
    ctx = CheckContext(dataset({X: {}, Y: {}, Z: {}}, [voc, coco]), fast=True, progress=False)
    rules = match_sources(ctx, "voc", "coco")["pairs"]
    by_rules = sorted((img, int(a), int(b), round(float(v), 12)) for img, a, b, v in zip(rules["image"], rules["a"], rules["b"], rules["iou"]))

    r = agree(voc, coco, geometry="box", iou=0.1)
    assert r.inputs["reader-2"]["box"] == "extents of the polygons of source 'coco' (coco)"
    ta, tb = (reader.tables["box"] for reader in r.readers)
    m = r.matches[("box", 0.1)]
    by_agreement = sorted(
        (img, int(ta["object"].iloc[ia]), int(tb["object"].iloc[ib]), round(float(v), 12)) for img, ia, ib, v in zip(m["image"], m["ia"], m["ib"], m["iou"])
    )
    assert by_rules == by_agreement == [
        (X, 0, 1, 0.5),  # a1 [20,50] - b2 [10,40]: 20 / 40
        (X, 1, 0, 0.5),  # a2 [37.5,67.5] - b1 [27.5,57.5]: 20 / 40
        (Y, 2, 2, round(1 / 3, 12)),
        (Z, 3, 4, 1.0),
        (Z, 4, 3, 1.0),
    ]


# --------------------------------------------------------------------------- spatial-index candidates (issue 12)


def _all_pairs_reference(ta: pd.DataFrame, tb: pd.DataFrame, geometry: str) -> pd.DataFrame:
    """candidate_pairs as it was: every same-image pair, then the IoU > 0 filter."""
    left = pd.DataFrame({"image": ta["image"].to_numpy(dtype=object), "ia": np.arange(len(ta))})
    right = pd.DataFrame({"image": tb["image"].to_numpy(dtype=object), "ib": np.arange(len(tb))})
    pairs = left.merge(right, on="image", how="inner", sort=False)
    ia, ib = pairs["ia"].to_numpy(), pairs["ib"].to_numpy()
    biou, binter = box_iou_pairs(ta[["x0", "y0", "x1", "y1"]].to_numpy(float)[ia], tb[["x0", "y0", "x1", "y1"]].to_numpy(float)[ib])
    if geometry == "mask":
        iou = np.zeros(len(ia))
        touch = binter > 0
        iou[touch], _ = polygon_iou_pairs(ta["geometry"].to_numpy(object)[ia[touch]], tb["geometry"].to_numpy(object)[ib[touch]])
    else:
        iou = biou
    same = ta["label"].to_numpy(object)[ia] == tb["label"].to_numpy(object)[ib]
    out = pd.DataFrame({"ia": ia.astype(np.int64), "ib": ib.astype(np.int64), "image": pairs["image"].to_numpy(object),
                        "iou": iou, "same_label": same})
    return out[out["iou"] > 0].reset_index(drop=True)


def _random_table(rng, images: list[str], n: int) -> pd.DataFrame:
    x0 = rng.uniform(0, 200, n)
    y0 = rng.uniform(0, 200, n)
    w = rng.uniform(0, 30, n)
    h = rng.uniform(0, 30, n)
    x0[:3], w[:3] = 50.0, 10.0  # boxes that touch edge to edge (IoU 0) and repeat exactly
    geom = shapely.polygons(np.stack([np.c_[x0, y0], np.c_[x0 + w, y0], np.c_[x0 + w / 2, y0 + h]], axis=1))
    return pd.DataFrame({"image": rng.choice(np.array(images, dtype=object), n), "label": rng.choice(["a", "b"], n),
                         "x0": x0, "y0": y0, "x1": x0 + w, "y1": y0 + h, "geometry": geom})


@pytest.mark.parametrize("tree_pairs", [0, 256, 10**9])
@pytest.mark.parametrize("geometry", ["box", "mask"])
@pytest.mark.parametrize("seed", [0, 1])
def test_candidate_pairs_with_the_spatial_index_equal_all_pairs(monkeypatch, tree_pairs, geometry, seed):
    """The STRtree pruning keeps exactly the pairs (and their order) that comparing every
    same-image pair keeps: tree_pairs 0 sends every image through the tree, 10**9 none."""
    from fracatlas_annot.agreement import matching

    monkeypatch.setattr(matching, "TREE_PAIRS", tree_pairs)
    rng = np.random.default_rng(seed)
    images = ["IMG1.jpg", "IMG2.jpg", "IMG3.jpg", "IMG4.jpg"]
    ta = _random_table(rng, images[:3], 120)  # interleaved images; IMG4 only on one side
    tb = _random_table(rng, images[1:], 150)
    got = matching.candidate_pairs(ta, tb, geometry)
    want = _all_pairs_reference(ta, tb, geometry)
    assert len(want) > 30
    pd.testing.assert_frame_equal(got, want)


def test_candidate_pairs_keeps_pairs_with_non_finite_boxes(monkeypatch):
    from fracatlas_annot.agreement import matching

    monkeypatch.setattr(matching, "TREE_PAIRS", 0)
    ta = pd.DataFrame({"image": ["I"] * 2, "label": ["a"] * 2, "x0": [0.0, np.nan], "y0": [0.0, 0.0],
                       "x1": [np.inf, 10.0], "y1": [10.0, 10.0]})
    tb = pd.DataFrame({"image": ["I"] * 2, "label": ["a"] * 2, "x0": [1.0, 50.0], "y0": [1.0, 50.0],
                       "x1": [5.0, 60.0], "y1": [5.0, 60.0]})
    pd.testing.assert_frame_equal(matching.candidate_pairs(ta, tb, "box"), _all_pairs_reference(ta, tb, "box"))


def test_valid_geometries_empties_non_finite_shapes_instead_of_a_geos_error():
    from fracatlas_annot.agreement.matching import valid_geometries

    with np.errstate(invalid="ignore"):
        nan = shapely.polygons([[0, 0], [np.nan, 0], [10, 10], [0, 10]])
        inf = shapely.polygons([[0, 0], [np.inf, 0], [10, 10], [0, 10]])
    out = valid_geometries(np.array([nan, inf, shapely.box(0, 0, 1, 1), None], dtype=object))
    assert shapely.is_empty(out[:2]).all() and shapely.area(out[2]) == 1.0 and shapely.is_empty(out[3])
    iou, _ = polygon_iou_pairs(out, np.array([shapely.box(0, 0, 10, 10)] * 4, dtype=object), repair=False)
    assert iou.tolist() == pytest.approx([0.0, 0.0, 0.01, 0.0])
