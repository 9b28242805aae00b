"""Every op in minigan/functions/: forward against NumPy, backward against finite differences.

Most cases are one line for `helper_test_op`, which (like tinygrad's helper of that name)
1. draws seeded float64 inputs of the given shapes on the device,
2. compares op(*tensors) with a NumPy reference on host copies of the same inputs,
3. runs check_gradients (central differences, rtol 1e-5) on every input.
"""
import numpy
import pytest

import minigan
from minigan import Function, Tensor
from minigan import functions as F
from minigan.gradcheck import GradientCheckError, check_gradients


def host(array):
    return minigan.backend.to_numpy(array)


def make_input(device, shape, domain, seed):
    """Seeded float64 values on `device`.

    domain "real": standard normal; "positive": in [0.5, 2.5) (log, pow 0.5, denominators);
    "nonzero": |x| >= 0.1 (relu/leaky_relu, whose derivative jumps at 0: a finite difference
    straddling the kink would be wrong by design, not by bug).
    """
    rng = minigan.Random(seed, device)
    if domain == "positive":
        return rng.uniform(shape, 0.5, 2.5, dtype="float64")
    x = rng.normal(shape, dtype="float64")
    if domain == "nonzero":
        xp = rng.xp
        x = xp.where(x >= 0, 1.0, -1.0) * (0.1 + xp.abs(x))
    return x


def helper_test_op(device, shapes, reference, op, domain="real", seed=0, rtol=1e-12):
    arrays = [make_input(device, s, domain, seed + i) for i, s in enumerate(shapes)]
    expected = reference(*[host(a).copy() for a in arrays])
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    y = op(*tensors)
    assert y.shape == numpy.shape(expected)
    numpy.testing.assert_allclose(host(y.data), expected, rtol=rtol, atol=1e-14)
    check_gradients(op, tensors)


# (name, input shapes, NumPy reference, minigan op, input domain)
CASES = [
    # --- binary arithmetic, same shape and broadcast ---
    ("add", [(3, 4), (3, 4)], lambda a, b: a + b, F.add, "real"),
    ("add-bcast_row", [(3, 4), (4,)], lambda a, b: a + b, F.add, "real"),
    ("add-bcast_lead", [(4,), (2, 3, 4)], lambda a, b: a + b, F.add, "real"),
    ("add-shape1", [(1,), (3, 4)], lambda a, b: a + b, F.add, "real"),
    ("add-0d", [(), (3, 4)], lambda a, b: a + b, F.add, "real"),
    ("sub", [(3, 4), (3, 4)], lambda a, b: a - b, F.sub, "real"),
    ("sub-bcast", [(3, 1), (1, 4)], lambda a, b: a - b, F.sub, "real"),
    ("mul", [(3, 4), (3, 4)], lambda a, b: a * b, F.mul, "real"),
    ("mul-outer", [(3, 1), (1, 4)], lambda a, b: a * b, F.mul, "real"),
    ("mul-shape1", [(3, 4), (1,)], lambda a, b: a * b, F.mul, "real"),
    ("mul-keep_size1", [(2, 1, 4), (2, 3, 4)], lambda a, b: a * b, F.mul, "real"),
    ("div", [(3, 4), (3, 4)], lambda a, b: a / b, F.div, "positive"),
    ("div-bcast", [(2, 3, 4), (3, 1)], lambda a, b: a / b, F.div, "positive"),
    ("div-bcast_num", [(3, 1), (2, 3, 4)], lambda a, b: a / b, F.div, "positive"),
    # --- scalar constant operands (no gradient for the constant) ---
    ("mul-const", [(3, 4)], lambda t: t * 2.0, lambda t: t * 2.0, "real"),
    ("sub-rconst", [(3, 4)], lambda t: 2.0 - t, lambda t: 2.0 - t, "real"),
    ("add-rconst", [(3, 4)], lambda t: 2.0 + t, lambda t: 2.0 + t, "real"),
    ("div-rconst", [(3, 4)], lambda t: 2.0 / t, lambda t: 2.0 / t, "positive"),
    ("div-const", [(3, 4)], lambda t: t / 4.0, lambda t: t / 4.0, "real"),
    ("neg", [(3, 4)], lambda x: -x, F.neg, "real"),
    # --- pow with constant exponents ---
    ("pow-2", [(3, 4)], lambda x: x ** 2, lambda x: F.pow(x, 2), "real"),
    ("pow-3", [(3, 4)], lambda x: x ** 3, lambda x: x ** 3, "real"),
    ("pow-0.5", [(3, 4)], lambda x: x ** 0.5, lambda x: x ** 0.5, "positive"),
    ("pow-1.5", [(3, 4)], lambda x: x ** 1.5, lambda x: x ** 1.5, "positive"),
    ("pow-neg1", [(3, 4)], lambda x: x ** -1, lambda x: x ** -1, "nonzero"),
    ("pow-neg2", [(3, 4)], lambda x: x ** -2.0, lambda x: x ** -2.0, "positive"),
    # --- matrix products ---
    ("matmul", [(3, 4), (4, 5)], lambda a, b: a @ b, F.matmul, "real"),
    ("matmul-batched", [(2, 3, 4), (2, 4, 5)], lambda a, b: a @ b, F.matmul, "real"),
    ("matmul-bcast_b", [(2, 3, 4), (4, 5)], lambda a, b: a @ b, F.matmul, "real"),
    ("matmul-bcast_a", [(3, 4), (2, 4, 5)], lambda a, b: a @ b, F.matmul, "real"),
    ("matmul-bcast_both", [(2, 1, 3, 4), (5, 4, 2)], lambda a, b: a @ b, F.matmul, "real"),
    ("linear", [(5, 3), (3, 4), (4,)], lambda x, W, b: x @ W + b, F.linear, "real"),
    ("linear-nobias", [(5, 3), (3, 4)], lambda x, W: x @ W, F.linear, "real"),
    # --- reductions ---
    ("sum-all", [(2, 3, 4)], lambda x: x.sum(), F.sum, "real"),
    ("sum-all_keep", [(2, 3, 4)], lambda x: x.sum(keepdims=True),
     lambda x: F.sum(x, keepdims=True), "real"),
    ("sum-ax0", [(2, 3, 4)], lambda x: x.sum(0), lambda x: F.sum(x, 0), "real"),
    ("sum-ax1_keep", [(2, 3, 4)], lambda x: x.sum(1, keepdims=True),
     lambda x: F.sum(x, 1, keepdims=True), "real"),
    ("sum-neg", [(2, 3, 4)], lambda x: x.sum(-1), lambda x: F.sum(x, -1), "real"),
    ("sum-tuple", [(2, 3, 4)], lambda x: x.sum((0, 2)), lambda x: F.sum(x, (0, 2)), "real"),
    ("sum-tuple_neg_keep", [(2, 3, 4)], lambda x: x.sum((-1, 0), keepdims=True),
     lambda x: F.sum(x, (-1, 0), keepdims=True), "real"),
    ("mean-all", [(2, 3, 4)], lambda x: x.mean(), F.mean, "real"),
    ("mean-all_keep", [(2, 3, 4)], lambda x: x.mean(keepdims=True),
     lambda x: F.mean(x, keepdims=True), "real"),
    ("mean-ax0", [(2, 3, 4)], lambda x: x.mean(0), lambda x: F.mean(x, 0), "real"),
    ("mean-ax2_keep", [(2, 3, 4)], lambda x: x.mean(2, keepdims=True),
     lambda x: F.mean(x, 2, keepdims=True), "real"),
    ("mean-neg", [(2, 3, 4)], lambda x: x.mean(-2), lambda x: F.mean(x, -2), "real"),
    ("mean-tuple", [(2, 3, 4)], lambda x: x.mean((0, 1)), lambda x: F.mean(x, (0, 1)), "real"),
    ("mean-tuple_neg_keep", [(2, 3, 4)], lambda x: x.mean((-1, -3), keepdims=True),
     lambda x: F.mean(x, (-1, -3), keepdims=True), "real"),
    # --- shape ---
    ("reshape", [(2, 3, 4)], lambda x: x.reshape(6, 4), lambda x: F.reshape(x, (6, 4)), "real"),
    ("reshape-flat", [(2, 3, 4)], lambda x: x.reshape(-1), lambda x: F.reshape(x, (-1,)), "real"),
    ("reshape-up", [(6, 4)], lambda x: x.reshape(4, 1, 6), lambda x: x.reshape(4, 1, 6), "real"),
    ("transpose-2d", [(3, 4)], lambda x: x.T, F.transpose, "real"),
    ("transpose-3d", [(2, 3, 4)], lambda x: x.transpose(), F.transpose, "real"),
    ("transpose-axes", [(2, 3, 4)], lambda x: x.transpose(1, 0, 2),
     lambda x: F.transpose(x, (1, 0, 2)), "real"),
    ("transpose-cycle", [(2, 3, 4)], lambda x: x.transpose(2, 0, 1),
     lambda x: F.transpose(x, (2, 0, 1)), "real"),   # not its own inverse: tests the inversion
    ("transpose-neg", [(2, 3, 4)], lambda x: x.transpose(-1, 0, 1),
     lambda x: x.transpose(-1, 0, 1), "real"),
    ("concatenate-ax0", [(2, 3), (1, 3), (4, 3)], lambda *xs: numpy.concatenate(xs, 0),
     lambda *xs: F.concatenate(xs, 0), "real"),
    ("concatenate-ax1", [(2, 3), (2, 1), (2, 2)], lambda *xs: numpy.concatenate(xs, 1),
     lambda *xs: F.concatenate(xs, axis=1), "real"),
    ("concatenate-neg", [(2, 2, 1), (2, 2, 3), (2, 2, 2)], lambda *xs: numpy.concatenate(xs, -1),
     lambda *xs: F.concatenate(xs, axis=-1), "real"),
    ("broadcast_to", [(3, 1)], lambda x: numpy.broadcast_to(x, (2, 3, 4)),
     lambda x: F.broadcast_to(x, (2, 3, 4)), "real"),
    ("get_item-slices", [(4, 5)], lambda x: x[1:3, ::2], lambda x: x[1:3, ::2], "real"),
    ("get_item-int", [(2, 3, 4)], lambda x: x[1, :, None], lambda x: F.get_item(x, (1, slice(None), None)), "real"),
    ("get_item-ellipsis", [(2, 3, 4)], lambda x: x[..., -1], lambda x: x[..., -1], "real"),
    # --- elementwise ---
    ("exp", [(3, 4)], numpy.exp, F.exp, "real"),
    ("log", [(3, 4)], numpy.log, F.log, "positive"),
    ("tanh", [(3, 4)], numpy.tanh, F.tanh, "real"),
    ("sigmoid", [(3, 4)], lambda x: 1 / (1 + numpy.exp(-x)), F.sigmoid, "real"),
    ("relu", [(4, 5)], lambda x: numpy.maximum(x, 0), F.relu, "nonzero"),
    ("leaky_relu", [(4, 5)], lambda x: numpy.where(x > 0, x, 0.2 * x), F.leaky_relu, "nonzero"),
    ("leaky_relu-0.01", [(4, 5)], lambda x: numpy.where(x > 0, x, 0.01 * x),
     lambda x: F.leaky_relu(x, 0.01), "nonzero"),
    # --- lookup (constant integer indices, repeated: their gradients must add up) ---
    ("embedding", [(5, 3)], lambda W: W[[[2, 0], [2, 4]]],
     lambda W: F.embedding(minigan.backend.get_array_module(W.data).asarray([[2, 0], [2, 4]]), W),
     "real"),
    # --- compositions: several ops sharing inputs in one graph ---
    ("composite-tanh_matmul_sum_mean", [(4, 3), (3, 2)], lambda x, W: numpy.tanh(x @ W).sum(1) * x.mean(1),
     lambda x, W: F.tanh(x @ W).sum(1) * x.mean(1), "real"),
]


@pytest.mark.parametrize("name, shapes, reference, op, domain", CASES, ids=[c[0] for c in CASES])
def test_op(device, name, shapes, reference, op, domain):
    helper_test_op(device, shapes, reference, op, domain)


def test_every_public_op_has_a_case():
    # A new op added to minigan/functions/ without a gradient check fails here.
    public = set(F.__all__) - {"sum_to", "stable_sigmoid", "check_indices"}   # helpers
    public -= {"sigmoid_binary_cross_entropy", "binary_cross_entropy",       # test_losses.py
               "softmax_cross_entropy",                                       # test_embedding_ce
               "batch_norm_train", "batch_norm_eval",                         # test_batchnorm.py
               "conv2d", "conv_transpose2d"}                                  # test_conv.py
    covered = {c[0].split("-")[0] for c in CASES} | {"dropout"}   # dropout: its own tests below
    assert len(public) >= 20 and public - covered == set()


# --- hand-computed forward values ----------------------------------------------------------------

def T(xp, values):
    return Tensor(xp.asarray(values, dtype="float64"))


def test_forward_values_by_hand(xp):
    a = T(xp, [[1.0, 2.0], [3.0, 4.0]])
    numpy.testing.assert_array_equal(host(F.matmul(a, T(xp, [[5.0], [6.0]])).data), [[17], [39]])
    numpy.testing.assert_array_equal(host(F.linear(a, T(xp, [[1.0], [1.0]]),
                                                   T(xp, [10.0])).data), [[13], [17]])
    numpy.testing.assert_array_equal(host(F.sum(a).data), 10.0)
    numpy.testing.assert_array_equal(host(F.sum(a, 0).data), [4, 6])
    numpy.testing.assert_array_equal(host(F.mean(a, 1, keepdims=True).data), [[1.5], [3.5]])
    numpy.testing.assert_array_equal(host(F.relu(T(xp, [-1.0, 0.0, 2.0])).data), [0, 0, 2])
    numpy.testing.assert_allclose(host(F.leaky_relu(T(xp, [-1.0, 2.0])).data), [-0.2, 2.0])
    numpy.testing.assert_array_equal(host(F.sigmoid(T(xp, [0.0])).data), [0.5])
    numpy.testing.assert_array_equal(host(F.tanh(T(xp, [0.0])).data), [0.0])
    numpy.testing.assert_array_equal(host(F.exp(T(xp, [0.0])).data), [1.0])
    numpy.testing.assert_array_equal(host(F.log(T(xp, [1.0])).data), [0.0])
    numpy.testing.assert_array_equal(host(F.pow(T(xp, [3.0]), 2).data), [9.0])
    numpy.testing.assert_array_equal(
        host(F.concatenate([T(xp, [1.0]), T(xp, [2.0, 3.0])]).data), [1, 2, 3])
    assert F.sum(a).shape == () and F.mean(a).shape == ()      # 0-d arrays, not Python floats


def test_sum_to_reduces_broadcast_axes(xp):
    g = xp.ones((2, 3, 4))
    numpy.testing.assert_array_equal(host(F.sum_to(g, (3, 1))), numpy.full((3, 1), 8.0))
    numpy.testing.assert_array_equal(host(F.sum_to(g, (1, 3, 4))), numpy.full((1, 3, 4), 2.0))
    numpy.testing.assert_array_equal(host(F.sum_to(g, ())), 24.0)
    assert F.sum_to(g, (2, 3, 4)) is g


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_saturates_without_overflow(xp, dtype):
    # e^-x overflows float32 at x < -88; the tanh form must give 0 and 1, not nan or inf.
    x = Tensor(xp.asarray([-100.0, 100.0, -1000.0, 1000.0], dtype=dtype), requires_grad=True)
    y = F.sigmoid(x)
    y.sum().backward()
    values = host(y.data)
    assert numpy.all(numpy.isfinite(values)) and numpy.all(numpy.isfinite(host(x.grad)))
    numpy.testing.assert_allclose(values, [0.0, 1.0, 0.0, 1.0], rtol=0, atol=1e-15)
    numpy.testing.assert_allclose(host(x.grad), 0.0, atol=1e-15)   # s(1 - s) ~ 4e-44


def test_sigmoid_float64_accuracy(xp):
    # Absolute error within a few ulps of 1 over a wide range of logits.
    x = numpy.linspace(-30, 30, 121)
    y = host(F.sigmoid(T(xp, x)).data)
    numpy.testing.assert_allclose(y, 1 / (1 + numpy.exp(-x)), rtol=0, atol=4e-16)


def test_matmul_wrong_inner_dims_raises(xp):
    with pytest.raises(ValueError, match="matmul"):
        F.matmul(T(xp, numpy.ones((3, 4))), T(xp, numpy.ones((5, 2))))
    with pytest.raises(ValueError, match="matmul"):
        F.matmul(T(xp, numpy.ones(4)), T(xp, numpy.ones((4, 2))))      # 1-D is not supported


# --- dropout ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_gradcheck(device, p):
    # A fresh generator with a fixed seed inside fn: every finite-difference evaluation sees the
    # same mask as the analytic pass.
    x = Tensor(make_input(device, (6, 7), "real", 0), requires_grad=True)
    fn = lambda x: F.dropout(x, p, rng=minigan.Random(3, device))   # noqa: E731
    y = host(fn(x).data)
    kept = y != 0
    assert kept.any() and not kept.all()          # the mask really drops and keeps something
    numpy.testing.assert_allclose(y[kept], host(x.data)[kept] / (1 - p), rtol=1e-15)
    check_gradients(fn, [x])


@pytest.mark.parametrize("kwargs", [dict(p=0.5, training=False), dict(p=0.0)],
                         ids=["eval", "p0"])
def test_dropout_identity(xp, kwargs):
    x = Tensor(xp.asarray([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    y = F.dropout(x, **kwargs)
    numpy.testing.assert_array_equal(host(y.data), host(x.data))
    y.backward(xp.asarray([[1.0, 2.0], [3.0, 4.0]]))
    numpy.testing.assert_array_equal(host(x.grad), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_the_expectation(device, p):
    # Inverted dropout: survivors are scaled by 1/(1-p) so that E[y] = x.
    xp = minigan.backend.xp_of_device(device)
    n = 200_000
    y = host(F.dropout(Tensor(xp.ones(n, dtype="float32")), p, rng=minigan.Random(0, device)).data)
    assert abs(float((y == 0).mean()) - p) < 0.01
    # std of the mean is sqrt(p / (1-p) / n) <= 0.007 for p = 0.9: 0.03 is > 4 sigma.
    assert abs(float(y.astype("float64").mean()) - 1.0) < 0.03
    numpy.testing.assert_allclose(numpy.unique(y), [0.0, 1 / (1 - p)], rtol=1e-6)


def test_dropout_default_generator_follows_manual_seed(xp):
    x = Tensor(xp.ones(1000))
    minigan.manual_seed(5)
    first = host(F.dropout(x, 0.5).data)
    second = host(F.dropout(x, 0.5).data)
    minigan.manual_seed(5)
    again = host(F.dropout(x, 0.5).data)
    assert not numpy.array_equal(first, second)     # a new mask every call...
    numpy.testing.assert_array_equal(first, again)  # ...reproducible from the seed


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_out_of_range_raises(xp, p):
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(Tensor(xp.ones(3)), p)


# --- the checker itself can fail -----------------------------------------------------------------

class DoubleGradient(Function):
    """y = x * x with backward 2 * (2 x gy): twice the true gradient."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return 2 * (2 * self.x * gy)


class IgnoresUpstream(Function):
    """y = 3 x with backward 3 (ones times 3): right only when gy is all ones."""

    def forward(self, x):
        return 3 * x

    def backward(self, gy):
        return 3 * (gy * 0 + 1)


class SwappedAxes(Function):
    """y = x * w (x square): backward returns gy^T * w, right only for symmetric gy."""

    def forward(self, x):
        self.w = x * 0 + 2.0
        return x * self.w

    def backward(self, gy):
        return gy.T * self.w


@pytest.mark.parametrize("bad", [DoubleGradient, IgnoresUpstream, SwappedAxes])
def test_check_gradients_catches_wrong_backward(device, bad):
    x = Tensor(make_input(device, (4, 4), "real", 1), requires_grad=True)
    with pytest.raises(GradientCheckError, match=r"input 0 \(shape \(4, 4\)\)"):
        check_gradients(lambda x: bad()(x), [x])


def test_check_gradients_returns_small_error_for_right_backward(device):
    x = Tensor(make_input(device, (4, 4), "real", 1), requires_grad=True)
    assert check_gradients(lambda x: x * x, [x]) < 1e-8


def test_check_gradients_refuses_float32(xp):
    x = Tensor(xp.ones(3, dtype="float32"), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(lambda x: x * x, [x])


class NanGradient(Function):
    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return gy * float("nan")


def test_check_gradients_catches_nan_gradient(device):
    # `nan > rtol` is False: a naive comparison would report a NaN gradient as a pass.
    x = Tensor(make_input(device, (3,), "real", 0), requires_grad=True)
    with pytest.raises(GradientCheckError, match="analytic nan"):
        check_gradients(lambda x: NanGradient()(x), [x])
