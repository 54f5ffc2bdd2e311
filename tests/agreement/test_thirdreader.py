"""The model as a third reader: hand-worked numbers, the sweep, the three prediction inputs,
and ``agree --model`` on the committed reader exports."""

from __future__ import annotations

import csv
import json
from itertools import pairwise

import numpy as np
import pytest
import shapely

from fracatlas_annot.agreement import agree
from fracatlas_annot.agreement.predictions import read_predictions
from fracatlas_annot.cli import main

from .builders import basic_readers, make_source


def _coco_results(table, path, *, score=1.0, extra=(), file_names=False):
    """A COCO results list from an analysis table (polygons when present), plus ``extra``
    records; image ids are the image names (or ``file_name`` fields, as `predict` writes)."""
    recs = []
    for row in table.itertuples():
        rec = {"category_id": 1, "score": score}
        rec["file_name" if file_names else "image_id"] = row.image
        if file_names:
            rec["image_id"] = 0
            rec["category_name"] = row.label
        g = row.geometry
        if g is not None and not g.is_empty:
            rec["segmentation"] = [list(np.asarray(p.exterior.coords)[:-1].ravel()) for p in getattr(g, "geoms", [g])]
        rec["bbox"] = [row.x0, row.y0, row.x1 - row.x0, row.y1 - row.y0]
        recs.append(rec)
    recs += list(extra)
    path.write_text(json.dumps(recs))
    return path


# --------------------------------------------------------------------------- a model equal to reader A


@pytest.mark.parametrize("geometry", ["mask", "box"])
def test_model_equal_to_a_scores_a_vs_b_against_b(tmp_path, geometry):
    a, b = basic_readers()
    base = agree(a, b, geometry=geometry, iou=(0.1, 0.3, 0.5))
    pred = _coco_results(base.readers[0].tables[geometry], tmp_path / "pred.json")
    r = agree(a, b, geometry=geometry, iou=(0.1, 0.3, 0.5), model=pred, conf=0.25)
    img, inst = r.model.at()
    img = img.set_index("comparison")
    # the readers' own row is the AgreementResult's numbers, computed again on the same images
    na, nb = r.names
    ab = img.loc[f"{na} vs {nb}"]
    assert ab["kappa"] == pytest.approx(base.image_level["kappa"])
    assert img.loc[f"model vs {nb}", "kappa"] == pytest.approx(base.image_level["kappa"])
    assert img.loc[f"model vs {na}", "kappa"] == 1.0
    for t in (0.1, 0.3, 0.5):
        want = base.instance[(base.instance["geometry"] == geometry) & (base.instance["iou"] == t)].iloc[0]
        vs_b = inst[(inst["comparison"] == f"model vs {nb}") & (inst["iou"] == t)].iloc[0]
        vs_a = inst[(inst["comparison"] == f"model vs {na}") & (inst["iou"] == t)].iloc[0]
        rr = inst[(inst["comparison"] == f"{na} vs {nb}") & (inst["iou"] == t)].iloc[0]
        # B is the reference: its misses are A's extras
        assert (vs_b["tp"], vs_b["fn"], vs_b["fp"]) == (want["tp"], want["fp"], want["fn"])
        assert (rr["tp"], rr["fn"], rr["fp"]) == (want["tp"], want["fn"], want["fp"])
        for k in ("f1", "mean_iou", "mean_dice"):
            assert vs_b[k] == pytest.approx(want[k], nan_ok=True)
            assert rr[k] == pytest.approx(want[k], nan_ok=True)
        assert (vs_a["tp"], vs_a["fn"], vs_a["fp"], vs_a["f1"]) == (4, 0, 0, 1.0)
        assert vs_a["mean_iou"] == pytest.approx(1.0) and vs_a["mean_dice"] == pytest.approx(1.0)
    # the model never disagrees with both readers where they agree: it is one of them
    assert len(r.model.queue) == 0


# --------------------------------------------------------------------------- a hand-worked case


def _three_images(tmp_path, *, polygons=True):
    """Images 1, 2: both readers drew the same fracture; 3: neither. The model finds the one
    on 1 (score .9), misses the one on 2 (only a .1 detection there), and adds one on 3 (.8)."""
    images = ["1.jpg", "2.jpg", "3.jpg"]
    rows = [("1.jpg", 0, 0, 10, 10), ("2.jpg", 20, 20, 40, 40)]
    a = make_source("a", rows, images, polygons=polygons)
    b = make_source("b", rows, images, polygons=polygons)
    recs = [
        {"image_id": "1.jpg", "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": "2.jpg", "category_id": 1, "bbox": [20, 20, 20, 20], "score": 0.1},
        {"image_id": "3.jpg", "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.8},
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(recs))
    return a, b, path


def test_one_extra_and_one_missed_hand_computed(tmp_path):
    a, b, pred = _three_images(tmp_path)
    r = agree(a, b, names=("a", "b"), geometry="box", iou=(0.5,), model=pred, conf=0.25)
    img, inst = r.model.at()
    vs_a = inst[inst["comparison"] == "model vs a"].iloc[0]
    # TP: the box on 1; FN: the fracture on 2; FP: the box on 3 -> F1 = 2 / (2 + 1 + 1)
    assert (vs_a["tp"], vs_a["fn"], vs_a["fp"]) == (1, 1, 1)
    assert vs_a["f1"] == 0.5
    row = img.set_index("comparison").loc["model vs a"]
    assert (row["both_positive"], row["reference_only"], row["compared_only"], row["both_negative"]) == (1, 1, 1, 0)
    # po = 1/3, pe = (2/3)(2/3) + (1/3)(1/3) = 5/9 -> kappa = (1/3 - 5/9) / (4/9) = -1/2
    assert row["kappa"] == pytest.approx(-0.5)
    # the readers agree perfectly; the consensus is their (identical) boxes
    rr = img.set_index("comparison").loc["a vs b"]
    assert rr["kappa"] == 1.0
    cons = inst[inst["comparison"] == "model vs consensus"].iloc[0]
    assert (cons["tp"], cons["fn"], cons["fp"]) == (1, 1, 1)
    q = r.model.queue
    assert q[["image", "kind"]].values.tolist() == [
        ["2.jpg", "image-missed-by-model"],
        ["3.jpg", "image-only-in-model"],
        ["2.jpg", "missed-by-model"],
        ["3.jpg", "only-in-model"],
    ]
    assert q.loc[3, "score"] == 0.8 and q.loc[1, "score"] == 0.8
    # at conf .05 the .1 detection on 2 counts: one TP more, no FN
    _, low = r.model.at(0.05)
    low_a = low[low["comparison"] == "model vs a"].iloc[0]
    assert (low_a["tp"], low_a["fn"], low_a["fp"]) == (2, 0, 1)


def test_sweep_is_monotonic_in_predicted_positives(tmp_path):
    a, b, pred = _three_images(tmp_path)
    r = agree(a, b, names=("a", "b"), geometry="box", iou=(0.5,), model=pred, conf=0.25, sweep="0.05:0.95:0.05")
    img = r.model.image_level
    rows = img[img["comparison"] == "model vs a"].sort_values("conf")
    assert rows["conf"].tolist() == pytest.approx([round(0.05 * i, 2) for i in range(1, 20)])
    pos = rows["positive_compared"].tolist()
    assert all(x >= y for x, y in pairwise(pos))
    by = dict(zip(rows["conf"].round(2), pos))
    assert (by[0.05], by[0.1], by[0.15], by[0.8], by[0.85], by[0.9], by[0.95]) == (3, 3, 2, 2, 1, 1, 0)
    objs = r.model.instance
    tp_fp = objs[(objs["comparison"] == "model vs a")].sort_values("conf")["objects_compared"].tolist()
    assert all(x >= y for x, y in pairwise(tp_fp))


# --------------------------------------------------------------------------- three inputs, same objects


def test_three_inputs_read_to_the_same_objects(tmp_path):
    w, h = 200, 100
    square = [(10.0, 20.0), (50.0, 20.0), (50.0, 60.0), (10.0, 60.0)]
    # Ultralytics: a run folder with labels/ (segment lines ending with the confidence) and
    # the drawn images beside it (their sizes place the normalised coordinates)
    run = tmp_path / "run"
    (run / "labels").mkdir(parents=True)
    import cv2

    for name in ("p1.jpg", "p2.jpg"):
        cv2.imwrite(str(run / name), np.zeros((h, w, 3), np.uint8))
    seg = " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in square)
    (run / "labels" / "p1.txt").write_text(f"0 {seg} 0.75\n0 {(150 / w):.6f} {(50 / h):.6f} {(20 / w):.6f} {(10 / h):.6f} 0.5\n")
    (run / "labels" / "p2.txt").write_text(f"0 {seg} 0.25\n")
    flat = [v for xy in square for v in xy]
    common = [
        ("p1.jpg", {"segmentation": [flat], "bbox": [10, 20, 40, 40], "score": 0.75}),
        ("p1.jpg", {"bbox": [140, 45, 20, 10], "score": 0.5}),
        ("p2.jpg", {"segmentation": [flat], "bbox": [10, 20, 40, 40], "score": 0.25}),
    ]
    # COCO results with integer ids, resolved through a COCO file's images
    coco = tmp_path / "gt.json"
    coco.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "p1.jpg", "width": w, "height": h}, {"id": 9, "file_name": "p2.jpg", "width": w, "height": h}],
        "annotations": [], "categories": [{"id": 1, "name": "fractured"}],
    }))
    ids = {"p1.jpg": 7, "p2.jpg": 9}
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"image_id": ids[k], "category_id": 1, **r} for k, r in common]))
    # what `fracatlas-annot predict` writes
    out = tmp_path / "pred"
    out.mkdir()
    (out / "predictions.json").write_text(json.dumps(
        [{"image_id": i + 1, "file_name": k, "category_id": 1, "category_name": "fractured", **r} for i, (k, r) in enumerate(common)]
    ))
    got = {
        "ultralytics": read_predictions(run, labels=["fractured"]),
        "coco-results": read_predictions(results, images=coco),
        "fracatlas-predict": read_predictions(out),
    }
    for kind, p in got.items():
        assert p.kind == kind
        o = p.objects.sort_values(["image", "score"]).reset_index(drop=True)
        assert o["image"].tolist() == ["p1.jpg", "p1.jpg", "p2.jpg"], kind
        assert o["label"].tolist() == ["fractured"] * 3, kind
        assert o["score"].tolist() == [0.5, 0.75, 0.25], kind
        np.testing.assert_allclose(o[["x0", "y0", "x1", "y1"]].to_numpy(), [[140, 45, 160, 55], [10, 20, 50, 60], [10, 20, 50, 60]], atol=1e-3)
        assert o.loc[0, "geometry"] is None
        for i in (1, 2):
            assert shapely.equals_exact(shapely.normalize(o.loc[i, "geometry"]), shapely.normalize(shapely.Polygon(square)), tolerance=1e-3), kind


def test_bad_prediction_line_names_file_and_line(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "1.txt").write_text("0 0.5 0.5 0.1 0.1 0.9\n0 0.5 zero 0.1 0.1 0.9\n")
    from fracatlas_annot.errors import InputError

    with pytest.raises(InputError, match=r"1\.txt.*line 2"):
        read_predictions(labels, sizes=None)
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps([{"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]))
    with pytest.raises(InputError, match=r"record \[0\].*--images"):
        read_predictions(bad)


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def readers(fixtures_dir):
    root = fixtures_dir / "readers"
    return str(root / "reader-1"), str(root / "reader-2"), str(fixtures_dir / "fracatlas-mini" / "dataset.csv")


def test_cli_model_built_from_reader_1(readers, tmp_path, capsys):
    r1, r2, meta = readers
    base = agree(r1, r2, meta=meta, geometry="mask")
    # `fracatlas-annot predict` output: reader-1's polygons at score 1, plus a .1 detection
    # on an image both readers left empty (IMG0000019.jpg)
    low = {"image_id": 99, "file_name": "IMG0000019.jpg", "category_id": 1, "category_name": "fractured", "bbox": [10, 10, 30, 30], "segmentation": [[10, 10, 40, 10, 40, 40, 10, 40]], "score": 0.1}
    out = tmp_path / "pred"
    out.mkdir()
    _coco_results(base.readers[0].tables["mask"], out / "predictions.json", file_names=True, extra=[low])
    code = main(["agree", r1, r2, "--meta", meta, "--geometry", "mask", "--model", str(out), "--json", "--out", str(tmp_path / "adj")])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    m = data["model"]
    assert m["comparisons"] == ["reader-1 vs reader-2", "model vs reader-1", "model vs reader-2", "model vs consensus"]
    img = {r["comparison"]: r for r in m["at_conf"]["image_level"]}
    assert img["model vs reader-2"]["kappa"] == pytest.approx(13 / 15)
    assert img["reader-1 vs reader-2"]["kappa"] == pytest.approx(13 / 15)
    assert img["model vs reader-1"]["kappa"] == 1.0
    inst = {(r["comparison"], r["iou"]): r for r in m["at_conf"]["instance"]}
    for want in data["instance"]:
        got = inst[("model vs reader-2", want["iou"])]
        assert (got["tp"], got["f1"], got["mean_iou"], got["mean_dice"]) == (want["tp"], pytest.approx(want["f1"]), pytest.approx(want["mean_iou"]), pytest.approx(want["mean_dice"]))
        assert inst[("model vs reader-1", want["iou"])]["f1"] == 1.0
    # at the lowest sweep threshold the .1 detection makes IMG0000019 positive
    low_rows = [r for r in m["image_level"] if r["comparison"] == "model vs reader-1" and r["conf"] == 0.05]
    assert low_rows[0]["compared_only"] == 1
    assert m["queue"] == []
    with open(tmp_path / "adj" / "model-queue.csv", newline="") as fh:
        assert next(csv.reader(fh))[:3] == ["image", "kind", "geometry"]
    assert json.loads((tmp_path / "adj" / "model-queue.json").read_text()) == []
    assert "model" in json.loads((tmp_path / "adj" / "agreement.json").read_text())

    # at conf .05 the model sees a fracture on an image both readers left empty
    code = main(["agree", r1, r2, "--meta", meta, "--geometry", "mask", "--model", str(out / "predictions.json"), "--conf", "0.05", "--sweep", "none", "--out", str(tmp_path / "adj2")])
    cap = capsys.readouterr()
    assert code == 0
    assert "Model as a third reader at conf 0.05" in cap.out
    with open(tmp_path / "adj2" / "model-queue.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["image"], r["kind"]) for r in rows] == [("IMG0000019.jpg", "image-only-in-model"), ("IMG0000019.jpg", "only-in-model")]
    assert rows[1]["geometry"] == "mask" and float(rows[1]["score"]) == 0.1


def test_cli_bad_predictions_exit_2(readers, tmp_path, capsys):
    r1, r2, _ = readers
    bad = tmp_path / "r.json"
    bad.write_text('[{"image_id": "IMG0000019.jpg", "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]')
    code = main(["agree", r1, r2, "--model", str(bad)])
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 2
    assert "r.json" in err and "record [0]" in err
