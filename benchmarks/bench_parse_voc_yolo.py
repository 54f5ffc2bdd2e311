"""Time the VOC and YOLO readers on generated makesense-style folders.

Writes N VOC ``.xml`` and N YOLO ``.txt`` files (18 % positive, 1-3 boxes each, negatives
as object-less XML / empty txt, like the FracAtlas archive) to a temp dir (``/dev/shm``
when it exists), then times ``voc.read`` and ``yolo.read`` on each folder and prints
seconds and peak memory (tracemalloc peak of the read, and the process ru_maxrss).

    python benchmarks/bench_parse_voc_yolo.py            # N = 4083 and 102075
    python benchmarks/bench_parse_voc_yolo.py --n 4083   # one size
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

VOC_HEAD = (
    "<annotation>\n\t<folder>my-project-name</folder>\n\t<filename>{name}</filename>\n"
    "\t<path>/my-project-name/{name}</path>\n\t<source>\n\t\t<database>Unspecified</database>\n"
    "\t</source>\n\t<size>\n\t\t<width>{w}</width>\n\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>"
)
VOC_OBJECT = (
    "\n\t<object>\n\t\t<name>fractured</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
    "\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymin>{y0}</ymin>\n"
    "\t\t\t<xmax>{x1}</xmax>\n\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n\t</object>"
)


def generate(folder: Path, n: int, *, seed: int = 0) -> tuple[Path, Path]:
    """Write n makesense-style VOC and YOLO files; return (voc_dir, yolo_dir)."""
    rng = np.random.default_rng(seed)
    voc_dir, yolo_dir = folder / "voc", folder / "yolo"
    voc_dir.mkdir(parents=True)
    yolo_dir.mkdir(parents=True)
    (yolo_dir / "classes.txt").write_text("fractured\n")
    positive = rng.random(n) < 0.18
    for i in range(n):
        stem = f"IMG{i:07d}"
        w, h = (373, 454) if i % 2 else (454, 373)
        parts = [VOC_HEAD.format(name=stem + ".jpg", w=w, h=h)]
        lines = []
        for _ in range(int(rng.integers(1, 4)) if positive[i] else 0):
            x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
            x1, y1 = x0 + int(rng.integers(5, 40)), y0 + int(rng.integers(5, 40))
            parts.append(VOC_OBJECT.format(x0=x0, y0=y0, x1=x1, y1=y1))
            lines.append(f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
        parts.append("\n</annotation>")
        (voc_dir / f"{stem}.xml").write_bytes("".join(parts).encode())
        (yolo_dir / f"{stem}.txt").write_bytes("\n".join(lines).encode())
    return voc_dir, yolo_dir


def timed(label: str, fn) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    source, problems = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:<22} {dt:7.3f} s  objects={len(source.objects):>7} images={len(source.images):>7} "
        f"problems={len(problems)}  tracemalloc peak={peak / 2**20:7.1f} MiB  ru_maxrss={rss:7.1f} MiB"
    )


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def untraced(label: str, fn) -> None:
    t0, c0 = time.perf_counter(), cpu_seconds()
    source, problems = fn()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    load = os.getloadavg()[0]
    print(f"{label:<22} {wall:7.3f} s wall  {cpu:7.3f} s CPU (this process + workers)  load avg {load:.1f}")


def main() -> None:
    from fracatlas_annot.formats import voc, yolo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="number of files (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    sizes = args.n or [4083, 102075]
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench-voc-yolo-", dir=base))
        try:
            t0 = time.perf_counter()
            voc_dir, yolo_dir = generate(tmp, n)
            print(f"N={n}: generated in {time.perf_counter() - t0:.1f} s under {tmp}")
            untraced(f"voc.read  N={n}", lambda: voc.read(voc_dir))
            untraced(f"yolo.read N={n}", lambda: yolo.read(yolo_dir))
            timed(f"voc.read  N={n}", lambda: voc.read(voc_dir))
            timed(f"yolo.read N={n}", lambda: yolo.read(yolo_dir))
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
