"""build_report on an in-memory dataset: statistics, thumbnail planning, caps, sections."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from lxml import html as lxml_html

from fracatlas_annot.checks.registry import FINDING_COLUMNS
from fracatlas_annot.model import Dataset
from fracatlas_annot.report.build import build_report, dataset_stats, plan_thumbnails


def findings_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: r.get(c) for c in FINDING_COLUMNS} for r in rows], columns=FINDING_COLUMNS).astype(object)
    frame["object"] = pd.array([r.get("object") for r in rows], dtype="Int64")
    frame["line"] = pd.array([r.get("line") for r in rows], dtype="Int64")
    return frame


def test_dataset_stats(small_dataset: Dataset) -> None:
    s = dataset_stats(small_dataset)
    assert s["images"] == 8 and s["images_on_disk"] == 8
    assert (s["fractured"], s["non_fractured"]) == (3, 5)
    assert s["objects"]["coco"]["objects"] == 3 and s["objects"]["voc"]["objects"] == 4
    assert s["objects"]["voc"]["images_with_objects"] == 4
    assert s["splits"] == {"none": 2, "test": 2, "train": 2, "val": 2}
    assert s["body_parts"] == {"hand": 4, "leg": 4, "hip": 0, "shoulder": 0, "mixed": 0}
    assert s["views"] == {"frontal": 8, "lateral": 3, "oblique": 0}


def test_plan_thumbnails_highlights_the_finding_object_and_caps(small_dataset: Dataset) -> None:
    keys = list(small_dataset.images.index)
    rows = [
        {"code": "FA202", "image": keys[0], "source": "voc", "object": 0, "message": "m"},
        {"code": "FA202", "image": keys[0], "source": "coco", "object": 0, "message": "m"},
        {"code": "FA202", "image": keys[1], "source": "coco", "object": 1, "message": "m"},
        {"code": "FA301", "image": keys[0], "message": "image-level"},
        {"code": "FA401", "message": "dataset-level"},
        {"code": "FA301", "image": "NOT_ON_DISK.jpg", "message": "m"},
    ]
    jobs, where, extra = plan_thumbnails(small_dataset, findings_frame(rows), max_per_rule=2, max_total=100, extra_images=[keys[5]])
    assert sorted(where) == [0, 1, 3, 5]  # third FA202 over the cap; dataset-level finding has no image
    j0, v0 = where[0]
    job = jobs[j0]
    assert job.path == small_dataset.images.loc[keys[0], "path"]
    # image 0 carries coco polygon 0 and voc box 0; each finding highlights its own
    assert len(job.shapes) == 2
    hl_voc = job.variants[v0]
    hl_coco = job.variants[where[1][1]]
    assert hl_voc != hl_coco and len(hl_voc) == len(hl_coco) == 1
    assert job.shapes[hl_voc[0]].box and not job.shapes[hl_coco[0]].box
    assert job.variants[where[3][1]] == ()  # image-level finding: nothing highlighted
    assert jobs[where[5][0]].path is None  # an image not on disk gets a placeholder
    assert extra == {keys[5]: (extra[keys[5]][0], 0)}


def test_report_html_and_json(small_dataset: Dataset, tmp_path: Path) -> None:
    keys = list(small_dataset.images.index)
    rows = [
        {"code": "FA201", "name": "box-without-polygon", "severity": "error", "image": keys[3], "source": "voc", "object": 3,
         "message": "box <b>has</b> no polygon", "file": "voc/IMG0000003.xml", "loc": "/annotation/object[1]"},
        {"code": "FA410", "name": "csv-problem", "severity": "error", "message": "row 3", "file": "dataset.csv", "line": 4},
    ] + [
        {"code": "FA301", "name": "object-count-mismatch", "severity": "warning", "image": keys[i % 8], "source": "voc",
         "message": f"finding {i}"} for i in range(250)
    ]  # fmt: skip
    f = findings_frame(rows)
    out = tmp_path / "r.html"
    data = build_report(small_dataset, out_html=out, out_json=tmp_path / "r.json", findings=f, max_thumbs_per_rule=10, progress=False)
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(data))
    page = out.read_text("utf-8")
    assert data["html"]["bytes"] == len(page.encode("utf-8"))
    doc = lxml_html.fromstring(page)
    # every finding listed as a row, thumbnails capped at 10 per rule
    rule = doc.get_element_by_id("rule-FA301")
    assert len(rule.xpath(".//tbody/tr")) == 250
    assert len(rule.xpath(".//figure/img")) == 10
    assert "Thumbnails for 10 of 250" in rule.text_content()
    assert len(doc.get_element_by_id("rule-FA201").xpath(".//figure/img")) == 1
    assert not doc.get_element_by_id("rule-FA410").xpath(".//figure")
    assert "dataset.csv:4" in doc.get_element_by_id("rule-FA410").text_content()
    assert "<b>has</b>" not in page and "&lt;b&gt;has&lt;/b&gt;" in page
    assert data["thumbnails"]["findings_with_thumbnail"] == 11
    assert len(data["findings"]) == 252
    assert [r["code"] for r in data["rules"]] == ["FA201", "FA410", "FA301"]  # errors first
    assert re.search(r"this file: \d+\.\d KiB", page)
    # the only scripts are inline: the enhancer and its JSON data; nothing is loaded
    assert [sc.get("type") for sc in doc.xpath("//script")] == ["application/json", None]
    assert not doc.xpath("//script[@src]") and not re.search(r"(src|href)=\"https?:", page)
    embedded = json.loads(doc.get_element_by_id("report-data").text_content())
    assert [f[0] for f in embedded["findings"]] == [f["code"] for f in data["findings"]]
    assert embedded["findings"][0] == ["FA201", "error", "voc", None, keys[3]]  # keys[3] has no split
    # every row carries its finding's index and facts for the filters, and links its image's section
    tr = rule.xpath(".//tbody/tr")[0]
    assert tr.get("data-code") == "FA301" and tr.get("data-source") == "voc" and tr.get("data-split") == "train"
    assert int(tr.get("data-i")) == next(i for i, f in enumerate(data["findings"]) if f["code"] == "FA301")
    assert tr.xpath("./td[1]/a/@href") == [f"#img-{keys[0]}"]
    # one section per flagged image, in the order of their first finding
    sections = doc.xpath('//section[@id="images"]/section[@class="img"]')
    assert [s.get("data-image") for s in sections] == [keys[3]] + [keys[i] for i in range(8) if i != 3]
    first = sections[0]
    assert len(first.xpath('.//table[contains(@class,"ifindings")]/tbody/tr')) == 1 + 250 // 8 + (3 < 250 % 8)
    objects = first.xpath('.//table[contains(@class,"objects")]/tbody/tr')
    assert [(o[0].text_content(), o[5].text_content()) for o in objects] == [("voc", "flagged")]  # keys[3]: one voc box, FA201 points at it
    poly = first.xpath(".//svg/polygon")
    assert len(poly) == 1 and poly[0].get("class") == "flagged" and poly[0].get("stroke") == "#ff1f1f"
    assert poly[0].get("points") == "10.0,10.0 60.0,10.0 60.0,80.0 10.0,80.0"
    big = first.xpath('.//div[@class="ov"]/img')[0]
    assert big.get("src").startswith("data:image/jpeg;base64,") and (big.get("width"), big.get("height")) == ("454", "373")
    assert first.xpath(".//svg/@viewbox")  # lxml lowercases attribute names == ["0 0 454 373"]
    assert data["large_images"] == {"flagged_images": 8, "embedded": 8, "cap": 300}
