"""How good are generated 2-D samples? Works on NumPy or CuPy arrays; returns Python numbers.

Sine: how far the samples lie from the curve y = sin x, and how much of it they cover.
Mixtures (ring, grid), as PacGAN (Lin et al. 2018) measures them:
- a sample is high quality (HQ) when it lies within 3 std of its nearest mode centre;
- a mode is covered when at least one HQ sample has it as nearest centre;
- reverse KL = sum_k p_k ln(K p_k), p_k the share of all samples nearest to mode k (0 ln 0 = 0):
  0 for an even spread over the K modes, ln K when everything sits on one mode. A diffuse
  cloud also spreads evenly, so read it with HQ.
"""
import math

from .backend import get_array_module
from .tensor import Tensor


def _as_array(samples):
    """The array inside a Tensor, or the array itself."""
    return samples.data if isinstance(samples, Tensor) else samples


def distance_to_sine(samples, resolution=4096, chunk=2048):
    """Mean Euclidean distance from each sample to the curve y = sin x, x in [0, 2 pi]."""
    samples = _as_array(samples)
    xp = get_array_module(samples)
    t = xp.linspace(0.0, 2 * math.pi, resolution, dtype="float32")
    curve = xp.stack([t, xp.sin(t)], axis=1)             # a fine polyline: spacing 0.0015
    total = 0.0
    for start in range(0, len(samples), chunk):          # chunks bound the (n, resolution) matrix
        d = _squared_distances(samples[start:start + chunk], curve).min(axis=1)
        total += float(xp.sqrt(d).sum())
    return total / len(samples)


def sine_coverage(samples, bins=20, tolerance=0.1):
    """Share of `bins` equal slices of [0, 2 pi] holding a sample within `tolerance` of the
    curve: 1.0 when the samples cover the whole period, small when they collapse."""
    samples = _as_array(samples)
    xp = get_array_module(samples)
    x, y = samples[:, 0], samples[:, 1]
    on_curve = (xp.abs(y - xp.sin(x)) < tolerance) & (x >= 0) & (x < 2 * math.pi)
    slots = (x[on_curve] / (2 * math.pi / bins)).astype("int64")
    return int(xp.unique(slots).size) / bins


def _squared_distances(a, b):
    """(n, k) matrix of squared distances between rows of a (n, 2) and b (k, 2)."""
    diff = a[:, None, :] - b[None, :, :]
    return (diff * diff).sum(axis=2)


def mode_metrics(samples, centres, std):
    """{"modes": covered modes, "hq": share of HQ samples, "reverse_kl": ...} for a mixture."""
    samples, centres = _as_array(samples), _as_array(centres)
    xp = get_array_module(samples)
    d2 = _squared_distances(samples.astype("float64"), centres.astype("float64"))
    nearest = d2.argmin(axis=1)
    high_quality = xp.sqrt(d2.min(axis=1)) <= 3 * std
    k = len(centres)
    covered = xp.unique(nearest[high_quality]).size
    share = xp.bincount(nearest, minlength=k) / len(samples)
    p = share[share > 0]
    reverse_kl = float((p * xp.log(k * p)).sum())
    return {"modes": int(covered), "hq": float(high_quality.mean()), "reverse_kl": reverse_kl}
