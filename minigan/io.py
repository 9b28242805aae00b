"""Saving arrays without ever leaving a half-written file.

Files always live on the host, so this module uses NumPy directly (no device arrays reach it).
A save writes to a temporary file in the target's folder and then renames it over the target:
on POSIX the rename is atomic, so a crash or a full disk mid-write leaves the previous file
intact and never a truncated one.
"""
import os
import tempfile

# Host-side only: files hold host arrays (callers copy with backend.to_numpy before saving, and
# move what they load with backend.to_device).
import numpy


def _umask():
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Call write(file_object) on a temporary file, then move it to `path` in one step."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file owner-only (0600); give it the mode open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_arrays(path, arrays):
    """Save a {name: host array} dict as an .npz file, atomically."""
    atomic_write(path, lambda f: numpy.savez(f, **arrays))


def save_array(path, array):
    """Save one host array as a .npy file, atomically."""
    atomic_write(path, lambda f: numpy.save(f, array))


def load_arrays(path):
    """Load an .npz file written by save_arrays into a {name: NumPy array} dict."""
    with numpy.load(os.fspath(path), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
