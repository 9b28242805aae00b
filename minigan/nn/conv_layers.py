"""Conv2d and ConvTranspose2d layers (NCHW, PyTorch's weight layouts).

Each layer holds a weight and a bias and calls one function, conv2d or conv_transpose2d; the
math, and why the transposed convolution is the convolution's input gradient used as a layer,
is in minigan/functions/convolution.py. The argument and input checks are at the bottom.
"""
from ..arguments import check_int, check_sizes
from ..functions.convolution import (conv2d, conv_output_size, conv_transpose2d,
                                     conv_transpose_output_size)
from .init import initial_weights
from .layers import check_input
from .module import Module, Parameter


class Conv2d(Module):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = floor((H + 2 padding - kernel_size) / stride) + 1. Weight (C_out, C_in, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 init="default", rng=None):
        check_arguments("Conv2d", in_channels, out_channels, kernel_size, stride, padding)
        k = kernel_size
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = k, stride, padding
        fan_in, fan_out = in_channels * k * k, out_channels * k * k
        W, b = initial_weights((out_channels, in_channels, k, k), out_channels, fan_in, fan_out,
                               init, rng)
        self.weight = Parameter(W)
        self.bias = Parameter(b) if bias else None

    def forward(self, x):
        return self.forward_with(x, self.weight)

    def forward_with(self, x, weight):
        """The layer with another weight of the same shape (SpectralNorm passes W / sigma)."""
        check_conv2d_input(self, x)
        return conv2d(x, weight, self.bias, self.stride, self.padding)

    def __str__(self):
        return (f"Conv2d({self.in_channels} -> {self.out_channels}, kernel {self.kernel_size}, "
                f"stride {self.stride}, padding {self.padding})")

    def extra_repr(self):
        return str(self)[len("Conv2d("):-1]


class ConvTranspose2d(Module):
    """Transposed convolution, Conv2d's adjoint (the generator's upsampling layer):
    (N, C_in, H, W) -> (N, C_out, (H - 1) stride - 2 padding + kernel_size + output_padding, ...).
    Weight (C_in, C_out, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, init="default", rng=None):
        check_arguments("ConvTranspose2d", in_channels, out_channels, kernel_size, stride, padding)
        check_output_padding(output_padding, stride)
        k = kernel_size
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = k, stride, padding
        self.output_padding = output_padding
        # PyTorch computes the default bound from weight.shape[1] * k * k (= C_out k^2) here.
        fan_in, fan_out = out_channels * k * k, in_channels * k * k
        W, b = initial_weights((in_channels, out_channels, k, k), out_channels, fan_in, fan_out,
                               init, rng)
        self.weight = Parameter(W)
        self.bias = Parameter(b) if bias else None

    def forward(self, x):
        check_conv_transpose2d_input(self, x)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding)

    def __str__(self):
        return (f"ConvTranspose2d({self.in_channels} -> {self.out_channels}, kernel "
                f"{self.kernel_size}, stride {self.stride}, padding {self.padding}, "
                f"output_padding {self.output_padding})")

    def extra_repr(self):
        return str(self)[len("ConvTranspose2d("):-1]


# --- checks --------------------------------------------------------------------------------------

def check_arguments(layer, in_channels, out_channels, kernel_size, stride, padding):
    """Channels, kernel_size and stride integers >= 1, padding >= 0: one int each, for both axes."""
    check_sizes(layer, in_channels=in_channels, out_channels=out_channels)
    for name, value, minimum in (("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                 ("padding", padding, 0)):
        if isinstance(value, (tuple, list)):
            raise TypeError(f"{layer}: {name} must be an int (square kernels, the same stride "
                            f"and padding on both axes), got {value!r}")
        check_int(layer, name, value, minimum)


def check_output_padding(output_padding, stride):
    """An int in [0, stride): stride consecutive input sizes give a Conv2d the same output size,
    and output_padding picks one of them for the way back."""
    check_int("ConvTranspose2d", "output_padding", output_padding, 0)
    if output_padding >= stride:
        raise ValueError(f"ConvTranspose2d: output_padding must be in [0, stride), got "
                         f"{output_padding} with stride {stride}")


def check_conv2d_input(layer, x):
    """x (N, C_in, H, W) on the layer's device, big enough for one window."""
    check_input(layer, x, layer.in_channels, ndim=4)
    h, w = x.shape[2:]
    if conv_output_size(min(h, w), layer.kernel_size, layer.stride, layer.padding) < 1:
        raise ValueError(f"{layer}: input {h}x{w} is smaller than the kernel "
                         f"({layer.kernel_size}, padding {layer.padding})")


def check_conv_transpose2d_input(layer, x):
    """x (N, C_in, H, W) on the layer's device, with an output of positive size."""
    check_input(layer, x, layer.in_channels, ndim=4)
    out = [conv_transpose_output_size(n, layer.kernel_size, layer.stride, layer.padding,
                                      layer.output_padding) for n in x.shape[2:]]
    if min(out) < 1:
        raise ValueError(f"{layer}: output size {tuple(out)} for input {x.shape[2:]} is not "
                         f"positive")
