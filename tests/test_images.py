"""Image data sets, on small IDX files written here byte by byte (no network, no real MNIST)."""
import gzip
import os
import sys

import numpy as np
import pytest

from minigan import backend, images
from minigan.images import (DIGIT_CLASSES, FASHION_CLASSES, batches, download_mnist, file_md5,
                            load_digits, load_mnist, read_idx)
from minigan.random import Random


def idx_bytes(array, type_byte=0x08):
    """An IDX file's bytes, built from the format's definition rather than from read_idx."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.tobytes()


def write(path, data, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def tiny_mnist(n=5, seed=0):
    """n random 28x28 uint8 images that include 0 and 255, and labels 0..9."""
    gen = np.random.default_rng(seed)
    pixels = gen.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    return pixels, gen.integers(0, 10, size=n).astype(np.uint8)


def write_split(folder, split="train", n=5, compress=True, n_labels=None):
    pixels, labels = tiny_mnist(n)
    labels = labels if n_labels is None else tiny_mnist(n_labels)[1]
    image_name, label_name = images.FILES[split]
    suffix = ".gz" if compress else ""
    write(folder / (image_name + suffix), idx_bytes(pixels), compress)
    write(folder / (label_name + suffix), idx_bytes(labels), compress)
    return pixels, labels


# ---------------------------------------------------------------- read_idx

@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    pixels, labels = tiny_mnist(3)
    got = read_idx(write(tmp_path / "im", idx_bytes(pixels), compress), ndim=3)
    assert got.dtype == np.uint8 and np.array_equal(got, pixels)
    assert np.array_equal(read_idx(write(tmp_path / "lb", idx_bytes(labels), compress)), labels)
    got[0, 0, 0] = 7                                    # a writable copy, not a bytes view


def test_gzip_detected_by_content_not_name(tmp_path):
    pixels, _ = tiny_mnist(2)
    path = write(tmp_path / "images-no-extension", idx_bytes(pixels), compress=True)
    assert np.array_equal(read_idx(path), pixels)
    raw_named_gz = write(tmp_path / "images.gz", idx_bytes(pixels), compress=False)
    assert np.array_equal(read_idx(raw_named_gz), pixels)


def test_truncated_data(tmp_path):
    data = idx_bytes(tiny_mnist(2)[0])
    path = write(tmp_path / "cut", data[:-100])
    with pytest.raises(ValueError, match=r"cut: truncated IDX file: sizes 2 x 28 x 28 need "
                                         r"1568 data bytes, found 1468"):
        read_idx(path)


def test_truncated_header(tmp_path):
    with pytest.raises(ValueError, match="header needs 16 bytes"):
        read_idx(write(tmp_path / "h", bytes([0, 0, 8, 3, 0, 0, 0, 2])))
    with pytest.raises(ValueError, match="not even the 4-byte magic"):
        read_idx(write(tmp_path / "m", b"\x00\x00"))


def test_truncated_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(tiny_mnist(2)[0]))
    path = write(tmp_path / "cut.gz", blob[:len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_truncated_inside_gzip_says_so(tmp_path):
    path = write(tmp_path / "short.gz", idx_bytes(tiny_mnist(2)[0])[:-1], compress=True)
    with pytest.raises(ValueError, match=r"short\.gz \(after gunzip\): truncated"):
        read_idx(path)


def test_wrong_magic_shown_in_hex(tmp_path):
    html = write(tmp_path / "page", b"<html>404 not found</html>")   # a mirror's error page
    with pytest.raises(ValueError, match=r"page: not an IDX file: magic number 0x3C68746D"):
        read_idx(html)
    floats = write(tmp_path / "floats", idx_bytes(np.zeros(4), type_byte=0x0D))
    with pytest.raises(ValueError, match=r"magic number 0x00000D01 has data type 0x0D"):
        read_idx(floats)


def test_wrong_dimension_count(tmp_path):
    labels = write(tmp_path / "labels", idx_bytes(np.arange(4)))
    with pytest.raises(ValueError, match=r"labels: magic number 0x00000801 says 1 dimensions, "
                                         r"expected 3 \(magic 0x00000803\)"):
        read_idx(labels, ndim=3)
    with pytest.raises(ValueError, match="says 0 dimensions"):
        read_idx(write(tmp_path / "zero", bytes([0, 0, 8, 0])))


def test_sizes_disagree_with_data(tmp_path):
    path = write(tmp_path / "long", idx_bytes(np.arange(4)) + b"\x00\x00")
    with pytest.raises(ValueError, match=r"long: inconsistent IDX sizes: 4 need 4 data bytes "
                                         r"but the file has 6 \(2 left over\)"):
        read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here: no such IDX file"):
        read_idx(tmp_path / "nothing-here")


# ---------------------------------------------------------------- load_mnist

@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist(tmp_path, device, split, compress):
    pixels, labels = write_split(tmp_path, split, n=5, compress=compress)
    x, y = load_mnist(tmp_path, split=split, device=device)
    assert backend.device_of(x) == device and backend.device_of(y) == device
    x, y = backend.to_numpy(x), backend.to_numpy(y)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64 and np.array_equal(y, labels)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 0, 1] == 1.0      # exact, not approximately
    assert x.min() == -1.0 and x.max() == 1.0
    assert np.allclose(x[:, 0], pixels / 127.5 - 1, atol=1e-6)  # same pixels, same order


def test_image_label_count_mismatch_names_both_files(tmp_path):
    write_split(tmp_path, "train", n=5, n_labels=4)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz has 5 images but "
                                         r".*train-labels-idx1-ubyte\.gz has 4 labels"):
        load_mnist(tmp_path)


def test_labels_where_images_belong(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.arange(3)))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.arange(3)))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: .* says 1 dimensions"):
        load_mnist(tmp_path, split="test")


def test_not_28_by_28(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((2, 8, 8))))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.arange(2)))
    with pytest.raises(ValueError, match="images are 8 x 8, MNIST's are 28 x 28"):
        load_mnist(tmp_path, split="test")


def test_label_out_of_range(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(tiny_mnist(2)[0]))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes([3, 10]))
    with pytest.raises(ValueError, match="label 10 is outside 0..9"):
        load_mnist(tmp_path, split="test")


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "data", split="test", kind="fashion")
    message = str(info.value)
    assert "no test images file in" in message and str(tmp_path / "data") in message
    assert "expected t10k-images-idx3-ubyte.gz or t10k-images-idx3-ubyte" in message
    assert "download_mnist(" in message and "kind='fashion'" in message and "--download" in message
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(tiny_mnist(2)[0]))
    with pytest.raises(FileNotFoundError, match="no test labels file"):  # images alone: labels
        load_mnist(tmp_path, split="test")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_mnist(tmp_path, split="valid")
    with pytest.raises(ValueError, match="unknown kind 'kmnist'"):
        load_mnist(tmp_path, kind="kmnist")


def test_class_names():
    assert DIGIT_CLASSES == tuple("0123456789")
    assert len(FASHION_CLASSES) == 10 and len(set(FASHION_CLASSES)) == 10
    assert FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"
    assert FASHION_CLASSES[6] == "Shirt" and FASHION_CLASSES[7] == "Sneaker"


@pytest.mark.parametrize("kind, names", [("fashion", FASHION_CLASSES), ("mnist", DIGIT_CLASSES),
                                         (None, DIGIT_CLASSES)])
def test_class_names_come_from_the_files_digest(tmp_path, monkeypatch, kind, names):
    # MNIST and Fashion-MNIST share their file names: only the digest tells them apart.
    write_split(tmp_path)
    label_file = images.FILES["train"][1] + ".gz"
    if kind is not None:      # pretend these tiny files are the official ones of `kind`
        monkeypatch.setitem(images.MD5[kind], label_file, file_md5(tmp_path / label_file))
    assert images.identify_mnist(tmp_path) == kind
    assert images.class_names(tmp_path) == names


def test_uncompressed_files_are_not_identified(tmp_path):
    write_split(tmp_path, compress=False)
    assert images.identify_mnist(tmp_path) is None
    assert images.class_names(tmp_path) == DIGIT_CLASSES


# ---------------------------------------------------------------- download_mnist

@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local 'mirror' of four tiny .gz files, served by file:// URLs, and its digest table."""
    source = tmp_path / "mirror"
    source.mkdir()
    for split in ("train", "test"):
        write_split(source, split, n=3 if split == "test" else 6)
    table = {name: file_md5(source / name) for name in images.MD5["mnist"]}
    monkeypatch.setitem(images.MD5, "mnist", table)
    return source


def test_download_then_load(tmp_path, mirror):
    lines = []
    paths = download_mnist(tmp_path / "data", base_url=mirror.as_uri(), log=lines.append)
    assert [os.path.basename(p) for p in paths] == list(images.MD5["mnist"])
    for p in paths:
        assert (mirror / os.path.basename(p)).read_bytes() == open(p, "rb").read()
    assert len(lines) == 4 and all(line.startswith("downloading file://") for line in lines)
    assert not [f for f in os.listdir(tmp_path / "data") if f.endswith(".tmp")]
    x, y = load_mnist(tmp_path / "data", split="test", device="cpu")
    assert x.shape == (3, 1, 28, 28) and y.shape == (3,)


def test_wrong_digest_names_file_and_both_digests(tmp_path, mirror, monkeypatch):
    name = "t10k-labels-idx1-ubyte.gz"
    actual = images.MD5["mnist"][name]
    monkeypatch.setitem(images.MD5["mnist"], name, "0" * 32)
    with pytest.raises(ValueError) as info:
        download_mnist(tmp_path / "data", base_url=mirror.as_uri() + "/", log=None)
    message = str(info.value)
    assert name in message and actual in message and "0" * 32 in message
    left = sorted(os.listdir(tmp_path / "data"))
    assert name not in left and not [f for f in left if f.endswith(".tmp")]   # deleted
    assert len(left) == 3                                 # the good ones before it stay


def test_files_present_with_right_digest_are_skipped(tmp_path, mirror):
    data = tmp_path / "data"
    download_mnist(data, base_url=mirror.as_uri(), log=None)
    for f in os.listdir(mirror):
        os.remove(mirror / f)                             # the mirror is gone: no re-download
    lines = []
    download_mnist(data, base_url=mirror.as_uri(), log=lines.append)
    assert len(lines) == 4 and all("already present, MD5 ok" in line for line in lines)


def test_file_with_wrong_digest_is_downloaded_again(tmp_path, mirror):
    data = tmp_path / "data"
    download_mnist(data, base_url=mirror.as_uri(), log=None)
    bad = data / "train-images-idx3-ubyte.gz"
    bad.write_bytes(b"not the real file")
    lines = []
    download_mnist(data, base_url=mirror.as_uri(), log=lines.append)
    assert lines.count(f"downloading {mirror.as_uri()}/train-images-idx3-ubyte.gz") == 1
    assert bad.read_bytes() == (mirror / "train-images-idx3-ubyte.gz").read_bytes()


def test_unreachable_url_names_it(tmp_path, mirror):
    os.remove(mirror / "train-labels-idx1-ubyte.gz")
    with pytest.raises(OSError, match=r"could not download file://.*train-labels-idx1-ubyte\.gz"):
        download_mnist(tmp_path / "data", base_url=mirror.as_uri(), log=None)


def test_digest_tables_are_well_formed():
    for kind in images.KINDS:
        assert set(images.MD5[kind]) == {n + ".gz" for pair in images.FILES.values() for n in pair}
        assert all(len(d) == 32 and int(d, 16) >= 0 for d in images.MD5[kind].values())
        assert images.MIRRORS[kind].endswith("/")


# ---------------------------------------------------------------- scikit-learn digits

def test_load_digits(device):
    pytest.importorskip("sklearn")
    x, y = load_digits(device=device)
    assert backend.device_of(x) == device
    x, y = backend.to_numpy(x), backend.to_numpy(y)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == -1.0 and x.max() == 1.0
    assert np.allclose((x + 1) * 8, np.round((x + 1) * 8))   # the 17 ink levels 0..16 survive
    assert sorted(np.unique(y).tolist()) == list(range(10))


def test_load_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)   # makes the import fail
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()


# ---------------------------------------------------------------- batches

def epoch(x, y, batch_size, rng, drop_last):
    return [(backend.to_numpy(a), backend.to_numpy(b))
            for a, b in batches(x, y, batch_size, rng, drop_last=drop_last)]


def test_every_sample_once_per_epoch(xp, device):
    x = xp.arange(23, dtype="float32").reshape(23, 1, 1, 1)
    y = xp.arange(23) * 10                                  # labels must travel with images
    got = epoch(x, y, 5, Random(0, device), drop_last=False)
    assert [len(a) for a, _ in got] == [5, 5, 5, 5, 3]
    seen = np.concatenate([a.reshape(-1) for a, _ in got])
    assert sorted(seen.tolist()) == list(range(23))
    for a, b in got:
        assert np.array_equal(a.reshape(-1) * 10, b)


def test_drop_last_sizes(xp, device):
    x = xp.arange(23, dtype="float32")
    got = epoch(x, x, 5, Random(0, device), drop_last=True)
    assert [len(a) for a, _ in got] == [5, 5, 5, 5]
    assert len(set(np.concatenate([a for a, _ in got]).tolist())) == 20   # no repeats
    assert [len(a) for a, _ in epoch(x, x, 23, Random(0, device), True)] == [23]


def test_shuffled_differently_each_epoch_same_seed_same_order(xp, device):
    x = xp.arange(100, dtype="float32")

    def orders(seed, epochs=3):
        rng = Random(seed, device)
        return [np.concatenate([a for a, _ in epoch(x, x, 10, rng, True)]) for _ in range(epochs)]

    first, second, third = orders(1)
    assert not np.array_equal(first, np.arange(100))     # shuffled at all
    assert not np.array_equal(first, second) and not np.array_equal(second, third)
    assert all(np.array_equal(a, b) for a, b in zip(orders(1), [first, second, third]))
    assert not np.array_equal(orders(2, 1)[0], first)


def test_batches_without_labels(xp, device):
    got = list(batches(xp.zeros((6, 2)), None, 3, Random(0, device)))
    assert len(got) == 2 and all(b is None and a.shape == (3, 2) for a, b in got)


def test_bad_batch_requests(xp, device):
    x, rng = xp.zeros(10), Random(0, device)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        batches(x, x[:9], 2, rng)                         # raised at the call, not at next()
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        batches(x, x, 0, rng)
    with pytest.raises(ValueError, match="batch_size 11 > 10 samples"):
        batches(x, x, 11, rng)
    assert len(list(batches(x, x, 11, rng, drop_last=False))) == 1
