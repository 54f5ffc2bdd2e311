"""Every fixture's `info --json`, `validate --format json` and every file `convert` writes, against
the committed snapshot (tests/snapshot/outputs.json). A meant change is recorded by running
`python tests/snapshot/make_snapshot.py` and committing the new snapshot with the change."""

from __future__ import annotations

import json

import pytest

from tests.snapshot import make_snapshot as ms


@pytest.fixture(scope="module")
def current() -> dict:
    return ms.collect()


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(ms.SNAPSHOT.read_text(encoding="utf-8"))


def test_same_cases(current: dict, stored: dict) -> None:
    assert sorted(current) == sorted(stored)


@pytest.mark.parametrize("case", sorted(json.loads(ms.SNAPSHOT.read_text(encoding="utf-8"))))
def test_case_unchanged(case: str, current: dict, stored: dict) -> None:
    problems = ms.diff({case: stored[case]}, {case: current[case]})
    assert not problems, "\n".join(problems[:80])
