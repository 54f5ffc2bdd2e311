"""The floor of ``validate --fast``: one single-process, standard-library pass that touches
every input once, against ``fracatlas-annot validate --fast`` on the same archive (issue 13,
points 3 and 4).

    python benchmarks/bench_floor.py                          # real archive, x1, x5, x25
    python benchmarks/bench_floor.py --scales 1,25 --no-real
    python benchmarks/bench_floor.py --workdir /dev/shm/floor --keep   # reuse the archives

The floor pass walks the archive once and, by extension: ``json.load`` of every JSON (the
COCO and VGG files), ElementTree over every XML (VOC) visiting each element, every line of
every ``.txt`` (YOLO) split, ``csv.reader`` over every CSV (``dataset.csv``, the split
lists), and the first 8 KiB of every image file. Nothing is kept between files.

Generated archives are ``fixtures/build.py --scale N --no-images`` with N = 4,083 x scale
(x25 = 102,075 images; no JPEG files, so no image headers there; writing 10^5 synthetic
JPEGs takes hours on this machine). The real FracAtlas archive (``FRACATLAS_ARCHIVE``,
default /work/data/fracatlas; 4,083 JPEGs) is measured too, with its image headers.

Every measurement runs in its own Python process: wall and CPU seconds (user + system,
children included) of the work inside the process (imports excluded), wall seconds of that
process's whole life, and its peak RSS (ru_maxrss); the fastest of ``--repeat`` runs by CPU; the
floor pass is run a second time under tracemalloc for its peak of Python allocations; for
``validate --fast`` the RSS after imports is printed too (numpy, pandas, shapely... are
most of it), and the peak RSS of its largest worker process (the forked readers).
``bench_scale.py`` imports :func:`compare` and :func:`measure` for its own report. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_validate import build

UNIT = 4083
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


def _rss_now_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (user + system)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_pass(root: str) -> dict[str, int]:
    """Touch every input of the archive once with the standard library only."""
    import csv
    import xml.etree.ElementTree as ET

    counts = {"json": 0, "xml": 0, "xml_elements": 0, "txt": 0, "lines": 0, "csv": 0, "rows": 0, "images": 0, "bytes": 0}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            ext = os.path.splitext(name)[1].lower()
            if ext == ".json":
                with open(path, "rb") as f:
                    doc = json.load(f)
                counts["json"] += 1
                del doc
            elif ext == ".xml":
                tree = ET.parse(path)
                counts["xml"] += 1
                counts["xml_elements"] += sum(1 for _ in tree.iter())
                del tree
            elif ext == ".txt":
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        line.split()
                        counts["lines"] += 1
                counts["txt"] += 1
            elif ext == ".csv":
                with open(path, newline="", encoding="utf-8", errors="replace") as f:
                    counts["rows"] += sum(1 for _ in csv.reader(f))
                counts["csv"] += 1
            elif ext in IMAGE_EXT:
                with open(path, "rb") as f:
                    counts["bytes"] += len(f.read(8192))
                counts["images"] += 1
    return counts


def child_floor(root: str, trace: bool) -> dict:
    if trace:
        import tracemalloc

        tracemalloc.start()
    t, c = time.perf_counter(), _cpu()
    counts = floor_pass(root)
    work = time.perf_counter() - t
    out = {"work_s": round(work, 3), "cpu_s": round(_cpu() - c, 3), "peak_rss_mib": round(_peak_mib(), 1), "counts": counts}
    if trace:
        out["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return out


def _children_peak_mib() -> float:
    """Peak RSS of the largest waited-for child process (the forked readers, decoders)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_validate(root: str, *options: str) -> dict:
    """``fracatlas-annot validate --format json --no-progress ROOT`` plus ``options``
    (default ``--fast``), its output discarded; times exclude the imports."""
    t0 = time.perf_counter()
    from fracatlas_annot.cli import main

    t1, c1 = time.perf_counter(), _cpu()
    rss_imports = _rss_now_mib()
    with open(os.devnull, "w") as sink:
        saved = sys.stdout
        sys.stdout = sink
        try:
            code = main(["validate", *(options or ("--fast",)), "--format", "json", "--no-progress", root])
        finally:
            sys.stdout = saved
    t2 = time.perf_counter()
    return {
        "import_s": round(t1 - t0, 3),
        "work_s": round(t2 - t1, 3),
        "cpu_s": round(_cpu() - c1, 3),
        "exit": code,
        "rss_after_imports_mib": round(rss_imports, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
        "children_peak_rss_mib": round(_children_peak_mib(), 1),
    }


def measure(kind: str, root: Path, *extra: str, script: str | None = None) -> dict:
    """Run ``script --child KIND ROOT EXTRA...`` (default: this file) in a fresh Python
    process; its last stdout line is the JSON result, plus ``process_s``."""
    cmd = [sys.executable, script or __file__, "--child", kind, str(root), *extra]
    env = {**os.environ, "FRACATLAS_PROGRESS": "0", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = round(time.perf_counter() - t, 3)
    return res


def compare(label: str, root: Path, repeat: int) -> dict:
    """Print the floor pass against ``validate --fast`` on ``root``; returns both results
    (``floor``, ``traced``, ``validate``)."""
    floors = [measure("floor", root) for _ in range(repeat)]
    fl = min(floors, key=lambda r: r["cpu_s"])
    traced = measure("floor", root, "--trace")
    vals = [measure("validate", root) for _ in range(repeat)]
    va = min(vals, key=lambda r: r["cpu_s"])
    c = fl["counts"]
    print(
        f"{label}: {c['json']} JSON, {c['xml']} XML ({c['xml_elements']:,} elements), {c['txt']} TXT ({c['lines']:,} lines),"
        f" {c['csv']} CSV ({c['rows']:,} rows), {c['images']:,} images ({c['bytes'] / 2**20:.1f} MiB read)",
        flush=True,
    )
    print(
        f"  floor pass      : {fl['work_s']:.2f} s wall, {fl['cpu_s']:.2f} s CPU (process {fl['process_s']:.2f} s), peak RSS {fl['peak_rss_mib']:.0f} MiB,"
        f" tracemalloc peak {traced['tracemalloc_peak_mib']:.1f} MiB",
        flush=True,
    )
    print(
        f"  validate --fast : {va['work_s']:.2f} s wall, {va['cpu_s']:.2f} s CPU (process {va['process_s']:.2f} s, imports {va['import_s']:.2f} s),"
        f" peak RSS {va['peak_rss_mib']:.0f} MiB (after imports {va['rss_after_imports_mib']:.0f} MiB; largest worker process"
        f" {va['children_peak_rss_mib']:.0f} MiB), exit {va['exit']}",
        flush=True,
    )
    print(
        f"  ratio validate/floor: time x{va['work_s'] / max(fl['work_s'], 1e-9):.2f}, CPU x{va['cpu_s'] / max(fl['cpu_s'], 1e-9):.2f} (process x{va['process_s'] / max(fl['process_s'], 1e-9):.2f}),"
        f" peak RSS x{va['peak_rss_mib'] / max(fl['peak_rss_mib'], 1e-9):.2f}",
        flush=True,
    )
    return {"floor": fl, "traced": traced, "validate": va}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ROOT"), help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="1,5,25", help="multiples of 4,083 images (default 1,5,25)")
    ap.add_argument("--no-real", action="store_true", help="skip the real archive")
    ap.add_argument("--real", type=Path, default=Path(os.environ.get("FRACATLAS_ARCHIVE", "/work/data/fracatlas")))
    ap.add_argument("--repeat", type=int, default=2, help="runs per timing; the fastest is printed")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if args.child:
        kind, root = args.child
        res = child_floor(root, args.trace) if kind == "floor" else child_validate(root)
        print(json.dumps(res))
        return 0
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if not args.no_real and args.real.is_dir():
        compare(f"real archive {args.real}", args.real, args.repeat)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_floor_", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for scale in [int(s) for s in args.scales.split(",") if s]:
            n = UNIT * scale
            path = work / f"fa{n}-noimg"
            if not path.exists():
                print(f"building x{scale} ({n:,} images, no JPEGs): {build(path, n, images=False):.1f} s", flush=True)
            compare(f"x{scale} generated ({n:,} images)", path, args.repeat)
    finally:
        _drop(work, keep=args.keep or args.workdir is not None)
    return 0


def _drop(work: Path, *, keep: bool) -> None:
    """Remove the archives built in a temporary folder (not a --workdir, not with --keep)."""
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
