"""Helpers shared by the writers: label-line text, per-image text files, file stems.

Nothing here decides what is written (that is the plan's shape policy, in ``convert``);
these only turn numbers into the bytes a format expects, fast at 10^5 files.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .registry import WritePlan

__all__ = ["format_rows", "group_lines", "write_text_files", "stems", "yolo_boxes"]


def stems(keys: pd.Index | np.ndarray) -> np.ndarray:
    """File name without its last extension (``IMG1.jpg`` -> ``IMG1``), as makesense and Ultralytics do."""
    out = []
    for k in map(str, keys):
        dot = k.rfind(".")
        out.append(k[:dot] if dot > 0 else k)
    return np.array(out, dtype=object)


def write_text_files(paths: list[str], texts: list[str | bytes]) -> int:
    """Write each text (UTF-8) to its path; the files must not exist yet. Returns files written.

    Plain ``os.open``/``os.write``: no buffered text layer per file, which is what costs
    when a dataset has 100k label files. Parent folders are created once each.
    """
    for parent in {p[: p.rfind(os.sep)] for p in paths}:
        os.makedirs(parent, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for path, text in zip(paths, texts):
        fd = os.open(path, flags, 0o666)
        try:
            if text:
                os.write(fd, text.encode("utf-8") if isinstance(text, str) else text)
        finally:
            os.close(fd)
    return len(paths)


def group_lines(images: np.ndarray, lines: np.ndarray) -> dict[Any, str]:
    """``image -> "line\nline\n"`` keeping the order of ``lines``."""
    per: dict[Any, list[str]] = {}
    for k, t in zip(images.tolist(), lines.tolist()):
        lst = per.get(k)
        if lst is None:
            per[k] = [t]
        else:
            lst.append(t)
    return {k: "\n".join(v) + "\n" for k, v in per.items()}


def _fixed6(flat: np.ndarray) -> str | None:
    """``"%.6f "`` of every value in [0, 10) as one ASCII string (9 characters per value),
    built with numpy digit arithmetic; None when a value is outside that range."""
    if len(flat) and not ((flat >= 0) & (flat < 9.9999995)).all():
        return None
    q = np.rint(flat * 1e6).astype(np.int64)
    out = np.empty((len(q), 9), dtype=np.uint8)
    out[:, 0] = 48 + q // 1_000_000
    out[:, 1] = 46  # "."
    frac = q % 1_000_000
    for j in range(6):
        out[:, 2 + j] = 48 + (frac // 10 ** (5 - j)) % 10
    out[:, 8] = 32  # " "
    return out.tobytes().decode("ascii")


def format_rows(head: np.ndarray, values: np.ndarray, lengths: np.ndarray, fmt: str = "%.6f") -> list[str]:
    """One text line per row: ``head[i]`` then its ``lengths[i]`` values, space separated."""
    flat = values.ravel()
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    heads = head.tolist()
    if fmt == "%.6f":
        buf = _fixed6(flat)
        if buf is not None:
            return [f"{hd} {buf[9 * s : 9 * (s + k) - 1]}" for hd, s, k in zip(heads, starts.tolist(), lengths.tolist())]
    tokens = ((fmt + " ") * len(flat) % tuple(flat.tolist())).split(" ") if len(flat) else []
    return [f"{hd} {' '.join(tokens[s:s + k])}" for hd, s, k in zip(heads, starts.tolist(), lengths.tolist())]


def yolo_boxes(plan: WritePlan, *, inside: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``plan.objects`` to write as YOLO box lines, and their ``cx cy w h``:
    clamped to the image (the plan's policy), normalised, rounded to 6 decimals.

    ``inside`` also shrinks ``w`` / ``h`` so that the box stays within [0, 1] after rounding
    (makesense's importer, PR #188). A box left narrower than 1e-6 is recorded as dropped.
    """
    objects = plan.objects
    boxes, keep = plan.boxes(plan.geometry(record=False))
    rows = np.flatnonzero(keep)
    b = boxes[keep]
    w = objects["w"].to_numpy()[keep]
    h = objects["h"].to_numpy()[keep]
    xywh = np.round(np.stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h, (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h], axis=1), 6)
    if inside:
        cx, cy = xywh[:, 0], xywh[:, 1]
        xywh[:, 2] = np.minimum(xywh[:, 2], np.round(2 * np.minimum(cx, 1 - cx), 6))
        xywh[:, 3] = np.minimum(xywh[:, 3], np.round(2 * np.minimum(cy, 1 - cy), 6))
        xywh = np.clip(xywh, 0.0, 1.0)
    ok = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
    if (~ok).any():
        plan.recorder.add("object-dropped", objects.iloc[rows[~ok]], "box narrower than 1e-6 of the image; not written")
    return rows[ok], xywh[ok]
