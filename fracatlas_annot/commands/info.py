"""``fracatlas-annot info``: what a path holds, and what could not be read."""

from __future__ import annotations

import textwrap
from typing import Any

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

from ..formats.registry import FORMATS
from ..runtime.paths import escape_controls
from ._common import (
    cluster_options,
    console,
    echo_json,
    execution,
    handle_errors,
    images_option,
    progress_option,
    verbose_option,
)

EPILOG = """\b
Examples:
  fracatlas-annot info fixtures/fracatlas-mini            # a FracAtlas archive (or its parent folder)
  fracatlas-annot info fixtures/readers/reader-1          # one reader's makesense exports
  fracatlas-annot info labels_my-project_2024-03-23-07-10-18.zip --names fractured
  fracatlas-annot info export.json --format vgg --json    # force the format; JSON for scripts

\b
""" + textwrap.fill(f"Formats (detected from the content when --format is omitted): {', '.join(FORMATS)}.", 95) + """

\b
Exit codes: 0 read (reading problems are listed, not fatal), 2 nothing could be read
(missing path, unknown format, every file broken) or a bad command line.
"""

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def info_summary(dataset: Any) -> dict[str, Any]:
    """``Dataset.summary()`` plus the counts ``info`` shows (image files, CSV rows, header errors)."""
    s = dataset.summary()
    images = dataset.images
    s["image_files"] = len(dataset.files)
    s["images_in_csv"] = int(images["in_csv"].sum()) if "in_csv" in images and len(images) else 0
    # a header error of an image file that exists (a missing file is counted as not on disk)
    on_disk = images["path"].notna() if "path" in images else pd.Series(False, index=images.index)
    s["header_errors"] = int((images["header_error"].notna() & on_disk).sum()) if "header_error" in images and len(images) else 0
    dup = dataset.files["image"][dataset.files["image"].duplicated(keep=False)] if len(dataset.files) else pd.Series([], dtype=object)
    s["files_in_two_folders"] = sorted(set(dup.tolist()))
    if len(dataset.split_lists):
        s["split_lists"] = {str(k): int(v) for k, v in dataset.split_lists["split"].value_counts(sort=False).items()}
    for name, src in dataset.sources.items():
        s["sources"][name]["file"] = src.path
        s["sources"][name]["normalized"] = int((src.objects["units"] == "norm").sum()) if len(src.objects) else 0
    for p in s["problems"]:
        p["location"] = _where(p)
    return s


def _where(p: dict[str, Any]) -> str:
    where = p.get("file") or ""
    if p.get("line") is not None:
        where += f":{p['line']}"
    if p.get("loc") and p["loc"] != f"line {p.get('line')}":
        where += f" ({p['loc']})"
    return where


def _relative(path: str | None, root: str | None) -> str:
    import os

    if not path:
        return ""
    if root:
        try:
            rel = os.path.relpath(path, root)
            if rel == ".":
                return os.path.basename(path)
            if not rel.startswith(".."):
                return rel
        except ValueError:
            pass
    return path


def _esc(text: str) -> str:
    """Rich-markup-escaped text with control characters from the input written as ``\\xNN``."""
    return escape(escape_controls(text))


def _render(s: dict[str, Any], limit: int) -> None:
    title = f"[bold]{_esc(str(s.get('root') or ''))}[/]  format: [bold]{s['format']}[/]"
    if s.get("version"):
        title += f" ({s['version']})"
    console.print(title)
    facts = [f"{s['images']} images", f"{s['images_on_disk']} on disk"]
    if not s["image_files"] and s["images"]:
        facts.append("no image files")
    elif s["image_files"] != s["images_on_disk"]:
        facts.append(f"{s['image_files']} image files")
    if s.get("images_in_csv"):
        facts.append(f"{s['images_in_csv']} in dataset.csv")
    if "fractured" in s:
        facts.append(f"{s['fractured']} fractured / {s['non_fractured']} not")
    if s["header_errors"]:
        facts.append(f"[yellow]{s['header_errors']} unreadable or truncated image headers[/]")
    console.print("  " + ", ".join(facts))
    if s["files_in_two_folders"]:
        console.print(f"  [yellow]in both image folders:[/] {_esc(', '.join(s['files_in_two_folders']))}")
    console.print(f"  labels: {_esc(', '.join(s['labels'])) or '[dim]none[/]'}")
    if s["splits"] and set(s["splits"]) != {"none"}:
        console.print("  splits: " + ", ".join(f"{k} {v}" for k, v in s["splits"].items()))

    # Every column but the labels keeps its full width (never dropped or cut at 80 columns);
    # a long label list wraps inside its own column.
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    rows = [(escape(name), src["format"], src["geometry"], str(src["objects"]), str(src["images"]),
             str(src["images_with_objects"])) for name, src in s["sources"].items()]  # fmt: skip
    for i, (col, just) in enumerate((("source", "left"), ("format", "left"), ("geometry", "left"), ("objects", "right"),
                                     ("images", "right"), ("with objects", "right"))):  # fmt: skip
        width = max([len(col)] + [len(r[i]) for r in rows])
        table.add_column(col, justify=just, no_wrap=True, min_width=width)
    table.add_column("labels", justify="left", overflow="fold", ratio=1)
    for name, src in s["sources"].items():
        table.add_row(_esc(name), src["format"], src["geometry"], str(src["objects"]), str(src["images"]),
                      str(src["images_with_objects"]), _esc(", ".join(src["labels"])))  # fmt: skip
    if s["sources"]:
        console.print()
        console.print(table)
        for name, src in s["sources"].items():
            console.print(f"  [dim]{_esc(name)}: {_esc(_relative(src.get('file'), s.get('root')))}[/]", soft_wrap=True)
            if src["format"] == "yolo" and not src["labels"] and src["objects"]:
                console.print(f"  [yellow]{_esc(name)}: no class names (no labels.txt / classes.txt); pass --names[/]")
            if src.get("normalized"):
                console.print(f"  [yellow]{_esc(name)}: {src['normalized']} objects stay normalised (image sizes unknown)[/]")
    problems = s["problems"]
    console.print()
    if not problems:
        console.print("[green]No reading problems.[/]")
        return
    console.print(f"[bold]{len(problems)} reading problem{'s' if len(problems) != 1 else ''}[/]")
    shown = problems if limit <= 0 else problems[:limit]
    for p in shown:
        sev = p.get("severity") or "error"
        image = f" [{_esc(str(p['image']))}]" if p.get("image") else ""
        console.print(
            f"  [{SEVERITY_STYLE.get(sev, '')}]{sev}[/] {_esc(str(p.get('kind') or ''))} "
            f"[bold]{_esc(p['location'])}[/]{image}: {_esc(str(p.get('message') or ''))}",
            soft_wrap=True,
        )
    if limit > 0 and len(problems) > limit:
        console.print(f"[dim]... and {len(problems) - limit} more (use --limit 0 or --json)[/]")


@click.command("info", epilog=EPILOG)
@click.argument("path", type=click.Path())
@click.option("--format", "--input-format", "-f", "input_format", default=None, metavar="F",
              help=f"Input format instead of detecting it ({', '.join(FORMATS)}).")  # fmt: skip
@click.option("--names", default=None, metavar="A,B", help="YOLO class names in index order, comma-separated (when no labels.txt / classes.txt).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (format, images, sources, labels, splits, problems ...).")
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True, help="Reading problems shown in the terminal (0: all).")
@images_option
@cluster_options
@progress_option
@verbose_option
def info_cmd(path: str, input_format: str | None, names: str | None, as_json: bool, limit: int, images: str | None, scheduler: str | None, workers: int | None, verbose: bool) -> None:
    """Show what PATH holds: format, images, objects per source, labels, splits, and every
    reading problem with its file and line or element.

    PATH is a FracAtlas archive (or the folder holding FracAtlas/), a makesense export
    (COCO or VGG JSON, VOC or YOLO zip, rect CSV), a folder of VOC XML / YOLO txt files, a
    folder with one reader's makesense exports, a Roboflow COCO root (train/ valid/ test/),
    a CVAT export (annotations/ + images/), an Ultralytics predict folder (images + labels/),
    or a folder of images. An export's images are found beside it, in its images/ folder, or
    in --images DIR.
    """
    from ..formats import read

    with handle_errors(verbose), execution(scheduler, workers):
        name_list = [n.strip() for n in names.split(",")] if names else None
        dataset = read(path, format=input_format, names=name_list, images=images)
        s = info_summary(dataset)
        if as_json:
            echo_json(s)
        else:
            _render(s, limit)


commands = [info_cmd]
