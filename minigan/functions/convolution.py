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
from ..tensor import Function, Tensor, apply


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


def columns(x, kh, kw, stride, padding):
    """im2col of x (N, C, H, W) as the matrix (C*kh*kw, N*out_h*out_w) a product wants."""
    n, c, h, w = x.shape
    out_h, out_w = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    cols = im2col(to_padded_channels_first(x, padding), kh, kw, stride, out_h, out_w)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b; x (N, C, H, W), W (O, C, kh, kw), b (O,).

    `cols`: im2col of x if already computed (a backward rule that needs them twice passes them:
    the same numbers, one copy less)."""
    twice_differentiable = True

    def __init__(self, stride=1, padding=0, cols=None):
        self.stride, self.padding, self.cols = stride, padding, cols

    def forward(self, x, W, b):
        xp = get_array_module(x)
        n = x.shape[0]
        o, _, kh, kw = W.shape
        s, p = self.stride, self.padding
        out_h, out_w = (conv_output_size(size, k, s, p) for size, k in zip(x.shape[2:], (kh, kw)))
        self.saved = x, W
        if self.cols is None:
            self.cols = columns(x, kh, kw, s, p)     # kept: dL/dW needs them again
        y = W.reshape(o, -1) @ self.cols                      # (O, N*out_h*out_w)
        if b is not None:
            y += b[:, None]
        return xp.ascontiguousarray(y.reshape(o, n, out_h, out_w).transpose(1, 0, 2, 3))

    def backward(self, gy):
        x, W = self.saved
        # y = conv(x, W) + b is linear in x and in W. In x it is a matrix A_W; its transpose,
        # the adjoint, is the transposed convolution:  dL/dx = A_W^T gy = conv_transpose2d(gy, W)
        # (the output_padding that gives back x's size). In W:  dL/dW = weight_gradient(x, gy),
        # the correlation of x with gy. dL/db = gy summed over all but the channel. Each is a
        # Function of its own (apply): so the rule is differentiable again.
        s, p = self.stride, self.padding
        gx = gW = gb = None
        if self.needs_grad[0]:
            lost = _lost_rows(x.shape[2:], gy.shape[2:], W.shape[2:], s, p)
            gx = apply(ConvTranspose2dFunction(s, p, lost), gy, W, None)
        if self.needs_grad[1]:
            gW = apply(Conv2dWeightGradient(s, p, W.shape[2:], self.cols), x, gy)
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gW, gb


def _lost_rows(in_hw, out_hw, kernel, stride, padding):
    """The rows (and columns) of a conv2d input that no window reached, (H + 2p - k) mod s: the
    output_padding that makes conv_transpose2d give back the input's size."""
    return tuple(h - conv_transpose_output_size(o, k, stride, padding, 0)
                 for h, o, k in zip(in_hw, out_hw, kernel))


def conv2d(x, W, b=None, stride=1, padding=0):
    return Conv2dFunction(stride, padding)(x, W, b)


class Conv2dWeightGradient(Function):
    """dL/dW of y = conv2d(u, W), given v = dL/dy: G[o, c, i, j] = sum over n, h, w of
    v[n, o, h, w] u_padded[n, c, s h + i, s w + j] -- a correlation of u with v, (O, C, kh, kw).

    G is linear in u and in v, so its backward is two convolutions: with upstream gG (shaped
    like W),  d<G, gG>/du = conv_transpose2d(v, gG)  and  d<G, gG>/dv = conv2d(u, gG)."""
    twice_differentiable = True

    def __init__(self, stride, padding, kernel, cols=None):
        self.stride, self.padding, self.kernel, self.cols = stride, padding, kernel, cols

    def forward(self, u, v):
        (kh, kw), s, p = self.kernel, self.stride, self.padding
        self.saved = u, v
        cols = self.cols if self.cols is not None else columns(u, kh, kw, s, p)
        o, c = v.shape[1], u.shape[1]
        return (_channels_first_2d(v) @ cols.T).reshape(o, c, kh, kw)

    def backward(self, gG):
        u, v = self.saved
        s, p = self.stride, self.padding
        gu = gv = None
        if self.needs_grad[0]:
            lost = _lost_rows(u.shape[2:], v.shape[2:], self.kernel, s, p)
            gu = apply(ConvTranspose2dFunction(s, p, lost), v, gG, None)
        if self.needs_grad[1]:
            gv = apply(Conv2dFunction(s, p), u, gG, None)
        return gu, gv


class ConvTranspose2dFunction(Function):
    """y = conv_transpose2d(x, W) + b; x (N, C_in, H, W), W (C_in, C_out, kh, kw), b (C_out,).

    The adjoint of Conv2d with the same weight: each input pixel scatters W[c_in] (scaled by its
    value) onto a kh x kw patch of the output, patches `stride` apart, overlaps summed.
    output_padding: one number, or one per spatial axis."""
    twice_differentiable = True

    def __init__(self, stride=1, padding=0, output_padding=0):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def forward(self, x, W, b):
        n, c_in, h, w = x.shape
        _, c_out, kh, kw = W.shape
        s, p, op = self.stride, self.padding, self.output_padding
        op_h, op_w = op if isinstance(op, tuple) else (op, op)
        out_h = conv_transpose_output_size(h, kh, s, p, op_h)
        out_w = conv_transpose_output_size(w, kw, s, p, op_w)
        self.saved = x, W
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
        x, W = self.saved
        # The forward is A_W^T x, with A_W the convolution by W (as Conv2d, W read as (O, C) =
        # (C_in, C_out)). So dL/dx = A_W gy = conv2d(gy, W), and since <gy, A_W^T x> =
        # <A_W gy, x>, dL/dW = weight_gradient(gy, x). Both start from the same columns of gy:
        # computed once here (from gy's values, which are the same in either kind of backward).
        s, p = self.stride, self.padding
        kh, kw = W.shape[2:]
        cols = columns(gy.data if isinstance(gy, Tensor) else gy, kh, kw, s, p)
        gx = gW = gb = None
        if self.needs_grad[0]:
            gx = apply(Conv2dFunction(s, p, cols), gy, W, None)
        if self.needs_grad[1]:
            gW = apply(Conv2dWeightGradient(s, p, (kh, kw), cols), gy, x)
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gW, gb


def conv_transpose2d(x, W, b=None, stride=1, padding=0, output_padding=0):
    return ConvTranspose2dFunction(stride, padding, output_padding)(x, W, b)
