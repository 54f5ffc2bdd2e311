"""Pascal VOC (formats/voc/): the reader on the bytes makesense.ai writes
(reference/makesense-exports.md §4, §11-12), and the writer (valid files, EXIF sizes,
escaped names, VOC -> COCO -> VOC identical boxes)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from fracatlas_annot.convert import convert
from fracatlas_annot.formats import coco
from fracatlas_annot.formats.voc import reader as voc
from fracatlas_annot.model import Source, make_objects

from _mini import read_mini

from .test_files import make_zip

def test_object_lines_are_per_document_in_a_batch_and_match_lxml(tmp_path):
    """Lines come from one pass over the batch text (linear in objects, issue 12): each document
    counts from its own first line, and the fast path agrees with the full parser's sourceline."""
    many = MAKESENSE.replace(b"</annotation>", OBJECT_2 * 300 + b"</annotation>")
    for i, data in enumerate([TWO_OBJECTS, many, MAKESENSE]):
        (tmp_path / f"IMG{i}.xml").write_bytes(data)
    source, problems = voc.read(tmp_path)
    assert problems == []
    lines = source.objects.groupby("file")["line"].apply(list).to_dict()
    assert lines["IMG0.xml"] == [13, 25] and lines["IMG2.xml"] == [13]
    root = etree.fromstring(many)
    assert lines["IMG1.xml"] == [obj.sourceline for obj in root.iterfind("object")]
    assert len(lines["IMG1.xml"]) == 301


# makesense RECT -> VOC, byte for byte: no declaration, TAB indentation, LF, no trailing newline.
MAKESENSE = (
    b"<annotation>\n"
    b"\t<folder>my-project-name</folder>\n"
    b"\t<filename>IMG0000019.jpg</filename>\n"
    b"\t<path>/my-project-name/IMG0000019.jpg</path>\n"
    b"\t<source>\n"
    b"\t\t<database>Unspecified</database>\n"
    b"\t</source>\n"
    b"\t<size>\n"
    b"\t\t<width>373</width>\n"
    b"\t\t<height>454</height>\n"
    b"\t\t<depth>3</depth>\n"
    b"\t</size>\n"
    b"\t<object>\n"
    b"\t\t<name>fractured</name>\n"
    b"\t\t<pose>Unspecified</pose>\n"
    b"\t\t<truncated>0</truncated>\n"
    b"\t\t<difficult>0</difficult>\n"
    b"\t\t<bndbox>\n"
    b"\t\t\t<xmin>121</xmin>\n"
    b"\t\t\t<ymin>200</ymin>\n"
    b"\t\t\t<xmax>181</xmax>\n"
    b"\t\t\t<ymax>245</ymax>\n"
    b"\t\t</bndbox>\n"
    b"\t</object>\n"
    b"</annotation>"
)
OBJECT_2 = (
    b"\t<object>\n\t\t<name>fractured</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
    b"\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>0</xmin>\n\t\t\t<ymin>10</ymin>\n"
    b"\t\t\t<xmax>373</xmax>\n\t\t\t<ymax>454</ymax>\n\t\t</bndbox>\n\t</object>\n"
)
TWO_OBJECTS = MAKESENSE.replace(b"</annotation>", OBJECT_2 + b"</annotation>")
HEAD_ONLY = MAKESENSE[: MAKESENSE.index(b"\t<object>")]
# pre-2021-10 makesense (PR #214): truncated/difficult were the text Unspecified
OLD_UNSPECIFIED = MAKESENSE.replace(b"<truncated>0<", b"<truncated>Unspecified<").replace(
    b"<difficult>0<", b"<difficult>Unspecified<"
)
# a null-label box: its 12 object lines become empty lines (§4 "Field details")
BLANK_LINES = HEAD_ONLY + b"\n" * 12 + MAKESENSE[MAKESENSE.index(b"\t<object>") :]
ONLY_BLANK_LINES = HEAD_ONLY + b"\n" * 12 + b"</annotation>"
FLOATS = MAKESENSE.replace(b"<xmin>121<", b"<xmin>120.53191489361703<").replace(b"<ymax>245<", b"<ymax>2.45e2<")
FRACATLAS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    + MAKESENSE.replace(b"\t</size>\n", b"\t</size>\n\t<segmented>0</segmented>\n")
)
NEGATIVE = HEAD_ONLY.replace(b"\t</size>\n", b"\t</size>\n\t<segmented>0</segmented>\n") + b"</annotation>"
SPACES_CRLF = MAKESENSE.replace(b"\t", b"  ").replace(b"\n", b"\r\n")
MULTI_DOT = MAKESENSE.replace(b"IMG0000019.jpg", b"IMG.0019.v2.jpg")
WITH_COMMENT = MAKESENSE.replace(b"<object>", b"<object><!-- reader 1 -->")
ESCAPED_NAME = MAKESENSE.replace(b"<name>fractured<", b"<name>a &amp; b<")
REORDERED = MAKESENSE.replace(
    b"\t\t\t<xmin>121</xmin>\n\t\t\t<ymin>200</ymin>\n", b"\t\t\t<ymin>200</ymin>\n\t\t\t<xmin>121</xmin>\n"
)

BOX = (121.0, 200.0, 181.0, 245.0)


def box_of(source, row=0):
    return tuple(source.objects.loc[row, ["x0", "y0", "x1", "y1"]].tolist())


@pytest.mark.parametrize(
    "data, n_objects, box, truncated, key",
    [
        pytest.param(MAKESENSE, 1, BOX, "0", "IMG0000019.jpg", id="makesense-exact-bytes"),
        pytest.param(TWO_OBJECTS, 2, BOX, "0", "IMG0000019.jpg", id="two-objects"),
        pytest.param(OLD_UNSPECIFIED, 1, BOX, "Unspecified", "IMG0000019.jpg", id="old-unspecified"),
        pytest.param(BLANK_LINES, 1, BOX, "0", "IMG0000019.jpg", id="blank-lines-null-label"),
        pytest.param(FLOATS, 1, (120.53191489361703, 200.0, 181.0, 245.0), "0", "IMG0000019.jpg", id="float-coords"),
        pytest.param(FRACATLAS, 1, BOX, "0", "IMG0000019.jpg", id="declaration-and-segmented"),
        pytest.param(SPACES_CRLF, 1, BOX, "0", "IMG0000019.jpg", id="space-indent-crlf"),
        pytest.param(MULTI_DOT, 1, BOX, "0", "IMG.0019.v2.jpg", id="multi-dot-name"),
        pytest.param(WITH_COMMENT, 1, BOX, "0", "IMG0000019.jpg", id="comment-full-parser"),
        pytest.param(REORDERED, 1, BOX, "0", "IMG0000019.jpg", id="reordered-bndbox-full-parser"),
        pytest.param(b"\xef\xbb\xbf" + MAKESENSE, 1, BOX, "0", "IMG0000019.jpg", id="utf8-bom"),
    ],
)
def test_parse_accepts_makesense_variants(data, n_objects, box, truncated, key):
    source, problems = voc.parse(data, file="IMG0000019.xml")
    assert problems == []
    assert len(source.objects) == n_objects
    assert box_of(source) == pytest.approx(box)
    row = source.objects.iloc[0]
    assert (row["image"], row["label"], row["truncated"], row["difficult"]) == (key, "fractured", truncated, truncated)
    assert row["units"] == "px" and row["geometry"] is None and pd.isna(row["class_id"])
    assert row["loc"] == "/annotation/object[1]"
    assert list(source.images.index) == [key]
    assert (source.images.loc[key, "width"], source.images.loc[key, "height"]) == (373, 454)
    assert source.labels == ["fractured"] and source.format == "voc" and source.geometry == "box"


def test_parse_object_lines_and_second_object_on_the_edge():
    source, problems = voc.parse(TWO_OBJECTS, file="IMG0000019.xml")
    assert problems == []
    assert source.objects["line"].tolist() == [13, 25]
    assert source.objects["loc"].tolist() == ["/annotation/object[1]", "/annotation/object[2]"]
    # no -1 VOC offset: 0 and width are kept as the 0-based pixel edges makesense writes
    assert box_of(source, 1) == (0.0, 10.0, 373.0, 454.0)


def test_escaped_label_is_unescaped():
    source, problems = voc.parse(ESCAPED_NAME, file="x.xml")
    assert problems == [] and source.objects["label"].tolist() == ["a & b"]


@pytest.mark.parametrize(
    "data",
    [pytest.param(HEAD_ONLY + b"</annotation>", id="no-object"), pytest.param(NEGATIVE, id="fracatlas-negative"),
     pytest.param(ONLY_BLANK_LINES, id="only-null-label-boxes")],
)
def test_negative_file_lists_image_without_objects(data):
    source, problems = voc.parse(data, file="IMG0000019.xml")
    assert problems == [] and len(source.objects) == 0
    assert list(source.images.index) == ["IMG0000019.jpg"]
    assert int(source.images["width"].iloc[0]) == 373


@pytest.mark.parametrize(
    "data, kind, loc, line, words",
    [
        pytest.param(MAKESENSE.replace(b"<xmin>121<", b"<xmin>abc<"), "bad-value",
                     "/annotation/object[1]/bndbox/xmin", 19, "'abc'", id="non-numeric-coordinate"),
        pytest.param(MAKESENSE.replace(b"<ymax>245<", b"<ymax>NaN<"), "bad-value",
                     "/annotation/object[1]/bndbox/ymax", 22, "'NaN'", id="nan-coordinate"),
        pytest.param(MAKESENSE.replace(b"<xmax>181<", b"<xmax>1" + b"9" * 400 + b"<"), "bad-value",
                     "/annotation/object[1]/bndbox/xmax", 13, "finite", id="overflowing-coordinate"),
        pytest.param(MAKESENSE.replace(b"\t\t\t<ymax>245</ymax>\n", b""), "missing-key",
                     "/annotation/object[1]/bndbox/ymax", 18, "<ymax>", id="missing-ymax"),
        pytest.param(MAKESENSE.replace(b"<bndbox>", b"<box>").replace(b"</bndbox>", b"</box>"), "missing-key",
                     "/annotation/object[1]/bndbox", 13, "<bndbox>", id="missing-bndbox"),
    ],
)
def test_object_problems_have_xpath_and_line(data, kind, loc, line, words):
    source, problems = voc.parse(data, file="Annotations/PASCAL VOC/IMG0000019.xml")
    assert len(source.objects) == 0
    assert list(source.images.index) == ["IMG0000019.jpg"]  # the file itself was read
    [p] = problems
    assert (p.kind, p.loc, p.line, p.file) == (kind, loc, line, "Annotations/PASCAL VOC/IMG0000019.xml")
    assert words in p.message and p.image == "IMG0000019.jpg" and p.severity == "error"


def test_one_bad_object_keeps_the_others():
    data = TWO_OBJECTS.replace(b"<ymin>10<", b"<ymin>ten<")
    source, problems = voc.parse(data, file="a.xml")
    assert len(source.objects) == 1 and box_of(source) == BOX
    assert [(p.kind, p.loc) for p in problems] == [("bad-value", "/annotation/object[2]/bndbox/ymin")]


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"".join([b"&lol%d;" % (i - 1) if i > 1 else b"&lol;"] * 10))
               for i in range(1, 10))
    + b"]>\n<annotation><filename>&lol9;</filename></annotation>"
)


def external_entity(target: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE annotation [\n <!ENTITY xxe SYSTEM "file://'
        + str(target).encode()
        + b'">\n]>\n<annotation><filename>&xxe;</filename><object><name>&xxe;</name><bndbox><xmin>1</xmin>'
        b"<ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>"
    )


@pytest.mark.parametrize(
    "data, kind, line, words",
    [
        pytest.param(b"", "parse-error", None, "empty", id="empty-file"),
        pytest.param(b"\n\t \n", "parse-error", None, "whitespace", id="whitespace-only"),
        pytest.param(MAKESENSE[:300], "parse-error", 14, "XML syntax error", id="truncated-file"),
        pytest.param(MAKESENSE.replace(b"</source>", b"</sauce>"), "parse-error", 7, "XML syntax error",
                     id="mismatched-tag"),
        pytest.param(MAKESENSE.replace(b"<name>fractured<", b"<name>a & b<"), "parse-error", 14,
                     "XML syntax error", id="unescaped-ampersand-makesense-bug"),
        pytest.param(MAKESENSE.replace(b"fractured", b"fr\xe4ctured"), "parse-error", None, "not UTF-8",
                     id="not-utf8"),
        pytest.param(b"<voc><filename>a.jpg</filename></voc>", "missing-key", 1, "<annotation>", id="wrong-root"),
        pytest.param(BILLION_LAUGHS, "unsafe-xml", 2, "entities", id="billion-laughs"),
        pytest.param(b'<!DOCTYPE annotation SYSTEM "http://example.invalid/voc.dtd">\n' + MAKESENSE, "unsafe-xml",
                     1, "external DTD", id="external-dtd"),
    ],
)
def test_unusable_file_is_a_problem_not_an_exception(data, kind, line, words):
    source, problems = voc.parse(data, file="Annotations/PASCAL VOC/IMG0000019.xml")
    assert len(source.objects) == 0 and len(source.images) == 0
    [p] = problems
    assert (p.kind, p.line, p.file, p.source) == (kind, line, "Annotations/PASCAL VOC/IMG0000019.xml", "voc")
    assert words in p.message


def test_not_utf8_message_names_offset_and_line():
    [p] = voc.parse(MAKESENSE.replace(b"fractured", b"fr\xe4ctured"), file="a.xml")[1]
    assert "0xe4" in p.message and "line 14" in p.message


def test_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    source, problems = voc.parse(external_entity(secret), file="evil.xml")
    assert [p.kind for p in problems] == ["unsafe-xml"] and "external entity" in problems[0].message
    assert len(source.objects) == 0 and len(source.images) == 0
    assert "TOP-SECRET" not in repr(problems)


def test_utf16_document_with_entities_is_refused():
    data = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
    data = data.decode().encode("utf-16")
    [p] = voc.parse(data, file="a.xml")[1]
    assert p.kind == "unsafe-xml"


def test_latin1_declared_encoding_is_read():
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + MAKESENSE.replace(b"fractured", b"fr\xe4ctured")
    source, problems = voc.parse(data, file="a.xml")
    assert problems == [] and source.objects["label"].tolist() == ["fr\u00e4ctured"]


@pytest.mark.parametrize(
    "data, width, height, kinds",
    [
        pytest.param(MAKESENSE.replace(MAKESENSE[MAKESENSE.index(b"\t<size>"):MAKESENSE.index(b"\t<object>")], b""),
                     None, None, [], id="no-size"),
        pytest.param(MAKESENSE.replace(b"<width>373<", b"<width>373.0<"), 373, 454, [], id="integral-float-width"),
        pytest.param(MAKESENSE.replace(b"<width>373<", b"<width>wide<"), None, 454, ["bad-value"],
                     id="non-numeric-width-warning"),
    ],
)
def test_declared_size(data, width, height, kinds):
    source, problems = voc.parse(data, file="a.xml")
    assert len(source.objects) == 1
    got = source.images.iloc[0]
    assert (None if pd.isna(got["width"]) else int(got["width"])) == width
    assert (None if pd.isna(got["height"]) else int(got["height"])) == height
    assert [p.kind for p in problems] == kinds
    assert all(p.severity == "warning" for p in problems)


@pytest.mark.parametrize(
    "data, key",
    [
        pytest.param(MAKESENSE.replace(b"IMG0000019.jpg</filename>", b"</filename>"), "IMG.0019.v2.jpg", id="empty"),
        pytest.param(MAKESENSE.replace(b"\t<filename>IMG0000019.jpg</filename>\n", b""), "IMG.0019.v2.jpg",
                     id="missing"),
    ],
)
def test_missing_filename_falls_back_to_xml_stem_with_warning(data, key):
    source, problems = voc.parse(data, file="labels.zip!IMG.0019.v2.xml")
    assert list(source.images.index) == [key] and source.objects["image"].tolist() == [key]
    [p] = problems
    assert (p.kind, p.severity, p.loc) == ("missing-key", "warning", "/annotation/filename")


def test_filename_with_folders_keeps_the_bare_name():
    source, _ = voc.parse(MAKESENSE.replace(b"<filename>IMG", b"<filename>images/Fractured/IMG"), file="a.xml")
    assert list(source.images.index) == ["IMG0000019.jpg"]


# ----------------------------------------------------------------- fast path == full parser

EQUIVALENCE = [MAKESENSE, TWO_OBJECTS, OLD_UNSPECIFIED, BLANK_LINES, ONLY_BLANK_LINES, FLOATS, FRACATLAS, NEGATIVE,
               SPACES_CRLF, MULTI_DOT, HEAD_ONLY + b"</annotation>",
               MAKESENSE.replace(b"IMG0000019.jpg</filename>", b"</filename>")]


def assert_fast_path_matches_full_parser(data: bytes, file: str = "x/a.b.xml") -> None:
    """The batch path (regex, lxml fallback) and the lxml parser give the same rows and problems."""
    fast = voc._Columns()
    voc._parse_batch([file], [data], fast, "voc")
    full = voc._Columns()
    voc._parse_tree(data, file, full, "voc", doc=0)
    a, b = fast.finish("voc"), full.finish("voc")
    np.testing.assert_array_equal(a.pop("xy"), b.pop("xy"))
    pa, pb = a.pop("problems"), b.pop("problems")
    assert [(p.kind, p.loc) for p in pa] == [(p.kind, p.loc) for p in pb]
    assert a == b


@pytest.mark.parametrize("data", [pytest.param(d, id=f"doc{i}") for i, d in enumerate(EQUIVALENCE)])
def test_fast_path_matches_full_parser(data):
    assert_fast_path_matches_full_parser(data)


def test_makesense_layout_takes_the_fast_path():
    with mock.patch.object(voc, "_parse_tree", side_effect=AssertionError("full parser used")):
        source, problems = voc.parse(MAKESENSE, file="a.xml")
    assert len(source.objects) == 1 and problems == []


# ----------------------------------------------------------------- read(): folder, zip, file


def write_folder(folder: Path, docs: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in docs.items():
        (folder / name).write_bytes(data)
    return folder


def test_read_folder_sorted_relative_to_base(tmp_path):
    root = tmp_path / "FracAtlas"
    folder = write_folder(root / "Annotations" / "PASCAL VOC", {
        "IMG0000021.xml": NEGATIVE.replace(b"IMG0000019", b"IMG0000021"),
        "IMG0000019.xml": TWO_OBJECTS,
        "broken.xml": b"<annotation>",
        "notes.txt": b"not xml",
    })
    source, problems = voc.read(folder, base=root)
    assert list(source.images.index) == ["IMG0000019.jpg", "IMG0000021.jpg"]
    assert source.images["file"].tolist() == ["Annotations/PASCAL VOC/IMG0000019.xml",
                                              "Annotations/PASCAL VOC/IMG0000021.xml"]
    assert len(source.objects) == 2
    assert [(p.kind, p.file) for p in problems] == [("parse-error", "Annotations/PASCAL VOC/broken.xml")]
    assert source.path == str(folder)


def test_read_single_file(tmp_path):
    f = tmp_path / "IMG0000019.xml"
    f.write_bytes(MAKESENSE)
    source, problems = voc.read(f, name="reader-1")
    assert source.name == "reader-1" and source.objects["file"].tolist() == ["IMG0000019.xml"]
    assert problems == []


def test_read_makesense_store_zip(tmp_path):
    z = make_zip(tmp_path / "labels_my-project-name_2024-03-23-07-10-18.zip", {
        "IMG0000019.xml": MAKESENSE,
        "IMG.0020.v2.xml": MULTI_DOT.replace(b"IMG.0019", b"IMG.0020"),
    })
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zipfile.ZipFile(z).infolist())
    source, problems = voc.read(z)
    assert problems == []
    assert list(source.images.index) == ["IMG0000019.jpg", "IMG.0020.v2.jpg"]  # zip (project) order
    assert source.objects["file"].tolist() == ["labels_my-project-name_2024-03-23-07-10-18.zip!IMG0000019.xml",
                                               "labels_my-project-name_2024-03-23-07-10-18.zip!IMG.0020.v2.xml"]


def test_zip_with_unsafe_entries_reports_and_extracts_nothing(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    z = make_zip(work / "labels.zip", {
        "../evil.xml": MAKESENSE,
        "/abs/evil.xml": MAKESENSE,
        "IMG0000019.xml": MAKESENSE,
    })
    before = sorted(tmp_path.rglob("*"))
    source, problems = voc.read(z)
    assert sorted(tmp_path.rglob("*")) == before
    assert list(source.images.index) == ["IMG0000019.jpg"]
    assert [(p.kind, p.file) for p in problems] == [
        ("unsafe-zip-entry", "labels.zip!../evil.xml"),
        ("unsafe-zip-entry", "labels.zip!/abs/evil.xml"),
    ]
    assert "'..'" in problems[0].message and "absolute" in problems[1].message


def test_bad_zip_is_a_parse_error(tmp_path):
    z = tmp_path / "labels.zip"
    z.write_bytes(b"PK\x03\x04 truncated")
    source, problems = voc.read(z)
    assert len(source.images) == 0
    assert [(p.kind, p.file) for p in problems] == [("parse-error", "labels.zip")]


def test_missing_path_is_a_problem(tmp_path):
    source, problems = voc.read(tmp_path / "nope.xml")
    assert len(source.images) == 0 and [p.kind for p in problems] == ["parse-error"]


def test_two_workers_give_the_same_source_as_one(tmp_path):
    docs = {}
    for i in range(60):
        stem = f"IMG{i:07d}"
        body = TWO_OBJECTS if i % 3 == 0 else NEGATIVE
        if i == 7:
            body = WITH_COMMENT  # full parser inside a worker chunk
        if i == 11:
            body = b"<annotation"  # a problem inside a worker chunk
        docs[f"{stem}.xml"] = body.replace(b"IMG0000019", stem.encode())
    folder = write_folder(tmp_path / "voc", docs)
    one, p1 = voc.read(folder, workers=1)
    two, p2 = voc.read(folder, workers=2)
    pd.testing.assert_frame_equal(one.objects, two.objects)
    pd.testing.assert_frame_equal(one.images, two.images)
    assert [(p.kind, p.file) for p in p1] == [(p.kind, p.file) for p in p2] == [("parse-error", "IMG0000011.xml")]
    assert len(one.images) == 59 and len(one.objects) == 2 * 20 + 1


def test_small_batches_give_the_same_source(tmp_path, monkeypatch):
    docs = {f"IMG{i:07d}.xml": (TWO_OBJECTS if i % 4 else WITH_COMMENT).replace(b"IMG0000019", b"IMG%07d" % i)
            for i in range(23)}
    folder = write_folder(tmp_path / "voc", docs)
    whole, _ = voc.read(folder, workers=1)
    monkeypatch.setattr(voc, "BATCH", 5)
    sliced, _ = voc.read(folder, workers=1)
    pd.testing.assert_frame_equal(whole.objects, sliced.objects)
    pd.testing.assert_frame_equal(whole.images, sliced.images)
    locs = ["/annotation/object[1]", "/annotation/object[1]", "/annotation/object[2]"]
    assert whole.objects["loc"].tolist()[:3] == locs


@pytest.mark.parametrize(
    "size",
    ["<width>99999999999999999999</width><height>454</height>", "<!-- c --><width>99999999999999999999</width><height>454</height>"],
    ids=["fast-path", "lxml-path"],
)
def test_huge_declared_size_is_a_problem_not_a_crash(size):
    data = f"<annotation><filename>a.jpg</filename><size>{size}</size></annotation>".encode()
    source, problems = voc.parse(data, file="big.xml")
    assert [(p.kind, p.loc) for p in problems] == [("bad-value", "/annotation/size/width")]
    assert pd.isna(source.images.loc["a.jpg", "width"])


# --------------------------------------------------------------------------- writer


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


def test_voc_files_valid_and_exif_sizes(mini_ds, tmp_path):
    convert(mini_ds, to="voc", source="voc", out=tmp_path / "v", progress=False)
    files = sorted((tmp_path / "v" / "Annotations").glob("*.xml"))
    assert len(files) == 40
    for f in files:
        tree = etree.parse(str(f))
        for tag in ("difficult", "truncated"):
            assert all(e.text in ("0", "1") for e in tree.iter(tag))
        for tag in ("xmin", "ymin", "xmax", "ymax", "width", "height"):
            assert all(str(int(e.text)) == e.text for e in tree.iter(tag))
    t = etree.parse(str(tmp_path / "v" / "Annotations" / "IMG0000036.xml"))
    assert (t.findtext("size/width"), t.findtext("size/height")) == ("373", "454")
    # `Unspecified` in the source became the integer 0
    t = etree.parse(str(tmp_path / "v" / "Annotations" / "IMG0000026.xml"))
    assert t.findtext("object/difficult") == "0" and t.findtext("object/truncated") == "0"


def test_voc_escapes_label_names(mini_ds, tmp_path):
    name = 'frac <a> & "b"'
    objects = make_objects({"image": ["IMG0000019.jpg"], "label": [name], "x0": [10.0], "y0": [10.0], "x1": [40.0], "y1": [30.0]})
    src = Source(name="s", format="voc", objects=objects, labels=[name])
    convert(mini_ds, to="voc", source=src, out=tmp_path / "v", progress=False)
    raw = (tmp_path / "v" / "Annotations" / "IMG0000019.xml").read_bytes()
    assert b"&lt;a&gt; &amp;" in raw
    assert etree.fromstring(raw).findtext("object/name") == name


def test_voc_coco_voc_identical_boxes(mini_ds, tmp_path):
    convert(mini_ds, to="coco", source="voc", out=tmp_path / "c", progress=False)
    coco_src, problems = coco.read(tmp_path / "c" / "annotations.json")
    assert not problems
    assert len(coco_src.images) == 40  # negatives survive VOC -> COCO
    convert(mini_ds, to="voc", source=coco_src, out=tmp_path / "v", progress=False)
    back, problems = voc.read(tmp_path / "v" / "Annotations")
    assert not problems
    orig = mini_ds.sources["voc"]
    cols = ["image", "x0", "y0", "x1", "y1"]
    a = orig.objects[cols].sort_values(cols).reset_index(drop=True)
    b = back.objects[cols].sort_values(cols).reset_index(drop=True)
    assert a.equals(b)
    assert set(back.images.index) == set(orig.images.index)  # negatives survive COCO -> VOC


def test_comment_inside_a_value_reads_the_whole_value():
    """``<xmin>1<!-- -->21</xmin>`` is 121 in XML (a comment is no character data); its
    ``.text`` alone is "1" (issue 12)."""
    data = MAKESENSE.replace(b"<xmin>121</xmin>", b"<xmin>1<!-- note -->2<?pi x?>1</xmin>")
    data = data.replace(b"<name>fractured</name>", b"<name>frac<!-- -->tured</name>")
    source, problems = voc.parse(data, file="IMG0000019.xml")
    assert problems == []
    assert box_of(source) == (121.0, 200.0, 181.0, 245.0)
    assert source.objects.at[0, "label"] == "fractured"


def test_object_nested_under_a_wrapper_is_read_with_a_warning():
    nested = MAKESENSE.replace(b"\t<object>", b"\t<group>\n\t<object>").replace(b"\t</object>", b"\t</object>\n\t</group>")
    data = nested.replace(b"</annotation>", OBJECT_2 + b"</annotation>")
    source, problems = voc.parse(data, file="IMG0000019.xml")
    assert [(p.severity, p.loc, p.line) for p in problems] == [("warning", "/annotation/group/object", 14)]
    assert "nested under <group>" in problems[0].message
    # the direct object keeps its XPath; the nested one comes after it, with its own
    assert source.objects["loc"].tolist() == ["/annotation/object[1]", "/annotation/group/object"]
    assert box_of(source, 1) == (121.0, 200.0, 181.0, 245.0)
