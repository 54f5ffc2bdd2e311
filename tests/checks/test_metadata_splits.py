"""FA4xx (dataset.csv) and FA7xx (split lists)."""

from __future__ import annotations

import pandas as pd

from .builders import box_source, coco_source, dataset, run, square

A, B, C, D = "IMG0000019.jpg", "IMG0000025.jpg", "IMG0000031.jpg", "IMG0003298.jpg"


def test_fractured_flag_vs_folder_and_annotations() -> None:
    imgs = {
        A: {"fractured": 1, "folder": "Fractured", "path": "x"},
        B: {"fractured": 0, "folder": "Non_fractured", "path": "x"},
        D: {"fractured": 0, "fracture_count": 0, "folder": "Fractured", "path": "x"},  # the IMG0003298 defect
        C: {"fractured": 1, "folder": "Fractured", "path": "x"},  # no annotation anywhere
    }
    voc = box_source([(A, (10, 10, 30, 30)), (D, (10, 10, 30, 30))])
    ds = dataset(imgs, [voc])
    folder = run("FA401", ds)
    assert folder["image"].tolist() == [D]
    ann = run("FA402", ds)
    assert sorted(ann["image"]) == [C, D]
    assert ann.set_index("image").loc[D, "message"] == "dataset.csv fractured=0 but `voc` label it"


def test_fracture_count_per_source() -> None:
    imgs = {A: {"fractured": 1, "fracture_count": 2}, B: {}}
    coco = coco_source([(A, square(10, 10, 20)), (A, square(50, 50, 20))])
    voc = box_source([(A, (10, 10, 30, 30))], images={A: (373, 454), B: (373, 454)})
    f = run("FA403", dataset(imgs, [coco, voc]))
    assert list(zip(f.source, f.image)) == [("voc", A)]
    assert f.iloc[0].message == "dataset.csv fracture_count=2 but `voc` has 1 object(s)"


def test_missing_on_disk_not_in_csv_and_both_folders() -> None:
    imgs = {
        A: {"path": "images/Fractured/a.jpg"},
        B: {"path": None},
        C: {"path": "images/Non_fractured/c.jpg", "in_csv": False},
    }
    files = pd.DataFrame(
        {
            "image": [A, C, A],
            "path": ["images/Fractured/" + A, "images/Non_fractured/" + C, "images/Non_fractured/" + A],
            "folder": ["Fractured", "Non_fractured", "Non_fractured"],
            "file_size": [1, 2, 1],
        }
    )
    ds = dataset(imgs, files=files)
    assert run("FA404", ds)["image"].tolist() == [B]
    assert run("FA405", ds)["image"].tolist() == [C]
    both = run("FA406", ds)
    assert both["image"].tolist() == [A] and "found in 2 places" in both.iloc[0].message


def test_nothing_on_disk_is_one_finding() -> None:
    f = run("FA404", dataset({A: {}, B: {}}))
    assert len(f) == 1 and f.iloc[0].image is None and "none of the 2 images" in f.iloc[0].message


def test_invalid_csv_values() -> None:
    imgs = {
        A: {"fractured": 1, "fracture_count": 0},
        B: {"fractured": 2, "fracture_count": 0},
        C: {"fractured": 0, "fracture_count": 0},
    }
    f = run("FA407", dataset(imgs))
    assert sorted(f["image"]) == [A, B]


def _lists(rows):
    return pd.DataFrame(rows, columns=["split", "image", "file", "line"])


def test_split_rules() -> None:
    imgs = {A: {"fractured": 1}, B: {"fractured": 0}, C: {"fractured": 1}, D: {"fractured": 1}}
    lists = _lists(
        [
            ("train", A, "Utilities/Fracture Split/train.csv", 2),
            ("test", A, "Utilities/Fracture Split/test.csv", 2),
            ("valid", B, "Utilities/Fracture Split/valid.csv", 2),
            ("valid", "IMG000019.jpg", "Utilities/Fracture Split/valid.csv", 3),
            ("train", C, "Utilities/Fracture Split/train.csv", 3),
            ("train", C, "Utilities/Fracture Split/train.csv", 4),
        ]
    )
    ds = dataset(imgs, split_lists=lists)
    several = run("FA701", ds)
    assert several["image"].tolist() == [A] and several.iloc[0].message == "listed in several splits: test, train"
    assert run("FA702", ds)["image"].tolist() == ["IMG000019.jpg"]
    neg = run("FA703", ds)
    assert neg["image"].tolist() == [B] and neg.iloc[0].line == 2
    assert run("FA704", ds)["image"].tolist() == [D]
    dup = run("FA705", ds)
    assert dup["image"].tolist() == [C] and dup.iloc[0].line == 4


def test_no_split_lists_no_split_findings() -> None:
    ds = dataset({A: {"fractured": 1}})
    for code in ("FA701", "FA702", "FA703", "FA704", "FA705"):
        assert len(run(code, ds)) == 0
