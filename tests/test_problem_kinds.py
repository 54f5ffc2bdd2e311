"""The problem-kind contract: every kind a reader reports has a rule, and every kind in the
table is reported by a real reader on real bytes."""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import pytest

from fracatlas_annot.checks import load_all
from fracatlas_annot.checks.registry import RULES
from fracatlas_annot.formats import read
from fracatlas_annot.model import PROBLEM_RULES, Problem, ProblemKind, problems_frame
from fracatlas_annot.validate import validate

PACKAGE = Path(__file__).resolve().parents[1] / "fracatlas_annot"

IMG = {"id": 1, "file_name": "IMG0000019.jpg", "width": 373, "height": 454}
CAT = {"id": 1, "name": "fractured"}
ANN = {"id": 0, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 30, 10, 30, 30]], "bbox": [10, 10, 20, 20],
       "area": 200, "iscrowd": 0}  # fmt: skip
GOOD = {"images": [IMG], "categories": [CAT], "annotations": [ANN]}
GOOD_YOLO = b"0 0.5 0.5 0.1 0.1\n"
GOOD_VOC = (b"<annotation><filename>IMG0000019.jpg</filename><size><width>373</width><height>454</height></size>"
            b"<object><name>fractured</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
            b"</object></annotation>")  # fmt: skip


def _coco(doc: object) -> bytes:
    return json.dumps(doc).encode()


#: kind -> (container, {entry name: bytes}): a folder of one reader's exports beside a good
#: COCO export, a folder of VOC files beside a good one, or a makesense YOLO zip.
INPUTS: dict[ProblemKind, tuple[str, dict[str, bytes]]] = {
    ProblemKind.PARSE_ERROR: ("folder", {"broken.json": b'{"images": [{"id": 1'}),
    ProblemKind.MISSING_KEY: ("folder", {"no-annotations.json": _coco({"images": [IMG], "categories": [CAT]})}),
    ProblemKind.BAD_VALUE: ("zip", {"IMG0000019.txt": b"0 0.5 0.5 0.1\n", "IMG0000025.txt": GOOD_YOLO}),
    ProblemKind.UNSAFE_ZIP_ENTRY: ("zip", {"../evil.txt": GOOD_YOLO, "IMG0000019.txt": GOOD_YOLO}),
    ProblemKind.UNSAFE_XML: ("voc", {"IMG0000025.xml": b'<?xml version="1.0"?>\n<!DOCTYPE annotation [<!ENTITY a "aa">]>\n'
                                        b"<annotation><filename>IMG0000025.jpg</filename></annotation>"}),
    ProblemKind.UNSAFE_NAME: ("folder", {"control-chars.json": _coco({**GOOD, "images": [{**IMG, "file_name": "IMG\x1b[2J.jpg"}]})}),
    ProblemKind.DUPLICATE_IMAGE_ID: ("folder", {"twice.json": _coco({**GOOD, "images": [IMG, {**IMG, "file_name": "IMG0000025.jpg"}]})}),
    ProblemKind.ORPHAN_ANNOTATION: ("folder", {"orphan.json": _coco({**GOOD, "annotations": [ANN, {**ANN, "id": 1, "image_id": 7}]})}),
    ProblemKind.UNSUPPORTED: ("zip", {"IMG0000019": GOOD_YOLO, "IMG0000025.txt": GOOD_YOLO}),
    # a COCO file that lists a negative (IMG0000025) lies beside an image it does not list (IMG0000031)
    ProblemKind.UNLISTED_IMAGE: ("coco-file", {"_annotations.coco.json": _coco({**GOOD, "images": [
        IMG, {**IMG, "id": 2, "file_name": "IMG0000025.jpg"}]}), "IMG0000031.jpg": b"\xff\xd8\xff\xd9"}),
}  # fmt: skip


def _write(tmp_path: Path, container: str, entries: dict[str, bytes]) -> Path:
    if container == "zip":
        path = tmp_path / "labels_yolo.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        return path
    folder = tmp_path / "reader"
    folder.mkdir()
    if container == "coco-file":  # the file itself is the input, its images beside it
        for name, data in entries.items():
            (folder / name).write_bytes(data)
        return folder / next(iter(entries))
    if container == "voc":
        (folder / "IMG0000019.xml").write_bytes(GOOD_VOC)
    else:
        (folder / "labels_good.json").write_bytes(_coco(GOOD))
    for name, data in entries.items():
        (folder / name).write_bytes(data)
    return folder


def test_every_kind_has_an_input_below() -> None:
    assert set(INPUTS) == set(ProblemKind)


def test_every_kind_maps_to_a_registered_rule() -> None:
    load_all()
    assert set(PROBLEM_RULES) == set(ProblemKind)
    for kind in ProblemKind:
        assert kind.rule in RULES, kind
        assert RULES[kind.rule].code.startswith("FA0"), kind  # reading problems are structure rules


@pytest.mark.parametrize("kind", list(INPUTS), ids=lambda k: k.value)
def test_a_reader_reports_the_kind_and_its_rule_finds_it(kind: ProblemKind, tmp_path: Path) -> None:
    container, entries = INPUTS[kind]
    path = _write(tmp_path, container, entries)
    ds = read(path, names=["fractured"] if container == "zip" else None)
    assert kind.value in set(ds.problems["kind"]), ds.problems[["kind", "message"]].to_dict("records")
    result = validate(ds, select=[kind.rule], fast=True, progress=False)
    assert len(result.findings) >= 1 and set(result.findings["code"]) == {kind.rule}


def test_problem_takes_strings_and_rejects_unknown_kinds() -> None:
    p = Problem("parse-error", "bad", file="x.json")
    assert p.kind is ProblemKind.PARSE_ERROR and p.kind == "parse-error"
    frame = problems_frame([p])
    assert frame["kind"].tolist() == ["parse-error"] and type(frame["kind"].iat[0]) is str
    with pytest.raises(ValueError, match="unknown problem kind 'not-utf8'"):
        Problem("not-utf8", "bytes are not UTF-8", file="x.json")


def _literal_kinds() -> dict[str, list[str]]:
    """Kind strings written literally in the package: ``Problem("kind", ...)``,
    ``Problem(kind="kind")`` and the readers' local ``problem("kind", ...)`` helpers."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("Problem", "problem"):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            arg = kw.get("kind", node.args[0] if node.args else None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_every_kind_written_in_the_source_is_a_known_kind_and_every_kind_is_written() -> None:
    found = _literal_kinds()
    assert len(found) >= len(ProblemKind)  # the scan sees the readers
    unknown = {k: v for k, v in found.items() if k not in {m.value for m in ProblemKind}}
    assert unknown == {}
    assert {m.value for m in ProblemKind} <= set(found)
