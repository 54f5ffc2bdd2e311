"""Property tests: any bytes fed to the VOC / YOLO parsers end in rows or problems, never an exception."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fracatlas_annot.formats import _files, yolo
from fracatlas_annot.formats.voc import reader as voc

from .test_voc import FRACATLAS, MAKESENSE, TWO_OBJECTS, assert_fast_path_matches_full_parser
from .test_yolo import MAKESENSE as YOLO_MAKESENSE
from .test_yolo import SEGMENT

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, seeds):
    """A seed document with a few bytes inserted, deleted or replaced."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
            [b"<", b">", b"&", b"\n", b"\t", b" ", b"-", b".", b"e", b"nan", b"\xff", b"<!--", b"]]>", b"\x00"]))
        if op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos:pos + len(chunk)]
        else:
            data[pos:pos + len(chunk)] = chunk
    return bytes(data)


def check_voc(data: bytes) -> None:
    source, problems = voc.parse(data, file="a.xml")
    objects = source.objects
    # the file either gave an image row or at least one problem says why not
    assert len(source.images) == 1 or problems
    assert np.isfinite(objects[["x0", "y0", "x1", "y1"]].to_numpy()).all()
    assert set(objects["image"]) <= set(source.images.index)
    assert all(p.file == "a.xml" and p.kind for p in problems)


@SETTINGS
@given(st.binary(max_size=400))
def test_voc_any_bytes(data):
    check_voc(data)


@SETTINGS
@given(mutated([MAKESENSE, TWO_OBJECTS, FRACATLAS]))
def test_voc_mutated_makesense(data):
    check_voc(data)


@SETTINGS
@given(mutated([MAKESENSE, TWO_OBJECTS, FRACATLAS]))
# found by CI: an empty <difficult></difficult> was '' on the fast path and None in lxml
@example(TWO_OBJECTS.replace(b"<difficult>0</difficult>", b"<difficult></difficult>", 1))
@example(TWO_OBJECTS.replace(b"<truncated>0</truncated>", b"<truncated> </truncated>", 1))
@example(MAKESENSE.replace(b"<difficult>0</difficult>", b"<difficult><!-- x --></difficult>", 1))
def test_voc_fast_path_agrees_with_full_parser(data):
    assert_fast_path_matches_full_parser(data)


@SETTINGS
@given(st.lists(mutated([MAKESENSE, TWO_OBJECTS, FRACATLAS]), min_size=1, max_size=6))
def test_voc_batch_equals_one_by_one(docs):
    files = [f"d{i}.xml" for i in range(len(docs))]
    batch = voc._Columns()
    voc._parse_batch(files, docs, batch, "voc")
    single = voc._Columns()
    for f, d in zip(files, docs):
        voc._parse_batch([f], [d], single, "voc")
    a, b = batch.finish("voc"), single.finish("voc")
    np.testing.assert_array_equal(a.pop("xy"), b.pop("xy"))
    pa, pb = a.pop("problems"), b.pop("problems")
    assert a == b and [(p.kind, p.file, p.loc) for p in pa] == [(p.kind, p.file, p.loc) for p in pb]


def check_yolo(data: bytes) -> None:
    source, problems = yolo.parse(data, file="a.txt", names=["fractured"])
    assert len(source.images) == 1 or problems
    assert np.isfinite(source.objects[["x0", "y0", "x1", "y1"]].to_numpy()).all()
    assert source.objects["line"].notna().all()
    assert all(p.file == "a.txt" and p.kind for p in problems)


@SETTINGS
@given(st.binary(max_size=300))
def test_yolo_any_bytes(data):
    check_yolo(data)


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(["0", "-1", "1", "0.5", "1e-3", "abc", "nan", "", "0.0000005", "7"]),
                         max_size=11).map(" ".join), max_size=6).map("\n".join))
def test_yolo_token_soup(text):
    check_yolo(text.encode())


@SETTINGS
@given(mutated([YOLO_MAKESENSE, SEGMENT]))
def test_yolo_mutated_makesense(data):
    check_yolo(data)


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda n: n.split("\x00")[0]), st.binary(max_size=40),
                       max_size=5))
def test_zip_any_entry_names(tmp_path_factory, entries):
    path = tmp_path_factory.mktemp("z") / "x.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    path.write_bytes(buffer.getvalue())
    problems = []
    got = list(_files.iter_entries(path, ("",), problems=problems))
    for where, _ in got:
        assert _files.unsafe_entry_reason(where.split("!", 1)[1]) is None
    for p in problems:
        assert p.kind in {"unsafe-zip-entry", "parse-error"}
    assert sorted(path.parent.iterdir()) == [path]  # nothing written next to the zip
