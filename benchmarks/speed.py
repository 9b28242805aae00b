"""Speed of one Algorithm 1 training step: minigan against PyTorch, same network, same run.

    pip install -e ".[bench]" && python benchmarks/speed.py

    python benchmarks/speed.py --threads 2                 # both engines on 2 threads
    python benchmarks/speed.py --workloads W1,W3 --repeats 21
    python benchmarks/speed.py --quick                     # smoke run (results named *_quick)
    python benchmarks/speed.py --device gpu                # minigan on CuPy vs PyTorch on CUDA
    python benchmarks/speed.py --profile --workloads W1    # where the time goes (cProfile)

The `bench` extra pins torch==2.13.0, a benchmark-only dependency: minigan never imports it and
CI never installs it. Use its CPU build: on the project's machines pip takes the CPU wheel that
lies on disk; elsewhere, install torch==2.13.0 from PyTorch's CPU wheel index first (PyPI's Linux
build of torch pulls GBs of CUDA libraries). It also pins dezero==0.0.13, the framework of the
book "Deep Learning from Scratch 3", timed on W1 and W2 as a third engine (DezeroEngine below):
it still names np.int, removed in NumPy 1.24, so the script aliases it to int before importing
it, and the table's footer says which dtypes it actually computes in.
Without PyTorch or DeZero the script still times minigan, and says so in the table.

What is timed. One full step of Algorithm 1 with k = 1, float32, Adam: D's update on m real
and m generated samples (two D passes, the generated batch detached from G), then G's update
with the non-saturating loss through D. For minigan that is `GANTrainer.train_step(data, m)`
and the step's history row (`history.row_of`, as `GANTrainer.train` records it) on data
already on the device; for PyTorch the loop a PyTorch user would write (`G(z).detach()`
for the D step, `zero_grad(set_to_none=True)`, `BCEWithLogitsLoss`, `torch.optim.Adam` with its
defaults otherwise). Workloads:

  W1  the classic first GAN (sine curve): D 2->256->128->64->1, ReLU and Dropout(0.3) after each
      hidden layer; G 2->16->32->2 with ReLU; m = 32; Adam lr 1e-3, betas (0.9, 0.999) (PyTorch's
      default betas: the spec gives only the learning rate); 1024 points of the sine curve.
  W2  ring of 8 Gaussians: G and D with three hidden layers of 128 ReLU units, latent 2;
      m = 512; Adam lr 1e-4, betas (0.9, 0.999); 8192 points of the ring.
  W2R1  W2 with the R1 gradient penalty (gamma 0.1) in D's update, on request
      (--workloads W2,W2R1): what a penalty's second backward costs, against PyTorch's
      torch.autograd.grad(..., create_graph=True).
  W3  DCGAN 28x28 (minigan.gan.DCGANGenerator / DCGANDiscriminator, width 64: see dcgan.py);
      BatchNorm eps 1e-5, momentum 0.1; m = 64; Adam lr 2e-4, betas (0.5, 0.999); 1024 images
      of uniform noise in [-1, 1] (the step's cost does not depend on what the images show).
All three are built from the library's own classes exactly as specified; the PyTorch networks
are the same layer for layer (equal parameter counts are checked in every run, equal outputs
for equal weights in tests/test_speed_script.py). --torch-freeze-d freezes D in PyTorch's G step
too, as minigan's trainer does (results named *_freeze_d).

How. Each engine runs in its own subprocess (one per engine and workload), started with the
thread settings in its environment *before* NumPy or PyTorch is imported: OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS = --threads (OpenBLAS reads them when it is loaded, and
NumPy has no call to change its thread count afterwards), plus torch.set_num_threads(--threads).
The table's footer says how many threads OpenBLAS itself reports. Both
subprocesses build their networks, warm up, and then the parent asks them for blocks of steps
(each about --block seconds) in alternation, minigan then PyTorch, then PyTorch then minigan, and
so on: on a noisy machine both engines see the same background load, and the ratio minigan /
PyTorch is taken per pair of neighbouring blocks. The table gives the median over --repeats
blocks and the spread (min-max). A short pause between blocks lets the idle engine's worker
threads go to sleep (OpenBLAS spins for up to ~0.1 s after a call).

Memory. Each subprocess reports its resident set: after setup (imports, networks, data) and the
peak while stepping (the kernel's VmHWM, reset after setup through /proc/self/clear_refs), so
"peak RSS (+steps)" reads: the process's peak, and how much of it the steps themselves added.
On the GPU: CuPy's memory pool size after the steps against torch.cuda.max_memory_reserved().

Results: a Markdown table on stdout, written with the raw JSON (every block's time, the CPU
model, the NumPy/BLAS build and thread settings, PyTorch's parallel_info, the load average and
the git commit) to benchmarks/results/speed_<device>_t<threads>[_<workloads>][_quick].{md,json}.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
ENGINES = ("minigan", "pytorch", "dezero")
PAIR = ("minigan", "pytorch")          # the ratio of the table
DEZERO_PIN = "dezero==0.0.13"
DEZERO_WORKLOADS = ("W1", "W2")        # the spec times DeZero on the MLPs only
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TORCH_PIN = "torch==2.13.0"

# ------------------------------------------------------------------ the workloads

WORKLOADS = {
    "W1": dict(title="W1 sine MLP", batch=32, lr=1e-3, betas=(0.9, 0.999), latent=2,
               data="sine", n_data=1024, warmup=50,
               summary="D 2-256-128-64-1 ReLU+Dropout 0.3, G 2-16-32-2 ReLU, m=32, Adam 1e-3"),
    "W2": dict(title="W2 ring MLP", batch=512, lr=1e-4, betas=(0.9, 0.999), latent=2,
               data="ring", n_data=8192, warmup=20,
               summary="G, D 3x128 ReLU, latent 2, m=512, Adam 1e-4"),
    "W2R1": dict(title="W2R1 ring MLP + R1", batch=512, lr=1e-4, betas=(0.9, 0.999), latent=2,
                 data="ring", n_data=8192, warmup=20, penalty="r1", gamma=0.1,
                 summary="W2 with the R1 penalty (gamma 0.1) in D's update: a second backward"),
    "W3": dict(title="W3 DCGAN 28x28", batch=64, lr=2e-4, betas=(0.5, 0.999), latent=100,
               data="images", n_data=1024, warmup=4,
               summary="DCGAN width 64 (BN, ConvTranspose/Conv 4x4 s2), m=64, "
                       "Adam 2e-4 (0.5, 0.999)"),
}

DEFAULT_WORKLOADS = ("W1", "W2", "W3")      # W2R1 when asked for: --workloads W2,W2R1

# How each workload maps onto the library, and what differs between the two loops (not the
# architecture: the parameter counts are checked to be equal in every run).
NOTES = {
    "W1": "Expressed exactly with the library: Discriminator(2, (256, 128, 64), 'relu', "
          "dropout=0.3) is Dense-ReLU-Dropout per hidden layer, the same order as the PyTorch "
          "nn.Sequential; both output a logit (BCE from logits).",
    "W2": "Expressed exactly: Generator(2, 2, (128,) * 3, 'relu'), Discriminator(2, (128,) * 3, "
          "'relu').",
    "W2R1": "W2 with GANTrainer(penalty='r1', gamma=0.1): D runs once more on the real batch, "
            "minigan.grad(D(x).sum(), x, create_graph=True), and gamma/2 mean ||g||^2 joins D's "
            "loss; PyTorch: torch.autograd.grad(D(x).sum(), x, create_graph=True), the same.",
    "W3": "Expressed exactly: DCGANGenerator(100, 28, 1, 64), DCGANDiscriminator(28, 1, 64); "
          "conv and dense layers keep their biases on both sides.",
}
COMMON_NOTES = [
    "Same work on both sides except: (a) the idiomatic PyTorch G step leaves D's parameters "
    "trainable, so its backward also computes D's weight gradients (then discarded), while "
    "minigan's trainer freezes D and skips them (--torch-freeze-d gives PyTorch the same saving); "
    "(b) PyTorch's D-step fake batch is G(z).detach() (graph recorded, then dropped), minigan's "
    "is computed under no_grad(); (c) PyTorch's Adam on the CPU uses its default per-parameter "
    "loop (foreach is the default only on CUDA).",
    "Both loops also compute the step's logged figures (losses, mean D(x), mean D(G(z))) as "
    "device scalars, without copying them to the host.",
]


# ------------------------------------------------------------------ minigan side

def build_minigan(name, device="cpu", seed=0):
    """(G, D, trainer, data) for a workload: the library's own classes and GANTrainer."""
    import minigan
    from minigan.data import make_2d
    from minigan.gan import (DCGANDiscriminator, DCGANGenerator, Discriminator, GANTrainer,
                             Generator)
    from minigan.optim import Adam
    w = WORKLOADS[name]
    minigan.manual_seed(seed)
    if name == "W1":
        G = Generator(latent_dim=2, data_dim=2, hidden=(16, 32), activation="relu")
        D = Discriminator(data_dim=2, hidden=(256, 128, 64), activation="relu", dropout=0.3)
    elif name in ("W2", "W2R1"):
        G = Generator(latent_dim=2, data_dim=2, hidden=(128, 128, 128), activation="relu")
        D = Discriminator(data_dim=2, hidden=(128, 128, 128), activation="relu")
    else:
        G = DCGANGenerator(latent_dim=100, image_size=28, channels=1, width=64)
        D = DCGANDiscriminator(image_size=28, channels=1, width=64)
    G.to(device)
    D.to(device)
    if w["data"] == "images":
        data = minigan.Random(seed, device).uniform((w["n_data"], 1, 28, 28), -1.0, 1.0)
    else:
        data = make_2d(w["data"], w["n_data"], seed=seed, device=device).points
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=w["lr"], betas=w["betas"]),
                         Adam(D.parameters(), lr=w["lr"], betas=w["betas"]), k=1,
                         generator_loss="non-saturating", seed=seed,
                         penalty=w.get("penalty"), gamma=w.get("gamma", 10.0))
    G.train()
    D.train()
    return G, D, trainer, data


# ------------------------------------------------------------------ PyTorch side

def build_torch_networks(name):
    """(G, D) as torch.nn.Sequential, layer for layer the networks of build_minigan."""
    from torch import nn
    if name == "W1":
        G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 32), nn.ReLU(),
                          nn.Linear(32, 2))
        D = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(64, 1))
    elif name in ("W2", "W2R1"):
        G = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
        D = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
    else:
        G = nn.Sequential(
            nn.Linear(100, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7, eps=1e-5, momentum=0.1),
            nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64, eps=1e-5, momentum=0.1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
        D = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128, eps=1e-5, momentum=0.1),
            nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
        for module in list(G.modules()) + list(D.modules()):   # DCGAN's initialisation
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)
    return G, D


def build_torch(name, device="cpu", seed=0, freeze_d=False):
    """(G, D, step, data): step() is one Algorithm 1 step, the idiomatic PyTorch loop."""
    import torch
    from torch import nn
    w = WORKLOADS[name]
    torch.manual_seed(seed)
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    G, D = build_torch_networks(name)
    G.to(dev).train()
    D.to(dev).train()
    n = w["n_data"]
    if w["data"] == "sine":
        x = torch.rand(n, device=dev) * (2 * math.pi)
        data = torch.stack([x, torch.sin(x)], dim=1)
    elif w["data"] == "ring":
        angles = torch.arange(8, device=dev, dtype=torch.float32) * (2 * math.pi / 8)
        centres = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
        data = centres[torch.randint(0, 8, (n,), device=dev)] + 0.01 * torch.randn(n, 2,
                                                                                  device=dev)
    else:
        data = torch.rand(n, 1, 28, 28, device=dev) * 2 - 1
    opt_g = torch.optim.Adam(G.parameters(), lr=w["lr"], betas=w["betas"])
    opt_d = torch.optim.Adam(D.parameters(), lr=w["lr"], betas=w["betas"])
    criterion = nn.BCEWithLogitsLoss()
    m, latent = w["batch"], w["latent"]
    penalty = w.get("penalty")

    def step():
        # --- D: m real + m generated (detached) samples, one update
        real = data[torch.randint(0, n, (m,), device=dev)]
        fake = G(torch.randn(m, latent, device=dev))
        opt_d.zero_grad(set_to_none=True)
        out_real = D(real)
        out_fake = D(fake.detach())
        loss_real = criterion(out_real, torch.ones_like(out_real))
        loss_fake = criterion(out_fake, torch.zeros_like(out_fake))
        loss_d = loss_real + loss_fake
        if penalty:                     # R1: gamma/2 E ||dD(x)/dx||^2 on the real batch
            x = real.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            loss_d = loss_d + (w["gamma"] / 2) * g.pow(2).sum(dim=1).mean()
        loss_d.backward()
        opt_d.step()
        # --- G: fresh noise, non-saturating loss through D
        if freeze_d:
            D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        out = D(G(torch.randn(m, latent, device=dev)))
        loss_g = criterion(out, torch.ones_like(out))
        loss_g.backward()
        opt_g.step()
        if freeze_d:
            D.requires_grad_(True)
        with torch.no_grad():    # the logged figures, as device scalars (no .item())
            return (loss_real.detach(), loss_fake.detach(), loss_g.detach(),
                    torch.sigmoid(out_real).mean(), torch.sigmoid(out_fake).mean())

    return G, D, step, data


# ------------------------------------------------------------------ DeZero side

def import_dezero():
    """DeZero 0.0.13 names np.int (removed in NumPy 1.24) in a default argument, so importing
    it fails on today's NumPy: alias np.int to int first (its only use is an integer dtype)."""
    import numpy as np
    if not hasattr(np, "int"):
        np.int = int
    import dezero
    return dezero


def build_dezero(name, seed=0):
    """(G, D, step, data) in DeZero, written as its book writes a training loop: Model
    subclasses of L.Linear layers, F.sigmoid_cross_entropy (sigmoid, clip, log: DeZero has no
    BCE from logits), optimizers.Adam(...).setup(model), cleargrads / backward / update."""
    import numpy as np
    dezero = import_dezero()
    import dezero.functions as F
    import dezero.layers as L
    w = WORKLOADS[name]
    np.random.seed(seed)             # DeZero draws weights and dropout masks from np.random

    class MLP(dezero.Model):
        def __init__(self, sizes, dropout=0.0):
            super().__init__()
            self.dropout = dropout
            self.linears = []
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                layer = L.Linear(b, in_size=a)
                setattr(self, f"l{i}", layer)          # registers its parameters
                self.linears.append(layer)

        def forward(self, x):
            for layer in self.linears[:-1]:
                x = F.relu(layer(x))
                if self.dropout:
                    x = F.dropout(x, self.dropout)
            return self.linears[-1](x)

    if name == "W1":
        G, D = MLP([2, 16, 32, 2]), MLP([2, 256, 128, 64, 1], dropout=0.3)
    else:
        G, D = MLP([2, 128, 128, 128, 2]), MLP([2, 128, 128, 128, 1])
    rng = np.random.default_rng(seed)
    n, m, latent = w["n_data"], w["batch"], w["latent"]
    if w["data"] == "sine":
        x = rng.uniform(0, 2 * math.pi, n)
        data = np.stack([x, np.sin(x)], axis=1).astype(np.float32)
    else:
        angles = np.arange(8) * (2 * math.pi / 8)
        centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        data = (centres[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, 2))).astype(
            np.float32)
    adam = dict(alpha=w["lr"], beta1=w["betas"][0], beta2=w["betas"][1])
    opt_g = dezero.optimizers.Adam(**adam).setup(G)
    opt_d = dezero.optimizers.Adam(**adam).setup(D)
    ones, zeros = np.ones((m, 1), np.float32), np.zeros((m, 1), np.float32)
    seen = {}

    def step():
        real = data[rng.integers(0, n, m)]
        with dezero.no_grad():
            fake = G(rng.standard_normal((m, latent)).astype(np.float32))
        D.cleargrads()
        out_real, out_fake = D(real), D(fake.data)
        loss_real = F.sigmoid_cross_entropy(out_real, ones)
        loss_fake = F.sigmoid_cross_entropy(out_fake, zeros)
        (loss_real + loss_fake).backward()
        opt_d.update()
        G.cleargrads()
        out = D(G(rng.standard_normal((m, latent)).astype(np.float32)))
        loss_g = F.sigmoid_cross_entropy(out, ones)
        loss_g.backward(retain_grad=not seen)     # (the first step keeps the logits' grad)
        opt_g.update()
        if not seen:                 # what it computes in (numpy 2's promotion rules)
            seen.update(logits=str(out.data.dtype), loss=str(loss_g.data.dtype),
                        grad_at_logits=str(out.grad.data.dtype),
                        weight_grad=str(D.linears[0].W.grad.data.dtype),
                        weights=str(D.linears[0].W.data.dtype))
        return loss_real.data, loss_fake.data, loss_g.data

    return G, D, step, data, seen


def copy_minigan_to_torch(source, target):
    """Copy a minigan network's parameters and BatchNorm buffers into the torch network built
    for the same workload (Dense weights are stored transposed: (in, out) vs (out, in))."""
    import torch
    mine = [p.data for p in source.parameters()]
    theirs = list(target.parameters())
    if len(mine) != len(theirs):
        raise ValueError(f"{len(mine)} minigan parameters vs {len(theirs)} torch ones")
    with torch.no_grad():
        for a, p in zip(mine, theirs):
            a = a.T if a.ndim == 2 else a         # Dense: (in, out) -> (out, in), square too
            if tuple(a.shape) != tuple(p.shape):
                raise ValueError(f"shape {a.shape} vs {tuple(p.shape)}")
            p.copy_(torch.from_numpy(a.copy()))


# ------------------------------------------------------------------ the worker (a subprocess)

def _proc_status(field):
    """A memory figure from /proc/self/status in bytes (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _openblas_threads():
    """OpenBLAS's own thread count, asked from the loaded library (None if not found)."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        if not path.startswith("/"):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                       "openblas_get_num_threads64_", "openblas_get_num_threads"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                return {"threads": int(fn()), "library": path}
    return None


def count_gpu_kernels(run_steps, n, top=12):
    """GPU work per step, read by CUPTI through torch.profiler, which records every kernel the
    process launches (CuPy's as well as PyTorch's): kernels (and memset/memcpy operations) per
    step, the GPU's busy time per step (the sum of their durations), and the most frequent
    names. Busy time far below the wall time per step means the host, launching kernels one by
    one, is what limits the step. None where PyTorch (the CUDA build) is not installed."""
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        return None
    names, busy_us = {}, 0.0
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        run_steps(n)
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            names[event.name] = names.get(event.name, 0) + 1
            busy_us += event.time_range.elapsed_us()
    ranked = sorted(names.items(), key=lambda kv: -kv[1])[:top]
    return {"kernels_per_step": sum(names.values()) / n, "gpu_busy_ms_per_step": busy_us / n / 1e3,
            "most_frequent": [[name[:90], count / n] for name, count in ranked]}


def cprofile_steps(run_steps, n, top):
    """cProfile of n steps: the top functions by their own time, as text."""
    import cProfile
    import io
    import pstats
    profiler = cProfile.Profile()
    profiler.enable()
    run_steps(n)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


class Skip(Exception):
    """This engine cannot run here (no PyTorch, no GPU...); the reason says what to install."""


class MiniganEngine:
    name = "minigan"

    def __init__(self, workload, device, threads, options):
        self.device = device
        sys.path.insert(0, ROOT)
        import numpy as np
        import minigan
        from minigan import backend
        if device == "gpu":
            try:
                backend.check_device("gpu")
            except backend.DeviceError as error:
                raise Skip(f"minigan on the GPU: {error}")
        self.G, self.D, self.trainer, self.data = build_minigan(workload, device)
        self.m = WORKLOADS[workload]["batch"]
        self.xp = backend.xp_of_device(device)
        try:
            config = np.show_config(mode="dicts")
        except TypeError:            # NumPy < 1.26: no mode argument
            config = {}
        self.info = {
            "numpy": np.__version__, "minigan": minigan.__version__,
            "blas": config.get("Build Dependencies", {}).get("blas"),
            "simd": config.get("SIMD Extensions"),
            "openblas_runtime": _openblas_threads(),
            "params_G": self.G.num_parameters(), "params_D": self.D.num_parameters(),
        }
        if device == "gpu":
            cp = self.xp
            props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
            self.info.update(cupy=cp.__version__, gpu=props["name"].decode(),
                             cuda_runtime=cp.cuda.runtime.runtimeGetVersion())

    def steps(self, n):
        from minigan.gan.history import row_of
        step, data, m = self.trainer.train_step, self.data, self.m
        for _ in range(n):
            d_steps, g_step = step(data, m)
            row_of(d_steps[-1], g_step)     # the logged figures, as GANTrainer.train computes
        self.sync()

    def sync(self):
        if self.device == "gpu":
            self.xp.cuda.Device().synchronize()

    def gpu_memory(self):
        if self.device != "gpu":
            return None
        pool = self.xp.get_default_memory_pool()
        return {"pool_total_bytes": int(pool.total_bytes()), "pool_used_bytes":
                int(pool.used_bytes())}

    def profile(self, n, top):
        return cprofile_steps(self.steps, n, top)


class TorchEngine:
    name = "pytorch"

    def __init__(self, workload, device, threads, options):
        self.device = device
        try:
            import torch
        except ImportError as error:
            raise Skip(f"PyTorch is not installed ({error}): pip install -e \".[bench]\" "
                       f"(the CPU build, {TORCH_PIN})")
        self.torch = torch
        torch.set_num_threads(threads)
        if device == "gpu":
            if not torch.cuda.is_available():
                raise Skip(f"PyTorch on the GPU: torch.cuda.is_available() is False (torch "
                           f"{torch.__version__}; the bench extra pins the CPU build: install a "
                           f"CUDA build of torch for --device gpu)")
            # float32 on both sides: no TF32 in cuDNN convolutions (CuPy uses none by default).
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.G, self.D, self._step, self.data = build_torch(
            workload, device, freeze_d=options.get("torch_freeze_d", False))
        self.info = {
            "torch": torch.__version__, "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
            "parallel_info": torch.__config__.parallel_info(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "freeze_d_in_g_step": bool(options.get("torch_freeze_d", False)),
            "params_G": sum(p.numel() for p in self.G.parameters()),
            "params_D": sum(p.numel() for p in self.D.parameters()),
        }
        if device == "gpu":
            torch.cuda.reset_peak_memory_stats()
            self.info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                             cudnn=torch.backends.cudnn.version())

    def steps(self, n):
        step = self._step
        for _ in range(n):
            step()
        self.sync()

    def sync(self):
        if self.device == "gpu":
            self.torch.cuda.synchronize()

    def gpu_memory(self):
        if self.device != "gpu":
            return None
        cuda = self.torch.cuda
        return {"pool_total_bytes": int(cuda.max_memory_reserved()),
                "max_allocated_bytes": int(cuda.max_memory_allocated())}

    def profile(self, n, top):
        from torch.profiler import ProfilerActivity, profile
        activities = [ProfilerActivity.CPU]
        if self.device == "gpu":
            activities.append(ProfilerActivity.CUDA)
        with profile(activities=activities) as prof:
            self.steps(n)
        key = "self_cuda_time_total" if self.device == "gpu" else "self_cpu_time_total"
        return prof.key_averages().table(sort_by=key, row_limit=top)


class DezeroEngine:
    name = "dezero"

    def __init__(self, workload, device, threads, options):
        if device != "cpu":
            raise Skip("DeZero: timed on the CPU only")
        if workload not in DEZERO_WORKLOADS:
            raise Skip(f"DeZero: the spec times it on {', '.join(DEZERO_WORKLOADS)} only")
        try:
            dezero = import_dezero()
        except ImportError as error:
            raise Skip(f"DeZero is not installed ({error}): pip install -e \".[bench]\" "
                       f"({DEZERO_PIN})")
        import numpy as np
        self.G, self.D, self._step, self.data, dtypes = build_dezero(workload)
        self._step()                 # one step, to read the dtypes it computes in
        self.info = {"dezero": getattr(dezero, "__version__", "0.0.13"), "numpy": np.__version__,
                     "np_int_aliased": True, "dtypes": dtypes,
                     "params_G": sum(p.data.size for p in self.G.params()),
                     "params_D": sum(p.data.size for p in self.D.params())}

    def steps(self, n):
        step = self._step
        for _ in range(n):
            step()

    def sync(self):
        pass

    def gpu_memory(self):
        return None

    def profile(self, n, top):
        return cprofile_steps(self.steps, n, top)


def worker(args):
    """Serve the parent over stdin/stdout, one JSON object per line."""
    protocol = sys.stdout
    sys.stdout = sys.stderr          # stray prints must not corrupt the protocol
    options = json.loads(args.worker_options or "{}")

    def send(obj):
        protocol.write(json.dumps(obj) + "\n")
        protocol.flush()

    cls = {"minigan": MiniganEngine, "pytorch": TorchEngine, "dezero": DezeroEngine}[args.worker]
    try:
        engine = cls(args.worker_workload, args.device, args.threads, options)
    except Skip as reason:
        send({"skip": str(reason)})
        return
    engine.sync()
    rss_setup = _proc_status("VmRSS")
    peak_setup = _proc_status("VmHWM")
    reset = _reset_peak_rss()
    env = {k: os.environ.get(k) for k in THREAD_VARS}
    send({"ready": True, "info": engine.info, "env": env, "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "run":
            t0 = time.perf_counter()
            engine.steps(cmd["steps"])
            send({"seconds": time.perf_counter() - t0})
        elif cmd["cmd"] == "kernels":
            send({"kernels": count_gpu_kernels(engine.steps, cmd["steps"])})
        elif cmd["cmd"] == "profile":
            send({"text": engine.profile(cmd["steps"], cmd["top"])})
        elif cmd["cmd"] == "memory":
            hwm = _proc_status("VmHWM")
            send({"rss_setup_bytes": rss_setup, "peak_setup_bytes": peak_setup,
                  "peak_steps_bytes": hwm if reset else None,
                  "peak_bytes": max(v for v in (hwm, peak_setup) if v is not None)
                  if hwm or peak_setup else None,
                  "peak_reset_ok": reset, "gpu": engine.gpu_memory()})
        elif cmd["cmd"] == "quit":
            send({"bye": True})
            return


# ------------------------------------------------------------------ the parent

class Worker:
    """One engine in its own process, with the thread settings in its environment."""

    def __init__(self, engine, workload, device, threads, options):
        env = dict(os.environ)
        for var in THREAD_VARS:
            env[var] = str(threads)
        env.setdefault("PYTHONUNBUFFERED", "1")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", engine,
               "--worker-workload", workload, "--device", device, "--threads", str(threads),
               "--worker-options", json.dumps(options)]
        self.engine = engine
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, cwd=ROOT)
        self.hello = self._read()
        self.skip = self.hello.get("skip")
        if self.skip:
            self.proc.wait()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the {self.engine} worker exited (code {code}) without an "
                               f"answer; its error is above")
        return json.loads(line)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def run(self, steps):
        return self.ask(cmd="run", steps=steps)["seconds"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ask(cmd="quit")
            except (OSError, RuntimeError, ValueError):
                pass
            self.proc.wait(timeout=30)


def _spread(values):
    values = sorted(values)
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) >= 2 else values * 3
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "q1": q1, "q3": q3}


def measure_workload(name, args, log):
    """Time both engines on one workload, interleaved; return the workload's record."""
    w = WORKLOADS[name]
    options = {"torch_freeze_d": args.torch_freeze_d}
    workers, record = {}, {"workload": name, "title": w["title"], "summary": w["summary"],
                           "batch": w["batch"], "notes": NOTES[name], "engines": {}}
    try:
        for engine in args.engines:
            wk = Worker(engine, name, args.device, args.threads, options)
            if wk.skip:
                log(f"  {engine}: skipped: {wk.skip}")
                record["engines"][engine] = {"skipped": wk.skip}
            else:
                workers[engine] = wk
                record["engines"][engine] = {"info": wk.hello["info"], "env": wk.hello["env"]}
        if not workers:
            return record
        warmup = max(1, w["warmup"] // (5 if args.quick else 1))
        steps = {}
        for engine, wk in workers.items():
            wk.run(warmup)                           # first calls: allocations, caches
            probe = max(1, warmup // 2)
            per_step = wk.run(probe) / probe
            steps[engine] = max(1, min(100000, round(args.block / max(per_step, 1e-7))))
            record["engines"][engine].update(warmup_steps=warmup + probe,
                                             steps_per_block=steps[engine])
        pause = 0.02 if args.threads == 1 else 0.2
        blocks = {engine: [] for engine in workers}
        order = list(workers)
        for r in range(args.repeats):
            for engine in (order if r % 2 == 0 else order[::-1]):
                time.sleep(pause)
                seconds = workers[engine].run(steps[engine])
                blocks[engine].append(1e3 * seconds / steps[engine])
        for engine, wk in workers.items():
            memory = wk.ask(cmd="memory")
            if args.device == "gpu":             # after the timing: the profiler costs time
                record["engines"][engine]["gpu_kernels"] = wk.ask(cmd="kernels", steps=5)[
                    "kernels"]
            ms = _spread(blocks[engine])
            record["engines"][engine].update(
                ms_per_step_blocks=blocks[engine], ms_per_step=ms,
                steps_per_s=1e3 / ms["median"], memory=memory)
        if "dezero" in workers and "minigan" in workers:
            record["ratio_minigan_dezero"] = _spread(
                [x / y for x, y in zip(blocks["minigan"], blocks["dezero"])])
        if all(e in workers for e in PAIR):
            a, b = (blocks[e] for e in PAIR)
            paired = [x / y for x, y in zip(a, b)]
            record["ratio"] = {"of_medians": statistics.median(a) / statistics.median(b),
                               "paired": _spread(paired), "paired_values": paired}
            info = [record["engines"][e]["info"] for e in PAIR]
            record["params_match"] = (info[0]["params_G"], info[0]["params_D"]) == \
                (info[1]["params_G"], info[1]["params_D"])
            if not record["params_match"]:
                log(f"  WARNING: parameter counts differ: minigan G/D {info[0]['params_G']}/"
                    f"{info[0]['params_D']}, PyTorch {info[1]['params_G']}/{info[1]['params_D']}")
    finally:
        for wk in workers.values():
            wk.close()
    return record


def profile_workload(name, args, log):
    """cProfile of minigan's steps, torch.profiler of PyTorch's, after a warm-up."""
    w = WORKLOADS[name]
    options = {"torch_freeze_d": args.torch_freeze_d}
    texts = {}
    for engine in args.engines:
        wk = Worker(engine, name, args.device, args.threads, options)
        try:
            if wk.skip:
                texts[engine] = f"skipped: {wk.skip}"
                continue
            wk.run(w["warmup"])
            n = args.profile_steps or max(5, {"W1": 500, "W2": 100, "W3": 10}[name])
            texts[engine] = f"{n} steps\n" + wk.ask(cmd="profile", steps=n, top=15)["text"]
        finally:
            wk.close()
        log(f"\n===== {w['title']}: {engine}, {texts[engine]}")
    return texts


# ------------------------------------------------------------------ system facts, the table

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            fields = {}
            for line in f:
                if ":" in line:
                    key, value = (s.strip() for s in line.split(":", 1))
                    fields.setdefault(key, value)
        return {k: fields.get(k) for k in ("model name", "vendor_id", "cpu family", "model",
                                          "stepping", "cpu MHz", "cache size", "flags")
                if k in fields} | {"flags": " ".join(
                    f for f in fields.get("flags", "").split()
                    if f.startswith(("avx", "fma", "amx")))}
    except OSError:
        return {"processor": platform.processor()}


def git_state():
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    return {"commit": git("rev-parse", "HEAD"),
            "library_modified": bool(git("status", "--porcelain", "minigan"))}


def system_facts(args):
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "usable_cpus": affinity,
            "platform": platform.platform(), "python": platform.python_version(),
            "threads": args.threads, "thread_env": {k: str(args.threads) for k in THREAD_VARS},
            "git": git_state()}


def _mib(n):
    return None if n is None else n / 2 ** 20


def _fmt_ms(ms):
    return f"{ms['median']:.3g} ({ms['min']:.3g}–{ms['max']:.3g})"


def _fmt_engine_ms(engines, name):
    r = engines.get(name, {})
    return ("not run" if name not in engines else "skipped" if "skipped" in r else
            _fmt_ms(r["ms_per_step"]) if "ms_per_step" in r else "—")


def _fmt_ratio(spread, bold=False):
    if not spread:
        return "—"
    median = f"**{spread['median']:.2f}×**" if bold else f"{spread['median']:.2f}×"
    return f"{median} ({spread['min']:.2f}–{spread['max']:.2f})"


def _fmt_mem(engine_record, device):
    mem = engine_record.get("memory") or {}
    if device == "gpu":
        gpu = mem.get("gpu") or {}
        total = _mib(gpu.get("pool_total_bytes"))
        return "—" if total is None else f"{total:.0f} (GPU pool)"
    peak, setup = _mib(mem.get("peak_bytes")), _mib(mem.get("rss_setup_bytes"))
    steps = _mib(mem.get("peak_steps_bytes"))
    if peak is None:
        return "—"
    extra = f" (+{max(0.0, steps - setup):.0f})" if steps is not None and setup else ""
    return f"{peak:.0f}{extra}"


def markdown(records, facts, args):
    dev = "CPU" if args.device == "cpu" else "GPU"
    mem_head = "peak RSS MiB (+steps)" if args.device == "cpu" else "peak GPU MiB"
    dezero = "dezero" in args.engines and args.device == "cpu"
    lines = [f"### One Algorithm 1 step (k = 1, float32, Adam): minigan vs PyTorch, {dev}, "
             f"{args.threads} thread{'s' * (args.threads != 1)}", "",
             f"| workload | minigan ms/step | PyTorch ms/step | minigan / PyTorch | "
             f"minigan steps/s | PyTorch steps/s | minigan {mem_head} | "
             f"PyTorch {mem_head} |" + (" DeZero ms/step | minigan / DeZero |" if dezero else ""),
             "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if dezero else "")]
    for rec in records:
        cells = [f"{rec['title']} (m={rec['batch']})"]
        eng = rec["engines"]
        for e in PAIR:
            cells.append(_fmt_engine_ms(eng, e))
        cells.append(_fmt_ratio(rec.get("ratio", {}).get("paired"), bold=True))
        for e in PAIR:
            r = eng.get(e, {})
            cells.append(f"{r['steps_per_s']:.3g}" if "steps_per_s" in r else "—")
        for e in PAIR:
            r = eng.get(e, {})
            cells.append(_fmt_mem(r, args.device) if "memory" in r else "—")
        if dezero:
            cells.append(_fmt_engine_ms(eng, "dezero"))
            cells.append(_fmt_ratio(rec.get("ratio_minigan_dezero")))
        lines.append("| " + " | ".join(cells) + " |")
    mg = next((r["engines"]["minigan"]["info"] for r in records
               if "info" in r["engines"].get("minigan", {})), {})
    pt = next((r["engines"]["pytorch"]["info"] for r in records
               if "info" in r["engines"].get("pytorch", {})), {})
    blas = mg.get("blas") or {}
    rt = mg.get("openblas_runtime") or {}
    cpu = facts["cpu"].get("model name", "?")
    lines += ["",
              f"ms/step: median over {args.repeats} blocks of ~{args.block:g} s (min–max); "
              f"ratio: median of the {args.repeats} per-pair ratios of neighbouring minigan and "
              f"PyTorch blocks (min–max), engines interleaved in one run, each in its own "
              f"process after a warm-up. Memory: the process's peak resident set; in brackets "
              f"what the steps added over the set after imports, networks and data."
              if args.device == "cpu" else
              f"ms/step: median over {args.repeats} blocks of ~{args.block:g} s (min–max), "
              f"synchronised at each block's end; ratio as on the CPU. Memory: CuPy's pool "
              f"size vs torch.cuda.max_memory_reserved().",
              "",
              f"Machine: {cpu}, {facts['logical_cpus']} logical CPUs; threads: "
              f"{args.threads} (OMP/OPENBLAS/MKL_NUM_THREADS={args.threads} before import, "
              f"torch.set_num_threads({args.threads})"
              + (f"; OpenBLAS reports {rt['threads']}" if rt else "") + "). "
              f"numpy {mg.get('numpy', '?')} with {blas.get('name', '?')} "
              f"{blas.get('version', '')}; torch {pt.get('torch', 'not installed')}; "
              f"Python {facts['python']}; load average before/after "
              f"{facts.get('loadavg_before', '?')} / {facts.get('loadavg_after', '?')}.",
              ""]
    if args.device == "gpu":
        lines += gpu_work_table(records) + [""]
    for rec in records:
        lines.append(f"- {rec['title']}: {rec['summary']}. {rec['notes']}")
    for note in COMMON_NOTES:
        lines.append(f"- {note}")
    dz = next((r["engines"]["dezero"]["info"] for r in records
               if "info" in r["engines"].get("dezero", {})), None)
    if dz:
        t = dz["dtypes"]
        lines.append(f"- DeZero {dz['dezero']} (the book's framework, pip's {DEZERO_PIN}; np.int "
                     f"aliased to int before import, as it needs NumPy < 1.24) runs the same "
                     f"networks its own way: F.sigmoid_cross_entropy (sigmoid, clip, log), "
                     f"Adam.setup, cleargrads/backward/update, D's G-step gradients computed. "
                     f"What it computes in here (NumPy {dz['numpy']}): weights {t['weights']}, "
                     f"logits {t['logits']}, loss {t['loss']}, gradient at the logits "
                     f"{t['grad_at_logits']}, D's weight gradients {t['weight_grad']}. (Under "
                     f"NumPy 2's promotion rules its constants, NumPy float64 scalars and 0-d "
                     f"arrays, are not weak: W * np.sqrt(1 / n) at initialisation already makes "
                     f"float32 weights float64.)")
    if args.torch_freeze_d:
        lines.append("- This run: --torch-freeze-d (PyTorch's G step freezes D, as minigan's).")
    return "\n".join(lines) + "\n"


def gpu_work_table(records):
    """Kernels per step and the GPU's busy time per step, beside the wall time above."""
    lines = ["GPU work per step (CUPTI through torch.profiler, 5 steps after the timing): kernels "
             "launched (memset/memcpy included) and the GPU's busy time, the sum of their "
             "durations. Busy time well below ms/step means the host's launching is the limit.",
             "", "| workload | minigan kernels | PyTorch kernels | minigan GPU busy ms | "
             "PyTorch GPU busy ms |", "|---|---:|---:|---:|---:|"]
    frequent = []
    for rec in records:
        work = [rec["engines"].get(e, {}).get("gpu_kernels") for e in PAIR]
        if not any(work):
            continue
        cells = [f"{w['kernels_per_step']:.0f}" if w else "—" for w in work]
        cells += [f"{w['gpu_busy_ms_per_step']:.3g}" if w else "—" for w in work]
        lines.append(f"| {rec['title']} | " + " | ".join(cells) + " |")
        if work[0]:
            top = ", ".join(f"{name} ×{count:g}" for name, count in work[0]["most_frequent"][:6])
            frequent.append(f"- minigan's most frequent kernels per step, {rec['title']}: {top}")
    return lines + [""] + frequent if len(lines) > 4 else []


def write_text(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)         # mkstemp makes it private; results are for everyone
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def result_name(args):
    name = f"speed_{args.device}_t{args.threads}"
    if list(args.workloads) != list(DEFAULT_WORKLOADS):
        name += "_" + "".join(args.workloads)
    if args.torch_freeze_d:
        name += "_freeze_d"
    if args.quick:
        name += "_quick"
    return name


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                   help=f"comma-separated, of {', '.join(WORKLOADS)}")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed blocks per engine (default 15; 3 with --quick)")
    p.add_argument("--block", type=float, default=None,
                   help="seconds per timed block (default 0.5; 0.1 with --quick)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for both engines (BLAS/OpenMP env vars, torch.set_num_threads)")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="cpu: NumPy vs PyTorch CPU; gpu: CuPy vs PyTorch CUDA")
    p.add_argument("--engines", default="minigan,pytorch,dezero",
                   help="comma-separated, of minigan, pytorch, dezero (DeZero: W1 and W2, "
                        "CPU)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: short warm-up, 3 blocks of 0.1 s, results named *_quick")
    p.add_argument("--torch-freeze-d", action="store_true",
                   help="freeze D's parameters in PyTorch's G step (as minigan's trainer does)")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing: cProfile minigan's steps (top 15 by tottime) and "
                        "torch.profiler PyTorch's, per workload")
    p.add_argument("--profile-steps", type=int, default=None, help="steps to profile")
    p.add_argument("--out", default=RESULTS, help="folder for the .md and .json")
    p.add_argument("--no-write", action="store_true", help="print only, write no files")
    # internal: the worker subprocess
    p.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--worker-workload", help=argparse.SUPPRESS)
    p.add_argument("--worker-options", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return args
    args.workloads = [s.strip().upper() for s in args.workloads.split(",") if s.strip()]
    bad = [s for s in args.workloads if s not in WORKLOADS]
    if bad or not args.workloads:
        p.error(f"--workloads: unknown {bad}; expected some of {list(WORKLOADS)}")
    args.engines = [s.strip().lower() for s in args.engines.split(",") if s.strip()]
    if not args.engines or any(e not in ENGINES for e in args.engines):
        p.error(f"--engines: expected some of {list(ENGINES)}, got {args.engines}")
    args.engines = [e for e in ENGINES if e in args.engines]      # fixed order
    if args.repeats is None:
        args.repeats = 3 if args.quick else 15
    if args.block is None:
        args.block = 0.1 if args.quick else 0.5
    # "not block > 0" and isfinite: NaN passes every "<=" test, and an infinite block never ends
    if args.repeats < 1 or not (args.block > 0 and math.isfinite(args.block)) or args.threads < 1:
        p.error(f"--repeats and --threads must be at least 1, --block a finite number > 0; got "
                f"{args.repeats}, {args.threads}, {args.block}")
    return args


def main(argv=None, log=print):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return None
    facts = system_facts(args)
    if args.profile:
        return {w: profile_workload(w, args, log) for w in args.workloads}
    facts["loadavg_before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    records, t0 = [], time.perf_counter()
    for name in args.workloads:
        log(f"{WORKLOADS[name]['title']}: timing {', '.join(args.engines)} "
            f"({args.repeats} blocks each, {args.threads} thread(s), {args.device})...")
        records.append(measure_workload(name, args, log))
        if all("skipped" in e for e in records[-1]["engines"].values()):
            break                    # nothing can run here: the same reasons for every workload
    facts["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    facts["elapsed_s"] = time.perf_counter() - t0
    timed = [r for r in records if any("ms_per_step" in e for e in r["engines"].values())]
    if not timed:
        log(f"\nSKIPPED: no engine can run on the {args.device.upper()} here (reasons above); "
            f"nothing written.")
        return None
    text = markdown(records, facts, args)
    log("")
    log(text)
    if not args.no_write:
        base = os.path.join(args.out, result_name(args))
        record = {"settings": {k: v for k, v in vars(args).items()
                               if not k.startswith("worker")},
                  "system": facts, "workloads": records}
        write_text(base + ".md", text)
        write_text(base + ".json", json.dumps(record, indent=2) + "\n")
        log(f"written: {base}.md and {base}.json")
    return records


if __name__ == "__main__":
    main()
