"""Lookup by integer index: embedding (rows of a weight table), and the index check it shares
with the class labels of softmax_cross_entropy."""
from ..backend import get_array_module, is_array
from ..tensor import Function, Tensor


class Embedding(Function):
    """y[p] = W[indices[p]]: rows of a weight (num, dim) picked by integer indices of any shape.

    The output has shape indices.shape + (dim,). Only W gets a gradient: indices are integers.
    """

    twice_differentiable = True     # dL/dW = O^T gy is linear in gy, O a constant

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
        xp = get_array_module(self.indices)
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
