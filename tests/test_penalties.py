"""Gradient penalties (R1, R2, WGAN-GP) and the WGAN and hinge games, as trainer options.

Closed forms on a linear D (whose input gradient is its weight vector), the penalties' own
gradients checked by finite differences, lazy regularisation, the refusals, and the losses."""
import warnings

import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan import functions as F
from minigan.data import make_2d
from minigan.gan import (DCGANDiscriminator, DCGANGenerator, Discriminator, GANTrainer,
                         Generator, discriminator_loss, generator_loss, penalties)
from minigan.gradcheck import check_gradients
from minigan.optim import SGD


def linear_D(w, b=0.3):
    """A Discriminator with no hidden layer: D(x) = x . w + b, so dD/dx = w for every x."""
    D = Discriminator(data_dim=len(w), hidden=()).astype("float64")
    D.parameters()[0].data[...] = np.array(w, dtype="float64").reshape(-1, 1)
    D.parameters()[1].data[...] = b
    return D


def batch(n=6, d=2, seed=0):
    return Tensor(np.random.default_rng(seed).normal(size=(n, d)))


def test_r1_and_r2_of_a_linear_D_are_gamma_half_the_squared_weight_norm():
    D = linear_D([3.0, -4.0])
    for penalty in (penalties.r1(D, batch(), 0.5), penalties.r2(D, batch(seed=1), 0.5)):
        assert penalty.item() == pytest.approx(0.25 * 25.0, rel=1e-12)
        minigan.grad(penalty, D.parameters()[0])         # differentiable in D's weights
    gw = minigan.grad(penalties.r1(D, batch(), 0.5), D.parameters()[0])
    np.testing.assert_allclose(gw.numpy().ravel(), 0.5 * np.array([3.0, -4.0]))   # gamma * w


def test_wgan_gp_of_a_linear_D_is_weight_times_norm_minus_one_squared():
    D = linear_D([3.0, -4.0])
    rng = minigan.Random(0)
    gp = penalties.gradient_penalty(D, batch(), batch(seed=1), 10.0, rng)
    assert gp.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2, rel=1e-9)


def test_a_packing_D_is_penalised_per_pack():
    # With pack=2 each verdict sees 2 samples: ||dD/d(pack)||^2 = ||w||^2 over both samples.
    D = Discriminator(data_dim=2, hidden=(), pack=2).astype("float64")
    D.parameters()[0].data[...] = np.array([[1.0], [2.0], [3.0], [4.0]])
    norms = penalties.squared_input_gradient_norms(D, batch(n=6))
    np.testing.assert_allclose(norms.numpy(), [30.0] * 3)


@pytest.mark.parametrize("which", ["r1", "gp"])
def test_the_penalties_gradients_match_finite_differences(which):
    D = Discriminator(data_dim=2, hidden=(5, 4), activation="tanh").astype("float64")
    real, fake = batch(seed=2), batch(seed=3)

    def penalty():
        with minigan.enable_grad():          # check_gradients runs this under no_grad() too
            if which == "r1":
                return penalties.r1(D, real, 2.0)
            return penalties.gradient_penalty(D, real, fake, 2.0, minigan.Random(7))

    assert check_gradients(penalty, [], params=D.parameters()) < 1e-5


def small_trainer(**options):
    minigan.manual_seed(0)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8,))
    D = Discriminator(data_dim=2, hidden=(8,))
    return GANTrainer(G, D, SGD(G.parameters(), 0.01), SGD(D.parameters(), 0.01), seed=0,
                      **options)


def test_the_trainer_adds_the_penalty_to_ds_update(monkeypatch):
    data = make_2d("ring", 64).points
    plain, penalised = small_trainer(), small_trainer(penalty="r1", gamma=5.0)
    plain_steps, _ = plain.train_step(data, 16)
    d_steps, _ = penalised.train_step(data, 16)
    assert plain_steps[0].penalty is None
    assert d_steps[0].penalty is not None and d_steps[0].penalty.item() > 0
    # the same batches and losses; D's update differs by the penalty's gradient
    assert d_steps[0].real_loss.item() == plain_steps[0].real_loss.item()
    assert not np.array_equal(plain.D.parameters()[0].numpy(),
                              penalised.D.parameters()[0].numpy())


def test_lazy_regularisation_penalises_every_nth_update_n_times_as_heavily(monkeypatch):
    weights = []
    monkeypatch.setattr(penalties, "r1", lambda D, real, gamma, labels=None:
                        weights.append(gamma) or None)
    trainer = small_trainer(penalty="r1", gamma=0.5, penalty_every=4, k=2)
    trainer.train(make_2d("ring", 64).points, 1, 16, log_every=0)   # 4 steps: 8 D updates
    assert weights == [2.0, 2.0]                                      # updates 0 and 4


def test_a_resumed_lazy_run_penalises_the_same_updates(tmp_path):
    data = make_2d("ring", 64).points
    whole = small_trainer(penalty="r1", gamma=1.0, penalty_every=3)
    whole.train(data, 2, 16, log_every=0)
    first = small_trainer(penalty="r1", gamma=1.0, penalty_every=3)
    first.train(data, 1, 16, log_every=0, checkpoint_dir=tmp_path)
    resumed = small_trainer(penalty="r1", gamma=1.0, penalty_every=3)
    resumed.train(data, 2, 16, log_every=0, start_epoch=resumed.load_checkpoint(
        tmp_path / "checkpoint.npz") + 1)
    for a, b in zip(whole.D.parameters(), resumed.D.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("d_update", ["joint", "split"])
@pytest.mark.parametrize("penalty", ["r1", "r2", "gp"])
def test_every_penalty_trains_with_both_d_updates(penalty, d_update):
    trainer = small_trainer(penalty=penalty, gamma=1.0, d_update=d_update)
    history = trainer.train(make_2d("ring", 64).points, 2, 16, log_every=0)
    assert len(history) == 8 and np.isfinite(history["d_real"]).all()


@pytest.mark.parametrize("options, message", [
    (dict(penalty="r3"), r"unknown penalty 'r3': expected None or one of \('r1', 'r2', 'gp'\)"),
    (dict(penalty="r1", gamma=-1.0), r"gamma \(the penalty's weight\) must be a finite number "
                                     r">= 0, got -1.0"),
    (dict(penalty="r1", gamma=float("inf")), r"must be a finite number >= 0, got inf"),
    (dict(penalty="gp", penalty_every=0), r"penalty_every must be an integer >= 1, got 0"),
])
def test_bad_penalty_settings_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        small_trainer(**options)


def test_a_penalty_on_a_d_with_batchnorm_names_the_layer():
    G, D = DCGANGenerator(image_size=8, width=4), DCGANDiscriminator(image_size=8, width=4)
    with pytest.raises(ValueError, match=r"D has a BatchNorm2d layer, which mixes the samples of "
                                         r"a batch .* use a D without BatchNorm "
                                         r"\(DCGANDiscriminator and ACGANDiscriminator take "
                                         r"batch_norm=False; .*\), or no penalty"):
        GANTrainer(G, D, penalty="r1")


def test_wgan_without_a_penalty_warns_that_the_critic_is_unconstrained():
    with pytest.warns(UserWarning, match="the wgan loss without a penalty or spectral "
                                         "normalisation leaves the critic unconstrained"):
        small_trainer(generator_loss="wgan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_trainer(generator_loss="wgan", penalty="gp")
        small_trainer(generator_loss="hinge")


def test_wgan_and_hinge_losses():
    real = Tensor(np.array([[2.0], [-0.5]]))
    fake = Tensor(np.array([[0.5], [-3.0]]))
    total, r, f = discriminator_loss(real, fake, "wgan")
    assert (r.item(), f.item(), total.item()) == (-0.75, -1.25, -2.0)
    total, r, f = discriminator_loss(real, fake, "hinge")
    # mean max(0, 1 - f(x)) = (0 + 1.5) / 2; mean max(0, 1 + f(G(z))) = (1.5 + 0) / 2
    assert (r.item(), f.item(), total.item()) == (0.75, 0.75, 1.5)
    assert generator_loss(fake, "wgan").item() == generator_loss(fake, "hinge").item() == 1.25
    x = Tensor(np.random.default_rng(0).normal(size=(5, 1)), requires_grad=True)
    for kind in ("wgan", "hinge"):
        check_gradients(lambda x: discriminator_loss(x, x * 0.5 - 1.0, kind)[0]
                        + generator_loss(x, kind), [x])


def test_the_collapse_guard_is_off_for_a_critic():
    assert small_trainer(generator_loss="hinge").collapse_guard.warned
    assert not small_trainer().collapse_guard.warned


def test_second_order_is_refused_through_batchnorm_by_name():
    # What the trainer's check prevents, the engine would refuse too, naming the op.
    from minigan.nn import BatchNorm1d
    x = Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    bn = BatchNorm1d(3).astype("float64")
    with pytest.raises(RuntimeError, match=r"create_graph: \w*BatchNorm\w* cannot be "
                                           r"differentiated twice"):
        minigan.grad(F.tanh(bn(x)).sum(), x, create_graph=True)


def test_r1_on_a_convolutional_d_has_checked_gradients():
    # R1 through Conv2d's recorded backward (ConvTranspose2d and the weight gradient).
    D = DCGANDiscriminator(image_size=8, width=2, batch_norm=False).astype("float64")
    x = Tensor(np.random.default_rng(0).normal(size=(2, 1, 8, 8)))

    def penalty():
        with minigan.enable_grad():
            return penalties.r1(D, x, 1.0)

    assert check_gradients(penalty, [], params=D.parameters()) < 1e-5


def test_a_dcgan_trains_with_r1_on_a_d_without_batchnorm():
    minigan.manual_seed(0)
    G = DCGANGenerator(image_size=8, width=4)
    D = DCGANDiscriminator(image_size=8, width=4, batch_norm=False)
    trainer = GANTrainer(G, D, penalty="r1", gamma=1.0, seed=0)
    history = trainer.train(minigan.Random(0).uniform((32, 1, 8, 8), -1.0, 1.0), 1, 16,
                            log_every=0)
    assert len(history) == 2 and np.isfinite(history["d_real"]).all()
