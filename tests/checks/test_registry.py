"""The catalogue itself: codes, names, documentation, selectors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fracatlas_annot.checks import load_all
from fracatlas_annot.checks.registry import (
    FAMILIES,
    RULES,
    Severity,
    family_of,
    missing_sections,
    rule,
    rule_by_name_or_code,
    select_rules,
)
from fracatlas_annot.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
load_all()


def test_codes_and_names_are_well_formed_and_unique() -> None:
    assert len(RULES) >= 50
    names = [r.name for r in RULES.values()]
    assert len(set(names)) == len(names)
    for code, r in RULES.items():
        assert re.fullmatch(r"FA\d{3}", code) and r.code == code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name
        assert not r.name.startswith(("no-", "disallow-")), r.name
        assert isinstance(r.severity, Severity)


def test_every_rule_is_documented_in_ruff_sections() -> None:
    for code, r in RULES.items():
        assert missing_sections(r) == [], code
        assert r.summary and r.summary.endswith("."), code


#: code -> (name, severity, family, status) of every rule. A change here changes what users
#: select, ignore and gate CI on: make it on purpose, with a REDIRECTS entry for a moved code.
CATALOGUE: dict[str, tuple[str, str, str, str]] = {
    "FA000": ("read-problem", "error", "structure", "stable"),
    "FA001": ("unparsable-annotation-file", "error", "structure", "stable"),
    "FA002": ("missing-required-key", "error", "structure", "stable"),
    "FA003": ("invalid-field-value", "error", "structure", "stable"),
    "FA004": ("unsafe-archive-content", "error", "structure", "stable"),
    "FA005": ("duplicate-image-id", "error", "structure", "stable"),
    "FA006": ("duplicate-annotation-id", "error", "structure", "stable"),
    "FA007": ("orphan-annotation", "error", "structure", "stable"),
    "FA008": ("missing-label", "error", "structure", "stable"),
    "FA009": ("unknown-class", "error", "structure", "stable"),
    "FA010": ("negative-class-index", "error", "structure", "stable"),
    "FA011": ("class-id-offset", "error", "structure", "stable"),
    "FA012": ("label-name-mismatch", "error", "structure", "stable"),
    "FA013": ("duplicate-label-name", "error", "structure", "stable"),
    "FA014": ("duplicate-object", "warning", "structure", "stable"),
    "FA015": ("crowd-or-rle-object", "warning", "structure", "stable"),
    "FA017": ("stale-label-cache", "warning", "structure", "stable"),
    "FA018": ("coco-iscrowd-missing", "warning", "structure", "stable"),
    "FA019": ("image-not-listed", "warning", "structure", "stable"),
    "FA101": ("polygon-too-few-vertices", "error", "geometry", "stable"),
    "FA102": ("invalid-polygon", "error", "geometry", "stable"),
    "FA103": ("zero-area-polygon", "error", "geometry", "stable"),
    "FA104": ("degenerate-box", "error", "geometry", "stable"),
    "FA105": ("object-outside-image", "error", "geometry", "stable"),
    "FA106": ("non-finite-coordinate", "error", "geometry", "stable"),
    "FA107": ("multi-part-polygon", "warning", "geometry", "stable"),
    "FA108": ("polygon-missing", "error", "geometry", "stable"),
    "FA109": ("polygon-with-hole", "warning", "geometry", "stable"),
    "FA201": ("unmatched-box-or-polygon", "error", "box-vs-polygon", "stable"),
    "FA202": ("box-polygon-low-iou", "error", "box-vs-polygon", "stable"),
    "FA203": ("box-polygon-count-mismatch", "error", "box-vs-polygon", "stable"),
    "FA204": ("coco-bbox-not-polygon-extent", "error", "box-vs-polygon", "stable"),
    "FA205": ("coco-area-not-polygon-area", "error", "box-vs-polygon", "stable"),
    "FA301": ("object-count-mismatch", "error", "cross-format", "stable"),
    "FA302": ("object-geometry-mismatch", "error", "cross-format", "stable"),
    "FA303": ("label-mismatch", "error", "cross-format", "stable"),
    "FA304": ("image-missing-from-source", "error", "cross-format", "stable"),
    "FA305": ("image-size-mismatch-between-sources", "error", "cross-format", "stable"),
    "FA401": ("fractured-flag-vs-folder", "error", "metadata", "stable"),
    "FA402": ("fractured-flag-vs-annotations", "error", "metadata", "stable"),
    "FA403": ("fracture-count-mismatch", "error", "metadata", "stable"),
    "FA404": ("image-missing-on-disk", "error", "metadata", "stable"),
    "FA405": ("image-not-in-csv", "error", "metadata", "stable"),
    "FA406": ("image-in-both-folders", "error", "metadata", "stable"),
    "FA407": ("invalid-csv-metadata", "error", "metadata", "stable"),
    "FA501": ("image-unreadable", "error", "images", "stable"),
    "FA502": ("image-truncated", "warning", "images", "stable"),
    "FA503": ("declared-size-mismatch", "error", "images", "stable"),
    "FA504": ("declared-size-is-raw-exif-size", "error", "images", "stable"),
    "FA505": ("exif-orientation", "info", "images", "stable"),
    "FA506": ("image-too-small", "warning", "images", "stable"),
    "FA507": ("blank-image", "error", "images", "stable"),
    "FA509": ("bytes-after-end-of-image", "info", "images", "stable"),
    "FA601": ("byte-identical-images", "warning", "duplicates", "stable"),
    "FA602": ("identical-pixel-images", "warning", "duplicates", "stable"),
    "FA603": ("near-duplicate-images", "warning", "duplicates", "stable"),
    "FA701": ("image-in-several-splits", "error", "splits", "stable"),
    "FA702": ("split-entry-not-in-csv", "error", "splits", "stable"),
    "FA703": ("non-fractured-image-in-split", "error", "splits", "stable"),
    "FA704": ("fractured-image-in-no-split", "error", "splits", "stable"),
    "FA705": ("duplicate-split-entry", "warning", "splits", "stable"),
    "FA801": ("reader-missed-object", "warning", "readers", "stable"),
    "FA802": ("reader-low-overlap", "warning", "readers", "stable"),
    "FA803": ("reader-image-level-disagreement", "warning", "readers", "stable"),
    "FA804": ("reader-image-missing", "warning", "readers", "stable"),
    "FA805": ("reader-label-mismatch", "warning", "readers", "stable"),
    "FA806": ("reader-agreement-summary", "info", "readers", "stable"),
}


def test_catalogue_is_unchanged() -> None:
    got = {c: (r.name, str(r.severity), r.family, str(r.status)) for c, r in sorted(RULES.items())}
    assert got == CATALOGUE


def test_each_family_is_one_prefix_and_one_module() -> None:
    assert [f.prefix for f in FAMILIES] == [f"FA{i}" for i in range(len(FAMILIES))]
    assert len({f.name for f in FAMILIES}) == len({f.module for f in FAMILIES}) == len(FAMILIES)
    for code, r in RULES.items():
        fam = family_of(code)
        assert r.family == fam.name and code.startswith(fam.prefix)
        assert r.func.__module__ == f"fracatlas_annot.checks.{fam.module}", code
    assert {r.family for r in RULES.values()} == {f.name for f in FAMILIES}


def test_a_code_outside_the_families_is_refused() -> None:
    def check(ctx):  # pragma: no cover - never registered
        """Nothing."""

    with pytest.raises(ValueError, match="in no family"):
        rule("FA901", "no-such-family", Severity.ERROR)(check)
    assert "FA901" not in RULES


def test_readme_names_every_family_as_the_table_does() -> None:
    readme = " ".join((ROOT / "README.md").read_text("utf-8").replace("`", "").split())
    listed = re.findall(r"\*\*(FA\d)\*\* ", readme)
    assert listed == [f.prefix for f in FAMILIES]
    for f in FAMILIES:
        assert f"**{f.prefix}** {f.title}" in readme, f.prefix


def test_every_rule_is_planted_in_the_defects_fixture() -> None:
    manifest = json.loads((ROOT / "fixtures/defects/manifest.json").read_text())
    planted = {d["code"] for d in manifest["defects"]}
    own = {c for c in RULES if not c.startswith("FA8")}  # FA8xx: two readers, tested with fixtures/readers
    missing = own - planted - set(manifest["not_plantable"])
    assert missing == set()
    assert planted <= set(RULES)


@pytest.mark.parametrize(
    "select, ignore, has, lacks",
    [
        pytest.param(None, None, ["FA001", "FA105", "FA705"], [], id="default-all"),
        pytest.param(["FA1"], None, ["FA101", "FA109"], ["FA001", "FA201"], id="prefix"),
        pytest.param(["FA1"], ["FA105"], ["FA101"], ["FA105"], id="select-family-ignore-rule"),
        pytest.param(["FA105"], ["FA1"], ["FA105"], ["FA101"], id="more-specific-select-wins"),
        pytest.param(
            ["FA"],
            ["FA10"],
            ["FA201", "FA110"] if "FA110" in RULES else ["FA201"],
            ["FA101", "FA105"],
            id="two-digit-prefix",
        ),
        pytest.param(["FA1,FA2"], None, ["FA101", "FA201"], ["FA301"], id="comma-separated"),
        pytest.param(["object-outside-image"], None, ["FA105"], ["FA101"], id="by-name"),
        pytest.param(["ALL"], ["FA5", "FA6"], ["FA401"], ["FA501", "FA601"], id="all"),
    ],
)
def test_select_ignore_semantics(select, ignore, has, lacks) -> None:
    got = {r.code for r in select_rules(select, ignore)}
    assert set(has) <= got
    assert not (set(lacks) & got)


@pytest.mark.parametrize("option, kw", [("--select", {"select": ["FA9"]}), ("--ignore", {"ignore": ["FA1", "FX1"]})])
def test_unknown_selector_is_a_usage_error_with_hint(option: str, kw: dict) -> None:
    with pytest.raises(UsageError) as exc:
        select_rules(**kw)
    assert f"in {option}" in str(exc.value) and "unknown rule selector" in str(exc.value)
    assert "did you mean" in str(exc.value)


def test_redirected_code_selects_its_successor() -> None:
    assert [r.code for r in select_rules(["FA016"])] == ["FA000"]
    assert rule_by_name_or_code("FA016").code == "FA000"


def test_lookup_by_code_or_name() -> None:
    assert rule_by_name_or_code("fa105").name == "object-outside-image"
    assert rule_by_name_or_code("object-outside-image").code == "FA105"
    with pytest.raises(UsageError, match="did you mean"):
        rule_by_name_or_code("FA1O5")
