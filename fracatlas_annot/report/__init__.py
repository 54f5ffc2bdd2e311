"""The QA report: one self-contained HTML page and the same content as JSON.

``build_report(dataset_or_path, out_html=..., out_json=...)`` runs ``validate``, finds
duplicate groups, optionally compares two readers, and renders summary cards, findings
grouped by rule with overlay thumbnails, and plots. See :mod:`.build`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report"]


def __getattr__(name: str) -> Any:  # lazy: `report.outputs` (validate's formats) needs no plotting
    if name == "build_report":
        from .build import build_report

        return build_report
    raise AttributeError(name)
