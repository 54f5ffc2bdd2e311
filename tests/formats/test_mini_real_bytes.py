"""fixtures/fracatlas-mini carries the real v6 archive's byte quirks (reference/fracatlas-dataset.md
§11): CRLF split lists and dataset.csv, COCO category id 0, a CRLF labels.txt, JPEGs padded after
their end-of-image marker. The readers and rules must see through them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fracatlas_annot import validate
from fracatlas_annot.formats import read
from fracatlas_annot.formats.coco import reader as coco_reader

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini"
MANIFEST = json.loads((MINI / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mini():
    return read(MINI)


def test_the_fixture_files_are_crlf() -> None:
    # the premise of the tests below: without it they would pass on LF files too
    for name in ("train", "valid", "test"):
        assert (MINI / "Utilities" / "Fracture Split" / f"{name}.csv").read_bytes().endswith(b".jpg\r\n")
    assert b"\r\n" in (MINI / "dataset.csv").read_bytes()
    assert (MINI / "Annotations" / "YOLO" / "labels.txt").read_bytes() == b"fractured\r\n"
    assert b'"categories": [{ "id": 0, "name": "fractured" }]\r\n' in (MINI / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json").read_bytes()


def test_split_list_keys_have_no_carriage_return(mini) -> None:
    sl = mini.split_lists
    assert len(sl) == sum(len(v) for v in MANIFEST["split_images"].values())
    assert not sl["image"].str.contains("\r").any() and not sl["image"].str.contains(r"\s").any()
    for split, names in MANIFEST["split_images"].items():
        assert sorted(sl.loc[sl["split"] == split, "image"]) == names
    # every listed image is found in the images table with its split (train / val / test)
    want = {n: {"valid": "val"}.get(sp, sp) for sp, names in MANIFEST["split_images"].items() for n in names}
    assert mini.images["split"].dropna().to_dict() == want


def test_dataset_csv_rows_and_last_column_have_no_carriage_return(mini) -> None:
    im = mini.images
    assert not any("\r" in k for k in im.index) and len(im) == MANIFEST["images"]
    assert im["in_csv"].all()
    # the last column is where a stray '\r' would land: it must parse as integers
    assert str(im["oblique"].dtype) == "Int8" and im["oblique"].notna().all()
    assert set(im["oblique"].unique()) <= {0, 1}
    assert int(im["fractured"].sum()) == MANIFEST["fractured"]
    assert mini.problems.empty, mini.problems.to_string()


def test_coco_category_0_used_by_annotations_is_the_real_class(mini) -> None:
    coco = mini.sources["coco"]
    assert coco.labels == ["fractured"] and coco.label_ids == {0: "fractured"}
    assert len(coco.objects) == MANIFEST["sources"]["coco"]["objects"]
    assert set(coco.objects["label"]) == {"fractured"} and set(coco.objects["class_id"]) == {0}
    assert mini.labels == ["fractured"]


def test_coco_category_0_in_a_bare_document() -> None:
    doc = {
        "images": [{"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"}],
        "annotations": [{"id": 0, "image_id": 1, "category_id": 0, "iscrowd": 0,
                         "segmentation": [[10, 10, 40, 10, 40, 30]], "bbox": [10, 10, 30, 20], "area": 300}],
        "categories": [{"id": 0, "name": "fractured"}],
    }  # fmt: skip
    src, problems = coco_reader.parse(json.dumps(doc).encode(), file="a.json")
    assert problems == [] and src.labels == ["fractured"]
    assert src.objects["label"].tolist() == ["fractured"] and src.objects["class_id"].tolist() == [0]


def test_yolo_class_list_with_crlf(mini) -> None:
    yolo = mini.sources["yolo"]
    assert yolo.labels == ["fractured"] and yolo.label_ids == {0: "fractured"}
    assert set(yolo.objects["label"]) == {"fractured"} and len(yolo.objects) == MANIFEST["sources"]["yolo"]["objects"]


@pytest.mark.parametrize("fast", [False, True], ids=["full", "fast"])
def test_fa509_fires_on_exactly_the_padded_files_and_fa502_on_none(fast: bool) -> None:
    f = validate(MINI, select=["FA5"], fast=fast, progress=False).findings
    padded = MANIFEST["bytes_after_end_of_image"]
    assert len(padded) == 2
    fa509 = f[f["code"] == "FA509"].set_index("image")["message"].to_dict()
    assert sorted(fa509) == sorted(padded)
    for name, n in padded.items():
        assert fa509[name].startswith(f"{n:,} stray byte(s) after the end-of-image marker")
    assert not f["code"].isin(["FA501", "FA502"]).any()


def test_convert_coco_category_0_to_yolo_class_0(tmp_path: Path) -> None:
    from fracatlas_annot.convert import convert

    manifest = convert(MINI, to="yolo-detect", source="coco", out=tmp_path / "out", progress=False)
    lines = [ln for p in (tmp_path / "out" / "labels").rglob("*.txt") for ln in p.read_text().splitlines()]
    assert len(lines) == MANIFEST["sources"]["coco"]["objects"]
    assert {ln.split()[0] for ln in lines} == {"0"}
    assert manifest["class_map"] == [{"class": 0, "name": "fractured", "source_id": 0, "source_format": "coco"}]
