"""Train YOLOv8s and YOLOv8s-seg on a FracAtlas-sized synthetic set, as the FracAtlas authors
did (30 epochs, imgsz 608, batch 16, SGD lr0 0.01, seed 0), and record time per epoch,
peak GPU memory (torch.cuda.max_memory_allocated) and the validation metrics in a JSON.

The set is generated with fixtures/learnable.py (717 fractured images: the FracAtlas
v6 count, split 574 / 61 / 82 in id blocks like the official lists) and written with our
``convert`` (yolo-detect from the VOC boxes, yolo-seg from the COCO polygons).

    benchmarks/gpu_train.sh                                   # the full run (GPU)
    benchmarks/gpu_train.sh --epochs 1 --n-images 50 --imgsz 128 --model yolov8n   # CPU smoke
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_data" / "gpu_train")
    ap.add_argument("--n-images", type=int, default=717, help="fractured images in the synthetic archive (FracAtlas v6: 717)")
    ap.add_argument("--size", type=int, default=448, help="side of the square synthetic images (FracAtlas: mostly 454 x 373)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--imgsz", type=int, default=608)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--model", default="yolov8s")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--tasks", nargs="+", default=["detect", "segment"])
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    from trainer import offline

    offline.setup(args.out / "yolo-config")
    import torch

    import trainer
    from fixtures.learnable import generate
    from fracatlas_annot.convert import convert
    from tests.trainer._e2e import read_archive

    t0 = time.perf_counter()
    archive = args.out / "archive"
    if not (archive / "learnable-manifest.json").is_file():
        n = args.n_images
        generate(archive, n_images=n, size=args.size, seed=0, splits=(574 / 717, 61 / 717, 82 / 717))
    gen_s = time.perf_counter() - t0
    dataset = read_archive(archive)
    report: dict = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "host": {"python": platform.python_version(), "torch": torch.__version__,
                 "cuda": torch.cuda.is_available(),
                 "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "generate_seconds": round(gen_s, 1),
        "runs": [],
    }
    for task in args.tasks:
        to, source = ("yolo-seg", "coco") if task == "segment" else ("yolo-detect", "voc")
        t = time.perf_counter()
        manifest = convert(dataset, to=to, out=args.out / to, source=source, split="official", overwrite=True, progress=False)
        conv_s = time.perf_counter() - t
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        r = trainer.train(args.out / to / "data.yaml", task=task, model=args.model, epochs=args.epochs, imgsz=args.imgsz,
                          batch=args.batch, lr0=0.01, optimizer="SGD", seed=0, device=args.device,
                          out=args.out / "runs", name=task, exist_ok=True, fracatlas=False)
        epochs = r["epoch_seconds"]
        run = {
            "task": task, "model": r["model"], "device": r["device"], "convert_seconds": round(conv_s, 1),
            "split_counts": manifest["counts"]["per_split"],
            "train_wall_seconds": r["wall_seconds"],
            "seconds_per_epoch_mean": round(sum(epochs) / len(epochs), 2) if epochs else None,
            "seconds_per_epoch": [round(e, 2) for e in epochs],
            "gpu_max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if torch.cuda.is_available() else None,
            "metrics": r["metrics"], "train_loss": [round(v, 4) for v in r["train_loss"]],
            "label_warnings": r["label_warnings"], "run_dir": r["run_dir"],
        }
        report["runs"].append(run)
        print(json.dumps({k: run[k] for k in ("task", "device", "train_wall_seconds", "seconds_per_epoch_mean",
                                               "gpu_max_memory_gib", "metrics")}), flush=True)
    path = args.out / "gpu_train.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
