"""The pixel scan's per-file work against bare decoding, in one process, on a shared machine.

    python benchmarks/bench_scan.py [--real /work/data/fracatlas] [--every 1]
    python benchmarks/bench_scan.py --baseline OLD_CHECKOUT   # also an older scan_one

Each JPEG is decoded in turn by ``cv2.imread`` (grayscale, the floor of
``bench_scale.py``) and by the scan's per-file function (``imaging.decode._scan_light``;
with ``--baseline``, also that checkout's ``scan_one``), in an order that rotates from
file to file, so that load from other jobs falls on all of them alike. Then the files whose
shape and 32x32 image repeat are decoded again for their pixel hash, as ``scan`` does
(counted with the scan; byte-identical copies, which ``scan`` decodes once, are
included). Prints CPU seconds and their ratios. Numbers only; nothing asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", default=os.environ.get("FRACATLAS_ARCHIVE", "/work/data/fracatlas"))
    ap.add_argument("--every", type=int, default=1, help="take every n-th file (quick: 10)")
    ap.add_argument("--baseline", help="a checkout (folder holding fracatlas_annot/) whose scan_one to time too")
    args = ap.parse_args()

    import cv2
    import pandas as pd

    from fracatlas_annot.imaging import decode

    fns = [("cv2.imread", lambda p: cv2.imread(p, cv2.IMREAD_GRAYSCALE)), ("scan", decode._scan_light)]
    if args.baseline:
        spec = importlib.util.spec_from_file_location(
            "fracatlas_annot.imaging._baseline_decode", Path(args.baseline) / "fracatlas_annot/imaging/decode.py"
        )
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        fns.append(("baseline scan_one", old.scan_one))
    paths = sorted(str(p) for p in Path(args.real).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))[:: args.every]
    cpu = dict.fromkeys((n for n, _ in fns), 0.0)
    keys = []
    for k, p in enumerate(paths):
        r = k % len(fns)
        for name, f in fns[r:] + fns[:r]:
            t = time.process_time()
            out = f(p)
            cpu[name] += time.process_time() - t
            if name == "scan":
                keys.append(out["pixel_hash"])
    ks = pd.Series(keys, dtype=object)
    again = [p for p, d in zip(paths, ks.notna() & ks.duplicated(keep=False)) if d]
    t = time.process_time()
    for p in again:
        decode._pixel_hash_or_none(p)
    cpu["scan"] += time.process_time() - t
    floor = cpu["cv2.imread"]
    print(f"{len(paths):,} JPEGs under {args.real}; {len(again)} decoded again for their pixel hash")
    for name, c in cpu.items():
        print(f"  {name:<18}: {c:6.2f} s CPU  x{c / floor:.3f}")


if __name__ == "__main__":
    main()
