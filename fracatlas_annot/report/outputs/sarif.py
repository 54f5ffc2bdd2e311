"""SARIF 2.1.0: one ``run`` of the ``fracatlas-annot`` driver, one ``rule`` per code that ran
(documented from the rule's docstring), one ``result`` per finding."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from ._common import Locator, codes_run, fingerprint, full_message, rule_info

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: finding severity -> SARIF result level
LEVEL = {"error": "error", "warning": "warning", "info": "note"}

_SECTION = re.compile(r"^## What it does\s*\n(?P<body>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def artifact_uri(path: str) -> str:
    """A relative path as a URI reference (``/`` kept, spaces and the like percent-encoded);
    an absolute path as a ``file://`` URI."""
    p = PurePosixPath(path)
    if p.is_absolute():
        return "file://" + quote(p.as_posix())
    return quote(p.as_posix())


def _rule(code: str, rule: Any) -> dict[str, Any]:
    if rule is None:  # a code this version does not know (a document from another version)
        return {"id": code}
    m = _SECTION.search(rule.explanation)
    what = " ".join((m["body"] if m else rule.summary).split())
    markdown = f"# {rule.name} ({rule.code})\n\n{rule.summary}\n\n{rule.explanation}".rstrip() + "\n"
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what},
        "help": {"text": f"{rule.summary}\n\n{rule.explanation}".rstrip(), "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[str(rule.severity)]},
        "properties": {"family": rule.family, "status": str(rule.status), "tags": [rule.family]},
    }


def sarif_log(doc: dict[str, Any], *, cwd: Any = None) -> dict[str, Any]:
    """The SARIF log object (see :func:`sarif` for its text)."""
    from ... import __version__

    locator = Locator(doc, cwd)
    codes = codes_run(doc)
    info = rule_info(codes)
    index = {c: i for i, c in enumerate(codes)}
    seen: dict[str, int] = {}
    results = []
    for f in doc.get("findings") or []:
        where = locator.where(f)
        result: dict[str, Any] = {
            "ruleId": f["code"],
            "ruleIndex": index[str(f["code"])],
            "level": LEVEL.get(str(f.get("severity")), "error"),
            "message": {"text": full_message(f, where)},
        }
        if where.path is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(where.path)}}
            if where.line is not None:
                physical["region"] = {"startLine": where.line}
            location: dict[str, Any] = {"physicalLocation": physical}
            if where.detail:
                location["logicalLocations"] = [{"fullyQualifiedName": where.detail}]
            result["locations"] = [location]
        related = [str(r) for r in f.get("related") or []]
        if related:
            result["relatedLocations"] = [
                {"id": i, "message": {"text": name}, "logicalLocations": [{"name": name, "kind": "resource"}]}
                for i, name in enumerate(related, start=1)
            ]
        result["partialFingerprints"] = {"fracatlasFinding/v1": fingerprint(f, seen)}
        result["properties"] = {"image": f.get("image"), "source": f.get("source"), "related": related}
        results.append(result)
    driver = {
        "name": "fracatlas-annot",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_rule(c, info.get(c)) for c in codes],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def sarif(doc: dict[str, Any], *, cwd: Any = None) -> str:
    """The SARIF 2.1.0 log as JSON text."""
    return json.dumps(sarif_log(doc, cwd=cwd), indent=2, ensure_ascii=False) + "\n"
