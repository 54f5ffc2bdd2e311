"""``fracatlas-annot agree``: how well two readers agree, where they disagree, and a consensus."""

from __future__ import annotations

import math
import os
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from ._common import (
    console,
    echo_json,
    err_console,
    handle_errors,
    progress_option,
    verbose_option,
)

EPILOG = """\b
Examples:
  fracatlas-annot agree fixtures/readers/reader-1 fixtures/readers/reader-2 \\
      --meta fixtures/fracatlas-mini/dataset.csv
  fracatlas-annot agree r1/labels_coco.json r2/labels_coco.json --geometry mask --iou 0.5
  fracatlas-annot agree reader-1/ reader-2/ --meta dataset.csv --out adjudication \\
      --consensus intersect --unmatched queue

\b
Each reader is any export the readers understand (a makesense COCO/VGG JSON, a VOC or
YOLO zip, a rect CSV, or a folder holding a reader's exports). Masks come from the
polygon export (COCO, else VGG); boxes from the rectangle export (VOC, else CSV, else
YOLO), or from the polygons' extents when there is none.

makesense writes nothing for an image without labels: pass --meta dataset.csv so that
images neither reader labelled count as agreed negatives (kappa needs them). An export
cannot tell an image read and left empty from one never opened: --seen-a / --seen-b
(one image name a line) say which images each reader read; the others are reported as
read by one reader only and left out of the statistics.

With --model PRED, the model is a third reader: model vs each reader and vs their
consensus (objects both drew, intersected), beside reader vs reader, at --conf and across
the --sweep thresholds (kappa: an image is positive for the model when a prediction
scores at least the threshold; F1 at each --iou; mean IoU and Dice), and the images where
the model disagrees with both readers who agree (model-queue.csv/.json with --out).

With --out DIR: disagreements.csv and disagreements.json (the adjudication queue, worst
first), agreement.json, and with --consensus a COCO JSON of the consensus written by
`convert` (plus consensus-queue.csv with --unmatched queue).

Exit codes: 0 done (disagreements are results, not errors), 2 unreadable input or bad
command line.
"""


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers like 0.1,0.3,0.5, got {text!r}") from None
    if not vals or any(not (0 < v <= 1) for v in vals):
        raise click.BadParameter(f"IoU thresholds must be in (0, 1], got {text!r}")
    return vals


def _names(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise click.BadParameter(f"expected two different names like reader-1,reader-2, got {text!r}")
    return parts[0], parts[1]


@click.command("agree", epilog=EPILOG)
@click.argument("reader_a", type=click.Path(exists=True))
@click.argument("reader_b", type=click.Path(exists=True))
@click.option("--names", default="reader-1,reader-2", show_default=True, help="Names of the two readers (A,B).")
@click.option("--iou", "iou", default="0.1,0.3,0.5", show_default=True, help="IoU thresholds for instance matching.")
@click.option("--geometry", type=click.Choice(["box", "mask", "both"]), default="both", show_default=True, help="Compare boxes, polygon masks, or both.")
@click.option("--meta", type=click.Path(exists=True), default=None, help="dataset.csv (or the archive folder holding it): all images, body part and view.")
@click.option("--consensus", "method", type=click.Choice(["intersect", "union", "mean", "prefer-a", "prefer-b"]), default=None, help="Build a consensus from the matched pairs.")
@click.option("--unmatched", type=click.Choice(["keep", "drop", "queue"]), default="queue", show_default=True, help="Consensus: what to do with objects only one reader drew.")
@click.option("--seen-a", type=click.Path(exists=True, dir_okay=False), default=None, help="Text file: the images reader A read, one name a line (makesense exports cannot tell).")
@click.option("--seen-b", type=click.Path(exists=True, dir_okay=False), default=None, help="Text file: the images reader B read, one name a line.")
@click.option("--model", "model", type=click.Path(exists=True), default=None, help="A model's predictions as a third reader: an Ultralytics labels/ folder (save_conf), a COCO results JSON, or the output of `fracatlas-annot predict`.")
@click.option("--images", "model_images", type=click.Path(exists=True), default=None, help="The folder of the readers' image files when their exports do not hold them (matched by base name), also the images --model predicted on; or, for --model, a COCO JSON mapping image ids to file names.")
@click.option("--conf", type=click.FloatRange(0, 1), default=0.25, show_default=True, help="--model: confidence threshold of the model's predictions.")
@click.option("--sweep", default="0.05:0.95:0.05", show_default=True, help="--model: confidence thresholds of the sweep (start:stop:step, a list, or none).")
@click.option("--ignore-labels", is_flag=True, help="Match objects whatever their labels (no label-mismatch).")
@click.option("--top", type=click.IntRange(0), default=15, show_default=True, help="Disagreements shown in the terminal.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Write disagreements.csv/.json, agreement.json (and the consensus) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of tables.")
@progress_option
@verbose_option
def agree_cmd(
    reader_a: str,
    reader_b: str,
    names: str,
    iou: str,
    geometry: str,
    meta: str | None,
    method: str | None,
    unmatched: str,
    seen_a: str | None,
    seen_b: str | None,
    model: str | None,
    model_images: str | None,
    conf: float,
    sweep: str,
    ignore_labels: bool,
    top: int,
    out_dir: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Compare two readers' annotations of the same X-rays: image-level agreement
    (2x2 table, Cohen's kappa with 95% CI, positive/negative specific agreement),
    instance agreement per IoU threshold (Hungarian matching; TP/FP/FN, F1, mean IoU and
    Dice), breakdowns by body part, view and object size, and the disagreements, worst
    first: the adjudication queue for the senior reader."""
    thresholds = _floats(iou)
    reader_names = _names(names)
    with handle_errors(verbose):
        from ..agreement import agree, read_image_list
        from ..runtime.atomic import check_not_input

        if out_dir:  # refuse before reading: --out must not be, hold or lie inside an input
            check_not_input(out_dir, [reader_a, reader_b, meta, seen_a, seen_b])
        seen = None
        if seen_a or seen_b:
            seen = tuple(read_image_list(p) if p else None for p in (seen_a, seen_b))
        a: Any = reader_a
        b: Any = reader_b
        if model_images and os.path.isdir(model_images):  # the readers' exports find their images there
            from ..formats import read, takes_images

            a, b = (read(r, images=model_images) if takes_images(r) else r for r in (reader_a, reader_b))
        result = agree(
            a,
            b,
            names=reader_names,
            iou=thresholds,
            geometry=geometry,
            meta=meta,
            label_aware=not ignore_labels,
            seen=seen,
            model=model,
            conf=conf,
            sweep=sweep,
            model_images=model_images,
        )
        consensus = result.consensus(method, unmatched) if method else None
        written = result.write(out_dir, consensus=consensus) if out_dir else []
    if as_json:
        data = result.to_dict(consensus=consensus)
        data["written"] = written
        echo_json(data)
        return
    _print_tables(result, consensus, top)
    if result.model is not None:
        _print_model(result.model, top)
    for w in written:
        err_console.print(f"wrote {w}", markup=False)


# --------------------------------------------------------------------------- terminal


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _print_tables(result: Any, consensus: Any, top: int) -> None:
    na, nb = result.names
    lvl = result.image_level
    t = lvl["table"]
    table = Table(title=f"Image level (fracture present): {lvl['n']} images read by both", title_justify="left")
    table.add_column("")
    table.add_column(f"{nb}: fracture", justify="right")
    table.add_column(f"{nb}: none", justify="right")
    table.add_row(f"{na}: fracture", str(t["both_positive"]), str(t["a_only_positive"]))
    table.add_row(f"{na}: none", str(t["b_only_positive"]), str(t["both_negative"]))
    console.print(table)
    ci = lvl["kappa_ci95"]
    kappa = _fmt(lvl["kappa"]) + (f" (95% CI {_fmt(ci[0])} to {_fmt(ci[1])})" if lvl["kappa_reason"] is None else f" ({lvl['kappa_reason']})")
    console.print(
        f"raw agreement {_fmt(lvl['raw_agreement'])}   kappa {kappa}\n"
        f"positive agreement {_fmt(lvl['positive_agreement'])}   negative agreement {_fmt(lvl['negative_agreement'])}",
        markup=False,
    )
    for key, who in (("images_only_a", na), ("images_only_b", nb)):
        if lvl[key]:
            shown = ", ".join(lvl[key][:8]) + (f" ... (+{len(lvl[key]) - 8})" if len(lvl[key]) > 8 else "")
            console.print(f"only {who} read {len(lvl[key])} image(s): {shown}", markup=False)

    inst = Table(title="Instance level (one-to-one matching maximising IoU)", title_justify="left")
    for c in ("geometry", "IoU >=", f"{na}", f"{nb}", "TP", f"FN (missed by {nb})", f"FP (only {nb})", "label mism.", "F1", "mean IoU", "mean Dice"):
        inst.add_column(c, justify="right" if c != "geometry" else "left")
    for row in result.instance.to_dict("records"):
        inst.add_row(
            row["geometry"], f"{row['iou']:g}", str(row["objects_a"]), str(row["objects_b"]), str(row["tp"]), str(row["fn"]), str(row["fp"]),
            str(row["label_mismatch"]), _fmt(row["f1"]), _fmt(row["mean_iou"]), _fmt(row["mean_dice"]),
        )
    console.print(inst)

    b_img = result.breakdowns["image_level"]
    if len(b_img):
        bt = Table(title="Image level by body part and view", title_justify="left")
        for c in ("by", "group", "images", "both +", f"{na} only", f"{nb} only", "both -", "agreement", "kappa"):
            bt.add_column(c, justify="left" if c in ("by", "group") else "right")
        for row in b_img.to_dict("records"):
            bt.add_row(
                row["by"], row["group"], str(row["images"]), str(row["both_positive"]), str(row["a_only_positive"]), str(row["b_only_positive"]),
                str(row["both_negative"]), _fmt(row["raw_agreement"]), _fmt(row["kappa"]),
            )
        console.print(bt)
    b_inst = result.breakdowns["instance"]
    if len(b_inst):
        mid = result.thresholds[len(result.thresholds) // 2]
        sub = b_inst[(b_inst["iou"] == mid) & ((b_inst["objects_a"] + b_inst["objects_b"]) > 0)]
        it = Table(title=f"Instance F1 by group at IoU {mid:g}", title_justify="left")
        for c in ("by", "group", "geometry", f"{na}", f"{nb}", "FN", "FP", "F1"):
            it.add_column(c, justify="left" if c in ("by", "group", "geometry") else "right")
        for row in sub.to_dict("records"):
            it.add_row(row["by"], row["group"], row["geometry"], str(row["objects_a"]), str(row["objects_b"]), str(row["fn"]), str(row["fp"]), _fmt(row["f1"]))
        console.print(it)

    d = result.disagreements
    counts = result.disagreement_counts()
    dt = Table(title=escape(f"Disagreements: {len(d)} ({', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}); worst first"), title_justify="left")
    for c in ("image", "kind", "geometry", "IoU", "where", "message"):
        dt.add_column(c)
    for row in d.head(top).to_dict("records"):
        where = "; ".join(x for x in (row["ref_a"], row["ref_b"]) if isinstance(x, str))
        dt.add_row(escape(str(row["image"])), row["kind"], row["geometry"] or "image", _fmt(row["iou"], 2), escape(where), escape(str(row["message"])))
    console.print(dt)
    if len(d) > top:
        console.print(f"... {len(d) - top} more (use --out DIR for the full queue)", markup=False)
    if consensus is not None:
        from ..agreement import consensus_summary

        s = consensus_summary(consensus)
        console.print(
            f"consensus ({s['method']}, IoU >= {s['iou']:g}, unmatched: {s['unmatched']}): {s['objects']} object(s) on {s['images']} image(s); "
            f"pairs {s['pairs']}, kept unmatched {s['kept_unmatched']}, dropped {s['dropped']}, queued {s['queued']}",
            markup=False,
        )
    for note in result.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)


def _print_model(m: Any, top: int) -> None:
    """The model as a third reader: a compact table at --conf, the sweep, the model queue."""
    g = m.geometries[0] if m.geometries else None
    img, inst = m.at()
    t = Table(title=escape(f"Model as a third reader at conf {m.conf:g} ({g or 'no'} objects): {m.source}"), title_justify="left")
    for c in ("comparison", "images", "kappa", *(f"F1@{x:g}" for x in m.thresholds), "mean IoU", "mean Dice"):
        t.add_column(c, justify="left" if c == "comparison" else "right")
    for row in img.to_dict("records"):
        sub = inst[(inst["comparison"] == row["comparison"]) & (inst["geometry"] == g)]
        f1 = [_fmt(v) for v in sub["f1"]] if len(sub) else ["-"] * len(m.thresholds)
        first = sub.iloc[0] if len(sub) else {"mean_iou": None, "mean_dice": None}
        t.add_row(escape(row["comparison"]), str(row["images"]), _fmt(row["kappa"]), *f1, _fmt(first["mean_iou"]), _fmt(first["mean_dice"]))
    console.print(t)
    if len(m.sweep) > 1 and g is not None:
        mid = m.thresholds[len(m.thresholds) // 2]
        refs = [c for c in m.comparisons[1:]]
        st = Table(title=f"Sweep: kappa and F1@{mid:g} ({g}) per confidence threshold", title_justify="left")
        for c in ("conf", "positive images", *(f"kappa {r.split(' vs ')[1]}" for r in refs), *(f"F1 {r.split(' vs ')[1]}" for r in refs)):
            st.add_column(escape(c), justify="right")
        im, ins = m.image_level, m.instance
        for c in m.sweep:
            ki = im[im["conf"] == c].set_index("comparison")
            fi = ins[(ins["conf"] == c) & (ins["geometry"] == g) & (ins["iou"] == mid)].set_index("comparison")
            st.add_row(f"{c:g}", str(ki.loc[refs[0], "positive_compared"]), *(_fmt(ki.loc[r, "kappa"]) for r in refs), *(_fmt(fi.loc[r, "f1"]) for r in refs))
        console.print(st)
    q = m.queue
    counts = ", ".join(f"{k} {v}" for k, v in q["kind"].value_counts().items()) or "none"
    qt = Table(title=escape(f"Model disagrees with both readers: {len(q)} ({counts}); worst first"), title_justify="left")
    for c in ("image", "kind", "geometry", "score", "IoU", "message"):
        qt.add_column(c)
    for row in q.head(top).to_dict("records"):
        qt.add_row(escape(str(row["image"])), row["kind"], row["geometry"] or "image", _fmt(row["score"], 2), _fmt(row["iou"], 2), escape(str(row["message"])))
    console.print(qt)
    if len(q) > top:
        console.print(f"... {len(q) - top} more (use --out DIR for model-queue.csv)", markup=False)


commands = [agree_cmd]
