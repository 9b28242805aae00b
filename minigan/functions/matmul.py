"""Matrix products: matmul, and linear (x W + b, a Dense layer in one node)."""
from ..tensor import Function
from .arithmetic import sum_to


class MatMul(Function):
    """Matrix product of (..., n, k) and (..., k, m), batch axes broadcast."""
    twice_differentiable = True

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: expected shapes (..., n, k) and (..., k, m), "
                             f"got {a.shape} and {b.shape}")
        self.saved = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.saved
        # y = a b:  dL/da = gy b^T,  dL/db = a^T gy  (each y_ij = sum_k a_ik b_kj).
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(gy @ b.swapaxes(-1, -2), a.shape)
        if self.needs_grad[1]:
            gb = sum_to(a.swapaxes(-1, -2) @ gy, b.shape)
        return ga, gb


def matmul(a, b):
    return MatMul()(a, b)


class Linear(Function):
    """y = x W + b for x (batch, in), W (in, out), b (out,): a Dense layer in one node."""
    twice_differentiable = True

    def forward(self, x, W, b):
        self.saved = x, W
        return x @ W if b is None else x @ W + b

    def backward(self, gy):
        x, W = self.saved
        # y_ij = sum_k x_ik W_kj + b_j:
        #   dL/dx = gy W^T,  dL/dW = x^T gy,  dL/db = sum over the batch of gy.
        gx = gy @ W.T if self.needs_grad[0] else None
        gW = x.T @ gy if self.needs_grad[1] else None
        gb = gy.sum(axis=0) if self.needs_grad[2] else None
        return gx, gW, gb


def linear(x, W, b=None):
    return Linear()(x, W, b)
