"""HTML pieces: escaping, the Markdown subset of rule explanations, folded pages."""

from __future__ import annotations

import json
import re

from fracatlas_annot.report import html as H


def test_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>'
    out = H.table([(evil, 1)], ["a<b", "n"], numeric=(1,))
    assert "<script>" not in out and "&lt;script&gt;" in out and "a&lt;b" in out
    assert '<td class="n">1</td>' in out
    fig = H.thumb("data:image/jpeg;base64,AAAA", H.esc(evil), alt='x" onerror="y')
    assert 'onerror="y"' not in fig and "&quot;" in fig
    assert H.esc(None) == ""


def test_markdown_lite_renders_rule_docstrings() -> None:
    text = "## What it does\nFinds `x < 0` boxes\nin VOC.\n\n## Example\n```xml\n<xmin>-3</xmin>\n```\nUse instead: `0`."
    out = H.markdown_lite(text)
    assert out.count("<h4>") == 2
    assert "<p>Finds <code>x &lt; 0</code> boxes in VOC.</p>" in out
    assert "<pre>&lt;xmin&gt;-3&lt;/xmin&gt;</pre>" in out
    assert "<code>0</code>" in out


def test_paged_rows_lists_every_row() -> None:
    rows = [(f"IMG{i}", i) for i in range(450)]
    out = H.paged_rows(rows, ["image", "n"], per_page=200)
    assert len(re.findall(r"<tr><td>IMG\d+</td>", out)) == 450
    assert out.count("<details") == 2
    assert "rows 401&ndash;450 of 450" in out
    assert H.paged_rows(rows[:3], ["image", "n"]).count("<details") == 0


def test_page_is_self_contained() -> None:
    page = H.page(version="0", title="t", date="d", header="", summary="", findings="", plots="", agreement="", duplicates="")
    # one inline script and its inert JSON data; nothing loaded from anywhere
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [' type="application/json" id="report-data"', ""]
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page)
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|importScripts|navigator\.sendBeacon)\b", H.SCRIPT)
    assert "@import" not in page and "url(" not in page
    assert H.SIZE_MARKER in page


def test_human_size() -> None:
    assert H.human_size(512) == "512 bytes"
    assert H.human_size(1536) == "1.5 KiB"
    assert H.human_size(5 * 1024 * 1024) == "5.0 MiB"


def test_json_script_cannot_be_closed_by_the_data() -> None:
    data = {"findings": [["FA1", "error", None, None, "</script><script>alert(1)</script>&\u2028"]]}
    out = H.json_script(data)
    assert out.count("</script>") == 1 and out.endswith("</script>")
    body = out[out.index(">") + 1 : -len("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == data


def test_table_row_attributes_and_links() -> None:
    out = H.table([("IMG1.jpg", "m"), ("", "n")], ["image", "msg"], row_attrs=[{"data-i": 0, "data-code": 'F"A'}, {"data-i": 1}], links=["#img-IMG1.jpg", None])
    assert '<tr data-i="0" data-code="F&quot;A"><td><a href="#img-IMG1.jpg">IMG1.jpg</a></td>' in out
    assert '<tr data-i="1"><td></td>' in out
