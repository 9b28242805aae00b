"""2-D data sets and the quality metrics, on hand-made samples whose answers are known."""
import math

import numpy as np
import pytest

from minigan import backend
from minigan.data import grid_centres, make_2d, ring_centres
from minigan.metrics import distance_to_sine, mode_metrics, sine_coverage


@pytest.mark.parametrize("name, modes, std", [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_mixtures_follow_pacgan(device, name, modes, std):
    data = make_2d(name, 20000, seed=0, device=device)
    points, centres = backend.to_numpy(data.points), backend.to_numpy(data.centres)
    assert points.shape == (20000, 2) and points.dtype == np.float32
    assert len(np.unique(np.round(centres, 6), axis=0)) == modes     # no repeated centre
    assert data.std == std
    nearest = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=modes)
    assert counts.min() > 0.7 * 20000 / modes                         # uniform over modes
    offsets = points - centres[nearest]
    assert offsets.std() == pytest.approx(std, rel=0.05)


def test_ring_and_grid_centres(xp):
    ring = backend.to_numpy(ring_centres(xp))
    assert np.allclose(np.hypot(ring[:, 0], ring[:, 1]), 1.0, atol=1e-6)
    assert np.allclose(ring[2], [0.0, 1.0], atol=1e-6)                # angle 2 pi * 2 / 8
    grid = backend.to_numpy(grid_centres(xp))
    assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_sine_data_lies_on_the_curve(device):
    points = backend.to_numpy(make_2d("sine", 1000, device=device).points)
    assert np.allclose(points[:, 1], np.sin(points[:, 0]), atol=1e-6)
    assert points[:, 0].min() >= 0 and points[:, 0].max() < 2 * math.pi


def test_same_seed_same_data(device):
    a = backend.to_numpy(make_2d("grid", 100, seed=4, device=device).points)
    b = backend.to_numpy(make_2d("grid", 100, seed=4, device=device).points)
    c = backend.to_numpy(make_2d("grid", 100, seed=5, device=device).points)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bad_data_requests():
    with pytest.raises(ValueError, match="unknown 2-D data set 'moons'"):
        make_2d("moons", 10)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        make_2d("ring", 0)


def test_all_samples_on_one_mode(xp):
    centres = ring_centres(xp)
    samples = xp.repeat(centres[3:4], 100, axis=0)
    m = mode_metrics(samples, centres, 0.01)
    assert m == {"modes": 1, "hq": 1.0, "reverse_kl": pytest.approx(math.log(8))}


def test_perfect_spread(xp):
    centres = grid_centres(xp)
    samples = xp.tile(centres, (4, 1))              # every mode, equally often, exactly
    m = mode_metrics(samples, centres, 0.05)
    assert m["modes"] == 25 and m["hq"] == 1.0
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_half_off_manifold(xp):
    centres = ring_centres(xp)
    on = xp.tile(centres, (5, 1))                   # 40 samples on the modes
    off = on * 0.5                                  # 40 between the origin and the ring
    m = mode_metrics(xp.concatenate([on, off]), centres, 0.01)
    assert m["hq"] == 0.5 and m["modes"] == 8
    # off-manifold samples still count for reverse KL (nearest mode): spread evenly -> 0
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_hq_radius_is_three_std(xp):
    centres = ring_centres(xp)
    near = centres[:1] + xp.asarray([[0.0299, 0.0]])
    far = centres[:1] + xp.asarray([[0.0301, 0.0]])
    assert mode_metrics(near, centres, 0.01)["hq"] == 1.0
    assert mode_metrics(far, centres, 0.01) == {"modes": 0, "hq": 0.0,
                                                "reverse_kl": pytest.approx(math.log(8))}


def test_distance_to_sine(xp):
    x = xp.linspace(0.0, 2 * math.pi, 500)
    on_curve = xp.stack([x, xp.sin(x)], axis=1)
    assert distance_to_sine(on_curve) < 1e-3
    # Shifted up by 0.1: the distance is at most 0.1 (vertical) and at least 0.1 / sqrt(2)
    # (where the slope is steepest, |cos x| = 1).
    shifted = on_curve + xp.asarray([0.0, 0.1])
    assert 0.1 / math.sqrt(2) < distance_to_sine(shifted) < 0.1
    assert distance_to_sine(xp.asarray([[math.pi / 2, 3.0]])) == pytest.approx(2.0, abs=1e-3)


def test_sine_coverage(xp):
    x = xp.linspace(0.0, 2 * math.pi - 1e-6, 2000)
    curve = xp.stack([x, xp.sin(x)], axis=1)
    assert sine_coverage(curve) == 1.0
    assert sine_coverage(curve[:100]) == pytest.approx(1 / 20)      # the first 5% of the period
    assert sine_coverage(curve + xp.asarray([0.0, 1.0])) == 0.0     # off the curve
