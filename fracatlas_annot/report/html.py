"""Render the report content to one self-contained HTML page.

No template engine: :data:`PAGE` is a :class:`string.Template` with inline CSS, and every
piece of text from the data goes through :func:`html.escape`. The page loads nothing: no
external script, font, stylesheet or image; thumbnails, plots and the large overlays are
``data:`` URIs, and large groups of findings are folded into ``<details>`` pages of
:data:`ROWS_PER_PAGE` rows.

Everything is in the HTML and readable without script: the findings tables, and one
section per flagged image (its overlay, its findings, every source's objects). A small
inline script (:data:`SCRIPT`) enhances them: filters (rule, severity, source, split), a
search box for image names, and a per-image view with previous / next on the keyboard.
The data it needs is embedded as ``<script type="application/json" id="report-data">``
(:func:`json_script`).
"""

from __future__ import annotations

import html
import json
import re
from string import Template
from typing import Any, Iterable, Mapping, Sequence

from .script import SCRIPT

#: Finding rows per folded page of a rule's table.
ROWS_PER_PAGE = 200
#: A rule with more findings than this starts folded.
OPEN_UP_TO = 60

CSS = """
:root{--err:#c62828;--warn:#b26a00;--info:#1565c0;--ok:#2e7d32;--bg:#fafafa;--card:#fff;--line:#ddd;--ink:#1d1d1f;--mute:#666}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
header,section,footer{max-width:1240px;margin:0 auto;padding:12px 20px}
header{border-bottom:3px solid var(--ink)}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:24px}
h3{font-size:15px;margin:0;display:inline}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px;margin-top:6px}.meta dt{color:var(--mute)}.meta dd{margin:0}
.chip{display:inline-block;padding:1px 8px;margin:1px 4px 1px 0;border-radius:10px;font-size:12px;color:#000;border:1px solid #0003}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px;flex:1 1 150px}
.card .big{font-size:26px;font-weight:600}.card .lbl{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card table{font-size:12px;border-collapse:collapse}.card td{padding:0 8px 0 0}.card td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict.fail{border-color:var(--err);background:#fdecea}.verdict.pass{border-color:var(--ok);background:#edf7ed}
.sev{display:inline-block;min-width:58px;text-align:center;border-radius:4px;color:#fff;font-size:11px;padding:1px 6px;text-transform:uppercase}
.sev.error{background:var(--err)}.sev.warning{background:var(--warn)}.sev.info{background:var(--info)}
table.grid{border-collapse:collapse;font-size:12.5px;width:100%;background:var(--card)}
table.grid th,table.grid td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
table.grid th{background:#f0f0f0}table.grid.compact{width:auto;min-width:320px}
.agree-top{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
details.fold{margin:8px 0}details.fold>summary{cursor:pointer;font-weight:600}table.grid td.n{text-align:right;font-variant-numeric:tabular-nums}
.rule{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--info);border-radius:6px;margin:10px 0;padding:8px 12px}
.rule.error{border-left-color:var(--err)}.rule.warning{border-left-color:var(--warn)}
.rule>details>summary{cursor:pointer;list-style-position:outside}
.count{font-weight:600;margin-left:8px}.rsum{color:var(--mute);margin-left:8px}
.explain{font-size:13px;background:#f6f8fa;border-radius:4px;padding:4px 10px;margin:6px 0}
.explain pre{background:#eef1f4;padding:6px;overflow:auto;font-size:12px}.explain h4{margin:8px 0 2px;font-size:13px}
.thumbs{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.rbody.side{display:flex;gap:12px;align-items:flex-start}.rbody.side .rows{flex:1 1 auto;margin-top:8px}
table.index td:nth-child(6){color:var(--mute)}
figure.thumb{margin:0;width:172px;background:#111;color:#eee;border-radius:4px;padding:6px;font-size:11px}
figure.thumb img{display:block;margin:0 auto;max-width:160px;transition:transform .15s}
figure.thumb img:hover{transform:scale(2.2);position:relative;z-index:5;box-shadow:0 0 12px #000}
figure.thumb figcaption{margin-top:4px;word-break:break-all}figure.thumb a{color:#9cf}
.note{color:var(--mute);font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:14px}.plots figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px}
.plots figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
.dup{display:flex;gap:8px;align-items:flex-start;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px;margin:8px 0;overflow-x:auto}
.dup .head{min-width:150px;font-size:12px}
nav.toc a{margin-right:12px}
.dup figure.thumb{width:200px}.dup .labels{color:#cfd8dc}.dup .split{color:#ffe082}.dup .leak{color:var(--err)}
#filters{position:sticky;top:0;z-index:20;background:#fffffff0;border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:8px 0;font-size:13px}
#filters .frules{display:flex;flex-wrap:wrap;gap:3px;margin:4px 0}
#filters button.frule{font:inherit;font-size:12px;padding:0 6px;border:1px solid #bbb;border-radius:10px;background:#fff;cursor:pointer}
#filters button.frule[aria-pressed=true]{background:var(--ink);color:#fff;border-color:var(--ink)}
#filters label{margin-right:10px}#filters input[type=search]{width:220px}
#filters .fcount{color:var(--mute);margin-left:8px}
tr.fhide,section.fhide,.fhide{display:none}
section.img{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:12px 0;padding:8px 12px}
section.img h3 a{color:inherit}
.iview{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.ov{position:relative;display:inline-block;background:#111;line-height:0;flex:0 0 auto;--ar:1}
.ov img,.ov svg.alone{display:block;width:min(100%,calc(640px * var(--ar)),960px);height:auto}
.ov svg{position:absolute;left:0;top:0;width:100%;height:100%}
.ov svg.alone{position:static}
.ilists{flex:1 1 360px;min-width:320px}
#viewer-bar{display:flex;gap:8px;align-items:center;font-size:13px}
#viewer-bar button{font:inherit;padding:2px 10px;cursor:pointer}
body.viewing>*:not(#images){display:none}
body.viewing #images>*:not(#viewer-bar):not(section.img.current){display:none}
body.viewing #images{max-width:none;padding:6px 12px}
body.viewing section.img.current{margin:6px 0;border:0;padding:0;max-width:none}
body.viewing .iview{flex-wrap:nowrap}
body.viewing .ov img,body.viewing .ov svg.alone{width:min(calc(100vw - 560px),calc((100vh - 80px) * var(--ar)));max-width:none}
body.viewing .ilists{flex:1 1 0;min-width:0;max-height:calc(100vh - 80px);overflow:auto}
footer{color:var(--mute);font-size:12px;border-top:1px solid var(--line);margin-top:30px}
"""

PAGE = Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fracatlas-annot $version">
<title>$title</title>
<style>$css</style></head>
<body>
$header
$summary
$filters
$findings
$plots
$agreement
$duplicates
$images
<footer id="report-footer">fracatlas-annot $version &middot; $date &middot; this file: $size_marker &middot; self-contained (no network needed)</footer>
$data
<script>$script</script>
</body></html>
"""
)

#: Replaced by the file size once the page is assembled.
SIZE_MARKER = "@@REPORT-SIZE@@"


def esc(value: Any) -> str:
    """Escape any value for HTML text and attributes (None becomes an empty string)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def human_size(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


_CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> str:
    """Escape ``text``; `backticked` spans become ``<code>``."""
    return _inline(text)


def _inline(text: str) -> str:
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", esc(text))


def markdown_lite(text: str) -> str:
    """The subset of Markdown rule explanations use: ``##`` headings, fenced code, paragraphs."""
    out: list[str] = []
    para: list[str] = []
    lines = text.splitlines()
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre>{esc(chr(10).join(block))}</pre>")
        elif line.startswith("#"):
            flush()
            out.append(f"<h4>{_inline(line.lstrip('#').strip())}</h4>")
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


def table(
    rows: Iterable[Sequence[Any]],
    head: Sequence[str],
    *,
    numeric: Sequence[int] = (),
    cls: str = "grid",
    row_attrs: Sequence[Mapping[str, Any]] | None = None,
    links: Sequence[str | None] | None = None,
) -> str:
    """A ``<table>``; cells are escaped; columns listed in ``numeric`` are right-aligned.

    ``row_attrs`` gives each row's attributes (``data-*``), ``links`` each row's first cell
    a link target (``#anchor``), both optional and in row order.
    """
    num = set(numeric)
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for j, v in enumerate(r):
            text = esc(v)
            if j == 0 and links is not None and links[i] and text:
                text = f'<a href="{esc(links[i])}">{text}</a>'
            cells.append(f'<td class="n">{text}</td>' if j in num else f"<td>{text}</td>")
        attrs = "".join(f' {esc(k)}="{esc(v)}"' for k, v in row_attrs[i].items()) if row_attrs is not None else ""
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(pairs: Mapping[str, Any]) -> str:
    return "<table>" + "".join(f'<tr><td>{esc(k)}</td><td class="n">{esc(v)}</td></tr>' for k, v in pairs.items()) + "</table>"


def card(label: str, big: Any, body: str = "", cls: str = "") -> str:
    return f'<div class="card {cls}"><div class="lbl">{esc(label)}</div><div class="big">{esc(big)}</div>{body}</div>'


def sev_badge(sev: str) -> str:
    return f'<span class="sev {esc(sev)}">{esc(sev)}</span>'


def thumb(uri: str, caption: str, *, alt: str, cls: str = "thumb", attrs: Mapping[str, Any] | None = None) -> str:
    """A figure with a thumbnail ``data:`` URI and an escaped caption (``caption`` is HTML)."""
    extra = "".join(f' {esc(k)}="{esc(v)}"' for k, v in (attrs or {}).items())
    return f'<figure class="{cls}"{extra}><img src="{uri}" alt="{esc(alt)}"><figcaption>{caption}</figcaption></figure>'


def paged_rows(
    rows: list[Sequence[Any]],
    head: Sequence[str],
    *,
    per_page: int = ROWS_PER_PAGE,
    row_attrs: Sequence[Mapping[str, Any]] | None = None,
    links: Sequence[str | None] | None = None,
) -> str:
    """All rows, the first page shown, the rest folded into ``<details>`` pages
    (``row_attrs`` and ``links`` as in :func:`table`)."""

    def part(start: int, stop: int) -> str:
        return table(
            rows[start:stop],
            head,
            row_attrs=None if row_attrs is None else row_attrs[start:stop],
            links=None if links is None else links[start:stop],
        )

    if len(rows) <= per_page:
        return part(0, len(rows))
    parts = [part(0, per_page)]
    for start in range(per_page, len(rows), per_page):
        stop = min(start + per_page, len(rows))
        parts.append(f"<details class=\"page\"><summary>rows {start + 1}&ndash;{stop} of {len(rows)}</summary>{part(start, stop)}</details>")
    return "\n".join(parts)


def json_script(data: Any, *, element_id: str = "report-data") -> str:
    """``data`` as ``<script type="application/json">``; ``<``, ``>`` and ``&`` are written as
    ``\\u`` escapes so that no string in the data can close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def page(*, filters: str = "", images: str = "", data: Any = None, **parts: str) -> str:
    """Assemble the page from its rendered sections (see :data:`PAGE`); ``data`` is what
    the script reads (:func:`json_script`)."""
    return PAGE.substitute(css=CSS, size_marker=SIZE_MARKER, filters=filters, images=images, data=json_script(data or {}), script=SCRIPT, **parts)
