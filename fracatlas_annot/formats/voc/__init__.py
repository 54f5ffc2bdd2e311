"""Pascal VOC XML: the reader (:mod:`.reader`: makesense's VOC zip, FracAtlas
``Annotations/PASCAL VOC``, a VOC layout) and the writer (:mod:`.writer`).

    >>> source, problems = read("labels_my-project_2024-03-23-07-10-18.zip")
"""

from .reader import is_entry, parse, read, read_layout, sniff_folder, voc_folder
from .writer import build, write

__all__ = ["build", "is_entry", "parse", "read", "read_layout", "sniff_folder", "voc_folder", "write"]
