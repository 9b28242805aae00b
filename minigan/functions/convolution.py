"""2-D convolution and transposed convolution, by im2col and one matrix product.

Shapes (PyTorch's layouts): x (N, C, H, W); Conv2d weight (O, C, kh, kw); ConvTranspose2d weight
(C_in, C_out, kh, kw). With stride s and padding p,

    Conv2d:           H_out = floor((H + 2p - kh) / s) + 1
    ConvTranspose2d:  H_out = (H - 1) s - 2p + kh + output_padding

The idea. Each output pixel of a convolution is a dot product between the weight and one kh x kw
patch of the (zero-padded) input. im2col copies every patch into a column of a matrix

    cols[(c, i, j), (n, h, w)] = x_padded[n, c, s*h + i, s*w + j]        (C*kh*kw, N*H_out*W_out)

so that the whole convolution is one matrix product, y = W_2d @ cols, with W_2d (O, C*kh*kw).
Backward is the chain rule on that product: dL/dW_2d = gy_2d @ cols^T and dL/dcols = W_2d^T @ gy_2d;
col2im then sends each column's gradient back to the pixels it was copied from, *adding* where
patches overlap (a pixel used by several patches collects all their gradients).

A transposed convolution is the adjoint of a convolution: its forward is exactly Conv2d's
input-gradient computation (W^T times columns, then col2im) and its backward is Conv2d's forward.
So both layers share im2col and col2im, which are adjoints of each other:
<im2col(x), c> = <x, col2im(c)> for all x, c.

Internally arrays are kept channels-first, (C, N, H, W): then a column index (c, i, j) and a row
index (n, h, w) are contiguous blocks, and the matrices need no further transposition. im2col is
one strided copy; col2im loops over kernel offsets only (each add moves a whole strided slice of
every image and channel at once): no Python loop over samples or pixels. On the GPU col2im adds
a group of offsets at a time (minigan/fast/col2im.py): the same sums in fewer kernel launches.
"""
from .. import backend
from ..backend import get_array_module
from ..fast.col2im import col2im_by_group
from ..tensor import Function


def conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(size, kernel, stride, padding, output_padding):
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def to_padded_channels_first(x, padding):
    """(N, C, H, W) -> zero-padded (C, N, H + 2p, W + 2p), one copy."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    canvas = xp.zeros((c, n, h + 2 * padding, w + 2 * padding), dtype=x.dtype)
    canvas[:, :, padding:padding + h, padding:padding + w] = x.transpose(1, 0, 2, 3)
    return canvas


def im2col(canvas, kh, kw, stride, out_h, out_w):
    """Patches of a padded channels-first canvas (C, N, Hp, Wp) -> cols (C, kh, kw, N, out_h, out_w).

    cols[c, i, j, n, h, w] = canvas[c, n, stride*h + i, stride*w + j]. The right-hand side is
    linear in (c, i, j, n, h, w), so it is one strided *view* of the canvas: the canvas's own
    strides, in bytes, with h and w stepping `stride` pixels and i and j one pixel. The only
    copy is the final one (one pass over memory, one GPU kernel). (as_strided, not
    sliding_window_view: CuPy's version checks its arguments on the GPU and waits for them.)"""
    xp = get_array_module(canvas)
    sc, sn, sh, sw = canvas.strides
    c, n = canvas.shape[:2]
    patches = xp.lib.stride_tricks.as_strided(
        canvas, shape=(c, kh, kw, n, out_h, out_w),
        strides=(sc, sh, sw, sn, stride * sh, stride * sw))
    return xp.ascontiguousarray(patches)


def col2im(cols, canvas_hw, stride):
    """The adjoint of im2col: cols (C, kh, kw, N, out_h, out_w) -> canvas (C, N, Hp, Wp), each
    column entry added back to the pixel it came from (overlapping patches sum).

    Overlapping windows cannot be written through one view (two writes to a pixel would race),
    so this is a loop of adds, one per kernel offset (i, j): each moves a whole strided slice of
    every image and channel at once."""
    xp = get_array_module(cols)
    if backend.is_cupy(xp):    # the GPU: the same sums, a group of offsets per kernel launch
        return col2im_by_group(cols, canvas_hw, stride)
    c, kh, kw, n, out_h, out_w = cols.shape
    canvas = xp.zeros((c, n) + tuple(canvas_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += cols[:, i, j]
    return canvas


def _from_channels_first(canvas, padding, h, w):
    """Crop the padding off a (C, N, Hp, Wp) canvas and return it as (N, C, h, w)."""
    xp = get_array_module(canvas)
    return xp.ascontiguousarray(
        canvas[:, :, padding:padding + h, padding:padding + w].transpose(1, 0, 2, 3))


def _channels_first_2d(y):
    """(N, O, H, W) -> (O, N*H*W): the layout of a matrix product's right-hand side."""
    n, o, h, w = y.shape
    return y.transpose(1, 0, 2, 3).reshape(o, n * h * w)


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b; x (N, C, H, W), W (O, C, kh, kw), b (O,)."""

    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, x, W, b):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        o, _, kh, kw = W.shape
        s, p = self.stride, self.padding
        out_h, out_w = conv_output_size(h, kh, s, p), conv_output_size(w, kw, s, p)
        self.x_shape, self.W = x.shape, W
        cols = im2col(to_padded_channels_first(x, p), kh, kw, s, out_h, out_w)
        self.cols = cols.reshape(c * kh * kw, n * out_h * out_w)
        y = W.reshape(o, -1) @ self.cols                      # (O, N*out_h*out_w)
        if b is not None:
            y += b[:, None]
        return xp.ascontiguousarray(y.reshape(o, n, out_h, out_w).transpose(1, 0, 2, 3))

    def backward(self, gy):
        # y_2d = W_2d @ cols + b:   dL/dW_2d = gy_2d cols^T,  dL/dcols = W_2d^T gy_2d,
        # dL/db = gy summed over everything but the channel; dL/dx = col2im(dL/dcols).
        n, c, h, w = self.x_shape
        o, _, kh, kw = self.W.shape
        gy_2d = _channels_first_2d(gy)                         # (O, N*out_h*out_w)
        gx = gW = gb = None
        if self.needs_grad[0]:
            gcols = (self.W.reshape(o, -1).T @ gy_2d).reshape(c, kh, kw, n, *gy.shape[2:])
            p = self.padding
            canvas = col2im(gcols, (h + 2 * p, w + 2 * p), self.stride)
            gx = _from_channels_first(canvas, p, h, w)
        if self.needs_grad[1]:
            gW = (gy_2d @ self.cols.T).reshape(self.W.shape)
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gW, gb


def conv2d(x, W, b=None, stride=1, padding=0):
    return Conv2dFunction(stride, padding)(x, W, b)


class ConvTranspose2dFunction(Function):
    """y = conv_transpose2d(x, W) + b; x (N, C_in, H, W), W (C_in, C_out, kh, kw), b (C_out,).

    The adjoint of Conv2d with the same weight: each input pixel scatters W[c_in] (scaled by its
    value) onto a kh x kw patch of the output, patches `stride` apart, overlaps summed."""

    def __init__(self, stride=1, padding=0, output_padding=0):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def forward(self, x, W, b):
        n, c_in, h, w = x.shape
        _, c_out, kh, kw = W.shape
        s, p, op = self.stride, self.padding, self.output_padding
        out_h = conv_transpose_output_size(h, kh, s, p, op)
        out_w = conv_transpose_output_size(w, kw, s, p, op)
        self.x, self.W = x, W
        # Conv2d's input-gradient path: columns = W_2d^T @ x_2d, then col2im onto a canvas big
        # enough for every patch (out + 2p), then crop the padding.
        x_2d = _channels_first_2d(x)                           # (C_in, N*H*W)
        cols = (W.reshape(c_in, -1).T @ x_2d).reshape(c_out, kh, kw, n, h, w)
        canvas = col2im(cols, (out_h + 2 * p, out_w + 2 * p), s)
        y = _from_channels_first(canvas, p, out_h, out_w)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        # The forward is linear in x: y_cols = W_2d^T x_2d, y = crop(col2im(y_cols)). Its adjoint
        # is pad, im2col, then multiply by W_2d:  dL/dx_2d = W_2d @ im2col(pad(gy)),
        # dL/dW_2d = x_2d @ im2col(pad(gy))^T,  dL/db = gy summed over all but the channel.
        n, c_in, h, w = self.x.shape
        _, c_out, kh, kw = self.W.shape
        p, s = self.padding, self.stride
        canvas = to_padded_channels_first(gy, p)               # (C_out, N, out + 2p, ...)
        gcols = im2col(canvas, kh, kw, s, h, w).reshape(c_out * kh * kw, n * h * w)
        gx = gW = gb = None
        if self.needs_grad[0]:
            gx_2d = self.W.reshape(c_in, -1) @ gcols           # (C_in, N*H*W)
            gx = gx_2d.reshape(c_in, n, h, w).transpose(1, 0, 2, 3)
        if self.needs_grad[1]:
            gW = (_channels_first_2d(self.x) @ gcols.T).reshape(self.W.shape)
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gW, gb


def conv_transpose2d(x, W, b=None, stride=1, padding=0, output_padding=0):
    return ConvTranspose2dFunction(stride, padding, output_padding)(x, W, b)
