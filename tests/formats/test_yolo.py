"""YOLO reader on the bytes makesense.ai writes (reference/makesense-exports.md §3, §9, §11-12)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.formats import yolo

from .test_files import make_zip

# makesense RECT -> YOLO example (373x454 image): six decimals, single spaces, no trailing newline.
MAKESENSE = b"0 0.403913 0.490768 0.161542 0.099541\n1 0.053887 0.842181 0.107774 0.315638"
ISSUE_216 = b"1 0.716797 0.395833 0.216406 0.147222"
# pre-2021-08 export: cx + w/2 = 1.0000005 (issue #171); pre-2022-06 / deleted label: class -1
OVERSHOOT = b"0 0.953887 0.500000 0.092227 0.100000"
DELETED_LABEL = b"-1 0.500000 0.500000 0.100000 0.100000"
SEGMENT = b"0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5"


def boxes(source):
    return source.objects[["x0", "y0", "x1", "y1"]].to_numpy()


def test_makesense_bytes_without_names_keep_class_ids():
    source, problems = yolo.parse(MAKESENSE, file="IMG0000019.txt")
    assert problems == []
    assert source.objects["class_id"].tolist() == [0, 1]
    assert source.objects["label"].tolist() == [None, None]
    assert source.objects["line"].tolist() == [1, 2] and source.objects["loc"].tolist() == ["line 1", "line 2"]
    assert (source.objects["units"] == "norm").all() and source.objects["geometry"].isna().all()
    np.testing.assert_allclose(boxes(source)[0], [0.403913 - 0.161542 / 2, 0.490768 - 0.099541 / 2,
                                                  0.403913 + 0.161542 / 2, 0.490768 + 0.099541 / 2])
    # the second box touches the left edge (makesense applied w = 2 cx)
    assert boxes(source)[1][0] == pytest.approx(0.0, abs=1e-12)
    assert list(source.images.index) == ["IMG0000019.jpg"]
    assert source.format == "yolo" and source.geometry == "box" and source.labels == []


@pytest.mark.parametrize(
    "data, class_id, label, x1",
    [
        pytest.param(ISSUE_216, 1, "other", 0.716797 + 0.216406 / 2, id="issue-216-line"),
        pytest.param(OVERSHOOT, 0, "fractured", 0.953887 + 0.092227 / 2, id="edge-overshoot-1.0000005"),
        pytest.param(DELETED_LABEL, -1, None, 0.55, id="class-minus-1"),
        pytest.param(b"7 0.5 0.5 0.1 0.1", 7, None, 0.55, id="class-out-of-range"),
        pytest.param(b"0 5e-1 0.5 1e-1 0.1", 0, "fractured", 0.55, id="exponent-form"),
        pytest.param(b"0\t0.5  0.5 0.1 0.1 ", 0, "fractured", 0.55, id="tabs-double-spaces-tolerated"),
        pytest.param(b"0 0.5 0.5 0.1 0.1\r\n", 0, "fractured", 0.55, id="crlf-trailing-newline"),
        pytest.param(b"\xef\xbb\xbf0 0.5 0.5 0.1 0.1", 0, "fractured", 0.55, id="utf8-bom"),
        pytest.param(b"0.0 0.5 0.5 0.1 0.1", 0, "fractured", 0.55, id="float-class-integral"),
    ],
)
def test_values_are_kept_as_written(data, class_id, label, x1):
    source, problems = yolo.parse(data, file="a.txt", names=["fractured", "other"])
    assert problems == []
    [row] = source.objects.to_dict("records")
    assert (row["class_id"], row["label"]) == (class_id, label)
    assert row["x1"] == pytest.approx(x1, abs=1e-12)


def test_overshoot_is_not_clamped():
    source, _ = yolo.parse(OVERSHOOT, file="a.txt")
    assert source.objects["x1"].iloc[0] > 1.0  # 1.0000005: validate judges it


def test_segment_line_gives_normalised_polygon():
    source, problems = yolo.parse(SEGMENT + b"\n" + ISSUE_216, file="a.txt", names=["fractured", "other"])
    assert problems == []
    seg, box = source.objects.to_dict("records")
    assert source.geometry == "polygon"
    assert seg["n_vertices"] == 4 and pd.isna(box["n_vertices"])
    assert (seg["x0"], seg["y0"], seg["x1"], seg["y1"]) == (0.1, 0.1, 0.5, 0.5)
    assert shapely.equals(seg["geometry"], shapely.box(0.1, 0.1, 0.5, 0.5))
    assert seg["units"] == "norm" and box["geometry"] is None


def test_segment_with_three_points_and_empty_lines():
    source, problems = yolo.parse(b"\n0 0 0 1 0 0 1\n\n", file="a.txt")
    assert problems == [] and source.objects["line"].tolist() == [2]
    assert source.objects["geometry"].iloc[0].area == pytest.approx(0.5)


def test_prediction_lines_keep_their_confidence():
    """--save-txt --save-conf: a box (6 fields) or a segment (even >= 8) ends with the confidence."""
    data = ISSUE_216 + b"\n0 0.5 0.5 0.1 0.1 0.9\n0 0.1 0.1 0.5 0.1 0.5 0.5 0.25"
    source, problems = yolo.parse(data, file="a.txt")
    assert problems == []
    o = source.objects
    assert o["score"].tolist()[1:] == [0.9, 0.25] and np.isnan(o["score"].iloc[0])
    assert o["geometry"].iloc[2].area == pytest.approx(0.08)
    assert o[["x0", "x1"]].iloc[1].tolist() == pytest.approx([0.45, 0.55])


@pytest.mark.parametrize(
    "data, line, words",
    [
        pytest.param(b"0 0.5 0.5 0.1\n" + ISSUE_216, 1, "4 fields", id="four-fields"),
        pytest.param(ISSUE_216 + b"\n0 0.5", 2, "2 fields", id="two-fields"),
        pytest.param(b"0 0.5 abc 0.1 0.1\n" + ISSUE_216, 1, "'abc'", id="non-numeric"),
        pytest.param(b"0 0.5 0,5 0.1 0.1\n" + ISSUE_216, 1, "'0,5'", id="decimal-comma"),
        pytest.param(b"0 0.5 nan 0.1 0.1\n" + ISSUE_216, 1, "'nan'", id="nan-text"),
        pytest.param(b"0 0.5 0.5 inf 0.1\n" + ISSUE_216, 1, "'inf'", id="inf-text"),
        pytest.param(b"fractured 0.5 0.5 0.1 0.1\n" + ISSUE_216, 1, "'fractured'", id="name-as-class"),
        pytest.param(b"0.5 0.5 0.5 0.1 0.1\n" + ISSUE_216, 1, "not an integer", id="fractional-class"),
        pytest.param(b"0 0.1 0.1 0.5 x 0.5 0.5\n" + ISSUE_216, 1, "'x'", id="non-numeric-segment"),
    ],
)
def test_bad_line_is_a_problem_and_other_lines_survive(data, line, words):
    source, problems = yolo.parse(data, file="labels.zip!IMG0000019.txt")
    assert source.objects["class_id"].tolist() == [1]
    [p] = problems
    assert (p.kind, p.line, p.loc, p.file, p.image) == (
        "bad-value", line, f"line {line}", "labels.zip!IMG0000019.txt", "IMG0000019.jpg")
    assert words in p.message


def test_not_utf8_byte_costs_its_line_not_the_file():
    """A bad byte is reported on its line; the other lines are read (issue 12: every object
    read or reported, a whole file is never lost for one byte)."""
    source, problems = yolo.parse(ISSUE_216 + b"\n0 0.5 0.5 0.1 \xff\n0 0.5 0.5 0.2 0.2", file="a.txt")
    assert source.objects["line"].tolist() == [1, 3] and list(source.images.index) == ["a.jpg"]
    [p] = problems
    assert (p.kind, p.line, p.loc) == ("parse-error", 2, "line 2") and "0xff" in p.message and "line not read" in p.message


def test_class_1e19_is_reported_not_read():
    source, problems = yolo.parse(b"1e19 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1", file="a.txt", names=["fractured"])
    assert source.objects["line"].tolist() == [2]
    [p] = problems
    assert (p.kind, p.line) == ("bad-value", 1) and "'1e19'" in p.message and "not a class index" in p.message


@pytest.mark.parametrize("data", [pytest.param(b"", id="empty"), pytest.param(b"\n\n", id="newlines"),
                                  pytest.param(b"  \r\n", id="whitespace")])
def test_empty_file_is_a_listed_negative(data):
    source, problems = yolo.parse(data, file="IMG0000021.txt")
    assert problems == [] and len(source.objects) == 0
    assert list(source.images.index) == ["IMG0000021.jpg"]


def test_multi_dot_name_and_image_key():
    source, _ = yolo.parse(ISSUE_216, file="IMG.0019.v2.txt")
    assert source.objects["image"].tolist() == ["IMG.0019.v2.jpg"]
    source, _ = yolo.parse(ISSUE_216, file="IMG.0019.v2.txt", image_key="IMG.0019.v2.png")
    assert source.objects["image"].tolist() == ["IMG.0019.v2.png"]


# ----------------------------------------------------------------- class names


def test_find_data_yaml_is_the_one_finder(tmp_path):
    assert yolo.find_data_yaml(tmp_path) is None
    (tmp_path / "data.yml").write_text("names: [a]")
    assert yolo.find_data_yaml(tmp_path) == tmp_path / "data.yml"
    (tmp_path / "dataset.yaml").write_text("names: [a]")
    (tmp_path / "data.yaml").write_text("names: [a]")
    assert yolo.find_data_yaml(tmp_path) == tmp_path / "data.yaml"  # YAML_NAMES order
    (tmp_path / "mine.YAML").write_text("names: [a]")
    assert yolo.find_data_yaml(tmp_path / "mine.YAML") == tmp_path / "mine.YAML"  # a yaml file is itself
    assert yolo.find_data_yaml(tmp_path / "absent") is None
    (tmp_path / "notes.txt").write_text("x")
    assert yolo.find_data_yaml(tmp_path / "notes.txt") is None


@pytest.mark.parametrize(
    "files, expected, where",
    [
        pytest.param({"labels.txt": b"fractured\nother"}, {0: "fractured", 1: "other"}, "labels.txt", id="labels.txt"),
        pytest.param({"classes.txt": b"fractured\n"}, {0: "fractured"}, "classes.txt", id="classes.txt"),
        pytest.param({"data.yaml": b"nc: 2\nnames: [fractured, other]\n"}, {0: "fractured", 1: "other"},
                     "data.yaml", id="data.yaml-list"),
        pytest.param({"data.yaml": b"names:\n  0: fractured\n  3: other\n"}, {0: "fractured", 3: "other"},
                     "data.yaml", id="data.yaml-dict"),
        pytest.param({"../data.yaml": b"names: [fractured, other]"}, {0: "fractured", 1: "other"},
                     "../data.yaml", id="data.yaml-in-parent"),
        pytest.param({"labels.txt": b"a\nb", "classes.txt": b"c"}, {0: "a", 1: "b"}, "labels.txt",
                     id="labels.txt-first"),
        pytest.param({"dataset.yaml": b"names: [fractured, other]"}, {0: "fractured", 1: "other"},
                     "dataset.yaml", id="dataset.yaml"),
        pytest.param({"classes.txt": b"c\nd", "data.yaml": b"names: [a, b]"}, {0: "c", 1: "d"}, "classes.txt",
                     id="text-list-before-yaml"),
        pytest.param({}, None, None, id="none"),
    ],
)
def test_class_names_found_next_to_labels(tmp_path, files, expected, where):
    folder = tmp_path / "dataset" / "labels"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "IMG0000019.txt").write_bytes(ISSUE_216)
    source, problems = yolo.read(folder)
    assert problems == []
    assert source.label_ids == (expected or {})
    assert source.meta["names_from"] == where
    assert len(source.images) == 1  # labels.txt / classes.txt are not label files
    label = expected.get(1) if expected else None
    assert source.objects["label"].tolist() == [label]


def test_names_argument_wins_and_can_be_a_path(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "classes.txt").write_bytes(b"x\ny")
    (folder / "IMG0000019.txt").write_bytes(ISSUE_216)
    source, _ = yolo.read(folder, names=["fractured", "other"])
    assert source.objects["label"].tolist() == ["other"] and source.labels == ["fractured", "other"]
    source, _ = yolo.read(folder, names={1: "broken"})
    assert source.objects["label"].tolist() == ["broken"]
    yaml_file = tmp_path / "data.yaml"
    yaml_file.write_bytes(b"names: {0: fractured, 1: other}")
    source, _ = yolo.read(folder, names=yaml_file)
    assert source.objects["label"].tolist() == ["other"]


@pytest.mark.parametrize(
    "name, data, kind",
    [
        pytest.param("data.yaml", b"names: [a, b\n", "parse-error", id="yaml-syntax"),
        pytest.param("data.yaml", b"train: images/train\n", "missing-key", id="yaml-without-names"),
        pytest.param("classes.txt", b"fr\xe4ctured", "parse-error", id="classes-not-utf8"),
    ],
)
def test_bad_class_list_is_a_problem(tmp_path, name, data, kind):
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / name).write_bytes(data)
    (folder / "IMG0000019.txt").write_bytes(ISSUE_216)
    source, problems = yolo.read(folder)
    assert [(p.kind, p.file) for p in problems] == [(kind, name)]
    assert source.objects["class_id"].tolist() == [1] and source.objects["label"].tolist() == [None]


# ----------------------------------------------------------------- read(): folder, zip


def test_read_makesense_store_zip(tmp_path):
    z = make_zip(tmp_path / "labels_my-project-name_2022-02-01-01-21-27.zip", {
        "IMG0000019.txt": MAKESENSE,
        "IMG.0020.v2.txt": ISSUE_216,
    })
    source, problems = yolo.read(z, names=["fractured", "other"], image_keys={"IMG0000019": "IMG0000019.jpeg"})
    assert problems == []
    assert list(source.images.index) == ["IMG0000019.jpeg", "IMG.0020.v2.jpg"]
    assert source.objects["file"].tolist() == ["labels_my-project-name_2022-02-01-01-21-27.zip!IMG0000019.txt"] * 2 + [
        "labels_my-project-name_2022-02-01-01-21-27.zip!IMG.0020.v2.txt"]
    assert source.objects["label"].tolist() == ["fractured", "other", "other"]


def test_zip_with_labels_txt_and_unsafe_entries(tmp_path):
    z = make_zip(tmp_path / "labels.zip", {
        "labels.txt": b"fractured\nother",
        "../evil.txt": ISSUE_216,
        "/etc/evil.txt": ISSUE_216,
        "IMG0000019.txt": ISSUE_216,
    })
    before = sorted(tmp_path.rglob("*"))
    source, problems = yolo.read(z)
    assert sorted(tmp_path.rglob("*")) == before
    assert source.meta["names_from"] == "labels.zip!labels.txt"
    assert source.objects["label"].tolist() == ["other"]
    assert list(source.images.index) == ["IMG0000019.jpg"]
    assert [(p.kind, p.file) for p in problems] == [
        ("unsafe-zip-entry", "labels.zip!../evil.txt"), ("unsafe-zip-entry", "labels.zip!/etc/evil.txt")]


def test_read_fracatlas_folder_relative_to_root(tmp_path):
    root = tmp_path / "FracAtlas"
    folder = root / "Annotations" / "YOLO"
    folder.mkdir(parents=True)
    (folder / "classes.txt").write_bytes(b"fractured\n")
    (folder / "IMG0000019.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n")
    (folder / "IMG0000021.txt").write_bytes(b"")
    (folder / "IMG0000023.txt").write_bytes(b"0 0.5 0.5 0.1\n")
    source, problems = yolo.read(folder, base=root)
    assert list(source.images.index) == ["IMG0000019.jpg", "IMG0000021.jpg", "IMG0000023.jpg"]
    assert source.objects["file"].tolist() == ["Annotations/YOLO/IMG0000019.txt"]
    assert [(p.kind, p.file, p.line) for p in problems] == [("bad-value", "Annotations/YOLO/IMG0000023.txt", 1)]
    assert source.meta["names_from"] == "Annotations/YOLO/classes.txt"


def test_recursive_ultralytics_tree(tmp_path):
    for split in ("train", "val"):
        d = tmp_path / "labels" / split
        d.mkdir(parents=True)
        (d / f"{split}1.txt").write_bytes(SEGMENT)
    (tmp_path / "data.yaml").write_bytes(b"names: [fractured]")
    flat, _ = yolo.read(tmp_path / "labels")
    deep, _ = yolo.read(tmp_path / "labels", recursive=True)
    assert len(flat.images) == 0
    assert deep.objects["file"].tolist() == ["train/train1.txt", "val/val1.txt"]
    assert deep.objects["label"].tolist() == ["fractured"] * 2 and deep.geometry == "polygon"


def test_two_workers_give_the_same_source_as_one(tmp_path):
    folder = tmp_path / "yolo"
    folder.mkdir()
    for i in range(50):
        body = [b"", MAKESENSE, SEGMENT, b"0 0.5 0.5 0.1", OVERSHOOT + b"\n" + DELETED_LABEL][i % 5]
        (folder / f"IMG{i:07d}.txt").write_bytes(body)
    one, p1 = yolo.read(folder, workers=1, names=["fractured"])
    two, p2 = yolo.read(folder, workers=2, names=["fractured"])
    geo1, geo2 = one.objects.pop("geometry"), two.objects.pop("geometry")
    pd.testing.assert_frame_equal(one.objects, two.objects)
    assert all(shapely.equals(a, b) if a is not None else b is None for a, b in zip(geo1, geo2))
    pd.testing.assert_frame_equal(one.images, two.images)
    assert [(p.file, p.line) for p in p1] == [(p.file, p.line) for p in p2]
    assert len(p1) == 10 and len(one.images) == 50 and len(one.objects) == 10 * 2 + 10 + 10 * 2


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
def test_empty_class_list_is_reported(data):
    names, problems = yolo.parse_names(data, file="Annotations/YOLO/classes.txt")
    assert names is None
    assert [(p.kind, p.file, p.severity) for p in problems] == [("missing-key", "Annotations/YOLO/classes.txt", "warning")]


def test_folder_chunks_send_keys_back_as_the_callers_strings(tmp_path, monkeypatch):
    """Worker chunks return image keys as positions; the parent puts back the very key
    strings of ``image_keys`` (issue 13, point 3), the same table as one chunk gives."""
    from fracatlas_annot.formats import yolo as Y

    (tmp_path / "a.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "b.txt").write_bytes(b"")
    (tmp_path / "c.txt").write_bytes(b"0 0.5 0.5 0.2\n0 0.1 0.1 0.1 0.1\n")
    (tmp_path / "d.txt").write_bytes(b"0 0.2 0.2 0.1 0.1\n0 0.7 0.7 0.1 0.1\n")
    keys = {"a": "a.png", "b": "b.jpg", "d": "d.jpeg"}
    one, probs_one = Y.read(tmp_path, image_keys=keys, workers=1)
    monkeypatch.setattr(Y, "default_workers", lambda n, workers=None, **kw: 2)
    two, probs_two = Y.read(tmp_path, image_keys=keys, workers=2)
    assert list(two.images.index) == list(one.images.index) == ["a.png", "b.jpg", "c.jpg", "d.jpeg"]
    assert list(two.objects["image"]) == ["a.png", "c.jpg", "d.jpeg", "d.jpeg"]
    assert list(two.objects["line"]) == [1, 2, 1, 2]
    for k in ("a.png", "b.jpg", "d.jpeg"):
        assert two.images.index[two.images.index.get_loc(k)] is next(v for v in keys.values() if v == k)
    assert [(p.image, p.line) for p in probs_two] == [(p.image, p.line) for p in probs_one] == [("c.jpg", 1)]
