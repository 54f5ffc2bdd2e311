"""The FracAtlas archive layout (v6, v7) read into a Dataset; counts from the fixture manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fracatlas_annot.formats import fracatlas, read

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MINI = FIXTURES / "fracatlas-mini"
V7 = FIXTURES / "fracatlas-v7"


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


@pytest.fixture(scope="module")
def mini():
    return read(MINI)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    dst = tmp_path / "FracAtlas"
    shutil.copytree(MINI, dst)
    return dst


def test_mini_counts_match_the_manifest(mini) -> None:
    m = _manifest(MINI)
    assert mini.format == "fracatlas" and mini.meta["version"] == "v6"
    assert len(mini.images) == m["images"] and int(mini.images["in_csv"].sum()) == m["images"]
    assert mini.images["path"].notna().all() and len(mini.files) == m["image_files"]
    for name, counts in m["sources"].items():
        assert mini.sources[name].counts()["objects"] == counts["objects"], name
        assert mini.sources[name].counts()["images"] == counts["images"], name
    assert int((mini.images["fractured"] == 1).sum()) == m["fractured"]
    assert int(mini.images["fracture_count"].sum()) == m["objects"]
    assert mini.labels == ["fractured"] and len(mini.problems) == 0


def test_splits_from_the_lists(mini) -> None:
    m = _manifest(MINI)
    split = mini.images["split"]
    assert int((split == "train").sum()) == m["splits"]["train"]["images"]
    assert int((split == "val").sum()) == m["splits"]["valid"]["images"]
    assert int((split == "test").sum()) == m["splits"]["test"]["images"]
    assert split[mini.images["fractured"] == 0].isna().all()
    sl = mini.split_lists
    assert set(sl["split"]) == {"train", "valid", "test"}
    first = sl.iloc[0]
    assert first["line"] == 2 and first["file"] == "Utilities/Fracture Split/train.csv"


def test_exif_rotated_images_have_displayed_sizes(mini) -> None:
    m = _manifest(MINI)
    for name, orient in m["orientation"].items():
        row = mini.images.loc[name]
        raw_w, raw_h = m["raw_sizes"][name]
        assert row["orientation"] == orient and (row["raw_width"], row["raw_height"]) == (raw_w, raw_h)
        assert (row["width"], row["height"]) == (raw_h, raw_w)
        declared = mini.sources["coco"].images.loc[name]
        assert (declared["width"], declared["height"]) == (row["width"], row["height"])


def test_yolo_is_scaled_to_pixels_and_matches_voc(mini) -> None:
    yolo = mini.sources["yolo"].objects
    voc = mini.sources["voc"].objects
    assert (yolo["units"] == "px").all()
    a = yolo.sort_values(["image", "x0"]).reset_index(drop=True)
    b = voc.sort_values(["image", "x0"]).reset_index(drop=True)
    assert a["image"].tolist() == b["image"].tolist()
    # v6 VOC is int() of the 4-decimal YOLO box in pixels (pylabel): always at or below it, by < 1 px
    for c in ("x0", "y0", "x1", "y1"):
        d = a[c].to_numpy() - b[c].to_numpy()
        assert d.min() >= -1e-6 and d.max() < 1
    assert (b[["x0", "y0", "x1", "y1"]].to_numpy() == np.floor(a[["x0", "y0", "x1", "y1"]].to_numpy() + 1e-6)).all()


def test_origins_are_relative_to_the_root(mini) -> None:
    assert mini.sources["coco"].objects["file"].iat[0] == "Annotations/COCO JSON/COCO_fracture_masks.json"
    assert mini.sources["voc"].objects["file"].iat[0].startswith("Annotations/PASCAL VOC/")
    assert mini.sources["yolo"].objects["file"].iat[0].startswith("Annotations/YOLO/")


def test_v7_stray_copies_are_kept_in_files_and_paths_follow_the_csv() -> None:
    ds = read(V7)
    m = _manifest(V7)
    assert ds.meta["version"] == "v7" and len(ds.files) == m["image_files"] == m["images"] + 2
    dup = ds.files[ds.files["image"].duplicated(keep=False)]
    assert sorted(dup["image"].unique()) == sorted(m["stray_copies"])
    assert sorted(dup["folder"]) == ["Fractured", "Fractured", "Non_fractured", "Non_fractured"]
    assert len(ds.images) == m["images"] and ds.images.index.is_unique
    for name in m["stray_copies"]:
        assert ds.images.loc[name, "folder"] == "Fractured"
        assert ds.images.loc[name, "path"].endswith(f"images/Fractured/{name}")


def test_parent_folder_holding_fracatlas_is_found(copy: Path) -> None:
    ds = read(copy.parent)
    assert ds.format == "fracatlas" and Path(ds.root) == copy and len(ds.images) == 40


def test_bom_in_dataset_csv(copy: Path) -> None:
    csv = copy / "dataset.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    ds = read(copy)
    assert "fractured" in ds.images.columns and len(ds.problems) == 0
    assert int(ds.images["fractured"].sum()) == 10 and str(ds.images["hand"].dtype) == "Int8"


def test_bad_metadata_cell_and_duplicate_row_are_located(copy: Path) -> None:
    csv = copy / "dataset.csv"
    lines = csv.read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = "yes"
    lines[3] = ",".join(cells)
    lines.append(lines[5])
    csv.write_text("\n".join(lines) + "\n")
    ds = read(copy)
    bad = ds.problems[ds.problems["kind"] == "bad-value"].iloc[0]
    assert bad["file"] == "dataset.csv" and bad["line"] == 4 and bad["loc"] == "hand" and "'yes'" in bad["message"]
    assert pd.isna(ds.images.loc[cells[0], "hand"])
    dup = ds.problems[ds.problems["kind"] == "duplicate-image-id"].iloc[0]
    assert dup["line"] == len(lines) and "line 6" in dup["message"]
    assert len(ds.images) == 40


def test_metadata_columns_take_the_smallest_integer_type_that_holds_them(copy: Path) -> None:
    csv = copy / "dataset.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("fracture_count")] = "300"  # wider than Int8: no wrap-around
    cells[header.index("hip")] = "-129"
    lines[3] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    im = read(copy).images
    assert str(im["fracture_count"].dtype) == "Int16" and int(im.loc[cells[0], "fracture_count"]) == 300
    assert str(im["hip"].dtype) == "Int16" and int(im.loc[cells[0], "hip"]) == -129
    assert str(im["hand"].dtype) == "Int8" and str(im["csv_line"].dtype) == "Int64"
    assert fracatlas.smallest_int([None, 2**40]).dtype == "Int64" and fracatlas.smallest_int([]).dtype == "Int8"


def test_vgg_shapes_are_the_coco_shapes_they_equal(mini) -> None:
    coco, vgg = mini.sources["coco"].objects, mini.sources["vgg"].objects
    by_wkb = {(k, g.wkb): g for k, g in zip(coco["image"], coco["geometry"]) if g is not None}
    pairs = [(by_wkb.get((k, g.wkb)), g) for k, g in zip(vgg["image"], vgg["geometry"]) if g is not None]
    assert pairs and all(c is g for c, g in pairs)  # the same shapely object, not an equal copy


def test_vgg_shape_without_a_coco_twin_is_built_from_its_own_bytes(copy: Path) -> None:
    path = copy / "Annotations" / "VGG JSON" / "VGG_fracture_masks.json"
    doc = json.loads(path.read_text())
    entry = next(e for e in doc.values() if e["regions"])
    region = entry["regions"][0] if isinstance(entry["regions"], list) else next(iter(entry["regions"].values()))
    region["shape_attributes"]["all_points_x"][0] += 1
    path.write_text(json.dumps(doc))
    ds = read(copy)
    coco, vgg = ds.sources["coco"].objects, ds.sources["vgg"].objects
    ids = {id(g) for g in coco["geometry"]}
    own = [g for g in vgg["geometry"] if g is not None and id(g) not in ids]
    assert len(own) == 1
    assert int(own[0].exterior.coords[0][0]) == int(region["shape_attributes"]["all_points_x"][0])


def test_voc_and_yolo_image_files_named_after_the_image_are_derived_not_stored(copy: Path) -> None:
    from fracatlas_annot.formats import voc, yolo

    one = copy / "Annotations" / "PASCAL VOC" / "IMG0000019.xml"
    one.rename(one.with_name("renamed.xml"))  # its <filename> still says IMG0000019.jpg
    ds = read(copy)
    for name, reader, folder in (("voc", voc, "PASCAL VOC"), ("yolo", yolo, "YOLO")):
        src = ds.sources[name]
        plain, _ = reader.read(copy / "Annotations" / folder, name=name, base=copy)  # every file stored
        assert plain.file_pattern is None and plain.images["file"].notna().all()
        stored = src.images["file"]
        assert src.file_pattern == (f"Annotations/{folder}/", ".xml" if name == "voc" else ".txt")
        assert src.derive_files(stored, src.images.index).tolist() == plain.images["file"].tolist()
        assert stored.isna().sum() == len(stored) - (name == "voc")  # only the renamed file is kept
    assert ds.sources["voc"].images["file"].dropna().tolist() == ["Annotations/PASCAL VOC/renamed.xml"]


def test_findings_on_a_derived_image_file_name_the_file(copy: Path) -> None:
    import fracatlas_annot as fa

    csv = copy / "dataset.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    row = next(i for i, ln in enumerate(lines[1:], 1) if ln.split(",")[header.index("fracture_count")] == "1")
    cells = lines[row].split(",")
    cells[header.index("fracture_count")] = "2"
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    stem = cells[0].rpartition(".")[0]
    found = fa.validate(copy, select=["FA403"], progress=False).findings
    files = set(found.loc[found["image"] == cells[0], "file"])
    assert {f"Annotations/PASCAL VOC/{stem}.xml", f"Annotations/YOLO/{stem}.txt"} <= files


def test_image_missing_from_disk_uses_declared_sizes_for_yolo(copy: Path) -> None:
    m = _manifest(MINI)
    name = next(n for n in m["fractured_images"] if n not in m["orientation"])
    (copy / "images" / "Fractured" / name).unlink()
    ds = read(copy)
    row = ds.images.loc[name]
    assert row["path"] is None and "not found" in row["header_error"] and pd.isna(row["width"])
    yolo = ds.sources["yolo"].objects
    voc = ds.sources["voc"].objects
    y = yolo[yolo["image"] == name].iloc[0]
    v = voc[voc["image"] == name].iloc[0]
    assert y["units"] == "px" and abs(y["x1"] - v["x1"]) <= 0.5 + 1e-3


def test_image_not_in_the_csv_is_listed(copy: Path) -> None:
    shutil.copy(copy / "images" / "Non_fractured" / "IMG0000019.jpg", copy / "images" / "Non_fractured" / "IMG0009999.jpg")
    ds = read(copy)
    assert not ds.images.loc["IMG0009999.jpg", "in_csv"] and ds.images.loc["IMG0009999.jpg", "path"] is not None
    assert pd.isna(ds.images.loc["IMG0009999.jpg", "fractured"])


def test_broken_annotation_files_are_problems_not_crashes(copy: Path) -> None:
    (copy / "Annotations" / "COCO JSON" / "COCO_fracture_masks.json").write_bytes(b'{"images": [')
    (copy / "Annotations" / "YOLO" / "IMG0000019.txt").write_bytes(b"0 0.5 0.5 0.1\n")
    ds = read(copy)
    files = set(ds.problems["file"])
    assert "Annotations/COCO JSON/COCO_fracture_masks.json" in files
    assert "Annotations/YOLO/IMG0000019.txt" in files
    assert len(ds.sources["voc"].objects) == 13


def test_is_root_and_find_root(tmp_path: Path) -> None:
    assert fracatlas.is_root(MINI) and not fracatlas.is_root(tmp_path)
    assert fracatlas.find_root(tmp_path) is None


def _same_dataset(a, b) -> None:
    pd.testing.assert_frame_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.problems, b.problems)
    assert list(a.sources) == list(b.sources)
    for name in a.sources:
        sa, sb = a.sources[name], b.sources[name]
        assert (sa.format, sa.labels, sa.geometry, sa.path) == (sb.format, sb.labels, sb.geometry, sb.path)
        pd.testing.assert_frame_equal(sa.images, sb.images)
        pd.testing.assert_frame_equal(sa.objects.drop(columns="geometry"), sb.objects.drop(columns="geometry"))
        ga, gb = sa.objects["geometry"].to_numpy(), sb.objects["geometry"].to_numpy()
        assert [None if g is None else g.wkb for g in ga] == [None if g is None else g.wkb for g in gb]


@pytest.mark.parametrize("break_vgg", [False, True])
def test_json_sources_read_in_worker_processes_equal_the_in_process_read(copy: Path, monkeypatch, break_vgg: bool) -> None:
    """Big COCO/VGG documents are parsed in forked workers (memory, issue 13): the same
    dataset, problems in the same order, as parsing them here."""
    from fracatlas_annot.runtime import parallel

    if break_vgg:
        vgg = next((copy / fracatlas.VGG_DIR).glob("*.json"))
        vgg.write_bytes(vgg.read_bytes()[:-40])
        (copy / fracatlas.VOC_DIR / "broken.xml").write_bytes(b"<annotation><object>")
    here = read(copy)
    calls: list[int] = []
    real = parallel.run_chunks

    def counting(func, chunks):
        if func is fracatlas._read_json_chunk:
            calls.append(len(chunks))
        return real(func, chunks)

    monkeypatch.setattr(fracatlas, "JSON_ISOLATE_BYTES", 0)
    monkeypatch.setattr(parallel, "run_chunks", counting)
    with parallel.use_workers(2):
        isolated = read(copy)
    assert calls == [2]  # the COCO and the VGG document, one worker each
    _same_dataset(here, isolated)
    assert (isolated.problems["source"] == "vgg").any() == break_vgg
