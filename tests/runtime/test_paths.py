"""Names that become paths (issue 12): plain file names only, every written path inside its folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fracatlas_annot.convert import convert
from fracatlas_annot.errors import UsageError
from fracatlas_annot.formats import rect_csv
from fracatlas_annot.formats.assemble import assemble
from fracatlas_annot.runtime.paths import (
    UnsafePathError,
    check_entry_name,
    escape_controls,
    output_path,
    unsafe_name_reason,
)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../PWN.jpg", "climbs out"),
        ("a/../../PWN.jpg", "climbs out"),
        ("..\\..\\PWN.jpg", "climbs out"),
        ("/tmp/victim.jpg", "absolute"),
        ("\\\\server\\share.jpg", "absolute"),
        ("sub/IMG.jpg", "separator"),
        ("C:evil.jpg", "drive"),
        ("..", "folder"),
        (".", "folder"),
        ("", "empty"),
        ("IMG\x00.jpg", "NUL"),
        ("IMG\x1b[2J.jpg", "control"),
        ("IMG\n.jpg", "control"),
        (None, "not a file name"),
    ],
)
def test_unsafe_names_say_why(name, reason) -> None:
    assert reason in unsafe_name_reason(name)


@pytest.mark.parametrize("name", ["IMG0000019.jpg", "a..b.jpg", "..hidden.jpg", "Bild ä 1.JPG", "ab:c.jpg"])
def test_plain_names_are_safe(name) -> None:
    assert unsafe_name_reason(name) is None


def test_output_path_refuses_a_name_that_leaves_root(tmp_path: Path) -> None:
    assert output_path(tmp_path, "labels", "IMG1.txt") == tmp_path / "labels" / "IMG1.txt"
    with pytest.raises(UnsafePathError, match=r"climbs out.*inside") as info:
        output_path(tmp_path, "labels", "../../x.txt")
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    with pytest.raises(UnsafePathError, match=r"\\x1b"):  # the message never holds the raw escape
        output_path(tmp_path, "IMG\x1b[31m.txt")
    assert check_entry_name("IMG1.txt") == "IMG1.txt"
    with pytest.raises(UnsafePathError):
        check_entry_name("../IMG1.txt")


def test_escape_controls() -> None:
    assert escape_controls("IMG\x07\x1b[2J\nodd\x01.jpg") == "IMG\\x07\\x1b[2J\\x0aodd\\x01.jpg"
    assert escape_controls("plain ä") == "plain ä"


CSV = (b"label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height\n"
       b"fractured,10,20,30,40,IMG0000019.jpg,373,454\n"
       b"fractured,10,20,30,40,../../PWN.jpg,373,454\n")  # fmt: skip


@pytest.mark.parametrize("target", ["yolo-detect", "yolo-seg", "voc", "makesense", "yolo-cls"])
def test_every_writer_refuses_an_unsafe_name_it_is_handed(tmp_path: Path, target: str) -> None:
    """A Dataset built without formats.read (no name check) still cannot make a writer leave
    its output: the writer refuses before anything is renamed into place."""
    source, _ = rect_csv.parse(CSV, file="labels.csv")
    (tmp_path / "in").mkdir()
    ds = assemble(tmp_path / "in", {"csv": source}, [], fmt="csv")
    out = tmp_path / "deep" / "er" / "out"
    with pytest.raises(UnsafePathError):
        convert(ds, to=target, out=out, split="none", allow_lossy=True, progress=False, duplicates=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.rglob("*PWN*")) == []
    assert not any(p.suffix == ".zip" for p in tmp_path.rglob("*"))


def test_read_drops_unsafe_names_with_a_finding(tmp_path: Path) -> None:
    from fracatlas_annot.formats import read

    f = tmp_path / "labels_x_2026-01-01-10-00-00.csv"
    f.write_bytes(CSV + b"fractured,1,2,3,4,IMG\x1b[2J.jpg,373,454\n")
    ds = read(f)
    assert ds.sources["csv"].objects["image"].tolist() == ["IMG0000019.jpg"]
    assert list(ds.images.index) == ["IMG0000019.jpg"]
    p = ds.problems
    assert p["kind"].tolist() == ["unsafe-name", "unsafe-name"]
    assert p["line"].tolist() == [3, 4]
    assert "'../../PWN.jpg' climbs out of its folder" in p["message"].iloc[0]
    assert "\\x1b" in p["message"].iloc[1] and "\x1b" not in p["message"].iloc[1]


def test_makesense_zip_holds_only_plain_entries(tmp_path: Path) -> None:
    from fracatlas_annot.formats import read

    f = tmp_path / "in" / "labels_x_2026-01-01-10-00-00.csv"
    f.parent.mkdir()
    f.write_bytes(CSV)
    convert(read(f), to="makesense", out=tmp_path / "out", allow_lossy=True, progress=False)
    with zipfile.ZipFile(tmp_path / "out" / "labels_yolo.zip") as zf:
        assert sorted(zf.namelist()) == ["IMG0000019.txt", "labels.txt"]


def test_label_with_control_characters_is_a_finding_and_not_read(tmp_path: Path) -> None:
    from fracatlas_annot.formats import read

    f = tmp_path / "labels_x_2026-01-01-10-00-00.csv"
    f.write_bytes(CSV.splitlines()[0] + b"\nfractured,10,20,30,40,IMG1.jpg,373,454\nfrac\x00tured\x1b[31m,1,2,3,4,IMG1.jpg,373,454\n")
    ds = read(f)
    assert ds.sources["csv"].objects["label"].tolist() == ["fractured"] and ds.sources["csv"].labels == ["fractured"]
    p = ds.problems.iloc[0]
    assert (p["kind"], p["line"], p["image"]) == ("unsafe-name", 3, "IMG1.jpg")
    assert "label name 'frac\\x00tured\\x1b[31m' has a NUL character; object not read" == p["message"]
