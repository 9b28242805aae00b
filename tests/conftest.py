"""Shared fixtures: every test that takes `device` runs on the CPU, and on the GPU when CuPy
and a CUDA device are present (marked `gpu`, skipped cleanly otherwise). Also load_script, for
the tests of the examples and benchmark scripts."""
import contextlib
import importlib.util
import os
import sys
import threading

import pytest

import minigan
from minigan import backend

GPU = pytest.param("gpu", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a CUDA GPU"),
])


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(relative_path):
    """Import a script of the repository (e.g. "benchmarks/speed.py") as a module, with its own
    folder on sys.path while it loads, as when it is run (examples import their helpers)."""
    path = os.path.join(ROOT, relative_path)
    folder = os.path.dirname(path)
    name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(folder)


@pytest.fixture(params=["cpu", GPU])
def device(request):
    return request.param


@pytest.fixture
def xp(device):
    return backend.xp_of_device(device)


@pytest.fixture
def updates(monkeypatch):
    """Counts in-place updates per tensor: updates[id(tensor)], from every mark_modified()."""
    import collections
    from minigan import inplace
    counts = collections.Counter()
    mark = inplace.mark_modified

    def counting(tensor):
        counts[id(tensor)] += 1
        mark(tensor)

    monkeypatch.setattr(inplace, "mark_modified", counting)
    return counts


@pytest.fixture(autouse=True)
def _fresh_seed():
    """Every test starts from the same default generators."""
    minigan.manual_seed(0)


@contextlib.contextmanager
def serving(session, host="127.0.0.1"):
    """A lab server (minigan/lab/server.py) around `session` on a free port, serving on a thread
    until the block ends. A short poll: shutdown() waits for it (the default, 0.5 s, would be
    most of a short test)."""
    from minigan.lab.server import LabServer
    server = LabServer(session, host=host, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
