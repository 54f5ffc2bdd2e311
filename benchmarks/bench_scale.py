"""Issue 13 in one run: the numbers of the README's "Scaling" section.

    python benchmarks/bench_scale.py                     # x1, x5, x25 + the real archive (~5 min)
    python benchmarks/bench_scale.py --scales 1,5 --repeat 1 --no-dask   # quick
    python benchmarks/bench_scale.py --workdir /dev/shm/scale --keep     # reuse the built archives

1. ``validate --fast`` against the floor pass (``bench_floor.py``: one single-process,
   standard-library pass touching every input once) on generated archives of x1, x5, x25
   FracAtlas (4,083 images each; ``fixtures/build.py --no-images``): wall and CPU seconds,
   their ratio, peak RSS of the command's process (and of its largest worker process).
2. Full ``validate`` of the real archive (``--real``, default /work/data/fracatlas, 4,083
   JPEGs) against bare 2-process OpenCV decoding of its JPEGs (``multiprocessing.Pool(2)``),
   twice: ``cv2.imread(path, IMREAD_GRAYSCALE)``, the strict floor of the pixel rules (the
   scan decodes to gray), and ``cv2.imread(path)`` with OpenCV's default flags (colour,
   as a plain decoding script does). The three runs are interleaved ``--repeat`` times and
   the fastest wall time of each is printed.
   With ``--baseline DIR`` (a checkout of older code, e.g. ``git worktree add /tmp/pre13
   a0a2435``, the commit before this issue's work), a full ``validate`` with that code joins
   the interleaved runs: the issue's "keep that" (1.07x the decode floor when it was filed)
   is then a ratio between two codes measured in the same run.
3. The same full ``validate`` with ``--scheduler`` on a local Dask cluster of 2 worker
   processes (``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``), against
   the local processes of step 2: the overhead of the distributed backend. Cluster start-up
   is printed apart and not counted.
4. The per-image cost of each run (CPU seconds per image, all processes) and the
   projection of 10^6 and 10^7 images on N = 2, 16, 64, 256 workers, assuming the per-image
   work spreads evenly (it is per-file work in batches) and the driver keeps up.

Every run is a fresh Python process (``bench_floor.measure``); the fastest of ``--repeat``
runs (by CPU seconds) is printed. The machine may be shared: the load average is printed
before every step, and CPU seconds next to wall seconds. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_floor
from bench_floor import UNIT, _cpu, _peak_mib, compare, measure
from bench_validate import build

WORKERS = (2, 16, 64, 256)
PROJECT = (10**6, 10**7)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} CPUs"


def _jpegs(root: str) -> list[str]:
    out = []
    for folder, _, files in os.walk(root):
        out += [os.path.join(folder, n) for n in files if n.lower().endswith((".jpg", ".jpeg"))]
    return sorted(out)


def _decode_one(path: str) -> int:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    return 0 if img is None else int(img.shape[0])


def _decode_one_default(path: str) -> int:
    import cv2

    img = cv2.imread(path)  # OpenCV's default flags: 8-bit BGR
    return 0 if img is None else int(img.shape[0])


def child_decode(root: str, *, default_flags: bool = False) -> dict:
    """2-process OpenCV decoding of every JPEG under ``root`` (the pixel floor): grayscale, as
    the scan decodes, or with ``default_flags`` ``cv2.imread(path)`` (colour)."""
    import multiprocessing

    import cv2  # noqa: F401 - imported before the fork, like the validate workers

    paths = _jpegs(root)
    one = _decode_one_default if default_flags else _decode_one
    t, c = time.perf_counter(), _cpu()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        decoded = sum(1 for h in pool.imap_unordered(one, paths, chunksize=32) if h)
    return {"work_s": round(time.perf_counter() - t, 3), "cpu_s": round(_cpu() - c, 3), "images": len(paths),
            "decoded": decoded, "peak_rss_mib": round(_peak_mib(), 1)}  # fmt: skip


def child_baseline(root: str) -> dict:
    """Full ``validate`` with the code of ``$BENCH_BASELINE`` (its default workers; an older
    command may not know ``--workers``)."""
    base = Path(os.environ["BENCH_BASELINE"]).resolve()
    sys.path.insert(0, str(base))
    import fracatlas_annot

    if not Path(fracatlas_annot.__file__).resolve().is_relative_to(base):
        raise SystemExit(f"--baseline: fracatlas_annot came from {fracatlas_annot.__file__}, not {base}")
    return bench_floor.child_validate(root, "--no-progress")


def child_dask(root: str) -> dict:
    """Full ``validate`` with ``--scheduler`` on a LocalCluster of 2 worker processes."""
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    start_s = time.perf_counter() - t
    try:
        before = sum(client.run(time.process_time).values())  # CPU seconds of each worker process so far
        res = bench_floor.child_validate(root, "--scheduler", cluster.scheduler_address)
        during = sum(client.run(time.process_time).values()) - before
        c = _cpu()
    finally:
        client.close()
        cluster.close()
    # the workers are reaped by close(): their whole lives' CPU seconds (start-up included) count from here on
    res["workers_life_cpu_s"] = round(_cpu() - c, 3)
    res["workers_cpu_s"] = round(during, 3)
    res["cluster_start_s"] = round(start_s, 3)
    return res


def _median(runs: list[dict]) -> float:
    walls = sorted(r["work_s"] for r in runs)
    return walls[len(walls) // 2]


def _best(kind: str, root: Path, repeat: int, *extra: str) -> dict:
    runs = [measure(kind, root, *extra, script=__file__) for _ in range(repeat)]
    return min(runs, key=lambda r: r["cpu_s"])


def _per_image(cpu_s: float, images: int) -> float:
    return cpu_s / max(images, 1)


def _projection(label: str, cpu_per_image: float) -> None:
    cols = "  ".join(f"{n:>9} w" for n in WORKERS)
    print(f"  {label}: {cpu_per_image * 1e3:.2f} ms CPU per image", flush=True)
    print(f"    {'images':>8}  {cols}", flush=True)
    for n_img in PROJECT:
        cells = "  ".join(f"{_hms(n_img * cpu_per_image / w):>11}" for w in WORKERS)
        print(f"    {n_img:>8.0e}  {cells}", flush=True)


def _hms(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def fast_section(scales: list[int], work: Path, repeat: int) -> list[tuple[int, dict]]:
    out = []
    for scale in scales:
        n = UNIT * scale
        path = work / f"fa{n}-noimg"
        if not path.exists():
            print(f"building x{scale} ({n:,} images, no JPEGs): {build(path, n, images=False):.1f} s", flush=True)
        print(_load(), flush=True)
        out.append((scale, compare(f"x{scale} generated ({n:,} images)", path, repeat)))
    print("validate --fast peak RSS by scale (MiB):", ", ".join(f"x{s} {r['validate']['peak_rss_mib']:.0f}" for s, r in out), flush=True)
    return out


def full_section(real: Path, repeat: int, dask: bool, baseline: Path | None = None) -> None:
    print(_load(), flush=True)
    runs: dict[str, list[dict]] = {"decode": [], "decode-default": [], "full": []}
    if baseline is not None:
        os.environ["BENCH_BASELINE"] = str(baseline)
        runs["baseline"] = []
    for _ in range(repeat):  # interleaved, so that a change of load falls on all three alike
        for kind in runs:
            runs[kind].append(measure(kind, real, script=__file__))
    dec, dcol, full = (min(runs[k], key=lambda r: r["work_s"]) for k in ("decode", "decode-default", "full"))
    print(f"real archive {real}: {dec['images']:,} JPEGs; fastest of {repeat} interleaved runs each", flush=True)
    print(f"  2-process OpenCV decode, grayscale (as the scan): {dec['work_s']:.2f} s wall, {dec['cpu_s']:.2f} s CPU ({dec['decoded']:,} decoded)", flush=True)
    print(f"  2-process OpenCV decode, cv2.imread(path)      : {dcol['work_s']:.2f} s wall, {dcol['cpu_s']:.2f} s CPU ({dcol['decoded']:,} decoded)", flush=True)
    print(
        f"  validate (full)         : {full['work_s']:.2f} s wall, {full['cpu_s']:.2f} s CPU, peak RSS {full['peak_rss_mib']:.0f} MiB"
        f" (largest worker {full['children_peak_rss_mib']:.0f} MiB), exit {full['exit']}",
        flush=True,
    )
    print(f"  ratio validate/decode grayscale: wall x{full['work_s'] / dec['work_s']:.2f}, CPU x{full['cpu_s'] / dec['cpu_s']:.2f}", flush=True)
    print(f"  ratio validate/decode default  : wall x{full['work_s'] / dcol['work_s']:.2f}, CPU x{full['cpu_s'] / dcol['cpu_s']:.2f}", flush=True)
    if baseline is not None:
        old = min(runs["baseline"], key=lambda r: r["work_s"])
        print(f"  validate (full) with the code of {baseline}: {old['work_s']:.2f} s wall, {old['cpu_s']:.2f} s CPU, exit {old['exit']}", flush=True)
        print(
            f"    its ratios: decode grayscale wall x{old['work_s'] / dec['work_s']:.2f}, decode default wall x{old['work_s'] / dcol['work_s']:.2f};"
            f" this code against it: wall x{full['work_s'] / old['work_s']:.2f}, CPU x{full['cpu_s'] / old['cpu_s']:.2f}"
            f" (medians of {repeat}: {_median(runs['full'])} against {_median(runs['baseline'])} s wall)",
            flush=True,
        )
    print(_load(), flush=True)
    print("projection (CPU seconds per image x images / N workers):", flush=True)
    _projection("full validate, local processes", _per_image(full["cpu_s"], dec["images"]))
    if dask:
        print(_load(), flush=True)
        dk = _best("dask", real, repeat)
        cpu = dk["cpu_s"] + dk["workers_cpu_s"]
        print(
            f"  validate --scheduler (LocalCluster, 2 worker processes): {dk['work_s']:.2f} s wall, {cpu:.2f} s CPU"
            f" (driver {dk['cpu_s']:.2f} + workers {dk['workers_cpu_s']:.2f} during the command; {dk['workers_life_cpu_s']:.2f} over"
            f" their whole lives); cluster start {dk['cluster_start_s']:.2f} s (not counted), exit {dk['exit']}",
            flush=True,
        )
        print(f"  Dask overhead against local processes: wall x{dk['work_s'] / full['work_s']:.2f}, CPU x{cpu / full['cpu_s']:.2f}", flush=True)
        _projection("full validate, Dask workers", _per_image(cpu, dec["images"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ROOT"), help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="1,5,25", help="multiples of 4,083 images for the --fast runs (default 1,5,25; '' skips)")
    ap.add_argument("--scale", type=int, default=None, help="one multiple only (quick: --scale 5)")
    ap.add_argument("--real", type=Path, default=Path(os.environ.get("FRACATLAS_ARCHIVE", "/work/data/fracatlas")))
    ap.add_argument("--no-real", action="store_true", help="skip the full runs on the real archive")
    ap.add_argument("--no-dask", action="store_true", help="skip the LocalCluster run")
    ap.add_argument("--baseline", type=Path, default=None, help="a checkout of older code: its full validate joins the interleaved real-archive runs")
    ap.add_argument("--repeat", type=int, default=2, help="runs per timing; the fastest (by CPU) is printed")
    ap.add_argument("--workdir", type=Path, default=None, help="where the generated archives are built (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the generated archives")
    args = ap.parse_args()
    if args.child:
        kind, root = args.child
        res = {"decode": child_decode, "decode-default": partial(child_decode, default_flags=True), "dask": child_dask, "baseline": child_baseline}.get(kind)
        print(json.dumps(res(root) if res else bench_floor.child_validate(root, "--workers", "2")))
        return 0
    t0 = time.perf_counter()
    print(_load(), flush=True)
    scales = [args.scale] if args.scale else [int(s) for s in args.scales.split(",") if s]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_scale_", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if scales:
            fast_section(scales, work, args.repeat)
    finally:
        bench_floor._drop(work, keep=args.keep or args.workdir is not None)
    if not args.no_real:
        if args.real.is_dir():
            full_section(args.real, args.repeat, dask=not args.no_dask, baseline=args.baseline)
        else:
            print(f"no real archive at {args.real}: full runs skipped", flush=True)
    print(f"{_load()}; whole benchmark {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
