"""The QA rule catalogue: one module per family, a registry with stable codes.

Import :func:`load_all` to fill :data:`~fracatlas_annot.checks.registry.RULES`.
"""

from __future__ import annotations

import importlib
import importlib.util

from .registry import REDIRECTS, RULES, CheckContext, Rule, Severity, rule, select_rules

#: Family modules, imported explicitly (no globbing: a module that fails to import must fail loudly).
FAMILY_MODULES: list[str] = [
    "structure",
    "geometry",
    "boxpoly",
    "crossformat",
    "metadata",
    "images",
    "duplicates",
    "splits",
    "readers",  # FA8xx two-reader agreement
]


def load_all() -> dict[str, Rule]:
    """Import every family module (registering its rules) and return the registry."""
    for name in FAMILY_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    if importlib.util.find_spec(f"{__name__}.readers") is not None:
        from . import readers  # noqa: F401  (FA8xx two-reader agreement rules)
    return RULES


__all__ = ["REDIRECTS", "RULES", "CheckContext", "Rule", "Severity", "load_all", "rule", "select_rules"]
