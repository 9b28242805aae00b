"""Keep the memory a training step frees for the next step (glibc's malloc, on the CPU).

What it speeds up. NumPy takes each array's memory from the C library's malloc and hands it
back when the array dies. glibc's malloc returns large free blocks to the operating system:
blocks above its mmap threshold at once, and free space at the top of its heap once it grows
past the trim threshold (both thresholds move with what the program does). A training step
allocates and frees the same large arrays every step (im2col's columns, a convolutional batch's
activations and gradients), so memory given back in one step comes back as fresh pages in the
next, and the kernel zeroes each page on its first write (a page fault). keep_freed_memory()
fixes the thresholds so that arrays below MMAP_THRESHOLD come from malloc's heap and up to
TRIM_THRESHOLD of free heap stays in the process: the next step reuses this step's memory.

Nothing a computation returns changes; the process keeps up to TRIM_THRESHOLD more memory
between steps. GANTrainer calls it when it trains on the CPU. Elsewhere than Linux with glibc
it does nothing; on the GPU, CuPy's memory pool does the same for device memory.
benchmarks/results/fast_paths.md has the page faults and the time it saves.
"""
import ctypes
import ctypes.util

MMAP_THRESHOLD = 32 * 2 ** 20      # 32 MiB: the ceiling glibc itself gives its moving threshold
TRIM_THRESHOLD = 256 * 2 ** 20     # keep up to 256 MiB of freed memory for reuse
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # mallopt's parameter numbers (malloc.h)

_applied = None


def keep_freed_memory():
    """Set glibc's two thresholds, once per process; True if glibc took them."""
    global _applied
    if _applied is None:
        _applied = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):           # not glibc (macOS, musl, Windows)
            return _applied
        _applied = (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                    and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return _applied
