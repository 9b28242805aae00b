"""col2im on the GPU: the same sums as functions/convolution.py's col2im, in fewer additions.

What it speeds up. The plain col2im adds one kernel offset (i, j) at a time: kh * kw additions,
16 for DCGAN's 4 x 4 kernels. On the GPU each addition is a kernel launch whose host time
outweighs its arithmetic; here a whole group of offsets goes in one addition: (kh/s)(kw/s)
launches for stride s, 4 instead of 16. On the CPU the plain order is faster (it reads and
writes memory in order, this one jumps), so only the GPU uses this
(benchmarks/results/fast_paths.md).

Same numbers: each pixel receives its contributions in the plain loop's order (the groups run
in the order of their offsets, and one group's offsets land on different pixels), so the sums
are the same, bit for bit (tests/test_fast.py).

The seam: ``grouped_on_the_gpu``, the one-line decorator on the plain col2im, sends CuPy arrays
here and NumPy arrays to the plain loop.
"""
import functools

from .. import backend
from ..backend import get_array_module


def col2im_by_group(cols, canvas_hw, stride):
    """col2im in (kh/s)(kw/s) adds. Write the offsets as i = s*a + r, j = s*b + q (0 <= r, q < s).
    Offset (i, j) sends cols[.., h, w] to pixel (s*(h + a) + r, s*(w + b) + q): so for one group
    (a, b), the s*s offsets (r, q) land on disjoint pixels, and together they tile the block of
    rows s*a .. s*(a + out_h) - 1 (and likewise columns). Viewing the canvas as
    (C, N, rows/s, s, cols/s, s) makes that block a plain slice, and the group one add."""
    xp = get_array_module(cols)
    c, kh, kw, n, out_h, out_w = cols.shape
    s = stride
    ka, kb = -(-kh // s), -(-kw // s)                 # ceil: groups per axis
    if (ka * s, kb * s) != (kh, kw):
        # Pad the kernel with zero offsets up to a multiple of s: every group is then whole.
        padded = xp.zeros((c, ka * s, kb * s, n, out_h, out_w), dtype=cols.dtype)
        padded[:, :kh, :kw] = cols
        cols = padded
    # The canvas in whole s x s blocks: enough to hold canvas_hw, and the last group's block
    # (rows up to s*(ka - 1 + out_h), which passes canvas_hw only through zero offsets).
    rows = max(-(-canvas_hw[0] // s), out_h + ka - 1)
    columns = max(-(-canvas_hw[1] // s), out_w + kb - 1)
    canvas = xp.zeros((c, n, rows * s, columns * s), dtype=cols.dtype)
    blocks = canvas.reshape(c, n, rows, s, columns, s)       # a view: canvas is contiguous
    groups = cols.reshape(c, ka, s, kb, s, n, out_h, out_w)
    for a in range(ka):
        for b in range(kb):
            # (C, r, q, N, h, w) -> (C, N, h, r, w, q), the order of the block's pixels
            blocks[:, :, a:a + out_h, :, b:b + out_w, :] += groups[:, a, :, b].transpose(
                0, 3, 4, 1, 5, 2)
    return canvas[:, :, :canvas_hw[0], :canvas_hw[1]]


def grouped_on_the_gpu(col2im):
    """Decorates the plain col2im(cols, canvas_hw, stride): on CuPy arrays, col2im_by_group runs
    instead (the same sums in (kh/s)(kw/s) adds); on NumPy arrays, the plain loop itself."""
    @functools.wraps(col2im)
    def col2im_on_either_device(cols, canvas_hw, stride):
        if backend.is_cupy(get_array_module(cols)):
            return col2im_by_group(cols, canvas_hw, stride)
        return col2im(cols, canvas_hw, stride)
    return col2im_on_either_device
