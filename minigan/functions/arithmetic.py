"""Arithmetic: + - * / negation, constant powers, exp and log, with broadcasting.

Notation in the comments of every file here: y is the output, gy = dL/dy the gradient arriving
from above, and gx the gradient we return, dL/dx = (dy/dx)^T gy. For elementwise ops that is
gx = gy * y'(x). Each op is a Function class (forward and backward, the place to read the math)
followed by the lowercase function that builds and calls it (``add``, ``exp``...).
"""
from ..backend import get_array_module
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


class Add(Function):
    twice_differentiable = True

    def forward(self, a, b):
        self.shapes = _shape(a), _shape(b)
        return a + b

    def backward(self, gy):
        # y = a + b:  dy/da = dy/db = 1, summed back over broadcast axes.
        ga = sum_to(gy, self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to(gy, self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


def add(a, b):
    return Add()(a, b)


class Sub(Function):
    twice_differentiable = True

    def forward(self, a, b):
        self.shapes = _shape(a), _shape(b)
        return a - b

    def backward(self, gy):
        # y = a - b:  dy/da = 1, dy/db = -1.
        ga = sum_to(gy, self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to(-gy, self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


def sub(a, b):
    return Sub()(a, b)


class Mul(Function):
    twice_differentiable = True

    def forward(self, a, b):
        self.saved = a, b
        return a * b

    def backward(self, gy):
        a, b = self.saved
        # y = a * b:  dy/da = b, dy/db = a.
        ga = sum_to(gy * b, _shape(a)) if self.needs_grad[0] else None
        gb = sum_to(gy * a, _shape(b)) if self.needs_grad[1] else None
        return ga, gb


def mul(a, b):
    return Mul()(a, b)


class Div(Function):
    twice_differentiable = True

    def forward(self, a, b):
        self.saved = a, b
        return a / b

    def backward(self, gy):
        a, b = self.saved
        # y = a / b:  dy/da = 1 / b,  dy/db = -a / b^2.
        ga = sum_to(gy / b, _shape(a)) if self.needs_grad[0] else None
        gb = sum_to(-gy * a / (b * b), _shape(b)) if self.needs_grad[1] else None
        return ga, gb


def div(a, b):
    return Div()(a, b)


class Neg(Function):
    twice_differentiable = True

    def forward(self, x):
        return -x

    def backward(self, gy):
        # y = -x:  dy/dx = -1.
        return -gy


def neg(x):
    return Neg()(x)


class Pow(Function):
    """x ** c for a constant exponent c."""
    twice_differentiable = True

    def __init__(self, exponent):
        self.c = exponent

    def forward(self, x):
        self.saved = (x,)
        return x ** self.c

    def backward(self, gy):
        (x,) = self.saved
        # y = x^c:  dy/dx = c x^(c-1).
        return gy * (self.c * x ** (self.c - 1))


def pow(x, exponent):  # noqa: A001 - mirrors the operator it implements
    if isinstance(exponent, Tensor):
        raise TypeError("pow: the exponent must be a constant number, not a Tensor")
    return Pow(exponent)(x)


class Exp(Function):
    twice_differentiable = True

    def forward(self, x):
        y = get_array_module(x).exp(x)
        self.saved = (y,)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # d/dx e^x = e^x = y.
        return gy * y


def exp(x):
    return Exp()(x)


class Log(Function):
    twice_differentiable = True

    def forward(self, x):
        self.saved = (x,)
        return get_array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.saved
        # d/dx ln x = 1 / x.
        return gy / x


def log(x):
    return Log()(x)
