"""Issue 21, part 4: the API refuses bad values where they are given, and a run that diverges
with finite losses says so.

- a diverged run (finite losses, D(x) = D(G(z)) = 1 or losses 100-fold) gets one warning naming
  the learning rates (gan/collapse.py's DivergenceGuard); a healthy run, and any critic game,
  none;
- G.sample(n) wants an integer n >= 1;
- an optimiser's lr (and betas, eps, momentum) is checked when set after construction too;
  0 is allowed there, where a linear decay ends;
- a Tensor holds floating point, integer or bool numbers, not complex ones or Python objects.
"""
import math

import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan.data import make_2d
from minigan.gan import Discriminator, GANTrainer, Generator
from minigan.gan.acgan import ACGANGenerator
from minigan.gan.dcgan import DCGANGenerator
from minigan.gan.schedule import LinearDecay
from minigan.nn import Parameter
from minigan.optim import SGD, Adam


def tiny_trainer(lr=2e-4, generator_loss="non-saturating", d_lr=None):
    G, D = Generator(2, 2, (8,)), Discriminator(2, (16,))
    return GANTrainer(G, D, Adam(G.parameters(), lr=lr), Adam(D.parameters(), lr=d_lr or lr),
                      generator_loss=generator_loss, seed=0)


def rows(n, d_x=0.5, d_g_z=0.5, d_real=math.log(2), d_fake=math.log(2), g=math.log(2)):
    """Fabricated history rows (d_real, d_fake, g, d_x, d_g_z); by default the equilibrium."""
    return [[d_real, d_fake, g, d_x, d_g_z]] * n


# --- 1. the divergence warning --------------------------------------------------------------------

@pytest.mark.parametrize("lr", [100.0, 1e6])
def test_a_run_that_diverges_with_finite_losses_is_warned_once_naming_the_learning_rates(lr):
    """The trainer, for real: 13 epochs of 8 steps (104 steps, the window is 52). The weights
    blow up within a few steps; the losses stay finite (no NonFiniteLossError)."""
    trainer = tiny_trainer(lr)
    lines = []
    with np.errstate(over="ignore", invalid="ignore"):     # float32 overflow inside Adam at 1e6
        trainer.train(make_2d("ring", 256).points, epochs=13, batch_size=32, log_every=0,
                      log=lines.append)
    assert len(lines) == 1                                  # once; and no collapse warning too
    assert lines[0].startswith("warning: step 52: training has diverged: over the last 52 steps")
    assert f"D's is {lr:g}, G's {lr:g}. Lower them" in lines[0]


def test_the_divergence_guard_fires_on_either_sign_once():
    # D calls everything real with certainty (the D(x) = D(G(z)) = 1.000), losses modest.
    trainer, lines = tiny_trainer(lr=1e3, d_lr=5e2), []
    guard = trainer.divergence_guard
    guard.check(1, rows(199, d_x=0.999, d_g_z=0.998, d_fake=6.2, g=0.002), lines.append,
                window=200)
    assert lines == []                                      # 199 steps: not a window yet
    guard.check(200, rows(1, d_x=0.999, d_g_z=0.998, d_fake=6.2, g=0.002), lines.append,
                window=200)
    assert len(lines) == 1 and lines[0].startswith("warning: step 200: training has diverged")
    assert "D calls every sample real with certainty" in lines[0]
    assert "D's is 500, G's 1000. Lower them" in lines[0]
    guard.check(201, rows(500, d_x=1.0, d_g_z=1.0, d_real=1e14), lines.append, window=200)
    assert len(lines) == 1                                  # once per run
    # The losses 100-fold, D's verdicts unremarkable: after a healthy first window, D's loss
    # at 150 times ln 4. The window's mean passes 100 times at step 333 (201 + 132 steps).
    trainer, lines = tiny_trainer(), []
    trainer.divergence_guard.check(1, rows(200) + rows(200, d_real=208.0), lines.append,
                                   window=200)
    assert len(lines) == 1 and lines[0].startswith("warning: step 333: ")
    assert "D's loss is 100 times the first window's 1.39" in lines[0]
    assert "D calls every sample real" not in lines[0]
    # ... or |G's loss| (the minimax loss is negative).
    trainer, lines = tiny_trainer(generator_loss="minimax"), []
    trainer.divergence_guard.check(1, rows(200, g=-math.log(2)) + rows(100, g=-1e5),
                                   lines.append, window=200)
    assert len(lines) == 1 and "|G's loss| is" in lines[0]


def test_a_run_that_diverged_in_its_first_window_is_compared_with_the_equilibrium():
    trainer, lines = tiny_trainer(), []
    trainer.divergence_guard.check(1, rows(60, d_real=5e3, g=2e4), lines.append, window=60)
    assert len(lines) == 1 and lines[0].startswith("warning: step 60: ")
    assert "times the equilibrium's 1.39" in lines[0]


def test_a_healthy_game_is_not_warned():
    # The equilibrium for a long time; then a D well ahead (losses ~10 times the start).
    trainer, lines = tiny_trainer(), []
    trainer.divergence_guard.check(1, rows(1000) + rows(1000, d_x=0.9, d_g_z=0.05, d_real=0.1,
                                                         d_fake=0.05, g=8.0),
                                   lines.append, window=200)
    assert lines == [] and not trainer.divergence_guard.warned
    # A first window where D is already far ahead (a run resumed late): the later return to
    # the equilibrium (ln 4, 100 times that first window's 0.0139) is no blow-up.
    trainer = tiny_trainer()
    trainer.divergence_guard.check(1, rows(200, d_x=0.99, d_g_z=0.01, d_real=0.0039,
                                           d_fake=0.01, g=4.6) + rows(400),
                                   lines.append, window=200)
    assert lines == [] and not trainer.divergence_guard.warned


@pytest.mark.parametrize("lr", [2e-4, 1e-2])
def test_a_healthy_run_of_the_trainer_gets_no_warning(lr):
    """The defaults, and a brisk lr 1e-2: 104 steps, the window 52, nothing said."""
    trainer, lines = tiny_trainer(lr), []
    trainer.train(make_2d("ring", 256).points, epochs=13, batch_size=32, log_every=0,
                  log=lines.append)
    assert lines == []


@pytest.mark.filterwarnings("ignore:GANTrainer. the wgan loss without a penalty:UserWarning")
@pytest.mark.parametrize("kind", ["wgan", "hinge"])
def test_a_critic_game_never_gets_the_divergence_warning(kind):
    """A critic's scores have no fixed scale: a critic loss of 1e4 may be a healthy WGAN's.
    Fed rows that would be a diverged BCE game's, the guard (off from the start) says nothing."""
    trainer, lines = tiny_trainer(generator_loss=kind), []
    trainer.divergence_guard.check(1, rows(300, d_x=1.0, d_g_z=1.0, d_real=-1e6, d_fake=1e6,
                                           g=-1e6), lines.append, window=200)
    assert lines == [] and trainer.divergence_guard.warned


@pytest.mark.filterwarnings("ignore:GANTrainer. the wgan loss without a penalty:UserWarning")
@pytest.mark.parametrize("kind", ["wgan", "hinge"])
def test_a_real_critic_run_at_a_huge_lr_gets_no_divergence_warning(kind):
    """Through the trainer at lr 100: the critic's losses reach 1e4 and more; no warning."""
    trainer, lines = tiny_trainer(100.0, generator_loss=kind), []
    trainer.train(make_2d("ring", 256).points, epochs=13, batch_size=32, log_every=0,
                  log=lines.append)
    assert abs(trainer.history.last("g", 52)) > 1e4 and lines == []


# --- 2. sample(n) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [-1, 0, 1.5, True])
def test_sample_wants_an_integer_n_of_at_least_one(n):
    with pytest.raises(ValueError,
                       match=rf"^Generator.sample: n \(samples to draw\) must be an integer >= 1, "
                             rf"got {n!r}$"):
        Generator().sample(n)


def test_every_generator_checks_n_and_m():
    for G in (ACGANGenerator(latent_dim=4, num_classes=3, image_size=8, width=4, embed_dim=2),
              DCGANGenerator(latent_dim=4, image_size=8, width=4)):
        with pytest.raises(ValueError, match=rf"^{type(G).__name__}.sample: n "):
            G.sample(0)
    with pytest.raises(ValueError, match=r"^Generator.sample_latent: m \(points to draw\) "):
        Generator().sample_latent(-2)
    with pytest.raises(ValueError, match=r"^ACGANGenerator.sample_labels: m \(labels to draw\) "):
        ACGANGenerator(latent_dim=4, num_classes=3, image_size=8).sample_labels(2.0)
    assert Generator().sample(np.int64(3)).shape == (3, 2)


# --- 3. an optimiser's hyperparameters, set later -------------------------------------------------

def one_parameter():
    return [Parameter(np.zeros(2, dtype="float32"))]


@pytest.mark.parametrize("make", [Adam, SGD])
@pytest.mark.parametrize("value, shown", [(-1, "-1"), (math.nan, "nan"), (math.inf, "inf"),
                                          ("abc", "'abc'"), (True, "True")])
def test_lr_set_later_is_checked(make, value, shown):
    opt = make(one_parameter(), lr=0.1)
    with pytest.raises(ValueError, match=rf"^{make.__name__}: lr must be a finite number >= 0, "
                                         rf"got {shown}$"):
        opt.lr = value
    assert opt.lr == 0.1                                    # unchanged


def test_lr_0_is_allowed_later_and_the_decay_to_0_still_works():
    p = one_parameter()
    opt = Adam(p, lr=0.1)
    opt.lr = 0                                              # allowed after construction
    schedule = LinearDecay(SGD(p, lr=0.1), total_steps=3)
    assert [schedule.step() for _ in range(4)] == pytest.approx([0.1 * 2 / 3, 0.1 / 3, 0, 0])
    p[0].grad = np.ones(2, dtype="float32")
    schedule.optimizer.step()                               # at lr 0: nothing moves
    assert (p[0].data == 0).all()
    # The trainer's decay, through the real loop, to 0 at the last step.
    trainer = GANTrainer(Generator(2, 2, (8,)), Discriminator(2, (16,)), lr_decay_steps=16)
    trainer.train(make_2d("ring", 64).points, epochs=8, batch_size=32, log_every=0)
    assert trainer.g_optimizer.lr == trainer.d_optimizer.lr == 0.0
    # The constructor's own check is unchanged: a run that starts at 0 trains nothing.
    with pytest.raises(ValueError, match=r"^Adam: lr must be a finite number > 0, got 0$"):
        Adam(one_parameter(), lr=0)


@pytest.mark.parametrize("name, value, expected", [
    ("b1", 1.0, r"b1 \(betas\[0\]\) must be a finite number in \[0, 1\), got 1.0"),
    ("b2", math.nan, r"b2 \(betas\[1\]\) must be a finite number in \[0, 1\), got nan"),
    ("eps", 0, r"eps must be a finite number > 0, got 0"),
])
def test_adams_other_hyperparameters_set_later_are_checked(name, value, expected):
    with pytest.raises(ValueError, match=rf"^Adam: {expected}$"):
        setattr(Adam(one_parameter()), name, value)


def test_sgds_momentum_set_later_is_checked():
    opt = SGD(one_parameter(), momentum=0.9)
    with pytest.raises(ValueError, match=r"^SGD: momentum must be a finite number in \[0, 1\), "
                                         r"got -0.5$"):
        opt.momentum = -0.5
    opt.momentum = 0.0                                      # plain SGD: allowed
    assert opt.momentum == 0.0


# --- 4. a Tensor's dtype --------------------------------------------------------------------------

@pytest.mark.parametrize("host", [np.array([1 + 2j]), np.array([1 + 2j], dtype="complex64"),
                                  np.array([object()], dtype=object)],
                         ids=["complex128", "complex64", "object"])
def test_a_tensor_refuses_complex_and_object_arrays(xp, host):
    if host.dtype == object and xp is not np:
        pytest.skip("CuPy has no object arrays")
    data = xp.asarray(host) if xp is not np else host
    with pytest.raises(TypeError, match=rf"^Tensor: expected a floating point, integer or bool "
                                        rf"array, got dtype {host.dtype}$"):
        Tensor(data)
    with pytest.raises(TypeError, match=r"^Tensor 'w': expected"):
        Tensor(data, name="w")
    with pytest.raises(TypeError, match=r"^Tensor: expected"):
        minigan.tensor(data)                               # the array keeps its dtype: refused


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool"])
def test_a_tensor_takes_float_integer_and_bool_arrays(xp, dtype):
    t = Tensor(xp.zeros(3, dtype=dtype))
    assert t.dtype == dtype and t.shape == (3,)
