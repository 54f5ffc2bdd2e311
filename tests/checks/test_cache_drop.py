"""Cache entries a rule declares (``@rule(..., caches=...)``) are dropped after the last rule
that names them, and no rule has to compute a dropped entry again (issue 13, point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


class _Recording(dict):
    """A cache that counts how often each key is stored."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, int] = {}

    def __setitem__(self, key, value) -> None:
        self.stored[key] = self.stored.get(key, 0) + 1
        super().__setitem__(key, value)


@pytest.mark.parametrize("archive", ["fracatlas-mini", "defects"])
def test_declared_caches_dropped_and_never_recomputed(archive):
    import fracatlas_annot as fa
    from fracatlas_annot.checks import CheckContext, load_all, select_rules
    from fracatlas_annot.checks.registry import run_rules
    from fracatlas_annot.validate import IMAGING_FACTS

    load_all()
    rules = select_rules(None, None)
    declared = {name for r in rules for name in r.caches}
    assert {"match", "px_extents", "polyinfo", "counts_array"} <= declared
    cache = _Recording()
    ctx = CheckContext(fa.read(FIXTURES / archive), fast=True, progress=False, pixel_facts=IMAGING_FACTS, cache=cache)
    findings = run_rules(ctx, rules)
    assert len(findings)
    again = {k: n for k, n in cache.stored.items() if n > 1}
    assert again == {}, f"cache entries computed again after a drop: {again}"
    families = {k.split(":")[0] for k in cache.stored}
    assert declared & families, "no declared cache entry was used"
    left = {k for k in cache if k.split(":")[0] in declared}
    assert left == set(), f"declared cache entries kept to the end: {left}"


def test_drop_forgets_a_name_and_its_keyed_entries_only():
    from fracatlas_annot.checks import CheckContext
    from fracatlas_annot.model import Dataset

    ctx = CheckContext(Dataset(), fast=True, progress=False)
    ctx.cache.update({"match": 0, "match:a:b": 1, "matches:x": 2, "keyspace": 3})
    ctx.drop("match")
    assert set(ctx.cache) == {"matches:x", "keyspace"}
