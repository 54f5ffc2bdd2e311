"""`fracatlas-annot info`: planted counts per source, JSON shape, problems with locations, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fracatlas_annot.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINI = FIXTURES / "fracatlas-mini"


def _json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["info", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_mini_reports_the_planted_counts(capsys) -> None:
    m = json.loads((MINI / "manifest.json").read_text())
    code, s = _json(capsys, str(MINI))
    assert code == 0 and s["format"] == "fracatlas"
    assert s["images"] == m["images"] and s["images_on_disk"] == m["images"] and s["images_in_csv"] == m["images"]
    assert s["fractured"] == m["fractured"] and s["non_fractured"] == m["non_fractured"]
    assert {k: {"objects": v["objects"], "images": v["images"]} for k, v in s["sources"].items()} == m["sources"]
    assert s["labels"] == m["labels"] == ["fractured"]
    assert s["splits"] == {"none": m["non_fractured"], "train": m["splits"]["train"]["images"],
                           "val": m["splits"]["valid"]["images"], "test": m["splits"]["test"]["images"]}  # fmt: skip
    assert s["split_lists"] == {k: v["images"] for k, v in m["splits"].items()}
    assert s["problems"] == [] and s["version"] == "v6" and s["files_in_two_folders"] == []


def test_v7_lists_the_stray_copies(capsys) -> None:
    m = json.loads((FIXTURES / "fracatlas-v7" / "manifest.json").read_text())
    code, s = _json(capsys, str(FIXTURES / "fracatlas-v7"))
    assert code == 0 and s["version"] == "v7" and s["image_files"] == m["images"] + 2
    assert s["files_in_two_folders"] == sorted(m["stray_copies"])
    code = main(["info", str(FIXTURES / "fracatlas-v7")])
    out = capsys.readouterr().out
    assert code == 0 and "in both image folders" in out and m["stray_copies"][0] in out


def test_text_output_names_format_sources_and_problems(tmp_path: Path, capsys) -> None:
    root = tmp_path / "FracAtlas"
    shutil.copytree(MINI, root)
    (root / "Annotations" / "YOLO" / "IMG0000019.txt").write_bytes(b"0 0.5 oops 0.1 0.1")
    code = main(["info", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("fracatlas", "coco", "voc", "yolo", "vgg", "40 images", "10 fractured", "1 reading problem",
                 "Annotations/YOLO/IMG0000019.txt:1"):  # fmt: skip
        assert text in out, text
    code, s = _json(capsys, str(tmp_path))
    (p,) = s["problems"]
    assert p["file"] == "Annotations/YOLO/IMG0000019.txt" and p["line"] == 1 and p["source"] == "yolo"
    assert p["location"].startswith("Annotations/YOLO/IMG0000019.txt:1")


def test_reader_folder(capsys) -> None:
    code, s = _json(capsys, str(FIXTURES / "readers" / "reader-2"))
    m = json.loads((FIXTURES / "readers" / "manifest.json").read_text())
    r2 = m["readers"]["reader-2"]
    assert code == 0 and s["format"] == "makesense" and sorted(s["sources"]) == sorted(r2["files"])
    for name, src in s["sources"].items():
        assert src["objects"] == r2["objects"] and Path(src["file"]).name == r2["files"][name]
        assert src["images_with_objects"] == r2["images_with_objects"]


def test_format_and_names_options(tmp_path: Path, capsys) -> None:
    f = tmp_path / "boxes.dat"
    f.write_bytes(b"0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1")
    code, s = _json(capsys, str(f), "--format", "yolo", "--names", "fractured,hardware")
    assert code == 0 and s["sources"]["yolo"]["labels"] == ["fractured", "hardware"]
    assert s["sources"]["yolo"]["normalized"] == 2  # no image sizes known: stays normalised


@pytest.mark.parametrize(
    ("name", "data"),
    [("missing.json", None), ("garbage.json", b"\x00\x01 not json"), ("garbage.bin", b"\x89\x00junk"), ("empty.csv", b"")],
    ids=["missing", "garbage-json", "unknown", "empty-csv"],
)
def test_unreadable_input_exits_2_without_traceback(tmp_path: Path, capsys, name: str, data: bytes | None) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    code = main(["info", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err + captured.out and "cannot read" in " ".join(captured.err.split())


def test_bad_format_option_exits_2(capsys) -> None:
    assert main(["info", str(MINI), "--format", "cocoa"]) == 2
    assert "did you mean 'coco'" in " ".join(capsys.readouterr().err.split())


def test_help_teaches_with_an_example(capsys) -> None:
    assert main(["info", "--help"]) == 0
    out = capsys.readouterr().out
    assert "fracatlas-annot info fixtures/fracatlas-mini" in out and "--json" in out and "Exit codes" in out


def test_source_columns_survive_80_columns_with_a_long_label_list(tmp_path: Path) -> None:
    """At 80 columns every column stays (source, format, geometry, counts) and the labels wrap
    inside their own column. Run in a child process: the console reads COLUMNS when imported."""
    import os
    import subprocess
    import sys

    labels = ["hairline fracture", "displaced fracture", "comminuted fracture", "greenstick fracture",
              "avulsion fracture", "orthopaedic plate", "screw"]  # fmt: skip
    doc = {
        "info": {"description": "p"},
        "images": [{"id": i + 1, "width": 100, "height": 100, "file_name": f"IMG{i:07d}.jpg"} for i in range(len(labels))],
        "annotations": [{"id": i, "iscrowd": 0, "image_id": i + 1, "category_id": i + 1, "segmentation": [[10, 10, 40, 10, 40, 40, 10, 40]],
                         "bbox": [10, 10, 30, 30], "area": 900} for i in range(len(labels))],
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(labels)],
    }  # fmt: skip
    export = tmp_path / "labels_p_2024-01-01-10-00-00.json"
    export.write_text(json.dumps(doc))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-c", "import sys; from fracatlas_annot.cli import main; sys.exit(main(sys.argv[1:]))",
                           "info", str(export)], capture_output=True, text=True, env=env, cwd=root, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.startswith("source"))
    assert header.split() == ["source", "format", "geometry", "objects", "images", "with", "objects", "labels"]
    row = lines[lines.index(header) + 1]
    assert row.split()[:6] == ["coco", "coco", "polygon", "7", "7", "7"]
    col = header.index("labels")
    table = lines[lines.index(header) + 1 : lines.index(header) + 1 + len(labels)]
    wrapped = " ".join(line[col:].strip() for line in table if line[:col].strip() in ("", row[:col].strip()))
    assert all(name in wrapped for name in labels)  # every label shown, none cut with an ellipsis
    assert "…" not in proc.stdout
