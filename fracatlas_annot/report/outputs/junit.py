"""JUnit XML: one test case per rule that ran, one ``<failure>`` per error or warning
finding; a rule without such findings is a passing test case. Info findings do not fail
(``validate`` exits 0 on them): they are listed in the test case's ``<system-out>``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from ._common import Locator, codes_run, full_message, rule_info

FAILING = ("error", "warning")

# characters XML 1.0 cannot hold, even escaped (hostile label names, binary junk in a message)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    """``text`` as a string XML can hold: forbidden characters become ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def junit(doc: dict[str, Any], *, cwd: Any = None) -> str:
    """The JUnit XML document as text."""
    locator = Locator(doc, cwd)
    s = doc.get("summary") or {}
    codes = codes_run(doc)
    info = rule_info(codes)
    by_code: dict[str, list[dict[str, Any]]] = {c: [] for c in codes}
    for f in doc.get("findings") or []:
        by_code[str(f["code"])].append(f)
    name = _x(f"fracatlas-annot validate {s.get('dataset') or ''}".strip())
    suites = ET.Element("testsuites", name=name)
    suite = ET.SubElement(suites, "testsuite", name=name)
    props = ET.SubElement(suite, "properties")
    for key in ("dataset", "format", "images", "fast"):
        value = s.get(key)
        ET.SubElement(props, "property", name=key, value=_x(value if isinstance(value, str) else json.dumps(value)))
    failed = 0
    for code in codes:
        findings = by_code[code]
        rule = info.get(code)
        rule_name = rule.name if rule is not None else (findings[0]["name"] if findings else "")
        family = rule.family if rule is not None else "unknown"
        case = ET.SubElement(suite, "testcase", name=_x(f"{code} {rule_name}".strip()), classname=f"fracatlas-annot.{family}")
        case.set("time", "0")
        notes = []
        failing = [f for f in findings if f.get("severity") in FAILING]
        for f in findings:
            where = locator.where(f)
            place = where.text(fallback=locator.dataset_path or "-")
            line = f"{place}: {full_message(f, where)}"
            if f.get("severity") in FAILING:
                fail = ET.SubElement(case, "failure", message=_x(line), type=str(f["severity"]))
                fail.text = _x(_details(f, place))
            else:
                notes.append(f"{f['severity']}: {line}")
        if notes:
            ET.SubElement(case, "system-out").text = _x("\n".join(notes) + "\n")
        failed += bool(failing)
    for el in (suites, suite):
        el.set("tests", str(len(codes)))
        el.set("failures", str(failed))
        el.set("errors", "0")
        el.set("skipped", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _details(f: dict[str, Any], place: str) -> str:
    rows = [
        ("location", place),
        ("image", f.get("image")),
        ("source", f.get("source")),
        ("severity", f.get("severity")),
        ("related", ", ".join(f.get("related") or []) or None),
        ("message", f.get("message")),
    ]
    return "\n".join(f"{k}: {v}" for k, v in rows if v is not None) + "\n"
