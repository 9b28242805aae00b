"""Layers: gradients (finite differences, float64), initialisation, input checks, Dropout, modes."""
import math

import numpy as np
import pytest

import minigan
from minigan import Random, Tensor
from minigan.gradcheck import check_gradients
from minigan.nn import (Dense, Dropout, Identity, LeakyReLU, Module, ReLU, Sequential, Sigmoid,
                        Tanh, activation)
from minigan.nn.init import INITS


def randn(device, shape, seed=1):
    """A float64 leaf that requires a gradient, drawn on `device`."""
    return Tensor(Random(seed, device).normal(shape, dtype="float64"), requires_grad=True)


def away_from_zero(device, shape, seed=1, margin=0.1):
    """Random float64 values with |x| >= margin: finite differences must not straddle a kink."""
    x = Random(seed, device).normal(shape, dtype="float64")
    xp = minigan.backend.xp_of_device(device)
    return Tensor(xp.sign(x) * (margin + xp.abs(x)), requires_grad=True)


# --- gradients -----------------------------------------------------------------------------------

@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("bias", [True, False])
def test_dense_gradients(device, init, bias):
    layer = Dense(3, 4, bias=bias, init=init).astype("float64").to(device)
    if init != "default" and bias:
        # These schemes start b at 0; a random b checks that the bias is really added.
        layer.bias.data = Random(7, device).normal((4,), dtype="float64")
    params = layer.parameters()
    assert len(params) == (2 if bias else 1)
    check_gradients(layer, [randn(device, (5, 3))], params=params)


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, lambda: LeakyReLU(0.01), Tanh, Sigmoid,
                                  Identity], ids=["relu", "leaky0.2", "leaky0.01", "tanh",
                                                  "sigmoid", "identity"])
def test_activation_gradients(device, make):
    check_gradients(make(), [away_from_zero(device, (4, 5))])


def test_relu_and_leaky_relu_values(device, xp):
    # Gradient checks cannot tell LeakyReLU(0.2) from a wrong slope applied twice, values can.
    x = Tensor(xp.asarray([[-2.0, -0.5, 0.5, 3.0]]))
    np.testing.assert_allclose(ReLU()(x).numpy(), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.2)(x).numpy(), [[-0.4, -0.1, 0.5, 3.0]])


def test_dropout_gradients_with_default_generator(device):
    layer = Dropout(0.4)            # rng=None: the mask comes from minigan's default generator
    assert layer.training

    def fn(x):
        minigan.manual_seed(123)    # the same mask on every call, or finite differences are noise
        return layer(x)

    x = randn(device, (6, 7))
    y = fn(x)
    assert (y.numpy() == 0).any()   # the mask really drops something, else this checks Identity
    check_gradients(fn, [x])


def test_dropout_gradients_with_own_generator(device):
    def fn(x):
        return Dropout(0.5, rng=Random(9, device))(x)     # a fresh generator: a fixed mask
    check_gradients(fn, [randn(device, (6, 7))])


def test_sequential_mlp_gradients(device):
    net = Sequential(Dense(3, 6), LeakyReLU(0.2), Dense(6, 2), Tanh()).astype("float64").to(device)
    params = net.parameters()
    assert len(params) == 4
    check_gradients(net, [randn(device, (5, 3))], params=params)


def test_dense_forward_matches_numpy(device, xp):
    layer = Dense(3, 2).to(device)
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    expected = x @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(Tensor(xp.asarray(x))).numpy(), expected, rtol=1e-6)


# --- initialisation ------------------------------------------------------------------------------

def weights(init, fan_in=400, fan_out=500):
    layer = Dense(fan_in, fan_out, init=init)
    return layer.weight.numpy().astype(np.float64), layer.bias.numpy()


def test_init_is_float32_with_the_right_shapes():
    layer = Dense(3, 5)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (5,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.bias.requires_grad


def test_dcgan_init_std():
    W, b = weights("dcgan")
    assert abs(W.std() - 0.02) < 0.0005       # 200,000 draws: the sample std is within ~0.2%
    assert abs(W.mean()) < 0.0005
    assert not b.any()


def test_he_init_std():
    W, b = weights("he")
    std = math.sqrt(2.0 / 400)
    assert abs(W.std() - std) / std < 0.02
    assert not b.any()


@pytest.mark.parametrize("init, bound", [
    ("default", 1 / math.sqrt(400)),
    ("glorot", math.sqrt(6 / (400 + 500))),
])
def test_uniform_init_bounds(init, bound):
    W, b = weights(init)
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound      # uses the whole range, not a narrower one
    assert abs(W.std() - bound / math.sqrt(3)) / (bound / math.sqrt(3)) < 0.02   # U(-a, a)
    if init == "default":
        # PyTorch's nn.Linear: the bias is drawn from the same U(-1/sqrt(fan_in), ...) range.
        assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    else:
        assert not b.any()


def test_same_seed_same_weights():
    minigan.manual_seed(42)
    a = Dense(5, 4)
    minigan.manual_seed(42)
    b = Dense(5, 4)
    c = Dense(5, 4)                             # the generator moved on: different weights
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    assert not np.array_equal(a.weight.numpy(), c.weight.numpy())
    minigan.manual_seed(43)
    assert not np.array_equal(a.weight.numpy(), Dense(5, 4).weight.numpy())


def test_explicit_generator_gives_reproducible_weights():
    a = Dense(5, 4, init="he", rng=Random(3, "cpu"))
    b = Dense(5, 4, init="he", rng=Random(3, "cpu"))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())


def test_unknown_init_raises():
    with pytest.raises(ValueError, match="xavier"):
        Dense(3, 4, init="xavier")


@pytest.mark.parametrize("name, cls", [("relu", ReLU), ("leaky_relu", LeakyReLU), ("tanh", Tanh),
                                       ("sigmoid", Sigmoid), ("identity", Identity),
                                       (None, Identity)])
def test_activation_by_name(name, cls):
    assert type(activation(name)) is cls


def test_activation_passes_modules_through():
    m = LeakyReLU(0.1)
    assert activation(m) is m


@pytest.mark.parametrize("name", ["swish", "ReLU", ""])
def test_unknown_activation_raises(name):
    with pytest.raises(ValueError, match="unknown activation"):
        activation(name)


# --- bad inputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 2), (5, 4), (3,), (2, 3, 1)])
def test_dense_wrong_shape_names_layer_and_shapes(device, xp, shape):
    layer = Dense(3, 4).to(device)
    with pytest.raises(ValueError) as info:
        layer(Tensor(xp.ones(shape, dtype="float32")))
    message = str(info.value)
    assert "Dense(3 -> 4)" in message
    assert "(batch, 3)" in message
    assert str(shape) in message


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_dense_non_float_input_raises_type_error(device, xp, dtype):
    with pytest.raises(TypeError) as info:
        Dense(3, 4).to(device)(Tensor(xp.ones((2, 3), dtype=dtype)))
    assert "Dense(3 -> 4)" in str(info.value) and dtype in str(info.value)


@pytest.mark.parametrize("x", [np.ones((2, 3), dtype=np.float32), [[1.0, 2.0, 3.0]], 1.0],
                         ids=["ndarray", "list", "float"])
def test_dense_non_tensor_input_raises_type_error(x):
    with pytest.raises(TypeError, match=r"Dense\(3 -> 4\).*expected a Tensor"):
        Dense(3, 4)(x)


# --- Dropout -------------------------------------------------------------------------------------

def test_dropout_eval_is_identity(device, xp):
    layer = Dropout(0.5).eval()
    x = Tensor(xp.ones((10, 10), dtype="float32"))
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
def test_dropout_train_zeroes_p_and_scales(device, xp, p):
    x = Tensor(xp.ones((200, 500), dtype="float32"))
    y = Dropout(p)(x).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01              # 100,000 draws: sd of the fraction < 0.0015
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02           # inverted dropout keeps E[y] = x


def test_dropout_p_zero_is_identity_in_training(device, xp):
    x = Tensor(xp.ones((4, 4), dtype="float32"))
    np.testing.assert_array_equal(Dropout(0.0)(x).numpy(), x.numpy())


def test_dropout_masks_differ_between_calls(device, xp):
    layer, x = Dropout(0.5), Tensor(xp.ones((10, 10), dtype="float32"))
    assert not np.array_equal(layer(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_out_of_range_raises(p):
    with pytest.raises(ValueError, match="p must be in"):
        Dropout(p)


# --- modes ---------------------------------------------------------------------------------------

def test_train_and_eval_propagate_to_children():
    inner = Sequential(Dense(2, 2), Dropout(0.5))
    net = Sequential(Dense(2, 2), Dropout(0.5), inner)
    modules = list(net.modules())
    assert len(modules) == 6 and all(m.training for m in modules)
    assert net.eval() is net
    assert not any(m.training for m in modules)
    assert net.train() is net
    assert all(m.training for m in modules)
    inner.eval()                                # a child alone: the parent keeps its mode
    assert net.training and not any(m.training for m in inner.modules())


def test_eval_mode_makes_a_network_deterministic(device, xp):
    net = Sequential(Dense(4, 4), Dropout(0.5), Dense(4, 2)).to(device).eval()
    x = Tensor(xp.ones((3, 4), dtype="float32"))
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())


def test_module_without_forward_raises():
    with pytest.raises(NotImplementedError, match="Bare"):
        type("Bare", (Module,), {})()(1)
