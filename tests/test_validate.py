"""validate() end to end on the committed fixtures, read with the real readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fracatlas_annot.checks.registry import FINDING_COLUMNS, location
from fracatlas_annot.errors import UsageError
from fracatlas_annot.validate import SCHEMA, ValidationResult, validate

ROOT = Path(__file__).resolve().parents[1]
DEFECTS = ROOT / "fixtures/defects"
MINI = ROOT / "fixtures/fracatlas-mini"
V7 = ROOT / "fixtures/fracatlas-v7"


@pytest.fixture(scope="module")
def defects() -> ValidationResult:
    return validate(DEFECTS, progress=False)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DEFECTS / "manifest.json").read_text())


def test_every_planted_defect_is_reported_on_its_image(defects, manifest) -> None:
    f = defects.findings
    got = {(c, i if isinstance(i, str) else None) for c, i in zip(f["code"], f["image"])}
    missing = [d for d in manifest["defects"] if (d["code"], d["image"]) not in got]
    assert missing == []
    for d in manifest["defects"]:
        rows = f[(f["code"] == d["code"]) & ((f["image"] == d["image"]) if d["image"] else f["image"].isna())]
        if d["source"]:
            assert d["source"] in set(rows["source"]), d
        if "severity" in d:
            assert set(rows["severity"]) == {d["severity"]}, d


def test_clean_images_of_the_defects_archive_stay_silent(defects, manifest) -> None:
    f = defects.findings
    loud = f[f["image"].isin(manifest["clean_images"]) & f["severity"].isin(["error", "warning"])]
    assert loud.empty, loud[["code", "image", "message"]].to_string()


@pytest.mark.parametrize("path", [MINI, V7], ids=["mini", "v7"])
def test_legitimate_oddities_get_no_warning_or_error(path: Path) -> None:
    f = validate(path, progress=False).findings
    loud = f[f["severity"].isin(["error", "warning"])]
    if path == V7:  # the stray copies are the only defect of v7
        assert set(loud["code"]) == {"FA406"}
        stray = json.loads((V7 / "manifest.json").read_text())["stray_copies"]
        assert sorted(loud["image"]) == sorted(stray)
    else:
        assert loud.empty, loud[["code", "image", "message"]].to_string()
    # the EXIF-rotated images and the JPEGs padded after their end marker are listed as info,
    # nothing else
    info = f[f["severity"] == "info"]
    mini_manifest = json.loads((MINI / "manifest.json").read_text())
    assert set(info["code"]) == {"FA505", "FA509"}
    assert set(info.loc[info["code"] == "FA505", "image"]) == set(_orientation(mini_manifest))
    assert sorted(info.loc[info["code"] == "FA509", "image"]) == sorted(mini_manifest["bytes_after_end_of_image"])


def _orientation(m: dict) -> list[str]:
    o = m.get("orientation") or m.get("oddities", {}).get("orientation") or {}
    return list(o)


def test_fast_skips_pixel_rules_but_keeps_the_rest(defects) -> None:
    full = defects.findings
    result = validate(DEFECTS, fast=True, progress=False)
    fast = result.findings
    assert result.fast and not defects.fast
    pixel_rules = {"FA507", "FA602", "FA603"}  # blank image, identical pixels, near duplicates
    assert pixel_rules <= set(defects.rules_run) and not (pixel_rules & set(result.rules_run))
    assert result.summary["rules_run"] == len(result.rules_run) == len(defects.rules_run) - len(pixel_rules)
    assert not (pixel_rules & set(fast["code"]))
    assert {"FA507", "FA602", "FA603"} <= set(full["code"])
    # byte groups (size collisions only), header errors and header-level truncation stay
    assert {"FA601", "FA501", "FA502", "FA105", "FA504"} <= set(fast["code"])
    assert set(fast["code"]) <= set(full["code"])


def test_findings_table_shape(defects) -> None:
    f = defects.findings
    assert list(f.columns) == FINDING_COLUMNS
    assert str(f["object"].dtype) == "Int64" and str(f["line"].dtype) == "Int64"
    order = f["severity"].map({"error": 0, "warning": 1, "info": 2}).to_numpy()
    assert (order[:-1] <= order[1:]).all()


def test_json_document_schema(defects) -> None:
    f = defects.findings
    doc = json.loads(json.dumps(defects.to_json()))
    assert defects.dataset.root == DEFECTS and doc["summary"] == defects.summary
    assert doc["schema"] == SCHEMA
    s = doc["summary"]
    assert {
        "dataset",
        "format",
        "images",
        "sources",
        "rules_run",
        "fast",
        "errors",
        "warnings",
        "infos",
        "by_rule",
    } <= set(s)
    assert s["errors"] == int((f["severity"] == "error").sum())
    assert sum(s["by_rule"].values()) == len(doc["findings"]) == len(f)
    assert set(s["sources"]) == {"coco", "voc", "yolo", "vgg"}
    for item in doc["findings"]:
        assert set(item) == {
            "code", "name", "severity", "image", "source", "message", "location", "file", "line", "loc", "related",
        }  # fmt: skip
        assert item["location"] is None or isinstance(item["location"], str)
        assert item["location"] == location(item["file"], item["line"], item["loc"])
        assert isinstance(item["related"], list)
    groups = {i["code"]: i["related"] for i in doc["findings"] if i["related"]}
    assert groups == {
        "FA601": ["IMG0000041.jpg", "IMG0000044.jpg"],
        "FA602": ["IMG0000045.jpg", "IMG0000145.jpg"],
        "FA603": ["IMG0000047.jpg", "IMG0000049.jpg"],
    }  # every member of each duplicate group, not only the one the finding sits on
    assert s["codes_run"] == sorted(s["codes_run"]) and len(s["codes_run"]) == s["rules_run"]
    assert all(src["path"].startswith(str(DEFECTS)) for src in s["sources"].values())
    yolo = next(i for i in doc["findings"] if i["code"] == "FA003")
    assert yolo["location"].endswith(".txt:1")
    coco = next(i for i in doc["findings"] if i["code"] == "FA006")
    assert coco["location"].endswith("COCO_fracture_masks.json (annotations[6])")
    orphan = next(i for i in doc["findings"] if i["code"] == "FA007")
    assert orphan["image"] is None


def test_select_ignore_and_exit_codes(defects) -> None:
    result = validate(DEFECTS, select=["FA1"], ignore=["FA105"], fast=True, progress=False)
    f = result.findings
    assert set(f["code"]) <= {c for c in f["code"] if c.startswith("FA1")} and "FA105" not in set(f["code"])
    assert all(c.startswith("FA1") for c in result.rules_run) and "FA105" not in result.rules_run
    assert result.exit_code() == 1
    warn = ValidationResult(f[f["severity"] != "error"], result.dataset)
    assert set(warn.findings["severity"]) == {"warning"}
    assert warn.exit_code() == 0 and warn.exit_code(strict=True) == 1
    assert ValidationResult(f.iloc[:0]).exit_code(strict=True) == 0
    with pytest.raises(UsageError, match="unknown rule selector `FA9`"):
        validate(DEFECTS, select=["FA9"])


def test_accepts_a_dataset_object() -> None:
    from fracatlas_annot.formats import read

    ds = read(MINI)
    result = validate(ds, select=["FA5"], fast=True, progress=False)
    assert set(result.findings["code"]) == {"FA505", "FA509"} and result.dataset is ds
