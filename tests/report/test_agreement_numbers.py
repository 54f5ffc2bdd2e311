"""The rendered report against the numbers: the plots section, and the agreement tables with
readers whose disagreements are uneven (so that swapping two cells shows).

The readers are fixtures/readers' COCO exports, reader-2's with one more polygon on an image
reader-1 left empty (IMG0000019.jpg). The expected counts come from fixtures/readers/manifest.json
(computed from the planted geometry, not by the tool) plus that one polygon: reader-2 alone marks
two images instead of one, and has one more unmatched object at every IoU threshold.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from fracatlas_annot.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"
READERS = ROOT / "fixtures" / "readers"
MANIFEST = json.loads((READERS / "manifest.json").read_text())
EXTRA_IMAGE = "IMG0000019.jpg"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[lxml_html.HtmlElement, dict]:
    tmp = tmp_path_factory.mktemp("uneven")
    files = MANIFEST["readers"]
    a = READERS / "reader-1" / files["reader-1"]["files"]["coco"]
    doc = json.loads((READERS / "reader-2" / files["reader-2"]["files"]["coco"]).read_text())
    assert EXTRA_IMAGE not in MANIFEST["readers"]["reader-1"]["objects_per_image"]
    new_id = max(im["id"] for im in doc["images"]) + 1
    doc["images"].append({"id": new_id, "width": 373, "height": 454, "file_name": EXTRA_IMAGE})
    doc["annotations"].append({
        "id": max(x["id"] for x in doc["annotations"]) + 1, "iscrowd": 0, "image_id": new_id, "category_id": 1,
        "segmentation": [[100, 100, 140, 100, 140, 130, 100, 130]], "bbox": [100, 100, 40, 30], "area": 1200,
    })  # fmt: skip
    b = tmp / "reader-2-plus-one.json"
    b.write_text(json.dumps(doc))
    out, js = tmp / "r.html", tmp / "r.json"
    code = main(["report", str(MINI), "-o", str(out), "--json", str(js), "--fast", "--readers", str(a), str(b)])
    assert code in (0, 1)
    return lxml_html.fromstring(out.read_text("utf-8")), json.loads(js.read_text())


def _table_after(section: lxml_html.HtmlElement, title_start: str) -> lxml_html.HtmlElement:
    heads = [h for h in section.iter("h4", "summary") if h.text_content().strip().startswith(title_start)]
    assert heads, f"no table titled {title_start!r} in the agreement section"
    table = heads[0].xpath("following::table[1]")
    assert table, f"no table after {title_start!r}"
    return table[0]


def _grid(table: lxml_html.HtmlElement) -> tuple[list[str], list[list[str]]]:
    head = [c.text_content().strip() for c in table.xpath(".//tr[1]/th|.//thead//th")]
    rows = [[c.text_content().strip() for c in tr.xpath("./td|./th")] for tr in table.xpath(".//tr[td]")]
    return head, rows


def test_plots_section_is_rendered_with_every_plot(rendered: tuple[lxml_html.HtmlElement, dict]) -> None:
    page, data = rendered
    section = page.get_element_by_id("plots")
    captions = [f.text_content().strip() for f in section.xpath(".//figcaption")]
    assert data["plots"] and captions == data["plots"]
    for img in section.xpath(".//img"):
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_image_level_table_cells_are_the_right_way_round(rendered: tuple[lxml_html.HtmlElement, dict]) -> None:
    page, data = rendered
    want = MANIFEST["expected"]["image_table"]
    both, only_a, only_b = want["both_fracture"], want["reader_1_only"], want["reader_2_only"] + 1
    neither = want["neither"] - 1
    assert only_a != only_b  # uneven: a swap of the two disagreement cells must show
    table = _table_after(page.get_element_by_id("agreement"), "Image level")
    head, rows = _grid(table)
    col_yes = next(i for i, h in enumerate(head) if h.endswith(": fracture"))
    col_no = next(i for i, h in enumerate(head) if h.endswith(": no fracture"))
    row_yes = next(r for r in rows if r[0].endswith(": fracture"))
    row_no = next(r for r in rows if r[0].endswith(": no fracture"))
    # rows: reader A (the first reader); columns: reader B
    assert [int(row_yes[col_yes]), int(row_yes[col_no])] == [both, only_a]
    assert [int(row_no[col_yes]), int(row_no[col_no])] == [only_b, neither]
    t = data["agreement"]["image_level"]["table"]
    assert (t["a_only_positive"], t["b_only_positive"]) == (only_a, only_b)


@pytest.mark.parametrize("geometry", ["polygon", "box"])
def test_instance_table_fp_and_fn_per_threshold(rendered: tuple[lxml_html.HtmlElement, dict], geometry: str) -> None:
    page, _ = rendered
    head, rows = _grid(_table_after(page.get_element_by_id("agreement"), "Instance level"))
    col = {h: i for i, h in enumerate(head)}
    got = {}
    for r in rows:
        if r[col["geometry"]] in (geometry, "mask" if geometry == "polygon" else geometry):
            got[f"{float(r[col['iou']]):g}"] = (int(r[col["tp"]]), int(r[col["fp"]]), int(r[col["fn"]]))
    want = {t: (v["tp"], v["fp"] + 1, v["fn"]) for t, v in MANIFEST["expected"][geometry].items()}
    assert all(fp != fn for _, fp, fn in want.values())  # uneven: a swap of FP and FN must show
    assert got == want
