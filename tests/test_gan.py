"""The GAN: composed losses gradient-checked, Algorithm 1's bookkeeping, and what each update may
and may not touch."""
import math
import os
import re

import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan.data import make_2d
from minigan.gan import (Discriminator, GANTrainer, Generator, NonFiniteLossError,
                         discriminator_loss, generator_loss)
from minigan.gradcheck import check_gradients
from minigan.metrics import distance_to_sine, sine_coverage
from minigan.optim import SGD, Adam


def small_pair(device, dtype="float32", dropout=0.0):
    G = Generator(latent_dim=3, data_dim=2, hidden=(5, 4), activation="tanh")
    D = Discriminator(data_dim=2, hidden=(6, 5), activation="tanh", dropout=dropout)
    return G.astype(dtype).to(device), D.astype(dtype).to(device)


def snapshot(module):
    return [p.numpy().copy() for p in module.parameters()]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# --- the composed losses, checked against finite differences ------------------------------------

def test_discriminator_loss_gradient_wrt_d_parameters(device, xp):
    G, D = small_pair(device, "float64")
    rng = minigan.Random(1, device)
    real = Tensor(rng.normal((7, 2), dtype="float64"))
    fake = G.sample_with(Tensor(rng.normal((7, 3), dtype="float64")))   # a constant for D
    check_gradients(lambda: discriminator_loss(D(real), D(fake))[0], [], params=D.parameters())


@pytest.mark.parametrize("kind", ["non-saturating", "minimax"])
def test_generator_loss_gradient_wrt_g_parameters_through_d(device, kind):
    G, D = small_pair(device, "float64")
    z = Tensor(minigan.Random(2, device).normal((6, 3), dtype="float64"))
    with D.frozen():           # D's weights are constants; the gradient must still pass through D
        check_gradients(lambda: generator_loss(D(G(z)), kind), [], params=G.parameters())


def test_discriminator_loss_parts_add_up(device):
    logits_real = Tensor(minigan.Random(0, device).normal((5, 1)))
    logits_fake = Tensor(minigan.Random(1, device).normal((5, 1)))
    total, real, fake = discriminator_loss(logits_real, logits_fake)
    s_real = 1 / (1 + np.exp(-logits_real.numpy()))
    s_fake = 1 / (1 + np.exp(-logits_fake.numpy()))
    expected = -np.mean(np.log(s_real)) - np.mean(np.log(1 - s_fake))
    assert total.item() == pytest.approx(expected, rel=1e-5)
    assert total.item() == pytest.approx(real.item() + fake.item(), rel=1e-6)


def test_generator_losses_are_the_papers_formulas_and_saturate_as_described(device):
    # At D(G(z)) = 0.01 (logit ln(0.01/0.99)) the minimax gradient w.r.t. the logit is
    # -D(G(z)) = -0.01, the non-saturating one D(G(z)) - 1 = -0.99: about 100x stronger.
    logit = math.log(0.01 / 0.99)
    grads = {}
    for kind in ("minimax", "non-saturating"):
        l = minigan.tensor([[logit]], device=device, dtype="float64", requires_grad=True)
        loss = generator_loss(l, kind)
        p = 0.01
        assert loss.item() == pytest.approx(math.log(1 - p) if kind == "minimax" else -math.log(p))
        loss.backward()
        grads[kind] = float(l.grad[0, 0])
    assert grads["minimax"] == pytest.approx(-0.01, rel=1e-6)
    assert grads["non-saturating"] == pytest.approx(-0.99, rel=1e-6)


def test_unknown_generator_loss_is_refused(device):
    with pytest.raises(ValueError, match="unknown generator loss 'wasserstein'"):
        generator_loss(minigan.tensor([[0.0]], device=device), "wasserstein")


# --- what each update touches -------------------------------------------------------------------

def test_generator_step_leaves_d_bit_for_bit_unchanged(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, seed=0)
    data = make_2d("ring", 64, device=device).points
    trainer.train_step(data, 16)                        # D now carries gradients from its step
    d_before, d_grads = snapshot(D), [p.grad for p in D.parameters()]
    g_before = snapshot(G)
    trainer.generator_step(16)
    assert same(d_before, snapshot(D)), "the G step changed D's weights"
    # Frozen D: the G step computed no gradient for D's weights (the old ones are untouched).
    assert all(p.grad is g for p, g in zip(D.parameters(), d_grads))
    assert not same(g_before, snapshot(G)), "the G step did not change G"
    assert all(p.requires_grad for p in D.parameters()), "D stayed frozen after the G step"


def test_discriminator_step_leaves_g_unchanged_and_gradient_free(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, seed=0)
    real = Tensor(make_2d("sine", 16, device=device).points)
    g_before, d_before = snapshot(G), snapshot(D)
    trainer.discriminator_step(real)
    assert same(g_before, snapshot(G))
    assert all(p.grad is None for p in G.parameters()), "backward walked into G in the D step"
    assert not same(d_before, snapshot(D))


def test_k_discriminator_updates_per_step(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, k=3, seed=0)
    data = make_2d("sine", 100, device=device).points
    trainer.train(data, epochs=2, batch_size=25, log_every=0)
    steps = (100 // 25) * 2                             # floor(N / m) * epochs
    assert len(trainer.history) == steps
    assert trainer.history["step"] == list(range(1, steps + 1))
    assert trainer.d_optimizer.t == 3 * steps
    assert trainer.g_optimizer.t == steps


def test_same_seed_same_numbers(device):
    runs = []
    for _ in range(2):
        minigan.manual_seed(5)
        G, D = small_pair(device, dropout=0.3)          # dropout masks must repeat too
        trainer = GANTrainer(G, D, seed=7)
        trainer.train(make_2d("ring", 64, seed=3, device=device).points, 3, 16, log_every=0)
        runs.append((trainer.history.columns, snapshot(G)))
    assert runs[0][0] == runs[1][0]
    assert same(runs[0][1], runs[1][1])


def test_log_lines_and_callbacks(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, seed=0)
    lines, calls = [], []
    trainer.train(make_2d("sine", 40, device=device).points, epochs=5, batch_size=10,
                  log_every=8, log=lines.append, on_epoch=lambda t, e: calls.append(e),
                  callback_every=2)
    assert calls == [2, 4, 5]                           # every 2 epochs, and after the last
    assert len(lines) == 3                              # steps 8, 16 and the last (20)
    pattern = (r">\s*\d+/20 \(epoch \d/5\) d_real=\d\.\d{3} d_fake=\d\.\d{3} g=\d\.\d{3}  "
               r"D\(x\)=\d\.\d{3} D\(G\(z\)\)=\d\.\d{3}")
    assert all(re.match(pattern, line) for line in lines), lines


def test_history_records_the_d_outputs(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, seed=0)
    trainer.train(make_2d("sine", 64, device=device).points, 1, 32, log_every=0)
    h = trainer.history
    for name in ("d_x", "d_g_z"):
        assert all(0.0 < v < 1.0 for v in h[name])
    # d_real = BCE(D(x), 1) = -mean ln D(x) >= -ln mean D(x) (Jensen): the two must agree
    assert all(r >= -math.log(dx) - 1e-5 for r, dx in zip(h["d_real"], h["d_x"]))


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_k_below_one_is_refused(k):
    G, D = small_pair("cpu")
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        GANTrainer(G, D, k=k)


def test_batch_larger_than_data_is_refused(device):
    G, D = small_pair(device)
    with pytest.raises(ValueError, match="batch_size 64 is larger than the data set \\(10"):
        GANTrainer(G, D).train(make_2d("sine", 10, device=device).points, 1, 64)


def test_data_of_wrong_shape_or_dtype_is_refused(device, xp):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D)
    with pytest.raises(ValueError, match="shape \\(N, features\\)"):
        trainer.train(xp.zeros(10, dtype="float32"), 1, 2)
    with pytest.raises(TypeError, match="floating point"):
        trainer.train(xp.zeros((10, 2), dtype="int64"), 1, 2)
    with pytest.raises(ValueError, match="expected input of shape \\(batch, 2\\), got \\(5, 3\\)"):
        trainer.train(xp.zeros((10, 3), dtype="float32"), 1, 5)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")   # inf - inf, on purpose
def test_non_finite_loss_stops_with_the_step_and_keeps_the_checkpoint(device, tmp_path):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0)
    files = ["generator.npz", "discriminator.npz", "history.csv", "checkpoint.npz"]
    saved = {}

    def on_epoch(t, epoch):                 # runs right after the epoch's checkpoint
        saved.update({name: (tmp_path / name).read_bytes() for name in files})
        # Sabotage: an infinite output bias makes D's logits, and so the losses of the very
        # next step (step 5, the first of epoch 2), infinite.
        D.parameters()[-1].data[0] = float("inf")

    with pytest.raises(NonFiniteLossError, match=r"step 5: a loss is not finite"):
        trainer.train(make_2d("sine", 16, device=device).points, 3, 4, log_every=0,
                      on_epoch=on_epoch, checkpoint_dir=tmp_path)
    assert len(trainer.history) == 4                    # the good steps are kept
    assert sorted(saved) == sorted(files)
    assert all(saved[name] == (tmp_path / name).read_bytes() for name in files)
    reloaded = Generator(latent_dim=3, data_dim=2, hidden=(5, 4)).load(tmp_path / files[0])
    assert np.isfinite(np.concatenate([p.numpy().ravel() for p in reloaded.parameters()])).all()
    assert sorted(os.listdir(tmp_path)) == sorted(files)         # no temporary files left


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_the_first_non_finite_step_is_named_though_checks_come_every_few_steps(device):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0)
    step = trainer.train_step

    def sabotaged_step(*args):
        if trainer.steps_done == 5:         # the update of step 6 is the first that breaks
            D.parameters()[-1].data[0] = float("nan")
        return step(*args)

    trainer.train_step = sabotaged_step
    with pytest.raises(NonFiniteLossError) as info:     # losses are checked every 8 steps
        trainer.train(make_2d("sine", 64, device=device).points, 2, 4, log_every=8)
    assert info.value.step == 6 and len(trainer.history) == 5
    assert str(info.value).startswith("step 6: a loss is not finite (d_real=nan")
    assert "Training stopped at step 8 (losses are checked every 8 steps)" in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_data_that_is_not_finite_is_refused_naming_the_row(device, bad):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0)
    data = make_2d("sine", 32, device=device).points
    data[[9, 20], 1] = bad
    with pytest.raises(ValueError, match=rf"GANTrainer.train: data row 9 holds {bad} \(2 of 32 "
                                         rf"rows are not finite\): the data must be finite"):
        trainer.train(data, 1, 4, log_every=0)
    assert trainer.steps_done == 0


def test_timing_leaves_the_saving_and_callbacks_out(tmp_path):
    import time
    G, D = small_pair("cpu")
    trainer = GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0)
    trainer.train(make_2d("sine", 32).points, 2, 8, log_every=0,
                  on_epoch=lambda t, epoch: time.sleep(0.2), checkpoint_dir=tmp_path)
    timing = trainer.timing
    assert timing.steps == 8 and timing.other_seconds >= 0.4
    assert timing.train_seconds < timing.other_seconds     # 8 tiny steps take far less
    assert timing.ms_per_step == pytest.approx(1e3 * timing.train_seconds / 8)


def test_keep_every_keeps_generators_of_those_epochs(tmp_path):
    G, D = small_pair("cpu")
    trainer = GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0)
    data = make_2d("sine", 32).points
    with pytest.raises(ValueError, match="keep_every keeps generators in checkpoint_dir"):
        trainer.train(data, 3, 8, keep_every=2)
    with pytest.raises(ValueError, match="keep_every must be an integer >= 1, got 0"):
        trainer.train(data, 3, 8, keep_every=0, checkpoint_dir=tmp_path)
    trainer.train(data, 5, 8, log_every=0, checkpoint_dir=tmp_path, checkpoint_every=5,
                  keep_every=2)
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("generator_e")) == [
        "generator_e002.npz", "generator_e004.npz"]


def test_networks_on_different_devices_are_refused():
    G, D = small_pair("cpu")
    if not minigan.gpu_available():
        pytest.skip("needs a GPU to put D elsewhere")
    with pytest.raises(minigan.DeviceError, match="generator is on cpu"):
        GANTrainer(G, D.to("gpu"))


# --- it learns -----------------------------------------------------------------------------------

def test_a_short_seeded_run_learns_the_sine_curve(device):
    """A real check, not a timing: 4800 steps bring the samples several times closer to the
    curve and spread them over the period, which the untrained generator does not cover
    (seeded, so the numbers are the same every run: 0.244 -> 0.055, coverage 0 -> 0.95)."""
    minigan.manual_seed(0)
    G = Generator(latent_dim=2, data_dim=2, hidden=(32, 32)).to(device)
    D = Discriminator(data_dim=2, hidden=(64, 64)).to(device)
    data = make_2d("sine", 512, seed=0, device=device)
    z = G.sample_latent(1000, minigan.Random(1, device))
    before = distance_to_sine(G.sample_with(z))
    assert sine_coverage(G.sample_with(z)) < 0.2
    trainer = GANTrainer(G, D, Adam(G.parameters(), 1e-3), Adam(D.parameters(), 1e-3), seed=0)
    lines = []
    trainer.train(data.points, epochs=300, batch_size=32, log_every=0, log=lines.append)
    after = distance_to_sine(G.sample_with(z))
    assert after < before / 3
    assert sine_coverage(G.sample_with(z)) >= 0.8
    assert lines == [], "the collapse guard rail spoke on a healthy run"


def test_checkpoints_every_n_epochs_and_at_the_end(device, tmp_path):
    G, D = small_pair(device)
    trainer = GANTrainer(G, D, seed=0)
    history_file = tmp_path / "history.csv"
    rows_on_disk = []

    def on_epoch(t, epoch):                             # called every epoch here
        exists = history_file.exists()
        rows_on_disk.append(len(history_file.read_text().splitlines()) - 1 if exists else None)

    trainer.train(make_2d("sine", 40, device=device).points, epochs=5, batch_size=10,
                  log_every=0, on_epoch=on_epoch, checkpoint_dir=tmp_path, checkpoint_every=2)
    # 4 steps per epoch; the checkpoint is written at epochs 2, 4 and 5 (the last)
    assert rows_on_disk == [None, 8, 8, 16, 20]
    reloaded = Generator(latent_dim=3, data_dim=2, hidden=(5, 4), activation="tanh")
    reloaded.load(tmp_path / "generator.npz")
    z = G.sample_latent(4, minigan.Random(0, device))
    assert np.array_equal(reloaded.to(device).sample_with(z).numpy(), G.sample_with(z).numpy())


def test_resuming_from_a_checkpoint_continues_the_run_exactly(tmp_path):
    """Four epochs in one go == two epochs, a checkpoint, a fresh process-like restart, two more
    (on the CPU the random generator's position is saved too, so the numbers are identical)."""
    data = make_2d("ring", 64, seed=1).points

    def fresh():
        minigan.manual_seed(3)
        G, D = small_pair("cpu", dropout=0.2)
        return GANTrainer(G, D, k=2, seed=4)

    straight = fresh()
    straight.train(data, epochs=4, batch_size=16, log_every=0)

    first = fresh()
    first.train(data, epochs=2, batch_size=16, log_every=0, checkpoint_dir=tmp_path)
    resumed = fresh()                                  # new weights, optimisers, generator
    epoch = resumed.load_checkpoint(tmp_path / "checkpoint.npz")
    assert epoch == 2 and resumed.steps_done == 8
    resumed.train(data, epochs=4, batch_size=16, log_every=0, start_epoch=epoch + 1)
    assert resumed.history.columns == straight.history.columns
    assert same(snapshot(resumed.G), snapshot(straight.G))
    assert same(snapshot(resumed.D), snapshot(straight.D))


def test_a_checkpoint_of_other_networks_is_refused(tmp_path):
    G, D = small_pair("cpu")
    GANTrainer(G, D).train(make_2d("sine", 16).points, 1, 8, log_every=0,
                           checkpoint_dir=tmp_path)
    bigger = GANTrainer(Generator(latent_dim=3, data_dim=2, hidden=(7, 4)), D)
    with pytest.raises(ValueError, match=r"is a checkpoint of Generator\(latent_dim=3, data_dim=2, "
                                         r"hidden=\[5, 4\].*; this trainer's generator is "
                                         r"Generator\(latent_dim=3, data_dim=2, hidden=\[7, 4\]"):
        bigger.load_checkpoint(tmp_path / "checkpoint.npz")
    before = snapshot(bigger.G)
    assert same(snapshot(bigger.G), before)            # refused before anything was loaded


# --- guard rails: the version counter in a GAN, and the collapse warning ------------------------

def test_d_step_before_the_g_backward_is_refused_naming_ds_parameter():
    """The classic ordering bug: G's loss is computed through an unfrozen D, then D is updated,
    then G's backward runs through the graph whose D weights have since moved in place. Without
    the version counter, G would get a gradient through weights that never produced its loss."""
    G, D = Generator(2, 2, (8,)), Discriminator(2, (8,))
    g_opt, d_opt = Adam(G.parameters()), Adam(D.parameters())
    real = Tensor(make_2d("sine", 16).points)
    fake = G(G.sample_latent(16))
    loss_d, _, _ = discriminator_loss(D(real), D(fake.detach()))
    loss_g = generator_loss(D(fake))                     # through D, not frozen
    d_opt.zero_grad()
    loss_d.backward()
    d_opt.step()                                         # too early: loss_g's graph uses D
    g_opt.zero_grad()
    with pytest.raises(RuntimeError, match=r"backward\(\): Discriminator\.net\.layers\.\d\.weight "
                                           r"\(shape .*\) was modified in place after it was used "
                                           r"by Linear .*"
                                           r"optimizer\.step\(\) after backward\(\)"):
        loss_g.backward()


@pytest.mark.parametrize("d_update, k, kind", [("joint", 1, "non-saturating"),
                                               ("split", 2, "minimax")])
def test_the_trainers_loop_never_trips_the_version_check(device, d_update, k, kind, updates):
    G, D = small_pair(device, dropout=0.3)
    trainer = GANTrainer(G, D, k=k, d_update=d_update, generator_loss=kind, seed=0)
    updates.clear()                                                    # astype/to counted too
    trainer.train(make_2d("ring", 64, device=device).points, epochs=3, batch_size=16, log_every=0)
    # Every update was counted (so every backward() checked against moving versions).
    d_updates = 12 * k * (2 if d_update == "split" else 1)            # 12 steps
    assert [updates[id(p)] for p in G.parameters() + D.parameters()] == \
        [12] * len(G.parameters()) + [d_updates] * len(D.parameters())


def rows(d_g_z, n, d_x=0.999, d_real=0.001, d_fake=0.002):
    """Fabricated history rows (d_real, d_fake, g, d_x, d_g_z) for the guard rail."""
    return [[d_real, d_fake, 5.0, d_x, d_g_z]] * n


@pytest.mark.parametrize("kind", ["minimax", "non-saturating"])
def test_collapse_warning_fires_once_after_the_window(kind):
    G, D = small_pair("cpu")
    trainer = GANTrainer(G, D, generator_loss=kind)
    lines = []
    trainer.collapse_guard.check(1, rows(0.004, 199), lines.append, window=200)
    assert lines == []                                   # 199 steps: not yet
    trainer.collapse_guard.check(200, rows(0.004, 1), lines.append, window=200)
    assert len(lines) == 1                               # the window carries over from the call before
    text = lines[0]
    assert text.startswith("warning: step 200: over the last 200 steps D has rejected the")
    assert "D(G(z)) = 0.004 < 0.01 (0.5 at the equilibrium)" in text
    assert "D(x) = 0.999 (0.5)" in text and "D's loss = 0.0030 (ln 4 = 1.386)" in text
    assert "D's loss has collapsed" in text
    assert ('Use generator_loss="non-saturating"' in text) == (kind == "minimax")
    trainer.collapse_guard.check(201, rows(0.004, 500), lines.append, window=200)
    assert len(lines) == 1                               # once


def test_collapse_warning_reads_the_windows_mean_and_says_when_only_fakes_are_rejected():
    G, D = small_pair("cpu")
    trainer = GANTrainer(G, D, generator_loss="minimax")
    lines = []
    # D often sure, but not on average: mean D(G(z)) = (0.004 + 0.03) / 2 = 0.017 > 0.01.
    trainer.collapse_guard.check(1, (rows(0.004, 1) + rows(0.03, 1)) * 300, lines.append, window=200)
    assert lines == []
    # A new run (the window carries over within a run): D sure about the fakes only
    # (D(x) = 0.7), with one step in 200 whose batch mean D(G(z)) is 0.3 (a fake that D
    # half-accepts): the window's mean is 0.00548, and the outlier must not hide it.
    trainer = GANTrainer(G, D, generator_loss="minimax")
    trainer.collapse_guard.check(601, rows(0.004, 100, d_x=0.7, d_real=0.36) + rows(0.3, 1) +
                           rows(0.004, 99, d_x=0.7, d_real=0.36), lines.append, window=200)
    assert len(lines) == 1 and lines[0].startswith("warning: step 800: ")
    assert "mean D(G(z)) = 0.00548 < 0.01" in lines[0]
    assert "D's loss has collapsed" not in lines[0]          # the fake part alone does not
    assert "G's gradient per logit is -D(G(z))" in lines[0]


def test_collapse_warning_fires_in_a_run_where_d_overpowers_a_frozen_g():
    """A D with a high learning rate against a G that cannot move (lr 1e-12) on ring data far
    from G's outputs: D rejects every fake within a few dozen steps."""
    minigan.manual_seed(0)
    G, D = Generator(2, 2, (8,)), Discriminator(2, (32, 32))
    trainer = GANTrainer(G, D, SGD(G.parameters(), lr=1e-12), Adam(D.parameters(), lr=0.05),
                         generator_loss="minimax", seed=0)
    lines = []
    trainer.train(make_2d("ring", 256).points * 4, epochs=20, batch_size=32, log_every=0,
                  log=lines.append)                     # 160 steps: the window is 80
    assert len(lines) == 1 and lines[0].startswith("warning: step ")
    assert "over the last 80 steps D has rejected the generated samples" in lines[0]
    assert 'Use generator_loss="non-saturating"' in lines[0]


# --- what the trainer asks of the networks, and what a step returns -------------------------------

def test_every_pair_is_asked_the_same_way():
    G, D = small_pair("cpu")
    z = G.sample_latent(4)
    logits, classes = D.judge(G.generate(z))
    assert logits.shape == (4, 1) and classes is None
    with pytest.raises(ValueError, match="Generator.generate: labels were given"):
        G.generate(z, Tensor(np.zeros(4, dtype="int64")))


def test_a_steps_results_are_values_without_the_steps_graph():
    G, D = small_pair("cpu")
    trainer = GANTrainer(G, D, k=2, seed=0)
    d_steps, g_step = trainer.train_step(make_2d("ring", 64).points, 16)
    assert len(d_steps) == 2
    results = [getattr(d, f) for d in d_steps for f in ("real_loss", "fake_loss", "real_logits",
                                                         "fake_logits", "fake")]
    results += [g_step.loss, g_step.logits, g_step.fake]
    assert all(t.creator is None and not t.requires_grad for t in results)
    assert g_step.fake.shape == (16, 2) and d_steps[0].real_class_loss is None
