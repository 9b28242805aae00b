"""Seeded random numbers on a device.

A :class:`Random` wraps the random Generator of one array module (``numpy.random.default_rng``
or ``cupy.random.default_rng``), so noise for a GPU run is drawn on the GPU and never copied
from the host. Same seed, same device: same numbers.

Parameters are initialised from the module-level CPU generator (:func:`manual_seed` resets it),
then moved with ``.to(device)``; so one seed gives the same initial weights on every device.
"""
import json

from . import backend
from .arguments import check_seed


class Random:
    """Seeded float32 random numbers on one device."""

    def __init__(self, seed=None, device=None):
        self.seed = check_seed("Random", seed)
        self.device = backend.check_device(device or backend.default_device())
        self.xp = backend.xp_of_device(self.device)
        self._gen = self.xp.random.default_rng(seed)

    def normal(self, shape, std=1.0, mean=0.0, dtype="float32"):
        x = self._gen.standard_normal(shape, dtype=dtype)
        if std != 1.0:
            x *= std
        if mean != 0.0:
            x += mean
        return x

    def uniform(self, shape, low=0.0, high=1.0, dtype="float32"):
        x = self._gen.random(shape, dtype=dtype)     # U[0, 1)
        if (low, high) != (0.0, 1.0):
            x *= high - low
            x += low
        return x

    def integers(self, low, high, size):
        """Integers in [low, high), e.g. indices of a random minibatch."""
        return self._gen.integers(low, high, size=size)

    def get_state(self):
        """The generator's position as a JSON string, to resume a run exactly; None on the GPU
        (CuPy's generators keep their state on the device and do not export it)."""
        if self.device != "cpu":
            return None
        return json.dumps(self._gen.bit_generator.state)

    def set_state(self, state, fallback_seed=None):
        """Restore get_state()'s string; with None (a GPU checkpoint), reseed with
        fallback_seed instead: the run goes on, with different (equally random) draws."""
        if state is None:
            self._gen = self.xp.random.default_rng(fallback_seed)
        else:
            self._gen.bit_generator.state = json.loads(state)

    def __repr__(self):
        return f"Random(seed={self.seed}, device={self.device!r})"


_seed = 0
_defaults = {}   # device -> Random, made on first use


def manual_seed(seed):
    """Reset the default generators of every device (parameter init, dropout masks...)."""
    global _seed
    _seed = check_seed("manual_seed", seed)
    _defaults.clear()


def default_random(device="cpu"):
    """The generator used when a layer or function is given none (one per device)."""
    device = backend.check_device(device)
    if device not in _defaults:
        _defaults[device] = Random(_seed, device)
    return _defaults[device]
