"""`fracatlas-annot convert`: class map printed, summary, --json, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

from fracatlas_annot.cli import main

from _mini import MINI


def test_convert_prints_class_map_and_summary(tmp_path, capsys):
    code = main(["convert", str(MINI), str(tmp_path / "seg"), "--to", "yolo-seg", "--source", "coco", "--no-duplicates"])
    out = capsys.readouterr().out
    assert code == 0
    assert "coco id 0 'fractured' -> class 0" in out  # FracAtlas v6 numbers its category from 0
    assert "train" in out and "val" in out and "test" in out
    assert (tmp_path / "seg" / "manifest.json").exists()


def test_convert_json_is_the_manifest(tmp_path, capsys):
    code = main(["convert", str(MINI), str(tmp_path / "c"), "--to", "coco", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert doc["counts"]["images_out"] == 40 and doc["counts"]["objects_out"] == 13


def test_existing_target_exit_2(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("x")
    assert main(["convert", str(MINI), str(tmp_path / "o"), "--to", "coco"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", str(MINI), str(tmp_path / "o"), "--to", "coco", "--overwrite"]) == 0


def test_lossy_exit_1_names_each_case(tmp_path, capsys):
    code = main(["convert", str(MINI), str(tmp_path / "o"), "--to", "yolo-seg", "--source", "voc", "--split", "none"])
    err = capsys.readouterr().err
    assert code == 1
    cases = [ln for ln in err.splitlines() if ln.startswith("  - ")]
    assert len(cases) == 13 and all("box-as-polygon" in c for c in cases)
    assert "Annotations/PASCAL VOC/IMG0000030.xml" in err and "/annotation/object[3]" in err
    assert not (tmp_path / "o").exists()
    code = main(["convert", str(MINI), str(tmp_path / "o"), "--to", "yolo-seg", "--source", "voc", "--split", "none", "--allow-lossy"])
    assert code == 0


def test_bad_options_exit_2(tmp_path, capsys):
    assert main(["convert", str(MINI), str(tmp_path / "o"), "--to", "yolo"]) == 2
    assert main(["convert", str(MINI), str(tmp_path / "o"), "--to", "coco", "--source", "cocoo"]) == 2
    assert "did you mean 'coco'" in " ".join(capsys.readouterr().err.split())
    assert main(["convert", str(MINI), str(tmp_path / "o"), "--to", "yolo-seg", "--split", "stratified", "--ratios", "0.5,0.6"]) == 2
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "o"), "--to", "coco"]) == 2


def test_help_has_an_example(capsys):
    assert main(["convert", "--help"]) == 0
    assert "fracatlas-annot convert fixtures/fracatlas-mini --to yolo-seg" in capsys.readouterr().out


def test_bad_ratios_and_seed_exit_2_with_a_clear_message(tmp_path, capsys):
    """Issue 12: --ratios a,b,c and --seed -1 are usage errors (exit 2), not internal errors."""
    base = ["convert", str(MINI), str(tmp_path / "o"), "--to", "yolo-detect", "--split", "stratified"]
    assert main([*base, "--ratios", "a,b,c"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "ratios must be 2 or 3 numbers" in err and "'a,b,c'" in err and "internal error" not in err
    assert main([*base, "--seed", "-1"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--seed" in err and "-1" in err and "internal error" not in err
    assert not (tmp_path / "o").exists()


def test_api_refuses_a_negative_seed(tmp_path):
    import pytest

    from fracatlas_annot.convert import convert
    from fracatlas_annot.errors import UsageError

    with pytest.raises(UsageError, match="seed must be an integer"):
        convert(MINI, to="yolo-detect", out=tmp_path / "o", split="stratified", seed=-1, progress=False)
