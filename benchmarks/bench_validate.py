"""Time `validate --fast` and the full `validate` on generated FracAtlas-shaped archives.

    python benchmarks/bench_validate.py                      # 4,083 (fast + full) and 25x (fast)
    python benchmarks/bench_validate.py --scales 4083        # only 4,083
    python benchmarks/bench_validate.py --workdir /dev/shm/bv --keep

Archives are built with ``fixtures/build.py --scale N`` (``--no-images`` for the --fast
runs, JPEGs for the full run at 4,083). Every measurement runs in a fresh Python process
and prints: reading seconds, rule seconds, total seconds (as `validate` spends them, not
counting interpreter start-up) and that process's peak memory (ru_maxrss).

Targets (issue 3): --fast at 25x < 4 s, < 0.5 s at 4,083, peak < 300 MiB at 25x; the
full run bounded by image decoding, on both cores.
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


def child(path: str, fast: bool) -> None:
    import resource

    t0 = time.perf_counter()
    from fracatlas_annot.checks import load_all
    from fracatlas_annot.checks.registry import CheckContext, run_rules, select_rules
    from fracatlas_annot.formats import read
    from fracatlas_annot.validate import IMAGING_FACTS

    load_all()
    t_import = time.perf_counter()
    ds = read(path)
    t_read = time.perf_counter()
    ctx = CheckContext(dataset=ds, fast=fast, progress=False, pixel_facts=IMAGING_FACTS)
    findings = run_rules(ctx, select_rules(None, None))
    t_end = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "images": len(ds.images),
                "objects": {n: len(s.objects) for n, s in ds.sources.items()},
                "import_s": round(t_import - t0, 3),
                "read_s": round(t_read - t_import, 3),
                "rules_s": round(t_end - t_read, 3),
                "validate_s": round(t_end - t_import, 3),
                "peak_mib": round(peak, 1),
                "workers_peak_mib": round(kids, 1),
                "findings": len(findings),
                "by_code": {k: int(v) for k, v in findings["code"].value_counts().sort_index().items()},
            }
        )
    )


def build(out: Path, scale: int, images: bool) -> float:
    t = time.perf_counter()
    cmd = [sys.executable, str(ROOT / "fixtures/build.py"), "--scale", str(scale), "--out", str(out)]
    if not images:
        cmd.append("--no-images")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(path: Path, fast: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path)] + (["--fast"] if fast else [])
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "FRACATLAS_PROGRESS": "0"})
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = round(time.perf_counter() - t, 3)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="4083,102075", help="comma-separated image counts (default 4083 and 25x)")
    ap.add_argument("--full-at", type=int, default=4083, help="scale of the full run with images (0: skip)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest is reported")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.fast)
        return 0
    work = args.workdir or Path(
        tempfile.mkdtemp(prefix="bench_validate_", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    )
    work.mkdir(parents=True, exist_ok=True)
    try:
        for scale in [int(s) for s in args.scales.split(",") if s]:
            path = work / f"fa{scale}-noimg"
            if not path.exists():
                print(f"building {scale} images (no JPEGs): {build(path, scale, images=False):.1f} s", flush=True)
            runs = [measure(path, fast=True) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["validate_s"])
            print(
                f"validate --fast, {scale} images: read {best['read_s']} s + rules {best['rules_s']} s = "
                f"{best['validate_s']} s (imports {best['import_s']} s, whole process {best['process_s']} s); "
                f"peak {best['peak_mib']} MiB; {best['findings']} findings {best['by_code']}",
                flush=True,
            )
        if args.full_at:
            path = work / f"fa{args.full_at}-img"
            if not path.exists():
                print(
                    f"building {args.full_at} images with JPEGs: {build(path, args.full_at, images=True):.1f} s",
                    flush=True,
                )
            for fast in (True, False):
                r = measure(path, fast=fast)
                label = "validate --fast" if fast else "validate (full)"
                print(
                    f"{label}, {args.full_at} images with JPEGs: read {r['read_s']} s + rules {r['rules_s']} s = "
                    f"{r['validate_s']} s (whole process {r['process_s']} s); peak {r['peak_mib']} MiB (workers {r['workers_peak_mib']} MiB); "
                    f"{r['findings']} findings {r['by_code']}",
                    flush=True,
                )
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
