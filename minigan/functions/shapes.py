"""Reductions and shapes: sum, mean, reshape, transpose, concatenate.

None of these changes a value, they only add values up or move them; so each backward sends the
gradient back to where the values came from (broadcast over what was summed, moved back by the
inverse move).
"""
from ..backend import get_array_module
from ..tensor import Function, Tensor, apply
from .arithmetic import sum_to


def _keepdims_shape(shape, axis):
    """The shape of x.sum(axis, keepdims=True), to broadcast a gradient back over x."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    twice_differentiable = True

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        # y = sum_i x_i:  dy/dx_i = 1, so every x_i receives gy (broadcast back).
        return broadcast_to(gy.reshape(_keepdims_shape(self.shape, self.axis)), self.shape)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return Sum(axis, keepdims)(x)


class Mean(Function):
    twice_differentiable = True

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        y = x.mean(axis=self.axis, keepdims=self.keepdims)
        self.n = x.size // max(y.size, 1)
        return y

    def backward(self, gy):
        # y = (1/n) sum_i x_i:  dy/dx_i = 1/n.
        g = gy.reshape(_keepdims_shape(self.shape, self.axis)) / self.n
        return broadcast_to(g, self.shape)


def mean(x, axis=None, keepdims=False):
    return Mean(axis, keepdims)(x)


class BroadcastTo(Function):
    """x repeated along new leading axes and along its axes of size 1, up to `shape`."""
    twice_differentiable = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        # Each x element was copied to several places of y: its gradient is the sum of theirs.
        return sum_to(gy, self.x_shape)


def broadcast_to(x, shape):
    """x broadcast to `shape`. A backward rule calls it on gy: on an array (a first-order
    backward pass) it is the array module's broadcast_to, a read-only view; on a Tensor (a
    recorded one, create_graph) the Function above, so that the broadcast is recorded."""
    if isinstance(x, Tensor):
        return BroadcastTo(shape)(x)
    return get_array_module(x).broadcast_to(x, shape)


class Reshape(Function):
    twice_differentiable = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        # Reshaping moves no values: the gradient is reshaped back.
        return gy.reshape(self.x_shape)


def reshape(x, shape):
    return Reshape(shape)(x)


class Transpose(Function):
    twice_differentiable = True

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


def transpose(x, axes=None):
    return Transpose(axes)(x)


class GetItem(Function):
    """y = x[index] for a basic index: integers, slices, None and Ellipsis (a view of x)."""
    twice_differentiable = True

    def __init__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        for part in index:
            if not (part is None or part is Ellipsis or isinstance(part, (int, slice))):
                raise TypeError(f"Tensor[...]: only integers, slices, None and ... index a "
                                f"Tensor, got {type(part).__name__} (rows by an integer array: "
                                f"functions.embedding)")
        self.index = index

    def forward(self, x):
        self.x_shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        # y copies the elements of x at `index`, once each: they get gy back, the others 0.
        return apply(PutInto(self.index, self.x_shape, self.dtype), gy)


class PutInto(Function):
    """GetItem's adjoint: y = zeros of `shape` with y[index] = g. Its own adjoint is GetItem."""
    twice_differentiable = True

    def __init__(self, index, shape, dtype):
        self.index, self.shape, self.dtype = index, shape, dtype

    def forward(self, g):
        y = get_array_module(g).zeros(self.shape, dtype=self.dtype)
        y[self.index] = g
        return y

    def backward(self, gy):
        return apply(GetItem(self.index), gy)


def get_item(x, index):
    return GetItem(index)(x)


class Concatenate(Function):
    twice_differentiable = True

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        # Each input owns a slice of y: its gradient is that slice of gy.
        bounds = [0]
        for n in self.sizes:
            bounds.append(bounds[-1] + n)
        index = [slice(None)] * gy.ndim
        grads = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index[self.axis] = slice(start, stop)
            grads.append(apply(GetItem(tuple(index)), gy))
        return tuple(grads)


def concatenate(tensors, axis=0):
    return Concatenate(axis)(*tensors)
