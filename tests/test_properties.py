"""Property-based tests (Hypothesis): every op on random shapes, broadcasting pairs and values.

test_functions.py checks each op on a few hand-picked shapes; here Hypothesis draws them: shapes
of up to 3 axes of 1-4 elements, pairs of shapes that broadcast, random axes (negative ones too)
with and without keepdims, random permutations, split points and kernel geometries, and float64
values in a moderate range, kept away from an op's poles and kinks where it has them. For each
draw, (a) the forward pass equals a NumPy formula in float64 and (b) check_gradients agrees with
central differences on every input.

derandomize=True: the same examples on every run and machine (and no .hypothesis database
written); a failure prints the smallest example Hypothesis found. CPU only: the GPU runs the
same code, and test_functions.py runs it there.
"""
import math

import numpy
import pytest

from minigan import Random, Tensor
from minigan import functions as F
from minigan.gradcheck import check_gradients
from test_batchnorm import reference as batch_norm_reference
from test_conv import naive_conv2d, naive_conv_transpose2d
from test_embedding_ce import naive_ce
from test_functions import CASES, host
from test_losses import expit, naive_bce

pytest.importorskip("hypothesis")          # in the test extra; skipped cleanly without it
from hypothesis import HealthCheck, assume, given, settings   # noqa: E402
from hypothesis import strategies as st                       # noqa: E402
from hypothesis.extra import numpy as hnp                     # noqa: E402

# The NumPy formulas of test_functions.py's table, by op name.
REFERENCE = {name: reference for name, _, reference, _, _ in CASES}

EXAMPLES = 100      # per op; the convolutions and batch norm draw fewer (their checks cost more)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- strategies

# Values: "real" anywhere in [-3, 3]; "positive" in [0.5, 2.5] (log, fractional powers);
# "nonzero" with |x| in [0.1, 3] (denominators, negative powers, and relu/leaky_relu, whose
# derivative jumps at 0: a finite difference across the kink is wrong by design, not by bug).
DOMAINS = {
    "real": st.floats(-3, 3),
    "positive": st.floats(0.5, 2.5),
    "nonzero": st.one_of(st.floats(-3, -0.1), st.floats(0.1, 3)),
}


def shapes(min_dims=0, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4)


def arrays(shape, domain="real"):
    return hnp.arrays(numpy.float64, shape, elements=DOMAINS[domain])


@st.composite
def axes(draw, ndim):
    """An axis argument for sum/mean: None, one axis, or a tuple of distinct axes, each one
    possibly negative."""
    if ndim == 0 or draw(st.booleans()) and draw(st.booleans()):
        return None
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    chosen = [a - ndim if draw(st.booleans()) else a for a in chosen]
    return chosen[0] if len(chosen) == 1 and draw(st.booleans()) else tuple(chosen)


def check_op(op, reference, inputs, rtol=1e-12, atol=1e-14):
    """(a) op(*tensors) equals reference(*arrays) in float64; (b) its gradients pass
    check_gradients, for every input (float64 tensors with requires_grad=True)."""
    expected = reference(*[a.copy() for a in inputs])
    tensors = [Tensor(numpy.array(a, dtype=numpy.float64), requires_grad=True) for a in inputs]
    y = op(*tensors)
    assert y.shape == numpy.shape(expected)
    numpy.testing.assert_allclose(host(y.data), expected, rtol=rtol, atol=atol)
    # check_gradients' central difference of L = sum(y * gy) carries L's rounding error,
    # ~1e-16 sum|y gy| / 1e-6: its fixed atol (1e-8) suits |L| ~ 1. Random shapes and values
    # give larger sums, so scale atol with them (gy ~ N(0, 1): sum|y| stands for sum|y gy|).
    scale = max(1.0, float(numpy.abs(host(y.data)).sum()))
    check_gradients(op, tensors, atol=1e-8 * scale)


COVERED = set()


def covers(*names):
    """Record which ops of F.__all__ a test covers (test_every_op_has_a_property checks)."""
    COVERED.update(names)
    return lambda test: test


# ---------------------------------------------------------------- elementwise

UNARY = {   # name: (op, NumPy formula, domain)
    "exp": (F.exp, REFERENCE["exp"], "real"),
    "log": (F.log, REFERENCE["log"], "positive"),
    "tanh": (F.tanh, REFERENCE["tanh"], "real"),
    "sigmoid": (F.sigmoid, REFERENCE["sigmoid"], "real"),
    "relu": (F.relu, REFERENCE["relu"], "nonzero"),
    "neg": (F.neg, REFERENCE["neg"], "real"),
}


@covers(*UNARY)
@pytest.mark.parametrize("name", list(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary(name, data):
    op, reference, domain = UNARY[name]
    x = data.draw(arrays(shapes(), domain), label="x")
    check_op(op, reference, [x])


@covers("leaky_relu")
@SETTINGS
@given(x=arrays(shapes(), "nonzero"), slope=st.floats(0, 1))
def test_leaky_relu(x, slope):
    check_op(lambda t: F.leaky_relu(t, slope), lambda a: numpy.where(a > 0, a, slope * a), [x])


@covers("pow")
@SETTINGS
@given(data=st.data(), exponent=st.one_of(st.sampled_from([-2, -1, 1, 2, 3]), st.floats(-2, 3)))
def test_pow(data, exponent):
    # Integer exponents for any nonzero x; fractional ones need x > 0.
    domain = "nonzero" if isinstance(exponent, int) else "positive"
    x = data.draw(arrays(shapes(), domain), label="x")
    check_op(lambda t: F.pow(t, exponent), lambda a: a ** exponent, [x])


BINARY = {   # name: (op, NumPy formula, domain of the second operand)
    "add": (F.add, REFERENCE["add"], "real"),
    "sub": (F.sub, REFERENCE["sub"], "real"),
    "mul": (F.mul, REFERENCE["mul"], "real"),
    "div": (F.div, REFERENCE["div"], "nonzero"),
}


@covers(*BINARY)
@pytest.mark.parametrize("name", list(BINARY))
@SETTINGS
@given(data=st.data(), pair=hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4))
def test_binary_broadcast(name, data, pair):
    # Either side may have fewer axes or axes of size 1: the gradient must be summed back to
    # each operand's own shape (sum_to).
    op, reference, domain = BINARY[name]
    a = data.draw(arrays(pair.input_shapes[0]), label="a")
    b = data.draw(arrays(pair.input_shapes[1], domain), label="b")
    check_op(op, reference, [a, b])


@pytest.mark.parametrize("name", ["+", "-", "*", "/"])
@SETTINGS
@given(data=st.data(), constant=DOMAINS["nonzero"], left=st.booleans())
def test_python_number_operand(name, data, constant, left):
    # t + 2.0 and 2.0 - t: a constant on either side gets no gradient and changes no shape.
    apply = {"+": lambda u, v: u + v, "-": lambda u, v: u - v,
             "*": lambda u, v: u * v, "/": lambda u, v: u / v}[name]
    x = data.draw(arrays(shapes(), "nonzero" if name == "/" and left else "real"), label="x")
    if left:
        check_op(lambda t: apply(constant, t), lambda a: apply(constant, a), [x])
    else:
        check_op(lambda t: apply(t, constant), lambda a: apply(a, constant), [x])


# ---------------------------------------------------------------- products

@covers("matmul")
@SETTINGS
@given(data=st.data(), batch=hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3),
    sizes=st.tuples(*[st.integers(1, 4)] * 3))
def test_matmul(data, batch, sizes):
    # (..., n, k) @ (..., k, m) with batch axes that broadcast against each other.
    n, k, m = sizes
    a = data.draw(arrays(batch.input_shapes[0] + (n, k)), label="a")
    b = data.draw(arrays(batch.input_shapes[1] + (k, m)), label="b")
    check_op(F.matmul, REFERENCE["matmul"], [a, b])


@covers("linear")
@SETTINGS
@given(data=st.data(), sizes=st.tuples(*[st.integers(1, 4)] * 3), bias=st.booleans())
def test_linear(data, sizes, bias):
    n, k, m = sizes
    x = data.draw(arrays((n, k)), label="x")
    W = data.draw(arrays((k, m)), label="W")
    if bias:
        check_op(F.linear, REFERENCE["linear"], [x, W, data.draw(arrays((m,)), label="b")])
    else:
        check_op(F.linear, REFERENCE["linear-nobias"], [x, W])


# ---------------------------------------------------------------- reductions and shapes

@covers("sum", "mean")
@pytest.mark.parametrize("name", ["sum", "mean"])
@SETTINGS
@given(data=st.data(), x=arrays(shapes()), keepdims=st.booleans())
def test_reduction(name, data, x, keepdims):
    axis = data.draw(axes(x.ndim), label="axis")
    op = getattr(F, name)
    check_op(lambda t: op(t, axis, keepdims=keepdims),
             lambda a: getattr(a, name)(axis, keepdims=keepdims), [x])


def prime_factors(n):
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@st.composite
def reshapes(draw):
    """(shape, new shape of the same size): the size's prime factors shuffled into up to 4
    axes, with an occasional axis of 1 and an occasional -1."""
    shape = draw(shapes())
    factors = draw(st.permutations(prime_factors(math.prod(shape))))
    cuts = sorted(draw(st.lists(st.integers(0, len(factors)), max_size=3)))
    bounds = [0] + cuts + [len(factors)]
    new = [math.prod(factors[i:j]) for i, j in zip(bounds, bounds[1:])]
    if draw(st.booleans()):
        new.insert(draw(st.integers(0, len(new))), 1)
    if draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return shape, tuple(new)


@covers("reshape")
@SETTINGS
@given(data=st.data(), shapes_=reshapes())
def test_reshape(data, shapes_):
    shape, new = shapes_
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: F.reshape(t, new), lambda a: a.reshape(new), [x])


@covers("transpose")
@SETTINGS
@given(data=st.data(), x=arrays(shapes()))
def test_transpose(data, x):
    # A random permutation (not its own inverse in general: the backward must invert it),
    # with negative axes mixed in; or None (reverse all axes).
    if data.draw(st.booleans(), label="reverse all"):
        perm = None
    else:
        perm = data.draw(st.permutations(range(x.ndim)), label="axes")
        perm = tuple(a - x.ndim if data.draw(st.booleans()) else a for a in perm)
    check_op(lambda t: F.transpose(t, perm), lambda a: a.transpose(perm), [x])


@covers("concatenate")
@SETTINGS
@given(data=st.data(), shape=shapes(min_dims=1),
       sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_concatenate(data, shape, sizes):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    parts = [data.draw(arrays(shape[:axis % len(shape)] + (size,) + shape[axis % len(shape) + 1:]),
                       label="part") for size in sizes]
    check_op(lambda *ts: F.concatenate(ts, axis), lambda *xs: numpy.concatenate(xs, axis), parts)


@covers("broadcast_to")
@SETTINGS
@given(data=st.data(), pair=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3,
                                                             max_side=3))
def test_broadcast_to(data, pair):
    shape = pair.input_shapes[0]
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: F.broadcast_to(t, pair.result_shape),
             lambda a: numpy.broadcast_to(a, pair.result_shape), [x])


@covers("get_item")
@SETTINGS
@given(data=st.data(), x=arrays(shapes(min_dims=1)))
def test_get_item(data, x):
    # A basic index: per axis an integer or a slice with any start, stop and step (not 0).
    index = []
    for n in x.shape:
        if data.draw(st.booleans(), label="integer"):
            index.append(data.draw(st.integers(-n, n - 1), label="i"))
        else:
            start, stop = (data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
                           for _ in range(2))
            step = data.draw(st.one_of(st.none(), st.integers(1, 3), st.integers(-3, -1)))
            index.append(slice(start, stop, step))
    index = tuple(index)
    if x[index].size == 0 or x[index].ndim == 0:
        return                                    # nothing, or one number: no gradient to check
    check_op(lambda t: t[index], lambda a: a[index], [x])


# ---------------------------------------------------------------- lookup and dropout

@covers("embedding")
@SETTINGS
@given(data=st.data(), rows=st.integers(1, 4), dim=st.integers(1, 3),
       index_shape=shapes(min_dims=1, max_dims=2))
def test_embedding(data, rows, dim, index_shape):
    # Repeated indices are likely: their gradients must add up, not overwrite each other.
    indices = data.draw(hnp.arrays(numpy.int64, index_shape, elements=st.integers(0, rows - 1)),
                        label="indices")
    W = data.draw(arrays((rows, dim)), label="W")
    check_op(lambda t: F.embedding(indices, t), lambda w: w[indices], [W])


@covers("dropout")
@SETTINGS
@given(x=arrays(shapes(min_dims=1)), p=st.floats(0, 0.9), seed=st.integers(0, 2 ** 16))
def test_dropout(x, p, seed):
    # The same seed inside fn: every finite-difference evaluation sees the same mask. The
    # NumPy formula: each element is 0 or x / (1 - p), the survivors being the op's own choice.
    fn = lambda t: F.dropout(t, p, rng=Random(seed, "cpu"))   # noqa: E731
    kept = host(fn(Tensor(x)).data) != 0
    check_op(fn, lambda a: numpy.where(kept, a / (1 - p), 0.0), [x])


# ---------------------------------------------------------------- losses

@covers("sigmoid_binary_cross_entropy")
@SETTINGS
@given(data=st.data(), logits=arrays(shapes(min_dims=1), "real"), number=st.booleans())
def test_sigmoid_binary_cross_entropy(data, logits, number):
    # Targets: one number, or an array of the logits' shape (a Tensor: it gets a gradient too).
    if number:
        y = data.draw(st.floats(0, 1), label="target")
        check_op(lambda t: F.sigmoid_binary_cross_entropy(t, y),
                 lambda x: naive_bce(expit(x), y), [logits])
    else:
        y = data.draw(hnp.arrays(numpy.float64, logits.shape, elements=st.floats(0, 1)),
                      label="targets")
        check_op(F.sigmoid_binary_cross_entropy, lambda x, t: naive_bce(expit(x), t), [logits, y])


@covers("binary_cross_entropy")
@SETTINGS
@given(data=st.data(), shape=shapes(min_dims=1))
def test_binary_cross_entropy(data, shape):
    # Probabilities inside [0.05, 0.95]: away from the clipping at eps, which has a kink.
    p = data.draw(hnp.arrays(numpy.float64, shape, elements=st.floats(0.05, 0.95)), label="p")
    y = data.draw(hnp.arrays(numpy.float64, shape, elements=st.floats(0, 1)), label="y")
    check_op(lambda t: F.binary_cross_entropy(t, y), lambda a: naive_bce(a, y), [p], rtol=1e-11)


@covers("softmax_cross_entropy")
@SETTINGS
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4))
def test_softmax_cross_entropy(data, n, k):
    logits = data.draw(arrays((n, k)), label="logits")
    labels = data.draw(hnp.arrays(numpy.int64, (n,), elements=st.integers(0, k - 1)),
                       label="labels")
    check_op(lambda t: F.softmax_cross_entropy(t, labels), lambda x: naive_ce(x, labels),
             [logits], rtol=1e-11)


# ---------------------------------------------------------------- batch norm and convolutions

FEWER = settings(SETTINGS, max_examples=50)


@st.composite
def batch_norm_inputs(draw):
    """x (N, C) or (N, C, H, W) with at least 2 values per channel, spread enough (std >= 0.3)
    that 1/std stays moderate; gamma, beta (C,)."""
    c = draw(st.integers(1, 3))
    shape = draw(st.sampled_from([(n, c) for n in (2, 3, 4)]
                                 + [(n, c, h, w) for n in (1, 2) for h in (1, 2) for w in (2, 3)]))
    x = draw(arrays(shape))
    assume(x.std(axis=(0,) + tuple(range(2, x.ndim))).min() >= 0.3)
    return x, draw(arrays((c,))), draw(arrays((c,)))


@covers("batch_norm_train")
@FEWER
@given(inputs=batch_norm_inputs())
def test_batch_norm_train(inputs):
    check_op(lambda x, g, b: F.batch_norm_train(x, g, b)[0], batch_norm_reference, list(inputs),
             rtol=1e-10, atol=1e-12)


@covers("batch_norm_eval")
@FEWER
@given(data=st.data(), inputs=batch_norm_inputs())
def test_batch_norm_eval(data, inputs):
    c = inputs[1].shape[0]
    mean = data.draw(arrays((c,)), label="running mean")
    var = data.draw(hnp.arrays(numpy.float64, (c,), elements=st.floats(0.1, 4)), label="var")
    check_op(lambda x, g, b: F.batch_norm_eval(x, g, b, mean, var),
             lambda x, g, b: batch_norm_reference(x, g, b, mean, var), list(inputs),
             rtol=1e-10, atol=1e-12)


@st.composite
def conv_geometry(draw, transpose):
    """(x shape, W shape, stride, padding, output_padding) small enough for a quick gradcheck."""
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    if transpose:
        output_padding = draw(st.integers(0, stride - 1))
        h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        # The output, (h - 1) stride - 2 padding + k + output_padding, must have a pixel.
        assume(min((h - 1) * stride + kh, (w - 1) * stride + kw) + output_padding > 2 * padding)
        return (n, c_in, h, w), (c_in, c_out, kh, kw), stride, padding, output_padding
    # The padded input must hold one kernel.
    h = draw(st.integers(max(1, kh - 2 * padding), 5))
    w = draw(st.integers(max(1, kw - 2 * padding), 5))
    return (n, c_in, h, w), (c_out, c_in, kh, kw), stride, padding, 0


@covers("conv2d")
@FEWER
@given(data=st.data(), geometry=conv_geometry(transpose=False), bias=st.booleans())
def test_conv2d(data, geometry, bias):
    x_shape, w_shape, stride, padding, _ = geometry
    inputs = [data.draw(arrays(x_shape), label="x"), data.draw(arrays(w_shape), label="W")]
    if bias:
        inputs.append(data.draw(arrays((w_shape[0],)), label="b"))
    check_op(lambda x, W, b=None: F.conv2d(x, W, b, stride, padding),
             lambda x, W, b=None: naive_conv2d(x, W, b, stride, padding), inputs,
             rtol=1e-10, atol=1e-12)


@covers("conv_transpose2d")
@FEWER
@given(data=st.data(), geometry=conv_geometry(transpose=True), bias=st.booleans())
def test_conv_transpose2d(data, geometry, bias):
    x_shape, w_shape, stride, padding, output_padding = geometry
    inputs = [data.draw(arrays(x_shape), label="x"), data.draw(arrays(w_shape), label="W")]
    if bias:
        inputs.append(data.draw(arrays((w_shape[1],)), label="b"))
    check_op(lambda x, W, b=None: F.conv_transpose2d(x, W, b, stride, padding, output_padding),
             lambda x, W, b=None: naive_conv_transpose2d(x, W, b, stride, padding,
                                                         output_padding),
             inputs, rtol=1e-10, atol=1e-12)


def test_every_op_has_a_property():
    # A new op in F.__all__ without a property test fails here (helpers excepted).
    helpers = {"sum_to", "stable_sigmoid", "check_indices"}
    assert set(F.__all__) - helpers - COVERED == set()
