"""The public API as a user reaches it: ``import fracatlas_annot as fa``; every function twice."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fracatlas_annot as fa

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures/fracatlas-mini"
READERS = ROOT / "fixtures/readers"

PUBLIC = ["read", "validate", "convert", "agree", "report", "render", "Dataset", "Source", "ValidationResult",
          "FracatlasError", "InputError", "UsageError", "UnknownFormat", "UnknownSourceError", "HeaderError",
          "LossyConversionError", "OutputExistsError"]  # fmt: skip


def test_read_twice() -> None:
    for _ in range(2):
        ds = fa.read(MINI)
        assert isinstance(ds, fa.Dataset) and len(ds.images) == 40
        assert isinstance(ds.source("coco"), fa.Source) and len(ds.source("coco").objects) == 13


def test_validate_twice() -> None:
    ds = fa.read(MINI)
    for _ in range(2):
        result = fa.validate(ds, fast=True, progress=False)
        assert isinstance(result, fa.ValidationResult)
        # the two EXIF-rotated images, the two JPEGs padded after their end marker (info)
        assert sorted(result.findings["code"].tolist()) == ["FA505", "FA505", "FA509", "FA509"]
        assert result.exit_code() == 0 and result.exit_code(strict=True) == 0
        doc = json.loads(json.dumps(result.to_json()))
        assert doc["schema"] == "fracatlas-annot/validate/1" and doc["summary"]["by_rule"] == {"FA505": 2, "FA509": 2}
        sarif = json.loads(fa.render(result.to_json(), "sarif"))
        assert sorted(r["ruleId"] for r in sarif["runs"][0]["results"]) == ["FA505", "FA505", "FA509", "FA509"]
        concise = [line for line in fa.render(doc, "concise").splitlines() if not line.startswith(("Found", " ")) and line]
        assert sorted(line.split(": ")[1].split()[0] for line in concise) == ["FA505", "FA505", "FA509", "FA509"]


def test_convert_twice(tmp_path: Path) -> None:
    ds = fa.read(MINI)
    for i in range(2):
        out = tmp_path / f"det{i}"
        manifest = fa.convert(ds, to="yolo-detect", out=out, source="voc", progress=False)
        assert manifest["counts"]["objects_out"] == 13 and manifest["counts"]["images_out"] == 40
        labels = sorted(out.glob("labels/*/*.txt"))
        assert len(labels) == 40 and sum(len(p.read_text().splitlines()) for p in labels) == 13
        assert (out / "data.yaml").is_file()


def test_agree_twice() -> None:
    for _ in range(2):
        result = fa.agree(READERS / "reader-1", READERS / "reader-2", meta=MINI / "dataset.csv")
        assert result.image_level["table"] == {"both_positive": 9, "a_only_positive": 1, "b_only_positive": 1,
                                               "both_negative": 29}  # fmt: skip
        assert result.image_level["kappa"] == pytest.approx(0.8667, abs=1e-4)


def test_report_twice(tmp_path: Path) -> None:
    """Once running the rules, once on what ``validate`` already found (its summary kept)."""
    ds = fa.read(MINI)
    result = fa.validate(ds, select="FA5", fast=True, progress=False)
    for i, findings in enumerate([None, result]):
        page = tmp_path / f"report{i}.html"
        data = fa.report(ds, out_html=page, findings=findings, fast=True, progress=False)
        assert data["summary"]["by_rule"] == {"FA505": 2, "FA509": 2} and data["summary"]["images"] == 40
        assert page.stat().st_size == data["html"]["bytes"] and b"FA505" in page.read_bytes()
    assert data["summary"] == result.summary and data["summary"]["rules_run"] == len(result.rules_run) == 7  # FA501-FA506 and FA509 (FA507 needs pixels)


def test_error_classes_are_public_and_raised() -> None:
    for name in ("InputError", "UsageError", "UnknownFormat", "UnknownSourceError", "HeaderError",
                 "LossyConversionError", "OutputExistsError"):  # fmt: skip
        assert issubclass(getattr(fa, name), fa.FracatlasError), name
    with pytest.raises(fa.InputError, match="no such file or folder"):
        fa.read(ROOT / "no-such-dataset")
    ds = fa.read(MINI)
    with pytest.raises(fa.UnknownSourceError, match="did you mean 'coco'") as info:
        ds.source("cocoo")
    assert isinstance(info.value, KeyError) and isinstance(info.value, fa.UsageError)
    assert str(info.value).startswith("no source named 'cocoo'")  # not quoted as a KeyError would be
    with pytest.raises(fa.UsageError, match="unknown rule selector"):
        fa.validate(ds, select="FA9")


def test_dir_lists_the_public_names() -> None:
    names = dir(fa)
    assert set(PUBLIC) <= set(names) and set(PUBLIC) <= set(fa.__all__)
    assert not {"importlib", "sys", "types", "Any"} & set(names)


def test_a_fresh_interpreter_keeps_the_functions_whatever_is_imported_first() -> None:
    """Importing the modules that share a function's name (in any way) never shadows it, and
    ``import fracatlas_annot`` loads neither pandas nor a submodule with weight."""
    script = textwrap.dedent(
        """
        import importlib, sys, types
        import fracatlas_annot as fa
        heavy = sorted(m for m in ("pandas", "numpy", "shapely", "fracatlas_annot.formats") if m in sys.modules)
        import fracatlas_annot.convert
        from fracatlas_annot.report import build_report
        validate_module = importlib.import_module("fracatlas_annot.validate")
        kinds = {n: type(getattr(fa, n)).__name__ for n in ("read", "validate", "convert", "agree", "report")}
        first = fa.validate
        import fracatlas_annot.validate
        print({"heavy": heavy, "kinds": kinds, "same": fa.validate is first is validate_module.validate,
               "report": fa.report is build_report})
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    got = eval(out.stdout)  # noqa: S307 - our own script's dict literal
    assert got == {"heavy": [], "kinds": dict.fromkeys(("read", "validate", "convert", "agree", "report"), "function"),
                   "same": True, "report": True}  # fmt: skip
