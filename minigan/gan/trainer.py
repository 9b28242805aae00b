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

train_step is the loop body, discriminator_step and generator_step its two updates. train() is
the loop: floor(N / m) * epochs iterations, as in the seed tutorials (one "epoch" is as many
steps as there are minibatches in the data set), with real minibatches drawn at random (with
replacement across steps), as the algorithm's "sample m examples" says. What the loop records,
prints and watches is in monitor.py and collapse.py; the input checks are in checks.py.
"""
import dataclasses

from ..fast.memory import keep_freed_memory
from ..optim import Adam
from ..random import Random
from ..tensor import Tensor, no_grad
from .averaging import WeightAverage
from .checkpoint import load_checkpoint, save_checkpoint
from . import penalties
from .checks import (check_conditioning, check_data, check_labels, check_penalty, check_players,
                     check_schedule, check_settings)
from .conditioning import class_terms
from .collapse import CollapseGuard, DivergenceGuard
from .history import History
from .losses import discriminator_loss, fake_part, generator_loss, real_part
from .monitor import Monitor
from .schedule import LinearDecay


class GANTrainer:
    """Trains a generator against a discriminator by Algorithm 1 (the methods right below).

    k: D updates per step. generator_loss: the game, "non-saturating" (default) or "minimax"
    (the paper's two G losses against the BCE of D), or "wgan", "hinge", "lsgan" (D's loss
    changes too: losses.py); kept as ``trainer.game``. d_update: "joint" (Algorithm 1: each D
    update on m real and m generated samples) or "split" (the Keras tutorials: one update on
    m/2 real, one on m/2 generated). Optimisers default to Adam(2e-4, betas (0.5, 0.999)).
    seed: the latent noise and the real minibatches. A class-conditional pair needs labels;
    conditioning picks its class terms (conditioning.py). Options outside the algorithm
    (penalty, gamma, penalty_every, lr_decay_steps, g_average): _set_up_options, below it.
    """

    def __init__(self, generator, discriminator, g_optimizer=None, d_optimizer=None, *, k=1,
                 generator_loss="non-saturating", d_update="joint", seed=0, lr_decay_steps=None,
                 g_average=None, penalty=None, gamma=10.0, penalty_every=1,
                 conditioning="acgan"):
        check_players(generator, discriminator, g_optimizer, d_optimizer)
        check_conditioning(generator, discriminator, conditioning)
        check_settings(k, generator_loss, d_update, seed, lr_decay_steps, g_average)
        check_penalty(discriminator, generator_loss, penalty, gamma, penalty_every)
        self.G, self.D = generator, discriminator
        self.g_optimizer = g_optimizer or Adam(generator.parameters())
        self.d_optimizer = d_optimizer or Adam(discriminator.parameters())
        # game: the pair of losses played, named by G's (the argument generator_loss); it picks
        # D's loss too. Not the function generator_loss (losses.py), which takes it as `kind`.
        self.k, self.game, self.d_update = k, generator_loss, d_update
        self.num_classes = generator.num_classes
        self.conditioning, self.class_terms = conditioning, class_terms(conditioning)
        self.device = generator.device
        self.rng = Random(seed, self.device)
        self.steps_done = 0
        self.timing = None      # after train(): its steps, and seconds training and saving (Timing)
        self.history = History(conditional=self.num_classes > 0 and self.class_terms.has_terms)
        self.collapse_guard = CollapseGuard(generator_loss)
        self.divergence_guard = DivergenceGuard(generator_loss, self.d_optimizer,
                                                self.g_optimizer)
        self._set_up_options(penalty, gamma, penalty_every, lr_decay_steps, g_average)

    # --- Algorithm 1 ---------------------------------------------------------------------------
    def train_step(self, data, m, labels=None):
        """Algorithm 1's loop body: k D updates, then one G update. Returns what they computed:
        a list of k DiscriminatorStep and a GeneratorStep."""
        d_steps = []
        for _ in range(self.k):
            real, real_labels = self.real_batch(data, m, labels)
            d_steps.append(self.discriminator_step(real, real_labels))
        g_step = self.generator_step(m)
        self.steps_done += 1
        self.after_step()
        return d_steps, g_step

    def discriminator_step(self, real, real_labels=None):
        """D's update(s) on real samples (label 1) and as many generated ones (label 0).

        "logits" are D's raw outputs: logits of D(x) = sigmoid(l) in the BCE games, a critic's
        scores under "wgan" and "hinge", least-squares scores under "lsgan" (losses.py)."""
        z, fake_labels = self.latent(len(real))
        # The fake batch is a constant here: no_grad() builds no graph, so backward() stops at
        # D's input and never walks into G (the same as G(z).detach(), without building the
        # graph first). That decides where gradients are computed (not in G); what changes is
        # decided by d_optimizer's list, D's parameters only: this update moves D alone.
        with no_grad():
            fake = self.G.generate(z, fake_labels)
        if self.d_update == "joint":
            # Algorithm 1: L_D = BCE(D(x), 1) + BCE(D(G(z)), 0) (the BCE games), one update. D runs
            # twice, on the real and on the generated batch (BatchNorm normalises each on its own).
            real_logits, real_classes = self.D.judge(real, real_labels)
            fake_logits, fake_classes = self.D.judge(fake, fake_labels)
            loss, real_loss, fake_loss = discriminator_loss(real_logits, fake_logits, self.game)
            real_class_loss = self.class_loss(real_classes, real_labels, "real")
            fake_class_loss = self.class_loss(fake_classes, fake_labels, "fake")
            penalty = self.penalty_term(real, fake, real_labels, fake_labels)
            self.update(self.d_optimizer, loss, real_class_loss, fake_class_loss, penalty)
        else:
            # The tutorials' "split": update on the real half-batch, then on the generated one
            # (with the penalty, if any: it may need both batches).
            real_logits, real_classes = self.D.judge(real, real_labels)
            real_loss = real_part(real_logits, self.game)
            real_class_loss = self.class_loss(real_classes, real_labels, "real")
            self.update(self.d_optimizer, real_loss, real_class_loss)
            fake_logits, fake_classes = self.D.judge(fake, fake_labels)
            fake_loss = fake_part(fake_logits, self.game)
            fake_class_loss = self.class_loss(fake_classes, fake_labels, "fake")
            penalty = self.penalty_term(real, fake, real_labels, fake_labels)
            self.update(self.d_optimizer, fake_loss, fake_class_loss, penalty)
        self.d_updates += 1
        return DiscriminatorStep(real_loss, fake_loss, real_logits, fake_logits, fake,
                                 real_class_loss, fake_class_loss, penalty)

    def generator_step(self, m):
        """One G update on m fresh latent points, through a D that is not updated."""
        z, labels = self.latent(m)
        # D is frozen while the graph is built: its parameters do not require gradients, so each
        # of D's ops records, as it runs, that they need none (its needs_grad).
        with self.D.frozen():
            fake = self.G.generate(z, labels)
            logits, classes = self.D.judge(fake, labels)
        loss = generator_loss(logits, self.game)
        class_loss = self.class_loss(classes, labels, "generator")
        # backward() runs here, after frozen() has ended, and follows what each op recorded:
        # dL/d(D's input) -- the signal G learns from -- and nothing for D's weights. (D's .grad
        # still holds the D step's gradient; the G optimiser holds only G's parameters.)
        self.update(self.g_optimizer, loss, class_loss)  # L -> logits -> D's layers -> G(z) -> G
        return GeneratorStep(loss, logits, fake, class_loss)

    # --- the pieces ------------------------------------------------------------------------------
    def real_batch(self, data, m, labels=None):
        """m real samples drawn at random, and their labels for a class-conditional pair (m / 2
        with d_update "split": each of its two updates sees half a batch)."""
        index = self.rng.integers(0, len(data), m if self.d_update == "joint" else m // 2)
        return Tensor(data[index]), None if labels is None else labels[index]

    def latent(self, m):
        """m latent points, and for a conditional G the m (random) classes to draw."""
        z = self.G.sample_latent(m, self.rng)
        labels = self.G.sample_labels(m, self.rng) if self.num_classes else None
        return z, labels

    def class_loss(self, class_logits, labels, role="generator"):
        """The class term of one loss: for the AC-GAN, the cross-entropy of D's class head
        against the real labels or the classes asked for. role: "real" (D's term on real
        samples), "fake" (D's on generated ones) or "generator" (G's); the terms of each
        conditioning are in conditioning.py. None for a pair without classes, and where the
        recipe has no term ("projection": D's logit takes the class)."""
        if not self.num_classes:
            return None
        return getattr(self.class_terms, role)(class_logits, labels)

    def update(self, optimizer, *loss_terms):
        """One optimiser step on the sum of the loss terms (None terms left out)."""
        loss = loss_terms[0]
        for term in loss_terms[1:]:
            if term is not None:
                loss = loss + term
        # backward() adds to .grad: clear first, or the previous step's gradients leak in.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # --- the options, outside Algorithm 1 --------------------------------------------------------
    def _set_up_options(self, penalty, gamma, penalty_every, lr_decay_steps, g_average):
        """The options outside Algorithm 1:

        penalty: "r1", "r2" or "gp" adds a gradient penalty of weight `gamma` (lambda for "gp")
        to D's loss (penalties.py); with penalty_every=n only every n-th D update has it, n times
        as heavy (StyleGAN2's lazy regularisation: the penalty is the costly part of a D
        update). lr_decay_steps=n decays both learning rates linearly to 0 over n steps
        (schedule.py); g_average=decay keeps an exponential moving average of G's weights in
        ``trainer.g_average.model``, to sample from (averaging.py); both act after each step.
        On the CPU, malloc's settings (fast/memory.py: each step reuses the last one's memory)."""
        self.penalty, self.gamma, self.penalty_every = penalty, gamma, penalty_every
        self.d_updates = 0      # D updates so far, for penalty_every
        self.lr_schedules = [] if lr_decay_steps is None else [
            LinearDecay(self.g_optimizer, lr_decay_steps),
            LinearDecay(self.d_optimizer, lr_decay_steps)]
        self.g_average = None if g_average is None else WeightAverage(self.G, g_average)
        if self.device == "cpu":
            keep_freed_memory()

    def penalty_term(self, real, fake, real_labels=None, fake_labels=None):
        """The gradient penalty of this D update (penalties.py), or None: without a penalty,
        and between the updates that carry it (penalty_every). The labels are for a D that
        takes them (projection.py); WGAN-GP's points between a real and a generated sample are
        judged with the real sample's class."""
        if self.penalty is None or self.d_updates % self.penalty_every:
            return None
        # Lazy regularisation: one update in penalty_every carries the penalty, penalty_every
        # times as heavy, so the weight passed on (penalties' gamma) is gamma * penalty_every.
        weight = self.gamma * self.penalty_every
        if self.penalty == "r1":
            return penalties.r1(self.D, real, weight, real_labels)
        if self.penalty == "r2":
            return penalties.r2(self.D, fake, weight, fake_labels)
        return penalties.gradient_penalty(self.D, real, fake, weight, self.rng, real_labels)

    def after_step(self):
        """The options that act after each step: the learning-rate decay and G's average."""
        for schedule in self.lr_schedules:
            schedule.step()
        if self.g_average is not None:
            self.g_average.update()

    # --- the old name of `game`, kept: code written before the rename reads and sets it -----------
    @property
    def generator_loss(self):
        """The game played: read `game` instead (the argument keeps the name generator_loss)."""
        return self.game

    @generator_loss.setter
    def generator_loss(self, value):
        self.game = value

    # --- the loop --------------------------------------------------------------------------------
    def train(self, data, epochs, batch_size, *, labels=None, log_every=None, log=print,
              on_epoch=None, callback_every=1, checkpoint_dir=None, checkpoint_every=None,
              keep_every=None, start_epoch=1, progress=False):
        """Run floor(N / batch_size) * epochs steps of Algorithm 1 on `data` (N, ...): vectors
        (N, features) or images (N, C, H, W); `labels` (N,) integers for a conditional pair.

        log_every: steps between progress lines (default: about 10 per run; 0 for none).
        on_epoch(trainer, epoch) is called every `callback_every` epochs and after the last (for
        plots, say); with `checkpoint_dir`, the networks and the history are saved there every
        `checkpoint_every` epochs (default: callback_every) and after the last (save_checkpoint);
        with `keep_every`, also every keep_every epochs, keeping that epoch's G as
        generator_eNNN.npz (generator.npz is always the latest).
        Before either, the losses are checked for NaN/inf: training stops at the first bad
        step, and the files saved before it stay intact. The guards of collapse.py also look for
        a D that has won outright and for a run that has diverged with finite losses: `log`
        gets one "warning: ..." line if so (even with log_every=0; a diverged run's D is not
        also reported as winning).
        start_epoch: to resume (see load_checkpoint), the first epoch to run; epochs is the last.
        progress: also draw a live progress bar (rate, time left) on an interactive terminal.
        """
        check_schedule(epochs, start_epoch, callback_every, checkpoint_every, log_every,
                       keep_every, checkpoint_dir)
        data = check_data(self, data, batch_size)
        labels = check_labels(self, labels, len(data))
        steps_per_epoch = len(data) // batch_size
        monitor = Monitor(self, steps_per_epoch * (epochs - start_epoch + 1), steps_per_epoch,
                          log_every, log, progress)
        self.G.train()
        self.D.train()
        for epoch in range(start_epoch, epochs + 1):
            for _ in range(steps_per_epoch):
                d_steps, g_step = self.train_step(data, batch_size, labels)
                monitor.record(d_steps, g_step, epoch, epochs)
            last = epoch == epochs
            callback = on_epoch is not None and (epoch % callback_every == 0 or last)
            keep = keep_every is not None and epoch % keep_every == 0
            checkpoint = checkpoint_dir is not None and (
                epoch % (checkpoint_every or callback_every) == 0 or last or keep)
            if callback or checkpoint:
                monitor.flush()                 # raises at a non-finite loss: nothing saved
            with monitor.aside():
                if checkpoint:
                    self.save_checkpoint(checkpoint_dir, epoch, keep)
                if callback:
                    on_epoch(self, epoch)
        self.timing = monitor.timing()
        return self.history

    def save_checkpoint(self, folder, epoch, keep=False):
        """Save the networks, the history and a full checkpoint.npz to `folder` (checkpoint.py);
        with `keep`, also G as generator_eNNN.npz."""
        save_checkpoint(self, folder, epoch, keep)

    def load_checkpoint(self, path):
        """Restore a checkpoint.npz; returns its epoch, for train(..., start_epoch=epoch + 1)."""
        return load_checkpoint(self, path)


# --- what a step returns ---------------------------------------------------------------------------

class StepValues:
    """A step's results as values: each Tensor detached from its graph (the same array, no
    creator). Holding a result must not hold the step's graph alive, and with it every array
    the step's Functions saved, while the next step runs: the next step's arrays would then come
    from fresh memory rather than the blocks just freed, which costs memory and, in a young
    process, time (benchmarks/results/fast_paths.md, row 4)."""

    def __post_init__(self):
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.detach())


@dataclasses.dataclass
class DiscriminatorStep(StepValues):
    """What a D step computed: L_D's two parts, D's logits on both batches (for d_update "split",
    each of its two updates computes one), the generated batch, the class terms of a
    class-conditional pair, and the gradient penalty (else None)."""
    real_loss: Tensor
    fake_loss: Tensor
    real_logits: Tensor
    fake_logits: Tensor
    fake: Tensor
    real_class_loss: Tensor = None
    fake_class_loss: Tensor = None
    penalty: Tensor = None


@dataclasses.dataclass
class GeneratorStep(StepValues):
    """What the G step computed: L_G, D's logits on G(z), G(z) itself, and the class term."""
    loss: Tensor
    logits: Tensor
    fake: Tensor
    class_loss: Tensor = None
