"""Algorithm 1 of Goodfellow et al. 2014, "Generative Adversarial Nets":

    for number of training iterations do
        for k steps do
            sample m noise samples {z_1..z_m} from the prior p_z
            sample m examples {x_1..x_m} from the data
            update D by ascending its stochastic gradient
                grad_theta_d 1/m sum_i [ln D(x_i) + ln(1 - D(G(z_i)))]
        end for
        sample m noise samples {z_1..z_m} from the prior p_z
        update G by descending its stochastic gradient
            grad_theta_g 1/m sum_i ln(1 - D(G(z_i)))         (or ascending ln D(G(z_i)))
    end for

The number of iterations is floor(N / m) * epochs, as in the seed tutorials: one "epoch" is as
many steps as there are minibatches in the data set. Real minibatches are drawn at random (with
replacement across steps), as the algorithm's "sample m examples" says.
"""
import collections
import math
import time

from .. import backend
from ..functions import sigmoid_binary_cross_entropy as bce
from ..functions import softmax_cross_entropy, stable_sigmoid
from ..optim import Adam
from ..progress import ProgressBar, format_duration
from ..random import Random
from ..tensor import Tensor, no_grad
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .losses import GENERATOR_LOSSES, generator_loss


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped before saving anything more."""


D_UPDATES = ("joint", "split")


class GANTrainer:
    """Trains a generator against a discriminator by Algorithm 1.

    k: discriminator updates per step (>= 1). generator_loss: "non-saturating" (default) or
    "minimax". Optimisers default to Adam(lr 2e-4, betas (0.5, 0.999)), one per network.
    seed: for the latent noise and the choice of real minibatches, on the networks' device.

    d_update: "joint" (Algorithm 1, the default): each D update sees m real and m generated
    samples, its loss the sum of both parts. "split" (the Keras tutorials' recipe): two D
    updates per k, one on m/2 real samples, then one on m/2 generated samples.

    A class-conditional pair (num_classes > 0, the AC-GAN) needs labels for the data; D's class
    head adds a cross-entropy term to each loss: D learns the class of real samples and of
    generated ones (the class G was asked for), and G is pushed to make samples D recognises as
    that class. The loop is the same.

    Guard rail: train() warns once, through its `log` ("warning: ..."), when D has rejected
    every generated sample (D(G(z)) < reject_below on average over the last collapse_window steps)
    (see check_collapse for why, and for the window of short runs).
    """

    # --- the training-log guard rail (check_collapse) ------------------------------------------
    # A GAN whose D wins outright does not crash: the losses stay finite and the log lines look
    # like numbers. But at the game's equilibrium D(x) = D(G(z)) = 1/2 (D's loss ln 4 = 1.386);
    # a mean D(G(z)) below 0.01, step after step, means D tells every generated sample apart and
    # the game has stopped (with the minimax loss, G's gradient has vanished too). One bad step
    # is noise; a long run of them is a diagnosis, hence a window. The test is on the window's
    # *mean*, not "every step below": one fake that D half-accepts lifts a batch's mean D(G(z))
    # above 0.01 for a step, and must not hide a D that has won for hundreds of steps.
    collapse_window = 200     # steps whose mean D(G(z)) must be < reject_below to warn;
    collapse_min_steps = 50   # a run of fewer than 2 windows needs half its steps, >= this many
    reject_below = 0.01       # "D rejects every fake"

    def __init__(self, generator, discriminator, g_optimizer=None, d_optimizer=None, *, k=1,
                 generator_loss="non-saturating", d_update="joint", seed=0):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"GANTrainer: k (discriminator updates per step) must be an "
                             f"integer >= 1, got {k!r}")
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"GANTrainer: unknown generator_loss {generator_loss!r}: "
                             f"expected one of {GENERATOR_LOSSES}")
        if d_update not in D_UPDATES:
            raise ValueError(f"GANTrainer: unknown d_update {d_update!r}: expected one of "
                             f"{D_UPDATES}")
        if generator.num_classes != discriminator.num_classes:
            raise ValueError(f"GANTrainer: the generator draws {generator.num_classes} classes, "
                             f"the discriminator's class head has {discriminator.num_classes}")
        if generator.device != discriminator.device:
            raise backend.DeviceError(f"GANTrainer: the generator is on {generator.device}, the "
                                      f"discriminator on {discriminator.device}; move both")
        self.G, self.D = generator, discriminator
        self.g_optimizer = g_optimizer or Adam(generator.parameters())
        self.d_optimizer = d_optimizer or Adam(discriminator.parameters())
        self.k = k
        self.generator_loss = generator_loss
        self.d_update = d_update
        self.num_classes = generator.num_classes
        self.device = generator.device
        self.rng = Random(seed, self.device)
        self.xp = backend.xp_of_device(self.device)
        self.history = History(conditional=self.num_classes > 0)
        self.steps_done = 0
        self.recent = collections.deque()   # the guard rail's window: (d_x, d_g_z, D's loss)
        self.recent_d_g_z = 0.0             # sum of d_g_z over the window, kept as it slides
        self.warned_collapse = False    # the guard rail speaks once per trainer

    # --- the pieces: G's inputs, D's outputs, D's losses ---------------------------------------
    def latent(self, m):
        """m latent points, and for a conditional G the m (random) classes to draw."""
        z = self.G.sample_latent(m, self.rng)
        labels = self.G.sample_labels(m, self.rng) if self.num_classes else None
        return z, labels

    def generate(self, z, labels):
        return self.G(z) if labels is None else self.G(z, labels)

    def discriminate(self, x):
        """D's logits (m, 1), and its class logits (m, num_classes) or None."""
        out = self.D(x)
        return out if self.num_classes else (out, None)

    def d_losses(self, x, target, labels):
        """D's loss terms on one batch: BCE(D(x), target) (target 1 real, 0 fake), the class
        cross-entropy (None without a class head), and the logits."""
        logits, class_logits = self.discriminate(x)
        adversarial = bce(logits, target)
        classes = softmax_cross_entropy(class_logits, labels) if self.num_classes else None
        return adversarial, classes, logits

    def update_d(self, *losses):
        """One optimiser step of D on the sum of the given loss terms."""
        loss = sum(term for term in losses if term is not None)
        # backward() adds to .grad: clear D's gradients first, or the previous step's leak in.
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()

    # --- one step of Algorithm 1 ---------------------------------------------------------------
    def discriminator_step(self, real, real_labels=None):
        """D's update(s) on real samples (label 1) and as many generated ones (label 0).
        Returns the loss terms and logits, for the history."""
        z, fake_labels = self.latent(len(real))
        # The fake batch is a constant here: no_grad() builds no graph, so backward() stops at
        # D's input and never walks into G (the same as G(z).detach(), without the graph).
        # It does not stop G from being *updated*: only the optimiser's parameter list does that.
        with no_grad():
            fake = self.generate(z, fake_labels)
        if self.d_update == "joint":
            # Algorithm 1: L_D = BCE(D(x), 1) + BCE(D(G(z)), 0), one update. D runs twice, on the
            # real and on the generated batch (BatchNorm normalises each batch on its own).
            real_adv, real_cls, real_logits = self.d_losses(real, 1.0, real_labels)
            fake_adv, fake_cls, fake_logits = self.d_losses(fake, 0.0, fake_labels)
            self.update_d(real_adv, real_cls, fake_adv, fake_cls)
        else:
            # The tutorials' "split": update on the real half-batch, then on the generated one.
            real_adv, real_cls, real_logits = self.d_losses(real, 1.0, real_labels)
            self.update_d(real_adv, real_cls)
            fake_adv, fake_cls, fake_logits = self.d_losses(fake, 0.0, fake_labels)
            self.update_d(fake_adv, fake_cls)
        return real_adv, fake_adv, real_logits, fake_logits, real_cls, fake_cls

    def generator_step(self, m):
        """One G update on m fresh latent points, through a D that is not updated.
        Returns G's adversarial loss and its class term (None without classes)."""
        z, labels = self.latent(m)
        # D is frozen while the graph is built: its parameters do not require gradients, so
        # backward() computes dL/d(D's input) -- the signal G learns from -- and nothing for D's
        # weights. The G optimiser holds only G's parameters, so D could not move anyway.
        with self.D.frozen():
            logits, class_logits = self.discriminate(self.generate(z, labels))
        adversarial = generator_loss(logits, self.generator_loss)
        classes = softmax_cross_entropy(class_logits, labels) if self.num_classes else None
        loss = adversarial if classes is None else adversarial + classes
        self.g_optimizer.zero_grad()
        loss.backward()                  # chain rule: L -> logits -> D's layers -> G(z) -> G
        self.g_optimizer.step()
        return adversarial, classes

    def train_step(self, data, m, labels=None):
        """Algorithm 1's loop body: k D updates, then one G update. Returns the step's record as
        device scalars in the history's column order (no host synchronisation)."""
        d_batch = m if self.d_update == "joint" else m // 2
        for _ in range(self.k):
            index = self.rng.integers(0, len(data), d_batch)
            real = Tensor(data[index])
            real_labels = None if labels is None else labels[index]
            real_adv, fake_adv, real_logits, fake_logits, real_cls, fake_cls = \
                self.discriminator_step(real, real_labels)
        g_adv, g_cls = self.generator_step(m)
        self.steps_done += 1
        record = [real_adv.data, fake_adv.data, g_adv.data,
                  stable_sigmoid(real_logits.data).mean(), stable_sigmoid(fake_logits.data).mean()]
        if self.num_classes:
            record += [real_cls.data, fake_cls.data, g_cls.data]
        return record

    # --- the loop ------------------------------------------------------------------------------
    def train(self, data, epochs, batch_size, *, labels=None, log_every=None, log=print,
              on_epoch=None, callback_every=1, checkpoint_dir=None, checkpoint_every=None,
              start_epoch=1, progress=False):
        """Run floor(N / batch_size) * epochs steps of Algorithm 1 on `data` (N, ...): vectors
        (N, features) or images (N, C, H, W); `labels` (N,) integers for a conditional pair.

        log_every: steps between progress lines (default: about 10 per run; 0 for none).
        on_epoch(trainer, epoch) is called every `callback_every` epochs and after the last (for
        plots, say); with `checkpoint_dir`, the networks and the history are saved there every
        `checkpoint_every` epochs (default: callback_every) and after the last (save_checkpoint).
        Before either, the losses are checked for NaN/inf: training stops at the first bad
        step, and the files saved before it stay intact. Each time the records reach the
        history, check_collapse() also looks for a D that has won outright: `log` gets one
        "warning: ..." line if so (even with log_every=0).
        start_epoch: to resume (see load_checkpoint), the first epoch to run; epochs is the last.
        progress: also draw a live progress bar (rate, time left) on an interactive terminal.
        """
        data = self._check_data(data, batch_size)
        labels = self._check_labels(labels, len(data))
        steps_per_epoch = len(data) // batch_size
        total = steps_per_epoch * (epochs - start_epoch + 1)
        if log_every is None:
            log_every = max(1, total // 10)
        # The guard rail's window: collapse_window steps, or half of a shorter run (a 100-step
        # run whose D wins at step 20 should still hear of it), but never just a few steps.
        window = min(self.collapse_window, max(self.collapse_min_steps, total // 2))
        # Per-step records stay on the device in this buffer and reach the host in one copy per
        # flush: on a GPU, reading a loss every step would wait for the GPU every step.
        flush_every = min(log_every or steps_per_epoch, steps_per_epoch)
        buffer = self.xp.empty((flush_every, len(self.history.names) - 1), dtype="float32")
        filled, start, t0 = 0, self.steps_done, time.perf_counter()
        bar = ProgressBar(total) if progress else None
        self.G.train()
        self.D.train()
        for epoch in range(start_epoch, epochs + 1):
            for _ in range(steps_per_epoch):
                record = self.train_step(data, batch_size, labels)
                for j, value in enumerate(record):
                    buffer[filled, j] = value
                filled += 1
                done = self.steps_done - start
                if filled == flush_every or done == total:
                    self._flush(buffer, filled, log, window)
                    filled = 0
                if bar is not None:
                    bar.update(done)
                if log_every and (done % log_every == 0 or done == total):
                    self._flush(buffer, filled, log, window)
                    filled = 0
                    if bar is not None:
                        bar.clear()
                    self._log_line(log, done, total, epoch, epochs, time.perf_counter() - t0)
            last = epoch == epochs
            callback = on_epoch is not None and (epoch % callback_every == 0 or last)
            checkpoint = checkpoint_dir is not None and (
                epoch % (checkpoint_every or callback_every) == 0 or last)
            if callback or checkpoint:
                self._flush(buffer, filled, log, window)
                filled = 0
            if checkpoint:
                self.save_checkpoint(checkpoint_dir, epoch)
            if callback:
                on_epoch(self, epoch)
        return self.history

    def save_checkpoint(self, folder, epoch):
        """Save the networks, the history and a full checkpoint.npz to `folder` (checkpoint.py)."""
        save_checkpoint(self, folder, epoch)

    def load_checkpoint(self, path):
        """Restore a checkpoint.npz; returns its epoch, for train(..., start_epoch=epoch + 1)."""
        return load_checkpoint(self, path)

    def _check_data(self, data, batch_size):
        if isinstance(data, Tensor):
            data = data.data
        if not backend.is_array(data) or data.ndim < 2:
            raise ValueError(f"GANTrainer.train: data must be an array of shape (N, features) "
                             f"or (N, C, H, W), got {getattr(data, 'shape', type(data).__name__)}")
        if data.dtype.kind != "f":
            raise TypeError(f"GANTrainer.train: data must be floating point, got {data.dtype}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"GANTrainer.train: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        if self.d_update == "split" and batch_size < 2:
            raise ValueError("GANTrainer.train: d_update 'split' needs batch_size >= 2 (it gives "
                             "D half a batch of real and half of generated samples)")
        if batch_size > len(data):
            raise ValueError(f"GANTrainer.train: batch_size {batch_size} is larger than the data "
                             f"set ({len(data)} samples)")
        if backend.device_of(data) != self.device:
            raise backend.DeviceError(f"GANTrainer.train: data is on {backend.device_of(data)}, "
                                      f"the networks on {self.device}; use data on one device")
        return data.astype("float32", copy=False)

    def _check_labels(self, labels, n):
        if isinstance(labels, Tensor):
            labels = labels.data
        if not self.num_classes:
            if labels is not None:
                raise ValueError("GANTrainer.train: labels were given, but the networks are not "
                                 "class-conditional (num_classes is 0)")
            return None
        if labels is None:
            raise ValueError(f"GANTrainer.train: the networks are class-conditional "
                             f"({self.num_classes} classes): pass labels=")
        if not backend.is_array(labels) or labels.shape != (n,) or labels.dtype.kind not in "iu":
            raise ValueError(f"GANTrainer.train: labels must be integers of shape ({n},), got "
                             f"{getattr(labels, 'dtype', type(labels).__name__)} "
                             f"{getattr(labels, 'shape', '')}")
        if backend.device_of(labels) != self.device:
            raise backend.DeviceError(f"GANTrainer.train: labels are on "
                                      f"{backend.device_of(labels)}, the networks on {self.device}")
        return labels

    def _flush(self, buffer, n, log, window):
        """Move n buffered records to the history; stop on the first non-finite loss; run the
        guard rail on them (here, on host copies: no extra device synchronisation)."""
        if n == 0:
            return
        rows = backend.to_numpy(buffer[:n]).tolist()
        first = self.steps_done - n + 1
        for i, row in enumerate(rows):
            if not all(math.isfinite(v) for v in row):
                self.history.append_rows(first, rows[:i])
                values = ", ".join(f"{name}={v}" for name, v in zip(self.history.names[1:], row))
                raise NonFiniteLossError(
                    f"step {first + i}: a loss is not finite ({values}). Training stopped; files "
                    f"saved before this step are intact. Try a lower learning rate.")
        self.history.append_rows(first, rows)
        self.check_collapse(first, rows, log, window)

    def check_collapse(self, first_step, rows, log, window=None):
        """The guard rail: warn once, through `log`, when D has rejected the generated samples
        for `window` (default collapse_window) steps: D(G(z)), averaged over the last `window`
        steps, is below reject_below.

        rows: history records from step first_step on, each in the order of history.names[1:].
        The window carries over from call to call (flushes, and train() calls: a run trained
        one epoch at a time is watched as one run).

        Why: mean D(G(z)) < 0.01 for that long means D wins the game outright. With the minimax
        loss ln(1 - D(G(z))), G's gradient per logit is -D(G(z)) ~ 0: G has stopped learning
        (the non-saturating loss -ln D(G(z)) was proposed for exactly this). With the
        non-saturating loss G still gets a gradient, but a D this far ahead usually means
        training has failed: D's learning rate too high for G's, too many D updates (k), or a
        G that collapsed. D's own loss collapsing (below 0.01, against ln 4 = 1.386 at the
        equilibrium) needs no separate watch: since -ln(1 - s) >= s, D's loss >= its fake part
        >= mean D(G(z)), so a collapsed D loss is always a rejecting D; the warning says when
        the loss has collapsed too (then D is also sure of every real sample).
        """
        if self.warned_collapse:
            return
        window = window or self.collapse_window
        names = self.history.names[1:]
        j_real, j_fake, j_dx, j_dgz = (names.index(name)
                                       for name in ("d_real", "d_fake", "d_x", "d_g_z"))
        recent = self.recent
        for i, row in enumerate(rows):
            # A running sum, not sum(window) per step: this runs for every training step.
            recent.append((row[j_dx], row[j_dgz], row[j_real] + row[j_fake]))
            self.recent_d_g_z += row[j_dgz]
            while len(recent) > window:
                self.recent_d_g_z -= recent.popleft()[1]
            if len(recent) == window and self.recent_d_g_z < self.reject_below * window:
                self.warned_collapse = True
                if log is not None:
                    d_x, d_g_z, d_loss = (sum(column) / window for column in zip(*recent))
                    log(self._collapse_warning(first_step + i, window, d_x, d_g_z, d_loss))
                return

    def _collapse_warning(self, step, window, d_x, d_g_z, d_loss):
        lines = [
            f"warning: step {step}: over the last {window} steps D has rejected the generated "
            f"samples: mean D(G(z)) = {d_g_z:.3g} < {self.reject_below} (0.5 at the "
            f"equilibrium), D(x) = {d_x:.3f} (0.5), D's loss = {d_loss:.4f} "
            f"(ln 4 = {math.log(4):.3f})."]
        if d_loss < self.reject_below:
            lines.append(f"  D's loss has collapsed below {self.reject_below} too: D tells every "
                         f"real sample from every generated one with certainty.")
        if self.generator_loss == "minimax":
            lines.append("  With the minimax loss ln(1 - D(G(z))), G's gradient per logit is "
                         "-D(G(z)), about 0 here: G has stopped learning. Use "
                         "generator_loss=\"non-saturating\" (-ln D(G(z)): gradient D(G(z)) - 1, "
                         "about -1 here).")
        else:
            lines.append("  The non-saturating loss still gives G a gradient, but D is winning "
                         "outright: G's samples are easy to tell from the data.")
        lines.append("  Weaken D (a lower learning rate than G's, fewer D updates per step k, "
                     "dropout), or check that G learns at all (its optimiser, its learning rate).")
        return "\n".join(lines)

    def _log_line(self, log, done, total, epoch, epochs, elapsed):
        h = self.history
        if self.num_classes:     # the seed's AC-GAN line: [real/fake loss, class loss] each
            losses = (f"dr[{h.last('d_real'):.3f},{h.last('d_real_class'):.3f}] "
                      f"df[{h.last('d_fake'):.3f},{h.last('d_fake_class'):.3f}] "
                      f"g[{h.last('g'):.3f},{h.last('g_class'):.3f}]")
        else:
            losses = (f"d_real={h.last('d_real'):.3f} d_fake={h.last('d_fake'):.3f} "
                      f"g={h.last('g'):.3f}")
        rate = 1e3 * elapsed / done
        eta = (total - done) * elapsed / done
        log(f">{done:{len(str(total))}d}/{total} (epoch {epoch}/{epochs}) {losses}  "
            f"D(x)={h.last('d_x'):.3f} D(G(z))={h.last('d_g_z'):.3f}  "
            f"[{rate:.2f} ms/step, {format_duration(elapsed)} elapsed, "
            f"{format_duration(eta)} left]")
