"""Dense, the activations, Dropout, Sequential, Embedding, Flatten and Reshape; and the checks
every layer shares: of its input (check_input) and of its constructor's sizes (check_int),
which the networks of minigan/gan/ and the trainer use too."""
import math

from .. import backend
from .. import functions as F
from ..arguments import check_sizes
from ..functions.embedding import Embedding as EmbeddingLookup
from ..functions.embedding import check_indices
from ..random import default_random
from ..tensor import Tensor
from .init import dense_weights
from .module import Module, Parameter


def check_input(layer, x, size, ndim=2):
    """Raise a clear error unless x is a float Tensor of shape (batch, size) (ndim 2) or
    (N, size, H, W) (ndim 4: images, size channels), on the device of the layer's weight."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor, got {type(x).__name__}")
    if x.ndim != ndim or x.shape[1] != size:
        expected = f"(batch, {size})" if ndim == 2 else f"(N, {size}, H, W)"
        raise ValueError(f"{layer}: expected input of shape {expected}, got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{layer}: expected a floating point input, got dtype {x.dtype}")
    if not backend.same_device(x.data, layer.weight.data):
        raise_device_mismatch(layer, x)


class Dense(Module):
    """y = x W + b: x (batch, in_features), W (in_features, out_features), b (out_features,)."""

    def __init__(self, in_features, out_features, bias=True, init="default", rng=None):
        check_sizes("Dense", in_features=in_features, out_features=out_features)
        W, b = dense_weights(in_features, out_features, init, rng)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(W)
        self.bias = Parameter(b) if bias else None

    def forward(self, x):
        return self.forward_with(x, self.weight)

    def forward_with(self, x, weight):
        """The layer with another weight of the same shape (SpectralNorm passes W / sigma)."""
        check_input(self, x, self.in_features)
        return F.linear(x, weight, self.bias)

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


# --- lookup and shape layers -----------------------------------------------------------------------

EMBEDDING_INITS = ("default", "dcgan")


class Embedding(Module):
    """A table of num_embeddings learned vectors of size dim, looked up by integer index.

    indices of any shape (a Tensor or array of integers in [0, num_embeddings)) give an output of
    shape indices.shape + (dim,): e.g. class labels (N,) -> (N, dim) vectors for a conditional
    GAN. init "default": W ~ N(0, 1), as PyTorch's nn.Embedding; "dcgan": W ~ N(0, 0.02^2).
    """

    def __init__(self, num_embeddings, dim, init="default", rng=None):
        check_sizes("Embedding", num_embeddings=num_embeddings, dim=dim)
        if init not in EMBEDDING_INITS:
            raise ValueError(f"unknown Embedding initialisation {init!r}: expected one of "
                             f"{EMBEDDING_INITS}")
        rng = rng or default_random("cpu")
        std = 1.0 if init == "default" else 0.02
        self.num_embeddings, self.dim = num_embeddings, dim
        self.weight = Parameter(rng.normal((num_embeddings, dim), std=std))

    def forward(self, indices):
        data = check_indices(self, indices, self.num_embeddings)
        if backend.device_of(data) != self.weight.device:
            raise_device_mismatch(self, Tensor(data))
        return EmbeddingLookup()(indices, self.weight)     # indices checked above

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.dim}"

    def __str__(self):
        return f"Embedding({self.num_embeddings}, {self.dim})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): one vector per sample, e.g. feature maps to Dense."""

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Flatten: expected a Tensor, got {type(x).__name__}")
        if x.ndim < 2:
            raise ValueError(f"Flatten: expected input of shape (batch, ...) with at least 2 "
                             f"axes, got {x.shape}")
        # An explicit size, not -1: reshape(0, -1) is ambiguous for an empty batch.
        return F.reshape(x, (x.shape[0], math.prod(x.shape[1:])))


class Reshape(Module):
    """(N, prod(shape)) -> (N, *shape), e.g. a Dense output (N, 256 * 4 * 4) -> (N, 256, 4, 4).

    The batch axis is kept; only the values of each sample are rearranged. Any input whose
    per-sample size is prod(shape) is accepted, so Reshape also undoes a Flatten.
    """

    def __init__(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                for n in shape):
            raise ValueError(f"Reshape: expected positive integer sizes, e.g. Reshape(64, 7, 7), "
                             f"got {shape}")
        self.shape = shape
        self.size = math.prod(shape)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self}: expected a Tensor, got {type(x).__name__}")
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.size:
            raise ValueError(f"{self}: expected input of shape (batch, {self.size}) "
                             f"({' * '.join(map(str, self.shape))} = {self.size} values per "
                             f"sample), got {x.shape}")
        return F.reshape(x, (x.shape[0],) + self.shape)

    def extra_repr(self):
        return ", ".join(map(str, self.shape))

    def __str__(self):
        return f"Reshape({self.extra_repr()})"
