"""Micro-benchmark: parse a makesense-style COCO JSON of FracAtlas shape at 25x scale.

Generates the document in memory (compact JSON, as makesense writes it), then times
``fracatlas_annot.formats.coco.parse`` and reports peak traced memory.

    python benchmarks/bench_parse_coco.py                 # 102,075 images, 18% positive
    python benchmarks/bench_parse_coco.py --images 4083   # FracAtlas size
    python benchmarks/bench_parse_coco.py --images 437500 # ~100k annotations
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from fracatlas_annot.formats import coco


def make_document(n_images: int, *, positive: float = 0.18, per_image: float = 1.29, vertices: int = 6, seed: int = 0) -> bytes:
    """A makesense COCO export: only positive images listed, ids 1..N, annotation ids from 0."""
    rng = np.random.default_rng(seed)
    n_pos = int(round(n_images * positive))
    counts = 1 + rng.poisson(per_image - 1, size=n_pos)
    images, annotations = [], []
    ann_id = 0
    for i in range(n_pos):
        w, h = (373, 454) if i % 3 else (454, 373)
        images.append({"id": i + 1, "width": w, "height": h, "file_name": f"IMG{i:07d}.jpg"})
        for _ in range(counts[i]):
            cx, cy = rng.uniform(40, 330), rng.uniform(40, 330)
            ang = np.sort(rng.uniform(0, 2 * np.pi, vertices))
            r = rng.uniform(8, 35, vertices)
            xs, ys = cx + r * np.cos(ang), cy + r * np.sin(ang)
            seg = np.column_stack([xs, ys]).ravel().tolist()
            x0, y0 = float(xs.min()), float(ys.min())
            area = 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))
            annotations.append(
                {"id": ann_id, "iscrowd": 0, "image_id": i + 1, "category_id": 1, "segmentation": [seg],
                 "bbox": [x0, y0, float(xs.max()) - x0, float(ys.max()) - y0], "area": area}
            )  # fmt: skip
            ann_id += 1
    doc = {"info": {"description": "my-project-name"}, "images": images, "annotations": annotations,
           "categories": [{"id": 1, "name": "fractured"}]}  # fmt: skip
    return json.dumps(doc, separators=(",", ":")).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=4083 * 25)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data = make_document(args.images)
    times, cpu = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        source, problems = coco.parse(data, file="bench.json")
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    assert not problems, problems[:3]
    loads = []
    for _ in range(args.repeat):
        c = time.process_time()
        json.loads(data)
        loads.append(time.process_time() - c)
    tracemalloc.start()
    coco.parse(data, file="bench.json")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"images={args.images} listed={len(source.images)} annotations={len(source.objects)} "
        f"json={len(data) / 2**20:.1f} MiB parse wall best={min(times):.3f} s median={sorted(times)[len(times) // 2]:.3f} s "
        f"cpu best={min(cpu):.3f} s (json.loads alone {min(loads):.3f} s) "
        f"peak_traced={peak / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
