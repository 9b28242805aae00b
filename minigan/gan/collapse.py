"""Two guards for a run that goes wrong while its losses stay finite, each a warning given once
through the training loop's `log`: the collapse guard (D has won the game outright) and the
divergence guard (the updates have blown the game up). Neither stops training: the losses are
numbers, and only a person can tell a bad run from an unusual one.

The collapse guard. A GAN whose D wins outright does not crash: the losses stay finite and the
log lines look like numbers. But at the game's equilibrium D(x) = D(G(z)) = 1/2 (D's loss
ln 4 = 1.386); a mean D(G(z)) below 0.01, step after step, means D tells every generated sample
apart and the game has stopped (with the minimax loss, G's gradient has vanished too). One bad
step is noise; a long run of them is a diagnosis, hence a window. The test is on the window's
*mean*, not "every step below": one fake that D half-accepts lifts a batch's mean D(G(z)) above
0.01 for a step, and must not hide a D that has won for hundreds of steps.

Why D(G(z)) alone: with the minimax loss ln(1 - D(G(z))), G's gradient per logit is
-D(G(z)) ~ 0: G has stopped learning (the non-saturating loss -ln D(G(z)) was proposed for
exactly this). With the non-saturating loss G still gets a gradient, but a D this far ahead
usually means training has failed: D's learning rate too high for G's, too many D updates (k),
or a G that collapsed. D's own loss collapsing (below 0.01, against ln 4 at the equilibrium)
needs no separate watch: since -ln(1 - s) >= s, D's loss >= its fake part >= mean D(G(z)), so a
collapsed D loss is always a rejecting D; the warning says when the loss has collapsed too (then
D is also sure of every real sample).

The divergence guard. A learning rate far too high does not always end in NaN: each update
throws the weights so far that the logits reach thousands or 1e14, the sigmoid saturates, and
the log lines show D(x) = D(G(z)) = 1.000 and losses of 1e14 -- numbers, but no game. Two signs,
either one over a window (BCE games only: a critic's scores and losses have no fixed scale):

  - D calls every sample real with certainty: mean D(x) and mean D(G(z)) both above 0.99. D's
    loss on the fakes is then at least ln 100 = 4.6 (ln 2 at the equilibrium), and its gradient
    pushes hard to lower D(G(z)); a D that stays there for a whole window is not learning from
    that gradient: its updates overshoot, or its units are saturated or dead.
  - the losses have grown 100-fold: D's loss, or the size of G's, averages over 100 times its
    mean over the run's first window. A healthy game stays within a few times its start (D's
    loss ln 4 = 1.386, G's ln 2 at the equilibrium; some 10 when D is well ahead): a loss of
    over 100 needs logits of about 100 or more, which well-trained networks do not reach.
    The reference is never below the equilibrium's value: a first window in which D is
    already ahead (a run resumed late, D's loss 0.01) must not make the equilibrium's own
    ln 4 look like a blow-up. A high learning rate usually blows up within the first steps,
    so the first window itself is compared with the equilibrium's values. For a short run the
    first window is short too (CollapseGuard.window_for: half the run, at least 50 steps); a
    run of fewer than 50 steps is not watched.

Both signs read the window's mean, as the collapse guard does. The first asks for nearly every
step of a window; a single step could trip the second only with a loss 100 x window times the
reference (some 28 000 for D's in a window of 200), which no healthy step comes near. Only the
losses and D's verdicts are watched, not the weights: they are what the log shows. The warning
names both optimisers' learning rates, as they are when it fires, and suggests lower ones.

The games whose D gives a score (losses.py). The guards read D's verdicts as the history records
them, mean sigmoid(D's output), and the losses. A critic's score (wgan, hinge) has no fixed
scale and no targets: its sigmoid says nothing of who wins, and a loss of 1e4 may be a healthy
WGAN's. Both guards are off for them (EQUILIBRIUM has no entry).

LSGAN's score l has targets, 0 for a generated sample and 1 for a real one, and the guards
watch it, but not through its sigmoid: sigmoid(0) = 0.5, so mean D(G(z)) stays near 0.5 however
surely D rejects the fakes, and never nears 0.01. Its losses have a fixed scale instead (1/4
for D and 1/8 for G at the equilibrium, where l = 1/2 everywhere), and they say who wins:

  - the collapse guard watches D's loss, L_D = 1/2 mean (l(x) - 1)^2 + 1/2 mean l(G(z))^2. A
    window whose mean is below reject_below = 0.01 (the equilibrium's 1/4 over 25) is one in
    which D scored the real samples within about 0.14 of 1 and the generated ones within 0.14
    of 0 (root mean square over the window: each term below 0.01 means mean (l - target)^2
    < 0.02): D tells them apart about as surely as a BCE D with mean D(G(z)) < 0.01, whose
    fake term is about 0.01 too. Not the fake term alone: an untrained D scores everything
    about 0, a small fake term, while its real term is 1/2. G's gradient has not vanished there
    (it is l(G(z)) - 1, about -1 per score), as with the non-saturating loss: the warning says
    D is winning, not that G has stopped. On the ring with gan_2d.py's defaults, a healthy
    lsgan run's window never fell below 0.20 in 32 000 steps; with G frozen (lr 1e-7), D's
    passed 0.01 at step 324 (the BCE guard, same run, at step 797).
  - the divergence guard keeps both signs, with LSGAN's equilibrium (1/4, 1/8) as the floor of
    the losses' reference. The first sign, mean sigmoid(score) above 0.99 on both batches,
    reads: D scores nearly every sample above ln 99 = 4.6, more than 3.6 past the real target,
    where its own loss (some 17) pulls the scores back hard; a D that stays there is not
    learning from that pull.
"""
import collections
import math

from .history import COLUMNS
from .losses import GENERATOR_LOSSES, SCORE_LOSSES

D_REAL, D_FAKE, G, D_X, D_G_Z = (COLUMNS[1:].index(name)
                                 for name in ("d_real", "d_fake", "g", "d_x", "d_g_z"))

# The games the guards watch, with D's loss and |G's loss| at their equilibrium: ln 4 and ln 2
# for the BCE games (D = 1/2), 1/4 and 1/8 for lsgan (l = 1/2). The critics have none: off.
EQUILIBRIUM = {**{kind: (math.log(4), math.log(2)) for kind in GENERATOR_LOSSES
                  if kind not in SCORE_LOSSES},
               "lsgan": (0.25, 0.125)}


class CollapseGuard:
    """Warns once, through `log`, when D(G(z)) averaged over the last `window` steps is below
    reject_below (under lsgan: D's loss; the module's docstring says why). The window carries
    over from call to call (flushes of the training loop, and train() calls: a run trained one
    epoch at a time is watched as one run)."""

    window = 200          # steps whose mean D(G(z)) must be < reject_below to warn;
    min_steps = 50        # a run of fewer than 2 windows needs half its steps, >= this many
    reject_below = 0.01   # "D rejects every fake"

    def __init__(self, generator_loss):
        self.generator_loss = generator_loss
        self.recent = collections.deque()   # the window: (d_x, d_g_z, D's loss) per step
        self.recent_d_g_z = 0.0             # sum of the watched figure over the window, kept
                                            # as it slides: d_g_z, or under lsgan D's loss
        # The watched figure's place in self.recent's triples.
        self.watched = 2 if generator_loss == "lsgan" else 1
        # A critic's score (wgan, hinge) is not a probability: its sigmoid says nothing of who wins.
        self.warned = generator_loss not in EQUILIBRIUM

    def window_for(self, total_steps):
        """The window for a run of total_steps: `window`, or half of a shorter run (a 100-step
        run whose D wins at step 20 should still hear of it), but never just a few steps."""
        return min(self.window, max(self.min_steps, total_steps // 2))

    def check(self, first_step, rows, log, window=None):
        """rows: history records from step first_step on, each in the order of COLUMNS[1:]."""
        if self.warned:
            return
        window = window or self.window
        for i, row in enumerate(rows):
            # A running sum, not sum(window) per step: this runs for every training step.
            figures = (row[D_X], row[D_G_Z], row[D_REAL] + row[D_FAKE])
            self.recent.append(figures)
            self.recent_d_g_z += figures[self.watched]
            while len(self.recent) > window:
                self.recent_d_g_z -= self.recent.popleft()[self.watched]
            if len(self.recent) == window and self.recent_d_g_z < self.reject_below * window:
                self.warned = True
                if log is not None:
                    d_x, d_g_z, d_loss = (sum(column) / window for column in zip(*self.recent))
                    log(self.warning(first_step + i, window, d_x, d_g_z, d_loss))
                return

    def warning(self, step, window, d_x, d_g_z, d_loss):
        if self.generator_loss == "lsgan":
            return self.lsgan_warning(step, window, d_x, d_g_z, d_loss)
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
        lines.append(self.advice)
        return "\n".join(lines)

    advice = ("  Weaken D (a lower learning rate than G's, fewer D updates per step k, dropout), "
              "or check that G learns at all (its optimiser, its learning rate).")

    def lsgan_warning(self, step, window, d_x, d_g_z, d_loss):
        rms = math.sqrt(2 * d_loss)       # each score's root-mean-square distance, at most
        return "\n".join([
            f"warning: step {step}: over the last {window} steps D has told the generated "
            f"samples from the real ones: D's least-squares loss averaged {d_loss:.4g} < "
            f"{self.reject_below} (1/4 at the equilibrium): it scores real samples within "
            f"about {rms:.2g} of 1 and generated ones within {rms:.2g} of 0 (mean "
            f"sigmoid(score) {d_x:.3f} and {d_g_z:.3f}).",
            "  The least-squares loss still gives G a gradient (l(G(z)) - 1 per score, about "
            "-1 here), but D is winning outright: G's samples are easy to tell from the data.",
            self.advice])


class DivergenceGuard:
    """Warns once, through `log`, when over the last `window` steps mean D(x) and mean D(G(z))
    were both above sure_above, or D's loss or the size of G's averaged over blow_up times its
    reference: its mean over the first window, never less than its equilibrium value (the
    module's docstring says why). The warning names the learning rates of d_optimizer and
    g_optimizer. Like CollapseGuard, the window carries over from call to call."""

    sure_above = 0.99                              # "D calls every sample real, with certainty"
    blow_up = 100                                  # "the losses have grown 100-fold"
    equilibrium = (math.log(4), math.log(2))       # D's loss and |G's loss| at D = 1/2

    def __init__(self, generator_loss, d_optimizer, g_optimizer):
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.generator_loss = generator_loss
        if generator_loss in EQUILIBRIUM:           # lsgan's: 1/4 and 1/8
            self.equilibrium = EQUILIBRIUM[generator_loss]
        self.recent = collections.deque()   # the window: (d_x, d_g_z, D's loss, |G's loss|)
        self.sums = [0.0] * 4               # their sums over the window, kept as it slides
        self.reference = None               # (D's loss, |G's loss|), set by the first window
        # A critic's losses (wgan, hinge) have no fixed scale, and its sigmoid says nothing.
        self.warned = generator_loss not in EQUILIBRIUM

    def check(self, first_step, rows, log, window=None):
        """rows: history records from step first_step on, each in the order of COLUMNS[1:]."""
        if self.warned:
            return
        window = window or CollapseGuard.window
        sums = self.sums
        for i, row in enumerate(rows):
            # Running sums, as in CollapseGuard. Huge values (1e14) would leave rounding errors
            # behind when they slide out, but by then the guard has warned and stopped.
            figures = (row[D_X], row[D_G_Z], row[D_REAL] + row[D_FAKE], abs(row[G]))
            self.recent.append(figures)
            for j, value in enumerate(figures):
                sums[j] += value
            while len(self.recent) > window:
                for j, value in enumerate(self.recent.popleft()):
                    sums[j] -= value
            if len(self.recent) < window:
                continue
            # The first full window is compared with the equilibrium, the later ones with it.
            reference = self.reference or self.equilibrium
            if self.reference is None:
                self.reference = (max(sums[2] / window, self.equilibrium[0]),
                                  max(sums[3] / window, self.equilibrium[1]))
            if self.diverged([total / window for total in sums], reference):
                self.warned = True
                if log is not None:
                    log(self.warning(first_step + i, window,
                                     [total / window for total in sums], reference))
                return

    def diverged(self, means, reference):
        """Either sign, on a window's (D(x), D(G(z)), D's loss, |G's loss|) means."""
        d_x, d_g_z, d_loss, g_loss = means
        return ((d_x > self.sure_above and d_g_z > self.sure_above)
                or d_loss > self.blow_up * reference[0] or g_loss > self.blow_up * reference[1])

    def warning(self, step, window, means, reference):
        d_x, d_g_z, d_loss, g_loss = means
        lsgan = self.generator_loss == "lsgan"
        at_equilibrium = ("1/4 and 1/8 at the equilibrium" if lsgan else
                          f"ln 4 = {math.log(4):.3f} and ln 2 = {math.log(2):.3f} at the "
                          f"equilibrium")
        verdicts = (f"mean sigmoid(score) {d_x:.3f} on real and {d_g_z:.3f} on generated "
                    f"samples (sigmoid(1/2) = 0.622)" if lsgan else
                    f"D(x) {d_x:.3f} and D(G(z)) {d_g_z:.3f} (0.5)")
        lines = [f"warning: step {step}: training has diverged: over the last {window} steps D's "
                 f"loss averaged {d_loss:.4g} and |G's loss| {g_loss:.4g} ({at_equilibrium}), "
                 f"{verdicts}."]
        if d_x > self.sure_above and d_g_z > self.sure_above:
            lines.append(f"  D scores nearly every sample above ln 99 = 4.6 (sigmoid above "
                         f"{self.sure_above}), far past the real target 1: it has stopped "
                         f"telling them apart." if lsgan else
                         f"  D calls every sample real with certainty (both above "
                         f"{self.sure_above}): it has stopped telling them apart.")
        against = "the equilibrium's" if reference is self.equilibrium else "the first window's"
        for name, mean, ref in (("D's loss", d_loss, reference[0]),
                                ("|G's loss|", g_loss, reference[1])):
            if mean > self.blow_up * ref:
                lines.append(f"  {name} is {mean / ref:.3g} times {against} {ref:.3g}: the "
                             f"updates have blown it up (over {self.blow_up} times).")
        lines.append(f"  The losses are finite, but the learning rates are too high for these "
                     f"networks: D's is {self.d_optimizer.lr:g}, G's {self.g_optimizer.lr:g}. "
                     f"Lower them (ten times lower, say; Adam's GAN default is 2e-4).")
        return "\n".join(lines)
