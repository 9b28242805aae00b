"""Fast paths: a plain rule elsewhere, computed with fewer operations.

Each speeds up one thing, is used from one place (a one-line seam beside the plain rule), and is
tested against the plain rule (tests/test_fast.py): col2im's numbers are the same bit for bit,
and so are Adam's parameters and moments, except what its flush of subnormal moments on the CPU
changes (Adam.step in optim.py says exactly what). Read the plain rule first; come here to see
what a production engine does about the cost of many small operations.

- adam.py: Adam's update of all parameters at once, in two flat vectors (the plain rule:
  ``Adam.update_one`` in optim.py), and the flush of subnormal moments on the CPU.
- col2im.py: col2im on the GPU, a whole group of kernel offsets per addition (the plain rule:
  ``col2im`` in functions/convolution.py, one addition per offset).
- memory.py: glibc's malloc keeps the memory one training step frees for the next, instead of
  returning it to the system and taking fresh pages back (no rule changes: the same
  computation, on reused memory).

What each saves, measured on the project's machines, is in benchmarks/results/fast_paths.md.
"""
