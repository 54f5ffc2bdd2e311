"""``fracatlas-annot validate`` and ``fracatlas-annot rules``."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from ..formats.registry import FORMATS
from ..report.outputs import OUTPUT_FORMATS
from ..report.outputs.text import SEVERITY_STYLE
from ._common import (
    NO_PROGRESS,
    cluster_options,
    console,
    echo_json,
    execution,
    handle_errors,
    images_option,
    verbose_option,
)

VALIDATE_EPILOG = """\b
Examples:
  fracatlas-annot validate fixtures/fracatlas-mini
  fracatlas-annot validate FracAtlas/ --fast --select FA1,FA2 --ignore FA505
  fracatlas-annot validate labels_fracture_2024-01-01-10-00-00.json -f coco --output-format json
  fracatlas-annot validate FracAtlas/ --strict        # warnings fail too (CI gate)
  fracatlas-annot validate FracAtlas/ --fast --output-format github   # annotations in a GitHub job
  fracatlas-annot validate FracAtlas/ --output-format sarif > fracatlas.sarif
  fracatlas-annot validate FracAtlas/ --readers exports/reader-1 exports/reader-2
  fracatlas-annot rules FA105                         # what a code means

\b
--select / --ignore take codes (FA105), prefixes (FA1, FA10, FA) or rule names
(object-outside-image), comma-separated or repeated. As in ruff, more specific
selectors win: `--select FA1 --ignore FA105` drops FA105, `--select FA105 --ignore FA1`
keeps it.

\b
Exit codes: 0 no errors (warnings and infos allowed), 1 errors found (or warnings with
--strict), 2 the input could not be read or the command line is wrong.
"""


def _print_text(doc: dict[str, Any], limit: int) -> None:
    from ..report.outputs import text_lines

    for line in text_lines(doc, width=console.width, limit=limit):
        console.print(line, soft_wrap=True)  # already wrapped: a location stays with its finding


@click.command("validate", epilog=VALIDATE_EPILOG)
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--input-format",
    "-f",
    "input_format",
    default=None,
    help=f"Input format ({', '.join(FORMATS)}); detected when omitted.",
)
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS),
    default="text",
    show_default=True,
    help="text (coloured, by rule), concise (a line per finding), json (schema in the README), "
    "json-lines, github (workflow commands), gitlab (Code Quality), sarif (2.1.0), junit (XML). "
    "--format is an alias.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --output-format json.")
@click.option("--select", multiple=True, help="Rules to run: codes, prefixes or names (default: all).")
@click.option("--ignore", multiple=True, help="Rules to skip: codes, prefixes or names.")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("--fast", is_flag=True, help="Skip pixel-level work (decoding and hashing image contents).")
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Findings shown per rule in the terminal (0: all).",
)
@click.option(
    "--names",
    default=None,
    help="YOLO class names in index order, comma-separated (a makesense YOLO zip has no labels.txt).",
)
@click.option(
    "--readers",
    nargs=2,
    type=click.Path(exists=True),
    default=None,
    metavar="A B",
    help="Two readers' own exports of the same images: adds the FA8 two-reader agreement rules.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@images_option
@cluster_options
@verbose_option
def validate_cmd(
    path: str,
    input_format: str | None,
    output_format: str,
    as_json: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool,
    fast: bool,
    limit: int,
    names: str | None,
    readers: tuple[str, str] | None,
    no_progress: bool,
    images: str | None,
    scheduler: str | None,
    workers: int | None,
    verbose: bool,
) -> None:
    """Check an annotated dataset with the FA rule catalogue before training.

    PATH is a FracAtlas-shaped archive folder, a makesense export (COCO/VGG JSON, VOC or
    YOLO zip or folder, rect CSV), or a folder of exports. Findings are reported per rule
    with image, source and location; see `fracatlas-annot rules` for the catalogue.
    """
    from ..validate import validate

    if no_progress:
        click.get_current_context().find_root().meta[NO_PROGRESS] = True
    with handle_errors(verbose), execution(scheduler, workers):
        target: Any = path
        if readers or names or images:
            from ..formats import read

            class_names = [n.strip() for n in names.split(",")] if names else None
            target = read(path, format=input_format, names=class_names, images=images)
        if readers:
            from ..agreement import add_readers

            target = add_readers(target, readers[0], readers[1])
        result = validate(
            target, select=list(select) or None, ignore=list(ignore) or None, fast=fast,
            progress=not no_progress, input_format=input_format,
        )  # fmt: skip
        doc = result.to_json()
        if as_json or output_format == "json":
            echo_json(doc)
        elif output_format == "text":
            _print_text(doc, limit)
        else:
            from ..report.outputs import render

            click.echo(render(doc, output_format), nl=False)
        raise SystemExit(result.exit_code(strict))


RULES_EPILOG = """\b
Examples:
  fracatlas-annot rules                 # the catalogue as a table
  fracatlas-annot rules FA105           # one rule's explanation
  fracatlas-annot rules object-outside-image
  fracatlas-annot rules --json          # every rule with its explanation, as JSON
"""


@click.command("rules", epilog=RULES_EPILOG)
@click.argument("code", required=False)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print rules as JSON (code, name, severity, family, summary, explanation, status).",
)
@verbose_option
def rules_cmd(code: str | None, as_json: bool, verbose: bool) -> None:
    """List the validate rules, or explain one (by code or name)."""
    from ..checks import load_all
    from ..checks.registry import RULES, rule_by_name_or_code

    with handle_errors(verbose):
        load_all()
        if code:
            r = rule_by_name_or_code(code)
            if as_json:
                echo_json(r.to_dict())
                return
            click.echo(f"# {r.name} ({r.code})\n")
            click.echo(
                f"Family: {r.family}. Default severity: {r.severity}. Status: {r.status}."
                + (" Skipped with --fast." if r.needs_pixels else "")
            )
            click.echo()
            click.echo(r.summary)
            click.echo()
            click.echo(r.explanation)
            return
        rules = [RULES[c] for c in sorted(RULES)]
        if as_json:
            echo_json([r.to_dict() for r in rules])
            return
        # Families are section rows, so the summary keeps the width on an 80-column terminal.
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("code", no_wrap=True)
        table.add_column("name", no_wrap=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("summary", ratio=1, overflow="fold")
        family = None
        for r in rules:
            if r.family != family:
                family = r.family
                table.add_row("", f"[bold]{escape(str(family))}[/]", "", "")
            sev = str(r.severity)
            table.add_row(r.code, r.name, f"[{SEVERITY_STYLE[sev]}]{sev[0].upper()}[/]", escape(r.summary))
        console.print(table)
        console.print("Severity: E error, W warning, I info.  `fracatlas-annot rules CODE` explains one rule.")


commands = [validate_cmd, rules_cmd]
