"""makesense rect CSV reader: bytes as reference/makesense-exports.md §5 shows them, old exports, bad rows."""

from __future__ import annotations

import pandas as pd
import pytest

from fracatlas_annot.formats import rect_csv
from fracatlas_annot.model import Problem, Source

HEADER = b"label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height"
# §5 example, byte for byte (LF, no trailing newline)
MAKESENSE = HEADER + b"\nfractured,121,200,60,45,IMG0000019.jpg,373,454"
# issue #171 example: a pre-2022 export has no header
ISSUE_171 = b"label-name,444,998,90,82,IMG0000030.jpg,1920,1080"
# pre-2022 export: an unlabelled box leaves an empty line inside its image's block
OLD_EXPORT = b"fractured,121,200,60,45,IMG0000019.jpg,373,454\n\nfractured,10,20,5,5,IMG0000019.jpg,373,454\nfractured,0,0,454,373,IMG0000030.jpg,454,373\n"


def parse(data: bytes) -> tuple[Source, list[Problem]]:
    source, problems = rect_csv.parse(data, file="labels_my-project-name_2024-03-23-07-10-18.csv")
    assert isinstance(source, Source)
    return source, problems


def boxes(source: Source) -> list[tuple]:
    return [tuple(r) for r in source.objects[["x0", "y0", "x1", "y1"]].to_numpy().tolist()]


def test_makesense_example_bytes() -> None:
    source, problems = parse(MAKESENSE)
    assert problems == []
    assert (source.name, source.format, source.geometry, source.labels) == ("csv", "csv", "box", ["fractured"])
    assert source.meta == {"header": True, "empty_lines": [], "size_conflicts": []}
    row = source.objects.iloc[0]
    assert (row["image"], row["label"], row["line"], row["loc"]) == ("IMG0000019.jpg", "fractured", 2, "line 2")
    assert boxes(source) == [(121, 200, 181, 245)]  # corner + size -> corners
    assert row["geometry"] is None and row["units"] == "px" and pd.isna(row["class_id"])
    img = source.images.loc["IMG0000019.jpg"]
    assert (img["width"], img["height"], img["loc"]) == (373, 454, "line 2")


def test_headerless_pre_2022_export() -> None:
    source, problems = parse(ISSUE_171)
    assert problems == [] and source.meta["header"] is False
    assert source.objects.at[0, "label"] == "label-name" and source.objects.at[0, "line"] == 1
    assert boxes(source) == [(444, 998, 534, 1080)]
    assert source.images.loc["IMG0000030.jpg", "width"] == 1920


def test_empty_lines_inside_blocks_are_skipped_and_counted() -> None:
    source, problems = parse(OLD_EXPORT)
    assert problems == []
    assert source.objects["line"].tolist() == [1, 3, 4]  # origin lines survive the skipped line
    assert source.meta["empty_lines"] == [2, 5]
    assert list(source.images.index) == ["IMG0000019.jpg", "IMG0000030.jpg"]
    assert source.images.loc["IMG0000030.jpg", ["width", "height"]].tolist() == [454, 373]


def test_size_conflicts_listed() -> None:
    source, problems = parse(MAKESENSE + b"\nfractured,1,2,3,4,IMG0000019.jpg,454,373\nfractured,1,2,3,4,IMG0000019.jpg,373,454")
    assert problems == [] and len(source.objects) == 3
    assert source.images.loc["IMG0000019.jpg", ["width", "height"]].tolist() == [373, 454]
    assert source.meta["size_conflicts"] == [{"image": "IMG0000019.jpg", "line": 3, "width": 454, "height": 373}]


def test_deleted_label_gives_empty_label_name() -> None:
    source, problems = parse(HEADER + b"\n,121,200,60,45,IMG0000019.jpg,373,454\nfractured,1,2,3,4,IMG0000019.jpg,373,454")
    assert problems == []
    assert source.objects["label"].tolist() == [None, "fractured"] and source.labels == ["fractured"]


@pytest.mark.parametrize(
    "data, rows",
    [
        pytest.param(HEADER, 0, id="header-only-no-boxes"),
        pytest.param(MAKESENSE.replace(b"\n", b"\r\n") + b"\r\n", 1, id="crlf-trailing-newline"),
        pytest.param(b"\xef\xbb\xbf" + MAKESENSE, 1, id="utf8-bom"),
        pytest.param(MAKESENSE.replace(b"121,200", b"121.5,200.25"), 1, id="float-pixels-other-tools"),
        pytest.param(MAKESENSE.replace(b"fractured", b"fr\xc3\xa4ktur"), 1, id="utf8-label"),
    ],
)
def test_tolerated_variants(data: bytes, rows: int) -> None:
    source, problems = parse(data)
    assert problems == [] and len(source.objects) == rows


def test_float_pixels_kept_exactly() -> None:
    source, _ = parse(MAKESENSE.replace(b"121,200", b"121.5,200.25"))
    assert boxes(source) == [(121.5, 200.25, 181.5, 245.25)]


@pytest.mark.parametrize(
    "data, kind, line, words, kept",
    [
        pytest.param(HEADER + b"\nfrac,tured,121,200,60,45,IMG0000019.jpg,373,454", "bad-value", 2, "got 9", 0, id="comma-in-label"),
        pytest.param(HEADER + b"\nfractured,121,200,60,45,IMG0000019.jpg", "bad-value", 2, "got 6", 0, id="too-few-fields"),
        pytest.param(MAKESENSE + b"\nfractured,1,2,3", "bad-value", 3, "expected 8", 1, id="truncated-last-row"),
        pytest.param(MAKESENSE + b"\nfractured,1,x,3,4,IMG0000019.jpg,373,454", "bad-value", 3, "bbox_y='x'", 1, id="non-numeric"),
        pytest.param(MAKESENSE + b"\nfractured,1,2,3,4,IMG0000019.jpg,373,nan", "bad-value", 3, "image_height='nan'", 1, id="nan-text"),
        pytest.param(MAKESENSE + b"\nfractured,1,2,3,inf,IMG0000019.jpg,373,454", "bad-value", 3, "bbox_height='inf'", 1, id="inf-text"),
        pytest.param(MAKESENSE + b"\nfractured,1,2,3,4,IMG0000019.jpg,373.5,454", "bad-value", 3, "image_width", 1, id="fractional-image-size"),
        pytest.param(MAKESENSE + b"\nfractured,1,2,3,4,,373,454", "bad-value", 3, "image_name is empty", 1, id="no-image-name"),
        pytest.param(MAKESENSE + b"\nfr\xe4ctured,1,2,3,4,IMG0000019.jpg,373,454", "parse-error", 3, "line not read", 1, id="not-utf8"),
        pytest.param(b"", "parse-error", None, "empty file", 0, id="empty-file"),
        pytest.param(b"\n\n", "parse-error", None, "whitespace", 0, id="blank-file"),
    ],
)
def test_bad_rows(data: bytes, kind: str, line: int | None, words: str, kept: int) -> None:
    source, problems = parse(data)
    assert [(p.kind, p.line) for p in problems] == [(kind, line)]
    p = problems[0]
    assert p.file == "labels_my-project-name_2024-03-23-07-10-18.csv" and p.source == "csv" and p.severity == "error"
    assert words in p.message
    assert len(source.objects) == kept


def test_not_utf8_names_the_byte_and_costs_only_its_line() -> None:
    data = MAKESENSE + b"\nfr\xe4ctured,1,2,3,4,IMG0000019.jpg,373,454\nfractured,5,6,7,8,IMG0000020.jpg,373,454"
    source, problems = parse(data)
    assert [(p.loc, p.line) for p in problems] == [("line 3", 3)]
    assert "0xe4 at column 3" in problems[0].message
    assert source.objects["line"].tolist() == [2, 4]


def test_other_header_is_a_warning() -> None:
    source, problems = parse(b"label_name,x,y,w,h,image,w,h\nfractured,1,2,3,4,a.jpg,10,10")
    assert [(p.kind, p.severity, p.line) for p in problems] == [("bad-value", "warning", 1)]
    assert len(source.objects) == 1


def test_read_file(tmp_path) -> None:
    path = tmp_path / "exports" / "labels.csv"
    path.parent.mkdir()
    path.write_bytes(MAKESENSE)
    source, problems = rect_csv.read(path, name="reader-2", base=tmp_path)
    assert problems == [] and source.name == "reader-2" and source.path == str(path)
    assert source.objects.at[0, "file"] == "exports/labels.csv"


@pytest.mark.parametrize("reader", ["reader-1", "reader-2"])
def test_committed_reader_export(fixtures_dir, reader: str) -> None:
    import json

    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())["readers"][reader]
    path = fixtures_dir / "readers" / reader / manifest["files"]["csv"]
    source, problems = rect_csv.read(path, name=reader)
    assert problems == [] and source.meta["header"] is True
    assert source.objects["image"].value_counts().to_dict() == manifest["objects_per_image"]
    assert source.objects["line"].tolist() == list(range(2, len(source.objects) + 2))
    values = source.objects[["x0", "y0", "x1", "y1"]].to_numpy()
    assert (values == values.round()).all()  # Math.round()ed pixels
