"""Which images count as fractured in a conversion, when the sources disagree.

One rule for every target: **the objects of the converted source decide**. An image with at
least one object in that source is fractured (its objects are written; it is stratified as
fractured; ``yolo-cls`` puts it in ``fractured/``); an image without is not fractured (it is
written as a negative: no object can be invented). ``dataset.csv``'s ``fractured`` flag is
compared with that, and every image where they disagree is a *decision*, listed in
``manifest.json`` and shown on screen. FracAtlas's IMG0003298 (flag 0, but in
``Fractured/``, ``fracture_count`` 1 and labelled by all four sources) is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..model import Dataset, Source

__all__ = ["PICK_RULE", "decisions_note", "fractured_by_objects"]

#: The rule in one line (the manifest's ``decisions`` and ``--help`` say it).
PICK_RULE = "the objects of the converted source decide; dataset.csv's fractured flag is overruled where it disagrees"


def fractured_by_objects(dataset: Dataset, source: Source, images: pd.DataFrame) -> tuple[pd.Series, list[dict[str, Any]]]:
    """Per image of ``images``: fractured (True) when ``source`` has an object on it; and one
    decision record per image whose ``dataset.csv`` flag says otherwise::

        {"image", "sources": {"dataset.csv": {"fractured": 0, ...}, "<source>": {"objects": n}, ...},
         "picked": "fractured" | "not fractured", "by": "<source>", "why": "..."}
    """
    counts = source.objects["image"].dropna().value_counts()
    n_obj = counts.reindex(images.index).fillna(0).astype(np.int64)
    picked = n_obj > 0
    if "fractured" not in images.columns:
        return picked, []
    flag = pd.to_numeric(images["fractured"], errors="coerce")
    known = flag.notna().to_numpy()
    disagree = known & ((flag.to_numpy() > 0) != picked.to_numpy())
    if not disagree.any():
        return picked, []
    keys = images.index[disagree]
    named = {**dataset.sources, source.name: source}  # the converted one may be a Source of its own
    per_source = {
        name: s.objects["image"].dropna().value_counts().reindex(keys).fillna(0).astype(int)
        for name, s in named.items()
    }
    count = pd.to_numeric(images["fracture_count"], errors="coerce") if "fracture_count" in images else None
    decisions = []
    for k in keys:
        csv: dict[str, Any] = {"fractured": _plain(flag[k])}
        if count is not None and pd.notna(count[k]):
            csv["fracture_count"] = _plain(count[k])
        sources: dict[str, Any] = {"dataset.csv": csv}
        sources.update({name: {"objects": int(v[k])} for name, v in per_source.items()})
        n = int(n_obj[k])
        if n:
            why = (f"'{source.name}' has {n} object(s) on it: they are written and the image counts as fractured "
                   f"(split stratum, yolo-cls class); dataset.csv's fractured={csv['fractured']} is overruled")
        else:
            why = (f"'{source.name}' has no object on it: it is written as a negative (no object can be invented) "
                   f"and counts as not fractured; dataset.csv's fractured={csv['fractured']} is overruled")
        decisions.append({"image": str(k), "sources": sources, "picked": "fractured" if n else "not fractured",
                          "by": source.name, "why": why})  # fmt: skip
    return picked, decisions


def decisions_note(decisions: list[dict[str, Any]], *, shown: int = 10) -> str:
    """One screen line naming the decided images (the first ``shown``) and what was picked."""
    head = ", ".join(
        f"{d['image']} ({_csv_text(d)}, {d['sources'][d['by']]['objects']} object(s) in {d['by']} -> {d['picked']})"
        for d in decisions[:shown]
    )
    more = f" and {len(decisions) - shown} more" if len(decisions) > shown else ""
    return (f"{len(decisions)} image(s) where dataset.csv's fractured flag disagrees with the objects of "
            f"'{decisions[0]['by']}': the objects decide (decisions in manifest.json): {head}{more}")  # fmt: skip


def _csv_text(d: dict[str, Any]) -> str:
    return "dataset.csv fractured=" + str(d["sources"]["dataset.csv"]["fractured"])


def _plain(v: Any) -> Any:
    f = float(v)
    return int(f) if f.is_integer() else f
