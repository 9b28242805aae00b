"""What the training loop does around Algorithm 1: it records, prints and watches, and changes
nothing the algorithm computes.

Each step's figures (losses, mean D(x) and D(G(z))) stay on the device in a buffer and reach the
host history in one copy per flush: on a GPU, reading a loss every step would wait for the GPU
every step. At each flush the figures are checked (training stops at the first non-finite loss,
before anything more is saved) and passed to the guards of collapse.py (a diverged run, then a
collapsed one); every `log_every` steps a progress line is printed.
"""
import contextlib
import dataclasses
import math
import time

from .. import backend
from ..progress import ProgressBar, format_duration
from .history import row_of


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped before saving anything more. `step` is
    the first step whose losses were not finite (the history holds the steps before it)."""

    def __init__(self, message, step=None):
        super().__init__(message)
        self.step = step


@dataclasses.dataclass
class Timing:
    """Where a train() call's time went: `steps` steps took `train_seconds`; saving files and
    the on_epoch callback (plots, grids) took `other_seconds` more."""
    steps: int
    train_seconds: float
    other_seconds: float

    @property
    def ms_per_step(self):
        return 1e3 * self.train_seconds / max(self.steps, 1)


class Monitor:
    """The bookkeeping of one train() call of `trainer`, a run of `total` steps."""

    # Set by the command lines' Ctrl-C handler (cli.py): a KeyboardInterrupt that Python
    # dropped (raised inside a garbage-collector callback) is raised again after the step.
    interrupted = False

    def __init__(self, trainer, total, steps_per_epoch, log_every=None, log=print,
                 progress=False):
        self.trainer, self.total, self.log = trainer, total, log
        self.log_every = max(1, total // 10) if log_every is None else log_every
        self.window = trainer.collapse_guard.window_for(total)
        self.flush_every = min(self.log_every or steps_per_epoch, steps_per_epoch)
        xp = backend.xp_of_device(trainer.device)
        columns = len(trainer.history.names) - 1
        self.buffer = xp.empty((self.flush_every, columns), dtype="float32")
        self.filled, self.start, self.t0 = 0, trainer.steps_done, time.perf_counter()
        self.other_seconds = 0.0       # in saving and callbacks: not counted in ms/step
        self.bar = ProgressBar(total) if progress else None

    def record(self, d_steps, g_step, epoch, epochs):
        """After each train_step: buffer its figures; flush, draw and print when it is time."""
        if Monitor.interrupted:
            raise KeyboardInterrupt
        for j, value in enumerate(row_of(d_steps[-1], g_step)):
            self.buffer[self.filled, j] = value
        self.filled += 1
        done = self.trainer.steps_done - self.start
        if self.filled == self.flush_every or done == self.total:
            self.flush()
        if self.bar is not None:
            self.bar.update(done)
        if self.log_every and (done % self.log_every == 0 or done == self.total):
            self.flush()
            if self.bar is not None:
                self.bar.clear()
            self.log_line(done, epoch, epochs)

    @contextlib.contextmanager
    def aside(self):
        """Time spent in this block (saving, callbacks) is left out of the steps' rate."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.other_seconds += time.perf_counter() - t

    def timing(self):
        elapsed = time.perf_counter() - self.t0
        return Timing(self.trainer.steps_done - self.start, elapsed - self.other_seconds,
                      self.other_seconds)

    def flush(self):
        """Move the buffered figures to the history (one host copy); stop on the first
        non-finite loss; run the divergence and collapse guards on them."""
        n, self.filled = self.filled, 0
        if n == 0:
            return
        trainer = self.trainer
        rows = backend.to_numpy(self.buffer[:n]).tolist()
        first = trainer.steps_done - n + 1
        for i, row in enumerate(rows):
            if not all(math.isfinite(v) for v in row):
                trainer.history.append_rows(first, rows[:i])
                values = ", ".join(f"{name}={v}"
                                   for name, v in zip(trainer.history.names[1:], row))
                # The data was checked to be finite (checks.check_data): the updates diverged.
                raise NonFiniteLossError(
                    f"step {first + i}: a loss is not finite ({values}). Training stopped at "
                    f"step {trainer.steps_done} (losses are checked every {self.flush_every} "
                    f"steps); files saved before step {first + i} are intact. Try a lower "
                    f"learning rate.", step=first + i)
        trainer.history.append_rows(first, rows)
        trainer.divergence_guard.check(first, rows, self.log, self.window)
        # Once the run has diverged, D's verdicts say nothing of who is winning: one warning is
        # enough. (For a critic both guards are off: their `warned` is set from the start.)
        if not trainer.divergence_guard.warned:
            trainer.collapse_guard.check(first, rows, self.log, self.window)

    def log_line(self, done, epoch, epochs):
        h = self.trainer.history
        if "g_class" in h.names:         # the seed's AC-GAN line: [real/fake loss, class loss]
            losses = (f"dr[{h.last('d_real'):.3f},{h.last('d_real_class'):.3f}] "
                      f"df[{h.last('d_fake'):.3f},{h.last('d_fake_class'):.3f}] "
                      f"g[{h.last('g'):.3f},{h.last('g_class'):.3f}]")
        else:
            losses = (f"d_real={h.last('d_real'):.3f} d_fake={h.last('d_fake'):.3f} "
                      f"g={h.last('g'):.3f}")
        elapsed = time.perf_counter() - self.t0
        rate = 1e3 * (elapsed - self.other_seconds) / done
        eta = (self.total - done) * rate / 1e3
        self.log(f">{done:{len(str(self.total))}d}/{self.total} (epoch {epoch}/{epochs}) "
                 f"{losses}  D(x)={h.last('d_x'):.3f} D(G(z))={h.last('d_g_z'):.3f}  "
                 f"[{rate:.2f} ms/step, {format_duration(elapsed)} elapsed, "
                 f"{format_duration(eta)} left]")
