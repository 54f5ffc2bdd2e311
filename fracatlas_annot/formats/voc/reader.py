"""Pascal VOC XML (makesense.ai RECT export, FracAtlas ``Annotations/PASCAL VOC``).

makesense writes one XML per image, TAB-indented, with no XML declaration and no trailing
newline (``reference/makesense-exports.md`` §4). Coordinates are 0-based pixel edges, used
as written (no ``-1`` offset). Exports made before 2021-10 hold ``Unspecified`` in
``<truncated>``/``<difficult>``; those columns keep the raw text.

Parsing is safe: a DOCTYPE that declares entities or points at an external DTD is reported
as ``unsafe-xml`` and the file is not used; lxml never resolves entities, loads a DTD or
touches the network. Most files take a fast path: one regular expression that accepts only
the plain element layout makesense and FracAtlas write (no markup, entity or comment in any
text), so anything it accepts is well-formed XML with the same meaning; everything else goes
to lxml. Problems carry an XPath location (``/annotation/object[2]/bndbox/xmin``) and a line.

    >>> source, problems = parse(xml_bytes, file="IMG0000019.xml")
    >>> source, problems = read("labels_my-project-name_2024-03-23-07-10-18.zip")
"""

from __future__ import annotations

import codecs
import os
import re
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from ...model import Problem, Source, leave_out_files, make_objects, make_source_images
from ...runtime.parallel import default_workers, run_chunks, split_chunks
from .._files import (
    batched,
    foreign_in_folder,
    display_prefix,
    iter_entries,
    list_folder,
    os_error_problem,
    read_folder_files,
    stem_of,
)

SUFFIXES = (".xml",)
#: Other formats' per-image files a VOC folder or zip may mix in: reported, never read.
FOREIGN = {".txt": ("a YOLO label file", lambda head: _YOLO_LINE.match(head) is not None)}
_YOLO_LINE = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t\r\n]*[0-9]+(?:[ \t]+[-+0-9.eE]+){4}")
#: Not label files (YOLO class lists).
_NOT_FOREIGN = ("labels.txt", "classes.txt")
COORDS = ("xmin", "ymin", "xmax", "ymax")
#: Documents read and matched together (bounds the memory of the joined text).
BATCH = 8192

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# ---------------------------------------------------------------- fast path (plain layout)
_WS = r"[ \t\r\n]*"
# element text with no markup, entity, CDATA end, control character or line break
_V = r"[^<&\]\x00-\x08\x0b\x0c\x0e-\x1f\r\n]*"
#: Largest integer a size field may hold (larger ones are reported, not stored in Int64).
_MAX_INT = 2**31 - 1
_NUM = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_LEAF = rf"<(?P<leaf>[A-Za-z_][\w.-]*)>{_V}</(?P=leaf)>{_WS}"
_DECL = (
    r"<\?xml[ \t\r\n]+version=(?P<q1>[\"'])1\.[0-9](?P=q1)"
    r"(?:[ \t\r\n]+encoding=(?P<q2>[\"'])[Uu][Tt][Ff]-8(?P=q2))?"
    r"(?:[ \t\r\n]+standalone=(?P<q3>[\"'])(?:yes|no)(?P=q3))?[ \t\r\n]*\?>"
)
def _object_pattern(capture: bool) -> str:
    c = (lambda body: f"({body})") if capture else (lambda body: f"(?:{body})")
    return (
        rf"<object>{_WS}<name>{c(_V)}</name>{_WS}(?:<pose>{_V}</pose>{_WS})?"
        rf"(?:<truncated>{c(_V)}</truncated>{_WS})?(?:<difficult>{c(_V)}</difficult>{_WS})?"
        rf"<bndbox>{_WS}<xmin>{_WS}{c(_NUM)}{_WS}</xmin>{_WS}<ymin>{_WS}{c(_NUM)}{_WS}</ymin>{_WS}"
        rf"<xmax>{_WS}{c(_NUM)}{_WS}</xmax>{_WS}<ymax>{_WS}{c(_NUM)}{_WS}</ymax>{_WS}</bndbox>{_WS}"
        rf"</object>{_WS}"
    )


#: One whole document in the plain layout, preceded by the NUL that separates documents
#: in the batch text (NUL cannot occur in XML, so a match never spans two documents).
_DOC = re.compile(
    rf"\x00\ufeff?(?:{_DECL})?{_WS}<annotation>{_WS}"
    rf"(?:<folder>{_V}</folder>{_WS})?"
    rf"<filename>(?P<filename>{_V})</filename>{_WS}"
    rf"(?:<path>{_V}</path>{_WS})?"
    rf"(?:<source>{_WS}(?:{_LEAF})*</source>{_WS})?"
    rf"(?:<segmented>{_V}</segmented>{_WS})?"
    rf"(?:<size>{_WS}<width>{_WS}(?P<width>[0-9]{{1,9}}){_WS}</width>{_WS}"
    rf"<height>{_WS}(?P<height>[0-9]{{1,9}}){_WS}</height>{_WS}(?:<depth>{_V}</depth>{_WS})?</size>{_WS})?"
    rf"(?:<segmented>{_V}</segmented>{_WS})?"
    rf"(?:{_object_pattern(False)})*"
    rf"</annotation>{_WS}(?=\x00|\Z)"
)
#: One object; groups: name, truncated, difficult, xmin, ymin, xmax, ymax.
_OBJECT = re.compile(_object_pattern(True))

_DECLARED_ENCODING = re.compile(rb"\A<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"']")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_EXTERNAL_ENTITY = re.compile(r"<!ENTITY[^>]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)
_EXTERNAL_ID = re.compile(r"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)


class _Columns:
    """Column lists filled document by document; turned into arrays once (per chunk).

    Documents are numbered (``doc``) in input order; rows are put back in that order at
    :meth:`finish`, whichever path (batch regex or lxml) read them.
    """

    def __init__(self) -> None:
        self.img_doc: list[int] = []
        self.img_key: list[str] = []
        self.img_w: list[int | None] = []
        self.img_h: list[int | None] = []
        self.img_file: list[str] = []
        self.doc: list[int] = []
        self.image: list[str] = []
        self.label: list[str | None] = []
        self.coords: list[str] = []  # 4 per object, validated number text
        self.file: list[str] = []
        self.index: list[int] = []
        self.loc: list[str | None] = []  # None: /annotation/object[index]
        self.line: list[int] = []
        self.truncated: list[str | None] = []
        self.difficult: list[str | None] = []
        self.problems: list[Problem] = []
        self.n_docs = 0

    def add_image(self, doc: int, key: str, width: int | None, height: int | None, file: str) -> None:
        self.img_doc.append(doc)
        self.img_key.append(key)
        self.img_w.append(width)
        self.img_h.append(height)
        self.img_file.append(file)

    def add_object(self, *, doc: int, image: str, label: str | None, coords: Any, file: str, index: int,
                   line: int, truncated: str | None, difficult: str | None, loc: str | None = None) -> None:
        self.doc.append(doc)
        self.image.append(image)
        self.label.append(label)
        self.coords.extend(coords)
        self.file.append(file)
        self.index.append(index)
        self.loc.append(loc)
        self.line.append(line)
        self.truncated.append(truncated)
        self.difficult.append(difficult)

    def finish(self, source: str) -> dict[str, Any]:
        """Order rows by document; convert coordinates at once (overflowing numbers -> problems)."""
        xy = np.array(self.coords, dtype=np.float64).reshape(-1, 4) if self.coords else np.empty((0, 4))
        finite = np.isfinite(xy).all(axis=1)
        for row in np.flatnonzero(~finite):
            col = int(np.flatnonzero(~np.isfinite(xy[row]))[0])
            self.problems.append(Problem(
                kind="bad-value", source=source, image=self.image[row], file=self.file[row],
                loc=f"{self.loc[row] or f'/annotation/object[{self.index[row]}]'}/bndbox/{COORDS[col]}",
                line=self.line[row],
                message=f"{COORDS[col]} is {self.coords[4 * row + col][:40]!r}, not a finite number"))
        order = np.lexsort((np.asarray(self.index, dtype=np.int64), np.asarray(self.doc, dtype=np.int64)))
        order = order[finite[order]]
        img_order = np.argsort(np.asarray(self.img_doc, dtype=np.int64), kind="stable")

        def pick(values: list[Any], idx: np.ndarray) -> list[Any]:
            return [values[i] for i in idx.tolist()]

        def pick_shared(values: list[str | None], idx: np.ndarray) -> list[str | None]:
            # equal texts as one object: pickled once to the parent, not one string per row
            # (issue 13, point 3); strings only, so equal means interchangeable
            seen: dict[str, str] = {}
            return [v if v is None else seen.setdefault(v, v) for v in pick(values, idx)]

        return {
            "img_key": pick(self.img_key, img_order), "img_w": pick(self.img_w, img_order),
            "img_h": pick(self.img_h, img_order), "img_file": pick(self.img_file, img_order),
            "image": pick(self.image, order), "label": pick_shared(self.label, order), "xy": xy[order],
            "file": pick(self.file, order), "index": pick(self.index, order), "loc": pick(self.loc, order),
            "line": pick(self.line, order),
            "truncated": pick_shared(self.truncated, order), "difficult": pick_shared(self.difficult, order),
            "problems": self.problems,
        }


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    return text.strip() or None  # <x></x>, <x> </x> and <x><!-- --></x> all hold nothing


def _text(element: Any) -> str | None:
    """All the character data of ``element``: ``<xmin>1<!-- -->72</xmin>`` is ``"172"`` (its
    ``.text`` is only ``"1"``); comments and processing instructions are skipped, as XML says."""
    if element is None:
        return None
    if len(element) == 0:
        return element.text
    return "".join(element.itertext()) or None  # only comments inside: empty, as <x></x> is


def _findtext(parent: Any, tag: str) -> str | None:
    return _text(parent.find(tag))


def _image_key(text: str | None, file: str, cols: _Columns, source: str, line: int | None) -> str:
    key = (text or "").strip().replace("\\", "/").rsplit("/", 1)[-1]
    if key:
        return key
    key = stem_of(file.rsplit("!", 1)[-1]) + ".jpg"
    cols.problems.append(Problem(
        kind="missing-key", severity="warning", source=source, file=file, loc="/annotation/filename", line=line,
        image=key, message=f"no <filename> text; image key taken from the file name: {key}"))
    return key


def _decode_all(datas: list[bytes]) -> list[str]:
    """UTF-8 text of each document; ``""`` for one that is not UTF-8 or holds NUL."""
    try:
        texts = [d.decode("utf-8") for d in datas]
    except UnicodeDecodeError:
        texts = []
        for d in datas:
            try:
                texts.append(d.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append("")
    if sum(t.count("\x00") for t in texts):
        texts = ["" if "\x00" in t else t for t in texts]
    return texts


def _parse_batch(files: list[str], datas: list[bytes], cols: _Columns, source: str) -> None:
    """Parse many documents: one regex pass over all plain-layout ones, lxml for the rest.

    The documents are joined with NUL separators; :data:`_DOC` finds the ones in the plain
    layout, :data:`_OBJECT` their objects; positions map back to documents with
    ``searchsorted``. Documents the regex does not accept go through :func:`_parse_tree`.
    """
    first = cols.n_docs
    cols.n_docs += len(datas)
    texts = _decode_all(datas)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths) - lengths  # position of each document's leading NUL
    blob = "\x00" + "\x00".join(texts)
    found = [(m.start(), *m.group("filename", "width", "height")) for m in _DOC.finditer(blob)]
    at, filenames, widths, heights = zip(*found) if found else ((), (), (), ())
    docs = np.searchsorted(starts, np.asarray(at, dtype=np.int64), side="right") - 1
    matched = np.zeros(len(texts), dtype=bool)
    matched[docs] = True
    doc_list = docs.tolist()
    keys = [f.strip() for f in filenames]
    for j in [j for j, k in enumerate(keys) if not k or "/" in k or "\\" in k]:
        d = doc_list[j]
        line = texts[d].count("\n", 0, texts[d].index("<filename>")) + 1
        keys[j] = _image_key(filenames[j], files[d], cols, source, line)
    key_of = dict(zip(doc_list, keys))
    cols.img_doc.extend((docs + first).tolist())
    cols.img_key.extend(keys)
    cols.img_w.extend([None if w is None else int(w) for w in widths])
    cols.img_h.extend([None if h is None else int(h) for h in heights])
    cols.img_file.extend([files[d] for d in doc_list])
    hits = [(m.start(), *m.groups()) for m in _OBJECT.finditer(blob)]
    if hits:
        odoc = np.searchsorted(starts, np.fromiter((h[0] for h in hits), dtype=np.int64, count=len(hits)),
                               side="right") - 1
        keep = np.flatnonzero(matched[odoc])
        odoc = odoc[keep]
        rank = np.arange(len(odoc))
        new_doc = np.r_[True, odoc[1:] != odoc[:-1]] if len(odoc) else np.zeros(0, dtype=bool)
        index = rank - np.maximum.accumulate(np.where(new_doc, rank, 0)) + 1
        rows = [hits[k] for k in keep.tolist()]
        od = odoc.tolist()
        cols.doc.extend((odoc + first).tolist())
        cols.image.extend([key_of[d] for d in od])
        cols.label.extend([r[1].strip() or None for r in rows])
        cols.truncated.extend([None if r[2] is None else (r[2].strip() or None) for r in rows])
        cols.difficult.extend([None if r[3] is None else (r[3].strip() or None) for r in rows])
        cols.coords.extend([c for r in rows for c in r[4:]])
        cols.file.extend([files[d] for d in od])
        cols.index.extend(index.tolist())
        cols.loc.extend([None] * len(rows))
        at_doc = _newlines_before(blob, starts[odoc].tolist())
        at_obj = _newlines_before(blob, [r[0] for r in rows])
        cols.line.extend([o - d + 1 for o, d in zip(at_obj, at_doc)])
    for d in np.flatnonzero(~matched).tolist():
        _parse_tree(datas[d], files[d], cols, source, doc=first + d)


def _newlines_before(text: str, positions: list[int]) -> list[int]:
    """Newlines in ``text`` before each of ``positions`` (non-decreasing), in one pass over it:
    linear in the text, however many positions (counting from the start for each was
    quadratic in objects per file)."""
    out: list[int] = []
    seen = prev = 0
    for pos in positions:
        seen += text.count("\n", prev, pos)
        prev = pos
        out.append(seen)
    return out


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """Text of an XML document (UTF-8, or the BOM / declared encoding); (None, reason) if not."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    encoding = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _DECLARED_ENCODING.match(data)
        if declared and declared.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8"):
            encoding = declared.group(1).decode("ascii")
    if encoding is None:
        bad = utf8_error.start
        line = data.count(b"\n", 0, bad) + 1
        return None, f"not UTF-8: byte 0x{data[bad]:02x} at offset {bad} (line {line})"
    try:
        return data.decode(encoding), None
    except (LookupError, UnicodeDecodeError) as exc:
        return None, f"cannot decode as declared encoding {encoding!r}: {exc}"


def _number(element: Any, loc: str, file: str, key: str, cols: _Columns, source: str, *,
            severity: str = "error", integer: bool = False, parent_line: int | None = None) -> Any:
    """Number text of ``element`` (as a float repr / int), or None after recording why not."""
    if element is None:
        cols.problems.append(Problem(kind="missing-key", severity=severity, source=source, image=key, file=file,
                                     loc=loc, line=parent_line,
                                     message=f"missing element <{loc.rsplit('/', 1)[-1]}>; object not read"))
        return None
    text = (_text(element) or "").strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or (integer and (value != int(value) or abs(value) > _MAX_INT)):
        what = f"an integer up to {_MAX_INT}" if integer else "a number"
        cols.problems.append(Problem(kind="bad-value", severity=severity, source=source, image=key, file=file,
                                     loc=loc, line=element.sourceline,
                                     message=f"<{loc.rsplit('/', 1)[-1]}> is {text[:40]!r}, not {what}"))
        return None
    return int(value) if integer else repr(value)


#: Order index of nested objects: after every object directly under <annotation>.
_NESTED = 1 << 40


def _objects(root: Any) -> list[Any]:
    """The ``<object>`` elements of a document, in document order: those under ``<annotation>``
    and those nested under a wrapper element (not those inside another object)."""
    out = []
    for obj in root.iter("object"):
        parent = obj.getparent()
        while parent is not None and parent is not root and parent.tag != "object":
            parent = parent.getparent()
        if parent is root:
            out.append(obj)
    return out


def _parse_tree(data: bytes, file: str, cols: _Columns, source: str, *, doc: int) -> None:
    """Full, safe parse with lxml: every problem gets its location."""
    def problem(kind: str, message: str, *, loc: str | None = None, line: int | None = None) -> None:
        cols.problems.append(Problem(kind=kind, message=message, file=file, loc=loc, line=line, source=source))

    if not data.strip():
        problem("parse-error", "empty file" if not data else "file holds only whitespace")
        return
    text, reason = _decode(data)
    if text is None:
        problem("parse-error", reason or "cannot decode")
        return
    doctype = _DOCTYPE.search(text)
    if doctype is not None:
        line = text.count("\n", 0, doctype.start()) + 1
        if _EXTERNAL_ENTITY.search(text):
            problem("unsafe-xml", "DOCTYPE declares an external entity (SYSTEM/PUBLIC); not followed, file not used",
                    line=line)
            return
        if "<!ENTITY" in text.upper():
            problem("unsafe-xml", "DOCTYPE declares entities (possible entity-expansion bomb); not expanded, "
                    "file not used", line=line)
            return
        if _EXTERNAL_ID.search(text):
            problem("unsafe-xml", "DOCTYPE refers to an external DTD or entity; file not used", line=line)
            return
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        problem("parse-error", f"XML syntax error: {exc.msg}", line=exc.lineno or None)
        return
    except ValueError as exc:  # lxml refuses some inputs before parsing
        problem("parse-error", f"XML syntax error: {exc}")
        return
    if root is None:
        problem("parse-error", "no root element")
        return
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if (dtd is not None and any(True for _ in dtd.iterentities())) or info.system_url or info.public_id:
        problem("unsafe-xml", "DOCTYPE declares entities or an external DTD; file not used")
        return
    if root.tag != "annotation":
        problem("missing-key", f"root element is <{root.tag}>, expected <annotation>; file not used",
                loc="/", line=root.sourceline)
        return
    name_el = root.find("filename")
    key = _image_key(_text(name_el), file, cols, source,
                     name_el.sourceline if name_el is not None else None)
    size = root.find("size")
    dims = []
    for dim in ("width", "height"):
        el = size.find(dim) if size is not None else None
        dims.append(None if el is None else _number(el, f"/annotation/size/{dim}", file, key, cols, source,
                                                    severity="warning", integer=True))
    cols.add_image(doc, key, dims[0], dims[1], file)
    direct = 0
    for order, obj in enumerate(_objects(root), 1):
        if obj.getparent() is root:
            direct += 1
            index, where = direct, None  # loc /annotation/object[index], as the fast path writes it
            loc = f"/annotation/object[{direct}]"
        else:  # after the direct objects, with its own path
            index, where = _NESTED + order, root.getroottree().getpath(obj)
            loc = where
            cols.problems.append(Problem(
                kind="bad-value", severity="warning", source=source, image=key, file=file, loc=loc,
                line=obj.sourceline, message=f"<object> nested under <{obj.getparent().tag}>, not directly under "
                                            "<annotation>; read as an object"))
        box = obj.find("bndbox")
        if box is None:
            cols.problems.append(Problem(kind="missing-key", source=source, image=key, file=file,
                                         loc=f"{loc}/bndbox", line=obj.sourceline,
                                         message="object has no <bndbox>; object not read"))
            continue
        coords = [_number(box.find(k), f"{loc}/bndbox/{k}", file, key, cols, source, parent_line=box.sourceline)
                  for k in COORDS]
        if any(c is None for c in coords):
            continue
        label = _clean(_findtext(obj, "name"))
        cols.add_object(doc=doc, image=key, label=label or None, coords=coords, file=file, index=index, line=obj.sourceline,
                        truncated=_clean(_findtext(obj, "truncated")), difficult=_clean(_findtext(obj, "difficult")),
                        loc=where)


def _folder_chunk(folder: str, prefix: str, source: str, names: list[str], *,
                  pattern: tuple[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Read and parse ``names`` under ``folder`` (runs in a worker process for big folders);
    with ``pattern``, image files named after their image are left out (None)."""
    cols = _Columns()
    for start in range(0, len(names), BATCH):  # slices keep the joined text small
        files, datas = [], []
        for name, data in zip(names[start:start + BATCH], read_folder_files(folder, names[start:start + BATCH])):
            if isinstance(data, OSError):
                if not isinstance(data, IsADirectoryError):
                    cols.problems.append(os_error_problem(data, file=prefix + name, source=source))
                continue
            files.append(prefix + name)
            datas.append(data)
        _parse_batch(files, datas, cols, source)
    part = cols.finish(source)
    if pattern is not None:
        part["img_file"] = leave_out_files(part["img_file"], part["img_key"], *pattern)
    return part


@lru_cache(maxsize=64)
def _object_loc(index: int) -> str:
    """``/annotation/object[i]``, one string per ``i`` (not one per object)."""
    return f"/annotation/object[{index}]"


def _build(parts: list[dict[str, Any]], *, name: str, path: str | None) -> tuple[Source, list[Problem]]:
    def cat(key: str) -> list[Any]:
        return [v for p in parts for v in p[key]] if len(parts) > 1 else parts[0][key]

    xy = np.concatenate([p["xy"] for p in parts]) if parts else np.empty((0, 4))
    labels = cat("label")
    objects = make_objects({
        "image": cat("image"), "label": labels, "class_id": [None] * len(labels),
        "x0": xy[:, 0], "y0": xy[:, 1], "x1": xy[:, 2], "y1": xy[:, 3],
        "file": cat("file"), "loc": [loc or _object_loc(i) for i, loc in zip(cat("index"), cat("loc"))],
        "line": cat("line"),
        "difficult": cat("difficult"), "truncated": cat("truncated"),
    })
    images = make_source_images(cat("img_key"), width=cat("img_w"), height=cat("img_h"), file=cat("img_file"),
                                loc=["/annotation"] * sum(len(p["img_key"]) for p in parts))
    problems = cat("problems")
    for p in problems:
        p.source = p.source or name
    order = pd.unique(pd.Series([lab for lab in labels if lab is not None], dtype=object))
    source = Source(name=name, format="voc", objects=objects, images=images, labels=[str(x) for x in order],
                    geometry="box", path=path)
    return source, list(problems)


def parse(data: bytes, *, file: str, name: str = "voc") -> tuple[Source, list[Problem]]:
    """Parse one VOC XML document (bytes as written) into a Source and its problems.

    Example:
        >>> source, problems = parse(b"<annotation>...</annotation>", file="IMG0000019.xml")
    """
    cols = _Columns()
    _parse_batch([file], [data], cols, name)
    return _build([cols.finish(name)], name=name, path=file)


def read(
    path: str | os.PathLike[str],
    *,
    name: str = "voc",
    base: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    workers: int | None = None,
    derive_files: bool = False,
) -> tuple[Source, list[Problem]]:
    """Read VOC XML from a folder (sorted), a makesense zip or one file.

    Args:
        path: folder of ``.xml`` files, a ``.zip`` of them, or a single ``.xml``.
        name: the source name.
        base: ``file`` columns are relative to this folder (the dataset root).
        recursive: also read sub-folders.
        workers: processes for big folders (default: 2 above 5,000 files; see
            :func:`fracatlas_annot.runtime.parallel.default_workers`).
        derive_files: for a folder, store the ``file`` of an image whose XML file is named
            after it as None (see :attr:`~fracatlas_annot.model.Source.file_pattern`).

    Returns:
        ``(source, problems)``: every file listed in ``source.images`` (object-less files are
        negatives), one object row per ``<object>`` with a readable box.
    """
    p = Path(path)
    if p.is_dir():
        listing: list[Problem] = []
        names = list_folder(p, SUFFIXES, recursive=recursive, problems=listing, display=display_prefix(p, base) or p.name,
                            source=name)  # fmt: skip
        # the foreign files first: their listing is freed before the workers' tables arrive
        foreign = foreign_in_folder(p, FOREIGN, prefix=display_prefix(p, base), recursive=recursive,
                                    exclude=_NOT_FOREIGN, source=name)  # fmt: skip
        chunks = split_chunks(names, default_workers(len(names), workers))
        pattern = (display_prefix(p, base), ".xml") if derive_files and not recursive else None
        work = partial(_folder_chunk, os.fspath(p), display_prefix(p, base), name, pattern=pattern)
        del names
        parts = run_chunks(work, chunks)
        del chunks
        parts[0]["problems"] = foreign + parts[0]["problems"]
        source, problems = _build(parts, name=name, path=os.fspath(p))
        source.file_pattern = pattern
        return source, listing + problems
    cols = _Columns()
    entries = iter_entries(p, SUFFIXES, base=base, recursive=recursive, problems=cols.problems, source=name,
                           foreign=FOREIGN, exclude=_NOT_FOREIGN)
    for files, datas in batched(entries, items=BATCH):  # one batch held at a time
        _parse_batch(files, datas, cols, name)
    return _build([cols.finish(name)], name=name, path=os.fspath(p))


# --------------------------------------------------------------------------- detection and layout


def is_entry(name: str) -> bool:
    """True for the (lower-case) name of a VOC file in a folder or zip."""
    return name.endswith(".xml")


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:  # no access: the reader reports the folder
        return []


def voc_folder(folder: Path) -> Path | None:
    """The ``Annotations/`` folder of a Pascal VOC layout (what ``convert --to voc`` writes), else None."""
    sub = folder / "Annotations"
    if sub.is_dir() and any(n.lower().endswith(".xml") for n in _names(sub)):
        return sub
    return None


def sniff_folder(path: Path) -> bool:
    """True for a Pascal VOC layout (XML files in ``Annotations/``)."""
    return voc_folder(path) is not None


def read_layout(path: str | os.PathLike[str], *, names: Any = None, images: Any = None) -> Any:
    """A VOC export as a Dataset: a file, a zip, a folder of XML files, or a VOC layout (the
    XML files in ``Annotations/``, images beside it)."""
    from ..assemble import read_export

    p = Path(path)
    target = p
    if p.is_dir() and not any(n.lower().endswith(".xml") for n in _names(p)):
        target = voc_folder(p) or p
    return read_export(p, fmt="voc", read_source=read, names=names, target=target, images=images)
