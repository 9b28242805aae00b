"""The image-GAN examples run end to end on tiny data, resume from their checkpoints, and the
sampling command reads what they wrote."""
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
pytest.importorskip("sklearn")          # --digits needs it; the test extra installs it


def load_example(name):
    return load_script(f"examples/{name}.py")


def write_idx(path, array):
    """A gzipped IDX file: magic 0x00 0x00 0x08 ndim, big-endian sizes, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                      *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_dcgan_on_digits_writes_grids_checkpoints_and_resumes(tmp_path, capsys):
    example = load_example("dcgan_mnist")
    out = str(tmp_path / "run")
    common = ["--digits", "--subset", "128", "--batch-size", "32", "--sample-every", "2",
              "--out", out]
    first = example.main(common + ["--epochs", "2"])
    assert first["steps"] == 2 * (128 // 32)
    files = set(os.listdir(out))
    assert {"samples_epoch_002.png", "generator.npz", "discriminator.npz", "checkpoint.npz",
            "history.csv", "curves.png", "run.json"} <= files
    second = example.main(common + ["--epochs", "3", "--resume", os.path.join(out,
                                                                              "checkpoint.npz")])
    assert second["steps"] == 128 // 32                 # only epoch 3 was run
    printed = capsys.readouterr().out
    assert "resumed from" in printed and "epoch 2 done, step 8" in printed
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 4                       # the history continued, not restarted
    assert os.path.exists(os.path.join(out, "samples_epoch_003.png"))


def test_acgan_on_idx_files_and_sampling_a_class(tmp_path):
    data = tmp_path / "fashion"
    data.mkdir()
    rng = np.random.default_rng(0)
    write_idx(data / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (64, 28, 28)))
    write_idx(data / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 64))
    example = load_example("acgan_fashion_mnist")
    out = tmp_path / "run"
    record = example.main(["--data", str(data), "--epochs", "1", "--batch-size", "32",
                           "--out", str(out)])
    assert record["steps"] == 2
    assert os.path.exists(out / "samples_epoch_001.png")
    npy = tmp_path / "sneakers.npy"
    result = subprocess.run([sys.executable, "-m", "minigan.sample", str(out / "generator.npz"),
                             "--n", "5", "--label", "7", "--out", str(npy)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert np.load(npy).shape == (5, 1, 28, 28)
    bad = subprocess.run([sys.executable, "-m", "minigan.sample", str(out / "generator.npz"),
                          "--label", "12"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "label 12 is not a class of this generator" in bad.stderr


def test_missing_data_is_one_clear_line(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, "dcgan_mnist.py"),
                             "--data", str(tmp_path / "nowhere"), "--epochs", "1"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "dcgan_mnist.py: error:" in result.stderr and "Traceback" not in result.stderr
