"""Image names and label names that are not safe to use: reported, and what they name dropped.

Every image key becomes part of output paths and every label name is written into files
(VOC XML, YAML, JSON) and printed. :func:`drop_unsafe_names` runs once on every Dataset that
:func:`fracatlas_annot.formats.read` returns:

* an image key that is not a plain file name (see
  :func:`~fracatlas_annot.runtime.paths.unsafe_name_reason`: ``../x.jpg``, ``/tmp/x.jpg``,
  ``a\\b.jpg``, NUL or control characters) is an ``unsafe-name`` problem, and the key is removed
  from every table: its objects are not read (one problem per object, so that a conversion
  counts each as lost), its image row, image files, split-list rows and source image rows go;
* a label name with a control character is an ``unsafe-name`` problem too; its objects are not
  read and the name leaves the label lists;
* an image file that is a symlink resolving outside the input (``Dataset.root``) is an
  ``unsafe-name`` problem: the file is not used (never linked or copied into an output), the
  image stays, without a file.

Messages and ``file`` show names with control characters escaped (``\\x1b``), never raw.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..model import Dataset, Problem
from ..runtime.paths import escape_controls, unsafe_name_reason

__all__ = ["drop_unsafe_names", "unsafe_label_reason"]


def unsafe_label_reason(label: object) -> str | None:
    """Why a label name cannot be written or printed as it is (a control character), or None."""
    if isinstance(label, str) and escape_controls(label) != label:
        return "has a control character" if "\x00" not in label else "has a NUL character"
    return None


def _reasons(columns: list[object]) -> dict[object, str]:
    """Unsafe keys among the values of ``columns`` (in order of first appearance), one column
    at a time: no list of every key of every table at once (10^5 images, a dozen tables)."""
    out: dict[object, str] = {}
    seen: set[object] = set()
    for col in columns:
        for k in pd.unique(pd.Series(np.asarray(col, dtype=object), dtype=object).dropna()):
            if k in seen:
                continue
            seen.add(k)
            r = unsafe_name_reason(k)
            if r is not None:
                out[k] = r
    return out


def _int_or_none(v: object) -> int | None:
    return None if v is None or pd.isna(v) else int(v)  # type: ignore[arg-type]


def _drop_outside_links(ds: Dataset) -> None:
    """Image files that are symlinks resolving outside ``ds.root``: reported, not used."""
    if ds.root is None or not len(ds.files):
        return
    root = Path(ds.root)
    top = os.path.realpath(root if root.is_dir() else root.parent)
    paths = ds.files["path"].tolist()
    outside = [i for i, p in enumerate(paths) if isinstance(p, str) and os.path.islink(p)
               and os.path.commonpath([top, os.path.realpath(p)]) != top]  # fmt: skip
    if not outside:
        return
    problems = []
    for i in outside:
        key, path = ds.files["image"].iat[i], paths[i]
        target = escape_controls(os.path.realpath(path))
        problems.append(Problem("unsafe-name", f"image file is a symlink to {target}, outside the input; file not used "
                                "(never linked or copied into an output)", file=escape_controls(path),
                                image=key if unsafe_name_reason(key) is None else None))  # fmt: skip
        if key in ds.images.index and ds.images.at[key, "path"] == path:
            ds.images.at[key, "path"] = None
            ds.images.at[key, "header_error"] = "the image file is a symlink out of the input (not used)"
    ds.files = ds.files.drop(index=ds.files.index[outside]).reset_index(drop=True)
    ds.add_problems(problems)


def drop_unsafe_names(ds: Dataset) -> Dataset:
    """Report and drop unsafe image keys and label names in ``ds`` (in place), and image files
    that link out of the input; returns ``ds``."""
    _drop_outside_links(ds)
    keys: list[object] = [ds.images.index, ds.files["image"]] if len(ds.files) else [ds.images.index]
    if len(ds.split_lists):
        keys.append(ds.split_lists["image"])
    for s in ds.sources.values():
        keys += [s.images.index, s.objects["image"]]
    bad = _reasons(keys)
    bad_labels = {lab: r for s in ds.sources.values() for lab in list(s.labels) + list(s.objects["label"].dropna().unique())
                  if (r := unsafe_label_reason(lab)) is not None}  # fmt: skip
    bad_labels.update({lab: r for lab in ds.labels if (r := unsafe_label_reason(lab)) is not None})
    if not bad and not bad_labels:
        return ds
    problems: list[Problem] = []

    def name_problem(key: object, *, file: object, line: object = None, loc: object = None,
                     source: str | None = None, what: str) -> Problem:  # fmt: skip
        shown = escape_controls(repr(key))
        return Problem("unsafe-name", f"image name {shown} {bad[key]}: not a plain file name; {what}",
                       file=escape_controls(file) if isinstance(file, str) else None, line=_int_or_none(line),
                       loc=loc if isinstance(loc, str) else None, source=source)  # fmt: skip

    for s in ds.sources.values():
        obj = s.objects
        drop = obj["image"].isin(list(bad)).to_numpy() if bad else np.zeros(len(obj), dtype=bool)
        for r in np.flatnonzero(drop):
            row = obj.iloc[r]
            problems.append(name_problem(row["image"], file=row["file"], line=row["line"], loc=row["loc"],
                                         source=s.name, what="object not read"))  # fmt: skip
        lab_drop = obj["label"].isin(list(bad_labels)).to_numpy() & ~drop if bad_labels else np.zeros(len(obj), dtype=bool)
        for r in np.flatnonzero(lab_drop):
            row = obj.iloc[r]
            problems.append(Problem(
                "unsafe-name", f"label name {escape_controls(repr(row['label']))} {bad_labels[row['label']]}; object not read",
                file=escape_controls(row["file"]) if isinstance(row["file"], str) else None, line=_int_or_none(row["line"]),
                loc=row["loc"] if isinstance(row["loc"], str) else None, source=s.name,
                image=row["image"] if row["image"] not in bad else None))  # fmt: skip
        if drop.any() or lab_drop.any():
            s.objects = obj[~(drop | lab_drop)].reset_index(drop=True)
        listed = [k for k in s.images.index if k in bad]
        with_objects = set(obj["image"][drop])
        for k in listed:
            if k not in with_objects:
                row = s.images.loc[k]
                row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
                problems.append(name_problem(k, file=s.derive_files([row.get("file")], [k])[0], loc=row.get("loc"), source=s.name,
                                             what="image not read"))  # fmt: skip
        if listed:
            s.images = s.images[~s.images.index.isin(listed)]
        if bad_labels:
            s.labels = [lab for lab in s.labels if lab not in bad_labels]
            s.label_ids = {i: lab for i, lab in s.label_ids.items() if lab not in bad_labels}
    if bad_labels:
        ds.labels = [lab for lab in ds.labels if lab not in bad_labels]
    reported = {k for p in problems for k in bad if p.message.startswith(f"image name {escape_controls(repr(k))} ")}
    if bad:
        in_images = ds.images.index.isin(list(bad))
        for k in ds.images.index[in_images]:
            if k in reported:
                continue
            line = ds.images.at[k, "csv_line"] if "csv_line" in ds.images.columns else None
            path = ds.images.at[k, "path"]
            where = "dataset.csv" if _int_or_none(line) is not None else (path if isinstance(path, str) else None)
            problems.append(name_problem(k, file=where, line=line, what="image not read"))
            reported.add(k)
        ds.images = ds.images[~in_images]
        if len(ds.files):
            in_files = ds.files["image"].isin(list(bad)).to_numpy()
            for k, path in zip(ds.files["image"][in_files], ds.files["path"][in_files]):
                if k not in reported:
                    problems.append(name_problem(k, file=path, what="image file not used"))
                    reported.add(k)
            ds.files = ds.files[~in_files].reset_index(drop=True)
        if len(ds.split_lists):
            in_lists = ds.split_lists["image"].isin(list(bad)).to_numpy()
            for k, f, ln in zip(ds.split_lists["image"][in_lists], ds.split_lists["file"][in_lists],
                                ds.split_lists["line"][in_lists]):  # fmt: skip
                problems.append(name_problem(k, file=f, line=ln, what="split-list row not used"))
            ds.split_lists = ds.split_lists[~in_lists].reset_index(drop=True)
    ds.add_problems(problems)
    return ds
