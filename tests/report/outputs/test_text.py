"""``text`` (80 columns), ``concise``, ``json-lines`` and the ``--output-format`` option."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from fracatlas_annot.cli import main
from fracatlas_annot.report.outputs import OUTPUT_FORMATS, render, text_lines
from fracatlas_annot.report.outputs._common import Locator

from .conftest import ROOT, assert_places


def _starts(doc, cwd=ROOT) -> list[str]:
    """What each finding's first line must open with: its location, whole."""
    loc = Locator(doc, cwd)
    out = []
    for f in doc["findings"]:
        w = loc.where(f)
        if w.path is None:
            out.append(f"{loc.dataset_path}: {f['code']}")
        elif w.line is None and w.detail:
            out.append(w.path)  # the "(annotations[6]):" part may open the next line
        else:
            out.append(f"{w.text()}: {f['code']}")
    return out


def test_text_at_80_columns_keeps_every_location_with_its_finding(defects_doc) -> None:
    lines = [t.plain for t in text_lines(defects_doc, width=80, limit=0, cwd=ROOT)]
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    starts = _starts(defects_doc)
    finding_lines = [n for n, line in enumerate(lines) if line.startswith("  ") and not line.startswith("   ")]
    finding_lines = [n for n in finding_lines if not lines[n].startswith("  ... and")]
    finding_lines = finding_lines[len(defects_doc["summary"]["sources"]):]  # the per-source header lines
    by_code: dict[str, list[str]] = {}
    for s, f in zip(starts, defects_doc["findings"]):
        by_code.setdefault(f["code"], []).append(s)
    expected = [s for code in sorted(by_code) for s in by_code[code]]  # text groups by rule, in code order
    assert len(finding_lines) == len(expected)
    for n, start in zip(finding_lines, expected):
        assert lines[n].startswith("  " + start), (lines[n], start)
        # its continuation lines follow, indented; nothing else comes between
        i = n + 1
        while i < len(lines) and lines[i].startswith("      "):
            i += 1
        assert i == len(lines) or not lines[i].startswith(" " * 3)
    # and the words of every message are all there, in order
    flat = " ".join(" ".join(lines).split())
    for f in defects_doc["findings"]:
        assert " ".join(f["message"].split()) in flat


def test_cli_text_follows_the_terminal_width() -> None:
    """`validate` in a subprocess with COLUMNS=80 (rich reads it): every finding line opens
    with its location and code, and nothing is wider than 80."""
    env = dict(os.environ, COLUMNS="80", NO_COLOR="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", "from fracatlas_annot.cli import entrypoint; entrypoint()", "validate", "fixtures/defects", "--fast", "--no-progress",
         "--select", "FA0,FA1,FA7", "--limit", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    firsts = [line for line in lines if line.startswith("  fixtures/defects/")]
    assert len(firsts) == int(lines[-1].split()[1]) + int(lines[-1].split()[3])  # errors + warnings
    code = re.compile(r"^\S.*?: FA\d{3} (error|warning|info)\b")
    for n, line in enumerate(lines):
        if line.startswith("  fixtures/defects/"):  # the location, whole, then its code: on this line,
            nxt = lines[n + 1]  # or opening the next one (after a long path, its JSON index may too)
            assert (
                code.match(line[2:])
                or (line.endswith(":") and re.match(r"^ {6}FA\d{3} ", nxt))
                or (nxt.startswith("      (") and code.match(nxt[6:]))
            ), (line, nxt)


def test_concise_is_one_line_per_finding(defects_doc) -> None:
    text = render(defects_doc, "concise", cwd=ROOT)
    lines = text.splitlines()
    assert len(lines) == len(defects_doc["findings"]) + 1 and lines[-1].startswith("Found ")
    for line, start, f in zip(lines, _starts(defects_doc), defects_doc["findings"]):
        assert line.startswith(start) and f"{f['code']} {f['severity']}" in line and line.endswith(f["message"])
    places = []
    for line, f in zip(lines, defects_doc["findings"]):
        head = line.split(f": {f['code']} ", 1)[0]
        if f["file"] is None:
            places.append((f["code"], None, None))
        elif f["line"] is not None and ".zip!" not in f["file"]:
            path, n = head.rsplit(":", 1)
            places.append((f["code"], path, int(n)))
        else:
            places.append((f["code"], head.split(" (", 1)[0], None))
    assert_places(defects_doc, places)


def test_json_lines_is_the_findings_one_per_line(defects_doc) -> None:
    lines = render(defects_doc, "json-lines").splitlines()
    assert [json.loads(line) for line in lines] == defects_doc["findings"]


@pytest.mark.parametrize("fmt", [f for f in OUTPUT_FORMATS if f != "text"])
def test_cli_output_formats_and_exit_codes(capsys, monkeypatch, fmt) -> None:
    monkeypatch.chdir(ROOT)
    args = ["validate", "fixtures/defects", "--fast", "--no-progress", "--select", "FA00,FA601"]
    assert main([*args, "--output-format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert main([*args, "--output-format", fmt]) == 1  # exit codes do not depend on the format
    assert capsys.readouterr().out == render(doc, fmt)


def test_format_json_stays_an_alias(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    args = ["validate", "fixtures/fracatlas-mini", "--fast", "--no-progress", "--select", "FA1,FA505"]
    outs = []
    for extra in (["--format", "json"], ["--output-format", "json"], ["--json"]):
        assert main([*args, *extra]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] == outs[2] and json.loads(outs[0])["schema"] == "fracatlas-annot/validate/1"


def test_unknown_output_format_is_a_usage_error(capsys) -> None:
    code = main(["validate", str(ROOT / "fixtures/fracatlas-mini"), "--output-format", "xml"])
    assert code == 2 and "xml" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown output format"):
        render({"findings": []}, "xml")
