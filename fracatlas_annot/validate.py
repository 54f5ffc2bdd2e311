"""``validate``: run the rule catalogue on a dataset and report findings.

Python API::

    import fracatlas_annot as fa
    result = fa.validate("fixtures/fracatlas-mini", select=["FA"], ignore=["FA505"], fast=True)
    result.findings                  # the findings DataFrame (below)
    result.exit_code()               # 0 / 1 (``strict=True``: warnings fail too)
    doc = result.to_json()           # the public JSON document (schema below)

:func:`validate` returns a :class:`ValidationResult`: the findings, the dataset that was
checked, and how it was checked (rules run, ``fast``).

Findings are a DataFrame with the columns of
:data:`fracatlas_annot.checks.registry.FINDING_COLUMNS`: ``code``, ``name``, ``severity``,
``image`` (file name or None), ``source`` (annotation source or None), ``object`` (row of
the source's objects table or <NA>), ``message``, ``file``, ``line``, ``loc``.

JSON schema (``validate --format json``; public and stable, version 1)::

    {
      "schema": "fracatlas-annot/validate/1",
      "summary": {
        "dataset": str | null,             # the path that was read
        "format": str,                     # detected format ("fracatlas", "coco", ...)
        "images": int,
        "sources": {name: {"format": str, "geometry": "polygon" | "box", "images": int,
                           "objects": int, "errors": int, "warnings": int, "infos": int,
                           "path": str | null}},   # what was read, as given
        "rules_run": int,
        "codes_run": [str],                # the codes of the rules that ran
        "fast": bool,
        "errors": int, "warnings": int, "infos": int,
        "by_rule": {code: int}
      },
      "findings": [
        {"code": "FA105", "name": "object-outside-image", "severity": "error",
         "image": "IMG0000019.jpg" | null, "source": "coco" | null,
         "message": str,
         "location": "file:line" | "file (loc)" | "file" | null,
         "file": str | null, "line": int | null, "loc": str | null,   # the parts of location
         "related": [str]}                 # every image of a group finding (duplicates); [] else
      ]
    }

``file`` is relative to the dataset root (or to the folder of a file that was read), or the
path of an image as it was found; ``fracatlas_annot.report.outputs`` turns it into a path
from the working directory for CI annotations. Fields are only ever added to version 1.

Findings are sorted by severity (error, warning, info), code, image, source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .checks import load_all
from .checks.registry import CheckContext, Rule, location, related_tuple, run_rules, select_rules
from .imaging import decode, duplicates
from .model import Dataset

SCHEMA = "fracatlas-annot/validate/1"


class ImagingFacts:
    """The rule context's pixel facts (:class:`~fracatlas_annot.checks.registry.PixelFacts`),
    computed by :mod:`fracatlas_annot.imaging`. Whoever builds a
    :class:`~fracatlas_annot.checks.registry.CheckContext` passes :data:`IMAGING_FACTS`;
    the checks themselves never import the decoder."""

    def scan(self, paths: list[str], *, keys: list[str], progress: bool) -> pd.DataFrame:
        return decode.scan(paths, keys=keys, progress=progress)

    def start_scan(self, paths: list[str], *, keys: list[str], progress: bool) -> decode.ScanStarted:
        """:meth:`scan` started: the workers decode while the other rules run."""
        return decode.scan_start(paths, keys=keys, progress=progress)

    def duplicate_groups(
        self,
        keys: Any,
        paths: Any,
        sizes: Any,
        *,
        pixels: bool,
        progress: bool,
        scan_result: pd.DataFrame | None,
        threshold: int,
    ) -> pd.DataFrame:
        return duplicates.duplicate_groups(
            keys, paths, sizes, pixels=pixels, progress=progress, scan_result=scan_result, threshold=threshold
        )


#: The provider every check context built by the library gets.
IMAGING_FACTS = ImagingFacts()


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """What :func:`validate` found, on what, and how.

    Attributes:
        findings: one row per finding, sorted by severity, code, image, source (columns of
            :data:`~fracatlas_annot.checks.registry.FINDING_COLUMNS`).
        dataset: the :class:`~fracatlas_annot.model.Dataset` that was checked (None when
            only findings are at hand).
        rules_run: the codes of the rules that ran (``fast`` leaves out the pixel rules).
        fast: whether pixel-level work was skipped.
    """

    findings: pd.DataFrame
    dataset: Dataset | None = None
    rules_run: tuple[str, ...] = ()
    fast: bool = False

    @classmethod
    def of(cls, findings: pd.DataFrame, dataset: Dataset | None, rules: Iterable[Rule], *, fast: bool) -> ValidationResult:
        """The result of running ``rules`` (with ``fast`` as given) on ``dataset``."""
        return cls(findings, dataset, tuple(r.code for r in rules if not (fast and r.needs_pixels)), fast)

    def exit_code(self, strict: bool = False) -> int:
        """0 when nothing is at error level (and, with ``strict``, nothing at warning level); else 1."""
        sev = set(self.findings["severity"]) if len(self.findings) else set()
        if "error" in sev or (strict and "warning" in sev):
            return 1
        return 0

    @property
    def summary(self) -> dict[str, Any]:
        """The ``summary`` object of the JSON document."""
        return _summary(self)

    def records(self) -> list[dict[str, Any]]:
        """The ``findings`` list of the JSON document."""
        return _records(self.findings)

    def to_json(self) -> dict[str, Any]:
        """The public JSON document ``{"schema", "summary", "findings"}`` (see the module
        docstring), as a dict ready for :func:`json.dumps`."""
        return {"schema": SCHEMA, "summary": self.summary, "findings": self.records()}


def _read(dataset_or_path: Dataset | str | Path, input_format: str | None) -> Dataset:
    if isinstance(dataset_or_path, Dataset):
        return dataset_or_path
    from .formats import read

    return read(dataset_or_path, format=input_format)


def validate(
    dataset_or_path: Dataset | str | Path,
    *,
    select: Iterable[str] | str | None = None,
    ignore: Iterable[str] | str | None = None,
    fast: bool = False,
    progress: bool = True,
    input_format: str | None = None,
    context: dict[str, Any] | None = None,
) -> ValidationResult:
    """Run the selected rules on a dataset (or a path, read with :func:`fracatlas_annot.formats.read`).

    ``select`` / ``ignore`` take codes, prefixes (``FA2``) or rule names, as in ruff;
    ``fast`` skips pixel-level work (decoding and hashing image contents); ``context``
    overrides :class:`~fracatlas_annot.checks.registry.CheckContext` options such as
    ``iou_threshold``. Returns a :class:`ValidationResult`.
    Raises :class:`~fracatlas_annot.errors.UsageError` for an unknown selector and
    :class:`~fracatlas_annot.errors.InputError` when nothing could be read.
    """
    load_all()
    rules = select_rules(select, ignore)  # selectors first: a typo fails before reading
    dataset = _read(dataset_or_path, input_format)
    options = {"pixel_facts": IMAGING_FACTS, **(context or {})}  # a caller may bring its own provider
    ctx = CheckContext(dataset=dataset, fast=fast, progress=progress, **options)
    return ValidationResult.of(run_rules(ctx, rules), dataset, rules, fast=fast)


def _none(v: Any) -> Any:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def _records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in findings.itertuples(index=False):
        out.append(
            {
                "code": row.code,
                "name": row.name,
                "severity": row.severity,
                "image": _none(row.image),
                "source": _none(row.source),
                "message": row.message,
                "location": location(row.file, row.line, row.loc),
                "file": _none(row.file),
                "line": None if _none(row.line) is None else int(row.line),
                "loc": _none(row.loc),
                "related": list(related_tuple(getattr(row, "related", None))),
            }
        )
    return out


def _summary(result: ValidationResult) -> dict[str, Any]:
    findings, dataset = result.findings, result.dataset
    sev = findings["severity"].value_counts() if len(findings) else pd.Series(dtype=int)
    out: dict[str, Any] = {
        "dataset": str(dataset.root) if dataset is not None and dataset.root else None,
        "format": dataset.format if dataset is not None else None,
        "images": len(dataset.images) if dataset is not None else None,
        "sources": {},
        "rules_run": len(result.rules_run),
        "codes_run": [str(c) for c in result.rules_run],
        "fast": bool(result.fast),
        "errors": int(sev.get("error", 0)),
        "warnings": int(sev.get("warning", 0)),
        "infos": int(sev.get("info", 0)),
        "by_rule": {str(k): int(v) for k, v in findings["code"].value_counts().sort_index().items()}
        if len(findings)
        else {},
    }
    if dataset is not None:
        for name, src in dataset.sources.items():
            f = findings[findings["source"] == name] if len(findings) else findings
            s = f["severity"].value_counts() if len(f) else pd.Series(dtype=int)
            counts = src.counts()
            out["sources"][name] = {
                "format": src.format,
                "geometry": src.geometry,
                "images": counts["images"],
                "objects": counts["objects"],
                "errors": int(s.get("error", 0)),
                "warnings": int(s.get("warning", 0)),
                "infos": int(s.get("info", 0)),
                "path": None if src.path is None else str(src.path),
            }
    return out
