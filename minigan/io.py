"""Saving arrays without ever leaving a half-written file.

Files always live on the host, so this module uses NumPy directly (no device arrays reach it).
A save writes to a temporary file in the target's folder and then renames it over the target:
on POSIX the rename is atomic, so a crash or a full disk mid-write leaves the previous file
intact and never a truncated one.
"""
import io
import math
import os
import tempfile
import zipfile
import zlib

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
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(error, OSError) and error.filename is None:
            # A failed write (ENOSPC: disk full, EDQUOT, EIO) names no file: name the one meant.
            raise OSError(error.errno, f"{error.strerror or error} while writing", path) from error
        raise


def save_arrays(path, arrays):
    """Save a {name: host array} dict as an .npz file, atomically."""
    atomic_write(path, lambda f: numpy.savez(f, **arrays))


def save_array(path, array):
    """Save one host array as a .npy file, atomically."""
    atomic_write(path, lambda f: numpy.save(f, array))


ZIP_MAGIC = b"PK\x03\x04"       # the first bytes of every .npz file: it is a zip archive

# What damaged bytes can raise while they are parsed (tests/test_fuzz_loaders.py finds them):
# zipfile.BadZipFile (a broken structure, a bad CRC-32), EOFError (cut short), ValueError (a bad
# .npy header, a seek to a flipped offset, and the checks below), zlib.error (deflated data that
# are not), and when a flipped bit sets a zip version or flag: NotImplementedError, RuntimeError
# ("encrypted"). The file is read into memory first, so none of these is about the disk.
DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, zlib.error, NotImplementedError,
          RuntimeError)
# numpy.savez stores its members, numpy.savez_compressed deflates them; any other method number
# is a flipped bit (and bz2's or lzma's decompressor would raise errors of its own).
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def load_arrays(path):
    """Load an .npz file written by save_arrays into a {name: NumPy array} dict.

    A file that is not such an .npz -- truncated, damaged, or of another kind -- raises one
    ValueError naming it; a missing or unreadable file raises the usual OSError.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    # Not numpy.load: given anything but a zip, it guesses .npy or pickle, and advises an
    # unsafe pickle load for random bytes. Here only an archive of plain arrays is accepted.
    if not raw.startswith(ZIP_MAGIC):
        start = f"starts with {raw[:8]!r}, an .npz with {ZIP_MAGIC!r}" if raw else "is empty"
        raise ValueError(f"{path}: not a minigan file (it {start})")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            # zipfile reads the directory by its length in bytes and ignores the member count
            # at the end of the file: a flipped length field can make one entry swallow the
            # next, and the file would load an array short without this check.
            if len(members) != _member_count(raw):
                raise zipfile.BadZipFile(f"{len(members)} members found, "
                                         f"{_member_count(raw)} announced")
            arrays = {}
            for member in members:
                name = member.filename
                if not name.endswith(".npy") or member.compress_type not in METHODS:
                    raise ValueError(f"member {name!r} is not an .npy array as numpy.savez "
                                     f"writes it (compression method {member.compress_type})")
                # archive.read checks the member's CRC-32: a flipped bit in an array or its
                # header is caught here, not loaded as a wrong value or a wrong shape.
                arrays[name[:-len(".npy")]] = _npy_array(archive.read(member), name)
            return arrays
    except DAMAGE as error:
        raise ValueError(f"{path}: not a minigan file, or a damaged or truncated one "
                         f"({type(error).__name__}: {error})") from None


def _member_count(raw):
    """The member count in a zip's end record (after its signature: 2 + 2 bytes of disk
    numbers, 2 of members on this disk, then 2 of members in all, little-endian)."""
    end = raw.rfind(b"PK\x05\x06")
    return int.from_bytes(raw[end + 10:end + 12], "little")


def _npy_array(data, name):
    """The array in an .npy file's bytes (numpy.lib.format: magic, header, raw data)."""
    stream = io.BytesIO(data)
    if numpy.lib.format.read_magic(stream) != (1, 0):     # what numpy.save writes for us
        raise ValueError(f"member {name!r} is not a version 1.0 .npy array")
    shape, fortran_order, dtype = numpy.lib.format.read_array_header_1_0(stream)
    if dtype.hasobject:   # pickled Python objects: minigan never writes them, never unpickles
        raise ValueError(f"member {name!r} holds Python objects, not numbers")
    count, left = math.prod(shape), len(data) - stream.tell()
    if left != count * dtype.itemsize:
        raise ValueError(f"member {name!r}: an array of shape {shape} and type {dtype} needs "
                         f"{count * dtype.itemsize} bytes, the member has {left}")
    array = numpy.frombuffer(data, dtype, count=count, offset=stream.tell())
    # copy: frombuffer views the immutable bytes; callers may write into what they load.
    return array.reshape(shape, order="F" if fortran_order else "C").copy()
