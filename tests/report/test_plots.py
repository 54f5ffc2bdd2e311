"""Plots: each one renders to a real PNG from the tables, or is left out when there is no data."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from fracatlas_annot.model import Dataset
from fracatlas_annot.report import plots as P


def png(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert im.format == "PNG"
    return im


def test_every_dataset_plot_renders(small_dataset: Dataset) -> None:
    plots = P.dataset_plots(small_dataset)
    titles = [t for t, _ in plots]
    assert titles == [
        "Objects per image",
        "Object size and aspect ratio",
        "Object centres on the normalised image",
        "Image sizes",
        "Images per split, body part and view",
    ]
    for _, uri in plots:
        im = png(uri)
        assert im.width > 200 and im.height > 150
        assert np.asarray(im.convert("L")).std() > 5  # not a blank canvas


def test_plots_without_objects_or_metadata(small_dataset: Dataset) -> None:
    ds = small_dataset
    bare = Dataset(images=ds.images[["path", "width", "height"]], sources={}, root=ds.root)
    assert P.objects_per_image(bare) is None
    assert P.object_sizes(bare) is None
    assert P.position_heatmap(bare) is None
    assert P.distribution(bare) is None  # no split, no dataset.csv columns
    assert P.image_sizes(bare) is not None
    assert P.dataset_plots(Dataset()) == []


def test_heatmap_ignores_objects_of_images_without_size(small_dataset: Dataset) -> None:
    ds = small_dataset
    ds.images["width"] = np.nan  # no image size known: centres cannot be normalised
    assert P.position_heatmap(ds) is None


def test_f1_curve() -> None:
    assert P.f1_vs_iou({}) is None
    title, uri = P.f1_vs_iou({"box": {0.1: 0.9, 0.3: 0.8, 0.5: 0.5}, "mask": {0.1: 0.85, 0.5: 0.4}})
    assert "F1" in title
    png(uri)


def test_source_colours_are_stable() -> None:
    c = P.source_colors(["coco", "voc", "yolo"])
    assert c == P.source_colors(["coco", "voc", "yolo"]) and len(set(c.values())) == 3


def test_sizes_fall_back_to_declared_sizes_when_files_are_absent(small_dataset: Dataset) -> None:
    from fracatlas_annot.model import make_source_images

    ds = small_dataset
    keys = list(ds.images.index)
    ds.images["width"] = np.nan
    ds.images["height"] = np.nan
    ds.sources["coco"].images = make_source_images(keys[:3], width=[373, 454, 373], height=[454, 373, 454])
    size = P.image_size_table(ds)
    assert size.loc[keys[1]].tolist() == [454.0, 373.0]
    assert size.loc[keys[5]].isna().all()
    assert P.position_heatmap(ds) is not None and P.image_sizes(ds) is not None
