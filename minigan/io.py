"""Saving arrays without ever leaving a half-written file, and loading them without trusting it.

Files always live on the host, so this module uses NumPy directly (no device arrays reach it).
A save writes to a temporary file in the target's folder and then renames it over the target:
on POSIX the rename is atomic, so a crash or a full disk mid-write leaves the previous file
intact and never a truncated one.

A load trusts nothing in the file before it has checked it. An .npz file is a zip archive of
.npy files, and a zip member says itself how large it inflates: a 1 MB member of deflated zeros
can inflate to 1 GiB (a "zip bomb"). So load_arrays compares sizes before it inflates anything:

- all members together may inflate to at most MAX_INFLATION times the file's own size (or
  SMALL_FILE_ROOM, for a small file). numpy.savez, which save_arrays uses, stores arrays as
  they are, so a minigan file's members never take more than the file itself;
- a caller that knows what the file must hold (a network knows its weights' shapes) passes
  them: each such member's .npy header -- its first bytes, read as a stream -- is compared
  with them before the member's data is read.

zipfile never hands out more bytes than a member's entry says it holds, so these checks bound
the memory a load takes, whatever the file's bytes say.
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
# The zip bomb rule (the module's docstring): the arrays of a file of n bytes may take at most
# max(MAX_INFLATION * n, SMALL_FILE_ROOM) bytes once inflated.
MAX_INFLATION = 20
SMALL_FILE_ROOM = 16 * 2 ** 20       # 16 MiB


class FileRefused(ValueError):
    """A file that is a sound zip archive but not one load_arrays may load (its message names
    the file already)."""


def load_arrays(path, expected=None, only=None):
    """Load an .npz file written by save_arrays into a {name: NumPy array} dict.

    expected: {name: (shape, dtype)}, arrays the file must hold, each with this shape and a dtype
    of the same kind (a float for a float: load_state_dict casts float64 weights to float32).
    Other members are allowed. only: the names to load (the others are not read, only their
    entries in the zip directory are checked); None for all.

    Checked before any member is inflated: the members may inflate to at most MAX_INFLATION
    times the file's size in all, or SMALL_FILE_ROOM when that is larger; each expected
    member's .npy header (shape and dtype) must match. A file that is not such an .npz --
    truncated, damaged, a zip bomb, of another kind, not what was expected -- raises one
    ValueError naming it; so does a folder. A missing or unreadable file raises the usual
    OSError.
    """
    path = os.fspath(path)
    if os.path.isdir(path):          # open() would say "Is a directory", without a way out
        raise ValueError(f"{path} is a folder, not a file: give the checkpoint.npz (or "
                         f"generator.npz) inside it")
    with open(path, "rb") as f:
        raw = f.read()
    # Not numpy.load: given anything but a zip, it guesses .npy or pickle, and advises an
    # unsafe pickle load for random bytes. Here only an archive of plain arrays is accepted.
    if not raw.startswith(ZIP_MAGIC):
        start = f"starts with {raw[:8]!r}, an .npz with {ZIP_MAGIC!r}" if raw else "is empty"
        raise ValueError(f"{path}: not a minigan file (it {start})")
    expected = expected or {}
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            # zipfile reads the directory by its length in bytes and ignores the member count
            # at the end of the file: a flipped length field can make one entry swallow the
            # next, and the file would load an array short without this check.
            if len(members) != _member_count(raw):
                raise zipfile.BadZipFile(f"{len(members)} members found, "
                                         f"{_member_count(raw)} announced")
            names = [_array_name(member) for member in members]
            _check_sizes(path, members, len(raw))
            _check_present(path, names, expected)
            return {name: _read_array(archive, member, name, expected.get(name), path)
                    for name, member in zip(names, members) if only is None or name in only}
    except FileRefused:
        raise
    except DAMAGE as error:
        raise ValueError(f"{path}: not a minigan file, or a damaged or truncated one "
                         f"({type(error).__name__}: {error})") from None


def _member_count(raw):
    """The member count in a zip's end record (after its signature: 2 + 2 bytes of disk
    numbers, 2 of members on this disk, then 2 of members in all, little-endian)."""
    end = raw.rfind(b"PK\x05\x06")
    return int.from_bytes(raw[end + 10:end + 12], "little")


def _array_name(member):
    """The array's name ("G/0.weight" for the member "G/0.weight.npy"), if it is one."""
    if not member.filename.endswith(".npy") or member.compress_type not in METHODS:
        raise ValueError(f"member {member.filename!r} is not an .npy array as numpy.savez "
                         f"writes it (compression method {member.compress_type})")
    return member.filename[:-len(".npy")]


def _check_sizes(path, members, file_size):
    """Refuse a file whose members would inflate past the limit (the module's docstring), from
    the sizes the zip directory announces: nothing is inflated yet."""
    limit = max(MAX_INFLATION * file_size, SMALL_FILE_ROOM)
    total = 0
    for member in members:
        total += member.file_size
        if total > limit:
            raise FileRefused(f"{path}: not a minigan file: member {member.filename!r} would "
                              f"inflate to {_size(member.file_size)}, and a file of "
                              f"{_size(file_size)} may hold at most {_size(limit)} of arrays "
                              f"({MAX_INFLATION} times its size; {_size(SMALL_FILE_ROOM)} for a "
                              f"smaller file)")


def _check_present(path, names, expected):
    """Refuse a file that lacks an expected array, before anything is read."""
    missing = [name for name in expected if name not in names]
    if missing:
        shape, dtype = expected[missing[0]]
        raise FileRefused(f"{path}: has no array {missing[0]!r} (a {shape} {dtype} array was "
                          f"expected; {len(missing)} of the {len(expected)} expected are not "
                          f"there)")


def _size(n):
    return f"{n} bytes" if n < 2 ** 20 else f"{n / 2 ** 20:.1f} MiB"


def _read_array(archive, member, name, expected, path):
    """One member's array, read as a stream: first its .npy header (numpy.lib.format: magic,
    version, header), compared with `expected`, then exactly the bytes that header announces."""
    with archive.open(member) as stream:
        if numpy.lib.format.read_magic(stream) != (1, 0):     # what numpy.save writes for us
            raise ValueError(f"member {member.filename!r} is not a version 1.0 .npy array")
        shape, fortran_order, dtype = numpy.lib.format.read_array_header_1_0(stream)
        if dtype.hasobject:   # pickled Python objects: minigan never writes them, never unpickles
            raise ValueError(f"member {member.filename!r} holds Python objects, not numbers")
        if expected is not None:
            _compare(path, name, shape, dtype, expected)
        count, left = math.prod(shape), member.file_size - stream.tell()
        if left != count * dtype.itemsize:
            raise ValueError(f"member {member.filename!r}: an array of shape {shape} and type "
                             f"{dtype} needs {count * dtype.itemsize} bytes, the member has "
                             f"{left}")
        # Reading the member's last byte makes zipfile check its CRC-32: a flipped bit in an
        # array or its header is caught here, not loaded as a wrong value or a wrong shape.
        data = stream.read(left)
        if len(data) != left:
            raise EOFError(f"member {member.filename!r} ends after {len(data)} of its "
                           f"{left} bytes of data")
    array = numpy.frombuffer(data, dtype, count=count)
    # copy: frombuffer views the immutable bytes; callers may write into what they load.
    return array.reshape(shape, order="F" if fortran_order else "C").copy()


def _compare(path, name, shape, dtype, expected):
    want_shape, want_dtype = expected
    want_dtype = numpy.dtype(want_dtype)
    if tuple(shape) != tuple(want_shape) or dtype.kind != want_dtype.kind:
        raise FileRefused(f"{path}: {name} is a {tuple(shape)} {dtype} array, expected a "
                          f"{tuple(want_shape)} {want_dtype} one")
