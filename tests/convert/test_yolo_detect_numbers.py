"""yolo-detect label lines checked number by number against the source boxes.

Each written line must be ``class cx cy w h`` with the centre and size divided by the image's
own width (x) and height (y), six decimals. The images are not square and the boxes not
centred or square, so swapping x and y, width and height, or centre and corner changes a number.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fracatlas_annot.cli import main

#: image -> (width, height, [(label, xmin, ymin, xmax, ymax), ...])
BOXES = {
    "IMG0000101.jpg": (400, 300, [("fractured", 10, 20, 110, 60), ("fractured", 250, 200, 399, 299)]),
    "IMG0000102.jpg": (373, 454, [("fractured", 0, 7, 37, 26), ("healed", 100, 300, 130, 454)]),
    "IMG0000103.jpg": (454, 373, []),
}


def voc_xml(name: str, width: int, height: int, objects: list[tuple[str, int, int, int, int]]) -> str:
    objs = "".join(
        f"<object><name>{lab}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
        f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for lab, x0, y0, x1, y1 in objects
    )
    return (f"<annotation><folder>t</folder><filename>{name}</filename><size><width>{width}</width>"
            f"<height>{height}</height><depth>1</depth></size><segmented>0</segmented>{objs}</annotation>")  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("yolo-numbers")
    src = tmp / "voc"
    src.mkdir()
    for name, (w, h, objs) in BOXES.items():
        (src / (name[:-4] + ".xml")).write_text(voc_xml(name, w, h, objs))
    out = tmp / "det"
    assert main(["convert", str(src), str(out), "--to", "yolo-detect", "--split", "none", "--allow-lossy"]) == 0
    return out


def expected_lines(image: str) -> list[list[float]]:
    w, h, objs = BOXES[image]
    names = sorted({lab for _, _, objs_ in BOXES.values() for lab, *_ in objs_}, key=["fractured", "healed"].index)
    return [[names.index(lab), (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]
            for lab, x0, y0, x1, y1 in objs]  # fmt: skip


@pytest.mark.parametrize("image", list(BOXES))
def test_each_number_of_each_line(written: Path, image: str) -> None:
    files = list(written.glob(f"labels/*/{image[:-4]}.txt"))
    assert len(files) == 1, f"one label file for {image}, found {files}"
    lines = [ln.split() for ln in files[0].read_text().splitlines() if ln.strip()]
    want = expected_lines(image)
    assert len(lines) == len(want)
    for got, exp in zip(lines, want):
        assert got[0] == str(exp[0])
        for token, value in zip(got[1:], exp[1:]):
            assert len(token.split(".")[1]) == 6, f"{token}: six decimals"
            assert float(token) == pytest.approx(value, abs=5e-7), (image, got, exp)


def test_class_names_follow_the_class_indices(written: Path) -> None:
    import yaml

    doc = yaml.safe_load((written / "data.yaml").read_text())
    assert doc["names"] == {0: "fractured", 1: "healed"}
