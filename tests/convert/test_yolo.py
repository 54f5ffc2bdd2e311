"""yolo-detect / yolo-seg: Ultralytics accepts every label file, counts match the manifest,
round trips keep polygons, negatives survive, policies for multi-part / box-only / RLE."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from fracatlas_annot.convert import convert
from fracatlas_annot.errors import LossyConversionError
from fracatlas_annot.model import Source, make_objects

from ._mini import MINI, read_mini, rle_source


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def _label_files(root: Path) -> list[Path]:
    return sorted((root / "labels").rglob("*.txt"))


def _image_for(label: Path, root: Path) -> Path:
    split = label.parent.name
    return next((root / "images" / split).glob(label.stem + ".*"))


def _rows(path: Path) -> list[list[float]]:
    text = path.read_text()
    return [[float(v) for v in line.split(" ")] for line in text.splitlines()]


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_ultralytics_accepts_every_label_file(mini_ds, tmp_path, yolo_env, task):
    from ultralytics.data.utils import verify_image_label

    out = tmp_path / task
    m = convert(mini_ds, to=f"yolo-{'seg' if task == 'segment' else 'detect'}", out=out, progress=False)
    labels = _label_files(out)
    assert len(labels) == 40
    seen = 0
    for lb in labels:
        im = _image_for(lb, out)
        res = verify_image_label((str(im), str(lb), "", False, 1, 0, 0, False))
        im_file, lab, shape, segments, _, nm, nf, ne, nc, msg = res
        assert msg == "", msg
        assert nc == 0 and nf == 1
        seen += len(lab)
        if task == "segment":
            assert len(segments) == len(lab)
            assert all(len(s) >= 3 for s in segments)
    assert seen == m["counts"]["objects_out"] == 13


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_ultralytics_dataset_counts_match_manifest(mini_ds, tmp_path, yolo_env, task):
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    out = tmp_path / "set"
    m = convert(mini_ds, to="yolo-seg" if task == "segment" else "yolo-detect", out=out, progress=False)
    data = check_det_dataset(str(out / "data.yaml"))
    assert data["names"] == {0: "fractured"} and data["nc"] == 1
    for split, counts in m["counts"]["per_split"].items():
        ds = YOLODataset(img_path=data[split], data=data, task=task, imgsz=320, augment=False)
        assert len(ds.labels) == counts["images"]
        assert sum(len(lb["cls"]) for lb in ds.labels) == counts["objects"]
        assert sum(len(lb["cls"]) == 0 for lb in ds.labels) == counts["negatives"]
        if task == "segment":
            assert sum(len(lb["segments"]) for lb in ds.labels) == counts["objects"]


def test_data_yaml_and_layout(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert doc["path"] == str(out.absolute())
    assert Path(doc["path"]).is_absolute()
    assert (doc["train"], doc["val"], doc["test"]) == ("images/train", "images/val", "images/test")
    assert doc["names"] == {0: "fractured"}
    assert "download" not in doc
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["test", "train", "val"]
    splits = pd.read_csv(out / "splits.csv")
    assert len(splits) == 40 and set(splits["split"]) == {"train", "val", "test"}


def test_official_split_follows_lists(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False, duplicates=False)
    planted = json.loads((MINI / "manifest.json").read_text())["split_images"]
    for name, folder in (("train", "train"), ("valid", "val"), ("test", "test")):
        for key in planted[name]:
            assert (out / "images" / folder / key).exists()
            assert (out / "labels" / folder / (key[:-4] + ".txt")).read_text() != ""


def test_negatives_get_empty_label_files(mini_ds, tmp_path):
    out = tmp_path / "det"
    convert(mini_ds, to="yolo-detect", out=out, progress=False)
    fractured = set(json.loads((MINI / "manifest.json").read_text())["fractured_images"])
    labels = {p.stem + ".jpg": p for p in _label_files(out)}
    assert len(labels) == 40
    for key, p in labels.items():
        assert (p.stat().st_size == 0) == (key not in fractured)


def test_class_map_category_1_becomes_class_0(mini_ds, tmp_path):
    m = convert(mini_ds, to="yolo-seg", out=tmp_path / "s", progress=False)
    assert m["class_map"] == [{"class": 0, "name": "fractured", "source_id": 1, "source_format": "coco"}]
    classes = {int(r[0]) for p in _label_files(tmp_path / "s") for r in _rows(p)}
    assert classes == {0}


def test_coco_to_seg_round_trip_within_1e6(mini_ds, tmp_path):
    """Read the written labels back with our YOLO reader: same polygons within 1e-6."""
    from fracatlas_annot.formats import yolo

    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    back, problems = yolo.read(out / "labels", recursive=True, names=out / "data.yaml")
    assert not problems
    assert len(back.images) == 40  # negatives read back as empty files
    coco = mini_ds.sources["coco"].objects
    sizes = mini_ds.images[["width", "height"]].astype(float)
    assert sorted(back.objects["image"]) == sorted(coco["image"])
    assert set(back.objects["label"]) == {"fractured"}
    for key, objs in coco.groupby("image", sort=False):
        got = back.objects[back.objects["image"] == key].sort_values("line")
        assert len(got) == len(objs)
        w, h = sizes.loc[key]
        for g_back, g_src in zip(got["geometry"], objs["geometry"]):
            xy = np.clip(np.asarray(g_src.exterior.coords)[:-1] / [w, h], 0, 1)
            xy_back = np.asarray(g_back.exterior.coords)[:-1]
            assert xy_back.shape == xy.shape
            assert np.abs(xy_back - xy).max() <= 1e-6


def test_sources_never_modified_and_images_hard_linked(mini_ds, tmp_path):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in MINI.rglob("*") if p.is_file()}
    out = tmp_path / "seg"
    m = convert(mini_ds, to="yolo-seg", out=out, progress=False)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in MINI.rglob("*") if p.is_file()}
    assert before == after
    assert m["images"]["linked"] + m["images"]["copied"] == 40
    img = next((out / "images" / "train").iterdir())
    src = Path(mini_ds.images.loc[img.name, "path"])
    if m["images"]["linked"]:
        assert os.stat(img).st_ino == os.stat(src).st_ino
    assert img.read_bytes() == src.read_bytes()


def test_overwrite_removes_stale_caches(mini_ds, tmp_path):
    out = tmp_path / "seg"
    convert(mini_ds, to="yolo-seg", out=out, progress=False)
    (out / "labels" / "train.cache").write_bytes(b"stale")
    m = convert(mini_ds, to="yolo-seg", out=out, progress=False, overwrite=True)
    assert m["removed_caches"] == ["labels/train.cache"]
    assert not list(out.rglob("*.cache"))


# ---------------------------------------------------------------- policies on small sources


def _source(geoms, *, boxes=None, image="IMG0000019.jpg", rle=None) -> Source:
    g = np.array(geoms, dtype=object)
    n = len(g)
    if boxes is None:
        b = shapely.bounds(g)
    else:
        b = np.asarray(boxes, dtype=float)
    cols = {"image": [image] * n, "label": ["fractured"] * n, "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3],
            "geometry": g, "file": ["t.json"] * n, "loc": [f"annotations[{i}]" for i in range(n)]}
    if rle is not None:
        cols["rle"] = rle
    return Source(name="t", format="coco", objects=make_objects(cols), labels=["fractured"], label_ids={1: "fractured"}, geometry="polygon")


TWO_PARTS = shapely.MultiPolygon([shapely.box(10, 10, 50, 50), shapely.box(100, 100, 150, 140)])


def _seg_lines(out: Path) -> list[list[float]]:
    (label,) = [p for p in _label_files(out) if p.stat().st_size]
    return _rows(label)


@pytest.mark.parametrize(
    "policy, lines, kind, lossy",
    [
        pytest.param("bridge", 1, "multipart-bridged", False, id="bridge"),
        pytest.param("split", 2, "multipart-split", False, id="split"),
        pytest.param("largest", 1, "multipart-largest", True, id="largest"),
    ],
)
def test_multipart_policies(mini_ds, tmp_path, policy, lines, kind, lossy):
    src = _source([TWO_PARTS])
    kwargs = dict(to="yolo-seg", source=src, split="none", multipart=policy, progress=False)
    if lossy:
        with pytest.raises(LossyConversionError) as err:
            convert(mini_ds, out=tmp_path / "refused", **kwargs)
        assert "annotations[0]" in str(err.value) and kind in str(err.value)
        assert not (tmp_path / "refused").exists()
    m = convert(mini_ds, out=tmp_path / "o", allow_lossy=lossy, **kwargs)
    rows = _seg_lines(tmp_path / "o")
    assert len(rows) == lines
    assert [c["kind"] for c in m["changes"]] == [kind]
    assert m["changes"][0]["loc"] == "annotations[0]"
    w, h = mini_ds.images.loc["IMG0000019.jpg", ["width", "height"]].astype(float)
    polys = [shapely.Polygon(np.asarray(r[1:]).reshape(-1, 2) * [w, h]) for r in rows]
    area = sum(shapely.area(shapely.make_valid(p)) for p in polys)
    expect = {"bridge": 1600 + 2000, "split": 1600 + 2000, "largest": 2000}[policy]
    assert area == pytest.approx(expect, rel=1e-4)


def test_bridge_matches_ultralytics_merge_multi_segment():
    from ultralytics.data.converter import merge_multi_segment

    from fracatlas_annot.convert.geometry import bridge

    rng = np.random.default_rng(3)
    parts = [rng.uniform(0, 100, size=(k, 2)) + off for k, off in ((5, 0), (4, 200), (6, 400))]
    ours = bridge(parts)
    theirs = np.concatenate(merge_multi_segment([p.ravel().tolist() for p in parts]))
    np.testing.assert_allclose(ours, theirs)


def test_box_only_object_never_becomes_a_box_line(mini_ds, tmp_path):
    src = _source([None, shapely.box(10, 10, 40, 30)], boxes=[[100, 100, 150, 120], [10, 10, 40, 30]])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "box-as-polygon" in str(err.value) and "annotations[0]" in str(err.value)
    m = convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    rows = _seg_lines(tmp_path / "y")
    assert [len(r) for r in rows] == [9, 9]  # never 5 columns in a segment file
    assert m["change_counts"] == {"box-as-polygon": 1}


def test_two_point_polygon_is_never_written(mini_ds, tmp_path):
    flat = shapely.Polygon([(10, 10), (50, 50), (10, 10.0000001)])  # collapses to 2 points after rounding
    src = _source([flat, shapely.box(10, 10, 40, 30)])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "polygon-dropped" in str(err.value)
    convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    rows = _seg_lines(tmp_path / "y")
    assert len(rows) == 1 and len(rows[0]) == 9


@pytest.mark.parametrize(
    "dx, kind, lossy",
    [pytest.param(1e-13, "vertex-clamped", False, id="float-noise"), pytest.param(0.4, "vertex-clamped", False, id="0.4px"),
     pytest.param(3.0, "vertex-clamped-far", True, id="3px")],
)
def test_vertices_clamped_and_recorded(mini_ds, tmp_path, dx, kind, lossy):
    w = float(mini_ds.images.loc["IMG0000019.jpg", "width"])
    poly = shapely.Polygon([(w - 20, 10), (w + dx, 20), (w - 30, 40)])
    src = _source([poly])
    kwargs = dict(to="yolo-seg", source=src, split="none", progress=False)
    if lossy:
        with pytest.raises(LossyConversionError):
            convert(mini_ds, out=tmp_path / "x", **kwargs)
    m = convert(mini_ds, out=tmp_path / "y", allow_lossy=lossy, **kwargs)
    (row,) = _seg_lines(tmp_path / "y")
    assert max(row[1::2]) == 1.0
    assert m["change_counts"] == {kind: 1}
    assert m["changes"][0]["image"] == "IMG0000019.jpg"


def test_hole_is_recorded_as_lossy(mini_ds, tmp_path):
    holed = shapely.Polygon(shapely.box(10, 10, 100, 100).exterior.coords, [shapely.box(40, 40, 60, 60).exterior.coords])
    src = _source([holed])
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "hole-dropped" in str(err.value)


def test_rle_object_is_traced_and_recorded(mini_ds, tmp_path):
    src, doc = rle_source(mini_ds)
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "rle-to-polygon" in str(err.value)
    m = convert(mini_ds, to="yolo-seg", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    (row,) = _seg_lines(tmp_path / "y")
    w, h = doc["images"][0]["width"], doc["images"][0]["height"]
    xy = np.asarray(row[1:]).reshape(-1, 2) * [w, h]
    assert shapely.Polygon(xy).area == pytest.approx(59 * 39, rel=0.02)
    # the RLE is a crowd annotation (iscrowd 1): YOLO has no crowd flag, which is recorded too
    assert m["change_counts"] == {"rle-to-polygon": 1, "iscrowd-cleared": 1}
    rle_change = next(c for c in m["changes"] if c["kind"] == "rle-to-polygon")
    assert "IoU" in rle_change["message"]


@pytest.mark.parametrize("target", ["yolo-seg", "yolo-detect", "voc"])
def test_crowd_polygon_is_refused_then_recorded(mini_ds, tmp_path, target):
    """A COCO crowd region (iscrowd 1) would become an ordinary object: never silently."""
    src = _source([shapely.box(10, 10, 40, 30), shapely.box(50, 50, 80, 90)])
    src.objects["iscrowd"] = pd.array([0, 1], dtype="Int64")
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to=target, source=src, split="none", out=tmp_path / "x", progress=False)
    assert "iscrowd" in str(err.value)
    m = convert(mini_ds, to=target, source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    assert m["change_counts"] == {"iscrowd-cleared": 1}


def test_unknown_label_refused_then_dropped(mini_ds, tmp_path):
    src = _source([shapely.box(10, 10, 40, 30), shapely.box(50, 50, 80, 90)])
    src.objects.loc[1, "label"] = "fracture"
    with pytest.raises(LossyConversionError) as err:
        convert(mini_ds, to="yolo-detect", source=src, split="none", out=tmp_path / "x", progress=False)
    assert "'fracture'" in str(err.value)
    m = convert(mini_ds, to="yolo-detect", source=src, split="none", out=tmp_path / "y", progress=False, allow_lossy=True)
    assert m["counts"]["objects_out"] == 1 and m["change_counts"] == {"object-dropped": 1}


def test_duplicate_groups_land_in_one_split(tmp_path):
    """Two negatives made byte copies of a train and a valid image follow them."""
    import shutil

    from fracatlas_annot.formats import read

    root = tmp_path / "FracAtlas"
    shutil.copytree(MINI, root)
    neg = root / "images" / "Non_fractured"
    shutil.copyfile(root / "images" / "Fractured" / "IMG0000023.jpg", neg / "IMG0000019.jpg")  # train
    shutil.copyfile(root / "images" / "Fractured" / "IMG0000078.jpg", neg / "IMG0000021.jpg")  # valid
    m = convert(read(root), to="yolo-detect", out=tmp_path / "d", progress=False)
    assert m["options"]["duplicates"] is True
    table = pd.read_csv(tmp_path / "d" / "splits.csv").set_index("image")
    assert table.loc["IMG0000019.jpg", "split"] == "train" and table.loc["IMG0000021.jpg", "split"] == "val"
    assert table.loc["IMG0000019.jpg", "reason"] == "duplicate-group"
    assert table.loc["IMG0000019.jpg", "group"] == table.loc["IMG0000023.jpg", "group"]
    assert (tmp_path / "d" / "images" / "val" / "IMG0000021.jpg").exists()


def test_split_none_puts_everything_in_train(mini_ds, tmp_path, yolo_env):
    from ultralytics.data.utils import check_det_dataset

    m = convert(mini_ds, to="yolo-seg", out=tmp_path / "s", split="none", progress=False)
    doc = yaml.safe_load((tmp_path / "s" / "data.yaml").read_text())
    assert doc["val"] == doc["train"] == "images/train" and "test" not in doc
    assert len(list((tmp_path / "s" / "images" / "train").iterdir())) == 40
    assert list(m["counts"]["per_split"]) == ["train"]
    assert check_det_dataset(str(tmp_path / "s" / "data.yaml"))["nc"] == 1


def test_manifest_records_inputs_options_counts(mini_ds, tmp_path):
    src = _source([TWO_PARTS, shapely.box(5, 5, 30, 30)])
    m = convert(mini_ds, to="yolo-seg", source=src, out=tmp_path / "s", split="stratified", seed=4, progress=False)
    on_disk = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(m))
    assert m["inputs"]["source"] == "t" and m["inputs"]["path"] == str(MINI)
    assert m["options"] | {"split": "stratified", "seed": 4, "multipart": "bridge"} == m["options"]
    assert m["counts"]["objects_in"] == 2 and m["counts"]["objects_out"] == 2
    assert m["counts"]["objects_in_per_label"] == {"fractured": 2}
    (change,) = m["changes"]
    assert change == {"kind": "multipart-bridged", "lossy": False, "image": "IMG0000019.jpg", "file": "t.json",
                      "loc": "annotations[0]", "ann_id": None, "message": "2 parts joined by zero-width bridges"}
    assert sum(v["images"] for v in m["counts"]["per_split"].values()) == 40


def test_a_bare_source_converts_without_a_dataset(tmp_path):
    from fracatlas_annot.formats import coco

    src, _ = coco.read(MINI / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json")
    m = convert(src, to="yolo-seg", out=tmp_path / "s", split="stratified", progress=False)
    assert m["counts"]["images_out"] == 10 and m["counts"]["objects_out"] == 13
    assert m["images"] == {"linked": 0, "copied": 0, "missing": 10}
    assert any("no image files" in n for n in m["notes"])
    assert len(_label_files(tmp_path / "s")) == 10
