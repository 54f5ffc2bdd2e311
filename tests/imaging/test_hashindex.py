"""The near-duplicate hash index gives exactly the brute-force pairs and components."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from fracatlas_annot.imaging import hashindex as hx

U64 = np.uint64


def _sorted(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = np.lexsort((b, a))
    return a[o], b[o]


def _brute(h: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain Python reference, independent of the module's popcount."""
    pairs = [(a, b) for a in range(len(h)) for b in range(a + 1, len(h)) if (int(h[a]) ^ int(h[b])).bit_count() <= r]
    if not pairs:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    arr = np.array(pairs, dtype=np.intp)
    return arr[:, 0], arr[:, 1]


def _same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    ga, gb = _sorted(*got)
    wa, wb = _sorted(*want)
    assert len(ga) == len(wa)
    np.testing.assert_array_equal(ga, wa)
    np.testing.assert_array_equal(gb, wb)
    assert (ga < gb).all()


def _flip(rng: np.random.Generator, h: U64, k: int) -> U64:
    for bit in rng.choice(64, size=k, replace=False):
        h ^= U64(1) << U64(int(bit))
    return h


def _clustered(rng: np.random.Generator, n: int, centres: int, max_flips: int) -> np.ndarray:
    c = rng.integers(0, 2**64, size=centres, dtype=U64)
    c[0] |= U64(1) << U64(63)  # a pHash's DC bit is set: the top bit must work
    out = [_flip(rng, c[rng.integers(centres)], int(rng.integers(0, max_flips + 1))) for _ in range(n)]
    return np.array(out, dtype=U64)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _same_partition(x: np.ndarray, y: np.ndarray) -> None:
    assert len(x) == len(y)
    # same partition <=> the pair (x, y) is a bijection between labels
    pairs = set(zip(x.tolist(), y.tolist()))
    assert len(pairs) == len(set(x.tolist())) == len(set(y.tolist()))


RNG_SETS = {
    "uniform": lambda rng: rng.integers(0, 2**64, size=300, dtype=U64),
    "clustered": lambda rng: _clustered(rng, 400, centres=6, max_flips=5),
    "dense-cluster": lambda rng: _clustered(rng, 300, centres=1, max_flips=4),
    "identical": lambda rng: np.concatenate(
        [np.full(150, 0xF0F0_0000_1234_ABCD, dtype=U64), np.full(40, 0xF0F0_0000_1234_ABCC, dtype=U64),
         _clustered(rng, 60, centres=3, max_flips=3)]
    ),
}


@pytest.mark.parametrize("kind", sorted(RNG_SETS))
@pytest.mark.parametrize("r", range(9))
def test_all_pairs_equal_brute_force(kind: str, r: int) -> None:
    h = RNG_SETS[kind](np.random.default_rng(r))
    want = hx.brute_force_pairs(h, r)
    _same(hx.all_pairs(h, r), want)
    if kind != "uniform":
        assert len(want[0]) > 0  # the case exercises real pairs


@pytest.mark.parametrize("r", [0, 1, 6])
def test_brute_force_reference_matches_plain_python(r: int) -> None:
    h = _clustered(np.random.default_rng(7), 120, centres=4, max_flips=4)
    _same(hx.brute_force_pairs(h, r, block=7), _brute(h, r))


@pytest.mark.parametrize("bands", [2, 3, 4, 5, 7])
@pytest.mark.parametrize("layout", ["interleaved", "balanced", "contiguous"])
def test_every_band_plan_is_exact(bands: int, layout: str) -> None:
    h = _clustered(np.random.default_rng(bands), 350, centres=5, max_flips=5)
    distinct, _ = hx.unique_hashes(h)
    p = hx.plan(distinct, 6, bands=bands, layout=layout)
    assert sum(rho + 1 for rho in p.radii) == 7
    assert int(np.bitwise_or.reduce(np.array(p.masks, dtype=object))) == 2**64 - 1
    got_i, got_j = [], []
    for i, j in hx.iter_near_pairs(distinct, 6, band_plan=p, chunk=97):
        got_i.append(i)
        got_j.append(j)
    want = hx.brute_force_pairs(distinct, 6)
    want_i, want_j = want[0][distinct[want[0]] != distinct[want[1]]], want[1][distinct[want[0]] != distinct[want[1]]]
    _same((np.concatenate(got_i), np.concatenate(got_j)), (want_i, want_j))


def test_a_plan_made_on_a_sample_is_rebuilt_for_the_whole_set() -> None:
    h = _clustered(np.random.default_rng(4), 600, centres=5, max_flips=4)
    distinct, _ = hx.unique_hashes(h)
    p = hx.plan(distinct[::3], 6)
    got = [np.concatenate(x) for x in zip(*hx.iter_near_pairs(distinct, 6, band_plan=p))]
    _same((got[0], got[1]), hx.near_pairs(distinct, 6))


def test_near_pairs_are_distinct_hash_pairs_with_stats() -> None:
    h = _clustered(np.random.default_rng(3), 500, centres=8, max_flips=4)
    distinct, inverse = hx.unique_hashes(h)
    np.testing.assert_array_equal(distinct[inverse], h)
    assert (distinct[1:] > distinct[:-1]).all()
    stats: dict = {}
    i, j = hx.near_pairs(distinct, 6, stats=stats)
    d = hx.popcount(distinct[i] ^ distinct[j])
    assert ((d >= 1) & (d <= 6)).all()
    assert stats["pairs"] == len(i) and stats["candidates"] >= len(i)
    assert sum(rho + 1 for rho in stats["radii"]) == 7
    _same((i, j), hx.brute_force_pairs(distinct, 6))


def test_identical_copies_cost_one_hash() -> None:
    h = np.full(4083, 0xC3A5_0F0F_1234_5678, dtype=U64)
    distinct, inverse = hx.unique_hashes(h)
    assert len(distinct) == 1 and (inverse == 0).all()
    stats: dict = {}
    assert len(hx.near_pairs(distinct, 6, stats=stats)[0]) == 0
    assert stats["candidates"] == 0
    labels = hx.near_components(h, 6)
    assert (labels == 0).all()
    a, _b = hx.all_pairs(h[:300], 6)
    assert len(a) == 300 * 299 // 2


@pytest.mark.parametrize("h", [[], [0xFFFF_FFFF_FFFF_FFFF]])
def test_empty_and_single(h: list[int]) -> None:
    a, b = hx.all_pairs(np.array(h, dtype=U64), 6)
    assert len(a) == len(b) == 0
    distinct, _inverse = hx.unique_hashes(h)
    assert len(hx.near_pairs(distinct)[0]) == 0
    assert hx.near_components(h).tolist() == [0] * len(h)
    assert hx.near_components(h, confirm=lambda a, b: np.ones(len(a), bool)).tolist() == [0] * len(h)


def test_small_chunks_give_the_same_pairs() -> None:
    h = _clustered(np.random.default_rng(11), 250, centres=3, max_flips=3)
    distinct, inverse = hx.unique_hashes(h)
    ui, uj = hx.near_pairs(distinct, 6)
    big = [np.concatenate(x) for x in zip(*hx.expand_pairs(inverse, ui, uj))]
    small = [np.concatenate(x) for x in zip(*hx.expand_pairs(inverse, ui, uj, chunk=5))]
    _same((big[0], big[1]), (small[0], small[1]))
    _same((big[0], big[1]), hx.brute_force_pairs(h, 6))


@pytest.mark.parametrize("kind", sorted(RNG_SETS))
def test_components_equal_brute_force(kind: str) -> None:
    h = RNG_SETS[kind](np.random.default_rng(5))
    a, b = hx.brute_force_pairs(h, 6)
    _same_partition(hx.near_components(h, 6), _components(len(h), a, b))


@pytest.mark.parametrize("kind", ["clustered", "identical", "dense-cluster"])
def test_components_with_confirm_equal_confirming_every_pair(kind: str) -> None:
    rng = np.random.default_rng(9)
    h = RNG_SETS[kind](rng)[::2]
    colour = rng.integers(0, 3, size=len(h))  # confirmation: both ends of one colour

    def confirm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        assert (a < b).all()
        return colour[a] == colour[b]

    a, b = hx.brute_force_pairs(h, 6)
    ok = colour[a] == colour[b]
    want = _components(len(h), a[ok], b[ok])
    for batch in (3, 8192):
        stats: dict = {}
        got = hx.near_components(h, 6, confirm=confirm, confirm_batch=batch, chunk=64, stats=stats)
        _same_partition(got, want)
        assert stats["confirm_calls"] <= len(a)
    assert got[0] == 0 and got.max() == len(np.unique(got)) - 1  # numbered by first appearance


def test_confirm_skips_pairs_already_joined() -> None:
    h = np.full(1000, 0x8000_0000_0000_0001, dtype=U64)
    stats: dict = {}
    labels = hx.near_components(h, 6, confirm=lambda a, b: np.ones(len(a), bool), confirm_batch=256, stats=stats)
    assert (labels == 0).all()
    assert stats["confirm_calls"] <= 2 * 256 + 1000  # not the 499,500 pairs of the clique
    with pytest.raises(ValueError, match="one bool per pair"):
        hx.near_components(h[:3], 6, confirm=lambda a, b: np.ones(1, bool))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        list(hx.iter_near_pairs(np.array([5, 3, 5], dtype=U64)))
    with pytest.raises(ValueError, match="radius"):
        hx.all_pairs([1, 2], 65)
    with pytest.raises(ValueError, match="radius"):
        hx.all_pairs([1, 2], -1)
    with pytest.raises(ValueError, match="negative"):
        hx.unique_hashes(np.array([-1, 2]))
    with pytest.raises(ValueError, match="unsigned"):
        hx.unique_hashes([-1, 2])
    with pytest.raises(ValueError, match="unsigned"):
        hx.unique_hashes(np.array([0.5]))
    with pytest.raises(ValueError, match="one-dimensional"):
        hx.unique_hashes(np.zeros((2, 2), dtype=U64))
    with pytest.raises(ValueError, match="bands"):
        hx.plan(np.array([1, 2], dtype=U64), 2, bands=4)
    p = hx.plan(np.array([1, 2, 3], dtype=U64), 2)
    with pytest.raises(ValueError, match="does not cover radius"):
        list(hx.iter_near_pairs(np.array([1, 2, 3], dtype=U64), 6, band_plan=p))
    with pytest.raises(ValueError, match="layout"):
        hx.plan(np.array([1, 2], dtype=U64), 2, layout="diagonal")


def test_python_ints_and_popcount_fallback() -> None:
    h = [2**64 - 1, 2**64 - 2, 0, 2]
    _same(hx.all_pairs(h, 1), (np.array([0, 2]), np.array([1, 3])))
    x = np.random.default_rng(0).integers(0, 2**64, size=1000, dtype=U64)
    np.testing.assert_array_equal(hx._popcount_lut(x), [int(v).bit_count() for v in x])


@st.composite
def hash_sets(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    centres = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=5))
    members = draw(
        st.lists(
            st.tuples(st.integers(0, len(centres) - 1), st.lists(st.integers(0, 63), max_size=6)),
            max_size=60,
        )
    )
    out = []
    for c, bits in members:
        v = centres[c]
        for bit in bits:
            v ^= 1 << bit
        out.append(v)
    return np.array(out, dtype=U64), draw(st.integers(0, 8))


@settings(max_examples=150, deadline=None)
@given(hash_sets())
def test_property_index_equals_brute_force(case: tuple[np.ndarray, int]) -> None:
    h, r = case
    _same(hx.all_pairs(h, r), _brute(h, r))


def test_one_band_is_equality_only() -> None:
    h = _clustered(np.random.default_rng(2), 200, centres=3, max_flips=2)
    distinct, _ = hx.unique_hashes(h)
    p = hx.plan(distinct, 0, bands=1)
    assert p.radii == (0,) and p.masks == (2**64 - 1,)
    with pytest.raises(ValueError, match="neighbours per value"):
        hx.plan(distinct, 6, bands=1)


def test_plan_chosen_on_a_sample_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hx, "PLAN_SAMPLE", 64)
    h = _clustered(np.random.default_rng(8), 700, centres=6, max_flips=5)
    distinct, _ = hx.unique_hashes(h)
    p = hx.plan(distinct, 6)
    assert sum(rho + 1 for rho in p.radii) == 7 and p.candidates > 0
    stats: dict = {}
    _same(hx.near_pairs(distinct, 6, stats=stats), hx.brute_force_pairs(distinct, 6))
    assert stats["radii"] == p.radii
    _same(hx.all_pairs(h, 6), hx.brute_force_pairs(h, 6))


@pytest.mark.parametrize("kind", ["table", "presence", "search"])
@pytest.mark.parametrize("widths", [(22, 21, 21), (26, 19, 19), (14, 25, 25)])
def test_every_probe_kind_and_band_widths_are_exact(monkeypatch: pytest.MonkeyPatch, kind: str, widths: tuple[int, ...]) -> None:
    # a lookup table, a presence table plus binary search, a binary search alone: the same pairs,
    # on bands of uneven widths (the radius-2 band first, as _widths makes them)
    monkeypatch.setattr(hx, "_probe_kind", lambda width, values: kind)
    h = _clustered(np.random.default_rng(12), 500, centres=6, max_flips=6)
    distinct, _ = hx.unique_hashes(h)
    for layout in ("interleaved", "balanced", "contiguous"):
        masks = hx._masks(3, distinct, layout, widths)
        assert [m.bit_count() for m in masks] == list(widths)
        assert int(np.bitwise_or.reduce(np.array(masks, dtype=object))) == 2**64 - 1
        bp = hx.BandPlan(masks, (2, 1, 1), layout)
        got = [np.concatenate(x) for x in zip(*hx.iter_near_pairs(distinct, 6, band_plan=bp, chunk=61))]
        _same((got[0], got[1]), hx.brute_force_pairs(distinct, 6))


def test_compact_band_values_sort_as_the_masked_hashes() -> None:
    h = np.random.default_rng(13).integers(0, 2**64, size=2000, dtype=U64)
    for mask in (0xF0F0_0000_FFFF_0001, (1 << 63) | 0b1011, 2**64 - 1, 0x5555_5555_5555_5555):
        c = hx._compact(h, mask)
        assert c.dtype == (np.uint32 if mask.bit_count() <= 32 else U64)
        assert int(c.max()) < 2 ** mask.bit_count()
        masked = h & U64(mask)
        np.testing.assert_array_equal(np.argsort(c, kind="stable"), np.argsort(masked, kind="stable"))
        np.testing.assert_array_equal(np.unique(c, return_inverse=True)[1], np.unique(masked, return_inverse=True)[1])


def test_bad_band_widths_are_refused() -> None:
    with pytest.raises(ValueError, match="band widths"):
        hx._masks(3, np.array([1, 2], dtype=U64), "interleaved", (22, 21, 20))


def test_band_widths_follow_the_number_of_hashes() -> None:
    # uniform hashes, 3 bands with radii 2, 1, 1: for many hashes the radius-2 band is the
    # widest (fewer candidates), for few the narrowest (fewer probes)
    many = hx._widths(3, (2, 1, 1), 3 * 10**6)
    few = hx._widths(3, (2, 1, 1), 10**4)
    assert sum(many) == sum(few) == 64
    assert many[0] > many[1] >= many[2]
    assert few[0] < few[2] <= few[1]
    assert [m for m, _ in [(m, w) for m in (2, 3, 4, 5, 7) for w in hx._width_options(m, 6, 10**6)]]


def test_radius_64_pairs_everything() -> None:
    h = _clustered(np.random.default_rng(14), 40, centres=3, max_flips=30)
    h[:2] = [0, 2**64 - 1]
    n = len(np.unique(h))
    distinct, _ = hx.unique_hashes(h)
    assert len(hx.near_pairs(distinct, 64)[0]) == n * (n - 1) // 2
    _same(hx.all_pairs(h, 64), hx.brute_force_pairs(h, 64))
    assert (hx.near_components(h, 64) == 0).all()
    with pytest.raises(ValueError, match="bands must be"):
        hx.plan(distinct, 64, bands=65)


def test_band_plans_that_cannot_be_exact_are_refused() -> None:
    distinct = np.array([0, 1], dtype=U64)
    with pytest.raises(ValueError, match="share no bit"):  # overlapping masks miss pairs
        list(hx.iter_near_pairs(distinct, 1, band_plan=hx.BandPlan((2**64 - 1, 2**64 - 1), (0, 0))))
    with pytest.raises(ValueError, match="one radius per mask"):
        list(hx.iter_near_pairs(distinct, 1, band_plan=hx.BandPlan((2**32 - 1, 2**64 - 2**32), (1,))))


def test_block_expansion_memory_is_bounded_by_the_chunk() -> None:
    import tracemalloc

    # one element against two million (a hash with many copies paired with another):
    # the rows are made for the shorter run, a chunk at a time
    big = 2_000_000
    blocks = (np.array([0]), np.array([big]), np.array([big]), np.array([1]))
    tracemalloc.start()
    try:
        first = next(hx._iter_blocks(blocks, 1024))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(first[0]) == 1024
    assert peak < 2**20  # a few chunk-sized arrays; expanding 2 M rows took over 100 MiB
    a, b = (np.concatenate(x) for x in zip(*hx._iter_blocks(blocks, 1024)))
    assert len(a) == big and (np.maximum(a, b) == big).all()  # elements 0 .. big-1, each with element big
    np.testing.assert_array_equal(np.sort(np.minimum(a, b)), np.arange(big))


def test_expand_pairs_with_an_unused_hash_index() -> None:
    assert list(hx.expand_pairs(np.array([0, 0, 2]), np.array([1]), np.array([2]), equal=False)) == []
