"""Time ``formats.read()`` on generated FracAtlas-shaped archives (all sources).

    python benchmarks/bench_read.py                         # 4,083 (no images, images) and 25x (no images)
    python benchmarks/bench_read.py --scales 4083 --no-image-runs
    python benchmarks/bench_read.py --workdir /dev/shm/br --keep

Archives are built with ``fixtures/build.py --scale N`` (``--no-images``, and with JPEGs at
4,083 so that the header-only size reading is timed too). Each measurement runs in a fresh
Python process (after the imports) and prints: read() seconds (best of --repeat), the
per-part seconds (dataset.csv + file listing + headers, and each per-format reader on its
own), the peak RSS growth over the process's post-import baseline (ru_maxrss delta) and
the tracemalloc peak of one read() (a separate process: tracemalloc slows Python down).
CPU seconds (this process + its forked workers) are printed next to wall seconds: on a
shared, loaded machine they say more than the wall clock.

Targets (issue 2): 25x all sources < 3 s and < 300 MiB; 4,083 < 0.3 s.
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


def child(path: str, repeat: int, mode: str) -> None:
    import resource
    import tracemalloc

    from fracatlas_annot.formats import coco, fracatlas, read, vgg, voc, yolo

    root = Path(path)
    if mode == "tracemalloc":
        tracemalloc.start()
        read(root)
        _, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"tracemalloc_peak_mib": round(peak / 2**20, 1)}))
        return
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    best = best_cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), cpu()
        ds = read(root)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, cpu() - c)
        del ds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ds = read(root)
    parts: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        parts[name] = round(time.perf_counter() - t, 3)
        return out

    timed("archive_without_sources", _archive_only, root)
    timed("coco", coco.read, root / fracatlas.COCO_DIR / fracatlas.COCO_NAME, base=root)
    timed("voc", voc.read, root / fracatlas.VOC_DIR, base=root)
    keys = {k.rpartition(".")[0]: k for k in ds.images.index}
    timed("yolo", yolo.read, root / fracatlas.YOLO_DIR, image_keys=keys, base=root)
    for f in sorted((root / fracatlas.VGG_DIR).glob("*.json")):
        timed("vgg", vgg.read, f, base=root)
    print(json.dumps({
        "images": len(ds.images),
        "image_files": len(ds.files),
        "objects": {n: len(s.objects) for n, s in ds.sources.items()},
        "problems": len(ds.problems),
        "read_s": round(best, 3),
        "cpu_s": round(best_cpu, 3),
        "parts_s": parts,
        "rss_baseline_mib": round(base, 1),
        "rss_peak_delta_mib": round(peak - base, 1),
        "children_peak_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }))  # fmt: skip


def _archive_only(root: Path) -> None:
    """dataset.csv, split lists, image listing and headers: read() minus the annotation readers."""
    from fracatlas_annot.formats import fracatlas
    from fracatlas_annot.imaging.headers import read_headers

    fracatlas.read_csv(root / fracatlas.CSV_NAME)
    fracatlas.read_splits(root)
    files = fracatlas.list_images(root)
    if len(files):
        read_headers(files["path"].tolist())


def build(n: int, out: Path, images: bool) -> float:
    if (out / "dataset.csv").is_file():
        return 0.0
    cmd = [sys.executable, str(ROOT / "fixtures" / "build.py"), "--scale", str(n), "--out", str(out)]
    if not images:
        cmd.append("--no-images")
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(path: Path, repeat: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, __file__, "--child", str(path), "--repeat", str(repeat)]
    out = json.loads(subprocess.run(run, check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1])
    tm = subprocess.run(run + ["--mode", "tracemalloc"], check=True, capture_output=True, text=True, env=env)
    out.update(json.loads(tm.stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="4083,102075", help="comma-separated image counts (default: 4083,102075)")
    ap.add_argument("--workdir", type=Path, default=None, help="where archives go (default: a temp dir in /dev/shm or /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated archives (re-used on the next run)")
    ap.add_argument("--no-image-runs", action="store_true", help="skip the 4,083 run with JPEGs (slow to generate)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeat, args.mode)
        return 0
    shm = Path("/dev/shm")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_read_", dir=shm if shm.is_dir() else None))
    work.mkdir(parents=True, exist_ok=True)
    runs = [(int(n), False) for n in args.scales.split(",")]
    if not args.no_image_runs and 4083 in [n for n, _ in runs]:
        runs.insert(1, (4083, True))
    try:
        for n, images in runs:
            path = work / f"fa{n}{'-img' if images else ''}"
            built = build(n, path, images)
            res = measure(path, args.repeat)
            label = f"{n:,} images{' (JPEGs, header sizes)' if images else ' (no JPEGs)'}"
            print(f"{label}: read {res['read_s']:.3f} s wall ({res['cpu_s']:.3f} s CPU, all processes), RSS peak +{res['rss_peak_delta_mib']:.0f} MiB "
                  f"(baseline {res['rss_baseline_mib']:.0f} MiB, workers {res['children_peak_mib']:.0f} MiB), "
                  f"tracemalloc peak {res['tracemalloc_peak_mib']:.0f} MiB"
                  + (f"  [built in {built:.0f} s]" if built else ""))  # fmt: skip
            print(f"  parts (s): {json.dumps(res['parts_s'])}")
            print(f"  objects: {json.dumps(res['objects'])}, problems: {res['problems']}")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
