"""Plots of a dataset for the HTML report, rendered with matplotlib (Agg) to PNG data URIs.

Every function takes tables (never reads files) and returns ``(title, data_uri)`` or None
when there is nothing to plot. Figures are built with :class:`matplotlib.figure.Figure`
directly, so no pyplot global state and no GUI backend is involved.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..model import Dataset

from .thumbs import PALETTE

#: dataset.csv columns shown as body parts and views.
BODY_PARTS: tuple[str, ...] = ("hand", "leg", "hip", "shoulder", "mixed")
VIEWS: tuple[str, ...] = ("frontal", "lateral", "oblique")
_FRACTURED = "#d55e00"
_NON = "#56b4e9"

Plot = tuple[str, str]


def _figure(w: float = 5.0, h: float = 3.2) -> "Figure":
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=90, layout="constrained")
    return fig


def _to_uri(fig: "Figure") -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def source_colors(names: Sequence[str]) -> dict[str, str]:
    """The colour of each source, the same in plots, thumbnails and the legend."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def image_size_table(ds: "Dataset") -> pd.DataFrame:
    """Width and height per image (float, NaN unknown): the EXIF-corrected header size, else
    the first size a source declares (COCO ``images``, VOC ``<size>``) when the file is absent."""
    size = ds.images[["width", "height"]].apply(pd.to_numeric, errors="coerce").astype("float64")
    for src in ds.sources.values():
        if not size.isna().any().any():
            break
        declared = src.images[["width", "height"]].apply(pd.to_numeric, errors="coerce").astype("float64")
        declared = declared[~declared.index.duplicated()]
        size = size.fillna(declared.reindex(size.index))
    return size


def _boxes(ds: "Dataset", name: str) -> pd.DataFrame:
    obj = ds.sources[name].objects
    px = obj[obj["units"] == "px"]
    w = (px["x1"] - px["x0"]).to_numpy(dtype=float)
    h = (px["y1"] - px["y0"]).to_numpy(dtype=float)
    return pd.DataFrame({"image": px["image"].to_numpy(dtype=object), "cx": (px["x0"] + px["x1"]).to_numpy() / 2,
                         "cy": (px["y0"] + px["y1"]).to_numpy() / 2, "w": w, "h": h})


def objects_per_image(ds: "Dataset") -> Plot | None:
    """Histogram of objects per image for each source (images without objects count as 0)."""
    if not ds.sources or not len(ds.images):
        return None
    colors = source_colors(list(ds.sources))
    fig = _figure()
    ax = fig.add_subplot()
    keys = ds.images.index
    top = 0
    counts = {}
    for name, src in ds.sources.items():
        vc = src.objects["image"].value_counts().reindex(keys, fill_value=0).to_numpy()
        counts[name] = vc
        top = max(top, int(vc.max()) if len(vc) else 0)
    bins = np.arange(top + 2) - 0.5
    n = len(counts)
    width = 0.8 / max(n, 1)
    for i, (name, vc) in enumerate(counts.items()):
        hist, _ = np.histogram(vc, bins=bins)
        ax.bar(np.arange(top + 1) - 0.4 + width * (i + 0.5), hist, width=width, color=colors[name], label=name)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("objects in the image")
    ax.set_ylabel("images")
    ax.set_xticks(np.arange(top + 1))
    ax.legend(fontsize=8)
    return "Objects per image", _to_uri(fig)


def object_sizes(ds: "Dataset") -> Plot | None:
    """Box size (square root of the area, px) and aspect ratio (width / height, log scale)."""
    data = {n: _boxes(ds, n) for n in ds.sources}
    data = {n: b[(b["w"] > 0) & (b["h"] > 0) & np.isfinite(b["w"]) & np.isfinite(b["h"])] for n, b in data.items()}
    data = {n: b for n, b in data.items() if len(b)}
    if not data:
        return None
    colors = source_colors(list(ds.sources))
    fig = _figure(7.5, 3.0)
    ax1, ax2 = fig.subplots(1, 2)
    all_size = np.concatenate([np.sqrt(b["w"] * b["h"]) for b in data.values()])
    all_ar = np.concatenate([np.log2(b["w"] / b["h"]) for b in data.values()])
    size_bins = np.linspace(0, max(float(all_size.max()), 1.0), 30)
    lim = max(float(np.abs(all_ar).max()), 1.0)
    ar_bins = np.linspace(-lim, lim, 30)
    for name, b in data.items():
        ax1.hist(np.sqrt(b["w"] * b["h"]), bins=size_bins, histtype="step", color=colors[name], label=name, linewidth=1.5)
        ax2.hist(np.log2(b["w"] / b["h"]), bins=ar_bins, histtype="step", color=colors[name], label=name, linewidth=1.5)
    ax1.set_xlabel("box size: sqrt(w x h), px")
    ax1.set_ylabel("objects")
    ax2.set_xlabel("aspect ratio log2(w / h)")
    ax1.legend(fontsize=8)
    return "Object size and aspect ratio", _to_uri(fig)


def position_heatmap(ds: "Dataset") -> Plot | None:
    """Where object centres fall on the normalised image (0..1 on both axes), all sources."""
    if not len(ds.images):
        return None
    size = image_size_table(ds)
    w, h = size["width"], size["height"]
    panels = []
    for name in ds.sources:
        b = _boxes(ds, name)
        if not len(b):
            continue
        iw = w.reindex(b["image"]).to_numpy(dtype=float, na_value=np.nan)
        ih = h.reindex(b["image"]).to_numpy(dtype=float, na_value=np.nan)
        x = b["cx"].to_numpy() / iw
        y = b["cy"].to_numpy() / ih
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            panels.append((name, x[ok], y[ok]))
    if not panels:
        return None
    panels = panels[:4]
    fig = _figure(2.4 * len(panels) + 0.8, 2.8)
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    im = None
    for ax, (name, x, y) in zip(axes, panels):
        hist, _, _ = np.histogram2d(y, x, bins=24, range=[[0, 1], [0, 1]])
        im = ax.imshow(hist, extent=(0, 1, 1, 0), cmap="magma", aspect="equal", interpolation="nearest")
        ax.set_title(f"{name} ({len(x)})", fontsize=9)
        ax.set_xlabel("x / width", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("y / height", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.8, label="objects")
    return "Object centres on the normalised image", _to_uri(fig)


def image_sizes(ds: "Dataset") -> Plot | None:
    """Image width against height (EXIF-corrected); marker area grows with the count."""
    if not len(ds.images):
        return None
    sizes = image_size_table(ds).dropna()
    if not len(sizes):
        return None
    vc = sizes.value_counts()
    wh = np.array([list(k) for k in vc.index], dtype=float)
    n = vc.to_numpy(dtype=float)
    fig = _figure(4.2, 3.2)
    ax = fig.add_subplot()
    ax.scatter(wh[:, 0], wh[:, 1], s=8 + 120 * np.sqrt(n / n.max()), alpha=0.6, color="#0072b2", edgecolors="none")
    for (x, y), c in list(zip(wh, n))[:6]:
        ax.annotate(f"{int(x)}x{int(y)}: {int(c)}", (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("width, px")
    ax.set_ylabel("height, px")
    return "Image sizes", _to_uri(fig)


def _stacked(ax: Any, labels: list[str], frac: np.ndarray, non: np.ndarray, title: str) -> None:
    x = np.arange(len(labels))
    ax.bar(x, non, color=_NON, label="not fractured")
    ax.bar(x, frac, bottom=non, color=_FRACTURED, label="fractured")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8, rotation=20)
    ax.set_title(title, fontsize=9)


def distribution(ds: "Dataset") -> Plot | None:
    """Images per split, per body part and per view, split into fractured and not."""
    img = ds.images
    if not len(img):
        return None
    fractured = pd.to_numeric(img["fractured"], errors="coerce").fillna(-1).to_numpy() if "fractured" in img else None
    panels = []
    split = img["split"].astype(object).where(img["split"].notna(), "none").to_numpy(dtype=object) if "split" in img else None
    if split is not None:
        labels = sorted(set(split), key=lambda s: ({"train": 0, "val": 1, "valid": 1, "test": 2}.get(s, 3), s))
        panels.append(("split", labels, [split == s for s in labels]))
    for title, cols in (("body part", BODY_PARTS), ("view", VIEWS)):
        present = [c for c in cols if c in img]
        if present:
            masks = [pd.to_numeric(img[c], errors="coerce").fillna(0).to_numpy() > 0 for c in present]
            panels.append((title, present, masks))
    if not panels:
        return None
    fig = _figure(2.6 * len(panels) + 0.6, 3.0)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (title, labels, masks) in zip(axes, panels):
        if fractured is not None:
            frac = np.array([int((m & (fractured == 1)).sum()) for m in masks])
            non = np.array([int(m.sum()) for m in masks]) - frac
        else:
            frac = np.zeros(len(masks), dtype=int)
            non = np.array([int(m.sum()) for m in masks])
        _stacked(ax, labels, frac, non, title)
    axes[0].set_ylabel("images")
    axes[-1].legend(fontsize=7)
    return "Images per split, body part and view", _to_uri(fig)


def dataset_plots(ds: "Dataset") -> list[Plot]:
    """Every dataset plot that has data, in report order."""
    out = []
    for f in (objects_per_image, object_sizes, position_heatmap, image_sizes, distribution):
        p = f(ds)
        if p is not None:
            out.append(p)
    return out


def f1_vs_iou(curves: Mapping[str, Mapping[float, float]]) -> Plot | None:
    """Agreement F1 against the IoU threshold, one line per geometry (``{"box": {0.1: 0.9, ...}}``)."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    fig = _figure(4.5, 3.0)
    ax = fig.add_subplot()
    for i, (name, pts) in enumerate(curves.items()):
        xs = sorted(float(t) for t in pts)
        ys = [float(pts[t]) if t in pts else float(pts[str(t)]) for t in sorted(pts, key=float)]
        ax.plot(xs, ys, marker="o", color=PALETTE[(i + 4) % len(PALETTE)], label=name)
    ax.set_xlabel("IoU threshold")
    ax.set_ylabel("agreement F1")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return "Agreement F1 against the IoU threshold", _to_uri(fig)
