"""What each fast path of minigan/fast/ saves, timed against the plain rule it replaces.

    python benchmarks/fast_paths.py                    # CPU, 1 thread: a few minutes
    python benchmarks/fast_paths.py --threads 2
    python benchmarks/fast_paths.py --device gpu       # the CPU rows, then the same on CuPy
    python benchmarks/fast_paths.py --quick --no-write # smoke run, a few seconds, prints only

The rows:

  1. Adam, flat vs plain: Adam(flat=True), whose step is minigan.fast.adam.step_together,
     against Adam(flat=False), Adam.update_one for each parameter in turn; one optimiser per
     network of the workloads W1 and W2 of benchmarks/speed.py, every parameter holding a
     fixed random float32 gradient.
  2. The subnormal flush: the cost it avoids. (a) The same float32 arithmetic, m *= b1 then
     m += (1 - b1) g, on normal numbers against subnormal ones (g = m's starting value, so m
     stays where it is). (b) Adam(flat=True) steps on W1's D whose moments are subnormal
     (gradients exactly 0, moments set to 1e-39 before each block), with the flush every
     FLUSH_EVERY steps (the default) against without it: for those blocks the script sets
     minigan.fast.adam.FLUSH_EVERY to 10**9. (c) The flush's own price: the same with random
     gradients, where nothing is subnormal.
  3. col2im, the plain loop (one addition per kernel offset) against col2im_by_group (one per
     group of offsets), on the column shapes of the backward passes of W3's D. On CuPy arrays
     col2im itself takes the grouped path; to time the plain loop there the script tells it,
     for the block's duration, that the arrays are not CuPy's (backend.is_cupy patched).
  4. A step's results as values: W2's trainer.train_step(data, 512) in a loop that holds the
     returned results until the next step returns, with StepValues detaching them (the
     default) against StepValues.__post_init__ patched to do nothing (the graphs are kept).
  5. malloc keeps the memory a step frees (minigan/fast/memory.py): W3's training step, with
     the settings GANTrainer applies on the CPU against malloc's defaults, each block in a
     fresh process (the settings last a process), with the page faults per step.
  6. ConvTranspose2d's forward (which is also Conv2d's input gradient): the plain rule
     (im2col's product, then col2im's scatter-add; ConvTranspose2dFunction.forward under its
     decorator) against the stride phases of minigan/fast/subpixel.py, on W3's two transposed
     convolutions, whose shapes are also those of the input gradients of D's two convolutions.
     6b: the phases in batch chunks of CHUNK_BYTES (the default) against one chunk (the
     script sets minigan.fast.subpixel.CHUNK_BYTES to 2**62 for those blocks), on W3's
     ConvTranspose2d(128→64) and on the same layer at twice the size.

How. Each comparison runs in this one process: both variants are warmed up, each gets as many
calls per block as fill --block seconds, then the blocks alternate A, B, B, A, A, B, ... for
--repeats rounds. A block's time over its calls is one per-call time; the table gives the
median per-call time of each variant (min-max over blocks) and the median of the per-round
ratios B / A (min-max). On a noisy machine trust the ratios: the two blocks of a round ran
side by side. On the GPU the device is synchronised before each clock reading.

OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to --threads at the top of
this file, before NumPy is imported (OpenBLAS reads them once, when it is loaded). That works
when the file is run as a script; imported (as the tests do), NumPy is already loaded, and the
table says how many threads OpenBLAS reports.

Results: the table on stdout, written to benchmarks/results/fast_paths[_gpu][_t<threads>]
[_quick].md and the raw numbers (every block's time, the machine) to the same name .json.
"""
import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def threads_argument(argv):
    """The value of --threads on the command line ("1" if absent), read before argparse runs:
    the thread variables must be set before anything imports NumPy."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


if __name__ == "__main__":
    for _var in THREAD_VARS:
        os.environ[_var] = threads_argument(sys.argv[1:])
    sys.path.insert(0, ROOT)             # minigan from this checkout, installed or not

import argparse  # noqa: E402  (after the thread variables, on purpose)
import collections  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import speed  # noqa: E402  (benchmarks/speed.py: the workloads, the machine's facts)
from minigan import Random, backend  # noqa: E402
from minigan.fast import adam as fast_adam  # noqa: E402
from minigan.fast import subpixel  # noqa: E402
from minigan.fast.col2im import col2im_by_group  # noqa: E402
from minigan.functions.convolution import ConvTranspose2dFunction, col2im  # noqa: E402
from minigan.gan.trainer import StepValues  # noqa: E402
from minigan.optim import Adam  # noqa: E402

RESULTS = os.path.join(HERE, "results")
SUBNORMAL = 1e-39          # float32's normal numbers end at 1.18e-38 (finfo.tiny)
NO_FLUSH = 10 ** 9         # FLUSH_EVERY for "without the flush": t never reaches it
# W3's D: (label, cols shape (C, kh, kw, N, out_h, out_w), padded canvas (H, W), stride)
COL2IM_CASES = [
    ("D's Conv2d(64→128, 4x4, s2, p1) on 14x14, m=64", (64, 4, 4, 64, 7, 7), (16, 16), 2),
    ("D's Conv2d(1→64, 4x4, s2, p1) on 28x28, m=64", (1, 4, 4, 64, 14, 14), (30, 30), 2),
]
# W3's transposed convolutions: (label, x shape, W shape, stride, padding); each also has the
# shapes of one of D's input gradients (Conv2d(C -> O)'s dL/dx is conv_transpose2d(gy, W))
CONV_TRANSPOSE_CASES = [
    ("G's ConvTranspose2d(128→64, 4x4, s2, p1) on 7x7, m=64; also D's Conv2d(64→128) input "
     "gradient", (64, 128, 7, 7), (128, 64, 4, 4), 2, 1),
    ("G's ConvTranspose2d(64→1, 4x4, s2, p1) on 14x14, m=64; also D's Conv2d(1→64) input "
     "gradient", (64, 64, 14, 14), (64, 1, 4, 4), 2, 1),
]
CHUNK_CASES = [
    ("W3's ConvTranspose2d(128→64, 4x4, s2, p1) on 7x7, m=64", (64, 128, 7, 7),
     (128, 64, 4, 4), 2, 1),
    ("the same layer on 14x14 (not in W3: a 56x56 DCGAN's), m=64", (64, 128, 14, 14),
     (128, 64, 4, 4), 2, 1),
]
ONE_CHUNK = 2 ** 62        # CHUNK_BYTES for "one chunk": every batch fits

# One variant of a comparison: run(n) makes n calls; prepare(), if given, runs before each
# block, untimed.
Variant = collections.namedtuple("Variant", "label run prepare", defaults=(None,))


# ------------------------------------------------------------------ timing

def synchroniser(device):
    """A function that waits for the device to finish its queued work (nothing on the CPU)."""
    if device == "gpu":
        return backend.xp_of_device("gpu").cuda.Device().synchronize
    return lambda: None


def time_block(variant, n, sync):
    """Seconds per call of one block of n calls."""
    if variant.prepare:
        variant.prepare()
    sync()
    t0 = time.perf_counter()
    variant.run(n)
    sync()
    return (time.perf_counter() - t0) / n


def calls_per_block(variant, seconds, sync):
    """Warm up, then how many calls fill a block of `seconds`."""
    n, took = 1, time_block(variant, 1, sync)           # the first call: allocations, caches
    while n * took < seconds / 4 and n < 10 ** 6:
        n *= 4
        took = time_block(variant, n, sync)
    n = max(1, round(seconds / max(took, 1e-9)))
    time_block(variant, n, sync)                         # one untimed block at full length
    return n


def compare(args, row, device, what, a, b):
    """Time variants a and b in alternating blocks; the record of one table line."""
    sync = synchroniser(device)
    n_calls = [calls_per_block(v, args.block, sync) for v in (a, b)]
    blocks = ([], [])
    for r in range(args.repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)          # A, B, B, A, A, B, ...
        for i in order:
            blocks[i].append(time_block((a, b)[i], n_calls[i], sync))
    ratios = [tb / ta for ta, tb in zip(*blocks)]
    return {"row": row, "device": device, "what": what, "a": a.label, "b": b.label,
            "calls_per_block": n_calls, "a_blocks": blocks[0], "b_blocks": blocks[1],
            "a_time": speed._spread(blocks[0]), "b_time": speed._spread(blocks[1]),
            "ratio": speed._spread(ratios)}


def calls(fn, *fn_args):
    """run(n) for a Variant: fn(*fn_args), n times."""
    def run(n):
        for _ in range(n):
            fn(*fn_args)
    return run


@contextlib.contextmanager
def patched(owner, name, value):
    """owner.name = value inside the block, restored after (benchmark-only monkeypatching)."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def patched_calls(run, owner, name, value):
    """run(n) with owner.name = value for the block's duration."""
    def patched_run(n):
        with patched(owner, name, value):
            run(n)
    return patched_run


# ------------------------------------------------------------------ the rows

def network_with_gradients(workload, net, device, seed=1):
    """(parameters, lr, betas) of one network of a workload, each parameter holding a fixed
    random float32 gradient."""
    G, D, _, _ = speed.build_minigan(workload, device)
    params = (G if net == "G" else D).parameters()
    rng = Random(seed, device)
    for p in params:
        p.grad = rng.normal(p.shape)
    w = speed.WORKLOADS[workload]
    return params, w["lr"], w["betas"]


def adam_rows(args, device):
    """1. Adam(flat=True) against Adam(flat=False), one optimiser per network of W1 and W2."""
    records = []
    for workload, net in (("W1", "G"), ("W1", "D"), ("W2", "G"), ("W2", "D")):
        params, lr, betas = network_with_gradients(workload, net, device)
        plain = Adam(params, lr=lr, betas=betas, flat=False)
        flat = Adam(params, lr=lr, betas=betas, flat=True)
        numbers = sum(p.size for p in params)
        what = (f"Adam step, {workload}'s {net} ({len(params)} tensors, {numbers:,} numbers), "
                f"per step")
        records.append(compare(args, "1", device, what,
                               Variant("plain loop (flat=False)", calls(plain.step)),
                               Variant("flat (flat=True)", calls(flat.step))))
    return records


def subnormal_arithmetic_row(args, device):
    """2a. m *= b1; m += (1 - b1) g on normal against subnormal float32 numbers."""
    xp = backend.xp_of_device(device)
    _, D, _, _ = speed.build_minigan("W1", device)
    n, b1 = D.num_parameters(), speed.WORKLOADS["W1"]["betas"][0]

    def moment_update(m, g):
        m *= b1
        m += (1 - b1) * g       # g = m's starting value: m stays at it (a fixed point)

    def variant(label, value):
        m, g = xp.full(n, value, xp.float32), xp.full(n, value, xp.float32)
        return Variant(label, calls(moment_update, m, g))

    what = f"m *= b1; m += (1 - b1) g, {n:,} float32 (W1's D), b1 = {b1}, per call"
    return [compare(args, "2a", device, what, variant("normal numbers (1.0)", 1.0),
                    variant(f"subnormal numbers ({SUBNORMAL:g})", SUBNORMAL))]


def flush_rows(args, device):
    """2b, 2c. Adam(flat=True) on W1's D with the flush (the default) and without, when its
    moments are subnormal and when they are not. The flush runs on the CPU only: device "cpu"."""
    params, lr, betas = network_with_gradients("W1", "D", device)
    random_grads = [p.grad for p in params]
    opt = Adam(params, lr=lr, betas=betas, flat=True)
    opt.step()                                   # builds the flat moments (opt.together)

    def dead_units():                            # zero gradients, subnormal moments
        for p in params:
            p.grad = np.zeros_like(p.data)
        opt.together.m.fill(SUBNORMAL)
        opt.together.v.fill(SUBNORMAL)

    def live_units():                            # random gradients, normal moments
        for p, g in zip(params, random_grads):
            p.grad = g

    without = Variant("no flush (FLUSH_EVERY = 10**9, patched)",
                      patched_calls(calls(opt.step), fast_adam, "FLUSH_EVERY", NO_FLUSH))
    default = Variant(f"flush every {fast_adam.FLUSH_EVERY} steps (default)", calls(opt.step))
    cases = [("2b", "Adam(flat=True) step, W1's D, gradients 0, moments set to 1e-39 before each "
                    "block, per step", dead_units),
             ("2c", "the same, random gradients: nothing subnormal (the flush's own price), "
                    "per step", live_units)]
    return [compare(args, row, device, what, without._replace(prepare=prepare),
                    default._replace(prepare=prepare))
            for row, what, prepare in cases]


def col2im_rows(args, device):
    """3. col2im's plain loop against col2im_by_group, on the column shapes of W3's D."""
    records = []
    for label, shape, canvas_hw, stride in COL2IM_CASES:
        cols = Random(2, device).normal(shape)
        kh, kw = shape[1:3]
        plain = calls(col2im, cols, canvas_hw, stride)
        if device == "gpu":      # col2im sends CuPy arrays to the grouped path: say they're not
            plain = patched_calls(plain, backend, "is_cupy", lambda _: False)
        adds = (kh * kw, -(-kh // stride) * -(-kw // stride))
        what = f"col2im, cols {shape} → canvas {canvas_hw}, stride {stride}: {label}, per call"
        records.append(compare(
            args, "3", device, what,
            Variant(f"plain loop ({adds[0]} additions)", plain),
            Variant(f"by group ({adds[1]} additions)",
                    calls(col2im_by_group, cols, canvas_hw, stride))))
    return records


def step_values_row(args, device):
    """4. W2's training step, its results held until the next step returns: detached (the
    default) against keeping their graphs."""
    _, _, trainer, data = speed.build_minigan("W2", device)
    m = speed.WORKLOADS["W2"]["batch"]

    def user_loop(n):
        held = None
        for _ in range(n):
            held = trainer.train_step(data, m)    # d_steps, g_step = trainer.train_step(...)
        return held

    keep_graphs = patched_calls(user_loop, StepValues, "__post_init__", lambda self: None)
    what = f"W2 trainer.train_step(data, m={m}), results held until the next step, per step"
    return [compare(args, "4", device, what,
                    Variant("graphs kept (StepValues.__post_init__ patched to a no-op)",
                            keep_graphs),
                    Variant("values (StepValues detaches, the default)", user_loop))]


def conv_transpose_rows(args, device):
    """6. ConvTranspose2dFunction's plain forward against the stride phases, on W3's shapes;
    6b. the phases in chunks of CHUNK_BYTES against one chunk."""
    plain_forward = ConvTranspose2dFunction.forward.__wrapped__     # under the decorator
    records = []
    for label, x_shape, w_shape, s, p in CONV_TRANSPOSE_CASES + CHUNK_CASES:
        chunks = (label, x_shape, w_shape, s, p) in CHUNK_CASES
        x, W = Random(3, device).normal(x_shape), Random(4, device).normal(w_shape) * 0.02
        out_hw = tuple((size - 1) * s - 2 * p + k for size, k in zip(x_shape[2:], w_shape[2:]))
        by_phases = calls(subpixel.conv_transpose2d_by_phases, x, W, s, p, out_hw)
        if chunks:
            a = Variant("by phases, one chunk (CHUNK_BYTES = 2**62, patched)",
                        patched_calls(by_phases, subpixel, "CHUNK_BYTES", ONE_CHUNK))
            b = Variant(f"by phases, chunks of {subpixel.CHUNK_BYTES >> 20} MiB (the default)",
                        by_phases)
        else:
            a = Variant("plain: product, col2im",
                        calls(plain_forward, ConvTranspose2dFunction(s, p), x, W, None))
            b = Variant(f"by phases ({s * s} products, no col2im)", by_phases)
        picks = "" if chunks else ("; the decorator takes the phases" if subpixel.worth_it(x, W)
                                   else "; the decorator keeps the plain rule")
        what = f"ConvTranspose2d forward, x {x_shape}, W {w_shape}: {label}{picks}, per call"
        records.append(compare(args, "6b" if chunks else "6", device, what, a, b))
    return records


MEMORY_WORKER = r"""
import importlib.util, json, os, resource, sys, time
root, workload, steps, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "keep"
sys.path.insert(0, root)
from minigan.fast import memory
if not keep:
    memory._applied = False        # as if already decided: the trainer leaves malloc as it is
spec = importlib.util.spec_from_file_location("speed", os.path.join(root, "benchmarks", "speed.py"))
speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed)
engine = speed.MiniganEngine(workload, "cpu", 1, {})
engine.steps(max(2, steps // 4))
faults, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
engine.steps(steps)
seconds = (time.perf_counter() - t0) / steps
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
print(json.dumps([seconds, faults]))
"""


def memory_row(args, device):
    """5. W3's training step in fresh processes (malloc's settings last a process): with
    fast/memory.py's settings (what GANTrainer does on the CPU) against malloc's defaults."""
    workload, steps = ("W2", 4) if args.quick else ("W3", 10)
    env = dict(os.environ, **{var: str(args.threads) for var in THREAD_VARS})
    blocks, faults = ([], []), ([], [])
    for r in range(max(2, args.repeats // 3)):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            mode = ("default", "keep")[i]
            run = subprocess.run([sys.executable, "-c", MEMORY_WORKER, ROOT, workload,
                                  str(steps), mode], env=env, capture_output=True, text=True,
                                 check=True)
            seconds, per_step = json.loads(run.stdout)
            blocks[i].append(seconds)
            faults[i].append(per_step)
    ratios = [tb / ta for ta, tb in zip(*blocks)]
    m = speed.WORKLOADS[workload]["batch"]
    return [{"row": "5", "device": device,
             "what": f"{workload} train_step (m={m}) in a fresh process, per step; page faults "
                     f"per step {statistics.median(faults[0]):,.0f} against "
                     f"{statistics.median(faults[1]):,.0f}",
             "a": "malloc's defaults", "b": "keep_freed_memory() (GANTrainer's, the default)",
             "calls_per_block": [steps, steps], "a_blocks": blocks[0], "b_blocks": blocks[1],
             "a_faults": faults[0], "b_faults": faults[1],
             "a_time": speed._spread(blocks[0]), "b_time": speed._spread(blocks[1]),
             "ratio": speed._spread(ratios)}]


def all_rows(args, log):
    """Every row, on the CPU and, with --device gpu, on the GPU (the flush rows: CPU only)."""
    devices = ["cpu"] + (["gpu"] if args.device == "gpu" else [])
    plan = [("1. Adam, flat vs plain", adam_rows, devices),
            ("2a. subnormal arithmetic", subnormal_arithmetic_row, devices),
            ("2b, 2c. the subnormal flush, end to end", flush_rows, ["cpu"]),
            ("3. col2im, plain vs grouped", col2im_rows, devices),
            ("4. a step's results as values", step_values_row, devices),
            ("5. malloc keeps freed memory", memory_row, ["cpu"]),
            ("6, 6b. ConvTranspose2d's forward, plain vs stride phases", conv_transpose_rows,
             devices)]
    records = []
    for title, row, on in plan:
        for device in on:
            log(f"{title} ({device})...")
            records += row(args, device)
    return records


# ------------------------------------------------------------------ the machine, the table

def machine(args):
    """The facts printed above the table and saved with the numbers."""
    facts = {"cpu": speed.cpu_model().get("model name") or platform.processor() or "?",
             "logical_cpus": os.cpu_count(), "threads": args.threads,
             "thread_env": {k: os.environ.get(k) for k in THREAD_VARS},
             "openblas_runtime": speed._openblas_threads(), "numpy": np.__version__,
             "python": sys.version.split()[0], "date": time.strftime("%Y-%m-%d %H:%M %Z"),
             "git": speed.git_state(), "loadavg_before": os.getloadavg()}
    if args.device == "gpu":
        cp = backend.xp_of_device("gpu")
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        facts.update(cupy=cp.__version__, gpu=props["name"].decode())
    return facts


def fmt_seconds(spread):
    """'123 (118–130) µs': median (min–max), in µs below a millisecond, else ms."""
    scale, unit = (1e6, "µs") if spread["median"] < 1e-3 else (1e3, "ms")
    return (f"{spread['median'] * scale:.3g} ({spread['min'] * scale:.3g}–"
            f"{spread['max'] * scale:.3g}) {unit}")


def machine_line(facts):
    blas = facts["openblas_runtime"]
    git = facts["git"]
    env = ", ".join(f"{k}={v}" for k, v in facts["thread_env"].items())
    line = (f"Machine: {facts['cpu']}, {facts['logical_cpus']} logical CPUs; threads: "
            f"{facts['threads']} ({env}" + (f"; OpenBLAS reports {blas['threads']}" if blas
                                            else "") + "); "
            f"NumPy {facts['numpy']}, Python {facts['python']}"
            + (f"; CuPy {facts['cupy']} on {facts['gpu']}" if "gpu" in facts else "")
            + f"; {facts['date']}; commit {(git['commit'] or '?')[:12]}")
    if git.get("library_modified"):
        line += " (minigan/ with uncommitted changes)"
    return line + f"; load average {facts['loadavg_before'][0]:.2f} at the start."


def markdown(records, facts, args):
    lines = [f"### What the fast paths of minigan/fast/ save, against the plain rules they "
             f"replace ({'CPU' if args.device == 'cpu' else 'CPU and GPU'}, "
             f"{args.threads} thread{'s' * (args.threads != 1)})", "",
             machine_line(facts), "",
             "| row | what is timed | device | A | A: time | B | B: time | B / A |",
             "|---|---|---|---|---:|---|---:|---:|"]
    for r in records:
        ratio = r["ratio"]
        lines.append(f"| {r['row']} | {r['what']} | {r['device'].upper()} | {r['a']} | "
                     f"{fmt_seconds(r['a_time'])} | {r['b']} | {fmt_seconds(r['b_time'])} | "
                     f"**{ratio['median']:.2f}×** ({ratio['min']:.2f}–{ratio['max']:.2f}) |")
    return "\n".join(lines + [""] + footer(args)) + "\n"


def footer(args):
    b1, b2 = speed.WORKLOADS["W1"]["betas"]
    through = {b: round(23 / math.log2(1 / b)) for b in (b1, b2)}   # 23 bits of subnormals
    return [
        f"Times: median per-call time over {args.repeats} blocks of ~{args.block:g} s each "
        f"(min–max over blocks); B / A: median of the {args.repeats} ratios of neighbouring A "
        f"and B blocks (min–max), the variants alternating A, B, B, A, ... in one process "
        f"after a warm-up. On a noisy machine, trust the ratios." + (
            " --quick: a smoke run, too short to trust." if args.quick else ""),
        "",
        "1. The flat path (minigan/fast/adam.py) does a dozen array operations per step for "
        "the whole network, the plain loop (Adam.update_one) a dozen per parameter tensor, each "
        "with its own temporaries: the same parameters; the same moments too, except those "
        "the CPU flush sets to 0 (tests/test_fast.py).",
        f"2. A subnormal float32 lies below 1.18e-38, float32's smallest normal number, down to "
        f"1.4e-45, with fewer significant bits; many x86 CPUs compute on subnormals through a "
        f"slow path (how slow depends on the CPU: this table measures the one above), GPUs at "
        f"full speed. A dead ReLU unit's weights get gradients exactly 0, so Adam's moments "
        f"shrink by b1 and b2 per step into that range and stay there for 23 / log2(1 / b) "
        f"steps (m: {through[b1]} at b1 = {b1}; v: {through[b2]:,} at b2 = {b2}), every "
        f"step's arithmetic on them paying the slow path. The flat path sets subnormal moments "
        f"to 0 every FLUSH_EVERY = {fast_adam.FLUSH_EVERY} steps, on the CPU only. The row "
        f"'without' sets minigan.fast.adam.FLUSH_EVERY = 10**9 for its blocks (patched here, "
        f"for the timing only). With the flush the moments are 0 from its first check on; "
        f"without, v stays subnormal through the block and m for its first ~"
        f"{round(math.log(SUBNORMAL / 1.4e-45) / math.log(1 / b1))} steps.",
        "3. The plain col2im adds one kernel offset at a time (kh·kw additions), the grouped one "
        "a group of offsets at a time (⌈kh/s⌉·⌈kw/s⌉ additions): on the GPU each addition is a "
        "kernel launch; on the CPU the plain order reads and writes memory in order, the grouped "
        "one jumps, which is why the CPU keeps the plain loop.",
        "4. A user's loop holds a step's results (d_steps, g_step = trainer.train_step(...)) "
        "while the next step runs. If they held their graphs, every array the step's Functions "
        "saved would stay alive until the next step returned, and the next step's arrays would "
        "come from fresh memory rather than the blocks just freed; StepValues detaches them "
        "(the variant 'graphs kept' patches its __post_init__ to do nothing, for the timing "
        "only).",
        "5. NumPy takes each array's memory from malloc; glibc's malloc gives large freed "
        "blocks back to the system, and a step that allocates them again gets fresh pages, "
        "each a page fault (the kernel zeroes it) on its first write. minigan/fast/memory.py "
        "fixes malloc's mmap and trim thresholds so that the next step reuses the memory; "
        "GANTrainer applies it when it trains on the CPU. Each block is a fresh process (the "
        "settings cannot be undone within one), warmed up, then timed.",
        "6. The plain transposed convolution multiplies first (one column of kh·kw·C_out "
        "numbers per input pixel) and then adds every column onto the output with col2im "
        "(kh·kw strided additions over the whole output); the stride phases (minigan/fast/"
        "subpixel.py) compute each of the s·s output phases y[..., ph::s, pw::s] as a stride-1 "
        "convolution of x with the kernel taps that land there: im2col (C_in numbers per tap "
        "and input pixel, channels last) and one product per phase, each output written once. "
        "The same sums in another order: equal within float32 rounding (tests/test_fast_conv.py). "
        "The decorator on ConvTranspose2dFunction.forward takes the phases on the CPU where "
        "C_out >= C_in / 2; with fewer output channels col2im's additions are the cheaper "
        "(the second line: 64→1).",
        "6b. The phases copy the patches of a chunk of samples, about CHUNK_BYTES of them, and "
        "multiply them while they are still in the cache.",
    ]


# ------------------------------------------------------------------ command line

def result_name(args):
    return ("fast_paths" + ("_gpu" if args.device == "gpu" else "")
            + (f"_t{args.threads}" if args.threads != 1 else "") + ("_quick" if args.quick else ""))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="gpu: the CPU rows, then the same on CuPy (skipped without CuPy)")
    p.add_argument("--threads", type=int, default=1,
                   help="OMP/OPENBLAS/MKL_NUM_THREADS, set before NumPy is imported")
    p.add_argument("--repeats", type=int, default=None,
                   help="blocks per variant (default 15; 3 with --quick)")
    p.add_argument("--block", type=float, default=None,
                   help="seconds per block (default 0.25; 0.01 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: a few seconds, results named *_quick")
    p.add_argument("--out", default=RESULTS, help="folder for the .md and .json")
    p.add_argument("--no-write", action="store_true", help="print only, write no files")
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 15
    if args.block is None:
        args.block = 0.01 if args.quick else 0.25
    # "not block > 0" and isfinite: NaN passes every "<=" test, and an infinite block never ends
    if args.repeats < 1 or not (args.block > 0 and math.isfinite(args.block)) or args.threads < 1:
        p.error(f"--repeats and --threads must be at least 1, --block a finite number > 0; got "
                f"{args.repeats}, {args.threads}, {args.block}")
    return args


def main(argv=None, log=print):
    args = parse_args(argv)
    if args.device == "gpu":
        try:
            backend.check_device("gpu")
        except backend.DeviceError as error:
            log(f"SKIPPED: --device gpu needs CuPy and a CUDA device: {error} Nothing written.")
            return None
    facts = machine(args)
    t0 = time.perf_counter()
    records = all_rows(args, log)
    facts.update(elapsed_s=time.perf_counter() - t0, loadavg_after=os.getloadavg())
    text = markdown(records, facts, args)
    log("")
    log(text)
    if not args.no_write:
        base = os.path.join(args.out, result_name(args))
        saved = {"settings": vars(args), "system": facts, "rows": records}
        speed.write_text(base + ".md", text)
        speed.write_text(base + ".json", json.dumps(saved, indent=2) + "\n")
        log(f"written: {base}.md and {base}.json")
    return records


if __name__ == "__main__":
    main()
