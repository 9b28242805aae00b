"""Fast paths: a plain rule elsewhere, computed with fewer operations.

Each speeds up one thing, is used from one place (a one-line seam beside the plain rule), and is
tested against the plain rule (tests/test_fast.py, tests/test_fast_conv.py): col2im's numbers
are the same bit for bit, and so are Adam's parameters and moments, except what its flush of
subnormal moments on the CPU changes (Adam.step in optim.py says exactly what); the transposed
convolution by stride phases sums the same products in another order, so it agrees with the
plain rule within float32 rounding (1e-5 of the sum of |W| |x| over each output's terms). Read
the plain rule first; come here to see what a production engine does about the cost of many
small operations.

- adam.py: Adam's update of all parameters at once, in two flat vectors (the plain rule:
  ``Adam.update_one`` in optim.py), and the flush of subnormal moments on the CPU.
- col2im.py: col2im on the GPU, a whole group of kernel offsets per addition (the plain rule:
  ``col2im`` in functions/convolution.py, one addition per offset).
- subpixel.py: ConvTranspose2d's forward, and so Conv2d's input gradient, on the CPU where it
  pays (C_out >= C_in / 2): s*s stride-1 convolutions, one per output phase y[..., ph::s, pw::s],
  with no col2im (the plain rule: ``ConvTranspose2dFunction.forward`` in
  functions/convolution.py, a product, then col2im's scatter-add).
- memory.py: glibc's malloc keeps the memory one training step frees for the next, instead of
  returning it to the system and taking fresh pages back (no rule changes: the same
  computation, on reused memory).

What each saves, measured on the project's machines, is in benchmarks/results/fast_paths.md.
"""
