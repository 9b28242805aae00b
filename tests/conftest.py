"""Shared fixtures: every test that takes `device` runs on the CPU, and on the GPU when CuPy
and a CUDA device are present (marked `gpu`, skipped cleanly otherwise)."""
import pytest

import minigan
from minigan import backend

GPU = pytest.param("gpu", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a CUDA GPU"),
])


@pytest.fixture(params=["cpu", GPU])
def device(request):
    return request.param


@pytest.fixture
def xp(device):
    return backend.xp_of_device(device)


@pytest.fixture(autouse=True)
def _fresh_seed():
    """Every test starts from the same default generators."""
    minigan.manual_seed(0)
