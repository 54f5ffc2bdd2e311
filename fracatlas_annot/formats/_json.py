"""Shared helpers for the single-document readers (COCO, VGG, rect CSV).

* which JSON family a file is, from its head (:func:`sniff_json`);
* bytes -> text -> JSON with located problems (:func:`decode_text`, :func:`load_json`):
  nothing here raises on bad input; every failure becomes a :class:`Problem` naming the
  file and the line / column / byte offset where it happened;
* strict JSON-number columns (:func:`flat_floats`, :func:`int_array`);
* stacked polygon rings -> per-object geometry columns, vectorised (:func:`rings_to_objects`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..model import Problem, Source
from ._files import read_regular

_BOM = b"\xef\xbb\xbf"
_HEAD = 4096
_COCO_KEYS = re.compile(rb'"(?:annotations|categories|images)"\s*:\s*\[')
_VGG_KEYS = re.compile(rb'"(?:regions|_via_img_metadata|fileref|base64_img_data|shape_attributes)"\s*:')


def sniff_json(path: str | os.PathLike[str]) -> str | None:
    """``"coco"`` or ``"vgg"`` from the first bytes of a JSON file, else None.

    makesense names both exports alike (``labels_<project>_<date>.json``), so the keys decide:
    whichever family's key comes first; ``{}`` is makesense's empty VGG export (issue #153).
    """
    try:
        head = read_regular(path, head=_HEAD)
    except OSError:
        return None
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return None
    coco = _COCO_KEYS.search(head)
    vgg = _VGG_KEYS.search(head)
    if coco and (not vgg or coco.start() < vgg.start()):
        return "coco"
    if vgg:
        return "vgg"
    if re.fullmatch(rb"\{\s*\}\s*", head):
        return "vgg"
    return None


def decode_text(
    data: bytes, *, file: str, source: str | None = None, errors: str = "strict"
) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 bytes (a leading BOM is tolerated); report empty or non-UTF-8 input.

    With ``errors="surrogateescape"`` (line formats, where a bad byte costs its line, not
    the file) bytes that are not UTF-8 decode to U+DC80..U+DCFF for the caller to report.

    Returns ``(text, [])`` or ``(None, [problem])``.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        what = "empty file" if not data else "file holds only whitespace"
        return None, [Problem("parse-error", what, file=file, loc="byte 0", source=source)]
    try:
        return data.decode("utf-8", errors), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        msg = f"not UTF-8: invalid byte 0x{bad} at byte offset {exc.start} (line {line}): {exc.reason}"
        return None, [Problem("parse-error", msg, file=file, loc=f"byte {exc.start}", line=line, source=source)]


#: A byte that is not UTF-8, as ``errors="surrogateescape"`` decodes it.
BAD_BYTE = re.compile("[\udc80-\udcff]")


def bad_byte_message(line_text: str) -> str | None:
    """``"not UTF-8: byte 0x.. at column c"`` for a line decoded with surrogateescape, else None."""
    bad = BAD_BYTE.search(line_text)
    if bad is None:
        return None
    return f"not UTF-8: byte 0x{ord(bad.group()) - 0xDC00:02x} at column {bad.start() + 1}"


def load_json(data: bytes, *, file: str, source: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse a JSON document from bytes.

    Returns ``(value, [])`` or ``(None, [problem])`` where the problem is a
    ``parse-error`` carrying the line and column of a syntax error. A key written twice in
    one object is reported (:func:`_repeated_keys`): a warning when the value repeats, else
    an error and ``None``.
    """
    text, problems = decode_text(data, file=file, source=source)
    if text is None:
        return None, problems
    repeated: list[tuple[str, bool]] = []  # (key, values differ)

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: dict[str, Any] = {}
            for key, value in pairs:
                if key in seen:
                    repeated.append((key, seen[key] != value))
                seen[key] = value
        return out

    try:
        doc = json.loads(text, object_pairs_hook=pairs_hook)
        if repeated:
            return _repeated_keys(doc, repeated, text, file=file, source=source)
        return doc, []
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        return None, [Problem("parse-error", msg, file=file, loc=f"column {exc.colno}", line=exc.lineno, source=source)]
    except RecursionError:
        return None, [Problem("parse-error", "invalid JSON: nested too deeply", file=file, source=source)]
    except ValueError:  # Python refuses to convert an integer of over 4,300 digits (CVE-2020-10735)
        m = re.search(r"\d{%d,}" % (sys.get_int_max_str_digits() + 1), text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        n = len(m.group()) if m else "too many"
        msg = f"invalid JSON: an integer of {n} digits (over {sys.get_int_max_str_digits()}); file not read"
        return None, [Problem("parse-error", msg, file=file, line=line, source=source,
                              loc=f"char {m.start()}" if m else None)]  # fmt: skip


def _repeated_keys(
    doc: Any, repeated: list[tuple[str, bool]], text: str, *, file: str, source: str | None
) -> tuple[Any, list[Problem]]:
    """Problems for keys written twice in one JSON object (a second ``"annotations": []``
    silently erases the first for every JSON parser). Repeats of the same value are a
    warning; a key repeated with another value makes the document unusable: which one the
    author meant is unknown, so neither is used."""
    problems = []
    conflict = False
    for key, differs in dict.fromkeys(repeated):
        hits = [m.start() for m in re.finditer(re.escape(json.dumps(key)) + r"\s*:", text)]
        line = text.count("\n", 0, hits[1]) + 1 if len(hits) == 2 else None
        if differs:
            conflict = True
            msg = f"duplicate key {key!r} in one JSON object, with another value: file not used"
        else:
            msg = f"duplicate key {key!r} in one JSON object (same value repeated)"
        problems.append(Problem("parse-error", msg, file=file, loc=key, line=line, source=source,
                                severity="error" if differs else "warning"))
    return (None if conflict else doc), problems


def load_object(data: bytes, *, file: str, source: str | None, expected: str) -> tuple[dict | None, list[Problem]]:
    """:func:`load_json` for documents whose top level must be a JSON object.

    ``expected`` completes the message "top level is a JSON list, expected ...".
    """
    doc, problems = load_json(data, file=file, source=source)
    if doc is None and problems:
        return None, problems
    if not isinstance(doc, dict):
        msg = f"top level is a JSON {type(doc).__name__}, expected {expected}"
        return None, [*problems, Problem("parse-error", msg, file=file, loc="$", source=source)]
    return doc, problems


def read_document(
    parse: Callable[..., tuple[Source, list[Problem]]], path: str | Path, *, name: str, base: str | Path | None,
    format: str, geometry: str,
) -> tuple[Source, list[Problem]]:
    """``read()`` for a single-document format: load the file, ``parse`` it, record the path."""
    file = origin_name(path, base)
    data, problems = read_bytes(path, file=file, source=name)
    if data is None:
        source = Source.empty(name, format, geometry=geometry)
    else:
        source, problems = parse(data, file=file, name=name)
    source.path = str(path)
    return source, problems


def read_bytes(path: str | Path, *, file: str, source: str | None = None) -> tuple[bytes | None, list[Problem]]:
    """Read a whole file; an OS error becomes a ``parse-error`` problem."""
    try:
        return read_regular(path), []
    except OSError as exc:
        return None, [Problem("parse-error", f"cannot read file: {exc.strerror or exc}", file=file, source=source)]


def origin_name(path: str | Path, base: str | Path | None) -> str:
    """The ``file`` value for rows read from ``path``: relative to ``base`` when possible."""
    p = Path(path)
    if base is not None:
        try:
            return p.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            pass
    return p.as_posix() if base is not None else p.name


def is_number(value: Any) -> bool:
    """True for JSON numbers (int or float, not bool)."""
    return type(value) in (int, float)


def as_int(value: Any) -> Any:
    """An integral JSON number as int, anything else as None (for nullable Int64 columns)."""
    t = type(value)
    if t is int:
        return value if -(2**63) < value < 2**63 else None
    if t is float and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return None


def as_float(value: Any) -> float:
    """A JSON number as float, anything else as NaN."""
    if type(value) in (int, float):
        try:
            return float(value)
        except OverflowError:
            return float("nan")
    return float("nan")


def flat_floats(values: list[Any]) -> np.ndarray | None:
    """A list of JSON numbers as float64, or None if any item is not a number."""
    types = set(map(type, values))
    if not types <= {int, float}:
        return None
    try:
        return np.array(values, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None


# --------------------------------------------------------------------------- rings -> objects


def rings_to_objects(
    xy: np.ndarray, ring_len: np.ndarray, ring_owner: np.ndarray, n_objects: int
) -> dict[str, np.ndarray]:
    """Build per-object geometry columns from stacked polygon rings, vectorised.

    ``xy`` (m, 2) holds every ring's vertices one ring after another, as written (a
    repeated closing vertex is dropped); ``ring_len`` the vertices per ring and
    ``ring_owner`` the object row of each ring (non-decreasing). An object with one
    ring gets a Polygon, with several a MultiPolygon, with none ``None``. A ring with
    fewer than 3 vertices becomes ``POLYGON EMPTY`` (its raw count stays visible in
    ``n_vertices``); self-intersecting, zero-area and NaN rings are built as written.

    Returns columns ``geometry``, ``x0``, ``y0``, ``x1``, ``y1`` (vertex extent, NaN for
    objects without vertices), ``n_parts`` and ``n_vertices`` (distinct vertices of the
    object's largest ring by area).
    """
    import shapely

    ring_len = np.asarray(ring_len, dtype=np.int64)
    ring_owner = np.asarray(ring_owner, dtype=np.int64)
    n_rings = len(ring_len)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    # drop an explicit closing vertex (first == last)
    starts = _starts(ring_len)
    closed = _closed(xy, starts, ring_len)
    keep = np.ones(len(xy), dtype=bool)
    keep[(starts + ring_len - 1)[closed]] = False
    xy = xy[keep]
    eff = ring_len - closed
    ring_of_vertex = np.repeat(np.arange(n_rings), eff)
    starts_eff = _starts(eff)
    # a ring still closed after dropping one repeat ([a, b, a, a]) is read by GEOS as closed
    still_closed = _closed(xy, starts_eff, eff)
    good = (eff - still_closed) >= 3
    distinct = np.zeros(n_rings, dtype=np.int64)
    polys = np.empty(n_rings, dtype=object)
    polys[~good] = shapely.Polygon()
    # rings of one length at a time: (k, L, 2) blocks, no Python loop over rings
    for length in np.unique(eff):
        sel = np.flatnonzero(eff == length)
        if length == 0:
            continue
        block = xy[starts_eff[sel][:, None] + np.arange(length)]
        distinct[sel] = _distinct_counts(block)
        ok = good[sel]
        for j in np.flatnonzero(ok & np.isnan(block[:, 0]).any(axis=1)):
            # GEOS cannot close a ring that starts at NaN: start it at its first finite vertex
            finite = ~np.isnan(block[j]).any(axis=1)
            ok[j] = finite.any()
            block[j] = np.roll(block[j], -int(np.argmax(finite)), axis=0)
        if ok.any():
            polys[sel[ok]] = _polygons(block[ok])
        polys[sel[~ok]] = shapely.Polygon()

    best = _largest_rings(xy, starts_eff, eff, ring_of_vertex, ring_owner)
    n_vertices = np.full(n_objects, -1, dtype=np.int64)
    n_vertices[ring_owner[best]] = distinct[best]
    n_parts = np.bincount(ring_owner, minlength=n_objects)

    # vertex extent per object (NaN vertices ignored)
    ext = np.full((4, n_objects), np.nan)
    vert_owner = ring_owner[ring_of_vertex]
    if len(xy):
        seg = np.flatnonzero(np.r_[True, vert_owner[1:] != vert_owner[:-1]])
        owners = vert_owner[seg]
        ext[0, owners] = np.fmin.reduceat(xy[:, 0], seg)
        ext[1, owners] = np.fmin.reduceat(xy[:, 1], seg)
        ext[2, owners] = np.fmax.reduceat(xy[:, 0], seg)
        ext[3, owners] = np.fmax.reduceat(xy[:, 1], seg)

    geometry = np.full(n_objects, None, dtype=object)
    single = n_parts[ring_owner] == 1
    geometry[ring_owner[single]] = polys[single]
    several = ~single & good
    if several.any():
        owners, inverse = np.unique(ring_owner[several], return_inverse=True)
        geometry[owners] = shapely.multipolygons(polys[several], indices=inverse)
    all_empty = (n_parts > 1) & shapely.is_missing(geometry)
    geometry[all_empty] = shapely.Polygon()
    return {
        "geometry": geometry,
        "x0": ext[0],
        "y0": ext[1],
        "x1": ext[2],
        "y1": ext[3],
        "n_parts": n_parts,
        "n_vertices": np.where(n_parts > 0, n_vertices, -1),
    }


def _largest_rings(
    xy: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ring_of_vertex: np.ndarray, ring_owner: np.ndarray
) -> np.ndarray:
    """Index of each owner's largest ring by shoelace area (ties: the first ring)."""
    n_rings = len(lengths)
    if n_rings < 2 or (ring_owner[1:] != ring_owner[:-1]).all():
        return np.arange(n_rings)  # one ring per object (the makesense case)
    nxt = np.arange(1, len(xy) + 1)
    has = lengths > 0
    nxt[(starts + lengths - 1)[has]] = starts[has]
    cross = xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1]
    area = np.abs(np.bincount(ring_of_vertex, weights=cross, minlength=n_rings)) / 2
    area = np.where(np.isnan(area), -1.0, area)
    order = np.lexsort((-area, ring_owner))
    first_of_owner = np.ones(n_rings, dtype=bool)
    first_of_owner[1:] = ring_owner[order][1:] != ring_owner[order][:-1]
    return order[first_of_owner]


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Offset of each ring's first vertex in the stacked vertex array."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    starts[1:] = np.cumsum(lengths)[:-1]
    return starts


def _closed(xy: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rings (of 2+ vertices) whose last vertex repeats the first."""
    closed = np.zeros(len(lengths), dtype=bool)
    two = lengths >= 2
    if two.any():
        closed[two] = (xy[starts[two]] == xy[starts[two] + lengths[two] - 1]).all(axis=1)
    return closed


def _polygons(block: np.ndarray) -> np.ndarray:
    """shapely.polygons over a (k, L, 2) block; a ring GEOS refuses becomes POLYGON EMPTY."""
    import shapely

    with np.errstate(invalid="ignore"):  # NaN vertices are kept for validate to flag
        try:
            return shapely.polygons(block)
        except shapely.errors.GEOSException:
            out = np.empty(len(block), dtype=object)
            for i, ring in enumerate(block):
                try:
                    out[i] = shapely.polygons(ring)
                except shapely.errors.GEOSException:
                    out[i] = shapely.Polygon()
            return out


def _distinct_counts(block: np.ndarray) -> np.ndarray:
    """Distinct vertices per ring for a (k, L, 2) block (NaN never equals anything).

    Vertices become complex numbers, which numpy sorts lexicographically (x, then y), so
    equal vertices end up side by side within each ring.
    """
    z = np.empty(block.shape[:2], dtype=np.complex128)
    z.real, z.imag = block[..., 0], block[..., 1]
    z.sort(axis=1)
    return 1 + (z[:, 1:] != z[:, :-1]).sum(axis=1)



def int_array(values: list[Any]) -> np.ndarray:
    """JSON values for a nullable Int64 column, as float64 with NaN for non-integers.

    (A float array converts to Int64 without a Python loop; integers above 2**53 lose precision.)
    """
    out = None
    if values and set(map(type, values)) == {int}:
        try:
            out = np.array(values, dtype=np.float64)
        except OverflowError:
            pass
    if out is None:
        out = np.array([np.nan if i is None else i for i in map(as_int, values)], dtype=np.float64)
    out[np.abs(out) >= 2**53] = np.nan  # beyond exact float64 integers: not an id or a size
    return out


def lookup_all(mapping: dict[Any, Any], values: list[Any]) -> list[Any]:
    """``[mapping.get(v) for v in values]``, with unhashable values giving None."""
    try:
        return [mapping.get(v) for v in values]
    except TypeError:
        out = []
        for v in values:
            try:
                out.append(mapping.get(v))
            except TypeError:
                out.append(None)
        return out
