"""The catalogue itself: codes, names, documentation, selectors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fracatlas_annot.checks import load_all
from fracatlas_annot.checks.registry import (
    RULES,
    Severity,
    missing_sections,
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


def test_family_digit_matches_family() -> None:
    families = {
        "0": "structure",
        "1": "geometry",
        "2": "box-vs-polygon",
        "3": "cross-format",
        "4": "metadata",
        "5": "images",
        "6": "duplicates",
        "7": "splits",
    }
    for code, r in RULES.items():
        if code[2] in families:
            assert r.family == families[code[2]], code


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
