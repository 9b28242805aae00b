"""Two-dimensional toy data sets, drawn on a device from a seed.

- "sine": x ~ U[0, 2 pi], y = sin x. The classic first GAN: a 1-D curve in the plane.
- "ring": a mixture of 8 Gaussians with centres on the unit circle at angles 2 pi i / 8 and
  std 0.01 per axis. (Beware linspace(0, 2 pi, 8): it repeats the first centre.)
- "grid": a mixture of 25 Gaussians at {-4, -2, 0, 2, 4}^2 with std 0.05 per axis.
Ring and grid are the mode-collapse benchmarks exactly as PacGAN (Lin et al. 2018) defines them:
uniform over modes, a training set drawn once.
"""
import math
from dataclasses import dataclass

from . import backend
from .arguments import check_int
from .random import Random

DATASETS = ("sine", "ring", "grid")


@dataclass
class Toy2D:
    """A data set: points (N, 2) on a device, and for mixtures the mode centres and their std."""
    name: str
    points: object          # xp array (N, 2), float32
    centres: object = None  # xp array (K, 2) for ring/grid, None for sine
    std: float = None


def ring_centres(xp):
    angles = xp.arange(8, dtype="float32") * (2 * math.pi / 8)
    return xp.stack([xp.cos(angles), xp.sin(angles)], axis=1)


def grid_centres(xp):
    ticks = xp.asarray([-4.0, -2.0, 0.0, 2.0, 4.0], dtype="float32")
    gx, gy = xp.meshgrid(ticks, ticks, indexing="ij")
    return xp.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)


def sample_mixture(centres, std, n, rng):
    """n points: a uniformly chosen centre plus N(0, std^2 I) noise."""
    which = rng.integers(0, len(centres), n)
    return centres[which] + rng.normal((n, 2), std=std)


def sine(n, rng):
    x = rng.uniform((n,), 0.0, 2 * math.pi)
    return Toy2D("sine", rng.xp.stack([x, rng.xp.sin(x)], axis=1))


def ring(n, rng):
    centres = ring_centres(rng.xp)
    return Toy2D("ring", sample_mixture(centres, 0.01, n, rng), centres, 0.01)


def grid(n, rng):
    centres = grid_centres(rng.xp)
    return Toy2D("grid", sample_mixture(centres, 0.05, n, rng), centres, 0.05)


def make_2d(name, n, seed=0, device=None):
    """The data set `name` ("sine", "ring" or "grid") with n points, on `device`."""
    if name not in DATASETS:
        raise ValueError(f"unknown 2-D data set {name!r}: expected one of {DATASETS}")
    check_int("make_2d", "n", n)
    rng = Random(seed, backend.check_device(device or backend.default_device()))
    return {"sine": sine, "ring": ring, "grid": grid}[name](n, rng)
