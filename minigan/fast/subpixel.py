"""A transposed convolution by stride phases (sub-pixel): ConvTranspose2dFunction's forward, and so
Conv2d's input gradient, with no scatter-add (col2im).

What it speeds up. The plain rule (functions/convolution.py) multiplies first, W_2d^T @ x_2d,
one column of kh*kw*C_out numbers per input pixel, then col2im adds every column onto the
output, kh*kw strided additions over the whole output. Here each output pixel is computed once,
as a plain stride-1 correlation, and written once: no additions after the product.

The phases. Take one axis (rows; columns are the same). Input row h, kernel row i lands on
row s*h + i of the padded output, so on row oh = s*h + i - p of y. Split y's rows by their
phase ph = oh mod s, oh = s*q + ph. Then s*q + ph + p = s*h + i, so only the kernel rows with
i = ph + p (mod s) reach phase ph:

    i = s*a + r,   r = (ph + p) mod s,   a = 0, 1, ..., taps - 1    (taps = ceil((kh - r) / s))
    h = q + d - a,                        d = (ph + p) // s

So the rows y[.., s*q + ph, ..] are sum_a W[.., s*a + r, ..] x[.., q + d - a, ..]: an ordinary
stride-1 correlation of x with the sub-kernel W[:, :, r::s] read backwards (tap a at window
offset taps - 1 - a), the window of output row q starting at input row q + d - (taps - 1).
Input rows outside 0..H-1 are zeros: x is padded by enough rows, above and below, for every
phase. output_padding needs nothing of its own: it only makes y taller, so the last phases have
more rows q, and their windows read further into the zero padding below x, as the plain rule's
canvas does. A phase with no taps (a kernel smaller than the stride) is zeros.

Each of the s*s phases (ph, pw) is then im2col of the padded x over its sub-kernel's window and
one matrix product, written straight into y[:, :, ph::s, pw::s]. The arrays are laid out
channels-last, (N, H, W, C): a patch's (kb, C_in) numbers lie together, so im2col copies long
runs, and a phase's result (N, q, w, C_out) lands in y with whole channel vectors; y is turned
back to (N, C, H, W) once, at the end. The samples go a chunk at a time (about CHUNK_BYTES of
patches), so that a phase's patches are still in the cache when the product reads them.

Same numbers? Each output is the same sum of the same products W x as the plain rule's, summed
in another order: the plain rule sums over C_in inside its product and over the kernel taps in
col2im's additions, this one over (taps, C_in) inside one product. A float32 sum of n terms lies
within about n * 2**-24 * sum |terms| of the exact sum (less in practice, the roundings partly
cancel), so the two orders differ by a few roundings of sum |W| |x|: tests/test_fast_conv.py
holds every output to 1e-5 of it, on many shapes, and float64 gradient checks (first and second
order) pass through this path. The chunks change nothing but which product a sample's rows
are in.

Where it runs: ``by_stride_phases_where_faster``, the decorator on the plain forward, sends
NumPy arrays here when C_out >= C_in / 2, at any stride (``worth_it``); elsewhere the plain
rule was faster (benchmarks/results/fast_paths.md, rows 6 and 6b). On the GPU it computes the
same (tests/test_fast_conv.py) but is not used: not yet timed there, and its array operations
(about four per phase and chunk) are more kernel launches than the grouped col2im's.
"""
import functools

from .. import backend
from ..backend import get_array_module

CHUNK_BYTES = 1 << 20      # a phase's patches per chunk of samples: 1 MiB (fast_paths.md, 6b)


def phases_of_one_axis(size, kernel, stride, padding, out):
    """For each phase ph of one axis of y: (ph, r, d, taps, rows), where the sub-kernel is the
    kernel's offsets r, r + s, ... (taps of them), the window of y's row q of this phase starts
    at input row q + d - (taps - 1), and the phase has `rows` rows in y (ceil((out - ph) / s)).
    Also how many zero rows x needs above and below, for every phase's windows."""
    phases = []
    for ph in range(stride):
        r, d = (ph + padding) % stride, (ph + padding) // stride
        taps = max(0, -(-(kernel - r) // stride))
        rows = max(0, -(-(out - ph) // stride))
        phases.append((ph, r, d, taps, rows))
    used = [(d, taps, rows) for _, _, d, taps, rows in phases if taps and rows]
    above = max([taps - 1 - d for d, taps, _ in used] + [0])
    below = max([rows - 1 + d - (size - 1) for d, _, rows in used] + [0])
    return phases, above, below


def conv_transpose2d_by_phases(x, W, stride, padding, out_hw):
    """conv_transpose2d(x, W) without the bias, y of size out_hw: x (N, C_in, H, W),
    W (C_in, C_out, kh, kw). s*s stride-1 correlations, one per output phase (module docstring)."""
    xp = get_array_module(x)
    s = stride
    n, c_in, height, width = x.shape
    _, c_out, kh, kw = W.shape
    rows_phases, top, bottom = phases_of_one_axis(height, kh, s, padding, out_hw[0])
    cols_phases, left, right = phases_of_one_axis(width, kw, s, padding, out_hw[1])
    dtype = xp.result_type(x.dtype, W.dtype)
    y = xp.empty((n,) + tuple(out_hw) + (c_out,), dtype=dtype)           # channels last
    # Each phase: where its windows start in the padded x, its size in y, its sub-kernel read
    # backwards as a (taps_h * taps_w * C_in, C_out) matrix.
    phases = []
    for ph, r, d, taps_h, rows in rows_phases:
        for pw, q, e, taps_w, columns in cols_phases:
            if not (rows and columns):
                continue
            if not (taps_h and taps_w):
                y[:, ph::s, pw::s] = 0                     # no kernel offset lands here
                continue
            sub = W[:, :, r::s, q::s][:, :, ::-1, ::-1].transpose(2, 3, 0, 1)
            phases.append((ph, pw, top + d - (taps_h - 1), left + e - (taps_w - 1), rows, columns,
                           taps_h, taps_w, sub.reshape(taps_h * taps_w * c_in, c_out)))
    if not phases:
        return xp.ascontiguousarray(y.transpose(0, 3, 1, 2))
    # x zero-padded, channels last: (N, top + H + bottom, left + W + right, C_in)
    padded = xp.zeros((n, top + height + bottom, left + width + right, c_in), dtype=dtype)
    padded[:, top:top + height, left:left + width] = x.transpose(0, 2, 3, 1)
    sn, sh, sw, sc = padded.strides
    # A chunk of samples at a time, so that a phase's patches (about CHUNK_BYTES) stay in the
    # cache between im2col's copy and the product that reads them.
    largest = max(rows * columns * taps_h * taps_w for *_, rows, columns, taps_h, taps_w, _
                  in phases)
    chunk = max(1, CHUNK_BYTES // (largest * c_in * padded.itemsize))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        for ph, pw, h0, w0, rows, columns, taps_h, taps_w, sub in phases:
            # im2col of this chunk over the phase's windows: (m * rows * columns, taps * C_in)
            patches = xp.lib.stride_tricks.as_strided(
                padded[start:, h0:, w0:], shape=(m, rows, columns, taps_h, taps_w, c_in),
                strides=(sn, sh, sw, sh, sw, sc))
            patches = xp.ascontiguousarray(patches).reshape(m * rows * columns, -1)
            y[start:start + m, ph::s, pw::s] = (patches @ sub).reshape(m, rows, columns, c_out)
    return xp.ascontiguousarray(y.transpose(0, 3, 1, 2))


def worth_it(x, W):
    """Where the phases ran faster than the plain rule (benchmarks/results/fast_paths.md): on
    the CPU, when C_out >= C_in / 2. The phases copy C_in numbers per kernel tap and input pixel
    (im2col), where the plain rule's col2im adds C_out; with fewer output channels col2im's
    additions are the cheaper (a 64 -> 1 layer: 3.5-10x slower by phases; at C_out = C_in / 4
    about even). At any stride: at stride 1 (one phase, a plain convolution with the kernel read
    backwards) it paid as well, 0.4-0.9x of the plain rule's time on 64 -> 64 and 128 -> 64
    layers, one at 1.05x."""
    return not backend.is_cupy(get_array_module(x)) and 2 * W.shape[1] >= W.shape[0]


def by_stride_phases_where_faster(forward):
    """Decorates ConvTranspose2dFunction.forward(self, x, W, b): where ``worth_it``, the same
    output by conv_transpose2d_by_phases, with what the plain forward keeps for its backward
    (self.saved = x, W); elsewhere the plain forward itself."""
    @functools.wraps(forward)
    def forward_by_phases_where_faster(self, x, W, b):
        if not worth_it(x, W):
            return forward(self, x, W, b)
        op = self.output_padding
        op_h, op_w = op if isinstance(op, tuple) else (op, op)
        (_, _, height, width), (_, _, kh, kw) = x.shape, W.shape
        s, p = self.stride, self.padding
        out_hw = ((height - 1) * s - 2 * p + kh + op_h, (width - 1) * s - 2 * p + kw + op_w)
        self.saved = x, W
        y = conv_transpose2d_by_phases(x, W, s, p, out_hw)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y
    return forward_by_phases_where_faster
