"""Class lists from YAML (issue 12): no alias expansion, bounded depth and size, bad names are findings."""

from __future__ import annotations

import pytest

from fracatlas_annot.formats import read
from fracatlas_annot.formats._yaml import MAX_DEPTH, load_yaml
from fracatlas_annot.formats.yolo import parse_names

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
) + "names: *i\n"  # 9^9 = 387 million strings once expanded


def test_aliases_are_refused_not_expanded() -> None:
    doc, problems = load_yaml(BOMB, file="data.yaml")
    assert doc is None and [p.kind for p in problems] == ["parse-error"]
    assert "alias (*a)" in problems[0].message and problems[0].line == 2 and problems[0].file == "data.yaml"


def test_depth_is_bounded() -> None:
    assert load_yaml("names: " + "[" * (MAX_DEPTH - 2) + "x" + "]" * (MAX_DEPTH - 2), file="d.yaml")[1] == []
    doc, problems = load_yaml("names: " + "[" * 20000 + "x" + "]" * 20000, file="d.yaml")
    assert doc is None and "nested deeper than" in problems[0].message


def test_anchors_without_aliases_and_plain_yaml_read() -> None:
    assert load_yaml("path: .\ntrain: &t images/train\nnames: [fractured]\n", file="d.yaml") == (
        {"path": ".", "train": "images/train", "names": ["fractured"]}, [])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("names: {a: x}", "key 'a' is not a class index"),
        ("names: {-1: x}", "key '-1' is not a class index"),
        ("names: [[x, y]]", "class 0's name is a list"),
        ("names: [a, {b: c}]", "class 1's name is a dict"),
        ("names: [a, null]", "class 1's name is empty"),
        ("names: 7", "'names' is a int"),
    ],
)
def test_bad_names_are_findings(text: str, says: str) -> None:
    names, problems = parse_names(text.encode(), file="data.yaml")
    assert names is None and [p.kind for p in problems] == ["bad-value"] and says in problems[0].message


def test_good_names() -> None:
    assert parse_names(b"names: {0: fractured, 2: other}", file="data.yaml") == ({0: "fractured", 2: "other"}, [])
    assert parse_names(b"names: [fractured, 3]", file="data.yaml") == ({0: "fractured", 1: "3"}, [])


def test_ultralytics_set_with_a_bomb_or_bad_names_never_crashes(tmp_path) -> None:
    u = tmp_path / "U"
    (u / "images/train").mkdir(parents=True)
    (u / "labels/train").mkdir(parents=True)
    (u / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/train\n" + BOMB)
    with pytest.raises(Exception, match="alias") as info:
        read(u, format="ultralytics")
    assert type(info.value).__name__ == "InputError"
    (u / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/train\nnames: {a: x}\n")
    with pytest.raises(Exception, match=r"data.yaml: 'names' key 'a' is not a class index"):
        read(u, format="ultralytics")  # nothing else to read here: exit 2 naming the file and the key
