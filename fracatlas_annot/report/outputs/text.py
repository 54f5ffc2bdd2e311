"""The terminal outputs: ``text`` (findings grouped by rule, wrapped to the terminal) and
``concise`` (one line per finding). Both put a finding on one line in ruff's layout::

    fixtures/defects/Annotations/YOLO/IMG0000058.txt:1: FA009 error IMG0000058.jpg [yolo]: class 3 ...

The location opens the line and is never split; ``text`` wraps the message under a
continuation indent so that nothing detaches from its location at 80 columns.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text

from ...runtime.paths import escape_controls
from ._common import Locator, counts_line, related_note

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}

#: Columns before a finding's first line and its continuation lines in ``text``.
INDENT, HANG = 2, 6

Token = tuple[str, str]  # (text kept whole, rich style)


def finding_tokens(finding: dict[str, Any], locator: Locator) -> list[Token]:
    """The pieces of one finding line: location, code, severity, subject, then message words."""
    sev = str(finding.get("severity") or "")
    style = SEVERITY_STYLE.get(sev, "")
    where = locator.where(finding)
    if where.path is not None and where.line is None and where.detail:
        # the path and its JSON index / XML element / zip entry: the index may go to the next line
        tokens: list[Token] = [(where.path, "bold"), (f"({where.detail}):", "bold")]
    else:
        tokens = [(f"{where.text(fallback=locator.dataset_path or '-')}:", "bold")]
    image, source = finding.get("image"), finding.get("source")
    tokens.append((str(finding["code"]), style))
    if image or source:
        tokens.append((sev, style))
        if image and source:
            tokens += [(str(image), ""), (f"[{source}]:", "dim")]
        elif image:
            tokens.append((f"{image}:", ""))
        else:
            tokens.append((f"[{source}]:", "dim"))
    else:
        tokens.append((f"{sev}:", style))
    words = f"{finding['message']}{related_note(finding)}".split()
    tokens += [(w, "") for w in words]
    return [(escape_controls(t), s) for t, s in tokens]  # names from the input: never raw escapes


def wrap(tokens: list[Token], width: int, *, indent: int = 0, hang: int = HANG) -> list[Text]:
    """Fill lines greedily with whole tokens joined by one space; a token wider than the
    line stays whole (the terminal folds it) rather than being cut."""
    lines: list[Text] = []
    line = Text(" " * indent)
    used, empty = indent, True
    for text, style in tokens:
        size = cell_len(text)
        if not empty and used + 1 + size > width:
            line.rstrip()  # in place
            lines.append(line)
            line, used, empty = Text(" " * hang), hang, True
        if not empty:
            line.append(" ")
            used += 1
        line.append(text, style=style or None)
        used += size
        empty = False
    line.rstrip()
    lines.append(line)
    return lines


def concise(doc: dict[str, Any], *, cwd: Any = None) -> str:
    """One line per finding (``path:line: CODE severity subject: message``), then the counts."""
    locator = Locator(doc, cwd)
    out = [" ".join(t for t, _ in finding_tokens(f, locator)) for f in doc.get("findings") or []]
    out.append(counts_line(doc.get("summary") or {}))
    return "\n".join(out) + "\n"


def text_lines(doc: dict[str, Any], *, width: int = 80, limit: int = 20, cwd: Any = None) -> list[Text]:
    """The ``text`` output as rich lines, each at most ``width`` cells unless one word is wider.

    A header (dataset, one line per source with its counts), then the findings grouped by
    rule in code order (``limit`` per rule, 0 for all), then the counts.
    """
    locator = Locator(doc, cwd)
    s = doc.get("summary") or {}
    findings = doc.get("findings") or []
    out: list[Text] = []
    head = [(str(s.get("dataset") or ""), "bold"), (f"({s.get('format')}, {s.get('images')} images)", "")]
    out += wrap(head, width)
    for name, src in (s.get("sources") or {}).items():
        prefix = (
            f"  {name:<10} {src['format']:<6} {src['geometry']:<7} "
            f"{src['images']:>6} images {src['objects']:>7} objects "
        )
        out += wrap([(prefix, ""), *_state(src)], width)
    if not findings:
        out.append(Text("No findings.", style="green"))
        return out
    out.append(Text(""))
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(str(f["code"]), []).append(f)
    for code in sorted(groups):
        group = groups[code]
        sevs = {g["severity"] for g in group}
        worst = next((x for x in ("error", "warning", "info") if x in sevs), "info")
        out += wrap([(code, SEVERITY_STYLE[worst]), (str(group[0]["name"]), "bold"), (f"({len(group)})", "")], width)
        shown = group if limit <= 0 else group[:limit]
        for f in shown:
            out += wrap(finding_tokens(f, locator), width, indent=INDENT)
        if limit > 0 and len(group) > limit:
            out.append(Text(f"  ... and {len(group) - limit} more (use --limit 0 to show all)", style="dim"))
    out.append(Text(""))
    out += wrap(_counts(s), width)
    return out


def _counts(s: dict[str, Any]) -> list[Token]:
    """``Found 3 errors, 1 warning, 0 infos (57 rules, --fast).`` with coloured counts."""
    tokens: list[Token] = [("Found", "")]
    for i, (key, label) in enumerate((("errors", "error"), ("warnings", "warning"), ("infos", "info"))):
        n = int(s.get(key) or 0)
        style = SEVERITY_STYLE[label]
        tokens += [(str(n), style), (f"{label}{'s' if n != 1 else ''}{',' if i < 2 else ''}", style)]
    fast = ", --fast" if s.get("fast") else ""
    return [*tokens, (f"({s.get('rules_run', 0)} rules{fast}).", "")]


def _state(src: dict[str, Any]) -> list[Token]:
    """``24 errors, 5 warnings`` (coloured) or ``clean`` for one source."""
    parts = []
    for key, label in (("errors", "error"), ("warnings", "warning"), ("infos", "info")):
        n = int(src.get(key) or 0)
        if n:
            parts.append((f"{n} {label}{'s' if n != 1 else ''}", SEVERITY_STYLE[label]))
    if not parts:
        return [("clean", "green")]
    tokens: list[Token] = []
    for i, (text, style) in enumerate(parts):
        num, word = text.split(" ")
        tokens += [(num, style), (word + ("," if i < len(parts) - 1 else ""), style)]
    return tokens
