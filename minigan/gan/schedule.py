"""Learning-rate schedules for a fixed training budget: change an optimiser's rate as it goes.

A schedule holds an optimiser and rewrites its ``lr`` after each training step; the optimiser
reads ``self.lr`` at every update, so nothing else changes. ``GANTrainer(...,
lr_decay_steps=10_000)`` makes one for each network and steps both after every training step;
``python examples/gan_2d.py --lr-decay`` decays over the whole run. By hand, call
``schedule.step()`` once per iteration, after the optimiser's step (as with PyTorch's
schedulers):

    g_schedule = LinearDecay(trainer.g_optimizer, total_steps=10_000)
    for _ in range(10_000):
        trainer.train_step(data, m)
        g_schedule.step()

Why a GAN can want one. With minibatch gradients the iterates do not stop at a solution: they
jitter around it, with a spread that grows with the step size (for SGD on a quadratic the
stationary variance is proportional to lr); and a two-player game adds a rotational part that
makes them circle it (simultaneous gradient steps on min_x max_y x y multiply the distance to
the equilibrium by sqrt(1 + lr^2) each step). A large step is what makes a short run learn at
all; shrinking it toward the end of a fixed budget lets the final iterate settle, so samples of
the final generator come out sharper. benchmarks/quality_2d.py uses it for minigan's best
recipe.
"""
from ..arguments import check_int



class LinearDecay:
    """lr_t = lr_0 (1 - t / total_steps) for iteration t = 0, 1, ..., total_steps - 1.

    lr_0 is the optimiser's lr when the schedule is made. The first iteration uses lr_0, the
    last lr_0 / total_steps; past total_steps the rate stays at 0 (further steps change
    nothing), so a run that overshoots its plan is visibly frozen rather than silently wrong.
    """

    def __init__(self, optimizer, total_steps):
        check_int("LinearDecay", "total_steps", total_steps)
        self.optimizer = optimizer
        self.total_steps = total_steps
        self.initial_lr = optimizer.lr
        self.t = 0

    def step(self):
        """One iteration done: set the rate for the next one."""
        return self.step_to(self.t + 1)

    def step_to(self, t):
        """Set the rate for iteration t (after t iterations done), e.g. when resuming."""
        self.t = t
        self.optimizer.lr = self.initial_lr * max(0.0, 1.0 - t / self.total_steps)
        return self.optimizer.lr
