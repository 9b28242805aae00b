"""The collapse guard: a warning when D has won the game outright.

A GAN whose D wins outright does not crash: the losses stay finite and the log lines look like
numbers. But at the game's equilibrium D(x) = D(G(z)) = 1/2 (D's loss ln 4 = 1.386); a mean
D(G(z)) below 0.01, step after step, means D tells every generated sample apart and the game has
stopped (with the minimax loss, G's gradient has vanished too). One bad step is noise; a long
run of them is a diagnosis, hence a window. The test is on the window's *mean*, not "every step
below": one fake that D half-accepts lifts a batch's mean D(G(z)) above 0.01 for a step, and
must not hide a D that has won for hundreds of steps.

Why D(G(z)) alone: with the minimax loss ln(1 - D(G(z))), G's gradient per logit is
-D(G(z)) ~ 0: G has stopped learning (the non-saturating loss -ln D(G(z)) was proposed for
exactly this). With the non-saturating loss G still gets a gradient, but a D this far ahead
usually means training has failed: D's learning rate too high for G's, too many D updates (k),
or a G that collapsed. D's own loss collapsing (below 0.01, against ln 4 at the equilibrium)
needs no separate watch: since -ln(1 - s) >= s, D's loss >= its fake part >= mean D(G(z)), so a
collapsed D loss is always a rejecting D; the warning says when the loss has collapsed too (then
D is also sure of every real sample).
"""
import collections
import math

from .history import COLUMNS
from .losses import CRITIC_LOSSES

D_REAL, D_FAKE, D_X, D_G_Z = (COLUMNS[1:].index(name) for name in ("d_real", "d_fake", "d_x",
                                                                    "d_g_z"))


class CollapseGuard:
    """Warns once, through `log`, when D(G(z)) averaged over the last `window` steps is below
    reject_below. The window carries over from call to call (flushes of the training loop, and
    train() calls: a run trained one epoch at a time is watched as one run)."""

    window = 200          # steps whose mean D(G(z)) must be < reject_below to warn;
    min_steps = 50        # a run of fewer than 2 windows needs half its steps, >= this many
    reject_below = 0.01   # "D rejects every fake"

    def __init__(self, generator_loss):
        self.generator_loss = generator_loss
        self.recent = collections.deque()   # the window: (d_x, d_g_z, D's loss) per step
        self.recent_d_g_z = 0.0             # sum of d_g_z over the window, kept as it slides
        # A critic's score (wgan, hinge) is not a probability: its sigmoid says nothing of who wins.
        self.warned = generator_loss in CRITIC_LOSSES

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
            self.recent.append((row[D_X], row[D_G_Z], row[D_REAL] + row[D_FAKE]))
            self.recent_d_g_z += row[D_G_Z]
            while len(self.recent) > window:
                self.recent_d_g_z -= self.recent.popleft()[1]
            if len(self.recent) == window and self.recent_d_g_z < self.reject_below * window:
                self.warned = True
                if log is not None:
                    d_x, d_g_z, d_loss = (sum(column) / window for column in zip(*self.recent))
                    log(self.warning(first_step + i, window, d_x, d_g_z, d_loss))
                return

    def warning(self, step, window, d_x, d_g_z, d_loss):
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
