"""FA8xx: two-reader agreement rules, on hand-built reader sources and the committed exports."""

from __future__ import annotations

from agreement.builders import basic_readers, fixture_reader, make_source


def _findings(dataset, select="FA8"):
    from fracatlas_annot.checks import CheckContext, load_all, select_rules
    from fracatlas_annot.checks.registry import run_rules

    load_all()
    return run_rules(CheckContext(dataset, fast=True, progress=False), select_rules(select))


def test_fa8xx_rules_on_two_reader_sources():
    from fracatlas_annot.model import Dataset

    a, b = basic_readers()
    a.name, b.name = "reader-1", "reader-2"
    f = _findings(Dataset(sources={"reader-1": a, "reader-2": b}))
    # same conflicts as test_disagreements_sorted_worst_first_with_origins, on masks
    assert f["code"].value_counts().to_dict() == {"FA801": 2, "FA802": 1, "FA803": 2, "FA806": 1}
    missed = f[f["code"] == "FA801"].sort_values("image")
    assert missed[["image", "source", "object", "file", "loc"]].values.tolist() == [
        ["3.jpg", "reader-1", 3, "a.json", "annotations[3]"],
        ["4.jpg", "reader-2", 3, "b.json", "annotations[3]"],
    ]
    assert (f.loc[f["code"] != "FA806", "severity"] == "warning").all()
    low = f[f["code"] == "FA802"].iloc[0]
    assert low["image"] == "2.jpg" and "IoU 0.33" in low["message"]
    summary = f[f["code"] == "FA806"].iloc[0]["message"]
    assert "kappa 0.17" in summary and "mask F1 0.75 at IoU 0.1, 0.50 at IoU 0.5" in summary


def test_fa8xx_rules_group_sources_by_reader_and_fire_only_with_two_readers(fixtures_dir):
    from fracatlas_annot.checks.readers import reader_groups
    from fracatlas_annot.model import Dataset

    r1 = fixture_reader(fixtures_dir, "reader-1")
    r2 = fixture_reader(fixtures_dir, "reader-2")
    sources = {f"reader-1/{k}": v for k, v in r1.sources.items()} | {f"reader-2/{k}": v for k, v in r2.sources.items()}
    ds = Dataset(sources=sources)
    assert sorted(reader_groups(ds)) == ["reader-1", "reader-2"]
    f = _findings(ds)
    # without dataset.csv the sparse exports count absent images as negative for each other
    # (11 images listed in all): IMG0000021 and IMG0000078 differ at image level
    assert sorted(f.loc[f["code"] == "FA803", "image"]) == ["IMG0000021.jpg", "IMG0000078.jpg"]
    assert sorted(f.loc[f["code"] == "FA801", "image"]) == ["IMG0000021.jpg", "IMG0000023.jpg", "IMG0000030.jpg", "IMG0000078.jpg"]
    assert f.loc[f["code"] == "FA802", "image"].tolist() == ["IMG0000026.jpg"]
    assert set(f.loc[f["code"] == "FA801", "source"]) == {"reader-1/coco", "reader-2/coco"}
    only_one = Dataset(sources={"coco": r1.sources["coco"], "voc": r1.sources["voc"]})
    assert len(_findings(only_one)) == 0


def test_validate_runs_fa8xx_on_an_archive_with_readers_added(fixtures_dir):
    from fracatlas_annot.agreement import add_readers
    from fracatlas_annot.formats import read
    from fracatlas_annot.validate import validate

    root = fixtures_dir / "readers"
    ds = add_readers(read(fixtures_dir / "fracatlas-mini"), root / "reader-1", root / "reader-2")
    assert {s.meta.get("reader") for s in ds.sources.values()} >= {"reader-1", "reader-2"}
    f = validate(ds, select="FA8", fast=True, progress=False).findings
    # with the archive's dataset.csv (40 images) the planted disagreements, on polygons:
    assert sorted(f.loc[f["code"] == "FA803", "image"]) == ["IMG0000021.jpg", "IMG0000078.jpg"]
    assert sorted(f.loc[f["code"] == "FA801", "image"]) == ["IMG0000021.jpg", "IMG0000023.jpg", "IMG0000030.jpg", "IMG0000078.jpg"]
    assert f.loc[f["code"] == "FA802", "image"].tolist() == ["IMG0000026.jpg"]
    assert set(f.loc[f["code"] == "FA801", "source"]) == {"reader-1/coco", "reader-2/coco"}
    summary = f.loc[f["code"] == "FA806", "message"].iloc[0]
    assert "40 images read by both, kappa 0.87" in summary


def test_fa805_label_mismatch_and_fa804_image_read_once():
    from fracatlas_annot.model import Dataset

    a = make_source("reader-1", [("1.jpg", 0, 0, 10, 10), ("2.jpg", 0, 0, 10, 10)], ["1.jpg", "2.jpg", "3.jpg"], labels=["fractured", "fractured"])
    b = make_source("reader-2", [("1.jpg", 0, 0, 10, 10)], ["1.jpg", "3.jpg"], labels=["hardware"])
    f = _findings(Dataset(sources={"reader-1": a, "reader-2": b}))
    codes = f.set_index("code")
    assert codes.loc["FA805", "image"] == "1.jpg" and "'fractured'" in codes.loc["FA805", "message"] and "'hardware'" in codes.loc["FA805", "message"]
    # both lists hold an image without objects (3.jpg), so 2.jpg, absent from reader-2's list, was read once
    assert codes.loc["FA804", "image"] == "2.jpg"
    assert "FA801" not in codes.index  # the object on 2.jpg is not a miss: reader-2 never read the image

