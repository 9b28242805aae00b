"""Issue 24, point 2's engine slice: the least-squares game (LSGAN, Mao et al. 2017) and uniform
latent noise.

- lsgan: L_D = 1/2 mean (l(x) - 1)^2 + 1/2 mean l(G(z))^2, L_G = 1/2 mean (l(G(z)) - 1)^2 on
  D's score l (gan/losses.py): gradient-checked, its closed-form values and gradients on a tiny
  case, a seeded run on the ring that learns, the guards of gan/collapse.py reading its losses,
  a checkpoint that resumes it exactly, gan_2d.py --loss lsgan, and the lab refusing it in words;
- Generator(latent="uniform"): z uniform on [-1, 1)^d, saved in G's config (a loaded G draws
  the noise it was trained on), followed by the trainer and gan_2d.py --latent uniform; the
  default stays N(0, I), draw for draw, and files saved before the argument still load.
"""
import json
import math
import os

import numpy as np
import pytest
from conftest import ROOT, load_script

import minigan
from minigan import Tensor, backend
from minigan.data import make_2d
from minigan.gan import Discriminator, GANTrainer, Generator, load_model
from minigan.gan.losses import discriminator_loss, generator_loss
from minigan.gan.models import LATENTS
from minigan.gradcheck import check_gradients
from minigan.metrics import mode_metrics
from minigan.optim import Adam

GAN_2D = load_script("examples/gan_2d.py")
TINY = ["--data", "ring", "--n", "64", "--epochs", "2", "--batch-size", "32"]


def host(tensor):
    return backend.to_numpy(tensor.data)


# --- 1. the losses --------------------------------------------------------------------------------

def test_lsgan_losses_pass_the_gradient_check(device):
    rng = minigan.Random(0, device)
    real = Tensor(rng.normal((7, 1), std=2.0, dtype="float64"), requires_grad=True)
    fake = Tensor(rng.normal((5, 1), std=2.0, dtype="float64"), requires_grad=True)
    check_gradients(lambda r, f: discriminator_loss(r, f, "lsgan")[0], [real, fake])
    check_gradients(lambda r: discriminator_loss(r, fake, "lsgan")[1], [real])
    check_gradients(lambda f: discriminator_loss(real, f, "lsgan")[2], [fake])
    check_gradients(lambda f: generator_loss(f, "lsgan"), [fake])


def test_lsgan_losses_and_gradients_in_closed_form(device):
    """l(x) = (0.2, 1.5), l(G(z)) = (-0.3, 0.4, 3): the values by hand, and the gradients
    dL/dl = (l - target) / n, n the batch's size."""
    xp = backend.xp_of_device(device)
    real = Tensor(xp.asarray([[0.2], [1.5]], dtype="float64"), requires_grad=True)
    fake = Tensor(xp.asarray([[-0.3], [0.4], [3.0]], dtype="float64"), requires_grad=True)
    total, real_part, fake_part = discriminator_loss(real, fake, "lsgan")
    assert real_part.item() == pytest.approx(0.5 * (0.8 ** 2 + 0.5 ** 2) / 2)          # 0.2225
    assert fake_part.item() == pytest.approx(0.5 * (0.09 + 0.16 + 9.0) / 3)            # 1.5417
    assert total.item() == pytest.approx(real_part.item() + fake_part.item())
    total.backward()
    np.testing.assert_allclose(host(real.grad).ravel(), [(0.2 - 1) / 2, (1.5 - 1) / 2])
    np.testing.assert_allclose(host(fake.grad).ravel(), [-0.3 / 3, 0.4 / 3, 3.0 / 3])

    fake_g = Tensor(fake.data.copy(), requires_grad=True)
    loss = generator_loss(fake_g, "lsgan")
    assert loss.item() == pytest.approx(0.5 * (1.69 + 0.36 + 4.0) / 3)                # 1.0083
    loss.backward()
    np.testing.assert_allclose(host(fake_g.grad).ravel(), [-1.3 / 3, -0.6 / 3, 2.0 / 3])


def test_the_least_squares_gradient_does_not_vanish_where_the_bce_saturates():
    """The paper's point: a sample D scores far on the real side (l = 6) gets -ln sigmoid(6)'s
    gradient sigmoid(6) - 1 = -0.0025, nearly nothing; LSGAN's is l - 1 = 5: it is pulled back
    towards the boundary. Where D rejects it (l = 0) both are about -1."""
    for l, lsgan, non_saturating in ((6.0, 5.0, -0.00247), (0.0, -1.0, -0.5)):
        grads = {}
        for kind in ("lsgan", "non-saturating"):
            x = Tensor(np.asarray([[l]]), requires_grad=True)
            generator_loss(x, kind).backward()
            grads[kind] = float(x.grad[0, 0])
        assert grads["lsgan"] == pytest.approx(lsgan)
        assert grads["non-saturating"] == pytest.approx(non_saturating, abs=1e-5)


def test_the_trainer_plays_lsgan_and_refuses_an_unknown_game():
    G, D = Generator(2, 2, (4,)), Discriminator(2, (4,))
    assert GANTrainer(G, D, generator_loss="lsgan").game == "lsgan"
    with pytest.raises(ValueError, match=r"GANTrainer: unknown generator_loss 'least-squares': "
                                         r"expected one of \(.*'lsgan'\)"):
        GANTrainer(G, D, generator_loss="least-squares")


# --- 2. a seeded run on the ring ------------------------------------------------------------------

def ring_run(latent="normal", epochs=200):
    """1600 steps of lsgan on 512 ring points (about 1 s): the trainer, what G covered before
    and after, and the warnings."""
    minigan.manual_seed(0)
    data = make_2d("ring", 512, seed=0)
    G, D = Generator(2, 2, (32, 32), latent=latent), Discriminator(2, (64, 64))
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=1e-3), Adam(D.parameters(), lr=1e-3),
                         generator_loss="lsgan", seed=0)
    before = mode_metrics(G.sample(1000, minigan.Random(1)), data.centres, data.std)
    lines = []
    trainer.train(data.points, epochs, 64, log_every=0, log=lines.append)
    after = mode_metrics(G.sample(1000, minigan.Random(1)), data.centres, data.std)
    return trainer, before, after, lines


def test_a_seeded_lsgan_run_on_the_ring_learns_and_repeats():
    trainer, before, after, lines = ring_run()
    assert before["modes"] == 0 and after["modes"] >= 6          # 0 -> 8 when written
    assert after["reverse_kl"] < before["reverse_kl"] / 5         # 1.25 -> 0.07
    assert lines == []                                            # no guard spoke
    history = trainer.history
    assert all(math.isfinite(v) for name in history.names for v in history[name])
    # D's loss near LSGAN's equilibrium 1/4 (l = 1/2), not the BCE's ln 4.
    assert 0.1 < history.last("d_real", 200) + history.last("d_fake", 200) < 0.4
    again = ring_run()[0].history
    assert again["g"] == history["g"] and again["d_fake"] == history["d_fake"]


# --- 3. the guards under lsgan --------------------------------------------------------------------

def rows(n, d_real=0.125, d_fake=0.125, g=0.125, d_x=0.622, d_g_z=0.622):
    """History rows (d_real, d_fake, g, d_x, d_g_z); by default LSGAN's equilibrium (l = 1/2)."""
    return [[d_real, d_fake, g, d_x, d_g_z]] * n


def tiny_trainer(generator_loss="lsgan", lr=2e-4, g_lr=None, hidden=(16,)):
    minigan.manual_seed(0)
    G, D = Generator(2, 2, (8,)), Discriminator(2, hidden)
    return GANTrainer(G, D, Adam(G.parameters(), lr=g_lr or lr), Adam(D.parameters(), lr=lr),
                      generator_loss=generator_loss, seed=0)


def test_the_collapse_guard_reads_lsgans_loss_not_its_sigmoid():
    # D's loss 0.007 after the equilibrium's 1/4: the window's mean passes below 0.01 at step
    # 498 (two rows of 1/4 left in it: 0.00943); the warning says so, once.
    trainer, lines = tiny_trainer(), []
    trainer.collapse_guard.check(1, rows(300) + rows(300, d_real=0.003, d_fake=0.004,
                                                       d_x=0.731, d_g_z=0.5),
                                 lines.append, window=200)
    assert len(lines) == 1 and lines[0].startswith(
        "warning: step 498: over the last 200 steps D has told the generated samples from the "
        "real ones: D's least-squares loss averaged 0.00943 < 0.01 (1/4 at the equilibrium)")
    assert "within about 0.14 of 1" in lines[0] and "l(G(z)) - 1 per score" in lines[0]
    # mean sigmoid(score) 0.004 (a BCE D that has won), the losses at the equilibrium: nothing.
    trainer, lines = tiny_trainer(), []
    trainer.collapse_guard.check(1, rows(400, d_g_z=0.004), lines.append, window=200)
    assert lines == []
    # ... which the BCE game's guard, fed the same rows, does report.
    trainer = tiny_trainer("non-saturating")
    trainer.collapse_guard.check(1, rows(400, d_g_z=0.004), lines.append, window=200)
    assert len(lines) == 1 and "mean D(G(z)) = 0.004 < 0.01" in lines[0]


def test_an_untrained_d_scoring_everything_zero_is_not_a_won_game():
    """l = 0 everywhere: the fake term is 0, the real one 1/2. D's loss is 1/2: no warning."""
    trainer, lines = tiny_trainer(), []
    trainer.collapse_guard.check(1, rows(400, d_real=0.5, d_fake=0.0, g=0.5, d_x=0.5,
                                         d_g_z=0.5), lines.append, window=200)
    assert lines == []


def test_a_real_lsgan_run_whose_d_wins_is_warned():
    """G frozen (lr 1e-9) far from the data: D separates them within a few dozen steps."""
    trainer, lines = tiny_trainer(lr=1e-2, g_lr=1e-9), []
    trainer.train(make_2d("ring", 256).points + 4.0, epochs=13, batch_size=32, log_every=0,
                  log=lines.append)
    assert len(lines) == 1 and "D has told the generated samples from the real ones" in lines[0]


def test_the_divergence_guard_uses_lsgans_equilibrium():
    trainer, lines = tiny_trainer(lr=1e3), []
    # D's loss 30: 120 times 1/4 (but only 22 times ln 4, which a BCE guard would let pass).
    trainer.divergence_guard.check(1, rows(200, d_real=15.0, d_fake=15.0), lines.append,
                                   window=200)
    assert len(lines) == 1 and "(1/4 and 1/8 at the equilibrium)" in lines[0]
    assert "D's loss is 120 times the equilibrium's 0.25" in lines[0]
    assert "D's is 1000, G's 1000. Lower them" in lines[0]
    trainer, lines = tiny_trainer("non-saturating"), []
    trainer.divergence_guard.check(1, rows(200, d_real=15.0, d_fake=15.0), lines.append,
                                   window=200)
    assert lines == []
    # Scores above 4.6 on both batches.
    trainer, lines = tiny_trainer(), []
    trainer.divergence_guard.check(1, rows(200, d_x=0.999, d_g_z=0.995, d_real=8.0,
                                           d_fake=12.0), lines.append, window=200)
    assert len(lines) == 1 and "D scores nearly every sample above ln 99 = 4.6" in lines[0]


@pytest.mark.parametrize("lr", [2e-4, 1e-2, 100.0])
def test_real_lsgan_runs_are_warned_only_when_they_diverge(lr):
    trainer, lines = tiny_trainer(lr=lr), []
    with np.errstate(over="ignore", invalid="ignore"):
        trainer.train(make_2d("ring", 256).points, epochs=13, batch_size=32, log_every=0,
                      log=lines.append)
    if lr < 1:
        assert lines == []
    else:
        assert len(lines) == 1 and lines[0].startswith("warning: step 52: training has diverged")


# --- 4. a checkpoint of an lsgan run --------------------------------------------------------------

def test_an_lsgan_checkpoint_resumes_the_run_exactly(tmp_path):
    """Checkpoints do not record the game (nor did they before lsgan); resumed with the same
    settings, the run goes on as if never stopped."""
    data = make_2d("ring", 128, seed=0).points

    def trainer():
        return tiny_trainer(lr=1e-3)
    whole = trainer()
    whole.train(data, 4, 32, log_every=0)
    first = trainer()
    first.train(data, 2, 32, log_every=0, checkpoint_dir=str(tmp_path))
    resumed = trainer()
    epoch = resumed.load_checkpoint(str(tmp_path / "checkpoint.npz"))
    resumed.train(data, 4, 32, log_every=0, start_epoch=epoch + 1)
    assert resumed.history["g"] == whole.history["g"]
    z = Tensor(np.asarray([[0.1, -0.2], [1.0, 0.5]], np.float32))
    np.testing.assert_array_equal(resumed.G.sample_with(z).numpy(), whole.G.sample_with(z).numpy())


# --- 5. uniform latent noise ----------------------------------------------------------------------

def test_uniform_latent_points_lie_in_the_cube_and_fill_it(device):
    G = Generator(3, 2, (4,), latent="uniform").to(device)
    z = backend.to_numpy(G.sample_latent(20000, minigan.Random(0, device)).data)
    assert z.shape == (20000, 3) and z.dtype == np.float32
    assert z.min() >= -1.0 and z.max() < 1.0
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), 1 / 3, atol=0.01)   # U[-1, 1): variance 1/3
    assert (z < -0.9).any() and (z > 0.9).any()


def test_the_default_latent_is_normal_draw_for_draw(device):
    """Today's numbers: a G built without `latent` draws exactly Random.normal's points."""
    G = Generator(2, 2, (4,)).to(device)
    assert G.latent == "normal" and G.config["kwargs"]["latent"] == "normal"
    got = backend.to_numpy(G.sample_latent(50, minigan.Random(7, device)).data)
    np.testing.assert_array_equal(got, backend.to_numpy(minigan.Random(7, device).normal((50, 2))))
    assert Generator(2, 2, (4,), latent="normal").config == G.config


@pytest.mark.parametrize("latent", ["gaussian", "Uniform", None, 3])
def test_an_unknown_latent_distribution_is_refused_in_one_line(latent):
    with pytest.raises(ValueError) as error:
        Generator(2, 2, (4,), latent=latent)
    assert str(error.value) == (f"Generator: unknown latent distribution {latent!r}: expected "
                                f"one of {LATENTS}")


def test_a_saved_uniform_generator_loads_drawing_uniform_noise(tmp_path):
    minigan.manual_seed(0)
    G = Generator(2, 2, (4,), latent="uniform")
    G.save(str(tmp_path / "g.npz"))
    loaded = load_model(str(tmp_path / "g.npz"))
    assert loaded.latent == "uniform" and loaded.config == G.config
    np.testing.assert_array_equal(loaded.sample(100, minigan.Random(3)).numpy(),
                                  G.sample(100, minigan.Random(3)).numpy())
    z = loaded.sample_latent(1000, minigan.Random(3)).numpy()
    assert z.min() >= -1.0 and z.max() < 1.0


def test_a_generator_saved_before_the_latent_argument_loads_as_normal(tmp_path):
    """A file whose config has no `latent` (minigan before this change): built with the
    default, N(0, I). tests/test_file_trust.py holds such files from f31819d."""
    G = load_model(os.path.join(ROOT, "tests", "data", "formats", "generator.npz"))
    assert G.latent == "normal"


def test_the_trainer_draws_the_generators_noise():
    G, D = Generator(2, 2, (4,), latent="uniform"), Discriminator(2, (4,))
    trainer = GANTrainer(G, D, seed=0)
    z, _ = trainer.latent(5000)
    assert z.data.min() >= -1.0 and z.data.max() < 1.0 and z.data.min() < -0.99


def test_a_checkpoint_is_refused_by_a_trainer_whose_g_draws_other_noise(tmp_path):
    data = make_2d("ring", 64, seed=0).points
    G, D = Generator(2, 2, (4,), latent="uniform"), Discriminator(2, (4,))
    GANTrainer(G, D, seed=0).train(data, 1, 32, log_every=0, checkpoint_dir=str(tmp_path))
    other = GANTrainer(Generator(2, 2, (4,)), Discriminator(2, (4,)), seed=0)
    with pytest.raises(ValueError, match=r"latent='uniform'\) and Discriminator.*; this "
                                         r"trainer's generator is Generator\(.*latent='normal'\)"):
        other.load_checkpoint(str(tmp_path / "checkpoint.npz"))
    # A config saved before the argument existed stands for the default only.
    from minigan.gan.checkpoint import _same_network
    old = {"class": "Generator", "kwargs": {k: v for k, v in G.config["kwargs"].items()
                                            if k != "latent"}}
    assert _same_network(old, Generator(2, 2, (4,)))
    assert not _same_network(old, G)


# --- 6. gan_2d.py and the lab ---------------------------------------------------------------------

def test_gan_2d_trains_lsgan_with_uniform_noise(tmp_path, capsys):
    out = tmp_path / "run"
    record = GAN_2D.main(TINY + ["--loss", "lsgan", "--latent", "uniform", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "lsgan G loss" in printed and ", z uniform on [-1, 1)^2" in printed
    saved = json.loads((out / "run.json").read_text())["args"]
    assert saved["loss"] == "lsgan" and saved["latent"] == "uniform"
    assert record["quality"]["modes"] >= 0
    G = load_model(str(out / "generator.npz"))
    assert G.latent == "uniform"


def test_gan_2d_defaults_are_unchanged(tmp_path, capsys):
    out = tmp_path / "run"
    GAN_2D.main(TINY + ["--out", str(out)])
    printed = capsys.readouterr().out
    assert "non-saturating G loss, Adam lr 0.0002)" in printed and "uniform" not in printed
    assert json.loads((out / "run.json").read_text())["args"]["latent"] == "normal"
    assert load_model(str(out / "generator.npz")).latent == "normal"


def test_gan_2d_refuses_an_lsgan_replay_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        GAN_2D.main(TINY + ["--loss", "lsgan", "--html", str(tmp_path / "r.html"),
                            "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "gan_2d.py: error: --html: the lab's page does not draw the lsgan game yet" in err
    assert not (tmp_path / "run").exists()


def test_the_lab_refuses_lsgan_in_words():
    from minigan.lab.settings import LabInputError, Settings, updated
    message = ("loss 'lsgan': the lab does not draw the least-squares game yet (its views read "
               "D's output as a logit or a critic's score); train it with examples/gan_2d.py "
               "--loss lsgan")
    with pytest.raises(LabInputError) as error:
        updated(Settings(), {"loss": "lsgan"}, lambda settings: 1024)
    assert str(error.value) == message
    with pytest.raises(LabInputError) as error:
        Settings(loss="lsgan")                   # python -m minigan.lab --loss lsgan
    assert str(error.value) == message
    assert updated(Settings(), {"loss": "hinge"}, lambda settings: 1024).loss == "hinge"
