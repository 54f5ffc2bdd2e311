"""Snapshot of the rule catalogue: code -> (name, severity, family) for every rule.

A rule's severity decides exit codes (an error fails ``validate``), its name is what
``--select`` / ``--ignore`` and the JSON schema expose, its family groups the report: changing
any of them is a behaviour change that must show up here and be made on purpose (edit this
literal table in the same commit). The table is written out by hand, not derived from the
code, so that a changed severity cannot change the expectation with it (issue 12, "Tests that
can fail": "Any rule's severity changed").
"""

from __future__ import annotations

import json

import pytest

from fracatlas_annot.cli import main

#: code -> (name, default severity, family), as ``fracatlas-annot rules --json`` prints them.
EXPECTED: dict[str, tuple[str, str, str]] = {
    "FA000": ("read-problem", "error", "structure"),
    "FA001": ("unparsable-annotation-file", "error", "structure"),
    "FA002": ("missing-required-key", "error", "structure"),
    "FA003": ("invalid-field-value", "error", "structure"),
    "FA004": ("unsafe-archive-content", "error", "structure"),
    "FA005": ("duplicate-image-id", "error", "structure"),
    "FA006": ("duplicate-annotation-id", "error", "structure"),
    "FA007": ("orphan-annotation", "error", "structure"),
    "FA008": ("missing-label", "error", "structure"),
    "FA009": ("unknown-class", "error", "structure"),
    "FA010": ("negative-class-index", "error", "structure"),
    "FA011": ("class-id-offset", "error", "structure"),
    "FA012": ("label-name-mismatch", "error", "structure"),
    "FA013": ("duplicate-label-name", "error", "structure"),
    "FA014": ("duplicate-object", "warning", "structure"),
    "FA015": ("crowd-or-rle-object", "warning", "structure"),
    "FA017": ("stale-label-cache", "warning", "structure"),
    "FA018": ("coco-iscrowd-missing", "warning", "structure"),
    "FA019": ("image-not-listed", "warning", "structure"),
    "FA101": ("polygon-too-few-vertices", "error", "geometry"),
    "FA102": ("invalid-polygon", "error", "geometry"),
    "FA103": ("zero-area-polygon", "error", "geometry"),
    "FA104": ("degenerate-box", "error", "geometry"),
    "FA105": ("object-outside-image", "error", "geometry"),
    "FA106": ("non-finite-coordinate", "error", "geometry"),
    "FA107": ("multi-part-polygon", "warning", "geometry"),
    "FA108": ("polygon-missing", "error", "geometry"),
    "FA109": ("polygon-with-hole", "warning", "geometry"),
    "FA201": ("unmatched-box-or-polygon", "error", "box-vs-polygon"),
    "FA202": ("box-polygon-low-iou", "error", "box-vs-polygon"),
    "FA203": ("box-polygon-count-mismatch", "error", "box-vs-polygon"),
    "FA204": ("coco-bbox-not-polygon-extent", "error", "box-vs-polygon"),
    "FA205": ("coco-area-not-polygon-area", "error", "box-vs-polygon"),
    "FA301": ("object-count-mismatch", "error", "cross-format"),
    "FA302": ("object-geometry-mismatch", "error", "cross-format"),
    "FA303": ("label-mismatch", "error", "cross-format"),
    "FA304": ("image-missing-from-source", "error", "cross-format"),
    "FA305": ("image-size-mismatch-between-sources", "error", "cross-format"),
    "FA401": ("fractured-flag-vs-folder", "error", "metadata"),
    "FA402": ("fractured-flag-vs-annotations", "error", "metadata"),
    "FA403": ("fracture-count-mismatch", "error", "metadata"),
    "FA404": ("image-missing-on-disk", "error", "metadata"),
    "FA405": ("image-not-in-csv", "error", "metadata"),
    "FA406": ("image-in-both-folders", "error", "metadata"),
    "FA407": ("invalid-csv-metadata", "error", "metadata"),
    "FA501": ("image-unreadable", "error", "images"),
    "FA502": ("image-truncated", "warning", "images"),
    "FA503": ("declared-size-mismatch", "error", "images"),
    "FA504": ("declared-size-is-raw-exif-size", "error", "images"),
    "FA505": ("exif-orientation", "info", "images"),
    "FA506": ("image-too-small", "warning", "images"),
    "FA507": ("blank-image", "error", "images"),
    "FA509": ("bytes-after-end-of-image", "info", "images"),
    "FA601": ("byte-identical-images", "warning", "duplicates"),
    "FA602": ("identical-pixel-images", "warning", "duplicates"),
    "FA603": ("near-duplicate-images", "warning", "duplicates"),
    "FA701": ("image-in-several-splits", "error", "splits"),
    "FA702": ("split-entry-not-in-csv", "error", "splits"),
    "FA703": ("non-fractured-image-in-split", "error", "splits"),
    "FA704": ("fractured-image-in-no-split", "error", "splits"),
    "FA705": ("duplicate-split-entry", "warning", "splits"),
    "FA801": ("reader-missed-object", "warning", "readers"),
    "FA802": ("reader-low-overlap", "warning", "readers"),
    "FA803": ("reader-image-level-disagreement", "warning", "readers"),
    "FA804": ("reader-image-missing", "warning", "readers"),
    "FA805": ("reader-label-mismatch", "warning", "readers"),
    "FA806": ("reader-agreement-summary", "info", "readers"),
}


def _rules_json(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["rules", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_rule_has_its_snapshot_name_severity_and_family(capsys: pytest.CaptureFixture[str]) -> None:
    got = {r["code"]: (r["name"], r["severity"], r["family"]) for r in _rules_json(capsys)}
    changed = {c: (EXPECTED[c], got[c]) for c in EXPECTED.keys() & got.keys() if EXPECTED[c] != got[c]}
    assert not changed, f"rules whose name, severity or family changed (expected, got): {changed}"
    assert sorted(got.keys() - EXPECTED.keys()) == [], "new rules: add them to EXPECTED"
    assert sorted(EXPECTED.keys() - got.keys()) == [], "rules removed: codes are never reused, keep them (status removed)"
