"""The report of fixtures/defects: every planted defect shown with its thumbnail, duplicate
groups side by side, and the JSON findings identical to `validate --format json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from fracatlas_annot.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEFECTS = ROOT / "fixtures" / "defects"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("defects")
    out, js = tmp / "report.html", tmp / "report.json"
    code = main(["report", str(DEFECTS), "-o", str(out), "--json", str(js)])
    return {"code": code, "data": json.loads(js.read_text("utf-8")), "doc": lxml_html.fromstring(out.read_text("utf-8"))}


def test_every_planted_defect_has_its_thumbnail(report: dict) -> None:
    manifest = json.loads((DEFECTS / "manifest.json").read_text("utf-8"))
    doc = report["doc"]
    for d in manifest["defects"]:
        section = doc.get_element_by_id(f"rule-{d['code']}")
        rows = [tr.text_content() for tr in section.xpath(".//tbody/tr")]
        captions = [f.text_content() for f in section.xpath('.//figure[@class="thumb"][img]')]
        if d["image"] is None:  # dataset-level (an orphan annotation, a duplicate category)
            assert rows, d
            continue
        assert any(d["image"] in r for r in rows), d
        assert any(d["image"] in c for c in captions), d


def test_each_finding_tied_to_an_image_has_a_thumbnail(report: dict) -> None:
    data, doc = report["data"], report["doc"]
    assert data["thumbnails"]["findings_with_thumbnail"] == data["thumbnails"]["findings_with_image"] > 50
    figures = doc.xpath('//section[@id="findings"]//figure[@class="thumb"]/img')
    assert len(figures) == sum(1 for f in data["findings"] if f["image"])


def test_duplicate_groups_side_by_side(report: dict) -> None:
    manifest = json.loads((DEFECTS / "manifest.json").read_text("utf-8"))
    groups = [
        {img.get("alt").split()[-1] for img in div.xpath('.//figure[@class="thumb"]/img')}
        for div in report["doc"].xpath('//section[@id="duplicates"]/div[@class="dup"]')
    ]
    for d in manifest["defects"]:
        if "images" in d:
            assert set(d["images"]) in groups, d


def test_duplicate_members_show_split_and_labels(report: dict) -> None:
    """Every member of a group, each with its split and each source's labels on it."""
    data, doc = report["data"], report["doc"]
    divs = doc.xpath('//section[@id="duplicates"]/div[@class="dup"]')
    assert len(divs) == len(data["duplicates"]) >= 1
    sources = list(data["dataset"]["objects"])
    for div, group in zip(divs, data["duplicates"]):
        captions = [f.xpath("./figcaption")[0].text_content() for f in div.xpath('./figure[@class="thumb"]')]
        assert len(captions) == len(group["images"])
        for key, cap in zip(group["images"], captions):
            assert key in cap and "split: " in cap
            assert all(f"{s}: " in cap for s in sources), cap
    # a group whose members sit in different splits says so
    mixed = [div for div in divs if len({s.text_content() for s in div.xpath('.//span[@class="split"]')}) > 1]
    assert mixed, "fixtures/defects plants duplicates across splits"
    assert all("across splits" in div.xpath('./div[@class="head"]')[0].text_content() for div in mixed)


def test_json_findings_are_validates(report: dict, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["validate", str(DEFECTS), "--format", "json"])
    validated = json.loads(capsys.readouterr().out)
    assert report["data"]["findings"] == validated["findings"]
    assert report["data"]["summary"] == validated["summary"]
    assert report["code"] == code == 1
