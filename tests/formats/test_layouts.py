"""Input layouts of other producers (issue 11 #7, #9, #11 and predict folders): an export finds
its images (beside it, in its ``images/`` sibling, or ``--images DIR``); a Roboflow root is one
data set with its splits; a CVAT export folder is found; a folder holding exports only deeper
exits 2 naming them; an Ultralytics predict folder is a YOLO source with its scores. Exact
counts, findings and convert outcomes on fixtures/producers/ (truth in its manifest.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import fracatlas_annot as fa
from fracatlas_annot.cli import main
from fracatlas_annot.formats import detect
from fracatlas_annot.formats.yolo import is_entry

PRODUCERS = Path(__file__).resolve().parents[2] / "fixtures" / "producers"
ROBOFLOW = PRODUCERS / "roboflow-coco"
CVAT_BOXES = PRODUCERS / "cvat-coco-boxes"
CVAT_POLYGONS = PRODUCERS / "cvat-coco-polygons"
CSV_CASE = PRODUCERS / "makesense-csv-spaces"
CSV_FILE = CSV_CASE / "labels_fracture-review_2024-03-12-10-15-00.csv"
UNLISTED = "5_png.rf.1ad90ad1f9a3a1c8213adcd08b5fb268.jpg"


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads((PRODUCERS / "manifest.json").read_text(encoding="utf-8"))["cases"]


def _info(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["info", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _codes(result: Any) -> dict[str, int]:
    f = result.findings
    return {str(k): int(v) for k, v in f["code"].value_counts().sort_index().items()} if len(f) else {}


def _written(out: Path) -> dict[str, list[str]]:
    """``images/<split>`` and ``labels/<split>`` -> sorted file names."""
    return {f"{kind}/{d.name}": sorted(p.name for p in d.iterdir())
            for kind in ("images", "labels") if (out / kind).is_dir() for d in sorted((out / kind).iterdir())}


def _yolo_box(line: str) -> tuple[int, list[float]]:
    cls, *vals = line.split()
    return int(cls), [round(float(v), 5) for v in vals]


# --------------------------------------------------------------------------- #9 Roboflow root


def test_roboflow_root_reads_as_one_data_set_with_its_splits(truth: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    case = truth["roboflow-coco"]
    s = _info([str(ROBOFLOW)], capsys)
    assert s["format"] == "coco" and detect(ROBOFLOW) == "coco"
    assert (s["images"], s["images_on_disk"], s["image_files"]) == (6, 6, 6)
    src = s["sources"]["coco"]
    assert (src["geometry"], src["objects"], src["images"], src["images_with_objects"]) == ("box", 6, 6, 5)
    assert src["labels"] == case["labels"] == s["labels"]  # the placeholder 'fractures' is no label
    assert s["splits"] == {"train": 3, "val": 2, "test": 1}
    probs = [(p["severity"], p["kind"], p["file"], p.get("image")) for p in s["problems"]]
    assert probs == [("info", "unsupported", f"{d}/_annotations.coco.json", None) for d in ("train", "valid", "test")] + [
        ("warning", "unlisted-image", "train/_annotations.coco.json", UNLISTED)]
    assert "category 0 'fractures' is a placeholder parent class" in s["problems"][0]["message"]
    assert "listed in valid/_annotations.coco.json, whose split it takes" in s["problems"][3]["message"]
    # the API: each image in the split of the file listing it, its file where it lies
    ds = fa.read(ROBOFLOW)
    for name, im in case["images"].items():
        split = {"valid": "val"}.get(im["split"], im["split"])
        assert ds.images.loc[name, "split"] == split
        assert Path(ds.images.loc[name, "path"]).relative_to(ROBOFLOW).as_posix() == im["file"]
    assert sorted(ds.sources["coco"].label_ids) == [1, 2]


def test_roboflow_root_validates_with_one_warning_for_the_unlisted_image() -> None:
    result = fa.validate(ROBOFLOW, fast=True, progress=False)
    assert _codes(result) == {"FA000": 3, "FA019": 1}
    f = result.findings
    assert set(f.loc[f["code"] == "FA000", "severity"]) == {"info"}
    row = f[f["code"] == "FA019"].iloc[0]
    assert (row["severity"], row["image"], row["source"]) == ("warning", UNLISTED, "coco")
    assert result.summary["errors"] == 0


def test_roboflow_root_converts_with_its_own_splits(truth: dict[str, Any], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["convert", str(ROBOFLOW), str(out), "--to", "yolo-detect"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "split kept from the export's split folders train/, valid/, test/: train 3, val 2, test 1" in err
    assert "split drawn at random" not in err
    splits = truth["roboflow-coco"]["splits"]
    stems = {s: sorted(n[:-4] + ".txt" for n in names) for s, names in splits.items()}
    assert _written(out) == {
        "images/test": splits["test"], "images/train": splits["train"], "images/val": sorted(splits["valid"]),
        "labels/test": stems["test"], "labels/train": stems["train"], "labels/val": stems["valid"],
    }
    m = json.loads((out / "manifest.json").read_text())
    assert m["splits"]["method"] == "official" and "split_default" not in m["options"]
    assert m["options"]["split_from"] == "the export's split folders train/, valid/, test/"
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == 6
    assert [(c["name"], c["class"]) for c in m["class_map"]] == [("elbow-positive", 0), ("wrist-positive", 1)]
    assert m["images"]["linked"] + m["images"]["copied"] == 6 and m["images"]["missing"] == 0
    # the image that lies in train/ but is listed in valid/ is written in val with its box
    lines = (out / "labels" / "val" / (UNLISTED[:-4] + ".txt")).read_text().splitlines()
    x, y, w, h = truth["roboflow-coco"]["images"][UNLISTED]["objects"][0]["bbox"]
    assert [_yolo_box(ln) for ln in lines] == [(0, [round(v, 5) for v in ((x + w / 2) / 128, (y + h / 2) / 128, w / 128, h / 128)])]
    assert "names:\n  0: elbow-positive\n  1: wrist-positive\n" in (out / "data.yaml").read_text()


def test_roboflow_split_file_named_directly_finds_its_images_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    s = _info([str(ROBOFLOW / "train" / "_annotations.coco.json")], capsys)
    assert (s["images"], s["images_on_disk"]) == (4, 4)  # 3 listed + the unlisted file beside them
    assert s["sources"]["coco"]["images"] == 3 and s["sources"]["coco"]["objects"] == 3
    (unlisted,) = [p for p in s["problems"] if p["kind"] == "unlisted-image"]
    assert unlisted["image"] == UNLISTED and unlisted["severity"] == "warning"
    assert "kept as an image without objects" in unlisted["message"]
    # valid/'s file lists 5_png, which lies in train/: not found beside valid/'s file
    s = _info([str(ROBOFLOW / "valid" / "_annotations.coco.json")], capsys)
    assert (s["images"], s["images_on_disk"]) == (2, 1)
    assert [p["kind"] for p in s["problems"]] == ["unsupported"]


def test_readme_files_are_not_yolo_label_files() -> None:
    assert not is_entry("readme.roboflow.txt") and not is_entry("readme.dataset.txt")
    assert is_entry("img0000019.txt")


# --------------------------------------------------------------------------- #11 CVAT export folder


@pytest.mark.parametrize(("case", "geometry", "labels"), [
    (CVAT_BOXES, "box", ["fracture", "plate"]), (CVAT_POLYGONS, "polygon", ["fracture", "plate"])])
def test_cvat_export_folder_is_found(case: Path, geometry: str, labels: list[str], truth: dict[str, Any],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    want = truth[case.name]["counts"]
    for path in (case, case / "annotations" / "instances_default.json"):
        s = _info([str(path)], capsys)
        assert s["format"] == "coco"
        assert (s["images"], s["images_on_disk"], s["image_files"]) == (want["images"],) * 3
        src = s["sources"]["coco"]
        assert (src["geometry"], src["objects"], src["images_with_objects"]) == (geometry, want["objects"], want["images_with_objects"])
        assert src["labels"] == labels and s["problems"] == []
        assert s["splits"] == {"none": want["images"]}  # no split folder, no split list


def test_cvat_boxes_convert_with_their_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["convert", str(CVAT_BOXES), str(out), "--to", "yolo-detect", "--split", "none"]) == 0
    assert _written(out) == {"images/train": ["xr_001.jpg", "xr_002.jpg", "xr_003.jpg", "xr_004.jpg"],
                             "labels/train": ["xr_001.txt", "xr_002.txt", "xr_003.txt", "xr_004.txt"]}
    assert (out / "labels" / "train" / "xr_003.txt").read_text() == ""  # the listed negative
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == 4
    assert m["images"]["missing"] == 0 and m["images"]["linked"] + m["images"]["copied"] == 4
    # without --split: no split lists, so the seeded stratified default (said on screen)
    assert main(["convert", str(CVAT_BOXES), str(tmp_path / "d"), "--to", "yolo-detect"]) == 0
    assert "split drawn at random" in " ".join(capsys.readouterr().err.split())


def test_cvat_polygons_convert_to_segments_with_their_images(tmp_path: Path) -> None:
    out = tmp_path / "o"
    path = CVAT_POLYGONS / "annotations" / "instances_default.json"
    assert main(["convert", str(path), str(out), "--to", "yolo-seg", "--split", "none"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["objects_in"] == m["counts"]["objects_out"] == 4
    assert m["images"]["missing"] == 0 and len(list((out / "images" / "train").iterdir())) == 4
    rows = [ln.split() for p in sorted((out / "labels" / "train").glob("*.txt")) for ln in p.read_text().splitlines()]
    assert len(rows) == 4 and all(len(r) >= 7 and len(r) % 2 == 1 for r in rows)  # segments, not boxes


def test_folder_with_exports_only_deeper_exits_2_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CVAT_BOXES, tmp_path / "exports" / "task-7" / "cvat")
    (tmp_path / "exports" / "notes").mkdir()
    shutil.copy(CSV_FILE, tmp_path / "exports" / "notes" / CSV_FILE.name)
    for cmd in (["info"], ["validate"], ["convert", "--to", "yolo-detect", str(tmp_path / "o")]):
        args = [cmd[0], str(tmp_path / "exports"), *cmd[1:]]
        assert main(args) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "holds no annotation file or image itself, only deeper in sub-folders:" in err
        assert "notes/ (makesense)" in err and "task-7/cvat/ (coco)" in err
        assert "name one of those files (or the folder holding it) as the path" in err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- #7 an export finds its images


def test_makesense_csv_finds_images_in_its_images_folder(truth: dict[str, Any], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for path in (CSV_CASE, CSV_FILE):
        s = _info([str(path)], capsys)
        assert (s["images"], s["images_on_disk"]) == (4, 4)  # 3 with rows + IMG0000104.jpg without
        assert s["sources"]["csv"]["objects"] == 4 and s["sources"]["csv"]["images"] == 3
    out = tmp_path / "o"
    assert main(["convert", str(CSV_FILE), str(out), "--to", "yolo-detect", "--split", "none"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["images"]["missing"] == 0 and len(list((out / "images" / "train").iterdir())) == 4
    assert m["counts"]["objects_out"] == 4
    assert "hairline fracture" in (out / "data.yaml").read_text()


def test_images_option_points_at_the_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    via = tmp_path / "via.json"
    shutil.copy(PRODUCERS / "via2-polyline" / "via_project_12Mar2024_10h15m.json", via)
    assert _info([str(via)], capsys)["images_on_disk"] == 0
    s = _info([str(via), "--images", str(PRODUCERS / "via2-polyline")], capsys)
    assert (s["images"], s["images_on_disk"]) == (4, 4)
    ds = fa.read(via, images=PRODUCERS / "via2-polyline")
    assert ds.images["width"].notna().all()  # sizes from the image files (VIA has none)
    assert fa.validate(ds, fast=True, progress=False).summary["errors"] == 1  # the open polyline (FA000) only
    out = tmp_path / "o"
    assert main(["convert", str(via), str(out), "--to", "yolo-seg", "--split", "none", "--allow-lossy",
                 "--images", str(PRODUCERS / "via2-polyline")]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["images"]["missing"] == 0 and m["counts"]["objects_out"] == 4


def test_images_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(CSV_FILE), "--images", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
    mini = Path(__file__).resolve().parents[2] / "fixtures" / "fracatlas-mini"
    assert main(["info", str(mini), "--images", str(tmp_path)]) == 2
    assert "--images is not used by the fracatlas format" in capsys.readouterr().err
    with pytest.raises(fa.UsageError):
        fa.read(CSV_FILE, images=CSV_FILE)  # a file, not a folder


def test_a_name_is_matched_by_base_name_only_within_the_image_folder(tmp_path: Path) -> None:
    images = tmp_path / "export" / "images"
    images.mkdir(parents=True)
    shutil.copy(CVAT_BOXES / "images" / "xr_001.jpg", images / "xr_001.jpg")
    (tmp_path / "outside").mkdir()
    shutil.copy(CVAT_BOXES / "images" / "xr_002.jpg", tmp_path / "outside" / "xr_002.jpg")
    doc = {"images": [{"id": 1, "file_name": "frames/xr_001.jpg", "width": 96, "height": 96},
                      {"id": 2, "file_name": "../outside/xr_002.jpg", "width": 96, "height": 96}],
           "categories": [{"id": 1, "name": "fracture"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "segmentation": [], "iscrowd": 0}]}
    path = tmp_path / "export" / "coco.json"
    path.write_text(json.dumps(doc))
    ds = fa.read(path)
    assert ds.images.loc["xr_001.jpg", "path"] == str(images / "xr_001.jpg")
    on_disk = ds.images["path"].dropna()
    assert all(Path(p).parent == images for p in on_disk) and len(on_disk) == 1


def test_labels_only_copy_says_no_image_files(capsys: pytest.CaptureFixture[str]) -> None:
    path = PRODUCERS / "fracatlas-copy-labels-only"
    s = _info([str(path)], capsys)
    assert (s["images"], s["images_on_disk"], s["image_files"], s["header_errors"]) == (8, 0, 0, 0)
    assert main(["info", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "8 images, 0 on disk, no image files" in out and "unreadable" not in out


# --------------------------------------------------------------------------- Ultralytics predict folder


@pytest.mark.parametrize(("case", "geometry"), [("yolo-predictions-detect", "box"), ("yolo-predictions-segment", "polygon")])
def test_predict_folder_is_a_yolo_source_with_scores(case: str, geometry: str, truth: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    want = truth[case]
    s = _info([str(PRODUCERS / case), "--names", "fracture"], capsys)
    assert s["format"] == "yolo" and detect(PRODUCERS / case) == "yolo"
    assert (s["images"], s["images_on_disk"]) == (want["counts"]["images"],) * 2
    src = s["sources"]["yolo"]
    assert (src["geometry"], src["objects"], src["images_with_objects"]) == (geometry, want["counts"]["objects"], 2)
    assert s["problems"] == []
    ds = fa.read(PRODUCERS / case, names=["fracture"])
    assert ds.sources["yolo"].objects["score"].round(6).tolist() == want["scores"]
    assert ds.sources["yolo"].objects["units"].eq("px").all()  # scaled with the image files' sizes
    assert fa.validate(ds, fast=True, progress=False).summary["errors"] == 0


def test_an_annotation_file_name_never_leads_out_of_images(tmp_path: Path) -> None:
    """``annotations/instances_...json`` (subset '..') reads images/, never images/.. (the root)."""
    root = tmp_path / "export"
    shutil.copytree(CVAT_BOXES, root)
    shutil.move(root / "annotations" / "instances_default.json", root / "annotations" / "instances_...json")
    shutil.copy(CVAT_BOXES / "images" / "xr_001.jpg", root / "stray.jpg")
    ds = fa.read(root)
    assert ds.format == "coco" and sorted(ds.files["image"]) == ["xr_001.jpg", "xr_002.jpg", "xr_003.jpg", "xr_004.jpg"]


def test_agree_reads_the_readers_images_from_the_images_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two readers' CSV exports without images: with --images the unlabelled IMG0000104.jpg is an
    image both read (4 images, not 3)."""
    for r in ("a", "b"):
        (tmp_path / r).mkdir()
        shutil.copy(CSV_FILE, tmp_path / r / CSV_FILE.name)
    args = ["agree", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["image_level"]["n"] == 3
    assert main([*args, "--images", str(CSV_CASE / "images")]) == 0
    assert json.loads(capsys.readouterr().out)["image_level"]["n"] == 4
