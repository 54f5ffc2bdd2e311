#!/usr/bin/env bash
# YOLOv8s and YOLOv8s-seg, 30 epochs at imgsz 608, on a FracAtlas-sized synthetic set made
# and converted by our tools; writes benchmarks/_data/gpu_train/gpu_train.json (time per
# epoch, peak GPU memory, metrics). Extra arguments go to benchmarks/gpu_train.py, e.g. the
# CPU smoke:  benchmarks/gpu_train.sh --epochs 1 --n-images 50 --imgsz 128 --model yolov8n --out /tmp/gpu-smoke
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no NVIDIA GPU visible: running on $(python -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')"
exec python benchmarks/gpu_train.py "$@"
