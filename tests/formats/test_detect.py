"""Format detection and read(): every makesense export kind, by content, plus overrides and errors.

The bytes below are the examples of reference/makesense-exports.md (§3-7), not our writer's output.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fracatlas_annot.errors import InputError
from fracatlas_annot.formats import read
from fracatlas_annot.formats._json import sniff_json
from fracatlas_annot.formats.detect import detect, normalize_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

COCO = (
    b'{"info":{"description":"my-project-name"},"images":[{"id":1,"width":373,"height":454,"file_name":"IMG0000019.jpg"}],'
    b'"annotations":[{"id":0,"iscrowd":0,"image_id":1,"category_id":1,"segmentation":[[101.2340425531915,150.87234042553192,'
    b'140.5,148.25531914893617,150.1063829787234,190.4468085106383,99,195.5]],"bbox":[99,148.25531914893617,51.10638297872339,'
    b'47.24468085106383],"area":1975.6492756903572}],"categories":[{"id":1,"name":"fractured"}]}'
)
VGG = (
    b'{"IMG0000019.jpg":{"fileref":"","size":28737,"filename":"IMG0000019.jpg","base64_img_data":"","file_attributes":{},'
    b'"regions":{"0":{"shape_attributes":{"name":"polygon","all_points_x":[101.2340425531915,140.5,150.1063829787234,99,'
    b'101.2340425531915],"all_points_y":[150.87234042553192,148.25531914893617,190.4468085106383,195.5,150.87234042553192]},'
    b'"region_attributes":{"label":"fractured"}}}}}'
)
CSV = b"label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height\nfractured,121,200,60,45,IMG0000019.jpg,373,454"
YOLO = b"0 0.403913 0.490768 0.161542 0.099541\n1 0.053887 0.842181 0.107774 0.315638"
VOC = (
    b"<annotation>\n\t<folder>my-project-name</folder>\n\t<filename>IMG0000019.jpg</filename>\n"
    b"\t<path>/my-project-name/IMG0000019.jpg</path>\n\t<source>\n\t\t<database>Unspecified</database>\n\t</source>\n"
    b"\t<size>\n\t\t<width>373</width>\n\t\t<height>454</height>\n\t\t<depth>3</depth>\n\t</size>\n"
    b"\t<object>\n\t\t<name>fractured</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
    b"\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>121</xmin>\n\t\t\t<ymin>200</ymin>\n"
    b"\t\t\t<xmax>181</xmax>\n\t\t\t<ymax>245</ymax>\n\t\t</bndbox>\n\t</object>\n</annotation>"
)
NAME = "labels_my-project-name_2024-03-23-07-10-{:02d}"


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """One reader's five makesense exports, with the real name pattern (json twice, zip twice)."""
    d = tmp_path / "reader-a"
    d.mkdir()
    (d / (NAME.format(1) + ".json")).write_bytes(COCO)
    (d / (NAME.format(2) + ".json")).write_bytes(VGG)
    _zip(d / (NAME.format(3) + ".zip"), {"IMG0000019.txt": YOLO.split(b"\n")[0]})
    _zip(d / (NAME.format(4) + ".zip"), {"IMG0000019.xml": VOC})
    (d / (NAME.format(5) + ".csv")).write_bytes(CSV)
    return d


@pytest.mark.parametrize(
    ("index", "fmt"), [(1, "coco"), (2, "vgg"), (3, "yolo"), (4, "voc"), (5, "csv")], ids=["coco", "vgg", "yolo-zip", "voc-zip", "csv"]
)
def test_each_export_file_is_detected_by_content(exports: Path, index: int, fmt: str) -> None:
    path = next(exports.glob(NAME.format(index) + ".*"))
    assert detect(path) == fmt
    ds = read(path)
    assert ds.format == fmt and list(ds.sources) == [fmt] and len(ds.sources[fmt].objects) == 1
    assert ds.images.index.tolist() == ["IMG0000019.jpg"]


def test_reader_folder_reads_every_export_named_by_format(exports: Path) -> None:
    ds = read(exports)
    assert ds.format == "makesense" and sorted(ds.sources) == ["coco", "csv", "vgg", "voc", "yolo"]
    yolo = ds.sources["yolo"].objects
    # the YOLO zip has no labels.txt: names come from the COCO categories, sizes from VOC/CSV/COCO
    assert yolo["label"].tolist() == ["fractured"] and (yolo["units"] == "px").all()
    assert yolo["x0"].iat[0] == pytest.approx(0.403913 * 373 - 0.161542 * 373 / 2, abs=1e-6)
    assert ds.meta["reader"] == "reader-a"


def test_committed_reader_fixtures() -> None:
    for reader in ("reader-1", "reader-2"):
        ds = read(FIXTURES / "readers" / reader)
        assert sorted(ds.sources) == ["coco", "csv", "vgg", "voc", "yolo"] and len(ds.problems) == 0
        counts = {s.counts()["objects"] for s in ds.sources.values()}
        assert counts == {13}


@pytest.mark.parametrize(
    ("data", "expected"),
    [(COCO, "coco"), (VGG, "vgg"), (b"{}", "vgg"), (b'\xef\xbb\xbf{"categories":[],"images":[],"annotations":[]}', "coco"),
     (b'{"_via_settings":{},"_via_img_metadata":{}}', "vgg"), (b"[1, 2]", None), (b"not json", None)],
    ids=["coco", "vgg", "empty-vgg", "bom-coco", "via2", "list", "garbage"],
)  # fmt: skip
def test_sniff_json(tmp_path: Path, data: bytes, expected: str | None) -> None:
    f = tmp_path / "x.json"
    f.write_bytes(data)
    assert sniff_json(f) == expected


def test_voc_and_yolo_folders_and_single_files(tmp_path: Path) -> None:
    (tmp_path / "voc").mkdir()
    (tmp_path / "voc" / "IMG0000019.xml").write_bytes(VOC)
    (tmp_path / "yolo").mkdir()
    (tmp_path / "yolo" / "IMG0000019.txt").write_bytes(YOLO)
    (tmp_path / "yolo" / "classes.txt").write_bytes(b"fractured\nhardware\n")
    assert detect(tmp_path / "voc") == "voc" and detect(tmp_path / "yolo") == "yolo"
    assert detect(tmp_path / "voc" / "IMG0000019.xml") == "voc"
    ds = read(tmp_path / "yolo")
    assert ds.sources["yolo"].objects["label"].tolist() == ["fractured", "hardware"]


def test_fracatlas_root_parent_and_dataset_csv() -> None:
    assert detect(FIXTURES / "fracatlas-mini") == "fracatlas"
    assert detect(FIXTURES / "fracatlas-mini" / "dataset.csv") == "fracatlas"


def test_folder_of_images_only(tmp_path: Path) -> None:
    for i in range(3):
        Image.new("L", (10 + i, 20)).save(tmp_path / f"IMG{i:07d}.jpg")
    ds = read(tmp_path)
    assert ds.format == "folder" and len(ds.images) == 3 and ds.images["width"].tolist() == [10, 11, 12]
    assert not ds.sources


def test_format_override_and_names(tmp_path: Path) -> None:
    f = tmp_path / "labels.dat"
    f.write_bytes(YOLO)
    with pytest.raises(InputError, match="not a known annotation file"):
        read(f)
    ds = read(f, format="yolo", names=["fractured", "hardware"])
    assert ds.sources["yolo"].objects["label"].tolist() == ["fractured", "hardware"]
    assert normalize_format("Pascal-VOC") == "voc"
    with pytest.raises(InputError, match="unknown format 'cocoa'.*did you mean 'coco'"):
        read(f, format="cocoa")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [("missing", None, "no such file or folder"), ("broken.json", b'{"images": [{"id": 1,', "nothing could be read: broken.json:1"),
     ("picture.bmp", b"BM\x00\x00", "not a known annotation file"), ("empty.zip", b"PK\x05\x06" + b"\x00" * 18, "not a known annotation file")],
    ids=["missing", "broken-json", "unknown-file", "empty-zip"],
)  # fmt: skip
def test_nothing_readable_raises_input_error(tmp_path: Path, name: str, data: bytes | None, message: str) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        read(path)


def test_folder_with_several_archives_names_them(tmp_path: Path) -> None:
    for name in ("v6", "v7"):
        (tmp_path / name / "Annotations").mkdir(parents=True)
        (tmp_path / name / "dataset.csv").write_bytes(b"image_id\n")
    with pytest.raises(InputError, match=r"several FracAtlas archives \(v6, v7\)"):
        read(tmp_path)


def test_empty_folder_lists_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="looked for: fracatlas"):
        read(tmp_path)


def test_copy_of_reader_fixture_with_broken_coco_still_reads_the_rest(tmp_path: Path) -> None:
    d = tmp_path / "r"
    shutil.copytree(FIXTURES / "readers" / "reader-1", d)
    coco = next(p for p in d.glob("*.json") if sniff_json(p) == "coco")
    coco.write_bytes(coco.read_bytes()[:-40])
    ds = read(d)
    # detection looks at the head, which is intact: the file is still read as COCO, and reported
    assert "coco" in ds.sources and len(ds.sources["coco"].objects) == 0
    assert (ds.problems["kind"] == "parse-error").any() and len(ds.sources["voc"].objects) == 13


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".json", ".zip", ".csv", ".xml", ".txt", ".jpg"]))
def test_any_bytes_end_in_a_dataset_or_an_input_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    f = tmp_path / f"labels_x_2024-01-01-01-01-01{suffix}"
    f.write_bytes(data)
    try:
        ds = read(f)
    except InputError as exc:
        assert str(exc).startswith("cannot read")
    else:
        assert ds.format in ("coco", "vgg", "voc", "yolo", "csv")
