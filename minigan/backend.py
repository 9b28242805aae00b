"""The one place that knows about array libraries.

minigan's arithmetic is written once, against "xp": NumPy on the CPU or CuPy on an NVIDIA GPU,
which share (almost) one API. Every function that touches arrays asks this module which of the
two to use, usually with ``xp = get_array_module(array)``; nothing else imports numpy or cupy for
computation. That is what makes model code run unchanged on either device.

Devices are named by strings: ``"cpu"`` (NumPy) and ``"gpu"`` (CuPy, current CUDA device).
The default device comes from the environment variable ``MINIGAN_DEVICE`` (``cpu`` if unset)
and can be changed with :func:`set_default_device`.
"""
import os

import numpy

DEVICES = ("cpu", "gpu")

GPU_INSTALL_HINT = (
    "Install CuPy for your CUDA version, e.g. `pip install -e .[gpu]` (CuPy for CUDA 12) or "
    "`pip install cupy-cuda13x` for CUDA 13, on a machine with an NVIDIA GPU and driver."
)


class DeviceError(RuntimeError):
    """The GPU was asked for and cannot be used, or arrays from two devices were mixed."""


_cupy = None          # the cupy module once imported successfully
_cupy_error = None    # why importing/using cupy failed, for the error message
# The array classes, for one isinstance() where every op and gradient passes (tensor.py).
array_types = (numpy.ndarray,)


def _load_cupy():
    """Import CuPy lazily: a CPU user never pays for (or needs) it."""
    global _cupy, _cupy_error, array_types
    if _cupy is None and _cupy_error is None:
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("CuPy found no CUDA device")
            _cupy = cupy
            array_types = (numpy.ndarray, cupy.ndarray)
        except Exception as exc:  # ImportError, CUDA driver errors, no device...
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    return _load_cupy() is not None


def check_device(device):
    """Validate a device name and return it normalised ("cpu" or "gpu")."""
    name = str(device).lower()
    if name == "cuda":
        name = "gpu"
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {DEVICES}")
    if name == "gpu" and _load_cupy() is None:
        raise DeviceError(f"device 'gpu' was requested but CuPy cannot be used "
                          f"({_cupy_error}). {GPU_INSTALL_HINT}")
    return name


_default_device = None


def default_device():
    """The device new tensors and generators go to: set_default_device(), else $MINIGAN_DEVICE."""
    global _default_device
    if _default_device is None:
        _default_device = check_device(os.environ.get("MINIGAN_DEVICE", "cpu"))
    return _default_device


def set_default_device(device):
    global _default_device
    _default_device = check_device(device)


def xp_of_device(device):
    """The array module that computes on `device`."""
    return _cupy if check_device(device) == "gpu" else numpy


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the given arrays (NumPy when none is a CuPy array)."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return numpy


def is_cupy(xp):
    """True when the array module is CuPy: every array operation is then a kernel launch on the
    GPU, whose few microseconds of host time outweigh the arithmetic on arrays of a GAN's size.
    The fast paths of minigan/fast/ ask this to choose their GPU form."""
    return xp is not numpy


def device_of(array):
    return "gpu" if get_array_module(array) is not numpy else "cpu"


def same_device(a, b):
    """Whether two arrays live on one device. Every layer asks this on every call, so the
    common case is one test: before CuPy is loaded, every array is a NumPy array."""
    return _cupy is None or get_array_module(a) is get_array_module(b)


def check_one_device(op_name, arrays):
    """Raise a clear error when the arrays of one operation live on different devices.

    Every Function calls this on every call, so the common case is one test: before CuPy is
    loaded, every array is a NumPy array."""
    if _cupy is None:
        return
    devices = [(device_of(a), a.shape) for a in arrays if is_array(a)]
    if len({d for d, _ in devices}) > 1:
        listing = ", ".join(f"{d} array of shape {s}" for d, s in devices)
        raise DeviceError(f"{op_name}: all inputs must be on one device, got {listing}. "
                          f"Move tensors with .to(device) and modules with module.to(device).")


def to_device(array, device):
    """Copy an array to `device` (no copy when it is already there)."""
    device = check_device(device)
    if device == "gpu":
        return _cupy.asarray(array)
    return to_numpy(array)


def to_numpy(array):
    """A host NumPy array (from a device array, a host array or a number), for plotting,
    printing and saving."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return numpy.asarray(array)


def is_array(value):
    return isinstance(value, array_types)


def is_scalar(value):
    """A NumPy scalar (numpy.float32(0.5), numpy.float64...): what NumPy's operations return for
    0-d arrays, in place of a 0-d array. It has a dtype but is not an array: no in-place update,
    no out=. CuPy always returns arrays. to_numpy(value) makes it a 0-d array of its dtype."""
    return isinstance(value, numpy.generic)
