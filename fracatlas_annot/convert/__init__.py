"""Convert a dataset (or one of its sources) to a training layout or another format.

>>> from fracatlas_annot.convert import convert
>>> manifest = convert("fixtures/fracatlas-mini", to="yolo-seg", source="coco", out="out/seg")  # doctest: +SKIP

Targets (every writer in :data:`fracatlas_annot.formats.registry.FORMATS`, see
:func:`~fracatlas_annot.formats.registry.targets`): ``coco``, ``voc``, ``yolo-detect``,
``yolo-seg`` (Ultralytics datasets), ``yolo-cls`` (Ultralytics classification folders),
``makesense`` (what makesense.ai imports back). This package holds what is about
converting: the plan (source, class map, splits), the shape policy, the manifest and the
atomic write; each format's writer lives beside its reader in ``formats``. Every write is atomic and leaves ``manifest.json`` (inputs, options, class map,
counts per split and class, every change with the object it concerns, every ``decisions``
entry where sources disagreed and :mod:`.picks`' rule chose) and ``splits.csv``.
A lossy step raises :class:`~fracatlas_annot.errors.LossyConversionError` naming each case
unless ``allow_lossy`` is given.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._version import __version__
from ..errors import UsageError
from ..model import Dataset, Source
from ..runtime.atomic import atomic_directory, check_target
from ..runtime.suggest import did_you_mean
from ..splits import parse_ratios, split_counts, write_splits_csv
from .caches import stale_caches
from .manifest import CHANGE_KINDS, write_manifest
from ..formats.registry import targets, writer_of
from .plan import Plan, is_train_target, make_plan

__all__ = ["convert", "MULTIPART", "CHANGE_KINDS", "Plan", "make_plan"]

MULTIPART: tuple[str, ...] = ("bridge", "largest", "split")


def convert(
    dataset_or_path: Dataset | Source | str | Path,
    *,
    to: str,
    out: str | Path,
    source: str | Source | None = None,
    split: str | None = None,
    ratios: Sequence[float] | str = (0.8, 0.1, 0.1),
    seed: int = 0,
    multipart: str = "bridge",
    allow_lossy: bool = False,
    overwrite: bool = False,
    duplicates: bool = True,
    progress: bool = True,
    names: Sequence[str] | None = None,
    images: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``dataset_or_path`` as ``to`` into the folder ``out``; return the manifest.

    Args:
        dataset_or_path: a Dataset, a Source (e.g. an agreement consensus), or a path to read.
        to: target format (one of :func:`~fracatlas_annot.formats.registry.targets`).
        out: output folder; must be absent or empty unless ``overwrite``.
        source: the geometry source: a name (``"coco"``, ``"voc"`` ...) or a Source object;
            default: the only source, else a polygon source (``coco`` first).
        split: ``official`` (default for yolo-*), ``stratified`` or ``none`` (default for
            coco / voc / makesense, which write every image into one set).
        ratios: train, val, test proportions for ``stratified``.
        seed: seed of the split draw.
        multipart: objects drawn as several polygons in a segment set: ``bridge`` (one
            polygon with zero-width bridges, as Ultralytics' converter), ``largest`` (lossy),
            ``split`` (one instance per part).
        allow_lossy: write even when a step loses information (each case is recorded).
        overwrite: replace a non-empty ``out``.
        duplicates: keep duplicate-image groups in one split (needs the image files).
        progress: show progress bars on stderr.
        names: YOLO class names in index order, when the input has no (or an empty) class
            list; only with a path (a Dataset was read already).
        images: the folder of the input's image files, when the export does not hold them
            (default: beside it or its ``images/`` folder); only with a path.

    Raises:
        UsageError: bad option, unknown source. OutputExistsError: ``out`` not empty.
        LossyConversionError: a lossy step without ``allow_lossy`` (nothing is written).
    """
    known = targets()
    if to not in known:
        raise UsageError(f"unknown target {to!r}; use one of {', '.join(known)}{did_you_mean(str(to), list(known))}")
    if multipart not in MULTIPART:
        raise UsageError(f"unknown --multipart {multipart!r}; use one of {', '.join(MULTIPART)}")
    if split is not None and split not in ("official", "stratified", "none"):
        raise UsageError(f"unknown split {split!r}; use official, stratified or none")
    ratios_t = parse_ratios(ratios)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise UsageError(f"seed must be an integer from 0 to 2^32-1, got {seed!r}")
    protected = [Path(images)] if images is not None else []
    if names is not None or images is not None:
        if isinstance(dataset_or_path, (Dataset, Source)):
            raise UsageError("names and images apply when reading a path; this input was read already")
        from ..formats import read

        dataset_or_path = read(Path(dataset_or_path), names=list(names) if names is not None else None, images=images)
    out = Path(out).absolute()
    if not isinstance(dataset_or_path, (Dataset, Source)):
        protected.append(Path(dataset_or_path))
    elif isinstance(dataset_or_path, Dataset) and dataset_or_path.root is not None:
        protected.append(Path(dataset_or_path.root))
    check_target(out, overwrite=overwrite, protected=protected)
    caches = stale_caches(out) if overwrite else []
    started = _dt.datetime.now(_dt.timezone.utc)
    options = {"multipart": multipart, "allow_lossy": allow_lossy, "ratios": list(ratios_t), "overwrite": overwrite}
    plan = make_plan(
        dataset_or_path,
        target=to,
        source=source,
        split=split,
        ratios=ratios_t,
        seed=seed,
        duplicates=duplicates,
        progress=progress,
        options=options,
    )
    with atomic_directory(out, overwrite=overwrite) as tmp:
        result = writer_of(to).write(plan, tmp, out)
        manifest = _manifest(plan, result, out=out, target=to, started=started, caches=caches)
        if plan.options["split"] != "none" or is_train_target(to):
            write_splits_csv(plan.splits, tmp / "splits.csv")
            manifest["outputs"].append("splits.csv")
        manifest["outputs"].append("manifest.json")
        write_manifest(manifest, tmp / "manifest.json")
    return manifest


def _manifest(plan: Plan, result: dict[str, Any], *, out: Path, target: str, started: Any, caches: list[str]) -> dict[str, Any]:
    ds = plan.dataset
    src = plan.source
    rec = plan.recorder
    frame = rec.frame()
    return {
        "tool": f"fracatlas-annot {__version__}",
        "created": started.isoformat(timespec="seconds"),
        "target": target,
        "output": str(out),
        "inputs": {
            "path": str(ds.root) if ds.root is not None else None,
            "format": ds.format,
            "source": src.name,
            "source_format": src.format,
            "source_path": src.path,
            "geometry": src.geometry,
        },
        "options": dict(plan.options),
        "class_map": plan.class_map,
        "counts": result.get("counts", {}),
        "images": result.get("images", {}),
        "splits": {"method": plan.options.get("split"), **split_counts(plan.splits)},
        "lossy": bool(frame["lossy"].any()) if len(frame) else False,
        "decisions": list(plan.decisions),
        "change_counts": rec.counts(),
        "changes": rec.records(),
        "notes": plan.notes + result.get("notes", []),
        "removed_caches": caches,
        "outputs": list(result.get("files", [])),
    }
