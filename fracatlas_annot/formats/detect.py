"""What a path holds: a FracAtlas archive, one makesense export, a reader's export folder ...

makesense names COCO and VGG exports alike (``labels_<project>_<date>.json``) and YOLO and
VOC zips alike (``.zip``), so detection looks at the content: the first bytes of a JSON
file, the entry names of a zip, the file types in a folder.

    >>> detect("fixtures/fracatlas-mini")
    'fracatlas'
    >>> detect("fixtures/readers/reader-1")
    'makesense'
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from . import fracatlas

#: Formats :func:`detect` returns, with what each one means.
FORMATS: dict[str, str] = {
    "fracatlas": "a FracAtlas archive root (dataset.csv + Annotations/), or its parent holding FracAtlas/",
    "coco": "a COCO JSON file (makesense POLYGON export)",
    "vgg": "a VGG/VIA JSON file (makesense POLYGON export)",
    "voc": "Pascal VOC XML: a .xml file, a folder of them, or a makesense VOC zip",
    "yolo": "YOLO txt: a .txt file, a folder of them, or a makesense YOLO zip",
    "csv": "a makesense rect CSV file",
    "ultralytics": "an Ultralytics YOLO dataset: data.yaml + images/<split>/ + labels/<split>/ (what convert writes)",
    "makesense": "a folder holding one reader's makesense exports (.json / .zip / .csv)",
    "folder": "a folder of images only",
}
ALIASES = {"yolov8": "ultralytics", "data.yaml": "ultralytics", "pascal-voc": "voc", "pascal_voc": "voc", "rect-csv": "csv", "rect_csv": "csv", "via": "vgg",
           "images": "folder", "exports": "makesense", "reader": "makesense"}  # fmt: skip
IMAGE_SUFFIXES = fracatlas.IMAGE_SUFFIXES
NAME_FILES = ("labels.txt", "classes.txt")
_HEAD = 4096
_COCO_KEYS = re.compile(rb'"(?:annotations|categories|images)"\s*:\s*\[')
_VGG_KEYS = re.compile(rb'"(?:regions|_via_img_metadata|fileref|base64_img_data|shape_attributes)"\s*:')


from ..errors import UnknownFormat  # noqa: E402  (defined with the other library errors)


def normalize_format(name: str) -> str:
    """``--format`` value -> a key of :data:`FORMATS` (raises ValueError with the choices)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        from ..runtime.suggest import did_you_mean

        raise ValueError(f"unknown format '{name}' (choose from {', '.join(FORMATS)}){did_you_mean(key, list(FORMATS))}")
    return key


def sniff_json(path: str | os.PathLike[str]) -> str | None:
    """``"coco"`` or ``"vgg"`` from the first bytes of a JSON file, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
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
        return "vgg"  # makesense writes `{}` when no labelled polygon qualifies (issue #153)
    return None


def sniff_zip(path: str | os.PathLike[str]) -> str | None:
    """``"voc"`` or ``"yolo"`` from the entry names of a zip (the majority wins), else None."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n.rsplit("/", 1)[-1].lower() for n in zf.namelist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    xml = sum(n.endswith(".xml") for n in names)
    txt = sum(n.endswith(".txt") and n not in NAME_FILES for n in names)
    if not xml and not txt:
        return None
    return "voc" if xml >= txt else "yolo"


def detect_file(path: Path) -> str | None:
    """The format of one file, or None."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        # Not recognisably COCO or VGG (broken, truncated, not UTF-8 ...): the COCO reader
        # reports exactly what is wrong, with the line and column or byte offset.
        return sniff_json(path) or "coco"
    if suffix == ".zip" or zipfile.is_zipfile(path):
        return sniff_zip(path)
    if suffix == ".xml":
        return "voc"
    if suffix in (".yaml", ".yml"):
        from . import ultralytics

        return "ultralytics" if ultralytics.is_dataset(path) else None
    if suffix == ".txt" and path.name.lower() not in NAME_FILES:
        return "yolo"
    if suffix == ".csv":
        if path.name == fracatlas.CSV_NAME and fracatlas.is_root(path.parent):
            return "fracatlas"
        return "csv"
    return None


#: Files `convert` writes beside its output that are not annotations (makesense names its
#: exports ``labels_<project>_<date>.*``, so these never clash with a real export).
NOT_EXPORTS = ("manifest.json", "splits.csv")


def voc_folder(folder: Path) -> Path | None:
    """The ``Annotations/`` folder of a Pascal VOC layout (what ``convert --to voc`` writes), else None."""
    sub = folder / "Annotations"
    if sub.is_dir() and any(n.lower().endswith(".xml") for n in os.listdir(sub)):
        return sub
    return None


def export_files(folder: Path) -> list[tuple[str, Path]]:
    """``(format, path)`` for each makesense export file directly in ``folder`` (sorted)."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.name in NOT_EXPORTS:
            continue
        if p.is_file() and p.suffix.lower() in (".json", ".zip", ".csv"):
            fmt = detect_file(p)
            if fmt in ("coco", "vgg", "voc", "yolo", "csv"):
                out.append((fmt, p))
    return out


def detect(path: str | os.PathLike[str]) -> str:
    """The format at ``path`` (a key of :data:`FORMATS`); raises :class:`UnknownFormat`."""
    p = Path(path)
    if p.is_file():
        fmt = detect_file(p)
        if fmt is None:
            raise UnknownFormat(f"{p.name} is not a known annotation file (looked for: {_looked_for()})")
        return fmt
    if not p.is_dir():
        raise UnknownFormat("no such file or folder")
    if fracatlas.find_root(p) is not None:
        return "fracatlas"
    from . import ultralytics

    if ultralytics.is_dataset(p):
        return "ultralytics"
    several = sorted(d.name for d in p.iterdir() if d.is_dir() and fracatlas.is_root(d))
    if len(several) > 1:
        raise UnknownFormat(f"the folder holds several FracAtlas archives ({', '.join(several)}); pass one of them")
    names = [e.name.lower() for e in os.scandir(p) if e.is_file()]
    xml = sum(n.endswith(".xml") for n in names)
    txt = sum(n.endswith(".txt") and n not in NAME_FILES for n in names)
    if xml or txt:
        return "voc" if xml >= txt else "yolo"
    if voc_folder(p) is not None:
        return "voc"
    if export_files(p):
        return "makesense"
    if any(n.endswith(IMAGE_SUFFIXES) for n in names):
        return "folder"
    raise UnknownFormat(f"the folder holds no annotation file or image (looked for: {_looked_for()})")


def _looked_for() -> str:
    return "; ".join(f"{k}: {v}" for k, v in FORMATS.items())
