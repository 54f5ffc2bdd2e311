"""``github`` and ``gitlab`` outputs, read back the way GitHub and GitLab read them."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from fracatlas_annot.report.outputs import render
from fracatlas_annot.report.outputs.ci import GITLAB_SEVERITY

from .conftest import ROOT, assert_places

# GitHub's workflow-command grammar: ::command k=v,k=v::message. Property values carry no raw
# `,` `:` `%` CR LF (escaped as %2C %3A %25 %0D %0A); the message carries no raw `%` CR LF.
_ESC = r"(?:%25|%0D|%0A|%3A|%2C)"
_VALUE = rf"(?:[^,:%\r\n]|{_ESC})*"
_PROPERTY = rf"(?:file|line|endLine|col|endColumn|title)={_VALUE}"
WORKFLOW_COMMAND = re.compile(
    rf"^::(?P<command>error|warning|notice)(?: (?P<props>{_PROPERTY}(?:,{_PROPERTY})*))?::"
    r"(?P<message>(?:[^%\r\n]|%25|%0D|%0A)*)$"
)
GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: bytes.fromhex(m[1]).decode(), text)


def parse_github(text: str) -> list[dict[str, Any]]:
    """Each line through the grammar: command, unescaped properties and message."""
    out = []
    for line in text.splitlines():
        m = WORKFLOW_COMMAND.match(line)
        assert m, f"not a workflow command: {line!r}"
        props = {}
        if m["props"]:
            for part in m["props"].split(","):
                key, _, value = part.partition("=")
                props[key] = _unescape(value)
        out.append({"command": m["command"], **props, "message": _unescape(m["message"])})
    return out


def test_github_one_command_per_finding_on_the_finding_file_and_line(defects_doc) -> None:
    text = render(defects_doc, "github", cwd=ROOT)
    commands = parse_github(text)
    findings = defects_doc["findings"]
    assert len(commands) == len(findings) == len(text.splitlines())
    for c, f in zip(commands, findings):
        assert c["command"] == GITHUB_COMMAND[f["severity"]]
        assert c["title"] == f"{f['code']} ({f['name']})"
        assert f["message"] in c["message"]
        if f["image"]:
            assert c["message"].startswith(f["image"])
        if f["file"] is None:
            assert "file" not in c and "line" not in c
    assert_places(
        defects_doc,
        [(f["code"], c.get("file"), int(c["line"]) if "line" in c else None) for c, f in zip(commands, findings)],
    )
    # every severity of the fixture is there, as its command
    assert {c["command"] for c in commands} == {"error", "warning", "notice"}


def test_github_escapes_data_and_properties() -> None:
    doc = {
        "summary": {"dataset": None, "sources": {}},
        "findings": [
            {"code": "FA003", "name": "invalid-field-value", "severity": "error", "image": "a.jpg", "source": "yolo",
             "message": "100% off\r\nnext: line, end", "location": "x", "file": "odd,name: 50%.txt", "line": 3,
             "loc": None, "related": ["a.jpg", "b,c.jpg"]},
        ],
    }  # fmt: skip
    line = render(doc, "github")
    assert line.count("\n") == 1 and "\r" not in line
    assert "file=odd%2Cname%3A 50%25.txt,line=3," in line
    assert "::a.jpg [yolo]: 100%25 off%0D%0Anext: line, end (related: a.jpg, b,c.jpg)" in line
    (c,) = parse_github(line)
    assert c["file"] == "odd,name: 50%.txt" and c["message"].startswith("a.jpg [yolo]: 100% off\r\nnext: line, end")


def test_github_group_finding_names_every_related_image() -> None:
    doc = {
        "summary": {"dataset": "ds", "sources": {}},
        "findings": [
            {"code": "FA601", "name": "byte-identical-images", "severity": "warning", "image": "a.jpg", "source": None,
             "message": "2 images are byte-identical", "location": None, "file": None, "line": None, "loc": None,
             "related": ["a.jpg", "b.jpg"]},
        ],
    }  # fmt: skip
    (c,) = parse_github(render(doc, "github"))
    assert c["command"] == "warning" and c["message"].endswith("(related: a.jpg, b.jpg)")


def parse_gitlab(text: str) -> list[dict[str, Any]]:
    """The report as GitLab reads it: a list of issues with the required fields and types."""
    issues = json.loads(text)
    assert isinstance(issues, list)
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in GITLAB_SEVERITIES
        assert isinstance(issue["location"]["path"], str) and issue["location"]["path"]
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    return issues


def test_gitlab_code_quality_report(defects_doc) -> None:
    issues = parse_gitlab(render(defects_doc, "gitlab", cwd=ROOT))
    findings = defects_doc["findings"]
    assert len(issues) == len(findings)
    for issue, f in zip(issues, findings):
        assert issue["check_name"] == f["code"]
        assert issue["severity"] == GITLAB_SEVERITY[f["severity"]]
        assert f["message"] in issue["description"] and issue["description"].startswith(f"{f['code']} {f['name']}")
    places = []
    for issue, f in zip(issues, findings):
        path = issue["location"]["path"]
        if f["file"] is None:  # placed on the dataset folder, line 1
            assert (ROOT / path).resolve() == (ROOT / "fixtures/defects").resolve()
            path = None
        line = issue["location"]["lines"]["begin"] if f["line"] is not None and ".zip!" not in f["file"] else None
        if line is None and path is not None:
            assert issue["location"]["lines"]["begin"] == 1
        places.append((f["code"], path, line))
    assert_places(defects_doc, places)


def test_gitlab_fingerprints_hash_the_finding_not_its_position(defects_doc) -> None:
    issues = parse_gitlab(render(defects_doc, "gitlab", cwd=ROOT))
    by_finding = {json.dumps(f, sort_keys=True): i["fingerprint"] for f, i in zip(defects_doc["findings"], issues)}
    shuffled = dict(defects_doc, findings=list(defects_doc["findings"]))
    random.Random(7).shuffle(shuffled["findings"])
    again = parse_gitlab(render(shuffled, "gitlab", cwd=ROOT))
    assert {json.dumps(f, sort_keys=True): i["fingerprint"] for f, i in zip(shuffled["findings"], again)} == by_finding
    # a changed message is a new issue; two identical findings are still two issues
    edited = dict(defects_doc, findings=[dict(defects_doc["findings"][0], message="other")])
    assert parse_gitlab(render(edited, "gitlab", cwd=ROOT))[0]["fingerprint"] != issues[0]["fingerprint"]
    twice = dict(defects_doc, findings=[defects_doc["findings"][0]] * 2)
    assert len(parse_gitlab(render(twice, "gitlab", cwd=ROOT))) == 2


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
def test_dataset_level_finding_without_a_file(fmt) -> None:
    doc = {
        "summary": {"dataset": "data/set", "sources": {}},
        "findings": [
            {"code": "FA806", "name": "reader-agreement-summary", "severity": "info", "image": None, "source": None,
             "message": "kappa 0.8", "location": None, "file": None, "line": None, "loc": None, "related": []},
        ],
    }  # fmt: skip
    out = render(doc, fmt)
    if fmt == "github":
        assert out == "::notice title=FA806 (reader-agreement-summary)::kappa 0.8\n"
    else:
        (issue,) = parse_gitlab(out)
        assert issue["location"] == {"path": "data/set", "lines": {"begin": 1}} and issue["severity"] == "info"


def test_a_finding_inside_a_zip_points_at_the_zip_and_names_the_entry(tmp_path) -> None:
    """A makesense YOLO zip read in place: the annotation is on the zip (GitHub cannot open an
    entry), without the entry's line number; the entry and its line are in the message."""
    import zipfile

    from fracatlas_annot.formats import read
    from fracatlas_annot.validate import to_json, validate_with_dataset

    z = tmp_path / "labels_x_2024-03-23-07-10-18.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("IMG0000019.txt", "0 0.403913 0.490768 0.161542 0.099541\n5 0.5 0.5 0.1 0.1\n")
    ds, findings = validate_with_dataset(read(z, names=["fractured"]), select=["FA009"], progress=False)
    doc = to_json(findings, ds)
    (f,) = doc["findings"]
    assert (f["file"], f["line"]) == (f"{z.name}!IMG0000019.txt", 2)
    (c,) = parse_github(render(doc, "github", cwd=tmp_path))
    assert c["file"] == z.name and "line" not in c
    assert c["message"].endswith(f"(at {z.name}!IMG0000019.txt:2)")
    (issue,) = parse_gitlab(render(doc, "gitlab", cwd=tmp_path))
    assert issue["location"] == {"path": z.name, "lines": {"begin": 1}}
