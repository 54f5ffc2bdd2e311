"""fracatlas-annot: read, check, compare and convert fracture X-ray annotations.

Public API (mirrors the CLI)::

    import fracatlas_annot as fa
    ds = fa.read("fixtures/fracatlas-mini")              # Dataset (images, sources, problems)
    result = fa.validate(ds)                              # ValidationResult: .findings, .exit_code(), .to_json()
    fa.convert(ds, to="yolo-seg", source="coco", out="out/seg")
    agreement = fa.agree("reader-1/", "reader-2/")        # AgreementResult
    fa.report(ds, out_html="report.html")                 # the QA report's content (dict)

``import fracatlas_annot`` stays cheap: each function is imported on first use. Three of
them share their name with the module that implements them (``validate``, ``convert``,
``report``); the package keeps the function under that name even after the module is
imported, so ``fa.validate`` is always the function. Reach those modules with
``from fracatlas_annot.validate import ValidationResult`` or ``importlib.import_module``:
``import fracatlas_annot.validate as m`` binds the function, as Python looks the name up on
the package first.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (
    FracatlasError,
    HeaderError,
    InputError,
    LossyConversionError,
    OutputExistsError,
    UnknownFormat,
    UnknownSourceError,
    UsageError,
)

from ._version import __version__

#: Public name -> (module of this package, attribute), imported on first use.
_LAZY: dict[str, tuple[str, str]] = {
    "read": ("formats", "read"),
    "validate": ("validate", "validate"),
    "convert": ("convert", "convert"),
    "agree": ("agreement", "agree"),
    "report": ("report", "build_report"),
    "render": ("report.outputs", "render"),
    "Dataset": ("model", "Dataset"),
    "Source": ("model", "Source"),
    "Problem": ("model", "Problem"),
    "ProblemKind": ("model", "ProblemKind"),
    "ValidationResult": ("validate", "ValidationResult"),
    "AgreementResult": ("agreement", "AgreementResult"),
}

__all__ = [
    "__version__",
    *_LAZY,
    "FracatlasError",
    "HeaderError",
    "InputError",
    "LossyConversionError",
    "OutputExistsError",
    "UnknownFormat",
    "UnknownSourceError",
    "UsageError",
]

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers and IDEs
    from .agreement import AgreementResult, agree
    from .convert import convert
    from .formats import read
    from .model import Dataset, Problem, ProblemKind, Source
    from .report import build_report as report
    from .report.outputs import render
    from .validate import ValidationResult, validate


class _Package(types.ModuleType):
    """This package's module type: public functions load lazily and are never shadowed.

    Importing a submodule binds it on its package (``fracatlas_annot.validate = <module>``);
    for the names where a function and its module share a name, that binding is refused,
    and the function is loaded instead.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            module, attr = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{self.__name__}.{module}"), attr)
        types.ModuleType.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            return  # the import system binding the submodule over the public function
        types.ModuleType.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        """The public names (loaded or not) and the module's dunders; not the helpers."""
        return sorted({*__all__, *(k for k in self.__dict__ if k.startswith("__"))})


sys.modules[__name__].__class__ = _Package
