"""agreement.consensus: a consensus of two readers: every method on hand-built boxes and polygons, the unmatched
policies, and a consensus written by convert to yolo-seg that Ultralytics accepts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.agreement import agree
from fracatlas_annot.errors import UsageError
from fracatlas_annot.model import Dataset, empty_images

from .builders import make_source

IMAGES = ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"]
TRIANGLE = shapely.Polygon([(0, 0), (20, 0), (0, 20)])  # area 200, holds the square (0,0,10,10)


def readers():
    # 1.jpg: A (0,0,10,10) vs B (5,0,15,10): IoU 50/150 = 1/3
    # 2.jpg: A triangle (0,0)-(20,0)-(0,20) (area 200) vs B square (0,0,10,10) (area 100, inside it): IoU 100/200 = .5
    # 3.jpg: A only (30,30,40,40) ; 4.jpg: B only (50,50,60,60) ; 5.jpg: both negative
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("2.jpg", TRIANGLE), ("3.jpg", 30, 30, 40, 40)], IMAGES)
    b = make_source("b", [("1.jpg", 5, 0, 15, 10), ("2.jpg", 0, 0, 10, 10), ("4.jpg", 50, 50, 60, 60)], IMAGES)
    return agree(a, b, iou=(0.1, 0.5))


def boxes(src, image):
    o = src.objects[src.objects["image"] == image]
    return o[["x0", "y0", "x1", "y1"]].to_numpy().tolist()


def areas(src, image):
    o = src.objects[src.objects["image"] == image]
    return shapely.area(o["geometry"].to_numpy(dtype=object)).tolist()


def test_intersect():
    c = readers().consensus("intersect", "drop")
    assert c.geometry == "polygon" and c.format == "consensus"
    # 1.jpg: overlap of the squares = (5,0,10,10), area 50 ; 2.jpg: square inside triangle -> the square, area 100
    assert boxes(c, "1.jpg") == [[5, 0, 10, 10]] and areas(c, "1.jpg") == pytest.approx([50.0])
    assert boxes(c, "2.jpg") == [[0, 0, 10, 10]] and areas(c, "2.jpg") == pytest.approx([100.0])
    assert c.objects["readers"].tolist() == ["reader-1,reader-2", "reader-1,reader-2"]
    assert c.objects["agreement_iou"].tolist() == pytest.approx([1 / 3, 0.5])
    assert c.meta["dropped"] == 2 and c.meta["pairs"] == 2


def test_union():
    c = readers().consensus("union", "drop")
    # 1.jpg: union of the squares spans (0,0,15,10), area 100 + 100 - 50 = 150 ; 2.jpg: the triangle, area 200
    assert boxes(c, "1.jpg") == [[0, 0, 15, 10]] and areas(c, "1.jpg") == pytest.approx([150.0])
    assert boxes(c, "2.jpg") == [[0, 0, 20, 20]] and areas(c, "2.jpg") == pytest.approx([200.0])


def test_mean_is_box_only():
    c = readers().consensus("mean", "drop")
    assert c.geometry == "box" and c.objects["geometry"].isna().all()
    # 1.jpg: ((0+5)/2, 0, (10+15)/2, 10) ; 2.jpg: extents (0,0,20,20) and (0,0,10,10) -> (0,0,15,15)
    assert boxes(c, "1.jpg") == [[2.5, 0, 12.5, 10]]
    assert boxes(c, "2.jpg") == [[0, 0, 15, 15]]


def test_prefer_a_and_b():
    r = readers()
    a = r.consensus("prefer-a", "drop")
    b = r.consensus("prefer-b", "drop")
    assert boxes(a, "2.jpg") == [[0, 0, 20, 20]] and areas(a, "2.jpg") == pytest.approx([200.0])
    assert boxes(b, "2.jpg") == [[0, 0, 10, 10]] and areas(b, "2.jpg") == pytest.approx([100.0])


def test_box_geometry_consensus():
    c = readers().consensus("intersect", "drop", geometry="box")
    assert c.geometry == "box"
    # boxes of 2.jpg: (0,0,20,20) and (0,0,10,10): box IoU 100/400 = .25 >= .1 -> overlap (0,0,10,10)
    assert boxes(c, "2.jpg") == [[0, 0, 10, 10]]


def test_unmatched_policies():
    r = readers()
    keep = r.consensus("intersect", "keep")
    # 2 pairs + A's lone object on 3.jpg + B's on 4.jpg
    assert len(keep.objects) == 4
    assert dict(zip(keep.objects["image"], keep.objects["readers"])) == {
        "1.jpg": "reader-1,reader-2",
        "2.jpg": "reader-1,reader-2",
        "3.jpg": "reader-1",
        "4.jpg": "reader-2",
    }
    assert keep.meta["kept_unmatched"] == 2
    queue = r.consensus("intersect", "queue")
    assert len(queue.objects) == 2 and queue.meta["queued"] == 2
    q = queue.meta["queue"]
    assert q[["image", "reader", "reason"]].values.tolist() == [["3.jpg", "reader-1", "missing-in-b"], ["4.jpg", "reader-2", "missing-in-a"]]
    assert q["ref"].tolist() == ["a.json (annotations[2])", "b.json (annotations[2])"]
    drop = r.consensus("intersect", "drop")
    assert len(drop.objects) == 2 and drop.meta["queue"].empty
    # every image of the agreement stays listed (negatives included) for the converter
    assert list(keep.images.index) == IMAGES and keep.images["width"].tolist() == [100] * 5


def test_consensus_threshold_defaults_to_lowest_and_can_be_raised():
    r = readers()
    # at IoU .5 the 1.jpg pair (1/3) is no pair: both objects become unmatched
    c = r.consensus("intersect", "queue", iou=0.5)
    assert c.meta["pairs"] == 1 and c.meta["queued"] == 4


def test_multipart_intersection():
    two = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    a = make_source("a", [("1.jpg", two)], ["1.jpg"])
    b = make_source("b", [("1.jpg", 5, 0, 25, 10)], ["1.jpg"])
    r = agree(a, b, iou=0.3)
    # IoU = (50 + 50) / (200 + 200 - 100) = 1/3
    assert r.instance.set_index("geometry").loc["mask", "mean_iou"] == pytest.approx(1 / 3)
    c = r.consensus("intersect", "drop")
    g = c.objects["geometry"].iloc[0]
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2 and g.area == pytest.approx(100.0)


def test_label_mismatch_pairs_are_not_merged():
    a = make_source("a", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"], labels=["fractured"])
    b = make_source("b", [("1.jpg", 0, 0, 10, 10)], ["1.jpg"], labels=["hardware"])
    c = agree(a, b).consensus("union", "queue")
    assert len(c.objects) == 0
    assert c.meta["queue"]["reason"].tolist() == ["label-mismatch", "label-mismatch"]
    assert c.labels == ["fractured", "hardware"]


def test_bad_method():
    r = readers()
    with pytest.raises(UsageError):
        r.consensus("vote")
    with pytest.raises(UsageError):
        r.consensus("union", "ignore")


# --------------------------------------------------------------------------- written with convert


@pytest.fixture(scope="session")
def yolo_offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ultralytics imported offline, for the whole session: its environment is read once, at
    import, so it is set for good (a per-test monkeypatch would remove it under the feet of
    later tests in the same worker that find Ultralytics already imported)."""
    from trainer import offline

    return offline.setup(tmp_path_factory.mktemp("yolo-config"))


def _dataset_with_images(tmp_path: Path) -> Dataset:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rows = []
    for key in IMAGES:
        path = folder / key
        Image.fromarray(np.full((100, 100), 90, dtype=np.uint8)).save(path, quality=90)
        rows.append({"image": key, "path": str(path), "folder": "images", "width": 100, "height": 100})
    images = empty_images().reindex(pd.Index(IMAGES, dtype=object, name="image"))
    for col in ("path", "folder", "width", "height", "raw_width", "raw_height", "file_size"):
        values = [r[col] if col in r else (100 if "width" in col or "height" in col else (path_size(r["path"]) if col == "file_size" else None)) for r in rows]
        images[col] = pd.array(values, dtype=images[col].dtype)
    images["in_csv"] = False
    return Dataset(images=images, labels=["fractured"], format="folder", root=tmp_path)


def path_size(path: str) -> int:
    return os.path.getsize(path)


@pytest.mark.parametrize("method", ["intersect", "union"])
def test_consensus_written_as_yolo_seg_passes_ultralytics(tmp_path, yolo_offline, method):
    from fracatlas_annot.convert import convert

    from ultralytics.data.utils import verify_image_label

    # a multi-part object too, so the writer's bridging is exercised
    two = shapely.MultiPolygon([shapely.box(60, 60, 70, 70), shapely.box(80, 60, 90, 70)])
    a = make_source("a", [("1.jpg", 0, 0, 10, 10), ("2.jpg", TRIANGLE), ("3.jpg", 30, 30, 40, 40), ("5.jpg", two)], IMAGES)
    b = make_source("b", [("1.jpg", 5, 0, 15, 10), ("2.jpg", 0, 0, 10, 10), ("4.jpg", 50, 50, 60, 60), ("5.jpg", 65, 60, 85, 70)], IMAGES)
    cons = agree(a, b).consensus(method, "keep")
    ds = _dataset_with_images(tmp_path)
    out = tmp_path.with_name(tmp_path.name + "-seg")  # outside the input folder (an output inside it is refused)
    manifest = convert(ds, to="yolo-seg", source=cons, out=out, split="stratified", progress=False)
    assert manifest["counts"]["images_out"] == 5
    labels = sorted((out / "labels").rglob("*.txt"))
    assert len(labels) == 5  # negatives keep an empty label file
    found = 0
    for lb in labels:
        split = lb.parent.name
        im = out / "images" / split / (lb.stem + ".jpg")
        assert im.exists()
        res = verify_image_label((str(im), str(lb), "", False, 1, 0, 0, False))
        im_file, lab, shape, segments, _kp, nm, nf, ne, nc, msg = res
        assert nc == 0, msg
        assert im_file is not None and shape == (100, 100)
        found += len(lab)
        if lb.stem == "5":  # the two-part consensus object is one instance
            assert len(lab) == 1 and len(segments) == 1
    # 3 pairs (1.jpg, 2.jpg, 5.jpg) + A's 3.jpg + B's 4.jpg
    assert found == 5


def test_fixture_consensus_into_the_mini_archive_as_yolo_seg(fixtures_dir, tmp_path, yolo_offline):
    # the readers' consensus written with the mini archive's images: every label passes
    # Ultralytics' check and the 40 images (30 negatives) all come out
    from fracatlas_annot.convert import convert
    from fracatlas_annot.formats import read

    from ultralytics.data.utils import verify_image_label

    archive = read(fixtures_dir / "fracatlas-mini")
    r = agree(fixtures_dir / "readers" / "reader-1", fixtures_dir / "readers" / "reader-2", meta=archive)
    cons = r.consensus("union", "drop")
    assert cons.meta["pairs"] == 11 and cons.meta["dropped"] == 4
    out = tmp_path / "seg"
    manifest = convert(archive, to="yolo-seg", source=cons, out=out, progress=False)
    assert manifest["counts"]["images_out"] == 40 and manifest["counts"]["objects_out"] == 11
    labels = sorted((out / "labels").rglob("*.txt"))
    assert len(labels) == 40
    total = 0
    for lb in labels:
        im = next((out / "images" / lb.parent.name).glob(lb.stem + ".*"))
        im_file, lab, shape, segments, _kp, nm, nf, ne, nc, msg = verify_image_label((str(im), str(lb), "", False, 1, 0, 0, False))
        assert nc == 0, msg
        total += len(lab)
    assert total == 11
