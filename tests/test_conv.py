"""Conv2d and ConvTranspose2d: forward against naive loops, the adjoint identity, gradient
checks over stride/padding/output_padding combinations, and clear errors."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, backend
from minigan.functions.convolution import col2im, conv2d, conv_transpose2d, im2col
from minigan.gradcheck import check_gradients
from minigan.nn.conv_layers import Conv2d, ConvTranspose2d


def naive_conv2d(x, W, b, stride, padding):
    """The definition, one output pixel at a time (slow, for tests only)."""
    n, c, h, w = x.shape
    o, _, kh, kw = W.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h, out_w = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = xp_[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3]))
    return y + (0 if b is None else b.reshape(1, -1, 1, 1))


def naive_conv_transpose2d(x, W, b, stride, padding, output_padding):
    """The definition: every input pixel scatters its value times W onto a patch of the output."""
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = W.shape
    full_h, full_w = (h - 1) * stride + kh + output_padding, (w - 1) * stride + kw + output_padding
    y = np.zeros((n, c_out, full_h, full_w))
    for i in range(h):
        for j in range(w):
            contribution = np.tensordot(x[:, :, i, j], W, axes=([1], [0]))   # (n, c_out, kh, kw)
            y[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += contribution
    y = y[:, :, padding:full_h - padding, padding:full_w - padding]
    return y + (0 if b is None else b.reshape(1, -1, 1, 1))


def rand(device, shape, seed):
    return minigan.Random(seed, device).normal(shape, dtype="float64")


# (C_in, C_out, kernel, stride, padding, H, W): odd, even, non-square, strided, DCGAN's
CONV_CASES = [
    (2, 3, 3, 1, 0, 5, 5),
    (2, 3, 3, 1, 1, 5, 6),
    (1, 2, 4, 2, 1, 8, 8),          # DCGAN's D: halves the size
    (3, 2, 3, 2, 1, 7, 5),
    (2, 2, 5, 3, 2, 9, 7),
    (1, 1, 1, 1, 0, 3, 4),
]
# (C_in, C_out, kernel, stride, padding, output_padding, H, W)
CONVT_CASES = [
    (2, 3, 3, 1, 1, 0, 4, 4),
    (3, 2, 4, 2, 1, 0, 3, 5),       # DCGAN's G: doubles the size
    (2, 2, 5, 2, 2, 1, 3, 3),       # the AC-GAN's G: 7 -> 14 with output_padding 1
    (1, 2, 3, 3, 0, 2, 2, 3),
    (2, 1, 2, 1, 0, 0, 3, 2),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_forward_matches_the_definition(device, case, bias):
    c_in, c_out, k, s, p, h, w = case
    x, W = rand(device, (2, c_in, h, w), 0), rand(device, (c_out, c_in, k, k), 1)
    b = rand(device, (c_out,), 2) if bias else None
    y = conv2d(Tensor(x), Tensor(W), None if b is None else Tensor(b), s, p)
    host = backend.to_numpy
    expected = naive_conv2d(host(x), host(W), None if b is None else host(b), s, p)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose2d_forward_matches_the_definition(device, case):
    c_in, c_out, k, s, p, op, h, w = case
    x, W, b = (rand(device, (2, c_in, h, w), 0), rand(device, (c_in, c_out, k, k), 1),
               rand(device, (c_out,), 2))
    y = conv_transpose2d(Tensor(x), Tensor(W), Tensor(b), s, p, op)
    host = backend.to_numpy
    expected = naive_conv_transpose2d(host(x), host(W), host(b), s, p, op)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose_is_the_adjoint_of_conv(device, case):
    """<conv(x), y> = <x, convT(y)> with the same weight, stride and padding."""
    c_in, c_out, k, s, p, op, h, w = case
    # ConvTranspose2d maps (c_in, h, w) to a larger image; Conv2d with weight (c_in, c_out, k, k)
    # read as (O=c_in, C=c_out) maps that image back to (c_in, h, w).
    W = Tensor(rand(device, (c_in, c_out, k, k), 0))
    small = Tensor(rand(device, (2, c_in, h, w), 1))
    big_shape = conv_transpose2d(small, W, None, s, p, op).shape
    big = Tensor(rand(device, big_shape, 2))
    lhs = float((conv2d(big, W, None, s, p).data * small.data).sum())
    rhs = float((big.data * conv_transpose2d(small, W, None, s, p, op).data).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_im2col_and_col2im_are_adjoint(xp):
    canvas = xp.asarray(np.random.default_rng(0).standard_normal((2, 3, 7, 6)))
    cols_shape = (2, 3, 3, 3, 3, 2)                 # kernel 3x3, stride 2: 3x2 positions
    cols = xp.asarray(np.random.default_rng(1).standard_normal(cols_shape))
    lhs = float((im2col(canvas, 3, 3, 2, 3, 2) * cols).sum())
    rhs = float((canvas * col2im(cols, (7, 6), 2)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradients(device, case, bias):
    c_in, c_out, k, s, p, h, w = case
    layer = Conv2d(c_in, c_out, k, s, p, bias=bias).astype("float64").to(device)
    x = Tensor(rand(device, (2, c_in, h, w), 3), requires_grad=True)
    check_gradients(layer, [x], params=layer.parameters())


@pytest.mark.parametrize("case", CONVT_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_gradients(device, case, bias):
    c_in, c_out, k, s, p, op, h, w = case
    layer = ConvTranspose2d(c_in, c_out, k, s, p, op, bias=bias).astype("float64").to(device)
    x = Tensor(rand(device, (2, c_in, h, w), 3), requires_grad=True)
    check_gradients(layer, [x], params=layer.parameters())


def test_output_sizes_of_the_gan_layers(device):
    x = Tensor(minigan.Random(0, device).normal((2, 1, 28, 28)))
    assert Conv2d(1, 4, 4, 2, 1).to(device)(x).shape == (2, 4, 14, 14)       # DCGAN's D
    z = Tensor(minigan.Random(0, device).normal((2, 6, 7, 7)))
    assert ConvTranspose2d(6, 3, 4, 2, 1).to(device)(z).shape == (2, 3, 14, 14)   # DCGAN's G
    assert ConvTranspose2d(6, 3, 5, 2, 2, 1).to(device)(z).shape == (2, 3, 14, 14)  # AC-GAN's G
    assert Conv2d(1, 2, 3, 2, 1).to(device)(x).shape == (2, 2, 14, 14)        # AC-GAN's D


def test_float32_stays_float32(device):
    x = Tensor(minigan.Random(0, device).normal((2, 3, 8, 8)), requires_grad=True)
    layer = Conv2d(3, 4, 3, 1, 1).to(device)
    y = ConvTranspose2d(4, 2, 4, 2, 1).to(device)(layer(x))
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


def test_conv_errors_name_the_layer(device):
    layer = Conv2d(3, 8, 4, 2, 1).to(device)
    with pytest.raises(ValueError, match=r"Conv2d\(3 -> 8, kernel 4, stride 2, padding 1\): "
                                         r"expected input of shape \(N, 3, H, W\), got \(2, 1, 8, 8\)"):
        layer(Tensor(minigan.Random(0, device).normal((2, 1, 8, 8))))
    with pytest.raises(ValueError, match="expected input of shape"):
        layer(Tensor(minigan.Random(0, device).normal((2, 3, 8))))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        Conv2d(1, 1, 5).to(device)(Tensor(minigan.Random(0, device).normal((1, 1, 3, 3))))
    with pytest.raises(TypeError, match="floating point"):
        layer(minigan.tensor(np.zeros((1, 3, 8, 8), dtype=np.int64), device=device))
    with pytest.raises(ValueError, match="output size \\(3, -1\\) for input \\(5, 1\\) is not positive"):
        ConvTranspose2d(1, 1, 1, 1, 1).to(device)(Tensor(minigan.Random(0, device).normal((1, 1, 5, 1))))
    with pytest.raises(ValueError, match="output_padding must be in \\[0, stride\\)"):
        ConvTranspose2d(2, 2, 4, stride=2, output_padding=2)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        Conv2d(1, 1, (3, 3))


@pytest.mark.parametrize("layer_type", [Conv2d, ConvTranspose2d])
def test_initialisations(layer_type):
    minigan.manual_seed(0)
    dcgan = layer_type(64, 32, 4, init="dcgan")
    assert dcgan.weight.numpy().std() == pytest.approx(0.02, rel=0.05)
    assert not dcgan.bias.numpy().any()
    default = layer_type(8, 4, 3)
    fan_in = (8 if layer_type is Conv2d else 4) * 9     # PyTorch's quirk for transposed convs
    assert np.abs(default.weight.numpy()).max() <= 1 / np.sqrt(fan_in)
