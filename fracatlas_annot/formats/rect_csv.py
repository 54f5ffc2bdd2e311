"""makesense.ai rect CSV reader.

makesense writes ``label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height``
rows (rounded integer pixels, top-left corner plus size), LF, no quoting and no trailing
newline (reference/makesense-exports.md §5). Exports before 2022-06-08 have no header
line and leave an empty line inside an image's block for each unlabelled box; those
lines are skipped and counted (``Source.meta["empty_lines"]``). A box whose label was
deleted has an empty ``label_name`` and is read with label ``None``. An image's declared
size comes from its first row; later rows that disagree are listed in
``Source.meta["size_conflicts"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..model import Problem, Source, make_objects, make_source_images
from ._json import bad_byte_message, decode_text, read_document

__all__ = ["HEADER", "parse", "read"]

HEADER = ("label_name", "bbox_x", "bbox_y", "bbox_width", "bbox_height", "image_name", "image_width", "image_height")
_NUMERIC = [1, 2, 3, 4, 6, 7]


def read(path: str | Path, *, name: str = "csv", base: str | Path | None = None) -> tuple[Source, list[Problem]]:
    """Read a rect CSV file. ``file`` in rows and problems is relative to ``base`` when given."""
    return read_document(parse, path, name=name, base=base, format="csv", geometry="box")


def parse(data: bytes, *, file: str, name: str = "csv") -> tuple[Source, list[Problem]]:
    """Parse rect CSV bytes into a box :class:`Source` plus reading problems. Never raises."""
    text, problems = decode_text(data, file=file, source=name, errors="surrogateescape")  # bad byte: its line
    if text is None:
        return Source.empty(name, "csv"), problems
    lines = text.split("\n")
    first = lines[0].rstrip("\r").strip().lower().split(",")
    header = first[:1] == ["label_name"]
    if header and tuple(first) != HEADER:
        msg = f"header is {lines[0].strip()!r}, expected {','.join(HEADER)!r}; columns read in the makesense order"
        problems.append(Problem("bad-value", msg, file=file, loc="line 1", line=1, source=name, severity="warning"))
    start = 1 if header else 0
    numbers, fields, empty = [], [], []
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1].rstrip("\r")
        if not line.strip():
            empty.append(number)
            continue
        if (why := bad_byte_message(line)) is not None:
            problems.append(Problem("parse-error", f"{why}; line not read", file=file, loc=f"line {number}",
                                    line=number, source=name))
            continue
        parts = line.split(",")
        if len(parts) != len(HEADER):
            msg = f"expected {len(HEADER)} comma-separated fields ({','.join(HEADER)}), got {len(parts)}"
            problems.append(Problem("bad-value", msg, file=file, loc=f"line {number}", line=number, source=name))
            continue
        numbers.append(number)
        fields.append(parts)

    table = pd.DataFrame(fields, columns=list(HEADER), dtype=object)
    values = np.column_stack(
        [pd.to_numeric(table[HEADER[c]], errors="coerce").to_numpy(dtype=np.float64) for c in _NUMERIC]
    ) if len(table) else np.empty((0, len(_NUMERIC)))  # fmt: skip
    bad = ~np.isfinite(values)
    no_image = (table["image_name"].str.strip() == "").to_numpy(dtype=bool) if len(table) else np.zeros(0, bool)
    with np.errstate(invalid="ignore"):  # image sizes are whole pixels of a sane magnitude
        bad[:, 4:] |= (values[:, 4:] != np.round(values[:, 4:])) | (np.abs(values[:, 4:]) >= 2**31)
    for r in np.flatnonzero(bad.any(axis=1) | no_image):
        cols = [HEADER[_NUMERIC[c]] for c in np.flatnonzero(bad[r])]
        what = ", ".join(f"{c}={table.at[r, c]!r}" for c in cols)
        msg = f"not a finite number (image sizes: whole pixels): {what}" if cols else "image_name is empty"
        problems.append(Problem("bad-value", msg, file=file, loc=f"line {numbers[r]}", line=numbers[r], source=name,
                                image=table.at[r, "image_name"] or None))  # fmt: skip
    good = ~bad.any(axis=1) & ~no_image
    table, values = table[good].reset_index(drop=True), values[good]
    line_no = np.asarray(numbers, dtype=np.int64)[good]

    image = table["image_name"].to_numpy(dtype=object)
    labels = [lab if lab else None for lab in table["label_name"]]
    objects = make_objects(
        {
            "image": image,
            "label": labels,
            "x0": values[:, 0], "y0": values[:, 1],
            "x1": values[:, 0] + values[:, 2], "y1": values[:, 1] + values[:, 3],
            "file": [file] * len(table),
            "loc": [f"line {n}" for n in line_no],
            "line": line_no.astype(np.float64),
        }
    )  # fmt: skip
    first_row = ~pd.Series(image, dtype=object).duplicated().to_numpy()
    images = make_source_images(
        list(image[first_row]),
        width=values[first_row, 4], height=values[first_row, 5],
        file=[file] * int(first_row.sum()), loc=[f"line {n}" for n in line_no[first_row]],
    )  # fmt: skip
    problems.sort(key=lambda p: p.line or 0)
    # rows of one image that declare another size than its first row (kept for validate)
    first_size = pd.DataFrame(values[first_row, 4:6], index=image[first_row]).reindex(image).to_numpy()
    conflict = np.flatnonzero((values[:, 4:6] != first_size).any(axis=1))
    size_conflicts = [
        {"image": image[r], "line": int(line_no[r]), "width": int(values[r, 4]), "height": int(values[r, 5])} for r in conflict
    ]
    meta = {"header": header, "empty_lines": empty, "size_conflicts": size_conflicts}
    source = Source(name=name, format="csv", objects=objects, images=images, geometry="box", meta=meta,
                    labels=list(dict.fromkeys(lab for lab in labels if lab is not None)))  # fmt: skip
    return source, problems
