"""Batch normalisation: gradients (training and eval), values against NumPy, PyTorch's running
statistics, modes, buffers in the state dict, initialisation and input errors."""
import numpy as np
import pytest

import minigan
from minigan import Random, Tensor, no_grad
from minigan import functions as F
from minigan.gradcheck import check_gradients
from minigan.nn import BatchNorm1d, BatchNorm2d, Dense, LeakyReLU, Sequential
from minigan.functions.batch_norm import BatchNorm, batch_norm_eval, batch_norm_train

SHAPES = [(5, 3), (4, 3, 2, 5), (2, 3, 4)]          # (N, C), (N, C, H, W), (N, C, L)


def host(array):
    return minigan.backend.to_numpy(array)


def f64(device, shape, seed, requires_grad=True, std=1.0, mean=0.0):
    x = Random(seed, device).normal(shape, std=std, mean=mean, dtype="float64")
    return Tensor(x, requires_grad=requires_grad)


def reference(x, gamma, beta, mean=None, var=None, eps=1e-5):
    """NumPy batch norm on host float64: batch statistics (biased variance) unless given."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)          # np.var: ddof=0, biased
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)


def inputs(device, shape):
    c = shape[1]
    return (f64(device, shape, 1, std=2.0, mean=0.5), f64(device, (c,), 2, mean=1.0),
            f64(device, (c,), 3))


# --- the training Function -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_train_gradients_wrt_x_gamma_beta(device, shape):
    x, gamma, beta = inputs(device, shape)
    check_gradients(lambda x, g, b: batch_norm_train(x, g, b)[0], [x, gamma, beta])


@pytest.mark.parametrize("which", [0, 1, 2])
def test_train_gradients_for_one_input_at_a_time(device, which):
    # needs_grad masks: the backward skips work for the others but must stay right for this one.
    tensors = inputs(device, (4, 3, 2, 5))
    for i, t in enumerate(tensors):
        t.requires_grad = i == which
    check_gradients(lambda x, g, b: batch_norm_train(x, g, b)[0], list(tensors))
    for i, t in enumerate(tensors):
        assert (t.grad is not None) == (i == which)


@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_closed_form_backward_matches_autograd_of_the_pieces(device, shape):
    # A second, independent route to the same gradients: the formula written with elementary
    # ops, differentiated by the engine op by op.
    x1, g1, b1 = inputs(device, shape)
    x2, g2, b2 = inputs(device, shape)
    axes = (0,) + tuple(range(2, len(shape)))
    cshape = (1, -1) + (1,) * (len(shape) - 2)
    y1 = batch_norm_train(x1, g1, b1)[0]
    mean = F.mean(x2, axes, keepdims=True)
    var = F.mean((x2 - mean) ** 2, axes, keepdims=True)
    y2 = (x2 - mean) / (var + 1e-5) ** 0.5 * g2.reshape(cshape) + b2.reshape(cshape)
    gy = Random(9, device).normal(shape, dtype="float64")
    y1.backward(gy)
    y2.backward(gy)
    assert type(y1.creator) is BatchNorm                      # one node, its own backward
    for a, b in [(x1, x2), (g1, g2), (b1, b2)]:
        np.testing.assert_allclose(host(a.grad), host(b.grad), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_train_forward_matches_numpy(device, shape):
    x, gamma, beta = inputs(device, shape)
    y, mean, var = batch_norm_train(x, gamma, beta)
    xh, gh, bh = host(x.data), host(gamma.data), host(beta.data)
    np.testing.assert_allclose(host(y.data), reference(xh, gh, bh), rtol=1e-12, atol=1e-12)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(host(mean), xh.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(host(var), xh.var(axis=axes), rtol=1e-12)   # biased
    # The point of it: every channel of y has mean beta and standard deviation ~gamma.
    yc = np.moveaxis(host(y.data), 1, 0).reshape(shape[1], -1)
    np.testing.assert_allclose(yc.mean(axis=1), bh, atol=1e-12)
    np.testing.assert_allclose(yc.std(axis=1), np.abs(gh), rtol=1e-4)


def test_train_float32_is_accurate_when_the_mean_is_large(device):
    # x ~ 1000 + N(0, 1): E[x^2] - E[x]^2 in float32 would lose var to cancellation
    # (1e6 * 6e-8 ~ 0.06 absolute error on a variance of 1); two passes do not.
    x64 = Random(4, device).normal((64, 4, 3, 3), mean=1000.0, dtype="float64")
    xp = minigan.backend.xp_of_device(device)
    gamma, beta = xp.ones(4, dtype="float32"), xp.zeros(4, dtype="float32")
    y, mean, var = batch_norm_train(Tensor(x64.astype("float32")), Tensor(gamma), Tensor(beta))
    assert y.dtype == np.float32 and mean.dtype == np.float32 and var.dtype == np.float32
    expected = reference(host(x64), np.ones(4), np.zeros(4))
    np.testing.assert_allclose(host(y.data), expected, atol=2e-3)
    np.testing.assert_allclose(host(var), host(x64).var(axis=(0, 2, 3)), rtol=1e-3)


def test_train_output_ignores_a_per_channel_shift_and_scale(device, xp):
    # Normalisation removes whatever shift and (positive) scale a channel had.
    x, gamma, beta = inputs(device, (6, 3, 2, 2))
    shift = xp.asarray([5.0, -3.0, 100.0]).reshape(1, 3, 1, 1)
    scale = xp.asarray([2.0, 0.5, 10.0]).reshape(1, 3, 1, 1)
    y1 = batch_norm_train(x, gamma, beta, eps=0.0)[0]
    y2 = batch_norm_train(Tensor(x.data * scale + shift), gamma, beta, eps=0.0)[0]
    np.testing.assert_allclose(host(y1.data), host(y2.data), rtol=1e-9, atol=1e-9)


# --- the eval Function ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_eval_gradients_and_values(device, xp, shape):
    x, gamma, beta = inputs(device, shape)
    c = shape[1]
    mean = Random(5, device).normal((c,), dtype="float64")
    var = Random(6, device).uniform((c,), 0.5, 2.0, dtype="float64")
    y = batch_norm_eval(x, gamma, beta, mean, var)
    np.testing.assert_allclose(
        host(y.data), reference(*(host(a) for a in (x.data, gamma.data, beta.data, mean, var))),
        rtol=1e-12, atol=1e-12)
    check_gradients(lambda x, g, b: batch_norm_eval(x, g, b, mean, var), [x, gamma, beta])


# --- the layers: running statistics --------------------------------------------------------------

def test_running_statistics_hand_computed_values(device, xp):
    # One channel, PyTorch's rule: rm <- 0.9 rm + 0.1 mean, rv <- 0.9 rv + 0.1 unbiased var.
    bn = BatchNorm1d(1).to(device)
    bn(Tensor(xp.asarray([[1.0], [3.0]], dtype="float32")))         # mean 2, unbiased var 2
    np.testing.assert_allclose(host(bn.running_mean), [0.2], rtol=1e-6)           # 0.9*0 + 0.2
    np.testing.assert_allclose(host(bn.running_var), [1.1], rtol=1e-6)            # 0.9*1 + 0.2
    bn(Tensor(xp.asarray([[0.0], [0.0], [6.0]], dtype="float32")))  # mean 2, var 24/2 = 12
    np.testing.assert_allclose(host(bn.running_mean), [0.38], rtol=1e-6)          # 0.18 + 0.2
    np.testing.assert_allclose(host(bn.running_var), [2.19], rtol=1e-6)           # 0.99 + 1.2


@pytest.mark.parametrize("layer, shapes", [
    (lambda: BatchNorm1d(3), [(5, 3), (8, 3), (2, 3)]),
    (lambda: BatchNorm2d(3), [(4, 3, 2, 5), (1, 3, 3, 3), (2, 3, 1, 2)]),
    (lambda: BatchNorm2d(3, momentum=0.3), [(4, 3, 2, 5), (3, 3, 2, 2)]),
], ids=["1d", "2d", "2d-momentum0.3"])
def test_running_statistics_follow_pytorch_formulas(device, layer, shapes):
    bn = layer().to(device)
    m = bn.momentum
    rm, rv = np.zeros(3), np.ones(3)
    for seed, shape in enumerate(shapes):
        x = Random(seed, device).normal(shape, std=2.0, mean=seed - 1.0)
        bn(Tensor(x))
        xh = host(x).astype(np.float64)
        axes = (0,) + tuple(range(2, len(shape)))
        rm = (1 - m) * rm + m * xh.mean(axis=axes)
        rv = (1 - m) * rv + m * xh.var(axis=axes, ddof=1)      # unbiased, as PyTorch
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert minigan.backend.device_of(bn.running_mean) == device
    np.testing.assert_allclose(host(bn.running_mean), rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bn.running_var), rv, rtol=1e-5)


def test_running_statistics_are_outside_the_graph(device, xp):
    bn = BatchNorm1d(3).to(device)
    x = f64(device, (5, 3), 1, requires_grad=True)
    y = bn.astype("float64")(x)
    assert type(y.creator) is BatchNorm
    assert [id(t) for t in y.creator.inputs] == [id(x), id(bn.weight), id(bn.bias)]
    assert not isinstance(bn.running_mean, Tensor) and not isinstance(bn.running_var, Tensor)
    assert bn.parameters() == [bn.weight, bn.bias]             # buffers are not trained
    before = host(bn.running_mean).copy()
    y.backward(xp.ones_like(y.data))                           # backward does not touch them
    np.testing.assert_array_equal(host(bn.running_mean), before)


def test_running_statistics_update_under_no_grad_but_not_when_frozen(device, xp):
    # no_grad() only stops the graph; frozen() stops every change to the module (D in the G step).
    bn = BatchNorm1d(2).to(device)
    x = Tensor(xp.asarray([[1.0, 4.0], [3.0, 8.0]], dtype="float32"))
    with no_grad():
        bn(x)
    np.testing.assert_allclose(host(bn.running_mean), [0.2, 0.6], rtol=1e-6)
    with bn.frozen():
        y = bn(x)
    np.testing.assert_allclose(host(bn.running_mean), [0.2, 0.6], rtol=1e-6)
    # ...while still normalising by the batch's own statistics (training mode)
    np.testing.assert_allclose(host(y.data), [[-1.0, -1.0], [1.0, 1.0]], rtol=1e-4)
    bn(x)                                                       # unfrozen again: updates
    np.testing.assert_allclose(host(bn.running_mean), [0.38, 1.14], rtol=1e-6)


def test_eval_mode_uses_running_statistics_and_updates_nothing(device, xp):
    bn = BatchNorm2d(2).to(device)
    bn.running_mean = xp.asarray([1.0, -2.0], dtype="float32")
    bn.running_var = xp.asarray([4.0, 0.25], dtype="float32")
    bn.weight.data = xp.asarray([2.0, 3.0], dtype="float32")
    bn.bias.data = xp.asarray([0.5, -1.0], dtype="float32")
    bn.eval()
    x = Random(0, device).normal((3, 2, 2, 2))
    y = bn(x_t := Tensor(x))
    expected = reference(host(x).astype(np.float64), np.array([2.0, 3.0]), np.array([0.5, -1.0]),
                         np.array([1.0, -2.0]), np.array([4.0, 0.25]))
    np.testing.assert_allclose(host(y.data), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(host(bn.running_mean), [1.0, -2.0])
    np.testing.assert_array_equal(host(bn.running_var), [4.0, 0.25])
    # Each sample alone gives its row of the batch output: no dependence on the batch.
    np.testing.assert_allclose(host(bn(Tensor(x[1:2])).data), host(y.data)[1:2], rtol=1e-6)
    # and differs from training mode, which would use this batch's own statistics.
    assert not np.allclose(host(bn.train()(x_t).data), host(y.data), atol=1e-2)


def test_eval_mode_accepts_a_single_sample(device, xp):
    bn = BatchNorm1d(3).to(device).eval()
    assert bn(Tensor(xp.ones((1, 3), dtype="float32"))).shape == (1, 3)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_gradients_in_a_network(device, mode):
    # In training mode a bias just before BatchNorm is cancelled by the mean subtraction: its
    # gradient is exactly 0, which finite differences only match to ~1e-10 (noise), so the
    # train case leaves it out, as DCGAN does.
    net = Sequential(Dense(4, 3, bias=mode == "eval"), BatchNorm1d(3, init="dcgan"),
                     LeakyReLU(0.2), Dense(3, 2))
    net = net.astype("float64").to(device)
    net.layers[1].bias.data = Random(7, device).normal((3,), dtype="float64")
    net.layers[1].running_var = Random(8, device).uniform((3,), 0.5, 2.0, dtype="float64")
    getattr(net, mode)()
    assert len(net.parameters()) == (6 if mode == "eval" else 5)
    check_gradients(net, [f64(device, (6, 4), 1)], params=net.parameters())


def test_a_bias_before_batchnorm_gets_no_gradient_in_training(device, xp):
    net = Sequential(Dense(4, 3), BatchNorm1d(3)).astype("float64").to(device)
    y = net(f64(device, (6, 4), 1))
    y.backward(Random(2, device).normal(y.shape, dtype="float64"))
    assert np.abs(host(net[0].bias.grad)).max() < 1e-12
    assert np.abs(host(net[0].weight.grad)).max() > 1e-3


def test_batchnorm2d_layer_gradients(device):
    bn = BatchNorm2d(3, init="dcgan").astype("float64").to(device)
    bn.bias.data = Random(7, device).normal((3,), dtype="float64")
    check_gradients(bn, [f64(device, (2, 3, 2, 3), 1)], params=bn.parameters())


# --- state ---------------------------------------------------------------------------------------

def test_state_dict_holds_running_statistics_and_round_trips(device, xp, tmp_path):
    net = Sequential(Dense(4, 3), BatchNorm1d(3)).to(device)
    for seed in range(3):
        net(Tensor(Random(seed, device).normal((8, 4), mean=2.0)))
    state = net.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                           "layers.1.bias", "layers.1.running_mean", "layers.1.running_var"]
    np.testing.assert_array_equal(state["layers.1.running_var"], host(net[1].running_var))
    assert not np.allclose(state["layers.1.running_var"], 1.0)       # really trained
    net.save(tmp_path / "net.npz")
    other = Sequential(Dense(4, 3), BatchNorm1d(3)).to(device).load(tmp_path / "net.npz")
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    x = Tensor(Random(9, device).normal((5, 4)))
    np.testing.assert_array_equal(other.eval()(x).numpy(), net.eval()(x).numpy())


def test_astype_casts_the_running_statistics():
    bn = BatchNorm2d(2).astype("float64")
    assert bn.running_mean.dtype == np.float64 and bn.running_var.dtype == np.float64
    bn(Tensor(np.ones((2, 2, 1, 1))))
    assert bn.running_mean.dtype == np.float64


# --- initialisation ------------------------------------------------------------------------------

def test_default_init():
    bn = BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(4))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var, np.ones(4))
    for a in (bn.weight.data, bn.bias.data, bn.running_mean, bn.running_var):
        assert a.dtype == np.float32 and a.shape == (4,)


def test_dcgan_init_draws_gamma_around_one():
    bn = BatchNorm1d(20000, init="dcgan")
    gamma = bn.weight.numpy().astype(np.float64)
    assert abs(gamma.mean() - 1.0) < 0.001 and abs(gamma.std() - 0.02) < 0.001
    assert not bn.bias.numpy().any()


def test_dcgan_init_is_seeded():
    minigan.manual_seed(5)
    a = BatchNorm1d(6, init="dcgan")
    minigan.manual_seed(5)
    b = BatchNorm1d(6, init="dcgan")
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())


# --- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, shape", [
    (BatchNorm1d, (4, 3, 2, 2)), (BatchNorm1d, (4,)), (BatchNorm1d, (4, 3, 5)),
    (BatchNorm2d, (4, 3)), (BatchNorm2d, (4, 3, 5)), (BatchNorm2d, (1, 4, 3, 2, 2)),
])
def test_wrong_number_of_axes_names_the_layer(xp, layer, shape):
    with pytest.raises(ValueError) as info:
        layer(3)(Tensor(xp.ones(shape, dtype="float32")))
    message = str(info.value)
    assert f"{layer.__name__}(3)" in message and str(shape) in message
    assert ("(N, C)" if layer is BatchNorm1d else "(N, C, H, W)") in message


@pytest.mark.parametrize("layer, shape", [(BatchNorm1d, (4, 5)), (BatchNorm2d, (4, 2, 3, 3))])
def test_wrong_channel_count_names_the_layer(xp, layer, shape):
    with pytest.raises(ValueError, match=rf"{layer.__name__}\(3\).*3 channels.*{shape[1]}"):
        layer(3)(Tensor(xp.ones(shape, dtype="float32")))


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_non_float_input_raises_type_error(xp, dtype):
    with pytest.raises(TypeError, match=rf"BatchNorm2d\(3\).*{dtype}"):
        BatchNorm2d(3)(Tensor(xp.ones((2, 3, 2, 2), dtype=dtype)))


def test_non_tensor_input_raises_type_error():
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3\).*expected a Tensor"):
        BatchNorm1d(3)(np.ones((2, 3), dtype="float32"))


@pytest.mark.parametrize("layer, shape", [(BatchNorm1d, (1, 3)), (BatchNorm2d, (1, 3, 1, 1))])
def test_single_value_per_channel_in_training_raises(device, xp, layer, shape):
    bn = layer(3).to(device)
    with pytest.raises(ValueError, match=rf"{layer.__name__}\(3\).*more than 1 value per channel"):
        bn(Tensor(xp.ones(shape, dtype="float32")))
    np.testing.assert_array_equal(host(bn.running_mean), np.zeros(3))     # nothing updated
    assert bn.eval()(Tensor(xp.ones(shape, dtype="float32"))).shape == shape


def test_one_sample_with_pixels_is_fine_in_training(device, xp):
    # N = 1 but H * W = 4 values per channel: PyTorch allows it, so do we.
    assert BatchNorm2d(3).to(device)(Tensor(xp.ones((1, 3, 2, 2), dtype="float32"))).shape == (1, 3, 2, 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_features=0), "num_features"), (dict(num_features=2.0), "num_features"),
    (dict(num_features=3, momentum=1.5), "momentum"), (dict(num_features=3, eps=0.0), "eps"),
    (dict(num_features=3, init="he"), "he"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm2d(**kwargs)


def test_functional_forms_check_vector_shapes(xp):
    x = Tensor(xp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"batch_norm.*\(3,\)"):
        batch_norm_train(x, Tensor(xp.ones(2)), Tensor(xp.zeros(3)))
    with pytest.raises(ValueError, match=r"batch_norm.*\(3,\)"):
        batch_norm_eval(x, Tensor(xp.ones(3)), Tensor(xp.zeros(3)), xp.zeros(3), xp.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm.*\(N, C, ...\)"):
        batch_norm_train(Tensor(xp.ones(4)), Tensor(xp.ones(4)), Tensor(xp.ones(4)))
