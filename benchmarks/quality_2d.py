"""Sample quality on the 2-D mode-collapse benchmarks, as PacGAN measures it, beside its rows.

    python benchmarks/quality_2d.py               # the table: ring, grid; 6 configs; seeds 0-4
    python benchmarks/quality_2d.py --quick       # smoke run: 300 iterations, seed 0
    python benchmarks/quality_2d.py --iters 20000 # a fixed iteration count (reproducible)
    python benchmarks/quality_2d.py --iters gan=18000,minimax=18000,best=14000
    python benchmarks/quality_2d.py --full        # PacGAN's own budget: 400 000 iterations
    python benchmarks/quality_2d.py --data ring --configs best --seeds 0,1 --set pack=4,lr=5e-4
    python benchmarks/quality_2d.py --scheduler local --jobs 2      # the runs on Dask (below)
    python benchmarks/quality_2d.py --resume      # an interrupted sweep: only the runs it lacks

The benchmarks (minigan/data.py, as PacGAN, Lin et al. 2018, defines them): "ring", 8
Gaussians on the unit circle at angles 2 pi i / 8, std 0.01; "grid", 25 Gaussians at
{-4, -2, 0, 2, 4}^2, std 0.05; uniform over modes; a training set of 100 000 points drawn with
the run's seed. The metrics (minigan.metrics.mode_metrics) on 2 500 samples of the final
iterate (no picking of checkpoints or seeds): a sample is high quality (HQ) within 3 std of its
nearest mode centre; a mode is covered when one HQ sample or more is nearest to it; reverse KL
= sum_k p_k ln(K p_k), p_k the share of all samples nearest to mode k. A perfect sampler scores
HQ 98.9 % (1 - e^-4.5) and reverse KL about (K - 1) / 5000; a diffuse cloud also has a low
reverse KL, so read it with HQ.

The runs. Every configuration trains PacGAN's nets: G z (2) -> 4 x [Dense 400 -> BatchNorm1d ->
ReLU] -> Dense 2, D 3 x [Dense 200 -> ReLU] -> Dense 1 (a logit; PacGAN's D uses maxout with 5
pieces, optional in the spec: ReLU here, as in the PyTorch rows), weights N(0, 0.02^2) and
zero biases as PacGAN's code initialises them; Adam lr 1e-4, betas (0.8, 0.999); 100 D inputs
per batch; alternating updates (Algorithm 1: k D steps, then one G step; PacGAN's Theano code,
built on ALI's, updates both players from one forward pass). The configurations:

  gan      the plain GAN: non-saturating G loss -ln D(G(z)), k = 1.
  minimax  Goodfellow's minimax G loss ln(1 - D(G(z))), k = 1.
  best     minigan's best recipe (BEST_NOTE below says why): PacGAN's packing of D's input,
           Discriminator(pack=2) (minigan/gan/models.py), lr 1e-3 for both players, decaying
           linearly to 0 over the run (GANTrainer(lr_decay_steps=...), gan/schedule.py).
  r1       the plain GAN with Mescheder et al.'s R1 penalty on D, gamma 0.1 (the PyTorch R1
           row's recipe): GANTrainer(penalty="r1"), gan/penalties.py, a second backward pass.
  best_r1  the best recipe with R1, gamma 0.1.
  wgan_gp  WGAN-GP (Gulrajani et al. 2017): the critic loss, lambda 10, k = 5 critic updates
           per G update, Adam betas (0.5, 0.9) as in their paper (lr 1e-4, as the others).

--set KEY=VALUE changes a setting of every configuration run (see BASE), e.g. for tuning:
pack, lr, d_lr (D's own rate), k, loss, lr_decay (none, linear), penalty (None, r1, r2, gp),
gamma, penalty_every, g_hidden, d_hidden,
g_batch_norm, d_activation, init, betas, packs_per_batch, g_average (an EMA decay such as
0.999: sample from a running average of G's weights, GANTrainer(g_average=...); None: the
final iterate itself).

Sampling mode. G's BatchNorm normalises a training batch by its own statistics; the samples
that are scored come from G.sample(), eval mode, which normalises with the running statistics
(momentum 0.1), so each sample is a function of its own z only. That is what PacGAN does: its
figures and metrics come from the decoder applied outside Blocks' batch_normalization context,
i.e. with the population statistics (their moving average, 0.05 per update). The JSON also
keeps the metrics of the same z drawn in training mode (25 batches of 100), for comparison.

The budget. About 3 minutes of one CPU core per run (--budget), so a faster engine buys more
iterations. The script first times a short burst of each configuration (--calibrate seconds,
in worker processes like the runs, --jobs at a time) and fixes the iteration count (G updates)
from it, rounded down to a multiple of 500. The burst is timed in process CPU time, which
counts only the time the run itself had a core, so a busy machine changes the count less than
wall-clock time would. The counts are printed and recorded; --iters sets them by hand, and the
same seed and iterations give the same numbers (one thread, the same machine). Runs go --jobs
at a time (default 2), each in its own process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS = 1 set before NumPy is imported.

Seeds. Run seed s: the training set make_2d(name, 100 000, seed=s), the initial weights
minigan.manual_seed(s), the trainer's noise and minibatches seed 10 000 + s, the scored samples
seed 20 000 + s (separate streams, so the data and the noise are not the same numbers).

On a Dask cluster (pip install -e ".[sweep]"). --scheduler local starts a LocalCluster of
--jobs one-thread workers here; --scheduler ADDRESS sends the runs to a running cluster: start
`dask scheduler` on one machine and `dask worker ADDRESS --nthreads 1` on each of the others
(with this checkout at the same path and the same packages installed), then run the script with
--scheduler ADDRESS from any of them. Each run is one task, the same one-thread worker process
as the local pool, so the numbers do not depend on where it ran. The calibration burst stays on
this machine; use --iters (from an earlier table's "Reproduce" line) on machines of another
speed. Not for benchmarks/speed.py: timings belong on one quiet machine. Dask's connections are
not authenticated and carry pickles: whoever reaches the scheduler's port runs code on every
worker, so keep the cluster on a private network, or use TLS (README.md says how).

Long sweeps. Each run's result is appended to <name>.runs.jsonl as it finishes (the first line,
the header, names the sweep: data sets, configurations, seeds, iterations, overrides, device,
and a short hash of them); --resume reads it and runs only what is missing, with those counts.
Nothing in the journal is trusted: --resume refuses a journal whose header names another sweep
(in one line saying what differs), and a run record that is cut short or fails a check (a
field missing, modes beyond the data set's, HQ outside [0, 1], another iteration count) is
skipped with a warning, so that run is run again. A run whose worker died or was killed is
tried once more; a run whose own code raised (bad settings, a bug) is not, since it would fail
the same way. The table is written from the runs that finished and names the missing ones; if
no run succeeded, the script writes no table and exits with an error. Progress lines say how
many runs are done and about how long the rest will take.

Output: a Markdown table (mean +- standard error over the seeds, and every seed) printed and
written with the raw JSON (per-seed numbers, iterations, times, the machine) to
benchmarks/results/<name>.{md,json}, and the figure <name>.png: the generated samples of the
first seed over the mode centres, one panel per data set and configuration. <name> is
quality_2d for the whole default table, with suffixes for --quick, --full, --device gpu, a
subset of data sets, or a custom selection (--configs, --seeds, --set: "_custom_" and a short
hash of the selection, so two different sweeps never share files); --name sets it. A sweep
does not replace the files of another sweep (one named with --name, say): it stops and says so.
"""
import argparse
import ast
import concurrent.futures
import hashlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, ROOT)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DATASETS = ("ring", "grid")
MODES = {"ring": 8, "grid": 25}      # the Gaussians of each data set
N_TRAIN, N_EVAL = 100_000, 2_500
TRAIN_SEED_OFFSET, EVAL_SEED_OFFSET = 10_000, 20_000
BUDGET_S, CALIBRATE_S = 180.0, 4.0
QUICK_ITERS, FULL_ITERS = 300, 400_000
ROUND_TO = 500                 # calibrated iteration counts are multiples of this
LOSS_WINDOW = 200              # the logged D outputs: mean over the last steps
CONNECT_TIMEOUT_S = 10         # --scheduler ADDRESS: how long to wait for the scheduler

# PacGAN's recipe (the spec's (a) and (b) use it unchanged); each config overrides some fields.
# d_lr None: D's learning rate is lr too.
BASE = dict(loss="non-saturating", k=1, pack=1, packs_per_batch=100, lr=1e-4, d_lr=None,
            betas=(0.8, 0.999), g_hidden=(400,) * 4, d_hidden=(200,) * 3, g_batch_norm=True,
            d_activation="relu", init="dcgan", lr_decay="none", g_average=None, penalty=None,
            gamma=0.1, penalty_every=1)
LR_DECAYS = ("none", "linear")   # linear: gan.schedule.LinearDecay over the run, both players
CONFIGS = {
    "gan": dict(title="GAN (non-saturating, k = 1)"),
    "minimax": dict(title="minimax GAN (k = 1)", loss="minimax"),
    "best": dict(title="best recipe: packed 2, lr 1e-3 decaying to 0", pack=2, lr=1e-3,
                 lr_decay="linear"),
    "r1": dict(title="GAN + R1 (γ 0.1)", penalty="r1", gamma=0.1),
    "best_r1": dict(title="best recipe + R1 (γ 0.1)", pack=2, lr=1e-3, lr_decay="linear",
                    penalty="r1", gamma=0.1),
    "wgan_gp": dict(title="WGAN-GP (λ 10, k = 5, betas (0.5, 0.9))", loss="wgan", penalty="gp",
                    gamma=10.0, k=5, betas=(0.5, 0.9)),
}
GOAL_CONFIGS = ("best", "r1", "best_r1", "wgan_gp")     # the recipes the goals are for
BEST_NOTE = ("PacGAN's packing, Discriminator(pack=2): D judges 2 samples at once (100 packs = "
             "200 samples per batch), so a generator that drops modes or repeats itself is "
             "visible to D; lr 1e-3 for both players, 10 times PacGAN's, because at a few per "
             "cent of PacGAN's 400 000 iterations the runs are budget-limited (at 1e-4 the "
             "grid's D stays near chance for thousands of steps); and both learning rates "
             "decay linearly to 0 over the run (minigan.gan.schedule.LinearDecay), so that the "
             "final iterate settles instead of jittering around the equilibrium at full step "
             "size. Chosen in short single-seed tuning runs over pack 1/2/4, the learning rates "
             "(equal, or D faster than G), the decay, G without BatchNorm, LeakyReLU in D and "
             "PyTorch's default initialisation.")

# Published rows: Table 1 of PacGAN (Lin et al. 2018), 400 000 iterations, 10 runs, mean +- s.e.
PACGAN_ROWS = {
    "ring": [("PacGAN paper: GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
             ("PacGAN paper: PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03")],
    "grid": [("PacGAN paper: GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
             ("PacGAN paper: PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01")],
}
# A PyTorch CPU implementation of PacGAN's recipe (ReLU D, one thread, ~2-3.5 min per run,
# final iterate, 5 seeds unless noted), measured by the project: ../shared/notes/quality-2d.md.
TORCH_ROWS = {
    "ring": [("PyTorch CPU: GAN", 10_000, "7.4 ± 0.2", "57.4 ± 6.6", "0.109 ± 0.039"),
             ("PyTorch CPU: packed 2", 10_000, "8.0 ± 0.0", "72.7 ± 6.6", "0.030 ± 0.011"),
             ("PyTorch CPU: GAN + R1 γ 0.1 (3 seeds)", 10_000, "7.3 ± 0.3", "38.7 ± 5.2",
              "0.007 ± 0.001")],
    "grid": [("PyTorch CPU: GAN", 8_000, "5.4 ± 1.2", "2.1 ± 0.6", "0.86 ± 0.07"),
             ("PyTorch CPU: packed 4", 8_000, "16.2 ± 2.0", "1.8 ± 0.2", "0.077 ± 0.017")],
}
# The goals for the best recipe at the 3-minute budget: modes in every seed, mean HQ,
# mean reverse KL.
GOALS = {"ring": (8, 0.90, 0.02), "grid": (25, 0.80, 0.05)}


# ---------------------------------------------------------------- one run

def recipe(config_name, overrides=None):
    """The full settings of a configuration: BASE, the config's fields, then --set overrides,
    each checked (check_setting), so that a bad value stops the sweep before any run."""
    if config_name not in CONFIGS:
        raise ValueError(f"unknown configuration {config_name!r}: expected one of "
                         f"{tuple(CONFIGS)}")
    settings = {**BASE, **CONFIGS[config_name], **(overrides or {})}
    for key, value in settings.items():
        if key != "title":
            check_setting(key, value)
    settings["batch_size"] = settings["packs_per_batch"] * settings["pack"]
    return settings


def check_setting(key, value):
    """A recipe setting's value, or ValueError saying what it must be: "lr must be a finite
    number > 0, got 'abc'"."""
    checks = setting_checks()
    if key not in checks:
        raise ValueError(f"unknown setting {key!r}: expected one of {', '.join(BASE)}")
    what, ok = checks[key]
    if not ok(value):
        raise ValueError(f"{key} must be {what}, got {value!r}")
    return value


def setting_checks():
    """{setting: (what it must be, a test of a value)}, the names from minigan's own lists."""
    from minigan.gan.losses import GENERATOR_LOSSES
    from minigan.gan.penalties import PENALTIES
    from minigan.nn.init import INITS
    from minigan.nn.layers import ACTIVATIONS
    activations = tuple(a for a in ACTIVATIONS if a)
    count, rate = "an integer >= 1", "a finite number > 0"
    widths = "layer widths >= 1, e.g. (64,64)"

    def one_of(names):
        return f"one of {', '.join(map(str, names))}", lambda v: isinstance(v, str) and v in names
    return {
        "loss": one_of(GENERATOR_LOSSES),
        "k": (count, _is_count), "pack": (count, _is_count),
        "packs_per_batch": (count, _is_count), "penalty_every": (count, _is_count),
        "lr": (rate, _is_rate), "d_lr": (f"None or {rate}", lambda v: v is None or _is_rate(v)),
        "betas": ("two numbers in [0, 1), e.g. (0.5,0.9)",
                  lambda v: isinstance(v, (tuple, list)) and len(v) == 2
                  and all(_is_number(b) and 0 <= b < 1 for b in v)),
        "g_hidden": (widths, _is_widths), "d_hidden": (widths, _is_widths),
        "g_batch_norm": ("True or False", lambda v: isinstance(v, bool)),
        "d_activation": one_of(activations),
        "init": one_of(INITS),
        "lr_decay": one_of(LR_DECAYS),
        "g_average": ("None or an EMA decay in (0, 1)",
                      lambda v: v is None or _is_number(v) and 0 < v < 1),
        "penalty": (f"None or {one_of(PENALTIES)[0]}",
                    lambda v: v is None or one_of(PENALTIES)[1](v)),
        "gamma": ("a finite number >= 0", lambda v: _is_number(v) and math.isfinite(v) and v >= 0),
    }


def _is_number(value):
    """int or float; True and False are not numbers here."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_rate(value):
    return _is_number(value) and math.isfinite(value) and value > 0


def _is_widths(value):
    return isinstance(value, (tuple, list)) and len(value) > 0 and all(map(_is_count, value))


def build(data_name, settings, seed, device="cpu", iterations=None):
    """(G, D, trainer, data set) for one run of `iterations` G updates (the length the
    learning-rate decay, if any, spans)."""
    import minigan
    from minigan.data import make_2d
    from minigan.gan import Discriminator, GANTrainer, Generator
    from minigan.optim import Adam
    data = make_2d(data_name, N_TRAIN, seed=seed, device=device)
    minigan.manual_seed(seed)
    G = Generator(latent_dim=2, data_dim=2, hidden=tuple(settings["g_hidden"]),
                  activation="relu", init=settings["init"],
                  batch_norm=settings["g_batch_norm"]).to(device)
    D = Discriminator(data_dim=2, hidden=tuple(settings["d_hidden"]),
                      activation=settings["d_activation"], init=settings["init"],
                      pack=settings["pack"]).to(device)
    betas = tuple(settings["betas"])
    d_lr = settings["d_lr"] or settings["lr"]
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=settings["lr"], betas=betas),
                         Adam(D.parameters(), lr=d_lr, betas=betas),
                         k=settings["k"], generator_loss=settings["loss"],
                         seed=TRAIN_SEED_OFFSET + seed, g_average=settings["g_average"],
                         lr_decay_steps=iterations if settings["lr_decay"] == "linear" else None,
                         penalty=settings["penalty"], gamma=settings["gamma"],
                         penalty_every=settings["penalty_every"])
    G.train()
    D.train()
    return G, D, trainer, data


def score(G, data, seed):
    """(samples, their metrics, metrics in training mode) for N_EVAL latent points.

    The reported samples come from G in eval mode (BatchNorm's running statistics). For
    comparison the same z also go through G in training mode, in batches of 100 as in
    training (BatchNorm on each batch's own statistics; frozen, so the running statistics
    stay as they are)."""
    import minigan
    from minigan.backend import get_array_module
    from minigan.metrics import mode_metrics
    from minigan.tensor import Tensor, no_grad
    rng = minigan.Random(EVAL_SEED_OFFSET + seed, G.device)
    z = G.sample_latent(N_EVAL, rng)
    samples = G.sample_with(z)
    metrics = mode_metrics(samples, data.centres, data.std)
    was_training = G.training
    G.train()
    with G.frozen(), no_grad():
        batches = [G(Tensor(z.data[i:i + 100])).data for i in range(0, N_EVAL, 100)]
    G.train(was_training)
    train_mode = mode_metrics(get_array_module(z.data).concatenate(batches), data.centres,
                              data.std)
    return samples, metrics, train_mode


def train_run(data_name, config_name, seed, iterations, overrides=None, device="cpu",
              keep_samples=False):
    """Train one configuration for `iterations` G updates and score the final iterate."""
    from minigan import backend
    from minigan.gan.history import row_of
    settings = recipe(config_name, overrides)
    G, D, trainer, data = build(data_name, settings, seed, device, iterations)
    m = settings["batch_size"]
    window = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for step in range(iterations):
        d_steps, g_step = trainer.train_step(data.points, m)
        if step >= iterations - LOSS_WINDOW:
            window.append(row_of(d_steps[-1], g_step))
    if device == "gpu":
        backend.xp_of_device(device).cuda.Device().synchronize()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finals = [[float(v) for v in row] for row in window]
    names = ("d_real", "d_fake", "g", "d_x", "d_g_z")
    last = {name: (sum(r[j] for r in finals) / len(finals) if finals else None)
            for j, name in enumerate(names)}
    finite = all(math.isfinite(v) for r in finals for v in r)
    sampled = G if trainer.g_average is None else trainer.g_average.model
    samples, metrics, train_mode = score(sampled, data, seed)
    result = {"data": data_name, "config": config_name, "seed": seed,
              "iterations": iterations, "batch_size": m, "wall_s": wall, "cpu_s": cpu,
              "it_per_s": iterations / wall if wall > 0 else None,
              **metrics, "train_mode_bn": train_mode,
              f"last_{LOSS_WINDOW}_steps": last, "finite": finite}
    if keep_samples:
        result["samples"] = backend.to_numpy(samples.data).tolist()
    return result


def measure_speed(config_name, seconds, overrides=None, device="cpu", warmup=10):
    """Seconds per iteration of a configuration: a warm-up, then steps until `seconds` have
    passed. On the CPU the clock is the process's CPU time (see the module's docstring); on
    the GPU, where the CPU mostly waits, wall-clock time after a synchronisation."""
    from minigan import backend
    settings = recipe(config_name, overrides)
    _, _, trainer, data = build("ring", settings, 0, device, iterations=10 ** 9)
    m = settings["batch_size"]
    gpu = device == "gpu"
    clock = time.perf_counter if gpu else time.process_time

    def sync():
        if gpu:
            backend.xp_of_device(device).cuda.Device().synchronize()
    for _ in range(warmup):
        trainer.train_step(data.points, m)
    sync()
    steps, t0, wall0 = 0, clock(), time.perf_counter()
    while True:
        for _ in range(10):
            trainer.train_step(data.points, m)
        steps += 10
        sync()
        elapsed = clock() - t0
        if elapsed >= seconds:
            break
    wall = time.perf_counter() - wall0
    return {"config": config_name, "steps": steps, "clock": "wall" if gpu else "process CPU",
            "s_per_it": elapsed / steps, "wall_s_per_it": wall / steps}


# ---------------------------------------------------------------- worker processes

class RunError(RuntimeError):
    """The run's own code raised (bad settings, a bug): another try would raise it again, so it
    is not retried, unlike a worker that died or was killed. `retry` is what the sweep looks at
    (worth_retrying): an attribute survives the trip back from a Dask worker even where the
    class itself arrives as a copy."""
    retry = False


def worth_retrying(error):
    return getattr(error, "retry", True)


def execute(task):
    """Run one task in this process. An exception from the run's own code becomes RunError;
    MemoryError stays itself, since another try (on another machine) may have the memory."""
    args = dict(task)
    kind = args.pop("task")
    try:
        return train_run(**args) if kind == "train" else measure_speed(**args)
    except MemoryError:
        raise
    except Exception as error:
        raise RunError(f"{type(error).__name__}: {error}") from error


def worker_main():
    """`quality_2d.py --worker`: one task as JSON on stdin, its result as JSON on stdout. An
    error of the run itself is written there too ({"run_error": ...}, exit 1), so the sweep
    can tell it from a worker that died, which leaves no such line."""
    _die_with_parent()
    task = json.loads(sys.stdin.read())
    try:
        result = execute(task)
    except RunError as error:
        sys.stdout.write(json.dumps({"run_error": str(error)}) + "\n")
        sys.exit(1)
    result["threads"] = {k: os.environ.get(k) for k in THREAD_VARS}
    sys.stdout.write(json.dumps(result) + "\n")


def _die_with_parent():
    """Linux: ask the kernel to send this worker SIGTERM when the process that started it dies,
    however it dies (even SIGKILL, which no handler sees): a killed sweep leaves no run
    computing for no one. Elsewhere nothing happens; stop_workers() still covers Ctrl-C and
    SIGTERM."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:                   # the parent died before the request: go now
        sys.exit(1)


# The worker processes running now, so that a stopped sweep can stop them (stop_workers).
_workers, _workers_lock, _stopping = set(), threading.Lock(), threading.Event()


def run_task(task, in_process):
    """Run one task: in this process (jobs = 0), or in a fresh one-thread worker process. Dask
    sends this function to its workers by value, so it holds no lock (see _run_tracked)."""
    if in_process:
        return execute(task)
    command, env = worker_command()
    done = subprocess.run(command, input=json.dumps(task), capture_output=True, text=True,
                          env=env)
    return worker_result(task, done.returncode, done.stdout, done.stderr)


def worker_command():
    """The command line and environment of a one-thread worker process (worker_main)."""
    env = dict(os.environ, **{k: "1" for k in THREAD_VARS})
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return [sys.executable, os.path.abspath(__file__), "--worker"], env


def worker_result(task, returncode, stdout, stderr):
    """The result a worker process wrote; RunError if the run's own code raised; RuntimeError
    (worth a retry) if the worker died without saying why."""
    last = (stdout.strip().splitlines() or [""])[-1]
    if returncode == 0:
        return json.loads(last)
    try:
        said = json.loads(last)
    except ValueError:
        said = None                         # killed, or died before it could say anything
    if isinstance(said, dict) and "run_error" in said:
        raise RunError(said["run_error"])
    raise RuntimeError(f"worker for {task} failed (exit {returncode}):\n{stderr[-3000:]}")


def _run_tracked(task, in_process):
    """run_task for the local pool, each worker process registered while it runs, so that a
    stopped sweep can stop it (stop_workers)."""
    command, env = worker_command()
    with _workers_lock:
        if _stopping.is_set():
            raise RuntimeError("the sweep is stopping")
        worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        _workers.add(worker)
    try:
        stdout, stderr = worker.communicate(json.dumps(task))
    finally:
        with _workers_lock:
            _workers.discard(worker)
    return worker_result(task, worker.returncode, stdout, stderr)


def stop_workers():
    """Kill the worker processes of this sweep that are still running (Ctrl-C, SIGTERM)."""
    with _workers_lock:
        _stopping.set()                     # and start no new one
        for worker in _workers:
            worker.kill()


def run_tasks(tasks, jobs, on_done, scheduler=None, on_failed=None):
    """Run tasks `jobs` at a time (in process when jobs == 0), calling on_done(task, result)
    as each finishes; results in the tasks' order. With `scheduler` ("local", or a Dask
    scheduler's address) the runs go to a Dask cluster instead (run_on_dask). With on_failed,
    a task that fails is tried once more, and if it fails again on_failed(task, error) is
    called and its result is None; without, the error is raised."""
    if scheduler is not None:
        return run_on_dask(tasks, jobs, on_done, scheduler, on_failed)
    if jobs == 0:
        results = []
        for task in tasks:
            results.append(_run_twice(task, True, on_failed))
            if results[-1] is not None:
                on_done(task, results[-1])
        return results
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_run_twice, task, False, on_failed, _run_tracked): i
                   for i, task in enumerate(tasks)}
        results = [None] * len(tasks)
        try:
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if results[i] is not None:
                    on_done(tasks[i], results[i])
        except BaseException:               # Ctrl-C, SIGTERM: leaving the pool waits for its
            stop_workers()                  # threads, so end their runs first
            raise
    return results


def _run_twice(task, in_process, on_failed, run=None):
    """run(task, in_process) (default run_task). When on_failed is given, a failure that
    another try may not repeat (a worker that died) is tried once more, and a run that still
    fails is reported to on_failed (the result None)."""
    run = run or run_task
    if on_failed is None:
        return run(task, in_process)
    for attempt in (1, 2):
        try:
            return run(task, in_process)
        except Exception as error:
            if attempt == 2 or not worth_retrying(error) or _stopping.is_set():
                on_failed(task, error)
                return None


def run_on_dask(tasks, jobs, on_done, scheduler, on_failed=None):
    """Each run as one task on a Dask distributed cluster: "local" starts a LocalCluster of
    `jobs` single-threaded workers on this machine; anything else is a running scheduler's
    address (`dask scheduler` on one machine, `dask worker ADDRESS --nthreads 1` on each).
    A task is run_task(task, False), the same one-thread worker process as the local pool, so
    a run gives the same numbers wherever it lands (each machine needs this checkout at the
    same path, and the same Python packages). With on_failed, a failed task is submitted once
    more if worth_retrying, as in the local pool (not Dask's retries=, which retries every
    error, even one the run's own code raises every time)."""
    try:
        from dask.distributed import as_completed
    except ImportError as error:
        raise SystemExit(f"--scheduler needs Dask: pip install -e \".[sweep]\" ({error})")
    client, cluster = connect(scheduler, jobs)
    try:
        futures, tries = {}, [0] * len(tasks)

        def submit(i):
            tries[i] += 1
            future = client.submit(run_task, tasks[i], False, pure=False)
            futures[future] = i
            return future
        results = [None] * len(tasks)
        queue = as_completed([submit(i) for i in range(len(tasks))])
        for future in queue:
            i = futures.pop(future)
            if future.status == "error" and on_failed is not None:
                error = future.exception()
                if tries[i] == 1 and worth_retrying(error):
                    queue.add(submit(i))
                else:
                    on_failed(tasks[i], error)
                continue
            results[i] = future.result()
            on_done(tasks[i], results[i])
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def connect(scheduler, jobs):
    """(a Dask client, the LocalCluster it runs on or None) for --scheduler; a scheduler that
    does not answer in CONNECT_TIMEOUT_S is one line, not a traceback."""
    from dask.distributed import Client, LocalCluster
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S), None
    except OSError:                         # refused, no such host, or a timeout
        raise RuntimeError(f"--scheduler {scheduler}: nothing answered there in "
                           f"{CONNECT_TIMEOUT_S} s (is `dask scheduler` running there, and "
                           f"can this machine reach it?)") from None
    except (ValueError, TypeError) as error:    # "missing port number", tls:// without certs
        raise RuntimeError(f"--scheduler {scheduler}: {error} (expected 'local' or an address "
                           f"such as tcp://10.0.0.5:8786; tls:// needs Dask's TLS settings, "
                           f"see README.md)") from None


# ---------------------------------------------------------------- the journal (--resume)
#
# <name>.runs.jsonl. Line 1, the header: the sweep it belongs to (data sets, configurations,
# seeds, iterations, overrides, device, and a short hash of them) and how its iteration counts
# were chosen. Then one line per finished run, appended as it arrives. --resume reads it back,
# maybe after a kill, a full disk or a hand edit, so nothing in it is trusted: the header of
# another sweep stops the resume, and a line that is cut short or fails a check is skipped with
# a warning (its run is simply run again).

SELECTION = ("data", "configs", "seeds", "overrides", "device")     # what tells sweeps apart


def task_key(task):
    """What makes two runs the same run: the journal's key."""
    return json.dumps([task[k] for k in ("data_name", "config_name", "seed", "iterations",
                                         "overrides", "device")], sort_keys=True)


def selection_of(data, configs, seeds, overrides, device):
    """What a sweep runs, as JSON gives it back (tuples become lists), to compare with a file."""
    return json.loads(json.dumps({"data": data, "configs": configs, "seeds": seeds,
                                  "overrides": overrides, "device": device}))


def short_hash(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]


def make_header(selection, iterations, mode, budget_note, calibration):
    sweep = {**selection, "iterations": iterations}
    return {"sweep": sweep, "hash": short_hash(sweep), "mode": mode,
            "budget_note": budget_note, "calibration": calibration}


def read_header(path):
    """(header, what is wrong with it or None) of a journal; (None, None) when there is no
    journal, or an empty one."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except FileNotFoundError:
        return None, None
    if not first.strip():
        return None, None
    try:
        header = json.loads(first)
    except ValueError:
        return first, "not JSON"
    return header, header_problem(header)


def header_problem(header):
    """What makes a journal's first line no sweep header of this script; None when it is one."""
    if not isinstance(header, dict) or not isinstance(header.get("sweep"), dict):
        older = isinstance(header, dict) and "iterations" in header
        return ("no sweep description (written by an older quality_2d.py)" if older
                else "no sweep description")
    sweep = header["sweep"]
    missing = [f for f in SELECTION + ("iterations",) if f not in sweep]
    if missing:
        return f"its sweep lacks {', '.join(missing)}"
    if header.get("hash") != short_hash(sweep):
        return "its hash does not match its sweep (edited by hand?)"
    configs = sweep["configs"] if isinstance(sweep["configs"], list) else []
    if not isinstance(sweep["iterations"], dict) or not all(
            _is_count(sweep["iterations"].get(c)) for c in configs):
        return "its iterations are not a count >= 1 for each configuration"
    if not (isinstance(header.get("mode"), str) and isinstance(header.get("budget_note"), str)
            and (header.get("calibration") is None or isinstance(header["calibration"], dict))):
        return "its mode, budget_note or calibration is missing or of the wrong type"
    return None


def differences(theirs, ours, fields, where):
    """"configs gan,minimax in <where>, best in this sweep; ..." for the fields that differ."""
    return "; ".join(f"{f} {_show(theirs.get(f))} in {where}, {_show(ours[f])} in this sweep"
                     for f in fields if json.dumps(theirs.get(f), sort_keys=True)
                     != json.dumps(ours[f], sort_keys=True))


def _show(value):
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


def owner(journal, table):
    """(file, its sweep's selection) of the sweep whose files are at <name>: from the journal's
    header, else from the table's JSON; (None, None) when neither says."""
    header, problem = read_header(journal)
    if header is not None and problem is None:
        return journal, header["sweep"]
    try:
        with open(table, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None, None
    if isinstance(record, dict) and all(f in record for f in SELECTION):
        return table, record
    return None, None


def read_runs(path, sweep, log):
    """{task key: result} of a journal's run records (line 2 on) that pass run_problem; any
    other line is skipped with one warning line (its run is run again). The key is made from
    the checked record and the sweep, so a record cannot take another run's place."""
    finished = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if number == 1 or not line.strip():
                continue
            try:
                entry = json.loads(line)
                problem = run_problem(entry, sweep)
            except ValueError:
                problem = "cut short (a killed sweep?) or not JSON"
            if problem:
                log(f"warning: {path} line {number}: {problem}; skipped, its run runs again")
                continue
            r = entry["result"]
            finished[task_key({"data_name": r["data"], "config_name": r["config"],
                               "seed": r["seed"], "iterations": r["iterations"],
                               "overrides": sweep["overrides"], "device": sweep["device"]})] = r
    return finished


def run_problem(entry, sweep):
    """What is wrong with a journal's run record ("hq: expected a number in [0, 1], got NaN"),
    or None when every field the table reads passes its check."""
    if not isinstance(entry, dict) or not isinstance(entry.get("result"), dict):
        return (f'result: expected a run record {{"key": ..., "result": {{...}}}}, got '
                f'{_short(entry)}')
    result = entry["result"]
    for field, what, ok in run_checks(result, sweep):
        if field not in result:
            return f"{field}: missing"
        if not ok(result[field]):
            return f"{field}: expected {what}, got {_short(result[field])}"
    return None


def run_checks(r, sweep):
    """(field, what it must be, test) for a run record, one at a time: a later check may rely
    on an earlier field (modes on data, iterations on config) only once that one has passed."""
    yield "data", f"one of {_show(sweep['data'])}", lambda v: v in sweep["data"]
    yield "config", f"one of {_show(sweep['configs'])}", lambda v: v in sweep["configs"]
    yield "seed", f"one of {_show(sweep['seeds'])}", lambda v: _is_int(v) and v in sweep["seeds"]
    count = sweep["iterations"][r["config"]]
    yield "iterations", f"{count}, this sweep's", lambda v: _is_int(v) and v == count
    k = MODES[r["data"]]
    yield "modes", f"an integer in 0..{k}", lambda v: _is_int(v) and 0 <= v <= k
    yield "hq", "a number in [0, 1]", lambda v: _is_number(v) and 0 <= v <= 1
    # >= 0 up to rounding: a sum of p ln(K p) over a perfectly even share can end at -1e-17
    yield "reverse_kl", "a finite number >= 0", lambda v: _is_finite(v) and v >= -1e-9
    yield "wall_s", "a finite number >= 0", lambda v: _is_finite(v) and v >= 0
    yield "cpu_s", "a finite number >= 0", lambda v: _is_finite(v) and v >= 0
    yield "finite", "true or false", lambda v: isinstance(v, bool)
    yield (f"last_{LOSS_WINDOW}_steps", '{"d_x": a number or null, "d_g_z": ...}',
           lambda v: isinstance(v, dict) and all(
               k in v and (v[k] is None or _is_number(v[k])) for k in ("d_x", "d_g_z")))
    if "samples" in r:                  # the figure's points (a diverged G's may be NaN)
        yield "samples", "a list of [x, y] points", lambda v: isinstance(v, list) and all(
            isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in v)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value):
    return _is_number(value) and math.isfinite(value)


def _short(value):
    """A value as the journal spells it ("many", NaN, null), cut to 60 characters."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def append_line(path, text):
    """Append one line to the journal. If the file ends inside a line (a kill cut the last
    record short), a newline closes that line first: otherwise the new record would continue
    the broken line, and be lost with it."""
    with open(path, "ab+") as f:            # "a": every write goes to the end
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(text.encode() + b"\n")


# ---------------------------------------------------------------- iteration counts

def parse_iters(text, config_names):
    """--iters: "N" for every configuration, or "gan=N,best=M" (every selected one named; a
    count for a configuration outside the sweep is allowed, so an earlier table's "Reproduce"
    line works with fewer --configs). ValueError, starting with "--iters", when it is wrong."""
    if text is None:
        return None
    text = text.strip()
    if "=" not in text:
        return {name: _iteration_count(text) for name in config_names}
    counts = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in CONFIGS:
            raise ValueError(f"--iters names an unknown configuration {name.strip()!r}: "
                             f"expected some of {', '.join(CONFIGS)}")
        counts[name.strip()] = _iteration_count(value)
    missing = [name for name in config_names if name not in counts]
    if missing:
        raise ValueError(f"--iters names no count for {missing}: give N, or name=N for each of "
                         f"{list(config_names)}")
    return {name: counts[name] for name in config_names}


def _iteration_count(text):
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"--iters expects counts of G updates >= 1 (N, or config=N,...), got "
                         f"{text.strip()!r}")
    return count


# Settings that change the work per iteration; the others (loss, lr, d_lr, lr_decay, betas,
# init) change the numbers, not the cost.
COST_SETTINGS = ("k", "pack", "packs_per_batch", "g_hidden", "d_hidden", "g_batch_norm",
                 "d_activation", "g_average", "penalty", "penalty_every")


def cost_key(settings):
    return json.dumps([settings[name] for name in COST_SETTINGS])


def iterations_from_speed(s_per_it, budget_s):
    """The largest multiple of ROUND_TO iterations that fits the budget (at least ROUND_TO)."""
    return max(ROUND_TO, int(budget_s / s_per_it) // ROUND_TO * ROUND_TO)


# ---------------------------------------------------------------- summary and tables

def mean_se(values):
    """(mean, standard error = sample std / sqrt(n); None for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def summarise(runs):
    """Mean and s.e. of modes, HQ, reverse KL, and the iterations and times of a group (None
    for a group whose runs all failed)."""
    if not runs:
        return None
    summary = {}
    for key in ("modes", "hq", "reverse_kl", "wall_s", "cpu_s"):
        mean, se = mean_se([r[key] for r in runs])
        summary[key] = {"mean": mean, "se": se}
    summary["iterations"] = sorted({r["iterations"] for r in runs})
    summary["seeds"] = [r["seed"] for r in runs]
    summary["modes_min"] = min(r["modes"] for r in runs)
    return summary


def _pm(stat, scale=1.0, digits=2):
    mean = stat["mean"] * scale
    if stat["se"] is None:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {stat['se'] * scale:.{digits}f}"


def _iters(values):
    return " / ".join(f"{v:,}".replace(",", " ") for v in values)


def goal_line(data_name, config_name, summary):
    modes, hq, rkl = GOALS[data_name]
    met = (summary["modes_min"] == modes, summary["hq"]["mean"] >= hq,
           summary["reverse_kl"]["mean"] <= rkl)
    verdict = "met" if all(met) else "missed"
    return (f"Goal for `{config_name}` on the {data_name} at this budget ({modes}/{modes} modes "
            f"in every seed, mean HQ >= {100 * hq:.0f} %, mean reverse KL <= {rkl}): "
            f"**{verdict}** (fewest modes in a seed {summary['modes_min']}, HQ "
            f"{100 * summary['hq']['mean']:.1f} %, reverse KL "
            f"{summary['reverse_kl']['mean']:.3f}).")


def markdown(record):
    lines = [f"## Sample quality on the 2-D mode benchmarks ({record['mode']})", ""]
    for data_name in record["data"]:
        k = MODES[data_name]
        lines += [f"### {data_name}: {k} Gaussians, 2 500 samples of the final iterate", "",
                  f"| run | seeds | iterations (G updates) | wall time / run | modes (of {k}) "
                  f"| HQ % | reverse KL |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for config_name in record["configs"]:
            s = record["summary"][data_name][config_name]
            title = record["recipes"][config_name]["title"]
            if s is None:
                lines.append(f"| **minigan: {title}** | 0 | | | every run failed | | |")
                continue
            lines.append(f"| **minigan: {title}** | {len(s['seeds'])} | {_iters(s['iterations'])} "
                         f"| {s['wall_s']['mean']:.0f} s | {_pm(s['modes'], digits=1)} | "
                         f"{_pm(s['hq'], 100, 1)} | {_pm(s['reverse_kl'], digits=3)} |")
        for label, iters, modes, hq, rkl in TORCH_ROWS[data_name]:
            seeds = 3 if "3 seeds" in label else 5
            lines.append(f"| {label.replace(' (3 seeds)', '')} | {seeds} | {_iters([iters])} | "
                         f"~2–3.5 min | {modes} | {hq} | {rkl} |")
        for label, modes, hq, rkl in PACGAN_ROWS[data_name]:
            lines.append(f"| {label} | 10 | 400 000 | | {modes} | {hq} | {rkl} |")
        if record["mode"] == "budget":
            lines += [""] + [goal_line(data_name, c, record["summary"][data_name][c])
                             for c in record["configs"] if c in GOAL_CONFIGS
                             and record["summary"][data_name][c] is not None]
        lines.append("")
    if record.get("missing"):
        lines += [f"**Missing runs** (failed, left out of the means): "
                  f"{', '.join(record['missing'])}.", ""]
    lines += ["### Every run", "",
              "| data | config | seed | iterations | wall s | CPU s | modes | HQ % | reverse KL "
              f"| D(x), D(G(z)) (last {LOSS_WINDOW} steps) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in record["runs"]:
        last = r[f"last_{LOSS_WINDOW}_steps"]
        d_out = (f"{last['d_x']:.3f}, {last['d_g_z']:.3f}" if last["d_x"] is not None else "—")
        lines.append(f"| {r['data']} | {r['config']} | {r['seed']} | {r['iterations']} | "
                     f"{r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['modes']} | "
                     f"{100 * r['hq']:.1f} | {r['reverse_kl']:.3f} | {d_out} |")
    machine = record["machine"]
    lines += ["", "Mean ± standard error over the seeds (sample standard deviation / √n). HQ: "
              "within 3 std of the nearest centre; modes: centres with at least one HQ sample "
              "nearest; reverse KL = Σₖ pₖ ln(K pₖ) over all samples (a perfect sampler: HQ "
              "98.9 %, reverse KL ≈ (K − 1)/5000). Samples from G in eval mode (BatchNorm's "
              "running statistics), as PacGAN scores them.", "",
              "Configurations (all: G 2 → 4 × [Dense 400, BatchNorm, ReLU] → 2; D 3 × [Dense "
              "200, ReLU] → 1; weights N(0, 0.02²); Adam betas (0.8, 0.999); 100 D inputs per "
              "batch; alternating updates):", ""]
    for config_name in record["configs"]:
        rec = record["recipes"][config_name]
        rates = f"lr {rec['lr']:g}" + (f" (D {rec['d_lr']:g})" if rec["d_lr"] else "")
        if rec["lr_decay"] == "linear":
            rates += ", decaying linearly to 0 over the run"
        if rec["betas"] != list(BASE["betas"]) and tuple(rec["betas"]) != BASE["betas"]:
            rates += f", betas {tuple(rec['betas'])}"
        if rec["penalty"]:
            rates += (f", {rec['penalty']} penalty weight {rec['gamma']:g}"
                      + (f" every {rec['penalty_every']} D updates" if rec["penalty_every"] > 1
                         else ""))
        lines.append(f"- `{config_name}`: {rec['title']}: loss {rec['loss']}, k = {rec['k']}, "
                     f"pack {rec['pack']} (batch {rec['batch_size']} samples), {rates}"
                     + (f". Why: {BEST_NOTE}" if config_name == "best"
                        and not record["overrides"] else "."))
    if record["overrides"]:
        lines.append(f"- Overrides for this run (--set): {record['overrides']}.")
    lines += ["", f"Budget: {record['budget_note']}", "",
              "PyTorch rows: a PyTorch CPU implementation of the same recipe on this project's "
              "machines (ReLU D, one thread per run, 5 seeds unless noted). PacGAN rows: Table 1 "
              "of Lin et al. 2018 (maxout D, 10 runs, 400 000 iterations).", "",
              f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs; "
              f"{record['jobs']} runs at a time, one thread each; numpy {machine['numpy']} "
              f"({machine['blas']}); Python {machine['python']}; load average before / after "
              f"{machine['loadavg_before']} / {machine.get('loadavg_after', '?')}; "
              f"git {machine['git_commit'] or '?'}"
              + (" (minigan/ modified)" if machine["library_modified"] else "") + ".", "",
              f"Reproduce: `{record['reproduce']}`", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the figure

def plot(record, samples, path):
    """One panel per data set (rows) and configuration (columns): generated samples (black
    dots) over the mode centres (red circles), titled with the seed's metrics. Samples beyond
    the frame are drawn at its edge."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from minigan.data import grid_centres, ring_centres
    from minigan.io import atomic_write
    rows, cols = record["data"], record["configs"]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.3 * len(cols), 3.3 * len(rows)),
                             squeeze=False)
    for i, data_name in enumerate(rows):
        centres = (ring_centres if data_name == "ring" else grid_centres)(np)
        limit = 1.6 if data_name == "ring" else 6.0
        for j, config_name in enumerate(cols):
            ax = axes[i][j]
            run, points = samples[(data_name, config_name)]
            points = np.clip(np.asarray(points), -limit, limit)     # far samples at the edge
            # centres underneath as open circles, so the samples piled on them stay visible
            ax.scatter(centres[:, 0], centres[:, 1], s=60, facecolors="none",
                       edgecolors="tab:red", linewidths=0.8, zorder=1)
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.25, color="black",
                       linewidths=0, zorder=2)
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_aspect("equal")
            ax.set_title(f"{data_name}, {config_name}: {_iters([run['iterations']])} it\n"
                         f"{run['modes']} modes, HQ {100 * run['hq']:.0f} %, rev. KL "
                         f"{run['reverse_kl']:.3f}", fontsize=9)
    seed = next(iter(samples.values()))[0]["seed"]
    fig.suptitle(f"2 500 samples of the final G, seed {seed}\nred circles: mode centres",
                 fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


# ---------------------------------------------------------------- machine facts

def machine_info():
    import numpy as np
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        blas = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except TypeError:                # NumPy < 1.26
        blas = "?"

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas,
            "thread_env_of_workers": {k: "1" for k in THREAD_VARS},
            "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "library_modified": bool(git("status", "--porcelain", "minigan"))}


def write_text(path, text):
    from minigan.io import atomic_write
    atomic_write(path, lambda f: f.write(text.encode()))


# ---------------------------------------------------------------- the core function

def result_name(data, configs, seeds, quick, full, overrides, device="cpu"):
    """The files' name: quality_2d, then what differs from the whole table. A custom selection
    gets a short hash of it, so that two different sweeps never share files."""
    name = "quality_2d"
    if list(data) != list(DATASETS):
        name += "_" + "_".join(data)
    default_seeds = [0] if quick else list(range(5))
    if list(configs) != list(CONFIGS) or list(seeds) != default_seeds or overrides:
        name += "_custom_" + short_hash(selection_of(list(data), list(configs), list(seeds),
                                                     dict(overrides or {}), device))
    if quick:
        name += "_quick"
    if full:
        name += "_full"
    if device != "cpu":
        name += "_" + device
    return name


def fresh_journal(journal, overwrite, log):
    """Where a fresh start (no --resume) writes its journal. A journal that holds finished runs
    of this sweep is hours of work: without `overwrite` the sweep stops (--resume runs only the
    rest); with it the new journal is written beside it, <journal>.new, and replaces it when
    the first new run is recorded, so a sweep that fails or is stopped before that leaves the
    old journal as it was."""
    done = count_run_lines(journal)
    if not done:
        return journal
    if not overwrite:
        raise RuntimeError(f"{journal} holds {done} finished runs of this sweep: give --resume "
                           f"to run only the rest, or --overwrite to start afresh")
    log(f"starting afresh: {journal}'s {done} runs are kept until this sweep records its first")
    return journal + ".new"


def count_run_lines(journal):
    """How many lines after the header a journal has (0 if there is none): its runs, roughly
    (read_runs checks them; here only "is there work to lose?" matters)."""
    try:
        with open(journal, encoding="utf-8", errors="replace") as f:
            return max(0, sum(1 for line in f if line.strip()) - 1)
    except FileNotFoundError:
        return 0


def resumable_header(journal, selection, iters):
    """The header of the journal to resume (None when there is none yet: the sweep starts), or
    a one-line RuntimeError when it belongs to another sweep or cannot be read."""
    header, problem = read_header(journal)
    if header is None:
        return None
    start_afresh = "run without --resume to start afresh (it replaces the journal)"
    if problem:
        raise RuntimeError(f"--resume: {journal} line 1 is no sweep header: {problem}; "
                           f"{start_afresh}, or give another --name or --out")
    fields = SELECTION + (("iterations",) if iters is not None else ())
    differ = differences(header["sweep"], {**selection, "iterations": iters}, fields,
                         "the journal")
    if differ:
        raise RuntimeError(f"--resume: {journal} is another sweep's journal ({differ}): resume "
                           f"with its options, or give this sweep another --name or --out")
    return header


def claim(journal, table, selection):
    """Stop (RuntimeError) before a sweep replaces the files of another sweep. The same
    selection again, at any iteration count, replaces them: that is re-running the table."""
    path, theirs = owner(journal, table)
    differ = differences(theirs, selection, SELECTION, os.path.basename(path)) if path else ""
    if differ:
        raise RuntimeError(f"{path} belongs to another sweep ({differ}): give --name NAME or "
                           f"another --out to keep both (or remove its files)")


def check_sweep(data, configs, seeds, iters):
    """ValueError unless the sweep's lists name known things once each (seeds: integers >= 0),
    and iters (if given) has a count >= 1 for every configuration."""
    for what, values, known in (("data set", data, DATASETS), ("configuration", configs,
                                                                CONFIGS)):
        for value in values:
            if value not in known:
                raise ValueError(f"unknown {what} {value!r}: expected some of {tuple(known)}")
    for seed in seeds:
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"a seed must be an integer >= 0, got {seed!r}")
    for what, values in (("data set", data), ("configuration", configs), ("seed", seeds)):
        if len(set(values)) != len(values) or not values:
            raise ValueError(f"expected each {what} once (and one at least), got {values}")
    if iters is not None:
        for config in configs:
            if not _is_count(iters.get(config)):
                raise ValueError(f"iterations of {config}: expected an integer >= 1, got "
                                 f"{iters.get(config)!r}")


def run(data=DATASETS, configs=tuple(CONFIGS), seeds=(0, 1, 2, 3, 4), iters=None, quick=False,
        full=False, budget_s=BUDGET_S, calibrate_s=CALIBRATE_S, jobs=2, overrides=None,
        device="cpu", out=RESULTS, name=None, figure=True, log=print, scheduler=None,
        resume=False, overwrite=False):
    """Train every (data set, configuration, seed), score it, write <name>.{md,json,png} to
    `out`; return the record. iters: {config: G updates} or None (calibrate to budget_s, or
    --quick / --full). jobs: runs at a time in one-thread worker processes (0: in this process,
    with its own thread settings). scheduler: "local" or a Dask scheduler's address, to run
    the training runs on a Dask cluster (run_on_dask; the calibration stays local).
    Every finished run is appended to <name>.runs.jsonl as it arrives; resume=True reads that
    file and runs only what it lacks, with the iteration counts it recorded. Files of another
    sweep at <name> are never replaced (RuntimeError), nor, without overwrite=True, a journal of
    this sweep's finished runs (fresh_journal); a sweep in which no run succeeded is a
    RuntimeError too, after the journal and before any table."""
    data, configs, seeds = list(data), list(configs), list(seeds)
    check_sweep(data, configs, seeds, iters)
    overrides = dict(overrides or {})
    recipes = {c: recipe(c, overrides) for c in configs}
    name = name or result_name(data, configs, seeds, quick, full, overrides, device)
    machine = machine_info()
    t_start = time.perf_counter()
    calibration = None
    os.makedirs(out, exist_ok=True)
    journal = os.path.join(out, name + ".runs.jsonl")
    selection = selection_of(data, configs, seeds, overrides, device)
    header = resumable_header(journal, selection, iters) if resume else None
    # Where this sweep writes its journal: the journal itself, or, on a fresh start over a
    # journal that holds finished runs, a new file that replaces it at the first run recorded.
    writing = {"journal": journal}
    if header is None:
        claim(journal, os.path.join(out, name + ".json"), selection)
        writing["journal"] = fresh_journal(journal, overwrite, log)
    finished = {} if header is None else read_runs(journal, header["sweep"], log)
    if header is not None:                          # the interrupted sweep's counts
        iters, mode = header["sweep"]["iterations"], header["mode"]
        budget_note, calibration = header["budget_note"], header["calibration"]
        log(f"resuming {journal}: {len(finished)} runs done")
    elif iters is not None:
        mode, budget_note = "fixed", "iterations set by hand (--iters)."
    elif quick:
        iters, mode = {c: QUICK_ITERS for c in configs}, "quick"
        budget_note = f"--quick: {QUICK_ITERS} iterations, a smoke run (not a result)."
    elif full:
        iters, mode = {c: FULL_ITERS for c in configs}, "full"
        budget_note = f"--full: PacGAN's {FULL_ITERS} iterations."
    else:
        mode = "budget"
        # Configurations that differ only in settings that cost nothing (loss, learning
        # rates, schedule, initialisation) share one burst, so they get the same count.
        timed = {}
        for c in configs:
            timed.setdefault(cost_key(recipes[c]), c)
        log(f"timing {', '.join(timed.values())} for {calibrate_s:g} s each ({jobs or 1} at a "
            f"time) ...")
        tasks = [dict(task="speed", config_name=c, seconds=calibrate_s, overrides=overrides,
                      device=device) for c in timed.values()]
        speeds = run_tasks(tasks, jobs, lambda t, r: log(
            f"  {r['config']}: {1e3 * r['s_per_it']:.2f} ms {r['clock']} time / iteration "
            f"({1e3 * r['wall_s_per_it']:.2f} ms wall)"))
        by_key = {cost_key(recipes[s["config"]]): s for s in speeds}
        calibration = {c: dict(by_key[cost_key(recipes[c])]) for c in configs}
        iters = {c: iterations_from_speed(calibration[c]["s_per_it"], budget_s)
                 for c in configs}
        budget_note = (f"{budget_s:g} s per run: iterations = the budget / time per "
                       f"iteration of a {calibrate_s:g}-s burst, rounded down to a "
                       f"multiple of {ROUND_TO} ("
                       + ", ".join(f"{c}: {1e3 * calibration[c]['s_per_it']:.2f} ms"
                                   for c in configs) + f", {speeds[0]['clock']} time).")
    iters_text = ",".join(f"{c}={iters[c]}" for c in configs)
    log(f"iterations (G updates) per run: {iters_text}")
    reproduce = ["python benchmarks/quality_2d.py", f"--iters {iters_text}"]
    if data != list(DATASETS):
        reproduce.append(f"--data {','.join(data)}")
    if configs != list(CONFIGS):
        reproduce.append(f"--configs {','.join(configs)}")
    if seeds != list(range(5)):
        reproduce.append(f"--seeds {','.join(map(str, seeds))}")
    for key, value in overrides.items():
        reproduce.append(f"--set {key}={str(value).replace(' ', '')}")
    if device != "cpu":
        reproduce.append(f"--device {device}")
    reproduce = " ".join(reproduce)

    tasks = [dict(task="train", data_name=d, config_name=c, seed=s, iterations=iters[c],
                  overrides=overrides, device=device, keep_samples=figure and s == seeds[0])
             for d in data for c in configs for s in seeds]
    if header is None:
        write_text(writing["journal"], json.dumps(make_header(selection, iters, mode, budget_note,
                                                              calibration)) + "\n")
    pending = [t for t in tasks if task_key(t) not in finished]
    log(f"{len(pending)} runs" + (f" ({len(tasks) - len(pending)} done before)" if finished
                                  else "") + ", " +
        (f"on the Dask scheduler {scheduler} ..." if scheduler else f"{jobs or 1} at a time ..."))
    progress = {"done": 0, "t0": time.perf_counter()}

    def report(task, r):
        append_line(writing["journal"], json.dumps({"key": task_key(task), "result": r}))
        if writing["journal"] != journal:       # a fresh start's first run: only now does its
            os.replace(writing["journal"], journal)     # journal replace the old one
            writing["journal"] = journal
        progress["done"] += 1
        elapsed = time.perf_counter() - progress["t0"]
        left = elapsed / progress["done"] * (len(pending) - progress["done"])
        log(f"  [{progress['done']}/{len(pending)}, {left / 60:.0f} min left] "
            f"{r['data']:4s} {r['config']:8s} seed {r['seed']}: {r['iterations']} it in "
            f"{r['wall_s']:.0f} s ({r['cpu_s']:.0f} s CPU): {r['modes']} modes, HQ "
            f"{100 * r['hq']:.1f} %, reverse KL {r['reverse_kl']:.3f}"
            + ("" if r["finite"] else "  (non-finite losses)"))

    def failed(task, error):
        how = "FAILED twice" if worth_retrying(error) else "FAILED (an error of the run " \
            "itself: not retried)"
        words = str(error).strip()
        log(f"  {how}: {task['data_name']} {task['config_name']} seed {task['seed']}: "
            f"{words.splitlines()[-1] if words else type(error).__name__}")
    fresh = dict(zip(map(task_key, pending), run_tasks(pending, jobs, report, scheduler, failed)))
    runs = [finished.get(task_key(t)) or fresh.get(task_key(t)) for t in tasks]
    missing = [f"{t['data_name']} {t['config_name']} seed {t['seed']}"
               for t, r in zip(tasks, runs) if r is None]
    runs = [r for r in runs if r is not None]
    if not runs:
        raise RuntimeError(f"no run succeeded ({len(missing)} failed, see FAILED above); no "
                           f"table written")
    samples = {(r["data"], r["config"]): (r, r.pop("samples")) for r in runs if "samples" in r}
    summary = {d: {c: summarise([r for r in runs if r["data"] == d and r["config"] == c])
                   for c in configs} for d in data}
    if missing:
        log(f"missing ({len(missing)} runs failed): {', '.join(missing)}")
    machine["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    record = {"name": name, "mode": mode, "data": data, "configs": configs, "seeds": seeds,
              "iterations": iters, "budget_s": budget_s if mode == "budget" else None,
              "budget_note": budget_note, "calibration": calibration, "jobs": jobs or 1,
              "device": device, "overrides": overrides, "recipes": recipes,
              "summary": summary, "runs": runs, "published_pacgan": PACGAN_ROWS,
              "pytorch_cpu": TORCH_ROWS, "machine": machine, "reproduce": reproduce,
              "missing": missing,
              "total_wall_s": time.perf_counter() - t_start}
    text = markdown(record)
    base = os.path.join(out, name)
    write_text(base + ".md", text)
    write_text(base + ".json", json.dumps(record, indent=1) + "\n")
    if figure and samples:
        plot(record, samples, base + ".png")
    log("")
    log(text)
    log(f"written: {base}.md, {base}.json" + (f", {base}.png" if figure and samples else ""))
    return record


# ---------------------------------------------------------------- command line

def parse_set(items):
    """--set key=value (repeatable): values as Python literals (1e-3, 4, (64, 64)) or text,
    each checked (check_setting); ValueError names the setting and what it must be."""
    overrides = {}
    for item in items or []:
        for part in _split_top_level(item):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"expected key=value, got {part!r}")
            try:
                value = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                value = value.strip()       # text: lr_decay=linear
            overrides[key.strip()] = check_setting(key.strip(), value)
    return overrides


def setting_argument(text):
    """argparse's type for --set: one KEY=VALUE[,KEY=VALUE] -> {key: value}."""
    try:
        return parse_set([text])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def comma_list(parse):
    """argparse's type for a comma-separated list, each item through parse (which raises
    argparse.ArgumentTypeError), none twice."""
    def parse_list(text):
        values = [parse(item.strip()) for item in text.split(",")]
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise argparse.ArgumentTypeError(f"{', '.join(twice)} given twice in {text!r}")
        return values
    return parse_list


def one_of(names):
    def parse(text):
        if text not in names:
            raise argparse.ArgumentTypeError(f"expected some of {','.join(names)}, got {text!r}")
        return text
    return parse


def _split_top_level(text):
    """Split "a=1,b=(2,3)" at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current] if current else parts


def main(argv=None):
    if argv is None and sys.argv[1:] == ["--worker"]:
        return worker_main()
    # Every number and name is checked as it is parsed: a bad one is argparse's one line
    # ("quality_2d.py: error: argument --seeds: expected an integer >= 0, got 'a'"), before
    # anything runs.
    from minigan.cli import non_negative_int, positive_float
    p = argparse.ArgumentParser(prog="quality_2d.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # (argparse passes a default given as text through `type` too)
    p.add_argument("--data", type=comma_list(one_of(DATASETS)), default=",".join(DATASETS),
                   help="data sets, comma-separated")
    p.add_argument("--configs", type=comma_list(one_of(tuple(CONFIGS))),
                   default=",".join(CONFIGS),
                   help=f"configurations, comma-separated, of {', '.join(CONFIGS)}")
    p.add_argument("--seeds", type=comma_list(non_negative_int), default="0,1,2,3,4",
                   help="seeds, comma-separated (--quick: 0, unless given)")
    p.add_argument("--iters", default=None, help="G updates per run: N, or config=N,...; "
                   "None: calibrated to --budget")
    p.add_argument("--budget", type=positive_float, default=BUDGET_S, help="CPU seconds per run")
    p.add_argument("--calibrate", type=positive_float, default=CALIBRATE_S,
                   help="CPU seconds of the timed burst per configuration")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK_ITERS} iterations, seed 0 (unless --seeds)")
    p.add_argument("--full", action="store_true",
                   help=f"PacGAN's budget: {FULL_ITERS} iterations per run")
    p.add_argument("--jobs", type=non_negative_int, default=2,
                   help="runs at a time (0: in this process)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted sweep from its <name>.runs.jsonl: only the "
                        "runs it lacks, with its iteration counts")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh over a journal of this sweep's finished runs (kept until "
                        "the first new run is recorded)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: 'local' (a LocalCluster of --jobs workers) or "
                        "a scheduler's address, e.g. tcp://10.0.0.5:8786 (pip install -e "
                        "'.[sweep]'; see README.md: a private network, or TLS)")
    p.add_argument("--set", action="append", type=setting_argument, metavar="KEY=VALUE",
                   help=f"override a recipe setting for every configuration run, e.g. "
                        f"lr=5e-4 or pack=2 (settings: {', '.join(BASE)})")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG")
    p.add_argument("--name", default=None, help="result file name (default from the options)")
    p.add_argument("--out", default=RESULTS, help="folder for the results")
    args = p.parse_args(argv)
    if args.quick and args.full:
        p.error("--quick and --full exclude each other")
    seeds = [0] if args.quick and args.seeds == list(range(5)) else args.seeds
    try:
        iters = parse_iters(args.iters, args.configs)
    except ValueError as error:
        p.error(str(error))
    overrides = {key: value for item in args.set or [] for key, value in item.items()}
    try:
        # SIGTERM (a batch system's "stop", `kill`) ends the sweep as Ctrl-C does: the
        # runs kept in the journal stay, the worker processes are stopped, --resume goes on.
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        run(data=args.data, configs=args.configs, seeds=seeds,
            iters=iters, quick=args.quick, full=args.full, budget_s=args.budget,
            calibrate_s=args.calibrate, jobs=args.jobs, overrides=overrides,
            device=args.device, out=args.out, name=args.name, figure=not args.no_figure,
            scheduler=args.scheduler, resume=args.resume, overwrite=args.overwrite)
    except (ValueError, RuntimeError, OSError) as error:
        sys.exit(f"quality_2d.py: error: {error}")
    except KeyboardInterrupt:
        stop_workers()
        sys.exit("quality_2d.py: stopped; the finished runs are in the journal "
                 "(<name>.runs.jsonl): --resume runs the rest")


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
