"""Files are checked before they are trusted; saved formats stay loadable (issue 21, parts 3, 6).

A minigan file (an .npz: a zip archive of .npy arrays) may come from anywhere. Each bad file
below -- a zip bomb, metadata of the wrong type or range, a missing, misshapen or non-finite
array, a folder -- must be refused with one ValueError that names the file and the field, before
anything is inflated or loaded; describe() must say what the file is without raising; and
`python -m minigan.sample` must say it in one line and exit 1, without a traceback.

The bad files are edits of the committed fixtures in tests/data/formats/ (files as minigan wrote
them at commit f31819d, made by make_fixtures.py there); the last tests check that the fixtures
themselves still load, and give the numbers stored beside them.
"""
import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from conftest import ROOT

from minigan import Tensor
from minigan.gan import MODELS, GANTrainer, Generator, describe, load_model
from minigan.io import load_arrays, save_arrays
from minigan.sample import main as sample_main
from minigan.sample import sample

FORMATS = os.path.join(ROOT, "tests", "data", "formats")
with open(os.path.join(FORMATS, "expected.json")) as _f:
    EXPECTED = json.load(_f)
MiB = 2 ** 20


# --- making bad files ----------------------------------------------------------------------------

def with_first(value):
    """An edit: the array with its first element set to `value` (NaN, inf)."""
    def edit(array):
        array = array.copy()
        array.flat[0] = value
        return array
    return edit


def edited(tmp_path, fixture, changes, name=None):
    """A copy of a fixture with arrays replaced (a value, or a function of the old array) or
    removed (None), written as minigan writes files."""
    arrays = load_arrays(os.path.join(FORMATS, fixture))
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value(arrays[key]) if callable(value) else np.asarray(value)
    path = tmp_path / (name or fixture)
    save_arrays(path, arrays)
    return path


def fixture_trainer():
    """A trainer of the fixture's networks, built from the checkpoint's own configs, with the
    fixture run's options."""
    networks = json.loads(str(load_arrays(os.path.join(FORMATS, "checkpoint.npz"))[
        "__networks__"]))
    G, D = (MODELS[c["class"]](**c["kwargs"]) for c in (networks["G"], networks["D"]))
    return GANTrainer(G, D, **EXPECTED["checkpoint.npz"]["trainer"])


def assert_one_line(message, path, fragment):
    assert str(path) in message, message
    assert fragment in message, message
    assert "\n" not in message and "Traceback" not in message, message


# --- zip bombs -----------------------------------------------------------------------------------

def npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


def deflated_zeros(header, size):
    """(raw deflate stream, CRC-32) of `header` then `size` zero bytes (a multiple of 1 MiB),
    made without compressing them all: after a full flush the compressor starts afresh, so every
    MiB of zeros compresses to the same 1 kB."""
    compressor, block = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(MiB)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    one = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = start + one * (size // MiB) + compressor.flush()
    crc = zlib.crc32(header)
    for _ in range(size // MiB):
        crc = zlib.crc32(block, crc)
    return stream, crc


def write_zip(path, members):
    """A zip archive written by hand (zipfile would inflate nothing, but would deflate every
    byte): members = [(name, bytes as stored, method, CRC-32, inflated size)]."""
    local, directory = b"", b""
    for name, data, method, crc, size in members:
        name = name.encode()
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 33, crc,
                                 len(data), size, len(name), 0, 0, 0, 0, 0, len(local)) + name
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 33, crc, len(data),
                             size, len(name), 0) + name + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(local), 0)
    with open(path, "wb") as f:
        f.write(local + directory + end)


def generator_bomb(path):
    """The fixture generator.npz with its first weight replaced by a member of 1.1 MB that
    inflates to 1 GiB of zeros (a valid deflate stream, with the right CRC-32)."""
    with zipfile.ZipFile(os.path.join(FORMATS, "generator.npz")) as archive:
        members = [(m.filename, archive.read(m), zipfile.ZIP_STORED, m.CRC, m.file_size)
                   for m in archive.infolist()]
    header = npy_header((2 ** 28,))
    stream, crc = deflated_zeros(header, 2 ** 30)
    members[0] = ("net.layers.0.weight.npy", stream, zipfile.ZIP_DEFLATED, crc,
                  len(header) + 2 ** 30)
    write_zip(path, members)
    return path


MEASURE = """
import json, resource, sys, time
from minigan.gan import load_model
from minigan.io import load_arrays
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
messages = []
for load in (load_arrays, load_model):
    try:
        load(sys.argv[1])
        messages.append("loaded")
    except ValueError as error:
        messages.append(str(error))
print(json.dumps({"grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "seconds": time.perf_counter() - start, "messages": messages}))
"""


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = generator_bomb(tmp_path / "generator.npz")
    assert os.path.getsize(path) < 1.2e6
    # In a fresh process, to measure its peak memory (ru_maxrss, KiB on Linux).
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for message in result["messages"]:
        assert_one_line(message, path, "member 'net.layers.0.weight.npy' would inflate to "
                                       "1024.0 MiB")
    assert result["grew_kib"] < 64 * 1024, result          # not the 2 GiB it took before
    assert result["seconds"] < 2, result


def test_many_small_members_cannot_add_up_to_a_bomb(tmp_path):
    """128 members of 8 MiB of zeros each: none is large, together they are 1 GiB."""
    header = npy_header((2 * MiB,))
    stream, crc = deflated_zeros(header, 8 * MiB)
    path = tmp_path / "many.npz"
    write_zip(path, [(f"a{i}.npy", stream, zipfile.ZIP_DEFLATED, crc, len(header) + 8 * MiB)
                     for i in range(128)])
    with pytest.raises(ValueError) as info:
        load_arrays(path)
    # 16 MiB (SMALL_FILE_ROOM) hold one member and a bit: the third is refused, uninflated.
    assert_one_line(str(info.value), path, "member 'a2.npy' would inflate to 8.0 MiB, and a "
                                           "file of")


def test_an_array_of_the_wrong_shape_is_refused_from_its_header(tmp_path, monkeypatch):
    """Module.load knows the shapes: a 4 MB array where a (2, 4) one belongs is refused after
    its header (128 bytes) is read, not after its data."""
    path = edited(tmp_path, "generator.npz",
                  {"net.layers.0.weight": np.zeros((1000, 1000), np.float32)})
    read = []
    original = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = original(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    for load in (Generator(2, 2, hidden=(4,)).load, load_model):
        read.clear()
        with pytest.raises(ValueError) as info:
            load(path)
        assert_one_line(str(info.value), path, "net.layers.0.weight is a (1000, 1000) float32 "
                                               "array, expected a (2, 4) float32 one")
        assert sum(read) < 64 * 1024


# --- bad metadata and bad arrays in a saved network --------------------------------------------

CONFIG = {"class": "Generator", "kwargs": {"latent_dim": 2, "data_dim": 2, "hidden": [4]}}
# (what is wrong, the edit of generator.npz, what the message must say, whether it is metadata
# -- describe() names those -- or a weight -- Module.load refuses those too)
GENERATOR_CASES = [
    ("config null", {"__config__": "null"},
     '__config__ must be a network\'s config, {"class": a name, "kwargs": {...}}, got null',
     "meta"),
    ("config a list", {"__config__": "[1, 2]"}, "__config__ must be a network's config", "meta"),
    ("config kwargs null", {"__config__": '{"class": "Generator", "kwargs": null}'},
     "__config__ must be a network's config", "meta"),
    ("config not JSON", {"__config__": '{"class": '}, "__config__ is not valid JSON", "meta"),
    ("config numbers", {"__config__": np.zeros(3)},
     "__config__ must be JSON text, got an array of shape (3,)", "meta"),
    ("config argument unknown",
     {"__config__": json.dumps({"class": "Generator", "kwargs": {"colour": 3}})},
     "__config__ does not build a Generator", "build"),
    ("trained without step", {"__trained__": '{"epoch": 2}'},
     "__trained__.step must be an integer >= 0, got nothing", "meta"),
    ("trained a list", {"__trained__": "[2, 8]"}, "__trained__ must be", "meta"),
    ("trained step -1", {"__trained__": '{"epoch": 2, "step": -1}'},
     "__trained__.step must be an integer >= 0, got -1", "meta"),
    ("weight missing", {"net.layers.0.weight": None},
     "has no array 'net.layers.0.weight'", "weight"),
    ("weight NaN", {"net.layers.2.bias": with_first(np.nan)},
     "net.layers.2.bias is not finite (1 of its", "weight"),
    ("weights all NaN", {name: (lambda a: np.full_like(a, np.nan)) for name in (
        "net.layers.0.weight", "net.layers.0.bias", "net.layers.2.weight", "net.layers.2.bias")},
     "net.layers.0.weight is not finite (8 of its", "weight"),
    ("weight inf", {"net.layers.0.weight": with_first(-np.inf)},
     "net.layers.0.weight is not finite (1 of its", "weight"),
    ("weight extra", {"net.layers.9.weight": np.zeros((2, 2), np.float32)},
     "holds 'net.layers.9.weight', an array this network does not have", "weight"),
    ("weight misshapen", {"net.layers.0.weight": np.zeros((3, 4), np.float32)},
     "net.layers.0.weight is a (3, 4) float32 array, expected a (2, 4) float32 one", "weight"),
    ("weight text", {"net.layers.0.bias": "0,0,0,0"},
     "net.layers.0.bias is a () <U7 array, expected a (4,) float32 one", "weight"),
]


@pytest.mark.parametrize("changes, fragment, kind", [c[1:] for c in GENERATOR_CASES],
                         ids=[c[0] for c in GENERATOR_CASES])
def test_a_bad_generator_file_is_refused_in_one_line(tmp_path, capsys, changes, fragment, kind):
    path = edited(tmp_path, "generator.npz", changes)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert_one_line(str(info.value), path, fragment)
    if kind == "weight":
        with pytest.raises(ValueError) as info:
            Generator(2, 2, hidden=(4,)).load(path)
        assert_one_line(str(info.value), path, fragment)
    text = describe(load_arrays(path))           # describes it, whatever it holds
    assert isinstance(text, str)
    if kind == "meta":
        assert fragment.split(" ")[0] in text
    # The command line: one line, exit 1 (in this process, through the same cli.run).
    with pytest.raises(SystemExit) as exit_info:
        sample_main([str(path), "--out", str(tmp_path / "x.png")])
    assert isinstance(exit_info.value.code, str)
    assert_one_line(exit_info.value.code, path, fragment)
    assert "Traceback" not in capsys.readouterr().err


# --- bad metadata and bad arrays in a checkpoint -------------------------------------------------

CHECKPOINT_CASES = [
    ("networks null", {"__networks__": "null"},
     '__networks__ must be {"G": a config, "D": a config}, got null', "meta"),
    ("networks a list", {"__networks__": "[]"}, "__networks__ must be", "meta"),
    ("networks G a list", {"__networks__": '{"G": [1], "D": null}'},
     "__networks__.G must be a network's config", "meta"),
    ("seed missing", {"seed": None}, "seed is missing", "meta"),
    ("epoch missing", {"epoch": None}, "epoch is missing", "meta"),
    ("steps_done -5", {"steps_done": -5}, "steps_done must be an integer >= 0, got -5", "meta"),
    ("steps_done NaN", {"steps_done": np.nan}, "steps_done must be an integer >= 0, got nan",
     "meta"),
    ("epoch -1", {"epoch": -1}, "epoch must be an integer >= 0, got -1", "meta"),
    ("seed 1.5", {"seed": 1.5}, "seed must be an integer >= 0, got 1.5", "meta"),
    ("lr_decay_step NaN", {"lr_decay_step": np.nan},
     "lr_decay_step must be an integer >= 0, got nan", "meta"),
    ("g_average_updates -1", {"g_average_updates": -1},
     "g_average_updates must be an integer >= 0, got -1", "meta"),
    ("G weight missing", {"G/net.layers.0.weight": None},
     "has no array 'G/net.layers.0.weight'", "array"),
    ("G weight NaN", {"G/net.layers.0.weight": with_first(np.nan)},
     "G/net.layers.0.weight is not finite (1 of its", "array"),
    ("D weight inf", {"D/net.layers.2.bias": with_first(np.inf)},
     "D/net.layers.2.bias is not finite (1 of its", "array"),
    ("G average NaN", {"g_average/net.layers.0.bias": with_first(np.nan)},
     "g_average/net.layers.0.bias is not finite (1 of its", "array"),
    ("Adam moment NaN", {"g_optimizer/0.1": with_first(np.nan)},
     "g_optimizer/0.1 is not finite (1 of its", "array"),
    ("Adam moment misshapen", {"d_optimizer/0.0": np.zeros((3, 3), np.float32)},
     "d_optimizer/0.0 is a (3, 3) float32 array, its parameter a (2, 4) float32 one", "array"),
    ("Adam count -1", {"g_optimizer/0.2": -1}, "g_optimizer/0.2 must be an integer >= 0, got -1",
     "array"),
    ("optimiser steps missing", {"d_optimizer/steps": None}, "d_optimizer/steps is missing",
     "array"),
    ("optimiser state of no parameter", {"g_optimizer/7.0": np.zeros(2, np.float32)},
     "g_optimizer/7.0 is not the state of one of this optimiser's 4 parameters", "array"),
    ("history column short", {"history/g": lambda a: a[:-1]},
     "history/g must be a column of numbers as long as history/step", "array"),
    ("history longer than steps_done", {"steps_done": 5},
     "history/step must count up within 1..5 (steps_done), got 8 rows, steps 1..8", "array"),
    ("history NaN", {"history/d_x": with_first(np.nan)},
     "history/d_x is not finite (1 of its", "array"),
    ("rng_state not JSON", {"rng_state": "PCG64"}, "rng_state is not valid JSON", "array"),
    ("rng_state of another generator", {"rng_state": '{"bit_generator": "MT19937"}'},
     "rng_state is not a random generator's position", "array"),
]


def trainer_state(trainer):
    return ({name: p.numpy().copy() for name, p in trainer.G.named_parameters()},
            trainer.steps_done, trainer.g_optimizer.t, len(trainer.history))


@pytest.mark.parametrize("changes, fragment, kind", [c[1:] for c in CHECKPOINT_CASES],
                         ids=[c[0] for c in CHECKPOINT_CASES])
def test_a_bad_checkpoint_is_refused_before_anything_changes(tmp_path, changes, fragment, kind):
    path = edited(tmp_path, "checkpoint.npz", changes)
    trainer = fixture_trainer()
    before = trainer_state(trainer)
    with pytest.raises(ValueError) as info:
        trainer.load_checkpoint(path)
    assert_one_line(str(info.value), path, fragment)
    after = trainer_state(trainer)                 # a half-restored trainer would be worse
    assert after[1:] == before[1:]
    assert all(np.array_equal(after[0][k], before[0][k]) for k in before[0])
    text = describe(load_arrays(path))
    assert isinstance(text, str)
    if kind == "meta":
        assert fragment.split(" ")[0] in text
        with pytest.raises(ValueError) as info:          # sample's load_model: the same words
            load_model(path)
        assert_one_line(str(info.value), path, fragment)


# --- a folder, and samples that overflow ---------------------------------------------------------

def test_a_folder_is_named_as_one(tmp_path):
    loaders = {"load_arrays": load_arrays, "load_model": load_model,
               "Module.load": Generator(2, 2, hidden=(4,)).load,
               "load_checkpoint": fixture_trainer().load_checkpoint}
    for name, load in loaders.items():
        with pytest.raises(ValueError) as info:
            load(tmp_path)
        assert str(info.value) == (f"{tmp_path} is a folder, not a file: give the "
                                   f"checkpoint.npz (or generator.npz) inside it"), name


def huge_generator(tmp_path):
    """Finite weights of 1e38: each one loads, but their products overflow float32."""
    G = load_model(os.path.join(FORMATS, "generator.npz"))
    G.load_state_dict({k: np.full_like(v, 1e38) for k, v in G.state_dict().items()})
    G.save(tmp_path / "huge.npz")
    return tmp_path / "huge.npz"


def test_samples_that_are_not_finite_are_refused(tmp_path):
    path = huge_generator(tmp_path)
    load_model(path)                               # the weights themselves are fine
    with pytest.raises(ValueError) as info:
        sample(path, 4)
    assert_one_line(str(info.value), path, "the generator's samples are not finite")
    with warnings.catch_warnings(record=True) as caught:    # no NumPy warning before the line
        warnings.simplefilter("always")
        with pytest.raises(SystemExit) as exit_info:
            sample_main([str(path), "--out", str(tmp_path / "x.png")])
    assert_one_line(exit_info.value.code, path, "the generator's samples are not finite")
    assert [str(w.message) for w in caught] == []


def test_the_command_line_says_each_in_one_line(tmp_path):
    """`python -m minigan.sample BAD.npz` as a user runs it: exit 1, one line on stderr."""
    nan = {k: (lambda a: np.full_like(a, np.nan)) for k in load_arrays(
        os.path.join(FORMATS, "generator.npz")) if not k.startswith("__")}
    cases = {
        generator_bomb(tmp_path / "bomb.npz"): "would inflate to 1024.0 MiB",
        edited(tmp_path, "generator.npz", nan, "nan.npz"): "is not finite (8 of its",
        edited(tmp_path, "checkpoint.npz", {"steps_done": -5}, "steps.npz"):
            "steps_done must be an integer >= 0, got -5",
    }           # (each case above runs through the same cli.run in this process too)
    runs = {path: subprocess.Popen(
        [sys.executable, "-m", "minigan.sample", str(path), "--out", str(tmp_path / "x.npy")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in cases}
    for path, run in runs.items():
        out, err = run.communicate(timeout=120)
        assert run.returncode == 1, (path, out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert_one_line(err.strip(), path, cases[path])
        assert err.startswith("python -m minigan.sample: error: ")
    assert not (tmp_path / "x.npy").exists()


# --- saved formats stay loadable ------------------------------------------------------------------

def test_saved_generators_still_load_and_sample_the_same():
    """generator.npz and acgan_generator.npz as minigan wrote them at f31819d: a renamed key or
    setting that breaks them fails here (or must be refused in one clear line, and this test
    changed to expect it)."""
    for name, kwargs in (("generator.npz", dict(n=5, seed=0)),
                         ("acgan_generator.npz", dict(n=2, label=2, seed=3)),
                         ("acgan_generator.npz", dict(n=3, seed=4))):
        key = "sample(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        got = sample(os.path.join(FORMATS, name), **kwargs).numpy()
        np.testing.assert_allclose(got, EXPECTED[name][key], rtol=0, atol=1e-6, err_msg=key)
    assert describe(load_arrays(os.path.join(FORMATS, "acgan_generator.npz"))).startswith(
        "a saved generator, ACGANGenerator(latent_dim=4, num_classes=3, image_size=8")


def test_a_saved_checkpoint_still_resumes_the_same():
    """checkpoint.npz of f31819d: it resumes at its epoch and step with its history, and one
    more training step gives the losses and the G it gave then."""
    expected = EXPECTED["checkpoint.npz"]
    trainer = fixture_trainer()
    assert trainer.load_checkpoint(os.path.join(FORMATS, "checkpoint.npz")) == expected["epoch"]
    assert trainer.steps_done == expected["steps_done"]
    for name, column in expected["history"].items():
        np.testing.assert_allclose(trainer.history[name], column, rtol=0, atol=1e-6)
    d_steps, g_step = trainer.train_step(np.asarray(expected["data"], np.float32), 8)
    after = expected["after_one_step"]
    got = {"d_real": d_steps[-1].real_loss.item(), "d_fake": d_steps[-1].fake_loss.item(),
           "g": g_step.loss.item()}
    for name, value in got.items():
        np.testing.assert_allclose(value, after[name], rtol=0, atol=1e-6, err_msg=name)
    z = Tensor(np.asarray(expected["Z"], np.float32))
    np.testing.assert_allclose(trainer.G.sample_with(z).numpy(), after["G(Z)"], rtol=0,
                               atol=1e-6)
