"""The learnable archive is a clean FracAtlas-shaped archive, and the x/y-swap control
moves every object off its mark (what makes the e2e control meaningful)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from fracatlas_annot.formats import read

from tests.trainer._e2e import swap_xy


def test_archive_reads_clean_and_sources_agree(learnable: Path) -> None:
    ds = read(learnable)
    assert ds.format == "fracatlas" and ds.problems.empty
    assert ds.images["split"].value_counts().to_dict() == {"train": 24, "val": 10, "test": 6}
    coco, voc, yolo = (ds.sources[n].objects.sort_values(["image", "x0"]).reset_index(drop=True) for n in ("coco", "voc", "yolo"))
    assert len(coco) == len(voc) == len(yolo) > 40
    cols = ["x0", "y0", "x1", "y1"]
    assert np.abs(coco[cols].to_numpy() - voc[cols].to_numpy()).max() <= 0.5  # VOC rounds to integers
    assert np.abs(coco[cols].to_numpy() - yolo[cols].to_numpy()).max() < 0.01  # YOLO: 6 decimals
    assert shapely.is_valid(coco["geometry"].to_numpy()).all()
    assert (ds.images["fracture_count"].astype(int).groupby(level=0).sum()
            == coco.groupby("image").size().reindex(ds.images.index, fill_value=0)).all()


def test_swapped_objects_leave_their_marks(learnable: Path) -> None:
    ds = read(learnable)
    for source in ("coco", "voc"):
        before = ds.sources[source].objects
        after = swap_xy(ds, source).sources[source].objects
        a = shapely.box(*(before[c].to_numpy() for c in ("x0", "y0", "x1", "y1")))
        b = shapely.box(*(after[c].to_numpy() for c in ("x0", "y0", "x1", "y1")))
        assert shapely.area(shapely.intersection(a, b)).max() == 0.0, source
        np.testing.assert_array_equal(after[["x0", "y0"]].to_numpy(), before[["y0", "x0"]].to_numpy())
    g0, g1 = ds.sources["coco"].objects["geometry"], swap_xy(ds, "coco").sources["coco"].objects["geometry"]
    np.testing.assert_allclose(shapely.bounds(g1.to_numpy())[:, [1, 0, 3, 2]], shapely.bounds(g0.to_numpy()))
