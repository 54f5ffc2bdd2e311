"""All pairs of 64-bit perceptual hashes within a Hamming radius, in sub-quadratic time.

The exact answer of a brute-force all-pairs comparison, found by multi-index hashing
(Norouzi, Punjani, Fleet: "Fast search in Hamming space with multi-index hashing", 2012):

* **Collapse equal hashes first.** :func:`unique_hashes` gives the distinct hashes and, for
  every input position, the index of its hash. Everything below works on distinct hashes, so
  4,083 copies of one image cost one hash, not 8.3 million candidate pairs.
* **Bands with a pigeonhole guarantee.** The 64 bits are dealt into ``m`` disjoint bands
  (bit masks) with a search radius ``rho_k`` each, chosen so that
  ``sum(rho_k + 1) = r + 1``. Two hashes within ``r`` bits then differ in at most ``rho_k``
  bits of at least one band ``k`` (otherwise they would differ in ``>= r + 1`` bits). With
  ``m = r + 1`` every radius is 0 and a band is a plain equality bucket; with fewer, wider
  bands (``m = 4``: radii 1, 1, 1, 0 for ``r = 6``) buckets are far smaller and each band value
  is probed at its few neighbours instead.
* **Buckets, not hash tables.** A band's bits are packed into a small integer
  (:func:`_compact`) and sorted once (``argsort``); a bucket is a run of equal values. A
  probe looks a flipped value up in a table indexed by value (bands up to 22 bits: one
  gather per flip pattern over all the band's values), or a presence table and a binary
  search of its hits, or a binary search alone for wide bands (:func:`_probe_kind`). A
  *block* is a product of two runs of the sorted order (one bucket with itself as an upper
  triangle, or two buckets whose band values are within the radius): candidate pairs are
  enumerated block by block, as rows expanded with ``repeat``, in bounded chunks, never
  materialised all at once.
* **Each candidate pair once, verified vectorised.** A pair met in band ``k`` is kept only if
  no earlier band already had it within its radius (a popcount of the XOR under each earlier
  band's mask), then verified with one popcount of the full XOR.
* **Plan chosen on the data.** Radiograph hashes cluster (a few bits are almost constant,
  layouts repeat), so the band plan (how many bands, which bits, how wide each band) is
  chosen by counting the candidates, blocks and probes each plan would cost on these hashes
  (cheap: bucket sizes and probes only, on a sample above :data:`PLAN_SAMPLE`) and taking
  the cheapest under :data:`BLOCK_COST` and :data:`PROBE_COST`; see :func:`plan`. The
  plan's bands widen with the number of hashes (16 bits for 10^5, 21-22 for 10^6), as
  multi-index hashing's bands of about log2 n bits; a wider band has sparser buckets and
  more flip patterns to probe, so the work per hash grows slowly with n (measured:
  ``benchmarks/bench_hashindex.py``).

The public functions, all returning ``intp`` index arrays with ``i < j``:

* :func:`unique_hashes` -> ``(distinct, inverse)``
* :func:`iter_near_pairs` / :func:`near_pairs` -> pairs of *distinct* hashes with
  ``1 <= distance <= r`` (equal hashes are one distinct hash; its members pair through
  ``inverse``)
* :func:`expand_pairs` -> pairs of *input positions* from distinct-hash pairs and ``inverse``
  (including pairs of equal hashes), in bounded chunks
* :func:`all_pairs` -> the brute-force answer over input positions (for small inputs and tests)
* :func:`near_components` -> connected components over input positions, with an optional
  ``confirm`` callback (e.g. thumbnail correlation) that sees only pairs not yet connected
* :func:`brute_force_pairs` -> the quadratic reference (blockwise)

How ``duplicates.py`` uses it (the same groups as its all-pairs loop): collapse pixel-identical
images first (their pHash and thumbnail are identical, so one representative decides for the
group), then take the components of the representatives with the thumbnail test as
``confirm``::

    codes, _ = pd.factorize(good["pixel_hash"])            # pixel group of each image, by first appearance
    rep = np.unique(codes, return_index=True)[1]           # first image of each pixel group
    hashes = np.array([int(v) for v in good["phash"].to_numpy()[rep]], dtype=np.uint64)
    thumbs = np.frombuffer(b"".join(good["thumb"].to_numpy()[rep]), np.uint8).reshape(len(rep), -1)
    labels = near_components(
        hashes, threshold,
        confirm=lambda a, b: thumbnail_correlation(thumbs[a], thumbs[b]) >= NEAR_CORRELATION,
    )
    comp = labels[codes]                                   # per image, numbered by first appearance
    near = np.bincount(labels)[comp] >= 2                  # >= 2 pixel groups: today's "distinct >= 2"
    for g in _groups_from_labels(keys[near], comp[near]): ...   # rows (k, gid, "near") as today

An image of a pixel group in such a component always had a confirmed edge today (its copy's
edge is its own), so the groups and their order are today's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "DEFAULT_RADIUS",
    "BandPlan",
    "all_pairs",
    "brute_force_pairs",
    "expand_pairs",
    "iter_near_pairs",
    "near_components",
    "near_pairs",
    "plan",
    "popcount",
    "unique_hashes",
]

#: Hamming radius (of 64 bits) of a near-duplicate pHash pair, as ``PHASH_THRESHOLD`` today.
DEFAULT_RADIUS = 6

#: Candidate pairs enumerated, verified and handed on per step (bounds memory: about 2^20
#: pairs x a handful of int64 arrays = tens of MiB).
CHUNK = 1 << 20

BITS = 64
_U64 = np.uint64
_EMPTY = np.empty(0, dtype=np.intp)

#: What a plan costs, in units of one candidate pair (enumerated and verified: about 15 ns),
#: measured on 10^5 and 10^6 spread hashes (``benchmarks/bench_hashindex.py``): a *row* of
#: a block (one element of its first run against the whole second run; a block is a pair of
#: buckets met by a probe, or a bucket with itself) costs about 4.5 on its own, which is what
#: makes sparse buckets dear; a *probe* (one band value looked up once)
#: about 1 with a lookup table, 1.5 with a presence table, 2.5 with a binary search
#: (:func:`_probe_kind`).
BLOCK_COST = 4.5
PROBE_COST = {"table": 1.0, "presence": 1.5, "search": 2.5}

#: Above this many distinct hashes the plan is chosen on a random sample of this size (its
#: candidate count scaled by the squared ratio, its probes by the ratio); the chosen plan is
#: then built on all of them.
PLAN_SAMPLE = 1 << 15

#: Most flip patterns one band may probe per value (2 bands of 32 bits at radius 3: 5,488).
MAX_FLIPS = 1 << 16


# --------------------------------------------------------------------------------------------
# small helpers


def _popcount_lut(x: np.ndarray) -> np.ndarray:
    table = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)
    b = np.ascontiguousarray(x, dtype=_U64).view(np.uint8).reshape(-1, 8)
    return table[b].sum(axis=1, dtype=np.uint8).reshape(np.shape(x))


def popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64 (numpy >= 2: ``bitwise_count``; else a byte table)."""
    x = np.asarray(x, dtype=_U64)
    bc = getattr(np, "bitwise_count", None)
    return bc(x) if bc is not None else _popcount_lut(x)


def _as_hashes(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    if not isinstance(hashes, np.ndarray):  # Python ints: numpy would guess float64 past 2^63
        hashes = np.array(list(hashes), dtype=object)
    h = hashes
    if h.dtype == object:
        try:
            h = np.array([int(v) for v in h.ravel()], dtype=_U64).reshape(h.shape)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"hashes must be unsigned 64-bit integers ({exc})") from None
    elif h.dtype.kind not in "ui":
        raise ValueError(f"hashes must be unsigned 64-bit integers, but got dtype {h.dtype}")
    elif h.dtype != _U64:
        if h.dtype.kind == "i" and h.size and int(h.min()) < 0:
            raise ValueError("hashes must be unsigned 64-bit values (got negative numbers)")
        h = h.astype(_U64)
    if h.ndim != 1:
        raise ValueError(f"hashes must be one-dimensional, but got shape {h.shape}")
    return h


def _check_radius(r: int) -> int:
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 0 or r > BITS:
        raise ValueError(f"radius must be an integer from 0 to {BITS}, but got {r!r}")
    return int(r)


def unique_hashes(hashes: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct hashes (sorted uint64) and, for each input position, the index of its hash.

    ``distinct[inverse]`` equals the input. Identical files give identical hashes: this is
    the collapse that keeps a set of many copies from costing a quadratic number of pairs.
    """
    h = _as_hashes(hashes)
    distinct, inverse = np.unique(h, return_inverse=True)
    return distinct, inverse.astype(np.intp, copy=False).reshape(-1)


# --------------------------------------------------------------------------------------------
# band plans


@dataclass(frozen=True)
class BandPlan:
    """Disjoint bit masks covering the 64 bits, and a search radius per mask.

    ``sum(radius + 1) == r + 1`` for the radius ``r`` the plan was made for (the pigeonhole
    guarantee). ``candidates``, ``blocks`` (rows of blocks, see :data:`BLOCK_COST`),
    ``probes`` and ``probe_cost`` (probes weighted by their kind, :data:`PROBE_COST`) are what
    the plan costs on the hashes it was made for (filled by :func:`plan`; estimated from a
    sample above :data:`PLAN_SAMPLE`); :attr:`cost` sums them in candidate units.
    """

    masks: tuple[int, ...]
    radii: tuple[int, ...]
    layout: str = "interleaved"
    candidates: int = 0
    probes: int = 0
    probe_cost: float = 0.0
    blocks: int = 0

    @property
    def cost(self) -> float:
        """Candidates, blocks and probes in candidate units (:data:`BLOCK_COST`,
        :data:`PROBE_COST`)."""
        return self.candidates + BLOCK_COST * self.blocks + self.probe_cost


def _radii(m: int, r: int) -> tuple[int, ...]:
    """Band radii summing (plus one each) to r + 1, as even as possible, widest first."""
    base, extra = divmod(r + 1, m)
    return tuple(base - 1 + (1 if k < extra else 0) for k in range(m))


def _bit_order(distinct: np.ndarray, layout: str) -> list[int]:
    """Bit positions in the order they are dealt round-robin into bands.

    ``interleaved``: 0, 1, 2, ... (band k gets bits k, k + m, ...; neighbouring DCT
    coefficients land in different bands). ``balanced``: most informative bits first (share of
    ones closest to one half on these hashes), so every band gets its share of them and of the
    near-constant ones (the DC bit of a pHash is always 1). ``contiguous`` is handled by the
    caller (band k = one run of bits).
    """
    if layout == "balanced" and len(distinct):
        ones = np.array([int(((distinct >> _U64(b)) & _U64(1)).sum()) for b in range(BITS)], dtype=np.float64)
        skew = np.abs(ones / len(distinct) - 0.5)
        return [int(b) for b in np.argsort(skew, kind="stable")]
    return list(range(BITS))


def _widths(m: int, radii: tuple[int, ...], n: int) -> tuple[int, ...]:
    """Band widths (summing to 64) that minimise what ``n`` uniformly random hashes would
    cost (candidates, rows and probes, :data:`BLOCK_COST`, :data:`PROBE_COST`). A band probed
    at radius 2 meets C(w, 2) neighbours of each value: for many hashes (3 x 10^6: 24, 20,
    20 bits) it pays to make it wider than the bands probed at radius 1 or 0, which keeps its
    candidates down; for few hashes (10^4: 17, 24, 23) narrower, which keeps its probes down.
    Not monotone in ``n`` (10^7: even widths), since the probe kind changes with the width.
    Bands of equal radius get equal widths (within a bit). The data then decide between
    these and even widths (:func:`plan`); a plan is exact whatever the widths."""
    groups = sorted(set(radii), reverse=True)
    size = {g: radii.count(g) for g in groups}

    def cost(widths: dict[int, int]) -> float:
        total = 0.0
        for g in groups:
            for w in _split(widths[g], size[g]):
                near = 1 + _n_flips(w, g)  # the value itself and its flips
                k = min(n, 1 << w)
                per_pair = 1 + BLOCK_COST / max(1.0, n / 2.0**w)  # a block per pair where buckets hold one hash
                total += n * n / 2 * near / 2.0**w * per_pair + PROBE_COST[_probe_kind(w, k)] * k * (near - 1)
        return total

    best, best_cost = None, math.inf
    for alloc in _allocations(BITS, [size[g] for g in groups]):
        widths = dict(zip(groups, alloc))
        c = cost(widths)
        if c < best_cost:
            best, best_cost = widths, c
    assert best is not None
    parts = {g: list(_split(best[g], size[g])) for g in groups}
    return tuple(parts[rho].pop(0) for rho in radii)


def _split(total: int, k: int) -> tuple[int, ...]:
    """``total`` bits dealt into ``k`` bands as evenly as possible, widest first."""
    return tuple(total // k + (1 if j < total % k else 0) for j in range(k))


def _allocations(total: int, counts: list[int]) -> Iterator[tuple[int, ...]]:
    """Every way of giving ``total`` bits to groups of ``counts[g]`` bands (at least one bit
    per band)."""
    if len(counts) == 1:
        if total >= counts[0]:
            yield (total,)
        return
    for first in range(counts[0], total - sum(counts[1:]) + 1):
        for rest in _allocations(total - first, counts[1:]):
            yield (first, *rest)


def _masks(m: int, distinct: np.ndarray, layout: str, widths: tuple[int, ...] | None = None) -> tuple[int, ...]:
    widths = widths or _split(BITS, m)
    if len(widths) != m or sum(widths) != BITS or min(widths) < 1:
        raise ValueError(f"band widths must be {m} positive numbers summing to {BITS}, but got {widths}")
    if layout == "contiguous":
        masks, lo = [], 0
        for s in widths:
            masks.append(((1 << s) - 1) << lo)
            lo += s
        return tuple(masks)
    order = _bit_order(distinct, layout)
    masks = [0] * m
    fill = [0] * m
    k = 0
    for bit in order:  # round-robin over the bands that still have room
        while fill[k % m] >= widths[k % m]:
            k += 1
        masks[k % m] |= 1 << bit
        fill[k % m] += 1
        k += 1
    return tuple(masks)


def _flips(width: int, radius: int) -> np.ndarray:
    """Every XOR pattern of 1..radius bits of a ``width``-bit band value (compact form)."""
    bits = [1 << b for b in range(width)]
    out = [sum(c) for k in range(1, radius + 1) for c in itertools.combinations(bits, k)]
    return np.array(out, dtype=_U64 if width > 32 else np.uint32)


def _n_flips(width: int, radius: int) -> int:
    """How many patterns :func:`_flips` gives."""
    return sum(math.comb(width, k) for k in range(1, radius + 1))


def _compact(h: np.ndarray, mask: int) -> np.ndarray:
    """The bits of ``mask`` of each hash, packed into the low bits (bit order kept, so values
    sort as the masked hashes do): ``uint32`` up to 32 bits."""
    out = np.zeros(len(h), dtype=_U64)
    k = lo = 0
    bits = [b for b in range(BITS) if mask >> b & 1]
    while lo < len(bits):  # one shift per run of consecutive bits
        hi = lo
        while hi + 1 < len(bits) and bits[hi + 1] == bits[hi] + 1:
            hi += 1
        run = hi - lo + 1
        out |= ((h >> _U64(bits[lo])) & _U64((1 << run) - 1)) << _U64(k)
        k += run
        lo = hi + 1
    return out.astype(np.uint32) if len(bits) <= 32 else out


def _runs(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of these lengths laid end to end: the run of each element and its position
    in that run."""
    run = np.repeat(np.arange(len(lengths)), lengths)
    return run, np.arange(len(run)) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _triangle_blocks(
    starts: np.ndarray, counts: np.ndarray, *, rows: tuple[int, int | None] = (0, None)
) -> tuple[np.ndarray, ...]:
    """Blocks of the pairs inside each run ``starts[g] .. starts[g] + counts[g]``: row ``t``
    pairs element ``t`` with elements ``t+1 ..``; only rows ``rows[0] <= t < rows[1]``."""
    lo, hi = rows
    c = np.asarray(counts, dtype=np.intp)
    s = np.asarray(starts, dtype=np.intp)
    nrows = np.clip(c - 1 if hi is None else np.minimum(c - 1, hi), lo, None) - lo
    keep = nrows > 0
    c, s, nrows = c[keep], s[keep], nrows[keep]
    grp, t = _runs(nrows)
    t = t + lo
    a = s[grp] + t
    return a, np.ones_like(a), a + 1, c[grp] - 1 - t


#: Widest band whose values get a direct lookup table (an int32 position per possible value:
#: 16 MiB at 22 bits), when the table is at most :data:`TABLE_SPARSITY` times the values.
TABLE_BITS = 22
#: Widest band with a presence table (a byte per possible value: 16 MiB at 24 bits) before
#: its hits are looked up by binary search; wider bands are probed by binary search alone.
PRESENCE_BITS = 24
TABLE_SPARSITY = 64


def _probe_kind(width: int, values: float) -> str:
    """How a band of ``width`` bits holding ``values`` distinct values is probed."""
    small = (1 << width) <= TABLE_SPARSITY * values + (1 << 16)
    if width <= TABLE_BITS and small:
        return "table"
    if width <= PRESENCE_BITS and small:
        return "presence"
    return "search"


def _band_parts(
    distinct: np.ndarray, mask: int, radius: int
) -> tuple[np.ndarray, Iterator[tuple[tuple[np.ndarray, ...], int]]]:
    """Sort order of one band, and its blocks ``(a_start, a_len, b_start, b_len)`` (positions
    in that order) as a stream of parts, each with the probes it spent: a bucket with itself
    (upper triangle, one block per row), then, for radius > 0, one part per flip pattern: the
    pairs of buckets whose values differ by it (each unordered pair of values once). One part
    at a time is in memory.

    A probe is a lookup in a table indexed by value where the band is narrow enough (one
    gather per flip pattern over all band values), a presence table and a binary search of
    its hits where it is a little wider, else a binary search (:func:`_probe_kind`)."""
    width = mask.bit_count()
    v = _compact(distinct, mask)
    order = np.argsort(v, kind="stable")
    sv = v[order]
    n = len(sv)

    def parts() -> Iterator[tuple[tuple[np.ndarray, ...], int]]:
        if n == 0:
            return
        starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
        counts = np.diff(np.r_[starts, n])
        vals = sv[starts]
        yield _triangle_blocks(starts, counts), 0  # a bucket with itself
        if radius <= 0:
            return
        k = len(vals)
        kind = _probe_kind(width, k)
        if kind == "table":
            ar = np.arange(k, dtype=np.int32)
            table = np.full(1 << width, -1, dtype=np.int32)
            table[vals] = ar

            def probe(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                dst = table[vals ^ f]
                src = np.flatnonzero(dst > ar)  # present, and each unordered pair from its smaller end
                return src, dst[src]

        elif kind == "presence":
            present = np.zeros(1 << width, dtype=bool)
            present[vals] = True

            def probe(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                q = vals ^ f
                src = np.flatnonzero(present[q] & (q > vals))
                return src, np.searchsorted(vals, q[src])

        else:

            def probe(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                q = vals ^ f
                up = np.flatnonzero(q > vals)
                pos = np.searchsorted(vals, q[up])
                hit = pos < k
                hit[hit] = vals[pos[hit]] == q[up][hit]
                return up[hit], pos[hit]

        for f in _flips(width, radius):
            src, dst = probe(f)
            yield (starts[src], counts[src], starts[dst], counts[dst]), k

    return order, parts()


def _build(
    distinct: np.ndarray, masks: tuple[int, ...], radii: tuple[int, ...], layout: str, scale: float = 1.0
) -> BandPlan:
    """The plan with what it costs on ``distinct`` (its blocks are counted, not kept); a
    band's probes are weighted as they will be probed on ``scale`` times these hashes."""
    candidates = probes = n_blocks = 0
    weighted = 0.0
    for mask, rho in zip(masks, radii):
        for blocks, p in _band_parts(distinct, mask, rho)[1]:
            candidates += int((blocks[1] * blocks[3]).sum())
            n_blocks += int(blocks[1].sum())  # rows: one per element of a block's first run
            probes += p
            weighted += p * PROBE_COST[_probe_kind(mask.bit_count(), p * scale)]
    return BandPlan(masks, radii, layout, candidates, probes, weighted, n_blocks)


def _flips_of(widths: tuple[int, ...], radii: tuple[int, ...]) -> int:
    """Most flip patterns one band of these would probe per value."""
    return max(_n_flips(w, rho) for w, rho in zip(widths, radii))


def _width_options(m: int, r: int, n: int) -> list[tuple[int, ...]]:
    """Even widths, and the widths :func:`_widths` gives for ``n`` hashes when they differ;
    those probing more than :data:`MAX_FLIPS` patterns per value left out (none for more
    bands than bits)."""
    if not 1 <= m <= BITS:
        return []
    radii = _radii(m, r)
    options = [_split(BITS, m)]
    skewed = _widths(m, radii, n)
    if sorted(skewed) != sorted(options[0]):
        options.append(skewed)
    return [w for w in options if _flips_of(w, radii) <= MAX_FLIPS]


def plan(
    distinct: np.ndarray,
    r: int = DEFAULT_RADIUS,
    *,
    bands: int | Sequence[int] | None = None,
    layout: str | Sequence[str] | None = None,
) -> BandPlan:
    """The cheapest band plan for these distinct hashes and radius ``r``.

    Tries ``bands`` in (default: ``r + 1`` equality bands, 5, 4, 3 and 2 bands with radii
    :func:`_radii`), each with even widths and with the widths :func:`_widths` finds best for
    uniformly random hashes of this number (wider bands where the radius is larger), and
    ``layout`` (default ``interleaved`` and ``balanced``), counting the candidate pairs and
    probes each would cost on ``distinct``; a plan whose probes alone cost more than the best
    so far is not built. Deterministic for the same input.
    """
    r = _check_radius(r)
    distinct = _as_hashes(distinct)
    n = len(distinct)
    if bands is None:
        ms = sorted({min(m, r + 1, BITS) for m in (r + 1, 5, 4, 3, 2)}, reverse=True)
        ms = [m for m in ms if _width_options(m, r, n)]
    else:
        ms = [bands] if isinstance(bands, (int, np.integer)) else list(bands)
    layouts = ["interleaved", "balanced"] if layout is None else [layout] if isinstance(layout, str) else list(layout)
    for m in ms:
        if not 1 <= m <= min(r + 1, BITS):
            raise ValueError(f"bands must be from 1 to min(r + 1, {BITS}) = {min(r + 1, BITS)}, but got {m}")
        if not _width_options(m, r, n):
            flips = _flips_of(_split(BITS, m), _radii(m, r))
            raise ValueError(f"{m} band(s) for radius {r} would probe {flips} neighbours per value (at most {MAX_FLIPS})")
    for lay in layouts:
        if lay not in ("interleaved", "balanced", "contiguous"):
            raise ValueError(f"layout must be interleaved, balanced or contiguous, but got {lay!r}")
    options = [(m, w) for m in ms for w in _width_options(m, r, n)]
    if len(options) * len(layouts) > 1 and n > PLAN_SAMPLE:
        rng = np.random.default_rng(n)
        sample = np.sort(rng.choice(distinct, PLAN_SAMPLE, replace=False))
        scale = n / PLAN_SAMPLE
        est = _choose(sample, options, layouts, r, scale=scale)
        widths = tuple(mk.bit_count() for mk in est.masks)
        return replace(
            est,
            masks=_masks(len(est.masks), distinct, est.layout, widths),
            candidates=round(est.candidates * scale * scale),
            probes=round(est.probes * scale),
            probe_cost=est.probe_cost * scale,
            blocks=round(est.blocks * scale * scale),
        )
    return _choose(distinct, options, layouts, r)


def _choose(
    distinct: np.ndarray, options: list[tuple[int, tuple[int, ...]]], layouts: list[str], r: int, *, scale: float = 1.0
) -> BandPlan:
    best: BandPlan | None = None
    best_cost = math.inf
    n = len(distinct)
    for m, widths in options:
        radii = _radii(m, r)
        for lay in layouts:
            masks = _masks(m, distinct, lay, widths)
            # every distinct band value is probed with every flip pattern: at most n per pattern
            probe_guess = 0.0
            for mk, rho in zip(masks, radii):
                k = min(n * scale, 1 << mk.bit_count())
                probe_guess += _n_flips(mk.bit_count(), rho) * k * PROBE_COST[_probe_kind(mk.bit_count(), k)]
            if probe_guess > best_cost:
                continue
            p = _build(distinct, masks, radii, lay, scale)
            cost = (p.candidates + BLOCK_COST * p.blocks) * scale * scale + p.probe_cost * scale
            if cost < best_cost:
                best, best_cost = p, cost
    assert best is not None
    return best


# --------------------------------------------------------------------------------------------
# enumeration


def _iter_blocks(
    blocks: tuple[np.ndarray, ...], chunk: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions ``(a, b)`` of every element pair of every block, ``chunk`` pairs at a time
    (which end of a pair comes first is not kept: the callers take min and max).

    Blocks are cut into rows (one element of the shorter run against the whole longer run),
    and the rows expanded with ``repeat`` and ``arange``: no division and no per-block
    branching, which matters on large sets, where most blocks hold one pair. Rows are made
    for blocks of about ``chunk`` pairs at a time, so memory stays bounded by ``chunk`` (or,
    for one block larger than that, by the square root of its size)."""
    sa, la, sb, lb = (np.asarray(x) for x in blocks)
    swap = la > lb
    if swap.any():
        sa, sb = np.where(swap, sb, sa), np.where(swap, sa, sb)
        la, lb = np.where(swap, lb, la), np.where(swap, la, lb)
    keep = (la > 0) & (lb > 0)
    if not keep.all():
        sa, la, sb, lb = sa[keep], la[keep], sb[keep], lb[keep]
    if not len(sa):
        return
    done = np.cumsum(la * lb)
    start = 0
    while start < len(sa):
        base = int(done[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(done, base + chunk, side="right")))
        yield from _iter_rows(sa[start:stop], la[start:stop], sb[start:stop], lb[start:stop], chunk)
        start = stop


def _iter_rows(
    sa: np.ndarray, la: np.ndarray, sb: np.ndarray, lb: np.ndarray, chunk: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs of some blocks (no empty run), in chunks: see :func:`_iter_blocks`."""
    if not (la == 1).all():  # rows: element t of a block's a-run against its whole b-run
        blk, t = _runs(la)
        sa, sb, lb = sa[blk] + t, sb[blk], lb[blk]
    end = np.cumsum(lb)
    begin = end - lb
    shift = sb - begin  # b of the pair at overall index g of row q: sb[q] + (g - begin[q])
    total = int(end[-1])
    if total <= chunk:
        yield np.repeat(sa, lb), np.repeat(shift, lb) + np.arange(total)
        return
    for s in range(0, total, chunk):
        e = min(total, s + chunk)
        q0 = int(np.searchsorted(end, s, side="right"))
        q1 = int(np.searchsorted(end, e - 1, side="right")) + 1
        cnt = np.minimum(end[q0:q1], e) - np.maximum(begin[q0:q1], s)
        yield np.repeat(sa[q0:q1], cnt), np.repeat(shift[q0:q1], cnt) + np.arange(s, e)


def iter_near_pairs(
    distinct: np.ndarray,
    r: int = DEFAULT_RADIUS,
    *,
    chunk: int = CHUNK,
    band_plan: BandPlan | None = None,
    stats: dict | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs ``(i, j)`` (``intp`` arrays, ``i < j``) of *distinct* hashes within ``1..r`` bits.

    ``distinct`` must hold no value twice (use :func:`unique_hashes`); every qualifying pair
    appears exactly once over all chunks, in no particular order. ``band_plan`` (default:
    :func:`plan` on ``distinct``) fixes the bands. ``stats``, when given, is
    filled with ``candidates`` (pairs enumerated), ``pairs`` (pairs yielded), ``probes``,
    ``bands``, ``radii`` and ``layout``.
    """
    r = _check_radius(r)
    h = _as_hashes(distinct)
    if len(h) > 1 and not (h[1:] > h[:-1]).all() and len(np.unique(h)) != len(h):
        raise ValueError("iter_near_pairs needs distinct hashes: collapse them with unique_hashes first")
    if stats is not None:
        stats.update(candidates=0, pairs=0, probes=0, bands=0, radii=(), layout="")
    if len(h) < 2:
        return
    if band_plan is None:
        bp = plan(h, r)
    else:
        masks, radii = band_plan.masks, band_plan.radii
        if len(masks) != len(radii) or sum(int(mk).bit_count() for mk in masks) != BITS:
            raise ValueError("band_plan needs one radius per mask, and masks that share no bit")
        if sum(rho + 1 for rho in radii) < r + 1 or np.bitwise_or.reduce(np.array(masks, dtype=_U64)) != _U64(2**64 - 1):
            raise ValueError(f"band_plan does not cover radius {r} (made for a smaller radius, or masks miss bits)")
        bp = band_plan
    if stats is not None:
        stats.update(bands=len(bp.masks), radii=bp.radii, layout=bp.layout)
    earlier: list[tuple[np.uint64, int]] = []
    for mask, rho in zip(bp.masks, bp.radii):
        order, parts = _band_parts(h, mask, rho)
        hs = h[order]
        for blocks, probes in parts:  # one part of one band in memory at a time
            if stats is not None:
                stats["candidates"] += int((blocks[1] * blocks[3]).sum())
                stats["probes"] += probes
            yield from _verified(hs, order, blocks, r, earlier, chunk, stats)
        earlier.append((_U64(mask), rho))


def _verified(
    h: np.ndarray,
    order: np.ndarray,
    blocks: tuple[np.ndarray, ...],
    r: int,
    earlier: list[tuple[np.uint64, int]],
    chunk: int,
    stats: dict | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs of ``blocks`` within ``r`` bits that no earlier band had within its radius."""
    for pa, pb in _iter_blocks(blocks, chunk):
        x = h[pa] ^ h[pb]  # h in this band's order: positions are looked up only for the pairs kept
        ok = np.flatnonzero(popcount(x) <= r)
        if earlier and len(ok):
            x = x[ok]
            first = np.ones(len(ok), dtype=bool)
            for m_prev, rho_prev in earlier:  # met in an earlier band already: counted there
                first &= popcount(x & m_prev) > rho_prev
            ok = ok[first]
        if len(ok):
            a, b = order[pa[ok]], order[pb[ok]]
            i = np.minimum(a, b)
            j = np.maximum(a, b)
            if stats is not None:
                stats["pairs"] += len(i)
            yield i, j


def near_pairs(
    distinct: np.ndarray, r: int = DEFAULT_RADIUS, *, stats: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All of :func:`iter_near_pairs` at once, sorted by ``(i, j)``."""
    return _collect(iter_near_pairs(distinct, r, stats=stats))


def _collect(chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate chunks of pairs and sort them by ``(i, j)``."""
    ii, jj = [_EMPTY], [_EMPTY]
    for i, j in chunks:
        ii.append(i)
        jj.append(j)
    i = np.concatenate(ii)
    j = np.concatenate(jj)
    o = np.lexsort((j, i))
    return i[o], j[o]


def _members(inverse: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input positions grouped by distinct hash: ``order`` (ascending within a group),
    ``start`` and ``count`` per distinct hash."""
    order = np.argsort(inverse, kind="stable")
    count = np.bincount(inverse, minlength=k)
    start = np.cumsum(count) - count
    return order, start, count


def expand_pairs(
    inverse: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    equal: bool = True,
    chunk: int = CHUNK,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs ``(a, b)`` of input positions (``a < b``) from pairs ``(i, j)`` of distinct hashes.

    Every position with hash ``i`` is paired with every position with hash ``j``; with
    ``equal`` (default) the pairs of positions sharing one hash come first. ``chunk`` bounds
    each yielded array (the total can be quadratic in a group's size: that is the answer, not
    the search).
    """
    inverse = np.asarray(inverse, dtype=np.intp).reshape(-1)
    if not len(inverse):
        return
    k = int(inverse.max()) + 1
    order, start, count = _members(inverse, k)
    parts = [_triangle_blocks(start, count)] if equal else []
    i = np.asarray(i, dtype=np.intp)
    j = np.asarray(j, dtype=np.intp)
    if len(i):
        parts.append((start[i], count[i], start[j], count[j]))
    yield from _iter_member_pairs(order, parts, chunk)


def _iter_member_pairs(
    order: np.ndarray, parts: list[tuple[np.ndarray, ...]], chunk: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if not parts:
        return
    blocks = tuple(np.concatenate([p[n] for p in parts]) for n in range(4))
    for pa, pb in _iter_blocks(blocks, chunk):
        a = order[pa]
        b = order[pb]
        yield np.minimum(a, b), np.maximum(a, b)


def all_pairs(hashes: Sequence[int] | np.ndarray, r: int = DEFAULT_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(a, b)``, ``a < b``, of input positions within ``r`` bits (equal hashes
    included), sorted by ``(a, b)``: exactly :func:`brute_force_pairs`, found through the index.
    Its size is the answer's size; for large sets use :func:`near_components`."""
    distinct, inverse = unique_hashes(hashes)
    ui, uj = near_pairs(distinct, r)
    return _collect(expand_pairs(inverse, ui, uj))


def brute_force_pairs(
    hashes: Sequence[int] | np.ndarray, r: int = DEFAULT_RADIUS, *, block: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The quadratic reference: every pair ``(a, b)``, ``a < b``, within ``r`` bits, sorted.
    Compares blockwise (about 4 M comparisons at a time)."""
    r = _check_radius(r)
    h = _as_hashes(hashes)
    n = len(h)
    block = block or max(1, (1 << 22) // max(n, 1))
    aa, bb = [_EMPTY], [_EMPTY]
    for s in range(0, n, block):
        d = popcount(h[s : s + block, None] ^ h[None, :])
        a, b = np.nonzero(d <= r)
        a = a + s
        keep = a < b
        aa.append(a[keep].astype(np.intp))
        bb.append(b[keep].astype(np.intp))
    return np.concatenate(aa), np.concatenate(bb)


# --------------------------------------------------------------------------------------------
# components


class _Forest:
    """Union-find over ``n`` vertices, vectorised: ``find`` and ``union`` take arrays and cost
    what those arrays cost (pointer jumping; a full compression only when trees get deep)."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.intp)

    def find(self, x: np.ndarray) -> np.ndarray:
        p = self.parent
        r = p[x]
        for depth in itertools.count():
            rr = p[r]
            if np.array_equal(rr, r):
                if depth > 4:
                    self.compress()
                return r
            r = rr
        raise AssertionError  # pragma: no cover

    def compress(self) -> None:
        p = self.parent
        while True:
            q = p[p]
            if np.array_equal(q, p):
                break
            p = q
        self.parent = p

    def union(self, a: np.ndarray, b: np.ndarray) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        ra, rb = self.find(a), self.find(b)
        keep = ra != rb
        if not keep.any():
            return
        ra, rb = ra[keep], rb[keep]
        roots, inv = np.unique(np.concatenate([ra, rb]), return_inverse=True)
        m = len(ra)
        g = coo_matrix((np.ones(m, dtype=np.int8), (inv[:m], inv[m:])), shape=(len(roots), len(roots)))
        comp = connected_components(g, directed=False)[1]
        low = np.full(int(comp.max()) + 1, np.iinfo(np.intp).max, dtype=np.intp)
        np.minimum.at(low, comp, roots)
        self.parent[roots] = low[comp]

    def labels(self) -> np.ndarray:
        """Component of every vertex, numbered 0.. by first appearance."""
        self.compress()
        root = self.parent
        if not len(root):
            return root.copy()
        _, first, dense = np.unique(root, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        return rank[dense.reshape(-1)]


def _batches(idx: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for s in range(0, len(idx), size):
        yield idx[s : s + size]


def _spanning_forest(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Indices of edges ``(ra, rb)`` forming a spanning forest of the graph they make."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    roots, inv = np.unique(np.concatenate([ra, rb]), return_inverse=True)
    m, size = len(ra), len(roots)
    u, v = np.minimum(inv[:m], inv[m:]), np.maximum(inv[:m], inv[m:])
    _, first = np.unique(u.astype(np.int64) * size + v, return_index=True)  # one edge per node pair
    g = coo_matrix((np.arange(1, len(first) + 1, dtype=np.float64), (u[first], v[first])), shape=(size, size))
    tree = minimum_spanning_tree(g.tocsr()).tocoo()
    return first[np.sort(tree.data.astype(np.intp) - 1)]


#: Most pairs handed to ``confirm`` at once (bounds its memory: 8192 x two 32x32 thumbnails).
CONFIRM_BATCH = 8192


def near_components(
    hashes: Sequence[int] | np.ndarray,
    r: int = DEFAULT_RADIUS,
    *,
    confirm: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    chunk: int = CHUNK,
    confirm_batch: int = CONFIRM_BATCH,
    stats: dict | None = None,
) -> np.ndarray:
    """Connected components (labels ``0..c-1`` per input position, numbered by first
    appearance) of the graph whose edges are the pairs within ``r`` bits.

    Without ``confirm`` equal hashes are one vertex and the graph is built on distinct hashes:
    the cost follows the number of distinct hashes and their near pairs, whatever the copies.

    With ``confirm(a, b) -> bool array`` (positions ``a < b``, e.g. a thumbnail correlation
    test) an edge exists only where it returns True. It is called on at most
    ``confirm_batch`` pairs at a time, pairs of equal hashes first, and only on pairs whose
    ends are not yet in one component: an edge inside a component cannot change the
    components, so the labels are exactly those of confirming every pair. Each chunk of
    pairs is confirmed in rounds, a spanning forest of its open pairs at a time, while most
    of a round is accepted: a clique of n near-copies costs about n confirmations, not n^2/2;
    look-alikes that are rejected cost one confirmation per pair, as before. ``stats`` gets ``candidates`` and ``pairs`` (within r, before
    confirmation, counted on distinct hashes), ``confirm_calls`` and ``confirmed`` (pairs
    passed to / accepted by ``confirm``).
    """
    distinct, inverse = unique_hashes(hashes)
    n = len(inverse)
    near_stats: dict = {}
    if stats is not None:
        stats.update(confirm_calls=0, confirmed=0)
    if confirm is None:
        forest = _Forest(len(distinct))
        for i, j in iter_near_pairs(distinct, r, chunk=chunk, stats=near_stats):
            forest.union(i, j)
        labels = forest.labels()[inverse] if n else np.empty(0, dtype=np.intp)
    else:
        forest = _Forest(n)

        order, start, count = _members(inverse, len(distinct))

        def pending() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            # equal hashes first: each group's first member with the others (a star), then
            # the rest of the triangle only for groups the star did not join whole
            yield from _iter_member_pairs(order, [_triangle_blocks(start, count, rows=(0, 1))], chunk)
            if not n:
                return
            roots = forest.find(order)
            split = (np.minimum.reduceat(roots, start) != np.maximum.reduceat(roots, start)) & (count > 2)
            yield from _iter_member_pairs(order, [_triangle_blocks(start[split], count[split], rows=(1, None))], chunk)
            for i, j in iter_near_pairs(distinct, r, chunk=chunk, stats=near_stats):
                yield from expand_pairs(inverse, i, j, equal=False, chunk=chunk)

        def check(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            ok = np.asarray(confirm(a, b), dtype=bool)
            if ok.shape != a.shape:
                raise ValueError(f"confirm must return one bool per pair, shape {a.shape}, but got {ok.shape}")
            if stats is not None:
                stats["confirm_calls"] += len(a)
                stats["confirmed"] += int(ok.sum())
            if ok.any():
                forest.union(a[ok], b[ok])
            return ok

        for a, b in pending():
            # rounds: confirm a spanning forest of the open pairs, join what it accepts, drop
            # what is now inside one component; while most of a forest is accepted (copies)
            while len(a):
                ra, rb = forest.find(a), forest.find(b)
                open_ = ra != rb
                a, b, ra, rb = a[open_], b[open_], ra[open_], rb[open_]
                if not len(a):
                    break
                sel = _spanning_forest(ra, rb)
                accepted = sum(int(check(a[t], b[t]).sum()) for t in _batches(sel, confirm_batch))
                rest = np.ones(len(a), dtype=bool)
                rest[sel] = False
                a, b = a[rest], b[rest]
                if accepted * 2 < len(sel):  # mostly rejected (distinct look-alikes): no more rounds
                    break
            for t in _batches(np.arange(len(a)), confirm_batch):  # the rest, one batch at a time
                keep = forest.find(a[t]) != forest.find(b[t])
                if keep.any():
                    check(a[t][keep], b[t][keep])
        labels = forest.labels()
    if stats is not None:
        stats.update(candidates=near_stats.get("candidates", 0), pairs=near_stats.get("pairs", 0))
    if confirm is None and n:
        _, first, dense = np.unique(labels, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        labels = rank[dense.reshape(-1)]
    return labels.astype(np.intp, copy=False)
