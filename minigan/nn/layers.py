"""Dense, the activations, Dropout and Sequential."""
from .. import functions as F
from ..tensor import Tensor
from .init import dense_weights
from .module import Module, Parameter


def check_input(layer, x, features):
    """Raise a clear error unless x is a float Tensor of shape (batch, features)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(f"{layer}: expected input of shape (batch, {features}), got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{layer}: expected a floating point input, got dtype {x.dtype}")


class Dense(Module):
    """y = x W + b: x (batch, in_features), W (in_features, out_features), b (out_features,)."""

    def __init__(self, in_features, out_features, bias=True, init="default", rng=None):
        W, b = dense_weights(in_features, out_features, init, rng)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(W)
        self.bias = Parameter(b) if bias else None

    def forward(self, x):
        check_input(self, x, self.in_features)
        if x.device != self.weight.device:
            raise_device_mismatch(self, x)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features} -> {self.out_features}"

    def __str__(self):
        return f"Dense({self.in_features} -> {self.out_features})"


def raise_device_mismatch(layer, x):
    from ..backend import DeviceError
    raise DeviceError(f"{layer}: input is on {x.device} (shape {x.shape}) but the layer's "
                      f"parameters are on {layer.device}; move one with .to(device)")


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope=0.2):
        self.slope = slope

    def forward(self, x):
        return F.leaky_relu(x, self.slope)

    def extra_repr(self):
        return f"slope={self.slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Identity(Module):
    def forward(self, x):
        return x


class Dropout(Module):
    """Zeroes inputs with probability p while training; the identity in eval mode."""

    def __init__(self, p=0.5, rng=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid,
               "identity": Identity, None: Identity}


def activation(name):
    """An activation module from its name ("relu", "leaky_relu", "tanh", "sigmoid", None)."""
    if isinstance(name, Module):
        return name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected one of "
                         f"{[k for k in ACTIVATIONS if k]}")
    return ACTIVATIONS[name]()


class Sequential(Module):
    """Apply layers one after another."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)
