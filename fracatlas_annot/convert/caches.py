"""Ultralytics label caches left in a target that a conversion overwrites."""

from __future__ import annotations

from pathlib import Path

__all__ = ["stale_caches"]


def stale_caches(target: Path) -> list[str]:
    """Ultralytics label caches (``*.cache``) inside an existing target, relative paths."""
    target = Path(target)
    if not target.is_dir():
        return []
    return sorted(str(p.relative_to(target)) for p in target.rglob("*.cache"))
