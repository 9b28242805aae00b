"""benchmarks/speed.py: its workloads are the networks the spec names (parameter counts, and the
same outputs as the PyTorch networks given the same weights, where PyTorch is installed), one
training step runs, the script runs end to end with minigan alone, and --device gpu skips
cleanly without CuPy. PyTorch is a benchmark-only dependency: its tests skip without it."""
import json
import math

import numpy as np
import pytest
from conftest import load_script

from minigan import Tensor, backend
from minigan.gan.history import row_of


@pytest.fixture(scope="module")
def speed():
    return load_script("benchmarks/speed.py")


def dense(n_in, n_out):
    return n_in * n_out + n_out


def mlp(sizes):
    return sum(dense(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


EXPECTED = {   # (G, D) parameter counts, from the spec's layer lists
    "W1": (mlp([2, 16, 32, 2]), mlp([2, 256, 128, 64, 1])),
    "W2": (mlp([2, 128, 128, 128, 2]), mlp([2, 128, 128, 128, 1])),
    "W2R1": (mlp([2, 128, 128, 128, 2]), mlp([2, 128, 128, 128, 1])),
    "W3": (dense(100, 6272) + 2 * 6272 + (128 * 64 * 16 + 64) + 2 * 64 + (64 * 16 + 1),
           (64 * 16 + 64) + (64 * 128 * 16 + 128) + 2 * 128 + dense(6272, 1)),
}


@pytest.mark.parametrize("name", ["W1", "W2", "W2R1", "W3"])
def test_workload_networks_and_one_step(speed, name):
    G, D, trainer, data = speed.build_minigan(name)
    assert (G.num_parameters(), D.num_parameters()) == EXPECTED[name]
    w = speed.WORKLOADS[name]
    assert data.dtype == np.float32 and len(data) == w["n_data"]
    assert trainer.g_optimizer.lr == w["lr"] and (trainer.d_optimizer.b1,
                                                  trainer.d_optimizer.b2) == w["betas"]
    d_steps, g_step = trainer.train_step(data, w["batch"])
    assert all(math.isfinite(float(v)) for v in row_of(d_steps[-1], g_step))
    assert (d_steps[0].penalty is not None) == (name == "W2R1")


@pytest.mark.parametrize("name", ["W1", "W2", "W3"])
def test_torch_networks_compute_the_same(speed, name):
    torch = pytest.importorskip("torch")
    G, D, _, data = speed.build_minigan(name)
    tG, tD = speed.build_torch_networks(name)
    speed.copy_minigan_to_torch(G, tG)
    speed.copy_minigan_to_torch(D, tD)
    # W1's D has dropout: compare in eval mode there (dropout off; no BatchNorm in W1).
    for net in (G, D, tG, tD):
        net.train(name != "W1")
    z = np.random.default_rng(0).standard_normal((16, w_latent(speed, name))).astype("float32")
    x = data[:16]
    with torch.no_grad():
        for mine, theirs, inp in ((G, tG, z), (D, tD, x)):
            out = mine(Tensor(inp)).data
            ref = theirs(torch.from_numpy(inp)).numpy()
            np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def w_latent(speed, name):
    return speed.WORKLOADS[name]["latent"]


@pytest.mark.parametrize("name", ["W1", "W2R1"])
def test_torch_step_runs(speed, name):
    pytest.importorskip("torch")
    _, _, step, _ = speed.build_torch(name)
    assert all(math.isfinite(float(v)) for v in step())


def test_the_r1_terms_agree_with_pytorchs(speed):
    # The same D and real batch: minigan's penalties.r1 and the PyTorch loop's R1 expression.
    torch = pytest.importorskip("torch")
    from minigan.gan import penalties
    G, D, trainer, data = speed.build_minigan("W2R1")
    _, tD = speed.build_torch_networks("W2R1")
    speed.copy_minigan_to_torch(D, tD)
    real = data[:64]
    mine = penalties.r1(D, Tensor(real), 0.1).item()
    x = torch.from_numpy(real).requires_grad_(True)
    (g,) = torch.autograd.grad(tD(x).sum(), x, create_graph=True)
    theirs = (0.1 / 2) * g.pow(2).sum(dim=1).mean()
    assert mine == pytest.approx(theirs.item(), rel=1e-5)
    D.zero_grad()
    penalties.r1(D, Tensor(real), 0.1).backward()       # a ReLU D: the biases get none
    grads_theirs = torch.autograd.grad(theirs, list(tD.parameters()), allow_unused=True)
    for p, b in zip(D.parameters(), grads_theirs):
        mine = np.zeros(p.shape) if p.grad is None else p.grad        # None: no path, 0
        theirs_p = np.zeros(p.shape[::-1]) if b is None else b.numpy()
        np.testing.assert_allclose(mine, theirs_p.T if p.ndim == 2 else theirs_p,
                                   rtol=2e-3, atol=1e-6)   # Dense: (in, out) vs (out, in)


def test_arguments(speed):
    args = speed.parse_args(["--workloads", "w1,W3", "--quick", "--threads", "2"])
    assert args.workloads == ["W1", "W3"] and args.repeats == 3 and args.threads == 2
    assert speed.result_name(args) == "speed_cpu_t2_W1W3_quick"
    with pytest.raises(SystemExit):
        speed.parse_args(["--workloads", "W4"])
    with pytest.raises(SystemExit):
        speed.parse_args(["--engines", "jax"])


def test_runs_end_to_end_with_minigan_alone(speed, tmp_path):
    lines = []
    records = speed.main(["--workloads", "W1", "--engines", "minigan", "--repeats", "2",
                          "--block", "0.02", "--quick", "--out", str(tmp_path)],
                         log=lines.append)
    (rec,) = records
    mg = rec["engines"]["minigan"]
    assert len(mg["ms_per_step_blocks"]) == 2 and mg["ms_per_step"]["median"] > 0
    assert mg["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert mg["memory"]["peak_bytes"] > 0
    md = (tmp_path / "speed_cpu_t1_W1_quick.md").read_text()
    assert "| W1 sine MLP (m=32) |" in md and "skipped" not in md.split("\n\n")[1]
    saved = json.loads((tmp_path / "speed_cpu_t1_W1_quick.json").read_text())
    assert saved["workloads"][0]["engines"]["minigan"]["info"]["numpy"] == np.__version__
    assert "model name" in saved["system"]["cpu"] or saved["system"]["cpu"]


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is present: nothing to skip")
def test_gpu_without_cupy_skips_clearly(speed, tmp_path):
    lines = []
    assert speed.main(["--device", "gpu", "--workloads", "W1", "--engines", "minigan",
                       "--quick", "--out", str(tmp_path)], log=lines.append) is None
    text = "\n".join(lines)
    assert "SKIPPED" in text and "CuPy" in text
    assert not list(tmp_path.iterdir())


def test_gpu_work_table(speed):
    """The GPU run's kernel table, from records as count_gpu_kernels makes them (no GPU needed)."""
    work = {"kernels_per_step": 412.0, "gpu_busy_ms_per_step": 1.234,
            "most_frequent": [["cupy_add__float32_float32_float32", 40.0], ["gemm", 12.0]]}
    records = [{"title": "W3 DCGAN 28x28",
                "engines": {"minigan": {"gpu_kernels": work}, "pytorch": {"gpu_kernels": None}}},
               {"title": "W1 sine MLP", "engines": {"minigan": {}, "pytorch": {}}}]
    text = "\n".join(speed.gpu_work_table(records))
    assert "| W3 DCGAN 28x28 | 412 | — | 1.23 | — |" in text
    assert "W1 sine MLP |" not in text                       # nothing measured: no row
    assert "cupy_add__float32_float32_float32 ×40, gemm ×12" in text
    assert speed.gpu_work_table(records[1:]) == []


@pytest.mark.parametrize("name", ["W1", "W2"])
def test_dezero_networks_and_one_step(speed, name):
    """DeZero's side (where the bench extra installed it): the spec's networks, parameter for
    parameter, a finite step, and the dtypes it reports computing in."""
    try:
        speed.import_dezero()
    except ImportError:
        pytest.skip("DeZero is not installed (the bench extra)")
    G, D, step, data, dtypes = speed.build_dezero(name)
    count = lambda net: sum(p.data.size for p in net.params())   # noqa: E731
    assert (count(G), count(D)) == EXPECTED[name]
    losses = step()
    assert all(np.isfinite(v) for v in losses)
    assert set(dtypes) == {"weights", "logits", "loss", "grad_at_logits", "weight_grad"}


def test_dezero_column_in_the_table(speed):
    """The DeZero columns, from records as measure_workload makes them."""
    spread = {"median": 0.4, "min": 0.3, "max": 0.5}
    ms = {"median": 4.0, "min": 3.9, "max": 4.2}
    rec = {"title": "W1 sine MLP", "batch": 32, "summary": "s", "notes": "n",
           "engines": {"minigan": {"ms_per_step": ms, "steps_per_s": 250.0},
                       "pytorch": {"skipped": "no torch"},
                       "dezero": {"ms_per_step": ms, "info": {
                           "dezero": "0.0.13", "numpy": "2.4", "dtypes": dict.fromkeys(
                               ("weights", "logits", "loss", "grad_at_logits", "weight_grad"),
                               "float64")}}},
           "ratio_minigan_dezero": spread}
    args = speed.parse_args(["--no-write"])
    facts = {"cpu": {}, "logical_cpus": 2, "python": "3", "threads": 1}
    text = speed.markdown([rec], facts, args)
    assert "| DeZero ms/step | minigan / DeZero |" in text
    assert "| 4 (3.9–4.2) | 0.40× (0.30–0.50) |" in text
    assert "weights float64" in text and "np.int aliased" in text
