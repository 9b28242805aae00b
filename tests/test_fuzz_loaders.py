"""Loader fuzz tests (issue 13): damaged files give a correct load or one clear ValueError.

Small valid files -- IDX (raw and gzip-compressed) as read by read_idx and load_mnist, and .npz
as written by save_arrays and read by load_arrays (checkpoints and saved models) -- are cut
short at random lengths, have random bytes flipped, and are replaced by empty, random and
foreign files. Every case must end in one of two ways:

- a load whose arrays have the shape and dtype of the original (a flipped byte inside IDX pixel
  data, or in a zip field nothing reads, may well not matter);
- a ValueError whose message names the file and says what is wrong, and never suggests
  NumPy's unsafe pickle load.

Any other exception (BadZipFile, EOFError, zlib.error, KeyError, ...) fails the test, and so
does a case that runs longer than a few seconds: the inputs are tiny, so a slow case is a loop.
The seed is fixed: the same cases run everywhere.
"""
import contextlib
import gzip
import pickle
import signal
import threading
import zipfile

import numpy as np
import pytest

from minigan.images import load_mnist, read_idx
from minigan.io import load_arrays, save_arrays
from test_images import idx_bytes, tiny_mnist

SEED = 13
CASE_SECONDS = 5        # each case takes milliseconds; longer means the loader is looping

# What a refusal must say (one of these), per loader.
IDX_PROBLEMS = ("truncated", "corrupt", "not an IDX file", "has data type", "dimensions, expected",
                "inconsistent IDX sizes", "outside 0..9", "MNIST's are 28 x 28",
                "do not belong together")
NPZ_PROBLEMS = ("not a minigan file",)


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    """Raise Hang in the loader if it runs past `seconds` (POSIX main thread; else no limit)."""
    main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not main_thread:
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def damaged_copies(data, rng, cuts, flips):
    """(description, bytes): the empty file, `cuts` truncations, `flips` one-byte flips.

    Half the flips land anywhere, half in the structure: the first 64 bytes (IDX and gzip
    headers, the first zip entry and .npy header) and the last 400 (gzip's CRC and size, the
    zip directory), where a uniform draw over the data would go less often.
    """
    cases = [("empty file", b"")]
    for n in sorted(rng.choice(len(data), size=min(cuts, len(data)), replace=False)):
        cases.append((f"cut to {n} of {len(data)} bytes", data[:n]))
    structure = sorted(set(range(min(64, len(data)))) | set(range(max(0, len(data) - 400),
                                                                   len(data))))
    for i in range(flips):
        where = int(rng.integers(len(data))) if i % 2 else int(rng.choice(structure))
        mask = int(rng.integers(1, 256))
        flipped = bytearray(data)
        flipped[where] ^= mask
        cases.append((f"byte {where} of {len(data)} ^= 0x{mask:02X}", bytes(flipped)))
    return cases


def garbage(rng, sizes=(1, 3, 8, 100, 1000)):
    return [(f"{n} random bytes", rng.bytes(n)) for n in sizes]


def run_cases(path, cases, load, check_load, problems):
    """Write each case to `path`, load it; return (loaded, refused) counts or fail with a list
    of the cases that ended otherwise."""
    outcomes = {"loaded": 0, "refused": 0}
    failures = []
    for description, data in cases:
        path.write_bytes(data)
        try:
            with time_limit(CASE_SECONDS):
                result = load(path)
            if check_load is None:
                raise AssertionError("loaded, but this file should be refused")
            check_load(result)
            outcomes["loaded"] += 1
        except ValueError as error:
            message = str(error)
            if (str(path) not in message or not any(p in message for p in problems)
                    or "allow_pickle" in message or "pickle.load" in message):
                failures.append(f"{description}: unclear message: {message}")
            else:
                outcomes["refused"] += 1
        except Exception as error:          # anything else, Hang included, is a failure
            failures.append(f"{description}: {type(error).__name__}: {error}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures[:30])
    return outcomes


# ---------------------------------------------------------------- IDX: read_idx

def same_shape_and_type(expected):
    """A load check: the shape and dtype of `expected`, at most one element different."""
    def check(got):
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.count_nonzero(got != expected) <= 1
    return check


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_survives_damage(tmp_path, compress):
    rng = np.random.default_rng([SEED, int(compress)])
    for array in (np.arange(60, dtype=np.uint8).reshape(3, 4, 5), np.arange(7, dtype=np.uint8)):
        data = idx_bytes(array)
        data = gzip.compress(data, mtime=0) if compress else data
        cases = damaged_copies(data, rng, cuts=30, flips=70)
        outcomes = run_cases(tmp_path / "file", cases, read_idx,
                             same_shape_and_type(array), IDX_PROBLEMS)
        assert outcomes["loaded"] > 0 and outcomes["refused"] > 0   # both ends are reached
    # A wrong type for the file: the loader must say so, not guess.
    foreign = garbage(rng) + [
        ("an .npz file", npz_bytes(tmp_path)),
        ("an HTML error page", b"<html><body>404 Not Found</body></html>"),
        ("a gzip of text", gzip.compress(b"hello, world\n")),
        ("a gzip of nothing", gzip.compress(b"")),
        ("the gzip magic alone", b"\x1f\x8b"),
        ("labels as images", idx_bytes(np.arange(4))),
    ]
    run_cases(tmp_path / "file", foreign, lambda p: read_idx(p, ndim=3), None, IDX_PROBLEMS)


def test_load_mnist_survives_damage(tmp_path):
    """The whole chain: find the files, read both, check counts, sizes and label range."""
    rng = np.random.default_rng([SEED, 2])
    pixels, labels = tiny_mnist(2)
    files = {tmp_path / "t10k-images-idx3-ubyte": idx_bytes(pixels),
             tmp_path / "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels), mtime=0)}

    def check(result):
        x, y = result
        assert x.shape == (2, 1, 28, 28) and x.dtype == np.float32
        assert y.shape == (2,) and y.dtype == np.int64

    def load(path):
        return load_mnist(tmp_path, split="test", device="cpu")

    total = {"loaded": 0, "refused": 0}
    for damaged in files:                       # damage one file, the other one is sound
        for path, data in files.items():
            path.write_bytes(data)
        cases = damaged_copies(files[damaged], rng, cuts=15, flips=40)
        for outcome, count in run_cases(damaged, cases, load, check, IDX_PROBLEMS).items():
            total[outcome] += count
    assert total["loaded"] > 0 and total["refused"] > 0


# ---------------------------------------------------------------- .npz: load_arrays

def checkpoint_like():
    """Arrays of the kinds a checkpoint holds: float32 weights, int64 and float64 scalars and
    columns, an empty column, a JSON config as a 0-d string."""
    rng = np.random.default_rng(0)
    return {"G/0.weight": rng.normal(size=(3, 4)).astype(np.float32),
            "G/0.bias": np.zeros(4, np.float32),
            "steps_done": np.asarray(12, np.int64),
            "history/loss_d": rng.normal(size=5),
            "history/empty": np.zeros(0),
            "__config__": np.asarray('{"class": "Generator", "kwargs": {"latent_dim": 2}}')}


def npz_bytes(tmp_path, arrays=None):
    path = tmp_path / "made.npz"
    save_arrays(path, checkpoint_like() if arrays is None else arrays)
    return path.read_bytes()


def same_arrays(expected):
    def check(got):
        assert list(got) == list(expected)
        for name, array in expected.items():
            assert got[name].shape == array.shape and got[name].dtype == array.dtype, name
            assert np.array_equal(got[name], array), name      # the zip's CRC-32 guards values
    return check


def test_load_arrays_survives_damage(tmp_path):
    rng = np.random.default_rng([SEED, 3])
    data = npz_bytes(tmp_path)
    cases = damaged_copies(data, rng, cuts=60, flips=160)
    outcomes = run_cases(tmp_path / "checkpoint.npz", cases, load_arrays,
                         same_arrays(checkpoint_like()), NPZ_PROBLEMS)
    assert outcomes["loaded"] > 0 and outcomes["refused"] > 0


def foreign_npz_cases(tmp_path, rng):
    def zipped(members):
        path = tmp_path / "other.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
        return path.read_bytes()

    one_array = tmp_path / "one.npy"
    np.save(one_array, np.arange(3.0))
    objects = tmp_path / "objects.npz"
    np.savez(objects, a=np.array([{"x": 1}, None], dtype=object))   # pickled inside
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, a=np.arange(3.0))
    return garbage(rng) + [
        # What made NumPy suggest allow_pickle=True (issue 13, point 3).
        ("a pickle", pickle.dumps({"G/0.weight": [1.0, 2.0]})),
        ("an .npy file", one_array.read_bytes()),
        ("an .npz of object arrays", objects.read_bytes()),
        ("an IDX file", idx_bytes(np.arange(4))),
        ("a gzip file", gzip.compress(b"{}")),
        ("a JSON file", b'{"epochs": 3}\n'),
        ("a zip of text", zipped({"readme.txt": "hello"})),
        ("an empty zip", zipped({})),
        ("a zip with a bad .npy", zipped({"a.npy": b"\x93NUMPY garbage"})),
        ("a zip with an .npy and more bytes", zipped({"a.npy": one_array.read_bytes() + b"!"})),
        ("a zip with a short .npy", zipped({"a.npy": one_array.read_bytes()[:-1]})),
        ("the zip magic alone", b"PK\x03\x04"),
    ], compressed.read_bytes()


def test_load_arrays_refuses_foreign_files(tmp_path):
    cases, compressed = foreign_npz_cases(tmp_path, np.random.default_rng([SEED, 4]))
    outcomes = run_cases(tmp_path / "checkpoint.npz", cases, load_arrays, None, NPZ_PROBLEMS)
    assert outcomes == {"loaded": 0, "refused": len(cases)}
    path = tmp_path / "compressed.npz"          # numpy.savez_compressed's files load too
    path.write_bytes(compressed)
    assert np.array_equal(load_arrays(path)["a"], np.arange(3.0))


def test_missing_files_stay_file_not_found(tmp_path):
    # A missing file is not a damaged one: the OSError a caller (or the CLI) expects.
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "nothing.npz")
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing")


def test_a_sound_file_loads_exactly(tmp_path):
    arrays = checkpoint_like()
    arrays["fortran"] = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    save_arrays(tmp_path / "ok.npz", arrays)
    got = load_arrays(tmp_path / "ok.npz")
    same_arrays(arrays)(got)
    got["G/0.bias"][0] = 1.0                     # writable arrays, not views of the file's bytes
