"""Activations: tanh, sigmoid, relu, leaky_relu, and dropout."""
from ..backend import get_array_module
from ..tensor import Function, Tensor


def stable_sigmoid(x):
    """sigmoid(x) = 1 / (1 + e^-x) of an array, without overflow and with full relative precision.

    e^-x overflows for x < -88 in float32, and the tempting (1 + tanh(x/2)) / 2 rounds every
    probability below ~1e-8 to 0 (it keeps only absolute precision). Instead, with
    e = e^-|x| in (0, 1]:  sigmoid(-|x|) = e / (1 + e), accurate even when tiny, and
    sigmoid(x) = sigmoid(-|x|) for x < 0,  1 - sigmoid(-|x|) for x >= 0.
    A Tensor (in a recorded backward rule) goes to the Sigmoid Function, which computes this.
    """
    if isinstance(x, Tensor):
        return sigmoid(x)
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))                  # e^-|x|, in (0, 1]: never overflows
    s = e / (1 + e)                         # sigmoid(-|x|)
    return s + (x >= 0) * (1 - 2 * s)       # where x >= 0: s + 1 - 2s = 1 - sigmoid(-|x|)


class Sigmoid(Function):
    twice_differentiable = True

    def forward(self, x):
        y = stable_sigmoid(x)
        self.saved = (y,)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # d/dx sigmoid = s (1 - s), with s = y.
        return gy * (y * (1 - y))


def sigmoid(x):
    return Sigmoid()(x)


class Tanh(Function):
    twice_differentiable = True

    def forward(self, x):
        y = get_array_module(x).tanh(x)
        self.saved = (y,)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # d/dx tanh x = 1 - tanh^2 x = 1 - y^2.
        return gy * (1 - y * y)


def tanh(x):
    return Tanh()(x)


class ReLU(Function):
    twice_differentiable = True     # the mask is constant: relu'' = 0 away from the kink

    def forward(self, x):
        # A float mask (1 where x > 0) serves both passes: y = x * mask, dy/dx = mask.
        # Multiplying by it is faster than xp.where with a boolean mask.
        self.mask = (x > 0).astype(x.dtype)
        return x * self.mask

    def backward(self, gy):
        # d/dx max(x, 0) = 1 for x > 0, 0 for x < 0 (we take 0 at the kink x = 0).
        return gy * self.mask


def relu(x):
    return ReLU()(x)


class LeakyReLU(Function):
    twice_differentiable = True     # m is constant, as ReLU's mask

    def __init__(self, slope=0.2):
        self.slope = slope

    def forward(self, x):
        # y = x for x > 0, slope * x otherwise: y = x * m with m = 1 or slope.
        self.m = (x > 0).astype(x.dtype) * (1 - self.slope) + self.slope
        return x * self.m

    def backward(self, gy):
        # dy/dx = m (1 for x > 0, slope otherwise).
        return gy * self.m


def leaky_relu(x, slope=0.2):
    return LeakyReLU(slope)(x)


class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1-p).

    The scaling keeps E[y] = x, so nothing changes between training and evaluation (where
    dropout is the identity).
    """
    twice_differentiable = True     # the mask is drawn, not computed from x

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forward(self, x):
        keep = self.rng.uniform(x.shape, dtype=x.dtype) >= self.p
        self.mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, gy):
        # y = x * mask (mask fixed by the forward pass):  dy/dx = mask.
        return gy * self.mask


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout in training; the identity when ``training`` is False or p == 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    if rng is None:
        from ..random import default_random
        rng = default_random(x.device)
    return Dropout(p, rng)(x)
