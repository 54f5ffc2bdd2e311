"""Measure the end-to-end margins: val mAP50 of correct vs x/y-swapped conversions over
several training seeds. Prints one JSON line per run and a summary.

    python tests/trainer/measure_margins.py --seeds 0 1 2 --tasks detect segment
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.trainer._e2e import SETTINGS, make_archive, write_sets  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--tasks", nargs="+", default=["detect", "segment"])
    ap.add_argument("--variants", nargs="+", default=["ok", "swap"])
    args = ap.parse_args()
    import trainer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = make_archive(work, seed=args.data_seed)
        for task in args.tasks:
            for variant in args.variants:
                data = write_sets(root, work, task, variant)
                for seed in args.seeds:
                    t = time.perf_counter()
                    r = trainer.train(data, task=task, out=work / "runs", name=f"{task}-{variant}-{seed}",
                                      config_dir=work / "cfg", **{**SETTINGS, "seed": seed})
                    row = {"task": task, "variant": variant, "seed": seed, "data_seed": args.data_seed,
                           "box_mAP50": round(r["metrics"]["box"]["mAP50"], 3),
                           "mask_mAP50": round(r["metrics"]["mask"]["mAP50"], 3) if "mask" in r["metrics"] else None,
                           "seconds": round(time.perf_counter() - t, 1)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print("SUMMARY")
    for task in args.tasks:
        for variant in args.variants:
            for key in ("box_mAP50", "mask_mAP50"):
                vals = [r[key] for r in rows if r["task"] == task and r["variant"] == variant and r[key] is not None]
                if vals:
                    print(f"{task:8s} {variant:5s} {key:10s} min {min(vals):.3f} max {max(vals):.3f} values {vals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
