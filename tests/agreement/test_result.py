"""agreement.result: agree() end to end on the committed reader exports, its arguments,
and the result's public tables."""

from __future__ import annotations

import json

import pytest

from fracatlas_annot.agreement import agree
from fracatlas_annot.errors import UsageError

from .builders import basic_readers, fixture_reader, make_source


def test_bad_arguments():
    a, b = basic_readers()
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


def _counts(r):
    out = {}
    for row in r.instance.to_dict("records"):
        out[("polygon" if row["geometry"] == "mask" else "box", f"{row['iou']:g}")] = {k: row[k] for k in ("tp", "fp", "fn")}
    return out


def test_fixture_readers_with_dataset_csv(fixtures_dir):
    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())
    r = agree(
        fixture_reader(fixtures_dir, "reader-1"),
        fixture_reader(fixtures_dir, "reader-2"),
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
        fixture_reader(fixtures_dir, "reader-1"),
        fixture_reader(fixtures_dir, "reader-2"),
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



# --------------------------------------------------------------------------- the result's tables


def test_public_tables_of_the_result():
    a, b = basic_readers()
    r = agree(a, b, iou=(0.1, 0.5))
    ra, rb = r.readers
    assert (ra.name, rb.name) == r.names == ("reader-1", "reader-2")
    assert set(ra.tables) == {"box", "mask"} and ra.tables["box"]["object"].tolist() == [0, 1, 2, 3]
    assert set(r.candidates) == {"box", "mask"}
    assert sorted(r.matches) == [("box", 0.1), ("box", 0.5), ("mask", 0.1), ("mask", 0.5)]
    assert r.images.loc["5.jpg", ["objects_a", "objects_b"]].tolist() == [0, 0]
    # a threshold the result was not computed at: matched from the same candidates
    m = r.match("box", 0.3)
    assert sorted(zip(m["ia"], m["ib"])) == [(0, 0), (1, 1), (2, 2)]
    assert r.match("box", 0.5) is r.matches[("box", 0.5)]
    with pytest.raises(UsageError):
        agree(a, b, geometry="box").match("mask", 0.5)


def test_the_package_has_no_import_cycle():
    # the modules import each other one way (imports under TYPE_CHECKING, for annotations
    # only, do not count; imports inside functions do)
    import ast
    from pathlib import Path

    import fracatlas_annot.agreement as pkg

    def runtime_nodes(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                continue
            yield child
            yield from runtime_nodes(child)

    deps = {}
    for path in Path(pkg.__file__).parent.glob("*.py"):
        names = set()
        for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names |= {node.module} if node.module else {a.name for a in node.names}
        deps[path.stem] = names
    assert deps == {
        "matching": set(),
        "stats": set(),
        "inputs": {"matching"},
        "consensus": set(),
        "queue": set(),
        "predictions": set(),
        "thirdreader": {"consensus", "inputs", "matching", "predictions", "queue", "stats"},
        "result": {"consensus", "inputs", "matching", "predictions", "queue", "stats", "thirdreader"},
        "__init__": {"consensus", "inputs", "matching", "predictions", "queue", "result", "stats", "thirdreader"},
    }
