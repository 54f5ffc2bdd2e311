"""The `validate` and `rules` commands through cli.main (no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fracatlas_annot.cli import main

ROOT = Path(__file__).resolve().parents[1]
MINI = str(ROOT / "fixtures/fracatlas-mini")
DEFECTS = str(ROOT / "fixtures/defects")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_archive_exits_0_with_a_summary_per_source(capsys) -> None:
    code, out, _ = run(capsys, "validate", MINI, "--no-progress")
    assert code == 0
    for line in (
        "coco       coco   polygon     10 images      13 objects  clean",
        "voc        voc    box         40 images      13 objects  clean",
    ):
        assert line in out
    assert "FA505 exif-orientation (2)" in out
    assert "Found 0 errors, 0 warnings, 4 infos" in out  # FA505 x 2 (EXIF), FA509 x 2 (padded JPEGs)


def test_defects_exit_1_grouped_by_rule_with_location(capsys) -> None:
    code, out, _ = run(capsys, "validate", DEFECTS, "--fast", "--no-progress", "--limit", "1")
    assert code == 1
    assert "FA105 object-outside-image (1)" in out
    assert "reaches 0.4 px past the right border" in " ".join(out.split())  # wrapped to the terminal
    assert "Annotations/YOLO/" in out and ".txt:1: FA" in out  # file:line locations open the line
    assert "... and" in out and "--limit 0" in out


def test_json_output_is_the_documented_document(capsys) -> None:
    code, out, _ = run(capsys, "validate", DEFECTS, "--fast", "--format", "json", "--select", "FA1")
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == "fracatlas-annot/validate/1"
    assert doc["summary"]["fast"] is True and doc["summary"]["rules_run"] == 9
    assert {f["code"][:3] for f in doc["findings"]} == {"FA1"}
    f105 = next(f for f in doc["findings"] if f["code"] == "FA105")
    assert f105 == {
        "code": "FA105",
        "name": "object-outside-image",
        "severity": "error",
        "image": f105["image"],
        "source": "coco",
        "message": f105["message"],
        "location": f"Annotations/COCO JSON/COCO_fracture_masks.json ({f105['location'].split('(')[1]}",
        "file": "Annotations/COCO JSON/COCO_fracture_masks.json",
        "line": None,
        "loc": f105["location"].split("(")[1].rstrip(")"),
        "related": [],
    }
    _, out2, _ = run(capsys, "validate", DEFECTS, "--fast", "--json", "--select", "FA1")
    assert json.loads(out2)["findings"] == doc["findings"]


def test_strict_makes_warnings_fail(capsys) -> None:
    args = ["validate", DEFECTS, "--fast", "--no-progress", "--select", "FA014,FA107"]  # warnings only
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args, "--strict")[0] == 1


def test_ignore_everything_is_clean(capsys) -> None:
    code, out, _ = run(capsys, "validate", DEFECTS, "--fast", "--no-progress", "--ignore", "FA")
    assert code == 0 and "No findings." in out


@pytest.mark.parametrize(
    "argv, message",
    [
        pytest.param(["validate", MINI, "--select", "FA9"], "unknown rule selector `FA9` in --select", id="bad-select"),
        pytest.param(
            ["validate", MINI, "--ignore", "FA1O5"],
            "unknown rule selector `FA1O5` in --ignore; did you mean",
            id="bad-ignore",
        ),
        pytest.param(["rules", "FA999"], "unknown rule `FA999`", id="bad-rule"),
    ],
)
def test_usage_errors_exit_2_without_traceback(capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err.replace("\n", " ")
    assert "Traceback" not in out + err


def test_unreadable_input_exits_2(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "labels.bin"
    junk.write_bytes(b"\x00\x01 not an annotation export")
    code, out, err = run(capsys, "validate", str(junk), "--no-progress")
    assert code == 2
    assert "Traceback" not in out + err and err.strip()


def test_rules_table_and_json(capsys) -> None:
    from fracatlas_annot.checks import load_all

    codes = sorted(load_all())
    code, out, _ = run(capsys, "rules")
    assert code == 0
    for c in codes:
        assert c in out
    code, out, _ = run(capsys, "rules", "--json")
    rules = json.loads(out)
    assert [r["code"] for r in rules] == codes
    assert set(rules[0]) == {"code", "name", "severity", "family", "summary", "explanation", "status", "needs_pixels"}


@pytest.mark.parametrize("key", ["FA105", "fa105", "object-outside-image"])
def test_rules_code_prints_header_and_explanation(capsys, key: str) -> None:
    code, out, _ = run(capsys, "rules", key)
    assert code == 0
    assert out.startswith("# object-outside-image (FA105)\n")
    for heading in ("## What it does", "## Why is this bad?", "## Example"):
        assert heading in out
    assert "1.0000000000000002" in out and "5e-7" in out


def test_rules_explain_coco_negatives_by_design(capsys) -> None:
    _, out, _ = run(capsys, "rules", "FA304")
    assert "makesense drops negative images from its COCO" in out.replace("\n", " ")


def test_help_has_examples(capsys) -> None:
    code, out, _ = run(capsys, "validate", "--help")
    assert code == 0 and "fracatlas-annot validate fixtures/fracatlas-mini" in out and "Exit codes" in out


def test_readers_add_the_fa8_family_without_cross_format_noise(capsys) -> None:
    """Two readers' exports next to the final labels: the FA8 rules report where they disagree;
    the cross-format and dataset.csv rules judge only the final labels (no FA3/FA4 noise)."""
    import json as _json

    from fracatlas_annot.cli import main

    root = Path(__file__).resolve().parents[1] / "fixtures"
    code = main([
        "validate", str(root / "fracatlas-mini"), "--fast", "--format", "json",
        "--readers", str(root / "readers" / "reader-1"), str(root / "readers" / "reader-2"),
    ])  # fmt: skip
    doc = _json.loads(capsys.readouterr().out)
    codes = {f["code"] for f in doc["findings"]}
    assert code == 0  # reader disagreement is a warning, not an error
    assert {"FA801", "FA802", "FA803"} <= codes
    assert not {c for c in codes if c.startswith(("FA2", "FA3", "FA4"))}
    assert "reader-1/coco" in doc["summary"]["sources"] and "reader-2/voc" in doc["summary"]["sources"]


@pytest.mark.parametrize(
    "data, expected",
    [
        pytest.param(b"\xff\xfe garbage", "not UTF-8: invalid byte 0xff at byte offset 0", id="not-utf8"),
        pytest.param(b'{"images": [', "invalid JSON", id="truncated"),
        pytest.param(b"[1, 2]", "top level is a JSON list", id="list"),
    ],
)
def test_unreadable_json_exits_2_naming_the_problem(tmp_path, capsys, data, expected) -> None:
    from fracatlas_annot.cli import main

    path = tmp_path / "labels_x_2024-03-23-07-10-18.json"
    path.write_bytes(data)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in " ".join(err.split())  # rich may wrap the line
    assert "Traceback" not in err


def test_yolo_zip_names_and_unsafe_entry(tmp_path, capsys) -> None:
    """--names gives a makesense YOLO zip its classes; a '../' entry is an error (exit 1), never extracted."""
    import json as _json
    import zipfile

    from fracatlas_annot.cli import main

    z = tmp_path / "labels_x_2024-03-23-07-10-18.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("../evil.txt", "0 0.500000 0.500000 0.100000 0.100000")
        zf.writestr("IMG0000019.txt", "0 0.403913 0.490768 0.161542 0.099541")
    code = main(["validate", str(z), "--names", "fractured", "--fast", "--format", "json"])
    doc = _json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["code"] for f in doc["findings"] if f["severity"] == "error"] == ["FA004"]
    assert doc["findings"][0]["location"].endswith("!../evil.txt")
    assert not (tmp_path.parent / "evil.txt").exists()
