"""The HTML report lists every member image of a group finding (the ``related`` field)."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import html as lxml_html

from fracatlas_annot.model import Dataset
from fracatlas_annot.report.build import build_report

from .test_build import findings_frame


def test_group_findings_show_their_related_images(small_dataset: Dataset, tmp_path: Path) -> None:
    keys = list(small_dataset.images.index)
    rows = [
        {"code": "FA601", "name": "byte-identical-images", "severity": "error", "image": keys[0],
         "message": "3 images are byte-identical", "related": (keys[0], keys[2], keys[5])},
        {"code": "FA301", "name": "object-count-mismatch", "severity": "error", "image": keys[1], "source": "voc",
         "message": "2 object(s) in `voc`, 1 in `coco`"},
    ]  # fmt: skip
    out = tmp_path / "r.html"
    data = build_report(small_dataset, out_html=out, out_json=tmp_path / "r.json", findings=findings_frame(rows), progress=False)
    by_code = {f["code"]: f for f in json.loads((tmp_path / "r.json").read_text())["findings"]}
    assert by_code["FA601"]["related"] == [keys[0], keys[2], keys[5]] and by_code["FA301"]["related"] == []
    assert data["findings"][0]["related"] == [keys[0], keys[2], keys[5]]
    doc = lxml_html.fromstring(out.read_text("utf-8"))
    group = doc.get_element_by_id("rule-FA601")
    head = [th.text_content() for th in group.xpath(".//thead//th")]
    assert head == ["image", "source", "message", "location", "related images"]
    (row,) = group.xpath(".//tbody/tr")
    assert row.xpath("./td")[-1].text_content() == f"{keys[0]}, {keys[2]}, {keys[5]}"
    # a rule without group findings keeps its four columns
    other = doc.get_element_by_id("rule-FA301")
    assert [th.text_content() for th in other.xpath(".//thead//th")] == ["image", "source", "message", "location"]
