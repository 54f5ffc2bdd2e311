"""File / folder / zip iteration shared by the per-image-file readers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fracatlas_annot.formats import _files


def make_zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 3, 23, 7, 10, 18)), data)
    return path


def collect(path, suffixes=(".txt",), **kw):
    problems = []
    entries = list(_files.iter_entries(path, suffixes, problems=problems, **kw))
    return entries, problems


@pytest.mark.parametrize(
    "name, reason",
    [
        pytest.param("../evil.txt", "'..'", id="parent"),
        pytest.param("a/../../evil.txt", "'..'", id="nested-parent"),
        pytest.param("a\\..\\evil.txt", "'..'", id="backslash-parent"),
        pytest.param("/etc/evil.txt", "absolute", id="absolute"),
        pytest.param("\\evil.txt", "absolute", id="backslash-absolute"),
        pytest.param("C:/evil.txt", "absolute", id="drive-letter"),
        pytest.param("IMG0000019.txt", None, id="flat-safe"),
        pytest.param("labels/IMG..19.txt", None, id="double-dot-in-name-safe"),
    ],
)
def test_unsafe_entry_reason(name, reason):
    got = _files.unsafe_entry_reason(name)
    assert (got is None) if reason is None else (reason in got)


@pytest.mark.parametrize(
    "name, stem",
    [("IMG0000019.txt", "IMG0000019"), ("a.b.c.txt", "a.b.c"), ("dir/x.y.xml", "x.y"), ("noext", "noext"),
     (".hidden", ".hidden"), ("win\\dir\\IMG.txt", "IMG")],
)
def test_stem_of_removes_only_the_last_extension(name, stem):
    assert _files.stem_of(name) == stem


def test_folder_sorted_non_recursive_with_base(tmp_path):
    root = tmp_path / "root"
    folder = root / "Annotations" / "YOLO"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.txt", "a.TXT", "classes.txt", ".DS_Store.txt", "c.xml"):
        (folder / name).write_bytes(name.encode())
    (folder / "sub" / "d.txt").write_bytes(b"d")
    entries, problems = collect(folder, base=root, exclude=("classes.txt",))
    assert problems == []
    assert entries == [("Annotations/YOLO/a.TXT", b"a.TXT"), ("Annotations/YOLO/b.txt", b"b.txt")]
    deep, _ = collect(folder, recursive=True, exclude=("classes.txt",))
    assert [n for n, _ in deep] == ["a.TXT", "b.txt", "sub/d.txt"]


def test_single_file_any_suffix(tmp_path):
    f = tmp_path / "x" / "IMG.txt"
    f.parent.mkdir()
    f.write_bytes(b"0 1 1 1 1")
    assert collect(f, (".xml",)) == ([("IMG.txt", b"0 1 1 1 1")], [])
    assert collect(f, base=tmp_path)[0][0][0] == "x/IMG.txt"


def test_zip_entries_in_order_with_display_names(tmp_path):
    z = make_zip(tmp_path / "labels.zip", {"b.txt": b"B", "a.txt": b"A", "dir/": b"", "dir/c.txt": b"C",
                                           "__MACOSX/._a.txt": b"junk", "img.jpg": b"\xff"})
    entries, problems = collect(z)
    assert problems == []
    assert entries == [("labels.zip!b.txt", b"B"), ("labels.zip!a.txt", b"A"), ("labels.zip!dir/c.txt", b"C")]


def test_deflated_zip_is_read_too(tmp_path):
    z = make_zip(tmp_path / "x.zip", {"a.txt": b"A" * 1000}, compression=zipfile.ZIP_DEFLATED)
    assert collect(z) == ([("x.zip!a.txt", b"A" * 1000)], [])


def test_unsafe_zip_entries_are_reported_never_opened(tmp_path):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    z = make_zip(work / "labels.zip", {"../evil.txt": b"E", "../../evil.txt": b"E", "/tmp/evil.txt": b"E",
                                       "ok.txt": b"OK"})
    before = sorted(tmp_path.rglob("*"))
    entries, problems = collect(z, source="reader-1")
    assert sorted(tmp_path.rglob("*")) == before
    assert entries == [("labels.zip!ok.txt", b"OK")]
    assert [(p.kind, p.file, p.source) for p in problems] == [
        ("unsafe-zip-entry", "labels.zip!../evil.txt", "reader-1"),
        ("unsafe-zip-entry", "labels.zip!../../evil.txt", "reader-1"),
        ("unsafe-zip-entry", "labels.zip!/tmp/evil.txt", "reader-1"),
    ]
    assert all("never extracted" in p.message for p in problems)


def test_oversized_entry_is_refused(tmp_path, monkeypatch):
    z = make_zip(tmp_path / "big.zip", {"a.txt": b"x" * 100, "b.txt": b"y"})
    monkeypatch.setattr(_files, "MAX_ENTRY_BYTES", 50)
    entries, problems = collect(z)
    assert entries == [("big.zip!b.txt", b"y")]
    assert [(p.kind, p.file) for p in problems] == [("unsafe-zip-entry", "big.zip!a.txt")]


@pytest.mark.parametrize(
    "data",
    [pytest.param(b"PK\x03\x04garbage", id="truncated-zip"), pytest.param(b"", id="empty-zip"),
     pytest.param(b"not a zip at all", id="text")],
)
def test_bad_zip_is_a_parse_error(tmp_path, data):
    z = tmp_path / "labels.zip"
    z.write_bytes(data)
    entries, problems = collect(z)
    assert entries == [] and [(p.kind, p.file) for p in problems] == [("parse-error", "labels.zip")]


def test_corrupt_entry_is_a_parse_error(tmp_path):
    z = make_zip(tmp_path / "c.zip", {"a.txt": b"AAAA", "b.txt": b"BBBB"})
    raw = bytearray(z.read_bytes())
    raw[raw.index(b"AAAA")] = ord("Z")  # CRC mismatch
    z.write_bytes(bytes(raw))
    entries, problems = collect(z)
    assert entries == [("c.zip!b.txt", b"BBBB")]
    assert [(p.kind, p.file) for p in problems] == [("parse-error", "c.zip!a.txt")]


def test_zip_detected_by_signature_without_suffix(tmp_path):
    z = make_zip(tmp_path / "export", {"a.txt": b"A"})
    assert collect(z) == ([("export!a.txt", b"A")], [])


def test_missing_path_is_a_problem(tmp_path):
    entries, problems = collect(tmp_path / "missing.txt")
    assert entries == [] and [p.kind for p in problems] == ["parse-error"]


def test_read_folder_files_reports_os_errors(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 70000)  # over the first 64 KiB read
    (tmp_path / "dir.txt").mkdir()
    out = _files.read_folder_files(str(tmp_path), ["a.txt", "gone.txt", "dir.txt"])
    assert out[0] == b"x" * 70000
    assert isinstance(out[1], FileNotFoundError) and isinstance(out[2], OSError)


def test_zip_entry_without_extension_is_reported_not_silently_skipped(tmp_path):
    """makesense keeps an extension-less image name for its label entry (`noext`, not `noext.txt`)."""
    import zipfile

    from fracatlas_annot.formats._files import iter_zip

    z = tmp_path / "labels.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a.b.txt", "0 0.5 0.5 0.1 0.1")
        zf.writestr("noext", "0 0.5 0.5 0.1 0.1")
    problems: list = []
    got = [name for name, _ in iter_zip(z, (".txt",), display="labels.zip", problems=problems)]
    assert got == ["labels.zip!a.b.txt"]
    assert [(p.kind, p.severity, p.file) for p in problems] == [("unsupported", "warning", "labels.zip!noext")]


def test_scan_files_reports_symlink_loops_and_skips_non_files(tmp_path) -> None:
    """Issue 12: a symlink loop is a problem naming the entry, never an OSError; a FIFO is not a file."""
    import os

    from fracatlas_annot.formats._files import scan_files

    (tmp_path / "IMG1.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    os.symlink("b.jpg", tmp_path / "a.jpg")
    os.symlink("a.jpg", tmp_path / "b.jpg")
    os.mkfifo(tmp_path / "fifo.jpg")
    problems: list = []
    assert scan_files(tmp_path, (".jpg",), display="images/", problems=problems) == ["IMG1.jpg"]
    assert sorted(p.file for p in problems) == ["images/a.jpg", "images/b.jpg"]
    assert all("symlink loop" in p.message and p.kind == "parse-error" for p in problems)
    problems.clear()
    assert scan_files(tmp_path / "missing", display="gone/", problems=problems) == []
    assert [p.file for p in problems] == ["gone"] and "cannot read folder" in problems[0].message


def test_image_linking_out_of_the_input_is_reported_and_never_carried(tmp_path) -> None:
    """Issue 12: an image that is a symlink to a file outside the input is a finding and is
    neither linked nor copied by convert."""
    import os
    import shutil

    from _mini import MINI
    from fracatlas_annot.convert import convert
    from fracatlas_annot.formats import read

    a = tmp_path / "A"
    shutil.copytree(MINI, a)
    secret = tmp_path / "secret.jpg"
    target = a / "images/Non_fractured/IMG0000019.jpg"
    shutil.copyfile(target, secret)
    target.unlink()
    os.symlink(os.path.relpath(secret, target.parent), target)
    inside = a / "images/Fractured/IMG0000023.jpg"  # a link that stays inside the input is fine
    moved = a / "IMG0000023-real.jpg"
    inside.rename(moved)
    os.symlink(os.path.relpath(moved, inside.parent), inside)
    ds = read(a)
    p = ds.problems[ds.problems["kind"] == "unsafe-name"]
    assert p["image"].tolist() == ["IMG0000019.jpg"] and "symlink" in p["message"].iat[0]
    assert ds.images.at["IMG0000019.jpg", "path"] is None and "IMG0000019.jpg" not in set(ds.files["image"])
    assert ds.images.at["IMG0000023.jpg", "path"] is not None
    convert(ds, to="yolo-cls", out=tmp_path / "out", allow_lossy=True, progress=False)
    written = {p.name for p in (tmp_path / "out").rglob("*.jpg")}
    assert "IMG0000019.jpg" not in written and "IMG0000023.jpg" in written
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_symlink()]


# --------------------------------------------------------------------------- non-regular files (issue 12)


def _fifo(path: Path) -> Path:
    import os

    os.mkfifo(path)
    return path


def test_fifo_in_a_folder_is_reported_not_opened(tmp_path):
    """Opening a FIFO for reading blocks until a writer comes; the folder reader must report
    it (no writer ever comes here: a blocking open would hang the test) and read the rest."""
    (tmp_path / "a.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n")
    _fifo(tmp_path / "b.txt")
    entries, problems = collect(tmp_path)
    assert [name for name, _ in entries] == ["a.txt"]
    assert [(p.file, p.kind) for p in problems] == [("b.txt", "parse-error")]
    assert "FIFO" in problems[0].message


@pytest.mark.parametrize("name", ["labels.txt", "labels.zip"])
def test_fifo_as_the_single_file_is_reported(tmp_path, name):
    entries, problems = collect(_fifo(tmp_path / name))
    assert entries == []
    assert len(problems) == 1 and "regular file" in problems[0].message


def test_fifo_json_is_reported_by_the_document_readers(tmp_path):
    from fracatlas_annot.formats import _json

    path = _fifo(tmp_path / "coco.json")
    assert _json.sniff_json(path) is None
    data, problems = _json.read_bytes(path, file="coco.json")
    assert data is None and "FIFO" in problems[0].message


def test_fifo_image_header_is_an_error_not_a_hang(tmp_path):
    from fracatlas_annot.imaging.headers import read_header

    row = read_header(_fifo(tmp_path / "IMG.jpg"))
    assert row[6] is not None and "FIFO" in row[6]


def test_archive_total_cap_skips_and_reports_the_entries_past_it(tmp_path, monkeypatch):
    """Each entry under the per-entry cap can still add up past memory: one cap for the
    archive; every entry past it is named in a problem, none dropped silently."""
    monkeypatch.setattr(_files, "MAX_ARCHIVE_BYTES", 250)
    z = make_zip(tmp_path / "labels.zip", {f"IMG{k}.txt": b"0 0.5 0.5 0.1 0.1\n" * 5 for k in range(5)})  # 90 B each
    entries, problems = collect(z)
    assert [n for n, _ in entries] == ["labels.zip!IMG0.txt", "labels.zip!IMG1.txt"]
    assert [p.file for p in problems] == [f"labels.zip!IMG{k}.txt" for k in (2, 3, 4)]
    assert all(p.kind == "unsafe-zip-entry" and "for one archive" in p.message for p in problems)


def test_batched_holds_bounded_batches():
    pairs = [(f"f{k}", b"x" * 10) for k in range(7)]
    by_items = list(_files.batched(pairs, items=3, size=10**6))
    assert [names for names, _ in by_items] == [["f0", "f1", "f2"], ["f3", "f4", "f5"], ["f6"]]
    by_bytes = list(_files.batched(pairs, items=100, size=25))
    assert [len(names) for names, _ in by_bytes] == [3, 3, 1]
    assert [d for _, datas in by_bytes for d in datas] == [p[1] for p in pairs]


def test_zip_readers_read_past_one_batch(tmp_path, monkeypatch):
    """VOC and YOLO read a zip in batches; every entry is still read once, in zip order."""
    from fracatlas_annot.formats import yolo
    from fracatlas_annot.formats.voc import reader as voc

    monkeypatch.setattr(_files, "BATCH_BYTES", 40)
    z = make_zip(tmp_path / "labels.zip", {f"IMG{k}.txt": f"0 0.5 0.5 0.{k + 1} 0.1\n".encode() for k in range(5)})
    source, problems = yolo.read(z, names=["fractured"])
    assert problems == []
    assert source.objects["image"].tolist() == [f"IMG{k}.jpg" for k in range(5)]
    xml = "<annotation><filename>IMG{k}.jpg</filename><object><name>f</name><bndbox><xmin>{k}</xmin><ymin>1</ymin>" \
          "<xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>"
    z = make_zip(tmp_path / "voc.zip", {f"IMG{k}.xml": xml.format(k=k).encode() for k in range(5)})
    source, problems = voc.read(z)
    assert problems == []
    assert source.objects["x0"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_mixed_folder_and_zip_report_the_other_formats_files(tmp_path):
    """A YOLO file among VOC files (and a zip inside a zip) is reported, never silently
    skipped; a notes.txt that is no label file is not (issue 12)."""
    from fracatlas_annot.formats.voc import reader as voc

    xml = b"<annotation><filename>IMG1.jpg</filename></annotation>"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "IMG1.xml").write_bytes(xml)
    (folder / "IMG2.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n")
    (folder / "notes.txt").write_bytes(b"exported on monday\n")
    (folder / "classes.txt").write_bytes(b"fractured\n")
    _, problems = voc.read(folder)
    assert [(p.kind, p.file) for p in problems] == [("unsupported", "IMG2.txt")]
    assert "a YOLO label file" in problems[0].message and "not read" in problems[0].message
    z = make_zip(tmp_path / "m.zip", {"IMG1.xml": xml, "IMG2.txt": b"0 0.5 0.5 0.1 0.1\n", "notes.txt": b"hi",
                                      "more.zip": b"PK\x05\x06" + b"\0" * 18})
    _, problems = voc.read(z)
    assert [(p.kind, p.file) for p in problems] == [("unsupported", "m.zip!IMG2.txt"), ("unsupported", "m.zip!more.zip")]
    assert "nested archives" in problems[1].message


def test_voc_file_among_yolo_files_is_reported(tmp_path):
    from fracatlas_annot.formats import yolo

    z = make_zip(tmp_path / "y.zip", {"IMG1.txt": b"0 0.5 0.5 0.1 0.1\n", "IMG2.xml": b"<annotation></annotation>"})
    source, problems = yolo.read(z, names=["fractured"])
    assert [(p.kind, p.file) for p in problems] == [("unsupported", "y.zip!IMG2.xml")]
    assert len(source.objects) == 1
