"""The QA rule catalogue: one module per family, a registry with stable codes.

Import :func:`load_all` to fill :data:`~fracatlas_annot.checks.registry.RULES`.
"""

from __future__ import annotations

import importlib

from .registry import FAMILIES, REDIRECTS, RULES, CheckContext, Family, Rule, Severity, rule, select_rules

#: Family modules, imported explicitly (no globbing: a module that fails to import must fail loudly).
FAMILY_MODULES: list[str] = [f.module for f in FAMILIES]


def load_all() -> dict[str, Rule]:
    """Import every family module (registering its rules) and return the registry."""
    for name in FAMILY_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return RULES


__all__ = ["FAMILIES", "REDIRECTS", "RULES", "Family", "CheckContext", "Rule", "Severity", "load_all", "rule", "select_rules"]
