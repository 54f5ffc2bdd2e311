"""Splits: official lists kept, negatives drawn in the official proportions by body part,
stratified draws reproducible and proportional, duplicate groups never split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fracatlas_annot.errors import UsageError
from fracatlas_annot.splits import body_part, make_splits, parse_ratios

PARTS = ["hand", "leg", "hip", "shoulder", "mixed"]


def _images(n: int = 1000, seed: int = 0, frac: float = 0.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    part = rng.choice(PARTS, size=n, p=[0.4, 0.3, 0.1, 0.1, 0.1])
    df = pd.DataFrame({p: (part == p).astype(int) for p in PARTS})
    df["fractured"] = (rng.random(n) < frac).astype(int)
    df.index = pd.Index([f"IMG{i:07d}.jpg" for i in range(n)], dtype=object, name="image")
    return df


def _lists(images: pd.DataFrame, sizes=(0.8, 0.1, 0.1)) -> pd.DataFrame:
    fr = images.index[images["fractured"] == 1].tolist()
    a, b = int(len(fr) * sizes[0]), int(len(fr) * (sizes[0] + sizes[1]))
    rows = [("train", k) for k in fr[:a]] + [("valid", k) for k in fr[a:b]] + [("test", k) for k in fr[b:]]
    return pd.DataFrame(rows, columns=["split", "image"])


def test_official_keeps_every_listed_image():
    im = _images()
    lists = _lists(im)
    t = make_splits(im, method="official", split_lists=lists, seed=0)
    want = lists.set_index("image")["split"].map({"train": "train", "valid": "val", "test": "test"})
    assert (t.loc[want.index, "split"] == want).all()
    assert (t.loc[want.index, "reason"] == "official-list").all()


def test_official_draws_negatives_in_list_proportions_by_body_part():
    im = _images(4000, frac=0.2)
    lists = _lists(im, sizes=(574 / 717, 82 / 717, 61 / 717))
    t = make_splits(im, method="official", split_lists=lists, seed=3)
    neg = t[t["reason"] == "drawn"]
    share = neg["split"].value_counts(normalize=True)
    listed = lists["split"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(listed["train"], abs=0.01)
    assert share["val"] == pytest.approx(listed["valid"], abs=0.01)
    assert share["test"] == pytest.approx(listed["test"], abs=0.01)
    for stratum, g in neg.groupby("stratum"):
        if len(g) > 100:
            assert g["split"].value_counts(normalize=True)["train"] == pytest.approx(listed["train"], abs=0.02), stratum


def test_official_without_lists_is_a_usage_error():
    with pytest.raises(UsageError, match="stratified or none"):
        make_splits(_images(50), method="official")


@pytest.mark.parametrize("ratios", [(0.8, 0.1, 0.1), (0.7, 0.3, 0.0), (0.5, 0.25, 0.25)])
def test_stratified_proportions_per_stratum(ratios):
    im = _images(3000, seed=1)
    t = make_splits(im, method="stratified", ratios=ratios, seed=7)
    for stratum, g in t.groupby("stratum"):
        share = g["split"].value_counts().reindex(["train", "val", "test"], fill_value=0).to_numpy()
        expect = np.asarray(ratios) * len(g)
        assert np.all(np.abs(share - expect) <= 1.0 + 1e-9), (stratum, share, expect)
    assert set(t["stratum"]) >= {"fractured/hand", "non_fractured/leg", "non_fractured/mixed"}


def test_seed_reproducible_and_seed_matters():
    im = _images(500)
    a = make_splits(im, method="stratified", seed=1)
    b = make_splits(im, method="stratified", seed=1)
    c = make_splits(im, method="stratified", seed=2)
    assert a.equals(b)
    assert not a["split"].equals(c["split"])


def test_duplicate_groups_never_split():
    im = _images(600)
    keys = im.index.to_numpy()
    # chains: a byte group and a near group sharing one image form one unit
    groups = pd.DataFrame({"image": [keys[0], keys[1], keys[1], keys[2], keys[3], keys[10], keys[11], keys[12]],
                           "group": [0, 0, 1, 1, 1, 2, 2, 2], "kind": ["byte"] * 2 + ["near"] * 3 + ["pixel"] * 3})
    for seed in range(20):
        t = make_splits(im, method="stratified", seed=seed, groups=groups)
        assert t.loc[keys[[0, 1, 2, 3]], "split"].nunique() == 1
        assert t.loc[keys[[10, 11, 12]], "split"].nunique() == 1
        assert t.loc[keys[0], "group"] == t.loc[keys[3], "group"] != t.loc[keys[10], "group"]
        assert t.loc[keys[100], "group"] is None


def test_duplicate_group_spanning_official_lists_is_gathered_and_reported():
    im = _images(300)
    lists = _lists(im)
    tr = lists[lists["split"] == "train"]["image"].tolist()
    te = lists[lists["split"] == "test"]["image"].tolist()
    neg = im.index[im["fractured"] == 0][:1].tolist()
    groups = pd.DataFrame({"image": [tr[0], tr[1], te[0], neg[0]], "group": [5] * 4, "kind": ["near"] * 4})
    t = make_splits(im, method="official", split_lists=lists, groups=groups)
    assert (t.loc[[tr[0], tr[1], te[0], neg[0]], "split"] == "train").all()
    assert t.loc[te[0], "reason"] == "duplicate-group" and t.loc[te[0], "listed"] == "test"
    assert t.loc[neg[0], "reason"] == "duplicate-group"


def test_none_puts_everything_in_train():
    t = make_splits(_images(20), method="none")
    assert (t["split"] == "train").all() and (t["reason"] == "none").all()


def test_body_part_strata():
    df = pd.DataFrame({"hand": [1, 0, 1, 0, 0], "leg": [0, 1, 1, 0, 0], "hip": [0] * 5, "shoulder": [0] * 5,
                       "mixed": [0, 0, 0, 0, 1]}, index=list("abcde"))
    assert body_part(df).tolist() == ["hand", "leg", "mixed", "other", "mixed"]
    assert body_part(pd.DataFrame(index=list("ab"))).tolist() == ["unknown", "unknown"]


@pytest.mark.parametrize("text, ok", [("0.8,0.1,0.1", True), ("0.9,0.1", True), ("0.5,0.6,0.1", False), ("a,b,c", False), ("1,-0.5,0.5", False)])
def test_parse_ratios(text, ok):
    if ok:
        assert sum(parse_ratios(text)) == pytest.approx(1)
    else:
        with pytest.raises((UsageError, ValueError)):
            parse_ratios(text)


def test_single_image_strata_land_everywhere_over_seeds():
    im = _images(5)
    seen = set()
    for seed in range(50):
        seen |= set(make_splits(im, method="stratified", ratios=(0.5, 0.25, 0.25), seed=seed)["split"])
    assert seen == {"train", "val", "test"}
