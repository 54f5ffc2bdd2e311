"""COCO instances JSON: the reader (:mod:`.reader`: makesense polygon exports and generic
COCO), the export folders (:mod:`.layout`: a Roboflow root, CVAT's ``annotations/``), the
writer (:mod:`.writer`) and the one RLE decoder both use (:mod:`.rle`).

    >>> source, problems = read("labels_my-project_2024-03-23-07-10-18.json")
"""

from .layout import read_layout, sniff_folder
from .reader import parse, read, sniff
from .rle import rle_polygons
from .writer import to_coco, write

__all__ = ["parse", "read", "read_layout", "rle_polygons", "sniff", "sniff_folder", "to_coco", "write"]
