"""Module: the parameter tree, frozen(), state dicts, atomic saves, dtypes, devices and buffers."""
import errno
import os

import numpy as np
import pytest

import minigan
from minigan import Random, Tensor
from minigan.io import atomic_write
from minigan.nn import Dense, Module, Parameter, ReLU, Sequential, Tanh


def nested():
    return Sequential(Dense(2, 3), ReLU(), Sequential(Dense(3, 4, bias=False), Tanh()), Dense(4, 1))


NESTED_NAMES = ["layers.0.weight", "layers.0.bias", "layers.2.layers.0.weight",
                "layers.3.weight", "layers.3.bias"]


class WithBuffer(Module):
    """A layer with a non-trained array in its state, as BatchNorm's running statistics."""
    buffers = ("running",)

    def __init__(self, n=3, device="cpu"):
        self.dense = Dense(n, n).to(device)
        self.running = minigan.backend.xp_of_device(device).zeros(n, dtype="float32")

    def forward(self, x):
        return self.dense(x)


def assert_same_params(a, b):
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())


def snapshot(module):
    return {name: p.numpy().copy() for name, p in module.named_parameters()}


# --- the tree ------------------------------------------------------------------------------------

def test_named_parameters_of_nested_sequential():
    net = nested()
    named = list(net.named_parameters())
    assert [name for name, _ in named] == NESTED_NAMES
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in named]
    assert net.layers[2].layers[0].weight is named[2][1]
    assert net.num_parameters() == 2 * 3 + 3 + 3 * 4 + 4 * 1 + 1


def test_parameter_order_is_attribute_order():
    # Insertion order, not alphabetical: optimiser state and saved files depend on it.
    class Two(Module):
        def __init__(self):
            self.zeta = Parameter(np.zeros(2, dtype="float32"))
            self.alpha = Parameter(np.ones(3, dtype="float32"))
    two = Two()
    assert [name for name, _ in two.named_parameters()] == ["zeta", "alpha"]
    assert two.parameters()[0] is two.zeta


def test_zero_grad(device, xp):
    net = nested().to(device)
    net(Tensor(xp.ones((2, 2), dtype="float32"))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# --- frozen() ------------------------------------------------------------------------------------

def test_frozen_turns_off_requires_grad_and_restores_it():
    net = nested()
    net.layers[0].bias.requires_grad = False        # frozen() restores this, not a blanket True
    before = [p.requires_grad for p in net.parameters()]
    with net.frozen() as same:
        assert same is net
        assert not any(p.requires_grad for p in net.parameters())
    assert [p.requires_grad for p in net.parameters()] == before
    assert before.count(False) == 1


def test_frozen_restores_after_an_exception():
    net = nested()
    with pytest.raises(RuntimeError, match="boom"):
        with net.frozen():
            raise RuntimeError("boom")
    assert all(p.requires_grad for p in net.parameters())


def test_gradients_flow_through_a_frozen_module(device, xp):
    net = Sequential(Dense(3, 4), Tanh(), Dense(4, 1)).to(device)
    x_free = Tensor(Random(1, device).normal((5, 3)), requires_grad=True)
    net(x_free).sum().backward()
    net.zero_grad()

    x = Tensor(x_free.data.copy(), requires_grad=True)
    with net.frozen():
        y = net(x)
    y.sum().backward()              # after the block: the graph was built while frozen
    assert all(p.grad is None for p in net.parameters())
    assert x.grad is not None
    # The input gradient is exactly what the unfrozen network gives: freezing only stops the
    # parameters' gradients, not the flow through them (how G learns from a frozen D).
    np.testing.assert_allclose(minigan.backend.to_numpy(x.grad),
                               minigan.backend.to_numpy(x_free.grad), rtol=1e-6)


# --- state dicts ---------------------------------------------------------------------------------

def test_state_dict_returns_host_copies(device):
    net = nested().to(device)
    state = net.state_dict()
    assert list(state) == NESTED_NAMES
    assert all(type(v) is np.ndarray for v in state.values())
    before = snapshot(net)
    for v in state.values():
        v[...] = 99.0
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[name])


def test_load_state_dict_round_trip(device):
    minigan.manual_seed(1)
    a = nested().to(device)
    minigan.manual_seed(2)
    b = nested().to(device)
    assert not np.array_equal(a.layers[0].weight.numpy(), b.layers[0].weight.numpy())
    state = a.state_dict()
    assert b.load_state_dict(state) is b
    assert_same_params(a, b)
    assert b.device == device
    # The module keeps its own copies: editing the dict afterwards changes nothing.
    for v in state.values():
        v[...] = 0.0
    assert_same_params(a, b)


def test_load_state_dict_keeps_the_module_dtype():
    net = nested()
    net.load_state_dict({k: v.astype("float64") for k, v in nested().state_dict().items()})
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_missing_and_unexpected_keys_raise_key_error():
    net = nested()
    state = net.state_dict()
    del state["layers.3.bias"]
    state["layers.9.weight"] = np.zeros((1, 1), dtype="float32")
    with pytest.raises(KeyError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing ['layers.3.bias']" in message
    assert "unexpected ['layers.9.weight']" in message


def test_wrong_shape_raises_value_error_naming_the_parameter():
    net = nested()
    state = net.state_dict()
    state["layers.2.layers.0.weight"] = np.zeros((4, 3), dtype="float32")
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"layers\.2\.layers\.0\.weight.*\(4, 3\)"):
        net.load_state_dict(state)
    # Checked before anything is copied: a failed load leaves the module as it was.
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[name])


def test_save_and_load_npz(tmp_path, device):
    minigan.manual_seed(1)
    a = nested().to(device)
    path = tmp_path / "net.npz"
    a.save(path)
    with np.load(path) as npz:
        assert sorted(npz.files) == sorted(NESTED_NAMES)
    minigan.manual_seed(2)
    b = nested().to(device)
    assert b.load(str(path)) is b                   # str and PathLike paths both work
    assert_same_params(a, b)
    assert os.listdir(tmp_path) == ["net.npz"]


# --- atomic writes -------------------------------------------------------------------------------

def test_atomic_write_replaces_the_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old contents")
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_the_old_file(tmp_path, error):
    # KeyboardInterrupt too: Ctrl-C during a checkpoint must not leave a truncated file.
    path = tmp_path / "f.bin"
    path.write_bytes(b"old contents")

    def writer(f):
        f.write(b"half a fi")
        raise error("disk full")

    with pytest.raises(error):
        atomic_write(path, writer)
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["f.bin"]       # no temporary file left behind


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_names_the_file_being_written(tmp_path):
    # A write that fails for lack of space names no file; the error must name the one meant.
    path = tmp_path / "checkpoint.npz"

    def writer(f):
        with open("/dev/full", "wb") as full:      # the kernel's ENOSPC, for real
            full.write(b"x" * 8192)
            full.flush()

    with pytest.raises(OSError) as info:
        atomic_write(path, writer)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert str(path) in str(info.value) and "No space left on device" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_atomic_write_creates_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "f.bin"
    atomic_write(path, lambda f: f.write(b"x"))
    assert path.read_bytes() == b"x"


def test_atomic_write_gives_the_mode_open_would(tmp_path):
    # mkstemp's files are owner-only; a saved figure or checkpoint should follow the umask.
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
        (tmp_path / "g.bin").write_bytes(b"x")
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "f.bin").st_mode & 0o777) == oct(0o644)
    assert os.stat(tmp_path / "f.bin").st_mode == os.stat(tmp_path / "g.bin").st_mode


def test_module_save_failure_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    minigan.manual_seed(1)
    old = nested()
    old.save(path)
    old_bytes = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 some bytes of a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    minigan.manual_seed(2)
    with pytest.raises(OSError, match="No space"):
        nested().save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["net.npz"]
    assert_same_params(nested().load(path), old)


# --- dtypes and devices --------------------------------------------------------------------------

def test_astype_float64(device, xp):
    net = nested().to(device)
    net(Tensor(xp.ones((2, 2), dtype="float32"))).sum().backward()
    before = snapshot(net)
    assert net.astype("float64") is net
    for name, p in net.named_parameters():
        assert p.dtype == np.float64
        assert p.grad is None                       # a float32 gradient would no longer match
        np.testing.assert_array_equal(p.numpy(), before[name])
    assert net(Tensor(xp.ones((2, 2)))).dtype == np.float64


def test_to_cpu():
    net = nested()
    assert net.to("cpu") is net and net.to("CPU") is net
    assert all(type(p.data) is np.ndarray for p in net.parameters())
    assert net.device == "cpu"


def test_to_device(device):
    net = nested().to(device)
    assert net.device == device
    assert all(p.device == device for p in net.parameters())


@pytest.mark.parametrize("name", ["tpu", "cuda:1", ""])
def test_to_unknown_device_raises(name):
    with pytest.raises(ValueError, match="unknown device"):
        nested().to(name)


# --- buffers -------------------------------------------------------------------------------------

def test_buffers_are_in_the_state_dict(device):
    net = Sequential(Dense(3, 3), WithBuffer(device=device)).to(device)
    net.layers[1].running[...] = 5.0
    state = net.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.dense.weight",
                           "layers.1.dense.bias", "layers.1.running"]
    assert type(state["layers.1.running"]) is np.ndarray
    np.testing.assert_array_equal(state["layers.1.running"], [5.0, 5.0, 5.0])
    assert len(net.parameters()) == 4               # a buffer is not trained


def test_load_state_dict_restores_buffers(device):
    src = Sequential(Dense(3, 3), WithBuffer(device=device))
    src.layers[1].running[...] = minigan.backend.xp_of_device(device).asarray([1.0, 2.0, 3.0])
    state = src.state_dict()
    dst = Sequential(Dense(3, 3), WithBuffer(device=device)).to(device)
    dst.load_state_dict(state)
    buf = dst.layers[1].running
    assert minigan.backend.device_of(buf) == device and buf.dtype == np.float32
    np.testing.assert_array_equal(minigan.backend.to_numpy(buf), [1.0, 2.0, 3.0])
    state["layers.1.running"][...] = -1.0          # the module owns a copy, as for parameters
    np.testing.assert_array_equal(minigan.backend.to_numpy(buf), [1.0, 2.0, 3.0])


def test_load_state_dict_keeps_the_buffer_dtype():
    m = WithBuffer()
    state = m.state_dict()
    state["running"] = state["running"].astype("float64")
    m.load_state_dict(state)
    assert m.running.dtype == np.float32


def test_buffer_with_wrong_shape_raises():
    m = WithBuffer()
    state = m.state_dict()
    state["running"] = np.zeros(4, dtype="float32")
    with pytest.raises(ValueError, match="running"):
        m.load_state_dict(state)


def test_buffers_save_load_and_astype(tmp_path):
    m = WithBuffer()
    m.running[...] = 7.0
    m.save(tmp_path / "m.npz")
    other = WithBuffer().load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other.running, [7.0, 7.0, 7.0])
    assert other.astype("float64").running.dtype == np.float64


def test_parameters_get_their_dotted_names_for_error_messages():
    net = nested()
    net.layers[3].bias.name = "mine"                    # a name of one's own is kept
    net.parameters()
    assert [p.name for p in net.parameters()] == [
        "Sequential." + n for n in NESTED_NAMES[:-1]] + ["mine"]


def test_replacing_parameter_data_bumps_the_version(updates):
    net = nested()
    p = net.parameters()[0]
    net.load_state_dict(net.state_dict())
    assert updates[id(p)] == 1
    net.astype("float64")                               # new arrays: bump
    assert updates[id(p)] == 2
    net.to("cpu")                                       # already there: same array, no bump
    assert updates[id(p)] == 2


def test_loading_weights_between_forward_and_backward_is_refused():
    net = nested()
    loss = net(Tensor(np.ones((2, 2), dtype="float32"))).sum()
    net.load_state_dict(net.state_dict())
    with pytest.raises(RuntimeError, match=r"Sequential\.layers\.3\.weight .* modified in place"):
        loss.backward()


def test_rebuildable_modules_remember_their_arguments_once():
    from minigan.nn import rebuildable

    @rebuildable
    class Toy(Module):
        def __init__(self, width, sizes=(2, 3), act="relu"):
            self.width = width

    class Bigger(Toy):                                 # not decorated: its own arguments differ
        def __init__(self):
            super().__init__(5)

    toy = Toy(4, act="tanh")
    assert toy.config == {"class": "Toy", "kwargs": {"width": 4, "sizes": [2, 3], "act": "tanh"}}
    assert Bigger().config is None and Module().config is None


def test_a_rebuildable_module_given_numpy_numbers_saves_and_loads(tmp_path):
    from minigan.gan import Generator, load_model
    G = Generator(latent_dim=np.int64(2), data_dim=2, hidden=(np.int32(4), 3))
    assert G.config["kwargs"]["latent_dim"] == 2 and G.config["kwargs"]["hidden"] == [4, 3]
    assert type(G.config["kwargs"]["latent_dim"]) is int
    G.save(tmp_path / "g.npz")
    assert load_model(tmp_path / "g.npz").config == G.config
