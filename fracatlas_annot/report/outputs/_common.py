"""What every output format needs from a finding of the public JSON document: where it is
(a path from the working directory, a line), who it is about, and its text with the parts a
format cannot place elsewhere (a JSON index, a zip entry, the related images)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

SEVERITIES = ("error", "warning", "info")

_ZIP_ENTRY = re.compile(r"^(?P<zip>.+?\.zip)!(?P<entry>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Where:
    """A finding's place: ``path`` (POSIX, relative to the working directory when it lies
    below it, else absolute; None for a dataset-level finding), ``line`` (1-based, None when
    the path has no line: a JSON index, a zip entry, a folder) and ``detail`` (what the path
    and line cannot say: ``annotations[20]``, ``a.zip!IMG1.txt:3``; None if nothing)."""

    path: str | None
    line: int | None
    detail: str | None

    def text(self, fallback: str = "") -> str:
        """``path:line``, ``path (detail)``, ``path``, or ``fallback`` without a path."""
        if self.path is None:
            return fallback
        if self.line is not None:
            return f"{self.path}:{self.line}"
        if self.detail:
            return f"{self.path} ({self.detail})"
        return self.path


class Locator:
    """Turns the ``file`` of a finding into a path from the working directory.

    A finding's ``file`` is relative to the dataset root (or to the folder of a file that was
    read, or of a reader's export), or is the path an image was found at. The first candidate
    that exists wins: root + file, the source's folder + file, file as it is; when none exists
    (the document is rendered elsewhere) root + file is assumed. Results are cached per file.
    """

    def __init__(self, doc: dict[str, Any], cwd: str | os.PathLike[str] | None = None) -> None:
        summary = doc.get("summary") or {}
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.root = _base(summary.get("dataset"), self.cwd)
        self.dataset_path = None if summary.get("dataset") is None else self._show(str(summary["dataset"]))
        self.source_base = {
            name: _base(src.get("path"), self.cwd) for name, src in (summary.get("sources") or {}).items()
        }
        self._cache: dict[tuple[str, str | None], str] = {}

    def where(self, finding: dict[str, Any]) -> Where:
        """The :class:`Where` of one finding record."""
        file = finding.get("file")
        line = finding.get("line")
        loc = finding.get("loc")
        if file is None:
            return Where(None, None, loc)
        m = _ZIP_ENTRY.match(str(file))
        if m:  # the artifact is the zip; the entry (and its line) is detail
            entry = m["entry"] + (f":{line}" if line is not None else "")
            detail = f"{m['zip']}!{entry}" + (f" {loc}" if loc and line is None else "")
            return Where(self.path(m["zip"], finding.get("source")), None, detail)
        if line is not None:  # as in the JSON location: a line says where, the element is not repeated
            return Where(self.path(str(file), finding.get("source")), int(line), None)
        return Where(self.path(str(file), finding.get("source")), None, loc)

    def path(self, file: str, source: str | None) -> str:
        key = (file, source)
        if key not in self._cache:
            self._cache[key] = self._show(self._resolve(file, source))
        return self._cache[key]

    def _resolve(self, file: str, source: str | None) -> str:
        if os.path.isabs(file):
            return file
        candidates = [b / file for b in (self.root, self.source_base.get(source or "")) if b is not None]
        for c in [*candidates, Path(file)]:
            full = c if c.is_absolute() else self.cwd / c
            if os.path.exists(full):  # False, not PermissionError, below a folder without access
                return str(c)
        return str(candidates[0]) if candidates else file

    def _show(self, p: str) -> str:
        """POSIX, normalised, relative to the working directory when it lies below it."""
        if os.path.isabs(p):
            try:
                rel = os.path.relpath(p, self.cwd)
                if rel == os.pardir or rel.startswith(os.pardir + os.sep):
                    raise ValueError
                p = rel
            except ValueError:  # another drive, or above the working directory
                return Path(os.path.normpath(p)).as_posix()
        return PurePosixPath(Path(os.path.normpath(p)).as_posix()).as_posix()


def _base(path: Any, cwd: Path) -> Path | None:
    """The folder relative file names hang from: the path if it is a folder, else its parent."""
    if path is None:
        return None
    p = Path(str(path))
    full = p if p.is_absolute() else cwd / p
    if full.is_dir():
        return p
    return p.parent


def subject(finding: dict[str, Any]) -> str:
    """``IMG0000019.jpg [coco]``, ``IMG0000019.jpg``, ``[coco]`` or ``""``."""
    parts = []
    if finding.get("image"):
        parts.append(str(finding["image"]))
    if finding.get("source"):
        parts.append(f"[{finding['source']}]")
    return " ".join(parts)


def related_note(finding: dict[str, Any]) -> str:
    """``" (related: a.jpg, b.jpg)"`` when the message does not already name every related image."""
    related = [str(r) for r in finding.get("related") or []]
    message = str(finding.get("message") or "")
    if not related or all(r in message for r in related):
        return ""
    return f" (related: {', '.join(related)})"


def full_message(finding: dict[str, Any], where: Where) -> str:
    """The message with its subject, the location detail and the related images: for formats
    whose location holds only a path and a line (GitHub, GitLab, SARIF, JUnit)."""
    head = subject(finding)
    text = f"{head}: {finding['message']}" if head else str(finding["message"])
    if where.detail:
        text += f" (at {where.detail})"
    return text + related_note(finding)


def fingerprint(finding: dict[str, Any], seen: dict[str, int]) -> str:
    """A stable hash of code, location, image, source and message (not of the finding's
    position); identical findings are told apart by their occurrence number. ``seen``
    counts the keys already issued in this document."""
    key = "\x1f".join(
        str(finding.get(k) or "") for k in ("code", "location", "image", "source", "message")
    )
    n = seen.get(key, 0)
    seen[key] = n + 1
    if n:
        key += f"\x1f{n}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def rule_info(codes: list[str]) -> dict[str, Any]:
    """code -> :class:`~fracatlas_annot.checks.registry.Rule` for the codes the registry knows."""
    from ...checks import load_all
    from ...checks.registry import RULES

    load_all()
    return {c: RULES[c] for c in codes if c in RULES}


def codes_run(doc: dict[str, Any]) -> list[str]:
    """The codes of the rules that ran (``summary.codes_run``) plus any code that has a finding, sorted."""
    summary = doc.get("summary") or {}
    codes = set(summary.get("codes_run") or [])
    codes.update(str(f["code"]) for f in doc.get("findings") or [])
    return sorted(codes)


def counts_line(summary: dict[str, Any]) -> str:
    """``Found 3 errors, 1 warning, 0 infos (57 rules, --fast).``"""
    parts = []
    for key, label in (("errors", "error"), ("warnings", "warning"), ("infos", "info")):
        n = int(summary.get(key) or 0)
        parts.append(f"{n} {label}{'s' if n != 1 else ''}")
    fast = ", --fast" if summary.get("fast") else ""
    return "Found " + ", ".join(parts) + f" ({summary.get('rules_run', 0)} rules{fast})."
