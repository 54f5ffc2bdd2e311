"""``fracatlas-annot report``: a self-contained HTML QA report (and the same content as JSON)."""

from __future__ import annotations

import os

import click

from ._common import (
    cluster_options,
    echo_json,
    execution,
    handle_errors,
    progress_option,
    verbose_option,
)

EPILOG = """\b
Examples:
  fracatlas-annot report fixtures/fracatlas-mini -o report.html
  fracatlas-annot report data/FracAtlas -o qa.html --json qa.json --fast
  fracatlas-annot report data/FracAtlas -o qa.html --readers exports/reader-1 exports/reader-2

The HTML file needs no network and no server: open it in any browser. The JSON holds the
same findings as `validate --format json`, plus the statistics, duplicate groups and
agreement shown in the page. Exit codes: 0 no error-level finding, 1 errors found,
2 unreadable input or bad command line.
"""


@click.command("report", epilog=EPILOG)
@click.argument("path", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("-o", "--output", "out_html", type=click.Path(dir_okay=False), default="report.html", show_default=True, help="Where to write the HTML report.")
@click.option("--json", "out_json", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON to this file ('-' prints it).")
@click.option("--readers", nargs=2, type=click.Path(exists=True), default=None, help="Two readers' exports (A B): adds the agreement section.")
@click.option("--model", type=click.Path(exists=True), default=None, help="With --readers: a model's predictions as a third reader (as in `agree --model`).")
@click.option("--images", "model_images", type=click.Path(exists=True), default=None, help="The folder of PATH's image files when the export does not hold them (matched by base name), also the images --model predicted on; or, for --model, a COCO JSON.")
@click.option("--conf", type=click.FloatRange(0, 1), default=0.25, show_default=True, help="--model: confidence threshold.")
@click.option("--fast", is_flag=True, help="Skip pixel-level checks (no decoding of every image, no pixel hashing).")
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated or repeated), as in validate.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip.")
@click.option("--format", "fmt", default=None, help="Force the input format (as in `info`).")
@click.option("--max-thumbs-per-rule", type=click.IntRange(0), default=48, show_default=True, help="Thumbnails drawn per rule; every finding is still listed.")
@click.option("--max-thumbs", type=click.IntRange(0), default=1500, show_default=True, help="Thumbnails drawn in the whole report.")
@cluster_options
@progress_option
@verbose_option
def report_cmd(
    path: str,
    out_html: str,
    out_json: str | None,
    readers: tuple[str, str] | None,
    model: str | None,
    model_images: str | None,
    conf: float,
    fast: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fmt: str | None,
    max_thumbs_per_rule: int,
    max_thumbs: int,
    scheduler: str | None,
    workers: int | None,
    verbose: bool,
) -> None:
    """Write a self-contained HTML QA report of PATH: summary, findings by rule with
    thumbnails of the flagged images (every source's boxes and polygons drawn, the
    offending object in red), plots, duplicate groups and, with --readers, two-reader
    agreement."""
    with handle_errors(verbose), execution(scheduler, workers):
        from ..formats import read
        from ..report import build_report
        from ..runtime.atomic import check_not_input

        inputs = [path, *(readers or ())]
        for out in (out_html, None if out_json in (None, "-") else out_json):
            if out is not None:  # refuse before reading: never onto an input file
                check_not_input(out, inputs, folder=False)

        from ..formats import takes_images

        folder = model_images if model_images and os.path.isdir(model_images) and takes_images(path, format=fmt) else None
        ds = read(path, format=fmt, images=folder) if fmt else read(path, images=folder)
        data = build_report(
            ds,
            out_html=out_html,
            out_json=None if out_json in (None, "-") else out_json,
            readers=list(readers) if readers else None,
            model=model,
            conf=conf,
            model_images=model_images,
            select=list(select) or None,
            ignore=list(ignore) or None,
            fast=fast,
            max_thumbs_per_rule=max_thumbs_per_rule,
            max_thumbs=max_thumbs,
            progress=True,
        )
    if out_json == "-":
        echo_json(data)
    size = data["html"]["bytes"]
    n_err = sum(1 for f in data["findings"] if f.get("severity") == "error")
    n_warn = sum(1 for f in data["findings"] if f.get("severity") == "warning")
    msg = (
        f"wrote {out_html} ({size / 1024:.1f} KiB; {data['thumbnails']['rendered']} thumbnails, "
        f"{len(data['findings'])} findings: {n_err} errors, {n_warn} warnings)"
    )
    if out_json not in (None, "-"):
        msg += f" and {out_json}"
    click.echo(msg, err=out_json == "-")
    raise SystemExit(1 if n_err else 0)


commands = [report_cmd]
