"""Time `report` on generated FracAtlas-shaped archives and print the HTML size.

    python benchmarks/bench_report.py                   # 4,083 images (JPEGs written) and 25x (no JPEGs)
    python benchmarks/bench_report.py --scales 4083     # one scale
    python benchmarks/bench_report.py --fast            # validate --fast inside the report
    python benchmarks/bench_report.py --images-25x      # 25x with JPEGs too (about 2 GB of disk)

Archives are built once under --work (default: /dev/shm when it exists, else the temp
folder) with `fixtures/build.py`'s generator and reused on the next run. Printed per scale:
seconds to read, seconds for the whole report (validate + duplicates + plots + thumbnails
+ HTML), findings, thumbnails, HTML and JSON sizes, peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")


def build(out: Path, n: int, images: bool) -> Path:
    from fixtures.generate import build_archive

    done = out / ".complete"
    if not done.exists():
        t = time.perf_counter()
        build_archive(out, n, images=images)
        done.write_text("ok")
        print(f"  built {n} images ({'with' if images else 'no'} JPEGs) in {time.perf_counter() - t:.1f} s", flush=True)
    return out


def run(path: Path, out: Path, *, fast: bool, ignore: list[str] | None) -> None:
    from fracatlas_annot.formats import read
    from fracatlas_annot.report import build_report

    t0 = time.perf_counter()
    ds = read(path)
    t1 = time.perf_counter()
    data = build_report(
        ds, out_html=out / "report.html", out_json=out / "report.json", fast=fast, ignore=ignore, progress=False
    )
    t2 = time.perf_counter()
    html_size = (out / "report.html").stat().st_size
    json_size = (out / "report.json").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  images={len(ds.images)} read={t1 - t0:.2f}s report={t2 - t1:.2f}s total={t2 - t0:.2f}s "
        f"findings={len(data['findings'])} thumbnails={data['thumbnails']['rendered']} "
        f"html={html_size / 2**20:.2f} MiB json={json_size / 2**20:.2f} MiB peak_rss={peak:.0f} MiB",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="4083,102075", help="comma-separated image counts (default 4083 and 25x)")
    ap.add_argument("--work", default="/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
    ap.add_argument("--fast", action="store_true", help="run validate --fast inside the report")
    ap.add_argument("--images-25x", action="store_true", help="write JPEGs at 25x too")
    ap.add_argument("--ignore", default=None, help="rule prefixes to ignore (e.g. the missing-file rule on --no-images archives)")
    args = ap.parse_args()
    for n in (int(s) for s in args.scales.split(",")):
        images = n <= 5000 or args.images_25x
        base = Path(args.work) / f"fa-report-bench-{n}{'' if images else '-noimg'}"
        print(f"scale {n} ({'JPEGs' if images else 'no JPEGs'}), fast={args.fast}", flush=True)
        build(base / "archive", n, images)
        out = base / "out"
        out.mkdir(exist_ok=True)
        run(base / "archive", out, fast=args.fast, ignore=args.ignore.split(",") if args.ignore else None)


if __name__ == "__main__":
    main()
