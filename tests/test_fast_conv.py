"""The transposed convolution by stride phases (minigan/fast/subpixel.py) against the plain rule
(im2col's product and col2im, functions/convolution.py), which is the oracle.

The bound. Both compute every output as the same sum of the same products W x, summed in
another order (the plain rule over C_in in its product, then over the kernel taps in col2im's
additions; the phases over taps and C_in in one product), so in float32 they round differently.
Each float32 sum of n terms lies within about n * 2**-24 * sum |terms| of the exact one (less in
practice: the errors partly cancel), so the two differ by a few float32 roundings of that scale:
here every output must agree with the plain rule's to 1e-5 * (sum of |W| |x| over its terms),
the scale computed as the plain rule of |x| and |W| in float64 (measured on these shapes: at
most 3.4e-7 of it, about six roundings of 2**-24). In float64 they agree to 1e-12 of it, and a
wrong phase, a wrong offset or a lost row is off by the whole scale (the last tests
break the code on purpose and see the comparison fail).
"""
import itertools

import numpy as np
import pytest

import minigan
from minigan import Tensor, backend
from minigan import functions as F
from minigan.fast import subpixel
from minigan.functions.convolution import (ConvTranspose2dFunction, conv2d, conv_transpose2d,
                                           conv_transpose_output_size)
from minigan.gradcheck import check_gradients, check_second_order

BOUND = {np.float32: 1e-5, np.float64: 1e-12}
PLAIN_FORWARD = ConvTranspose2dFunction.forward.__wrapped__      # the rule under the decorator


def plain(x, W, stride, padding, output_padding):
    """The plain rule's conv_transpose2d(x, W), in NumPy."""
    return PLAIN_FORWARD(ConvTranspose2dFunction(stride, padding, output_padding), x, W, None)


def out_size(x, W, stride, padding, output_padding):
    op_h, op_w = (output_padding if isinstance(output_padding, tuple)
                  else (output_padding, output_padding))
    return (conv_transpose_output_size(x.shape[2], W.shape[2], stride, padding, op_h),
            conv_transpose_output_size(x.shape[3], W.shape[3], stride, padding, op_w))


@pytest.fixture
def nan_for_empty(monkeypatch):
    """np.empty fills with NaN while a test runs: an output pixel no phase writes shows as NaN
    (uninitialised memory might hold the right numbers from an earlier call)."""
    monkeypatch.setattr(np, "empty", lambda shape, dtype=float, **kw: np.full(shape, np.nan,
                                                                                 dtype))


def assert_agrees_with_plain(x, W, stride, padding, output_padding, xp=np):
    """conv_transpose2d_by_phases on xp against the plain rule on the host, within BOUND."""
    host = backend.to_numpy
    dtype = x.dtype.type
    expected = plain(x, W, stride, padding, output_padding)
    out_hw = out_size(x, W, stride, padding, output_padding)
    got = host(subpixel.conv_transpose2d_by_phases(xp.asarray(x), xp.asarray(W), stride, padding,
                                                   out_hw))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    scale = plain(np.abs(x).astype(np.float64), np.abs(W).astype(np.float64), stride, padding,
                  output_padding)
    error = np.abs(got.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(error - BOUND[dtype] * scale), error.shape)
    assert (error <= BOUND[dtype] * scale).all(), (
        f"at {worst}: by phases {got[worst]!r}, plain {expected[worst]!r}, scale {scale[worst]!r}")


def random(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# Every kernel 3, 4, 5 with stride 1, 2, 3, padding 0, 1, 2, output_padding 0 .. s - 1, on an odd
# and an even size (non-square), where the output is not empty.
SMALL = [(k, s, p, op) for k, s, p in itertools.product((3, 4, 5), (1, 2, 3), (0, 1, 2))
         for op in range(s)]


@pytest.mark.parametrize("k, s, p, op", SMALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_phases_agree_with_the_plain_rule_on_small_shapes(nan_for_empty, k, s, p, op, dtype):
    for n, c_in, c_out, (h, w) in [(1, 1, 1, (1, 2)), (2, 3, 2, (5, 4)), (3, 2, 5, (4, 7))]:
        if min(conv_transpose_output_size(size, k, s, p, op) for size in (h, w)) < 1:
            continue
        x = random((n, c_in, h, w), seed=k + 10 * s, dtype=dtype)
        W = random((c_in, c_out, k, k), seed=p + 10 * op + 1, dtype=dtype)
        assert_agrees_with_plain(x, W, s, p, op)


# Larger: batch 1 and 64, channels 1..128, the shapes of W3 (28x28 DCGAN) and of the AC-GAN.
LARGE = [
    (64, 128, 64, 7, 7, 4, 2, 1, 0),       # W3's G: ConvTranspose2d(128 -> 64); D's conv 64 -> 128
    (64, 64, 1, 14, 14, 4, 2, 1, 0),       # W3's G: ConvTranspose2d(64 -> 1); D's conv 1 -> 64
    (64, 64, 32, 7, 7, 5, 2, 2, 1),        # the AC-GAN's 7 -> 14 with output_padding 1
    (1, 128, 128, 4, 5, 4, 2, 1, 1),
    (64, 1, 64, 6, 5, 3, 3, 0, 2),
    (2, 96, 48, 9, 8, 5, 3, 2, 1),
    (5, 16, 16, 14, 13, 3, 1, 1, 0),
    (3, 32, 8, 11, 10, 5, 1, 2, 0),
]


@pytest.mark.parametrize("n, c_in, c_out, h, w, k, s, p, op", LARGE)
def test_phases_agree_with_the_plain_rule_on_large_shapes(nan_for_empty, n, c_in, c_out, h, w,
                                                          k, s, p, op):
    x, W = random((n, c_in, h, w), seed=1), random((c_in, c_out, k, k), seed=2) * 0.05
    assert_agrees_with_plain(x, W, s, p, op)


@pytest.mark.parametrize("chunk_bytes", [1, 3000, 1 << 20])
def test_batch_chunks_change_nothing_but_rounding(nan_for_empty, monkeypatch, chunk_bytes):
    """One sample per chunk, chunks with a remainder (7 samples, 2 per chunk), one chunk."""
    monkeypatch.setattr(subpixel, "CHUNK_BYTES", chunk_bytes)
    x, W = random((7, 5, 6, 5), seed=3), random((5, 4, 4, 3), seed=4)
    assert_agrees_with_plain(x, W, 2, 1, (1, 0))


def test_asymmetric_output_padding_and_a_kernel_smaller_than_the_stride(nan_for_empty):
    x, W = random((2, 3, 4, 5), seed=5), random((3, 4, 2, 3), seed=6)
    assert_agrees_with_plain(x, W, 3, 0, (2, 1))        # kernel 2 < stride 3: a phase of zeros
    assert_agrees_with_plain(x, W, 3, 1, (0, 2))


# --- the seam: ConvTranspose2dFunction.forward takes the phases where worth_it -------------------

@pytest.fixture
def phase_calls(monkeypatch):
    """How many times the phases ran, through the decorator on ConvTranspose2dFunction.forward."""
    calls = []
    by_phases = subpixel.conv_transpose2d_by_phases

    def counting(*args):
        calls.append(args[0].shape)
        return by_phases(*args)

    monkeypatch.setattr(subpixel, "conv_transpose2d_by_phases", counting)
    return calls


def test_the_decorated_forward_takes_the_phases_where_worth_it(phase_calls):
    x = random((4, 8, 5, 5), seed=7)
    W_wide, W_narrow = random((8, 4, 4, 4), seed=8), random((8, 3, 4, 4), seed=9)
    b = random((4,), seed=10)
    f = ConvTranspose2dFunction(2, 1, 1)
    y = f.forward(x, W_wide, b)                          # C_out 4 >= 8 / 2: the phases
    assert len(phase_calls) == 1 and f.saved[0] is x and f.saved[1] is W_wide
    expected = plain(x, W_wide, 2, 1, 1) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    ConvTranspose2dFunction(2, 1, 1).forward(x, W_narrow, None)   # C_out 3 < 8 / 2: plain
    assert len(phase_calls) == 1
    assert subpixel.worth_it(x, W_wide) and not subpixel.worth_it(x, W_narrow)


def test_w3s_transposed_convolutions_and_conv_input_gradients_go_by_phases(phase_calls):
    """W3: G's ConvTranspose2d(128 -> 64) by phases, (64 -> 1) by col2im; D's Conv2d(64 -> 128)
    input gradient by phases, Conv2d(1 -> 64)'s by col2im."""
    from minigan.nn.conv_layers import Conv2d, ConvTranspose2d
    minigan.manual_seed(0)
    up_wide, up_narrow = ConvTranspose2d(128, 64, 4, 2, 1), ConvTranspose2d(64, 1, 4, 2, 1)
    up_narrow(up_wide(Tensor(random((2, 128, 7, 7), 11))))
    assert phase_calls == [(2, 128, 7, 7)]
    down = Conv2d(64, 128, 4, 2, 1)
    x = Tensor(random((2, 64, 14, 14), 12), requires_grad=True)
    down(x).sum().backward()
    assert phase_calls[1:] == [(2, 128, 7, 7)] and x.grad.shape == (2, 64, 14, 14)
    x1 = Tensor(random((2, 1, 28, 28), 13), requires_grad=True)
    Conv2d(1, 64, 4, 2, 1)(x1).sum().backward()
    assert len(phase_calls) == 2


# --- gradients through the phases, float64 -------------------------------------------------------

def float64_tensor(device, shape, seed, requires_grad=True):
    return Tensor(minigan.Random(seed, device).normal(shape, dtype="float64"),
                  requires_grad=requires_grad)


GRAD_CASES = [(3, 4, 4, 2, 1, 0, 3, 4), (2, 2, 5, 2, 2, 1, 3, 3), (3, 2, 3, 3, 0, 2, 2, 3),
              (2, 3, 3, 1, 1, 0, 4, 3)]        # (C_in, C_out, k, s, p, op, H, W): C_out >= C_in/2


@pytest.mark.parametrize("case", GRAD_CASES)
def test_gradients_of_conv_transpose2d_through_the_phases(phase_calls, case):
    c_in, c_out, k, s, p, op, h, w = case
    x = float64_tensor("cpu", (2, c_in, h, w), 0)
    W, b = float64_tensor("cpu", (c_in, c_out, k, k), 1), float64_tensor("cpu", (c_out,), 2)
    check_gradients(lambda x, W, b: conv_transpose2d(x, W, b, s, p, op), [x, W, b])
    assert phase_calls                                  # the forward went by phases


@pytest.mark.parametrize("case", [(2, 3, 4, 2, 1, 8, 8), (3, 4, 3, 2, 1, 7, 5),
                                  (2, 3, 5, 3, 2, 9, 7), (2, 2, 3, 1, 1, 5, 6)])
def test_the_input_gradient_of_conv2d_through_the_phases(phase_calls, case):
    """Conv2d(C -> O)'s dL/dx is the transposed convolution with W (O, C, kh, kw): C_in O,
    C_out C; by phases when C >= O / 2."""
    c, o, k, s, p, h, w = case
    x, W = float64_tensor("cpu", (2, c, h, w), 3), float64_tensor("cpu", (o, c, k, k), 4)
    check_gradients(lambda x, W: conv2d(x, W, None, s, p), [x, W])
    assert phase_calls


def test_second_order_through_the_phases(phase_calls):
    """create_graph: the recorded backward of both layers (their input gradients by phases)."""
    x, W, b = (float64_tensor("cpu", (2, 3, 3, 3), 5), float64_tensor("cpu", (3, 2, 4, 4), 6),
               float64_tensor("cpu", (2,), 7))
    check_second_order(lambda x, W, b: F.tanh(conv_transpose2d(x, W, b, 2, 1, 1)), [x, W, b])
    calls = len(phase_calls)
    x2, W2 = float64_tensor("cpu", (2, 2, 5, 5), 8), float64_tensor("cpu", (3, 2, 3, 3), 9)
    check_second_order(lambda x, W: F.tanh(conv2d(x, W, None, 2, 1)), [x2, W2])
    assert calls and len(phase_calls) > calls


# --- CuPy: the same function on the GPU (not the default there: not yet timed) -------------------

@pytest.mark.parametrize("case", [(2, 3, 2, 5, 4, 4, 2, 1, 1), (64, 128, 64, 7, 7, 4, 2, 1, 0),
                                  (3, 4, 4, 6, 5, 5, 3, 2, 2)])
def test_phases_on_the_device_agree_with_the_plain_rule(xp, case):
    n, c_in, c_out, h, w, k, s, p, op = case
    x, W = random((n, c_in, h, w), seed=14), random((c_in, c_out, k, k), seed=15) * 0.1
    assert_agrees_with_plain(x, W, s, p, op, xp=xp)
    assert not backend.is_cupy(xp) or not subpixel.worth_it(xp.asarray(x), xp.asarray(W))


# --- the comparison can fail: the code broken on purpose ----------------------------------------

def broken_phases(monkeypatch, how):
    real = subpixel.phases_of_one_axis

    def broken(size, kernel, stride, padding, out):
        phases, above, below = real(size, kernel, stride, padding, out)
        ph, r, d, taps, rows = phases[-1]
        if how == "offset":                       # the last phase's windows one row late
            phases[-1] = (ph, r, d + 1, taps, rows)
            below += 1
        elif how == "lost row":                   # the last phase one row short: its
            phases[-1] = (ph, r, d, taps, rows - 1)   # product no longer fits y[ph::s]
        elif how == "swapped taps":               # the first and last phases' sub-kernels
            first = phases[0]                     # swapped (r: (ph - p) mod s, say)
            phases[0] = first[:1] + (r,) + first[2:3] + (taps,) + first[4:]
            phases[-1] = (ph, first[1], d, first[3], rows)
        return phases, above, below

    monkeypatch.setattr(subpixel, "phases_of_one_axis", broken)


@pytest.mark.parametrize("how", ["offset", "lost row", "swapped taps"])
def test_a_broken_phase_fails_the_comparison(nan_for_empty, monkeypatch, how):
    x, W = random((2, 3, 5, 4), seed=16), random((3, 2, 4, 4), seed=17)
    assert_agrees_with_plain(x, W, 2, 1, 1)                 # unbroken: agrees
    broken_phases(monkeypatch, how)
    with pytest.raises(ValueError if how == "lost row" else AssertionError):
        assert_agrees_with_plain(x, W, 2, 1, 1)


def test_a_dropped_output_padding_row_fails_the_comparison(nan_for_empty, monkeypatch):
    """The phases asked for the output without output_padding's row: the last row is never
    written (NaN here), and the comparison says so."""
    x, W = random((2, 3, 5, 4), seed=18), random((3, 2, 4, 4), seed=19)
    real = subpixel.conv_transpose2d_by_phases

    def dropping(x, W, stride, padding, out_hw):
        y = real(x, W, stride, padding, (out_hw[0] - 1, out_hw[1]))
        return np.concatenate([y, np.full_like(y[:, :, :1], np.nan)], axis=2)

    monkeypatch.setattr(subpixel, "conv_transpose2d_by_phases", dropping)
    with pytest.raises(AssertionError):
        assert_agrees_with_plain(x, W, 2, 1, (1, 0))
