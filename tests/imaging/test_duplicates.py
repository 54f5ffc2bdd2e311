"""Duplicate groups from plain arrays (keys, paths, sizes) on real JPEG bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fracatlas_annot.imaging import decode
from fracatlas_annot.imaging.duplicates import byte_hashes, duplicate_groups

from .samples import duplicate_files, write


def _arrays(tmp: Path) -> tuple[list[str], list[str | None], list[int | None]]:
    files = duplicate_files()
    keys = list(files)
    paths = [write(tmp, k, data) for k, data in files.items()]
    sizes = [len(data) for data in files.values()]
    return keys, paths, sizes


def _groups(g: pd.DataFrame) -> dict[str, list[tuple[str, ...]]]:
    return {
        kind: sorted(tuple(sorted(x["image"])) for _, x in g[g.kind == kind].groupby("group"))
        for kind in ("byte", "pixel", "near")
    }


def test_duplicate_groups_kinds(tmp_path: Path) -> None:
    keys, paths, sizes = _arrays(tmp_path)
    g = duplicate_groups(keys, paths, sizes, progress=False)
    assert list(g.columns) == ["image", "group", "kind"] and str(g["group"].dtype) == "int64"
    assert _groups(g) == {
        "byte": [("IMG0000001.jpg", "IMG0000002.jpg")],
        "pixel": [("IMG0000003.jpg", "IMG0000004.jpg")],
        "near": [("IMG0000005.jpg", "IMG0000006.jpg")],
    }
    # without pixels, byte groups only (no decoding)
    fast = duplicate_groups(keys, paths, sizes, pixels=False, progress=False)
    assert set(fast["kind"]) == {"byte"}


def test_a_given_scan_is_used_instead_of_decoding(tmp_path: Path) -> None:
    keys, paths, sizes = _arrays(tmp_path)
    scan = decode.scan(paths, keys=keys, progress=False)
    assert duplicate_groups(keys, paths, sizes, scan_result=scan, progress=False).equals(
        duplicate_groups(keys, paths, sizes, progress=False)
    )
    # a scan that saw only images 5 and 6 finds only their group among the pixel kinds
    part = duplicate_groups(keys, paths, sizes, scan_result=scan.loc[["IMG0000005.jpg", "IMG0000006.jpg"]], progress=False)
    assert _groups(part)["pixel"] == [] and _groups(part)["near"] == [("IMG0000005.jpg", "IMG0000006.jpg")]


def test_entries_without_file_or_size_are_left_out(tmp_path: Path) -> None:
    keys, paths, sizes = _arrays(tmp_path)
    paths[1] = None  # IMG0000002 has no file: the byte pair is gone
    sizes[0] = pd.NA
    bh = byte_hashes(keys, paths, sizes)
    assert "IMG0000001.jpg" not in bh.index and "IMG0000002.jpg" not in bh.index
    g = duplicate_groups(keys, paths, sizes, progress=False)
    assert _groups(g)["byte"] == [] and "IMG0000002.jpg" not in set(g["image"])
    empty = duplicate_groups([], [], [], progress=False)
    assert len(empty) == 0 and list(empty.columns) == ["image", "group", "kind"]


def test_only_files_of_a_shared_size_are_read(tmp_path: Path) -> None:
    a = write(tmp_path, "a.bin", b"same")
    b = write(tmp_path, "b.bin", b"same")
    c = write(tmp_path, "c.bin", b"other size")
    # a missing file of a unique size is never opened
    bh = byte_hashes(["a", "b", "c", "d"], [a, b, c, str(tmp_path / "gone")], [4, 4, 10, 99])
    assert list(bh.index) == ["a", "b"] and bh["a"] == bh["b"]
