"""The convolutional GANs: DCGAN and AC-GAN shapes, their composed losses gradient-checked
through D (with BatchNorm and convolutions), the split D update, and the conditional trainer."""
import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan.gan import GANTrainer, generator_loss
from minigan.gan.acgan import ACGANDiscriminator, ACGANGenerator
from minigan.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from minigan.gradcheck import check_gradients
from minigan.functions import sigmoid_binary_cross_entropy as bce
from minigan.functions import softmax_cross_entropy


def state(module):
    return {k: v.copy() for k, v in module.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def images(device, n, size=8, seed=0):
    return minigan.Random(seed, device).uniform((n, 1, size, size), -1.0, 1.0)


def test_dcgan_28_is_the_benchmark_w3_network(device):
    G = DCGANGenerator().to(device)
    D = DCGANDiscriminator().to(device)
    x = G(G.sample_latent(3))
    assert x.shape == (3, 1, 28, 28) and D(x).shape == (3, 1)
    assert float(np.abs(x.numpy()).max()) <= 1.0                          # tanh
    # Dense 100->6272, BN(6272), ConvT 128->64 k4, BN(64), ConvT 64->1 k4 (all with biases)
    assert G.num_parameters() == (100 * 6272 + 6272) + 2 * 6272 + (128 * 64 * 16 + 64) + 2 * 64 \
        + (64 * 16 + 1)
    # Conv 1->64 k4, Conv 64->128 k4, BN(128), Dense 6272->1
    assert D.num_parameters() == (64 * 16 + 64) + (64 * 128 * 16 + 128) + 2 * 128 + (6272 + 1)


def test_acgan_shapes(device):
    G = ACGANGenerator().to(device)
    D = ACGANDiscriminator().to(device)
    labels = Tensor(minigan.Random(0, device).integers(0, 10, 3))
    x = G(G.sample_latent(3), labels)
    logits, class_logits = D(x)
    assert x.shape == (3, 1, 28, 28) and logits.shape == (3, 1) and class_logits.shape == (3, 10)
    G8, D8 = ACGANGenerator(image_size=8, width=4).to(device), ACGANDiscriminator(image_size=8,
                                                                                   width=4)
    assert G8.sample(2).shape == (2, 1, 8, 8)
    assert [t.shape for t in D8.to(device)(G8.sample(2))] == [(2, 1), (2, 10)]


def test_image_size_must_be_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        DCGANGenerator(image_size=10)
    with pytest.raises(ValueError, match="divisible by 4"):
        ACGANDiscriminator(image_size=30)


def tiny_dcgan(device):
    # PyTorch's default init, not DCGAN's N(0, 0.02) with zero biases: with those, D's first
    # pre-activations are ~1e-3 and a finite-difference step of 1e-6 would often cross the
    # LeakyReLU's kink, where the derivative jumps (a wrong "numeric gradient", not a bug).
    G = DCGANGenerator(latent_dim=3, image_size=8, width=2, init="default")
    D = DCGANDiscriminator(image_size=8, width=2, init="default")
    return G.astype("float64").to(device), D.astype("float64").to(device)


def test_dcgan_discriminator_loss_gradient(device):
    G, D = tiny_dcgan(device)
    real = Tensor(images(device, 4).astype("float64"))
    with minigan.no_grad():     # as in the trainer: G in training mode, no graph
        fake = G(Tensor(minigan.Random(1, device).normal((4, 3), dtype="float64")))
    # two passes (BatchNorm sees the real and the generated batch separately), as the trainer
    check_gradients(lambda: bce(D(real), 1.0) + bce(D(fake), 0.0), [], params=D.parameters())


@pytest.mark.parametrize("kind", ["non-saturating", "minimax"])
def test_dcgan_generator_loss_gradient_through_d(device, kind):
    G, D = tiny_dcgan(device)
    z = Tensor(minigan.Random(2, device).normal((4, 3), dtype="float64"))
    with D.frozen():
        check_gradients(lambda: generator_loss(D(G(z)), kind), [], params=G.parameters())


def tiny_acgan(device):
    G = ACGANGenerator(latent_dim=3, num_classes=3, image_size=4, width=1, embed_dim=2)
    D = ACGANDiscriminator(num_classes=3, image_size=4, width=1, dropout=0.0)
    return G.astype("float64").to(device), D.astype("float64").to(device)


def test_acgan_losses_gradients_reach_g_through_both_heads(device):
    G, D = tiny_acgan(device)
    z = Tensor(minigan.Random(3, device).normal((5, 3), dtype="float64"))
    labels = Tensor(minigan.Random(4, device).integers(0, 3, 5))

    def g_loss():
        logits, class_logits = D(G(z, labels))
        return bce(logits, 1.0) + softmax_cross_entropy(class_logits, labels)

    with D.frozen():
        check_gradients(g_loss, [], params=G.parameters())

    with minigan.no_grad():
        fake = G(z, labels)

    def d_loss():
        logits, class_logits = D(fake)
        return bce(logits, 0.0) + softmax_cross_entropy(class_logits, labels)

    check_gradients(d_loss, [], params=D.parameters())


@pytest.mark.parametrize("d_update", ["joint", "split"])
def test_generator_step_leaves_d_and_its_batchnorm_statistics_unchanged(device, d_update):
    G = DCGANGenerator(latent_dim=4, image_size=8, width=4).to(device)
    D = DCGANDiscriminator(image_size=8, width=4).to(device)
    trainer = GANTrainer(G, D, d_update=d_update, seed=0)
    trainer.train_step(images(device, 32), 8)
    d_before, g_before = state(D), state(G)
    trainer.generator_step(8)
    assert same_state(d_before, state(D)), "the G step changed D (weights or running statistics)"
    assert not same_state(g_before, state(G))


def test_split_update_counts_and_half_batches(device):
    G = DCGANGenerator(latent_dim=4, image_size=8, width=2).to(device)
    D = DCGANDiscriminator(image_size=8, width=2).to(device)
    trainer = GANTrainer(G, D, d_update="split", k=2, seed=0)
    seen = []
    original = trainer.discriminator_step
    trainer.discriminator_step = lambda real, labels=None: (seen.append(len(real)),
                                                            original(real, labels))[1]
    trainer.train(images(device, 40), epochs=1, batch_size=8, log_every=0)
    steps = 40 // 8
    assert seen == [4] * (2 * steps)               # half batches of real samples, k = 2 per step
    assert trainer.d_optimizer.t == 2 * 2 * steps  # two D updates (real, fake) per k
    assert trainer.g_optimizer.t == steps


def test_acgan_trainer_records_class_losses_and_logs_like_the_seed(device):
    G = ACGANGenerator(latent_dim=4, image_size=8, width=2).to(device)
    D = ACGANDiscriminator(image_size=8, width=2).to(device)
    trainer = GANTrainer(G, D, d_update="split", seed=0)
    labels = minigan.Random(5, device).integers(0, 10, 32)
    lines = []
    history = trainer.train(images(device, 32), epochs=2, batch_size=8, labels=labels,
                            log_every=4, log=lines.append)
    assert history.names == ("step", "d_real", "d_fake", "g", "d_x", "d_g_z",
                             "d_real_class", "d_fake_class", "g_class")
    assert len(history) == 8
    # untrained class heads: cross-entropies near ln 10
    assert all(1.0 < v < 5.0 for v in history["d_real_class"])
    assert lines and all(" dr[" in line and "] df[" in line and "] g[" in line for line in lines)


def test_conditional_trainer_needs_labels_and_the_same_classes(device):
    G = ACGANGenerator(latent_dim=4, image_size=8, width=2).to(device)
    D = ACGANDiscriminator(image_size=8, width=2).to(device)
    trainer = GANTrainer(G, D)
    with pytest.raises(ValueError, match="class-conditional \\(10 classes\\): pass labels="):
        trainer.train(images(device, 16), 1, 8)
    with pytest.raises(ValueError, match="labels must be integers of shape \\(16,\\)"):
        trainer.train(images(device, 16), 1, 8, labels=minigan.Random(0, device).normal((16,)))
    with pytest.raises(ValueError, match="draws 10 classes, the discriminator's class head has 0"):
        GANTrainer(G, DCGANDiscriminator(image_size=8, width=2).to(device))
    plain = GANTrainer(DCGANGenerator(latent_dim=4, image_size=8, width=2).to(device),
                       DCGANDiscriminator(image_size=8, width=2).to(device))
    with pytest.raises(ValueError, match="not class-conditional"):
        plain.train(images(device, 16), 1, 8, labels=minigan.Random(0, device).integers(0, 10, 16))
    with pytest.raises(ValueError, match="unknown d_update 'halves'"):
        GANTrainer(G, D, d_update="halves")


def test_sampling_a_class_is_deterministic_in_eval_mode(device):
    G = ACGANGenerator(latent_dim=4, image_size=8, width=2).to(device)
    labels = Tensor(minigan.Random(0, device).integers(0, 10, 6))
    a = G.sample(6, minigan.Random(1, device), labels=labels).numpy()
    b = G.sample(6, minigan.Random(1, device), labels=labels).numpy()
    assert np.array_equal(a, b)
    assert G.training, "sampling must restore training mode"
    # eval-mode BatchNorm: a sample does not depend on the rest of its batch
    z = G.sample_latent(6, minigan.Random(2, device))
    alone = G.sample_with(Tensor(z.data[:1]), Tensor(labels.data[:1])).numpy()
    np.testing.assert_allclose(alone, G.sample_with(z, labels).numpy()[:1], rtol=1e-5, atol=1e-6)


def test_on_digits_d_learns_to_tell_and_then_g_learns_to_fool_it():
    """Seeded, on real 8x8 digits: D trained against a frozen G tells real from generated
    > 90 % of the time; then G trained against that frozen D lowers its loss.
    (Measured: accuracy 1.0; G loss 2.05 -> 0.19.)"""
    from minigan.images import load_digits
    from minigan.optim import Adam
    pytest.importorskip("sklearn")
    images, _ = load_digits("cpu")
    minigan.manual_seed(0)
    G = DCGANGenerator(latent_dim=16, image_size=8, width=8)
    D = DCGANDiscriminator(image_size=8, width=8)
    trainer = GANTrainer(G, D, Adam(G.parameters(), 1e-3), Adam(D.parameters(), 1e-3), seed=0)
    rng = minigan.Random(1, "cpu")

    def real_batch(m):
        return Tensor(images[rng.integers(0, len(images), m)])

    with G.frozen():                                  # only D learns
        for _ in range(40):
            trainer.discriminator_step(real_batch(32))
    D.eval()
    with minigan.no_grad():
        real_says = D(real_batch(200)).numpy() > 0    # logit > 0: "real"
        fake_says = D(G.sample(200, rng)).numpy() > 0
    accuracy = (real_says.sum() + (~fake_says).sum()) / 400
    assert accuracy > 0.9, accuracy

    z = G.sample_latent(200, rng)

    def g_loss():
        with minigan.no_grad():
            return generator_loss(D(G(z))).item()

    D.train()
    before = g_loss()
    for _ in range(30):                               # only G learns: D is frozen in each step
        trainer.generator_step(32)
    after = g_loss()
    assert after < 0.7 * before, (before, after)


def test_load_model_rebuilds_any_saved_network_without_touching_the_random_stream(tmp_path):
    from minigan.gan import load_model
    G = ACGANGenerator(latent_dim=4, image_size=8, width=2)
    G.save(tmp_path / "g.npz")
    minigan.manual_seed(7)
    expected = minigan.random.default_random("cpu").normal((3,))
    minigan.manual_seed(7)
    H = load_model(tmp_path / "g.npz")
    assert np.array_equal(minigan.random.default_random("cpu").normal((3,)), expected)
    assert type(H) is ACGANGenerator and H.config == G.config
    z, labels = G.sample_latent(3), G.sample_labels(3)
    assert np.array_equal(H.sample_with(z, labels).numpy(), G.sample_with(z, labels).numpy())
    DCGANDiscriminator(image_size=8, width=2).save(tmp_path / "d.npz")
    assert type(load_model(tmp_path / "d.npz")) is DCGANDiscriminator
