"""Time the near-duplicate hash index (``fracatlas_annot/imaging/hashindex.py``) on hashes
drawn like real radiograph pHashes, against brute force (and faiss, when importable).

    python benchmarks/bench_hashindex.py                    # 10^4, 10^5, 10^6
    python benchmarks/bench_hashindex.py --sizes 10000,100000 --brute-max 10000
    PYTHONPATH=/some/dir/with/faiss python benchmarks/bench_hashindex.py --faiss-max 100000

Hashes: the pHash of each of the real archive's 4,083 images (decoded as the scan does,
cached in ``benchmarks/_data/``), then copies of random ones up to the size:

* ``replicas``: each copy has 1-3 random bits flipped (as a re-encoded or slightly edited
  copy would). Copies of one image are within 6 bits of each other, so the *answer* grows
  with the square of the copies per image (about n^2 / 8,166 pairs); the index's work
  follows the answer, not n^2.
* ``spread``: each copy has 8-12 random bits flipped: distinct images that keep the real
  hashes' clustering (the DC bit, common layouts), with few true pairs.

For each: the band plan chosen (bands, their widths in bits, layout, radii), candidate pairs
enumerated, pairs within 6 bits, wall and CPU seconds (plan + enumeration, pairs counted, not
kept; the plan's own share and the CPU per hash beside them), brute force on the same distinct
hashes where ``n <= --brute-max``, the growth from the previous size, and the peak of the
index's own allocations (a second run under tracemalloc). Then the
components with a confirm callback (as duplicates.py would confirm by thumbnails): how many
pairs it had to confirm. Last, 4,083 copies of one hash, against today's all-pairs search.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _fracatlas_scan import load

from fracatlas_annot.imaging import hashindex as hx

R = hx.DEFAULT_RADIUS


def _flip(rng: np.random.Generator, src: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Flip ``lo..hi`` distinct random bits of each hash."""
    out = src.copy()
    for s in range(0, len(src), 1 << 16):  # in slices: the index, not this, should set the peak
        k = rng.integers(lo, hi + 1, size=len(src[s : s + (1 << 16)]))
        ranks = np.argsort(rng.random((len(k), 64)), axis=1)  # a random order of the 64 bits per row
        for t in range(hi):
            bit = ranks[:, t].astype(np.uint64)
            part = out[s : s + len(k)]
            out[s : s + len(k)] = np.where(k > t, part ^ (np.uint64(1) << bit), part)
    return out


def draw(real: np.ndarray, n: int, model: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` hashes (the real ones first) and the index of the real image each came from."""
    rng = np.random.default_rng(seed)
    extra = max(0, n - len(real))
    origin = np.concatenate([np.arange(len(real)), rng.integers(0, len(real), size=extra)])[:n]
    lo, hi = (1, 3) if model == "replicas" else (8, 12)
    h = np.concatenate([real, _flip(rng, real[origin[len(real) :]], lo, hi)])[:n]
    return h, origin


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - t[0], time.process_time() - t[1]


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_index(distinct: np.ndarray) -> dict:
    t = _clock()
    bp = hx.plan(distinct, R)
    plan_wall, plan_cpu = _since(t)
    stats: dict = {}
    pairs = 0
    for i, _ in hx.iter_near_pairs(distinct, R, band_plan=bp, stats=stats):
        pairs += len(i)
    wall, cpu = _since(t)
    tracemalloc.start()  # again, for the memory the index allocates (numpy arrays are traced)
    for _ in hx.iter_near_pairs(distinct, R):
        pass
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    widths = "/".join(str(m.bit_count()) for m in bp.masks)
    return {**stats, "pairs": pairs, "wall": wall, "cpu": cpu, "plan_cpu": plan_cpu, "widths": widths, "traced_mib": peak}


def run_brute(distinct: np.ndarray) -> tuple[int, float, float]:
    t = _clock()
    pairs = 0
    n = len(distinct)
    block = max(1, (1 << 22) // max(n, 1))
    for s in range(0, n, block):
        e = min(n, s + block)
        d = hx.popcount(distinct[s:e, None] ^ distinct[None, s:])  # the upper triangle only
        a, b = np.nonzero(d <= R)
        pairs += int(np.count_nonzero(a < b))
    return pairs, *_since(t)


def run_faiss(distinct: np.ndarray) -> tuple[int, float, float] | None:
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        return None
    t = _clock()
    x = distinct.view(np.uint8).reshape(-1, 8)
    idx = faiss.IndexBinaryMultiHash(64, 3, 21)  # 3 bands of 21 bits, 2 flips: exact for r = 6
    idx.nflip = 2
    idx.add(x)
    pairs = 0
    for s in range(0, len(x), 20000):
        lims, _, ids = idx.range_search(x[s : s + 20000], R + 1)  # faiss keeps distance < radius
        q = np.repeat(np.arange(s, s + len(lims) - 1), np.diff(lims.astype(np.int64)))
        pairs += int(np.count_nonzero(q < ids))
    return pairs, *_since(t)


def run_components(h: np.ndarray, origin: np.ndarray) -> dict:
    """Components with a confirm callback that accepts copies of one real image (what the
    thumbnail test would say for near-copies)."""
    t = _clock()
    stats: dict = {}
    labels = hx.near_components(h, R, confirm=lambda a, b: origin[a] == origin[b], stats=stats)
    wall, cpu = _since(t)
    return {**stats, "components": int(labels.max()) + 1 if len(labels) else 0, "wall": wall, "cpu": cpu}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--models", default="replicas,spread")
    ap.add_argument("--brute-max", type=int, default=100000, help="largest size brute-forced (default 10^5)")
    ap.add_argument("--faiss-max", type=int, default=10000, help="largest size run through faiss, if importable")
    ap.add_argument("--components-max", type=int, default=100000, help="largest size for the confirm run")
    args = ap.parse_args()
    data = load()
    real = data["phash"]
    print(f"real archive: {len(real)} images, {len(np.unique(real))} distinct pHashes; radius {R}", flush=True)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    for model in args.models.split(","):
        print(f"\n== {model} ==", flush=True)
        prev = None
        for n in sizes:
            h, origin = draw(real, n, model)
            distinct, _ = hx.unique_hashes(h)
            r = run_index(distinct)
            line = (
                f"n={n:>9,} distinct={len(distinct):>9,}  plan {r['bands']} bands of {r['widths']} bits {r['layout']:<11} radii {r['radii']}"
                f"  candidates {r['candidates']:>13,}  probes {r['probes']:>11,}  pairs {r['pairs']:>12,}"
                f"  ({r['candidates'] / max(r['pairs'], 1):.1f} cand/pair)  index {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU"
                f" (plan {r['plan_cpu']:.2f}; {r['cpu'] / n * 1e6:.2f} us CPU per hash)"
            )
            if prev:
                line += (
                    f"  | x{n / prev['n']:.0f} hashes: time x{r['cpu'] / max(prev['cpu'], 1e-9):.1f},"
                    f" candidates x{r['candidates'] / max(prev['candidates'], 1):.1f}, pairs x{r['pairs'] / max(prev['pairs'], 1):.1f}"
                )
            print(line + f"  (index allocations peak {r['traced_mib']:.0f} MiB; process peak RSS {_rss():.0f} MiB)", flush=True)
            if n <= args.brute_max:
                bp, bw, bc = run_brute(distinct)
                same = "same pairs count" if bp == r["pairs"] else f"DIFFERENT ({bp:,})"
                print(f"    brute force: {bw:.2f} s wall, {bc:.2f} s CPU ({bc / max(r['cpu'], 1e-9):.0f}x the index), {same}", flush=True)
            if n <= args.faiss_max:
                f = run_faiss(distinct)
                if f is None:
                    print("    faiss: not importable (PYTHONPATH to a faiss-cpu install to compare)", flush=True)
                else:
                    same = "same pairs count" if f[0] == r["pairs"] else f"DIFFERENT ({f[0]:,})"
                    print(f"    faiss IndexBinaryMultiHash(3 x 21 bits, nflip 2): {f[1]:.2f} s wall, {f[2]:.2f} s CPU, {same}", flush=True)
            if model == "replicas" and n <= args.components_max:
                c = run_components(h, origin)
                print(
                    f"    components with confirm: {c['components']:,} components, confirm called on {c['confirm_calls']:,} pairs"
                    f" ({c['confirmed']:,} accepted) of {c['pairs']:,} near pairs of distinct hashes + equal ones;"
                    f" {c['wall']:.2f} s wall, {c['cpu']:.2f} s CPU",
                    flush=True,
                )
            prev = {"n": n, **r}

    print("\n== 4,083 copies of one hash ==", flush=True)
    same = np.full(len(real), real[0], dtype=np.uint64)
    t = _clock()
    stats: dict = {}
    labels = hx.near_components(same, R, stats=stats)
    w, c = _since(t)
    print(f"index: {int(labels.max()) + 1} component, {stats['candidates']} candidates, {w * 1000:.1f} ms wall", flush=True)
    t = _clock()
    stats = {}
    labels = hx.near_components(same, R, confirm=lambda a, b: np.ones(len(a), bool), stats=stats)
    w, c = _since(t)
    print(f"index + confirm: {int(labels.max()) + 1} component, confirm called on {stats['confirm_calls']:,} pairs, {w:.2f} s wall", flush=True)
    try:
        from fracatlas_annot.pixels import iter_phash_pairs  # today's all-pairs search
    except ImportError:
        from fracatlas_annot.imaging.decode import iter_phash_pairs  # type: ignore[no-redef]
    t = _clock()
    n_pairs = sum(len(i) for i, _ in iter_phash_pairs(same, R))
    w, c = _since(t)
    print(f"today's iter_phash_pairs: {n_pairs:,} pairs to confirm, {w:.2f} s wall (before any confirmation)", flush=True)
    print(f"\npeak RSS {_rss():.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
