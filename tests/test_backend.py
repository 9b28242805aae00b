"""The backend seam: device names, the GPU's absence, host copies, mixing devices."""
import numpy as np
import pytest

import minigan
from minigan import backend
from minigan.nn import Dense

needs_no_gpu = pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU")
needs_gpu = pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a CUDA GPU")


@pytest.fixture
def restore_default_device():
    saved = backend._default_device
    yield
    backend._default_device = saved


def test_cpu_is_numpy():
    assert backend.xp_of_device("cpu") is np
    assert backend.get_array_module(np.zeros(2)) is np
    assert backend.device_of(np.zeros(2)) == "cpu"


@pytest.mark.parametrize("name", ["tpu", "", "gpu0"])
def test_unknown_device_names_are_refused(name):
    with pytest.raises(ValueError, match="unknown device .* expected one of \\('cpu', 'gpu'\\)"):
        backend.check_device(name)


@needs_no_gpu
def test_asking_for_the_gpu_without_cupy_says_how_to_install_it():
    with pytest.raises(minigan.DeviceError, match="pip install") as info:
        backend.check_device("gpu")
    assert "CuPy" in str(info.value) and "cupy-cuda13x" in str(info.value)
    with pytest.raises(minigan.DeviceError):
        minigan.tensor([1.0]).to("gpu")
    with pytest.raises(minigan.DeviceError):
        Dense(2, 3).to("gpu")


@needs_no_gpu
def test_minigan_device_environment_variable(monkeypatch, restore_default_device):
    backend._default_device = None
    monkeypatch.setenv("MINIGAN_DEVICE", "cpu")
    assert backend.default_device() == "cpu"
    backend._default_device = None
    monkeypatch.setenv("MINIGAN_DEVICE", "gpu")
    with pytest.raises(minigan.DeviceError, match="pip install"):
        backend.default_device()
    backend._default_device = None
    monkeypatch.setenv("MINIGAN_DEVICE", "quantum")
    with pytest.raises(ValueError, match="unknown device 'quantum'"):
        backend.default_device()


def test_set_default_device(restore_default_device):
    minigan.set_default_device("CPU")
    assert minigan.default_device() == "cpu"
    assert minigan.tensor([1.0, 2.0]).device == "cpu"


def test_host_copies_are_numpy_and_detached(device):
    t = minigan.tensor([1.0, 2.0], device=device)
    host = t.numpy()
    assert isinstance(host, np.ndarray)
    t.data += 1                                      # an in-place update, like an optimiser step
    assert host.tolist() == [1.0, 2.0]
    assert isinstance(backend.to_numpy(t.data), np.ndarray)


def test_moving_a_tensor_keeps_values_and_requires_grad(device):
    t = minigan.tensor([[1.5, -2.0]], requires_grad=True).to(device)
    assert t.device == device and t.requires_grad
    assert t.to("cpu").numpy().tolist() == [[1.5, -2.0]]


@needs_gpu
def test_mixing_devices_in_one_op_is_a_clear_error():
    a = minigan.tensor([1.0, 2.0], device="cpu")
    b = minigan.tensor([1.0, 2.0], device="gpu")
    with pytest.raises(minigan.DeviceError, match="Add: all inputs must be on one device"):
        a + b
    layer = Dense(2, 3)                               # on the CPU
    with pytest.raises(minigan.DeviceError, match="Dense\\(2 -> 3\\): input is on gpu"):
        layer(minigan.tensor([[1.0, 2.0]], device="gpu"))


@needs_gpu
def test_same_initial_weights_on_every_device():
    minigan.manual_seed(3)
    cpu = Dense(4, 5)
    minigan.manual_seed(3)
    gpu = Dense(4, 5).to("gpu")
    assert np.array_equal(cpu.weight.numpy(), gpu.weight.numpy())


def test_random_is_seeded_per_device(device):
    a = minigan.Random(11, device).normal((3, 4))
    b = minigan.Random(11, device).normal((3, 4))
    c = minigan.Random(12, device).normal((3, 4))
    assert a.dtype == np.float32
    assert np.array_equal(backend.to_numpy(a), backend.to_numpy(b))
    assert not np.array_equal(backend.to_numpy(a), backend.to_numpy(c))
    assert backend.device_of(a) == device
