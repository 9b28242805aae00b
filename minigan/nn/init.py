"""Weight initialisations: a weight W of any shape and a bias b, given the layer's fan-in
(inputs that feed one output: in_features for Dense, C_in * kh * kw for Conv2d) and fan-out.

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


def initial_weights(shape, bias_size, fan_in, fan_out, scheme="default", rng=None):
    """Initial (W, b) host arrays: W of `shape`, b of shape (bias_size,)."""
    if scheme not in INITS:
        raise ValueError(f"unknown initialisation {scheme!r}: expected one of {INITS}")
    rng = rng or default_random("cpu")
    if scheme == "default":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(shape, -bound, bound), rng.uniform((bias_size,), -bound, bound)
    zeros = rng.xp.zeros((bias_size,), dtype="float32")
    if scheme == "glorot":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(shape, -bound, bound), zeros
    if scheme == "he":
        return rng.normal(shape, std=math.sqrt(2.0 / fan_in)), zeros
    return rng.normal(shape, std=0.02), zeros                         # dcgan


def dense_weights(fan_in, fan_out, scheme="default", rng=None):
    """Initial (W, b) host arrays for a Dense layer: W (fan_in, fan_out), b (fan_out,)."""
    return initial_weights((fan_in, fan_out), fan_out, fan_in, fan_out, scheme, rng)
