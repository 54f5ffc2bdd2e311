"""Benchmark: two-reader agreement on generated readers at FracAtlas size and 25x.

Reader 1 is the COCO export of a generated FracAtlas-shaped archive
(``fixtures.generate.plan_archive`` + ``coco_bytes``, parsed by ``formats.coco.parse``).
Reader 2 is reader 1 with every polygon shifted by a random offset (sd 3 px) and scaled
about its centroid (x0.85 to x1.15), 3 % of the objects dropped and 3 % extra objects added on
random images. ``dataset.csv``-style metadata (every image, body part, view) is passed as
``meta``. Each scale runs in its own process so that the peak RSS is that scale's.

    python benchmarks/bench_agree.py                  # 4,083 and 102,075 images
    python benchmarks/bench_agree.py --images 4083    # one scale

Prints, per scale: objects per reader, seconds of agree() for box, mask and both, of
consensus("intersect"), the peak of memory traced (tracemalloc) during one agree(both),
and the process peak RSS (MiB) with the RSS before agreement (the generator's).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_readers(n_images: int, seed: int = 0):
    from fixtures import generate as g
    from fracatlas_annot.formats import coco
    from fracatlas_annot.model import Source, make_objects, make_source_images

    specs = g.plan_archive(n_images, seed=seed)
    data = g.coco_bytes([s.annotated() for s in specs], ["fractured"], "reader-1")
    a, problems = coco.parse(data, file="reader-1.json", name="reader-1")
    assert not problems, problems[:3]
    meta = pd.DataFrame([{"image_id": s.name, **s.meta} for s in specs])

    rng = np.random.default_rng([seed, 2])
    obj = a.objects
    n = len(obj)
    keep = rng.random(n) >= 0.03
    geoms = obj["geometry"].to_numpy(dtype=object)[keep]
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    shift = rng.normal(0.0, 3.0, size=(len(geoms), 2))
    scale = rng.uniform(0.85, 1.15, size=(len(geoms), 1))  # about the centroid: rings stay closed
    centre = shapely.get_coordinates(shapely.centroid(geoms))
    coords = centre[owner] + scale[owner] * (coords - centre[owner]) + shift[owner]
    moved = shapely.set_coordinates(geoms.copy(), coords)
    moved = np.where(shapely.is_valid(moved), moved, shapely.make_valid(moved))
    # extra objects: 3 % more, on random images (listed or not), as small quadrilaterals
    n_extra = int(round(0.03 * n))
    names = np.array([s.name for s in specs], dtype=object)
    extra_img = names[rng.integers(0, len(names), size=n_extra)]
    cx = rng.uniform(40, 300, n_extra)
    cy = rng.uniform(40, 380, n_extra)
    extra = shapely.box(cx - 12, cy - 20, cx + 12, cy + 20)
    images = np.concatenate([obj["image"].to_numpy(dtype=object)[keep], extra_img])
    allg = np.concatenate([moved, extra])
    bounds = shapely.bounds(allg)
    b_objects = make_objects(
        {
            "image": images,
            "label": ["fractured"] * len(images),
            "x0": bounds[:, 0],
            "y0": bounds[:, 1],
            "x1": bounds[:, 2],
            "y1": bounds[:, 3],
            "geometry": allg,
            "file": "reader-2.json",
            "loc": [f"annotations[{i}]" for i in range(len(images))],
        }
    )
    # like a makesense export: reader 2 lists only the images it labelled
    b_images = make_source_images(list(pd.unique(images)), width=None, height=None, file="reader-2.json")
    b = Source(name="reader-2", format="coco", objects=b_objects, images=b_images, labels=["fractured"], geometry="polygon")
    return a, b, meta


def run_one(n_images: int) -> dict:
    from fracatlas_annot.agreement import agree

    t0 = time.perf_counter()
    a, b, meta = make_readers(n_images)
    prep = time.perf_counter() - t0
    rss_before = _rss_mib()
    out = {"images": n_images, "objects_a": len(a.objects), "objects_b": len(b.objects), "prepare_s": round(prep, 2), "rss_before_mib": round(rss_before, 1)}
    result = None
    for geometry in ("box", "mask", "both"):
        t = time.perf_counter()
        result = agree(a, b, geometry=geometry, meta=meta)
        out[f"agree_{geometry}_s"] = round(time.perf_counter() - t, 3)
    tracemalloc.start()  # numpy / pandas allocations of one agree() (GEOS memory is not traced)
    agree(a, b, geometry="both", meta=meta)
    out["agree_both_traced_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    t = time.perf_counter()
    cons = result.consensus("intersect", "queue")
    out["consensus_s"] = round(time.perf_counter() - t, 3)
    out["consensus_objects"] = len(cons.objects)
    row = result.instance[(result.instance["geometry"] == "mask") & (result.instance["iou"] == 0.5)].iloc[0]
    out["mask_f1_at_0.5"] = round(float(row["f1"]), 4)
    out["kappa"] = round(float(result.image_level["kappa"]), 4)
    out["disagreements"] = len(result.disagreements)
    out["peak_rss_mib"] = round(_rss_mib(), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, action="append", help="scale(s) to run (default: 4083 and 25 x 4083)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    scales = args.images or [4083, 25 * 4083]
    if args.one:
        print(json.dumps(run_one(scales[0])))
        return 0
    for n in scales:
        proc = subprocess.run([sys.executable, __file__, "--one", "--images", str(n)], capture_output=True, text=True, env=os.environ.copy())
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{r['images']:>7} images, {r['objects_a']} / {r['objects_b']} objects: "
            f"agree box {r['agree_box_s']:.2f} s, mask {r['agree_mask_s']:.2f} s, both {r['agree_both_s']:.2f} s, "
            f"consensus {r['consensus_s']:.2f} s; agree(both) traced peak {r['agree_both_traced_peak_mib']:.0f} MiB, process peak RSS {r['peak_rss_mib']:.0f} MiB "
            f"(before agree {r['rss_before_mib']:.0f} MiB); mask F1@0.5 {r['mask_f1_at_0.5']}, kappa {r['kappa']}, "
            f"{r['disagreements']} disagreements (setup {r['prepare_s']:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
