"""agreement.queue: the adjudication queue, worst first, and the files written by the API."""

from __future__ import annotations

import json

import pytest

from fracatlas_annot.agreement import DISAGREEMENT_COLUMNS, agree

from .builders import basic_readers


def test_disagreements_sorted_worst_first_with_origins():
    a, b = basic_readers()
    r = agree(a, b, geometry="box")
    d = r.disagreements
    # image level: 3.jpg (A only positive), 4.jpg (B only) ; objects: 3.jpg missing in B,
    # 4.jpg missing in A ; 2.jpg pair at IoU 1/3 < .5 (low overlap); 1.jpg pair at 2/3 is fine
    assert d["kind"].tolist() == ["image-level-mismatch", "image-level-mismatch", "missing-in-b", "missing-in-a", "low-overlap"]
    assert d["image"].tolist() == ["3.jpg", "4.jpg", "3.jpg", "4.jpg", "2.jpg"]
    low = d.iloc[-1]
    assert low["iou"] == pytest.approx(1 / 3)
    assert low["ref_a"] == "a.json (annotations[2])" and low["ref_b"] == "b.json (annotations[2])"
    assert r.disagreement_counts() == {"image-level-mismatch": 2, "missing-in-b[box]": 1, "missing-in-a[box]": 1, "low-overlap[box]": 1}


def test_to_dict_is_json():
    a, b = basic_readers()
    d = agree(a, b).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["readers"] == ["reader-1", "reader-2"]
    assert {r["geometry"] for r in back["instance"]} == {"box", "mask"}
    assert back["image_level"]["table"]["both_positive"] == 2



def test_write_puts_the_adjudication_files_in_place(tmp_path):
    a, b = basic_readers()
    r = agree(a, b, geometry="box")
    out = tmp_path / "adjudication" / "round-1"  # created with its parents
    written = r.write(out)
    assert written == [str(out / "disagreements.csv"), str(out / "disagreements.json"), str(out / "agreement.json")]
    assert sorted(p.name for p in out.iterdir()) == ["agreement.json", "disagreements.csv", "disagreements.json"]  # no temporary file left
    lines = (out / "disagreements.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(DISAGREEMENT_COLUMNS) and len(lines) == 1 + len(r.disagreements)
    assert lines[-1].startswith("2.jpg,low-overlap,box,0.3333")
    assert json.loads((out / "disagreements.json").read_text(encoding="utf-8")) == r.to_dict()["disagreements"]
    assert json.loads((out / "agreement.json").read_text(encoding="utf-8")) == r.to_dict()
    # written again over the previous files (a second adjudication round)
    (out / "disagreements.csv").write_text("stale", encoding="utf-8")
    assert r.write(out) == written and (out / "disagreements.csv").read_text(encoding="utf-8").splitlines() == lines


def test_write_with_a_consensus_adds_its_queue_and_coco_file(tmp_path):
    a, b = basic_readers()
    r = agree(a, b)
    cons = r.consensus("intersect", "queue")
    written = r.write(tmp_path, consensus=cons)
    assert [p.rsplit("/", 1)[-1] for p in written] == ["disagreements.csv", "disagreements.json", "agreement.json", "consensus-queue.csv", "consensus"]
    saved = json.loads((tmp_path / "agreement.json").read_text(encoding="utf-8"))
    # 3 pairs at IoU .1 ; 3.jpg (A) and 4.jpg (B) queued
    assert saved["consensus"] == r.to_dict(consensus=cons)["consensus"]
    assert (saved["consensus"]["pairs"], saved["consensus"]["queued"], saved["consensus"]["objects"]) == (3, 2, 3)
    queue = (tmp_path / "consensus-queue.csv").read_text(encoding="utf-8").splitlines()
    assert queue[0] == "image,reader,label,object,ref,reason,x0,y0,x1,y1" and len(queue) == 3
    coco = json.loads(next(p for p in (tmp_path / "consensus").glob("*.json") if p.name != "manifest.json").read_text(encoding="utf-8"))
    assert len(coco["annotations"]) == 3 and len(coco["images"]) == 5
