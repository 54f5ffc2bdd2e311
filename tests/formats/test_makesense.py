"""makesense (formats/makesense.py): the writer, rule by rule against makesense-exports.md §9
(its importers), and the written pack read back as a reader's export folder."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely

from fracatlas_annot.convert import convert
from fracatlas_annot.model import Source, make_objects

from _mini import read_mini, rle_source


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


@pytest.fixture(scope="module")
def pack(mini_ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("ms") / "pack"
    manifest = convert(mini_ds, to="makesense", out=out, progress=False)
    return out, manifest


def _zip(out: Path) -> dict[str, str]:
    with zipfile.ZipFile(out / "labels_yolo.zip") as zf:
        return {i.filename: zf.read(i).decode("utf-8") for i in zf.infolist()}


# ---- YOLO importer (YOLOImporter.ts / YOLOUtils.ts)


def test_yolo_exactly_one_labels_txt(pack):
    names = list(_zip(pack[0]))
    assert names.count("labels.txt") == 1
    assert "classes.txt" not in names


def test_yolo_flat_store_zip(pack):
    with zipfile.ZipFile(pack[0] / "labels_yolo.zip") as zf:
        assert all("/" not in i.filename for i in zf.infolist())
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_yolo_label_names_unique_and_without_whitespace(pack):
    names = [n for n in re.split(r"[\r\n]", _zip(pack[0])["labels.txt"]) if n]
    assert names == ["fractured"]
    assert len(set(names)) == len(names)
    assert all(not re.search(r"\s", n) for n in names)


def test_yolo_one_file_per_image_stem_unique(pack, mini_ds):
    files = [n for n in _zip(pack[0]) if n != "labels.txt"]
    stems = [n.rsplit(".", 1)[0] for n in files]
    assert len(stems) == len(set(stems)) == 40
    assert {s + ".jpg" for s in stems} == set(mini_ds.images.index)


def test_yolo_lines_exactly_five_single_space_fields_in_range(pack):
    entries = _zip(pack[0])
    n_classes = len([n for n in entries["labels.txt"].split("\n") if n])
    lines = [ln for name, text in entries.items() if name != "labels.txt" for ln in re.split(r"[\r\n]", text) if ln]
    assert len(lines) == 13
    for ln in lines:
        fields = ln.split(" ")
        assert len(fields) == 5, ln
        cls = int(fields[0])
        assert 0 <= cls < n_classes
        values = [float(v) for v in fields[1:]]
        assert all(0 <= v <= 1 for v in values)
        assert all(re.fullmatch(r"\d\.\d{6}", v) for v in fields[1:])  # toFixed(6)


def test_yolo_boxes_rebuilt_by_importer_match_source(pack, mini_ds):
    entries = _zip(pack[0])
    coco = mini_ds.sources["coco"].objects
    for key, objs in coco.groupby("image", sort=False):
        W, H = mini_ds.images.loc[key, ["width", "height"]].astype(float)
        rows = [list(map(float, ln.split(" ")[1:])) for ln in entries[key[:-4] + ".txt"].split("\n") if ln]
        for (cx, cy, w, h), g in zip(rows, objs["geometry"]):
            x, y = (cx - w / 2) * W, (cy - h / 2) * H  # YOLOImporter rebuild
            x0, y0, x1, y1 = shapely.bounds(g)
            assert abs(x - x0) < 1e-3 * W and abs(y - y0) < 1e-3 * H


# ---- COCO importer (COCOImporter.ts)


def _coco(out: Path) -> dict:
    return json.loads((out / "labels_coco.json").read_text())


def test_coco_required_keys(pack):
    doc = _coco(pack[0])
    assert all(k in doc for k in ("images", "annotations", "categories"))


def test_coco_file_names_match_project_images(pack, mini_ds):
    doc = _coco(pack[0])
    assert {i["file_name"] for i in doc["images"]} == set(mini_ds.images.index)


def test_coco_every_category_id_resolves_and_bbox_present(pack):
    doc = _coco(pack[0])
    cats = {c["id"] for c in doc["categories"]}
    image_ids = {i["id"] for i in doc["images"]}
    for a in doc["annotations"]:
        assert a["category_id"] in cats
        assert a["image_id"] in image_ids
        assert a["iscrowd"] == 0
        assert len(a["bbox"]) == 4 and all(isinstance(v, (int, float)) for v in a["bbox"])


def test_coco_segmentation_is_list_of_flat_number_lists(pack):
    for a in _coco(pack[0])["annotations"]:
        seg = a["segmentation"]
        assert isinstance(seg, list)
        for ring in seg:
            assert isinstance(ring, list) and len(ring) >= 6 and len(ring) % 2 == 0
            assert all(isinstance(v, (int, float)) for v in ring)


def test_coco_never_rle_and_never_crowd(mini_ds, tmp_path):
    src, _ = rle_source(mini_ds)
    m = convert(mini_ds, to="makesense", source=src, out=tmp_path / "o", progress=False, allow_lossy=True)
    (a,) = _coco(tmp_path / "o")["annotations"]
    assert isinstance(a["segmentation"], list) and a["iscrowd"] == 0
    assert set(m["change_counts"]) == {"rle-to-polygon", "iscrowd-cleared"}


def test_label_with_whitespace_renamed_and_recorded(mini_ds, tmp_path):
    objects = make_objects({"image": ["IMG0000019.jpg"] * 2, "label": ["hairline fracture", "hairline  fracture"],
                            "x0": [10.0, 50.0], "y0": [10.0, 50.0], "x1": [40.0, 80.0], "y1": [30.0, 90.0]})
    src = Source(name="s", format="voc", objects=objects, labels=["hairline fracture", "hairline  fracture"])
    from fracatlas_annot.errors import LossyConversionError

    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="makesense", source=src, out=tmp_path / "x", progress=False)
    assert "label-renamed" in str(err.value)
    convert(mini_ds, to="makesense", source=src, out=tmp_path / "o", progress=False, allow_lossy=True)
    names = _zip(tmp_path / "o")["labels.txt"].split("\n")
    assert names == ["hairline_fracture", "hairline_fracture_2"]
    assert [c["name"] for c in _coco(tmp_path / "o")["categories"]] == names


def test_multipart_becomes_separate_polygons_recorded(mini_ds, tmp_path):
    g = shapely.MultiPolygon([shapely.box(10, 10, 50, 50), shapely.box(100, 100, 150, 140)])
    objects = make_objects({"image": ["IMG0000019.jpg"], "label": ["fractured"], "x0": [10.0], "y0": [10.0], "x1": [150.0],
                            "y1": [140.0], "geometry": np.array([g], dtype=object), "loc": ["annotations[0]"]})
    src = Source(name="s", format="coco", objects=objects, labels=["fractured"], geometry="polygon")
    m = convert(mini_ds, to="makesense", source=src, out=tmp_path / "o", progress=False)
    (a,) = _coco(tmp_path / "o")["annotations"]
    assert len(a["segmentation"]) == 2
    assert m["change_counts"] == {"multipart-split": 1}


def test_image_named_labels_is_refused(tmp_path):
    """An image `labels.jpg` would write a second labels.txt into the zip, which makesense's
    importer reads as the class list: refused with the image named, nothing written."""
    from fracatlas_annot.errors import UsageError

    doc = {
        "images": [{"id": 1, "width": 100, "height": 80, "file_name": "labels.jpg"}, {"id": 2, "width": 100, "height": 80, "file_name": "x.jpg"}],
        "annotations": [{"id": 0, "iscrowd": 0, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 40, 10, 40, 30]], "bbox": [10, 10, 30, 20], "area": 300}],
        "categories": [{"id": 1, "name": "fractured"}],
    }
    path = tmp_path / "labels_p_2024-01-01-01-01-01.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="'labels.jpg' would write labels.txt"):
        convert(path, to="makesense", out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


# ---- reading the pack back as a reader's export folder


def test_pack_reads_back_as_a_reader_folder(pack, mini_ds):
    out, manifest = pack
    from fracatlas_annot.formats import read

    ds = read(out)
    assert ds.format == "makesense" and ds.meta["exports"] == {"coco": "labels_coco.json", "yolo": "labels_yolo.zip"}
    yolo = ds.sources["yolo"]
    # labels.txt is in the zip; without it the classes would be named from the COCO export
    assert yolo.labels == ds.sources["coco"].labels == ["fractured"]
    assert len(yolo.objects) == len(ds.sources["coco"].objects) == manifest["counts"]["objects_out"]
    assert set(ds.images.index) == set(mini_ds.images.index)
