"""What a path holds: a FracAtlas archive, one makesense export, a reader's export folder ...

makesense names COCO and VGG exports alike (``labels_<project>_<date>.json``) and YOLO and
VOC zips alike (``.zip``), so detection looks at the content: the first bytes of a JSON
file, the entry names of a zip, the file types in a folder. What each format looks like is
in its :class:`~fracatlas_annot.formats.registry.Format` record; this module only asks them.

    >>> detect("fixtures/fracatlas-mini")
    'fracatlas'
    >>> detect("fixtures/readers/reader-1")
    'makesense'
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..model import Problem
from ._files import scan_files
from .registry import FORMATS, Format, export_suffixes, normalize_format

__all__ = ["UnknownFormat", "detect", "detect_file", "export_files", "normalize_format", "NOT_EXPORTS"]

#: Files `convert` writes beside its output that are not annotations (makesense names its
#: exports ``labels_<project>_<date>.*``, so these never clash with a real export).
NOT_EXPORTS = ("manifest.json", "splits.csv")
#: Where, among the formats' ``folder_rank``, per-image files lying directly in a folder are
#: counted: after an archive root and a data.yaml, before the layouts of per-format folders.
FILES_RANK = 25


from ..errors import UnknownFormat  # noqa: E402  (defined with the other library errors)


def _by_entries(names: list[str]) -> str | None:
    """The format whose per-image files (``Format.entry``) make up most of ``names``
    (lower-case base names); ties go to the earlier format; None when none matches."""
    best, best_count = None, 0
    for f in FORMATS.values():
        if f.entry is None:
            continue
        count = sum(map(f.entry, names))
        if count > best_count:
            best, best_count = f.name, count
    return best


def _zip_format(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n.rsplit("/", 1)[-1].lower() for n in zf.namelist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return _by_entries(names)


def _file_score(f: Format, path: Path, suffix: str) -> int:
    if suffix not in f.suffixes:
        return 0
    return 1 if f.sniff is None else f.sniff(path)


def detect_file(path: Path) -> str | None:
    """The format of one file, or None: a zip by its entries, any other file by the formats
    that claim its suffix (the highest ``sniff`` score wins)."""
    suffix = path.suffix.lower()
    if suffix == ".zip" or zipfile.is_zipfile(path):
        return _zip_format(path)
    best, best_score = None, 0
    for f in FORMATS.values():
        score = _file_score(f, path, suffix)
        if score > best_score:
            best, best_score = f.name, score
    return best


def export_files(folder: Path, problems: list[Problem] | None = None) -> list[tuple[str, Path]]:
    """``(format, path)`` for each makesense export file directly in ``folder`` (sorted); an
    entry that cannot be looked at (a symlink loop, no access) goes to ``problems``."""
    suffixes = export_suffixes()
    out = []
    for name in scan_files(folder, suffixes, problems=problems):
        p = folder / name
        if p.name in NOT_EXPORTS:
            continue
        if p.suffix.lower() in suffixes:
            fmt = detect_file(p)
            if fmt is not None and FORMATS[fmt].makesense_export:
                out.append((fmt, p))
    return out


def _detect_folder(p: Path) -> str | None:
    layouts = sorted((f for f in FORMATS.values() if f.sniff_folder is not None), key=lambda f: f.folder_rank)
    files_checked = False
    for f in layouts:
        if f.folder_rank > FILES_RANK and not files_checked:
            files_checked = True
            fmt = _by_entries([n.lower() for n in scan_files(p)])
            if fmt is not None:
                return fmt
        if f.sniff_folder(p):
            return f.name
    if not files_checked:
        return _by_entries([n.lower() for n in scan_files(p)])
    return None


def detect(path: str | os.PathLike[str]) -> str:
    """The format at ``path`` (a key of :data:`~fracatlas_annot.formats.registry.FORMATS`);
    raises :class:`UnknownFormat`."""
    p = Path(path)
    if p.is_file():
        fmt = detect_file(p)
        if fmt is None:
            raise UnknownFormat(f"{p.name} is not a known annotation file (looked for: {_looked_for()})")
        return fmt
    if not p.is_dir():
        raise UnknownFormat("no such file or folder")
    fmt = _detect_folder(p)
    if fmt is None:
        deeper = _deeper_exports(p)
        if deeper:
            shown = ", ".join(f"{rel} ({f})" for rel, f in deeper[:DEEPER_SHOWN])
            more = f" and {len(deeper) - DEEPER_SHOWN} more" if len(deeper) > DEEPER_SHOWN else ""
            raise UnknownFormat(f"the folder holds no annotation file or image itself, only deeper in sub-folders: "
                                f"{shown}{more}; name one of those files (or the folder holding it) as the path")
        raise UnknownFormat(f"the folder holds no annotation file or image (looked for: {_looked_for()})")
    return fmt


#: How deep, how many entries, and how many found files the "exports only deeper" message looks at and names.
DEEPER_LEVELS, DEEPER_ENTRIES, DEEPER_SHOWN = 4, 5000, 5


def _deeper_exports(folder: Path) -> list[tuple[str, str]]:
    """``(relative path, format)`` of the annotation files and the export folders (a path
    ending in the separator) in the sub-folders of ``folder``, breadth first, a few levels and
    entries at most (links not followed)."""
    found: list[tuple[str, str]] = []
    level, seen = [folder], 0
    for _ in range(DEEPER_LEVELS):
        nxt = []
        for d in level:
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                seen += 1
                if seen > DEEPER_ENTRIES or e.name.startswith("."):
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        fmt = _detect_folder(Path(e.path))
                        if fmt is not None:  # an export folder (or a folder of images): name it, do not descend
                            found.append((os.path.relpath(e.path, folder) + os.sep, fmt))
                        else:
                            nxt.append(Path(e.path))
                    elif d is not folder and e.is_file(follow_symlinks=False):
                        fmt = detect_file(Path(e.path))
                        if fmt is not None:
                            found.append((os.path.relpath(e.path, folder), fmt))
                except OSError:
                    continue
        level = nxt
    return found


def _looked_for() -> str:
    return "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values())
