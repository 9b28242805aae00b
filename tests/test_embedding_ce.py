"""Embedding (lookup and its accumulating gradient), softmax cross-entropy (stable at any logit),
Flatten and Reshape: gradients, values against NumPy, shapes and errors."""
import math

import numpy as np
import pytest

import minigan
from minigan import Random, Tensor
from minigan import functions as F
from minigan.gradcheck import check_gradients
from minigan.functions import softmax_cross_entropy
from minigan.nn import Dense, Embedding, Flatten, Reshape, Sequential


def host(array):
    return minigan.backend.to_numpy(array)


def f64(device, shape, seed, std=1.0):
    return Tensor(Random(seed, device).normal(shape, std=std, dtype="float64"), requires_grad=True)


def ints(xp, values, dtype="int64"):
    return xp.asarray(values, dtype=dtype)


# --- Embedding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("indices", [
    [2, 0, 2, 2, 4],                    # 1-D, row 2 used three times, rows 1 and 3 never
    [[1, 3, 1], [0, 1, 3]],             # 2-D, repeats across rows of the index array
    [[[4]], [[4]]],                     # 3-D, one row only
], ids=["1d", "2d", "3d"])
def test_embedding_gradcheck_wrt_weight_with_repeated_indices(device, xp, indices):
    weight = f64(device, (5, 3), 1)
    idx = ints(xp, indices)
    check_gradients(lambda w: F.embedding(idx, w), [weight])


def test_embedding_gradient_accumulates_over_repeats(device, xp):
    weight = f64(device, (4, 2), 1)
    idx = ints(xp, [[3, 1], [3, 3]])
    y = F.embedding(idx, weight)
    gy = Random(2, device).normal((2, 2, 2), dtype="float64")
    y.backward(gy)
    g, gh = host(weight.grad), host(gy)
    np.testing.assert_allclose(g[3], gh[0, 0] + gh[1, 0] + gh[1, 1], rtol=1e-12)   # three uses
    np.testing.assert_allclose(g[1], gh[0, 1], rtol=1e-12)
    np.testing.assert_array_equal(g[[0, 2]], 0.0)                                   # never used


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_embedding_forward_picks_rows(device, xp, dtype):
    weight = Tensor(Random(0, device).normal((6, 4)))
    idx = ints(xp, [[5, 0], [2, 5], [1, 1]], dtype)
    y = F.embedding(Tensor(idx), weight)                 # indices as a Tensor work too
    assert y.shape == (3, 2, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(host(y.data), host(weight.data)[host(idx)])


def test_embedding_layer_in_a_conditional_network(device, xp):
    # A conditional GAN's input: label vectors concatenated with noise, then a Dense layer.
    emb = Embedding(10, 3, init="dcgan").astype("float64").to(device)
    dense = Dense(5, 2).astype("float64").to(device)
    labels = ints(xp, [7, 2, 7, 0])
    z = f64(device, (4, 2), 3)
    params = emb.parameters() + dense.parameters()
    check_gradients(lambda z: dense(F.concatenate([emb(labels), z], axis=1)), [z], params=params)


@pytest.mark.parametrize("init, std", [("default", 1.0), ("dcgan", 0.02)])
def test_embedding_init(init, std):
    w = Embedding(400, 500, init=init).weight.numpy()
    assert w.shape == (400, 500) and w.dtype == np.float32
    assert abs(w.std() - std) / std < 0.01 and abs(w.mean()) < 0.01 * std


def test_embedding_init_is_seeded():
    minigan.manual_seed(3)
    a = Embedding(4, 2)
    minigan.manual_seed(3)
    np.testing.assert_array_equal(a.weight.numpy(), Embedding(4, 2).weight.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64", "bool"])
def test_embedding_non_integer_indices_raise(xp, dtype):
    with pytest.raises(TypeError, match=rf"Embedding\(5, 3\).*integers.*{dtype}"):
        Embedding(5, 3)(xp.zeros(4, dtype=dtype))


@pytest.mark.parametrize("values, low, high", [([0, 5, 1], 0, 5), ([-1, 2], -1, 2),
                                               ([[7], [9]], 7, 9)])
def test_embedding_out_of_range_names_layer_and_range(xp, values, low, high):
    with pytest.raises(IndexError) as info:
        Embedding(5, 3)(ints(xp, values))
    message = str(info.value)
    assert "Embedding(5, 3)" in message and "[0, 4]" in message
    assert f"from {low} to {high}" in message


def test_embedding_rejects_lists_and_functional_checks(xp):
    with pytest.raises(TypeError, match=r"Embedding\(5, 3\).*list"):
        Embedding(5, 3)([1, 2])
    with pytest.raises(IndexError, match=r"embedding.*\[0, 1\]"):
        F.embedding(ints(xp, [2]), Tensor(xp.ones((2, 3))))
    with pytest.raises(ValueError, match="embedding.*weight"):
        F.embedding(ints(xp, [0]), Tensor(xp.ones(3)))


@pytest.mark.parametrize("args", [(0, 3), (5, 0), (5.0, 3), (5, 3, "he")])
def test_embedding_bad_constructor_arguments(args):
    with pytest.raises(ValueError):
        Embedding(*args)


# --- softmax cross-entropy -----------------------------------------------------------------------

def naive_ce(logits, labels):
    """The textbook formula on host float64: -mean ln(e^x_y / sum e^x)."""
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


@pytest.mark.parametrize("n, k", [(5, 4), (1, 3), (6, 2)])
def test_ce_gradcheck(device, xp, n, k):
    x = f64(device, (n, k), 1, std=2.0)
    labels = ints(xp, host(Random(2, device).integers(0, k, n)))
    check_gradients(lambda x: softmax_cross_entropy(x, labels), [x])


def test_ce_matches_naive_formula_and_gradient(device, xp):
    x = f64(device, (6, 5), 1, std=3.0)              # moderate: the naive formula is exact
    labels = ints(xp, [0, 4, 4, 2, 1, 0])
    loss = softmax_cross_entropy(x, labels)
    assert loss.shape == ()
    xh, yh = host(x.data), host(labels)
    assert loss.item() == pytest.approx(naive_ce(xh, yh), rel=1e-12)
    loss.backward()
    p = np.exp(xh) / np.exp(xh).sum(axis=1, keepdims=True)
    expected = (p - np.eye(5)[yh]) / 6                 # (softmax - onehot) / N
    np.testing.assert_allclose(host(x.grad), expected, rtol=1e-10, atol=1e-17)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ce_is_finite_and_exact_at_extreme_logits(xp, dtype):
    # Row 0 right and certain (loss 0), row 1 wrong by 2000 (loss 2000), row 2 a three-way tie
    # at +1000 (loss ln 3): e^1000 = inf would give nan or inf in the naive formula.
    x = Tensor(xp.asarray([[1000.0, -1000.0, -1000.0],
                           [1000.0, -1000.0, 0.0],
                           [1000.0, 1000.0, 1000.0]], dtype=dtype), requires_grad=True)
    labels = ints(xp, [0, 1, 2])
    loss = softmax_cross_entropy(x, labels)
    loss.backward()
    rtol = 1e-6 if dtype == "float32" else 1e-14
    assert loss.item() == pytest.approx((0.0 + 2000.0 + math.log(3)) / 3, rel=rtol)
    expected = np.array([[0.0, 0.0, 0.0],
                         [1.0, -1.0, 0.0],
                         [1 / 3, 1 / 3, 1 / 3 - 1.0]]) / 3
    g = host(x.grad)
    assert g.dtype == np.dtype(dtype) and np.isfinite(g).all()
    np.testing.assert_allclose(g, expected, rtol=rtol, atol=1e-30)


def test_naive_formula_really_fails_at_these_logits():
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(naive_ce(np.array([[1000.0, -1000.0]]), np.array([0])))


def test_ce_labels_may_be_a_tensor(xp):
    x = Tensor(xp.zeros((2, 4)), requires_grad=True)
    loss = softmax_cross_entropy(x, Tensor(ints(xp, [3, 1])))
    assert loss.item() == pytest.approx(math.log(4), rel=1e-14)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 2), (0, 3), (2, 0)])
def test_ce_wrong_logits_shape_raises(xp, shape):
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\(batch, classes\)"):
        softmax_cross_entropy(Tensor(xp.zeros(shape)), ints(xp, [0, 1]))


@pytest.mark.parametrize("labels_shape", [(3,), (2, 1), (1, 2), ()])
def test_ce_wrong_labels_shape_raises(xp, labels_shape):
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\(2,\)"):
        softmax_cross_entropy(Tensor(xp.zeros((2, 3))), xp.zeros(labels_shape, dtype="int64"))


@pytest.mark.parametrize("dtype", ["float64", "bool"])
def test_ce_non_integer_labels_raise(xp, dtype):
    with pytest.raises(TypeError, match=rf"softmax_cross_entropy.*labels must be integer.*{dtype}"):
        softmax_cross_entropy(Tensor(xp.zeros((2, 3))), xp.zeros(2, dtype=dtype))


def test_ce_integer_logits_raise(xp):
    with pytest.raises(TypeError, match="floating point logits"):
        softmax_cross_entropy(Tensor(xp.zeros((2, 3), dtype="int64")), ints(xp, [0, 1]))


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_ce_out_of_range_labels_raise(xp, labels):
    with pytest.raises(IndexError, match=r"softmax_cross_entropy.*labels.*\[0, 2\]"):
        softmax_cross_entropy(Tensor(xp.zeros((2, 3))), ints(xp, labels))


# --- Flatten and Reshape -------------------------------------------------------------------------

def test_flatten_and_reshape_gradients(device):
    net = Sequential(Flatten(), Dense(24, 12), Reshape(3, 2, 2))
    net = net.astype("float64").to(device)
    x = f64(device, (2, 4, 3, 2), 1)
    y = net(x)
    assert y.shape == (2, 3, 2, 2)
    check_gradients(net, [x], params=net.parameters())
    check_gradients(Flatten(), [f64(device, (3, 2, 5), 2)])
    check_gradients(Reshape(2, 5), [f64(device, (3, 10), 3)])


def test_flatten_and_reshape_values_and_shapes(device, xp):
    x = Tensor(xp.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5))
    flat = Flatten()(x)
    assert flat.shape == (2, 60)
    np.testing.assert_array_equal(flat.numpy(), host(x.data).reshape(2, 60))   # C order, per sample
    back = Reshape(3, 4, 5)(flat)
    np.testing.assert_array_equal(back.numpy(), host(x.data))
    assert Reshape((4, 15))(x).shape == (2, 4, 15)          # a tuple, and any (N, ...) of size 60
    assert Flatten()(Tensor(xp.ones((0, 3, 2)))).shape == (0, 6)          # empty batch
    assert Flatten()(Tensor(xp.ones((4, 7)))).shape == (4, 7)


def test_flatten_errors(xp):
    with pytest.raises(ValueError, match=r"Flatten.*\(5,\)"):
        Flatten()(Tensor(xp.ones(5)))
    with pytest.raises(TypeError, match="Flatten.*Tensor"):
        Flatten()(np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(2, 11), (2, 3, 4), (12,)])
def test_reshape_size_mismatch_names_layer_and_sizes(xp, shape):
    with pytest.raises(ValueError) as info:
        Reshape(2, 5)(Tensor(xp.ones(shape)))
    message = str(info.value)
    assert "Reshape(2, 5)" in message and "(batch, 10)" in message and str(shape) in message


@pytest.mark.parametrize("shape", [(), (0, 3), (2, -1), (2.0,)])
def test_reshape_bad_shape_raises(shape):
    with pytest.raises(ValueError, match="Reshape"):
        Reshape(*shape)
