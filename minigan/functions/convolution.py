"""2-D convolution and transposed convolution: im2col, one matrix product, col2im.

Images are (N, C, height, width); the weight W of Conv2d is (O, C, kh, kw), of ConvTranspose2d
(C_in, C_out, kh, kw), as in PyTorch. Below, n, c, h, w index samples, channels, rows and
columns, o an output channel, (i, j) an offset in the kernel; s is the stride, p the padding.

The idea. Each output pixel of a convolution is the dot product of the weight with one kh x kw
patch of the zero-padded input. im2col copies every patch into a column of a matrix,

    cols[(c, i, j), (n, h, w)] = x_padded[n, c, s*h + i, s*w + j]       (C*kh*kw, N*out_h*out_w)

so that the whole convolution is one matrix product, y_2d = W_2d @ cols + b, with W_2d the
weight as a matrix, W.reshape(O, C*kh*kw) (for ConvTranspose2d, (C_in, C_out*kh*kw)). Its
backward is the Dense layer's rule for that product, three gradients (gy_2d is dL/dy laid out
as y_2d is):

    dL/dW = gy_2d @ cols^T          the same weights serve every position: summed over all
    dL/dx = col2im(W_2d^T @ gy_2d)  col2im adds each column's gradient back onto the pixels it
                                    was copied from (a pixel in several patches collects them
                                    all), then the padding is cropped off
    dL/db = gy summed over n, h, w

A transposed convolution is the second line used as a layer: ConvTranspose2d's forward *is*
Conv2d's input gradient, with its input x where gy was. In matrix terms, the convolution is
x -> A x and its transpose x -> A^T x; transposing again gives back A, so each layer's input
gradient is the other layer's forward. The two layers are the same two functions, swapped:

                             forward                 input gradient          weight gradient
    Conv2dFunction           W_2d @ im2col(x)        col2im(W_2d^T @ gy_2d)  gy_2d @ im2col(x)^T
    ConvTranspose2dFunction  col2im(W_2d^T @ x_2d)   W_2d @ im2col(gy)       x_2d @ im2col(gy)^T

im2col and col2im are adjoints of each other, <im2col(x), c> = <x, col2im(c)>, and the weight
gradient is one Function, Conv2dWeightGradient, with its two inputs swapped. In the code each
backward does not repeat the other layer's arithmetic: it applies the other layer's Function
(``apply``, tensor.py), so that a backward pass can itself be recorded and differentiated again
(gradient penalties). Conv2dFunction.backward's dL/dx is ConvTranspose2dFunction's forward, the
next class in this file, and ConvTranspose2dFunction.backward's is Conv2dFunction's forward.

In this file, in order: the output sizes; im2col and col2im; conv2d and conv_transpose2d, which the
layers call; Conv2dFunction, ConvTranspose2dFunction, Conv2dWeightGradient. Below the idea: how
the arrays are laid out (channels first, im2col's strided view, the columns a backward reuses,
the output_padding a backward needs). On the GPU, col2im adds a group of kernel offsets at a time
(minigan/fast/col2im.py): the same sums, in fewer kernel launches. On the CPU,
ConvTranspose2dFunction's forward skips col2im where that is faster: s*s stride-1 convolutions,
one per output phase (minigan/fast/subpixel.py), within float32 rounding (tests/test_fast_conv.py).
"""
from ..backend import get_array_module
from ..fast.col2im import grouped_on_the_gpu
from ..fast.subpixel import by_stride_phases_where_faster
from ..tensor import Function, Tensor, apply


def conv_output_size(size, kernel, stride, padding):
    """Conv2d: H_out = floor((H + 2p - kh) / s) + 1, the window's positions that fit."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(size, kernel, stride, padding, output_padding):
    """ConvTranspose2d: H_out = (H - 1) s - 2p + kh + output_padding (H patches, s apart, each kh
    wide, the padding cropped; output_padding asks for rows the conv's floor lost)."""
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def im2col(canvas, kh, kw, stride, out_h, out_w):
    """Every kh x kw patch of a zero-padded, channels-first canvas (C, N, Hp, Wp), as the columns
    cols (C, kh, kw, N, out_h, out_w):

        cols[c, i, j, n, h, w] = canvas[c, n, stride*h + i, stride*w + j]

    For one kernel offset (i, j), that is one strided slice of the canvas: the pixel that every
    output position sees at that offset. As a loop over the offsets (col2im's, with = for +=):

        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = canvas[:, :, i:i + stride*out_h:stride, j:j + stride*out_w:stride]

    The code makes the same copy in one pass over memory: the right-hand side is one strided view
    of the canvas (``patches_view``, below), copied once."""
    xp = get_array_module(canvas)
    return xp.ascontiguousarray(patches_view(canvas, kh, kw, stride, out_h, out_w))


@grouped_on_the_gpu        # CuPy arrays go to minigan/fast/col2im.py: the same sums, fewer adds
def col2im(cols, canvas_hw, stride):
    """The adjoint of im2col: cols (C, kh, kw, N, out_h, out_w) -> canvas (C, N, Hp, Wp), each
    column entry added back onto the pixel it was copied from. im2col's loop, with += for =:
    where patches overlap, a pixel receives several entries, and they sum. (One view cannot do
    that, as it does for im2col: two writes to one pixel would race.) Each add moves a whole
    strided slice of every image and channel at once: no loop over samples or pixels."""
    xp = get_array_module(cols)
    c, kh, kw, n, out_h, out_w = cols.shape
    canvas = xp.zeros((c, n) + tuple(canvas_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += cols[:, i, j]
    return canvas


def conv2d(x, W, b=None, stride=1, padding=0):
    return Conv2dFunction(stride, padding)(x, W, b)


def conv_transpose2d(x, W, b=None, stride=1, padding=0, output_padding=0):
    return ConvTranspose2dFunction(stride, padding, output_padding)(x, W, b)


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b = W_2d @ im2col(x) + b; x (N, C, height, width), W (O, C, kh, kw),
    b (O,). `cols`: im2col(x), when the caller has it already (see reuse_columns, below)."""
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
        self.cols = reuse_columns(self.cols, x, kh, kw, s, p)   # kept: dL/dW needs them again
        y = W.reshape(o, -1) @ self.cols                          # (O, N*out_h*out_w)
        if b is not None:
            y += b[:, None]
        return xp.ascontiguousarray(y.reshape(o, n, out_h, out_w).transpose(1, 0, 2, 3))

    def backward(self, gy):
        # The three gradients of y_2d = W_2d @ cols + b (the module docstring). The first two
        # are Functions of their own, applied with `apply`: so this rule can be recorded and
        # differentiated again.
        x, W = self.saved
        s, p = self.stride, self.padding
        gx = gW = gb = None
        if self.needs_grad[0]:
            # dL/dx = col2im(W_2d^T @ gy_2d): the forward of ConvTranspose2dFunction (next
            # class), with the output_padding that gives back x's size.
            output_padding = _output_padding_for(x.shape[2:], gy.shape[2:], W.shape[2:], s, p)
            gx = apply(ConvTranspose2dFunction(s, p, output_padding), gy, W, None)
        if self.needs_grad[1]:
            # dL/dW = gy_2d @ cols^T, with the cols the forward made.
            gW = apply(Conv2dWeightGradient(s, p, W.shape[2:], self.cols), x, gy)
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))                                  # dL/db
        return gx, gW, gb


class ConvTranspose2dFunction(Function):
    """y = conv_transpose2d(x, W) + b = col2im(W_2d^T @ x_2d) + b: Conv2d's input gradient, as a
    layer. x (N, C_in, height, width), W (C_in, C_out, kh, kw), b (C_out,).

    Each input pixel scatters W[c_in] (scaled by its value) onto a kh x kw patch of the output,
    patches `stride` apart, overlaps summed. W's layout, (C_in, C_out, kh, kw), is that of
    Conv2d(C_out -> C_in), the convolution this one transposes: so Conv2dFunction.backward passes
    its own W unchanged. output_padding: one number, or one per spatial axis."""
    twice_differentiable = True

    def __init__(self, stride=1, padding=0, output_padding=0):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    @by_stride_phases_where_faster      # on the CPU, where faster: no col2im (fast/subpixel.py)
    def forward(self, x, W, b):
        n, c_in, height, width = x.shape
        _, c_out, kh, kw = W.shape
        s, p, op = self.stride, self.padding, self.output_padding
        op_h, op_w = op if isinstance(op, tuple) else (op, op)
        out_h = conv_transpose_output_size(height, kh, s, p, op_h)
        out_w = conv_transpose_output_size(width, kw, s, p, op_w)
        self.saved = x, W
        # Conv2d's input gradient, x in gy's place: the columns W_2d^T @ x_2d, col2im onto a
        # canvas big enough for every patch (out + 2p), then the padding cropped off.
        x_2d = _channels_first_2d(x)                                      # (C_in, N*H*W)
        cols = (W.reshape(c_in, -1).T @ x_2d).reshape(c_out, kh, kw, n, height, width)
        canvas = col2im(cols, (out_h + 2 * p, out_w + 2 * p), s)
        y = _from_channels_first(canvas, p, out_h, out_w)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        # Conv2d's rule, transposed (the table in the module docstring): the forward is A^T x,
        # with A the convolution by W. So dL/dx = A gy = conv2d(gy, W), Conv2d's forward of gy;
        # and since <gy, A^T x> = <A gy, x>, dL/dW is Conv2d's weight gradient with the inputs
        # swapped, (gy, x). Both take the columns of gy: made once here, from gy's values.
        x, W = self.saved
        s, p = self.stride, self.padding
        kh, kw = W.shape[2:]
        cols = columns(gy.data if isinstance(gy, Tensor) else gy, kh, kw, s, p)   # im2col(gy)
        gx = gW = gb = None
        if self.needs_grad[0]:
            gx = apply(Conv2dFunction(s, p, cols), gy, W, None)           # W_2d @ im2col(gy)
        if self.needs_grad[1]:
            gW = apply(Conv2dWeightGradient(s, p, (kh, kw), cols), gy, x)   # x_2d @ im2col(gy)^T
        if self.needs_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gW, gb


class Conv2dWeightGradient(Function):
    """gW = dL/dW of y = conv2d(x, W), given gy = dL/dy: the correlation of x with gy,

        gW[o, c, i, j] = sum over n, h, w of gy[n, o, h, w] x_padded[n, c, s*h + i, s*w + j],

    that is gy_2d @ im2col(x)^T, shaped like W, (O, C, kh, kw). ConvTranspose2dFunction.backward
    calls it with (its gy, its x): for the convolution that layer transposes, those are the input
    and the gradient of the output. `cols`: im2col(x), when the caller has it already.

    gW is linear in x and in gy, so its backward is two convolutions: given ggW = dL/d(gW)
    (shaped like W),  dL/dx = conv_transpose2d(gy, ggW)  and  dL/dgy = conv2d(x, ggW)."""
    twice_differentiable = True

    def __init__(self, stride, padding, kernel, cols=None):
        self.stride, self.padding, self.kernel, self.cols = stride, padding, kernel, cols

    def forward(self, x, gy):
        (kh, kw), s, p = self.kernel, self.stride, self.padding
        self.saved = x, gy
        cols = reuse_columns(self.cols, x, kh, kw, s, p)
        o, c = gy.shape[1], x.shape[1]
        return (_channels_first_2d(gy) @ cols.T).reshape(o, c, kh, kw)

    def backward(self, ggW):
        x, gy = self.saved
        s, p = self.stride, self.padding
        gx = ggy = None
        if self.needs_grad[0]:
            output_padding = _output_padding_for(x.shape[2:], gy.shape[2:], self.kernel, s, p)
            gx = apply(ConvTranspose2dFunction(s, p, output_padding), gy, ggW, None)
        if self.needs_grad[1]:
            ggy = apply(Conv2dFunction(s, p), x, ggW, None)
        return gx, ggy


# --- Below the idea: how the arrays are laid out -------------------------------------------------
#
# Channels first inside. im2col's columns are (C, kh, kw, N, out_h, out_w): the column index
# (c, i, j) is one contiguous block and the row index (n, h, w) another, so the reshape to the
# matrix (C*kh*kw, N*out_h*out_w) is free, and the products need no further transposition. The
# input is transposed to (C, N, H, W) once, in the copy that pads it anyway, and the result once
# back to (N, C, H, W). From outside, everything is NCHW, as in PyTorch.

def to_padded_channels_first(x, padding):
    """(N, C, H, W) -> zero-padded (C, N, H + 2p, W + 2p), one copy."""
    xp = get_array_module(x)
    n, c, height, width = x.shape
    canvas = xp.zeros((c, n, height + 2 * padding, width + 2 * padding), dtype=x.dtype)
    canvas[:, :, padding:padding + height, padding:padding + width] = x.transpose(1, 0, 2, 3)
    return canvas


def patches_view(canvas, kh, kw, stride, out_h, out_w):
    """im2col's right-hand side, canvas[c, n, stride*h + i, stride*w + j], as one strided *view*
    of the canvas (C, N, Hp, Wp), shaped (C, kh, kw, N, out_h, out_w): no number moves.

    The canvas index is linear in (c, i, j, n, h, w), so the view steps through the canvas's own
    memory with the canvas's own strides, in bytes: c and n as the canvas does, i and j one pixel,
    h and w `stride` pixels. (as_strided, not sliding_window_view: CuPy's version checks its
    arguments on the GPU and waits for them.)"""
    xp = get_array_module(canvas)
    sc, sn, sh, sw = canvas.strides
    c, n = canvas.shape[:2]
    return xp.lib.stride_tricks.as_strided(
        canvas, shape=(c, kh, kw, n, out_h, out_w),
        strides=(sc, sh, sw, sn, stride * sh, stride * sw))


def columns(x, kh, kw, stride, padding):
    """im2col of x (N, C, H, W) as the matrix (C*kh*kw, N*out_h*out_w) a product wants."""
    n, c, height, width = x.shape
    out_h = conv_output_size(height, kh, stride, padding)
    out_w = conv_output_size(width, kw, stride, padding)
    cols = im2col(to_padded_channels_first(x, padding), kh, kw, stride, out_h, out_w)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def reuse_columns(cols, x, kh, kw, stride, padding):
    """The columns of x: `cols` if a backward rule passed them, else made now. The same numbers
    either way, one im2col less: Conv2dFunction keeps the columns its forward made for dL/dW, and
    ConvTranspose2dFunction.backward makes gy's once for both of its gradients."""
    return cols if cols is not None else columns(x, kh, kw, stride, padding)


def _channels_first_2d(y):
    """(N, O, H, W) -> (O, N*H*W): the layout of a matrix product's right-hand side."""
    n, o, height, width = y.shape
    return y.transpose(1, 0, 2, 3).reshape(o, n * height * width)


def _from_channels_first(canvas, padding, height, width):
    """Crop the padding off a (C, N, Hp, Wp) canvas and return it as (N, C, height, width). In
    Conv2d's input gradient, what col2im put on the padding is dropped: the padding's zeros are
    constants, not pixels of x."""
    xp = get_array_module(canvas)
    return xp.ascontiguousarray(
        canvas[:, :, padding:padding + height, padding:padding + width].transpose(1, 0, 2, 3))


def _output_padding_for(in_hw, out_hw, kernel, stride, padding):
    """The output_padding with which conv_transpose2d of a conv2d's output (out_hw) gives back
    the conv2d's input size (in_hw): per axis, (H + 2p - k) mod s, the last rows (and columns)
    of the padded input, which no window reached."""
    return tuple(h - conv_transpose_output_size(o, k, stride, padding, 0)
                 for h, o, k in zip(in_hw, out_hw, kernel))
