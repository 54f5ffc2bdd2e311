"""FA104 on heights: a box with zero or negative *height* (and a positive width) is degenerate."""

from __future__ import annotations

import pytest

from .builders import box_source, dataset, run

A = "IMG0000019.jpg"


@pytest.mark.parametrize(
    ("box", "message"),
    [
        pytest.param((120, 80, 140, 80), "box width 20 px, height 0 px", id="zero-height"),
        pytest.param((120, 95, 140, 80), "box width 20 px, height -15 px", id="negative-height"),
    ],
)
def test_zero_or_negative_height_is_reported(box: tuple[int, int, int, int], message: str) -> None:
    voc = box_source([(A, (10, 10, 30, 30)), (A, box)])
    f = run("FA104", dataset({A: {}}, [voc]))
    assert f["object"].tolist() == [1]
    assert f.iloc[0].message == message


def test_yolo_zero_height_in_normalised_units() -> None:
    yolo = box_source([(A, (0.2, 0.5, 0.4, 0.5))], name="yolo", class_ids=[0], units="norm")
    f = run("FA104", dataset({A: {}}, [yolo]))
    assert f["object"].tolist() == [0]
    assert "height 0" in f.iloc[0].message
