"""Time `report` on generated FracAtlas-shaped archives and print the HTML size.

    python benchmarks/bench_report.py                   # 4,083 images (JPEGs written) and 25x (no JPEGs)
    python benchmarks/bench_report.py --scales 4083     # one scale
    python benchmarks/bench_report.py --fast            # validate --fast inside the report
    python benchmarks/bench_report.py --images-25x      # 25x with JPEGs too (about 2 GB of disk)
    python benchmarks/bench_report.py --stress --fast   # one finding per VOC object (23k at 25x)
    python benchmarks/bench_report.py --scales 4083 --stress --fast --max-thumbs-per-rule 1500   # thumbnail throughput

Archives are built once under --work (default: /dev/shm when it exists, else the temp
folder) with `fixtures/build.py`'s generator and reused on the next run. Printed per scale:
seconds to read, seconds for the whole report (validate + duplicates + plots + thumbnails
+ HTML), findings, thumbnails, HTML and JSON sizes, peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")


def build(out: Path, n: int, images: bool) -> Path:
    """Build the archive once with fixtures/build.py, in its own process (its memory is not ours)."""
    done = out / ".complete"
    if not done.exists():
        t = time.perf_counter()
        cmd = [sys.executable, str(ROOT / "fixtures" / "build.py"), "--scale", str(n), "--out", str(out)]
        subprocess.run(cmd + ([] if images else ["--no-images"]), check=True, stdout=subprocess.DEVNULL)
        done.write_text("ok")
        print(f"  built {n} images ({'with' if images else 'no'} JPEGs) in {time.perf_counter() - t:.1f} s", flush=True)
    return out


def stress_findings(ds):  # noqa: ANN001, ANN201
    """One FA202 finding per VOC object (a quarter of the images at FracAtlas's prevalence):
    what a badly shifted export would produce, to measure the report when findings are many."""
    from fracatlas_annot.checks import load_all
    from fracatlas_annot.checks.registry import normalize_result
    import pandas as pd

    rules = load_all()
    obj = ds.sources["voc"].objects
    frame = {
        "image": obj["image"].to_numpy(dtype=object),
        "source": "voc",
        "object": obj.index.to_numpy(),
        "message": ["box and polygon overlap with IoU 0.31 (offset 12.0 px)"] * len(obj),
        "file": obj["file"].to_numpy(dtype=object),
        "loc": obj["loc"].to_numpy(dtype=object),
    }
    return normalize_result(rules["FA202"], pd.DataFrame(frame))


def run(path: Path, out: Path, *, fast: bool, ignore: list[str] | None, stress: bool, per_rule: int) -> None:
    from fracatlas_annot.formats import read
    from fracatlas_annot.report import build_report

    t0 = time.perf_counter()
    ds = read(path)
    t1 = time.perf_counter()
    findings = stress_findings(ds) if stress else None
    if stress:
        t1 = time.perf_counter()
    data = build_report(
        ds, out_html=out / "report.html", out_json=out / "report.json", fast=fast, ignore=ignore,
        findings=findings, progress=False, max_thumbs_per_rule=per_rule,
    )
    t2 = time.perf_counter()
    html_size = (out / "report.html").stat().st_size
    json_size = (out / "report.json").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  images={len(ds.images)} read={t1 - t0:.2f}s report={t2 - t1:.2f}s total={t2 - t0:.2f}s "
        f"findings={len(data['findings'])} thumbnails={data['thumbnails']['rendered']} "
        f"html={html_size / 2**20:.2f} MiB json={json_size / 2**20:.2f} MiB peak_rss={peak:.0f} MiB\n"
        f"  steps: {' '.join(f'{k}={v:.2f}s' for k, v in data['report']['seconds'].items())}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="4083,102075", help="comma-separated image counts (default 4083 and 25x)")
    ap.add_argument("--work", default="/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
    ap.add_argument("--fast", action="store_true", help="run validate --fast inside the report")
    ap.add_argument("--images-25x", action="store_true", help="write JPEGs at 25x too")
    ap.add_argument("--stress", action="store_true", help="report one synthetic FA202 finding per VOC object instead of running validate")
    ap.add_argument("--max-thumbs-per-rule", type=int, default=48, help="thumbnail cap per rule (the total cap stays 1,500)")
    ap.add_argument("--ignore", default=None, help="rule prefixes to ignore (e.g. the missing-file rule on --no-images archives)")
    args = ap.parse_args()
    for n in (int(s) for s in args.scales.split(",")):
        images = n <= 5000 or args.images_25x
        base = Path(args.work) / f"fa-report-bench-{n}{'' if images else '-noimg'}"
        print(f"scale {n} ({'JPEGs' if images else 'no JPEGs'}), fast={args.fast}", flush=True)
        build(base / "archive", n, images)
        out = base / "out"
        out.mkdir(exist_ok=True)
        run(base / "archive", out, fast=args.fast, ignore=args.ignore.split(",") if args.ignore else None, stress=args.stress, per_rule=args.max_thumbs_per_rule)


if __name__ == "__main__":
    main()
