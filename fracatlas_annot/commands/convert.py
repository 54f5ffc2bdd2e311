"""``fracatlas-annot convert``: write a train set or another format, losing nothing silently."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..errors import LossyConversionError
from ..formats.registry import FORMATS, targets
from ._common import (
    cluster_options,
    console,
    echo_json,
    err_console,
    execution,
    handle_errors,
    images_option,
    progress_option,
    verbose_option,
)


class RegistryChoice(click.Choice):
    """A ``click.Choice`` whose choices are read from the format registry when the command
    runs, so that a format registered after import is offered too."""

    def __init__(self, choices: Callable[[], Sequence[str]]) -> None:
        self._names = choices
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ assigns; the registry decides
        pass


def _targets_help() -> str:
    lines = [f"{', '.join(f.targets)} ({f.writes})" if f.writes else ", ".join(f.targets)
             for f in FORMATS.values() if f.write is not None]
    return "Targets: " + "; ".join(lines) + "."


EPILOG = """\b
Examples:
  fracatlas-annot convert fixtures/fracatlas-mini --to yolo-seg --source coco out/seg
  fracatlas-annot convert fixtures/fracatlas-mini --to yolo-detect --source voc out/det \\
      --split stratified --ratios 0.8,0.1,0.1 --seed 1
  fracatlas-annot convert labels_coco.json --to makesense out/back-to-makesense
  fracatlas-annot convert fixtures/fracatlas-mini --to coco out/coco --json
\b
""" + textwrap.fill(_targets_help(), 90) + """
Every output has manifest.json (class map, counts, every change) and splits.csv.
\b
Exit codes: 0 written; 1 refused because a step would lose information (each case listed;
see --allow-lossy); 2 unreadable input, bad option, or OUT exists and is not empty."""


@click.command("convert", epilog=EPILOG)
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, type=RegistryChoice(targets), help="Target format.")
@click.option("--source", default=None, help="Geometry source: coco (polygons), voc (boxes), yolo, csv, vgg, or a reader folder name. Default: the only source, else coco.")
@click.option("--split", type=click.Choice(["official", "stratified", "none"]), default=None, help="official (FracAtlas lists + stratified draw of the rest; default for yolo-*), stratified, or none (default for coco/voc/makesense).")
@click.option("--ratios", default="0.8,0.1,0.1", show_default=True, help="train,val,test proportions for --split stratified.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1), help="Seed of the split draw (0 to 2^32-1).")
@click.option("--multipart", type=click.Choice(["bridge", "largest", "split"]), default="bridge", show_default=True, help="Objects drawn as several polygons in yolo-seg: join with zero-width bridges (as Ultralytics), keep the largest part (lossy), or one instance per part.")
@click.option("--allow-lossy", is_flag=True, help="Write even when a step loses information (each case is recorded in manifest.json).")
@click.option("--overwrite", is_flag=True, help="Replace OUT when it exists and is not empty (old *.cache files go with it).")
@click.option("--names", default=None, metavar="A,B", help="YOLO class names in index order, comma-separated (when labels.txt / classes.txt is missing or empty).")
@click.option("--no-duplicates", "no_duplicates", is_flag=True, help="Do not detect duplicate images (their groups are then not kept in one split).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@images_option
@cluster_options
@progress_option
@verbose_option
def convert_command(path: Path, out: Path, to: str, source: str | None, split: str | None, ratios: str, seed: int, multipart: str, allow_lossy: bool, overwrite: bool, names: str | None, no_duplicates: bool, as_json: bool, images: str | None, scheduler: str | None, workers: int | None, verbose: bool) -> None:
    """Convert PATH (a FracAtlas archive, a makesense export, a folder) to --to format in OUT.

    The class map is explicit and printed (FracAtlas COCO category 1 "fractured" becomes
    YOLO class 0). Negatives are kept (empty label files, COCO images without
    annotations). Writes are atomic: OUT appears complete or not at all.

    When sources disagree on an image, one rule holds for every target: the objects of
    the converted source decide. An image with an object in it is fractured (its objects
    are written, it is stratified as fractured, yolo-cls puts it in fractured/); one without
    is a negative. Where dataset.csv's fractured flag says otherwise (FracAtlas's
    IMG0003298), the image is named on screen and listed under "decisions" in manifest.json.
    """
    from ..convert import convert

    with handle_errors(verbose), execution(scheduler, workers):
        try:
            manifest = convert(
                path, to=to, out=out, source=source, split=split, ratios=ratios, seed=seed, multipart=multipart,
                allow_lossy=allow_lossy, overwrite=overwrite, duplicates=not no_duplicates, progress=not as_json,
                names=[n.strip() for n in names.split(",")] if names else None, images=images,
            )
        except LossyConversionError as exc:
            if as_json:
                echo_json({"error": "lossy", "summary": exc.summary, "cases": exc.cases})
            # one case per line, never wrapped: each names the image, file and location
            err_console.print(f"error: {exc.summary} (pass --allow-lossy to accept):", markup=False, highlight=False, soft_wrap=True)
            for case in exc.cases:
                err_console.print(f"  - {case}", markup=False, highlight=False, soft_wrap=True)
            raise SystemExit(exc.exit_code) from None
    if as_json:
        echo_json(manifest)
        return
    _render(manifest)


def _render(m: dict[str, Any]) -> None:
    inp = m["inputs"]
    console.print(f"[bold]convert[/] {inp['path'] or '<in memory>'} -> {m['output']} ({m['target']})")
    console.print(f"source: {inp['source']} ({inp['source_format']}, {inp['geometry']})")
    for c in m["class_map"]:
        raw = f"{c['source_format']} id {c['source_id']} " if c.get("source_id") is not None else ""
        if m["target"] == "yolo-cls":
            raw = f"{c['source_format']}: "
        console.print(f"class map: {raw}'{c['name']}' -> class {c['class']}")
    counts = m.get("counts", {})
    table = Table(title=f"split: {m['splits']['method']}", show_edge=False)
    for col in ("split", "images", "negatives", "objects"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for s, v in counts.get("per_split", {}).items():
        if "objects" in v:
            table.add_row(s, str(v["images"]), str(v["negatives"]), str(v["objects"]))
        else:
            table.add_row(s, str(sum(v.values())), str(v.get("non_fractured", 0)), "-")
    console.print(table)
    if "objects_in" in counts:
        console.print(f"objects: {counts['objects_in']} in, {counts['objects_out']} out")
    imgs = m.get("images") or {}
    if imgs:
        console.print(f"images: {imgs.get('linked', 0)} hard-linked, {imgs.get('copied', 0)} copied, {imgs.get('missing', 0)} missing")
    if m["change_counts"]:
        console.print("changes (details in manifest.json): " + ", ".join(f"{n} {k}" for k, n in m["change_counts"].items()))
    for note in m.get("notes", []):
        err_console.print(f"note: {note}")
    if m.get("removed_caches"):
        console.print(f"removed stale caches: {', '.join(m['removed_caches'])}")


commands = [convert_command]
