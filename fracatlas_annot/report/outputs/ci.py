"""CI annotations: GitHub Actions workflow commands and GitLab Code Quality JSON."""

from __future__ import annotations

import json
from typing import Any

from ._common import Locator, fingerprint, full_message

#: finding severity -> GitHub workflow command
GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}

#: finding severity -> GitLab Code Quality severity (info, minor, major, critical, blocker)
GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message: ``%``, CR and LF (GitHub's ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value: as data, plus ``:`` and ``,`` (``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(doc: dict[str, Any], *, cwd: Any = None) -> str:
    """One ``::error file=...,line=...,title=FA105 (name)::message`` line per finding.

    ``warning`` findings become ``::warning``, ``info`` findings ``::notice``; a finding
    without a file has no ``file`` property (GitHub shows it on the run's summary).
    """
    locator = Locator(doc, cwd)
    out = []
    for f in doc.get("findings") or []:
        where = locator.where(f)
        props = []
        if where.path is not None:
            props.append(f"file={escape_property(where.path)}")
            if where.line is not None:
                props.append(f"line={where.line}")
        title = f"{f['code']} ({f['name']})"
        props.append(f"title={escape_property(title)}")
        command = GITHUB_COMMAND.get(str(f.get("severity")), "error")
        out.append(f"::{command} {','.join(props)}::{escape_data(full_message(f, where))}")
    return "".join(line + "\n" for line in out)


def gitlab(doc: dict[str, Any], *, cwd: Any = None) -> str:
    """A GitLab Code Quality report: a JSON list of issues with ``description``,
    ``check_name``, ``fingerprint``, ``severity`` and ``location.path`` / ``lines.begin``.

    A finding without a file is placed on the dataset path; without a line, on line 1
    (GitLab requires both). Fingerprints hash the finding, not its position in the list.
    """
    locator = Locator(doc, cwd)
    seen: dict[str, int] = {}
    issues = []
    for f in doc.get("findings") or []:
        where = locator.where(f)
        issues.append(
            {
                "description": f"{f['code']} {f['name']}: {full_message(f, where)}",
                "check_name": str(f["code"]),
                "fingerprint": fingerprint(f, seen),
                "severity": GITLAB_SEVERITY.get(str(f.get("severity")), "major"),
                "location": {
                    "path": where.path or locator.dataset_path or ".",
                    "lines": {"begin": where.line or 1},
                },
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
