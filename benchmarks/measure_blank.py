"""Measurements for a blank-image rule (issue 13, point 5): how much the small image the scan
already makes (32x32 area average of the EXIF-corrected grayscale pixels, ``_small``) varies,
on the real archive and on synthetic blank images.

    python benchmarks/measure_blank.py

Prints, for the entropy (Shannon, bits, of the 256-bin histogram of the 1,024 pixels; at most
10) and the standard deviation (gray levels) of the small image: min and percentiles over the
real archive's 4,083 images, its five lowest images, the same for synthetic blank images
(uniform, uniform with JPEG noise, two levels), and thresholds under every real image.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _fracatlas_scan import _decode_api, load


def entropy(small: np.ndarray) -> float:
    """Shannon entropy (bits) of the gray-level histogram of one small image."""
    counts = np.bincount(np.asarray(small, dtype=np.uint8).ravel(), minlength=256)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.000" for one level


def stats(small: np.ndarray) -> tuple[float, float, int]:
    s = np.asarray(small, dtype=np.uint8)
    return entropy(s), float(s.astype(np.float64).std()), int(s.max()) - int(s.min())


def _jpeg(gray: np.ndarray, quality: int) -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return buf


def synthetic(height: int = 454, width: int = 373) -> dict[str, np.ndarray]:
    """Blank-looking images a failed export could give, decoded and shrunk as the scan does."""
    decode, small_of, _ = _decode_api()
    rng = np.random.default_rng(0)
    base = np.full((height, width), 128, np.uint8)
    out: dict[str, np.ndarray] = {}
    for level in (0, 128, 255):
        out[f"uniform {level} (PNG-exact)"] = small_of(np.full((height, width), level, np.uint8))
    out["uniform 128, JPEG q75"] = small_of(decode(_jpeg(base, 75)))
    for sigma in (2, 8, 20, 50):
        noisy = np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)
        out[f"uniform 128 + noise sd {sigma}, JPEG q75"] = small_of(decode(_jpeg(noisy, 75)))
    out["uniform 128 + noise sd 8, JPEG q20"] = small_of(
        decode(_jpeg(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8), 20))
    )
    gradient = np.tile(np.linspace(100, 140, width).astype(np.uint8), (height, 1))
    out["gentle gradient 100..140, JPEG q75"] = small_of(decode(_jpeg(gradient, 75)))
    two = np.zeros((height, width), np.uint8)
    two[:, width // 2 :] = 255
    out["two levels 0/255 (halves), JPEG q75"] = small_of(decode(_jpeg(two, 75)))
    stripes = np.zeros((height, width), np.uint8)
    stripes[(np.arange(height) // 7) % 2 == 1] = 255
    out["two levels 0/255 (7-px stripes), JPEG q75"] = small_of(decode(_jpeg(stripes, 75)))
    dark = np.clip(rng.normal(3, 2, base.shape), 0, 255).astype(np.uint8)
    out["near-black (mean 3, sd 2), JPEG q75"] = small_of(decode(_jpeg(dark, 75)))
    return out


def main() -> int:
    data = load()
    names, smalls = data["names"], data["small"]
    vals = np.array([stats(s) for s in smalls])
    ent, sd, rng_ = vals[:, 0], vals[:, 1], vals[:, 2]
    q = [0, 0.1, 1, 5, 25, 50]
    print(f"real archive: {len(names)} small images (32x32)")
    for label, v in (("entropy (bits)", ent), ("std (gray levels)", sd), ("max - min", rng_)):
        pct = "  ".join(f"p{p:g} {np.percentile(v, p):.3f}" for p in q)
        print(f"  {label:<18} min {v.min():.3f}  {pct}  max {v.max():.3f}")
    print("  lowest entropy:")
    for k in np.argsort(ent, kind="stable")[:5]:
        print(f"    {names[k]}: entropy {ent[k]:.3f} bits, std {sd[k]:.2f}, range {int(rng_[k])}")
    print("  lowest std:")
    for k in np.argsort(sd, kind="stable")[:5]:
        print(f"    {names[k]}: entropy {ent[k]:.3f} bits, std {sd[k]:.2f}, range {int(rng_[k])}")
    print("synthetic (454x373, decoded and shrunk as the scan does):")
    syn = synthetic()
    for label, s in syn.items():
        e, d, r = stats(s)
        print(f"  {label:<45} entropy {e:.3f} bits, std {d:.2f}, range {r}")
    e_min, d_min = float(ent.min()), float(sd.min())
    std_cut, ent_cut = 4.0, 1.0
    flagged_real = int(((sd < std_cut) | (ent < ent_cut)).sum())
    flagged_syn = [k for k, s in syn.items() if stats(s)[1] < std_cut or stats(s)[0] < ent_cut]
    print(
        f"suggested rule: blank when std < {std_cut} gray levels (real minimum {d_min:.2f}, margin x{d_min / std_cut:.1f})"
        f" or entropy < {ent_cut} bit (real minimum {e_min:.3f}, margin x{e_min / ent_cut:.1f})"
    )
    print(f"  real images flagged: {flagged_real}; synthetic flagged: {len(flagged_syn)} of {len(syn)}")
    print(f"  synthetic not flagged: {[k for k in syn if k not in flagged_syn]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
