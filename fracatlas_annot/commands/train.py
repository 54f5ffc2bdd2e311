"""``train``, ``evaluate``, ``predict``, ``smoke``: YOLOv8 on a converted set (the ``train`` extra).

The ``trainer`` package (and with it torch and Ultralytics) is imported only when one of
these commands runs, so the rest of the CLI works without the extra.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import click
import yaml
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from ._common import console, echo_json, err_console, handle_errors, verbose_option

INSTALL_HINT = "install fracatlas-annot[train] to use the training commands"


def _trainer() -> ModuleType:
    """Import :mod:`trainer`, or exit 2 with the install hint when the extra is missing."""
    missing = [m for m in ("torch", "ultralytics") if importlib.util.find_spec(m) is None]
    if missing:
        click.echo(f"error: {INSTALL_HINT} (missing: {', '.join(missing)})", err=True)
        raise SystemExit(2)
    import trainer

    return trainer


@contextlib.contextmanager
def _library_output_to_stderr() -> Iterator[None]:
    """Ultralytics' log and progress bars go to stderr; stdout keeps only our result."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: use KEY=VALUE (an Ultralytics train argument, e.g. --set mosaic=0)")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _fmt(v: Any) -> str:
    try:
        return f"{float(v):.3f}"
    except (TypeError, ValueError):
        return "-"


def _metrics_table(result: dict[str, Any], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("run", "part", "P", "R", "mAP50", "mAP50-95"):
        table.add_column(col, justify="left" if col in ("run", "part") else "right")
    rows = [("this run", part, m) for part, m in result["metrics"].items()]
    for pub in result.get("published", []):
        rows += [(pub["source"], part, pub[part]) for part in ("box", "mask") if part in pub and part in result["metrics"]]
    for run, part, m in rows:
        table.add_row(run, part, *(_fmt(m[k]) for k in ("precision", "recall", "mAP50", "mAP50-95")))
    return table


TRAIN_EPILOG = """\b
Examples:
  fracatlas-annot train out/det/data.yaml --task detect --out runs/det
  fracatlas-annot train out/seg/data.yaml --task segment --epochs 30 --imgsz 600 --batch 16
  fracatlas-annot train out/seg/data.yaml --task segment --weights yolov8s-seg.pt --set mosaic=0
\b
Defaults are the FracAtlas authors' run (30 epochs, imgsz 600, batch 16, SGD lr0 0.01,
seed 0). The model is built from yolov8s.yaml / yolov8s-seg.yaml (random init): nothing is
downloaded; give --weights for a local checkpoint. Writes OUT/NAME (Ultralytics run
folder) and OUT/NAME-metrics.json. On a FracAtlas set (class list ["fractured"] and a path
naming FracAtlas, or --fracatlas) the published YOLOv8s results are shown beside ours."""


@click.command("train", epilog=TRAIN_EPILOG)
@click.argument("data_yaml", type=click.Path(path_type=Path))
@click.option("--task", type=click.Choice(["detect", "segment"]), default="detect", show_default=True)
@click.option("--model", default="yolov8s", show_default=True, help="Architecture (YAML name, no download): yolov8n, yolov8s ... ('-seg' added for segment).")
@click.option("--weights", type=click.Path(path_type=Path), default=None, help="Start from this local .pt instead.")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--imgsz", type=int, default=600, show_default=True)
@click.option("--batch", type=int, default=16, show_default=True)
@click.option("--lr0", type=float, default=0.01, show_default=True)
@click.option("--optimizer", default="SGD", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (GPU 0 if CUDA is available, else cpu), cpu, 0, 0,1 ...")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/fracatlas-annot"), show_default=True, help="Output folder.")
@click.option("--name", default="train", show_default=True, help="Run folder name inside OUT.")
@click.option("--fracatlas/--not-fracatlas", default=None, help="Force (or suppress) the comparison with the published FracAtlas results.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any other Ultralytics train argument (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics document as JSON.")
@verbose_option
def train_command(data_yaml: Path, task: str, model: str, weights: Path | None, epochs: int, imgsz: int, batch: int,
                  lr0: float, optimizer: str, seed: int, device: str, out: Path, name: str, fracatlas: bool | None,
                  sets: tuple[str, ...], as_json: bool, verbose: bool) -> None:
    """Train YOLOv8 (detect or segment) on DATA_YAML, a set written by `convert`, offline."""
    with handle_errors(verbose):
        tr = _trainer()
        extra = _parse_sets(sets)
        with _library_output_to_stderr():
            result = tr.train(data_yaml, task=task, model=model, weights=weights, epochs=epochs, imgsz=imgsz, batch=batch,
                              lr0=lr0, optimizer=optimizer, seed=seed, device=device, out=out, name=name,
                              fracatlas=fracatlas, **extra)
    if as_json:
        echo_json(result)
        return
    console.print(_metrics_table(result, f"{task} on {data_yaml} (validation split)"))
    console.print(f"weights: {result['weights']}\nmetrics: {result['metrics_file']}")
    if result["label_warnings"]:
        err_console.print(f"[yellow]warning:[/] Ultralytics dropped or changed labels: {escape(result['label_warnings'][0])}", markup=True)


EVAL_EPILOG = """\b
Examples:
  fracatlas-annot evaluate runs/det/train/weights/best.pt out/det/data.yaml --split test
  fracatlas-annot evaluate best.pt out/seg/data.yaml --split val --imgsz 608 --json"""


@click.command("evaluate", epilog=EVAL_EPILOG)
@click.argument("weights", type=click.Path(path_type=Path))
@click.argument("data_yaml", type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True, help="train, val or test (as named in DATA_YAML).")
@click.option("--imgsz", type=int, default=600, show_default=True)
@click.option("--batch", type=int, default=16, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/fracatlas-annot"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@verbose_option
def evaluate_command(weights: Path, data_yaml: Path, split: str, imgsz: int, batch: int, device: str, out: Path,
                     as_json: bool, verbose: bool) -> None:
    """Metrics (box P, R, mAP50, mAP50-95; mask ones for segment) of WEIGHTS on one split."""
    with handle_errors(verbose):
        tr = _trainer()
        with _library_output_to_stderr():
            result = tr.evaluate(weights, data_yaml, split=split, imgsz=imgsz, batch=batch, device=device, out=out)
    if as_json:
        echo_json(result)
        return
    console.print(_metrics_table(result, f"{result['task']} on {data_yaml} ({split} split)"))
    console.print(f"metrics: {result['metrics_file']}")


PREDICT_EPILOG = """\b
Examples:
  fracatlas-annot predict runs/seg/train/weights/best.pt FracAtlas/images/Fractured --out runs/pred
  fracatlas-annot predict best.pt IMG0000019.jpg IMG0000025.jpg --out pred --conf 0.1
\b
Writes OUT/predictions.json (COCO results: image_id, file_name, category_id = class + 1,
bbox [x, y, w, h] in pixels, score, and polygons for a segment model) and
OUT/overlays/<image>.jpg."""


@click.command("predict", epilog=PREDICT_EPILOG)
@click.argument("weights", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--conf", type=float, default=0.25, show_default=True, help="Confidence threshold.")
@click.option("--imgsz", type=int, default=600, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--no-overlays", is_flag=True, help="Do not write overlay images.")
@click.option("--json", "as_json", is_flag=True)
@verbose_option
def predict_command(weights: Path, images: tuple[Path, ...], out: Path, conf: float, imgsz: int, device: str,
                    no_overlays: bool, as_json: bool, verbose: bool) -> None:
    """Predict with WEIGHTS on IMAGES (files or folders)."""
    with handle_errors(verbose):
        tr = _trainer()
        with _library_output_to_stderr():
            result = tr.predict(weights, images, out=out, conf=conf, imgsz=imgsz, device=device, overlays=not no_overlays)
    if as_json:
        echo_json(result)
        return
    console.print(f"{result['detections']} detections on {result['images']} images -> {result['predictions']}")
    if result["overlays"]:
        console.print(f"overlays: {result['overlays']}")


SMOKE_EPILOG = """\b
Examples:
  fracatlas-annot smoke fixtures/fracatlas-mini
  fracatlas-annot smoke out/seg                      (an already converted set)
  fracatlas-annot smoke FracAtlas --task detect --source voc --out smoke-run
\b
Converts PATH (or takes the converted set with its data.yaml), copies a small sample,
trains yolov8n on the CPU for a few epochs and checks: every label line loaded, no
Ultralytics label warning ("ignoring corrupt", "duplicate labels removed", "Box and
segment counts should be equal" ...), and the training loss fell (the median loss of
the last third of the epochs below 90 % of the first third's).
The sample is drawn mostly (3 in 4) from images with objects. A conversion that would
lose information is refused, as in `convert`, unless --allow-lossy.
Exit codes: 0 all checks passed; 1 a check failed; 2 unreadable input or bad option."""


@click.command("smoke", epilog=SMOKE_EPILOG)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--task", "tasks", multiple=True, type=click.Choice(["detect", "segment"]), help="Default: both (segment when the source has polygons), or the kind of a converted set.")
@click.option("--source", default=None, help="Source to convert from (coco, voc ...), as in `convert`.")
@click.option("--model", default="yolov8n", show_default=True)
@click.option("--epochs", type=int, default=30, show_default=True, help="From scratch the loss rises before it falls: keep enough steps (epochs x n-images / batch).")
@click.option("--imgsz", type=int, default=96, show_default=True)
@click.option("--batch", type=int, default=4, show_default=True)
@click.option("--n-images", type=int, default=16, show_default=True, help="Train images in the sample (half as many val).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Keep the work here (default: a temporary folder, removed).")
@click.option("--allow-lossy", is_flag=True, help="Convert even when a step loses information (as in `convert`; the lossy changes are listed).")
@click.option("--json", "as_json", is_flag=True)
@verbose_option
def smoke_command(path: Path, tasks: tuple[str, ...], source: str | None, model: str, epochs: int, imgsz: int,
                  batch: int, n_images: int, out: Path | None, allow_lossy: bool, as_json: bool, verbose: bool) -> None:
    """Quick end-to-end check of PATH before a long training."""
    with handle_errors(verbose):
        tr = _trainer()
        with _library_output_to_stderr():
            result = tr.smoke(path, out=out, tasks=tasks or None, source=source, model=model, epochs=epochs,
                              imgsz=imgsz, batch=batch, n_images=n_images, allow_lossy=allow_lossy)
    if as_json:
        echo_json(result)
    else:
        table = Table(title=f"smoke {path}", title_justify="left")
        for col in ("task", "check", "result", "detail"):
            table.add_column(col)
        for run in result["runs"]:
            for c in run["checks"]:
                table.add_row(run["task"], c["check"], "ok" if c["ok"] else "FAILED", c["message"])
        console.print(table)
        for run in result["runs"]:
            info = run.get("convert") or {}
            if info.get("lossy_changes"):
                console.print(f"{run['task']}: converted with --allow-lossy: {info['lossy_changes']} lossy change(s) "
                              f"({escape(', '.join(info['lossy_kinds']))}); see manifest.json of the conversion")
            sample = run.get("sample", {}).get("train")
            if sample:
                console.print(f"{run['task']}: sample of {sample['images']} train images, {sample['with_objects']} with objects")
    if not result["ok"]:
        raise SystemExit(1)


commands = [train_command, evaluate_command, predict_command, smoke_command]
