"""The committed fixtures: rebuilt byte for byte; the makesense exports written as makesense.ai
writes (JS numbers, toFixed(6), Math.round, compact JSON, TAB-indented VOC, STORE zips, the
file-name pattern), the archives as the real FracAtlas v6 files are (Prettier CRLF COCO with
category 0, pylabel YOLO and VOC, CRLF lists, JPEGs padded after their end marker)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely

from fixtures import build
from fixtures import generate as g

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BUILT = ("fracatlas-mini", "fracatlas-v7", "readers")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fixtures")
    build.build_all(out)
    return out


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for d in BUILT for p in (root / d).rglob("*") if p.is_file()}


def test_rebuild_is_byte_identical(rebuilt: Path) -> None:
    committed, fresh = _files(FIXTURES), _files(rebuilt)
    assert sorted(committed) == sorted(fresh)
    differ = [k for k in committed if committed[k].read_bytes() != fresh[k].read_bytes()]
    assert differ == []


def test_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for p in _files(FIXTURES).values())
    assert total < 3 * 2**20


@pytest.mark.parametrize(
    ("value", "js"),
    [(99.0, "99"), (150.87234042553192, "150.87234042553192"), (1e-7, "1e-7"), (0.000001, "0.000001"),
     (5.684341886080802e-14, "5.684341886080802e-14"), (1e21, "1e+21"), (1.2345678901234568e20, "123456789012345680000"),
     (-1.5, "-1.5"), (100.0, "100"), (0.0, "0")],
)  # fmt: skip
def test_js_number_formatting(value: float, js: str) -> None:
    assert g.js_number(value) == js


@pytest.mark.parametrize(
    ("value", "fixed"), [(0.0078125, "0.007813"), (0.5, "0.500000"), (1.0000005, "1.000001"), (0.4039125, "0.403913")]
)
def test_to_fixed6_rounds_the_exact_binary_value_half_up(value: float, fixed: str) -> None:
    assert g.to_fixed6(value) == fixed  # 0.0078125 is exact in binary: a true tie, JS picks the larger n


@pytest.mark.parametrize(("value", "rounded"), [(2.5, 3), (-2.5, -2), (0.49999999999999994, 0), (120.5, 121), (454.0, 454)])
def test_math_round(value: float, rounded: int) -> None:
    assert g.math_round(value) == rounded


def test_coco_bytes_equal_the_reference_example() -> None:
    poly = np.array([[101.2340425531915, 150.87234042553192], [140.5, 148.25531914893617], [150.1063829787234, 190.4468085106383], [99, 195.5]])
    im = g.Annotated("IMG0000019.jpg", 373, 454, [poly], [], ["fractured"], [])
    expected = (
        '{"info":{"description":"my-project-name"},"images":[{"id":1,"width":373,"height":454,"file_name":"IMG0000019.jpg"}],'
        '"annotations":[{"id":0,"iscrowd":0,"image_id":1,"category_id":1,"segmentation":[[101.2340425531915,150.87234042553192,'
        '140.5,148.25531914893617,150.1063829787234,190.4468085106383,99,195.5]],"bbox":[99,148.25531914893617,51.10638297872339,'
        '47.24468085106383],"area":1975.6492756903572}],"categories":[{"id":1,"name":"fractured"}]}'
    )
    assert g.coco_bytes([im], ["fractured"], "my-project-name").decode() == expected


def test_yolo_edge_fix_keeps_boxes_inside() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        w = rng.uniform(5, 80)
        x = 373 - w if rng.random() < 0.5 else 0.0
        line = g.yolo_line(0, (x, 10.3, w, 20.7), 373, 454)
        _, cx, cy, bw, bh = line.split(" ")
        assert all(re.fullmatch(r"[01]\.\d{6}", v) for v in (cx, cy, bw, bh))
        cx, bw = float(cx), float(bw)
        assert cx + bw / 2 <= 1 + 1e-12 and cx - bw / 2 >= -1e-12


def test_committed_exports_follow_makesense_bytes() -> None:
    for reader in ("reader-1", "reader-2"):
        files = sorted((FIXTURES / "readers" / reader).iterdir())
        assert len(files) == 5
        for f in files:
            assert re.fullmatch(r"labels_fracatlas-reader-\d_\d{4}-\d\d-\d\d-(0[1-9]|1[0-2])-\d\d-\d\d\.(json|zip|csv)", f.name)
            if f.suffix == ".zip":
                with zipfile.ZipFile(f) as zf:
                    for info in zf.infolist():
                        assert info.compress_type == zipfile.ZIP_STORED and "/" not in info.filename
                        data = zf.read(info)
                        assert not data.endswith(b"\n") and b"\r" not in data
                    assert not {"labels.txt", "classes.txt"} & set(zf.namelist())
            else:
                data = f.read_bytes()
                assert not data.endswith(b"\n") and not data.startswith(b"\xef\xbb\xbf")
                if f.suffix == ".json":
                    assert b" " not in data.replace(b'"my-project-name"', b"") and json.loads(data)


def test_archive_files_follow_the_fracatlas_layout() -> None:
    """The mini archive carries the real v6 bytes (reference/fracatlas-dataset.md §11)."""
    root = FIXTURES / "fracatlas-mini"
    csv = (root / "dataset.csv").read_bytes()
    rows = csv.split(b"\r\n")
    assert rows[0] == ",".join(g.CSV_COLUMNS).encode() and len(rows) == 41  # CRLF between rows,
    assert b"\n" not in csv.replace(b"\r\n", b"") and not csv.endswith(b"\n")  # none after the last
    voc = (root / "Annotations" / "PASCAL VOC" / "IMG0000019.xml").read_bytes()
    assert voc.startswith(b"<annotation>\n  <folder>PASCAL VOC</folder>\n  <filename>IMG0000019.jpg</filename>\n")
    assert b"<object>" not in voc and b"\n  <segmented>0</segmented>\n</annotation>\n" in voc and b"<database>MLBFR<" in voc
    assert b"\t" not in voc and b"<path>" not in voc and b"\r" not in voc
    assert (root / "Annotations" / "YOLO" / "IMG0000019.txt").read_bytes() == b""
    assert (root / "Annotations" / "YOLO" / "labels.txt").read_bytes() == b"fractured\r\n"
    assert not (root / "Annotations" / "YOLO" / "classes.txt").exists()
    yolo = (root / "Annotations" / "YOLO" / "IMG0000030.txt").read_bytes()
    assert yolo.endswith(b"\n") and b"\r" not in yolo and len(yolo.splitlines()) == 3
    assert all(re.fullmatch(rb"0( [01]\.\d{4}){4}", line) for line in yolo.splitlines())
    for name in ("train", "valid", "test"):
        data = (root / "Utilities" / "Fracture Split" / f"{name}.csv").read_bytes()
        assert data.startswith(b"image_id\r\nIMG") and data.endswith(b".jpg\r\n")
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
    raw = (root / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json").read_bytes()
    assert raw.startswith(b'{\r\n  "info": { "description": "my-project-name" },\r\n  "images": [\r\n    { "id": 1, ')
    assert raw.endswith(b'  "categories": [{ "id": 0, "name": "fractured" }]\r\n}\r\n')
    assert raw.count(b"\n") == raw.count(b"\r\n") and max(len(line) for line in raw.split(b"\r\n")) <= 80
    coco = json.loads(raw)
    assert g.prettier_json(coco, eol="\r\n").encode() == raw
    assert [im["id"] for im in coco["images"]] == list(range(1, 11)) and coco["annotations"][0]["id"] == 0
    assert coco["categories"] == [{"id": 0, "name": "fractured"}] and "licenses" not in coco
    assert {a["category_id"] for a in coco["annotations"]} == {0}
    v7 = json.loads((FIXTURES / "fracatlas-v7" / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json").read_bytes())
    assert v7["categories"] == [{"id": 1, "name": "fractured"}]  # v7 as FLENS saw it


def test_mini_jpegs_padded_after_the_end_marker() -> None:
    """Two negatives carry stray bytes after FF D9, as FracAtlas' 28 padded files do; every
    other JPEG ends with its marker."""
    root = FIXTURES / "fracatlas-mini"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["bytes_after_end_of_image"] == {"IMG0000079.jpg": 7667, "IMG0000082.jpg": 52}
    padded = root / "images" / "Non_fractured" / "IMG0000079.jpg"
    data = padded.read_bytes()
    assert len(data) == 16_384 and data[-2:] != b"\xff\xd9"
    end = len(data) - 7667
    assert data[end - 2 : end] == b"\xff\xd9" and data[end : end + 325] == b"\x00" * 325
    zeros = (root / "images" / "Non_fractured" / "IMG0000082.jpg").read_bytes()
    assert zeros.endswith(b"\xff\xd9" + b"\x00" * 52)
    ends = {p.name for p in root.rglob("*.jpg") if p.read_bytes()[-2:] != b"\xff\xd9"}
    assert ends == {"IMG0000079.jpg", "IMG0000082.jpg"}


# Real v6 bytes, copied from the archive: the first annotation of COCO_fracture_masks.json
# (IMG0000019, 2304 x 2880) and the files pylabel derived from it.
REAL_ANNOTATION = """\
    {
      "id": 0,
      "iscrowd": 0,
      "image_id": 1,
      "category_id": 0,
      "segmentation": [
        [
          1266.0594059405942, 1045.5445544554457, 1339.7227722772277,
          1021.782178217822, 1401.5049504950496, 1052.673267326733,
          1489.4257425742576, 1076.4356435643565, 1515.5643564356437,
          1021.782178217822, 1449.0297029702972, 943.3663366336635,
          1308.8316831683169, 929.1089108910893, 1242.2970297029703,
          986.1386138613863
        ]
      ],
      "bbox": [
        1242.2970297029703, 929.1089108910893, 273.2673267326734,
        147.3267326732672
      ],
      "area": 25033.78100186259
    }"""
REAL_VOC = (
    b"<annotation>\n  <folder>PASCAL VOC</folder>\n  <filename>IMG0000019.jpg</filename>\n  <source>\n"
    b"    <database>MLBFR</database>\n  </source>\n  <size>\n    <width>2304</width>\n    <height>2880</height>\n"
    b"    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n  <object>\n    <name>fractured</name>\n"
    b"    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n"
    b"      <xmin>1242</xmin>\n      <ymin>929</ymin>\n      <xmax>1515</xmax>\n      <ymax>1076</ymax>\n"
    b"    </bndbox>\n  </object>\n</annotation>\n"
)


def test_v6_writers_reproduce_real_bytes() -> None:
    ann = json.loads(REAL_ANNOTATION)
    doc = {"info": {"description": "my-project-name"},
           "images": [{"id": 1, "width": 2304, "height": 2880, "file_name": "IMG0000019.jpg"},
                      {"id": 2, "width": 2880, "height": 2304, "file_name": "IMG0000025.jpg"}],
           "annotations": [ann], "categories": [{"id": 0, "name": "fractured"}]}  # fmt: skip
    text = g.prettier_json(doc, eol="\r\n")
    assert REAL_ANNOTATION.replace("\n", "\r\n") + "\r\n  ],\r\n" in text
    assert '\r\n    { "id": 2, "width": 2880, "height": 2304, "file_name": "IMG0000025.jpg" }\r\n  ],\r\n' in text
    im = g.Annotated(name="IMG0000019.jpg", width=2304, height=2880, boxes=[tuple(ann["bbox"])], box_labels=["fractured"])
    assert g.fracatlas_yolo_bytes(im, ["fractured"]) == b"0 0.5985 0.3482 0.1186 0.0512\n"
    assert g.fracatlas_voc_bytes(im) == REAL_VOC
    # IMG0002344's second box: YOLO 0.5236 / 0.0472 of 2304; pylabel's xmin is 1152, not the 1151
    # that int((cx - w / 2) * W) gives in floating point
    box = (1152, 612.9170090386197, 108.85784716516036, 570.3204601479047)
    im = g.Annotated(name="IMG0002344.jpg", width=2304, height=2880, boxes=[box], box_labels=["fractured"])
    assert g.fracatlas_yolo_values(box, 2304, 2880)[0::2] == ["0.5236", "0.0472"]
    assert b"<xmin>1152</xmin>" in g.fracatlas_voc_bytes(im)


def test_readers_manifest_values_follow_from_the_planted_geometry() -> None:
    m = json.loads((FIXTURES / "readers" / "manifest.json").read_text())
    kinds = {p["kind"] for p in m["planted"]}
    assert kinds == {"missed", "extra", "low-overlap", "shifted", "image-level", "not-viewed"}
    low = next(p for p in m["pairs"] if p["image"] == next(q["image"] for q in m["planted"] if q["kind"] == "low-overlap"))
    assert 0.1 < low["box_iou"] < 0.3 and 0.1 < low["polygon_iou"] < 0.3
    shifted = next(p for p in m["pairs"] if p["image"] == next(q["image"] for q in m["planted"] if q["kind"] == "shifted"))
    assert 0.5 < shifted["polygon_iou"] < 0.8
    e = m["expected"]
    assert e["polygon"]["0.1"] == {"tp": 11, "fp": 2, "fn": 2} and e["polygon"]["0.3"] == {"tp": 10, "fp": 3, "fn": 3}
    assert e["image_table"] == {"both_fracture": 9, "reader_1_only": 1, "reader_2_only": 1, "neither": 29}
    # recompute one pair from the committed COCO files with shapely
    def polys(reader: str) -> dict[str, list]:
        f = next(p for p in (FIXTURES / "readers" / reader).glob("*.json") if b'"annotations"' in p.read_bytes()[:4096])
        doc = json.loads(f.read_bytes())
        names = {im["id"]: im["file_name"] for im in doc["images"]}
        out: dict[str, list] = {}
        for a in doc["annotations"]:
            out.setdefault(names[a["image_id"]], []).append(shapely.Polygon(np.reshape(a["segmentation"][0], (-1, 2))))
        return out

    a, b = polys("reader-1")[shifted["image"]][0], polys("reader-2")[shifted["image"]][0]
    assert a.intersection(b).area / a.union(b).area == pytest.approx(shifted["polygon_iou"], abs=1e-4)


def test_scale_archive_without_images(tmp_path: Path) -> None:
    facts = g.build_archive(tmp_path / "fa", 300, images=False, seed=3)
    root = tmp_path / "fa"
    assert facts["images"] == 300 and not list((root / "images").rglob("*.jpg"))
    assert len(list((root / "Annotations" / "PASCAL VOC").glob("*.xml"))) == 300
    assert len(list((root / "Annotations" / "YOLO").glob("*.txt"))) == 301  # + labels.txt
    assert 40 <= facts["fractured"] <= 65 and facts["objects"] >= facts["fractured"]
    lines = (root / "dataset.csv").read_text().splitlines()
    ids = [int(line[3:10]) for line in lines[1:]]
    assert ids == sorted(ids) and ids[-1] - ids[0] + 1 > 300  # non-contiguous ids
    assert sum(v["images"] for v in facts["splits"].values()) == facts["fractured"]
