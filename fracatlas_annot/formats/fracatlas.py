"""The FracAtlas archive layout (v6 and v7; ``reference/fracatlas-dataset.md`` §0-6).

::

    FracAtlas/
      dataset.csv                               13 columns, one row per image (BOM tolerated)
      images/Fractured/*.jpg  images/Non_fractured/*.jpg
      Annotations/COCO JSON/COCO_fracture_masks.json
      Annotations/PASCAL VOC/<stem>.xml         every image (negatives without <object>)
      Annotations/YOLO/<stem>.txt + classes.txt every image (empty for negatives)
      Annotations/VGG JSON/*.json               when present
      Utilities/Fracture Split/{train,valid,test}.csv

The images table is driven by ``dataset.csv`` (``in_csv``), plus any image file the CSV
does not list. ``Dataset.files`` keeps every physical file: in v7 two fractured images
also sit in ``Non_fractured/``; ``images.path`` then points at the folder that matches
``fractured`` and both files stay listed (nothing is silently dropped).

    >>> ds = read("fixtures/fracatlas-mini")
    >>> ds.sources["coco"].counts()
    {'objects': 13, 'images': 10, 'images_with_objects': 10}
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..imaging.headers import read_headers
from ..model import (
    FILE_COLUMNS,
    IMAGE_COLUMNS,
    SPLIT_LIST_COLUMNS,
    Dataset,
    Problem,
    Source,
    problems_frame,
    resolve_normalized,
)
from ._files import read_regular, scan_files
from .sizes import declared_sizes

CSV_NAME = "dataset.csv"
META_COLUMNS = [
    "hand", "leg", "hip", "shoulder", "mixed", "hardware",
    "multiscan", "fractured", "fracture_count", "frontal", "lateral", "oblique",
]  # fmt: skip
IMAGE_FOLDERS = ("images/Fractured", "images/Non_fractured")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
COCO_DIR = "Annotations/COCO JSON"
COCO_NAME = "COCO_fracture_masks.json"
VOC_DIR = "Annotations/PASCAL VOC"
YOLO_DIR = "Annotations/YOLO"
VGG_DIR = "Annotations/VGG JSON"
SPLIT_DIR = "Utilities/Fracture Split"
SPLIT_FILES = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def is_root(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a FracAtlas archive root (``dataset.csv`` + ``Annotations/``)."""
    p = Path(path)
    return (p / CSV_NAME).is_file() and (p / "Annotations").is_dir()


def find_root(path: str | os.PathLike[str]) -> Path | None:
    """The archive root at ``path`` or in its ``FracAtlas/`` sub-folder, else None."""
    p = Path(path)
    if not p.is_dir():
        return None
    if is_root(p):
        return p
    for name in ("FracAtlas", "fracatlas"):
        if is_root(p / name):
            return p / name
    subs = [d for d in p.iterdir() if d.is_dir() and is_root(d)] if p.is_dir() else []
    return subs[0] if len(subs) == 1 else None


def sniff(path: Path) -> int:
    """Detection score of a file: 2 for the ``dataset.csv`` of an archive root, else 0."""
    return 2 if path.name == CSV_NAME and is_root(path.parent) else 0


def sniff_folder(path: Path) -> bool:
    """True when ``path`` is an archive root or holds exactly one; several archives side by
    side are an :class:`~fracatlas_annot.formats.detect.UnknownFormat` naming them."""
    if find_root(path) is not None:
        return True
    several = sorted(d.name for d in path.iterdir() if d.is_dir() and is_root(d))
    if len(several) > 1:
        from .detect import UnknownFormat

        raise UnknownFormat(f"the folder holds several FracAtlas archives ({', '.join(several)}); pass one of them")
    return False


# --------------------------------------------------------------------------- dataset.csv


def read_csv(path: Path, *, file: str = CSV_NAME) -> tuple[pd.DataFrame | None, list[Problem]]:
    """``dataset.csv`` as a frame indexed by image id (first row per id), with a ``line`` column.

    Metadata columns become nullable integers; a cell that is not an integer is a
    ``bad-value`` problem with its line (the cell becomes <NA>).
    """
    problems: list[Problem] = []
    try:
        data = read_regular(path)
    except OSError as exc:
        return None, [Problem("parse-error", f"cannot read file: {exc.strerror or exc}", file=file)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [Problem("parse-error", f"not UTF-8: invalid byte at offset {exc.start}", file=file, line=line)]
    if not text.strip():
        return None, [Problem("parse-error", "empty file", file=file, line=1)]
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"image_id": object}, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        return None, [Problem("parse-error", f"CSV syntax error: {exc}", file=file)]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame["line"] = np.arange(2, len(frame) + 2)
    if "image_id" not in frame.columns:
        return None, [Problem("missing-key", f"no 'image_id' column (header: {', '.join(frame.columns[:-1])})", file=file, line=1, loc="header")]
    for col in META_COLUMNS:
        if col not in frame.columns:
            problems.append(Problem("missing-key", f"no '{col}' column", file=file, line=1, loc="header", severity="warning"))
    frame["image_id"] = frame["image_id"].astype(str).str.strip().astype(object)
    blank = (frame["image_id"] == "").to_numpy()
    for ln in frame.loc[blank, "line"]:
        row_text = text.splitlines()[ln - 1] if ln - 1 < len(text.splitlines()) else ""
        if row_text.strip():
            problems.append(Problem("missing-key", "row without an image_id", file=file, line=int(ln), loc="image_id"))
    frame = frame[~blank]
    for col in [c for c in META_COLUMNS if c in frame.columns]:
        if pd.api.types.is_integer_dtype(frame[col].dtype):  # fast path: every cell an integer
            frame[col] = frame[col].astype("Int64")
            continue
        raw = frame[col].astype(str).astype(object)
        values = pd.to_numeric(raw.str.strip(), errors="coerce")
        bad = values.isna().to_numpy() | (values.notna().to_numpy() & (values.to_numpy(dtype=float, na_value=0) % 1 != 0))
        for ln, key, v in zip(frame.loc[bad, "line"], frame.loc[bad, "image_id"], raw[bad]):
            problems.append(Problem("bad-value", f"{col} is {v!r}, not an integer", file=file, line=int(ln), loc=col, image=key))
        values = values.where(~bad)
        frame[col] = pd.array(values.to_numpy(dtype=float, na_value=np.nan), dtype="Float64").astype("Int64") if len(values) else pd.array([], dtype="Int64")
    for col in [c for c in META_COLUMNS if c in frame.columns]:
        frame[col] = smallest_int(frame[col].array)
    dup = frame["image_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        first = frame[~dup].set_index("image_id")["line"]
        for ln, key in zip(frame.loc[dup, "line"], frame.loc[dup, "image_id"]):
            problems.append(Problem("duplicate-image-id", f"{key} is listed again (first at line {int(first[key])})",
                                    file=file, line=int(ln), loc="image_id", image=key))  # fmt: skip
    frame = frame[~dup].set_index("image_id")
    frame.index = pd.Index(frame.index, dtype=object, name="image")
    return frame, problems


def smallest_int(values: Any) -> Any:
    """A nullable integer array in the smallest of ``Int8`` ... ``Int64`` that holds its
    values: the 0/1 flags of ``dataset.csv`` take one byte per image, not eight (issue 13,
    point 3: 12 columns x 10^5 images)."""
    arr = pd.array(values, dtype="Int64")
    known = arr[~arr.isna()]
    lo, hi = (int(known.min()), int(known.max())) if len(known) else (0, 0)
    for dtype, info in (("Int8", np.iinfo(np.int8)), ("Int16", np.iinfo(np.int16)), ("Int32", np.iinfo(np.int32))):
        if info.min <= lo and hi <= info.max:
            return arr.astype(dtype)
    return arr


# --------------------------------------------------------------------------- files


def list_images(root: Path, problems: list[Problem] | None = None) -> pd.DataFrame:
    """Every image file in ``images/Fractured`` and ``images/Non_fractured`` (``Dataset.files``);
    a folder or entry that cannot be read (no access, a symlink loop) goes to ``problems``."""
    rows: list[tuple[str, str, str]] = []
    for rel in IMAGE_FOLDERS:
        folder = root / rel
        if not folder.is_dir():
            continue
        names = scan_files(folder, IMAGE_SUFFIXES, display=f"{rel}/", problems=problems)
        label = rel.rsplit("/", 1)[-1]
        base = str(folder) + os.sep
        rows += [(n, base + n, label) for n in names]
    frame = pd.DataFrame(rows, columns=["image", "path", "folder"], dtype=object)
    return frame


def read_splits(root: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Raw rows of the split lists (``split`` = the list name: train / valid / test)."""
    problems: list[Problem] = []
    rows: list[tuple[str, str, str, int]] = []
    folder = root / SPLIT_DIR
    for name in ("train", "valid", "test"):
        f = folder / f"{name}.csv"
        rel = f"{SPLIT_DIR}/{name}.csv"
        if not f.is_file():
            continue
        try:
            text = f.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("parse-error", f"cannot read split list: {exc}", file=rel))
            continue
        lines = text.splitlines()
        start = 0
        if lines and lines[0].strip().lower() in ("image_id", "image", "file_name", "filename"):
            start = 1
        for i in range(start, len(lines)):
            value = lines[i].split(",")[0].strip()
            if value:
                rows.append((name, value, rel, i + 1))
    frame = pd.DataFrame(rows, columns=SPLIT_LIST_COLUMNS)
    frame = frame.astype({"split": object, "image": object, "file": object})
    frame["line"] = frame["line"].astype("int64")
    return frame, problems


# --------------------------------------------------------------------------- sources


def _relpath(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _json_files(folder: Path, preferred: str | None = None, problems: list[Problem] | None = None,
                root: Path | None = None) -> list[Path]:  # fmt: skip
    if not folder.is_dir():
        return []
    display = f"{_relpath(folder, root)}/" if root is not None else ""
    files = [folder / n for n in scan_files(folder, (".json",), display=display, problems=problems)]
    if preferred:
        files.sort(key=lambda p: p.name != preferred)
    return files


def share_keys(values: Any, index: pd.Index) -> np.ndarray:
    """``values`` (image keys) as an object array whose keys found in ``index`` are the very
    string objects of ``index``: a key parsed again by every reader (or unpickled from its
    workers) is otherwise one more copy per image and table (issue 13, point 3)."""
    out = np.array(values, dtype=object)
    if len(out) and len(index) and index.is_unique:
        pos = index.get_indexer(out)
        hit = pos >= 0
        out[hit] = index.to_numpy(dtype=object)[pos[hit]]
    return out


def _share_source_keys(source: Source, index: pd.Index) -> None:
    images = source.images
    own = pd.Index(share_keys(images.index, index), dtype=object, name=images.index.name)
    # a VOC or YOLO folder lists every image of the archive in its order: the archive's own
    # index then, not a copy whose hash table (4 MiB at 10^5 keys) is built again by the rules
    images.index = index if own.name == index.name and own.equals(index) else own
    for col in ("file_name", "loc"):  # COCO's file_name and VGG's entry key are image keys too
        if col in images and source.format in ("coco", "vgg"):
            images[col] = pd.Series(share_keys(images[col], index), index=images.index, dtype=object)
    obj = source.objects
    obj["image"] = pd.Series(share_keys(obj["image"], index), index=obj.index, dtype=object)


def _add(sources: dict[str, Source], problems: list[Problem], name: str, result: tuple[Source, list[Problem]],
         index: pd.Index | None = None) -> None:  # fmt: skip
    source, probs = result
    if index is not None:
        _share_source_keys(source, index)
    source.name = name
    sources[name] = source
    for p in probs:
        if p.source is None:
            p.source = name
    problems += probs


def read_sources(root: Path, known: Sequence[str], *, names: Any = None) -> tuple[dict[str, Source], list[Problem]]:
    """COCO, VOC, YOLO and VGG sources of the archive (YOLO still normalised); their image
    keys that are in ``known`` share its string objects."""
    from . import voc, yolo

    index = known if isinstance(known, pd.Index) else pd.Index(list(known), dtype=object)
    sources: dict[str, Source] = {}
    problems: list[Problem] = []
    coco_files = _json_files(root / COCO_DIR, COCO_NAME, problems, root)
    vgg_problems: list[Problem] = []  # listing problems of the VGG folder keep their place (after YOLO)
    vgg_files = _json_files(root / VGG_DIR, None, vgg_problems, root)
    jobs = [("coco", "coco" if i == 0 else f"coco-{f.stem}", f) for i, f in enumerate(coco_files)]
    jobs += [("vgg", "vgg" if i == 0 else f"vgg-{f.stem}", f) for i, f in enumerate(vgg_files)]
    parsed = dict(zip((name for _, name, _ in jobs), _read_json_sources(jobs, root)))
    for _, name, _ in jobs[: len(coco_files)]:
        _add(sources, problems, name, parsed.pop(name), index)
    if (root / VOC_DIR).is_dir():
        _add(sources, problems, "voc", voc.read(root / VOC_DIR, name="voc", base=root, derive_files=True), index)
    if (root / YOLO_DIR).is_dir():
        keys = {k.rpartition(".")[0] or k: k for k in known}
        names, yaml_probs = _root_yaml_names(root, names)
        problems += yaml_probs
        _add(sources, problems, "yolo", yolo.read(root / YOLO_DIR, name="yolo", names=names, image_keys=keys, base=root,
                                                  derive_files=True), index)  # fmt: skip
    problems += vgg_problems
    for _, name, _ in jobs[len(coco_files) :]:
        result = parsed.pop(name)
        unpack_shapes(result[0], sources.get("coco"))
        _add(sources, problems, name, result, index)
    return sources, problems


def pack_shapes(source: Source) -> None:
    """Replace ``source``'s geometry column by its shapes' WKB (None stays None), the bytes
    shapely's own pickling sends; :func:`unpack_shapes` turns them back into shapes."""
    import shapely

    geo = source.objects["geometry"].to_numpy(dtype=object)
    source.objects["geometry"] = pd.Series(shapely.to_wkb(geo, include_srid=True), index=source.objects.index, dtype=object)


def unpack_shapes(source: Source, reference: Source | None) -> None:
    """Undo :func:`pack_shapes`; a shape whose WKB is that of a ``reference`` polygon on the
    same image (the same type, parts and coordinates, bit for bit) becomes that very
    shapely object.

    A FracAtlas archive draws every fracture twice, in COCO and in VGG: shapely shapes are
    immutable, so one GEOS object serves both tables, and the VGG copy is never built in
    this process (issue 13, point 3: 23,146 polygons at 25x)."""
    import shapely

    wkb = source.objects["geometry"].to_numpy(dtype=object)
    out = np.full(len(wkb), None, dtype=object)
    has = np.flatnonzero(pd.notna(wkb))
    known: dict[tuple[Any, bytes], Any] = {}
    if reference is not None and len(has):
        ref = reference.objects["geometry"].to_numpy(dtype=object)
        rows = np.flatnonzero(~shapely.is_missing(ref))
        images = reference.objects["image"].to_numpy(dtype=object)[rows]
        known = dict(zip(zip(images, shapely.to_wkb(ref[rows], include_srid=True)), ref[rows]))
    images = source.objects["image"].to_numpy(dtype=object)
    build = []
    for r in has.tolist():
        same = known.get((images[r], wkb[r]))
        if same is None:
            build.append(r)
        else:
            out[r] = same
    del known
    if build:
        out[build] = shapely.from_wkb(wkb[build])
    source.objects["geometry"] = pd.Series(out, index=source.objects.index, dtype=object)


#: JSON documents bigger than this (all together) are parsed in worker processes: a parsed
#: document holds ~4x its size in Python objects, which the workers hand back as compact
#: tables instead of leaving the parent's heap fragmented (issue 13, point 3).
JSON_ISOLATE_BYTES = 4 * 2**20


def _read_json_job(job: tuple[str, str, Path], root: Path) -> tuple[Source, list[Problem]]:
    from . import coco, vgg

    kind, name, path = job
    if kind == "coco":
        return coco.read(path, name=name, base=root)
    source, problems = vgg.read(path, name=name, base=root)
    pack_shapes(source)  # its shapes are built again beside COCO's (read_sources)
    return source, problems


def _read_json_sources(jobs: list[tuple[str, str, Path]], root: Path) -> list[tuple[Source, list[Problem]]]:
    """Read the COCO and VGG documents (in ``jobs`` order): in worker processes, one per
    document, when they are big and the worker policy allows it, else here."""
    from functools import partial

    from ..runtime.parallel import default_workers, run_chunks

    work = partial(_read_json_job, root=root)
    try:
        size = sum(os.stat(p).st_size for _, _, p in jobs)
    except OSError:
        size = 0
    if len(jobs) < 2 or size < JSON_ISOLATE_BYTES or default_workers(len(jobs), min_items=1) < 2:
        return [work(j) for j in jobs]
    return [res for part in run_chunks(_read_json_chunk, [[(work, j)] for j in jobs]) for res in part]


def _read_json_chunk(chunk: list[tuple[Any, tuple[str, str, Path]]]) -> list[tuple[Source, list[Problem]]]:
    return [work(job) for work, job in chunk]


def _root_yaml_names(root: Path, names: Any) -> tuple[Any, list[Problem]]:
    """Without ``names`` and without a usable class list beside the YOLO labels, the class
    names of a ``data.yaml`` at the archive root (a FracAtlas copy shared labels-only); the
    problems of the class list that was passed over (an empty labels.txt) are kept."""
    from . import yolo

    if names is not None:
        return names, []
    ids, _where, probs = yolo.find_names(root / YOLO_DIR, base=root)
    yaml = yolo.find_data_yaml(root)
    if ids is not None or yaml is None:
        return None, []
    try:
        from_yaml, _ = yolo.parse_names(yaml.read_bytes(), file=yaml.name)
    except OSError:
        return None, []
    if not from_yaml:
        return None, []
    for p in probs:
        p.source = "yolo"
        p.message += f"; class names taken from {yaml.name}"
    return from_yaml, probs


def images_table(
    index: pd.Index,
    csv: pd.DataFrame | None,
    files: pd.DataFrame,
    head: pd.DataFrame | None,
    split_lists: pd.DataFrame,
    *,
    in_csv: np.ndarray | None = None,
) -> pd.DataFrame:
    """The images table: one row per key of ``index`` (CSV rows, then files the CSV lacks).

    When a key has two files (v7), ``path``/``folder`` take the one in the folder that
    matches ``fractured``; every table is aligned on ``index`` once (reindexing column by
    column costs an index comparison each at 10^5 rows).
    """
    n = len(index)
    choice = files.copy()
    if csv is not None and "fractured" in csv.columns and len(choice):
        fr = csv["fractured"].reindex(choice["image"]).to_numpy(dtype=float, na_value=np.nan)
        want = np.where(fr == 1, "Fractured", np.where(fr == 0, "Non_fractured", ""))
        choice["rank"] = (choice["folder"].to_numpy() != want).astype(int)
    else:
        choice["rank"] = 0
    choice["row"] = np.arange(len(choice))
    choice = choice.sort_values(["image", "rank", "row"], kind="stable").drop_duplicates("image", keep="first")
    choice = choice.set_index("image").reindex(index)
    found = choice["row"].notna().to_numpy()
    rows = choice["row"].to_numpy(dtype=float, na_value=np.nan)[found].astype(np.int64)

    def column(values: np.ndarray | None, dtype: str, fill: object = None) -> Any:
        if dtype == "object":
            out = np.full(n, fill, dtype=object)
            if values is not None:
                out[found] = values[rows]
            return out
        data, mask = np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
        if values is not None:
            picked = pd.array(values, dtype="Int64")[rows]
            data[found] = picked.to_numpy(dtype=np.int64, na_value=0)
            mask[found] = picked.isna()
        return pd.arrays.IntegerArray(data, mask)

    data: dict[str, Any] = {
        "path": column(files["path"].to_numpy(dtype=object), "object"),
        "folder": column(files["folder"].to_numpy(dtype=object), "object"),
    }
    for col in ("width", "height", "raw_width", "raw_height", "orientation", "file_size"):
        data[col] = column(head[col].array if head is not None else None, "Int64")
    err = column(head["header_error"].to_numpy(dtype=object) if head is not None else None, "object")
    err[~found] = "image file not found in images/Fractured or images/Non_fractured"
    data["header_error"] = err
    split = np.full(n, None, dtype=object)
    if len(split_lists):
        first = split_lists.drop_duplicates("image", keep="first").set_index("image")["split"].map(SPLIT_FILES)
        mapped = first.reindex(index).to_numpy(dtype=object)
        split = np.where(pd.isna(mapped), None, mapped)
    data["split"] = split
    if in_csv is None:
        in_csv = index.isin(csv.index) if csv is not None else np.zeros(n, dtype=bool)
    data["in_csv"] = in_csv
    if head is not None:
        trunc = np.zeros(n, dtype=bool)
        trunc[found] = head["truncated"].to_numpy(dtype=bool)[rows]
        data["truncated"] = trunc
        data["trailing_bytes"] = column(head["trailing_bytes"].array, "Int64")
    if csv is not None:
        meta = csv.drop(columns=[c for c in csv.columns if c not in META_COLUMNS and c != "line"]).reindex(index)
        for col in meta.columns:
            data["csv_line" if col == "line" else col] = meta[col].astype("Int64").array if col == "line" else meta[col].array
    for col in ("path", "folder", "header_error", "split"):  # keep object dtype (pandas 3 would infer str)
        data[col] = pd.Series(data[col], index=index, dtype=object)
    frame = pd.DataFrame(data, index=index)
    return frame[[c for c in IMAGE_COLUMNS] + [c for c in frame.columns if c not in IMAGE_COLUMNS]]


# --------------------------------------------------------------------------- the archive


def read(path: str | os.PathLike[str], *, names: Any = None, headers: bool = True) -> Dataset:
    """Read a FracAtlas archive root (v6 or v7) into a :class:`Dataset`.

    Args:
        path: the folder holding ``dataset.csv`` (or its parent holding ``FracAtlas/``).
        names: YOLO class names (default: ``Annotations/YOLO/classes.txt``).
        headers: read image headers for sizes and EXIF orientation (no pixel decoding).
    """
    root = find_root(path)
    if root is None:
        raise InputError(Path(path), "not a FracAtlas archive: no dataset.csv next to an Annotations/ folder here or in FracAtlas/")
    problems: list[Problem] = []
    csv, probs = (None, [])
    if (root / CSV_NAME).is_file():
        csv, probs = read_csv(root / CSV_NAME)
    else:
        probs = [Problem("missing-key", f"no {CSV_NAME} in the archive root", file=CSV_NAME, severity="warning")]
    problems += probs

    files = list_images(root, problems)
    if headers and len(files):
        head = read_headers(files["path"].tolist())
        files["file_size"] = head["file_size"].to_numpy()
    else:
        head = None
        files["file_size"] = pd.array([None] * len(files), dtype="Int64")

    csv_keys = list(csv.index) if csv is not None else []
    extra = sorted(set(files["image"]) - set(csv_keys))
    keys = csv_keys + extra
    split_lists, probs = read_splits(root)
    problems += probs
    in_csv = np.arange(len(keys)) < len(csv_keys)  # keys = CSV rows first, then files the CSV lacks
    images = images_table(pd.Index(keys, dtype=object, name="image"), csv, files, head, split_lists, in_csv=in_csv)
    have_csv = csv is not None
    del csv, head  # copied into ``images``: their memory is reused by the readers below
    split_lists["image"] = pd.Series(share_keys(split_lists["image"], images.index), index=split_lists.index, dtype=object)

    sources, probs = read_sources(root, images.index, names=names)
    problems += probs
    if "yolo" in sources:
        y = sources["yolo"]
        y.objects = resolve_normalized(y.objects, declared_sizes(images, sources))

    from .registry import label_order

    labels: list[str] = []
    for name in label_order():
        if name in sources and sources[name].labels:
            labels = list(sources[name].labels)
            break
    dup_keys = files["image"][files["image"].duplicated(keep=False)].unique().tolist()
    meta = {
        "version": "v7" if dup_keys else "v6",
        "csv": CSV_NAME if have_csv else None,
        "image_files": len(files),
        "images_in_csv": len(csv_keys),
        "files_in_two_folders": len(dup_keys),
    }
    files_out = files[FILE_COLUMNS].reset_index(drop=True)
    return Dataset(
        images=images,
        labels=labels,
        sources=sources,
        problems=problems_frame(problems),
        files=files_out,
        split_lists=split_lists,
        root=root,
        format="fracatlas",
        meta=meta,
    )
