"""The format registry (formats/registry.py): every writable format round-trips, and a format
registered in one place shows up in detection, ``read``, the CLI and ``convert``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from fracatlas_annot.cli import main
from fracatlas_annot.convert import convert
from fracatlas_annot.formats import read
from fracatlas_annot.formats.detect import detect
from fracatlas_annot.formats.registry import (
    FORMATS,
    Format,
    label_order,
    normalize_format,
    positives_only,
    size_order,
    source_preference,
    targets,
    writer_of,
)
from fracatlas_annot.model import Problem, Source, make_objects, make_source_images

from _mini import MINI, read_mini


@pytest.fixture(scope="module")
def mini_ds():
    return read_mini()


# --------------------------------------------------------------------------- round trip


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    """Objects in a stable order: by image, then by the box's top-left corner."""
    return frame.assign(_x=frame["x0"].round(0), _y=frame["y0"].round(0)).sort_values(["image", "_x", "_y"]).reset_index(drop=True)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))


@pytest.mark.parametrize("target", targets())
def test_every_writable_format_round_trips(mini_ds, tmp_path, target):
    """Write fracatlas-mini with the target's writer, read it back with the same format's
    reader: same image keys, same objects (or image classes), same geometry within a tolerance."""
    fmt = writer_of(target)
    out = tmp_path / "out"
    manifest = convert(mini_ds, to=target, out=out, allow_lossy=True, progress=False)
    # a layout is read as a folder; a single-document format from the file the writer names first
    path = out if fmt.read_source is None else out / manifest["outputs"][0]
    back = fmt.read_dataset(path)
    assert detect(path) == fmt.name and read(path).format == fmt.name  # detection finds what was written
    assert set(back.images.index) == set(mini_ds.images.index)
    source = mini_ds.sources[manifest["inputs"]["source"]]
    if fmt.geometry == "none":  # image-level: the class of each image is what the plan decided
        positives = set(source.objects["image"])
        assert set(back.images.index[back.images["class"] == "fractured"]) == positives
        return
    assert back.sources and all(len(s.objects) == len(source.objects) == manifest["counts"]["objects_out"]
                                for s in back.sources.values())
    orig = _key(source.objects)
    for name, src in back.sources.items():
        got = _key(src.objects)
        assert got["image"].tolist() == orig["image"].tolist(), name
        assert (got["units"] == "px").all(), name
        has_polygons = ~shapely.is_missing(got["geometry"].to_numpy())
        if has_polygons.all():
            assert _iou(got["geometry"].to_numpy(), orig["geometry"].to_numpy()).min() > 0.999, name
        else:
            assert not has_polygons.any(), name
            cols = ["x0", "y0", "x1", "y1"]
            # box formats round to whole pixels (VOC) or 6 decimals of the image size (YOLO)
            assert np.abs(got[cols].to_numpy(float) - orig[cols].to_numpy(float)).max() <= 1.0, name


# --------------------------------------------------------------------------- derived lists


def test_derived_preferences_keep_the_orders_the_code_had():
    assert source_preference() == ("coco", "consensus", "vgg", "voc", "yolo", "csv")
    assert source_preference("polygon")[:2] == ("coco", "vgg")
    assert source_preference("box") == ("voc", "csv", "yolo")
    assert label_order() == ("coco", "yolo", "voc", "csv", "vgg")
    assert size_order() == ("voc", "csv", "coco")
    assert {"coco", "vgg"} <= positives_only() and not {"voc", "yolo"} & positives_only()
    assert set(targets()) == {"yolo-detect", "yolo-seg", "coco", "voc", "yolo-cls", "makesense"}


def test_a_format_needs_a_reader_and_a_known_geometry():
    with pytest.raises(ValueError, match="needs read or read_source"):
        Format(name="x", summary="x")
    with pytest.raises(ValueError, match="geometry must be one of"):
        Format(name="x", summary="x", read_source=lambda p, **k: None, geometry="mask")


# --------------------------------------------------------------------------- a made-up format

TINY_HEADER = "# tiny v1: image x0 y0 x1 y1 label\n"


def _read_tiny(path: Path, *, name: str = "tiny", base: Path | None = None) -> tuple[Source, list[Problem]]:
    """A toy export: one box per line, pixels."""
    rows, problems = [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            problems.append(Problem("bad-value", f"{len(parts)} fields", file=Path(path).name, line=number))
            continue
        rows.append((parts[0], *map(float, parts[1:5]), parts[5], number))
    image, x0, y0, x1, y1, label, lines = zip(*rows) if rows else ((),) * 7
    objects = make_objects({"image": list(image), "label": list(label), "x0": list(x0), "y0": list(y0), "x1": list(x1),
                            "y1": list(y1), "file": [Path(path).name] * len(rows), "line": list(lines),
                            "loc": [f"line {n}" for n in lines]})
    keys = list(dict.fromkeys(image))
    src = Source(name=name, format="tiny", objects=objects, images=make_source_images(keys), geometry="box",
                 labels=list(dict.fromkeys(label)), path=str(path))
    return src, problems


def _write_tiny(plan, tmp: Path, final: Path) -> dict:
    """Writes ``labels.tiny``: the clamped box of every object."""
    boxes, keep = plan.boxes(plan.geometry(record=False))
    plan.recorder.raise_if_lossy(plan.allow_lossy)
    rows = np.flatnonzero(keep)
    objects = plan.objects
    lines = [f"{objects['image'].iat[i]} {' '.join(f'{v:.3f}' for v in boxes[i])} {plan.names[objects['cls'].iat[i]]}"
             for i in rows]
    (tmp / "labels.tiny").write_text(TINY_HEADER + "\n".join(lines) + "\n")
    written = pd.DataFrame({"image": objects["image"].to_numpy(dtype=object)[rows], "cls": objects["cls"].to_numpy()[rows]})
    return {"counts": plan.counts(written), "files": ["labels.tiny"]}


TINY = Format(
    name="tiny", summary="a toy box list (.tiny)", aliases=("toy",), read_source=_read_tiny, suffixes=(".tiny",),
    sniff=lambda p: int(p.read_text()[:7] == "# tiny "), write=_write_tiny, writes="labels.tiny",
    geometry="box", source_rank=45, labels_rank=9, makesense_export=(".tiny",),
)


@pytest.fixture
def tiny(monkeypatch):
    """The toy format registered for one test: one entry in FORMATS, no other module touched."""
    monkeypatch.setitem(FORMATS, "tiny", TINY)
    return TINY


def test_a_registered_format_is_detected_read_and_named_everywhere(tiny, tmp_path, capsys):
    f = tmp_path / "boxes.tiny"
    f.write_text(TINY_HEADER + "IMG0000019.jpg 10 20 40 60 fractured\nIMG0000021.jpg 5 5 9 9 fractured\n")
    assert detect(f) == "tiny" and normalize_format("TOY") == "tiny"
    ds = read(f)
    assert ds.format == "tiny" and len(ds.sources["tiny"].objects) == 2 and ds.labels == ["fractured"]
    assert main(["info", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "tiny"
    assert "tiny" in source_preference() and "tiny" in source_preference("box")
    # a makesense export folder may hold it too
    folder = tmp_path / "reader"
    folder.mkdir()
    (folder / "labels_p_2024-01-01-00-00-00.tiny").write_text(f.read_text())
    assert detect(folder) == "makesense" and "tiny" in read(folder).sources


def test_a_registered_writer_is_a_convert_target_and_a_cli_choice(tiny, mini_ds, tmp_path, capsys):
    assert "tiny" in targets()
    assert main(["convert", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "tiny" in help_text.split("--to", 1)[1].split("Target format")[0]  # offered by --to
    out = tmp_path / "t"
    assert main(["convert", str(MINI), str(out), "--to", "tiny", "--source", "voc", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["target"] == "tiny" and manifest["outputs"] == ["labels.tiny", "manifest.json"]
    back = read(out / "labels.tiny")
    voc = mini_ds.sources["voc"].objects
    assert len(back.sources["tiny"].objects) == len(voc) == manifest["counts"]["objects_out"]
    assert set(back.sources["tiny"].objects["image"]) == set(voc["image"])
    # the API takes it too, and an unregistered name is still refused
    convert(mini_ds, to="tiny", out=tmp_path / "api", source="voc", progress=False)
    assert main(["convert", str(MINI), str(tmp_path / "x"), "--to", "tinyy"]) == 2
