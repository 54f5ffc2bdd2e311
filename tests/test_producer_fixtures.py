"""fixtures/producers/: rebuilt byte for byte, and each case holds what its producer writes
(checked with the producers' own conventions and consumers: pycocotools, VIA's fields, Ultralytics'
line format, the makesense CSV header, LabelImg's XML, a YAML loader), agreeing with manifest.json."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from fixtures import generate as g
from fixtures.producers import build

PRODUCERS = Path(__file__).resolve().parents[1] / "fixtures" / "producers"


def _files(root: Path) -> dict[str, Path]:
    out = {build.MANIFEST: root / build.MANIFEST}
    for case in build.CASES:
        out.update({p.relative_to(root).as_posix(): p for p in (root / case).rglob("*") if p.is_file()})
    return out


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("producers")
    build.build_all(out)
    return out


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads((PRODUCERS / build.MANIFEST).read_text(encoding="utf-8"))["cases"]


def test_rebuild_is_byte_identical(rebuilt: Path) -> None:
    committed, fresh = _files(PRODUCERS), _files(rebuilt)
    assert sorted(committed) == sorted(fresh)
    assert [k for k in committed if committed[k].read_bytes() != fresh[k].read_bytes()] == []


def test_every_case_is_in_the_manifest_and_small(manifest: dict[str, Any]) -> None:
    assert tuple(manifest) == build.CASES
    assert all((PRODUCERS / c).is_dir() for c in build.CASES)
    assert sum(p.stat().st_size for p in _files(PRODUCERS).values()) < 512 * 1024
    for case in manifest.values():
        assert case["counts"]["objects"] == sum(len(im["objects"]) for im in case["images"].values())
        assert case["counts"]["images"] == len(case["images"])


def _jpeg_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "JPEG"
        return im.size


def test_every_listed_image_file_exists_with_its_size(manifest: dict[str, Any]) -> None:
    for name, case in manifest.items():
        for im in case["images"].values():
            if im["file"] is None:
                continue
            size = _jpeg_size(PRODUCERS / name / im["file"])
            if "stored_size" in im:
                assert list(size) == im["stored_size"]
            else:
                assert size == (im["width"], im["height"])


# --------------------------------------------------------------------------- COCO producers


def _coco(path: Path):
    from pycocotools.coco import COCO

    with _quiet():
        return COCO(str(path))


class _quiet:
    def __enter__(self) -> None:
        import contextlib

        self._ctx = contextlib.redirect_stdout(io.StringIO())
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def test_roboflow_split_files_load_in_pycocotools(manifest: dict[str, Any]) -> None:
    root, case = PRODUCERS / "roboflow-coco", manifest["roboflow-coco"]
    seen: dict[str, list[Any]] = {}
    for split in ("train", "valid", "test"):
        coco = _coco(root / split / "_annotations.coco.json")
        cats = coco.loadCats(coco.getCatIds())
        assert cats[0] == {"id": 0, "name": "fractures", "supercategory": "none"}
        assert all(c["supercategory"] == "fractures" for c in cats[1:])
        assert all(a["category_id"] != 0 for a in coco.dataset["annotations"])  # the placeholder is never used
        assert all(a["segmentation"] == [] and a["area"] == a["bbox"][2] * a["bbox"][3] for a in coco.dataset["annotations"])
        assert sorted(coco.imgs) == list(range(len(coco.imgs)))  # ids restart at 0 in every file
        for img in coco.dataset["images"]:
            assert re.fullmatch(r"\d+_png\.rf\.[0-9a-f]{32}\.jpg", img["file_name"])
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            seen[img["file_name"]] = [(coco.cats[a["category_id"]]["name"], a["bbox"]) for a in anns]
            assert case["images"][img["file_name"]]["split"] == split
    assert seen == {n: [(o["label"], o["bbox"]) for o in t["objects"]] for n, t in case["images"].items()}
    # one image sits in train/ though only valid/'s JSON lists it
    stray = [n for n, t in case["images"].items() if not t["file"].startswith(t["split"] + "/")]
    assert len(stray) == 1 and (root / "train" / stray[0]).is_file() and not (root / "valid" / stray[0]).exists()
    assert b"\n" not in (root / "train" / "_annotations.coco.json").read_bytes()  # compact, JSON.stringify


@pytest.mark.parametrize("case_name", ["cvat-coco-boxes", "cvat-coco-polygons"])
def test_cvat_coco_loads_in_pycocotools(manifest: dict[str, Any], case_name: str) -> None:
    case = manifest[case_name]
    coco = _coco(PRODUCERS / case_name / "annotations" / "instances_default.json")
    assert sorted(coco.imgs) == list(range(1, 5)) and min(coco.anns) == 1
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["fracture", "plate"]
    assert sum(len(coco.getAnnIds(imgIds=i)) for i in coco.imgs) == case["counts"]["objects"]
    for img in coco.dataset["images"]:
        assert (PRODUCERS / case_name / "images" / img["file_name"]).is_file()
        assert len(coco.getAnnIds(imgIds=img["id"])) == len(case["images"][img["file_name"]]["objects"])
    for a in coco.dataset["annotations"]:
        assert a["iscrowd"] == 0 and a["attributes"]["occluded"] is False
        if case["geometry"] == "box":
            assert a["segmentation"] == [] and abs(a["area"] - a["bbox"][2] * a["bbox"][3]) < 1e-9
        else:
            rle = coco.annToRLE(a)
            from pycocotools import mask as mask_utils

            assert a["area"] == float(mask_utils.area(rle))  # the area is the rasterised mask's


def test_cvat_polygon_areas_are_a_few_percent_off_the_polygon_area(manifest: dict[str, Any]) -> None:
    objs = [o for t in manifest["cvat-coco-polygons"]["images"].values() for o in t["objects"]]
    assert len(objs) == 4
    for o in objs:
        poly = g.shoelace_area(np.array(o["points"]))
        rel = (o["coco_area"] - poly) / poly
        assert 0.02 <= abs(rel) <= 0.08, rel
        assert o["coco_area"] == int(o["coco_area"])  # a pixel count


# --------------------------------------------------------------------------- VIA 2


def test_via_project_has_the_fields_via_writes(manifest: dict[str, Any]) -> None:
    root = PRODUCERS / "via2-polyline"
    doc = json.loads((root / f"{build.VIA_PROJECT}.json").read_text(encoding="utf-8"))
    assert list(doc) == ["_via_settings", "_via_img_metadata", "_via_attributes", "_via_data_format_version", "_via_image_id_list"]
    assert doc["_via_data_format_version"].startswith("2.")
    assert set(doc["_via_settings"]) == {"ui", "core", "project"}
    assert doc["_via_image_id_list"] == list(doc["_via_img_metadata"])
    shapes, open_lines, keys = 0, 0, set()
    for key, meta in doc["_via_img_metadata"].items():
        assert set(meta) == {"filename", "size", "regions", "file_attributes"}  # no width / height
        assert key == f"{meta['filename']}{meta['size']}"
        assert meta["size"] == (root / meta["filename"]).stat().st_size
        for r in meta["regions"]:
            sa = r["shape_attributes"]
            assert sa["name"] == "polyline" and all(isinstance(v, int) for v in sa["all_points_x"] + sa["all_points_y"])
            assert set(r["region_attributes"]) <= set(doc["_via_attributes"]["region"])
            keys |= {k for k, v in r["region_attributes"].items() if v}
            closed = (sa["all_points_x"][0], sa["all_points_y"][0]) == (sa["all_points_x"][-1], sa["all_points_y"][-1])
            open_lines += not closed
            shapes += 1
    case = manifest["via2-polyline"]
    assert (shapes, open_lines) == (case["counts"]["objects"], case["counts"]["open_polylines"]) == (5, 1)
    assert keys == {"label", "type"}


# --------------------------------------------------------------------------- Ultralytics predictions


@pytest.mark.parametrize("case_name", ["yolo-predictions-detect", "yolo-predictions-segment"])
def test_prediction_lines_end_with_the_confidence(manifest: dict[str, Any], case_name: str) -> None:
    case, root = manifest[case_name], PRODUCERS / case_name
    scores = []
    for name, t in case["images"].items():
        label = root / "labels" / f"{Path(name).stem}.txt"
        if not t["objects"]:
            assert not label.exists()  # Ultralytics writes no file for an image without detection
            continue
        raw = label.read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        rows = [line.split() for line in raw.decode().splitlines()]
        confs = [float(r[-1]) for r in rows]
        assert confs == sorted(confs, reverse=True)
        for r, o in zip(rows, t["objects"]):
            assert r[0] == "0" and all(re.fullmatch(r"[0-9.e-]+", v) for v in r)
            assert float(r[-1]) == o["score"]
            if case["geometry"] == "box":
                assert len(r) == 6
                cx, cy, w, h = (float(v) for v in r[1:5])
                x, y, bw, bh = o["bbox"]
                assert abs(cx - (x + bw / 2) / t["width"]) < 1e-6 and abs(h - bh / t["height"]) < 1e-6
            else:
                assert len(r) % 2 == 0 and len(r) >= 8  # class + 2n coordinates + confidence
                assert [[float(a), float(b)] for a, b in zip(r[1:-1:2], r[2:-1:2])] == o["points_normalised"]
        scores += confs
    assert sorted(scores) == sorted(case["scores"])


# --------------------------------------------------------------------------- makesense CSV


def test_makesense_csv_with_spaces_and_a_sibling_images_folder(manifest: dict[str, Any]) -> None:
    root, case = PRODUCERS / "makesense-csv-spaces", manifest["makesense-csv-spaces"]
    (csv_path,) = root.glob("labels_*.csv")
    assert re.fullmatch(r"labels_[\w-]+_\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.csv", csv_path.name)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert list(rows[0]) == g.RECT_CSV_HEADER.split(",")
    assert {r["label_name"] for r in rows} == set(case["labels"]) and all(" " in r["label_name"] for r in rows)
    got = {(r["image_name"], r["label_name"], *(int(r[k]) for k in ("bbox_x", "bbox_y", "bbox_width", "bbox_height"))) for r in rows}
    want = {(n, o["label"], *o["bbox"]) for n, t in case["images"].items() for o in t["objects"]}
    assert got == want
    for r in rows:
        assert _jpeg_size(root / "images" / r["image_name"]) == (int(r["image_width"]), int(r["image_height"]))
    assert not list(root.glob("*.jpg"))  # the images are NOT beside the export


# --------------------------------------------------------------------------- LabelImg


def test_labelimg_xml_is_in_the_stored_frame_of_exif_rotated_jpgs(manifest: dict[str, Any]) -> None:
    root, case = PRODUCERS / "labelimg-voc-jpg", manifest["labelimg-voc-jpg"]
    orientations = set()
    for name, t in case["images"].items():
        assert name.endswith(".JPG")
        raw = (root / t["xml"]).read_bytes()
        assert not raw.startswith(b"<?xml") and b"\n\t<folder>" in raw and raw.endswith(b"</annotation>\n")
        xml = ET.fromstring(raw)
        assert xml.findtext("filename") == name and xml.findtext("path").endswith("/" + name)
        with Image.open(root / name) as im:
            stored, orientation = im.size, im.getexif().get(0x0112, 1)
        orientations.add(orientation)
        assert orientation == t["orientation"]
        assert (int(xml.findtext("size/width")), int(xml.findtext("size/height"))) == stored  # EXIF ignored
        boxes = [(o.findtext("name"), *(int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")))
                 for o in xml.findall("object")]  # fmt: skip
        assert boxes == [(o["label"], o["bbox"][0], o["bbox"][1], o["bbox"][0] + o["bbox"][2], o["bbox"][1] + o["bbox"][3])
                         for o in t["objects"]]  # fmt: skip
        for o, b in zip(xml.findall("object"), boxes):
            assert o.findtext("truncated") == ("1" if b[1] == 1 else "0")
        assert (xml.get("verified") == "yes") == (not boxes)
    assert orientations == {1, 6, 8}


# --------------------------------------------------------------------------- FracAtlas copy without images


def test_fracatlas_copy_has_no_images_and_six_decimal_lf_labels(manifest: dict[str, Any]) -> None:
    root, case = PRODUCERS / "fracatlas-copy-labels-only", manifest["fracatlas-copy-labels-only"]
    assert not [p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}]
    assert (root / g.YOLO_DIR / "labels.txt").read_bytes() == b""
    assert yaml.safe_load((root / "data.yaml").read_text())["names"] == ["fractured"]
    for name, t in case["images"].items():
        raw = (root / t["label_file"]).read_bytes()
        assert b"\r" not in raw
        lines = raw.decode().splitlines()
        assert len(lines) == len(t["objects"])
        for line in lines:
            assert re.fullmatch(r"0( [01]\.\d{4}00){4}", line)  # 4-decimal values written with 6 decimals
    for f in [root / "dataset.csv", *(root / g.SPLIT_DIR).glob("*.csv")]:
        assert b"\r" not in f.read_bytes()
    for split, names in case["splits"].items():
        assert (root / g.SPLIT_DIR / f"{split}.csv").read_text().split() == ["image_id", *names]
