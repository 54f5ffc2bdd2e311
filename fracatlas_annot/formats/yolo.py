"""YOLO txt labels (makesense.ai RECT export, FracAtlas ``Annotations/YOLO``, Ultralytics).

One ``<stem>.txt`` per image; each line is a box ``class cx cy w h`` or an Ultralytics
segment ``class x1 y1 x2 y2 ...``, in normalised units (``reference/makesense-exports.md``
§3). makesense writes six decimals, single spaces, no trailing newline, and no class list
(its zip has no ``labels.txt``), so names come from ``labels.txt`` / ``classes.txt`` /
``data.yaml`` next to the labels (or in the parent folder), or from ``names=``; without
them class ids are kept and labels are None.

Values are kept as written for ``validate`` to judge: class ``-1`` (a deleted makesense
label), the pre-2021-08 edge overshoot (``cx + w/2 = 1.0000005``), out-of-range classes.
Rows stay normalised (``units == "norm"``) until the archive reader scales them with
:func:`fracatlas_annot.model.resolve_normalized`. Empty files are negatives: listed in
``source.images`` with no objects. Tabs and repeated spaces are accepted (makesense's own
importer rejects them).

    >>> source, problems = read("labels_my-project-name_2024-03-23-07-10-18.zip", names=["fractured"])
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..model import Problem, Source, leave_out_files, make_objects, make_source_images, polygons_from_ragged
from ._json import bad_byte_message
from ..runtime.parallel import default_workers, run_chunks, split_chunks
from ._files import (
    batched,
    foreign_in_folder,
    display_prefix,
    is_file,
    is_zip_path,
    iter_entries,
    iter_zip,
    list_folder,
    os_error_problem,
    read_folder_files,
    read_regular,
    scan_files,
    stem_of,
)
from ._yaml import load_yaml

SUFFIXES = (".txt",)
#: Class-list text files, in the order they are looked for; never read as label files.
NOT_LABELS = ("labels.txt", "classes.txt")
#: Lower-case start of a README text file (Roboflow writes README.dataset.txt, README.roboflow.txt): never a label file.
README = "readme"
#: Other formats' per-image files a YOLO folder or zip may mix in: reported, never read.
FOREIGN = {".xml": ("a Pascal VOC file", lambda head: b"<annotation" in head)}
#: Names of an Ultralytics dataset yaml, in the order they are looked for (see :func:`find_data_yaml`).
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml")
#: Every class-list file: the text lists, then a dataset yaml's ``names``.
NAME_FILES = NOT_LABELS + YAML_NAMES

Names = Sequence[str] | Mapping[int, str]


# --------------------------------------------------------------------------- detection


def sniff(path: Path) -> int:
    """Detection score of a ``.txt`` file: 1 unless it is a class list (labels.txt,
    classes.txt) or a README (Roboflow's README.dataset.txt, README.roboflow.txt)."""
    return int(is_entry(path.name.lower()))


def is_entry(name: str) -> bool:
    """True for the (lower-case) name of a label file in a folder or zip (not a class list,
    not a README.*.txt)."""
    return name.endswith(".txt") and name not in NOT_LABELS and not name.startswith(README)


# --------------------------------------------------------------------------- class names


def find_data_yaml(path: str | os.PathLike[str]) -> Path | None:
    """The Ultralytics dataset yaml at ``path``: the file itself when it is a ``.yaml`` /
    ``.yml`` file, else the first of :data:`YAML_NAMES` in the folder; None when there is none.

    The one place that knows where a ``data.yaml`` is: the Ultralytics reader, YOLO class
    names, detection and the trainer all ask here.
    """
    p = Path(path)
    if is_file(p):
        return p if p.suffix.lower() in (".yaml", ".yml") else None
    if p.is_dir():
        for name in YAML_NAMES:
            if is_file(p / name):
                return p / name
    return None


def parse_names(data: bytes, *, file: str) -> tuple[dict[int, str] | None, list[Problem]]:
    """Class names from the bytes of ``labels.txt``/``classes.txt`` (one per line) or a ``data.yaml``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [Problem(kind="parse-error", file=file, line=line,
                              message=f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}")]
    if not file.lower().endswith((".yaml", ".yml")):
        names = {i: n for i, n in enumerate(x.strip() for x in text.splitlines() if x.strip())}
        if not names:
            return None, [Problem(kind="missing-key", file=file, severity="warning",
                                  message="the class list is empty; class names unknown")]
        return names, []
    doc, problems = load_yaml(text, file=file)
    if problems:
        return None, problems
    return names_of_yaml(doc, file=file)


#: More classes than this in a dataset yaml is not a class list (a bomb, or the wrong file).
MAX_NAMES = 10_000


def names_of_yaml(doc: Any, *, file: str) -> tuple[dict[int, str] | None, list[Problem]]:
    """Class index -> name from a dataset yaml's ``names`` (a list, or a mapping of class
    indices); anything else (a key that is not an integer, a name that is a list or mapping,
    more than :data:`MAX_NAMES` names) is a ``bad-value`` problem and no names."""
    names = doc.get("names") if isinstance(doc, dict) else None
    if names is None:
        return None, [Problem(kind="missing-key", file=file, loc="names", severity="warning",
                              message="no 'names' list or mapping; class names unknown")]
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict):
        return None, [Problem(kind="bad-value", file=file, loc="names",
                              message=f"'names' is a {type(names).__name__}, not a list or a mapping; class names unknown")]
    if len(names) > MAX_NAMES:
        return None, [Problem(kind="bad-value", file=file, loc="names",
                              message=f"'names' lists {len(names)} classes, over {MAX_NAMES}; class names unknown")]
    bad_key = next((k for k in names if isinstance(k, bool) or not isinstance(k, int) or k < 0), None)
    if bad_key is not None:
        return None, [Problem(kind="bad-value", file=file, loc="names",
                              message=f"'names' key {str(bad_key)[:40]!r} is not a class index (an integer >= 0); class names unknown")]
    bad = next((k for k, v in names.items() if isinstance(v, (list, dict)) or v is None), None)
    if bad is not None:
        return None, [Problem(kind="bad-value", file=file, loc=f"names[{bad}]",
                              message=f"class {bad}'s name is {'empty' if names[bad] is None else 'a ' + type(names[bad]).__name__}, "
                                      "not a name; class names unknown")]
    return {int(k): str(v) for k, v in names.items()}, []


def _as_label_ids(names: Names) -> dict[int, str]:
    if isinstance(names, Mapping):
        return {int(k): str(v) for k, v in names.items()}
    return {i: str(n) for i, n in enumerate(names)}


def find_names(
    path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None
) -> tuple[dict[int, str] | None, str | None, list[Problem]]:
    """Look for a class list for the labels at ``path``: ``(label_ids, where, problems)``.

    Searched: inside a zip, then the folder holding the labels (the zip's or file's folder),
    then its parent; in each, :data:`NOT_LABELS` then the dataset yaml (:func:`find_data_yaml`).
    The first one that parses wins.
    """
    p = Path(path)
    problems: list[Problem] = []
    if p.is_file() and is_zip_path(p):
        display = display_prefix(p.parent, base) + p.name if base is not None else p.name
        found = {where.rsplit("!", 1)[1].replace("\\", "/").rsplit("/", 1)[-1].lower(): (where, data)
                 for where, data in iter_zip(p, NAME_FILES, display=display, problems=[])}
        for candidate in NAME_FILES:
            if candidate in found:
                where, data = found[candidate]
                ids, probs = parse_names(data, file=where)
                problems += probs
                if ids is not None:
                    return ids, where, problems
    folder = p if p.is_dir() else p.parent
    for directory in (folder, folder.parent):
        for f in [directory / n for n in NOT_LABELS] + [find_data_yaml(directory)]:
            if f is None or not is_file(f):
                continue
            where = display_prefix(directory, base if base is not None else folder) + f.name
            try:
                ids, probs = parse_names(read_regular(f), file=where)
            except OSError as exc:
                problems.append(os_error_problem(exc, file=where))
                continue
            problems += probs
            if ids is not None:
                return ids, where, problems
    return None, None, problems


# --------------------------------------------------------------------------- label files


def _parse_files(
    files: Sequence[str], datas: Sequence[bytes], image_keys: Mapping[str, str] | None, source: str
) -> dict[str, Any]:
    """Parse label files into column arrays (one pass over lines, one float conversion)."""
    problems: list[Problem] = []
    img_key: list[str] = []
    img_file: list[str] = []
    row_file: list[int] = []  # index into files
    row_line: list[int] = []
    row_n: list[int] = []  # fields on the row
    tokens: list[str] = []
    for i, (file, data) in enumerate(zip(files, datas)):
        key = _image_key(file, image_keys)
        if not data.strip():
            img_key.append(key)
            img_file.append(file)
            continue
        try:
            text = data.decode("utf-8")
            bad_bytes = False
        except UnicodeDecodeError:  # a bad byte costs its line, not the file
            text = data.decode("utf-8", "surrogateescape")
            bad_bytes = True
        img_key.append(key)
        img_file.append(file)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        for number, line_text in enumerate(text.lstrip("\ufeff").split("\n"), 1):
            if bad_bytes and (why := bad_byte_message(line_text)) is not None:
                problems.append(Problem(kind="parse-error", source=source, file=file, line=number,
                                        loc=f"line {number}", image=key, message=f"{why}; line not read"))
                continue
            fields = line_text.split()
            n = len(fields)
            if n >= 5:  # a box (5), a segment (odd >= 7); a prediction adds its confidence (6, even >= 8)
                tokens.extend(fields)
                row_file.append(i)
                row_line.append(number)
                row_n.append(n)
            elif n:
                problems.append(Problem(
                    kind="bad-value", source=source, file=file, line=number, loc=f"line {number}", image=key,
                    message=(f"{n} fields: expected 5 for a box (class cx cy w h) or 1 + an even number >= 6 "
                             "for a segment (class x1 y1 x2 y2 ...), each optionally followed by a confidence; "
                             "line not read")))
    values, ok = _to_floats(tokens, row_n)
    n_arr = np.asarray(row_n, dtype=np.int64)
    starts = np.cumsum(n_arr) - n_arr
    if len(n_arr):
        cls = values[starts]
        seg_bad = ok.copy()
        for r in np.flatnonzero(ok & (cls != np.round(cls))):
            seg_bad[r] = False
            problems.append(_row_problem(files, row_file, row_line, img_key_of=image_keys, source=source, row=r,
                                         message=f"class {tokens[starts[r]]!r} is not an integer; line not read"))
        for r in np.flatnonzero(ok & (cls == np.round(cls)) & (np.abs(cls) > MAX_CLASS)):
            seg_bad[r] = False
            problems.append(_row_problem(files, row_file, row_line, img_key_of=image_keys, source=source, row=r,
                                         message=f"class {tokens[starts[r]]!r} is not a class index (over {MAX_CLASS}); "
                                                 "line not read"))
        for r in np.flatnonzero(~ok):
            bad = next(t for t in tokens[starts[r]:starts[r] + row_n[r]] if not _finite(t))
            problems.append(_row_problem(files, row_file, row_line, img_key_of=image_keys, source=source, row=r,
                                         message=f"value {bad[:40]!r} is not a finite number; line not read"))
        ok = seg_bad
    keep = np.flatnonzero(ok)
    return _rows(files, img_key, img_file, row_file, row_line, n_arr, starts, values, keep, problems, image_keys)


#: Largest class index read (``1e19`` is an integer-valued float but no class).
MAX_CLASS = 2**31 - 1


def _finite(token: str) -> bool:
    try:
        return bool(np.isfinite(float(token)))
    except ValueError:
        return False


def _to_floats(tokens: list[str], row_n: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """All tokens as float64 at once; per-row ``ok`` flags (False: a non-numeric or non-finite value)."""
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        values = np.array([float(t) if _finite(t) else np.nan for t in tokens], dtype=np.float64)
    n_arr = np.asarray(row_n, dtype=np.int64)
    if not len(n_arr):
        return values, np.zeros(0, dtype=bool)
    finite = np.isfinite(values)
    ok = np.logical_and.reduceat(finite, np.cumsum(n_arr) - n_arr) if len(values) else np.zeros(0, dtype=bool)
    return values, ok


def _row_problem(files: Sequence[str], row_file: list[int], row_line: list[int], *, img_key_of: Any,
                 source: str, row: int, message: str) -> Problem:
    file = files[row_file[row]]
    key = _image_key(file, img_key_of)
    line = row_line[row]
    return Problem(kind="bad-value", source=source, file=file, line=line, loc=f"line {line}", image=key,
                   message=message)


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(starts - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


def _image_key(file: str, image_keys: Mapping[str, str] | None) -> str:
    """The image key of a label file: ``image_keys[stem]``, else stem + ``.jpg``."""
    stem = stem_of(file.rsplit("!", 1)[-1])
    return image_keys.get(stem, stem + ".jpg") if image_keys is not None else stem + ".jpg"


def _rows(files, img_key, img_file, row_file, row_line, n_arr, starts, values, keep, problems, image_keys):
    rf = np.asarray(row_file, dtype=np.int64)[keep]
    n = n_arr[keep]
    s = starts[keep]
    # prediction lines (--save-txt --save-conf): a box or a segment followed by its confidence
    scored = (n == 6) | ((n >= 8) & (n % 2 == 0))
    score = np.where(scored, values[s + n - 1] if len(s) else np.zeros(0), np.nan)
    n = np.where(scored, n - 1, n)
    cls = values[s].astype(np.int64) if len(s) else np.zeros(0, dtype=np.int64)
    x0 = np.empty(len(keep))
    y0 = np.empty(len(keep))
    x1 = np.empty(len(keep))
    y1 = np.empty(len(keep))
    geometry = np.full(len(keep), None, dtype=object)
    n_vertices = np.full(len(keep), -1, dtype=np.int64)
    box = n == 5
    if box.any():
        cx, cy, w, h = (values[s[box] + k] for k in (1, 2, 3, 4))
        x0[box], x1[box] = cx - w / 2, cx + w / 2
        y0[box], y1[box] = cy - h / 2, cy + h / 2
    seg = np.flatnonzero(~box)
    if len(seg):
        counts = (n[seg] - 1) // 2
        xy = values[_ragged_arange(s[seg] + 1, n[seg] - 1)].reshape(-1, 2)
        first = np.cumsum(counts) - counts
        x0[seg] = np.minimum.reduceat(xy[:, 0], first)
        x1[seg] = np.maximum.reduceat(xy[:, 0], first)
        y0[seg] = np.minimum.reduceat(xy[:, 1], first)
        y1[seg] = np.maximum.reduceat(xy[:, 1], first)
        geometry[seg] = polygons_from_ragged(xy, counts)
        n_vertices[seg] = counts
    file_arr = np.asarray(files, dtype=object)
    stems = {}
    image = []
    for f in file_arr[rf].tolist():
        key = stems.get(f)
        if key is None:
            key = stems[f] = _image_key(f, image_keys)
        image.append(key)
    lines = np.asarray(row_line, dtype=np.int64)[keep]
    return {
        "img_key": img_key, "img_file": img_file, "image": image, "class_id": cls,
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "geometry": geometry, "n_vertices": n_vertices,
        "file": file_arr[rf], "line": lines, "score": score, "problems": problems, "row_file": rf,
    }


def _folder_chunk(folder: str, prefix: str, source: str, image_keys: Mapping[str, str] | None,
                  names: list[str], *, pattern: tuple[str, str] | None = None) -> dict[str, Any]:
    """Read and parse ``names`` under ``folder`` (runs in a worker process for big folders);
    with ``pattern``, image files named after their image are left out (None)."""
    problems: list[Problem] = []
    files, datas, read = [], [], []
    for i, (name, data) in enumerate(zip(names, read_folder_files(folder, names))):
        if isinstance(data, OSError):
            if not isinstance(data, IsADirectoryError):
                problems.append(os_error_problem(data, file=prefix + name, source=source))
            continue
        files.append(prefix + name)
        read.append(i)
        datas.append(data if data.strip() else b"")  # negatives: drop the bytes early
    part = _parse_files(files, datas, image_keys, source)
    part["problems"] = problems + part["problems"]
    if pattern is not None:
        part["img_file"] = leave_out_files(part["img_file"], part["img_key"], *pattern)
    # the image keys go back as positions (each file's in ``names``, each row's file):
    # :func:`_keys_back` looks them up in the caller's ``image_keys``, whose strings the
    # archive's index already holds, instead of unpickling a copy of 10^5 keys (issue 13, point 3)
    part["img_key"] = np.asarray(read, dtype=np.int64)
    part["image"] = part.pop("row_file")
    return part


def _keys_back(part: dict[str, Any], names: Sequence[str], prefix: str, image_keys: Mapping[str, str] | None) -> dict[str, Any]:
    """Undo the key positions of :func:`_folder_chunk`'s result (``names``: its chunk)."""
    keys = [_image_key(prefix + names[i], image_keys) for i in part["img_key"].tolist()]
    part["img_key"] = keys
    part["image"] = [keys[r] for r in part["image"].tolist()]
    return part


def _build(parts: list[dict[str, Any]], *, name: str, label_ids: dict[int, str] | None, path: str | None,
           meta: dict[str, Any]) -> Source:
    def cat(key: str) -> Any:  # each column taken out of the parts: freed once joined
        columns = [p.pop(key) for p in parts]
        if isinstance(columns[0], np.ndarray):
            return np.concatenate(columns)
        return [v for c in columns for v in c]

    class_id = cat("class_id")
    ids = label_ids or {}
    labels = pd.Series(class_id, dtype=np.int64).map(ids).astype(object)
    labels = labels.where(labels.notna(), None).tolist()
    lines = cat("line")
    n_vertices = cat("n_vertices")
    geometry = cat("geometry")
    line_list = lines.tolist()
    line_loc = {n: f"line {n}" for n in set(line_list)}  # one string per line number, not per object
    objects = make_objects({
        "image": cat("image"), "label": labels, "class_id": class_id,
        "x0": cat("x0"), "y0": cat("y0"), "x1": cat("x1"), "y1": cat("y1"),
        "geometry": geometry, "units": "norm", "file": cat("file"),
        "loc": [line_loc[n] for n in line_list], "line": lines,
        "n_vertices": [None if v < 0 else v for v in n_vertices.tolist()],
    })
    score = cat("score")
    if (~np.isnan(score)).any():  # a prediction file: the confidence is kept
        objects["score"] = score
    images = make_source_images(cat("img_key"), file=cat("img_file"))
    label_list = [ids[k] for k in sorted(ids)] if ids else []
    has_segments = bool((n_vertices >= 0).any())
    return Source(name=name, format="yolo", objects=objects, images=images, labels=label_list,
                  label_ids=dict(ids), geometry="polygon" if has_segments else "box", path=path, meta=meta)


def _resolve_names(path: Path, names: Names | str | os.PathLike[str] | None, base: Any,
                   problems: list[Problem]) -> tuple[dict[int, str] | None, dict[str, Any]]:
    if names is None:
        ids, where, probs = find_names(path, base=base)
        problems += probs
        return ids, {"names_from": where}
    if isinstance(names, (str, os.PathLike)):
        f = Path(names)
        try:
            ids, probs = parse_names(read_regular(f), file=f.name)
        except OSError as exc:
            ids, probs = None, [os_error_problem(exc, file=os.fspath(f))]
        problems += probs
        return ids, {"names_from": os.fspath(f)}
    return _as_label_ids(names), {"names_from": "argument"}


def parse(
    data: bytes,
    *,
    file: str,
    name: str = "yolo",
    names: Names | None = None,
    image_key: str | None = None,
) -> tuple[Source, list[Problem]]:
    """Parse one YOLO label file (bytes as written) into a Source and its problems.

    Example:
        >>> source, problems = parse(b"0 0.403913 0.490768 0.161542 0.099541", file="IMG0000019.txt")
    """
    keys = {stem_of(file.rsplit("!", 1)[-1]): image_key} if image_key else None
    part = _parse_files([file], [data], keys, name)
    ids = _as_label_ids(names) if names is not None else None
    source = _build([part], name=name, label_ids=ids, path=file, meta={"names_from": "argument" if ids else None})
    return source, part["problems"]


def read(
    path: str | os.PathLike[str],
    *,
    name: str = "yolo",
    names: Names | str | os.PathLike[str] | None = None,
    image_keys: Mapping[str, str] | None = None,
    base: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    workers: int | None = None,
    derive_files: bool = False,
) -> tuple[Source, list[Problem]]:
    """Read YOLO labels from a folder (sorted), a makesense zip or one ``.txt`` file.

    Args:
        path: the labels.
        name: the source name.
        names: class names (list, ``{id: name}``, or a path to labels.txt / classes.txt /
            data.yaml); default: looked for next to the labels (see :func:`find_names`).
        image_keys: label stem -> image key (e.g. ``{"IMG0000019": "IMG0000019.jpg"}``);
            default: stem + ``.jpg``.
        base: ``file`` columns are relative to this folder (the dataset root).
        recursive: also read sub-folders (an Ultralytics ``labels/train`` tree).
        workers: processes for big folders (default: 2 above 5,000 files).
        derive_files: for a folder, store the ``file`` of an image whose label file is
            named after it as None (see :attr:`~fracatlas_annot.model.Source.file_pattern`).

    Returns:
        ``(source, problems)``; objects stay normalised (``units == "norm"``).
    """
    p = Path(path)
    problems: list[Problem] = []
    pattern = None
    label_ids, meta = _resolve_names(p, names, base, problems)
    for prob in problems:
        prob.source = name
    if p.is_dir():
        listing = list_folder(p, SUFFIXES, recursive=recursive, exclude=NOT_LABELS, problems=problems,
                              display=display_prefix(p, base) or p.name, source=name)  # fmt: skip
        problems += foreign_in_folder(p, FOREIGN, prefix=display_prefix(p, base), recursive=recursive, source=name)
        chunks = split_chunks(listing, default_workers(len(listing), workers))
        pattern = (display_prefix(p, base), ".txt") if derive_files and not recursive else None
        # the workers get only the keys that are not stem + ".jpg" (what they default to): the
        # whole map of an archive is pickled once per chunk otherwise (issue 13, point 3)
        odd_keys = {s: k for s, k in image_keys.items() if k != s + ".jpg"} if image_keys is not None else None
        work = partial(_folder_chunk, os.fspath(p), display_prefix(p, base), name, odd_keys, pattern=pattern)
        parts = [_keys_back(part, chunk, display_prefix(p, base), image_keys)
                 for part, chunk in zip(run_chunks(work, chunks), chunks)]
    else:
        entries = iter_entries(p, SUFFIXES, base=base, recursive=recursive, exclude=NOT_LABELS,
                               problems=problems, source=name, foreign=FOREIGN)
        parts = [_parse_files(files, datas, image_keys, name) for files, datas in batched(entries)]
        parts = parts or [_parse_files([], [], image_keys, name)]
    for part in parts:
        problems += part["problems"]
    source = _build(parts, name=name, label_ids=label_ids, path=os.fspath(p), meta=meta)
    source.file_pattern = pattern
    return source, problems


# --------------------------------------------------------------------------- layouts

#: The sub-folder of an Ultralytics predict folder (``runs/detect/predict``) holding the
#: ``--save-txt`` label files of the images beside it.
PREDICT_LABELS = "labels"


def sniff_folder(path: Path) -> bool:
    """True for an Ultralytics predict folder: images directly in it and ``labels/*.txt``."""
    from .assemble import is_image_folder

    labels = path / PREDICT_LABELS
    return labels.is_dir() and any(is_entry(n.lower()) for n in scan_files(labels, SUFFIXES)) and is_image_folder(path)


def read_layout(path: str | os.PathLike[str], *, names: Any = None, images: Any = None) -> Any:
    """YOLO labels as a Dataset: a file, a folder of them, a makesense zip, or an Ultralytics
    predict folder (images beside ``labels/``; a confidence column is kept as ``score``)."""
    from .assemble import read_export

    p = Path(path)
    target = p / PREDICT_LABELS if p.is_dir() and sniff_folder(p) else p
    return read_export(p, fmt="yolo", read_source=read, names=names, target=target, images=images)
