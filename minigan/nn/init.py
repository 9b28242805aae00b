"""Weight initialisations for a Dense layer's W (fan_in, fan_out) and b (fan_out,).

All draw float32 from a seeded CPU generator (``minigan.manual_seed``), so one seed gives the
same initial network on every device; ``module.to("gpu")`` moves it afterwards.

- "default": PyTorch's nn.Linear default, W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
- "glorot" (Xavier uniform): W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), b = 0. Keeps the
  variance of activations and of gradients roughly equal across tanh/sigmoid layers.
- "he" (Kaiming normal): W ~ N(0, 2 / fan_in), b = 0. ReLU zeroes half its inputs, so the
  variance is doubled to compensate.
- "dcgan": W ~ N(0, 0.02^2), b = 0, as in Radford et al. 2015 (DCGAN).
"""
import math

from ..random import default_random

INITS = ("default", "glorot", "he", "dcgan")


def dense_weights(fan_in, fan_out, scheme="default", rng=None):
    """Initial (W, b) host arrays for a Dense layer."""
    rng = rng or default_random("cpu")
    if scheme == "default":
        bound = 1.0 / math.sqrt(fan_in)
        return (rng.uniform((fan_in, fan_out), -bound, bound),
                rng.uniform((fan_out,), -bound, bound))
    zeros = rng.xp.zeros((fan_out,), dtype="float32")
    if scheme == "glorot":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform((fan_in, fan_out), -bound, bound), zeros
    if scheme == "he":
        return rng.normal((fan_in, fan_out), std=math.sqrt(2.0 / fan_in)), zeros
    if scheme == "dcgan":
        return rng.normal((fan_in, fan_out), std=0.02), zeros
    raise ValueError(f"unknown initialisation {scheme!r}: expected one of {INITS}")
