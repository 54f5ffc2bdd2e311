"""VGG / VIA JSON reader: makesense.ai polygon exports and real VIA 1.x / 2.x files.

makesense writes ``{"IMG.jpg": {"fileref": "", "size": <bytes>, "filename": "IMG.jpg",
"base64_img_data": "", "file_attributes": {}, "regions": {"0": {...}, "2": {...}}}}``:
top-level keys are bare file names, ``regions`` is an object keyed "0", "1" ... (gaps
where a label was deleted), point lists are closed (first vertex repeated) and the label
is ``region_attributes.label`` (reference/makesense-exports.md §7). ``size`` is the file
size in bytes, never the image size. Real VIA keys images ``filename + size`` and stores
regions as a list; VIA 2 project files nest everything under ``_via_img_metadata``.
Rect regions become box-only rows. An export with no labelled polygon is ``{}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..model import Problem, Source, make_objects, make_source_images
from ._json import as_int, flat_floats, load_object, read_document, rings_to_objects, sniff_json

__all__ = ["parse", "read", "sniff"]


def sniff(path: Path) -> int:
    """Detection score of a ``.json`` file: 2 when its head reads as VGG / VIA (or ``{}``)."""
    return 2 if sniff_json(path) == "vgg" else 0


def read(path: str | Path, *, name: str = "vgg", base: str | Path | None = None) -> tuple[Source, list[Problem]]:
    """Read a VGG JSON file. ``file`` in rows and problems is relative to ``base`` when given."""
    return read_document(parse, path, name=name, base=base, format="vgg", geometry="polygon")


def parse(data: bytes, *, file: str, name: str = "vgg") -> tuple[Source, list[Problem]]:
    """Parse VGG JSON bytes into a polygon :class:`Source` plus reading problems. Never raises."""
    doc, problems = load_object(data, file=file, source=name, expected="an object keyed by image file name")
    if doc is None:
        return Source.empty(name, "vgg", geometry="polygon"), problems
    if isinstance(doc.get("_via_img_metadata"), dict):  # VIA 2 project file
        doc = doc["_via_img_metadata"]

    def problem(kind: str, msg: str, loc: str, image: str | None = None, severity: str = "error") -> None:
        problems.append(Problem(kind, msg, file=file, loc=loc, image=image, source=name, severity=severity))

    images: dict[str, tuple] = {}
    rows: list[tuple] = []  # (image, label, loc, kind, payload)
    for top, entry in doc.items():
        if not isinstance(entry, dict):
            problem("bad-value", f"entry is a JSON {type(entry).__name__}, expected an object", top)
            continue
        fname = entry.get("filename")
        image = _bare(fname) if isinstance(fname, str) else ""
        image = image or _bare(top)
        if not image:
            problem("missing-key", "entry has neither a 'filename' nor a file-name key", top)
            continue
        if image in images:
            msg = f"image '{image}' is listed twice ({images[image][0]} and {top}); regions of both are kept"
            problem("duplicate-image-id", msg, top, image=image, severity="warning")
        else:
            images[image] = (top, as_int(entry.get("size")))
        regions = entry.get("regions")
        if regions is None:
            problem("missing-key", f"image '{image}' has no 'regions'", top, image=image)
            continue
        if isinstance(regions, dict):
            items = list(regions.items())
        elif isinstance(regions, list):
            items = [(str(i), r) for i, r in enumerate(regions)]
        else:
            problem("bad-value", f"'regions' is a JSON {type(regions).__name__}, expected an object or a list", top, image=image)
            continue
        for rkey, region in items:
            loc = f"{top}/regions/{rkey}"
            row, error = _region(region)
            if error is None:
                rows.append((image, row[0], loc, row[1], row[2]))
            else:
                problem(*error, loc=loc, image=image)

    source = Source(
        name=name, format="vgg", objects=_objects(rows, file), geometry="polygon",
        images=make_source_images(
            list(images), file=[file] * len(images), loc=[v[0] for v in images.values()],
            file_size=[v[1] for v in images.values()],
        ),
        labels=list(dict.fromkeys(r[1] for r in rows if r[1] is not None)),
    )  # fmt: skip
    return source, problems


def _bare(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _region(region: Any) -> tuple[tuple | None, tuple[str, str] | None]:
    """``(row, None)`` for a usable region, row = ``(label, kind, payload)``; ``(None, error)``
    for one that cannot be read, error = ``(problem kind, message)``."""
    if not isinstance(region, dict):
        return None, ("bad-value", f"region is a JSON {type(region).__name__}, expected an object")
    shape = region.get("shape_attributes")
    if not isinstance(shape, dict):
        return None, ("missing-key", "region has no 'shape_attributes' object")
    label = _label(region.get("region_attributes"))
    kind = shape.get("name")
    if kind == "polygon":
        payload, error = _polygon_points(shape)
    elif kind == "polyline":  # VIA 2: a polyline drawn closed is used as a polygon
        payload, error = _polygon_points(shape)
        if payload is not None and (len(payload) < 4 or not np.array_equal(payload[0], payload[-1])):
            payload, error = None, ("unsupported", "polyline is open (its last vertex is not its first): not a polygon; not read")
        kind = "polygon"
    elif kind == "rect":
        payload, error = _rect_corners(shape)
    else:
        payload, error = None, ("unsupported", f"region shape {kind!r} is not read (only polygon and rect)")
    return (None, error) if error is not None else ((label, kind, payload), None)


def _label(attrs: Any) -> str | None:
    """The region's label: ``region_attributes.label``, else (VIA projects name the attribute
    as they like: ``type``, ``class`` ...) the first other attribute holding a non-empty text."""
    if not isinstance(attrs, dict):
        return None
    label = attrs.get("label")
    if isinstance(label, str) and label.strip():
        return label
    others = [v for k, v in attrs.items() if k != "label" and isinstance(v, str) and v.strip()]
    return others[0] if others else (label if isinstance(label, str) else None)


def _polygon_points(shape: dict) -> tuple[np.ndarray | None, tuple[str, str] | None]:
    """``((n, 2) vertices, None)`` of a VIA polygon, or ``(None, error)``."""
    xs, ys = shape.get("all_points_x"), shape.get("all_points_y")
    if not (isinstance(xs, list) and isinstance(ys, list)):
        return None, ("missing-key", "polygon needs 'all_points_x' and 'all_points_y' lists")
    fx, fy = flat_floats(xs), flat_floats(ys)
    if fx is None or fy is None:
        return None, ("bad-value", "polygon point lists hold a value that is not a number")
    if len(fx) != len(fy):
        return None, ("bad-value", f"all_points_x has {len(fx)} values but all_points_y has {len(fy)}")
    return np.column_stack([fx, fy]), None


def _rect_corners(shape: dict) -> tuple[np.ndarray | None, tuple[str, str] | None]:
    """``([x0, y0, x1, y1], None)`` of a VIA rect, or ``(None, error)``."""
    vals = [shape.get(k) for k in ("x", "y", "width", "height")]
    box = flat_floats(vals)
    if box is None:
        return None, ("bad-value", f"rect needs numeric x, y, width, height, got {vals!r}")
    return np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]]), None


def _objects(rows: list[tuple], file: str) -> Any:
    n = len(rows)
    poly = np.array([r[3] == "polygon" for r in rows], dtype=bool)
    geometry = np.full(n, None, dtype=object)
    ext = np.full((4, n), np.nan)
    n_parts = np.full(n, np.nan)
    n_vertices = np.full(n, np.nan)
    p = np.flatnonzero(poly)
    if len(p):
        rings = [rows[i][4] for i in p]
        built = rings_to_objects(np.concatenate(rings), [len(r) for r in rings], np.arange(len(p)), len(p))
        geometry[p] = built["geometry"]
        ext[:, p] = np.stack([built[c] for c in ("x0", "y0", "x1", "y1")])
        n_parts[p], n_vertices[p] = built["n_parts"], built["n_vertices"]
    r = np.flatnonzero(~poly)
    if len(r):
        ext[:, r] = np.stack([rows[i][4] for i in r]).T
    labels: dict[Any, Any] = {}
    return make_objects(
        {
            "image": [row[0] for row in rows],
            "label": [labels.setdefault(row[1], row[1]) for row in rows],  # one string per label name
            "x0": ext[0], "y0": ext[1], "x1": ext[2], "y1": ext[3],
            "geometry": geometry,
            "file": [file] * n,
            "loc": [row[2] for row in rows],
            "n_parts": n_parts,
            "n_vertices": n_vertices,
        }
    )  # fmt: skip
