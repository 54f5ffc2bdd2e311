"""fracatlas-annot: read, check, compare and convert fracture X-ray annotations.

Public API (mirrors the CLI)::

    import fracatlas_annot as fa
    ds = fa.read("fixtures/fracatlas-mini")        # Dataset (images, sources, problems)
    findings = fa.validate(ds)                       # DataFrame of findings
    fa.convert(ds, to="yolo-seg", source="coco", out="out/seg")
    result = fa.agree("reader-1/", "reader-2/")
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "read", "validate", "convert", "agree"]


def __getattr__(name: str):  # lazy: keep `import fracatlas_annot` cheap
    if name == "read":
        from .formats import read

        return read
    if name == "validate":
        from .validate import validate

        return validate
    if name == "convert":
        from .convert import convert

        return convert
    if name == "agree":
        from .agreement import agree

        return agree
    raise AttributeError(name)
