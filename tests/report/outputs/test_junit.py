"""``junit`` output, read with junitparser."""

from __future__ import annotations

from junitparser import Failure, JUnitXml

from fracatlas_annot.report.outputs import render

from .conftest import ROOT, assert_places


def _cases(text: str, tmp_path) -> list:
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    return [case for suite in xml for case in suite]


def test_a_test_case_per_rule_and_a_failure_per_finding(defects_doc, tmp_path) -> None:
    cases = _cases(render(defects_doc, "junit", cwd=ROOT), tmp_path)
    codes = defects_doc["summary"]["codes_run"]
    assert [c.name.split(" ")[0] for c in cases] == sorted(codes)
    findings = defects_doc["findings"]
    places = []
    for case in cases:
        code, name = case.name.split(" ", 1)
        mine = [f for f in findings if f["code"] == code]
        failing = [f for f in mine if f["severity"] in ("error", "warning")]
        failures = [r for r in case.result if isinstance(r, Failure)]
        assert len(failures) == len(failing), code
        assert case.is_passed == (not failing)
        for fail, f in zip(failures, failing):
            assert fail.type == f["severity"]
            assert f["message"] in fail.message and f["message"] in fail.text
            assert f["name"] == name
            assert all(r in fail.text for r in f["related"])
        for f in mine:
            if f["severity"] == "info":  # infos do not fail: they are the case's output
                assert f["message"] in case.system_out
        places += [(code, f, fail.message) for fail, f in zip(failures, failing)]
    # a failure's message opens with the finding's location
    got = []
    for code, f, message in places:
        where = message.split(": ", 1)[0]
        if f["file"] is None:
            got.append((code, None, None))
        elif f["line"] is not None and ".zip!" not in f["file"]:
            path, line = where.rsplit(":", 1)
            got.append((code, path, int(line)))
        else:
            got.append((code, where.split(" (", 1)[0], None))
    failing_doc = dict(defects_doc, findings=[f for f in findings if f["severity"] != "info"])
    assert_places(failing_doc, got)
    # passing rules are passing test cases: every code that ran without error or warning
    quiet = {c for c in codes if not any(f["code"] == c and f["severity"] != "info" for f in findings)}
    assert {c.name.split(" ")[0] for c in cases if c.is_passed} == quiet


def test_hostile_text_still_makes_well_formed_xml(tmp_path) -> None:
    doc = {
        "summary": {"dataset": "ds", "codes_run": ["FA012"], "sources": {}},
        "findings": [
            {"code": "FA012", "name": "label-name-mismatch", "severity": "error", "image": "a.jpg", "source": "voc",
             "message": "label `\x01<x>&\x00` unknown", "location": None, "file": None, "line": None, "loc": None,
             "related": []},
        ],
    }  # fmt: skip
    (case,) = _cases(render(doc, "junit"), tmp_path)
    (fail,) = case.result
    assert "label `\\x01<x>&\\x00` unknown" in fail.message
