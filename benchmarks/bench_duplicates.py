"""Duplicate groups (``imaging.duplicates.duplicate_groups``, scan included) on the real
archive's 4,083 distinct JPEGs against 4,083 copies of a few of them (issue 13, point 2:
a set full of identical files must cost no more per image than distinct ones).

    python benchmarks/bench_duplicates.py [--copies-of 5] [--workdir /dev/shm/dups]

Prints wall and CPU seconds (children included), per-image CPU milliseconds and the groups found for both sets. The copy set
is written once under ``--workdir`` (real bytes, not links). Numbers only; nothing asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

ARCHIVE = Path(os.environ.get("FRACATLAS_ARCHIVE", "/work/data/fracatlas"))


def _cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _run(paths: list[Path]) -> tuple[float, float, object]:
    from fracatlas_annot.imaging.duplicates import duplicate_groups

    keys = [f"{i:05d}_{p.name}" for i, p in enumerate(paths)]
    t, c = time.perf_counter(), _cpu()
    g = duplicate_groups(keys, [str(p) for p in paths], [p.stat().st_size for p in paths], progress=False)
    return time.perf_counter() - t, _cpu() - c, g


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies-of", type=int, default=5)
    ap.add_argument("--workdir", default="/dev/shm/fracatlas_dups")
    a = ap.parse_args()
    real = sorted(ARCHIVE.glob("images/*/*.jpg"))
    n = len(real)
    work = Path(a.workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    copies = []
    # the copied images are those nearest the archive's median file size (decoding cost
    # follows the file size: a set of copies of large files would be slower for that alone)
    sizes = sorted((p.stat().st_size, p) for p in real)
    mid = len(sizes) // 2
    picked = [p for _, p in sizes[mid - a.copies_of // 2 : mid - a.copies_of // 2 + a.copies_of]]
    for i in range(n):
        dst = work / f"c{i:05d}.jpg"
        shutil.copyfile(picked[i % len(picked)], dst)
        copies.append(dst)
    try:
        for name, paths in (("distinct (real archive)", real), (f"copies of {a.copies_of} images", copies)):
            _run(paths[:50])  # warm imports
            w, c, g = _run(paths)
            kinds = g.groupby("kind")["group"].nunique().to_dict() if len(g) else {}
            print(
                f"{name:28s} {len(paths):5d} images  {w:6.2f} s wall  {c:6.2f} s CPU"
                f"  {1000 * c / len(paths):5.2f} ms CPU/image  groups {kinds}",
                flush=True,
            )
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
