"""PacGAN's switches on the MLP pair: a packed discriminator (pack p samples into one input) and a
generator with BatchNorm after each hidden layer. Shapes, errors, gradients against finite
differences in float64, saving and loading, and a training step."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, backend
from minigan.data import make_2d
from minigan.gan import (Discriminator, GANTrainer, Generator, discriminator_loss,
                         generator_loss, load_model)
from minigan.gradcheck import check_gradients
from minigan.nn import BatchNorm1d, Dense, ReLU


def test_a_packed_d_judges_consecutive_samples_side_by_side(device):
    D = Discriminator(data_dim=2, hidden=(6, 5), activation="tanh", pack=3).to(device)
    assert D.net[0].in_features == 6                       # 3 samples x 2 coordinates
    x = np.random.default_rng(0).standard_normal((12, 2)).astype(np.float32)
    logits = D(Tensor(backend.to_device(x, device)))
    assert logits.shape == (4, 1)                          # 12 samples -> 4 packs -> 4 logits
    # pack j is samples 3j, 3j+1, 3j+2 concatenated: the same as feeding those rows by hand
    by_hand = np.concatenate([x[0::3], x[1::3], x[2::3]], axis=1)
    expected = D.net(Tensor(backend.to_device(by_hand, device)))
    np.testing.assert_array_equal(logits.numpy(), expected.numpy())


def test_pack_1_is_the_plain_discriminator():
    minigan.manual_seed(3)
    plain = Discriminator(data_dim=2, hidden=(4,))
    minigan.manual_seed(3)
    packed1 = Discriminator(data_dim=2, hidden=(4,), pack=1)
    x = Tensor(np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32))
    np.testing.assert_array_equal(plain(x).numpy(), packed1(x).numpy())
    assert packed1(x).shape == (5, 1)


def test_a_batch_not_divisible_by_the_pack_is_refused_with_the_fix():
    D = Discriminator(data_dim=2, hidden=(4,), pack=4)
    with pytest.raises(ValueError, match=r"pack=4\): a batch of 10 samples cannot be cut into "
                                         r"packs of 4; use a batch size divisible by 4"):
        D(Tensor(np.zeros((10, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2\), got \(8, 3\)"):
        D(Tensor(np.zeros((8, 3), dtype=np.float32)))


@pytest.mark.parametrize("pack", [0, -2, 1.5, True, "2"])
def test_a_bad_pack_is_refused(pack):
    with pytest.raises(ValueError, match="pack .* must be an integer >= 1"):
        Discriminator(pack=pack)


def test_the_trainer_rejects_a_batch_that_does_not_fill_the_packs():
    G = Generator(latent_dim=2, data_dim=2, hidden=(4,))
    D = Discriminator(data_dim=2, hidden=(4,), pack=4)
    trainer = GANTrainer(G, D, seed=0)
    data = make_2d("ring", 64, seed=0).points
    with pytest.raises(ValueError, match="a batch of 10 samples cannot be cut into packs of 4"):
        trainer.train(data, epochs=1, batch_size=10, log_every=0)


def small_packed_pair(device, pack, batch_norm):
    G = Generator(latent_dim=3, data_dim=2, hidden=(5, 4), activation="tanh",
                  batch_norm=batch_norm)
    D = Discriminator(data_dim=2, hidden=(6, 5), activation="tanh", pack=pack)
    return G.astype("float64").to(device), D.astype("float64").to(device)


@pytest.mark.parametrize("pack", [2, 3])
def test_packed_d_loss_gradient_wrt_d_parameters_and_its_input(device, pack):
    G, D = small_packed_pair(device, pack, batch_norm=False)
    rng = minigan.Random(1, device)
    real = Tensor(rng.normal((6, 2), dtype="float64"), requires_grad=True)
    fake = G.sample_with(Tensor(rng.normal((6, 3), dtype="float64")))
    # the input's gradient goes back through the packing reshape onto each sample
    check_gradients(lambda x: discriminator_loss(D(x), D(fake))[0], [real],
                    params=D.parameters())


@pytest.mark.parametrize("kind", ["non-saturating", "minimax"])
def test_g_gradient_through_a_packed_d_and_batch_norm(device, kind):
    G, D = small_packed_pair(device, pack=2, batch_norm=True)
    G.train()                         # BatchNorm with the batch's own statistics, as in training
    z = Tensor(minigan.Random(2, device).normal((8, 3), dtype="float64"))
    with D.frozen():
        check_gradients(lambda: generator_loss(D(G(z)), kind), [], params=G.parameters())


def test_batch_norm_generator_is_pacgans_layer_list():
    G = Generator(latent_dim=2, data_dim=2, hidden=(400,) * 4, activation="relu",
                  batch_norm=True)
    kinds = [type(layer) for layer in G.net]
    assert kinds == [Dense, BatchNorm1d, ReLU] * 4 + [Dense]
    # hidden Dense layers carry no bias (BatchNorm's beta replaces it); the output one does
    assert [layer.bias is None for layer in G.net if isinstance(layer, Dense)] == [True] * 4 + [
        False]
    expected = 2 * 400 + 3 * 400 * 400 + (400 * 2 + 2) + 4 * 2 * 400     # weights + BN gamma/beta
    assert G.num_parameters() == expected
    assert Generator(hidden=(8,)).num_parameters() == 2 * 8 + 8 + 8 * 2 + 2   # default: no BN


def test_packed_d_and_batch_norm_g_save_and_load(tmp_path):
    minigan.manual_seed(5)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8, 8), batch_norm=True)
    D = Discriminator(data_dim=2, hidden=(8,), pack=2)
    G.train()
    G(Tensor(np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)))  # move stats
    G.save(str(tmp_path / "g.npz"))
    D.save(str(tmp_path / "d.npz"))
    G2, D2 = load_model(str(tmp_path / "g.npz")), load_model(str(tmp_path / "d.npz"))
    assert D2.pack == 2 and D2.net[0].in_features == 4
    z = Tensor(np.random.default_rng(1).standard_normal((6, 2)).astype(np.float32))
    np.testing.assert_array_equal(G.sample_with(z).numpy(), G2.sample_with(z).numpy())
    np.testing.assert_array_equal(D(z).numpy(), D2(z).numpy())


def test_a_training_step_with_packs(device):
    minigan.manual_seed(0)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8, 8), batch_norm=True).to(device)
    D = Discriminator(data_dim=2, hidden=(8,), pack=4).to(device)
    trainer = GANTrainer(G, D, seed=0)
    data = make_2d("grid", 256, seed=0, device=device).points
    before = [p.numpy().copy() for p in D.parameters()]
    history = trainer.train(data, epochs=1, batch_size=32, log_every=0)   # 8 steps, 8 packs each
    assert len(history) == 8
    assert all(np.isfinite(history[name]).all()
               for name in ("d_real", "d_fake", "g", "d_x", "d_g_z"))
    assert not all(np.array_equal(a, p.numpy()) for a, p in zip(before, D.parameters()))
