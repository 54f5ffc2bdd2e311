"""`fracatlas-annot report` on the committed fixtures: files written, JSON == validate's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from fracatlas_annot.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"
DEFECTS = ROOT / "fixtures" / "defects"
READERS = ROOT / "fixtures" / "readers"


def test_report_cli_writes_html_and_json_with_validate_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["report", str(MINI), "-o", str(out), "--json", str(js), "--fast"])
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "KiB" in printed and str(js) in printed
    data = json.loads(js.read_text("utf-8"))
    assert data["html"]["bytes"] == out.stat().st_size
    assert code == (1 if data["summary"]["errors"] else 0)
    assert main(["validate", str(MINI), "--format", "json", "--fast"]) == code
    validated = json.loads(capsys.readouterr().out)
    assert data["findings"] == validated["findings"]
    assert data["summary"]["by_rule"] == validated["summary"]["by_rule"]
    # the mini archive's facts, as planted (fixtures/fracatlas-mini/manifest.json)
    manifest = json.loads((MINI / "manifest.json").read_text("utf-8"))
    assert data["dataset"]["images"] == manifest["images"]
    assert data["dataset"]["fractured"] == manifest["fractured"]
    assert {k: v["objects"] for k, v in data["dataset"]["objects"].items()} == {k: v["objects"] for k, v in manifest["sources"].items()}


def test_report_cli_bad_input_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "absent"), "-o", str(tmp_path / "r.html")]) == 2
    assert main(["report", str(MINI), "-o", str(tmp_path / "r.html"), "--select", "FA9"]) == 2
    err = capsys.readouterr().err
    assert "FA9" in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_report_with_two_readers_has_agreement(tmp_path: Path) -> None:
    from fracatlas_annot.agreement import agree
    from fracatlas_annot.formats import read
    from fracatlas_annot.report import build_report

    a, b = READERS / "reader-1", READERS / "reader-2"
    ds = read(MINI)
    data = build_report(ds, out_html=tmp_path / "r.html", readers=[a, b], fast=True, progress=False)
    # the archive's dataset.csv gives the image list and the body-part / view breakdowns
    expected = json.loads(json.dumps(agree(a, b, meta=ds).to_dict()))
    assert data["agreement"]["image_level"]["table"] == expected["image_level"]["table"]
    assert data["agreement"]["instance"] == expected["instance"]
    doc = lxml_html.fromstring((tmp_path / "r.html").read_text("utf-8"))
    section = doc.get_element_by_id("agreement")
    text = section.text_content()
    assert "kappa" in text and "Disagreements" in text
    assert len(section.xpath(".//img")) == 1  # the F1 against IoU plot
    kinds = {d["kind"] for d in data["agreement"]["disagreements"]}
    assert kinds and all(k in text for k in kinds)


def test_json_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    code = main(["report", str(MINI), "-o", str(out), "--json", "-", "--fast"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # stdout holds only the JSON document
    assert data["html"]["path"] == str(out) and code == 0
    assert f"wrote {out}" in captured.err


def test_thumbnails_advance_a_progress_bar(tmp_path: Path) -> None:
    from fracatlas_annot.report import build_report
    from fracatlas_annot.runtime.progress import use_reporter
    from runtime.recording import RecordingReporter

    rec = RecordingReporter()
    with use_reporter(rec):
        data = build_report(MINI, out_html=tmp_path / "r.html", fast=True)
        quiet = build_report(MINI, fast=True, progress=False)
    assert [b for b in rec.bars() if b[0] == "rendering thumbnails"] == [("rendering thumbnails", data["thumbnails"]["images"])]
    assert sum(rec.advances("rendering thumbnails")) == data["thumbnails"]["images"] == quiet["thumbnails"]["images"] > 0


def test_report_with_a_model_has_its_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a model that is reader-1 (its polygons at score 1) plus one detection on an image both
    # readers left empty: the section shows the comparisons and that image in its queue
    from fracatlas_annot.agreement import agree

    a, b = READERS / "reader-1", READERS / "reader-2"
    recs = []
    for row in agree(a, b, geometry="mask").readers[0].tables["mask"].itertuples():
        x0, y0, x1, y1 = row.x0, row.y0, row.x1, row.y1
        recs.append({"image_id": row.image, "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0], "score": 1.0})
    recs.append({"image_id": "IMG0000019.jpg", "category_id": 1, "bbox": [10, 10, 30, 30], "score": 0.9})
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(recs), "utf-8")
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["report", str(MINI), "-o", str(out), "--json", str(js), "--fast", "--readers", str(a), str(b), "--model", str(pred)])
    capsys.readouterr()
    assert code in (0, 1)
    data = json.loads(js.read_text("utf-8"))
    assert data["agreement"]["model"]["conf"] == 0.25
    doc = lxml_html.fromstring(out.read_text("utf-8"))
    section = doc.get_element_by_id("model")
    rows = [[c.text_content() for c in tr.xpath("./td")] for tr in section.xpath(".//table[1]//tr[td]")]
    assert [r[0] for r in rows] == ["reader-1 vs reader-2", "model vs reader-1", "model vs reader-2", "model vs consensus"]
    assert rows[0][2] == "0.867"  # kappa 13/15, as agree prints it
    assert "IMG0000019.jpg" in section.text_content() and "image-only-in-model" in section.text_content()
    assert main(["report", str(MINI), "-o", str(tmp_path / "x.html"), "--model", str(pred)]) == 2
