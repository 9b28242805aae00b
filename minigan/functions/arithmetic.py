"""Differentiable operations: each forward with its backward and the derivation.

Notation in the comments: y is the output, gy = dL/dy the gradient arriving from above, and gx
the gradient we return, dL/dx = (dy/dx)^T gy. For elementwise ops that is gx = gy * y'(x).

Every forward starts from the array module of its inputs (``xp``), so one body serves NumPy and
CuPy. Public names are lowercase functions (``add``, ``sigmoid``...) that build the Function
and call it; the classes are the place to read the math.
"""
from ..backend import get_array_module, is_array
from ..tensor import Function, Tensor


def sum_to(g, shape):
    """Sum a broadcast gradient back to `shape`.

    If x of shape (3, 1) was broadcast to (2, 3, 4) in the forward pass, each x element was used
    2 * 4 times, so dL/dx is the sum of gy over the broadcast axes: the leading extra axis and
    every axis where x had size 1.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _shape(x):
    return getattr(x, "shape", ())


# --- arithmetic ------------------------------------------------------------------------------------

class Add(Function):
    def forward(self, a, b):
        self.shapes = _shape(a), _shape(b)
        return a + b

    def backward(self, gy):
        # y = a + b:  dy/da = dy/db = 1, summed back over broadcast axes.
        ga = sum_to(gy, self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to(gy, self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


class Sub(Function):
    def forward(self, a, b):
        self.shapes = _shape(a), _shape(b)
        return a - b

    def backward(self, gy):
        # y = a - b:  dy/da = 1, dy/db = -1.
        ga = sum_to(gy, self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to(-gy, self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        # y = a * b:  dy/da = b, dy/db = a.
        ga = sum_to(gy * self.b, _shape(self.a)) if self.needs_grad[0] else None
        gb = sum_to(gy * self.a, _shape(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        # y = a / b:  dy/da = 1 / b,  dy/db = -a / b^2.
        ga = sum_to(gy / self.b, _shape(self.a)) if self.needs_grad[0] else None
        gb = sum_to(-gy * self.a / (self.b * self.b), _shape(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        # y = -x:  dy/dx = -1.
        return -gy


class Pow(Function):
    """x ** c for a constant exponent c."""

    def __init__(self, exponent):
        self.c = exponent

    def forward(self, x):
        self.x = x
        return x ** self.c

    def backward(self, gy):
        # y = x^c:  dy/dx = c x^(c-1).
        return gy * (self.c * self.x ** (self.c - 1))


class MatMul(Function):
    """Matrix product of (..., n, k) and (..., k, m), batch axes broadcast."""

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: expected shapes (..., n, k) and (..., k, m), "
                             f"got {a.shape} and {b.shape}")
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        # y = a b:  dL/da = gy b^T,  dL/db = a^T gy  (each y_ij = sum_k a_ik b_kj).
        xp = get_array_module(gy)
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(gy @ xp.swapaxes(self.b, -1, -2), self.a.shape)
        if self.needs_grad[1]:
            gb = sum_to(xp.swapaxes(self.a, -1, -2) @ gy, self.b.shape)
        return ga, gb


class Linear(Function):
    """y = x W + b for x (batch, in), W (in, out), b (out,): a Dense layer in one node."""

    def forward(self, x, W, b):
        self.x, self.W = x, W
        y = x @ W
        if b is not None:
            y += b                  # in place: y is a fresh array, save a temporary
        return y

    def backward(self, gy):
        # y_ij = sum_k x_ik W_kj + b_j:
        #   dL/dx = gy W^T,  dL/dW = x^T gy,  dL/db = sum over the batch of gy.
        gx = gy @ self.W.T if self.needs_grad[0] else None
        gW = self.x.T @ gy if self.needs_grad[1] else None
        gb = gy.sum(axis=0) if self.needs_grad[2] else None
        return gx, gW, gb


# --- reductions and shape ------------------------------------------------------------------------

def _keepdims_shape(shape, axis):
    """The shape of x.sum(axis, keepdims=True), to broadcast a gradient back over x."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = get_array_module(x)
        self.shape = x.shape
        # asarray: NumPy reduces to a scalar object, not a 0-d array, when axis is None.
        return xp.asarray(x.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        # y = sum_i x_i:  dy/dx_i = 1, so every x_i receives gy (broadcast back).
        xp = get_array_module(gy)
        return xp.broadcast_to(gy.reshape(_keepdims_shape(self.shape, self.axis)), self.shape)


class Mean(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = get_array_module(x)
        self.shape = x.shape
        y = xp.asarray(x.mean(axis=self.axis, keepdims=self.keepdims))
        self.n = x.size // max(y.size, 1)
        return y

    def backward(self, gy):
        # y = (1/n) sum_i x_i:  dy/dx_i = 1/n.
        xp = get_array_module(gy)
        g = gy.reshape(_keepdims_shape(self.shape, self.axis)) / self.n
        return xp.broadcast_to(g, self.shape)


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        # Reshaping moves no values: the gradient is reshaped back.
        return gy.reshape(self.x_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        # Permuting axes moves values: the gradient goes back by the inverse permutation.
        if self.axes is None:
            return gy.transpose()
        axes = [a % gy.ndim for a in self.axes]
        inverse = sorted(range(len(axes)), key=axes.__getitem__)
        return gy.transpose(tuple(inverse))


class Concatenate(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        # Each input owns a slice of y: its gradient is that slice of gy.
        bounds = [0]
        for n in self.sizes:
            bounds.append(bounds[-1] + n)
        index = [slice(None)] * gy.ndim
        grads = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index[self.axis] = slice(start, stop)
            grads.append(gy[tuple(index)])
        return tuple(grads)


# --- elementwise math ------------------------------------------------------------------------------

class Exp(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.y = xp.exp(x)
        return self.y

    def backward(self, gy):
        # d/dx e^x = e^x = y.
        return gy * self.y


class Log(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.log(x)

    def backward(self, gy):
        # d/dx ln x = 1 / x.
        return gy / self.x


class Tanh(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.y = xp.tanh(x)
        return self.y

    def backward(self, gy):
        # d/dx tanh x = 1 - tanh^2 x = 1 - y^2.
        return gy * (1 - self.y * self.y)


def stable_sigmoid(x):
    """sigmoid(x) = 1 / (1 + e^-x) without overflow and with full relative precision.

    e^-x overflows for x < -88 in float32, and the tempting (1 + tanh(x/2)) / 2 rounds every
    probability below ~1e-8 to 0 (it keeps only absolute precision). Instead, with
    e = e^-|x| in (0, 1]:  sigmoid(-|x|) = e / (1 + e), accurate even when tiny, and
    sigmoid(x) = sigmoid(-|x|) for x < 0,  1 - sigmoid(-|x|) for x >= 0.
    """
    # Two buffers, updated in place: fresh large temporaries cost more than the arithmetic.
    xp = get_array_module(x)
    e = xp.abs(x)
    xp.negative(e, out=e)
    xp.exp(e, out=e)                    # e = e^-|x|
    s = e + 1
    xp.divide(e, s, out=s)              # s = e / (1 + e) = sigmoid(-|x|)
    xp.multiply(s, -2, out=e)
    e += 1
    e *= x >= 0                         # e = 1 - 2s where x >= 0, else 0
    s += e                              # s = 1 - sigmoid(-|x|) = sigmoid(x) where x >= 0
    return s


class Sigmoid(Function):
    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, gy):
        # d/dx sigmoid = s (1 - s), with s = y.
        return gy * (self.y * (1 - self.y))


class ReLU(Function):
    def forward(self, x):
        # A float mask (1 where x > 0) serves both passes: y = x * mask, dy/dx = mask.
        # Multiplying by it is faster than xp.where with a boolean mask.
        self.mask = (x > 0).astype(x.dtype)
        return x * self.mask

    def backward(self, gy):
        # d/dx max(x, 0) = 1 for x > 0, 0 for x < 0 (we take 0 at the kink x = 0).
        return gy * self.mask


class LeakyReLU(Function):
    def __init__(self, slope=0.2):
        self.slope = slope

    def forward(self, x):
        # y = x for x > 0, slope * x otherwise: y = x * m with m = 1 or slope.
        m = (x > 0).astype(x.dtype)
        m *= 1 - self.slope
        m += self.slope
        self.m = m
        return x * m

    def backward(self, gy):
        # dy/dx = m (1 for x > 0, slope otherwise).
        return gy * self.m


class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1-p).

    The scaling keeps E[y] = x, so nothing changes between training and evaluation (where
    dropout is the identity).
    """

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forward(self, x):
        keep = self.rng.uniform(x.shape, dtype=x.dtype) >= self.p
        self.mask = keep.astype(x.dtype)
        self.mask *= 1.0 / (1.0 - self.p)
        return x * self.mask

    def backward(self, gy):
        # y = x * mask (mask fixed by the forward pass):  dy/dx = mask.
        return gy * self.mask


# --- the public, lowercase API --------------------------------------------------------------------

def add(a, b):
    return Add()(a, b)


def sub(a, b):
    return Sub()(a, b)


def mul(a, b):
    return Mul()(a, b)


def div(a, b):
    return Div()(a, b)


def neg(x):
    return Neg()(x)


def pow(x, exponent):  # noqa: A001 - mirrors the operator it implements
    if isinstance(exponent, Tensor):
        raise TypeError("pow: the exponent must be a constant number, not a Tensor")
    return Pow(exponent)(x)


def matmul(a, b):
    return MatMul()(a, b)


def linear(x, W, b=None):
    return Linear()(x, W, b)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    return Mean(axis, keepdims)(x)


def reshape(x, shape):
    return Reshape(shape)(x)


def transpose(x, axes=None):
    return Transpose(axes)(x)


def concatenate(tensors, axis=0):
    return Concatenate(axis)(*tensors)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x):
    return ReLU()(x)


def leaky_relu(x, slope=0.2):
    return LeakyReLU(slope)(x)


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


# --- lookup by integer index -----------------------------------------------------------------------

def check_indices(who, indices, size, what="index"):
    """Raise a clear error unless `indices` (a Tensor or array) holds integers in [0, size).

    Checked before any lookup: NumPy would read index -1 as the last row, and CuPy wraps (or
    clips) out-of-range indices without a word, so a bad label would silently train the wrong
    row. The min/max is one small reduction (a device-to-host copy of two numbers on the GPU).
    """
    data = indices.data if isinstance(indices, Tensor) else indices
    if not is_array(data):
        raise TypeError(f"{who}: expected {what}s as an integer array or Tensor, got "
                        f"{type(indices).__name__}")
    if data.dtype.kind not in "iu":
        hint = ""
        if data.dtype.kind == "b":
            hint = " (a boolean array would select by mask, not by index)"
        raise TypeError(f"{who}: {what}s must be integers, got dtype {data.dtype}{hint}")
    if data.size:
        low, high = int(data.min()), int(data.max())
        if low < 0 or high >= size:
            raise IndexError(f"{who}: {what}s must be in the range [0, {size - 1}], got values "
                             f"from {low} to {high}")
    return data


class Embedding(Function):
    """y[p] = W[indices[p]]: rows of a weight (num, dim) picked by integer indices of any shape.

    The output has shape indices.shape + (dim,). Only W gets a gradient: indices are integers.
    """

    def forward(self, indices, weight):
        self.indices = indices
        self.num, self.dim = weight.shape
        return weight[indices]

    def backward(self, gy):
        # Write the lookup as a matrix product. Flatten the B = indices.size positions and let
        # O (B, num) be their one-hot matrix, O[p, r] = 1 if indices[p] == r else 0. Then
        #     y = O W,   y[p, :] = sum_r O[p, r] W[r, :] = W[indices[p], :],
        # a linear map of W, so (as for MatMul) dL/dW = O^T gy:
        #     dL/dW[r, :] = sum over the positions p with indices[p] == r of gy[p, :].
        # A row picked twice gets the sum of both gradients (the chain rule's sum over uses),
        # a row never picked gets 0. The naive gW[indices] += gy would be wrong: with repeated
        # indices the fancy-indexed += keeps only one of the writes.
        # O costs B * num numbers: nothing for class labels (num ~ 10); a vocabulary of 50,000
        # would want a scatter-add (numpy.add.at / cupyx.scatter_add) instead.
        if not self.needs_grad[1]:
            return None, None
        xp = get_array_module(gy)
        flat = self.indices.reshape(-1)
        b = flat.size
        onehot = xp.zeros((b, self.num), dtype=gy.dtype)
        onehot[xp.arange(b), flat] = 1                  # one 1 per row: a vectorised scatter
        return None, onehot.T @ gy.reshape(b, self.dim)


def embedding(indices, weight):
    """Rows of weight (num, dim) at integer indices (a Tensor or array of any shape)."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"embedding: expected a weight Tensor of shape (num, dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    check_indices("embedding", indices, weight.shape[0])
    return Embedding()(indices, weight)
