"""COCO -> YOLO-seg: fracatlas-annot vs Ultralytics' convert_coco vs a bare stdlib loop.

Builds a makesense-style COCO file (polygons of the fractured images only, like
FracAtlas) at 1x (4,083 images) and 25x, then times, in the same run and on the same
file system (default /dev/shm):

* ours:   read the COCO (formats.coco) + convert(to="yolo-seg", split="stratified") which
          also writes splits.csv, data.yaml and manifest.json, atomically;
* ultra:  ultralytics.data.converter.convert_coco(use_segments=True, cls91to80=False);
* floor:  json.load + one label file per image written with the standard library.

Each variant runs in its own process (timed around the work only, after imports); peak
memory is that process's max RSS (imports included: Ultralytics pulls in torch).

    python benchmarks/bench_convert.py [--scales 1,25] [--dir /dev/shm] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_coco(base: Path, scale: int, out: Path) -> dict:
    """The 4,083-image fixture COCO repeated ``scale`` times under new file names."""
    src = base / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json"
    doc = json.loads(src.read_text())
    images, anns = [], []
    aid = 0
    for k in range(scale):
        off = k * len(doc["images"])
        for im in doc["images"]:
            stem = im["file_name"][:-4]
            images.append({"id": im["id"] + off, "width": im["width"], "height": im["height"], "file_name": f"{stem}_{k:03d}.jpg"})
        for a in doc["annotations"]:
            anns.append(dict(a, id=aid, image_id=a["image_id"] + off))
            aid += 1
    big = {"info": doc.get("info", {}), "images": images, "annotations": anns, "categories": doc["categories"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(big, separators=(",", ":")))
    return {"images": len(images), "annotations": len(anns), "bytes": out.stat().st_size}


def run_floor(coco: Path, out: Path) -> None:
    with open(coco, encoding="utf-8") as f:
        doc = json.load(f)
    by_image: dict[int, list] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    labels = out / "labels"
    labels.mkdir(parents=True)
    for im in doc["images"]:
        w, h = im["width"], im["height"]
        lines = []
        for a in by_image.get(im["id"], []):
            ring = a["segmentation"][0]
            xy = " ".join(f"{v / (w if i % 2 == 0 else h):.6f}" for i, v in enumerate(ring))
            lines.append(f"{a['category_id'] - 1} {xy}")
        with open(labels / (im["file_name"].rsplit(".", 1)[0] + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n" if lines else "")


def run_ours(coco: Path, out: Path) -> dict:
    from fracatlas_annot.convert import convert
    from fracatlas_annot.formats import coco as coco_reader

    t0 = time.perf_counter()
    src, problems = coco_reader.read(coco)
    t1 = time.perf_counter()
    convert(src, to="yolo-seg", out=out, split="stratified", seed=0, progress=False)
    return {"read_s": t1 - t0, "convert_s": time.perf_counter() - t1}


def run_ultra(coco: Path, out: Path) -> None:
    from ultralytics.data.converter import convert_coco

    convert_coco(labels_dir=str(coco.parent), save_dir=str(out), use_segments=True, cls91to80=False)


def child(variant: str, coco: Path, out: Path) -> None:
    if variant == "ultra":
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_VERBOSE", "False")
        import ultralytics.data.converter  # noqa: F401  (import outside the timing)
    elif variant == "ours":
        import fracatlas_annot.convert  # noqa: F401
        import fracatlas_annot.formats.ultralytics  # noqa: F401
        import fracatlas_annot.formats.coco  # noqa: F401
    fn = {"floor": run_floor, "ours": run_ours, "ultra": run_ultra}[variant]
    t0 = time.perf_counter()
    parts = fn(coco, out) or {}
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "peak_mib": peak, **parts}))


def measure(variant: str, coco: Path, work: Path, env: dict) -> dict:
    out = work / f"out-{variant}"
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, __file__, "--child", variant, str(coco), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if res.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{res.stderr[-3000:]}")
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1]
    files = sum(1 for _ in out.rglob("*.txt"))
    shutil.rmtree(out, ignore_errors=True)
    return dict(json.loads(line), label_files=files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1,25")
    ap.add_argument("--dir", default="/dev/shm")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "COCO", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    work = Path(args.dir) / f"fa-bench-convert-{os.getpid()}"
    work.mkdir(parents=True)
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_CONFIG_DIR=str(work / "yolo_cfg"), FRACATLAS_PROGRESS="0")
    try:
        base = work / "fa4083"
        subprocess.run([sys.executable, str(ROOT / "fixtures" / "build.py"), "--scale", "4083", "--out", str(base), "--no-images"],
                       check=True, capture_output=True)
        print(f"file system: {args.dir}; best of {args.repeat} runs per variant; peak = max RSS of the variant's process")
        for scale in (int(s) for s in args.scales.split(",")):
            coco = work / f"coco-{scale}x" / "instances.json"
            info = make_coco(base, scale, coco)
            print(f"\n{scale}x: {4083 * scale} images in the archive, COCO lists {info['images']} images, "
                  f"{info['annotations']} polygons, {info['bytes'] / 1e6:.1f} MB")
            best = {}
            for variant in ("floor", "ours", "ultra"):
                runs = [measure(variant, coco, work, env) for _ in range(args.repeat)]
                best[variant] = min(runs, key=lambda r: r["seconds"])
                r = best[variant]
                split = f"   (read COCO {r['read_s']:.3f} s + convert {r['convert_s']:.3f} s)" if "read_s" in r else ""
                print(f"  {variant:6s} {r['seconds']:7.3f} s   peak {r['peak_mib']:7.1f} MiB   {r['label_files']} label files{split}")
            f, o, u = (best[v]["seconds"] for v in ("floor", "ours", "ultra"))
            print(f"  ratios: ours/floor {o / f:.2f}   ours/ultralytics {o / u:.2f}   ultralytics/floor {u / f:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
