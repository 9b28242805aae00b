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
import os
import time

from .. import backend
from ..functions import stable_sigmoid
from ..optim import Adam
from ..random import Random
from ..tensor import Tensor, no_grad
from .history import History
from .losses import GENERATOR_LOSSES, discriminator_loss, generator_loss


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped before saving anything more."""


class GANTrainer:
    """Trains a Generator against a Discriminator by Algorithm 1.

    k: discriminator updates per step (>= 1). generator_loss: "non-saturating" (default) or
    "minimax". Optimisers default to Adam(lr 2e-4, betas (0.5, 0.999)), one per network.
    seed: for the latent noise and the choice of real minibatches, on the networks' device.
    """

    def __init__(self, generator, discriminator, g_optimizer=None, d_optimizer=None, *, k=1,
                 generator_loss="non-saturating", seed=0):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"GANTrainer: k (discriminator updates per step) must be an "
                             f"integer >= 1, got {k!r}")
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"GANTrainer: unknown generator_loss {generator_loss!r}: "
                             f"expected one of {GENERATOR_LOSSES}")
        if generator.device != discriminator.device:
            raise backend.DeviceError(f"GANTrainer: the generator is on {generator.device}, the "
                                      f"discriminator on {discriminator.device}; move both")
        self.G, self.D = generator, discriminator
        self.g_optimizer = g_optimizer or Adam(generator.parameters())
        self.d_optimizer = d_optimizer or Adam(discriminator.parameters())
        self.k = k
        self.generator_loss = generator_loss
        self.device = generator.device
        self.rng = Random(seed, self.device)
        self.xp = backend.xp_of_device(self.device)
        self.history = History()
        self.steps_done = 0

    # --- one step of Algorithm 1 ---------------------------------------------------------------
    def discriminator_step(self, real):
        """One D update on m real samples (label 1) and m generated ones (label 0)."""
        m = len(real)
        z = self.G.sample_latent(m, self.rng)
        # The fake batch is a constant here: no_grad() builds no graph, so backward() below stops
        # at D's input and never walks into G (the same as G(z).detach(), without the graph).
        # It does not stop G from being *updated*: only the optimiser's parameter list does that.
        with no_grad():
            fake = self.G(z)
        real_logits = self.D(real)
        fake_logits = self.D(fake)
        loss, loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
        # backward() adds to .grad: clear D's gradients first, or the previous step's leak in.
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        return loss_real, loss_fake, real_logits, fake_logits

    def generator_step(self, m):
        """One G update on m fresh latent points, through a D that is not updated."""
        z = self.G.sample_latent(m, self.rng)
        # D is frozen while the graph is built: its parameters do not require gradients, so
        # backward() computes dL/d(D's input) -- the signal G learns from -- and nothing for D's
        # weights. The G optimiser holds only G's parameters, so D could not move anyway.
        with self.D.frozen():
            fake_logits = self.D(self.G(z))
        loss = generator_loss(fake_logits, self.generator_loss)
        self.g_optimizer.zero_grad()
        loss.backward()                  # chain rule: L -> logits -> D's layers -> G(z) -> G
        self.g_optimizer.step()
        return loss

    def train_step(self, data, m):
        """Algorithm 1's loop body: k D updates, then one G update. Returns the step's record
        as device scalars [d_real, d_fake, g, D(x), D(G(z))] (no host synchronisation)."""
        for _ in range(self.k):
            real = Tensor(data[self.rng.integers(0, len(data), m)])
            loss_real, loss_fake, real_logits, fake_logits = self.discriminator_step(real)
        loss_g = self.generator_step(m)
        self.steps_done += 1
        return (loss_real.data, loss_fake.data, loss_g.data,
                stable_sigmoid(real_logits.data).mean(), stable_sigmoid(fake_logits.data).mean())

    # --- the loop ------------------------------------------------------------------------------
    def train(self, data, epochs, batch_size, *, log_every=None, log=print, on_epoch=None,
              callback_every=1, checkpoint_dir=None, checkpoint_every=None):
        """Run floor(N / batch_size) * epochs steps of Algorithm 1 on `data` (N, features).

        log_every: steps between progress lines (default: about 10 per run; 0 for none).
        on_epoch(trainer, epoch) is called every `callback_every` epochs and after the last (for
        plots, say); with `checkpoint_dir`, the networks and the history are saved there every
        `checkpoint_every` epochs (default: callback_every) and after the last (save_checkpoint).
        Before either, the losses are checked for NaN/inf: training stops at the first bad
        step, and the files saved before it stay intact.
        """
        data = self._check_data(data, batch_size)
        steps_per_epoch = len(data) // batch_size
        total = steps_per_epoch * epochs
        if log_every is None:
            log_every = max(1, total // 10)
        # Per-step records stay on the device in this buffer and reach the host in one copy per
        # flush: on a GPU, reading a loss every step would wait for the GPU every step.
        flush_every = min(log_every or steps_per_epoch, steps_per_epoch)
        buffer = self.xp.empty((flush_every, 5), dtype="float32")
        filled, start, t0 = 0, self.steps_done, time.perf_counter()
        self.G.train()
        self.D.train()
        for epoch in range(1, epochs + 1):
            for _ in range(steps_per_epoch):
                record = self.train_step(data, batch_size)
                for j, value in enumerate(record):
                    buffer[filled, j] = value
                filled += 1
                done = self.steps_done - start
                if filled == flush_every or done == total:
                    self._flush(buffer, filled)
                    filled = 0
                if log_every and (done % log_every == 0 or done == total):
                    self._flush(buffer, filled)
                    filled = 0
                    self._log_line(log, done, total, epoch, epochs, time.perf_counter() - t0)
            last = epoch == epochs
            callback = on_epoch is not None and (epoch % callback_every == 0 or last)
            checkpoint = checkpoint_dir is not None and (
                epoch % (checkpoint_every or callback_every) == 0 or last)
            if callback or checkpoint:
                self._flush(buffer, filled)
                filled = 0
            if checkpoint:
                self.save_checkpoint(checkpoint_dir)
            if callback:
                on_epoch(self, epoch)
        return self.history

    def save_checkpoint(self, folder):
        """Write generator.npz, discriminator.npz and history.csv to `folder`, each atomically
        (a crash mid-save leaves the previous file, never half a file)."""
        self.G.save(os.path.join(folder, "generator.npz"))
        self.D.save(os.path.join(folder, "discriminator.npz"))
        self.history.save_csv(os.path.join(folder, "history.csv"))

    def _check_data(self, data, batch_size):
        if isinstance(data, Tensor):
            data = data.data
        if not backend.is_array(data) or data.ndim != 2:
            raise ValueError(f"GANTrainer.train: data must be an array of shape (N, features), "
                             f"got {getattr(data, 'shape', type(data).__name__)}")
        if data.dtype.kind != "f":
            raise TypeError(f"GANTrainer.train: data must be floating point, got {data.dtype}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"GANTrainer.train: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        if batch_size > len(data):
            raise ValueError(f"GANTrainer.train: batch_size {batch_size} is larger than the data "
                             f"set ({len(data)} samples)")
        if backend.device_of(data) != self.device:
            raise backend.DeviceError(f"GANTrainer.train: data is on {backend.device_of(data)}, "
                                      f"the networks on {self.device}; use data on one device")
        return data.astype("float32", copy=False)

    def _flush(self, buffer, n):
        """Move n buffered records to the history; stop on the first non-finite loss."""
        if n == 0:
            return
        rows = backend.to_numpy(buffer[:n]).tolist()
        first = self.steps_done - n + 1
        for i, row in enumerate(rows):
            if not all(v == v and abs(v) != float("inf") for v in row[:3]):
                self.history.append_rows(first, rows[:i])
                raise NonFiniteLossError(
                    f"step {first + i}: a loss is not finite (d_real={row[0]}, d_fake={row[1]}, "
                    f"g={row[2]}). Training stopped; files saved before this step are intact. "
                    f"Try a lower learning rate.")
        self.history.append_rows(first, rows)

    def _log_line(self, log, done, total, epoch, epochs, elapsed):
        h = self.history
        log(f">{done:{len(str(total))}d}/{total} (epoch {epoch}/{epochs}) "
            f"d_real={h.last('d_real'):.3f} d_fake={h.last('d_fake'):.3f} g={h.last('g'):.3f}  "
            f"D(x)={h.last('d_x'):.3f} D(G(z))={h.last('d_g_z'):.3f}  "
            f"[{1e3 * elapsed / done:.2f} ms/step]")
