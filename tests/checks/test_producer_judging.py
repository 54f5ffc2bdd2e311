"""Producers judged by how they compute things (issue 11 #3, #11): CVAT's rasterised COCO
areas are not an error while wrong areas still are; every finding's file is relative to the
data set root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pycocotools import mask as mask_utils

import fracatlas_annot as fa

PRODUCERS = Path(__file__).resolve().parents[2] / "fixtures" / "producers"
CVAT_POLY = PRODUCERS / "cvat-coco-polygons" / "annotations" / "instances_default.json"


def _fa205(path: Path) -> list[tuple[str, str]]:
    f = fa.validate(path, fast=True).findings
    f = f[f["code"] == "FA205"]
    return list(zip(f["loc"], f["message"]))


def _doc() -> dict[str, Any]:
    return json.loads(CVAT_POLY.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    p = tmp_path / "instances_default.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def test_cvat_rasterised_areas_are_not_reported() -> None:
    doc = _doc()
    # the fixture's areas are pycocotools' mask areas, 3 to 7 % off the polygons' own areas
    for a in doc["annotations"]:
        flat = a["segmentation"][0]
        own = shapely.Polygon(np.reshape(flat, (-1, 2))).area
        rle = mask_utils.merge(mask_utils.frPyObjects([flat], 96, 96))
        assert a["area"] == float(mask_utils.area(rle))
        assert abs(a["area"] - own) / own > 0.02
    assert _fa205(CVAT_POLY) == []


def test_wrong_areas_on_the_cvat_file_are_still_reported(tmp_path: Path) -> None:
    doc = _doc()
    anns = doc["annotations"]
    anns[1]["area"] = round(anns[1]["bbox"][2] * anns[1]["bbox"][3], 4)  # bbox area of a diagonal sliver
    anns[2]["area"] = 0
    anns[3]["area"] = 82.0  # twice the mask area
    assert _fa205(_write(tmp_path, doc)) == [
        ("annotations[1]", "area 144.36 but the polygon's area is 38.98 (270% off) and its rasterised mask has 41 pixels"),
        ("annotations[2]", "area 0 but the polygon's area is 52.02 (100% off) and its rasterised mask has 50 pixels"),
        ("annotations[3]", "area 82 but the polygon's area is 42.17 (94% off) and its rasterised mask has 41 pixels"),
    ]


def _clipped_doc(area: float) -> dict[str, Any]:
    # a 20 x 20 square, half of it beyond the right edge of a 100 px wide image: the
    # rasterised mask (clipped to the image, as CVAT computes it) has 200 pixels, the polygon 400
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "fracture"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": area, "bbox": [90, 40, 20, 20],
             "segmentation": [[90, 40, 110, 40, 110, 60, 90, 60]]},
        ],
    }  # fmt: skip


def test_the_rasterised_area_is_compared_not_only_a_perimeter_tolerance(tmp_path: Path) -> None:
    assert _fa205(_write(tmp_path, _clipped_doc(200.0))) == []  # the mask's pixel count
    assert _fa205(_write(tmp_path, _clipped_doc(400.0))) == []  # the polygon's own area
    assert _fa205(_write(tmp_path, _clipped_doc(300.0))) == [
        ("annotations[0]", "area 300 but the polygon's area is 400 (25% off) and its rasterised mask has 200 pixels")
    ]


@pytest.mark.parametrize(("area", "reported"), [(1200.0, False), (1212.0, False), (1230.0, False), (1300.0, True)])
def test_tolerances_on_a_plain_rectangle(tmp_path: Path, area: float, reported: bool) -> None:
    # 40 x 30: 2 % is 24 px², a quarter pixel per pixel of its 140 px outline is 35 px²
    doc = _clipped_doc(area)
    doc["annotations"][0]["segmentation"] = [[10, 10, 50, 10, 50, 40, 10, 40]]
    doc["annotations"][0]["bbox"] = [10, 10, 40, 30]
    assert bool(_fa205(_write(tmp_path, doc))) is reported


def test_an_rle_area_is_its_mask_pixel_count(tmp_path: Path) -> None:
    m = np.zeros((20, 30), dtype=np.uint8, order="F")
    m[5:10, 4:12] = 1  # 40 pixels
    rle = mask_utils.encode(m)
    seg = {"size": [20, 30], "counts": rle["counts"].decode("ascii")}
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 30, "height": 20}],
        "categories": [{"id": 1, "name": "fracture"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1, "area": 40, "bbox": [4, 5, 8, 5], "segmentation": seg},
            {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 1, "area": 60, "bbox": [4, 5, 8, 5], "segmentation": seg},
        ],
    }  # fmt: skip
    assert _fa205(_write(tmp_path, doc)) == [("annotations[1]", "area 60 but the mask has 40 pixels")]


def test_hostile_polygons_are_not_rasterised_blindly(tmp_path: Path) -> None:
    # vertices far outside the image (a walk of 10^12 px for pycocotools) and a NaN vertex
    doc = _clipped_doc(7.0)
    doc["annotations"][0]["segmentation"] = [[10, 10, 1e12, 10, 1e12, 1e12, 10, 1e12]]
    doc["annotations"].append(dict(doc["annotations"][0], id=2, segmentation=[[10, 10, 20, 10, float("nan"), 20]]))
    p = tmp_path / "instances_default.json"
    p.write_text(json.dumps(doc), encoding="utf-8")  # NaN as JavaScript writes it
    [(loc, message)] = _fa205(p)  # the NaN polygon is left to the reader and FA1xx
    assert loc == "annotations[0]"
    assert message.startswith("area 7 but the polygon's area is 99999999998")
    assert message.endswith("(100% off) and its rasterised mask has 8100 pixels")  # clipped to the 100 x 100 image


# --------------------------------------------------------------------------- #11 relative locations

DEFECTS = PRODUCERS.parent / "defects"
#: the image and file rules whose findings name files on disk (FA5xx, FA6xx, FA405, FA406, FA304)
DISK_RULES = ("FA304", "FA405", "FA406", "FA501", "FA502", "FA505", "FA506", "FA507", "FA509", "FA601", "FA602", "FA603")


def test_every_finding_file_is_relative_to_the_dataset_root(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from fracatlas_annot.cli import main

    monkeypatch.chdir(tmp_path)  # nowhere near the data set, which is named by its absolute path
    assert main(["validate", str(DEFECTS), "--format", "json", "--no-progress"]) == 1
    doc = json.loads(capsys.readouterr().out)
    files = {(f["code"], f["file"]) for f in doc["findings"] if f["file"] is not None}
    assert {c for c, _ in files} >= set(DISK_RULES)  # the defects fixture plants each of them
    assert [f for _, f in files if Path(f).is_absolute() or "\\" in f] == []
    assert [f for _, f in files if not (DEFECTS / f.split("!")[0]).exists()] == []
    assert ("FA505", "images/Fractured/IMG0000019.jpg") in files
    assert ("FA304", "Annotations/PASCAL VOC") in files
    dup = next(f for f in doc["findings"] if f["code"] == "FA406")
    assert dup["message"] == ("file name found in 2 places: images/Fractured/IMG0000142.jpg, "
                              "images/Non_fractured/IMG0000142.jpg")  # fmt: skip
    assert all(f["location"] is None or not Path(f["location"]).is_absolute() for f in doc["findings"])


def test_text_and_sarif_show_the_same_places_from_the_working_directory(capsys: pytest.CaptureFixture[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from fracatlas_annot.cli import main

    monkeypatch.chdir(DEFECTS.parent)  # read only: outputs go to stdout
    main(["validate", str(DEFECTS), "--select", "FA505,FA406", "--no-progress", "--format", "concise"])
    out = capsys.readouterr().out
    assert "defects/images/Fractured/IMG0000019.jpg" in out
    assert "defects/images/Non_fractured/IMG0000142.jpg" in out
    assert str(DEFECTS) not in out
    main(["validate", str(DEFECTS), "--select", "FA505", "--no-progress", "--format", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    uris = sorted(loc["physicalLocation"]["artifactLocation"]["uri"]
                  for r in sarif["runs"][0]["results"] for loc in r["locations"])  # fmt: skip
    assert uris == ["defects/images/Fractured/IMG0000019.jpg", "defects/images/Fractured/IMG0000024.jpg"]


def test_an_image_outside_the_root_keeps_its_path(tmp_path: Path) -> None:
    from fracatlas_annot.checks._findings import dataset_files
    from fracatlas_annot.checks.registry import CheckContext
    from fracatlas_annot.model import Dataset

    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    ctx = CheckContext(Dataset(root=root / "labels.json"))  # a file: its folder is the base
    other = tmp_path / "elsewhere" / "a.jpg"
    assert dataset_files(ctx, [root / "images" / "a.jpg", other, None, float("nan")]) == [
        "images/a.jpg", other.as_posix(), None, None]  # fmt: skip
