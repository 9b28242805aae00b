"""Image data sets: MNIST and Fashion-MNIST (IDX files), and scikit-learn's 8x8 digits.

Images come back as float32 (N, 1, H, W) scaled to [-1, 1], the range of a tanh generator's
output, and labels as int64 (N,), both on a device. Files are read on the host with NumPy (as in
io.py: files always live on the host); only the finished arrays are moved to the device.

The IDX format (LeCun's MNIST page) is tiny: a 4-byte magic number 0x00 0x00 <type> <ndim>, then
ndim big-endian uint32 sizes, then the data in C order. MNIST uses type 0x08 (unsigned byte):
images are 3-D (N, rows, cols), magic 0x00000803; labels are 1-D (N,), magic 0x00000801.

Expected layout of a data folder (what download_mnist writes; unzipped files work too):

    folder/train-images-idx3-ubyte.gz   folder/train-labels-idx1-ubyte.gz
    folder/t10k-images-idx3-ubyte.gz    folder/t10k-labels-idx1-ubyte.gz
"""
import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib

# Host-side only: the files are parsed on the host with NumPy; arrays reach the device through
# backend.to_device, so no NumPy function here ever sees a CuPy array.
import numpy

from . import backend
from .arguments import check_int
from .io import atomic_write

KINDS = ("mnist", "fashion")
SPLITS = ("train", "test")

DIGIT_CLASSES = tuple(str(d) for d in range(10))
# Label order from the Fashion-MNIST README (github.com/zalandoresearch/fashion-mnist, "Labels").
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# File names shared by MNIST and Fashion-MNIST (Fashion-MNIST is a drop-in replacement).
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Where download_mnist fetches from. MNIST: the first mirror of torchvision's datasets/mnist.py
# (yann.lecun.com, the original, now often refuses downloads). Fashion-MNIST: the download links
# of its README (plain http; the MD5 check below is what guards the content).
MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

# MD5 of each official .gz file. MNIST: torchvision's datasets/mnist.py (MNIST.resources), the
# digests everyone uses since LeCun's page publishes none. Fashion-MNIST: the table in its README
# (github.com/zalandoresearch/fashion-mnist, "Get the Data").
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

GZIP_MAGIC = b"\x1f\x8b"     # the first two bytes of every gzip stream
IDX_UBYTE = 0x08             # the only IDX data type MNIST uses (others: 0x09 int8 ... 0x0E f64)


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {KINDS}")


# ---------------------------------------------------------------- reading IDX files

def _idx_bytes(path):
    """(the file's bytes, gunzipped if compressed; how to name them in an error)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such IDX file")
    with open(path, "rb") as f:
        raw = f.read()
    # Detect compression by content, not by name: a renamed or hand-unzipped file still loads.
    if raw[:2] != GZIP_MAGIC:
        return raw, path
    try:
        return gzip.decompress(raw), f"{path} (after gunzip)"
    except (OSError, EOFError, zlib.error) as exc:   # bad header, cut short, bad CRC
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def read_idx(path, ndim=None):
    """The uint8 array stored in an IDX file (raw or gzip-compressed), as a host NumPy array.

    ndim, when given, is the number of dimensions the caller expects (3 for images, 1 for
    labels): a labels file passed where images belong is caught here, by its magic number.
    """
    raw, where = _idx_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{where}: truncated IDX file: {len(raw)} bytes, "
                         f"not even the 4-byte magic number")
    magic = int.from_bytes(raw[:4], "big")
    if raw[:2] != b"\x00\x00":
        raise ValueError(f"{where}: not an IDX file: magic number 0x{magic:08X} should start "
                         f"with two zero bytes (MNIST images are 0x00000803, labels 0x00000801)")
    if raw[2] != IDX_UBYTE:
        raise ValueError(f"{where}: magic number 0x{magic:08X} has data type 0x{raw[2]:02X}; "
                         f"only 0x08 (unsigned byte, as in MNIST) is supported")
    dims = raw[3]
    if dims == 0 or (ndim is not None and dims != ndim):
        want = "at least 1" if ndim is None else f"{ndim} (magic 0x{0x800 + ndim:08X})"
        raise ValueError(f"{where}: magic number 0x{magic:08X} says {dims} dimensions, "
                         f"expected {want}")

    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{where}: truncated IDX file: the header needs {header} bytes "
                         f"for {dims} sizes, the file has {len(raw)}")
    shape = tuple(int(s) for s in numpy.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    expected = int(numpy.prod(shape, dtype=object))   # Python ints: no overflow on bad sizes
    actual = len(raw) - header
    size_text = " x ".join(map(str, shape))
    if actual < expected:
        raise ValueError(f"{where}: truncated IDX file: sizes {size_text} need {expected} "
                         f"data bytes, found {actual}")
    if actual > expected:
        raise ValueError(f"{where}: inconsistent IDX sizes: {size_text} need {expected} data "
                         f"bytes but the file has {actual} ({actual - expected} left over)")
    # frombuffer views the immutable bytes (a read-only array); copy so callers may write.
    return numpy.frombuffer(raw, dtype=numpy.uint8, offset=header).reshape(shape).copy()


def _find(folder, name, what, kind):
    """The path of `name` or `name`.gz in folder, or an error that says how to get it."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"no {what} file in {os.path.abspath(folder)}: expected {name}.gz or {name} there. "
        f"Download the {kind} files with download_mnist({str(folder)!r}, kind={kind!r}) "
        f"(the examples do it with --download), or put the four official IDX files "
        f"(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        f"t10k-labels-idx1-ubyte.gz) directly in that folder.")


def identify_mnist(folder):
    """"mnist" or "fashion" when folder's train labels are that data set's official .gz file
    (its MD5), else None: the two share their file names, so only the content tells them apart."""
    path = os.path.join(folder, FILES["train"][1] + ".gz")
    if not os.path.isfile(path):
        return None
    digest = file_md5(path)                   # 29 KB: quick
    return next((kind for kind, table in MD5.items()
                 if table[FILES["train"][1] + ".gz"] == digest), None)


def class_names(folder):
    """The ten class names for the data in `folder`: Fashion-MNIST's names if identify_mnist
    finds its files there, else the class numbers "0".."9" (the digits, for MNIST)."""
    return FASHION_CLASSES if identify_mnist(folder) == "fashion" else DIGIT_CLASSES


def load_mnist(folder, split="train", kind="mnist", device=None):
    """MNIST or Fashion-MNIST from IDX files in `folder`: (images, labels) on `device`.

    images: float32 (N, 1, 28, 28), pixel 0 -> -1 and 255 -> +1; labels: int64 (N,) in 0..9
    (names in DIGIT_CLASSES or FASHION_CLASSES). N is 60000 for "train", 10000 for "test".
    """
    _check_kind(kind)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {SPLITS}")
    device = backend.check_device(device or backend.default_device())
    image_name, label_name = FILES[split]
    image_path = _find(folder, image_name, f"{split} images", kind)
    label_path = _find(folder, label_name, f"{split} labels", kind)

    pixels = read_idx(image_path, ndim=3)
    labels = read_idx(label_path, ndim=1)
    if len(pixels) != len(labels):
        raise ValueError(f"{image_path} has {len(pixels)} images but {label_path} has "
                         f"{len(labels)} labels: the two files do not belong together")
    if pixels.shape[1:] != (28, 28):
        raise ValueError(f"{image_path}: images are {pixels.shape[1]} x {pixels.shape[2]}, "
                         f"MNIST's are 28 x 28")
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{label_path}: label {labels.max()} is outside 0..9")

    # Move the uint8 pixels (4x smaller than float32) and scale on the device.
    # x / 127.5 - 1 maps 0 -> -1 and 255 -> +1 exactly (127.5 and 2.0 are exact in float32).
    x = backend.to_device(pixels, device).astype("float32")
    x /= 127.5
    x -= 1.0
    return x.reshape(len(x), 1, 28, 28), backend.to_device(labels.astype(numpy.int64), device)


# ---------------------------------------------------------------- downloading

def file_md5(path):
    """Hex MD5 of a file, read in blocks (the train images are 26 MB compressed)."""
    # usedforsecurity=False: MD5 only checks integrity here, and FIPS-mode Pythons refuse
    # MD5 without this flag.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(folder, kind="mnist", base_url=None, log=print):
    """Download the four official .gz files of MNIST or Fashion-MNIST into `folder`.

    Each file's MD5 is checked against the published one (table MD5) before it is moved into
    place, so `folder` only ever holds complete, verified files; files already there with the
    right digest are not downloaded again. base_url replaces the default mirror (MIRRORS[kind]).
    log receives one line per file (None: silent). Returns the four paths.
    """
    _check_kind(kind)
    base = base_url or MIRRORS[kind]
    if not base.endswith("/"):
        base += "/"
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, md5 in MD5[kind].items():
        path = os.path.join(folder, name)
        paths.append(path)
        if os.path.isfile(path) and file_md5(path) == md5:
            if log:
                log(f"{path}: already present, MD5 ok")
            continue
        url = base + name
        if log:
            log(f"downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                atomic_write(path, lambda f: _copy_checked(response, f, path, url, md5))
        except urllib.error.URLError as exc:
            raise OSError(f"could not download {url} to {path}: {exc.reason}") from exc
    return paths


def _copy_checked(source, target, path, url, md5):
    """Copy source to target, hashing as it goes; raise on a digest mismatch.

    Raising inside atomic_write's callback makes it delete the temporary file: the bad
    download never appears under the real name (and a good older file there is kept).
    """
    digest = hashlib.md5(usedforsecurity=False)
    for block in iter(lambda: source.read(1 << 20), b""):
        digest.update(block)
        target.write(block)
    got = digest.hexdigest()
    if got != md5:
        raise ValueError(f"{path}: downloaded from {url} with MD5 {got}, but the published "
                         f"MD5 is {md5}; the download was deleted. Retry, or pass another "
                         f"base_url if this mirror serves different files.")


# ---------------------------------------------------------------- scikit-learn's digits

def load_digits(device=None):
    """scikit-learn's 1797 handwritten digits, 8x8 (bundled with sklearn, no download).

    images: float32 (N, 1, 8, 8), ink 0 -> -1 and 16 -> +1; labels: int64 (N,) in 0..9.
    Small enough to train a GAN on in minutes on a CPU.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as exc:
        raise ImportError("load_digits needs scikit-learn, which ships the 8x8 digits: "
                          "pip install scikit-learn") from exc
    device = backend.check_device(device or backend.default_device())
    bunch = sklearn_digits()
    pixels = numpy.asarray(bunch.images, dtype=numpy.float32)    # (N, 8, 8), values 0..16
    x = (pixels / 8.0 - 1.0).reshape(len(pixels), 1, 8, 8)     # exact: 16 / 8 - 1 = 1
    return (backend.to_device(x, device),
            backend.to_device(numpy.asarray(bunch.target, dtype=numpy.int64), device))


# ---------------------------------------------------------------- minibatches

def batches(images, labels, batch_size, rng, drop_last=True):
    """One epoch of shuffled minibatches: an iterator of (images[idx], labels[idx]).

    A fresh permutation is drawn from rng (a minigan.random.Random) at each call, so every
    epoch visits the samples in a new order, and the same seed gives the same orders.
    drop_last=True skips the final short batch (so every batch has batch_size samples);
    False yields it too, and every sample appears exactly once. labels may be None.
    """
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ValueError(f"batches: {n} images but {len(labels)} labels")
    check_int("batches", "batch_size", batch_size)
    if drop_last and batch_size > n:
        raise ValueError(f"batches: batch_size {batch_size} > {n} samples with drop_last=True "
                         f"would give an epoch without a single batch")
    # A random permutation without a permutation method: sort uniform draws. float64 so ties
    # (which would leave tied samples in index order) are practically impossible; float32 has
    # only 2**24 values and 60000 draws would share some.
    order = rng.xp.argsort(rng.uniform((n,), dtype="float64"))
    order = backend.to_device(order, backend.device_of(images))   # index where the data is
    stop = n - n % batch_size if drop_last else n
    return _batches(images, labels, order, batch_size, stop)


def _batches(images, labels, order, batch_size, stop):
    # Separate generator so batches() checks its arguments and draws the permutation when
    # called, not at the first next().
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield images[idx], (None if labels is None else labels[idx])
