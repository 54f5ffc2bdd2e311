"""COCO JSON reader: makesense.ai polygon exports and generic COCO (multi-polygon, RLE, boxes).

makesense writes ``{"info":…,"images":[…],"annotations":[…],"categories":[…]}`` compactly,
with annotation ids from 0, 1-based image ids that are renumbered on every export, no
``licenses`` / ``supercategory``, and no ``category_id`` on an unlabelled polygon
(reference/makesense-exports.md §6). Images are therefore keyed by ``file_name``; the COCO
id only maps ``image_id`` to a file name and is kept as the ``coco_id`` column.

Every annotation that names a listed image becomes a row, degenerate or not (2 vertices,
zero area, self-intersection, NaN, a missing or unknown category): judging those is
``validate``'s job. Only what prevents placing a row is reported as a :class:`Problem`.
"""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ...runtime.paths import escape_controls
from ...model import Problem, Source, make_objects, make_source_images
from .._json import as_float, flat_floats, int_array, load_object, lookup_all, read_document, rings_to_objects, sniff_json
from .rle import rle_polygons

__all__ = ["parse", "read", "sniff"]

_MISSING = object()
_NONE, _POLY, _RLE, _BAD = 0, 1, 2, 3


def sniff(path: Path) -> int:
    """Detection score of a ``.json`` file: 2 when its head reads as COCO, 1 when it reads as
    neither COCO nor VGG (broken, truncated, not UTF-8 ...: the COCO reader then reports
    exactly what is wrong, with the line and column or byte offset), else 0."""
    family = sniff_json(path)
    return 2 if family == "coco" else (1 if family is None else 0)


def read(path: str | Path, *, name: str = "coco", base: str | Path | None = None) -> tuple[Source, list[Problem]]:
    """Read a COCO JSON file. ``file`` in rows and problems is relative to ``base`` when given."""
    return read_document(parse, path, name=name, base=base, format="coco", geometry="polygon")


def parse(data: bytes, *, file: str, name: str = "coco") -> tuple[Source, list[Problem]]:
    """Parse COCO JSON bytes into a polygon :class:`Source` plus reading problems. Never raises."""
    doc, problems = load_object(data, file=file, source=name, expected="an object with images, annotations and categories")
    if doc is None:
        return Source.empty(name, "coco", geometry="polygon"), problems

    def problem(kind: str, msg: str, loc: str, image: str | None = None, severity: str = "error") -> None:
        problems.append(Problem(kind, msg, file=file, loc=loc, image=image, source=name, severity=severity))

    lists: dict[str, list] = {}
    for key in ("images", "annotations", "categories"):
        value = doc.get(key, _MISSING)
        if value is _MISSING:
            problem("missing-key", f"top-level key '{key}' is missing", "$")
        elif not isinstance(value, list):
            problem("bad-value", f"'{key}' is a JSON {type(value).__name__}, expected a list", key)
        else:
            lists[key] = value
    images_usable = "images" in lists
    lists = {key: lists.get(key, []) for key in ("images", "annotations", "categories")}

    labels, label_ids = _categories(lists["categories"], problem)
    id_to_key, images, shadowed = _images(lists["images"], file, problem)
    objects = _annotations(lists["annotations"], id_to_key, label_ids, file, problem, shadowed)
    _drop_placeholder(lists["categories"], labels, label_ids, objects, problem)
    if not images_usable:
        # without images nothing can be placed; the one images problem says it all
        problems[:] = [p for p in problems if p.kind != "orphan-annotation"]
    info = doc.get("info")
    meta = {"info": info} if isinstance(info, dict) else {}
    source = Source(
        name=name, format="coco", objects=objects, images=images, labels=labels,
        label_ids=label_ids, geometry=_geometry(objects), meta=meta,
    )  # fmt: skip
    return source, problems


def _geometry(objects: Any) -> str:
    """``box`` for a detection export (Roboflow, CVAT box sets: annotations exist and every
    ``segmentation`` is empty), else ``polygon`` (a segment set, or a mix that FA108 reports)."""
    if not len(objects):
        return "polygon"
    shaped = ~shapely.is_missing(objects["geometry"].to_numpy())
    if "rle" in objects:
        shaped |= objects["rle"].notna().to_numpy()
    return "polygon" if shaped.any() else "box"


def _categories(cats: list, problem: Any) -> tuple[list[str], dict[Any, str]]:
    labels: list[str] = []
    label_ids: dict[Any, str] = {}
    first: dict[Any, int] = {}
    for i, cat in enumerate(cats):
        if not isinstance(cat, dict) or "name" not in cat or "id" not in cat:
            problem("bad-value", "category needs an object with 'id' and 'name'", f"categories[{i}]")
            continue
        cid, label = cat["id"], cat["name"]
        if label is None or (isinstance(label, str) and not label.strip()):
            # never the label "None": its objects are read without a label (validate and convert say so)
            problem("bad-value", f"category id {cid!r} has a {'null' if label is None else 'blank'} name; "
                    "its objects have no label", f"categories[{i}].name")
            continue
        label = label if isinstance(label, str) else str(label)
        try:
            if cid in label_ids:
                same = label_ids[cid] == label
                msg = (f"category id {cid!r} is declared again ('{label}', first '{label_ids[cid]}' at "
                       f"categories[{first[cid]}]); keeping the first")
                problem("bad-value", msg, f"categories[{i}]", severity="warning" if same else "error")
                continue
            label_ids[cid], first[cid] = label, i
        except TypeError:
            problem("bad-value", f"category id {cid!r} is not a number", f"categories[{i}]")
        labels.append(label)
    return labels, label_ids


def _drop_placeholder(cats: list, labels: list[str], label_ids: dict[Any, str], objects: pd.DataFrame,
                      problem: Any) -> None:
    """Drop Roboflow's placeholder parent class from the label set: category id 0 that no
    annotation uses, whose name is the supercategory of every other category (an info note)."""
    if 0 not in label_ids or len(label_ids) < 2:
        return
    name = label_ids[0]
    others = [c for c in cats if isinstance(c, dict) and c.get("id") != 0 and c.get("id") in label_ids]
    if not others or any(c.get("supercategory") != name for c in others):
        return
    used = objects["class_id"].dropna().to_numpy() if len(objects) else ()
    if any(int(c) == 0 for c in used):
        return
    del label_ids[0]
    labels.remove(name)
    at = next(i for i, c in enumerate(cats) if isinstance(c, dict) and c.get("id") == 0)
    problem("unsupported", f"category 0 '{name}' is a placeholder parent class (the supercategory of the others, "
            "used by no annotation, as Roboflow writes it): not a label", f"categories[{at}]", severity="info")


def _images(entries: list, file: str, problem: Any) -> tuple[dict[Any, str], pd.DataFrame, dict[Any, str]]:
    n = len(entries)
    is_dict = [type(e) is dict for e in entries]
    if not all(is_dict):
        for i in np.flatnonzero(~np.array(is_dict)):
            msg = f"image entry is a JSON {type(entries[i]).__name__}, expected an object"
            problem("bad-value", msg, f"images[{i}]")
        entries = [e if ok else {"file_name": None} for e, ok in zip(entries, is_dict)]
    fnames = [e.get("file_name") for e in entries]
    cids = [e.get("id", _MISSING) for e in entries]
    if not (set(map(type, fnames)) <= {str} and all(fnames)) or any(f.endswith(("/", "\\")) for f in fnames):
        for i, (f, ok) in enumerate(zip(fnames, is_dict)):
            if ok and not (type(f) is str and f.replace("\\", "/").rsplit("/", 1)[-1]):
                what = "missing" if f is None else f"not a file name ({f!r})"
                problem("missing-key", f"image entry has no usable 'file_name' ({what})", f"images[{i}]")
    keys = {i: f.replace("\\", "/").rsplit("/", 1)[-1] for i, f in enumerate(fnames) if type(f) is str}
    for i, f in enumerate(fnames):  # folder parts are dropped; ones that climb out are said so
        if type(f) is str and keys[i] and _climbs_out(f):
            msg = (f"file_name {escape_controls(repr(f))} climbs out of the export ('..'); "
                   f"keyed by its base name '{escape_controls(keys[i])}', never used as a path")
            problem("unsafe-name", msg, f"images[{i}]", image=keys[i], severity="warning")
    named = [i for i, key in keys.items() if key]

    id_to_key: dict[Any, str] = {}
    first: dict[Any, int] = {}
    shadowed: dict[Any, tuple[str, str]] = {}  # id of a later image with a repeated file name -> (its images[i], the name)
    simple = set(map(type, cids)) <= {int} and len(set(cids)) == n and len(named) == n
    if simple:
        id_to_key = dict(zip(cids, keys.values()))
    else:
        for i in named:
            cid, key, loc = cids[i], keys[i], f"images[{i}]"
            if cid is _MISSING:
                problem("missing-key", f"image entry '{key}' has no 'id'", loc, image=key)
            elif type(cid) in (list, dict):
                problem("bad-value", f"image id {cid!r} is not a number", loc, image=key)
            elif cid in id_to_key:
                msg = f"image id {cid!r} is used by images[{first[cid]}] ('{id_to_key[cid]}') and again here ('{key}'); keeping the first"
                problem("duplicate-image-id", msg, loc, image=key)
            else:
                id_to_key[cid], first[cid] = key, i

    order = pd.Series([keys[i] for i in named], dtype=object)
    dup = order.duplicated().to_numpy()
    if dup.any():
        first_row = dict(zip(order[~dup], (named[j] for j in np.flatnonzero(~dup))))
        for j in np.flatnonzero(dup):
            i, key = named[j], order[j]
            msg = f"file name '{key}' is listed twice (images[{first_row[key]}] and images[{i}]); keeping the first"
            problem("duplicate-image-id", msg, f"images[{i}]", image=key, severity="warning")
            cid = cids[i]
            try:
                owner = first.get(cid) if not simple else i
            except TypeError:  # an unhashable id (reported above) places no annotation
                continue
            if owner == i and id_to_key.get(cid) == key:  # its own id: its annotations must not join the first's
                del id_to_key[cid]
                shadowed[cid] = (f"images[{i}]", key)
        named = [i for i, d in zip(named, dup) if not d]
    pick = [entries[i] for i in named]
    sizes = {}
    for dim in ("width", "height"):
        raw = [e.get(dim) for e in pick]
        sizes[dim] = int_array(raw)
        # a size that is present but not a whole number (null, "373", 373.5, true, huge) is
        # reported; an absent key is allowed (makesense always writes both)
        bad = np.flatnonzero(np.isnan(sizes[dim]) & np.array([dim in e for e in pick], dtype=bool))
        for j in bad[:1000]:
            problem("bad-value", f"{dim} is {json.dumps(raw[j])[:40]}, not a whole number of pixels; size ignored",
                    f"images[{named[j]}].{dim}", image=keys[named[j]], severity="warning")
    images = make_source_images(
        [keys[i] for i in named],
        width=sizes["width"],
        height=sizes["height"],
        file=[file] * len(named),
        loc=[f"images[{i}]" for i in named],
        coco_id=[None if cids[i] is _MISSING else cids[i] for i in named],
        file_name=[fnames[i] for i in named],
    )
    return id_to_key, images, shadowed


def _seg_kind(seg: Any) -> int:
    if seg is None or seg is _MISSING or (type(seg) is list and not seg):
        return _NONE
    if type(seg) is dict:
        return _RLE
    if type(seg) is list and all(type(p) is list and len(p) % 2 == 0 and flat_floats(p) is not None for p in seg):
        return _POLY
    return _BAD


def _annotations(
    anns: list, id_to_key: dict[Any, str], label_ids: dict[Any, str], file: str, problem: Any,
    shadowed: dict[Any, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    n = len(anns)
    is_dict = np.fromiter((type(a) is dict for a in anns), dtype=bool, count=n)
    if not is_dict.all():
        anns = [a if type(a) is dict else {} for a in anns]
        for i in np.flatnonzero(~is_dict):
            problem("bad-value", "annotation is not a JSON object", f"annotations[{i}]")
    image_ids = [a.get("image_id", _MISSING) for a in anns]
    keys = lookup_all(id_to_key, image_ids)
    segs = [a.get("segmentation") for a in anns]
    bboxes = [a.get("bbox", _MISSING) for a in anns]

    # segmentation kinds: the makesense shape [[x, y, ...]] goes through one fast check
    kind = np.full(n, _POLY, dtype=np.int8)
    fast_xy = None  # all vertices, when every annotation has one numeric ring
    if n and all(type(s) is list and len(s) == 1 and type(s[0]) is list and not len(s[0]) % 2 for s in segs):
        fast_xy = flat_floats(list(chain.from_iterable(s[0] for s in segs)))
    if fast_xy is None:
        kind = np.fromiter((_seg_kind(s) for s in segs), dtype=np.int8, count=n)
    box, box_ok = _boxes(bboxes)

    missing = np.fromiter((v is _MISSING for v in image_ids), dtype=bool, count=n) & is_dict
    orphan = np.fromiter((k is None for k in keys), dtype=bool, count=n) & is_dict & ~missing
    if shadowed:  # the image of a repeated file name: reported, never merged onto the first one
        where = lookup_all(shadowed, image_ids)
        for i in np.flatnonzero(orphan):
            if where[i] is not None:
                orphan[i] = False
                missing[i] = True  # not placed
                at, key = where[i]
                msg = (f"image_id {image_ids[i]!r} is {at} ('{key}'), whose file name repeats an earlier image; "
                       "annotation not merged onto that image, dropped")
                problem("duplicate-image-id", msg, f"annotations[{i}]", image=key)
    placed = is_dict & ~missing & ~orphan
    bad_seg = placed & (kind == _BAD)
    no_box = placed & (kind == _NONE) & ~box_ok
    declared = np.fromiter((b is not _MISSING for b in bboxes), dtype=bool, count=n)
    for i in np.flatnonzero(missing):
        if image_ids[i] is _MISSING:
            problem("missing-key", "annotation has no 'image_id'; annotation dropped", f"annotations[{i}]")
    for i in np.flatnonzero(orphan):
        msg = f"image_id {image_ids[i]!r} matches no images[] entry; annotation dropped"
        problem("orphan-annotation", msg, f"annotations[{i}]")
    for i in np.flatnonzero(bad_seg):
        msg = "segmentation is neither a list of [x, y, ...] number lists nor an RLE object; annotation dropped"
        problem("bad-value", msg, f"annotations[{i}]", image=keys[i])
    for i in np.flatnonzero(no_box):
        msg = "annotation has neither a segmentation nor a usable bbox [x, y, w, h]; annotation dropped"
        problem("bad-value", msg, f"annotations[{i}]", image=keys[i])
    decoded: dict[int, tuple] = {}
    for i in np.flatnonzero(placed & (kind == _RLE)):
        got = rle_polygons(segs[i])
        if isinstance(got, str):
            problem("bad-value", f"RLE segmentation: {got}; annotation dropped", f"annotations[{i}]", image=keys[i])
            bad_seg[i] = True
        else:
            decoded[int(i)] = got
    ok = placed & ~bad_seg & ~no_box
    for i in np.flatnonzero(ok & declared & ~box_ok):
        msg = f"bbox {bboxes[i]!r} is not [x, y, w, h] numbers; ignored"
        problem("bad-value", msg, f"annotations[{i}]", image=keys[i], severity="warning")
    rows = np.flatnonzero(ok)
    m = len(rows)

    geometry = np.full(m, None, dtype=object)
    ext = np.full((4, m), np.nan)
    n_parts = np.full(m, -1, dtype=np.int64)
    n_vertices = np.full(m, -1, dtype=np.int64)
    kinds = kind[rows]
    poly = np.flatnonzero(kinds == _POLY)
    if len(poly):
        seg_rows = [segs[j] for j in rows[poly]]
        ring_len = np.fromiter((len(p) // 2 for s in seg_rows for p in s), dtype=np.int64)
        owner = np.repeat(np.arange(len(poly)), [len(s) for s in seg_rows])
        if fast_xy is not None:  # one ring per annotation: select the kept rings' vertices
            all_len = np.fromiter((len(s[0]) for s in segs), dtype=np.int64, count=n)
            xy = fast_xy if m == n else fast_xy[np.repeat(ok, all_len)]
        else:
            xy = np.array(list(chain.from_iterable(chain.from_iterable(seg_rows))), dtype=np.float64)
        built = rings_to_objects(xy, ring_len, owner, len(poly))
        geometry[poly] = built["geometry"]
        ext[:, poly] = np.stack([built[c] for c in ("x0", "y0", "x1", "y1")])
        n_parts[poly], n_vertices[poly] = built["n_parts"], built["n_vertices"]
    rle_cells = np.full(m, None, dtype=object)
    for r in np.flatnonzero(kinds == _RLE):
        rle_cells[r] = segs[rows[r]]
        geometry[r], n_parts[r], n_vertices[r], ext[:, r] = decoded[int(rows[r])]

    b = box[rows]
    no_ext = np.isnan(ext).all(axis=0)
    ext[:, no_ext] = b[no_ext].T
    pick = [anns[j] for j in rows]
    cats = [a.get("category_id") for a in pick]
    cols = dict(
        geometry=geometry,
        image=[keys[j] for j in rows],
        label=lookup_all(label_ids, cats),
        class_id=int_array(cats),
        x0=ext[0], y0=ext[1], x1=ext[2], y1=ext[3],
        file=[file] * len(rows),
        loc=[f"annotations[{j}]" for j in rows],
        ann_id=[a.get("id") for a in pick],
        iscrowd=int_array([a.get("iscrowd") for a in pick]),
        bbox_x0=b[:, 0], bbox_y0=b[:, 1], bbox_x1=b[:, 2], bbox_y1=b[:, 3],
        area=_areas([a.get("area") for a in pick]),
        n_parts=pd.array(n_parts, dtype="Int64"),
        n_vertices=pd.array(n_vertices, dtype="Int64"),
        rle=rle_cells,
    )  # fmt: skip
    for c in ("n_parts", "n_vertices"):
        cols[c][cols[c] < 0] = pd.NA
    return make_objects(cols)


def _boxes(bboxes: list) -> tuple[np.ndarray, np.ndarray]:
    """Declared [x, y, w, h] as corners (n, 4) and a mask of usable boxes."""
    n = len(bboxes)
    if n and all(type(b) is list and len(b) == 4 for b in bboxes):
        flat = flat_floats(list(chain.from_iterable(bboxes)))
        if flat is not None:
            xywh = flat.reshape(-1, 4)
            return np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]), np.ones(n, dtype=bool)
    out = np.full((n, 4), np.nan)
    ok = np.zeros(n, dtype=bool)
    for i, b in enumerate(bboxes):
        if type(b) is list and len(b) == 4:
            vals = flat_floats(b)
            if vals is not None:
                out[i] = [vals[0], vals[1], vals[0] + vals[2], vals[1] + vals[3]]
                ok[i] = True
    return out, ok


def _areas(values: list) -> np.ndarray:
    flat = flat_floats(values) if values else np.empty(0)
    if flat is not None:
        return flat
    return np.array([as_float(v) for v in values], dtype=np.float64)


def _climbs_out(name: str) -> bool:
    """``../x.jpg``: a file name whose folder part climbs out of the export. Absolute paths
    (VoTT, tools run on Windows) and ``train2017/x.jpg`` are common and not reported."""
    return ".." in name.replace("\\", "/").split("/")
