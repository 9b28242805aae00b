"""The autograd engine: graph walking, accumulation, no_grad, detach, operators, errors."""
import sys

import numpy
import pytest

import minigan
from minigan import Function, Tensor, no_grad, tensor
from minigan import functions as F
from minigan.tensor import is_grad_enabled


def leaf(xp, values, dtype="float64"):
    return Tensor(xp.asarray(values, dtype=dtype), requires_grad=True)


def host(array):
    return minigan.backend.to_numpy(array)


# --- graph structure ----------------------------------------------------------------------------

def test_reused_node_sums_over_every_use(xp):
    # b uses a twice and c uses b twice: 4 paths from c to a, each with derivative 1.
    a = leaf(xp, 3.0)
    b = a + a
    c = b + b
    c.backward()
    assert float(host(a.grad)) == 4.0
    assert c.item() == 12.0


def test_diamond_graph(xp):
    # x -> z = tanh(x) -> w = z*z; out = sum(w + z). z is reached along two paths of different
    # length (via w and directly): its gradient must be complete before it is passed on.
    values = numpy.array([-1.5, -0.2, 0.3, 2.0])
    x = leaf(xp, values)
    z = x.tanh()
    out = (z * z + z).sum()
    out.backward()
    t = numpy.tanh(values)
    numpy.testing.assert_allclose(host(x.grad), (2 * t + 1) * (1 - t * t), rtol=1e-12)


def test_diamond_with_uneven_branches(xp):
    # d = a + b + x with a = 2x and b = 3a: the long path x->a->b->d, the shorter x->a->d and
    # the direct x->d must all be summed: dd/dx = 2 + 6 + 1 = 9.
    x = leaf(xp, [1.0, -2.0])
    a = x * 2.0
    b = a * 3.0
    d = (a + b + x).sum()
    d.backward()
    numpy.testing.assert_array_equal(host(x.grad), [9.0, 9.0])


def test_deep_chain_does_not_recurse(xp):
    # Ten times Python's default recursion limit: a recursive backward would raise RecursionError.
    depth = 10_000
    assert depth > sys.getrecursionlimit()
    x = leaf(xp, 1.0)
    y = x
    for _ in range(depth):
        y = y * 1.0001
    y.backward()
    assert float(host(x.grad)) == pytest.approx(1.0001 ** depth, rel=1e-10)


def test_intermediate_gradients_are_not_kept(xp):
    x = leaf(xp, [1.0, 2.0])
    h = x * 2.0
    (h * h).sum().backward()
    assert h.grad is None            # freed once passed on; only leaves keep .grad
    numpy.testing.assert_array_equal(host(x.grad), [8.0, 16.0])   # d(4x^2)/dx = 8x


def test_constant_inputs_get_no_gradient(xp):
    x = leaf(xp, [1.0, 2.0])
    c = Tensor(xp.asarray([3.0, 4.0]))          # requires_grad=False
    (x * c).sum().backward()
    assert c.grad is None
    numpy.testing.assert_array_equal(host(x.grad), [3.0, 4.0])


# --- accumulation ---------------------------------------------------------------------------------

def test_gradients_accumulate_across_backward_calls_until_cleared(xp):
    a = leaf(xp, [1.0, 2.0])
    loss = (a * 3.0).sum()
    loss.backward()
    loss.backward()                  # the same graph again: adds, does not overwrite
    numpy.testing.assert_array_equal(host(a.grad), [6.0, 6.0])
    a.grad = None                    # what zero_grad() does
    (a * a).sum().backward()
    numpy.testing.assert_array_equal(host(a.grad), [2.0, 4.0])


# --- no_grad and detach ---------------------------------------------------------------------------

def test_no_grad_builds_no_graph(xp):
    x = leaf(xp, [1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2.0 + 1.0
    assert is_grad_enabled()
    assert y.requires_grad is False and y.creator is None
    numpy.testing.assert_array_equal(host(y.data), [3.0, 5.0])   # still computed
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_restores_the_flag_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()


def test_nested_no_grad_restores_the_outer_state():
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()     # the inner exit must not re-enable recording
    assert is_grad_enabled()


def test_detach_stops_the_gradient(xp):
    x = leaf(xp, [1.0, -2.0])
    d = x.detach()
    assert d.requires_grad is False and d.creator is None
    numpy.testing.assert_array_equal(host(d.data), host(x.data))
    # Only the non-detached use contributes: d/dx [x * stop(x)] = stop(x).
    (x * x.detach()).sum().backward()
    numpy.testing.assert_array_equal(host(x.grad), [1.0, -2.0])


# --- operators ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, value, grad", [
    # (function of t, expected value, expected dvalue/dt) at t = 4
    (lambda t: 1 - t, -3.0, -1.0),                 # __rsub__: other - self, not self - other
    (lambda t: 2 / t, 0.5, -2.0 / 16.0),           # __rtruediv__: other / self
    (lambda t: 3 * t, 12.0, 3.0),
    (lambda t: 2 + t, 6.0, 1.0),
    (lambda t: t - 1, 3.0, 1.0),
    (lambda t: t / 2, 2.0, 0.5),
    (lambda t: -t, -4.0, -1.0),
    (lambda t: t ** 2, 16.0, 8.0),
], ids=["rsub", "rtruediv", "rmul", "radd", "sub", "truediv", "neg", "pow"])
def test_operators(xp, expr, value, grad):
    t = leaf(xp, 4.0)
    y = expr(t)
    assert isinstance(y, Tensor)
    y.backward()
    assert y.item() == pytest.approx(value, rel=1e-15)
    assert float(host(t.grad)) == pytest.approx(grad, rel=1e-15)


@pytest.mark.parametrize("op, expected", [
    (lambda a, t: a * t, [2.0, 9.0]),
    (lambda a, t: a - t, [1.0, 0.0]),
    (lambda a, t: a / t, [2.0, 1.0]),
    (lambda a, t: a + t, [3.0, 6.0]),
], ids=["mul", "sub", "div", "add"])
def test_array_on_the_left_calls_the_tensor_op(xp, op, expected):
    # __array_ufunc__ = None: without it NumPy would loop over the Tensor element by element and
    # return an object array of Tensors.
    a = xp.asarray([2.0, 3.0])
    t = leaf(xp, [1.0, 3.0])
    y = op(a, t)
    assert isinstance(y, Tensor) and y.creator is not None
    numpy.testing.assert_array_equal(host(y.data), expected)


def test_array_matmul_tensor_calls_rmatmul(xp):
    a = xp.asarray([[1.0, 2.0]])
    t = leaf(xp, [[3.0], [4.0]])
    y = a @ t
    assert isinstance(y, Tensor)
    y.sum().backward()
    numpy.testing.assert_array_equal(host(t.grad), [[1.0], [2.0]])


def test_tensor_methods_match_functions(xp):
    x = leaf(xp, [[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]])
    numpy.testing.assert_array_equal(host(x.T.data), host(x.data).T)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.sum(axis=1).shape == (2,) and x.mean(axis=0, keepdims=True).shape == (1, 3)
    numpy.testing.assert_array_equal(host(x.relu().data), [[1.0, 0.0, 3.0], [0.5, 0.25, 0.0]])


def test_pow_rejects_a_tensor_exponent(xp):
    t = leaf(xp, 2.0)
    with pytest.raises(TypeError):
        t ** t


# --- backward() errors ----------------------------------------------------------------------------

def test_backward_on_non_scalar_needs_a_gradient(xp):
    y = leaf(xp, [1.0, 2.0]) * 2.0
    with pytest.raises(ValueError, match="one-element"):
        y.backward()


def test_backward_with_explicit_gradient(xp):
    x = leaf(xp, [1.0, 2.0])
    y = x * 3.0
    y.backward(xp.asarray([10.0, 100.0]))
    numpy.testing.assert_array_equal(host(x.grad), [30.0, 300.0])
    with pytest.raises(ValueError, match="shape"):
        y.backward(xp.asarray([1.0, 2.0, 3.0]))


def test_backward_on_tensor_not_requiring_grad_raises(xp):
    with pytest.raises(RuntimeError, match="does not require"):
        Tensor(xp.asarray(1.0)).backward()


class WrongShape(Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy.sum()               # a scalar for a (3,) input


class NoGradient(Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return None


class TooFewGradients(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        return gy * 1                 # forgot the second input's gradient


@pytest.mark.parametrize("bad, n_inputs", [(WrongShape, 1), (NoGradient, 1), (TooFewGradients, 2)])
def test_buggy_function_backward_is_reported_by_name(xp, bad, n_inputs):
    # A wrong gradient must not be silently broadcast into (or dropped from) .grad.
    inputs = [leaf(xp, [1.0, 2.0, 3.0]) for _ in range(n_inputs)]
    y = bad()(*inputs).sum()
    with pytest.raises(RuntimeError, match=f"{bad.__name__} has a bug"):
        y.backward()


# --- tensor() and conversions ---------------------------------------------------------------------

def test_tensor_from_list_is_float32(device):
    t = tensor([[1, 2], [3, 4]], device=device)
    assert t.dtype == numpy.float32 and t.shape == (2, 2) and t.device == device
    assert tensor(2.5, device=device).dtype == numpy.float32
    assert t.requires_grad is False and t.creator is None and t.grad is None


def test_tensor_keeps_array_dtype(xp, device):
    assert tensor(xp.zeros(3, dtype="float64")).dtype == numpy.float64
    assert tensor(xp.zeros(3, dtype="int64")).dtype == numpy.int64
    assert tensor(xp.zeros(3, dtype="float64"), dtype="float32").dtype == numpy.float32
    assert tensor(xp.zeros(3)).device == device        # an array's own device by default


def test_tensor_of_a_tensor_copies_its_values(xp):
    t = tensor(tensor(xp.asarray([1.0, 2.0])), requires_grad=True)
    assert t.requires_grad and t.creator is None
    numpy.testing.assert_array_equal(host(t.data), [1.0, 2.0])


def test_requires_grad_on_integers_raises(xp):
    with pytest.raises(TypeError, match="floating point"):
        tensor(xp.asarray([1, 2, 3]), requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):
        Tensor(xp.asarray([1, 2, 3]), requires_grad=True)


def test_item_and_numpy(xp):
    t = tensor(xp.asarray([[2.5]]))
    assert t.item() == 2.5 and isinstance(t.item(), float)
    with pytest.raises(ValueError, match="one element"):
        tensor(xp.asarray([1.0, 2.0])).item()
    values = [[1.0, 2.0], [3.0, 4.0]]
    array = tensor(xp.asarray(values)).numpy()
    assert isinstance(array, numpy.ndarray)           # a host array even for a GPU tensor
    numpy.testing.assert_array_equal(array, values)


def test_repr_and_len(xp):
    x = leaf(xp, [1.0, 2.0])
    assert len(x) == 2 and x.size == 2 and x.ndim == 1
    assert "creator=Mul" in repr(x * 2.0) and "requires_grad=True" in repr(x)


# --- determinism ----------------------------------------------------------------------------------

def _forward_backward(device):
    # A small two-layer net with dropout on the default generator: everything that could differ
    # between two runs (random draws, summation order) is exercised.
    rng = minigan.Random(7, device)
    x = Tensor(rng.normal((8, 5)))
    W1 = Tensor(rng.normal((5, 6)), requires_grad=True)
    W2 = Tensor(rng.normal((6, 1)), requires_grad=True)
    h = F.dropout(F.leaky_relu(F.linear(x, W1)), p=0.3)
    loss = F.sigmoid(h @ W2).mean()
    loss.backward()
    return loss.item(), host(W1.grad), host(W2.grad)


def test_same_computation_twice_gives_identical_numbers(device):
    minigan.manual_seed(123)
    first = _forward_backward(device)
    minigan.manual_seed(123)
    second = _forward_backward(device)
    assert first[0] == second[0]
    numpy.testing.assert_array_equal(first[1], second[1])
    numpy.testing.assert_array_equal(first[2], second[2])
    assert numpy.any(first[1] != 0)          # the comparison is not vacuous


def test_backward_hook_sees_every_tensor_once_with_its_complete_gradient():
    from minigan.tensor import backward_hook
    a = minigan.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3.0
    c = (b + b).sum()                    # b is used twice: its gradient must arrive summed
    seen = []
    with backward_hook(lambda t, g: seen.append((t, g.copy()))):
        c.backward()
    ops = [type(t.creator).__name__ if t.creator else "leaf" for t, _ in seen]
    assert ops == ["Sum", "Add", "Mul", "leaf"]
    assert seen[2][0] is b and seen[3][0] is a
    assert seen[2][1].tolist() == [2.0, 2.0] and seen[3][1].tolist() == [6.0, 6.0]
    seen.clear()
    c.backward()                         # outside the block: no calls
    assert seen == []


# --- the version counter: in-place changes between forward and backward ---------------------------

def test_a_step_between_forward_and_backward_is_refused_naming_the_tensor(xp):
    from minigan.optim import SGD
    W = Tensor(xp.ones((3, 2)), requires_grad=True, name="W")
    x = Tensor(xp.ones((4, 3)))
    loss = (x @ W).sum()
    W.grad = xp.ones((3, 2))             # a gradient from some earlier backward
    SGD([W], lr=0.1).step()              # W.data changes in place: MatMul saved that very array
    assert W.version > loss.creator.inputs[0].creator.version
    with pytest.raises(RuntimeError, match=r"backward\(\): W \(shape \(3, 2\)\) was modified in "
                                           r"place after it was used by MatMul \(its input 1\) in "
                                           r"the forward pass"):
        loss.backward()


def test_the_check_covers_inputs_that_need_no_gradient(xp):
    # A frozen weight gets no gradient, but MatMul still uses it to compute dL/dx: changing it
    # makes dL/dx wrong just the same.
    from minigan.optim import SGD
    W = Tensor(xp.ones((3, 2)), requires_grad=True)
    x = Tensor(xp.ones((4, 3)), requires_grad=True)
    W.requires_grad = False
    loss = (x @ W).sum()
    W.requires_grad = True
    W.grad = xp.ones((3, 2))
    SGD([W], lr=0.1).step()
    with pytest.raises(RuntimeError, match="an unnamed Tensor .* modified in place"):
        loss.backward()


def test_backward_then_step_is_the_right_order_and_raises_nothing(xp, updates):
    from minigan.optim import Adam
    W = Tensor(xp.ones((3, 2)), requires_grad=True)
    x = Tensor(xp.ones((4, 3)))
    opt = Adam([W], lr=0.1)
    for _ in range(3):                   # forward, backward, step: each graph is new
        opt.zero_grad()
        (x @ W).sum().backward()
        opt.step()
    assert updates[id(W)] == 3 and W.version == minigan.inplace.version
    assert Tensor(xp.ones(2)).version == 0      # a class attribute until the first update


def test_changes_to_other_tensors_do_not_trip_the_check(xp):
    # The clock moved (B was stepped) after the graph of A was built, but A did not change.
    from minigan.optim import SGD
    A = Tensor(xp.ones((3, 2)), requires_grad=True)
    B = Tensor(xp.ones((3, 2)), requires_grad=True)
    loss = (Tensor(xp.ones((4, 3))) @ A).sum()
    B.grad = xp.ones((3, 2))
    SGD([B], lr=0.1).step()
    loss.backward()
    assert float(host(A.grad).sum()) == 24.0


def test_mark_modified_is_the_way_in_for_code_that_writes_data_itself(xp):
    W = Tensor(xp.ones((3, 2)), requires_grad=True)
    loss = (Tensor(xp.ones((4, 3))) @ W).sum()
    W.data *= 2                          # invisible to minigan on its own...
    W.mark_modified()                    # ...until declared
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


# --- what a Tensor holds ----------------------------------------------------------------------------

def test_a_cupy_array_made_before_minigan_loaded_cupy_is_accepted(monkeypatch):
    # Tensor() knows CuPy's array class once minigan has loaded CuPy (backend.array_types): an
    # array from the user's own `import cupy` before that makes minigan load it, not refuse it.
    class DeviceArray:
        dtype = numpy.dtype("float32")

    def load_cupy():
        monkeypatch.setattr(minigan.backend, "array_types", (numpy.ndarray, DeviceArray))
        return True

    monkeypatch.setattr(minigan.backend, "array_types", (numpy.ndarray,))
    monkeypatch.setattr(minigan.backend, "gpu_available", load_cupy)
    x = DeviceArray()
    assert Tensor(x, requires_grad=True).data is x
