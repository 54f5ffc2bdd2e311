"""VGG / VIA JSON reader: makesense.ai bytes (reference/makesense-exports.md §7), real VIA, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from fracatlas_annot.formats import vgg
from fracatlas_annot.model import Problem, Source

# The §7 example, byte for byte: compact, one line, no trailing newline, closed point lists.
MAKESENSE = (
    b'{"IMG0000019.jpg":{"fileref":"","size":28737,"filename":"IMG0000019.jpg","base64_img_data":"","file_attributes":{},'
    b'"regions":{"0":{"shape_attributes":{"name":"polygon","all_points_x":[101.2340425531915,140.5,150.1063829787234,99,101.2340425531915],'
    b'"all_points_y":[150.87234042553192,148.25531914893617,190.4468085106383,195.5,150.87234042553192]},"region_attributes":{"label":"fractured"}}}}}'
)
# The makesense exporter's own unit test expectation for a closed list
UNIT_X, UNIT_Y = [1, 5, 6, 0, 1], [1, 1, 10, 10, 1]


def dumps(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def polygon(xs: list, ys: list, label: str | None = "fractured") -> dict:
    region = {"shape_attributes": {"name": "polygon", "all_points_x": xs, "all_points_y": ys}, "region_attributes": {}}
    if label is not None:
        region["region_attributes"]["label"] = label
    return region


def entry(regions: object, name: str = "IMG0000019.jpg", size: int = 28737) -> dict:
    return {"fileref": "", "size": size, "filename": name, "base64_img_data": "", "file_attributes": {}, "regions": regions}


def parse(data: bytes) -> tuple[Source, list[Problem]]:
    source, problems = vgg.parse(data, file="Annotations/VGG JSON/labels.json")
    assert isinstance(source, Source)
    return source, problems


def test_makesense_example_bytes() -> None:
    assert not MAKESENSE.endswith(b"\n") and b" " not in MAKESENSE
    source, problems = parse(MAKESENSE)
    assert problems == []
    assert (source.name, source.format, source.geometry, source.labels) == ("vgg", "vgg", "polygon", ["fractured"])
    row = source.objects.iloc[0]
    assert (row["image"], row["label"], row["loc"]) == ("IMG0000019.jpg", "fractured", "IMG0000019.jpg/regions/0")
    assert row["file"] == "Annotations/VGG JSON/labels.json" and pd.isna(row["class_id"])
    # the closing repeat is dropped: 4 vertices, the same ring as the COCO example
    assert row["n_vertices"] == 4 and row["n_parts"] == 1
    coords = shapely.get_coordinates(row["geometry"])
    assert len(coords) == 5 and coords[0].tolist() == [101.2340425531915, 150.87234042553192]
    assert (row["x0"], row["y0"], row["x1"], row["y1"]) == (99, 148.25531914893617, 150.1063829787234, 195.5)
    # size is the file size in bytes, not the image size
    img = source.images.loc["IMG0000019.jpg"]
    assert img["file_size"] == 28737 and pd.isna(img["width"]) and pd.isna(img["height"])


def test_exporter_unit_test_points() -> None:
    source, problems = parse(dumps({"a.jpg": entry({"0": polygon(UNIT_X, UNIT_Y)}, name="a.jpg")}))
    assert problems == []
    g = source.objects.at[0, "geometry"]
    assert shapely.get_coordinates(g.exterior).tolist() == [[1, 1], [5, 1], [6, 10], [0, 10], [1, 1]]
    assert source.objects.at[0, "n_vertices"] == 4


def test_region_keys_with_gaps() -> None:
    """A deleted label leaves a gap in the region keys (§7)."""
    regions = {"0": polygon([0, 10, 10, 0], [0, 0, 10, 0]), "2": polygon([20, 30, 30, 20], [20, 20, 30, 20], label="plate")}
    source, problems = parse(dumps({"IMG0000019.jpg": entry(regions)}))
    assert problems == []
    assert source.objects["loc"].tolist() == ["IMG0000019.jpg/regions/0", "IMG0000019.jpg/regions/2"]
    assert source.objects["label"].tolist() == ["fractured", "plate"] and source.labels == ["fractured", "plate"]


def test_real_via_keys_regions_list_and_rect() -> None:
    via = {
        "IMG0000019.jpg28737": {
            "filename": "IMG0000019.jpg", "size": 28737, "file_attributes": {},
            "regions": [
                {"shape_attributes": {"name": "rect", "x": 10, "y": 20, "width": 30, "height": 40}, "region_attributes": {"label": "fractured"}},
                polygon([0, 10, 10], [0, 0, 10], label=None),
            ],
        }
    }  # fmt: skip
    source, problems = parse(dumps(via))
    assert problems == []
    o = source.objects
    assert o["image"].tolist() == ["IMG0000019.jpg"] * 2
    assert o["loc"].tolist() == ["IMG0000019.jpg28737/regions/0", "IMG0000019.jpg28737/regions/1"]
    assert o.at[0, "geometry"] is None and (o.at[0, "x0"], o.at[0, "y0"], o.at[0, "x1"], o.at[0, "y1"]) == (10, 20, 40, 60)
    assert pd.isna(o.at[0, "n_vertices"])
    assert o.at[1, "label"] is None and o.at[1, "geometry"].area == 50
    assert list(source.images.index) == ["IMG0000019.jpg"] and source.images.at["IMG0000019.jpg", "loc"] == "IMG0000019.jpg28737"


def test_via2_project_file() -> None:
    data = dumps({"_via_settings": {}, "_via_img_metadata": {"a.jpg1": entry([polygon([0, 4, 4], [0, 0, 4])], name="a.jpg")}})
    source, problems = parse(data)
    assert problems == [] and source.objects["image"].tolist() == ["a.jpg"]


@pytest.mark.parametrize(
    "data, images",
    [
        pytest.param(b"{}", 0, id="empty-export-issue-153"),
        pytest.param(dumps({"a.jpg": entry({}, name="a.jpg")}), 1, id="no-regions"),
    ],
)
def test_empty_sources(data: bytes, images: int) -> None:
    source, problems = parse(data)
    assert problems == [] and len(source.objects) == 0 and len(source.images) == images
    assert list(source.objects.columns)[:12] == ["image", "label", "class_id", "x0", "y0", "x1", "y1", "geometry", "units", "file", "loc", "line"]


@pytest.mark.parametrize(
    "xs, ys, n_vertices, check",
    [
        pytest.param([0, 10, 0], [0, 10, 0], 2, lambda g: g.is_empty, id="two-vertices-closed"),
        pytest.param([0, 5, 10, 0], [0, 5, 10, 0], 3, lambda g: g.area == 0, id="collinear"),
        pytest.param([0, 10, 10, 0, 0], [0, 10, 0, 10, 0], 4, lambda g: not g.is_valid, id="bow-tie"),
        pytest.param([], [], 0, lambda g: g.is_empty, id="no-points"),
    ],
)
def test_degenerate_regions_kept(xs: list, ys: list, n_vertices: int, check) -> None:
    source, problems = parse(dumps({"a.jpg": entry({"0": polygon(xs, ys)}, name="a.jpg")}))
    assert problems == [] and len(source.objects) == 1
    row = source.objects.iloc[0]
    assert row["n_vertices"] == n_vertices and check(row["geometry"])


NOT_UTF8 = MAKESENSE.replace(b'"fractured"', b'"fr\xe4ctured"')
NOT_UTF8_AT = NOT_UTF8.index(b"\xe4")


@pytest.mark.parametrize(
    "data, kind, loc, line, words",
    [
        pytest.param(MAKESENSE[:-3], "parse-error", f"column {len(MAKESENSE) - 2}", 1, "invalid JSON", id="truncated"),
        pytest.param(b'{"a.jpg":{"regions":{"0":}}}', "parse-error", "column 26", 1, "Expecting value", id="broken-json"),
        pytest.param(NOT_UTF8, "parse-error", f"byte {NOT_UTF8_AT}", 1, "not UTF-8", id="not-utf8"),
        pytest.param(b"", "parse-error", "byte 0", None, "empty file", id="empty-file"),
        pytest.param(b"[]", "parse-error", "$", None, "expected an object", id="top-level-list"),
        pytest.param(dumps({"a.jpg": 3}), "bad-value", "a.jpg", None, "expected an object", id="entry-not-object"),
        pytest.param(dumps({"a.jpg": {"filename": "a.jpg"}}), "missing-key", "a.jpg", None, "'regions'", id="no-regions-key"),
        pytest.param(dumps({"": entry({}, name="")}), "missing-key", "", None, "'filename'", id="no-file-name"),
        pytest.param(dumps({"a.jpg": entry("0", name="a.jpg")}), "bad-value", "a.jpg", None, "'regions'", id="regions-string"),
        pytest.param(dumps({"a.jpg": entry({"0": polygon([0, "x", 4], [0, 0, 4])}, name="a.jpg")}), "bad-value", "a.jpg/regions/0", None, "not a number", id="non-numeric-point"),
        pytest.param(dumps({"a.jpg": entry({"0": polygon([0, 4, 4], [0, 0])}, name="a.jpg")}), "bad-value", "a.jpg/regions/0", None, "all_points_y has 2", id="unequal-lengths"),
        pytest.param(dumps({"a.jpg": entry({"0": {"region_attributes": {}}}, name="a.jpg")}), "missing-key", "a.jpg/regions/0", None, "shape_attributes", id="no-shape"),
        pytest.param(dumps({"a.jpg": entry({"0": {"shape_attributes": {"name": "circle", "cx": 1, "cy": 1, "r": 2}}}, name="a.jpg")}), "unsupported", "a.jpg/regions/0", None, "'circle'", id="circle"),
        pytest.param(dumps({"a.jpg": entry({"0": {"shape_attributes": {"name": "rect", "x": 1, "y": None, "width": 2, "height": 2}}}, name="a.jpg")}), "bad-value", "a.jpg/regions/0", None, "rect", id="rect-null"),
    ],
)
def test_bad_input(data: bytes, kind: str, loc: str, line: int | None, words: str) -> None:
    source, problems = parse(data)
    assert [(p.kind, p.loc, p.line) for p in problems] == [(kind, loc, line)]
    assert problems[0].file == "Annotations/VGG JSON/labels.json" and problems[0].source == "vgg"
    assert words in problems[0].message
    assert len(source.objects) == 0


def test_read_file(tmp_path) -> None:
    path = tmp_path / "labels_my-project-name_2024-03-23-07-10-18.json"
    path.write_bytes(MAKESENSE)
    source, problems = vgg.read(path, name="reader-1")
    assert problems == [] and source.name == "reader-1" and source.path == str(path)
    assert source.objects.at[0, "file"] == path.name


@pytest.mark.parametrize("reader", ["reader-1", "reader-2"])
def test_committed_reader_export_matches_its_coco(fixtures_dir, reader: str) -> None:
    """The same reader's VGG (closed lists) and COCO (open rings) exports give the same polygons."""
    from fracatlas_annot.formats import coco

    manifest = json.loads((fixtures_dir / "readers" / "manifest.json").read_text())["readers"][reader]
    source, problems = vgg.read(fixtures_dir / "readers" / reader / manifest["files"]["vgg"])
    assert problems == []
    assert source.objects["image"].value_counts().to_dict() == manifest["objects_per_image"]
    other, _ = coco.read(fixtures_dir / "readers" / reader / manifest["files"]["coco"])
    assert source.objects["image"].tolist() == other.objects["image"].tolist()
    assert shapely.equals_exact(source.objects["geometry"].to_numpy(), other.objects["geometry"].to_numpy(), tolerance=0).all()
    assert (source.objects["n_vertices"] == other.objects["n_vertices"]).all()


@pytest.mark.parametrize(
    ("region", "row", "error"),
    [
        pytest.param({"shape_attributes": {"name": "rect", "x": 1, "y": 2, "width": 3, "height": 4},
                      "region_attributes": {"label": "fractured"}}, ("fractured", "rect", [1, 2, 4, 6]), None, id="rect"),
        pytest.param({"shape_attributes": {"name": "polygon", "all_points_x": [0, 4, 4], "all_points_y": [0, 0, 3]}},
                     (None, "polygon", [[0, 0], [4, 0], [4, 3]]), None, id="polygon-no-label"),
        pytest.param([], None, "bad-value", id="not-an-object"),
        pytest.param({"region_attributes": {}}, None, "missing-key", id="no-shape"),
        pytest.param({"shape_attributes": {"name": "polygon", "all_points_x": [0, 1]}}, None, "missing-key", id="no-y"),
        pytest.param({"shape_attributes": {"name": "polygon", "all_points_x": [0, "a"], "all_points_y": [0, 1]}}, None,
                     "bad-value", id="not-a-number"),
        pytest.param({"shape_attributes": {"name": "rect", "x": 1}}, None, "bad-value", id="rect-incomplete"),
        pytest.param({"shape_attributes": {"name": "circle"}}, None, "unsupported", id="circle"),
    ],
)
def test_region_always_returns_a_row_or_an_error_pair(region, row, error) -> None:
    got_row, got_error = vgg._region(region)
    if error is None:
        assert got_error is None
        assert (got_row[0], got_row[1]) == row[:2] and got_row[2].tolist() == row[2]
    else:
        assert got_row is None and got_error[0] == error and isinstance(got_error[1], str)
