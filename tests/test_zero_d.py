"""0-d tensors (issue 13, point 7): every elementwise op on one number, as a loss is.

NumPy's operations on 0-d arrays return NumPy scalars (numpy.float32), not 0-d arrays. minigan
turns them back into arrays where they arrive (Tensor() and backward()), so for every op here,
on float32 and float64 inputs: the value is NumPy's, ``.data`` and ``.grad`` are real arrays
(backend.is_array), 0-d, of the input's dtype; and on float64, the gradients pass
check_gradients.
"""
import numpy
import pytest

import minigan
from minigan import Tensor, backend
from minigan import functions as F
from minigan.gradcheck import check_gradients
from minigan.tensor import backward_hook


def sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def bce(p, y):
    return -(y * numpy.log(p) + (1 - y) * numpy.log(1 - p))


# (name, minigan op on 0-d tensors, NumPy reference on 0-d arrays, the inputs' values)
CASES = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, (0.5, -1.25)),
    ("add-constant", lambda a: a + 2.0, lambda a: a + 2.0, (0.5,)),
    ("add-itself", lambda a: a + a, lambda a: a + a, (0.5,)),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, (0.5, -1.25)),
    ("rsub-constant", lambda a: 2.0 - a, lambda a: 2.0 - a, (0.5,)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, (0.5, -1.25)),
    ("mul-constant", lambda a: 3.0 * a, lambda a: 3.0 * a, (0.5,)),
    ("mul-itself", lambda a: a * a, lambda a: a * a, (-0.75,)),
    ("div", lambda a, b: a / b, lambda a, b: a / b, (0.5, -1.25)),
    ("rdiv-constant", lambda a: 2.0 / a, lambda a: 2.0 / a, (0.5,)),
    ("neg", lambda a: -a, lambda a: -a, (0.5,)),
    ("pow-2", lambda a: a ** 2, lambda a: a ** 2, (-0.75,)),
    ("pow-half", lambda a: a ** 0.5, lambda a: a ** 0.5, (1.5,)),
    ("pow-minus-1", lambda a: a ** -1, lambda a: a ** -1, (1.5,)),
    ("exp", F.exp, numpy.exp, (0.5,)),
    ("log", F.log, numpy.log, (1.5,)),
    ("tanh", F.tanh, numpy.tanh, (0.5,)),
    ("sigmoid", F.sigmoid, sigmoid, (0.5,)),
    ("sigmoid-negative", F.sigmoid, sigmoid, (-3.0,)),
    ("relu", F.relu, lambda a: numpy.maximum(a, 0), (0.5,)),
    ("relu-negative", F.relu, lambda a: numpy.maximum(a, 0), (-0.5,)),
    ("leaky_relu", F.leaky_relu, lambda a: numpy.where(a > 0, a, 0.2 * a), (-0.5,)),
    ("sum", F.sum, numpy.sum, (0.5,)),
    ("mean", F.mean, numpy.mean, (0.5,)),
    ("sigmoid_bce-label-1", lambda x: F.sigmoid_binary_cross_entropy(x, 1.0),
     lambda x: bce(sigmoid(x), 1.0), (0.5,)),
    ("sigmoid_bce-label-0", lambda x: F.sigmoid_binary_cross_entropy(x, 0.0),
     lambda x: bce(sigmoid(x), 0.0), (-2.0,)),
    ("sigmoid_bce-target-tensor", F.sigmoid_binary_cross_entropy,
     lambda x, y: bce(sigmoid(x), y), (0.5, 0.25)),
    ("bce-probability", lambda p: F.binary_cross_entropy(p, 1.0), lambda p: bce(p, 1.0), (0.75,)),
]


def zero_d(xp, value, dtype):
    return Tensor(xp.asarray(value, dtype=dtype), requires_grad=True)


def assert_0d_array(a, dtype):
    assert backend.is_array(a), type(a)
    assert a.shape == () and a.dtype == dtype


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, op, reference, values", CASES, ids=[c[0] for c in CASES])
def test_an_op_on_0d_tensors_gives_0d_arrays_of_their_dtype(xp, dtype, name, op, reference,
                                                            values):
    inputs = [zero_d(xp, v, dtype) for v in values]
    y = op(*inputs)
    assert_0d_array(y.data, dtype)
    expected = reference(*[numpy.asarray(v, dtype=dtype) for v in values])
    rtol = 1e-6 if dtype == "float32" else 1e-14
    numpy.testing.assert_allclose(backend.to_numpy(y.data), expected, rtol=rtol)

    y.backward()
    first = [backend.to_numpy(t.grad).copy() for t in inputs]
    for t in inputs:
        assert_0d_array(t.grad, dtype)
    op(*inputs).backward()              # a second backward adds to the leaves' .grad
    for t, g in zip(inputs, first):
        assert_0d_array(t.grad, dtype)
        numpy.testing.assert_allclose(backend.to_numpy(t.grad), 2 * g, rtol=rtol)


@pytest.mark.parametrize("name, op, reference, values", CASES, ids=[c[0] for c in CASES])
def test_an_op_on_0d_tensors_passes_the_gradient_check(xp, name, op, reference, values):
    check_gradients(op, [zero_d(xp, v, "float64") for v in values])


def test_a_chain_of_0d_ops_keeps_arrays_through_the_graph(xp):
    x = zero_d(xp, 0.5, "float64")
    seen = []
    with backward_hook(lambda t, g: seen.append(g)):
        F.sigmoid_binary_cross_entropy(F.tanh(x * 3.0) + F.exp(x) * x, 1.0).backward()
    assert seen and all(backend.is_array(g) and g.dtype == "float64" for g in seen)
    assert_0d_array(x.grad, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tensor_of_a_numpy_scalar_keeps_its_dtype(device, dtype):
    scalar = numpy.dtype(dtype).type(2.0)
    t = minigan.tensor(scalar, device=device)
    assert_0d_array(t.data, dtype)
    assert t.device == device and t.item() == 2.0
    # the scalar NumPy computes from a 0-d float64 tensor's data, back into a tensor
    x = minigan.tensor(numpy.asarray(2.0, dtype=dtype))
    again = minigan.tensor((x * 3.0).data)
    assert again.dtype == dtype and again.item() == 6.0
    assert_0d_array(Tensor(scalar).data, dtype)


def test_numbers_and_lists_still_become_float32():
    assert minigan.tensor(0.5).dtype == "float32" and minigan.tensor([1, 2]).dtype == "float32"
    assert minigan.tensor(numpy.float64(0.5), dtype="float32").dtype == "float32"
